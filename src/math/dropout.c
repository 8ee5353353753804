/* Dropout masks and buffers (dropout.h, model.h). Keep-or-drop is decided on 24 hash bits, the
 * same test on every host, so same seed → same masks whatever the threads or micro-shards. */
#include "dropout.h"

#include "err.h"
#include "hash.h"

/* Separates the dropout's hash stream from any other use of dp_hash_counter. */
#define DROPOUT_STREAM 0xd120u

uint64_t dp_dropout_key(uint64_t seed, int epoch)
{
    return dp_hash_counter(seed, (uint64_t)(uint32_t)epoch, DROPOUT_STREAM);
}

int dp_dropout_any(const dp_spec *spec, const float *rate)
{
    for (int l = 0; rate && l + 2 < spec->n_sizes; l++)
        if (rate[l] > 0.0f) return 1;
    return 0;
}

float dp_dropout_scale(uint64_t key, uint64_t pos, int layer, size_t unit, float p)
{
    uint64_t h = dp_hash_counter(key, pos, ((uint64_t)(uint32_t)layer << 32) | (uint64_t)unit);
    float u = (float)(h >> 40) * (1.0f / 16777216.0f); /* [0, 1), exact in float */
    return u >= p ? 1.0f / (1.0f - p) : 0.0f;
}

void dp_dropout_apply(dp_workspace *ws, const dp_dropout *d, int l, size_t m, size_t n)
{
    float *mask = ws->mask[l + 1], *drop = ws->drop[l + 1];
    const float *act = ws->act[l + 1];
    DP_ASSERT(mask && drop && m <= ws->max_rows);
    float p = d->rate[l];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = dp_dropout_scale(d->key, d->row0 + i, l, j, p);
            mask[i * n + j] = s;
            drop[i * n + j] = act[i * n + j] * s;
        }
    ws->drop_on[l + 1] = 1;
}

dp_status dp_workspace_add_dropout(dp_workspace *ws, const dp_spec *spec, const float *rate,
                                   dp_error *err)
{
    for (int l = 0; rate && l + 2 < spec->n_sizes; l++) {
        if (!(rate[l] > 0.0f) || ws->mask[l + 1]) continue;
        size_t bytes = ws->max_rows * (size_t)spec->sizes[l + 1] * sizeof(float);
        ws->mask[l + 1] = dp_calloc(bytes);
        ws->drop[l + 1] = dp_calloc(bytes);
        if (!ws->mask[l + 1] || !ws->drop[l + 1])
            return dp_fail(err, DP_EINTERNAL, "out of memory for the dropout of hidden layer %d",
                           l + 1);
    }
    return DP_OK;
}
