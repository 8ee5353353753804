/* What every room needs: error reporting (dp_fail, public in dpmlp.h: fill a dp_error with
 * one line and return its code) and 64-byte aligned allocation. */
#ifndef DP_ERR_H
#define DP_ERR_H
#include "dpmlp.h"

/* 64-byte aligned allocation (cache line, AVX-512 vector); NULL on failure or n == 0. */
void *dp_alloc(size_t bytes);
void *dp_calloc(size_t bytes);
void dp_free(void *p);

#endif
