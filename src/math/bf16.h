/* bf16 mixed precision for the GEMMs (--precision bf16): operands rounded to bf16 (round to
 * nearest even), products accumulated in fp32. The operands live in the "pair" layout that
 * vdpbf16ps and AMX tdpbf16ps read: one 32-bit word holds two bf16 neighbours along K
 * (low half k = 2p, high half k = 2p + 1), so a GEMM runs over P = K/2 pairs.
 *
 * Padding contract (so AMX tiles and full vectors never need edge code inside K):
 *   P is a multiple of DP_BF16_PAD (zero pairs pad K), B's row length ldb is a multiple of
 *   DP_BF16_PAD with zero columns past N, and A is readable (zeros) down to M rounded up to
 *   DP_BF16_PAD rows. The packers below produce exactly that.
 *
 * Paths, chosen once at run time (kernels_bf16.c): "amx" (tiles; kernels_bf16_amx.c),
 * "avx512bf16" (vdpbf16ps; kernels_bf16_avx512.c), "portable" (plain C emulating vdpbf16ps
 * bit for bit: per output, pairs in order, high half then low half, each step one fp32
 * rounding with flush-to-zero), "amx-emulated" (plain C in AMX's documented order: low half
 * then high half). DPMLP_BF16_KERNELS forces one; DPMLP_KERNELS=portable also makes bf16
 * portable. dp_ref_bf16_gemm is the tests' oracle (double sums of the bf16-rounded inputs). */
#ifndef DP_BF16_H
#define DP_BF16_H
#include <stddef.h>
#include <stdint.h>

#define DP_BF16_PAD 16

static inline size_t dp_bf16_up(size_t n) { return (n + DP_BF16_PAD - 1) / DP_BF16_PAD * DP_BF16_PAD; }
/* Row length of the pair form for N columns: padded, and kept off multiples of 4 KiB (a
 * 4 KiB stride maps the rows a kernel walks down to one L1 set; the 1024-wide layers hit it). */
static inline size_t dp_bf16_ld(size_t n)
{
    size_t u = dp_bf16_up(n);
    return u % 1024 == 0 ? u + DP_BF16_PAD : u;
}
/* Pairs a K-long dot product runs over, padded. */
static inline size_t dp_bf16_pairs(size_t K) { return dp_bf16_up((K + 1) / 2); }

/* fp32 → bf16, round to nearest even; NaN stays a quiet NaN, subnormals become signed zero
 * (what vcvtne2ps2bf16 does). bf16 → fp32 is exact. */
static inline uint16_t dp_bf16_round(float x)
{
    union { float f; uint32_t u; } v = {x};
    uint32_t u = v.u;
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float dp_bf16_float(uint16_t h)
{
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}

/* C[M×N] (+)= Σ_{p<P} pair(A, i, p) · pair(B, p, j), pair(A,i,p) = A[i·ars + p·aps] and
 * pair(B,p,j) = B[p·ldb + j]; accumulate = 0 overwrites C. scratch: dp_bf16_scratch_words(M, P)
 * words the path may use (AMX regroups A whose pairs are not contiguous; may be NULL when
 * aps == 1). */
void dp_bf16_gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                  const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                  uint32_t *scratch);
size_t dp_bf16_scratch_words(size_t M, size_t P);

/* Row form: out[i·P + p] = pair (X[i][2p], X[i][2p+1]) of the M × K matrix X (row stride ldx)
 * for i < M, zeros for p past K/2 and for rows M .. up(M) (P = dp_bf16_pairs(K)). The A operand
 * of the forward (activations) and of the input gradient (dZ). */
void dp_bf16_pack_rows(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out);
/* Pair form: out[p·ldo + j] = pair (X[2p][j], X[2p+1][j]) of the K × N matrix X, ldo = ld(N),
 * zeros past N and for pairs past K/2 up to dp_bf16_pairs(K). B of the forward (weights) and
 * both operands of the weight gradient (pairs along the shard's rows). */
void dp_bf16_pack_pairs(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out);
/* Transposed pair form: out[p·ldo + j] = pair (X[j][2p], X[j][2p+1]) of the N × K matrix X,
 * ldo = ld(N): B of the input gradient (Wᵀ). Only pairs [p0, p1) are written (workers split
 * the pack of one step). */
void dp_bf16_pack_pairs_t(const float *X, size_t ldx, size_t N, size_t K, uint32_t *out,
                          size_t p0, size_t p1);

/* Which path runs ("amx", "avx512bf16", "portable", "amx-emulated"): chosen once from the
 * CPU (AMX needs CPUID AMX-TILE/AMX-BF16 and the kernel's permission, asked once per process
 * with arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)), or forced (see the top).
 * dp_bf16_select(NULL) reads the environment. dp_bf16_why: one static sentence on why this
 * path (what the CPU lacks, a refusal, a forced choice). */
const char *dp_bf16_select(const char *wanted);
const char *dp_bf16_path(void);
const char *dp_bf16_why(void);

/* The oracle: C (+)= Σ_k bf16(a(i,k)) · bf16(b(k,j)) summed in double, rounded once, with
 * a(i,k) = A[i·ars + k·acs] and b(k,j) = B[k·brs + j·bcs] (nn, nt and tn by strides). */
void dp_ref_bf16_gemm(size_t M, size_t N, size_t K, const float *A, size_t ars, size_t acs,
                      const float *B, size_t brs, size_t bcs, float *C, size_t ldc,
                      int accumulate);

/* The paths' tables (kernels_bf16*.c). name NULL: not compiled in. */
typedef struct dp_bf16_ops {
    const char *name;
    void (*gemm)(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                 const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                 uint32_t *scratch);
    void (*pack_rows)(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out);
    void (*pack_pairs)(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out);
    void (*pack_pairs_t)(const float *X, size_t ldx, size_t N, size_t K, uint32_t *out,
                         size_t p0, size_t p1);
} dp_bf16_ops;
extern const dp_bf16_ops dp_bf16_portable_ops, dp_bf16_amx_emulated_ops, dp_bf16_avx512_ops,
    dp_bf16_amx_ops;
/* The plain-C packers (the vector paths use them for edges). */
void dp_bf16_portable_pack_rows(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out);
void dp_bf16_portable_pack_pairs(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out);
void dp_bf16_portable_pack_pairs_t(const float *X, size_t ldx, size_t N, size_t K, uint32_t *out,
                                   size_t p0, size_t p1);

#endif
