/* Validation in the epoch loop (train_val.h). Decisions are taken by worker 0 between epochs
 * on complete epochs only, from numbers every rank and every thread count computes alike (the
 * whole validation set in fixed blocks summed in order, the same weights), so all ranks, every
 * thread count under --deterministic and a resumed run all decide the same; a partial epoch
 * (a stop mid-epoch) is evaluated for the log only. */
#include "train_val.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Validation rows are evaluated in blocks of this many, summed in block order: the loss the
 * decisions compare has the same bits for every thread count (a worker's evaluation
 * workspace holds at least 64 rows, so a block is one forward pass). */
#define VAL_BLOCK 64

static void say(const train_ctx *c, const char *line)
{
    if (c->hooks && c->hooks->on_message) c->hooks->on_message(c->hooks->ctx, line);
}

/* The schedule's own numbers. */
static dp_status check_schedule(const dp_train_config *cfg, int has_val, dp_error *err)
{
    if ((unsigned)cfg->schedule > DP_SCHED_PLATEAU)
        return dp_fail(err, DP_EUSAGE, "--schedule must be constant, step, cosine or plateau");
    if (cfg->warmup < 0) return dp_fail(err, DP_EUSAGE, "--warmup must be >= 0 steps");
    if (!(cfg->lr_min >= 0.0f) || !isfinite(cfg->lr_min) || cfg->lr_min > cfg->lr)
        return dp_fail(err, DP_EUSAGE, "--lr-min must be in [0, --lr %g]", (double)cfg->lr);
    if (cfg->schedule == DP_SCHED_STEP && (cfg->lr_step < 1 || !(cfg->lr_gamma > 0.0f) ||
                                           !isfinite(cfg->lr_gamma)))
        return dp_fail(err, DP_EUSAGE, "--schedule step needs --lr-step >= 1 and --lr-gamma > 0");
    if (cfg->schedule == DP_SCHED_PLATEAU) {
        if (!has_val)
            return dp_fail(err, DP_EUSAGE, "--schedule plateau cuts the lr on the validation "
                                           "loss: give --val-split F or --val DIR|FILE.csv");
        if (cfg->plateau_patience < 1 ||
            !(cfg->plateau_factor > 0.0f && cfg->plateau_factor < 1.0f))
            return dp_fail(err, DP_EUSAGE, "--schedule plateau needs --plateau-patience >= 1 "
                                           "and --plateau-factor in (0, 1)");
    }
    return DP_OK;
}

dp_status val_check_config(const dp_train_config *cfg, int has_val, dp_error *err)
{
    if (!(cfg->val_split >= 0.0f && cfg->val_split < 1.0f))
        return dp_fail(err, DP_EUSAGE, "--val-split %g: expected a fraction in (0, 1)",
                       (double)cfg->val_split);
    if (cfg->early_stop < 0) return dp_fail(err, DP_EUSAGE, "--early-stop must be >= 0");
    if (cfg->early_stop > 0 && !has_val)
        return dp_fail(err, DP_EUSAGE, "--early-stop watches the validation loss: give "
                                       "--val-split F or --val DIR|FILE.csv");
    return check_schedule(cfg, has_val, err);
}

dp_status val_split(const dp_dataset *train, const dp_train_config *cfg,
                    dp_dataset **train_part, dp_dataset **val_part, dp_error *err)
{
    *train_part = *val_part = NULL;
    if (!(cfg->val_split > 0.0f)) return DP_OK;
    return dp_data_split(train, cfg->val_split, cfg->seed, train_part, val_part, err);
}

dp_status val_init(train_ctx *c, const dp_train_state *rs, dp_error *err)
{
    if (!c->val) return DP_OK;
    size_t n = c->tc.lay->n_params;
    c->val_blocks = (c->val->n + VAL_BLOCK - 1) / VAL_BLOCK;
    c->val_sums = calloc(2 * c->val_blocks, sizeof *c->val_sums);
    if (!(c->best = dp_alloc(n * sizeof(float))) || !c->val_sums)
        return dp_fail(err, DP_EINTERNAL, "out of memory for the best epoch's weights");
    if (!rs) return DP_OK;
    c->sched = (dp_sched){rs->best_epoch, rs->best_loss, rs->bad_epochs, rs->plateau_bad,
                          rs->lr_cuts};
    if (rs->best_epoch > 0) {
        if (!rs->best_params)
            return dp_fail(err, DP_EDATA, "checkpoint names best epoch %d but holds no weights "
                                          "for it", rs->best_epoch);
        memcpy(c->best, rs->best_params, n * sizeof(float));
    }
    /* A run that early stopping ended stays ended unless --early-stop grew. */
    if (c->cfg->early_stop > 0 && rs->best_epoch > 0 && rs->bad_epochs >= c->cfg->early_stop)
        c->early_stopped = c->stop_now = 1;
    return DP_OK;
}

void val_free(train_ctx *c)
{
    dp_free(c->best);
    free(c->val_sums);
}

void val_eval_rows(train_ctx *c, int t)
{
    if (!c->val) return;
    for (size_t k = (size_t)t; k < c->val_blocks; k += (size_t)c->tc.T) {
        size_t lo = k * VAL_BLOCK, hi = lo + VAL_BLOCK < c->val->n ? lo + VAL_BLOCK : c->val->n;
        dp_eval_rows(&c->tc, t, c->val, lo, hi, NULL, &c->val_sums[2 * k],
                     &c->val_sums[2 * k + 1]);
    }
}

/* The decision on complete epoch `epoch`, its flags said where they change the run. */
static void decide(train_ctx *c, int epoch, dp_epoch_stats *st)
{
    int f = dp_sched_epoch_end(c->cfg, &c->sched, epoch, st->val.loss);
    if (f & DP_SCHED_IMPROVED)
        memcpy(c->best, c->tc.params, c->tc.lay->n_params * sizeof(float));
    char line[160];
    if (f & DP_SCHED_CUT) {
        snprintf(line, sizeof line, "plateau: no better validation loss for %d epochs, lr cut "
                 "to %g", c->cfg->plateau_patience, (double)step_lr(c, c->global_step + 1));
        say(c, line);
    }
    if (f & DP_SCHED_STOP) {
        st->early_stopped = c->early_stopped = c->stop_now = 1;
        snprintf(line, sizeof line, "early stop after epoch %d: no better validation loss for "
                 "%d epochs (best: epoch %d)", epoch, c->sched.bad_epochs, c->sched.best_epoch);
        say(c, line);
    }
}

void val_epoch_stats(train_ctx *c, int epoch, int partial, dp_epoch_stats *st)
{
    st->lr = step_lr(c, c->global_step > 0 ? c->global_step : 1);
    if (!c->val) return;
    double l = 0.0, s = 0.0;
    for (size_t k = 0; k < c->val_blocks; k++) {
        l += c->val_sums[2 * k];
        s += c->val_sums[2 * k + 1];
    }
    double n = (double)c->val->n;
    st->has_val = 1;
    st->val.samples = c->val->n;
    st->val.loss = l / n;
    if (st->classification)
        st->val.accuracy = s / n;
    else
        st->val.mae = s / n;
    if (!partial) decide(c, epoch, st);
    st->best_epoch = c->sched.best_epoch;
    st->best_val_loss = c->sched.best_loss;
}

void val_state_out(const train_ctx *c, dp_train_state *st)
{
    st->best_epoch = c->sched.best_epoch;
    st->best_loss = c->sched.best_loss;
    st->bad_epochs = c->sched.bad_epochs;
    st->plateau_bad = c->sched.plateau_bad;
    st->lr_cuts = c->sched.lr_cuts;
    st->best_params = c->sched.best_epoch > 0 ? c->best : NULL;
}

void val_finish(train_ctx *c, float *params)
{
    if (!c->val || c->sched.best_epoch < 1) return;
    memcpy(params, c->best, c->tc.lay->n_params * sizeof(float));
    char line[160];
    snprintf(line, sizeof line, "the model holds epoch %d's weights (best validation loss %.6g)",
             c->sched.best_epoch, c->sched.best_loss);
    say(c, line);
}
