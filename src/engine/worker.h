/* What the training and evaluation teams share: per-worker state, the context a team runs
 * over, and the per-worker set-up (pin, then allocate and first-touch) and row evaluation
 * (worker.c). Private to the engine. */
#ifndef DP_WORKER_H
#define DP_WORKER_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "data.h"
#include "model.h"
#include "topo.h"

static inline double dp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per-worker results, a cache line apart so workers never write a shared line. */
typedef struct worker_slot {
    double step_loss;      /* loss sum of this worker's rows in the current step */
    double step_compute;   /* gather + forward + backward seconds of the current step */
    double epoch_loss;     /* loss sum over the epoch (this run's part of it) */
    double eval_loss, eval_score;
    double fwd, bwd, red, upd;
    size_t n_bad;          /* values its last update left non-finite (dp_optim_apply) */
    size_t kept_lo, kept_hi; /* the range whose pre-update values it kept (step.c) */
    int diverged;          /* the step's loss grew past the divergence bound (step.c) */
    int failed;            /* workspace allocation failed */
    unsigned fp_saved;     /* the thread's FP mode before the worker set FTZ/DAZ (fpmode.h) */
    char bind_msg[160];    /* binding refused: the reason */
    char cpus[96];         /* the PUs it may run on, read back after binding */
} __attribute__((aligned(64))) worker_slot;

typedef struct team_ctx {
    const dp_spec *spec;
    const dp_layout *lay;
    float *params;
    int T;
    size_t shard_cap;      /* most rows a worker handles at once */
    int forward_only;      /* evaluation: workspaces without the backprop buffers */
    const float *dropout;  /* training with dropout: the rates (dp_train_config); else NULL */
    dp_workspace *ws;      /* T workspaces */
    worker_slot *slot;     /* T */
    float **grad;          /* gradient blocks (n_blocks, each n_params) or NULL */
    int n_blocks;
    const dp_topo *topo;   /* binding: NULL for an unpinned team */
    const dp_plan *plan;
    struct dp_bf16_pack *pack; /* --precision bf16: the weights in pair layout (precision.h) */
} team_ctx;

/* Allocates ctx->ws/slot for T workers (blocks are allocated by the workers). */
dp_status dp_team_ctx_init(team_ctx *c, int T, int n_blocks, dp_error *err);
void dp_team_ctx_free(team_ctx *c);

/* Worker t: FTZ/DAZ on (fpmode.h), bind, then allocate its workspace and the gradient blocks it owns (blocks
 * k = t, t+T, …), touching them first. Failures are flagged in its slot. */
void dp_worker_setup(team_ctx *c, int t);
/* Frees what setup allocated and puts back the thread's FP mode (worker 0 is the caller). */
void dp_worker_teardown(team_ctx *c, int t);
/* Any worker failed to set up (call after a barrier). */
int dp_team_setup_failed(const team_ctx *c);

/* Gathers rows idx[0..m) of d into ws: inputs, and labels or targets where d has them. */
void dp_load_rows(const dp_dataset *d, dp_workspace *ws, const uint32_t *idx, size_t m);

/* Rows [lo, hi) of d in order, shard_cap at a time: loss sum and score (see dp_model_score),
 * or, when out is non-NULL, the output activations copied to out (row lo at out[0]). */
void dp_eval_rows(const team_ctx *c, int t, const dp_dataset *d, size_t lo, size_t hi,
                  float *out, double *loss, double *score);

#endif
