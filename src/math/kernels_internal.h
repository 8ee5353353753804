/* Private to the kernels room: the table of one instruction-set path, and the scalar pieces
 * every path shares (so activations agree bit for bit wherever a path falls back to them).
 * Paths: kernels.c (portable), kernels_avx2.c, kernels_avx512.c. */
#ifndef DP_KERNELS_INTERNAL_H
#define DP_KERNELS_INTERNAL_H
#include <math.h>
#include <stddef.h>

#include "fmath.h" /* dp_sigmoidf, shared with loss.c */
#include "kernels.h"
#include "kernels_flat.h"

typedef void (*dp_gemm_fn)(size_t M, size_t N, size_t K, const float *A, size_t lda,
                           const float *B, size_t ldb, float *C, size_t ldc, int accumulate);

typedef struct dp_kernel_ops {
    const char *name; /* NULL: this path was not compiled in (compiler lacks the ISA) */
    dp_gemm_fn gemm_nn, gemm_nt, gemm_tn;
    void (*bias_act_forward)(float *y, const float *b, size_t m, size_t n, dp_act act);
    void (*act_backward)(float *dy, const float *y, size_t count, dp_act act);
    void (*colsum)(float *db, const float *dy, size_t m, size_t n, int accumulate);
    /* Optional (NULL: the dispatcher runs the GEMM and the element-wise pass): the forward
     * with bias + act (relu or linear) applied to each column panel of C while it is in L1. */
    void (*gemm_nn_bias_act)(size_t M, size_t N, size_t K, const float *A, size_t lda,
                             const float *B, size_t ldb, float *C, size_t ldc, const float *bias,
                             dp_act act);
    /* The flat-vector ops (kernels_flat.h), contracts as in kernels.h. */
    void (*block_sum)(float *out, float *const *blocks, int n_blocks, size_t offset,
                      size_t n, float scale);
    size_t (*sgd)(float *w, const float *g, size_t n, const dp_update_hyper *h);
    size_t (*momentum)(float *w, const float *g, float *v, size_t n, const dp_update_hyper *h);
    size_t (*adam)(float *w, const float *g, float *m, float *v, size_t n,
                   const dp_update_hyper *h);
} dp_kernel_ops;

extern const dp_kernel_ops dp_kernels_portable_ops;
extern const dp_kernel_ops dp_kernels_avx2_ops;
extern const dp_kernel_ops dp_kernels_avx512_ops;

/* The portable element-wise kernels; the vector paths use them for sigmoid and tanh (libm,
 * not the hot path of a relu network) so those agree bitwise across paths. */
void dp_portable_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act);
void dp_portable_act_backward(float *dy, const float *y, size_t count, dp_act act);
/* Every activation incl. leaky_relu and gelu, optionally keeping the pre-activation in z
 * (kernels.h's contract): the dispatcher's path for what the tables do not cover. */
void dp_portable_bias_act_forward_p(float *y, const float *b, size_t m, size_t n, dp_act act,
                                    float slope, float *z);
void dp_portable_act_backward_p(float *dy, const float *y, const float *z, size_t count,
                                dp_act act, float slope);

/* The register-tiled microkernel's k loop, written once for both vector paths. Each path
 * file defines for its register width FOR_ROWS, ACC_DECL/ACC_LOAD/ACC_STORE (the MR × NV tile
 * of C in registers), LOAD_B (one row of B), ROW_PTR + FMA_ROW (A row-major: nn, nt) and
 * FMA_COL (A transposed: tn), over the names K, a, sa, b, ldb and acol of its ukr(). */
#define DP_UKR_BODY                                                                        \
    FOR_ROWS(ACC_DECL)                                                                     \
    FOR_ROWS(ACC_LOAD)                                                                     \
    if (acol) {                                                                            \
        for (size_t k = 0; k < K; k++) {                                                   \
            LOAD_B                                                                         \
            FOR_ROWS(FMA_COL)                                                              \
            a += sa;                                                                       \
            b += ldb;                                                                      \
        }                                                                                  \
    } else {                                                                               \
        FOR_ROWS(ROW_PTR)                                                                  \
        for (size_t k = 0; k < K; k++) {                                                   \
            LOAD_B                                                                         \
            FOR_ROWS(FMA_ROW)                                                              \
            b += ldb;                                                                      \
        }                                                                                  \
    }                                                                                      \
    FOR_ROWS(ACC_STORE)

/* The fused forward's epilogue (the vector paths' gemm_nn_bias_act): once a column panel of
 * C has its complete sums, while it is still in L1, add the bias and apply relu (or not:
 * linear). Each path's bias_act_forward_body runs the same loop over the whole of y, so fused
 * and unfused give the same bits. */
typedef struct dp_epilogue {
    const float *bias; /* N entries */
    dp_act act;        /* relu or linear */
} dp_epilogue;

/* The fused forward's entry, from the path's nn_epilogue_body(..., const dp_epilogue *):
 * C[M×N] := act(X · W + bias), act relu or linear (the dispatcher checks). */
#define DP_KERNEL_ENTRY_FUSED_NN                                                           \
    static void gemm_nn_bias_act(size_t M, size_t N, size_t K, const float *A, size_t lda, \
                                 const float *B, size_t ldb, float *C, size_t ldc,         \
                                 const float *bias, dp_act act)                            \
    {                                                                                      \
        const dp_epilogue ep = {.bias = bias, .act = act};                                 \
        nn_epilogue_body(M, N, K, A, lda, B, ldb, C, ldc, &ep);                            \
        _mm256_zeroupper();                                                                \
    }

/* Entry points and the ops table of one vector path, from its *_body functions (the flat ops'
 * bodies come from kernels_flat.h, compiled here with the path's ISA; the path file defines
 * DP_FUSED_NN as its fused forward GEMM's name, or NULL). Each entry
 * ends with vzeroupper, also in builds where the compiler would not insert it (GCC at
 * -O0/-O1): dirty upper register halves make the caller's baseline SSE code several times
 * slower on the next instructions it runs. Expanded in a file compiled with that ISA. */
#define DP_KERNEL_ENTRY_GEMM(name)                                                         \
    static void name(size_t M, size_t N, size_t K, const float *A, size_t lda,            \
                     const float *B, size_t ldb, float *C, size_t ldc, int accumulate)     \
    {                                                                                      \
        name##_body(M, N, K, A, lda, B, ldb, C, ldc, accumulate);                          \
        _mm256_zeroupper();                                                                \
    }
#define DP_KERNEL_OPS(ops_name, path_name)                                                 \
    DP_KERNEL_ENTRY_GEMM(gemm_nn)                                                          \
    DP_KERNEL_ENTRY_GEMM(gemm_nt)                                                          \
    DP_KERNEL_ENTRY_GEMM(gemm_tn)                                                          \
    static void bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act) \
    {                                                                                      \
        bias_act_forward_body(y, b, m, n, act);                                            \
        _mm256_zeroupper();                                                                \
    }                                                                                      \
    static void act_backward(float *dy, const float *y, size_t count, dp_act act)          \
    {                                                                                      \
        act_backward_body(dy, y, count, act);                                              \
        _mm256_zeroupper();                                                                \
    }                                                                                      \
    static void colsum(float *db, const float *dy, size_t m, size_t n, int accumulate)     \
    {                                                                                      \
        colsum_body(db, dy, m, n, accumulate);                                             \
        _mm256_zeroupper();                                                                \
    }                                                                                      \
    static void block_sum(float *out, float *const *blocks, int n_blocks,            \
                          size_t offset, size_t n, float scale)                            \
    {                                                                                      \
        block_sum_body(out, blocks, n_blocks, offset, n, scale);                           \
        _mm256_zeroupper();                                                                \
    }                                                                                      \
    static size_t sgd(float *w, const float *g, size_t n, const dp_update_hyper *h)        \
    {                                                                                      \
        size_t bad = sgd_body(w, g, n, h);                                                 \
        _mm256_zeroupper();                                                                \
        return bad;                                                                        \
    }                                                                                      \
    static size_t momentum(float *w, const float *g, float *v, size_t n,                   \
                           const dp_update_hyper *h)                                       \
    {                                                                                      \
        size_t bad = momentum_body(w, g, v, n, h);                                         \
        _mm256_zeroupper();                                                                \
        return bad;                                                                        \
    }                                                                                      \
    static size_t adam(float *w, const float *g, float *m, float *v, size_t n,             \
                       const dp_update_hyper *h)                                           \
    {                                                                                      \
        size_t bad = adam_body(w, g, m, v, n, h);                                          \
        _mm256_zeroupper();                                                                \
        return bad;                                                                        \
    }                                                                                      \
    const dp_kernel_ops ops_name = {                                                       \
        .name = path_name,                                                                 \
        .gemm_nn = gemm_nn,                                                                \
        .gemm_nt = gemm_nt,                                                                \
        .gemm_tn = gemm_tn,                                                                \
        .bias_act_forward = bias_act_forward,                                              \
        .act_backward = act_backward,                                                      \
        .colsum = colsum,                                                                  \
        .gemm_nn_bias_act = DP_FUSED_NN,                                                   \
        .block_sum = block_sum,                                                            \
        .sgd = sgd,                                                                        \
        .momentum = momentum,                                                              \
        .adam = adam,                                                                      \
    };

#endif
