/* The optimizer's constants of one step and the two flat-vector calls the reduction makes (sum,
 * then update). The loops themselves are the kernels' flat ops, so the one dispatch in
 * kernels.c (DPMLP_KERNELS included) picks their instruction set too. */
#include "optim.h"

#include <math.h>

#include "err.h"
#include "kernels.h"

void dp_optim_prepare(dp_optim_step *s, const dp_train_config *cfg, long step)
{
    s->kind = cfg->optim;
    s->lr = cfg->lr;
    s->momentum = cfg->momentum;
    s->weight_decay = cfg->weight_decay;
    s->beta1 = cfg->beta1;
    s->beta2 = cfg->beta2;
    s->eps = cfg->eps;
    s->adam_c1 = (float)(1.0 / (1.0 - pow((double)cfg->beta1, (double)step)));
    s->adam_c2 = (float)(1.0 / (1.0 - pow((double)cfg->beta2, (double)step)));
}

int dp_optim_moments(dp_optim_kind kind)
{
    return kind == DP_OPT_ADAM || kind == DP_OPT_ADAMW ? 2 : kind == DP_OPT_MOMENTUM ? 1 : 0;
}

size_t dp_optim_apply(const dp_optim_step *s, float *params, const float *g, float *m1,
                      float *m2, size_t n)
{
    int adamw = s->kind == DP_OPT_ADAMW;
    const dp_update_hyper h = {
        .lr = s->lr,
        /* AdamW takes the decay out of the gradient (no L2 term in the moments). */
        .weight_decay = adamw ? 0.0f : s->weight_decay,
        .decay = adamw ? s->lr * s->weight_decay : 0.0f,
        .momentum = s->momentum,
        .beta1 = s->beta1,
        .beta2 = s->beta2,
        .eps = s->eps,
        .step_size = s->lr * s->adam_c1,
        .c2 = s->adam_c2,
    };
    switch (s->kind) {
    case DP_OPT_SGD: return dp_sgd_update(params, g, n, &h);
    case DP_OPT_MOMENTUM: return dp_momentum_update(params, g, m1, n, &h);
    case DP_OPT_ADAM:
    case DP_OPT_ADAMW: return dp_adam_update(params, g, m1, m2, n, &h);
    }
    return 0;
}

void dp_optim_sum_blocks(float *out, float *const *blocks, int n_blocks, size_t offset, size_t n,
                         float scale)
{
    DP_ASSERT(n_blocks <= DP_OPTIM_MAX_BLOCKS);
    dp_block_sum(out, blocks, n_blocks, offset, n, scale);
}
