/* Standard input as a data file ("-", or "/dev/stdin" by name): read to its end once per
 * process and kept, then handed out as a read-only memory stream, so the loaders' two passes
 * (count, then parse) and a second load of the same input (predict retries a CSV as features
 * only) work on a pipe that cannot seek or be read twice. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fmemopen */
#endif
#include "fileio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static pthread_mutex_t stdin_lock = PTHREAD_MUTEX_INITIALIZER;
static char *stdin_bytes;
static size_t stdin_len;
static int stdin_read; /* 0 not yet, 1 read, -1 failed (errno in stdin_errno) */
static int stdin_errno;

int dp_path_is_stdin(const char *path)
{
    return path && (!strcmp(path, "-") || !strcmp(path, "/dev/stdin"));
}

static int slurp_stdin(void)
{
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    if (!p) return ENOMEM;
    for (;;) {
        if (len == cap) {
            char *q = cap > ((size_t)-1) / 2 ? NULL : realloc(p, cap * 2);
            if (!q) {
                free(p);
                return ENOMEM;
            }
            p = q;
            cap *= 2;
        }
        size_t r = fread(p + len, 1, cap - len, stdin);
        len += r;
        if (r == 0) break;
    }
    if (ferror(stdin)) {
        int e = errno ? errno : EIO;
        free(p);
        return e;
    }
    stdin_bytes = p;
    stdin_len = len;
    return 0;
}

FILE *dp_open_stdin(uint64_t *size, dp_error *err)
{
    pthread_mutex_lock(&stdin_lock);
    if (stdin_read == 0) {
        stdin_errno = slurp_stdin();
        stdin_read = stdin_errno ? -1 : 1;
    }
    int ok = stdin_read == 1, e = stdin_errno;
    pthread_mutex_unlock(&stdin_lock);
    if (!ok) {
        dp_fail(err, DP_ENOINPUT, "<stdin>: cannot read: %s", strerror(e));
        return NULL;
    }
    /* An empty input still needs a stream (fmemopen of 0 bytes is refused on older libcs). */
    FILE *f = stdin_len ? fmemopen(stdin_bytes, stdin_len, "rb") : fopen("/dev/null", "rb");
    if (!f) dp_fail(err, DP_ENOINPUT, "<stdin>: cannot open: %s", strerror(errno));
    *size = stdin_len;
    return f;
}

FILE *dp_open_input(const char *path, const char *expected, uint64_t *size, dp_error *err)
{
    return dp_path_is_stdin(path) ? dp_open_stdin(size, err)
                                  : dp_open_regular(path, expected, size, err);
}
