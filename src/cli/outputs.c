/* The files `dpmlp train` writes, checked before any data is loaded: a run must not train for
 * hours and then find it cannot write. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_cmd.h"

/* Atomic writes (--save, --checkpoint) go through NAME.tmp.XXXXXX beside NAME (src/io's
 * atomic write): that name, not NAME, must fit the directory's NAME_MAX. */
#define TEMP_SUFFIX_LEN (sizeof ".tmp.XXXXXX" - 1)

/* dir (cap bytes) = the directory part of path ("." or "/" when it has none). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

/* One output file: its directory writable, the file (when it exists) not a directory and, for
 * the log, which is written in place, writable; the name (with the temp suffix for atomic
 * writes) no longer than the file system takes. */
static int check_output(const char *flag, const char *path, int atomic)
{
    if (!path || !strcmp(path, "-")) return 0;
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dpmlp: --%s %s: directory %s is not writable: %s\n", flag, path, dir,
                strerror(errno));
        return DP_EIO;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "dpmlp: --%s %s: is a directory, not a file name\n", flag, path);
        return DP_EIO;
    }
    if (!atomic && access(path, F_OK) == 0 && access(path, W_OK) != 0) {
        fprintf(stderr, "dpmlp: --%s %s: not writable: %s\n", flag, path, strerror(errno));
        return DP_EIO;
    }
    const char *slash = strrchr(path, '/');
    size_t len = strlen(slash ? slash + 1 : path) + (atomic ? TEMP_SUFFIX_LEN : 0);
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0) name_max = NAME_MAX;
    if ((long)len > name_max) {
        fprintf(stderr, "dpmlp: --%s %s: file name too long: %s%zu characters, the file system "
                        "takes %ld\n", flag, path, atomic ? "with its temporary suffix " : "",
                len, name_max);
        return DP_EIO;
    }
    return 0;
}

/* A kill -9 during a checkpoint write leaves FILE.tmp.XXXXXX beside the (intact) checkpoint;
 * this run is the path's only writer, so such leftovers are removed and said. */
static void remove_stale_temps(const char *ckpt_path, int quiet)
{
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s.tmp.??????", ckpt_path);
    glob_t g;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0) return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (unlink(g.gl_pathv[i]) == 0 && !quiet)
            fprintf(stderr, "dpmlp: removed %s, left by an interrupted checkpoint write\n",
                    g.gl_pathv[i]);
    globfree(&g);
}

int cli_check_outputs(const cli_outputs *out, int quiet)
{
    int rc = check_output("save", out->save, 1);
    if (!rc) rc = check_output("log", out->log, 0);
    if (!rc) rc = check_output("checkpoint", out->checkpoint, 1);
    if (!rc && out->checkpoint) remove_stale_temps(out->checkpoint, quiet);
    return rc;
}
