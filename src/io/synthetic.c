/* The synthetic teacher task (`--data synthetic:N`): seeded random inputs labelled by a fixed
 * random network, so a run needs no files and the task is still learnable. */
#include "data.h"
#include "err.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The teacher is a random map t = W x / sqrt(n_in): argmax(t) for classes (each class
 * about equally likely), tanh(t) for regression targets; its weights use their own RNG
 * stream so the same seed gives the same task whatever n is. */
dp_status dp_data_synthetic(const dp_spec *spec, size_t n, uint64_t seed, dp_dataset **out,
                            dp_error *err)
{
    *out = NULL;
    char src[64];
    snprintf(src, sizeof src, "synthetic:%zu", n);
    if (spec->n_sizes < 2 || spec->n_sizes > DP_MAX_SIZES)
        return dp_fail(err, DP_EUSAGE, "%s: model has %d layer sizes, need 2..%d", src,
                       spec->n_sizes, DP_MAX_SIZES);
    const int n_in = spec->sizes[0], outs = spec->sizes[spec->n_sizes - 1];
    if (n_in < 1 || outs < 1 || n_in > DP_MAX_WIDTH || outs > DP_MAX_WIDTH)
        return dp_fail(err, DP_EUSAGE, "%s: layer sizes %d..%d out of range 1..%d", src, n_in,
                       outs, DP_MAX_WIDTH);
    const int classify = spec->loss == DP_LOSS_XENT || spec->loss == DP_LOSS_BCE;
    const size_t k = (size_t)outs, kin = (size_t)n_in;
    if (n > 0 && k * kin > DP_DATA_MAX_BYTES / sizeof(float) / 4)
        return dp_fail(err, DP_EUSAGE, "%s: a %d x %d teacher is too large", src, outs, n_in);
    dp_dataset *d;
    dp_status s = dp_data_alloc(n, kin, classify ? 0 : k, 0, src, &d, err);
    if (s != DP_OK) return s;
    float *w = malloc(k * kin * sizeof(float));
    double *t = malloc(k * sizeof(double));
    if (!w || !t) {
        free(w);
        free(t);
        dp_data_free(d);
        return dp_fail(err, DP_EINTERNAL, "%s: out of memory", src);
    }
    dp_rng r;
    dp_rng_seed(&r, seed, 0x7eac4e7ULL);
    const double ws = 1.0 / sqrt((double)kin);
    for (size_t i = 0; i < k * kin; i++) w[i] = (float)(dp_rng_normal(&r) * ws);
    dp_rng_seed(&r, seed, 0x5a3b1e5ULL);
    for (size_t i = 0; i < n; i++) {
        float *x = d->x_f32 + i * kin;
        for (size_t j = 0; j < kin; j++) x[j] = (float)dp_rng_normal(&r);
        for (size_t o = 0; o < k; o++) {
            double acc = 0;
            const float *wo = w + o * kin;
            for (size_t j = 0; j < kin; j++) acc += (double)wo[j] * x[j];
            t[o] = acc;
        }
        if (!classify) {
            for (size_t o = 0; o < k; o++) d->targets[i * k + o] = (float)tanh(t[o]);
        } else if (spec->loss == DP_LOSS_BCE && k == 1) {
            d->labels[i] = t[0] > 0;
        } else {
            size_t best = 0;
            for (size_t o = 1; o < k; o++)
                if (t[o] > t[best]) best = o;
            d->labels[i] = (int32_t)best;
        }
        if (classify && d->labels[i] > d->max_label) d->max_label = d->labels[i];
    }
    free(w);
    free(t);
    *out = d;
    return DP_OK;
}
