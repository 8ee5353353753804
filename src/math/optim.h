/* Optimizers over a contiguous run of the flat parameter vector. They know nothing of layers:
 * params, gradient, and moments share one layout, so a worker updates its slice in one loop.
 * The loops are the kernels' flat-vector ops (kernels.h), dispatched with the other kernels. */
#ifndef DP_OPTIM_H
#define DP_OPTIM_H
#include <stddef.h>

#include "dpmlp.h"

/* Constants of one optimizer step, computed once per step (Adam's bias corrections). */
typedef struct dp_optim_step {
    dp_optim_kind kind;
    float lr, momentum, weight_decay, beta1, beta2, eps;
    float adam_c1, adam_c2;  /* 1 / (1 - beta^t) */
} dp_optim_step;

/* step: 1-based count of optimizer steps taken so far including this one. */
void dp_optim_prepare(dp_optim_step *s, const dp_train_config *cfg, long step);

/* params[i] -= update(g[i]) for i in [0, n). g is the batch-averaged gradient. m1/m2 are the
 * first/second moment slices (m1 = momentum velocity; unused ones may be NULL).
 * Weight decay is classic L2: g += weight_decay * param (sgd, momentum, adam); adamw decouples
 * it: param -= lr * weight_decay * param beside the Adam step. Returns how
 * many values the update left non-finite (weights; Adam: also second moments), counted in the
 * same pass: the engine's divergence check. n < 2^32. */
size_t dp_optim_apply(const dp_optim_step *s, float *params, const float *g, float *m1,
                      float *m2, size_t n);

/* Most blocks one sum takes: worker blocks (threads) or deterministic micro-shards. */
#define DP_OPTIM_MAX_BLOCKS DP_MAX_THREADS

/* out[0..n) = scale · Σ_{u = 0..n_blocks-1} blocks[u][offset + i], summed in block order: the
 * reduction's fixed order (dp_block_sum, with 1 ≤ n_blocks ≤ DP_OPTIM_MAX_BLOCKS asserted).
 * Each element is its own sum, so every vector path gives the same bits. */
void dp_optim_sum_blocks(float *out, float *const *blocks, int n_blocks, size_t offset, size_t n,
                         float scale);

/* How many moment arrays the optimizer keeps (0 sgd, 1 momentum, 2 adam and adamw). */
int dp_optim_moments(dp_optim_kind kind);

#endif
