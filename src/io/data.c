/* Datasets in memory: allocation, the shard gather (uint8 pixels become floats only here,
 * so a dataset costs one byte per pixel), the fingerprint and the fit check against a model
 * spec. File formats live in idx.c and csv.c, the synthetic teacher task in synthetic.c. */
#include "data.h"
#include "err.h"
#include "hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dp_status dp_data_alloc(size_t n, size_t n_in, size_t n_targets, int pixels_u8,
                        const char *source, dp_dataset **out, dp_error *err)
{
    *out = NULL;
    const char *src = source ? source : "dataset";
    if (n == 0) return dp_fail(err, DP_EDATA, "%s: no samples", src);
    if (n > DP_DATA_MAX_SAMPLES)
        return dp_fail(err, DP_EDATA, "%s: %zu samples, more than the limit %zu", src, n,
                       (size_t)DP_DATA_MAX_SAMPLES);
    if (n_in == 0 || n_in > DP_MAX_WIDTH || n_targets > DP_MAX_WIDTH)
        return dp_fail(err, DP_EDATA, "%s: %zu features and %zu targets per sample: out of range",
                       src, n_in, n_targets);
    /* n < 2^28 and n_in, n_targets <= 2^20: the products below cannot overflow. */
    size_t xbytes = n * n_in * (pixels_u8 ? 1 : sizeof(float));
    size_t ybytes = n_targets ? n * n_targets * sizeof(float) : n * sizeof(int32_t);
    if (xbytes > DP_DATA_MAX_BYTES || ybytes > DP_DATA_MAX_BYTES)
        return dp_fail(err, DP_EDATA, "%s: %zu samples of %zu features: more than %zu bytes", src,
                       n, n_in, (size_t)DP_DATA_MAX_BYTES);
    dp_dataset *d = calloc(1, sizeof *d);
    if (!d) return dp_fail(err, DP_EINTERNAL, "%s: out of memory", src);
    d->n = n;
    d->n_in = n_in;
    d->n_targets = n_targets;
    d->max_label = -1;
    snprintf(d->source, sizeof d->source, "%s", src);
    if (pixels_u8)
        d->x_u8 = dp_calloc(xbytes);
    else
        d->x_f32 = dp_calloc(xbytes);
    if (n_targets)
        d->targets = dp_calloc(ybytes);
    else
        d->labels = dp_calloc(ybytes);
    if (!(d->x_u8 || d->x_f32) || !(d->targets || d->labels)) {
        dp_data_free(d);
        return dp_fail(err, DP_EINTERNAL, "%s: out of memory for %zu samples", src, n);
    }
    *out = d;
    return DP_OK;
}

/* Shape first, then every array the dataset holds (the pixels as stored: uint8 or float). */
uint64_t dp_data_fingerprint(const dp_dataset *d)
{
    uint64_t h = DP_HASH64_INIT;
    h = dp_hash64_u64(h, d->n);
    h = dp_hash64_u64(h, d->n_in);
    h = dp_hash64_u64(h, d->n_targets);
    if (d->x_u8) h = dp_hash64(h, d->x_u8, d->n * d->n_in);
    if (d->x_f32) h = dp_hash64(h, d->x_f32, d->n * d->n_in * sizeof(float));
    if (d->labels) h = dp_hash64(h, d->labels, d->n * sizeof(int32_t));
    if (d->targets) h = dp_hash64(h, d->targets, d->n * d->n_targets * sizeof(float));
    return h ? h : 1; /* 0 means "not recorded" in a checkpoint */
}

const char *dp_data_note(const dp_dataset *d) { return d->note[0] ? d->note : NULL; }

void dp_data_free(dp_dataset *d)
{
    if (!d) return;
    dp_free(d->x_u8);
    dp_free(d->x_f32);
    dp_free(d->labels);
    dp_free(d->targets);
    free(d);
}

size_t dp_data_count(const dp_dataset *d) { return d ? d->n : 0; }
size_t dp_data_features(const dp_dataset *d) { return d ? d->n_in : 0; }

enum { GATHER_AHEAD = 4 }; /* rows in flight: 4 × 784 B ≈ 50 lines */

void dp_data_gather(const dp_dataset *d, const uint32_t *idx, size_t m, float *x)
{
    const size_t k = d->n_in;
    if (d->x_u8) {
        const float scale = 1.0f / 255.0f;
        for (size_t i = 0; i < m; i++) {
            /* Rows are picked at random from a set larger than the caches: without asking for
             * row i + GATHER_AHEAD now, every row waits on DRAM (80 % of the gather's time). */
            if (i + GATHER_AHEAD < m) {
                const char *q = (const char *)(d->x_u8 + (size_t)idx[i + GATHER_AHEAD] * k);
                for (size_t off = 0; off < k; off += 64) __builtin_prefetch(q + off, 0, 3);
                __builtin_prefetch(q + k - 1, 0, 3);
            }
            const uint8_t *p = d->x_u8 + (size_t)idx[i] * k;
            float *row = x + i * k;
            for (size_t j = 0; j < k; j++) row[j] = (float)p[j] * scale;
        }
    } else {
        for (size_t i = 0; i < m; i++)
            memcpy(x + i * k, d->x_f32 + (size_t)idx[i] * k, k * sizeof(float));
    }
}

/* Called on a regression set (a caller bug) they write -1 / 0 rather than read NULL. */
void dp_data_gather_labels(const dp_dataset *d, const uint32_t *idx, size_t m, int32_t *labels)
{
    for (size_t i = 0; i < m; i++) labels[i] = d->labels ? d->labels[idx[i]] : -1;
}

void dp_data_gather_targets(const dp_dataset *d, const uint32_t *idx, size_t m, float *targets)
{
    const size_t k = d->n_targets;
    if (!d->targets) {
        memset(targets, 0, m * (k ? k : 1) * sizeof(float));
        return;
    }
    for (size_t i = 0; i < m; i++)
        memcpy(targets + i * k, d->targets + (size_t)idx[i] * k, k * sizeof(float));
}

dp_status dp_data_check_fits(const dp_dataset *d, const dp_spec *spec, dp_error *err)
{
    /* A bad label is the labels file's fault, where the labels have a file of their own. */
    const char *lsrc = d->labels_source[0] ? d->labels_source : d->source;
    if (spec->n_sizes < 2 || spec->n_sizes > DP_MAX_SIZES)
        return dp_fail(err, DP_EUSAGE, "%s: model has %d layer sizes, need 2..%d", d->source,
                       spec->n_sizes, DP_MAX_SIZES);
    const int n_in = spec->sizes[0], outs = spec->sizes[spec->n_sizes - 1];
    const char *ln = dp_loss_name(spec->loss);
    if (n_in < 1 || (size_t)n_in != d->n_in)
        return dp_fail(err, DP_EDATA, "%s: samples have %zu features but the input layer has %d",
                       d->source, d->n_in, n_in);
    if (spec->loss == DP_LOSS_XENT || spec->loss == DP_LOSS_BCE) {
        if (d->n_targets != 0)
            return dp_fail(err, DP_EDATA,
                           "%s: samples have %zu float targets but loss %s needs integer class "
                           "labels",
                           d->source, d->n_targets, ln);
        if (spec->loss == DP_LOSS_BCE && outs == 1) {
            if (d->max_label > 1)
                return dp_fail(err, DP_EDATA,
                               "%s: label %d found but loss bce with 1 output needs labels 0 or 1",
                               lsrc, d->max_label);
        } else if (d->max_label >= outs) {
            return dp_fail(err, DP_EDATA,
                           "%s: label %d found but the output layer has %d units (loss %s needs "
                           "labels 0..%d)",
                           lsrc, d->max_label, outs, ln, outs - 1);
        }
        return DP_OK;
    }
    if (d->n_targets == 0)
        return dp_fail(err, DP_EDATA,
                       "%s: samples have integer class labels but loss %s needs %d float target "
                       "column(s)",
                       d->source, ln, outs);
    if (d->n_targets != (size_t)outs)
        return dp_fail(err, DP_EDATA,
                       "%s: samples have %zu targets but the output layer has %d (loss %s)",
                       d->source, d->n_targets, outs, ln);
    return DP_OK;
}
