/* Learning-rate schedules and the best-epoch bookkeeping (schedule.h). Computed in double
 * from the step number alone (and the plateau's cut count), never accumulated step by step,
 * so a resumed run gets the very same lr bits as the uninterrupted one. */
#include "schedule.h"

#include <math.h>

static double base_lr(const dp_train_config *cfg, const dp_sched *st, long step, long spe)
{
    double lr = cfg->lr;
    switch (cfg->schedule) {
    case DP_SCHED_CONSTANT: break;
    case DP_SCHED_STEP: {
        long epoch = spe > 0 ? (step - 1) / spe + 1 : 1;
        long decays = cfg->lr_step > 0 ? (epoch - 1) / cfg->lr_step : 0;
        lr *= pow((double)cfg->lr_gamma, (double)decays);
        break;
    }
    case DP_SCHED_COSINE: {
        double T = (double)cfg->epochs * (double)spe - (double)cfg->warmup;
        double t = (double)(step - 1 - cfg->warmup);
        if (t < 0.0) t = 0.0;
        if (T < 1.0) T = 1.0;
        if (t > T) t = T;
        double lo = cfg->lr_min;
        lr = lo + (lr - lo) * 0.5 * (1.0 + cos(M_PI * t / T));
        break;
    }
    case DP_SCHED_PLATEAU:
        lr *= pow((double)cfg->plateau_factor, (double)st->lr_cuts);
        if (lr < cfg->lr_min) lr = cfg->lr_min;
        break;
    }
    return lr;
}

double dp_sched_lr(const dp_train_config *cfg, const dp_sched *st, long step,
                   long steps_per_epoch)
{
    if (step < 1) step = 1;
    double lr = base_lr(cfg, st, step, steps_per_epoch);
    if (cfg->warmup > 0 && step < cfg->warmup) lr *= (double)step / (double)cfg->warmup;
    return lr;
}

int dp_sched_epoch_end(const dp_train_config *cfg, dp_sched *st, int epoch, double val_loss)
{
    if (isfinite(val_loss) && (st->best_epoch == 0 || val_loss < st->best_loss)) {
        st->best_epoch = epoch;
        st->best_loss = val_loss;
        st->bad_epochs = 0;
        st->plateau_bad = 0;
        return DP_SCHED_IMPROVED;
    }
    int flags = 0;
    st->bad_epochs++;
    st->plateau_bad++;
    if (cfg->schedule == DP_SCHED_PLATEAU && cfg->plateau_patience > 0 &&
        st->plateau_bad >= cfg->plateau_patience) {
        st->lr_cuts++;
        st->plateau_bad = 0;
        flags |= DP_SCHED_CUT;
    }
    if (cfg->early_stop > 0 && st->bad_epochs >= cfg->early_stop) flags |= DP_SCHED_STOP;
    return flags;
}
