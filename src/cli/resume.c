/* `train --resume FILE`: the checkpoint fixes the model and the run's identity (layers,
 * activation, loss, optimizer, batch, seed); only flags that leave both meaningful may
 * change, and each change is said. */
#include <stdio.h>
#include <string.h>

#include "train_cmd.h"

/* --act/--out/--leaky-slope given again: every layer's activation as stored, and the slope
 * where a leaky_relu layer uses it (an older checkpoint stores none). */
static int same_acts(const dp_spec *a, const dp_spec *b)
{
    if (a->n_sizes != b->n_sizes) return 0;
    int leaky = 0;
    for (int l = 0; l + 1 < a->n_sizes; l++) {
        if (dp_spec_layer_act(a, l) != dp_spec_layer_act(b, l)) return 0;
        leaky |= dp_spec_layer_act(a, l) == DP_ACT_LEAKY_RELU;
    }
    return !leaky || a->leaky_slope == b->leaky_slope;
}

/* A flag of the run's identity given again must say what the checkpoint says. */
static int check_fixed(const char *cmd, const dp_opts *o, const dp_spec *flag_spec,
                       const dp_train_config *flag_cfg, const dp_spec *ck_spec,
                       const dp_train_config *cfg)
{
    static const char *const fixed[] = {"layers", "act", "loss", "optim", "batch", "seed",
                                        "out", "leaky-slope", "dropout", NULL};
    for (int i = 0; fixed[i]; i++) {
        if (!dp_opts_get(o, fixed[i])) continue;
        int same = 1;
        if (!strcmp(fixed[i], "layers"))
            same = flag_spec->n_sizes == ck_spec->n_sizes &&
                   !memcmp(flag_spec->sizes, ck_spec->sizes,
                           (size_t)ck_spec->n_sizes * sizeof(int));
        else if (!strcmp(fixed[i], "act") || !strcmp(fixed[i], "out") ||
                 !strcmp(fixed[i], "leaky-slope"))
            same = same_acts(flag_spec, ck_spec);
        else if (!strcmp(fixed[i], "dropout"))
            same = !memcmp(flag_cfg->dropout, cfg->dropout, sizeof cfg->dropout);
        else if (!strcmp(fixed[i], "loss"))
            same = flag_spec->loss == ck_spec->loss;
        else if (!strcmp(fixed[i], "optim"))
            same = flag_cfg->optim == cfg->optim;
        else if (!strcmp(fixed[i], "batch"))
            same = flag_cfg->batch == cfg->batch;
        else
            same = flag_cfg->seed == cfg->seed;
        if (!same)
            return cli_usage(cmd, "--%s differs from the checkpoint's: a resumed run keeps its "
                                  "model, optimizer, batch and seed", fixed[i]);
    }
    return 0;
}

/* The checkpoint (format 3) fixes the held-out split and the schedule: a resumed run keeps
 * them, so that it makes the uninterrupted run's decisions. */
static int check_fixed_schedule(const char *cmd, const dp_opts *o, const dp_train_config *f,
                                const dp_train_config *c)
{
    static const char *const flags[] = {"val-split", "schedule", "warmup", "lr-min", "lr-step",
                                        "lr-gamma", "plateau-patience", "plateau-factor", NULL};
    const int same[] = {f->val_split == c->val_split, f->schedule == c->schedule,
                        f->warmup == c->warmup, f->lr_min == c->lr_min, f->lr_step == c->lr_step,
                        f->lr_gamma == c->lr_gamma, f->plateau_patience == c->plateau_patience,
                        f->plateau_factor == c->plateau_factor};
    for (int i = 0; flags[i]; i++)
        if (dp_opts_get(o, flags[i]) && !same[i])
            return cli_usage(cmd, "--%s differs from the checkpoint's: a resumed run keeps its "
                                  "validation split and lr schedule", flags[i]);
    return 0;
}

/* The flags that may change take the flag's value; the changes are listed in `changed`. */
static void apply_changes(const dp_opts *o, const dp_train_config *flag_cfg,
                          dp_train_config *cfg, char *changed, size_t cap)
{
#define MAY_CHANGE(flag, field, fmt)                                                        \
    if (dp_opts_get(o, flag) && flag_cfg->field != cfg->field) {                            \
        size_t len = strlen(changed);                                                      \
        snprintf(changed + len, cap - len, "%s--" flag " " fmt " -> " fmt, len ? ", " : "", \
                 cfg->field, flag_cfg->field);                                             \
        cfg->field = flag_cfg->field;                                                      \
    }
    MAY_CHANGE("epochs", epochs, "%d")
    MAY_CHANGE("lr", lr, "%g")
    MAY_CHANGE("momentum", momentum, "%g")
    MAY_CHANGE("weight-decay", weight_decay, "%g")
    MAY_CHANGE("beta1", beta1, "%g")
    MAY_CHANGE("beta2", beta2, "%g")
    /* A checkpoint (format 2) stores --deterministic: a resumed run keeps the decision unless
     * the flag turns it on. */
    MAY_CHANGE("deterministic", deterministic, "%d")
    MAY_CHANGE("early-stop", early_stop, "%d")
#undef MAY_CHANGE
    if (dp_opts_get(o, "reduce") && flag_cfg->reduce != cfg->reduce) {
        size_t len = strlen(changed);
        snprintf(changed + len, cap - len, "%s--reduce %s -> %s", len ? ", " : "",
                 dp_reduce_name(cfg->reduce), dp_reduce_name(flag_cfg->reduce));
        cfg->reduce = flag_cfg->reduce;
    }
    /* A checkpoint (format 3) stores --precision: kept unless the flag says otherwise. */
    if (dp_opts_get(o, "precision") && flag_cfg->precision != cfg->precision) {
        size_t len = strlen(changed);
        snprintf(changed + len, cap - len, "%s--precision %s -> %s", len ? ", " : "",
                 dp_name_of(DP_NAMES_PRECISION, cfg->precision),
                 dp_name_of(DP_NAMES_PRECISION, flag_cfg->precision));
        cfg->precision = flag_cfg->precision;
    }
    /* Not stored in a checkpoint: this run's flags. */
    cfg->max_steps = flag_cfg->max_steps;
    cfg->team_openmp = flag_cfg->team_openmp;
    cfg->verify_ranks = flag_cfg->verify_ranks;
    cfg->resume_any_data = flag_cfg->resume_any_data;
    cfg->quiet = flag_cfg->quiet;
}

static int resume_threads(const char *cmd, const dp_opts *o, dp_train_config *cfg, char *why,
                          size_t why_len)
{
    if (!dp_opts_get(o, "threads")) {
        snprintf(why, why_len, "as in the checkpoint");
        return 0;
    }
    int threads, rc = cli_threads(cmd, o, &threads, why, why_len);
    if (rc) return rc;
    if (threads != cfg->threads && !cfg->quiet)
        fprintf(stderr, "dpmlp: resume changes --threads %d -> %d%s\n", cfg->threads, threads,
                cfg->deterministic ? " (deterministic: the same bytes as an uninterrupted run)"
                                   : " (the model will not be byte-identical to an "
                                     "uninterrupted run)");
    cfg->threads = threads;
    return 0;
}

int cli_resume(const char *cmd, const dp_opts *o, const char *path, dp_spec *spec,
               dp_train_config *cfg, dp_train_state *state, char *why, size_t why_len)
{
    dp_spec ck_spec;
    dp_train_config ck_cfg = *cfg; /* fields a checkpoint does not store keep the flags' */
    dp_error err;
    if (dp_checkpoint_load(path, &ck_spec, &ck_cfg, state, &err) != DP_OK) return cli_fail(&err);
    dp_train_config flag_cfg = *cfg;
    *cfg = ck_cfg;
    int rc = check_fixed(cmd, o, spec, &flag_cfg, &ck_spec, cfg);
    if (!rc) rc = check_fixed_schedule(cmd, o, &flag_cfg, cfg);
    if (rc) return rc;
    char changed[512] = "";
    apply_changes(o, &flag_cfg, cfg, changed, sizeof changed);
    if (changed[0] && !cfg->quiet) fprintf(stderr, "dpmlp: resume changes %s\n", changed);
    /* A checkpoint does not store placement or team, so there is nothing to compare them
     * with; a resume that gives them says so, like the changes above. */
    static const char *const unstored[] = {"bind", "team", NULL};
    for (int i = 0; unstored[i] && !cfg->quiet; i++)
        if (dp_opts_get(o, unstored[i]))
            fprintf(stderr, "dpmlp: resume runs with --%s %s (not stored in the checkpoint: "
                            "this run's choice)\n", unstored[i], dp_opts_get(o, unstored[i]));
    *spec = ck_spec;
    if ((rc = resume_threads(cmd, o, cfg, why, why_len))) return rc;
    if (!cfg->quiet)
        fprintf(stderr, "dpmlp: resuming %s at epoch %d, step %ld (%ld steps done)\n", path,
                state->epoch, state->next_step, state->global_step);
    return 0;
}

int cli_resume_first_epoch(const dp_train_state *state, const dp_train_config *cfg)
{
    size_t n = state->n_train, batch = (size_t)cfg->batch < n ? (size_t)cfg->batch : n;
    long steps_per_epoch = batch ? (long)((n + batch - 1) / batch) : 0;
    return state->epoch + (state->next_step >= steps_per_epoch);
}
