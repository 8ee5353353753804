/* Flag tables and value parsing for the CLI, with every problem returned as a DP_EUSAGE error
 * that names the flag (the CLI prints it and exits 64). */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define V DP_OPT_VALUE
#define P DP_OPT_PATH
#define S DP_OPT_SWITCH
const dp_opt_def DP_TRAIN_OPTS[] = {
    {"data", P},     {"train", P},   {"test", P},         {"layers", V},
    {"act", V},      {"loss", V},    {"optim", V},        {"lr", V},
    {"momentum", V}, {"weight-decay", V}, {"beta1", V},   {"beta2", V},
    {"epochs", V},   {"batch", V},   {"seed", V},         {"threads", V},
    {"bind", V},     {"reduce", V},  {"team", V},         {"steps", V},
    {"deterministic", S}, {"log", P}, {"save", P},        {"checkpoint", P},
    {"checkpoint-every", V}, {"resume", P}, {"resume-any-data", S}, {"verify-ranks", S},
    {"quiet", S}, {"precision", V}, {"help", S},
    {"out", V}, {"leaky-slope", V}, {"dropout", V},
    /* validation, early stopping, lr schedules */
    {"val", P}, {"val-split", V}, {"early-stop", V}, {"schedule", V}, {"warmup", V},
    {"lr-min", V}, {"lr-step", V}, {"lr-gamma", V}, {"plateau-patience", V},
    {"plateau-factor", V}, {NULL, 0}};
const dp_opt_def DP_EVAL_OPTS[] = {{"model", P}, {"data", P}, {"test", P},
                                   {"threads", V}, {"precision", V}, {"metrics", S},
                                   {"help", S}, {NULL, 0}};
const dp_opt_def DP_PREDICT_OPTS[] = {{"model", P}, {"data", P}, {"input", P}, {"threads", V},
                                      {"proba", S}, {"precision", V}, {"help", S}, {NULL, 0}};
const dp_opt_def DP_TOPO_OPTS[] = {{"threads", V}, {"bind", V}, {"help", S}, {NULL, 0}};
#undef V
#undef P
#undef S


dp_status dp_opts_parse(int argc, char **argv, int first, const dp_opt_def *defs, dp_opts *out,
                        dp_error *err)
{
    out->n = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            return dp_fail(err, DP_EUSAGE, "unexpected argument '%.100s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const dp_opt_def *d = NULL;
        for (const dp_opt_def *p = defs; p->name; p++)
            if (strlen(p->name) == len && !strncmp(p->name, name, len)) d = p;
        if (!d) return dp_fail(err, DP_EUSAGE, "unknown flag '--%.*s'", (int)(len > 100 ? 100 : len), name);
        const char *value = "";
        if (d->takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return dp_fail(err, DP_EUSAGE, "--%s needs a value", d->name);
        } else if (eq) {
            return dp_fail(err, DP_EUSAGE, "--%s takes no value", d->name);
        }
        if (d->takes_value == DP_OPT_PATH && !*value)
            return dp_fail(err, DP_EUSAGE, "--%s needs a file name, got an empty one", d->name);
        if (out->n == DP_MAX_OPTS) return dp_fail(err, DP_EUSAGE, "too many flags");
        out->name[out->n] = d->name;
        out->value[out->n] = value;
        out->n++;
    }
    return DP_OK;
}

const char *dp_opts_get(const dp_opts *o, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->name[i], name)) v = o->value[i];
    return v;
}

dp_status dp_flag_long(const char *flag, const char *s, long lo, long hi, long *out,
                       dp_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || isspace((unsigned char)s[0]))
        return dp_fail(err, DP_EUSAGE, "--%s '%.60s' is not an integer", flag, s);
    if (v < lo || v > hi)
        return dp_fail(err, DP_EUSAGE, "--%s %ld out of range %ld..%ld", flag, v, lo, hi);
    *out = v;
    return DP_OK;
}

dp_status dp_flag_u64(const char *flag, const char *s, uint64_t *out, dp_error *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || !isdigit((unsigned char)s[0]))
        return dp_fail(err, DP_EUSAGE, "--%s '%.60s' is not a non-negative integer", flag, s);
    *out = (uint64_t)v;
    return DP_OK;
}

dp_status dp_flag_float(const char *flag, const char *s, double lo, int lo_open, double hi,
                        float *out, dp_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || isspace((unsigned char)s[0]))
        return dp_fail(err, DP_EUSAGE, "--%s '%.60s' is not a number", flag, s);
    /* Checked after narrowing: 1e-50 is > 0 as a double but 0 as a float. */
    float f = (float)v;
    if ((lo_open ? !(f > lo) : f < lo) || f > hi)
        return dp_fail(err, DP_EUSAGE, "--%s %.60s out of range (%s%g .. %g)", flag, s,
                       lo_open ? ">" : "", lo, hi);
    *out = f;
    return DP_OK;
}

dp_status dp_flag_choice(const char *flag, const char *s, const char *const *names, int *out,
                         dp_error *err)
{
    char list[128] = "";
    for (int i = 0; names[i]; i++) {
        if (!strcmp(s, names[i])) {
            *out = i;
            return DP_OK;
        }
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return dp_fail(err, DP_EUSAGE, "--%s '%.60s': expected %s", flag, s, list);
}

dp_status dp_flags_spec(const dp_opts *o, dp_spec *spec, dp_error *err)
{
    const char *layers = dp_opts_get(o, "layers");
    dp_status st = dp_spec_parse_layers(layers ? layers : "784,256,128,10", spec, err);
    if (st != DP_OK) return st;
    const char *v;
    int choice;
    spec->hidden = DP_ACT_RELU;
    spec->loss = DP_LOSS_XENT;
    if ((v = dp_opts_get(o, "loss"))) {
        if ((st = dp_flag_choice("loss", v, dp_names(DP_NAMES_LOSS), &choice, err)) != DP_OK) return st;
        spec->loss = (dp_loss)choice;
    }
    if ((st = dp_flags_acts(o, spec, err)) != DP_OK) return st;
    return dp_spec_validate(spec, err);
}

/* One flag → one float field: keeps dp_flags_train_config a flat list of rules. */
static dp_status float_flag(const dp_opts *o, const char *flag, double lo, int lo_open, double hi,
                            float *field, dp_error *err)
{
    const char *v = dp_opts_get(o, flag);
    return v ? dp_flag_float(flag, v, lo, lo_open, hi, field, err) : DP_OK;
}

static dp_status long_flag(const dp_opts *o, const char *flag, long lo, long hi, long *field,
                           dp_error *err)
{
    const char *v = dp_opts_get(o, flag);
    return v ? dp_flag_long(flag, v, lo, hi, field, err) : DP_OK;
}

/* --val-split, --early-stop and the schedule's flags (their combinations are the engine's
 * to check: dp_train_val says which rule a run breaks). */
static dp_status val_schedule_flags(const dp_opts *o, dp_train_config *cfg, dp_error *err)
{
    const char *v;
    int choice;
    dp_status st;
    if ((v = dp_opts_get(o, "schedule"))) {
        if ((st = dp_flag_choice("schedule", v, dp_names(DP_NAMES_SCHEDULE), &choice, err)))
            return st;
        cfg->schedule = (dp_schedule)choice;
    }
    long early = 0, warmup = 0, lr_step = cfg->lr_step, patience = cfg->plateau_patience;
    if ((st = float_flag(o, "val-split", 0.0, 1, 0.999999, &cfg->val_split, err)) ||
        (st = long_flag(o, "early-stop", 1, 1000000, &early, err)) ||
        (st = long_flag(o, "warmup", 0, 1L << 40, &warmup, err)) ||
        (st = float_flag(o, "lr-min", 0.0, 0, 1e6, &cfg->lr_min, err)) ||
        (st = long_flag(o, "lr-step", 1, 1000000, &lr_step, err)) ||
        (st = float_flag(o, "lr-gamma", 0.0, 1, 1e6, &cfg->lr_gamma, err)) ||
        (st = long_flag(o, "plateau-patience", 1, 1000000, &patience, err)) ||
        (st = float_flag(o, "plateau-factor", 0.0, 1, 0.999999, &cfg->plateau_factor, err)))
        return st;
    cfg->early_stop = (int)early;
    cfg->warmup = warmup;
    cfg->lr_step = (int)lr_step;
    cfg->plateau_patience = (int)patience;
    return DP_OK;
}

dp_status dp_flags_train_config(const dp_opts *o, dp_train_config *cfg, dp_error *err)
{
    dp_train_config_defaults(cfg);
    const char *v;
    int choice;
    dp_status st;
    if ((v = dp_opts_get(o, "optim"))) {
        if ((st = dp_flag_choice("optim", v, dp_names(DP_NAMES_OPTIM), &choice, err)) != DP_OK) return st;
        cfg->optim = (dp_optim_kind)choice;
    }
    /* Each optimizer's usual step size unless --lr says otherwise. */
    int adam_like = cfg->optim == DP_OPT_ADAM || cfg->optim == DP_OPT_ADAMW;
    cfg->lr = adam_like ? 1e-3f : cfg->optim == DP_OPT_MOMENTUM ? 0.05f : 0.1f;
    long epochs = cfg->epochs, batch = cfg->batch, steps = 0;
    if ((st = float_flag(o, "lr", 0.0, 1, 1e6, &cfg->lr, err)) ||
        (st = float_flag(o, "momentum", 0.0, 0, 0.999999, &cfg->momentum, err)) ||
        (st = float_flag(o, "weight-decay", 0.0, 0, 1e6, &cfg->weight_decay, err)) ||
        (st = float_flag(o, "beta1", 0.0, 0, 0.999999, &cfg->beta1, err)) ||
        (st = float_flag(o, "beta2", 0.0, 0, 0.999999, &cfg->beta2, err)) ||
        (st = long_flag(o, "epochs", 1, 1000000, &epochs, err)) ||
        (st = long_flag(o, "batch", 1, 1L << 24, &batch, err)) ||
        (st = long_flag(o, "steps", 1, 1L << 40, &steps, err)))
        return st;
    cfg->epochs = (int)epochs;
    cfg->batch = (int)batch;
    cfg->max_steps = steps;
    if ((v = dp_opts_get(o, "seed")) && (st = dp_flag_u64("seed", v, &cfg->seed, err)) != DP_OK)
        return st;
    if ((v = dp_opts_get(o, "reduce"))) {
        if ((st = dp_flag_choice("reduce", v, dp_names(DP_NAMES_REDUCE), &choice, err)) != DP_OK) return st;
        cfg->reduce = (dp_reduce)choice;
    }
    if ((v = dp_opts_get(o, "team"))) {
        if ((st = dp_flag_choice("team", v, dp_names(DP_NAMES_TEAM), &choice, err)) != DP_OK) return st;
        cfg->team_openmp = choice == 1;
    }
    cfg->deterministic = dp_opts_get(o, "deterministic") != NULL;
    cfg->verify_ranks = dp_opts_get(o, "verify-ranks") != NULL;
    cfg->resume_any_data = dp_opts_get(o, "resume-any-data") != NULL;
    cfg->quiet = dp_opts_get(o, "quiet") != NULL;
    if ((st = val_schedule_flags(o, cfg, err)) != DP_OK) return st;
    return dp_flags_precision(o, &cfg->precision, err);
}

dp_status dp_flags_precision(const dp_opts *o, dp_precision *out, dp_error *err)
{
    const char *v = dp_opts_get(o, "precision");
    int choice = DP_PRECISION_FP32;
    dp_status st = v ? dp_flag_choice("precision", v, dp_names(DP_NAMES_PRECISION), &choice, err)
                     : DP_OK;
    if (st == DP_OK) *out = (dp_precision)choice;
    return st;
}
