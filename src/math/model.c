/* The network proper: flat parameter layout, seeded init, and forward/backward of one shard
 * (m rows) through every layer. Pure over its inputs and single-threaded: the trainer calls it
 * from each worker on that worker's own workspace and gradient block. */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "kernels.h"
#include "dropout.h"
#include "loss.h"
#include "model_bf16.h"
#include "rng.h"

void dp_layout_init(dp_layout *lay, const dp_spec *spec)
{
    memset(lay, 0, sizeof *lay);
    lay->n_layers = spec->n_sizes - 1;
    size_t off = 0;
    for (int l = 0; l < lay->n_layers; l++) {
        lay->w_off[l] = off;
        off += (size_t)spec->sizes[l] * (size_t)spec->sizes[l + 1];
    }
    for (int l = 0; l < lay->n_layers; l++) {
        lay->b_off[l] = off;
        off += (size_t)spec->sizes[l + 1];
    }
    lay->n_params = off;
    for (int l = 0; l < spec->n_sizes; l++)
        if ((size_t)spec->sizes[l] > lay->max_width) lay->max_width = (size_t)spec->sizes[l];
    /* A layout is only ever built from a valid spec (the count is 0 for an invalid one). */
    DP_ASSERT(off == dp_spec_param_count(spec));
}

/* The flat block's invariants (model.h), checked once per forward/backward call: the block is
 * 64-byte aligned (dp_alloc), the layout belongs to this spec, and every layer's weight and
 * bias views lie inside it, weights before biases. */
static void assert_layout(const dp_spec *spec, const dp_layout *lay, const float *block)
{
    DP_ASSERT(((uintptr_t)block & 63u) == 0);
    DP_ASSERT(lay->n_layers >= 1 && lay->n_layers == spec->n_sizes - 1);
    for (int l = 0; l < lay->n_layers; l++) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        DP_ASSERT(lay->w_off[l] + in * out <= lay->b_off[0]);
        DP_ASSERT(lay->b_off[l] + out <= lay->n_params);
    }
}

void dp_model_init_params(const dp_spec *spec, const dp_layout *lay, float *params, uint64_t seed)
{
    dp_rng rng;
    dp_rng_seed(&rng, seed, 0x1a17u /* init stream, distinct from the shuffles' */);
    for (int l = 0; l < lay->n_layers; l++) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        dp_act a = dp_spec_layer_act(spec, l);
        int feeds_relu = (a == DP_ACT_RELU || a == DP_ACT_LEAKY_RELU || a == DP_ACT_GELU) &&
                         l + 1 < lay->n_layers;
        /* He for layers whose outputs go through a ReLU-like unit (keeps activation variance),
         * Glorot for sigmoid/tanh/linear and for the output layer. Uniform with the matching
         * variance. */
        double limit = feeds_relu ? sqrt(6.0 / (double)in) : sqrt(6.0 / (double)(in + out));
        float *w = params + lay->w_off[l];
        for (size_t i = 0; i < in * out; i++)
            w[i] = (float)((2.0 * dp_rng_uniform(&rng) - 1.0) * limit);
        memset(params + lay->b_off[l], 0, out * sizeof(float));
    }
}

/* Both inits: activations, labels and targets always; the two backprop buffers only when
 * the workspace will run backward. */
static dp_status workspace_alloc(dp_workspace *ws, const dp_spec *spec, size_t max_rows,
                                 int backward, dp_error *err)
{
    memset(ws, 0, sizeof *ws);
    ws->max_rows = max_rows;
    size_t widest = 0;
    for (int l = 0; l < spec->n_sizes; l++) {
        size_t w = (size_t)spec->sizes[l];
        widest = w > widest ? w : widest;
        ws->act[l] = dp_calloc(max_rows * w * sizeof(float));
        if (!ws->act[l]) goto oom;
    }
    size_t outputs = (size_t)spec->sizes[spec->n_sizes - 1];
    if (backward) {
        ws->grad_a = dp_calloc(max_rows * widest * sizeof(float));
        ws->grad_b = dp_calloc(max_rows * widest * sizeof(float));
        if (!ws->grad_a || !ws->grad_b) goto oom;
        for (int l = 0; l + 1 < spec->n_sizes; l++)
            if (dp_spec_layer_act(spec, l) == DP_ACT_GELU &&
                !(ws->pre[l + 1] = dp_calloc(max_rows * (size_t)spec->sizes[l + 1] * sizeof(float))))
                goto oom;
    }
    ws->labels = dp_calloc(max_rows * sizeof(int32_t));
    ws->targets = dp_calloc(max_rows * outputs * sizeof(float));
    if (ws->labels && ws->targets) return DP_OK;
oom:
    dp_workspace_free(ws);
    return dp_fail(err, DP_EINTERNAL, "out of memory for a %zu-row workspace", max_rows);
}

dp_status dp_workspace_init(dp_workspace *ws, const dp_spec *spec, size_t max_rows, dp_error *err)
{
    return workspace_alloc(ws, spec, max_rows, 1, err);
}

dp_status dp_workspace_init_forward(dp_workspace *ws, const dp_spec *spec, size_t max_rows,
                                    dp_error *err)
{
    return workspace_alloc(ws, spec, max_rows, 0, err);
}

size_t dp_workspace_forward_row_bytes(const dp_spec *spec)
{
    size_t floats = (size_t)spec->sizes[spec->n_sizes - 1]; /* targets */
    for (int l = 0; l < spec->n_sizes; l++) floats += (size_t)spec->sizes[l];
    return floats * sizeof(float) + sizeof(int32_t);
}

void dp_workspace_free(dp_workspace *ws)
{
    for (int l = 0; l < DP_MAX_SIZES; l++) {
        dp_free(ws->act[l]);
        dp_free(ws->pre[l]);
        dp_free(ws->mask[l]);
        dp_free(ws->drop[l]);
    }
    dp_free(ws->grad_a);
    dp_free(ws->grad_b);
    dp_free(ws->labels);
    dp_free(ws->targets);
    dp_bf16_ws_free(ws->bf16);
    memset(ws, 0, sizeof *ws);
}

/* What layer l reads: act[l], or its dropped copy when the last forward applied dropout. */
static const float *layer_input(const dp_workspace *ws, int l)
{
    return ws->drop_on[l] ? ws->drop[l] : ws->act[l];
}

/* Layer l: act[l+1] (m × out) = f_l(in_l (m × in) · W_l (in × out) + b_l), in_l = layer_input;
 * the output layer's f is dp_output_forward's. */
void dp_model_forward_train(const dp_spec *spec, const dp_layout *lay, const float *params,
                            dp_workspace *ws, size_t m, const dp_dropout *d)
{
    assert_layout(spec, lay, params);
    DP_ASSERT(m <= ws->max_rows);
    for (int l = 0; l < lay->n_layers; l++) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        int last = l + 1 == lay->n_layers;
        dp_act a = dp_spec_layer_act(spec, l), f = last ? DP_ACT_LINEAR : a;
        const float *bias = params + lay->b_off[l];
        float *z = last ? NULL : ws->pre[l + 1];
        if (ws->bf16) {
            dp_bf16_forward(ws->bf16, l, m, in, out, layer_input(ws, l), ws->act[l + 1]);
            dp_bias_act_forward(ws->act[l + 1], bias, m, out, f, spec->leaky_slope, z);
        } else {
            dp_gemm_nn_bias_act(m, out, in, layer_input(ws, l), in, params + lay->w_off[l], out,
                                ws->act[l + 1], out, bias, f, spec->leaky_slope, z);
        }
        ws->drop_on[l + 1] = 0;
        if (last)
            dp_output_forward(a, ws->act[l + 1], m, out);
        else if (d && d->rate[l] > 0.0f)
            dp_dropout_apply(ws, d, l, m, out);
    }
}

void dp_model_forward(const dp_spec *spec, const dp_layout *lay, const float *params,
                      dp_workspace *ws, size_t m)
{
    dp_model_forward_train(spec, lay, params, ws, m, NULL);
}

/* Walks the layers backwards with dz (m × out) = dLsum/d(pre-activation) of layer l:
 *   dW_l = in_lᵀ · dz,  db_l = Σ_rows dz,
 *   dz_{l-1} = ((dz · W_lᵀ) ⊙ mask_l) ⊙ f'_{l-1}(act[l])   (mask_l: 1 without dropout). */
double dp_model_backward(const dp_spec *spec, const dp_layout *lay, const float *params,
                         dp_workspace *ws, size_t m, float *grad, int accumulate)
{
    assert_layout(spec, lay, params);
    assert_layout(spec, lay, grad);
    DP_ASSERT(m <= ws->max_rows);
    int L = lay->n_layers;
    size_t outputs = (size_t)spec->sizes[L];
    float *dz = ws->grad_a, *dprev = ws->grad_b;
    double loss = dp_loss_eval(spec->loss, ws->act[L], m, outputs, ws->labels, ws->targets, dz);
    dp_output_backward(dp_spec_layer_act(spec, L - 1), spec->loss, dz, ws->act[L], m, outputs);
    for (int l = L - 1; l >= 0; l--) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        if (ws->bf16)
            dp_bf16_wgrad(ws->bf16, m, in, out, layer_input(ws, l), dz, grad + lay->w_off[l],
                          accumulate);
        else
            dp_gemm_tn(in, out, m, layer_input(ws, l), in, dz, out, grad + lay->w_off[l], out,
                       accumulate);
        dp_colsum(grad + lay->b_off[l], dz, m, out, accumulate);
        if (l > 0) {
            if (ws->bf16)
                dp_bf16_igrad(ws->bf16, l, m, in, out, dz, dprev);
            else
                dp_gemm_nt(m, in, out, dz, out, params + lay->w_off[l], out, dprev, in, 0);
            if (ws->drop_on[l])
                for (size_t i = 0; i < m * in; i++) dprev[i] *= ws->mask[l][i];
            dp_act_backward(dprev, ws->act[l], ws->pre[l], m * in, dp_spec_layer_act(spec, l - 1),
                            spec->leaky_slope);
            float *t = dz;
            dz = dprev;
            dprev = t;
        }
    }
    return loss;
}

void dp_model_score(const dp_spec *spec, dp_workspace *ws, size_t m, double *loss_sum,
                    double *correct_or_abs_err)
{
    DP_ASSERT(m <= ws->max_rows);
    int L = spec->n_sizes - 1;
    size_t outputs = (size_t)spec->sizes[L];
    *loss_sum = dp_loss_eval(spec->loss, ws->act[L], m, outputs, ws->labels, ws->targets, NULL);
    *correct_or_abs_err =
        dp_loss_score(spec->loss, ws->act[L], m, outputs, ws->labels, ws->targets);
}
