/* The files `dpmlp train` writes, checked before any data is loaded: a run must not train for
 * hours and then find it cannot write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_cmd.h"


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
    if (!path) return 0;
    /* Models and checkpoints are written to a temp file and renamed into place: a stream
     * cannot take that, and a rename over a device or FIFO would replace the node itself. */
    if (atomic && !strcmp(path, "-"))
        return cli_usage("train", "--%s -: models and checkpoints are written atomically to a "
                                  "file path, not to standard output", flag);
    if (!strcmp(path, "-")) return 0;
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
    if (atomic && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_usage("train", "--%s %s: not a regular file (written atomically by a rename, "
                                  "which would replace it)", flag, path);
    if (!atomic && access(path, F_OK) == 0 && access(path, W_OK) != 0) {
        fprintf(stderr, "dpmlp: --%s %s: not writable: %s\n", flag, path, strerror(errno));
        return DP_EIO;
    }
    const char *slash = strrchr(path, '/');
    size_t len = strlen(slash ? slash + 1 : path) + (atomic ? DP_TEMP_SUFFIX_MAX : 0);
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

static void say_removed(void *ctx, const char *temp)
{
    if (!*(const int *)ctx)
        fprintf(stderr, "dpmlp: removed %s, left by an interrupted write\n", temp);
}

/* A kill -9 during a write leaves FILE.tmp.<pid>.XXXXXX beside the (intact) file. The library
 * removes only that exact pattern, and only where the writing process is gone, so another
 * run's write in flight and a user's FILE.tmp.backup stay. */
static void remove_stale_temps(const char *path, int quiet)
{
    dp_remove_stale_temps(path, say_removed, &quiet);
}

/* ---- no two flags name the same file (unless it is meant: --resume X --checkpoint X) ---- */

/* A file's identity: device and inode where it exists, else the real path of its directory
 * plus its name (what it will be once written). */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    char name[PATH_MAX + 256];
} file_id;

static void file_id_of(const char *path, file_id *id)
{
    struct stat sb;
    memset(id, 0, sizeof *id);
    if (stat(path, &sb) == 0) {
        id->exists = 1;
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        return;
    }
    char dir[4096], real[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    if (realpath(dir, real))
        snprintf(id->name, sizeof id->name, "%s/%s", real, slash ? slash + 1 : path);
    else
        snprintf(id->name, sizeof id->name, "%s", path);
}

static int same_file(const file_id *a, const file_id *b)
{
    if (a->exists != b->exists) return 0;
    return a->exists ? a->dev == b->dev && a->ino == b->ino : !strcmp(a->name, b->name);
}

#define MAX_NAMED 16

typedef struct named_file {
    const char *flag;
    char path[4200];
    int output;
    file_id id;
} named_file;

static void add_file(named_file *f, int *n, const char *flag, const char *path, int output)
{
    if (!path || !strcmp(path, "-") || *n == MAX_NAMED) return;
    named_file *e = &f[(*n)++];
    e->flag = flag;
    snprintf(e->path, sizeof e->path, "%s", path);
    e->output = output;
    file_id_of(e->path, &e->id);
}

/* Every file the flags name: --data DIR's MNIST files (the names its loader tries), the CSVs,
 * the checkpoint resumed from, then the outputs. */
static int named_files(const dp_opts *o, const cli_outputs *out, named_file *f)
{
    static const char *const mnist[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    int n = 0;
    const char *dir = dp_opts_get(o, "data");
    for (int i = 0; dir && strncmp(dir, "synthetic:", 10) && i < 8; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s%s", dir, mnist[i / 2], i % 2 ? ".gz" : "");
        if (access(p, F_OK) == 0) add_file(f, &n, "data", p, 0);
    }
    add_file(f, &n, "train", dp_opts_get(o, "train"), 0);
    add_file(f, &n, "test", dp_opts_get(o, "test"), 0);
    add_file(f, &n, "resume", dp_opts_get(o, "resume"), 0);
    add_file(f, &n, "save", out->save, 1);
    add_file(f, &n, "checkpoint", dp_opts_get(o, "checkpoint"), 1);
    add_file(f, &n, "log", out->log, 1);
    return n;
}

/* An output that is also an input (or another output) is overwritten: --train X.csv
 * --save X.csv, --resume X --log X, --save X --checkpoint X. */
static int check_collisions(const char *cmd, const dp_opts *o, const cli_outputs *out)
{
    named_file files[MAX_NAMED];
    int n = named_files(o, out, files);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const named_file *a = &files[i], *b = &files[j];
            if (!a->output && !b->output) continue;
            /* Resuming a checkpoint and checkpointing on to it is the normal pattern. */
            if (!strcmp(a->flag, "resume") && !strcmp(b->flag, "checkpoint")) continue;
            if (same_file(&a->id, &b->id))
                return cli_usage(cmd, "--%s and --%s name the same file '%s'", a->flag, b->flag,
                                 b->path);
        }
    return 0;
}

/* ---- one writer per checkpoint ----
 * The lock is flock on a sibling file NAME.lock, not on NAME: every checkpoint write
 * replaces NAME by a rename, so a lock on NAME's inode would guard a file that is no longer
 * there after the first write, and a second run would lock the new one. NAME.lock is never
 * renamed or removed (removing it would let a run lock an unlinked inode while another
 * creates a fresh one), so it stays beside the checkpoint. The lock dies with the process,
 * kill -9 included. */
static int lock_checkpoint(const char *ckpt, int *fd_out)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", ckpt);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "dpmlp: --checkpoint %s: cannot open its lock file %s: %s\n", ckpt, lock,
                strerror(errno));
        return DP_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            fprintf(stderr, "dpmlp: --checkpoint %s is in use by another run (it holds %s); "
                            "try again when that run ends\n", ckpt, lock);
            return DP_ETEMPFAIL;
        }
        fprintf(stderr, "dpmlp: --checkpoint %s: cannot lock %s: %s\n", ckpt, lock,
                strerror(e));
        return DP_EIO;
    }
    *fd_out = fd;
    return 0;
}

int cli_check_outputs(const char *cmd, const dp_opts *o, cli_outputs *out, int quiet)
{
    out->lock_fd = -1;
    if (check_collisions(cmd, o, out)) return DP_EUSAGE;
    int rc = check_output("save", out->save, 1);
    if (!rc) rc = check_output("log", out->log, 0);
    if (!rc) rc = check_output("checkpoint", out->checkpoint, 1);
    if (!rc && out->checkpoint) rc = lock_checkpoint(out->checkpoint, &out->lock_fd);
    if (!rc && out->checkpoint) remove_stale_temps(out->checkpoint, quiet);
    if (!rc && out->save) remove_stale_temps(out->save, quiet);
    return rc;
}
