/* Atomic writes: the content goes to NAME.tmp.<pid>.<6 random> in the same directory, is
 * fsynced, renamed over NAME, and the directory fsynced, so NAME is always the old file or the
 * whole new one. The temp file of a write in flight is registered so that a signal handler
 * ending the process at once can unlink it (dp_abort_writes), and temp files whose writer is
 * gone (kill -9) can be told from a live writer's and from user files (dp_remove_stale_temps). */
#include "ckpt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

#define TEMP_MARK ".tmp."
#define TEMP_RANDOM 6 /* letters and digits, as mkstemp would */
/* The suffix TEMP_MARK "<pid>." <TEMP_RANDOM> is what DP_TEMP_SUFFIX_MAX (dpmlp.h) bounds. */
_Static_assert(DP_TEMP_SUFFIX_MAX == sizeof TEMP_MARK - 1 + 7 + 1 + TEMP_RANDOM,
               "DP_TEMP_SUFFIX_MAX must match the temp name create_temp writes");

/* ---- fault injection ----
 * With DPMLP_FAULT_WRITE=N in the environment, the N-th dp_atomic_write call fails with EIO
 * after the body has gone to the temp file and the temp file has been cut to half its length
 * (a torn write, as a dying disk would leave it). The count starts at 1 and restarts whenever
 * the variable's value changes or it is unset, so a process started with it counts from its
 * first write and a test can re-arm it by setenv. */
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static char fault_seen[32];
static long fault_count;

static int fault_fires(void)
{
    const char *v = getenv("DPMLP_FAULT_WRITE");
    int fire = 0;
    pthread_mutex_lock(&fault_lock);
    if (!v || !*v) {
        fault_seen[0] = '\0';
        fault_count = 0;
    } else {
        if (strncmp(v, fault_seen, sizeof fault_seen) != 0) {
            snprintf(fault_seen, sizeof fault_seen, "%s", v);
            fault_count = 0;
        }
        fault_count++;
        fire = strtol(v, NULL, 10) == fault_count;
    }
    pthread_mutex_unlock(&fault_lock);
    return fire;
}

/* ---- the registry of temp files in flight ----
 * A few slots (the CLI's main thread and the background checkpoint writer at most); a slot's
 * path is complete before `used` is set, so a signal handler reading it sees a whole name. */
#define SLOTS 8
#define SLOT_PATH 4200
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static char reg_path[SLOTS][SLOT_PATH];
static volatile sig_atomic_t reg_used[SLOTS];

static int reg_add(const char *tmp)
{
    if (strlen(tmp) >= SLOT_PATH) return -1;
    int slot = -1;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < SLOTS && slot < 0; i++)
        if (!reg_used[i]) slot = i;
    if (slot >= 0) {
        strcpy(reg_path[slot], tmp);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        reg_used[slot] = 1;
    }
    pthread_mutex_unlock(&reg_lock);
    return slot; /* -1: not registered (more writes in flight than slots); still written */
}

static void reg_drop(int slot)
{
    if (slot < 0) return;
    pthread_mutex_lock(&reg_lock);
    reg_used[slot] = 0;
    pthread_mutex_unlock(&reg_lock);
}

/* Async-signal-safe: only reads the slots and calls unlink. A slot cleared after its rename
 * may name a file already renamed away; unlink then fails harmlessly. */
void dp_abort_writes(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (reg_used[i]) unlink(reg_path[i]);
}

/* ---- the write ---- */

/* The directory part of path ("." or "/" for the short cases); NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
static int fsync_dir_of(const char *path)
{
    char *dir = dir_of(path);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some filesystems refuse fsync on a directory; the rename is done either way. */
    if (rc != 0 && (saved == EINVAL || saved == EROFS)) rc = 0;
    errno = saved;
    return rc;
}

/* Creates path.tmp.<pid>.<6 random> exclusively, registered BEFORE it exists, so there is no
 * moment at which a signal handler could miss it (unlinking a name not yet created is
 * harmless). Returns the fd, or -1 with errno set; *slot is the registry slot. */
static int create_temp(const char *path, char *tmp, size_t cap, int *slot)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^
                 (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)tmp;
    for (int tries = 0; tries < 100; tries++) {
        x ^= (uint64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0xbf58476d1ce4e5b9ull;
        x ^= x >> 31, x *= 0x94d049bb133111ebull, x ^= x >> 29;
        char rnd[TEMP_RANDOM + 1];
        for (int i = 0; i < TEMP_RANDOM; i++) rnd[i] = abc[(x >> (6 * i)) % (sizeof abc - 1)];
        rnd[TEMP_RANDOM] = '\0';
        snprintf(tmp, cap, "%s" TEMP_MARK "%ld.%s", path, (long)getpid(), rnd);
        *slot = reg_add(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return fd;
        int e = errno;
        reg_drop(*slot);
        *slot = -1;
        errno = e;
        if (e != EEXIST) return -1;
    }
    return -1;
}

/* Body, flush, fault hook, fsync, close: 0, or -1 with *what and *saved (errno) set. */
static int write_temp(FILE *f, int (*write_body)(FILE *f, void *ctx), void *ctx,
                      const char **what, int *saved)
{
    *what = "cannot write";
    errno = 0;
    if (write_body(f, ctx) != 0 || fflush(f) != 0 || ferror(f)) {
        *saved = errno ? errno : EIO;
        return -1;
    }
    if (fault_fires()) {
        off_t end = lseek(fileno(f), 0, SEEK_END);
        if (ftruncate(fileno(f), end > 0 ? end / 2 : 0) != 0) { /* torn either way */ }
        *saved = EIO;
        *what = "cannot write (injected fault DPMLP_FAULT_WRITE)";
        return -1;
    }
    *what = "cannot sync";
    if (fsync(fileno(f)) != 0) {
        *saved = errno;
        return -1;
    }
    return 0;
}

dp_status dp_atomic_write(const char *path, int (*write_body)(FILE *f, void *ctx), void *ctx,
                          dp_error *err)
{
    if (!path || !*path || !write_body)
        return dp_fail(err, DP_EINTERNAL, "atomic write: no path or no body writer");
    size_t cap = strlen(path) + sizeof TEMP_MARK + 24 + TEMP_RANDOM;
    char *tmp = malloc(cap);
    if (!tmp) return dp_fail(err, DP_EIO, "%s: cannot write: out of memory", path);

    const char *what = "cannot create temp file";
    int saved = 0, slot = -1;
    FILE *f = NULL;
    int fd = create_temp(path, tmp, cap, &slot);
    if (fd < 0) {
        saved = errno;
        free(tmp);
        return dp_fail(err, DP_EIO, "%s: %s: %s", path, what, strerror(saved));
    }
    /* The temp file is 0600; a model file is ordinary data, so keep an existing file's mode
     * or use rw-r--r--. */
    struct stat st;
    mode_t mode = (stat(path, &st) == 0 && S_ISREG(st.st_mode)) ? (st.st_mode & 07777) : 0644;
    (void)fchmod(fd, mode);

    f = fdopen(fd, "wb");
    if (!f) {
        saved = errno;
        close(fd);
        goto fail;
    }
    if (write_temp(f, write_body, ctx, &what, &saved) != 0) goto fail;
    what = "cannot close";
    int crc = fclose(f);
    f = NULL;
    if (crc != 0) {
        saved = errno;
        goto fail;
    }
    what = "cannot rename temp file into place";
    if (rename(tmp, path) != 0) {
        saved = errno;
        goto fail;
    }
    reg_drop(slot);
    free(tmp);
    if (fsync_dir_of(path) != 0)
        /* The new file is in place and complete; only its durability across a crash is in
         * doubt. Still an I/O failure the caller must hear about. */
        return dp_fail(err, DP_EIO, "%s: cannot sync directory: %s", path, strerror(errno));
    return DP_OK;

fail:
    if (f) fclose(f);
    unlink(tmp);
    reg_drop(slot);
    free(tmp);
    return dp_fail(err, DP_EIO, "%s: %s: %s", path, what, strerror(saved ? saved : EIO));
}

/* ---- stale temp files ---- */

/* The writer's pid if name is exactly base.tmp.<pid>.<6 letters or digits>, else 0. */
static long temp_writer(const char *name, const char *base)
{
    size_t bl = strlen(base), ml = strlen(TEMP_MARK);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TEMP_MARK, ml) != 0) return 0;
    const char *p = name + bl + ml;
    long pid = 0;
    const char *d = p;
    while (*d >= '0' && *d <= '9' && d - p < 10) pid = pid * 10 + (*d++ - '0');
    if (d == p || *d != '.' || pid <= 0) return 0;
    d++;
    for (int i = 0; i < TEMP_RANDOM; i++)
        if (!isalnum((unsigned char)d[i])) return 0;
    return d[TEMP_RANDOM] == '\0' ? pid : 0;
}

/* A temp file is stale when its writer is gone: the pid in its name is no live process here.
 * The pid is what only the writer's own life decides (an age could not tell a slow write on a
 * busy disk from a dead one); a reused pid keeps a stale file until a later run, the safe side
 * of the mistake. Temp files written by another host through a shared directory cannot be
 * judged by pid; the CLI's lock on the checkpoint path keeps two runs off one path. */
int dp_remove_stale_temps(const char *path, void (*on_removed)(void *ctx, const char *temp),
                          void *ctx)
{
    if (!path || !*path) return 0;
    char *dir = dir_of(path);
    if (!dir) return 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    DIR *d = opendir(dir);
    int removed = 0;
    size_t cap = strlen(dir) + 1 + 256 + 1;
    char *full = malloc(cap);
    struct dirent *e;
    while (d && full && (e = readdir(d))) {
        long pid = temp_writer(e->d_name, base);
        if (pid == 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        snprintf(full, cap, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (unlink(full) == 0) {
            removed++;
            if (on_removed) on_removed(ctx, full);
        }
    }
    if (d) closedir(d);
    free(full);
    free(dir);
    return removed;
}
