/* A persistent team of T workers for the whole run: worker 0 is the calling thread, a step
 * costs barriers, not thread starts. Two backends: one OpenMP parallel region (users' OMP_*
 * habits carry over) or plain pthreads with a spin-then-block barrier. T = 1 runs the worker
 * inline with no threads at all.
 *
 * Start gate: no worker runs fn before every worker exists. When the system refuses a thread
 * (pthread_create fails, or OpenMP gives fewer threads than asked), the workers already made
 * are released without running fn and dp_team_run returns DP_EOSERR: a partial team would
 * wait forever at its first barrier. */
#ifndef DP_TEAM_H
#define DP_TEAM_H

#include "dpmlp.h"

typedef enum dp_team_kind { DP_TEAM_OPENMP, DP_TEAM_PTHREADS } dp_team_kind;

typedef struct dp_team dp_team;
typedef void (*dp_team_fn)(dp_team *team, int worker, void *arg);

/* Runs fn(team, t, arg) on workers t = 0..T-1 and returns when all have returned. Every worker
 * must call dp_team_barrier the same number of times. */
dp_status dp_team_run(int T, dp_team_kind kind, dp_team_fn fn, void *arg, dp_error *err);
void dp_team_barrier(dp_team *team);
int dp_team_size(const dp_team *team);

/* Abort: any worker may raise it; every worker reads the same value after the next barrier,
 * so all leave together (the barrier counts stay equal). */
void dp_team_abort(dp_team *team);
int dp_team_aborted(dp_team *team);

/* Test-only: make the creation of worker k (1 <= k < T) fail as if the system refused the
 * thread (EAGAIN), in every later dp_team_run; 0 turns it off. */
void dp_team_test_fail_start(int k);

#endif
