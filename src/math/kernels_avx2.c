/* AVX2 + FMA path (compiled with -mavx2 -mfma, chosen at run time by kernels.c).
 * Same microkernel as the AVX-512 path with 8-wide ymm registers: MR × NR tile of C in
 * registers, A broadcast, B rows loaded; only the last column panel masks its loads and
 * stores of C.
 * Unlike there, every form packs B (one KC × NR panel on the stack, reused by every row tile;
 * nn with a W of 2 MiB and more and the strips path take 6 panels at a time, into a per-thread
 * buffer; nn on shards of 32 rows or fewer reads a W up to 256 wide in place), and nn and tn
 * pack X too for the wide layers (into the same buffer): this path runs
 * on cores with a 32 KiB 8-way L1 (Zen 2/3, Haswell to Ice Lake client), where the rows of a
 * weight panel, a layer width apart (4 KiB at 1024), fall into the same few L1 sets and evict
 * each other before the next row tile reads them (nn 1024x1024 ran at 28-42 GFLOP/s in place,
 * 40-71 packed, Zen 3). C up to 12 columns wide runs in transposed tiles (narrow outputs). */
#include "kernels_internal.h"
#include "scratch.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

/* 4 × 24: 12 accumulators + 3 B vectors + 1 broadcast = the 16 ymm registers. */
enum { MR = 4, NV = 3, NR = 8 * NV };
/* Narrow panels take taller tiles (tile_rows): 12 rows of 1 vector, 6 rows of 2. */
enum { MR_MAX = 12 };
/* Depth of one packed panel of B: KC × NR floats = 24 KiB, with a row tile's A in the 32 KiB
 * L1 of the cores this path is for. */
enum { KC = 256 };

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Lanes 0..n−1 set (n ≤ 8), in the sign-bit form maskload/maskstore want. */
static inline __m256i tail_mask(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

INLINE __m256 ldv(const float *p, int last, __m256i m)
{
    return last ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

INLINE void stv(float *p, __m256 x, int last, __m256i m)
{
    if (last)
        _mm256_maskstore_ps(p, m, x);
    else
        _mm256_storeu_ps(p, x);
}

/* Named accumulators, not an array: GCC leaves a __m256[4][3] array in memory and stores
 * part of it on every k step. */
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ACC_DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0;
#define LAST(v) (masked && nv == v + 1)
#define ACC_LOAD(i)                                                                        \
    if (mr > i && accumulate) {                                                            \
        c##i##0 = ldv(c + i * ldc, LAST(0), m);                                            \
        if (nv > 1) c##i##1 = ldv(c + i * ldc + 8, LAST(1), m);                            \
        if (nv > 2) c##i##2 = ldv(c + i * ldc + 16, LAST(2), m);                           \
    }
#define ACC_FMA(i, APTR)                                                                   \
    if (mr > i) {                                                                          \
        __m256 ai = _mm256_broadcast_ss(APTR);                                             \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                        \
        if (nv > 1) c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                            \
        if (nv > 2) c##i##2 = _mm256_fmadd_ps(ai, b2, c##i##2);                            \
    }
#define FMA_COL(i) ACC_FMA(i, a + i)
#define FMA_ROW(i) ACC_FMA(i, a##i + k)
#define ROW_PTR(i) const float *a##i = a + (mr > i ? i : 0) * sa;
#define ACC_STORE(i)                                                                       \
    if (mr > i) {                                                                          \
        stv(c + i * ldc, c##i##0, LAST(0), m);                                             \
        if (nv > 1) stv(c + i * ldc + 8, c##i##1, LAST(1), m);                             \
        if (nv > 2) stv(c + i * ldc + 16, c##i##2, LAST(2), m);                            \
    }
/* Unmasked even in the last panel: B comes from a packed panel whose vectors are written
 * whole (pack_b, pack_bt), or, for nn's small shards (NN_IN_PLACE_M), from W itself in full
 * 24-wide panels only; lanes past nr are never stored. (vmaskmovps in the k loop made the
 * 10-wide layer's tiles load-bound.) Unaligned loads: W's rows in place are aligned only as
 * the layer's offset in the parameter vector happens to be. */
#define LOAD_B                                                                             \
    __m256 b0 = _mm256_loadu_ps(b), b1 = b0, b2 = b0;                                      \
    if (nv > 1) b1 = _mm256_loadu_ps(b + 8);                                               \
    if (nv > 2) b2 = _mm256_loadu_ps(b + 16);

/* C[mr × 8·nv] (+)= Σ_k a(i,k) · b[k·ldb + j], k in order; masked: last vector uses m.
 * acol = 0: a(i,k) = a[i·sa + k] (nn, nt); acol = 1: a(i,k) = a[k·sa + i] (tn). */
INLINE void ukr(const int mr, const int nv, const int acol, const int masked, size_t K,
                const float *a, size_t sa, const float *b, size_t ldb, float *c, size_t ldc,
                size_t nlast, int accumulate)
{
    const __m256i m = tail_mask(nlast);
    DP_UKR_BODY
}

typedef void (*ukr_fn)(size_t K, const float *a, size_t sa, const float *b, size_t ldb, float *c,
                       size_t ldc, size_t nlast, int accumulate);

#define UKR_ONE(NAME, R, V, ACOL, MASKED)                                                  \
    static void NAME(size_t K, const float *a, size_t sa, const float *b, size_t ldb,      \
                     float *c, size_t ldc, size_t nlast, int acc)                          \
    {                                                                                      \
        ukr(R, V, ACOL, MASKED, K, a, sa, b, ldb, c, ldc, nlast, acc);                    \
    }
#define UKR_DEF(R, V)                                                                      \
    UKR_ONE(ukr_r##R##_##V, R, V, 0, 0)                                                    \
    UKR_ONE(ukr_rm##R##_##V, R, V, 0, 1)                                                   \
    UKR_ONE(ukr_c##R##_##V, R, V, 1, 0) UKR_ONE(ukr_cm##R##_##V, R, V, 1, 1)
#define UKR_ROW(R) UKR_DEF(R, 1) UKR_DEF(R, 2) UKR_DEF(R, 3)
#define UKR_ROW2(R) UKR_DEF(R, 1) UKR_DEF(R, 2)
#define UKR_ROW1(R) UKR_DEF(R, 1)
UKR_ROW(1) UKR_ROW(2) UKR_ROW(3) UKR_ROW(4) UKR_ROW2(5) UKR_ROW2(6)
UKR_ROW1(7) UKR_ROW1(8) UKR_ROW1(9) UKR_ROW1(10) UKR_ROW1(11) UKR_ROW1(12)

#define TAB_ROW(F, R) {F##R##_1, F##R##_2, F##R##_3}
#define TAB_ROW2(F, R) {F##R##_1, F##R##_2, NULL}
#define TAB_ROW1(F, R) {F##R##_1, NULL, NULL}
#define TAB(F)                                                                             \
    {TAB_ROW(F, 1),   TAB_ROW(F, 2),   TAB_ROW(F, 3),   TAB_ROW(F, 4),                     \
     TAB_ROW2(F, 5),  TAB_ROW2(F, 6),  TAB_ROW1(F, 7),  TAB_ROW1(F, 8),                    \
     TAB_ROW1(F, 9),  TAB_ROW1(F, 10), TAB_ROW1(F, 11), TAB_ROW1(F, 12)}
/* [acol][masked][mr−1][nv−1]; NULL where mr·nv accumulators would not fit the registers */
static const ukr_fn ukr_tab[2][2][MR_MAX][NV] = {{TAB(ukr_r), TAB(ukr_rm)},
                                                 {TAB(ukr_c), TAB(ukr_cm)}};

/* Rows per tile for a panel of nv vectors: 12 accumulators each, enough to cover the FMA
 * latency on both pipes; a 4-row tile of the 16 columns left over from 256 (or of a 10-wide
 * layer) had only 8. */
static size_t tile_rows(size_t nv) { return nv == 1 ? 12 : nv == 2 ? 6 : MR; }

/* The full tiles of a panel in one call: n tiles of R rows, tile t at a + t·a_step and
 * c + t·R·ldc. A call per tile paid a prologue, a table lookup and an indirect call each;
 * one call per panel measured 1-3 % faster nn and nt (2-4 % at the 10-deep nt) and a 1.4 %
 * faster 1-thread default step (Zen 3, 2026-12-03). Same tiles, same bits. */
typedef void (*ukr_run_fn)(size_t n, size_t K, const float *a, size_t sa, size_t a_step,
                           const float *b, size_t ldb, float *c, size_t ldc, size_t nlast,
                           int accumulate);
#define UKR_RUN_ONE(NAME, R, V, ACOL, MASKED)                                              \
    static void NAME(size_t n, size_t K, const float *a, size_t sa, size_t a_step,         \
                     const float *b, size_t ldb, float *c, size_t ldc, size_t nlast,       \
                     int acc)                                                              \
    {                                                                                      \
        for (size_t t = 0; t < n; t++)                                                     \
            ukr(R, V, ACOL, MASKED, K, a + t * a_step, sa, b, ldb, c + t * R * ldc, ldc,   \
                nlast, acc);                                                               \
    }
#define UKR_RUN(R, V)                                                                      \
    UKR_RUN_ONE(run_r##R##_##V, R, V, 0, 0)                                                \
    UKR_RUN_ONE(run_rm##R##_##V, R, V, 0, 1)                                               \
    UKR_RUN_ONE(run_c##R##_##V, R, V, 1, 0) UKR_RUN_ONE(run_cm##R##_##V, R, V, 1, 1)
UKR_RUN(12, 1) UKR_RUN(6, 2) UKR_RUN(4, 3)
/* [acol][masked][nv−1], each at tile_rows(nv) rows */
static const ukr_run_fn ukr_run_tab[2][2][NV] = {
    {{run_r12_1, run_r6_2, run_r4_3}, {run_rm12_1, run_rm6_2, run_rm4_3}},
    {{run_c12_1, run_c6_2, run_c4_3}, {run_cm12_1, run_cm6_2, run_cm4_3}}};

/* Row tiles (tile_rows high) down one column panel of C (nr ≤ NR columns); A read in place. */
static void panel(int acol, size_t M, size_t nr, size_t K, const float *A, size_t lda,
                  const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    size_t nv = (nr + 7) / 8;
    int masked = nr % 8 != 0;
    size_t nlast = nr - 8 * (nv - 1); /* columns in the last vector */
    size_t step = tile_rows(nv), full = M / step, a_step = acol ? step : step * lda;
    if (full)
        ukr_run_tab[acol][masked][nv - 1](full, K, A, lda, a_step, B, ldb, C, ldc, nlast,
                                          accumulate);
    size_t i0 = full * step;
    if (i0 < M)
        ukr_tab[acol][masked][M - i0 - 1][nv - 1](K, acol ? A + i0 : A + i0 * lda, lda, B, ldb,
                                                  C + i0 * ldc, ldc, nlast, accumulate);
}

/* P[k·NR + j] = B[k·ldb + j] for j < nr, k < kc; the last vector's lanes past nr are 0, the
 * vectors after it are left as they are (the microkernel never reads them). Asks for the rows
 * PACK_AHEAD down (B's rows are a layer width apart, few to a page, and the hardware stride
 * prefetch stops at pages) and, ahead (pack_ahead), for the same rows of the next panel into
 * L2: their first line, or (AHEAD_BOTH) both lines a row's 96 bytes span. */
enum { PACK_AHEAD = 8 };
enum { AHEAD_NONE, AHEAD_FIRST, AHEAD_BOTH };
/* From this size on B comes from DRAM, not L3, and the second line pays: nn 4096x4096
 * 52 -> 60 GFLOP/s at m = 32, 67 -> 74 at 64, 80 -> 83 at 128, 1024x4096 (16 MiB) +2-8 %; at
 * 1024x1024 (4 MiB) and below it changed nothing or cost 1-2 % (Zen 3, 2026-12-03, best of
 * 3-5 alternating runs). nn has since packed a W of 2 MiB and more in blocks (pack_b_block,
 * faster again); this stays for tn's dY and for an nn whose per-thread buffer could not be
 * allocated. */
enum { FAR_B_BYTES = 8u << 20 };
static int pack_ahead(size_t j0, size_t N, size_t K)
{
    if (j0 + NR >= N) return AHEAD_NONE;
    return K * N * sizeof(float) >= FAR_B_BYTES ? AHEAD_BOTH : AHEAD_FIRST;
}
static void pack_b(float *P, const float *B, size_t ldb, size_t nr, size_t kc, int ahead)
{
    const __m256i m = tail_mask(nr % 8 ? nr % 8 : 8);
    size_t full = nr / 8, nv = (nr + 7) / 8;
    for (size_t k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        float *p = P + k * NR;
        if (ahead != AHEAD_NONE) _mm_prefetch((const char *)(b + NR), _MM_HINT_T1);
        if (ahead == AHEAD_BOTH) _mm_prefetch((const char *)(b + NR + 16), _MM_HINT_T1);
        if (k + PACK_AHEAD < kc) {
            _mm_prefetch((const char *)(b + PACK_AHEAD * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + PACK_AHEAD * ldb + 16), _MM_HINT_T0);
        }
        for (size_t v = 0; v < full; v++) _mm256_store_ps(p + 8 * v, _mm256_loadu_ps(b + 8 * v));
        if (nv > full) _mm256_store_ps(p + 8 * full, _mm256_maskload_ps(b + 8 * full, m));
    }
}

/* W of BLOCK_B_BYTES and more (784x1024 on, far beyond L2) is packed NB columns (6 panels) at a
 * time: each of a k block's rows is then read as 576 contiguous bytes (9 lines, the next
 * BLOCK_AHEAD rows asked for as it goes) instead of 96 (1.5 lines, a layer width from the
 * next), and the 6 panels of the block, each laid out as pack_b's, are swept by the row tiles
 * in turn. nn, best of 4-5 alternating runs in three series, GFLOP/s (Zen 3, 2026-12-03),
 * panel by panel against 6 at a time: 4096x4096 m = 32 / 64 56-58 / 69-72 against 58-65 /
 * 72-77, 1024x4096 56-62 / 70-77 against 65-72 / 73-83, 1024x1024 70-73 / 78-84 against
 * 76-78 / 85-87, 784x256 80 / 88 against 81 / 90; 4 and 8 panels were about as good, 12-42
 * with shallower k blocks worse, asking for 8 rows ahead (pack_b's) or 32 worse at 4096
 * inputs (README, "fifth round"). The default net's 784x256 (0.8 MB) gained 2-3 % at m ≤ 64,
 * within the noise, and its 1-thread step did not move, so it keeps the panels. */
enum { NB_PANELS = 6, NB = NB_PANELS * NR, BLOCK_AHEAD = 16 };
enum { BLOCK_B_BYTES = 2u << 20 };
static void pack_b_block(float *P, const float *B, size_t ldb, size_t nb, size_t kc)
{
    size_t np = (nb + NR - 1) / NR;
    for (size_t k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        if (k + BLOCK_AHEAD < kc)
            for (size_t l = 0; l < nb; l += 16)
                _mm_prefetch((const char *)(b + BLOCK_AHEAD * ldb + l), _MM_HINT_T0);
        for (size_t p = 0; p < np; p++) {
            size_t nr = min_sz(NR, nb - p * NR), full = nr / 8;
            const float *bp = b + p * NR;
            float *q = P + p * KC * NR + k * NR;
            for (size_t v = 0; v < full; v++)
                _mm256_store_ps(q + 8 * v, _mm256_loadu_ps(bp + 8 * v));
            if (nr % 8)
                _mm256_store_ps(q + 8 * full, _mm256_maskload_ps(bp + 8 * full, tail_mask(nr % 8)));
        }
    }
}
/* panel p of a block packed by pack_b_block */
static const float *block_panel(const float *P, size_t p) { return P + p * KC * NR; }

/* The fused forward's epilogue (dp_epilogue) on one column panel of C. */
static void epilogue_apply(const dp_epilogue *e, float *C, size_t ldc, size_t M, size_t j0,
                           size_t nr)
{
    const __m256 zero = _mm256_setzero_ps();
    const float *b = e->bias + j0;
    for (size_t i = 0; i < M; i++) {
        float *r = C + i * ldc + j0;
        size_t j = 0;
        for (; j + 8 <= nr; j += 8) {
            __m256 x = _mm256_add_ps(_mm256_loadu_ps(r + j), _mm256_loadu_ps(b + j));
            if (e->act == DP_ACT_RELU) x = _mm256_max_ps(zero, x); /* 0 > x ? 0 : x, keeps NaN */
            _mm256_storeu_ps(r + j, x);
        }
        for (; j < nr; j++) {
            float x = r[j] + b[j];
            r[j] = e->act == DP_ACT_RELU ? (0.0f > x ? 0.0f : x) : x;
        }
    }
}

/* Narrow outputs (the 10-wide output layer), below: C's columns in registers, its rows in the
 * lanes. */
static int narrow(size_t N) { return N % 8 != 0 && N <= 12; }
static void narrow_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                      size_t ldb, float *C, size_t ldc, int accumulate, const dp_epilogue *ep);
static void narrow_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                      size_t ldb, float *C, size_t ldc, int accumulate);
static float *strip_scratch(void);
static float *block_scratch(void);
/* When X is packed as strips (gemm_strips, below, with the measurements): tn from 1024
 * outputs on, nn from 1024 outputs and 128 shard rows on. */
enum { TN_STRIPS_N = 1024, NN_STRIPS_N = 1024, NN_STRIPS_M = 128 };
static void gemm_strips(float *PX, int x_rows, size_t M, size_t N, size_t K, const float *A,
                        size_t lda, const float *B, size_t ldb, float *C, size_t ldc,
                        int accumulate, const dp_epilogue *ep);

/* nn_drive for a W of BLOCK_B_BYTES and more: blocks of NB columns outer, k blocks inside,
 * each k block's 6 panels packed at once (pack_b_block) and swept by the row tiles, one panel
 * after the other; the same tiles in the same k order as panel by panel, so the same bits. */
static void nn_blocks(float *PW, size_t M, size_t N, size_t K, const float *A, size_t lda,
                      const float *B, size_t ldb, float *C, size_t ldc, int accumulate,
                      const dp_epilogue *ep)
{
    for (size_t jb = 0; jb < N; jb += NB) {
        size_t nb = min_sz(NB, N - jb);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            pack_b_block(PW, B + k0 * ldb + jb, ldb, nb, kc);
            for (size_t p = 0; p * NR < nb; p++)
                panel(0, M, min_sz(NR, nb - p * NR), kc, A + k0, lda, block_panel(PW, p), NR,
                      C + jb + p * NR, ldc, accumulate || k0 > 0);
        }
        if (ep)
            for (size_t j0 = jb; j0 < jb + nb; j0 += NR)
                epilogue_apply(ep, C, ldc, M, j0, min_sz(NR, jb + nb - j0));
    }
}

/* Small shards read W's full panels in place: packing a panel is paid back only over enough
 * row tiles, and at 32 rows (8 tiles) it is not. Only where W's rows are at most 1 KiB apart
 * (256 outputs): the rows of a panel then share pages and L2 sets; at 1024 and 4096 outputs
 * in place ran at half the packed speed. nn, m = 32, best of 3-4 alternating runs (Zen 3,
 * 2026-12-03), packed / in place, GFLOP/s: 784x256 71-76 / 77-80, 256x128 79-82 / 85-89;
 * 784x1024 72 / 56, 1024x1024 71 / 53, 4096x4096 53 / 30. At 64 rows: 784x256 81-82 /
 * 79-81, 256x128 84-85 / 87-90, and from 128 rows on packed is faster. */
enum { NN_IN_PLACE_M = 32, NN_IN_PLACE_LDB = 256 };

/* Y[M×N] (+)= X[M×K] · W[K×N]  (forward: M = shard rows, N = out, K = in). Column panels
 * outer, k blocks of KC inside, each block's panel of W packed once (or read in place, see
 * above) and swept by every row tile; a block loads C back into the accumulators and goes on
 * in k order, so blocking changes no bits, nor does packing. With ep, the finished panel gets
 * bias + act while in L1. */
static void nn_drive(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                     size_t ldb, float *C, size_t ldc, int accumulate, const dp_epilogue *ep)
{
    if (M == 0 || N == 0) return;
    if (K > 0 && narrow(N)) {
        narrow_nn(M, N, K, A, lda, B, ldb, C, ldc, accumulate, ep);
        return;
    }
    float *PA = K > 0 && N >= NN_STRIPS_N && M >= NN_STRIPS_M ? strip_scratch() : NULL;
    if (PA) {
        gemm_strips(PA, 1, M, N, K, A, lda, B, ldb, C, ldc, accumulate, ep);
        return;
    }
    float *PW = K > 0 && K * N * sizeof(float) >= BLOCK_B_BYTES ? block_scratch() : NULL;
    if (PW) {
        nn_blocks(PW, M, N, K, A, lda, B, ldb, C, ldc, accumulate, ep);
        return;
    }
    const int in_place = M <= NN_IN_PLACE_M && ldb <= NN_IN_PLACE_LDB;
    float P[KC * NR] __attribute__((aligned(32)));
    for (size_t j0 = 0; j0 < N; j0 += NR) {
        size_t nr = min_sz(NR, N - j0);
        if (K == 0) panel(0, M, nr, 0, A, lda, B, ldb, C + j0, ldc, accumulate);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            const float *b = B + k0 * ldb + j0;
            size_t sb = ldb;
            if (!in_place || nr < NR) { /* a partial panel's full loads would pass its rows */
                pack_b(P, b, ldb, nr, kc, pack_ahead(j0, N, K));
                b = P;
                sb = NR;
            }
            panel(0, M, nr, kc, A + k0, lda, b, sb, C + j0, ldc, accumulate || k0 > 0);
        }
        if (ep) epilogue_apply(ep, C, ldc, M, j0, nr);
    }
}

static void gemm_nn_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                         size_t ldb, float *C, size_t ldc, int accumulate)
{
    nn_drive(M, N, K, A, lda, B, ldb, C, ldc, accumulate, NULL);
}

/* The fused forward's GEMM (DP_KERNEL_ENTRY_FUSED_NN): the epilogue on each finished panel. */
static void nn_epilogue_body(size_t M, size_t N, size_t K, const float *A, size_t lda,
                             const float *B, size_t ldb, float *C, size_t ldc,
                             const dp_epilogue *ep)
{
    nn_drive(M, N, K, A, lda, B, ldb, C, ldc, 0, ep);
}

/* tn's X, for the wide layers, as MR-wide strips of mc ≤ STRIP_COLS of its columns (rows of
 * dW), each kc × MR contiguous: P[s·kc·MR + k·MR + i] = A[k·lda + s·MR + i]. */
enum { STRIP_COLS = 2048 };
static void pack_a_cols(float *P, const float *A, size_t lda, size_t mc, size_t kc)
{
    size_t full = mc / MR;
    for (size_t k = 0; k < kc; k++) { /* X's row segment once, in order, to the strips */
        const float *a = A + k * lda;
        for (size_t s = 0; s < full; s++)
            _mm_store_ps(P + s * kc * MR + k * MR, _mm_loadu_ps(a + s * MR));
        for (size_t i = full * MR; i < mc; i++) P[full * kc * MR + k * MR + i % MR] = a[i];
    }
}

/* The strips' buffer (STRIP_COLS × KC floats, 2 MiB, then NB × KC for a block of B): the
 * thread's scratch (scratch.h), allocated by the worker on its first wide tn or nn, so its
 * pages are first touched where they are used. NULL (out of memory): X is read in place and
 * B packed panel by panel. */
static float *strip_scratch(void) { return dp_scratch_floats(((size_t)STRIP_COLS + NB) * KC); }
/* The same buffer's last NB × KC floats: the block of W pack_b_block fills (nn_blocks,
 * gemm_strips). */
static float *block_scratch(void)
{
    float *p = strip_scratch();
    return p ? p + (size_t)STRIP_COLS * KC : NULL;
}

/* nn's X (row-major) as MR-row strips over kc of its columns, in the layout pack_a_cols gives
 * tn, so the same microkernels read it: P[s·kc·MR + k·MR + i] = A[(s·MR + i)·lda + k]; rows
 * past mc are not written (a short strip's microkernel reads only its rows). */
static void pack_a_rows(float *P, const float *A, size_t lda, size_t mc, size_t kc)
{
    for (size_t s = 0; s * MR < mc; s++) {
        size_t rows = min_sz(MR, mc - s * MR);
        const float *a0 = A + s * MR * lda;
        float *p = P + s * kc * MR;
        const float *r[MR];
        for (size_t i = 0; i < MR; i++) r[i] = a0 + (i < rows ? i : 0) * lda;
        size_t k = 0;
        if (rows == 4)
            for (; k + 4 <= kc; k += 4) {
                __m128 x0 = _mm_loadu_ps(r[0] + k), x1 = _mm_loadu_ps(r[1] + k);
                __m128 x2 = _mm_loadu_ps(r[2] + k), x3 = _mm_loadu_ps(r[3] + k);
                _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
                _mm_store_ps(p + (k + 0) * MR, x0);
                _mm_store_ps(p + (k + 1) * MR, x1);
                _mm_store_ps(p + (k + 2) * MR, x2);
                _mm_store_ps(p + (k + 3) * MR, x3);
            }
        for (; k < kc; k++)
            for (size_t i = 0; i < rows; i++) p[k * MR + i] = r[i][k];
    }
}

/* C (+)= X·B with X packed as strips, for the wide layers: tn (x_rows 0: C's rows are X's
 * columns, from TN_STRIPS_N outputs on) and nn (x_rows 1: C's rows are X's rows, from
 * NN_STRIPS_N outputs and NN_STRIPS_M rows on). k blocks outer; each block of up to
 * STRIP_COLS of C's rows is packed once and read by every column panel of B's k block, the
 * panels packed 6 at a time (pack_b_block) and each swept by all the strips; a k block loads
 * C back and goes on in k order, so the bits do not change, and ep runs on each panel after
 * the last block. The block pack against panel by panel here (best of 4, Zen 3, 2026-12-03):
 * nn 784x1024 and 1024x1024 at m = 128 / 256 +2-7 %, 4096 wide and tn within ±2 %.
 * Read in place, X's rows (nn) or columns (tn) are a layer width apart (4 KiB at 1024 inputs:
 * every row in the same L1 set), read again by every panel, beyond L2 from L3. Measured on
 * Zen 3, 2026-12-02, best of 3 alternating runs, GFLOP/s of a 103 peak, in place / strips:
 * tn 1024x1024 73-79 / 88-92, 4096x4096 66-82 / 70-95, 784x1024 78-93 / 76-92 (strips win at
 * m ≥ 128), 784x256 87-95 / 76-85 and 256x128 88-93 / 69-82 (too few panels); nn 1024x1024
 * at m = 128, 256: 75, 78 / 81, 82, 784x1024 79, 78 / 82, 83, 4096x4096 68, 74 / 69, 77, no
 * gain at m ≤ 64 (69-77 either way), and 256x128, 784x256 lose 0-10 %. */
static void gemm_strips(float *PX, int x_rows, size_t M, size_t N, size_t K, const float *A,
                        size_t lda, const float *B, size_t ldb, float *C, size_t ldc,
                        int accumulate, const dp_epilogue *ep)
{
    float *PW = block_scratch(); /* after PX, in the same buffer */
    for (size_t k0 = 0; k0 < K; k0 += KC) {
        size_t kc = min_sz(KC, K - k0);
        int acc = accumulate || k0 > 0;
        for (size_t i0 = 0; i0 < M; i0 += STRIP_COLS) {
            size_t mc = min_sz(STRIP_COLS, M - i0);
            if (x_rows)
                pack_a_rows(PX, A + i0 * lda + k0, lda, mc, kc);
            else
                pack_a_cols(PX, A + k0 * lda + i0, lda, mc, kc);
            float *c = C + i0 * ldc;
            for (size_t j0 = 0; j0 < N; j0 += NR) {
                size_t nr = min_sz(NR, N - j0), nv = (nr + 7) / 8;
                int masked = nr % 8 != 0;
                if (j0 % NB == 0) pack_b_block(PW, B + k0 * ldb + j0, ldb, min_sz(NB, N - j0), kc);
                const float *PB = block_panel(PW, j0 % NB / NR);
                size_t s = 0, nlast = nr - 8 * (nv - 1);
                if (nv == NV) { /* MR = tile_rows(NV): the full strips in one call */
                    s = mc / MR;
                    ukr_run_tab[1][masked][NV - 1](s, kc, PX, MR, kc * MR, PB, NR, c + j0, ldc,
                                                   nlast, acc);
                }
                for (; s * MR < mc; s++) {
                    size_t mr = min_sz(MR, mc - s * MR);
                    ukr_tab[1][masked][mr - 1][nv - 1](kc, PX + s * kc * MR, MR, PB, NR,
                                                       c + s * MR * ldc + j0, ldc, nlast, acc);
                }
                if (ep && k0 + KC >= K) epilogue_apply(ep, c, ldc, mc, j0, nr);
            }
        }
    }
}

/* dW[M×N] (+)= X[K×M]ᵀ · dY[K×N]  (weight gradient: M = in, N = out, K = shard rows).
 * Column panels of dY, a k block of KC rows of each packed once and swept by all row tiles;
 * X's columns read in place, or, from TN_STRIPS_N outputs on (43 panels of dY and more to
 * pay for the copy), packed as strips (gemm_strips, with the figures). */
static void gemm_tn_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                         size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (M == 0 || N == 0) return;
    if (K > 0 && narrow(N)) {
        narrow_tn(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
    float *PX = K > 0 && N >= TN_STRIPS_N ? strip_scratch() : NULL;
    if (PX) {
        gemm_strips(PX, 0, M, N, K, A, lda, B, ldb, C, ldc, accumulate, NULL);
        return;
    }
    float PB[KC * NR] __attribute__((aligned(32)));
    for (size_t j0 = 0; j0 < N; j0 += NR) {
        size_t nr = min_sz(NR, N - j0);
        if (K == 0) panel(1, M, nr, 0, A, lda, B + j0, ldb, C + j0, ldc, accumulate);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            pack_b(PB, B + k0 * ldb + j0, ldb, nr, kc, pack_ahead(j0, N, K));
            panel(1, M, nr, kc, A + k0 * lda, lda, PB, NR, C + j0, ldc, accumulate || k0 > 0);
        }
    }
}

/* In-register 8×8 transpose: r[t] lane l becomes r[l] lane t. */
INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x20);
        r[4 + q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x31);
    }
}

/* P[k·NR + jj] = B[jj·ldb + k] for jj < nr, k < kc; lanes past nr in nr's last vector are 0,
 * the vectors after it are left as they are (never read). */
static void pack_bt(float *P, const float *B, size_t ldb, size_t nr, size_t kc)
{
    for (size_t j0 = 0; j0 < nr; j0 += 8) {
        size_t rows = min_sz(8, nr - j0);
        for (size_t k0 = 0; k0 < kc; k0 += 8) {
            size_t kn = min_sz(8, kc - k0);
            __m256i km = tail_mask(kn);
            __m256 r[8];
            for (size_t t = 0; t < 8; t++)
                r[t] = t >= rows ? _mm256_setzero_ps()
                       : kn == 8 ? _mm256_loadu_ps(B + (j0 + t) * ldb + k0)
                                 : _mm256_maskload_ps(B + (j0 + t) * ldb + k0, km);
            transpose8(r);
            for (size_t t = 0; t < kn; t++) _mm256_store_ps(P + (k0 + t) * NR + j0, r[t]);
        }
    }
}

/* ---------------------------------------------------------------- narrow outputs */

/* A 10-wide C filled 10 of the 16 lanes of its two-vector panel (nn and tn 128x10 ran at
 * 42-55 % of peak, Zen 3). Here the tile is transposed: T[j][i] for up to NJ of C's columns
 * j (registers) × 16 of its rows i (lanes), T[j][i] = Σ_k a[k·sa + j] · b[k·sb + i], k in
 * order, each term the same fused multiply-add as in the wide tiles, so the bits do not
 * change. tn: a = dY, b = X (its rows are C's rows). nn: a = W, b = X's block transposed. */
enum { NJ = 6, TI = 16 }; /* 6 × 2 vectors: 12 accumulators */
#define FOR_J(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define TJ_DECL(j) __m256 t##j##0 = _mm256_setzero_ps(), t##j##1 = t##j##0;
#define TJ_LOAD(j)                                                                         \
    if (nj > j && accumulate) {                                                            \
        t##j##0 = _mm256_load_ps(T[j]);                                                    \
        t##j##1 = _mm256_load_ps(T[j] + 8);                                                \
    }
#define TJ_FMA(j)                                                                          \
    if (nj > j) {                                                                          \
        __m256 aj = _mm256_broadcast_ss(a + j);                                            \
        t##j##0 = _mm256_fmadd_ps(aj, b0, t##j##0);                                        \
        t##j##1 = _mm256_fmadd_ps(aj, b1, t##j##1);                                        \
    }
#define TJ_STORE(j)                                                                        \
    if (nj > j) {                                                                          \
        _mm256_store_ps(T[j], t##j##0);                                                    \
        _mm256_store_ps(T[j] + 8, t##j##1);                                                \
    }

/* masked: b's rows hold fewer than 16 lanes (m0, m1), as X's last rows do in tn. */
INLINE void ukr_t(const int nj, const int masked, size_t K, const float *a, size_t sa,
                  const float *b, size_t sb, __m256i m0, __m256i m1, float (*T)[TI],
                  int accumulate)
{
    FOR_J(TJ_DECL)
    FOR_J(TJ_LOAD)
    for (size_t k = 0; k < K; k++) {
        __m256 b0 = masked ? _mm256_maskload_ps(b, m0) : _mm256_loadu_ps(b);
        __m256 b1 = masked ? _mm256_maskload_ps(b + 8, m1) : _mm256_loadu_ps(b + 8);
        FOR_J(TJ_FMA)
        a += sa;
        b += sb;
    }
    FOR_J(TJ_STORE)
}

typedef void (*ukr_t_fn)(size_t K, const float *a, size_t sa, const float *b, size_t sb,
                         __m256i m0, __m256i m1, float (*T)[TI], int accumulate);
#define UKR_T_ONE(J, MASKED)                                                               \
    static void ukr_t##J##_##MASKED(size_t K, const float *a, size_t sa, const float *b,   \
                                    size_t sb, __m256i m0, __m256i m1, float (*T)[TI],     \
                                    int acc)                                               \
    {                                                                                      \
        ukr_t(J, MASKED, K, a, sa, b, sb, m0, m1, T, acc);                                 \
    }
#define UKR_T(J) UKR_T_ONE(J, 0) UKR_T_ONE(J, 1)
UKR_T(1) UKR_T(2) UKR_T(3) UKR_T(4) UKR_T(5) UKR_T(6)
static const ukr_t_fn ukr_t_tab[2][NJ] = {
    {ukr_t1_0, ukr_t2_0, ukr_t3_0, ukr_t4_0, ukr_t5_0, ukr_t6_0},
    {ukr_t1_1, ukr_t2_1, ukr_t3_1, ukr_t4_1, ukr_t5_1, ukr_t6_1}};

/* C's N ≤ 12 columns in tiles of about equal width (10: 5 + 5, not 6 + 4, whose second tile
 * has only 8 accumulators); T holds all of them for one block of 16 rows. */
static size_t tile_cols(size_t N)
{
    size_t tiles = (N + NJ - 1) / NJ;
    return (N + tiles - 1) / tiles;
}

/* C's rows i < mi into T, transposed (lanes past mi 0), and back: C's first 8 columns 8 × 8
 * at a time in registers, the rest one by one. One by one throughout, the 160 stores of a
 * 16 × 10 block cost about as much as that block's whole 32-row tn (tn 128x10 at m = 32 ran at
 * 62 % of peak, Zen 3); masked vector stores for the 2 columns past 8 were slower still. */
static void t_from_c(float (*T)[TI], const float *C, size_t ldc, size_t mi, size_t N)
{
    size_t j8 = N / 8 * 8;
    for (size_t i0 = 0; i0 < TI; i0 += 8)
        for (size_t j0 = 0; j0 < j8; j0 += 8) {
            __m256 r[8];
            for (size_t i = 0; i < 8; i++)
                r[i] = i0 + i < mi ? _mm256_loadu_ps(C + (i0 + i) * ldc + j0)
                                   : _mm256_setzero_ps();
            transpose8(r);
            for (size_t t = 0; t < 8; t++) _mm256_store_ps(T[j0 + t] + i0, r[t]);
        }
    for (size_t j = j8; j < N; j++)
        for (size_t i = 0; i < TI; i++) T[j][i] = i < mi ? C[i * ldc + j] : 0.0f;
}
static void t_to_c(float (*T)[TI], float *C, size_t ldc, size_t mi, size_t N)
{
    size_t j8 = N / 8 * 8;
    for (size_t i0 = 0; i0 < mi; i0 += 8) {
        size_t ni = min_sz(8, mi - i0);
        for (size_t j0 = 0; j0 < j8; j0 += 8) {
            __m256 r[8];
            for (size_t t = 0; t < 8; t++) r[t] = _mm256_load_ps(T[j0 + t] + i0);
            transpose8(r);
            for (size_t i = 0; i < ni; i++) _mm256_storeu_ps(C + (i0 + i) * ldc + j0, r[i]);
        }
    }
    for (size_t i = 0; i < mi; i++)
        for (size_t j = j8; j < N; j++) C[i * ldc + j] = T[j][i];
}

/* dW[M×N] (+)= X[K×M]ᵀ · dY[K×N] for narrow N: 16 of dW's rows = 16 of X's columns, read in
 * place as vectors, all K at once. */
static void narrow_tn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                      size_t ldb, float *C, size_t ldc, int accumulate)
{
    float T[12][TI] __attribute__((aligned(32)));
    size_t nj = tile_cols(N);
    for (size_t i0 = 0; i0 < M; i0 += TI) {
        size_t mi = min_sz(TI, M - i0);
        int masked = mi < TI;
        __m256i m0 = tail_mask(min_sz(mi, 8)), m1 = tail_mask(mi > 8 ? mi - 8 : 0);
        if (accumulate) t_from_c(T, C + i0 * ldc, ldc, mi, N);
        for (size_t j0 = 0; j0 < N; j0 += nj) {
            size_t w = min_sz(nj, N - j0);
            ukr_t_tab[masked][w - 1](K, B + j0, ldb, A + i0, lda, m0, m1, T + j0, accumulate);
        }
        t_to_c(T, C + i0 * ldc, ldc, mi, N);
    }
}

/* Y[M×N] (+)= X[M×K] · W[K×N] for narrow N: 16 rows of X at a time, transposed by pack_bt KC
 * columns at a time (KC × 16 of its 24 lanes), the k blocks summed on in T. */
static void narrow_nn(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                      size_t ldb, float *C, size_t ldc, int accumulate, const dp_epilogue *ep)
{
    float T[12][TI] __attribute__((aligned(32)));
    float P[KC * NR] __attribute__((aligned(32)));
    const __m256i none = _mm256_setzero_si256();
    size_t nj = tile_cols(N);
    for (size_t i0 = 0; i0 < M; i0 += TI) {
        size_t mi = min_sz(TI, M - i0);
        if (accumulate) t_from_c(T, C + i0 * ldc, ldc, mi, N);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            pack_bt(P, A + i0 * lda + k0, lda, mi, kc);
            if (mi <= 8) /* pack_bt leaves lanes 8..15 as they were: make them finite */
                for (size_t k = 0; k < kc; k++)
                    _mm256_store_ps(P + k * NR + 8, _mm256_setzero_ps());
            for (size_t j0 = 0; j0 < N; j0 += nj) {
                size_t w = min_sz(nj, N - j0);
                ukr_t_tab[0][w - 1](kc, B + k0 * ldb + j0, ldb, P, NR, none, none, T + j0,
                                    accumulate || k0 > 0);
            }
        }
        t_to_c(T, C + i0 * ldc, ldc, mi, N);
        if (ep) epilogue_apply(ep, C + i0 * ldc, ldc, mi, 0, N);
    }
}

/* dX[M×N] (+)= dY[M×K] · W[N×K]ᵀ  (input gradient: M = shard rows, N = in, K = out). Bᵀ is
 * packed KC × NR at a time; k blocks are summed in order, so blocking changes no bits. */
static void gemm_nt_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (M == 0 || N == 0) return;
    float P[KC * NR] __attribute__((aligned(32)));
    if (K == 0) {
        nn_drive(M, N, 0, A, lda, B, ldb, C, ldc, accumulate, NULL);
        return;
    }
    for (size_t j0 = 0; j0 < N; j0 += NR) {
        size_t nr = min_sz(NR, N - j0);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            pack_bt(P, B + j0 * ldb + k0, ldb, nr, kc);
            panel(0, M, nr, kc, A + k0, lda, P, NR, C + j0, ldc, accumulate || k0 > 0);
        }
    }
}

/* ---------------------------------------------------------------- element-wise */

/* y[m×n] := act(y + b); relu and bias-only vectorized, sigmoid/tanh via the shared libm code. */
static void bias_act_forward_body(float *y, const float *b, size_t m, size_t n, dp_act act)
{
    if (act == DP_ACT_SIGMOID || act == DP_ACT_TANH) {
        dp_portable_bias_act_forward(y, b, m, n, act);
        return;
    }
    const dp_epilogue e = {.bias = b, .act = act}; /* the fused forward's loop, over all of y */
    epilogue_apply(&e, y, n, m, 0, n);
}

/* dy[count] *= act'(through y), same formulas and rounding as the reference. */
static void act_backward_body(float *dy, const float *y, size_t count, dp_act act)
{
    if (act != DP_ACT_RELU && act != DP_ACT_SIGMOID && act != DP_ACT_TANH) return;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 yv = _mm256_loadu_ps(y + i), d = _mm256_loadu_ps(dy + i);
        if (act == DP_ACT_RELU)
            d = _mm256_and_ps(_mm256_cmp_ps(yv, zero, _CMP_GT_OQ), d);
        else if (act == DP_ACT_SIGMOID)
            d = _mm256_mul_ps(d, _mm256_mul_ps(yv, _mm256_sub_ps(one, yv)));
        else
            d = _mm256_mul_ps(d, _mm256_sub_ps(one, _mm256_mul_ps(yv, yv)));
        _mm256_storeu_ps(dy + i, d);
    }
    dp_portable_act_backward(dy + i, y + i, count - i, act);
}

/* db[n] (+)= column sums of dy[m×n], each summed in row order (bitwise equal to portable). */
static void colsum_body(float *db, const float *dy, size_t m, size_t n, int accumulate)
{
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 s[4];
        for (int v = 0; v < 4; v++)
            s[v] = accumulate ? _mm256_loadu_ps(db + j + 8 * v) : _mm256_setzero_ps();
        for (size_t i = 0; i < m; i++)
            for (int v = 0; v < 4; v++)
                s[v] = _mm256_add_ps(s[v], _mm256_loadu_ps(dy + i * n + j + 8 * v));
        for (int v = 0; v < 4; v++) _mm256_storeu_ps(db + j + 8 * v, s[v]);
    }
    for (; j < n; j++) {
        float s = accumulate ? db[j] : 0.0f;
        for (size_t i = 0; i < m; i++) s += dy[i * n + j];
        db[j] = s;
    }
}

DP_KERNEL_ENTRY_FUSED_NN
#define DP_FUSED_NN gemm_nn_bias_act
DP_KERNEL_OPS(dp_kernels_avx2_ops, "avx2")

#else
/* The compiler was not given the ISA: the path is absent and kernels.c never picks it. */
const dp_kernel_ops dp_kernels_avx2_ops = {.name = NULL};
#endif
