/* The data-parallel engine: a persistent team of pinned workers, each running forward and
 * backward over its shard of the batch into a private gradient block, then reducing one slice
 * of the flat vector over all blocks (fixed order) and applying the optimizer to it. */
#ifndef DP_TRAIN_H
#define DP_TRAIN_H
#include <stddef.h>

#include "dpmlp.h"

/* Rows [lo, hi) of an nb-row batch that worker t of T owns: balanced to within one row,
 * empty for t >= nb when nb < T. */
static inline void dp_shard_rows(size_t nb, int t, int T, size_t *lo, size_t *hi)
{
    *lo = nb * (size_t)t / (size_t)T;
    *hi = nb * (size_t)(t + 1) / (size_t)T;
}

/* Boundary t of the flat parameter vector's T slices, rounded to 16 floats (64 bytes) so no
 * two workers write one cache line in the update. */
static inline size_t dp_slice_bound(size_t n_params, int t, int T)
{
    if (t >= T) return n_params;
    size_t b = n_params * (size_t)t / (size_t)T;
    return b & ~(size_t)15;
}

#endif
