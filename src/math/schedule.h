/* The run's schedule: the learning rate of every step as a pure function of the step, the
 * epoch length and the plateau's cuts, and the end-of-epoch bookkeeping of the best
 * validation loss that early stopping and the plateau schedule decide on. No threads, no
 * files: the engine calls these, checkpoints store dp_sched's counters. */
#ifndef DP_SCHEDULE_H
#define DP_SCHEDULE_H

#include "dpmlp.h"

/* The decisions' state (what a checkpoint stores, see dp_train_state). */
typedef struct dp_sched {
    int best_epoch;      /* 0: no complete epoch evaluated yet */
    double best_loss;
    int bad_epochs;      /* complete epochs since best_epoch */
    int plateau_bad;     /* epochs since the last improvement or cut */
    int lr_cuts;         /* plateau cuts so far */
} dp_sched;

/* lr of optimizer step `step` (1-based) with steps_per_epoch steps an epoch:
 *   base(s) = constant  lr
 *             step      lr · gamma^floor((epoch(s) - 1) / lr_step), epoch(s) = (s-1)/spe + 1
 *             cosine    lr_min + (lr - lr_min) · (1 + cos(π · t / T)) / 2, t = s - 1 - warmup
 *                       clamped to [0, T], T = epochs · spe - warmup (the steps after warm-up)
 *             plateau   max(lr · factor^lr_cuts, lr_min)
 *   lr(s)   = base(s) · min(1, s / warmup)   (warmup = 0: no ramp) */
double dp_sched_lr(const dp_train_config *cfg, const dp_sched *st, long step,
                   long steps_per_epoch);

enum { DP_SCHED_IMPROVED = 1, DP_SCHED_STOP = 2, DP_SCHED_CUT = 4 };

/* After complete epoch `epoch` with validation loss val_loss: a loss below the best (a
 * non-finite one never is) makes it the best; otherwise the counters grow, the plateau
 * schedule cuts the lr after plateau_patience such epochs, and early stopping asks to stop
 * after early_stop of them. Returns the DP_SCHED_* flags of what happened. */
int dp_sched_epoch_end(const dp_train_config *cfg, dp_sched *st, int epoch, double val_loss);

#endif
