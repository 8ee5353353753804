/* The model spec and training config as users write them: parsing "--layers 784,256,10",
 * validation with messages that name the flag, enum names, and the documented defaults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "spec.h"

dp_status dp_spec_parse_layers(const char *text, dp_spec *spec, dp_error *err)
{
    /* The whole spec, so a caller's stack struct holds no garbage in the fields it never sets
     * (per-layer activations came after the first clients were written). */
    memset(spec, 0, sizeof *spec);
    spec->hidden = DP_ACT_RELU;
    spec->loss = DP_LOSS_XENT;
    spec->leaky_slope = DP_LEAKY_SLOPE_DEFAULT;
    const char *p = text;
    if (!p || !*p) return dp_fail(err, DP_EUSAGE, "--layers: empty list (want e.g. 784,256,10)");
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end != ',' && *end != '\0'))
            return dp_fail(err, DP_EUSAGE, "--layers '%s': '%.*s' is not a layer size", text,
                           (int)strcspn(p, ","), p);
        if (v < 1 || v > DP_MAX_WIDTH)
            return dp_fail(err, DP_EUSAGE, "--layers '%s': layer size %ld out of range 1..%d",
                           text, v, DP_MAX_WIDTH);
        if (spec->n_sizes == DP_MAX_SIZES)
            return dp_fail(err, DP_EUSAGE, "--layers '%s': more than %d sizes", text,
                           DP_MAX_SIZES);
        spec->sizes[spec->n_sizes++] = (int)v;
        if (*end == '\0') break;
        p = end + 1;
    }
    if (spec->n_sizes < 2)
        return dp_fail(err, DP_EUSAGE, "--layers '%s': need at least an input and an output size",
                       text);
    return DP_OK;
}

/* Which activations a hidden layer takes (softmax only as an output). */
static int hidden_act_ok(dp_act a)
{
    return a == DP_ACT_RELU || a == DP_ACT_SIGMOID || a == DP_ACT_TANH || a == DP_ACT_LINEAR ||
           a == DP_ACT_LEAKY_RELU || a == DP_ACT_GELU;
}

/* The output/loss rule: xent and bce are fused with their output (p - y, stable); mse and mae
 * go through any bounded or linear output. */
static int out_fits_loss(dp_act out, dp_loss loss)
{
    if (loss == DP_LOSS_XENT) return out == DP_ACT_SOFTMAX;
    if (loss == DP_LOSS_BCE) return out == DP_ACT_SIGMOID;
    return out == DP_ACT_SOFTMAX || out == DP_ACT_SIGMOID || out == DP_ACT_TANH ||
           out == DP_ACT_LINEAR;
}

static dp_status validate_acts(const dp_spec *spec, dp_error *err)
{
    int L = spec->n_sizes - 1;
    if (spec->n_act != 0 && spec->n_act != L)
        return dp_fail(err, DP_EUSAGE, "the spec gives %d layer activations, its %d weight layers "
                       "need %d (or 0: hidden and the loss's output)", spec->n_act, L, L);
    for (int l = 0; l + 1 < L; l++) {
        dp_act a = dp_spec_layer_act(spec, l);
        if (!hidden_act_ok(a))
            return dp_fail(err, DP_EUSAGE, "--act: hidden layer %d cannot be '%s' (want relu, "
                           "leaky_relu, gelu, tanh, sigmoid or linear)", l + 1, dp_act_name(a));
    }
    dp_act out = dp_spec_layer_act(spec, L - 1);
    if ((unsigned)out > DP_ACT_GELU || !out_fits_loss(out, spec->loss))
        return dp_fail(err, DP_EUSAGE, "--out %s with --loss %s: xent needs --out softmax, bce "
                       "needs --out sigmoid, mse and mae take softmax, sigmoid, tanh or linear",
                       dp_act_name(out), dp_loss_name(spec->loss));
    if (!(spec->leaky_slope >= 0.0f && spec->leaky_slope <= 1.0f))
        return dp_fail(err, DP_EUSAGE, "--leaky-slope %g: want a slope in [0, 1]",
                       (double)spec->leaky_slope);
    return DP_OK;
}

dp_status dp_spec_validate(const dp_spec *spec, dp_error *err)
{
    if (spec->n_sizes < 2 || spec->n_sizes > DP_MAX_SIZES)
        return dp_fail(err, DP_EUSAGE, "model needs 2..%d layer sizes, got %d", DP_MAX_SIZES,
                       spec->n_sizes);
    for (int i = 0; i < spec->n_sizes; i++)
        if (spec->sizes[i] < 1 || spec->sizes[i] > DP_MAX_WIDTH)
            return dp_fail(err, DP_EUSAGE, "layer %d has size %d (want 1..%d)", i,
                           spec->sizes[i], DP_MAX_WIDTH);
    if ((unsigned)spec->loss > DP_LOSS_MAE)
        return dp_fail(err, DP_EUSAGE, "loss must be xent, bce, mse or mae");
    dp_status rc = validate_acts(spec, err);
    if (rc != DP_OK) return rc;
    int outputs = spec->sizes[spec->n_sizes - 1];
    if (spec->loss == DP_LOSS_XENT && outputs < 2)
        return dp_fail(err, DP_EUSAGE,
                       "--loss xent needs at least 2 outputs (got %d); use --loss bce for one",
                       outputs);
    return DP_OK;
}

dp_act dp_loss_default_out(dp_loss loss)
{
    switch (loss) {
    case DP_LOSS_XENT: return DP_ACT_SOFTMAX;
    case DP_LOSS_BCE: return DP_ACT_SIGMOID;
    default: return DP_ACT_LINEAR;
    }
}

dp_act dp_spec_layer_act(const dp_spec *spec, int layer)
{
    int L = spec->n_sizes - 1;
    if (spec->n_act > 0 && layer >= 0 && layer < spec->n_act && layer < DP_MAX_SIZES - 1)
        return spec->act[layer];
    return layer + 1 >= L ? dp_loss_default_out(spec->loss) : spec->hidden;
}

dp_status dp_dropout_validate(const dp_spec *spec, const dp_train_config *cfg, dp_error *err)
{
    for (int l = 0; l < DP_MAX_SIZES; l++) {
        float p = cfg->dropout[l];
        int hidden = l + 2 < spec->n_sizes;
        if (p == 0.0f) continue;
        if (!hidden)
            return dp_fail(err, DP_EUSAGE, "--dropout: rate %g for layer %d, the model has %d "
                           "hidden layers", (double)p, l + 1, spec->n_sizes - 2);
        if (!(p > 0.0f && p < 1.0f))
            return dp_fail(err, DP_EUSAGE, "--dropout %g for hidden layer %d: want a rate in "
                           "[0, 1)", (double)p, l + 1);
    }
    return DP_OK;
}

size_t dp_spec_param_count(const dp_spec *spec)
{
    if (!spec || spec->n_sizes < 2 || spec->n_sizes > DP_MAX_SIZES) return 0;
    size_t n = 0;
    for (int l = 0; l + 1 < spec->n_sizes; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        if (in < 1 || out < 1 || in > DP_MAX_WIDTH || out > DP_MAX_WIDTH) return 0;
        n += (size_t)in * (size_t)out + (size_t)out;
    }
    return n;
}

int dp_spec_is_classification(const dp_spec *spec)
{
    return spec->loss == DP_LOSS_XENT || spec->loss == DP_LOSS_BCE;
}

void dp_train_config_defaults(dp_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->optim = DP_OPT_ADAM;
    cfg->lr = 1e-3f;
    cfg->momentum = 0.9f;
    cfg->weight_decay = 0.0f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
    cfg->epochs = 10;
    cfg->batch = 128;
    cfg->lr_step = 10;
    cfg->lr_gamma = 0.1f;
    cfg->plateau_patience = 5;
    cfg->plateau_factor = 0.1f;
    cfg->seed = 1;
    cfg->threads = 1;
    cfg->bind = DP_BIND_COMPACT;
}
