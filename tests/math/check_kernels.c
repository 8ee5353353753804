/* Kernels room tests: every path the CPU runs (forced through dp_kernels_select) against the
 * naive double-accumulating references, on odd shapes with padded leading dimensions, plus
 * bitwise repeatability, activation edge cases and the run-time dispatch itself. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util/kernel_paths.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) { return kp_frand(&rng_state); }

/* rows × cols matrix with leading dimension ld; the padding holds NaN, so a kernel that reads
 * it poisons its result and one that writes it is caught by check_pad. */
static float *mat(size_t rows, size_t cols, size_t ld)
{
    size_t n = rows * ld + 1;
    float *m = malloc(n * sizeof *m);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++) m[i] = NAN;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) m[i * ld + j] = frand();
    return m;
}

static void check_pad(const float *m, size_t rows, size_t cols, size_t ld)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = cols; j < ld; j++) /* ck_abort only on failure: every passing Check
                                             * assertion costs a write() to its log pipe */
            if (!isnan(m[i * ld + j])) ck_abort_msg("padding written");
}

static float *absdup(const float *m, size_t n)
{
    float *a = malloc(n * sizeof *a);
    ck_assert_ptr_nonnull(a);
    for (size_t i = 0; i < n; i++) a[i] = fabsf(m[i]);
    return a;
}

typedef void (*gemm_fn)(size_t, size_t, size_t, const float *, size_t, const float *, size_t,
                        float *, size_t, int);
enum { NN, NT, TN };
static const gemm_fn FAST[] = {dp_gemm_nn, dp_gemm_nt, dp_gemm_tn};
static const gemm_fn REF[] = {dp_ref_gemm_nn, dp_ref_gemm_nt, dp_ref_gemm_tn};
static const char *const FORM[] = {"nn", "nt", "tn"};

/* One GEMM of the given form and shape on the current path against the reference. Tolerance:
 * 1e-5·sqrt(K+1) relative to Σ|a·b| + |c0| (covers the worst-case float sum for our K). */
static void gemm_case(int form, size_t M, size_t N, size_t K, int accumulate)
{
    size_t ar = form == TN ? K : M, ac = form == TN ? M : K; /* A as stored */
    size_t br = form == NT ? N : K, bc = form == NT ? K : N; /* B as stored */
    size_t lda = ac + 3, ldb = bc + 5, ldc = N + 7;
    float *A = mat(ar, ac, lda), *B = mat(br, bc, ldb), *C = mat(M, N, ldc);
    float *R = malloc((M * ldc + 1) * sizeof *R), *S = malloc((M * ldc + 1) * sizeof *S);
    ck_assert(R && S);
    memcpy(R, C, (M * ldc + 1) * sizeof *R);
    float *Aa = absdup(A, ar * lda + 1), *Ba = absdup(B, br * ldb + 1), *Ca = absdup(C, M * ldc + 1);
    /* the abs copies have |NaN| padding; the reference never reads padding */
    REF[form](M, N, K, A, lda, B, ldb, R, ldc, accumulate);
    REF[form](M, N, K, Aa, lda, Ba, ldb, Ca, ldc, accumulate);
    memcpy(S, C, (M * ldc + 1) * sizeof *S);
    FAST[form](M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    double tol = 1e-5 * sqrt((double)K + 1.0);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float got = C[i * ldc + j], want = R[i * ldc + j];
            if (!(fabs((double)got - want) <= tol * Ca[i * ldc + j] + 1e-30))
                ck_abort_msg("%s %s M=%zu N=%zu K=%zu acc=%d C[%zu,%zu] = %.9g, want %.9g",
                             dp_kernels_path(), FORM[form], M, N, K, accumulate, i, j, got, want);
        }
    check_pad(C, M, N, ldc);
    /* the same call again gives the same bits */
    FAST[form](M, N, K, A, lda, B, ldb, S, ldc, accumulate);
    ck_assert_msg(memcmp(C, S, (M * ldc) * sizeof *C) == 0 || M * N == 0, "%s %s not repeatable",
                  dp_kernels_path(), FORM[form]);
    free(A), free(B), free(C), free(R), free(S), free(Aa), free(Ba), free(Ca);
}

static const size_t DIMS[] = {1, 3, 17, 64, 255};
enum { NDIMS = sizeof DIMS / sizeof DIMS[0] };

START_TEST(gemm_odd_shapes)
{
    if (!kp_use_gemm(_i)) return;
    for (int form = 0; form < 3; form++)
        for (size_t a = 0; a < NDIMS; a++)
            for (size_t b = 0; b < NDIMS; b++)
                for (size_t c = 0; c < NDIMS; c++)
                    gemm_case(form, DIMS[a], DIMS[b], DIMS[c], (int)((a + b + c) % 2));
}
END_TEST

START_TEST(gemm_300_and_accumulate)
{
    if (!kp_use_gemm(_i)) return;
    for (int form = 0; form < 3; form++)
        for (int acc = 0; acc < 2; acc++) {
            gemm_case(form, 300, 17, 300, acc);
            gemm_case(form, 3, 300, 300, acc);
            gemm_case(form, 300, 300, 1, acc);
            gemm_case(form, 33, 49, 129, acc);
        }
}
END_TEST

/* Short shards (the nt path that reads W in place for M ≤ 16: even/odd K, the K limit, a
 * partial last tile of W rows) in every form. */
START_TEST(gemm_short_shards)
{
    if (!kp_use_gemm(_i)) return;
    static const size_t ms[] = {2, 5, 8, 9, 12, 16}, ns[] = {16, 17, 31, 300},
                        ks[] = {1, 2, 7, 128, 512, 513};
    int acc = 0;
    for (int form = 0; form < 3; form++)
        for (size_t a = 0; a < 6; a++)
            for (size_t b = 0; b < 4; b++)
                for (size_t c = 0; c < 6; c++) gemm_case(form, ms[a], ns[b], ks[c], acc ^= 1);
}
END_TEST

/* The shapes of a 784-256-128-10 network at shard sizes 1, 8, 64, 255. */
START_TEST(gemm_layer_shapes)
{
    if (!kp_use_gemm(_i)) return;
    static const size_t sizes[] = {784, 256, 128, 10};
    static const size_t shards[] = {1, 8, 64, 255};
    for (size_t s = 0; s < 4; s++)
        for (size_t l = 0; l < 3; l++) {
            size_t m = shards[s], in = sizes[l], out = sizes[l + 1];
            gemm_case(NN, m, out, in, 0);
            gemm_case(NT, m, in, out, (int)(s & 1));
            gemm_case(TN, in, out, m, (int)(l & 1));
        }
}
END_TEST

/* One dimension wide and odd (31, 33, 1023, 4097) with the others small, so the k blocks
 * (dp_gemm_kc), partial row tiles of every tile height and masked column panels all run;
 * 130 x 513 x 257 takes avx2's tn through two k blocks of its packed dY panels; from 1024
 * outputs on its tn packs X as strips: 70 x 2055 x 130 through a partial strip, 37 x 1024 x 300
 * through two k blocks, 2053 x 1025 x 7 through a second block of columns (2048 + 5) and a
 * masked last panel; its nn does so from 128 rows on: 2053 x 1025 x 7 through a second block
 * of rows and a short k tail, 131 x 1030 x 261 through a partial strip and two k blocks; from
 * 2 MiB of W on its nn packs W 144 columns at a time: 13 x 1201 x 440 through 8 full blocks,
 * a last one of 2 panels and a 1-wide one, and two k blocks. The avx512 path packs nn's W
 * and tn's X and dY from 512 outputs on, in 256-deep pieces (130 x 513 x 257: two), tn's X
 * 2048 rows and dY 1024 columns at a time (2053 x 1025 x 7), and nt's dY from 512 outputs on
 * in blocks of 256 rows and dp_gemm_kc columns (300 x 40 x 1500: two of each). */
START_TEST(gemm_wide_odd)
{
    if (!kp_use_gemm(_i)) return;
    static const size_t shapes[][3] = {{4097, 3, 17}, {3, 4097, 17}, {17, 3, 4097},
                                       {1023, 33, 31}, {31, 1023, 33}, {33, 31, 1023},
                                       {65, 257, 1023}, {1023, 31, 255}, {130, 513, 257},
                                       {70, 2055, 130}, {37, 1024, 300}, {2053, 1025, 7},
                                       {131, 1030, 261}, {13, 1201, 440}, {300, 40, 1500}};
    for (int form = 0; form < 3; form++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int acc = 0; acc < 2; acc++)
                gemm_case(form, shapes[s][0], shapes[s][1], shapes[s][2], acc);
}
END_TEST

/* Every tile sums each C element in the same k order (kernels.h), so all tiles give the
 * same bits as the first, for every form, also where k is blocked. */
START_TEST(gemm_tiles_agree_bitwise)
{
    if (!kp_use_gemm(2)) return;
    static const size_t shapes[][3] = {{64, 256, 784}, {37, 61, 2049}, {13, 100, 9}, {256, 10, 128}};
    for (int form = 0; form < 3; form++)
        for (size_t s = 0; s < 4; s++) {
            size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            size_t ar = form == TN ? K : M, ac = form == TN ? M : K;
            size_t br = form == NT ? N : K, bc = form == NT ? K : N;
            float *A = mat(ar, ac, ac + 1), *B = mat(br, bc, bc + 2), *C0 = mat(M, N, N);
            float *C = malloc(M * N * sizeof *C), *first = malloc(M * N * sizeof *C);
            ck_assert(C && first);
            for (int t = 2; kp_use_gemm(t); t++) {
                memcpy(C, C0, M * N * sizeof *C);
                FAST[form](M, N, K, A, ac + 1, B, bc + 2, C, N, 1);
                if (t == 2) memcpy(first, C, M * N * sizeof *C);
                ck_assert_msg(memcmp(C, first, M * N * sizeof *C) == 0,
                              "tile %s %s %zux%zux%zu differs from tile %s",
                              dp_gemm_tile_name((size_t)t - 2), FORM[form], M, N, K,
                              dp_gemm_tile_name(0));
            }
            free(first);
            free(A), free(B), free(C0), free(C);
        }
}
END_TEST

/* A narrow C (N ≤ 12 columns, not a multiple of 8: the 10-wide output layer) gives the bits of
 * the same columns inside a 24-wide one: avx2 computes it with transposed tiles (C's columns
 * in registers, its rows in the lanes), which must keep every element's k order. Also fused
 * with bias + relu, and through two k blocks (K = 300) and partial row blocks (M = 17, 33). */
START_TEST(gemm_narrow_equals_wide)
{
    if (!kp_use_gemm(_i)) return;
    static const size_t ns[] = {1, 3, 5, 7, 9, 10, 11, 12};
    static const size_t mk[][2] = {{1, 1}, {7, 5}, {16, 128}, {17, 300}, {33, 64}, {130, 9}};
    enum { W = 24 };
    for (size_t a = 0; a < sizeof mk / sizeof mk[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
            for (int form = 0; form < 3; form += 2) /* nn and tn: N is C's width */
                for (int acc = 0; acc < 3; acc++) { /* 2: nn fused with bias + relu */
                    if (acc == 2 && form != NN) continue;
                    size_t M = mk[a][0], K = mk[a][1], N = ns[b];
                    size_t ar = form == TN ? K : M, ac = form == TN ? M : K;
                    float *A = mat(ar, ac, ac + 1), *Bw = mat(K, W, W), *Cw = mat(M, W, W);
                    float *Bn = mat(K, N, N), *Cn = mat(M, N, N), *bias = mat(1, W, W);
                    for (size_t k = 0; k < K; k++)
                        for (size_t j = 0; j < N; j++) Bn[k * N + j] = Bw[k * W + j];
                    for (size_t i = 0; i < M; i++)
                        for (size_t j = 0; j < N; j++) Cn[i * N + j] = Cw[i * W + j];
                    if (acc == 2) {
                        dp_gemm_nn_bias_act(M, W, K, A, ac + 1, Bw, W, Cw, W, bias,
                                            DP_ACT_RELU, 0.0f, NULL);
                        dp_gemm_nn_bias_act(M, N, K, A, ac + 1, Bn, N, Cn, N, bias,
                                            DP_ACT_RELU, 0.0f, NULL);
                    } else {
                        FAST[form](M, W, K, A, ac + 1, Bw, W, Cw, W, acc);
                        FAST[form](M, N, K, A, ac + 1, Bn, N, Cn, N, acc);
                    }
                    for (size_t i = 0; i < M; i++)
                        for (size_t j = 0; j < N; j++)
                            if (memcmp(&Cn[i * N + j], &Cw[i * W + j], sizeof(float)) != 0)
                                ck_abort_msg("%s %zux%zux%zu acc %d: C[%zu][%zu] %a, wide %a",
                                             FORM[form], M, N, K, acc, i, j,
                                             (double)Cn[i * N + j], (double)Cw[i * W + j]);
                    free(A), free(Bw), free(Cw), free(Bn), free(Cn), free(bias);
                }
}
END_TEST

/* K = 0 means an empty sum: C becomes 0, or stays with accumulate; M or N = 0 touch nothing. */
START_TEST(gemm_degenerate)
{
    if (!kp_use_gemm(_i)) return;
    for (int form = 0; form < 3; form++) {
        float A[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, B[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, C[6] = {5, 5, 5, 5, 5, 5};
        FAST[form](2, 3, 0, A, 1, B, 3, C, 3, 1);
        for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 5.0f);
        FAST[form](2, 3, 0, A, 1, B, 3, C, 3, 0);
        for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 0.0f);
        FAST[form](0, 3, 2, NULL, 2, B, 3, NULL, 3, 0);
        FAST[form](2, 0, 2, A, 2, NULL, 1, NULL, 1, 1);
    }
}
END_TEST

/* Results must not depend on where the operands sit in memory (alignment of A, B, C). */
START_TEST(gemm_alignment_independent)
{
    if (!kp_use_gemm(_i)) return;
    const size_t M = 19, N = 53, K = 71, L = 80;
    float *buf = malloc(3 * (M + K + 2) * L * 4 * sizeof *buf);
    ck_assert_ptr_nonnull(buf);
    float *src = mat(K + M + 1, L, L);
    for (int form = 0; form < 3; form++) {
        float first[M * N];
        for (size_t shift = 0; shift < 4; shift++) {
            float *A = buf + shift, *B = A + (K + M) * L + shift, *C = B + (K + M) * L + shift;
            memcpy(A, src, (K + M) * L * sizeof *A);
            memcpy(B, src + L, (K + M) * L * sizeof *B);
            FAST[form](M, N, K, A, L, B, L, C, N, 0);
            if (shift == 0)
                memcpy(first, C, sizeof first);
            else
                ck_assert_msg(memcmp(first, C, sizeof first) == 0, "%s %s shift %zu differs",
                              dp_kernels_path(), FORM[form], shift);
        }
    }
    free(src);
    free(buf);
}
END_TEST

/* 1 when the upper halves of ymm/zmm 0–15 are live (XINUSE bits 2 and 6), 0 when clean, −1
 * when the CPU cannot tell (no XGETBV with ECX = 1). */
static int upper_state_dirty(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(0xD, 1, &eax, &ebx, &ecx, &edx) || !(eax & 4u)) return -1;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1u));
    (void)hi;
    return (lo & ((1u << 2) | (1u << 6))) != 0;
#else
    return -1;
#endif
}

/* A vector kernel must return with vzeroupper done: dirty upper state makes the caller's
 * baseline SSE code (loss, optimizer, the portable path) several times slower. */
START_TEST(vector_state_clean_on_return)
{
    if (!kp_use_path(_i) || upper_state_dirty() < 0) return;
    float *A = mat(20, 40, 40), *B = mat(40, 40, 40), *C = mat(20, 40, 40);
    for (int form = 0; form < 3; form++) {
        FAST[form](17, 19, 13, A, 40, B, 40, C, 40, form & 1);
        ck_assert_msg(!upper_state_dirty(), "%s %s leaves upper state", dp_kernels_path(), FORM[form]);
        FAST[form](5, 40, 20, A, 40, B, 40, C, 40, 0);
        ck_assert_msg(!upper_state_dirty(), "%s %s leaves upper state", dp_kernels_path(), FORM[form]);
    }
    dp_bias_act_forward(C, B, 3, 40, DP_ACT_RELU, 0.0f, NULL);
    ck_assert(!upper_state_dirty());
    dp_act_backward(C, A, NULL, 100, DP_ACT_TANH, 0.0f);
    ck_assert(!upper_state_dirty());
    dp_colsum(B, C, 3, 40, 1);
    ck_assert(!upper_state_dirty());
    /* The flat-vector ops of the reduction and the optimizer, too. */
    float *blocks[2] = {A, B};
    dp_block_sum(C, blocks, 2, 0, 100, 0.5f);
    ck_assert(!upper_state_dirty());
    const dp_update_hyper h = {.lr = 0.1f, .momentum = 0.9f, .beta1 = 0.9f, .beta2 = 0.999f,
                               .eps = 1e-8f, .step_size = 0.1f, .c2 = 1.0f};
    dp_sgd_update(C, A, 100, &h);
    ck_assert(!upper_state_dirty());
    dp_momentum_update(C, A, B, 100, &h);
    ck_assert(!upper_state_dirty());
    for (size_t i = 0; i < 400; i++) B[i] = fabsf(B[i]); /* a second moment is ≥ 0 */
    dp_adam_update(C, A, A + 400, B, 100, &h);
    ck_assert(!upper_state_dirty());
    free(A), free(B), free(C);
}
END_TEST

static const dp_act ACTS[] = {DP_ACT_RELU,    DP_ACT_SIGMOID,    DP_ACT_TANH, DP_ACT_LINEAR,
                              DP_ACT_SOFTMAX, DP_ACT_LEAKY_RELU, DP_ACT_GELU};
#define N_ACTS (sizeof ACTS / sizeof *ACTS)

START_TEST(bias_act_matches_reference)
{
    if (!kp_use_path(_i)) return;
    static const size_t shapes[][2] = {{1, 1}, {3, 17}, {5, 300}, {64, 256}, {7, 10}, {2, 33}};
    for (size_t a = 0; a < N_ACTS; a++)
        for (size_t s = 0; s < 6; s++) {
            size_t m = shapes[s][0], n = shapes[s][1];
            float *y = mat(m, n, n), *b = mat(1, n, n), *r = malloc(m * n * sizeof *r);
            ck_assert_ptr_nonnull(r);
            for (size_t i = 0; i < m * n; i++) y[i] *= 8.0f;
            y[0] = -b[0]; /* x = 0 exactly */
            memcpy(r, y, m * n * sizeof *r);
            dp_bias_act_forward(y, b, m, n, ACTS[a], 0.125f, NULL);
            dp_ref_bias_act_forward(r, b, m, n, ACTS[a], 0.125f, NULL);
            for (size_t i = 0; i < m * n; i++)
                ck_assert_msg(fabsf(y[i] - r[i]) <= 1e-6f * fabsf(r[i]), "%s act %d [%zu] %g vs %g",
                              dp_kernels_path(), (int)ACTS[a], i, y[i], r[i]);
            free(y), free(b), free(r);
        }
}
END_TEST

START_TEST(activations_saturate)
{
    if (!kp_use_path(_i)) return;
    float y[6] = {100, -100, 1e30f, -1e30f, 88.8f, -88.8f}, b[6] = {0};
    float t[6];
    memcpy(t, y, sizeof t);
    dp_bias_act_forward(y, b, 1, 6, DP_ACT_SIGMOID, 0.0f, NULL);
    dp_bias_act_forward(t, b, 1, 6, DP_ACT_TANH, 0.0f, NULL);
    for (int i = 0; i < 6; i++) {
        ck_assert(isfinite(y[i]) && y[i] >= 0.0f && y[i] <= 1.0f);
        ck_assert(isfinite(t[i]) && fabsf(t[i]) <= 1.0f);
    }
    ck_assert_float_eq(y[0], 1.0f);
    ck_assert_float_lt(y[1], 1e-30f);
    ck_assert_float_eq(t[0], 1.0f);
    ck_assert_float_eq(t[1], -1.0f);
    float r[3] = {-100, 0, 100}, rb[3] = {0};
    dp_bias_act_forward(r, rb, 1, 3, DP_ACT_RELU, 0.0f, NULL);
    ck_assert_float_eq(r[0], 0.0f);
    ck_assert_float_eq(r[2], 100.0f);
}
END_TEST

START_TEST(act_backward_matches_reference)
{
    if (!kp_use_path(_i)) return;
    static const size_t counts[] = {1, 7, 17, 300, 4099};
    for (size_t a = 0; a < N_ACTS; a++)
        for (size_t c = 0; c < 5; c++) {
            size_t n = counts[c];
            float *y = mat(1, n, n), *dy = mat(1, n, n), *r = malloc(n * sizeof *r);
            ck_assert_ptr_nonnull(r);
            if (ACTS[a] == DP_ACT_SIGMOID)
                for (size_t i = 0; i < n; i++) y[i] = 0.5f + 0.5f * y[i];
            y[0] = 0.0f;
            float *d0 = malloc(n * sizeof *d0);
            ck_assert_ptr_nonnull(d0);
            memcpy(r, dy, n * sizeof *r);
            memcpy(d0, dy, n * sizeof *d0);
            /* gelu reads the pre-activation: y serves as it */
            dp_act_backward(dy, y, y, n, ACTS[a], 0.125f);
            dp_ref_act_backward(r, y, y, n, ACTS[a], 0.125f);
            /* relu and linear are exact; a compiler may fuse 1 − y·y into an FMA in one path
             * and not another (clang contracts by default), which moves the result by about
             * one rounding of y·y, relative to dy */
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(fabsf(dy[i] - r[i]) <= 1e-6f * fabsf(r[i]) + 1.2e-7f * fabsf(d0[i]) &&
                                  (ACTS[a] == DP_ACT_TANH || ACTS[a] == DP_ACT_SIGMOID ||
                                   memcmp(&dy[i], &r[i], sizeof r[i]) == 0),
                              "%s act %d count %zu [%zu]: %.9g vs %.9g", dp_kernels_path(),
                              (int)ACTS[a], n, i, dy[i], r[i]);
            free(y), free(dy), free(r), free(d0);
        }
}
END_TEST

START_TEST(relu_backward_at_zero)
{
    if (!kp_use_path(_i)) return;
    float y[20], dy[20];
    for (int i = 0; i < 20; i++) y[i] = (float)(i % 3) - 1.0f, dy[i] = INFINITY; /* -1, 0, 1 */
    dp_act_backward(dy, y, NULL, 20, DP_ACT_RELU, 0.0f);
    for (int i = 0; i < 20; i++)
        if (y[i] > 0.0f)
            ck_assert(isinf(dy[i]));
        else
            ck_assert_msg(dy[i] == 0.0f, "relu'(%g) passed %g", y[i], dy[i]);
}
END_TEST

START_TEST(colsum_matches_reference)
{
    if (!kp_use_path(_i)) return;
    static const size_t shapes[][2] = {{1, 1}, {3, 17}, {255, 10}, {64, 256}, {17, 300}, {0, 5}};
    for (int acc = 0; acc < 2; acc++)
        for (size_t s = 0; s < 6; s++) {
            size_t m = shapes[s][0], n = shapes[s][1];
            float *dy = mat(m ? m : 1, n, n), *db = mat(1, n, n), *r = malloc(n * sizeof *r);
            ck_assert_ptr_nonnull(r);
            memcpy(r, db, n * sizeof *r);
            dp_colsum(db, dy, m, n, acc);
            dp_ref_colsum(r, dy, m, n, acc);
            ck_assert_msg(memcmp(db, r, n * sizeof *r) == 0, "%s colsum %zux%zu acc %d",
                          dp_kernels_path(), m, n, acc);
            free(dy), free(db), free(r);
        }
}
END_TEST

/* Runs first, before anything selected a path: workers racing into the lazy choice must all
 * see one consistent path (and ThreadSanitizer must stay quiet). */
static void *lazy_worker(void *arg)
{
    float a[4] = {1, 2, 3, 4}, c[4];
    dp_gemm_nn(2, 2, 2, a, 2, a, 2, c, 2, 0);
    *(const char **)arg = dp_kernels_path();
    return NULL;
}

START_TEST(dispatch_lazy_threads)
{
    pthread_t th[4];
    const char *seen[4];
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, lazy_worker, &seen[i]), 0);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 1; i < 4; i++) ck_assert_str_eq(seen[i], seen[0]);
}
END_TEST

START_TEST(dispatch_select)
{
    ck_assert_str_eq(dp_kernels_select("portable"), "portable");
    ck_assert_ptr_null(dp_kernels_note());
    const char *best = dp_kernels_select("auto");
    ck_assert(strcmp(best, "portable") == 0 || strcmp(best, "avx2") == 0 ||
              strcmp(best, "avx512") == 0);
    ck_assert_str_eq(dp_kernels_select("no-such-isa"), best);
    ck_assert_ptr_nonnull(dp_kernels_note());
    ck_assert_str_eq(dp_kernels_path(), best);
    /* NULL defers to DPMLP_KERNELS */
    const char *old = getenv("DPMLP_KERNELS");
    char *saved = old ? strdup(old) : NULL;
    setenv("DPMLP_KERNELS", "portable", 1);
    ck_assert_str_eq(dp_kernels_select(NULL), "portable");
    if (saved) {
        setenv("DPMLP_KERNELS", saved, 1);
        free(saved);
    } else {
        unsetenv("DPMLP_KERNELS");
    }
    dp_kernels_select(NULL);
}
END_TEST

/* The tile choice: every tile is within the loop tests' bound, a name forces it (also
 * through DPMLP_GEMM_TILE), anything else means the CPU's choice, and the description
 * names what runs. */
START_TEST(dispatch_tiles)
{
    ck_assert_ptr_nonnull(dp_gemm_tile_name(0));
    ck_assert_ptr_null(dp_gemm_tile_name(KP_NGEMM - 2));
    const char *cpu = dp_gemm_tile_select("auto");
    ck_assert_str_eq(dp_gemm_tile_select("no-such-tile"), cpu);
    for (size_t t = 0; dp_gemm_tile_name(t); t++) {
        const char *name = dp_gemm_tile_name(t);
        ck_assert_str_eq(dp_gemm_tile_select(name), name);
        setenv("DPMLP_GEMM_TILE", name, 1);
        dp_gemm_tile_select("auto");
        ck_assert_str_eq(dp_gemm_tile_select(NULL), name);
        unsetenv("DPMLP_GEMM_TILE");
        if (strcmp(dp_kernels_select("avx512"), "avx512") == 0) {
            char want[32];
            snprintf(want, sizeof want, "avx512 tile %s ", name);
            ck_assert_msg(strstr(dp_kernels_describe(), want), "%s", dp_kernels_describe());
        }
    }
    ck_assert_str_eq(dp_kernels_select("portable"), "portable");
    ck_assert_msg(strncmp(dp_kernels_describe(), "portable", 8) == 0, "%s", dp_kernels_describe());
    dp_kernels_select(NULL);
    dp_gemm_tile_select(NULL);
}
END_TEST

/* The fused forward (GEMM + bias + act) gives the bits of the GEMM followed by the
 * element-wise pass, for every activation (the ones a path does not fuse take the pair), on
 * odd and wide shapes: partial row tiles and masked panels, several panels (nn fetches the
 * next one ahead), k blocks. */
START_TEST(fused_equal_unfused)
{
    if (!kp_use_gemm(_i)) return;
    static const size_t shapes[][3] = {{1, 1, 1},    {3, 17, 5},     {17, 255, 33},
                                       {64, 1023, 17}, {255, 97, 3},  {33, 100, 1023},
                                       {9, 300, 64},  {16, 48, 1200}, {40, 4097, 9},
                                       {20, 50, 3000}, /* K past dp_gemm_kc: k blocks */
                                       {130, 1025, 300},  /* avx2: nn's X strips */
                                       {9, 1201, 440}};   /* avx2: W (2.1 MB) in blocks */
    static const dp_act acts[] = {DP_ACT_LINEAR, DP_ACT_RELU,       DP_ACT_SIGMOID,
                                  DP_ACT_TANH,   DP_ACT_LEAKY_RELU, DP_ACT_GELU};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = mat(M, K, K), *W = mat(K, N, N), *bias = mat(1, N, N);
        float *want = malloc(M * N * sizeof *want), *got = malloc(M * N * sizeof *got);
        float *zw = malloc(M * N * sizeof *zw), *zg = malloc(M * N * sizeof *zg);
        ck_assert(want && got && zw && zg);
        for (size_t j = 0; j < N; j += 7) bias[j] = 0.0f;      /* relu exactly at 0 */
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            dp_act act = acts[a];
            float *zp = act == DP_ACT_GELU ? zw : NULL, *zq = act == DP_ACT_GELU ? zg : NULL;
            dp_gemm_nn(M, N, K, A, K, W, N, want, N, 0);
            dp_bias_act_forward(want, bias, M, N, act, 0.1f, zp);
            dp_gemm_nn_bias_act(M, N, K, A, K, W, N, got, N, bias, act, 0.1f, zq);
            if (memcmp(want, got, M * N * sizeof *got) != 0 ||
                (zp && memcmp(zw, zg, M * N * sizeof *zg) != 0))
                ck_abort_msg("%s forward act %d M=%zu N=%zu K=%zu: fused differs",
                             dp_kernels_path(), (int)act, M, N, K);
        }
        free(A), free(W), free(bias);
        free(want), free(got), free(zw), free(zg);
    }
}
END_TEST

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *d = tcase_create("dispatch");
    tcase_add_test(d, dispatch_lazy_threads);
    tcase_add_test(d, dispatch_select);
    tcase_add_test(d, dispatch_tiles);
    suite_add_tcase(s, d);

    /* The gemm and elementwise cases run on one thread: ThreadSanitizer has nothing to find
     * there, and they are 95 % of this suite's time under it (check-tsan excludes the tag). */
    TCase *g = tcase_create("gemm");
    tcase_set_tags(g, "one-thread");
    tcase_set_timeout(g, 600);
    tcase_add_loop_test(g, gemm_odd_shapes, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_300_and_accumulate, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_short_shards, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_layer_shapes, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_degenerate, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_wide_odd, 0, KP_NGEMM);
    tcase_add_loop_test(g, gemm_narrow_equals_wide, 0, KP_NGEMM);
    tcase_add_test(g, gemm_tiles_agree_bitwise);
    tcase_add_loop_test(g, gemm_alignment_independent, 0, KP_NGEMM);
    tcase_add_loop_test(g, vector_state_clean_on_return, 0, KP_NPATHS);
    tcase_add_loop_test(g, fused_equal_unfused, 0, KP_NGEMM);
    suite_add_tcase(s, g);

    TCase *e = tcase_create("elementwise");
    tcase_set_tags(e, "one-thread");
    tcase_add_loop_test(e, bias_act_matches_reference, 0, KP_NPATHS);
    tcase_add_loop_test(e, activations_saturate, 0, KP_NPATHS);
    tcase_add_loop_test(e, act_backward_matches_reference, 0, KP_NPATHS);
    tcase_add_loop_test(e, relu_backward_at_zero, 0, KP_NPATHS);
    tcase_add_loop_test(e, colsum_matches_reference, 0, KP_NPATHS);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kernels_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
