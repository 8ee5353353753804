/* Error reporting: fill a dp_error with one line and return its code, so failure paths read
 *   return dp_fail(err, DP_EDATA, "%s: header claims %u images, file holds %zu", ...); */
#ifndef DP_ERR_H
#define DP_ERR_H
#include "dpmlp.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
dp_status dp_fail(dp_error *err, dp_status code, const char *fmt, ...);

/* 64-byte aligned allocation (cache line, AVX-512 vector); NULL on failure or n == 0. */
void *dp_alloc(size_t bytes);
void *dp_calloc(size_t bytes);
void dp_free(void *p);

#endif
