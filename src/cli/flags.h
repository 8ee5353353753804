/* Command-line flags without side effects: parse "--name value" / "--name=value" lists against
 * a table, convert values with range checks, and turn train flags into a spec and a config.
 * Every problem is a DP_EUSAGE error naming the flag; nothing here prints or exits, so the
 * parser can be fuzzed and tested directly. */
#ifndef DP_FLAGS_H
#define DP_FLAGS_H

#include "dpmlp.h"

#define DP_MAX_OPTS 64

/* What a flag takes: nothing, a value, or a file name (never empty: "" is a usage error
 * naming the flag, not a file that cannot be opened). */
enum { DP_OPT_SWITCH = 0, DP_OPT_VALUE = 1, DP_OPT_PATH = 2 };

typedef struct dp_opt_def {
    const char *name;  /* without the leading dashes */
    int takes_value;   /* DP_OPT_SWITCH, DP_OPT_VALUE or DP_OPT_PATH */
} dp_opt_def;

typedef struct dp_opts {
    int n;
    const char *name[DP_MAX_OPTS];
    const char *value[DP_MAX_OPTS];  /* "" for flags without a value */
} dp_opts;

extern const dp_opt_def DP_TRAIN_OPTS[], DP_EVAL_OPTS[], DP_PREDICT_OPTS[], DP_TOPO_OPTS[];

/* argv[first..argc) against defs (terminated by a NULL name). */
dp_status dp_opts_parse(int argc, char **argv, int first, const dp_opt_def *defs, dp_opts *out,
                        dp_error *err);
/* The last value given for name (later flags win), or NULL. */
const char *dp_opts_get(const dp_opts *o, const char *name);

/* Numbers are written as they are: a leading space (or, for u64, any sign) is refused, so
 * " -1" is not taken for 2^64-1. */
dp_status dp_flag_long(const char *flag, const char *s, long lo, long hi, long *out,
                       dp_error *err);
dp_status dp_flag_u64(const char *flag, const char *s, uint64_t *out, dp_error *err);
/* lo_open: the value must be > lo (else >= lo). */
dp_status dp_flag_float(const char *flag, const char *s, double lo, int lo_open, double hi,
                        float *out, dp_error *err);
/* names: NULL-terminated; *out = index. */
dp_status dp_flag_choice(const char *flag, const char *s, const char *const *names, int *out,
                         dp_error *err);

/* --layers/--act/--loss (defaults 784,256,128,10, relu, xent). */
dp_status dp_flags_spec(const dp_opts *o, dp_spec *spec, dp_error *err);
/* --act (one or a list per hidden layer), --out, --leaky-slope into spec->act/n_act (after
 * --layers and --loss are in spec): every weight layer's activation, given or defaulted. */
dp_status dp_flags_acts(const dp_opts *o, dp_spec *spec, dp_error *err);
/* --dropout P (every hidden layer) or P1,P2,… (one per hidden layer) into cfg->dropout. */
dp_status dp_flags_dropout(const dp_opts *o, const dp_spec *spec, dp_train_config *cfg,
                           dp_error *err);
/* Optimizer, schedule, parallelism flags on top of dp_train_config_defaults (threads and bind
 * are left to the caller, which knows the machine). */
dp_status dp_flags_train_config(const dp_opts *o, dp_train_config *cfg, dp_error *err);
/* --precision fp32|bf16 (fp32 when absent). */
dp_status dp_flags_precision(const dp_opts *o, dp_precision *out, dp_error *err);

#endif
