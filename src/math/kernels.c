/* Kernels room: run-time choice of the instruction-set path, the naive reference kernels
 * (the tests' oracle) and the portable path (plain C; the compiler may vectorize it for the
 * baseline ISA). The AVX2 and AVX-512 paths live in kernels_avx2.c / kernels_avx512.c. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kernels_internal.h"

/* ---------------------------------------------------------------- dispatch */

static _Atomic(const dp_kernel_ops *) g_ops;
static _Atomic(const char *) g_note;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int usable_avx512(void) { return dp_kernels_avx512_ops.name && cpu_has_avx512(); }
static int usable_avx2(void) { return dp_kernels_avx2_ops.name && cpu_has_avx2(); }

static const dp_kernel_ops *best(void)
{
    if (usable_avx512()) return &dp_kernels_avx512_ops;
    if (usable_avx2()) return &dp_kernels_avx2_ops;
    return &dp_kernels_portable_ops;
}

/* Maps a wanted name to a path; *note gets a static sentence when the wish was not granted. */
static const dp_kernel_ops *resolve(const char *wanted, const char **note)
{
    *note = NULL;
    if (!wanted || !*wanted || strcmp(wanted, "auto") == 0) return best();
    if (strcmp(wanted, "portable") == 0) return &dp_kernels_portable_ops;
    if (strcmp(wanted, "avx512") == 0) {
        if (usable_avx512()) return &dp_kernels_avx512_ops;
        *note = dp_kernels_avx512_ops.name
                    ? "avx512 kernels wanted, but this CPU lacks AVX-512 F/VL/BW/DQ"
                    : "avx512 kernels wanted, but this build has no AVX-512 path";
        return best();
    }
    if (strcmp(wanted, "avx2") == 0) {
        if (usable_avx2()) return &dp_kernels_avx2_ops;
        *note = dp_kernels_avx2_ops.name ? "avx2 kernels wanted, but this CPU lacks AVX2/FMA"
                                         : "avx2 kernels wanted, but this build has no AVX2 path";
        return best();
    }
    *note = "unknown kernel path wanted (expected portable, avx2 or avx512); using the best";
    return best();
}

static void lazy_init(void)
{
    const char *note;
    const dp_kernel_ops *o = resolve(getenv("DPMLP_KERNELS"), &note);
    const dp_kernel_ops *expected = NULL;
    /* An explicit dp_kernels_select that raced ahead of us wins. */
    if (atomic_compare_exchange_strong(&g_ops, &expected, o)) atomic_store(&g_note, note);
}

static inline const dp_kernel_ops *ops(void)
{
    const dp_kernel_ops *o = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (__builtin_expect(o == NULL, 0)) {
        pthread_once(&g_once, lazy_init);
        o = atomic_load_explicit(&g_ops, memory_order_acquire);
    }
    return o;
}

const char *dp_kernels_select(const char *wanted)
{
    const char *note;
    const dp_kernel_ops *o = resolve(wanted ? wanted : getenv("DPMLP_KERNELS"), &note);
    atomic_store(&g_note, note);
    atomic_store_explicit(&g_ops, o, memory_order_release);
    return o->name;
}

const char *dp_kernels_path(void) { return ops()->name; }

const char *dp_kernels_note(void)
{
    (void)ops();
    return atomic_load(&g_note);
}

/* Shapes at entry, once per call: an r × c operand with leading dimension ld is readable when
 * it is empty or ld ≥ c (an empty one may come with any ld, even NULL data). */
static inline int ld_ok(size_t r, size_t c, size_t ld) { return r == 0 || c == 0 || ld >= c; }

void dp_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate)
{
    DP_ASSERT(ld_ok(M, K, lda) && ld_ok(K, N, ldb) && ld_ok(M, N, ldc));
    ops()->gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void dp_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate)
{
    DP_ASSERT(ld_ok(M, K, lda) && ld_ok(N, K, ldb) && ld_ok(M, N, ldc));
    ops()->gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void dp_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                size_t ldb, float *C, size_t ldc, int accumulate)
{
    DP_ASSERT(ld_ok(K, M, lda) && ld_ok(K, N, ldb) && ld_ok(M, N, ldc));
    ops()->gemm_tn(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

/* leaky_relu and gelu, and any call that keeps the pre-activation, run the portable loops on
 * every path: the vector paths' tables know the original four only. */
static int portable_only(dp_act act, const float *z)
{
    return act == DP_ACT_LEAKY_RELU || act == DP_ACT_GELU || z != NULL;
}

void dp_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act, float slope,
                         float *z)
{
    DP_ASSERT((unsigned)act <= DP_ACT_GELU);
    if (portable_only(act, z))
        dp_portable_bias_act_forward_p(y, b, m, n, act, slope, z);
    else
        ops()->bias_act_forward(y, b, m, n, act);
}

void dp_act_backward(float *dy, const float *y, const float *z, size_t count, dp_act act,
                     float slope)
{
    DP_ASSERT((unsigned)act <= DP_ACT_GELU);
    DP_ASSERT(act != DP_ACT_GELU || z != NULL || count == 0);
    if (act == DP_ACT_LEAKY_RELU || act == DP_ACT_GELU)
        dp_portable_act_backward_p(dy, y, z, count, act, slope);
    else
        ops()->act_backward(dy, y, count, act);
}

void dp_gemm_nn_bias_act(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc, const float *bias,
                         dp_act act, float slope, float *z)
{
    const dp_kernel_ops *o = ops();
    if (o->gemm_nn_bias_act && ldc == N && !portable_only(act, z) &&
        (act == DP_ACT_RELU || act == DP_ACT_LINEAR)) {
        DP_ASSERT(ld_ok(M, K, lda) && ld_ok(K, N, ldb));
        o->gemm_nn_bias_act(M, N, K, A, lda, B, ldb, C, ldc, bias, act);
        return;
    }
    DP_ASSERT(ldc == N); /* dp_bias_act_forward's rows are dense */
    dp_gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, 0);
    dp_bias_act_forward(C, bias, M, N, act, slope, z);
}

void dp_colsum(float *db, const float *dy, size_t m, size_t n, int accumulate)
{
    ops()->colsum(db, dy, m, n, accumulate);
}

void dp_block_sum(float *out, float *const *blocks, int n_blocks, size_t offset, size_t n,
                  float scale)
{
    DP_ASSERT(n_blocks >= 1 && blocks != NULL);
    ops()->block_sum(out, blocks, n_blocks, offset, n, scale);
}

size_t dp_sgd_update(float *w, const float *g, size_t n, const dp_update_hyper *h)
{
    return ops()->sgd(w, g, n, h);
}

size_t dp_momentum_update(float *w, const float *g, float *v, size_t n,
                          const dp_update_hyper *h)
{
    DP_ASSERT(v != NULL || n == 0);
    return ops()->momentum(w, g, v, n, h);
}

size_t dp_adam_update(float *w, const float *g, float *m, float *v, size_t n,
                      const dp_update_hyper *h)
{
    DP_ASSERT((m != NULL && v != NULL) || n == 0);
    return ops()->adam(w, g, m, v, n, h);
}

/* ---------------------------------------------------------------- references
 * Naive loops that sum in double and round once, so they are a better oracle than any float
 * path; element-wise references compute in float exactly as documented in kernels.h. */

/* C[M×N] (+)= Σ_k a(i,k) · b(k,j) with a(i,k) = A[i·ars + k·acs], b(k,j) = B[k·brs + j·bcs]:
 * one loop serves the three forms. */
static void ref_gemm(size_t M, size_t N, size_t K, const float *A, size_t ars, size_t acs,
                     const float *B, size_t brs, size_t bcs, float *C, size_t ldc, int accumulate)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = accumulate ? C[i * ldc + j] : 0.0;
            for (size_t k = 0; k < K; k++) s += (double)A[i * ars + k * acs] * B[k * brs + j * bcs];
            C[i * ldc + j] = (float)s;
        }
}

/* C[M×N] (+)= A[M×K] · B[K×N] */
void dp_ref_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    ref_gemm(M, N, K, A, lda, 1, B, ldb, 1, C, ldc, accumulate);
}

/* C[M×N] (+)= A[M×K] · B[N×K]ᵀ */
void dp_ref_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    ref_gemm(M, N, K, A, lda, 1, B, 1, ldb, C, ldc, accumulate);
}

/* C[M×N] (+)= A[K×M]ᵀ · B[K×N] */
void dp_ref_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    ref_gemm(M, N, K, A, 1, lda, B, ldb, 1, C, ldc, accumulate);
}

/* relu(x) = 0 > x ? 0 : x keeps NaN (a diverging run stays visible) and equals maxps(0, x). */
static inline float relu(float x) { return 0.0f > x ? 0.0f : x; }

/* The two activations with a parameter or a pre-activation, one scalar each, shared by the
 * reference and the portable loops (the tests check them against finite differences). */
static inline float leaky(float x, float slope) { return x > 0.0f ? x : slope * x; }

/* gelu(x) = x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh approximation (Hendrycks &
 * Gimpel; PyTorch's approximate='tanh'). */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f
static inline float gelu(float x)
{
    return 0.5f * x * (1.0f + tanhf(GELU_K * (x + GELU_C * x * x * x)));
}

/* gelu'(x); beyond |x| = 10 it is 0 or 1 to float precision, and the formula's x³ would turn
 * 0·inf into NaN for |x| > 1e19. */
static inline float gelu_grad(float x)
{
    if (x > 10.0f) return 1.0f;
    if (x < -10.0f) return 0.0f;
    float t = tanhf(GELU_K * (x + GELU_C * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
}

static inline float act_scalar(float x, dp_act act, float slope)
{
    switch (act) {
    case DP_ACT_RELU: return relu(x);
    case DP_ACT_SIGMOID: return dp_sigmoidf(x);
    case DP_ACT_TANH: return tanhf(x);
    case DP_ACT_LEAKY_RELU: return leaky(x, slope);
    case DP_ACT_GELU: return gelu(x);
    default: return x;
    }
}

/* y[m×n] := act(y + b); softmax and linear add the bias only (loss.c applies softmax). */
void dp_ref_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act,
                             float slope, float *z)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float x = y[i * n + j] + b[j];
            if (z) z[i * n + j] = x;
            y[i * n + j] = act_scalar(x, act, slope);
        }
}

/* act'(·) as one scalar: through y, or gelu through its pre-activation z. */
static inline float grad_scalar(float dy, float y, const float *z, size_t i, dp_act act,
                                float slope)
{
    switch (act) {
    case DP_ACT_RELU: return y > 0.0f ? dy : 0.0f;
    case DP_ACT_SIGMOID: return dy * (y * (1.0f - y));
    case DP_ACT_TANH: return dy * (1.0f - y * y);
    case DP_ACT_LEAKY_RELU: return y > 0.0f ? dy : dy * slope;
    case DP_ACT_GELU: return dy * gelu_grad(z[i]);
    default: return dy;
    }
}

/* dy[count] *= act'(through y). relu: y > 0 selects dy, else 0 (also at y == 0 and for NaN,
 * and 0 even when dy is inf); sigmoid: dy·(y·(1−y)); tanh: dy·(1−y·y); leaky_relu: dy, or
 * dy·slope where y ≤ 0; gelu: dy·gelu'(z); linear/softmax: no-op. */
void dp_ref_act_backward(float *dy, const float *y, const float *z, size_t count, dp_act act,
                         float slope)
{
    for (size_t i = 0; i < count; i++) dy[i] = grad_scalar(dy[i], y[i], z, i, act, slope);
}

/* db[n] (+)= Σ_i dy[i×n + j], summed in float in row order (what every path does). */
void dp_ref_colsum(float *db, const float *dy, size_t m, size_t n, int accumulate)
{
    for (size_t j = 0; j < n; j++) {
        float s = accumulate ? db[j] : 0.0f;
        for (size_t i = 0; i < m; i++) s += dy[i * n + j];
        db[j] = s;
    }
}

/* ---------------------------------------------------------------- portable path
 * Plain C shaped so -O3 vectorizes the inner j loops for whatever the baseline ISA is. Each
 * C element is summed in float, in k order, without fused multiply-add. */

/* c0..c3[n] += a0..a3 · b[n]: four C rows share each load of b. restrict on parameters (not
 * locals) is what lets GCC vectorize without a run-time overlap check. */
static void axpy4(size_t n, float a0, float a1, float a2, float a3, const float *restrict b,
                  float *restrict c0, float *restrict c1, float *restrict c2, float *restrict c3)
{
    for (size_t j = 0; j < n; j++) {
        float bj = b[j];
        c0[j] += a0 * bj;
        c1[j] += a1 * bj;
        c2[j] += a2 * bj;
        c3[j] += a3 * bj;
    }
}

static void axpy1(size_t n, float a, const float *restrict b, float *restrict c)
{
    for (size_t j = 0; j < n; j++) c[j] += a * b[j];
}

/* Column blocks of C small enough that four C row pieces stay in L1 while B streams by. */
enum { PORT_NC = 512 };

/* C[M×N] (+)= A·B where a(i,k) = A[i·rs + k·cs]: nn has rs = lda, cs = 1; tn rs = 1, cs = lda. */
static void port_gemm(size_t M, size_t N, size_t K, const float *A, size_t rs, size_t cs,
                      const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (M == 0 || N == 0) return;
    for (size_t i = 0; i < M; i++)
        if (!accumulate)
            for (size_t j = 0; j < N; j++) C[i * ldc + j] = 0.0f;
    for (size_t j0 = 0; j0 < N; j0 += PORT_NC) {
        size_t nc = N - j0 < PORT_NC ? N - j0 : PORT_NC;
        size_t i = 0;
        for (; i + 4 <= M; i += 4) {
            float *c = C + i * ldc + j0;
            for (size_t k = 0; k < K; k++)
                axpy4(nc, A[i * rs + k * cs], A[(i + 1) * rs + k * cs], A[(i + 2) * rs + k * cs],
                      A[(i + 3) * rs + k * cs], B + k * ldb + j0, c, c + ldc, c + 2 * ldc,
                      c + 3 * ldc);
        }
        for (; i < M; i++)
            for (size_t k = 0; k < K; k++)
                axpy1(nc, A[i * rs + k * cs], B + k * ldb + j0, C + i * ldc + j0);
    }
}

/* C[M×N] (+)= A[M×K] · B[K×N] */
static void port_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    port_gemm(M, N, K, A, lda, 1, B, ldb, C, ldc, accumulate);
}

/* C[M×N] (+)= A[K×M]ᵀ · B[K×N] */
static void port_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    port_gemm(M, N, K, A, 1, lda, B, ldb, C, ldc, accumulate);
}

/* C[M×N] (+)= A[M×K] · B[N×K]ᵀ: a KC×NB block of Bᵀ is transposed into a stack buffer, then
 * the nn loop runs on it. Blocking over k keeps the per-element order k = 0,1,…,K−1. */
enum { PORT_KC = 128, PORT_NB = 64 };
static void port_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (M == 0 || N == 0) return;
    float P[PORT_KC * PORT_NB];
    for (size_t i = 0; i < M; i++)
        if (!accumulate)
            for (size_t j = 0; j < N; j++) C[i * ldc + j] = 0.0f;
    for (size_t j0 = 0; j0 < N; j0 += PORT_NB) {
        size_t nb = N - j0 < PORT_NB ? N - j0 : PORT_NB;
        for (size_t k0 = 0; k0 < K; k0 += PORT_KC) {
            size_t kc = K - k0 < PORT_KC ? K - k0 : PORT_KC;
            for (size_t jj = 0; jj < nb; jj++)
                for (size_t k = 0; k < kc; k++) P[k * nb + jj] = B[(j0 + jj) * ldb + k0 + k];
            port_gemm_nn(M, nb, kc, A + k0, lda, P, nb, C + j0, ldc, 1);
        }
    }
}

void dp_portable_bias_act_forward(float *y, const float *b, size_t m, size_t n, dp_act act)
{
    for (size_t i = 0; i < m; i++) {
        float *restrict r = y + i * n;
        switch (act) {
        case DP_ACT_RELU:
            for (size_t j = 0; j < n; j++) r[j] = relu(r[j] + b[j]);
            break;
        case DP_ACT_SIGMOID:
            for (size_t j = 0; j < n; j++) r[j] = dp_sigmoidf(r[j] + b[j]);
            break;
        case DP_ACT_TANH:
            for (size_t j = 0; j < n; j++) r[j] = tanhf(r[j] + b[j]);
            break;
        default:
            for (size_t j = 0; j < n; j++) r[j] += b[j];
            break;
        }
    }
}

void dp_portable_act_backward(float *dy, const float *y, size_t count, dp_act act)
{
    switch (act) {
    case DP_ACT_RELU:
        for (size_t i = 0; i < count; i++) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case DP_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++) dy[i] = dy[i] * (y[i] * (1.0f - y[i]));
        break;
    case DP_ACT_TANH:
        for (size_t i = 0; i < count; i++) dy[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default: break;
    }
}

/* Every activation, with leaky_relu's slope and the pre-activation kept in z when asked:
 * what the dispatcher runs for leaky_relu, gelu and z != NULL on every path. leaky_relu's
 * loops are their own (the switch outside), so the compiler vectorizes them. */
void dp_portable_bias_act_forward_p(float *y, const float *b, size_t m, size_t n, dp_act act,
                                    float slope, float *z)
{
    for (size_t i = 0; i < m; i++) {
        float *restrict r = y + i * n;
        float *zr = z ? z + i * n : NULL;
        if (zr)
            for (size_t j = 0; j < n; j++) zr[j] = r[j] + b[j];
        if (act == DP_ACT_LEAKY_RELU)
            for (size_t j = 0; j < n; j++) r[j] = leaky(r[j] + b[j], slope);
        else
            for (size_t j = 0; j < n; j++) r[j] = act_scalar(r[j] + b[j], act, slope);
    }
}

void dp_portable_act_backward_p(float *dy, const float *y, const float *z, size_t count,
                                dp_act act, float slope)
{
    if (act == DP_ACT_LEAKY_RELU)
        for (size_t i = 0; i < count; i++) dy[i] = y[i] > 0.0f ? dy[i] : dy[i] * slope;
    else
        for (size_t i = 0; i < count; i++) dy[i] = grad_scalar(dy[i], y[i], z, i, act, slope);
}

static void port_colsum(float *db, const float *dy, size_t m, size_t n, int accumulate)
{
    if (!accumulate)
        for (size_t j = 0; j < n; j++) db[j] = 0.0f;
    for (size_t i = 0; i < m; i++) {
        const float *restrict r = dy + i * n;
        for (size_t j = 0; j < n; j++) db[j] += r[j];
    }
}

/* The flat ops at the baseline ISA (kernels_flat.h): no FMA, as optim.c computed them. */
static void port_block_sum(float *out, float *const *blocks, int n_blocks, size_t offset,
                           size_t n, float scale)
{
    block_sum_body(out, blocks, n_blocks, offset, n, scale);
}

static size_t port_sgd(float *w, const float *g, size_t n, const dp_update_hyper *h)
{
    return sgd_body(w, g, n, h);
}

static size_t port_momentum(float *w, const float *g, float *v, size_t n,
                            const dp_update_hyper *h)
{
    return momentum_body(w, g, v, n, h);
}

static size_t port_adam(float *w, const float *g, float *m, float *v, size_t n,
                        const dp_update_hyper *h)
{
    return adam_body(w, g, m, v, n, h);
}

const dp_kernel_ops dp_kernels_portable_ops = {
    .name = "portable",
    .gemm_nn = port_gemm_nn,
    .gemm_nt = port_gemm_nt,
    .gemm_tn = port_gemm_tn,
    .bias_act_forward = dp_portable_bias_act_forward,
    .act_backward = dp_portable_act_backward,
    .colsum = port_colsum,
    .block_sum = port_block_sum,
    .sgd = port_sgd,
    .momentum = port_momentum,
    .adam = port_adam,
};
