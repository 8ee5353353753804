/* bf16 kernels tests: rounding, the packers, and every bf16 path this CPU runs (plus the
 * portable emulations of vdpbf16ps and of AMX's pair order) against the double-precision
 * oracle on bf16-rounded inputs, on odd shapes in the three forms the model uses; the
 * AVX512-BF16 path bit for bit against its emulation; the run-time choice. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "err.h"
#include "util/kernel_paths.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) { return kp_frand(&rng_state); }

static const dp_bf16_ops *const PATHS[] = {&dp_bf16_portable_ops, &dp_bf16_amx_emulated_ops,
                                           &dp_bf16_avx512_ops, &dp_bf16_amx_ops};
enum { NPATHS = 4 };

/* Path p if this CPU and build run it, else NULL (the loop test then checks nothing). */
static const dp_bf16_ops *use_path(int p)
{
    const dp_bf16_ops *o = PATHS[p];
    if (!o->name) return NULL;
    const char *got = dp_bf16_select(o->name);
    if (strcmp(got, o->name) != 0) return NULL;
    return o;
}

static float *mat(size_t n)
{
    float *m = malloc((n + 1) * sizeof *m);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++) m[i] = frand();
    return m;
}

START_TEST(round_to_nearest_even)
{
    ck_assert_uint_eq(dp_bf16_round(1.0f), 0x3f80);
    ck_assert_uint_eq(dp_bf16_round(1.0f + 0x1p-8f), 0x3f80);        /* tie → even */
    ck_assert_uint_eq(dp_bf16_round(1.0f + 3 * 0x1p-8f), 0x3f82);    /* tie → even, up */
    ck_assert_uint_eq(dp_bf16_round(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81); /* above the tie */
    ck_assert_uint_eq(dp_bf16_round(-2.0f), 0xc000);
    ck_assert_uint_eq(dp_bf16_round(INFINITY), 0x7f80);
    ck_assert_uint_eq(dp_bf16_round(3.4e38f), 0x7f80);               /* rounds past max */
    ck_assert_uint_eq(dp_bf16_round(1e-40f), 0x0000);                /* subnormal → 0 */
    ck_assert_uint_eq(dp_bf16_round(-1e-40f), 0x8000);
    uint16_t n = dp_bf16_round(NAN);
    ck_assert((n & 0x7f80) == 0x7f80 && (n & 0x40));
    ck_assert_float_eq(dp_bf16_float(0x3f80), 1.0f);
}
END_TEST

/* Every path's packers give the portable packers' bits, specials included, with the padding
 * zero (the kernels read it). */
START_TEST(packers_match_portable)
{
    const dp_bf16_ops *o = use_path(_i);
    if (!o) return;
    size_t M = 19, K = 37, ld = 41, P = dp_bf16_pairs(K);
    float *x = mat(M * ld + ld);
    x[3] = NAN;
    x[4] = INFINITY;
    x[5] = 1e-41f;
    x[6] = 1.0f + 0x1p-8f;
    size_t nr = dp_bf16_up(M) * P, np = dp_bf16_pairs(M) * dp_bf16_ld(K);
    uint32_t *a = malloc(nr * 4), *b = malloc(nr * 4), *c = malloc(np * 4), *d = malloc(np * 4);
    memset(a, 0xab, nr * 4);
    memset(c, 0xab, np * 4);
    dp_bf16_pack_rows(x, ld, M, K, a);
    dp_bf16_portable_pack_rows(x, ld, M, K, b);
    ck_assert_mem_eq(a, b, nr * 4);
    dp_bf16_pack_pairs(x, ld, M, K, c); /* M × K seen as K-pairs down the M rows */
    dp_bf16_portable_pack_pairs(x, ld, M, K, d);
    ck_assert_mem_eq(c, d, np * 4);
    /* Transposed: X (M × K) as Wᵀ's pairs along K, M columns; in two parts, as workers do. */
    size_t nt = dp_bf16_pairs(K) * dp_bf16_ld(M);
    uint32_t *e = malloc(nt * 4), *f = malloc(nt * 4);
    memset(e, 0xab, nt * 4);
    dp_bf16_pack_pairs_t(x, ld, M, K, e, 0, 16);
    dp_bf16_pack_pairs_t(x, ld, M, K, e, 16, dp_bf16_pairs(K));
    dp_bf16_portable_pack_pairs_t(x, ld, M, K, f, 0, dp_bf16_pairs(K));
    ck_assert_mem_eq(e, f, nt * 4);
    ck_assert_uint_eq(f[1 * dp_bf16_ld(M) + 2],
                      (uint32_t)dp_bf16_round(x[2 * ld + 2]) | (uint32_t)dp_bf16_round(x[2 * ld + 3]) << 16);
    free(e), free(f);
    ck_assert_uint_eq(b[0], (uint32_t)dp_bf16_round(x[0]) | (uint32_t)dp_bf16_round(x[1]) << 16);
    ck_assert_uint_eq(b[P - 1], 0); /* past K/2 */
    ck_assert_uint_eq(b[(dp_bf16_up(M) - 1) * P], 0); /* a padding row */
    free(x), free(a), free(b), free(c), free(d);
}
END_TEST

enum { NN, NT, TN };

/* C (ldc = N + 3, padding NaN) of one form and shape on the current path, packed as the model
 * packs it, against the oracle: |C − ref| ≤ (P·2 + 2)·2⁻²⁴·(Σ|a·b| + |c0|), the bound of an fp32
 * sum of 2P exact products (K padded to 2P with zeros) and c0. Returns C for bit comparisons. */
static float *gemm_case(int form, size_t M, size_t N, size_t K, int accumulate)
{
    size_t ar = form == TN ? K : M, ac = form == TN ? M : K;
    size_t br = form == NT ? N : K, bc = form == NT ? K : N;
    float *A = mat(ar * ac), *B = mat(br * bc);
    size_t ldc = N + 3, P = dp_bf16_pairs(K), ldb = dp_bf16_ld(N);
    float *C = malloc(M * ldc * sizeof *C), *R = malloc(M * ldc * sizeof *R);
    float *S = malloc(M * ldc * sizeof *S);
    for (size_t i = 0; i < M * ldc; i++) C[i] = (i % ldc) < N ? frand() : NAN;
    memcpy(R, C, M * ldc * sizeof *C);
    for (size_t i = 0; i < M * ldc; i++) S[i] = fabsf(C[i]);
    uint32_t *pa = malloc(dp_bf16_ld(ar > M ? ar : M) * dp_bf16_ld(ac > K ? ac : K) * 4 + 64);
    uint32_t *pb = malloc(P * ldb * 4 + 64);
    uint32_t *scratch = malloc(dp_bf16_scratch_words(M, P) * 4);
    size_t ars = P, aps = 1;
    if (form == TN) {
        dp_bf16_pack_pairs(A, M, K, M, pa); /* pairs along K, M columns */
        ars = 1;
        aps = dp_bf16_ld(M);
    } else {
        dp_bf16_pack_rows(A, K, M, K, pa);
    }
    if (form == NT)
        dp_bf16_pack_pairs_t(B, K, N, K, pb, 0, P);
    else
        dp_bf16_pack_pairs(B, N, K, N, pb);
    dp_bf16_gemm(M, N, P, pa, ars, aps, pb, ldb, C, ldc, accumulate, scratch);
    size_t Ar = form == TN ? 1 : K, Ac = form == TN ? M : 1;
    size_t Br = form == NT ? 1 : N, Bc = form == NT ? K : 1;
    dp_ref_bf16_gemm(M, N, K, A, Ar, Ac, B, Br, Bc, R, ldc, accumulate);
    for (size_t i = 0; i < ar * ac; i++) A[i] = fabsf(A[i]);
    for (size_t i = 0; i < br * bc; i++) B[i] = fabsf(B[i]);
    dp_ref_bf16_gemm(M, N, K, A, Ar, Ac, B, Br, Bc, S, ldc, accumulate);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < ldc; j++) {
            float c = C[i * ldc + j], r = R[i * ldc + j];
            if (j >= N) {
                ck_assert_msg(isnan(c), "padding of C written at (%zu,%zu)", i, j);
                continue;
            }
            double tol = (2.0 * P + 2.0) * 0x1p-24 * S[i * ldc + j] + 1e-30;
            ck_assert_msg(fabs((double)c - r) <= tol,
                          "%s %s M=%zu N=%zu K=%zu acc=%d: C[%zu][%zu] = %.9g, ref %.9g (tol %g)",
                          dp_bf16_path(), form == NN ? "nn" : form == NT ? "nt" : "tn", M, N,
                          K, accumulate, i, j, (double)c, (double)r, tol);
        }
    free(A), free(B), free(R), free(S), free(pa), free(pb), free(scratch);
    return C;
}

static const size_t ODD[] = {1, 3, 17, 31, 33, 255, 1023};

/* One dimension walks the odd sizes while the others stay small and odd. */
START_TEST(gemm_odd_shapes)
{
    if (!use_path(_i)) return;
    for (int form = NN; form <= TN; form++)
        for (size_t s = 0; s < sizeof ODD / sizeof ODD[0]; s++) {
            size_t d = ODD[s];
            free(gemm_case(form, d, 17, 33, s & 1));
            free(gemm_case(form, 3, d, 31, 0));
            free(gemm_case(form, 33, 5, d, 1));
        }
}
END_TEST

/* The shapes of the default network's shards (784-256-128-10). */
START_TEST(gemm_layer_shapes)
{
    if (!use_path(_i)) return;
    free(gemm_case(NN, 64, 256, 784, 0));
    free(gemm_case(NT, 64, 784, 256, 0));
    free(gemm_case(TN, 784, 256, 64, 1));
    free(gemm_case(NN, 256, 10, 128, 0));
    free(gemm_case(TN, 128, 10, 255, 0));
}
END_TEST

/* AVX512-BF16 and its emulation: the same bits, every form, odd and layer shapes. */
START_TEST(avx512bf16_bits_equal_emulation)
{
    if (!use_path(2)) return;
    static const size_t shapes[][3] = {{1, 1, 1}, {17, 33, 31}, {33, 255, 17}, {64, 256, 784},
                                       {255, 3, 1023}};
    for (int form = NN; form <= TN; form++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            uint64_t seed = rng_state;
            dp_bf16_select("avx512bf16");
            float *fast = gemm_case(form, shapes[s][0], shapes[s][1], shapes[s][2], (int)(s & 1));
            rng_state = seed;
            dp_bf16_select("portable");
            float *emu = gemm_case(form, shapes[s][0], shapes[s][1], shapes[s][2], (int)(s & 1));
            size_t n = shapes[s][0] * (shapes[s][1] + 3);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(memcmp(&fast[i], &emu[i], 4) == 0 || (isnan(fast[i]) && isnan(emu[i])),
                              "form %d shape %zu: element %zu %a vs %a", form, s, i,
                              (double)fast[i], (double)emu[i]);
            free(fast);
            free(emu);
        }
}
END_TEST

/* The two pair orders are different roundings (the emulation of AMX's order is not a copy of
 * vdpbf16ps's): on a long K some element differs, and both stay within the bound above. */
START_TEST(amx_order_differs_from_vdpbf16ps_order)
{
    uint64_t seed = rng_state;
    dp_bf16_select("portable");
    float *a = gemm_case(NN, 16, 64, 1023, 0);
    rng_state = seed;
    dp_bf16_select("amx-emulated");
    float *b = gemm_case(NN, 16, 64, 1023, 0);
    ck_assert(memcmp(a, b, 16 * 67 * sizeof(float)) != 0);
    free(a);
    free(b);
}
END_TEST

START_TEST(dispatch_forcing_and_reasons)
{
    ck_assert_str_eq(dp_bf16_select("portable"), "portable");
    ck_assert_str_eq(dp_bf16_select("amx-emulated"), "amx-emulated");
    const char *best = dp_bf16_select("auto");
    const char *bogus = dp_bf16_select("bogus");
    ck_assert_str_eq(bogus, best);
    ck_assert_ptr_nonnull(strstr(dp_bf16_why(), "unknown bf16 kernel path"));
    const char *amx = dp_bf16_select("amx");
    if (strcmp(amx, "amx") != 0) {
        ck_assert_str_eq(amx, best); /* falls back, saying why */
        ck_assert_ptr_nonnull(strstr(dp_bf16_why(), "AMX"));
    }
    setenv("DPMLP_BF16_KERNELS", "portable", 1);
    ck_assert_str_eq(dp_bf16_select(NULL), "portable");
    unsetenv("DPMLP_BF16_KERNELS");
    setenv("DPMLP_KERNELS", "portable", 1);
    ck_assert_str_eq(dp_bf16_select(NULL), "portable");
    unsetenv("DPMLP_KERNELS");
    ck_assert_str_eq(dp_bf16_select(NULL), best);
}
END_TEST

static Suite *bf16_suite(void)
{
    Suite *s = suite_create("kernels_bf16");
    TCase *r = tcase_create("round");
    tcase_add_test(r, round_to_nearest_even);
    tcase_add_loop_test(r, packers_match_portable, 0, NPATHS);
    tcase_add_test(r, dispatch_forcing_and_reasons);
    suite_add_tcase(s, r);
    TCase *g = tcase_create("gemm");
    tcase_set_timeout(g, 600);
    tcase_add_loop_test(g, gemm_odd_shapes, 0, NPATHS);
    tcase_add_loop_test(g, gemm_layer_shapes, 0, NPATHS);
    tcase_add_test(g, avx512bf16_bits_equal_emulation);
    tcase_add_test(g, amx_order_differs_from_vdpbf16ps_order);
    suite_add_tcase(s, g);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bf16_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
