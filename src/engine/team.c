/* Team backends. The pthreads barrier spins briefly on an atomic generation counter (a step's
 * barrier is usually reached within microseconds) and then sleeps on a condition variable,
 * so idle workers never steal a core from busy ones for long. */
#include "team.h"

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

struct dp_team {
    int size;
    int spins;     /* barrier spins before sleeping: 0 when workers outnumber the CPUs */
    dp_team_kind kind;
    dp_team_fn fn;
    void *arg;
    /* pthreads barrier */
    atomic_uint arrived;
    atomic_uint generation;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

int dp_team_size(const dp_team *team) { return team->size; }

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

static void *pthread_worker(void *p)
{
    worker_start *ws = p;
    ws->team->fn(ws->team, ws->worker, ws->team->arg);
    return NULL;
}

static dp_status run_pthreads(dp_team *team, dp_error *err)
{
    int T = team->size;
    pthread_t *threads = calloc((size_t)T, sizeof *threads);
    worker_start *starts = calloc((size_t)T, sizeof *starts);
    if (!threads || !starts) {
        free(threads);
        free(starts);
        return dp_fail(err, DP_EINTERNAL, "out of memory for %d workers", T);
    }
    int started = 1;
    dp_status st = DP_OK;
    for (int t = 1; t < T; t++) {
        starts[t] = (worker_start){team, t};
        if (pthread_create(&threads[t], NULL, pthread_worker, &starts[t]) != 0) {
            st = dp_fail(err, DP_EINTERNAL, "cannot start worker thread %d of %d", t, T);
            break;
        }
        started++;
    }
    if (st == DP_OK) team->fn(team, 0, team->arg);
    /* A partial team would deadlock at the first barrier, so the workers are only started
     * together; a failed start is reported before any worker runs past start-up. */
    for (int t = 1; t < started; t++) pthread_join(threads[t], NULL);
    free(threads);
    free(starts);
    return st;
}

dp_status dp_team_run(int T, dp_team_kind kind, dp_team_fn fn, void *arg, dp_error *err)
{
    if (T < 1) return dp_fail(err, DP_EUSAGE, "--threads must be at least 1");
    dp_team team;
    memset(&team, 0, sizeof team);
    team.size = T;
    team.kind = kind;
    team.fn = fn;
    team.arg = arg;
    if (T == 1) {
        fn(&team, 0, arg);
        return DP_OK;
    }
    if (kind == DP_TEAM_PTHREADS) {
        /* Spinning only pays when every worker has a CPU of its own; oversubscribed, a
         * spinning waiter steals the time slice of the worker it is waiting for. */
        cpu_set_t cpus;
        int n_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
        team.spins = T <= n_cpus ? BARRIER_SPINS : 0;
        pthread_mutex_init(&team.mu, NULL);
        pthread_cond_init(&team.cv, NULL);
        atomic_init(&team.arrived, 0);
        atomic_init(&team.generation, 0);
        dp_status st = run_pthreads(&team, err);
        pthread_mutex_destroy(&team.mu);
        pthread_cond_destroy(&team.cv);
        return st;
    }
    int got = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(T)
    {
#pragma omp single
        got = omp_get_num_threads();
        /* The implicit barrier after single publishes `got` to every thread. */
        if (got == T) fn(&team, omp_get_thread_num(), arg);
    }
    if (got != T)
        return dp_fail(err, DP_EINTERNAL,
                       "OpenMP gave %d threads instead of %d (OMP_THREAD_LIMIT?)", got, T);
    return DP_OK;
}
