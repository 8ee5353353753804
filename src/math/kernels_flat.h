/* Private to the kernels room: the flat-vector ops (block sum, sgd, momentum, adam, the
 * non-finite count) as plain
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

/* w -= lr · (g + wd·w) */
DP_FLAT_INLINE void sgd_body(float *restrict w, const float *restrict g, size_t n,
                             const dp_update_hyper *h)
{
    const float lr = h->lr, wd = h->weight_decay;
    for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
}

/* v = mu·v + (g + wd·w); w -= lr · v (PyTorch's form) */
DP_FLAT_INLINE void momentum_body(float *restrict w, const float *restrict g, float *restrict v,
                                  size_t n, const dp_update_hyper *h)
{
    const float lr = h->lr, wd = h->weight_decay, mu = h->momentum;
    for (size_t i = 0; i < n; i++) {
        float vi = mu * v[i] + (g[i] + wd * w[i]);
        v[i] = vi;
        w[i] -= lr * vi;
    }
}

/* m = b1·m + (1−b1)·g;  v = b2·v + (1−b2)·g²;  w -= step_size · m / (sqrt(v·c2) + eps) */
DP_FLAT_INLINE void adam_body(float *restrict w, const float *restrict g, float *restrict m,
                              float *restrict v, size_t n, const dp_update_hyper *h)
{
    const float wd = h->weight_decay, b1 = h->beta1, b2 = h->beta2, eps = h->eps;
    const float step_size = h->step_size, c2 = h->c2;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float a = b1 * m[i] + (1.0f - b1) * gi;
        float b = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = a;
        v[i] = b;
        w[i] -= step_size * a / (sqrtf(b * c2) + eps);
    }
}

/* How many of v[0..n) are NaN or ±inf: an all-ones exponent, tested on the bits so the loop
 * is integer compares and adds that vectorize at every width (a float compare reduction
 * would not, and libm's isfinite is a call). Counted in 32 bits per 2^16 elements. */
DP_FLAT_INLINE size_t count_non_finite_body(const float *restrict v, size_t n)
{
    size_t k = 0;
    for (size_t i0 = 0; i0 < n; i0 += 65536) {
        size_t i1 = n - i0 < 65536 ? n : i0 + 65536;
        uint32_t c = 0;
        for (size_t i = i0; i < i1; i++) {
            uint32_t b;
            memcpy(&b, v + i, sizeof b);
            c += (b & 0x7f800000u) == 0x7f800000u;
        }
        k += c;
    }
    return k;
}

#endif
