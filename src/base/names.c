/* The one enum <-> name table. Flags, files, logs and messages spell every activation, loss,
 * optimizer, placement, reduction and team from here, so a new value is added in one place. */
#include <string.h>

#include "dpmlp.h"

static const char *const ACT[] = {"relu",    "sigmoid",    "tanh", "linear",
                                   "softmax", "leaky_relu", "gelu", NULL};
static const char *const LOSS[] = {"xent", "bce", "mse", "mae", NULL};
static const char *const OPTIM[] = {"sgd", "momentum", "adam", "adamw", NULL};
static const char *const BIND[] = {"compact", "spread", "none", NULL};
static const char *const REDUCE[] = {"segmented", "serial", "tree", NULL};
static const char *const TEAM[] = {"pthreads", "openmp", NULL};
static const char *const SCHEDULE[] = {"constant", "step", "cosine", "plateau", NULL};
static const char *const PRECISION[] = {"fp32", "bf16", NULL};
static const char *const EXPORT[] = {"onnx", "npz", "csv", NULL};

static const char *const *const TABLES[] = {
    [DP_NAMES_ACT] = ACT,       [DP_NAMES_LOSS] = LOSS,     [DP_NAMES_OPTIM] = OPTIM,
    [DP_NAMES_BIND] = BIND,     [DP_NAMES_REDUCE] = REDUCE, [DP_NAMES_TEAM] = TEAM,
    [DP_NAMES_SCHEDULE] = SCHEDULE,
    [DP_NAMES_PRECISION] = PRECISION,
    [DP_NAMES_EXPORT] = EXPORT,
};

const char *const *dp_names(dp_names_kind kind)
{
    static const char *const none[] = {NULL};
    return (unsigned)kind < sizeof TABLES / sizeof *TABLES ? TABLES[kind] : none;
}

const char *dp_name_of(dp_names_kind kind, int value)
{
    const char *const *t = dp_names(kind);
    for (int i = 0; t[i]; i++)
        if (i == value) return t[i];
    return "?";
}

int dp_name_lookup(dp_names_kind kind, const char *name)
{
    const char *const *t = dp_names(kind);
    for (int i = 0; name && t[i]; i++)
        if (!strcmp(t[i], name)) return i;
    return -1;
}

const char *dp_act_name(dp_act a) { return dp_name_of(DP_NAMES_ACT, (int)a); }
const char *dp_loss_name(dp_loss l) { return dp_name_of(DP_NAMES_LOSS, (int)l); }
const char *dp_optim_name(dp_optim_kind o) { return dp_name_of(DP_NAMES_OPTIM, (int)o); }
const char *dp_bind_name(dp_bind b) { return dp_name_of(DP_NAMES_BIND, (int)b); }
const char *dp_reduce_name(dp_reduce r) { return dp_name_of(DP_NAMES_REDUCE, (int)r); }
