/* GEMM throughput at the per-worker shapes, single thread, every candidate side by side: each
 * own kernel path and tile config, and (when the build found them) oneDNN dnnl_sgemm, BLIS
 * bli_sgemm, libxsmm JIT and OpenBLAS cblas_sgemm. forward nn(m,out,in), input gradient
 * nt(m,in,out), weight gradient tn(in,out,m); GFLOP/s and % of the one-core FMA peak.
 * Built and run by `make bench-kernels` (which detects the libraries and passes --peak);
 * usage: bench_kernels [--peak GFLOPS] [--quick] [--only CANDIDATE[,..]] [--layers INxOUT[,..]] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#ifdef BK_DNNL
#include <dnnl.h>
#endif
#ifdef BK_BLIS
#include <blis.h>
#endif
#ifdef BK_XSMM
#include <libxsmm.h>
#endif
#ifdef BK_OPENBLAS
#include <cblas.h>
/* Declared here: with BLIS built in, blis.h brings its own cblas.h first (same guard). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

enum { OWN, DNNL, BLIS, XSMM, OPENBLAS };
typedef struct cand {
    char name[32];
    int kind;
    const char *path, *tile; /* own kernels: what to select */
} cand;

/* One GEMM problem in row-major terms: C[M×N] = op(A)·op(B); ta/tb: A/B stored transposed. */
typedef struct prob {
    size_t M, N, K, lda, ldb, ldc;
    int ta, tb;
    const float *A, *B;
    float *C;
} prob;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *filled(size_t n)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) / 64 * 64);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

#ifdef BK_XSMM
/* libxsmm is column-major: row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so
 * B comes first and each operand's transpose flag carries over. NULL: the JIT declined. */
static libxsmm_smmfunction xsmm_kernel(const prob *p)
{
    libxsmm_blasint m = (libxsmm_blasint)p->N, n = (libxsmm_blasint)p->M;
    libxsmm_blasint k = (libxsmm_blasint)p->K, lda = (libxsmm_blasint)p->ldb;
    libxsmm_blasint ldb = (libxsmm_blasint)p->lda, ldc = (libxsmm_blasint)p->ldc;
    float alpha = 1, beta = 0;
    int flags = (p->tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (p->ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    return libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
}
#endif

/* Runs p once with candidate c; 0 when c cannot run p. */
static int run_once(const cand *c, const prob *p)
{
    switch (c->kind) {
    case OWN:
        if (!p->ta && !p->tb)
            dp_gemm_nn(p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, p->C, p->ldc, 0);
        else if (p->tb)
            dp_gemm_nt(p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, p->C, p->ldc, 0);
        else
            dp_gemm_tn(p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, p->C, p->ldc, 0);
        return 1;
#ifdef BK_DNNL
    case DNNL:
        return dnnl_sgemm(p->ta ? 'T' : 'N', p->tb ? 'T' : 'N', (dnnl_dim_t)p->M,
                          (dnnl_dim_t)p->N, (dnnl_dim_t)p->K, 1.0f, p->A, (dnnl_dim_t)p->lda,
                          p->B, (dnnl_dim_t)p->ldb, 0.0f, p->C, (dnnl_dim_t)p->ldc) ==
               dnnl_success;
#endif
#ifdef BK_BLIS
    case BLIS: {
        float one = 1, zero = 0;
        bli_sgemm(p->ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                  p->tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (dim_t)p->M, (dim_t)p->N,
                  (dim_t)p->K, &one, (float *)p->A, (inc_t)p->lda, 1, (float *)p->B,
                  (inc_t)p->ldb, 1, &zero, p->C, (inc_t)p->ldc, 1);
        return 1;
    }
#endif
#ifdef BK_XSMM
    case XSMM: {
        libxsmm_smmfunction f = xsmm_kernel(p);
        if (!f) return 0;
        f(p->B, p->A, p->C);
        return 1;
    }
#endif
#ifdef BK_OPENBLAS
    case OPENBLAS:
        cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans,
                    p->tb ? CblasTrans : CblasNoTrans, (int)p->M, (int)p->N, (int)p->K, 1.0f,
                    p->A, (int)p->lda, p->B, (int)p->ldb, 0.0f, p->C, (int)p->ldc);
        return 1;
#endif
    default: return 0;
    }
}

/* Best of several timed runs of enough calls to last ~15 ms; GFLOP/s, or 0 if c cannot run p. */
static double measure(const cand *c, const prob *p, double seconds)
{
    if (!run_once(c, p)) return 0; /* also the warm-up */
    double flops = 2.0 * (double)p->M * (double)p->N * (double)p->K, best = 0;
    long reps = 1;
    for (;;) {
        double t0 = now();
        for (long r = 0; r < reps; r++) run_once(c, p);
        double t = now() - t0, g = flops * (double)reps / t / 1e9;
        if (g > best) best = g;
        if (t > seconds) break;
        reps *= 2;
    }
    for (int run = 0; run < 3; run++) {
        double t0 = now();
        for (long r = 0; r < reps; r++) run_once(c, p);
        double g = flops * (double)reps / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* Makes c the active one (own kernels: select path and tile); 0 if it is not available. */
static int activate(const cand *c)
{
    if (c->kind != OWN) return 1;
    if (strcmp(dp_kernels_select(c->path), c->path) != 0) return 0;
#ifndef BK_BASELINE
    if (c->tile && strcmp(dp_gemm_tile_select(c->tile), c->tile) != 0) return 0;
#endif
    return 1;
}

static int add(cand *cs, int n, int kind, const char *name, const char *path, const char *tile)
{
    cs[n].kind = kind;
    cs[n].path = path;
    cs[n].tile = tile;
    snprintf(cs[n].name, sizeof cs[n].name, "%s", name);
    return n + 1;
}

/* Every own path (and, for avx512, every tile config), then the libraries built in. */
static int candidates(cand *cs)
{
    static const char *const paths[] = {"avx512", "avx2", "portable"};
    int n = 0;
    for (int p = 0; p < 3; p++) {
        if (strcmp(dp_kernels_select(paths[p]), paths[p]) != 0) {
            printf("# own %s: not available here (%s)\n", paths[p], dp_kernels_note());
            continue;
        }
#ifndef BK_BASELINE
        if (p == 0) {
            for (size_t t = 0; dp_gemm_tile_name(t); t++) {
                char name[32];
                snprintf(name, sizeof name, "%s:%s", paths[p], dp_gemm_tile_name(t));
                n = add(cs, n, OWN, name, paths[p], dp_gemm_tile_name(t));
            }
            continue;
        }
#endif
        n = add(cs, n, OWN, paths[p], paths[p], NULL);
    }
#ifdef BK_DNNL
    n = add(cs, n, DNNL, "onednn", NULL, NULL);
#else
    printf("# oneDNN: not built in (no dnnl.h / -ldnnl; apt install libdnnl-dev)\n");
#endif
#ifdef BK_BLIS
    n = add(cs, n, BLIS, "blis", NULL, NULL);
#else
    printf("# BLIS: not built in (no blis.h / -lblis; apt install libblis-dev)\n");
#endif
#ifdef BK_XSMM
    n = add(cs, n, XSMM, "libxsmm", NULL, NULL);
#else
    printf("# libxsmm: not built in (no libxsmm.h / -lxsmm; apt install libxsmm-dev)\n");
#endif
#ifdef BK_OPENBLAS
    n = add(cs, n, OPENBLAS, "openblas", NULL, NULL);
#else
    printf("# OpenBLAS: not built in (no cblas.h / -lopenblas; apt install libopenblas-dev)\n");
#endif
    return n;
}

static void header(double peak)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) snprintf(model, sizeof model, "%s", v + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
    printf("# cpu: %s\n", model);
    dp_kernels_select(NULL);
#ifndef BK_BASELINE
    dp_gemm_tile_select(NULL);
    printf("# kernels (default): %s\n", dp_kernels_describe());
#else
    printf("# kernels (default): %s (baseline build)\n", dp_kernels_path());
#endif
    printf("# one-core FMA peak: %.1f GFLOP/s%s; 1 thread everywhere; cells: GFLOP/s (%% of peak)\n",
           peak, peak > 0 ? " (scripts/peak_flops.c)" : " unknown (pass --peak)");
#ifdef BK_OPENBLAS
    printf("# openblas: %s, core %s\n", openblas_get_config(), openblas_get_corename());
#endif
#ifdef BK_BLIS
    printf("# blis: arch %s\n", bli_arch_string(bli_arch_query_id()));
#endif
}

static void libs_single_thread(void)
{
    omp_set_num_threads(1); /* oneDNN's runtime here is OpenMP */
#ifdef BK_BLIS
    bli_thread_set_num_threads(1);
#endif
#ifdef BK_OPENBLAS
    openblas_set_num_threads(1);
#endif
#ifdef BK_XSMM
    libxsmm_init();
#endif
}

static int wanted(const char *only, const char *name)
{
    if (!only) return 1;
    size_t n = strlen(name);
    for (const char *s = only; (s = strstr(s, name)) != NULL; s += n)
        if ((s == only || s[-1] == ',') && (s[n] == 0 || s[n] == ',')) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    double peak = 0;
    int quick = 0;
    const char *only = NULL, *layers_only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--peak") && i + 1 < argc) peak = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc) layers_only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_kernels [--peak GFLOPS] [--quick] [--only C[,C..]] "
                            "[--layers INxOUT[,..]]\n");
            return 64;
        }
    }
    libs_single_thread();
    header(peak);
    cand all[16], cs[16];
    int na = candidates(all), nc = 0;
    for (int i = 0; i < na; i++)
        if (wanted(only, all[i].name)) cs[nc++] = all[i];
    static const size_t layers[][2] = {{784, 256}, {256, 128}, {128, 10},  {784, 1024},
                                       {1024, 1024}, {1024, 10}, {1024, 4096}, {4096, 4096}};
    static const size_t ms[] = {32, 64, 128, 256};
    size_t nl = quick ? 5 : 8, nm = quick ? 2 : 4, big = 4096 * 4096;
    float *X = filled(256 * 4096), *W = filled(big), *dY = filled(256 * 4096);
    float *Y = filled(256 * 4096), *dX = filled(256 * 4096), *dW = filled(big);
    printf("%-4s %10s %4s", "gemm", "in x out", "m");
    for (int c = 0; c < nc; c++) printf(" %16s", cs[c].name);
    printf("\n");
    for (int form = 0; form < 3; form++)
        for (size_t l = 0; l < nl; l++)
            for (size_t i = quick ? 1 : 0; i < (quick ? 1 + nm : nm); i++) {
                size_t in = layers[l][0], out = layers[l][1], m = ms[i];
                prob nn = {m, out, in, in, out, out, 0, 0, X, W, Y};
                prob nt = {m, in, out, out, out, in, 0, 1, dY, W, dX};
                prob tn = {in, out, m, in, out, out, 1, 0, X, dY, dW};
                const prob *p = form == 0 ? &nn : form == 1 ? &nt : &tn;
                char shape[24];
                snprintf(shape, sizeof shape, "%zux%zu", in, out);
                if (!wanted(layers_only, shape)) continue;
                printf("%-4s %10s %4zu", form == 0 ? "nn" : form == 1 ? "nt" : "tn", shape, m);
                for (int c = 0; c < nc; c++) {
                    double g = activate(&cs[c]) ? measure(&cs[c], p, 0.015) : 0;
                    if (g <= 0) printf(" %16s", "n/a");
                    else if (peak > 0) printf(" %9.1f (%3.0f%%)", g, 100 * g / peak);
                    else printf(" %16.1f", g);
                }
                printf("\n");
                fflush(stdout);
            }
    free(X), free(W), free(dY), free(Y), free(dX), free(dW);
    return 0;
}
