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
    int stop_now;
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

/* After the barrier that ends step_compute: reduce, and update when the global loss is
 * finite (step_no is the 1-based optimizer step, for Adam's bias corrections). Returns the
 * step's global loss sum; every worker of every rank returns the same value. */
double step_reduce_update(dp_team *team, train_ctx *c, int t, int n_blocks, size_t nb,
                          long step_no);

/* After the barrier that ends the step: how many parameters the update made non-finite, over
 * the whole team (every worker gets the same count). When non-zero every worker has put its
 * slice back to the pre-update values (the run must stop: the moments are not restored). */
size_t step_update_bad(train_ctx *c, int t);

#endif
