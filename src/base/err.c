/* Error filling and aligned allocation: the two things every room needs. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dp_status dp_fail(dp_error *err, dp_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void *dp_alloc(size_t bytes)
{
    if (bytes == 0) return NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    return aligned_alloc(64, rounded);
}

void *dp_calloc(size_t bytes)
{
    void *p = dp_alloc(bytes);
    if (p) memset(p, 0, (bytes + 63) & ~(size_t)63);
    return p;
}

void dp_free(void *p) { free(p); }

void dp_assert_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, "dpmlp: internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
    abort();
}
