/* SGD, momentum (PyTorch form: v = mu v + g, w -= lr v) and Adam (with bias correction),
 * applied element-wise to one slice; the loops are simple enough for the compiler to vectorize. */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

void dp_optim_prepare(dp_optim_step *s, const dp_train_config *cfg, long step)
{
    s->kind = cfg->optim;
    s->lr = cfg->lr;
    s->momentum = cfg->momentum;
    s->weight_decay = cfg->weight_decay;
    s->beta1 = cfg->beta1;
    s->beta2 = cfg->beta2;
    s->eps = cfg->eps;
    s->adam_c1 = (float)(1.0 / (1.0 - pow((double)cfg->beta1, (double)step)));
    s->adam_c2 = (float)(1.0 / (1.0 - pow((double)cfg->beta2, (double)step)));
}

int dp_optim_moments(dp_optim_kind kind)
{
    return kind == DP_OPT_ADAM ? 2 : kind == DP_OPT_MOMENTUM ? 1 : 0;
}

static inline __attribute__((always_inline)) void
apply_body(const dp_optim_step *s, float *restrict params, const float *restrict g,
           float *restrict m1, float *restrict m2, size_t n)
{
    const float lr = s->lr, wd = s->weight_decay;
    switch (s->kind) {
    case DP_OPT_SGD:
        for (size_t i = 0; i < n; i++) params[i] -= lr * (g[i] + wd * params[i]);
        break;
    case DP_OPT_MOMENTUM: {
        const float mu = s->momentum;
        for (size_t i = 0; i < n; i++) {
            float v = mu * m1[i] + (g[i] + wd * params[i]);
            m1[i] = v;
            params[i] -= lr * v;
        }
        break;
    }
    case DP_OPT_ADAM: {
        const float b1 = s->beta1, b2 = s->beta2, eps = s->eps;
        const float step_size = lr * s->adam_c1, c2 = s->adam_c2;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * params[i];
            float a = b1 * m1[i] + (1.0f - b1) * gi;
            float b = b2 * m2[i] + (1.0f - b2) * gi * gi;
            m1[i] = a;
            m2[i] = b;
            params[i] -= step_size * a / (sqrtf(b * c2) + eps);
        }
        break;
    }
    }
}

/* out[i] = scale · Σ_u blocks[u][i], u in order 0..n_blocks-1: the reduction's fixed order. */
static inline __attribute__((always_inline)) void
sum_body(float *restrict out, float *const *blocks, int n_blocks, size_t n, float scale)
{
    const float *b0 = blocks[0];
    for (size_t i = 0; i < n; i++) out[i] = b0[i];
    for (int u = 1; u < n_blocks; u++) {
        const float *restrict g = blocks[u];
        for (size_t i = 0; i < n; i++) out[i] += g[i];
    }
    for (size_t i = 0; i < n; i++) out[i] *= scale;
}

/* The same loops compiled for wider vector units, picked with the kernels' path (so
 * DPMLP_KERNELS=portable covers these too). */
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vl,fma"))) static void
apply_avx512(const dp_optim_step *s, float *params, const float *g, float *m1, float *m2,
             size_t n)
{
    apply_body(s, params, g, m1, m2, n);
}

__attribute__((target("avx512f,avx512vl,fma"))) static void
sum_avx512(float *out, float *const *blocks, int n_blocks, size_t n, float scale)
{
    sum_body(out, blocks, n_blocks, n, scale);
}

__attribute__((target("avx2,fma"))) static void
sum_avx2(float *out, float *const *blocks, int n_blocks, size_t n, float scale)
{
    sum_body(out, blocks, n_blocks, n, scale);
}

__attribute__((target("avx2,fma"))) static void
apply_avx2(const dp_optim_step *s, float *params, const float *g, float *m1, float *m2, size_t n)
{
    apply_body(s, params, g, m1, m2, n);
}
#endif

void dp_optim_apply(const dp_optim_step *s, float *params, const float *g, float *m1, float *m2,
                    size_t n)
{
#if defined(__x86_64__)
    const char *path = dp_kernels_path();
    if (path[0] == 'a' && !strcmp(path, "avx512")) {
        apply_avx512(s, params, g, m1, m2, n);
        return;
    }
    if (path[0] == 'a' && !strcmp(path, "avx2")) {
        apply_avx2(s, params, g, m1, m2, n);
        return;
    }
#endif
    apply_body(s, params, g, m1, m2, n);
}

void dp_optim_sum_blocks(float *out, float *const *blocks, int n_blocks, size_t offset, size_t n,
                         float scale)
{
    float *shifted[DP_OPTIM_MAX_BLOCKS];
    float *const *src = blocks;
    if (offset) {
        /* Blocks are summed from `offset` on: shift the pointers once, not per element. */
        for (int u = 0; u < n_blocks; u++) shifted[u] = blocks[u] + offset;
        src = shifted;
    }
#if defined(__x86_64__)
    const char *path = dp_kernels_path();
    if (!strcmp(path, "avx512")) {
        sum_avx512(out, src, n_blocks, n, scale);
        return;
    }
    if (!strcmp(path, "avx2")) {
        sum_avx2(out, src, n_blocks, n, scale);
        return;
    }
#endif
    sum_body(out, src, n_blocks, n, scale);
}
