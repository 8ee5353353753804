/* The GEMM register tile and cache blocking of the AVX-512 path, chosen once at start from
 * CPUID (vendor, family/model, L1d/L2 sizes from leaf 4 or 0x8000001D) or forced by
 * DPMLP_GEMM_TILE; private to the kernels room (kernels.h has the public calls). */
#ifndef DP_GEMM_TILES_H
#define DP_GEMM_TILES_H
#include <stddef.h>

typedef struct dp_gemm_cfg {
    const char *name; /* "8x48": rows x columns of C held in registers */
    int mr, nv;       /* rows, zmm vectors (16 floats) of columns: mr·nv accumulators */
    const char *why;  /* short tag: the cores it is meant for */
    int pack_wide;    /* nn, nt, tn of 512+ outputs pack their operands (kernels_avx512.c) */
} dp_gemm_cfg;

/* What CPUID said; sizes in bytes, 0 when unknown. */
typedef struct dp_cpu_caches {
    char vendor[13];
    unsigned family, model;
    size_t l1d, l2;
} dp_cpu_caches;

const dp_gemm_cfg *dp_gemm_cfg_current(void);
const dp_cpu_caches *dp_gemm_cpu(void);
/* Depth of one k block for M rows of A and a column panel of nr floats: A's M × kc block and
 * the kc × nr panel of B fill at most half of L2, so both stay there while C's tiles sweep;
 * a multiple of 16, at least 1024, or all of K. Only speed depends on it (k order is fixed). */
size_t dp_gemm_kc(size_t M, size_t nr, size_t K);
/* Whether a kc × N block of B fills at most half of L2. */
int dp_gemm_fits_l2(size_t kc, size_t N);

#endif
