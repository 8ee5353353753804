/* GEMM throughput of the kernel paths on the shapes of a 784-256-128-10 MLP, single thread:
 * forward nn(m, out, in), input gradient nt(m, in, out), weight gradient tn(in, out, m).
 * Build (after make): gcc -O3 -Iinclude -Isrc scripts/bench_kernels.c build/libdpmlp.a -lm -pthread
 *   -o build/bench_kernels;  run: build/bench_kernels [avx512|avx2|portable ...] (default all).
 * With -DDP_BENCH_CBLAS and -lopenblas, the path name "cblas" times cblas_sgemm on the same
 * shapes (run with OPENBLAS_NUM_THREADS=1) for comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#ifdef DP_BENCH_CBLAS
#include <cblas.h>
static int use_cblas;
#endif

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

/* Best of 5 runs of enough calls to take ~20 ms; returns GFLOP/s. */
static void call(int form, size_t m, size_t in, size_t out, const float *X, const float *W,
                 const float *dY, float *Y, float *dX, float *dW)
{
#ifdef DP_BENCH_CBLAS
    if (use_cblas) {
        int mm = (int)m, ni = (int)in, no = (int)out;
        if (form == 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mm, no, ni, 1, X, ni, W, no, 0, Y, no);
        if (form == 1)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mm, ni, no, 1, dY, no, W, no, 0, dX, ni);
        if (form == 2)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, no, mm, 1, X, ni, dY, no, 0, dW, no);
        return;
    }
#endif
    if (form == 0) dp_gemm_nn(m, out, in, X, in, W, out, Y, out, 0);
    if (form == 1) dp_gemm_nt(m, in, out, dY, out, W, out, dX, in, 0);
    if (form == 2) dp_gemm_tn(in, out, m, X, in, dY, out, dW, out, 0);
}

static double measure(int form, size_t m, size_t in, size_t out, const float *X, const float *W,
                      const float *dY, float *Y, float *dX, float *dW)
{
    double flops = 2.0 * (double)m * (double)in * (double)out, best = 0;
    long reps = 1;
    for (;;) {
        double t0 = now();
        for (long r = 0; r < reps; r++) call(form, m, in, out, X, W, dY, Y, dX, dW);
        double t = now() - t0;
        if (t > 0.02) break;
        reps *= 2;
    }
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (long r = 0; r < reps; r++) call(form, m, in, out, X, W, dY, Y, dX, dW);
        double g = flops * (double)reps / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const char *const all[] = {"avx512", "avx2", "portable"};
    const char *const *paths = argc > 1 ? (const char *const *)argv + 1 : all;
    int npaths = argc > 1 ? argc - 1 : 3;
    static const size_t layers[][2] = {{784, 256}, {256, 128}, {128, 10}};
    static const size_t ms[] = {8, 16, 32, 64, 128, 256};
    float *X = filled(256 * 784), *W = filled(784 * 256), *dY = filled(256 * 256);
    float *Y = filled(256 * 256), *dX = filled(256 * 784), *dW = filled(784 * 256);
    for (int p = 0; p < npaths; p++) {
        const char *got = dp_kernels_select(paths[p]);
#ifdef DP_BENCH_CBLAS
        use_cblas = strcmp(paths[p], "cblas") == 0;
        if (use_cblas) got = "cblas";
#endif
        if (strcmp(got, paths[p]) != 0) {
            printf("# %s: not available (%s)\n", paths[p], dp_kernels_note());
            continue;
        }
        printf("# path %s, GFLOP/s (1 thread); fwd = nn(m,out,in), igrad = nt(m,in,out), "
               "wgrad = tn(in,out,m)\n",
               got);
        printf("%-9s %5s %8s %8s %8s\n", "layer", "m", "fwd", "igrad", "wgrad");
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < 6; i++) {
                size_t in = layers[l][0], out = layers[l][1], m = ms[i];
                char name[32];
                snprintf(name, sizeof name, "%zux%zu", in, out);
                printf("%-9s %5zu %8.1f %8.1f %8.1f\n", name, m,
                       measure(0, m, in, out, X, W, dY, Y, dX, dW),
                       measure(1, m, in, out, X, W, dY, Y, dX, dW),
                       measure(2, m, in, out, X, W, dY, Y, dX, dW));
            }
    }
    free(X), free(W), free(dY), free(Y), free(dX), free(dW);
    return 0;
}
