/* AMX path (compiled with -mamx-tile -mamx-bf16 and the AVX-512 flags; chosen at run time
 * by kernels_bf16.c only after CPUID and the kernel's arch_prctl permission): tdpbf16ps on
 * 16 × 16 fp32 tiles of C, 2 × 2 of them per block, over 16-pair slabs of K. The packers are
 * the AVX512-BF16 path's (every AMX CPU has AVX512-BF16). Not run on CPUs without AMX: the
 * tests check its order through the "amx-emulated" path (bf16.h). */
#include <string.h>

#include "bf16.h"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512F__)
#include <immintrin.h>

/* The 64-byte tile configuration of palette 1. */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* tmm0..3: the four C tiles (16 rows × 16 fp32); tmm4, 5: A (16 rows × 16 pairs);
 * tmm6, 7: B (16 pairs × 16 columns of pairs). All 16 rows × 64 bytes. */
static void configure(void)
{
    tile_config cfg __attribute__((aligned(64)));
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
}

/* An edge tile of C goes through a 16 × 16 staging copy (zeros outside M × N). */
static void stage_in(float *st, const float *c, size_t ldc, size_t rows, size_t cols, int acc)
{
    memset(st, 0, 256 * sizeof(float));
    if (acc)
        for (size_t r = 0; r < rows; r++) memcpy(st + 16 * r, c + r * ldc, cols * sizeof(float));
}

static void stage_out(const float *st, float *c, size_t ldc, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) memcpy(c + r * ldc, st + 16 * r, cols * sizeof(float));
}

static inline size_t clip16(size_t n, size_t at) { return n - at < 16 ? n - at : 16; }

/* Tile T holds C rows i0 + 16·DI, columns j0 + 16·DJ; `on` says it exists in this block. */
#define C_LOAD(T, DI, DJ)                                                                  \
    if (on##T) {                                                                           \
        size_t r = clip16(M, i0 + 16 * DI), k = clip16(N, j0 + 16 * DJ);                  \
        float *c = C + (i0 + 16 * DI) * ldc + j0 + 16 * DJ;                               \
        full##T = r == 16 && k == 16;                                                      \
        if (full##T && accumulate)                                                         \
            _tile_loadd(T, c, ldc * sizeof(float));                                        \
        else if (full##T)                                                                  \
            _tile_zero(T);                                                                 \
        else {                                                                             \
            stage_in(st[T], c, ldc, r, k, accumulate);                                     \
            _tile_loadd(T, st[T], 64);                                                     \
        }                                                                                  \
    }
#define C_STORE(T, DI, DJ)                                                                 \
    if (on##T) {                                                                           \
        float *c = C + (i0 + 16 * DI) * ldc + j0 + 16 * DJ;                               \
        if (full##T)                                                                       \
            _tile_stored(T, c, ldc * sizeof(float));                                       \
        else {                                                                             \
            _tile_stored(T, st[T], 64);                                                    \
            stage_out(st[T], c, ldc, clip16(M, i0 + 16 * DI), clip16(N, j0 + 16 * DJ));    \
        }                                                                                  \
    }

/* One 32 × 32 block of C (fewer tiles at the edges of M and N) over all P pairs. */
static void block(size_t M, size_t N, size_t P, const uint32_t *a, size_t lda,
                  const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                  size_t i0, size_t j0)
{
    float st[4][256] __attribute__((aligned(64)));
    int two_i = i0 + 16 < M, two_j = j0 + 16 < N;
    int on0 = 1, on1 = two_j, on2 = two_i, on3 = two_i && two_j;
    int full0 = 0, full1 = 0, full2 = 0, full3 = 0;
    C_LOAD(0, 0, 0) C_LOAD(1, 0, 1) C_LOAD(2, 1, 0) C_LOAD(3, 1, 1)
    for (size_t p0 = 0; p0 < P; p0 += 16) {
        _tile_loadd(4, a + i0 * lda + p0, lda * 4);
        _tile_loadd(6, B + p0 * ldb + j0, ldb * 4);
        if (two_i) _tile_loadd(5, a + (i0 + 16) * lda + p0, lda * 4);
        if (two_j) _tile_loadd(7, B + p0 * ldb + j0 + 16, ldb * 4);
        _tile_dpbf16ps(0, 4, 6);
        if (two_j) _tile_dpbf16ps(1, 4, 7);
        if (two_i) _tile_dpbf16ps(2, 5, 6);
        if (two_i && two_j) _tile_dpbf16ps(3, 5, 7);
    }
    C_STORE(0, 0, 0) C_STORE(1, 0, 1) C_STORE(2, 1, 0) C_STORE(3, 1, 1)
}

/* Tiles read A rows with contiguous pairs: A whose pairs are strided (the weight gradient's
 * Xᵀ) is regrouped into scratch first. Rows up to M rounded up to 16 are the padding. */
static void gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                 const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                 uint32_t *scratch)
{
    const uint32_t *a = A;
    size_t lda = ars;
    if (aps != 1) {
        for (size_t i = 0; i < dp_bf16_up(M); i++)
            for (size_t p = 0; p < P; p++) scratch[i * P + p] = A[i * ars + p * aps];
        a = scratch;
        lda = P;
    }
    configure();
    for (size_t i0 = 0; i0 < M; i0 += 32)
        for (size_t j0 = 0; j0 < N; j0 += 32)
            block(M, N, P, a, lda, B, ldb, C, ldc, accumulate, i0, j0);
    _tile_release();
}

const dp_bf16_ops dp_bf16_amx_ops = {"amx", gemm, NULL, NULL, NULL};

#else
const dp_bf16_ops dp_bf16_amx_ops = {NULL, NULL, NULL, NULL, NULL};
#endif
