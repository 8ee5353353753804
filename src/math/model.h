/* The network: flat parameter layout, init, and forward/backward of ONE shard. Single-threaded
 * and pure over its inputs: it knows nothing of threads, files or datasets.
 *
 * Flat layout (params, gradients, optimizer moments and every worker's private gradient block
 * share it): all layers' weights in order, then all layers' biases. Layer l (0-based) maps
 * sizes[l] inputs to sizes[l+1] outputs; its weights are stored in × out (see kernels.h). */
#ifndef DP_MODEL_H
#define DP_MODEL_H
#include <stddef.h>
#include <stdint.h>

#include "dpmlp.h"
#include "spec.h" /* dp_spec_param_count: n_params of a layout */

typedef struct dp_layout {
    int n_layers;                  /* weight layers = n_sizes - 1 */
    size_t w_off[DP_MAX_SIZES];    /* offset of layer l's weights in the flat vector */
    size_t b_off[DP_MAX_SIZES];    /* offset of layer l's biases */
    size_t n_params;
    size_t max_width;              /* widest layer (for workspace sizing) */
} dp_layout;

struct dp_model {
    dp_spec spec;
    dp_layout layout;
    float *params;                 /* n_params, 64-byte aligned */
};

void dp_layout_init(dp_layout *lay, const dp_spec *spec);

/* He (relu, leaky_relu, gelu) or Glorot (sigmoid, tanh, linear, and the output layer)
 * uniform init of weights, zero biases, from the seed. */
void dp_model_init_params(const dp_spec *spec, const dp_layout *lay, float *params, uint64_t seed);

/* Per-shard scratch: activations of every layer for up to max_rows rows, and two gradient
 * buffers. Allocated by the worker that uses it (first touch → local memory). */
typedef struct dp_workspace {
    size_t max_rows;
    float *act[DP_MAX_SIZES];      /* act[0] = input rows (gathered), act[l+1] = layer l output */
    float *grad_a, *grad_b;        /* max_rows × max_width each, ping-pong for dL/d(act) */
    int32_t *labels;               /* max_rows */
    float *targets;                /* max_rows × outputs */
    /* Backward workspaces only: pre[l] = layer l-1's pre-activation where that layer is gelu
     * (its backward needs it); with dropout (dp_workspace_add_dropout) on hidden layer l-1,
     * mask[l] = 0 or 1/(1-p) per unit and drop[l] = act[l] ⊙ mask[l], what layer l reads.
     * drop_on[l]: the last forward applied that dropout. */
    float *pre[DP_MAX_SIZES];
    float *mask[DP_MAX_SIZES], *drop[DP_MAX_SIZES];
    int drop_on[DP_MAX_SIZES];
    struct dp_bf16_ws *bf16;       /* non-NULL: the GEMMs run in bf16 (model_bf16.h) */
} dp_workspace;

/* Dropout of one training forward: rate[l] for hidden layer l (weight layer l's output), and
 * where the mask's bits come from: key (the run's seed and the epoch, dp_dropout_key) and the
 * epoch positions of the shard's rows, row0 + i for row i. */
typedef struct dp_dropout {
    const float *rate;             /* DP_MAX_SIZES entries (dp_train_config.dropout) */
    uint64_t key;
    uint64_t row0;
} dp_dropout;

uint64_t dp_dropout_key(uint64_t seed, int epoch);
/* Does any hidden layer of spec get a non-zero rate? */
int dp_dropout_any(const dp_spec *spec, const float *rate);
/* Unit j of row position pos in hidden layer l: kept (returns 1/(1-p)) or dropped (0), with
 * probability 1 - p of keeping; a pure function of its arguments. */
float dp_dropout_scale(uint64_t key, uint64_t pos, int layer, size_t unit, float p);

dp_status dp_workspace_init(dp_workspace *ws, const dp_spec *spec, size_t max_rows, dp_error *err);
/* Forward-only scratch (evaluation, prediction): no backprop buffers, grad_a/grad_b NULL;
 * dp_model_backward must not be called on it. row_bytes: what one row of it costs, so callers
 * can cap max_rows by memory. */
dp_status dp_workspace_init_forward(dp_workspace *ws, const dp_spec *spec, size_t max_rows,
                                    dp_error *err);
size_t dp_workspace_forward_row_bytes(const dp_spec *spec);
/* The dropout buffers of a backward workspace for the hidden layers with rate[l] > 0. */
dp_status dp_workspace_add_dropout(dp_workspace *ws, const dp_spec *spec, const float *rate,
                                   dp_error *err);
void dp_workspace_free(dp_workspace *ws);

/* Forward over ws->act[0] (m rows): fills act[1..L]; the last holds the output activation
 * (softmax probabilities, sigmoid, or linear values). */
void dp_model_forward(const dp_spec *spec, const dp_layout *lay, const float *params,
                      dp_workspace *ws, size_t m);
/* The same with dropout on the hidden layers (d NULL: none); the workspace must have the
 * buffers (dp_workspace_add_dropout) for every layer with a non-zero rate. The next
 * dp_model_backward differentiates through the same masks. */
void dp_model_forward_train(const dp_spec *spec, const dp_layout *lay, const float *params,
                            dp_workspace *ws, size_t m, const dp_dropout *d);

/* After dp_model_forward: loss summed over the m rows (labels in ws->labels or targets in
 * ws->targets), and the gradient of that SUM w.r.t. every parameter written into grad
 * (flat layout; overwritten when accumulate == 0, added otherwise). Returns the loss sum.
 * t_fwd/t_bwd, if non-NULL, are not touched here: timing belongs to the caller. */
double dp_model_backward(const dp_spec *spec, const dp_layout *lay, const float *params,
                         dp_workspace *ws, size_t m, float *grad, int accumulate);

/* Loss sum and correct-count (classification) or absolute-error sum (regression) of m rows
 * after a forward pass, without gradients. */
void dp_model_score(const dp_spec *spec, dp_workspace *ws, size_t m, double *loss_sum,
                    double *correct_or_abs_err);

#endif
