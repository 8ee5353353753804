/* The network's per-layer flags: --act A | A1,A2,… (hidden layers), --out, --leaky-slope and
 * --dropout P | P1,P2,… Lists are one entry per hidden layer; the rules on what fits what are
 * dp_spec_validate's and dp_dropout_validate's (the library's one place for them). */
#include <stdio.h>
#include <string.h>

#include "flags.h"

/* Splits "a,b,c" into at most `cap` pieces of at most 31 characters; -1 when it has more. */
static int split_list(const char *s, char out[][32], int cap)
{
    int n = 0;
    for (const char *p = s;; n++) {
        size_t len = strcspn(p, ",");
        if (n == cap || len >= 32) return -1;
        memcpy(out[n], p, len);
        out[n][len] = '\0';
        if (!p[len]) return n + 1;
        p += len + 1;
    }
}

/* One value for every hidden layer, or a list of exactly one per hidden layer. */
static dp_status list_for_hidden(const char *flag, const char *v, int hidden, char out[][32],
                                 int *n, dp_error *err)
{
    *n = split_list(v, out, DP_MAX_SIZES);
    if (*n == 1 || (*n == hidden && hidden > 0)) return DP_OK;
    return dp_fail(err, DP_EUSAGE, "--%s '%.80s': give one value for every hidden layer or a "
                   "list of %d (one per hidden layer)", flag, v, hidden);
}

dp_status dp_flags_acts(const dp_opts *o, dp_spec *spec, dp_error *err)
{
    int L = spec->n_sizes - 1, choice, n = 1;
    char items[DP_MAX_SIZES][32];
    const char *v = dp_opts_get(o, "act");
    dp_status st = DP_OK;
    if (v && (st = list_for_hidden("act", v, L - 1, items, &n, err)) != DP_OK) return st;
    dp_act given[DP_MAX_SIZES];
    for (int i = 0; v && i < n; i++) { /* every name checked, even without hidden layers */
        if ((st = dp_flag_choice("act", items[i], dp_names(DP_NAMES_ACT), &choice, err)) != DP_OK)
            return st;
        given[i] = (dp_act)choice;
    }
    for (int l = 0; l + 1 < L; l++) spec->act[l] = v ? given[n == 1 ? 0 : l] : spec->hidden;
    if (v && L > 1) spec->hidden = spec->act[0];
    spec->act[L - 1] = dp_loss_default_out(spec->loss);
    if ((v = dp_opts_get(o, "out"))) {
        if ((st = dp_flag_choice("out", v, dp_names(DP_NAMES_ACT), &choice, err)) != DP_OK)
            return st;
        spec->act[L - 1] = (dp_act)choice;
    }
    spec->n_act = L;
    spec->leaky_slope = DP_LEAKY_SLOPE_DEFAULT;
    if ((v = dp_opts_get(o, "leaky-slope")))
        st = dp_flag_float("leaky-slope", v, 0.0, 0, 1.0, &spec->leaky_slope, err);
    return st;
}

dp_status dp_flags_dropout(const dp_opts *o, const dp_spec *spec, dp_train_config *cfg,
                           dp_error *err)
{
    const char *v = dp_opts_get(o, "dropout");
    if (!v) return DP_OK;
    int hidden = spec->n_sizes - 2, n;
    char items[DP_MAX_SIZES][32];
    dp_status st = list_for_hidden("dropout", v, hidden, items, &n, err);
    if (st != DP_OK) return st;
    if (hidden < 1)
        return dp_fail(err, DP_EUSAGE, "--dropout: the model has no hidden layer to drop");
    for (int l = 0; l < hidden; l++) {
        st = dp_flag_float("dropout", items[n == 1 ? 0 : l], 0.0, 0, 0.99, &cfg->dropout[l], err);
        if (st != DP_OK) return st;
    }
    return dp_dropout_validate(spec, cfg, err);
}
