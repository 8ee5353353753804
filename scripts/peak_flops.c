/* Measured FP32 FMA peak of this machine, the denominator of make bench's "% of peak" column.
 * Each thread runs NACC independent FMA chains (enough to cover FMA latency x pipes on
 * current x86 cores) on the widest vector ISA the CPU reports at run time, one thread
 * pinned per allowed CPU; the best of several timed runs is printed as GFLOP/s.
 *
 * Build: cc -O2 -pthread scripts/peak_flops.c -o peak_flops  (the kernels carry their own
 * target attributes, so no -m flags are needed and the binary runs on any x86-64 CPU).
 * Usage: peak_flops [--threads N[,M...]] [--seconds S] [--reps R] [--isa avx512f|avx2|scalar]
 * Output, one line per thread count: "peak_flops threads=N isa=avx512f gflops=X"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define NACC 12 /* Zen4: 2 pipes x 4 cycles = 8 ymm chains; Intel SKX: 2 x 4 = 8 zmm; 12 covers both */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Each kernel: iters x NACC FMAs on one vector of `lanes` floats; returns a sum so the
 * compiler cannot drop the chains. a = a*b + c with b just under 1 stays finite forever. */
#define CHAINS(T, FMA, SET1, ADD, STORE, LANES)                                         \
    T b = SET1(0.999999f), c = SET1(1e-7f);                                             \
    T a0 = SET1(seed + 0.f), a1 = SET1(seed + 1.f), a2 = SET1(seed + 2.f),              \
      a3 = SET1(seed + 3.f), a4 = SET1(seed + 4.f), a5 = SET1(seed + 5.f),              \
      a6 = SET1(seed + 6.f), a7 = SET1(seed + 7.f), a8 = SET1(seed + 8.f),              \
      a9 = SET1(seed + 9.f), a10 = SET1(seed + 10.f), a11 = SET1(seed + 11.f);          \
    for (uint64_t i = 0; i < iters; i++) {                                              \
        a0 = FMA(a0, b, c); a1 = FMA(a1, b, c); a2 = FMA(a2, b, c);                     \
        a3 = FMA(a3, b, c); a4 = FMA(a4, b, c); a5 = FMA(a5, b, c);                     \
        a6 = FMA(a6, b, c); a7 = FMA(a7, b, c); a8 = FMA(a8, b, c);                     \
        a9 = FMA(a9, b, c); a10 = FMA(a10, b, c); a11 = FMA(a11, b, c);                 \
    }                                                                                   \
    T s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));           \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                                        \
    float out[LANES];                                                                   \
    STORE(out, s);                                                                      \
    float r = 0;                                                                        \
    for (int k = 0; k < LANES; k++) r += out[k];                                        \
    return r;

#if HAVE_X86
__attribute__((target("avx512f,fma"))) static float fma_avx512(uint64_t iters, int seed)
{
    CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_storeu_ps, 16)
}
__attribute__((target("avx2,fma"))) static float fma_avx2(uint64_t iters, int seed)
{
    CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_storeu_ps, 8)
}
#endif
/* Without vector FMA: scalar multiply-add chains (counted as 2 flops each, like the rest). */
static float fma_scalar(uint64_t iters, int seed)
{
    volatile float vb = 0.999999f, vc = 1e-7f;
    float b = vb, c = vc, a[NACC];
    for (int k = 0; k < NACC; k++) a[k] = (float)(seed + k);
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < NACC; k++) a[k] = a[k] * b + c;
    float r = 0;
    for (int k = 0; k < NACC; k++) r += a[k];
    return r;
}

typedef float (*kernel_fn)(uint64_t, int);
static kernel_fn kernel = fma_scalar;
static const char *isa = "scalar";
static int lanes = 1;

/* The widest ISA the CPU has, or at most `cap` (avx512f > avx2 > scalar); 0 if cap unknown. */
static int pick_isa(const char *cap)
{
    int lim = !cap || !strcmp(cap, "avx512f") ? 2 : !strcmp(cap, "avx2") ? 1 : !strcmp(cap, "scalar") ? 0 : -1;
    if (lim < 0) return 0;
#if HAVE_X86
    __builtin_cpu_init();
    if (lim >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        kernel = fma_avx512; isa = "avx512f"; lanes = 16;
    } else if (lim >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        kernel = fma_avx2; isa = "avx2"; lanes = 8;
    }
#endif
    return 1;
}

struct worker {
    pthread_t th;
    int cpu; /* -1: do not pin */
    uint64_t iters;
    pthread_barrier_t *start;
    double t_end;
    float result;
};

static void *run_worker(void *p)
{
    struct worker *w = p;
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
    }
    kernel(1000, w->cpu); /* warm the core's clocks and caches before the barrier */
    pthread_barrier_wait(w->start);
    w->result = kernel(w->iters, w->cpu);
    w->t_end = now();
    return NULL;
}

static volatile float sink;

/* One timed run of n pinned threads doing iters each; returns GFLOP/s or -1 on error. */
static double run_team(int n, const int *cpus, uint64_t iters)
{
    struct worker *w = calloc((size_t)n, sizeof *w);
    pthread_barrier_t start;
    if (!w || pthread_barrier_init(&start, NULL, (unsigned)n + 1) != 0) {
        free(w);
        return -1;
    }
    int made = 0;
    for (; made < n; made++) {
        w[made] = (struct worker){.cpu = cpus ? cpus[made] : -1, .iters = iters, .start = &start};
        if (pthread_create(&w[made].th, NULL, run_worker, &w[made]) != 0) break;
    }
    if (made < n) { /* cannot happen in practice; never leave the barrier short */
        fprintf(stderr, "peak_flops: pthread_create failed after %d threads\n", made);
        exit(71);
    }
    pthread_barrier_wait(&start);
    double t0 = now(), t1 = t0;
    float s = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].th, NULL);
        if (w[i].t_end > t1) t1 = w[i].t_end;
        s += w[i].result;
    }
    sink = s;
    pthread_barrier_destroy(&start);
    free(w);
    return (double)n * (double)iters * NACC * lanes * 2.0 / (t1 - t0) / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: peak_flops [--threads N[,M...]] [--seconds S] [--reps R] [--isa I]\n"
                    "  --threads  thread counts to measure [1,<allowed CPUs>]\n"
                    "  --seconds  target length of one timed run [0.2]\n"
                    "  --reps     timed runs per thread count, best is printed [3]\n"
                    "  --isa      widest ISA to use: avx512f|avx2|scalar [widest the CPU has]\n");
}

int main(int argc, char **argv)
{
    const char *threads_arg = NULL, *isa_arg = NULL;
    double seconds = 0.2;
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads_arg = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa_arg = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
        else { usage(); return 64; }
    }
    if (!(seconds > 0 && seconds <= 60) || reps < 1 || reps > 100) {
        fprintf(stderr, "peak_flops: --seconds must be in (0, 60] and --reps in [1, 100]\n");
        return 64;
    }
    if (!pick_isa(isa_arg)) {
        fprintf(stderr, "peak_flops: --isa: '%s' is not avx512f, avx2 or scalar\n", isa_arg);
        return 64;
    }

    /* The CPUs this process may run on (taskset, cgroups): one thread pinned to each. */
    cpu_set_t allowed;
    int cpus[CPU_SETSIZE], ncpu = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed)) cpus[ncpu++] = c;
    if (ncpu == 0) ncpu = 1;

    int counts[64], ncounts = 0;
    if (threads_arg) {
        char *dup = strdup(threads_arg), *save = NULL;
        for (char *t = strtok_r(dup, ",", &save); t && ncounts < 64; t = strtok_r(NULL, ",", &save)) {
            char *end;
            errno = 0;
            long v = strtol(t, &end, 10);
            if (errno || *end || v < 1 || v > 4096) {
                fprintf(stderr, "peak_flops: --threads: '%s' is not a count in [1, 4096]\n", t);
                free(dup);
                return 64;
            }
            counts[ncounts++] = (int)v;
        }
        free(dup);
    } else {
        counts[ncounts++] = 1;
        if (ncpu > 1) counts[ncounts++] = ncpu;
    }

    /* Calibrate on one thread: grow iters until a run takes >= 20 ms, then scale. */
    uint64_t iters = 1 << 14;
    for (;;) {
        double t0 = now();
        sink = kernel(iters, 0);
        double dt = now() - t0;
        if (dt >= 0.02 || iters >= (1ull << 40)) {
            iters = (uint64_t)((double)iters * seconds / (dt > 0 ? dt : 1e-9));
            if (iters < 1000) iters = 1000;
            break;
        }
        iters *= 4;
    }

    for (int k = 0; k < ncounts; k++) {
        int n = counts[k];
        /* More threads than allowed CPUs: leave placement to the scheduler. */
        const int *pin = n <= ncpu ? cpus : NULL;
        double best = -1;
        for (int r = 0; r < reps; r++) {
            double g = run_team(n, pin, iters);
            if (g > best) best = g;
        }
        if (best <= 0) {
            fprintf(stderr, "peak_flops: could not start %d threads\n", n);
            return 71;
        }
        printf("peak_flops threads=%d isa=%s gflops=%.2f\n", n, isa, best);
    }
    return 0;
}
