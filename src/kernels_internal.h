/* Private to the kernels room: the table of one instruction-set path, and the scalar pieces
 * every path shares (so activations agree bit for bit wherever a path falls back to them).
 * Paths: kernels.c (portable), kernels_avx2.c, kernels_avx512.c. */
#ifndef DP_KERNELS_INTERNAL_H
#define DP_KERNELS_INTERNAL_H
#include <math.h>
#include <stddef.h>

#include "kernels.h"

typedef void (*dp_gemm_fn)(size_t M, size_t N, size_t K, const float *A, size_t lda,
                           const float *B, size_t ldb, float *C, size_t ldc, int accumulate);

typedef struct dp_kernel_ops {
    const char *name; /* NULL: this path was not compiled in (compiler lacks the ISA) */
    dp_gemm_fn gemm_nn, gemm_nt, gemm_tn;
    void (*bias_act_forward)(float *y, const float *b, size_t m, size_t n, dp_act act);
    void (*act_backward)(float *dy, const float *y, size_t count, dp_act act);
    void (*colsum)(float *db, const float *dy, size_t m, size_t n, int accumulate);
} dp_kernel_ops;

extern const dp_kernel_ops dp_kernels_portable_ops;
extern const dp_kernel_ops dp_kernels_avx2_ops;
extern const dp_kernel_ops dp_kernels_avx512_ops;

/* The portable element-wise kernels; the vector paths use them for sigmoid and tanh (libm,
 * not the hot path of a relu network) so those agree bitwise across paths. */
void dp_portable_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act);
void dp_portable_act_backward(float *dy, const float *y, size_t count, dp_act act);

/* Overflow-free logistic: exp of a non-positive argument only, so ±large x saturates to
 * 0 or 1 and never produces inf/inf. */
static inline float dp_sigmoidf(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

#endif
