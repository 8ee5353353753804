/* Datasets from a caller's arrays (dp_data_from_arrays): the in-memory twin of the CSV loader
 * for programs that already hold their data. Copies everything, so the caller's arrays may be
 * freed at once, and refuses what training would choke on (non-finite values, bad labels)
 * naming the row. */
#include "data.h"

#include <math.h>
#include <string.h>

#define ARRAYS_SOURCE "arrays"

/* The caller's side of the contract: which of labels/targets, and non-NULL arrays. */
static dp_status check_args(size_t n, size_t n_features, const float *x, const int32_t *labels,
                            const float *targets, size_t n_targets, dp_dataset **out,
                            dp_error *err)
{
    if (!out) return dp_fail(err, DP_EUSAGE, ARRAYS_SOURCE ": out is NULL");
    *out = NULL;
    if (n == 0) return dp_fail(err, DP_EDATA, ARRAYS_SOURCE ": no samples (n = 0)");
    if (n_features == 0) return dp_fail(err, DP_EDATA, ARRAYS_SOURCE ": 0 features per sample");
    if (!x) return dp_fail(err, DP_EUSAGE, ARRAYS_SOURCE ": x is NULL");
    if (labels && targets)
        return dp_fail(err, DP_EUSAGE,
                       ARRAYS_SOURCE ": both labels and targets given (labels for "
                                     "classification, targets for regression)");
    if (targets && n_targets == 0)
        return dp_fail(err, DP_EUSAGE, ARRAYS_SOURCE ": targets given but n_targets is 0");
    if (!targets && n_targets != 0)
        return dp_fail(err, DP_EUSAGE, ARRAYS_SOURCE ": n_targets is %zu but targets is NULL",
                       n_targets);
    return DP_OK;
}

/* The first non-finite value of the n × k block a, as (row, column); 0 when all are finite. */
static int first_non_finite(const float *a, size_t n, size_t k, size_t *row, size_t *col)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            if (!isfinite(a[i * k + j])) {
                *row = i;
                *col = j;
                return 1;
            }
    return 0;
}

static dp_status check_values(size_t n, size_t n_features, const float *x, const int32_t *labels,
                              const float *targets, size_t n_targets, dp_error *err)
{
    size_t r, c;
    if (first_non_finite(x, n, n_features, &r, &c))
        return dp_fail(err, DP_EDATA,
                       ARRAYS_SOURCE ": row %zu, feature %zu is %g: features must be finite", r,
                       c, (double)x[r * n_features + c]);
    if (targets && first_non_finite(targets, n, n_targets, &r, &c))
        return dp_fail(err, DP_EDATA,
                       ARRAYS_SOURCE ": row %zu, target %zu is %g: targets must be finite", r, c,
                       (double)targets[r * n_targets + c]);
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] < 0)
            return dp_fail(err, DP_EDATA,
                           ARRAYS_SOURCE ": row %zu has label %d: class labels must be >= 0", i,
                           (int)labels[i]);
    return DP_OK;
}

dp_status dp_data_from_arrays(size_t n, size_t n_features, const float *x, const int32_t *labels,
                              const float *targets, size_t n_targets, dp_dataset **out,
                              dp_error *err)
{
    dp_status st = check_args(n, n_features, x, labels, targets, n_targets, out, err);
    if (st != DP_OK) return st;
    /* Shape limits first (dp_data_alloc's, the loaders' own), so an absurd n is refused
     * before the caller's arrays are scanned. */
    dp_dataset *d;
    if ((st = dp_data_alloc(n, n_features, n_targets, 0, ARRAYS_SOURCE, &d, err)) != DP_OK)
        return st;
    if ((st = check_values(n, n_features, x, labels, targets, n_targets, err)) != DP_OK) {
        dp_data_free(d);
        return st;
    }
    memcpy(d->x_f32, x, n * n_features * sizeof(float));
    if (targets) memcpy(d->targets, targets, n * n_targets * sizeof(float));
    if (labels) {
        memcpy(d->labels, labels, n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++)
            if (labels[i] > d->max_label) d->max_label = labels[i];
    }
    *out = d;
    return DP_OK;
}
