/* The files `dpmlp train` writes, checked before any data is loaded: a run must not train for
 * hours and then find it cannot write. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train_cmd.h"

static int check_output_dir(const char *flag, const char *path)
{
    if (!path || !strcmp(path, "-")) return 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dpmlp: --%s %s: directory %s is not writable: %s\n", flag, path, dir,
                strerror(errno));
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
    int rc = check_output_dir("save", out->save);
    if (!rc) rc = check_output_dir("log", out->log);
    if (!rc) rc = check_output_dir("checkpoint", out->checkpoint);
    if (!rc && out->checkpoint) remove_stale_temps(out->checkpoint, quiet);
    return rc;
}
