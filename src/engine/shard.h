/* Sharding: which rows of a batch a worker (or a rank) computes, and which slice of the flat
 * parameter vector it reduces and updates. Both are pure functions of (size, t, T), so every
 * worker computes everyone's bounds without talking to them. */
#ifndef DP_SHARD_H
#define DP_SHARD_H
#include <stddef.h>

#include "err.h"

/* Rows [lo, hi) of an nb-row batch that worker t of T owns: balanced to within one row,
 * empty for t >= nb when nb < T. The T shards tile [0, nb) in order. */
static inline void dp_shard_rows(size_t nb, int t, int T, size_t *lo, size_t *hi)
{
    DP_ASSERT(T >= 1 && t >= 0 && t < T);
    *lo = nb * (size_t)t / (size_t)T;
    *hi = nb * (size_t)(t + 1) / (size_t)T;
    DP_ASSERT(*lo <= *hi && *hi <= nb && (t + 1 < T || *hi == nb));
}

/* Boundary t of the flat parameter vector's T slices, rounded to 16 floats (64 bytes) so no
 * two workers write one cache line in the update; bound T is n_params. */
static inline size_t dp_slice_bound(size_t n_params, int t, int T)
{
    DP_ASSERT(T >= 1 && t >= 0 && t <= T);
    if (t >= T) return n_params;
    size_t b = n_params * (size_t)t / (size_t)T;
    return b & ~(size_t)15;
}

/* Worker t's slice [lo, hi): inside the vector, and slices of neighbours meet exactly. */
static inline void dp_slice(size_t n_params, int t, int T, size_t *lo, size_t *hi)
{
    *lo = dp_slice_bound(n_params, t, T);
    *hi = dp_slice_bound(n_params, t + 1, T);
    DP_ASSERT(*lo <= *hi && *hi <= n_params);
}

#endif
