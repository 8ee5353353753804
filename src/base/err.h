/* What every room needs: error reporting (dp_fail, public in dpmlp.h: fill a dp_error with
 * one line and return its code) and 64-byte aligned allocation. */
#ifndef DP_ERR_H
#define DP_ERR_H
#include "dpmlp.h"

/* 64-byte aligned allocation (cache line, AVX-512 vector); NULL on failure or n == 0. */
void *dp_alloc(size_t bytes);
void *dp_calloc(size_t bytes);
void dp_free(void *p);

/* Invariants that were prose (slice bounds, shard sums, layout offsets, team size). On unless
 * NDEBUG, like assert(): the default, test and sanitizer builds check them, so they stand
 * outside per-element loops (once per step, shard or slice). A failed one prints file, line
 * and the condition and aborts: it is a bug, not an input error. */
#if !defined(NDEBUG)
#define DP_ASSERT(cond) ((cond) ? (void)0 : dp_assert_failed(#cond, __FILE__, __LINE__))
#else
#define DP_ASSERT(cond) ((void)sizeof(cond))
#endif
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void dp_assert_failed(const char *cond, const char *file, int line);

#endif
