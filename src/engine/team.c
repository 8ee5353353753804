/* Team backends. The pthreads barrier spins briefly on an atomic generation counter (a step's
 * barrier is usually reached within microseconds) and then sleeps on a condition variable,
 * so idle workers never steal a core from busy ones for long. Both backends start behind a
 * gate (team.h): the OpenMP runtime ends the process when it cannot create a thread, so the
 * OpenMP backend first makes sure the system gives T threads, with the same gated start. */
#include "team.h"

#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Spins before blocking: ~50-100 µs of pause instructions on current x86 cores. */
#define BARRIER_SPINS 20000

enum { GATE_WAIT, GATE_GO, GATE_QUIT };

struct dp_team {
    int size;
    int spins;     /* barrier spins before sleeping: 0 when workers outnumber the CPUs */
    dp_team_kind kind;
    dp_team_fn fn; /* NULL: a probe team that only checks the threads can be made */
    void *arg;
    atomic_int aborted;
    /* pthreads: the start gate (under mu) and the barrier */
    int gate;
    atomic_uint arrived;
    atomic_uint generation;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static int g_fail_start; /* test hook: the worker whose creation fails, 0 = none */

void dp_team_test_fail_start(int k) { g_fail_start = k; }

int dp_team_size(const dp_team *team) { return team->size; }

void dp_team_abort(dp_team *team) { atomic_store(&team->aborted, 1); }

int dp_team_aborted(dp_team *team) { return atomic_load(&team->aborted); }

static void pthread_barrier_wait_spin(dp_team *team)
{
    unsigned gen = atomic_load(&team->generation);
    if (atomic_fetch_add(&team->arrived, 1) + 1 == (unsigned)team->size) {
        atomic_store(&team->arrived, 0);
        pthread_mutex_lock(&team->mu);
        atomic_fetch_add(&team->generation, 1);
        pthread_cond_broadcast(&team->cv);
        pthread_mutex_unlock(&team->mu);
        return;
    }
    for (int i = 0; i < team->spins; i++) {
        if (atomic_load_explicit(&team->generation, memory_order_acquire) != gen) return;
        cpu_relax();
    }
    pthread_mutex_lock(&team->mu);
    while (atomic_load(&team->generation) == gen) pthread_cond_wait(&team->cv, &team->mu);
    pthread_mutex_unlock(&team->mu);
}

void dp_team_barrier(dp_team *team)
{
    if (team->size == 1) return;
    if (team->kind == DP_TEAM_OPENMP) {
#pragma omp barrier
    } else {
        pthread_barrier_wait_spin(team);
    }
}

typedef struct worker_start {
    dp_team *team;
    int worker;
} worker_start;

/* A created worker waits at the gate; it runs fn only if every other worker was created. */
static void *pthread_worker(void *p)
{
    worker_start *ws = p;
    dp_team *team = ws->team;
    pthread_mutex_lock(&team->mu);
    while (team->gate == GATE_WAIT) pthread_cond_wait(&team->cv, &team->mu);
    int go = team->gate == GATE_GO;
    pthread_mutex_unlock(&team->mu);
    if (go && team->fn) team->fn(team, ws->worker, team->arg);
    return NULL;
}

static void open_gate(dp_team *team, int state)
{
    pthread_mutex_lock(&team->mu);
    team->gate = state;
    pthread_cond_broadcast(&team->cv);
    pthread_mutex_unlock(&team->mu);
}

/* Creates workers 1..T-1, all held at the gate; *created counts the threads to join. */
static dp_status create_workers(dp_team *team, pthread_t *threads, worker_start *starts,
                                int *created, dp_error *err)
{
    int T = team->size;
    *created = 0;
    for (int t = 1; t < T; t++) {
        starts[t] = (worker_start){team, t};
        int rc = t == g_fail_start ? EAGAIN
                                   : pthread_create(&threads[t], NULL, pthread_worker, &starts[t]);
        if (rc != 0) {
            char buf[128];
            return dp_fail(err, DP_EOSERR, "cannot start worker %d of %d: %s", t, T,
                           strerror_r(rc, buf, sizeof buf));
        }
        (*created)++;
    }
    return DP_OK;
}

/* The pthreads team (or, with fn NULL, the probe): start all, then run or release. */
static dp_status run_pthreads(dp_team *team, dp_error *err)
{
    int T = team->size;
    pthread_t *threads = calloc((size_t)T, sizeof *threads);
    worker_start *starts = calloc((size_t)T, sizeof *starts);
    if (!threads || !starts) {
        free(threads);
        free(starts);
        return dp_fail(err, DP_EOSERR, "out of memory for %d workers", T);
    }
    int created = 0;
    dp_status st = create_workers(team, threads, starts, &created, err);
    open_gate(team, st == DP_OK ? GATE_GO : GATE_QUIT);
    if (st == DP_OK && team->fn) team->fn(team, 0, team->arg);
    for (int t = 1; t <= created; t++) pthread_join(threads[t], NULL);
    free(threads);
    free(starts);
    return st;
}

static dp_status run_openmp(dp_team *team, dp_error *err)
{
    int T = team->size;
    /* libgomp calls exit(1) when it cannot create a thread: check the system gives T - 1
     * threads first, with the gated start, and release them at once. */
    dp_team_fn fn = team->fn;
    team->fn = NULL;
    dp_status st = run_pthreads(team, err);
    team->fn = fn;
    if (st != DP_OK) return st;
    int got = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(T)
    {
#pragma omp single
        got = omp_get_num_threads();
        /* The implicit barrier after single publishes `got` to every thread: the gate. */
        if (got == T) {
            DP_ASSERT(omp_get_thread_num() < T);
            fn(team, omp_get_thread_num(), team->arg);
        }
    }
    if (got != T)
        return dp_fail(err, DP_EOSERR,
                       "cannot start worker %d of %d: OpenMP gave %d threads (OMP_THREAD_LIMIT?)",
                       got, T, got);
    return DP_OK;
}

dp_status dp_team_run(int T, dp_team_kind kind, dp_team_fn fn, void *arg, dp_error *err)
{
    if (T < 1 || T > DP_MAX_THREADS)
        return dp_fail(err, DP_EUSAGE, "--threads must be between 1 and %d", DP_MAX_THREADS);
    dp_team team;
    memset(&team, 0, sizeof team);
    team.size = T;
    team.kind = kind;
    team.fn = fn;
    team.arg = arg;
    atomic_init(&team.aborted, 0);
    if (T == 1) {
        fn(&team, 0, arg);
        return DP_OK;
    }
    /* Spinning only pays when every worker has a CPU of its own; oversubscribed, a
     * spinning waiter steals the time slice of the worker it is waiting for. */
    cpu_set_t cpus;
    int n_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    team.spins = T <= n_cpus ? BARRIER_SPINS : 0;
    team.gate = GATE_WAIT;
    pthread_mutex_init(&team.mu, NULL);
    pthread_cond_init(&team.cv, NULL);
    atomic_init(&team.arrived, 0);
    atomic_init(&team.generation, 0);
    dp_status st = kind == DP_TEAM_PTHREADS ? run_pthreads(&team, err) : run_openmp(&team, err);
    pthread_mutex_destroy(&team.mu);
    pthread_cond_destroy(&team.cv);
    return st;
}
