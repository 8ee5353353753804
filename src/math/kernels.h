/* Dense kernels of the training step. Row-major everywhere; leading dimensions in floats.
 * A weight matrix W of a layer with `in` inputs and `out` outputs is stored in × out
 * (W[k*out + j] connects input k to output j), so for a shard X (m × in):
 *   forward          Y  = X · W          dp_gemm_nn(m, out, in)
 *   input gradient   dX = dY · Wᵀ        dp_gemm_nt(m, in, out)
 *   weight gradient  dW = Xᵀ · dY        dp_gemm_tn(in, out, m)
 * `accumulate` = 0 overwrites C, 1 adds to it. Every fast path has a naive dp_ref_* twin that
 * the tests use as the oracle (the flat-vector ops' oracle is in tests/math/check_optim.c).
 * Which path runs is chosen once (below); the flat-vector ops follow the same choice. */
#ifndef DP_KERNELS_H
#define DP_KERNELS_H
#include <stddef.h>

#include "dpmlp.h"

/* C[M×N] (+)= A[M×K] · B[K×N] */
void dp_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate);
/* C[M×N] (+)= A[M×K] · B[N×K]ᵀ */
void dp_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate);
/* C[M×N] (+)= A[K×M]ᵀ · B[K×N] */
void dp_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate);

/* y[m×n] := act(y + b) row by row (b has n entries). DP_ACT_SOFTMAX is not handled here
 * (loss.c); DP_ACT_LINEAR adds the bias only; slope is leaky_relu's (ignored by the others).
 * z, when non-NULL, receives the pre-activation y + b (m×n): gelu's backward needs it, since
 * gelu is not a function of its output. */
void dp_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act, float slope,
                         float *z);
/* dy[i] *= act'(·), through the activation's output y (relu: y > 0, leaky_relu: y > 0 ? 1 :
 * slope, sigmoid: y(1-y), tanh: 1-y², linear: 1) or, for gelu, through the pre-activation z
 * (required then; may be NULL otherwise). Overwrites dy in place. */
void dp_act_backward(float *dy, const float *y, const float *z, size_t count, dp_act act,
                     float slope);
/* C[M×N] := act(A · B + bias), the forward of a layer: dp_gemm_nn, then dp_bias_act_forward
 * (ldc = N; slope and z as there), fused where a path can apply the bias and activation while
 * C is hot, with the bits of the unfused pair on every path. */
void dp_gemm_nn_bias_act(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc, const float *bias,
                         dp_act act, float slope, float *z);
/* db[n] (+)= column sums of dy[m×n] */
void dp_colsum(float *db, const float *dy, size_t m, size_t n, int accumulate);

/* ---- flat-vector ops: one loop over a run of the flat parameter vector, no layers ---- */

/* out[0..n) = scale · Σ_{u = 0..n_blocks-1} blocks[u][offset + i], summed in block order (the
 * reduction's fixed order); 1 ≤ n_blocks. Each element is its own sum, so every path gives the
 * same bits. out must not overlap the blocks. */
void dp_block_sum(float *out, float *const *blocks, int n_blocks, size_t offset, size_t n,
                  float scale);

/* Hyper-parameters of one update step (optim.c fills them once per step). weight_decay is
 * classic L2 for every rule: g += weight_decay · w; decay is AdamW's decoupled one (lr·wd for
 * adamw, 0 otherwise): w -= decay·w beside the Adam step. */
typedef struct dp_update_hyper {
    float lr, weight_decay, decay;
    float momentum;                    /* momentum's mu */
    float beta1, beta2, eps;           /* adam */
    float step_size, c2;               /* adam: lr / (1 - beta1^t) and 1 / (1 - beta2^t) */
} dp_update_hyper;

/* The updates work in place over [0, n) and return how many weights they left non-finite
 * (Adam: weights or second moments), the divergence check in the same pass. n < 2^32.
 * w -= lr · (g + wd·w). */
size_t dp_sgd_update(float *w, const float *g, size_t n, const dp_update_hyper *h);
/* v = mu·v + (g + wd·w); w -= lr·v (PyTorch's form). */
size_t dp_momentum_update(float *w, const float *g, float *v, size_t n,
                          const dp_update_hyper *h);
/* m = b1·m + (1−b1)·g'; v = b2·v + (1−b2)·g'²;
 * w := (w − decay·w) − step_size·m / (sqrt(v·c2) + eps), with g' = g + wd·w (decay 0: adam;
 * wd 0 and decay lr·wd: adamw, PyTorch's order: decay, then the Adam step). */
size_t dp_adam_update(float *w, const float *g, float *m, float *v, size_t n,
                      const dp_update_hyper *h);

/* Naive references with the same contracts. */
void dp_ref_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate);
void dp_ref_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate);
void dp_ref_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate);
void dp_ref_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act,
                             float slope, float *z);
void dp_ref_act_backward(float *dy, const float *y, const float *z, size_t count, dp_act act,
                         float slope);
void dp_ref_colsum(float *db, const float *dy, size_t m, size_t n, int accumulate);

/* Which path runs: "avx512", "avx2" or "portable", chosen once at start from the CPU, or
 * forced by DPMLP_KERNELS=portable|avx2|avx512 (falls back, with the reason, if the CPU
 * lacks it). dp_kernels_select returns the name actually chosen. */
const char *dp_kernels_select(const char *wanted);
const char *dp_kernels_path(void);
/* Why the last choice differs from what was wanted (a static sentence), or NULL. wanted NULL
 * in dp_kernels_select means: DPMLP_KERNELS if set, else the best the CPU runs. */
const char *dp_kernels_note(void);

/* The AVX-512 GEMMs' register tile ("8x48", "12x32": rows × columns of C in registers),
 * chosen once from CPUID (vendor, family/model, cache sizes) or forced by
 * DPMLP_GEMM_TILE=<name>; an unknown or NULL wish (with DPMLP_GEMM_TILE unset) means the
 * CPU's choice. Every tile sums each C element in the same k order, so all give the same
 * bits. dp_gemm_tile_select returns the name chosen; dp_gemm_tile_name(i) lists them
 * (NULL past the last). */
const char *dp_gemm_tile_select(const char *wanted);
const char *dp_gemm_tile_name(size_t i);
/* One line on what runs: path, tile, blocking and the CPU it was chosen for (per thread). */
const char *dp_kernels_describe(void);

#endif
