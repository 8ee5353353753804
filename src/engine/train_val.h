/* Validation inside the epoch loop (train_val.c): the configuration's rules, the held-out
 * split, each worker's share of the validation pass, worker 0's end-of-epoch decision
 * (best epoch, early stop, plateau cut) and the decision's state in and out of checkpoints.
 * Private to the engine. */
#ifndef DP_TRAIN_VAL_H
#define DP_TRAIN_VAL_H

#include "step.h"

/* The validation and schedule flags make sense together (DP_EUSAGE naming the flag). has_val:
 * a validation set was given or will be split off. */
dp_status val_check_config(const dp_train_config *cfg, int has_val, dp_error *err);

/* cfg->val_split > 0: *train_part and *val_part are the split of train (free both with
 * dp_data_free); otherwise both NULL. */
dp_status val_split(const dp_dataset *train, const dp_train_config *cfg,
                    dp_dataset **train_part, dp_dataset **val_part, dp_error *err);

/* The best-weights buffer and the resumed decisions (c->val set). */
dp_status val_init(train_ctx *c, const dp_train_state *resume, dp_error *err);

/* Frees what val_init allocated. */
void val_free(train_ctx *c);

/* Worker t, after the epoch's steps: its blocks of the validation set. */
void val_eval_rows(train_ctx *c, int t);

/* Worker 0, the team waiting: fills st's lr and validation fields and, for a complete epoch,
 * takes the schedule's decision (a better loss keeps the weights; early stop sets stop_now). */
void val_epoch_stats(train_ctx *c, int epoch, int partial, dp_epoch_stats *st);

/* The decisions into a state a checkpoint stores. */
void val_state_out(const train_ctx *c, dp_train_state *st);

/* After the run: the best epoch's weights into params (with validation); says which. */
void val_finish(train_ctx *c, float *params);

#endif
