/* Private to the kernels room: the flat-vector ops (block sum, sgd, momentum, adam, each
 * update counting what it left non-finite) as plain
 * loops, included by every path file so each path compiles the SAME source with its own ISA
 * flags (kernels.c baseline, kernels_avx2.c -mavx2 -mfma, kernels_avx512.c -mavx512*). Every
 * element is its own computation, so vector width never changes a result. GCC in -std=c11
 * mode contracts no a*b+c into a fused multiply-add, so there every path gives the same bits;
 * clang contracts within a statement on the FMA paths (last-bit differences), exactly as
 * before the ops moved here from optim.c. */
#ifndef DP_KERNELS_FLAT_H
#define DP_KERNELS_FLAT_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define DP_FLAT_INLINE static inline __attribute__((always_inline))

/* out[i] = scale · Σ_u blocks[u][offset + i], u in order 0..n_blocks-1: the reduction's fixed
 * order. n_blocks ≥ 1 (checked by the caller). */
DP_FLAT_INLINE void block_sum_body(float *restrict out, float *const *blocks, int n_blocks,
                                   size_t offset, size_t n, float scale)
{
    const float *b0 = blocks[0] + offset;
    for (size_t i = 0; i < n; i++) out[i] = b0[i];
    for (int u = 1; u < n_blocks; u++) {
        const float *restrict g = blocks[u] + offset;
        for (size_t i = 0; i < n; i++) out[i] += g[i];
    }
    for (size_t i = 0; i < n; i++) out[i] *= scale;
}

/* 1 when x is NaN or ±inf: an all-ones exponent, tested on the bits so a loop of these is
 * integer compares and adds that vectorize at every width (a float compare reduction would
 * not, and libm's isfinite is a call). */
DP_FLAT_INLINE uint32_t non_finite_bit(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7f800000u) == 0x7f800000u;
}

/* The updates return how many of the weights they wrote (and of Adam's second moments) are
 * non-finite: the divergence check rides in the update's own pass. A non-finite first moment
 * (momentum's v, Adam's m) makes its weight non-finite in the same update, so it needs no
 * count of its own; only Adam's second moment can turn +inf and leave the weight finite.
 * Callers pass n < 2^32. */

/* w -= lr · (g + wd·w) */
DP_FLAT_INLINE size_t sgd_body(float *restrict w, const float *restrict g, size_t n,
                               const dp_update_hyper *h)
{
    const float lr = h->lr, wd = h->weight_decay;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float wi = w[i] - lr * (g[i] + wd * w[i]);
        w[i] = wi;
        bad += non_finite_bit(wi);
    }
    return bad;
}

/* v = mu·v + (g + wd·w); w -= lr · v (PyTorch's form) */
DP_FLAT_INLINE size_t momentum_body(float *restrict w, const float *restrict g,
                                    float *restrict v, size_t n, const dp_update_hyper *h)
{
    const float lr = h->lr, wd = h->weight_decay, mu = h->momentum;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float vi = mu * v[i] + (g[i] + wd * w[i]);
        v[i] = vi;
        float wi = w[i] - lr * vi;
        w[i] = wi;
        bad += non_finite_bit(wi);
    }
    return bad;
}

/* m = b1·m + (1−b1)·g;  v = b2·v + (1−b2)·g²;  w := (w − decay·w) − step_size · m /
 * (sqrt(v·c2) + eps). `decoupled` is a constant at each call, so adam's loop (decay 0) is the
 * loop it always was and only adamw's pays for the decay. */
DP_FLAT_INLINE size_t adam_loop(float *restrict w, const float *restrict g, float *restrict m,
                                float *restrict v, size_t n, const dp_update_hyper *h,
                                int decoupled)
{
    const float wd = h->weight_decay, b1 = h->beta1, b2 = h->beta2, eps = h->eps;
    const float decay = h->decay;
    const float step_size = h->step_size, c2 = h->c2;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float a = b1 * m[i] + (1.0f - b1) * gi;
        float b = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = a;
        v[i] = b;
        float w0 = decoupled ? w[i] - decay * w[i] : w[i];
        float wi = w0 - step_size * a / (sqrtf(b * c2) + eps);
        w[i] = wi;
        bad += non_finite_bit(wi) | non_finite_bit(b);
    }
    return bad;
}

DP_FLAT_INLINE size_t adam_body(float *restrict w, const float *restrict g, float *restrict m,
                                float *restrict v, size_t n, const dp_update_hyper *h)
{
    return h->decay != 0.0f ? adam_loop(w, g, m, v, n, h, 1) : adam_loop(w, g, m, v, n, h, 0);
}

#endif
