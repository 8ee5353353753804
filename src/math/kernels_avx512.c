/* AVX-512 path (compiled with -mavx512f/vl/bw/dq -mfma, chosen at run time by kernels.c).
 * GEMMs: one register-blocked microkernel (mr rows × up to 16·nv columns of C in zmm
 * registers, A broadcast, B rows loaded, FMA over k) driven three ways; edges use k-masks.
 * The tile (mr × nv) and the k-block depth come from gemm_tiles.c (CPUID). */
#include "gemm_tiles.h"
#include "kernels_internal.h"
#include "scratch.h"

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__FMA__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

/* Largest tile of C any config uses: MR rows, NV zmm (16 floats each); a config's mr × nv
 * keeps its accumulators + B vectors + 1 broadcast in the 32 zmm registers. */
enum { MR = 12, NV = 3, NR = 16 * NV };
/* Depth of one packed Bᵀ panel for nt: KC × NR floats = 24 KiB, stays in L1. */
enum { KC = 128 };

static inline __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }

INLINE __m512 ldv(const float *p, int v, int nv, __mmask16 m)
{
    return v == nv - 1 ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
}

INLINE void stv(float *p, __m512 x, int v, int nv, __mmask16 m)
{
    if (v == nv - 1)
        _mm512_mask_storeu_ps(p, m, x);
    else
        _mm512_storeu_ps(p, x);
}

/* The accumulators are named variables, not an array: GCC keeps a __m512[8][3] array in
 * memory (it is too big to scalarize) and then stores it on every k step. */
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ACC_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0;
#define ACC_LOAD(i)                                                                        \
    if (mr > i && accumulate) {                                                            \
        c##i##0 = ldv(c + i * ldc, 0, nv, m);                                              \
        if (nv > 1) c##i##1 = ldv(c + i * ldc + 16, 1, nv, m);                             \
        if (nv > 2) c##i##2 = ldv(c + i * ldc + 32, 2, nv, m);                             \
    }
#define ACC_FMA(i, AEXPR)                                                                  \
    if (mr > i) {                                                                          \
        __m512 ai = _mm512_set1_ps(AEXPR);                                                 \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                        \
        if (nv > 1) c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                            \
        if (nv > 2) c##i##2 = _mm512_fmadd_ps(ai, b2, c##i##2);                            \
    }
#define FMA_COL(i) ACC_FMA(i, a[i])
#define FMA_ROW(i) ACC_FMA(i, a##i[k])
#define ROW_PTR(i) const float *a##i = a + (mr > i ? i : 0) * sa;
#define ACC_STORE(i)                                                                       \
    if (mr > i) {                                                                          \
        stv(c + i * ldc, c##i##0, 0, nv, m);                                               \
        if (nv > 1) stv(c + i * ldc + 16, c##i##1, 1, nv, m);                              \
        if (nv > 2) stv(c + i * ldc + 32, c##i##2, 2, nv, m);                              \
    }
#define LOAD_B                                                                             \
    __m512 b0 = ldv(b, 0, nv, m), b1 = b0, b2 = b0;                                        \
    if (nv > 1) b1 = ldv(b + 16, 1, nv, m);                                                \
    if (nv > 2) b2 = ldv(b + 32, 2, nv, m);

/* C[mr × (16·nv, last vector masked by m)] (+)= Σ_k a(i,k) · b[k·ldb + j], k = 0..K−1 in order.
 * acol = 0: a(i,k) = a[i·sa + k] (A row-major, nn and nt);
 * acol = 1: a(i,k) = a[k·sa + i] (A transposed, tn). */
INLINE void ukr(const int mr, const int nv, const int acol, size_t K, const float *a, size_t sa,
                const float *b, size_t ldb, float *c, size_t ldc, __mmask16 m,
                int accumulate)
{
    DP_UKR_BODY
}

typedef void (*ukr_fn)(size_t K, const float *a, size_t sa, const float *b, size_t ldb,
                       float *c, size_t ldc, __mmask16 m, int accumulate);

#define UKR_DEF(R, V)                                                                      \
    static void ukr_r##R##_##V(size_t K, const float *a, size_t sa, const float *b,       \
                               size_t ldb, float *c, size_t ldc, __mmask16 m, \
                               int acc)                                                    \
    {                                                                                      \
        ukr(R, V, 0, K, a, sa, b, ldb, c, ldc, m, acc);                              \
    }                                                                                      \
    static void ukr_c##R##_##V(size_t K, const float *a, size_t sa, const float *b,       \
                               size_t ldb, float *c, size_t ldc, __mmask16 m, \
                               int acc)                                                    \
    {                                                                                      \
        ukr(R, V, 1, K, a, sa, b, ldb, c, ldc, m, acc);                              \
    }
/* Rows 9..12 only ever run with nv ≤ 2 (the 12x32 tile), so 36-accumulator kernels that
 * would spill are never built. */
#define UKR_ROW(R) UKR_DEF(R, 1) UKR_DEF(R, 2) UKR_DEF(R, 3)
#define UKR_ROW2(R) UKR_DEF(R, 1) UKR_DEF(R, 2)
UKR_ROW(1) UKR_ROW(2) UKR_ROW(3) UKR_ROW(4) UKR_ROW(5) UKR_ROW(6) UKR_ROW(7) UKR_ROW(8)
UKR_ROW2(9) UKR_ROW2(10) UKR_ROW2(11) UKR_ROW2(12)

#define TAB_ROW(F, R) {F##R##_1, F##R##_2, F##R##_3}
#define TAB_ROW2(F, R) {F##R##_1, F##R##_2, NULL}
#define TAB(F)                                                                             \
    {TAB_ROW(F, 1), TAB_ROW(F, 2), TAB_ROW(F, 3), TAB_ROW(F, 4), TAB_ROW(F, 5),             \
     TAB_ROW(F, 6), TAB_ROW(F, 7), TAB_ROW(F, 8), TAB_ROW2(F, 9), TAB_ROW2(F, 10),         \
     TAB_ROW2(F, 11), TAB_ROW2(F, 12)}
static const ukr_fn ukr_row[MR][NV] = TAB(ukr_r);
static const ukr_fn ukr_col[MR][NV] = TAB(ukr_c);

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* nn's first row tile of a column panel, which also asks for the same k rows of the next
 * panel or packed piece (into L2; next's rows are nldb apart). W's rows are a layer width
 * apart (4 KiB and more for wide layers), so the hardware prefetchers, which stop at page
 * boundaries, never fetch a panel ahead, and the first tile of every panel waited on L3 row
 * by row. The sums are those of ukr(). */
INLINE void ukr_ahead(const int mr, const int nv, size_t K, const float *a, size_t sa,
                      const float *b, size_t ldb, float *c, size_t ldc, __mmask16 m,
                      int accumulate, const float *next, size_t nldb)
{
    FOR_ROWS(ACC_DECL)
    FOR_ROWS(ACC_LOAD)
    FOR_ROWS(ROW_PTR)
    for (size_t k = 0; k < K; k++) {
        LOAD_B
        for (int v = 0; v < nv; v++) _mm_prefetch((const char *)(next + 16 * v), _MM_HINT_T1);
        FOR_ROWS(FMA_ROW)
        b += ldb;
        next += nldb;
    }
    FOR_ROWS(ACC_STORE)
}

static void ukr_ahead_8x48(size_t K, const float *a, size_t sa, const float *b, size_t ldb,
                           float *c, size_t ldc, int acc, const float *next, size_t nldb)
{
    ukr_ahead(8, 3, K, a, sa, b, ldb, c, ldc, 0xFFFF, acc, next, nldb);
}

static void ukr_ahead_12x32(size_t K, const float *a, size_t sa, const float *b, size_t ldb,
                            float *c, size_t ldc, int acc, const float *next, size_t nldb)
{
    ukr_ahead(12, 2, K, a, sa, b, ldb, c, ldc, 0xFFFF, acc, next, nldb);
}

/* Rows per tile for a panel of nv vectors: narrow panels (a layer of 10 outputs, the last 16
 * or 32 columns of 256 or 128) take 12 rows, since 12·nv accumulators keep both FMA pipes
 * busy where 8·nv (8 or 16) could not hide the FMA latency (nn 128x10: 8 rows ran at 45-50 %
 * of peak); full panels the config's mr. */
static size_t tile_rows(const dp_gemm_cfg *g, size_t nv) { return nv < 3 ? 12 : (size_t)g->mr; }

/* Height of the next row tile with `left` rows to go: step, except that a short last tile
 * (fewer than step/2 rows, e.g. the 4 left of 64, 256 or 784 by 12) would hold too few
 * accumulators to cover the FMA latency (4 rows × 2 vectors = 8, no slack: half speed), so
 * the last step + r rows go as two tiles of about half each (16 = 8 + 8). Only which rows
 * share a tile changes, not any element's k order: the same bits. */
static size_t next_tile(size_t left, size_t step)
{
    return left > step && left < step + step / 2 ? (left + 1) / 2 : min_sz(step, left);
}

/* Row tiles (tile_rows high) down one column panel of C (nr ≤ 16·nv columns). A is read
 * in place (broadcasts need no packing). */
static void panel(const ukr_fn tab[MR][NV], const dp_gemm_cfg *g, int acol, size_t M,
                  size_t nr, size_t K, const float *A, size_t lda, const float *B, size_t ldb,
                  float *C, size_t ldc, int accumulate, const float *next, size_t nldb)
{
    size_t nv = (nr + 15) / 16, i0 = 0, step = tile_rows(g, nv);
    __mmask16 m = tail_mask(nr - 16 * (nv - 1));
    if (next && !acol && M >= 2 * step && nv == (size_t)g->nv && nr == 16 * nv) {
        (g->mr == 8 ? ukr_ahead_8x48 : ukr_ahead_12x32)(K, A, lda, B, ldb, C, ldc, accumulate,
                                                        next, nldb);
        i0 = step;
    }
    for (size_t mr; i0 < M; i0 += mr) {
        mr = next_tile(M - i0, step);
        const float *a = acol ? A + i0 : A + i0 * lda;
        tab[mr - 1][nv - 1](K, a, lda, B, ldb, C + i0 * ldc, ldc, m, accumulate);
    }
}

/* The fused forward's epilogue (dp_epilogue). (The input gradient's act' was fused the same
 * way and measured 10 % slower on the 1024-wide layers: its y panel is read in 192-byte
 * pieces a row apart, where the separate pass streams it.) */
static void epilogue_apply(const dp_epilogue *e, float *C, size_t ldc, size_t M, size_t j0,
                           size_t nr)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < M; i++) {
        float *c = C + i * ldc + j0;
        for (size_t j = 0; j < nr; j += 16) {
            __mmask16 km = tail_mask(min_sz(16, nr - j));
            __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(km, c + j),
                                     _mm512_maskz_loadu_ps(km, e->bias + j0 + j));
            if (e->act == DP_ACT_RELU) x = _mm512_max_ps(zero, x); /* 0 > x ? 0 : x, keeps NaN */
            _mm512_mask_storeu_ps(c + j, km, x);
        }
    }
}

/* nn with W's rows 2 KiB and more apart (512 outputs and up) packs each KP-deep piece of a
 * column panel: read in place, the rows of a panel are a page or more apart, all in the same
 * few L1 sets, beyond the TLB's reach and where the hardware prefetchers (which stop at page
 * boundaries) never look ahead. P[k·NR + j] = B[k·ldb + j] for j < nr, k < kp (lanes past nr
 * are left as they are: the microkernel masks them); the rows PACK_AHEAD down are asked for
 * into L1 as it goes. Measured on an Intel Xeon (family 6 model 167, two 512-bit FMA units),
 * nn GFLOP/s in place → packed, m = 32 / 64 / 128 / 256 (2026-12-06, best of 2-3 alternating
 * runs): 784x1024 78-82 / 77-83 / 80-86 / 76-85 → 123-126 / 145-151 / 164-167 / 167-169,
 * 4096x4096 39-47 / 43-52 / 56-68 / 63-74 → 72-78 / 99-101 / 119-124 / 132-136; 6 panels
 * packed at a time (each row read as 1152 contiguous bytes) were no faster. At 256 outputs
 * (rows 1 KiB apart) packing lost at m = 32 (190-213 → 157-159) and gained nothing above. */
enum { KP = 256, PACK_AHEAD = 16, NN_PACK_LDB = 512 };
static void pack_b(float *P, const float *B, size_t ldb, size_t nr, size_t kp)
{
    size_t full = nr / 16;
    for (size_t k = 0; k < kp; k++) {
        const float *b = B + k * ldb;
        float *p = P + k * NR;
        if (k + PACK_AHEAD < kp)
            for (size_t l = 0; l < nr; l += 16)
                _mm_prefetch((const char *)(b + PACK_AHEAD * ldb + l), _MM_HINT_T0);
        for (size_t v = 0; v < full; v++) _mm512_store_ps(p + 16 * v, _mm512_loadu_ps(b + 16 * v));
        if (nr % 16)
            _mm512_store_ps(p + 16 * full, _mm512_maskz_loadu_ps(tail_mask(nr % 16), b + 16 * full));
    }
}

/* One k block of nn with W packed: column panels, KP-deep pieces of the block inside, each
 * packed once and swept by every row tile; C is loaded back at each piece and the sums go on
 * in k order, so the bits are those of the in-place loop. */
static void nn_packed(const dp_gemm_cfg *g, size_t M, size_t N, size_t kb, const float *a,
                      size_t lda, const float *b, size_t ldb, float *C, size_t ldc, int acc,
                      const dp_epilogue *ep)
{
    float P[KP * NR] __attribute__((aligned(64)));
    size_t nr_max = 16 * (size_t)g->nv;
    for (size_t j0 = 0; j0 < N; j0 += nr_max) {
        size_t nr = min_sz(nr_max, N - j0);
        for (size_t kk = 0; kk < kb; kk += KP) {
            size_t kp = min_sz(KP, kb - kk);
            /* The next piece's rows of W, asked for (into L2) by the first row tile as it
             * goes, so the next pack_b does not wait on memory row after row: nn at m = 32
             * +8-14 %, m = 64 +2-10 %, m >= 128 0-9 % (784x1024, 1024x1024, 4096x4096, best
             * of 3 alternating, Intel Xeon model 167, 2026-12-06). */
            const float *next = kk + KP < kb ? b + (kk + KP) * ldb + j0
                                : j0 + nr_max < N ? b + j0 + nr_max : NULL;
            pack_b(P, b + kk * ldb + j0, ldb, nr, kp);
            panel(ukr_row, g, 0, M, nr, kp, a + kk, lda, P, NR, C + j0, ldc, acc || kk > 0,
                  next, ldb);
        }
        if (ep) epilogue_apply(ep, C, ldc, M, j0, nr);
    }
}

/* k blocks outer (dp_gemm_kc: A's M × kc block and one B panel stay in L2 when K is deep),
 * then column panels, row tiles inner: a B panel is reused by every row tile while hot.
 * Each block loads C back into the accumulators and goes on in k order, so blocking
 * changes no bits. */
static void drive(const ukr_fn tab[MR][NV], int acol, size_t M, size_t N, size_t K,
                  const float *A, size_t lda, const float *B, size_t ldb, float *C, size_t ldc,
                  int accumulate, const dp_epilogue *ep)
{
    const dp_gemm_cfg *g = dp_gemm_cfg_current();
    size_t nr_max = 16 * (size_t)g->nv, kc = dp_gemm_kc(M, nr_max, K), k0 = 0;
    do {
        size_t kb = min_sz(kc, K - k0);
        const float *a = acol ? A + k0 * lda : A + k0, *b = B + k0 * ldb;
        int acc = accumulate || k0 > 0;
        if (acol && dp_gemm_fits_l2(kb, N)) { /* tn only: never with an epilogue */
            /* tn, the B block in L2: row tiles outer, so C (often past L2) is written row
             * after row in long runs instead of 16·nv floats down every row in turn. */
            size_t rows = tile_rows(g, min_sz((size_t)g->nv, (N + 15) / 16)); /* widest panel's */
            for (size_t i0 = 0, mr; i0 < M; i0 += mr) {
                mr = next_tile(M - i0, rows);
                for (size_t j0 = 0; j0 < N; j0 += nr_max)
                    panel(tab, g, acol, mr, min_sz(nr_max, N - j0), kb, a + i0, lda, b + j0,
                          ldb, C + i0 * ldc + j0, ldc, acc, NULL, 0);
            }
        } else if (!acol && g->pack_wide && ldb >= NN_PACK_LDB && kb > 0) {
            nn_packed(g, M, N, kb, a, lda, b, ldb, C, ldc, acc, k0 + kb == K ? ep : NULL);
        } else {
            for (size_t j0 = 0; j0 < N; j0 += nr_max) {
                size_t nr = min_sz(nr_max, N - j0);
                panel(tab, g, acol, M, nr, kb, a, lda, b + j0, ldb, C + j0, ldc, acc,
                      j0 + nr_max < N ? b + j0 + nr_max : NULL, ldb);
                if (ep && k0 + kb == K) epilogue_apply(ep, C, ldc, M, j0, nr);
            }
        }
        k0 += kb;
    } while (k0 < K);
}

/* Y[M×N] (+)= X[M×K] · W[K×N]  (forward: M = shard rows, N = out, K = in) */
static void gemm_nn_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    drive(ukr_row, 0, M, N, K, A, lda, B, ldb, C, ldc, accumulate, NULL);
}

/* The fused forward's GEMM (DP_KERNEL_ENTRY_FUSED_NN): the epilogue on each finished panel. */
static void nn_epilogue_body(size_t M, size_t N, size_t K, const float *A, size_t lda,
                             const float *B, size_t ldb, float *C, size_t ldc,
                             const dp_epilogue *ep)
{
    drive(ukr_row, 0, M, N, K, A, lda, B, ldb, C, ldc, 0, ep);
}

/* tn with both operands packed, for weight gradients of 512 outputs and more (TN_PACK_N).
 * Read in place, a row tile takes 48 bytes from each of the shard's rows of X (a layer width
 * apart: at 1024 inputs, 4 KiB, every row in the same L1 set) and one panel of dY rows a layer
 * width apart, again for every panel and row tile, from L2 with no prefetcher able to follow.
 * Packed: X as mr-wide strips, P[s·kp·mr + k·mr + i] = X[k·lda + s·mr + i] (X's rows read
 * once, in order), and dY panel by panel, Q[p·kp·NR + k·NR + j] = dY[k·ldb + p·nr_max + j],
 * for up to TN_COLS columns at a time; then strips outer (C written in row runs), panels
 * inner, each strip × panel one microkernel call over kp. KP-deep pieces of K (the shard
 * rows) are summed into C in order, so the bits are those of the in-place loop. Measured on
 * an Intel Xeon (family 6 model 167), tn GFLOP/s in place → packed, m = 32..256, two
 * alternating rounds (2026-12-06, a noisy host): 1024x1024 115-172 → 155-201, 4096x4096
 * 68-146 → 148-202 (m = 128/256: 68-77 → 160-202), 784x1024 149-178 → 155-188; at 256
 * outputs it was within the noise (151-207 either way), so those stay in place.
 * Scratch (dp_scratch_floats): KP × (up to TN_ROWS + TN_COLS) floats, 3 MiB at most. */
enum { TN_PACK_N = 512, TN_COLS = 1024, TN_ROWS = 2048 };
static void pack_x_strips(float *P, const float *A, size_t lda, size_t mc, size_t mr, size_t kp)
{
    size_t full = mc / mr;
    for (size_t k = 0; k < kp; k++) {
        const float *x = A + k * lda;
        for (size_t s = 0; s < full; s++) {
            float *q = P + s * kp * mr + k * mr;
            __m512 r = _mm512_maskz_loadu_ps(tail_mask(mr), x + s * mr);
            _mm512_mask_storeu_ps(q, tail_mask(mr), r);
        }
        for (size_t i = full * mr; i < mc; i++) P[full * kp * mr + k * mr + (i - full * mr)] = x[i];
    }
}

/* dY's kp rows, nb columns, as panels of nr_max columns, panel p at Q + p·kp·NR; each row
 * read once, in order. nn's pack_b is the one-panel case, kept apart: nn through this loop
 * ran 8-10 % slower (1024x1024, m = 32-256, alternating runs, Intel Xeon model 167). */
static void pack_dy_panels(float *Q, const float *B, size_t ldb, size_t nb, size_t nr_max,
                           size_t kp)
{
    size_t np = (nb + nr_max - 1) / nr_max;
    for (size_t k = 0; k < kp; k++) {
        const float *b = B + k * ldb;
        for (size_t p = 0; p < np; p++) {
            size_t nr = min_sz(nr_max, nb - p * nr_max), full = nr / 16;
            float *q = Q + p * kp * NR + k * NR;
            for (size_t v = 0; v < full; v++)
                _mm512_store_ps(q + 16 * v, _mm512_loadu_ps(b + p * nr_max + 16 * v));
            if (nr % 16)
                _mm512_store_ps(q + 16 * full, _mm512_maskz_loadu_ps(tail_mask(nr % 16),
                                                                     b + p * nr_max + 16 * full));
        }
    }
}

static int tn_packed(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                     size_t ldb, float *C, size_t ldc, int accumulate)
{
    const dp_gemm_cfg *g = dp_gemm_cfg_current();
    size_t mr = (size_t)g->mr, nr_max = 16 * (size_t)g->nv;
    size_t px = (size_t)KP * ((min_sz(M, TN_ROWS) + mr - 1) / mr * mr);
    size_t qn = (min_sz(N, TN_COLS) + nr_max - 1) / nr_max * NR;
    float *P = dp_scratch_floats(px + (size_t)KP * qn);
    if (!P) return 0;
    float *Q = P + px;
    for (size_t k0 = 0; k0 < K; k0 += KP) {
        size_t kp = min_sz(KP, K - k0);
        int acc = accumulate || k0 > 0;
        for (size_t i0 = 0; i0 < M; i0 += TN_ROWS) {
            size_t mc = min_sz(TN_ROWS, M - i0);
            pack_x_strips(P, A + k0 * lda + i0, lda, mc, mr, kp);
            for (size_t jb = 0; jb < N; jb += TN_COLS) {
                size_t nb = min_sz(TN_COLS, N - jb);
                pack_dy_panels(Q, B + k0 * ldb + jb, ldb, nb, nr_max, kp);
                for (size_t s = 0; s * mr < mc; s++) {
                    size_t rows = min_sz(mr, mc - s * mr);
                    float *c = C + (i0 + s * mr) * ldc + jb;
                    for (size_t p = 0; p * nr_max < nb; p++) {
                        size_t nr = min_sz(nr_max, nb - p * nr_max), nv = (nr + 15) / 16;
                        ukr_col[rows - 1][nv - 1](kp, P + s * kp * mr, mr, Q + p * kp * NR, NR,
                                                  c + p * nr_max, ldc,
                                                  tail_mask(nr - 16 * (nv - 1)), acc);
                    }
                }
            }
        }
    }
    return 1;
}

/* dW[M×N] (+)= X[K×M]ᵀ · dY[K×N]  (weight gradient: M = in, N = out, K = shard rows) */
static void gemm_tn_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (K > 0 && N >= TN_PACK_N && dp_gemm_cfg_current()->pack_wide &&
        tn_packed(M, N, K, A, lda, B, ldb, C, ldc, accumulate))
        return;
    drive(ukr_col, 1, M, N, K, A, lda, B, ldb, C, ldc, accumulate, NULL);
}

/* In-register transpose: r[t] lane l becomes r[l] lane t. */
INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
        __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    /* r[4i+q], 128-bit lane L, now holds element 4L+q of rows 4i..4i+3. */
    for (int q = 0; q < 4; q++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
        __m512 u1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xDD);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        __m512 u3 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xDD);
        t[q] = _mm512_shuffle_f32x4(u0, u2, 0x88);      /* element q      */
        t[4 + q] = _mm512_shuffle_f32x4(u1, u3, 0x88);  /* element 4 + q  */
        t[8 + q] = _mm512_shuffle_f32x4(u0, u2, 0xDD);  /* element 8 + q  */
        t[12 + q] = _mm512_shuffle_f32x4(u1, u3, 0xDD); /* element 12 + q */
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* P[k·ldp + jj] = B[jj·ldb + k] for jj < nr ≤ ldp, k < kc (P is a kc × ldp panel of Bᵀ;
 * columns nr..ldp are left as they are: the microkernel masks them). */
static void pack_bt(float *P, size_t ldp, const float *B, size_t ldb, size_t nr, size_t kc)
{
    for (size_t j0 = 0; j0 < nr; j0 += 16) {
        size_t rows = min_sz(16, nr - j0);
        for (size_t k0 = 0; k0 < kc; k0 += 16) {
            size_t kn = min_sz(16, kc - k0);
            __mmask16 km = tail_mask(kn);
            __m512 r[16];
            for (size_t t = 0; t < 16; t++)
                r[t] = t < rows ? _mm512_maskz_loadu_ps(km, B + (j0 + t) * ldb + k0)
                                : _mm512_setzero_ps();
            transpose16(r);
            for (size_t t = 0; t < kn; t++) _mm512_store_ps(P + (k0 + t) * ldp + j0, r[t]);
        }
    }
}

/* nt for short shards (M ≤ 16, K ≤ SK). Packing Wᵀ costs about as much as the GEMM itself
 * when only M ≤ 16 rows reuse it, so here W is read in place: the few rows of dY are packed
 * k-major (one zmm per k), each W element is broadcast, and accumulator r holds column j0+r of
 * C over the M rows; one 16×16 transpose turns 16 such columns into rows of C.
 * M ≤ 8 ("pairs") puts two k in a zmm (lane 2i+p = A[i][2q+p]) so no lane idles: each k pair
 * of a W row is one 64-bit broadcast, and the even-k and odd-k partial sums are added at the
 * end (a fixed order, so results stay deterministic). With accumulate, C + Σ is stored. */
enum { SK = 512 }; /* packed dY: SK × 16 floats = 32 KiB of stack */

typedef long long i64_may_alias __attribute__((may_alias, aligned(4))); /* a pair of floats */
#define FOR16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define S_DECL(r) __m512 s##r = _mm512_setzero_ps();
#define S_FMA1(r) s##r = _mm512_fmadd_ps(_mm512_set1_ps(wk[r * ldb]), a, s##r);
#define S_FMA2(r)                                                                          \
    s##r = _mm512_fmadd_ps(                                                                \
        _mm512_castsi512_ps(_mm512_set1_epi64(*(const i64_may_alias *)(wk + r * ldb))), a, s##r);
#define S_TAIL(r) s##r = _mm512_mask3_fmadd_ps(_mm512_set1_ps(wk[r * ldb]), a, s##r, 0x5555);
#define S_OUT(r) t[r] = s##r;

INLINE void nt_small_tile(const int pairs, size_t M, size_t K, const float *P, const float *w,
                          size_t ldb, __mmask16 m, float *c, size_t ldc, int accumulate)
{
    FOR16(S_DECL)
    if (pairs) {
        for (size_t q = 0; q < K / 2; q++) {
            __m512 a = _mm512_load_ps(P + 16 * q);
            const float *wk = w + 2 * q;
            FOR16(S_FMA2)
        }
        if (K % 2) {
            __m512 a = _mm512_load_ps(P + 16 * (K / 2));
            const float *wk = w + K - 1;
            FOR16(S_TAIL)
        }
    } else {
        for (size_t k = 0; k < K; k++) {
            __m512 a = _mm512_load_ps(P + 16 * k);
            const float *wk = w + k;
            FOR16(S_FMA1)
        }
    }
    __m512 t[16];
    FOR16(S_OUT)
    transpose16(t); /* t[l] lane r = lane l of accumulator r */
    for (size_t i = 0; i < M; i++) {
        __m512 row = pairs ? _mm512_add_ps(t[2 * i], t[2 * i + 1]) : t[i];
        if (accumulate) row = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c + i * ldc), row);
        _mm512_mask_storeu_ps(c + i * ldc, m, row);
    }
}

static void nt_small_tile1(size_t M, size_t K, const float *P, const float *w, size_t ldb,
                           __mmask16 m, float *c, size_t ldc, int accumulate)
{
    nt_small_tile(0, M, K, P, w, ldb, m, c, ldc, accumulate);
}

static void nt_small_tile2(size_t M, size_t K, const float *P, const float *w, size_t ldb,
                           __mmask16 m, float *c, size_t ldc, int accumulate)
{
    nt_small_tile(1, M, K, P, w, ldb, m, c, ldc, accumulate);
}

static void gemm_nt_small(size_t M, size_t N, size_t K, const float *A, size_t lda,
                          const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
    float P[SK * 16] __attribute__((aligned(64)));
    int pairs = M <= 8;
    size_t kv = pairs ? (K + 1) / 2 : K; /* zmm vectors in the packed panel */
    for (size_t q = 0; q < kv; q++) _mm512_store_ps(P + 16 * q, _mm512_setzero_ps());
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < K; k++) {
            size_t at = pairs ? 16 * (k / 2) + 2 * i + k % 2 : 16 * k + i;
            P[at] = A[i * lda + k];
        }
    /* Tiles are 16 rows of W. A last partial tile is shifted back to end at row N (N ≥ 16
     * here) and stores only its new columns, so nothing past W is read or written twice. */
    for (size_t j0 = 0; j0 < N; j0 += 16) {
        size_t base = j0 + 16 <= N ? j0 : N - 16;
        __mmask16 m = (__mmask16)(0xFFFFu << (j0 - base));
        (pairs ? nt_small_tile2 : nt_small_tile1)(M, K, P, B + base * ldb, ldb, m, C + base, ldc,
                                                  accumulate);
    }
}

/* nt for the wide layers (K ≥ NT_PACK_K outputs): dY's rows are then 2 KiB and more apart,
 * and a row tile read 12 of them in place (in the same few L1 sets), again for every panel
 * of Wᵀ, from L3 once dY passed L2 (4096 outputs at 256 rows: 4 MiB, read 128 times).
 * Here k blocks of dp_gemm_kc outer (dY's block stays in L2), dY's rows of the block packed
 * once as mr-wide strips, P[s·kb·mr + k·mr + i] = dY[(s·mr + i)·lda + k] (a 16×16 transpose
 * per 16 k and up to 16 rows), then Wᵀ panel by panel (pack_bt, KC deep) swept by every
 * strip with the tn microkernel (A read k-major). The k order per element of C is the
 * unblocked one, so the bits do not change. */
enum { NT_PACK_K = 512, NT_ROWS = 256 };
static void pack_rows_strips(float *P, const float *A, size_t lda, size_t mc, size_t mr,
                             size_t kb)
{
    for (size_t s = 0; s * mr < mc; s++) {
        size_t rows = min_sz(mr, mc - s * mr);
        float *q = P + s * kb * mr;
        for (size_t k0 = 0; k0 < kb; k0 += 16) {
            size_t kn = min_sz(16, kb - k0);
            __mmask16 km = tail_mask(kn);
            __m512 r[16];
            for (size_t t = 0; t < 16; t++)
                r[t] = t < rows ? _mm512_maskz_loadu_ps(km, A + (s * mr + t) * lda + k0)
                                : _mm512_setzero_ps();
            transpose16(r); /* r[k] lane i = row i, column k0 + k */
            for (size_t t = 0; t < kn; t++)
                _mm512_mask_storeu_ps(q + (k0 + t) * mr, tail_mask(mr), r[t]);
        }
    }
}

static int nt_packed(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                     size_t ldb, float *C, size_t ldc, int accumulate)
{
    const dp_gemm_cfg *g = dp_gemm_cfg_current();
    size_t mr = (size_t)g->mr, nr_max = 16 * (size_t)g->nv;
    size_t mc_max = min_sz(M, NT_ROWS), kc = dp_gemm_kc(mc_max, nr_max, K);
    float *PX = dp_scratch_floats(kc * ((mc_max + mr - 1) / mr * mr));
    if (!PX) return 0;
    float P[KC * NR] __attribute__((aligned(64)));
    for (size_t k0 = 0; k0 < K; k0 += kc) {
        size_t kb = min_sz(kc, K - k0);
        for (size_t i0 = 0; i0 < M; i0 += NT_ROWS) {
            size_t mc = min_sz(NT_ROWS, M - i0);
            pack_rows_strips(PX, A + i0 * lda + k0, lda, mc, mr, kb);
            for (size_t j0 = 0; j0 < N; j0 += nr_max) {
                size_t nr = min_sz(nr_max, N - j0), nv = (nr + 15) / 16;
                __mmask16 m = tail_mask(nr - 16 * (nv - 1));
                for (size_t kk = 0; kk < kb; kk += KC) {
                    size_t kp = min_sz(KC, kb - kk);
                    int acc = accumulate || k0 > 0 || kk > 0;
                    pack_bt(P, nr_max, B + j0 * ldb + k0 + kk, ldb, nr, kp);
                    for (size_t s = 0; s * mr < mc; s++)
                        ukr_col[min_sz(mr, mc - s * mr) - 1][nv - 1](
                            kp, PX + s * kb * mr + kk * mr, mr, P, nr_max,
                            C + (i0 + s * mr) * ldc + j0, ldc, m, acc);
                }
            }
        }
    }
    return 1;
}

/* dX[M×N] (+)= dY[M×K] · W[N×K]ᵀ  (input gradient: M = shard rows, N = in, K = out).
 * Bᵀ is packed KC × NR at a time into a stack panel, then the nn microkernel runs on it;
 * k blocks are summed in order into C, so the result is the unblocked one bit for bit. */
static void gemm_nt_body(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                         size_t ldb, float *C, size_t ldc, int accumulate)
{
    if (M == 0 || N == 0) return;
    if (M <= 16 && N >= 16 && K > 0 && K <= SK) {
        gemm_nt_small(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
    if (K >= NT_PACK_K && dp_gemm_cfg_current()->pack_wide &&
        nt_packed(M, N, K, A, lda, B, ldb, C, ldc, accumulate)) return;
    float P[KC * NR] __attribute__((aligned(64)));
    if (K == 0) {
        drive(ukr_row, 0, M, N, 0, A, lda, B, ldb, C, ldc, accumulate, NULL);
        return;
    }
    const dp_gemm_cfg *g = dp_gemm_cfg_current();
    size_t nr_max = 16 * (size_t)g->nv;
    for (size_t j0 = 0; j0 < N; j0 += nr_max) {
        size_t nr = min_sz(nr_max, N - j0);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = min_sz(KC, K - k0);
            pack_bt(P, nr_max, B + j0 * ldb + k0, ldb, nr, kc);
            panel(ukr_row, g, 0, M, nr, kc, A + k0, lda, P, nr_max, C + j0, ldc,
                  accumulate || k0 > 0, NULL, 0);
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
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 km = tail_mask(min_sz(16, count - i));
        __m512 yv = _mm512_maskz_loadu_ps(km, y + i), d = _mm512_maskz_loadu_ps(km, dy + i);
        if (act == DP_ACT_RELU)
            d = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yv, zero, _CMP_GT_OQ), d);
        else if (act == DP_ACT_SIGMOID)
            d = _mm512_mul_ps(d, _mm512_mul_ps(yv, _mm512_sub_ps(one, yv)));
        else
            d = _mm512_mul_ps(d, _mm512_sub_ps(one, _mm512_mul_ps(yv, yv)));
        _mm512_mask_storeu_ps(dy + i, km, d);
    }
}

/* db[n] (+)= column sums of dy[m×n], each summed in row order (bitwise equal to portable). */
static void colsum_body(float *db, const float *dy, size_t m, size_t n, int accumulate)
{
    for (size_t j = 0; j < n; j += 64) {
        size_t w = min_sz(64, n - j);
        __mmask16 km[4];
        __m512 s[4];
        for (int v = 0; v < 4; v++) {
            size_t lo = 16 * (size_t)v;
            km[v] = lo < w ? tail_mask(min_sz(16, w - lo)) : 0;
            s[v] = accumulate ? _mm512_maskz_loadu_ps(km[v], db + j + lo) : _mm512_setzero_ps();
        }
        for (size_t i = 0; i < m; i++)
            for (int v = 0; v < 4; v++)
                s[v] = _mm512_add_ps(s[v], _mm512_maskz_loadu_ps(km[v], dy + i * n + j + 16 * v));
        for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(db + j + 16 * v, km[v], s[v]);
    }
}

DP_KERNEL_ENTRY_FUSED_NN
#define DP_FUSED_NN gemm_nn_bias_act
DP_KERNEL_OPS(dp_kernels_avx512_ops, "avx512")

#else
/* The compiler was not given the ISA: the path is absent and kernels.c never picks it. */
const dp_kernel_ops dp_kernels_avx512_ops = {.name = NULL};
#endif
