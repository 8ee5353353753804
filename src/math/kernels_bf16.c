/* bf16 kernels room (bf16.h): the run-time choice of the path (CPUID, the kernel's AMX
 * permission, DPMLP_BF16_KERNELS), the plain-C packers, the portable emulations of
 * vdpbf16ps and of AMX's pair order, and the double-precision oracle. */
#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "err.h"
#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* ---------------------------------------------------------------- portable emulation */

/* One step of vdpbf16ps: acc + a·b with a, b bf16 (the product is exact in fp32), one
 * rounding, flush-to-zero on the result (the instruction ignores MXCSR and always flushes). */
static inline float dot_step(float acc, float a, float b)
{
    float r = acc + a * b;
    return (r < FLT_MIN && r > -FLT_MIN) ? r * 0.0f : r;
}

static inline float lo_half(uint32_t w) { return dp_bf16_float((uint16_t)(w & 0xffffu)); }
static inline float hi_half(uint32_t w) { return dp_bf16_float((uint16_t)(w >> 16)); }

/* hi_first = 1: vdpbf16ps's order (k = 2p+1, then 2p); 0: AMX's documented order. Row by row
 * with a strip of C in a local array, so the compiler can vectorize across j. */
static void portable_gemm_order(int hi_first, size_t M, size_t N, size_t P, const uint32_t *A,
                                size_t ars, size_t aps, const uint32_t *B, size_t ldb, float *C,
                                size_t ldc, int accumulate)
{
    enum { JS = 256 };
    float acc[JS];
    for (size_t i = 0; i < M; i++)
        for (size_t j0 = 0; j0 < N; j0 += JS) {
            size_t nj = N - j0 < JS ? N - j0 : JS;
            float *c = C + i * ldc + j0;
            for (size_t j = 0; j < nj; j++) acc[j] = accumulate ? c[j] : 0.0f;
            for (size_t p = 0; p < P; p++) {
                uint32_t a = A[i * ars + p * aps];
                float a0 = lo_half(a), a1 = hi_half(a);
                const uint32_t *b = B + p * ldb + j0;
                if (hi_first)
                    for (size_t j = 0; j < nj; j++)
                        acc[j] = dot_step(dot_step(acc[j], a1, hi_half(b[j])), a0, lo_half(b[j]));
                else
                    for (size_t j = 0; j < nj; j++)
                        acc[j] = dot_step(dot_step(acc[j], a0, lo_half(b[j])), a1, hi_half(b[j]));
            }
            memcpy(c, acc, nj * sizeof(float));
        }
}

static void portable_gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                          const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                          uint32_t *scratch)
{
    (void)scratch;
    portable_gemm_order(1, M, N, P, A, ars, aps, B, ldb, C, ldc, accumulate);
}

static void amx_emulated_gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars,
                              size_t aps, const uint32_t *B, size_t ldb, float *C, size_t ldc,
                              int accumulate, uint32_t *scratch)
{
    (void)scratch;
    portable_gemm_order(0, M, N, P, A, ars, aps, B, ldb, C, ldc, accumulate);
}

static inline uint32_t pair_of(float lo, float hi)
{
    return (uint32_t)dp_bf16_round(lo) | (uint32_t)dp_bf16_round(hi) << 16;
}

void dp_bf16_portable_pack_rows(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out)
{
    size_t P = dp_bf16_pairs(K);
    for (size_t i = 0; i < M; i++) {
        const float *x = X + i * ldx;
        uint32_t *o = out + i * P;
        size_t p = 0;
        for (; 2 * p + 1 < K; p++) o[p] = pair_of(x[2 * p], x[2 * p + 1]);
        if (2 * p < K) {
            o[p] = pair_of(x[2 * p], 0.0f);
            p++;
        }
        memset(o + p, 0, (P - p) * sizeof *o);
    }
    memset(out + M * P, 0, (dp_bf16_up(M) - M) * P * sizeof *out);
}

void dp_bf16_portable_pack_pairs(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out)
{
    size_t P = dp_bf16_pairs(K), ldo = dp_bf16_ld(N);
    for (size_t p = 0; p < P; p++) {
        uint32_t *o = out + p * ldo;
        if (2 * p >= K) {
            memset(o, 0, ldo * sizeof *o);
            continue;
        }
        const float *x0 = X + 2 * p * ldx, *x1 = 2 * p + 1 < K ? x0 + ldx : NULL;
        for (size_t j = 0; j < N; j++) o[j] = pair_of(x0[j], x1 ? x1[j] : 0.0f);
        memset(o + N, 0, (ldo - N) * sizeof *o);
    }
}

/* Once per step over the weights, split by pair rows across the workers. Row j of X is read
 * once, contiguously, and scattered to the p1 − p0 output rows (column j of each): reading
 * X's columns instead would touch a cache line per element. */
void dp_bf16_portable_pack_pairs_t(const float *X, size_t ldx, size_t N, size_t K,
                                   uint32_t *out, size_t p0, size_t p1)
{
    size_t ldo = dp_bf16_ld(N);
    for (size_t j = 0; j < N; j++) {
        const float *x = X + j * ldx;
        for (size_t p = p0; p < p1; p++) {
            float lo = 2 * p < K ? x[2 * p] : 0.0f, hi = 2 * p + 1 < K ? x[2 * p + 1] : 0.0f;
            out[p * ldo + j] = pair_of(lo, hi);
        }
    }
    for (size_t p = p0; p < p1; p++) memset(out + p * ldo + N, 0, (ldo - N) * sizeof *out);
}

const dp_bf16_ops dp_bf16_portable_ops = {"portable", portable_gemm, dp_bf16_portable_pack_rows,
                                          dp_bf16_portable_pack_pairs,
                                          dp_bf16_portable_pack_pairs_t};
const dp_bf16_ops dp_bf16_amx_emulated_ops = {"amx-emulated", amx_emulated_gemm,
                                              dp_bf16_portable_pack_rows,
                                              dp_bf16_portable_pack_pairs,
                                              dp_bf16_portable_pack_pairs_t};

/* ---------------------------------------------------------------- oracle */

void dp_ref_bf16_gemm(size_t M, size_t N, size_t K, const float *A, size_t ars, size_t acs,
                      const float *B, size_t brs, size_t bcs, float *C, size_t ldc,
                      int accumulate)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = accumulate ? C[i * ldc + j] : 0.0;
            for (size_t k = 0; k < K; k++)
                s += (double)dp_bf16_float(dp_bf16_round(A[i * ars + k * acs])) *
                     dp_bf16_float(dp_bf16_round(B[k * brs + j * bcs]));
            C[i * ldc + j] = (float)s;
        }
}

/* ---------------------------------------------------------------- dispatch */

static _Atomic(const dp_bf16_ops *) g_ops;
static _Atomic(const char *) g_why;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* CPUID leaf 7: sub-leaf 1 EAX bit 5 AVX512-BF16; sub-leaf 0 EDX bit 22 AMX-BF16, bit 24
 * AMX-TILE. AVX-512 F/VL/BW through the compiler's check (it also asks the OS, XCR0). */
static int cpu_has_avx512bf16(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("avx512bw"))
        return 0;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);
#else
    return 0;
#endif
}

/* NULL when AMX may run in this process, else why not (static). The permission is asked at
 * most once per process (the caller runs under pthread_once). */
static const char *amx_refusal(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!dp_bf16_amx_ops.name) return "this build has no AMX path (compiler without -mamx-tile)";
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 22 & 1u) || !(d >> 24 & 1u))
        return "AMX not used: CPUID lacks AMX-TILE/AMX-BF16";
    if (!cpu_has_avx512bf16()) return "AMX not used: the edges need AVX512-BF16, which CPUID lacks";
    /* ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 (Linux 5.16+). */
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0)
        return "AMX not used: the kernel refused the tile state (arch_prctl "
               "ARCH_REQ_XCOMP_PERM failed; Linux before 5.16?)";
    return NULL;
#else
    return "AMX not used: not an x86-64 build";
#endif
}

static const char *g_amx_refusal;

static void amx_once(void) { g_amx_refusal = amx_refusal(); }

static pthread_once_t g_amx_once = PTHREAD_ONCE_INIT;

static const char *amx_refused(void)
{
    pthread_once(&g_amx_once, amx_once);
    return g_amx_refusal;
}

static int usable_avx512(void) { return dp_bf16_avx512_ops.name && cpu_has_avx512bf16(); }

/* The best path, *why saying what the better ones lack. */
static const dp_bf16_ops *best(const char **why)
{
    const char *no_amx = amx_refused();
    if (!no_amx) {
        *why = "AMX tiles: CPUID has AMX-BF16 and the kernel granted the tile state";
        return &dp_bf16_amx_ops;
    }
    if (usable_avx512()) {
        *why = no_amx;
        return &dp_bf16_avx512_ops;
    }
    *why = dp_bf16_avx512_ops.name ? "no AMX and CPUID lacks AVX512-BF16: portable emulation (slow; "
                                     "fp32 is faster here)"
                                   : "this build has no AVX512-BF16 path: portable emulation";
    return &dp_bf16_portable_ops;
}

static const dp_bf16_ops *resolve(const char *wanted, const char **why)
{
    if (!wanted || !*wanted || !strcmp(wanted, "auto")) return best(why);
    if (!strcmp(wanted, "portable")) {
        *why = "forced portable (vdpbf16ps emulation)";
        return &dp_bf16_portable_ops;
    }
    if (!strcmp(wanted, "amx-emulated")) {
        *why = "forced amx-emulated (AMX pair order in plain C)";
        return &dp_bf16_amx_emulated_ops;
    }
    if (!strcmp(wanted, "avx512bf16")) {
        if (usable_avx512()) {
            *why = "forced avx512bf16";
            return &dp_bf16_avx512_ops;
        }
        const dp_bf16_ops *o = best(why);
        *why = "avx512bf16 wanted, but this CPU or build lacks AVX512-BF16; using the best";
        return o;
    }
    if (!strcmp(wanted, "amx")) {
        const char *no = amx_refused();
        if (!no) {
            *why = "forced amx";
            return &dp_bf16_amx_ops;
        }
        const dp_bf16_ops *o = best(why);
        *why = no; /* the refusal is the news */
        return o;
    }
    const dp_bf16_ops *o = best(why);
    *why = "unknown bf16 kernel path wanted (expected amx, avx512bf16, portable or amx-emulated); "
           "using the best";
    return o;
}

/* DPMLP_BF16_KERNELS first; DPMLP_KERNELS=portable makes every path portable. */
static const char *env_wish(void)
{
    const char *w = getenv("DPMLP_BF16_KERNELS");
    if (w && *w) return w;
    const char *k = getenv("DPMLP_KERNELS");
    return k && !strcmp(k, "portable") ? "portable" : NULL;
}

static void lazy_init(void)
{
    const char *why = NULL;
    const dp_bf16_ops *o = resolve(env_wish(), &why);
    const dp_bf16_ops *expected = NULL;
    if (atomic_compare_exchange_strong(&g_ops, &expected, o)) atomic_store(&g_why, why);
}

static inline const dp_bf16_ops *ops(void)
{
    const dp_bf16_ops *o = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (__builtin_expect(o == NULL, 0)) {
        pthread_once(&g_once, lazy_init);
        o = atomic_load_explicit(&g_ops, memory_order_acquire);
    }
    return o;
}

const char *dp_bf16_select(const char *wanted)
{
    const char *why = NULL;
    const dp_bf16_ops *o = resolve(wanted ? wanted : env_wish(), &why);
    atomic_store(&g_why, why);
    atomic_store_explicit(&g_ops, o, memory_order_release);
    return o->name;
}

const char *dp_bf16_path(void) { return ops()->name; }

const char *dp_bf16_why(void)
{
    (void)ops();
    return atomic_load(&g_why);
}

size_t dp_bf16_scratch_words(size_t M, size_t P) { return dp_bf16_up(M) * P; }

void dp_bf16_gemm(size_t M, size_t N, size_t P, const uint32_t *A, size_t ars, size_t aps,
                  const uint32_t *B, size_t ldb, float *C, size_t ldc, int accumulate,
                  uint32_t *scratch)
{
    DP_ASSERT(P % DP_BF16_PAD == 0 && ldb % DP_BF16_PAD == 0 && ldb >= N && ldc >= N);
    if (M == 0 || N == 0) return;
    ops()->gemm(M, N, P, A, ars, aps, B, ldb, C, ldc, accumulate, scratch);
}

/* The AMX table has no packers of its own: it uses AVX512-BF16's (a CPU with AMX has it). */
void dp_bf16_pack_rows(const float *X, size_t ldx, size_t M, size_t K, uint32_t *out)
{
    const dp_bf16_ops *o = ops();
    (o->pack_rows ? o->pack_rows : dp_bf16_avx512_ops.pack_rows)(X, ldx, M, K, out);
}

void dp_bf16_pack_pairs(const float *X, size_t ldx, size_t K, size_t N, uint32_t *out)
{
    const dp_bf16_ops *o = ops();
    (o->pack_pairs ? o->pack_pairs : dp_bf16_avx512_ops.pack_pairs)(X, ldx, K, N, out);
}

void dp_bf16_pack_pairs_t(const float *X, size_t ldx, size_t N, size_t K, uint32_t *out,
                          size_t p0, size_t p1)
{
    const dp_bf16_ops *o = ops();
    (o->pack_pairs_t ? o->pack_pairs_t : dp_bf16_avx512_ops.pack_pairs_t)(X, ldx, N, K, out, p0, p1);
}
