/* Which register tile and cache blocking the AVX-512 GEMMs use on this CPU (gemm_tiles.h):
 * CPUID read once, a fixed rule from vendor to tile, the k-block depth from L2, and the
 * one-line description `--version` and `topo` print. */
#include "gemm_tiles.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Both keep 24 zmm accumulators (FMA latency 4 × 2 pipes × 3 for slack) plus the B vectors
 * and a broadcast inside 32 registers. 8x48 needs the fewest loads per FMA (11 per 24) and
 * measured best on Zen 4, whose 512-bit FMAs run on two 256-bit pipes, and on Zen 5 (two
 * full 512-bit FMA pipes: 8x48 ≥ 12x32 at every worker shape, 2026-12-02); 12x32 is BLIS's
 * skx tile (32x12 column-major) for Intel cores with two 512-bit FMA units. pack_wide: on
 * the Intel Xeon it was measured on, the wide layers read in place ran at a third to a half
 * of the packed speed (kernels_avx512.c); Zen 4 and Zen 5 were measured at 77-94 % of peak in
 * place there and the packed loops have not been timed on them, so they keep what was. */
static const dp_gemm_cfg k_cfgs[] = {
    {"8x48", 8, 3, "amd zen4/zen5", 0},
    {"12x32", 12, 2, "intel 2-fma", 1},
};
enum { N_CFGS = sizeof k_cfgs / sizeof k_cfgs[0] };

static dp_cpu_caches g_cpu;
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static _Atomic(const dp_gemm_cfg *) g_cfg;
static pthread_once_t g_cfg_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
/* Deterministic cache parameters (Intel leaf 4, AMD 0x8000001D: the same layout). */
static void caches_from_leaf(unsigned leaf, dp_cpu_caches *c)
{
    for (unsigned sub = 0; sub < 16; sub++) {
        unsigned a, b, cx, d;
        __cpuid_count(leaf, sub, a, b, cx, d);
        unsigned type = a & 0x1f, level = (a >> 5) & 7;
        if (type == 0) break;
        size_t size = (size_t)((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) *
                      ((size_t)cx + 1);
        if (level == 1 && type == 1) c->l1d = size;
        if (level == 2 && (type == 1 || type == 3)) c->l2 = size;
    }
}

static void read_cpu(void)
{
    dp_cpu_caches *c = &g_cpu;
    unsigned a, b, cx, d, max_ext = 0;
    if (!__get_cpuid(0, &a, &b, &cx, &d)) return;
    unsigned max_leaf = a;
    memcpy(c->vendor, &b, 4), memcpy(c->vendor + 4, &d, 4), memcpy(c->vendor + 8, &cx, 4);
    if (__get_cpuid(1, &a, &b, &cx, &d)) {
        unsigned fam = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
        if (fam == 0xf) fam += (a >> 20) & 0xff;
        if (fam >= 6) model |= ((a >> 16) & 0xf) << 4;
        c->family = fam, c->model = model;
    }
    if (__get_cpuid(0x80000000, &a, &b, &cx, &d)) max_ext = a;
    int amd = strcmp(c->vendor, "AuthenticAMD") == 0 || strcmp(c->vendor, "HygonGenuine") == 0;
    if (amd && max_ext >= 0x8000001D) caches_from_leaf(0x8000001D, c);
    else if (!amd && max_leaf >= 4) caches_from_leaf(4, c);
    if (amd && !c->l1d && max_ext >= 0x80000006) { /* older AMD: the legacy size leaves */
        __cpuid(0x80000005, a, b, cx, d);
        c->l1d = (size_t)(cx >> 24) << 10;
        __cpuid(0x80000006, a, b, cx, d);
        c->l2 = (size_t)(cx >> 16) << 10;
    }
}
#else
static void read_cpu(void) {}
#endif

const dp_cpu_caches *dp_gemm_cpu(void)
{
    pthread_once(&g_cpu_once, read_cpu);
    return &g_cpu;
}

/* Intel's AVX-512 server cores have two 512-bit FMA units (a few have one: they lose little
 * with 12x32); everything else gets the tile measured best on Zen 4 and Zen 5. */
static const dp_gemm_cfg *by_cpu(void)
{
    return strcmp(dp_gemm_cpu()->vendor, "GenuineIntel") == 0 ? &k_cfgs[1] : &k_cfgs[0];
}

static const dp_gemm_cfg *resolve(const char *wanted)
{
    for (int i = 0; wanted && i < N_CFGS; i++)
        if (strcmp(wanted, k_cfgs[i].name) == 0) return &k_cfgs[i];
    return by_cpu(); /* unset, "auto" or unknown */
}

static void cfg_init(void)
{
    const dp_gemm_cfg *expected = NULL;
    atomic_compare_exchange_strong(&g_cfg, &expected, resolve(getenv("DPMLP_GEMM_TILE")));
}

const dp_gemm_cfg *dp_gemm_cfg_current(void)
{
    const dp_gemm_cfg *c = atomic_load_explicit(&g_cfg, memory_order_acquire);
    if (__builtin_expect(c == NULL, 0)) {
        pthread_once(&g_cfg_once, cfg_init);
        c = atomic_load_explicit(&g_cfg, memory_order_acquire);
    }
    return c;
}

const char *dp_gemm_tile_select(const char *wanted)
{
    const dp_gemm_cfg *c = resolve(wanted ? wanted : getenv("DPMLP_GEMM_TILE"));
    atomic_store_explicit(&g_cfg, c, memory_order_release);
    return c->name;
}

const char *dp_gemm_tile_name(size_t i) { return i < N_CFGS ? k_cfgs[i].name : NULL; }

static size_t l2_or_default(void) { return dp_gemm_cpu()->l2 ? dp_gemm_cpu()->l2 : 256u << 10; }

size_t dp_gemm_kc(size_t M, size_t nr, size_t K)
{
    size_t kc = l2_or_default() / 2 / (sizeof(float) * (M + nr));
    kc = kc / 16 * 16;
    /* Each k block passes over C once more: below 1024 that costs more than L2 hits save
     * (measured: tn 4096x4096 at m = 256 fell from 96 to 66 GFLOP/s in 64-deep blocks,
     * nn 1024x4096 at m = 256 from 104 to 90 in 416-deep ones). */
    if (kc < 1024) kc = 1024;
    return kc >= K ? K : kc;
}

int dp_gemm_fits_l2(size_t kc, size_t N)
{
    return kc * N * sizeof(float) <= l2_or_default() / 2;
}

const char *dp_kernels_describe(void)
{
    static _Thread_local char buf[320];
    const dp_cpu_caches *c = dp_gemm_cpu();
    const char *path = dp_kernels_path();
    if (strcmp(path, "avx512") == 0) {
        const dp_gemm_cfg *g = dp_gemm_cfg_current();
        snprintf(buf, sizeof buf,
                 "avx512 tile %s (%s), kc %zu at m=64, wide layers %s; %s family %u model %u, "
                 "L1d %zuK L2 %zuK",
                 g->name, g->why, dp_gemm_kc(64, 16 * (size_t)g->nv, SIZE_MAX),
                 g->pack_wide ? "packed" : "in place",
                 c->vendor[0] ? c->vendor : "unknown CPU", c->family, c->model, c->l1d >> 10,
                 c->l2 >> 10);
    } else {
        snprintf(buf, sizeof buf, "%s; %s family %u model %u, L1d %zuK L2 %zuK", path,
                 c->vendor[0] ? c->vendor : "unknown CPU", c->family, c->model, c->l1d >> 10,
                 c->l2 >> 10);
    }
    return buf;
}
