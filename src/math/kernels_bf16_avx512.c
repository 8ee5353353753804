/* AVX512-BF16 path (compiled with -mavx512bf16 and the AVX-512 flags, chosen at run time by
 * kernels_bf16.c): vdpbf16ps over the pair layout, MR rows × up to three zmm of C in
 * registers; vcvtne2ps2bf16 packers. Same bits as the portable emulation (bf16.h). */
#include "bf16.h"

#if defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512BW__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

/* 6 rows × 4 zmm = 24 accumulators, 4 B vectors and a broadcast: 29 of the 32 registers.
 * Zen 4 issues one 512-bit vdpbf16ps a cycle with a latency of about 6: 24 chains hide it.
 * 64 columns split the layer widths that matter (256, 128) into whole panels. */
enum { MR = 6, NV = 4, NR = 16 * NV };

static inline __mmask16 tail_mask(size_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }

#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define FOR_VECS(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)
/* Vector v of a row: full, or the tail mask m when it is the last one. */
#define VMASK(v) (nv > v + 1 ? (__mmask16)0xffff : m)
#define ACC_DECL1(i, v) __m512 c##i##v = _mm512_setzero_ps();
#define ACC_DECL(i) FOR_VECS(ACC_DECL1, i)
#define ACC_LOAD1(i, v) if (nv > v) c##i##v = _mm512_maskz_loadu_ps(VMASK(v), c + i * ldc + 16 * v);
#define ACC_LOAD(i) if (accumulate && mr > i) { FOR_VECS(ACC_LOAD1, i) }
#define ACC_DOT1(i, v) if (nv > v) c##i##v = _mm512_dpbf16_ps(c##i##v, ai, b##v);
#define ACC_DOT(i)                                                                         \
    {                                                                                      \
        __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a##i[p * aps]);                    \
        FOR_VECS(ACC_DOT1, i)                                                              \
    }
#define ACC_STORE1(i, v) if (nv > v) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, VMASK(v), c##i##v);
#define ACC_STORE(i) if (mr > i) { FOR_VECS(ACC_STORE1, i) }
/* Rows past mr read row 0 (their sums are never stored): no reads past A's padding. */
#define ROW_PTR(i) const uint32_t *a##i = a + (mr > i ? i : 0) * ars;
#define LOAD_B1(i, v) if (nv > v) b##v = (__m512bh)_mm512_loadu_si512(bp + 16 * v);

/* C[mr × (16·nv, last vector masked by m)] (+)= Σ_p pair(a, i, p) · b[p·ldb + j]. */
INLINE void ukr(const int nv, size_t P, const uint32_t *a, size_t ars, size_t aps,
                const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t mr, __mmask16 m,
                int accumulate)
{
    FOR_ROWS(ACC_DECL)
    FOR_ROWS(ACC_LOAD)
    FOR_ROWS(ROW_PTR)
    for (size_t p = 0; p < P; p++) {
        const uint32_t *bp = b + p * ldb;
        __m512bh b0 = (__m512bh)_mm512_setzero_si512(), b1 = b0, b2 = b0, b3 = b0;
        FOR_VECS(LOAD_B1, 0)
        FOR_ROWS(ACC_DOT)
    }
    FOR_ROWS(ACC_STORE)
}

typedef void (*ukr_fn)(size_t P, const uint32_t *a, size_t ars, size_t aps, const uint32_t *b,
                       size_t ldb, float *c, size_t ldc, size_t mr, __mmask16 m, int acc);
#define UKR_DEF(V)                                                                         \
    static void ukr_##V(size_t P, const uint32_t *a, size_t ars, size_t aps,              \
                        const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t mr,    \
                        __mmask16 m, int acc)                                              \
    {                                                                                      \
        ukr(V, P, a, ars, aps, b, ldb, c, ldc, mr, m, acc);                                \
    }
UKR_DEF(1) UKR_DEF(2) UKR_DEF(3) UKR_DEF(4)
static const ukr_fn UKR[NV] = {ukr_1, ukr_2, ukr_3, ukr_4};

/* Column panels of NR outer (the P × NR panel of B stays in L2 while every row tile reads
 * it), row tiles of MR inner. */
static void gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                 const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                 uint32_t *scratch)
{
    (void)scratch;
    for (size_t j0 = 0; j0 < N; j0 += NR) {
        size_t nr = N - j0 < NR ? N - j0 : NR, nv = (nr + 15) / 16;
        __mmask16 m = tail_mask(nr - 16 * (nv - 1));
        for (size_t i0 = 0; i0 < M; i0 += MR)
            UKR[nv - 1](P, A + i0 * ars, ars, aps, B + j0, ldb, C + i0 * ldc + j0, ldc,
                        M - i0 < MR ? M - i0 : MR, m, accumulate);
    }
    _mm256_zeroupper();
}

/* 32 floats (lo: k 0..15, hi: k 16..31) → 16 pairs in k order. */
INLINE __m512i cvt_pairs(__m512 lo, __m512 hi) { return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); }

static void pack_rows(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out)
{
    size_t P = dp_bf16_pairs(K);
    for (size_t i = 0; i < M; i++) {
        const float *x = X + i * ldx;
        uint32_t *o = out + i * P;
        for (size_t k = 0; k < 2 * P; k += 32) {
            size_t left = k < K ? K - k : 0;
            __m512 lo = _mm512_maskz_loadu_ps(tail_mask(left), x + k);
            __m512 hi = _mm512_maskz_loadu_ps(tail_mask(left > 16 ? left - 16 : 0), x + k + 16);
            _mm512_storeu_si512(o + k / 2, cvt_pairs(lo, hi));
        }
    }
    for (size_t i = M; i < dp_bf16_up(M); i++)
        for (size_t p = 0; p < P; p += 16) _mm512_storeu_si512(out + i * P + p, _mm512_setzero_si512());
    _mm256_zeroupper();
}

/* Word 2j ← x0[j], word 2j+1 ← x1[j]: the interleave of the two converted rows. */
static void pack_pairs(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out)
{
    size_t P = dp_bf16_pairs(K), ldo = dp_bf16_ld(N);
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                         16, 0);
    for (size_t p = 0; p < P; p++) {
        uint32_t *o = out + p * ldo;
        int has0 = 2 * p < K, has1 = 2 * p + 1 < K;
        const float *x0 = has0 ? X + 2 * p * ldx : X, *x1 = has1 ? x0 + ldx : X;
        for (size_t j = 0; j < ldo; j += 16) {
            __mmask16 m = tail_mask(j < N ? N - j : 0);
            __m512 r0 = has0 ? _mm512_maskz_loadu_ps(m, x0 + j) : _mm512_setzero_ps();
            __m512 r1 = has1 ? _mm512_maskz_loadu_ps(m, x1 + j) : _mm512_setzero_ps();
            __m512i both = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);
            _mm512_storeu_si512(o + j, _mm512_permutexvar_epi16(idx, both));
        }
    }
    _mm256_zeroupper();
}

/* Row j of X: 16 pairs at a time converted in one vcvtne2ps2bf16, then written down column j
 * of the 16 output rows (X is read once, contiguously). */
static void pack_pairs_t(const float *X, size_t ldx, size_t N, size_t K, uint32_t *out,
                         size_t p0, size_t p1)
{
    size_t ldo = dp_bf16_ld(N);
    uint32_t w[16] __attribute__((aligned(64)));
    for (size_t j = 0; j < N; j++) {
        const float *x = X + j * ldx;
        for (size_t p = p0; p < p1; p += 16) {
            size_t k = 2 * p, left = k < K ? K - k : 0, np = p1 - p < 16 ? p1 - p : 16;
            __m512 lo = _mm512_maskz_loadu_ps(tail_mask(left), x + k);
            __m512 hi = _mm512_maskz_loadu_ps(tail_mask(left > 16 ? left - 16 : 0), x + k + 16);
            _mm512_store_si512(w, cvt_pairs(lo, hi));
            for (size_t q = 0; q < np; q++) out[(p + q) * ldo + j] = w[q];
        }
    }
    for (size_t p = p0; p < p1; p++)
        for (size_t j = N; j < ldo; j++) out[p * ldo + j] = 0;
    _mm256_zeroupper();
}

const dp_bf16_ops dp_bf16_avx512_ops = {"avx512bf16", gemm, pack_rows, pack_pairs, pack_pairs_t};

#else
const dp_bf16_ops dp_bf16_avx512_ops = {NULL, NULL, NULL, NULL, NULL};
#endif
