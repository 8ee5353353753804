/* The training step (DESIGN.md, "the training step"), the same order for one rank or many:
 *
 *   step_compute        worker t: its shard's forward + backward into its PRIVATE block(s)
 *   barrier
 *   step_reduce_update  worker t: sum its slice over all blocks in block order; with MPI the
 *                       sums are allreduced across ranks (two more barriers around worker 0's
 *                       allreduce); every worker then holds the same global loss; if it is
 *                       finite, worker t updates its slice, keeps the slice's pre-update values
 *                       and counts the parameters the update made non-finite
 *   (the caller: bookkeeping by worker 0, barrier, then the team-wide verdict step_update_bad)
 *
 * The run's state that the step, the epoch loop and the checkpoint writer share lives here. */
#ifndef DP_STEP_H
#define DP_STEP_H
#include <stddef.h>
#include <stdint.h>

#include "ckpt_writer.h"
#include "schedule.h"
#include "team.h"
#include "worker.h"

typedef struct train_ctx {
    team_ctx tc;
    const dp_dataset *train, *test;
    const dp_train_config *cfg;
    const dp_train_hooks *hooks;
    const dp_train_state *resume;
    size_t batch;               /* effective global batch (<= samples) */
    size_t micro;               /* deterministic: rows per micro-shard; 0 otherwise */
    long steps_per_epoch;
    float *m1, *m2;             /* optimizer moments (flat layout) */
    uint32_t *perm;             /* this epoch's shuffle */
    long global_step;           /* worker 0's count, for bookkeeping and checkpoints */
    uint64_t fingerprint;       /* of the training data, for checkpoints (0: not needed) */
    int R, rank;                /* MPI ranks and this one (1 and 0 without MPI) */
    float *reduced;             /* R > 1: this rank's summed gradient, then the global one */
    double global_loss;         /* R > 1: the step's loss over all ranks (worker 0 writes) */
    double allreduce_s;
    double imbalance_sum;
    long imbalance_steps;
    dp_ckpt_writer *writer;     /* checkpoints in the background; NULL without a hook */
    uint64_t drop_key;          /* dropout: dp_dropout_key of the epoch (worker 0 sets it) */
    double div_first, div_best; /* divergence bound: first and best epoch mean train loss */
    int div_epochs;             /* epochs that set them (worker 0 writes, between barriers) */
    int stop_now;
    int stopped;                /* stop_now came from hooks->stop: dp_train says DP_ESTOPPED */
    int faulted;
    dp_error fault;
    /* Validation (train_val.c): the set, the schedule's decisions, the best epoch's weights. */
    const dp_dataset *val;      /* NULL: no validation */
    dp_sched sched;             /* read by every worker's step, written by worker 0 between
                                 * epochs while the team waits */
    float *best;                /* n_params: the best epoch's weights (with validation) */
    double *val_sums;           /* loss and score of each fixed block of validation rows */
    size_t val_blocks;
    int early_stopped;          /* early stopping decided: no further epoch */
} train_ctx;

/* The learning rate of optimizer step step_no (1-based) under the run's schedule. */
static inline float step_lr(const train_ctx *c, long step_no)
{
    return (float)dp_sched_lr(c->cfg, &c->sched, step_no, c->steps_per_epoch);
}

/* Worker t's part of one step over the nb rows at b0 of this epoch's shuffle: gradients into
 * its block(s). Returns how many blocks the reduction must sum. */
int step_compute(train_ctx *c, int t, size_t b0, size_t nb);

/* A run stops (exit 70, the update not applied) when a step's mean loss exceeds
 * DP_DIVERGE_FACTOR times the best epoch mean train loss so far, that best counted no lower
 * than DP_DIVERGE_FLOOR times the first epoch's (a perfect fit's 0 must not make every later
 * loss a divergence). Epochs, not steps, set the bound, so an outlier batch cannot trip it: a
 * batch's loss sum is at most its epoch's, so its mean is at most steps-per-epoch times the
 * epoch mean (< 1000 steps per epoch: only real growth trips). Counted in this process: a
 * resumed run has no bound until its first epoch ends; the first epoch of a run has none. */
#define DP_DIVERGE_FACTOR 1e3
#define DP_DIVERGE_FLOOR 1e-3

/* Worker 0 after an epoch (the team waiting): its mean train loss updates the bound. */
void step_note_epoch_loss(train_ctx *c, double mean);

/* After the barrier that ends step_compute: reduce, and update when the global loss is
 * finite and has not diverged (slot diverged set; step_no is the 1-based optimizer step, for
 * Adam's bias corrections). Returns the step's global loss sum; every worker of every rank
 * returns the same value and verdict. */
double step_reduce_update(dp_team *team, train_ctx *c, int t, int n_blocks, size_t nb,
                          long step_no);

/* After the barrier that ends the step: how many parameters the update made non-finite, over
 * the whole team (every worker gets the same count). When non-zero every worker has put its
 * slice back to the pre-update values (the run must stop: the moments are not restored). */
size_t step_update_bad(train_ctx *c, int t);

#endif
