/* The validation split: a seeded fraction of a dataset held out for a whole run. Which samples
 * go where depends on the seed and the sample count only (its own RNG stream, not the
 * shuffles'), so a resumed run rebuilds the same two sets; both keep the file's order, and the
 * training part is what the epochs shuffle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "err.h"
#include "rng.h"

#define VAL_SPLIT_STREAM 0x5a11d5e7ULL /* distinct from init (0x1a17) and the epochs (1, 2, …) */

/* dst := rows idx[0..m) of src, in that order. */
static dp_status copy_rows(const dp_dataset *src, const uint32_t *idx, size_t m,
                           const char *what, dp_dataset **out, dp_error *err)
{
    char name[sizeof src->source];
    snprintf(name, sizeof name, "%.200s (%s)", src->source, what);
    dp_status st = dp_data_alloc(m, src->n_in, src->n_targets, src->x_u8 != NULL, name, out, err);
    if (st != DP_OK) return st;
    dp_dataset *d = *out;
    size_t in = src->n_in, K = src->n_targets;
    for (size_t i = 0; i < m; i++) {
        size_t r = idx[i];
        if (src->x_u8) memcpy(d->x_u8 + i * in, src->x_u8 + r * in, in);
        if (src->x_f32) memcpy(d->x_f32 + i * in, src->x_f32 + r * in, in * sizeof(float));
        if (K)
            memcpy(d->targets + i * K, src->targets + r * K, K * sizeof(float));
        else if ((d->labels[i] = src->labels[r]) > d->max_label)
            d->max_label = d->labels[i];
    }
    snprintf(d->labels_source, sizeof d->labels_source, "%s", src->labels_source);
    return DP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t dp_data_split_count(size_t n, double frac)
{
    if (n < 2 || !(frac > 0.0 && frac < 1.0)) return 0;
    size_t k = (size_t)llround(frac * (double)n);
    return k < 1 ? 1 : k > n - 1 ? n - 1 : k;
}

dp_status dp_data_split(const dp_dataset *d, double frac, uint64_t seed, dp_dataset **train,
                        dp_dataset **val, dp_error *err)
{
    *train = *val = NULL;
    if (!(frac > 0.0 && frac < 1.0))
        return dp_fail(err, DP_EUSAGE, "--val-split %g: expected a fraction in (0, 1)", frac);
    if (d->n < 2)
        return dp_fail(err, DP_EDATA, "%s: %zu sample(s) cannot be split for validation",
                       d->source, d->n);
    size_t k = dp_data_split_count(d->n, frac);
    uint32_t *perm = malloc(d->n * sizeof *perm);
    if (!perm) return dp_fail(err, DP_EINTERNAL, "%s: out of memory for the split", d->source);
    dp_rng rng;
    dp_rng_seed(&rng, seed, VAL_SPLIT_STREAM);
    dp_rng_permutation(&rng, perm, d->n);
    qsort(perm, k, sizeof *perm, cmp_u32);
    qsort(perm + k, d->n - k, sizeof *perm, cmp_u32);
    dp_status st = copy_rows(d, perm, k, "validation part", val, err);
    if (st == DP_OK) st = copy_rows(d, perm + k, d->n - k, "training part", train, err);
    free(perm);
    if (st != DP_OK) {
        dp_data_free(*val);
        dp_data_free(*train);
        *train = *val = NULL;
    }
    return st;
}
