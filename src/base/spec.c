/* The model spec and training config as users write them: parsing "--layers 784,256,10",
 * validation with messages that name the flag, enum names, and the documented defaults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "spec.h"

dp_status dp_spec_parse_layers(const char *text, dp_spec *spec, dp_error *err)
{
    spec->n_sizes = 0;
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

dp_status dp_spec_validate(const dp_spec *spec, dp_error *err)
{
    if (spec->n_sizes < 2 || spec->n_sizes > DP_MAX_SIZES)
        return dp_fail(err, DP_EUSAGE, "model needs 2..%d layer sizes, got %d", DP_MAX_SIZES,
                       spec->n_sizes);
    for (int i = 0; i < spec->n_sizes; i++)
        if (spec->sizes[i] < 1 || spec->sizes[i] > DP_MAX_WIDTH)
            return dp_fail(err, DP_EUSAGE, "layer %d has size %d (want 1..%d)", i,
                           spec->sizes[i], DP_MAX_WIDTH);
    if ((unsigned)spec->hidden > DP_ACT_TANH)
        return dp_fail(err, DP_EUSAGE, "hidden activation must be relu, sigmoid or tanh");
    if ((unsigned)spec->loss > DP_LOSS_MAE)
        return dp_fail(err, DP_EUSAGE, "loss must be xent, bce, mse or mae");
    int outputs = spec->sizes[spec->n_sizes - 1];
    if (spec->loss == DP_LOSS_XENT && outputs < 2)
        return dp_fail(err, DP_EUSAGE,
                       "--loss xent needs at least 2 outputs (got %d); use --loss bce for one",
                       outputs);
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

/* Today's semantics (one hidden activation, the output one fixed by the loss); per-layer
 * activations replace this body, not its contract. */
dp_act dp_spec_layer_act(const dp_spec *spec, int layer)
{
    if (layer < spec->n_sizes - 2) return spec->hidden;
    switch (spec->loss) {
    case DP_LOSS_XENT: return DP_ACT_SOFTMAX;
    case DP_LOSS_BCE: return DP_ACT_SIGMOID;
    default: return DP_ACT_LINEAR;
    }
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
    cfg->seed = 1;
    cfg->threads = 1;
    cfg->bind = DP_BIND_COMPACT;
}
