/* The epoch loop: a persistent team of pinned workers runs epochs of steps (step.h), each
 * epoch shuffled from (seed, epoch), evaluated on the test and validation sets by the same
 * team (validation's decisions: train_val.c), reported through the hooks and checkpointed in
 * the background (ckpt_writer.h). Also the checks of the configuration and of a checkpoint to
 * resume from, and the placement report. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "optim.h"
#include "precision.h"
#include "rng.h"
#include "shard.h"
#include "step.h"
#include "train_val.h"

/* Deterministic mode: at most this many micro-shards per batch (bounds the extra gradient
 * blocks and the reduction's reads), each at least DP_MICRO_ROWS rows (a micro-shard's fixed
 * cost, writing a whole gradient block, must be spread over enough rows). */
#define DP_MICRO_SHARDS 32
#define DP_MICRO_ROWS 16

/* One epoch's running totals, worker-private (every worker keeps the same counts). */
typedef struct epoch_acc {
    long start;         /* first step of this epoch in this run */
    double loss0;       /* loss, samples and steps the epoch had before a resume */
    size_t samples;
    long steps, steps_here;
} epoch_acc;

static void report(const dp_train_hooks *hooks, const char *line)
{
    if (hooks && hooks->on_message) hooks->on_message(hooks->ctx, line);
}

/* Worker 0 after the team's set-up: where the workers really run (read back by each worker
 * after binding) and any binding that was refused. */
static void report_binding(train_ctx *c)
{
    char line[1024];
    for (int u = 0; u < c->tc.T; u++)
        if (c->tc.slot[u].bind_msg[0]) {
            snprintf(line, sizeof line, "warning: %s", c->tc.slot[u].bind_msg);
            report(c->hooks, line);
        }
    if (!c->tc.topo) return;
    size_t k = (size_t)snprintf(line, sizeof line, "workers run on (read back):");
    for (int u = 0; u < c->tc.T && k < sizeof line; u++)
        k += (size_t)snprintf(line + k, sizeof line - k, "%s worker %d -> PUs %s", u ? "," : "",
                              u, c->tc.slot[u].cpus);
    /* Cut mid-list: end with "..." so a truncated line cannot be read as complete. */
    if (k >= sizeof line) memcpy(line + sizeof line - 4, "...", 4);
    report(c->hooks, line);
}

/* Worker 0, between the step's two barriers: imbalance bookkeeping, progress, stop requests,
 * and a checkpoint write that failed in the background. */
static void step_bookkeeping(train_ctx *c, int epoch, long step, double loss, size_t nb)
{
    double mx = 0.0, sum = 0.0;
    int T = c->tc.T;
    for (int u = 0; u < T; u++) {
        double v = c->tc.slot[u].step_compute;
        mx = v > mx ? v : mx;
        sum += v;
    }
    if (sum > 0.0) {
        c->imbalance_sum += mx / (sum / T);
        c->imbalance_steps++;
    }
    c->global_step++;
    const dp_train_hooks *h = c->hooks;
    if (h && h->on_step_loss) h->on_step_loss(h->ctx, loss, nb);
    if (h && h->on_step) h->on_step(h->ctx, epoch, step + 1, c->steps_per_epoch);
    if ((c->R == 1 && h && h->stop && *h->stop) ||
        (c->cfg->max_steps > 0 && c->global_step >= c->cfg->max_steps))
        c->stop_now = 1;
    if (c->R == 1 && h && h->stop && *h->stop) c->stopped = 1;
    /* With several ranks a failed write is seen at the epoch's end (the next submit), where
     * all ranks agree to stop: one rank leaving mid-epoch would strand the others. */
    if (c->R == 1 && dp_ckpt_writer_failed(c->writer) && !c->faulted) {
        dp_ckpt_writer_wait(c->writer, &c->fault);
        c->faulted = c->stop_now = 1;
    }
}

/* Worker 0: the run stops with this step's fault (the first one wins). */
static void fault_at(train_ctx *c, int epoch, long step, size_t bad)
{
    if (c->faulted) return;
    if (bad)
        dp_fail(&c->fault, DP_EINTERNAL,
                "epoch %d step %ld: the update made %zu parameters non-finite (--lr %g too "
                "high?); the model keeps the weights before it", epoch, step + 1, bad,
                (double)c->cfg->lr);
    else if (c->tc.slot[0].diverged)
        dp_fail(&c->fault, DP_EINTERNAL,
                "epoch %d step %ld: the loss grew more than %g-fold over its best (diverging: "
                "--lr %g too high?); the update is not applied", epoch, step + 1,
                DP_DIVERGE_FACTOR, (double)c->cfg->lr);
    else
        dp_fail(&c->fault, DP_EINTERNAL,
                "non-finite loss at epoch %d, step %ld: the learning rate (--lr %g) is probably "
                "too high for this model and data", epoch, step + 1, (double)c->cfg->lr);
    c->faulted = 1;
    c->stop_now = 1;
}

/* The epoch's steps from a->start; every worker leaves the loop at the same step. */
static void run_steps(dp_team *team, train_ctx *c, int t, int epoch, epoch_acc *a,
                      long *my_step)
{
    const dp_dataset *d = c->train;
    worker_slot *s = &c->tc.slot[t];
    size_t B = c->batch;
    for (long step = a->start; step < c->steps_per_epoch; step++) {
        size_t b0 = (size_t)step * B;
        size_t nb = d->n - b0 < B ? d->n - b0 : B;
        dp_team_bf16_refresh(team, &c->tc, t); /* bf16: this step's weights, packed once */
        int n_blocks = step_compute(c, t, b0, nb);
        dp_team_barrier(team);
        s->epoch_loss += s->step_loss;
        /* Each worker counts steps itself: worker 0 bumps c->global_step while others may
         * still be updating their slices with this step's Adam bias corrections. */
        double loss = step_reduce_update(team, c, t, n_blocks, nb, ++*my_step);
        if (!isfinite(loss) || s->diverged) {
            if (t == 0) fault_at(c, epoch, step, 0);
            dp_team_barrier(team);
            break;
        }
        a->steps++;
        a->steps_here++;
        a->samples += nb;
        if (t == 0) step_bookkeeping(c, epoch, step, loss, nb);
        dp_team_barrier(team);
        size_t bad = step_update_bad(c, t);
        if (bad) {
            if (t == 0) fault_at(c, epoch, step, bad);
            dp_team_barrier(team);
            break;
        }
        if (c->stop_now) break;
    }
}

/* Worker 0 after the epoch (or the part of it this run did): its numbers, to on_epoch. */
static void epoch_report(train_ctx *c, int epoch, const epoch_acc *a, double loss,
                         double seconds, int partial)
{
    dp_epoch_stats st;
    memset(&st, 0, sizeof st);
    st.epoch = epoch;
    st.partial = partial;
    st.steps = a->steps;
    st.samples = a->samples;
    st.train_loss = a->samples ? loss / (double)a->samples : NAN;
    st.classification = dp_spec_is_classification(c->tc.spec);
    if (c->test) {
        double l = 0.0, s = 0.0;
        for (int u = 0; u < c->tc.T; u++) {
            l += c->tc.slot[u].eval_loss;
            s += c->tc.slot[u].eval_score;
        }
        st.has_test = 1;
        st.test.samples = c->test->n;
        st.test.loss = l / (double)c->test->n;
        if (st.classification)
            st.test.accuracy = s / (double)c->test->n;
        else
            st.test.mae = s / (double)c->test->n;
    }
    st.seconds = seconds;
    st.samples_per_sec = seconds > 0.0 ? (double)a->samples / seconds : 0.0;
    worker_slot *w0 = &c->tc.slot[0];
    st.forward_s = w0->fwd;
    st.backward_s = w0->bwd;
    st.reduce_s = w0->red;
    st.update_s = w0->upd;
    st.imbalance = c->imbalance_steps ? c->imbalance_sum / (double)c->imbalance_steps : 1.0;
    st.ranks = c->R;
    st.allreduce_s = c->allreduce_s;
    c->allreduce_s = 0.0;
    val_epoch_stats(c, epoch, partial, &st);
    if (c->hooks && c->hooks->on_epoch) c->hooks->on_epoch(c->hooks->ctx, &st);
}

/* Worker 0, the team waiting: a copy of the live state goes to the background writer. */
static void write_checkpoint(train_ctx *c, int epoch, long next_step, double epoch_loss,
                             const epoch_acc *a)
{
    if (!c->writer) return;
    dp_train_state st;
    memset(&st, 0, sizeof st);
    st.epoch = epoch;
    st.next_step = next_step;
    st.global_step = c->global_step;
    st.n_train = c->train->n;
    st.data_fingerprint = c->fingerprint;
    st.epoch_loss = epoch_loss;
    st.epoch_samples = a->samples;
    st.epoch_steps = a->steps;
    st.n_params = c->tc.lay->n_params;
    st.n_moments = dp_optim_moments(c->cfg->optim);
    st.params = c->tc.params;
    st.m1 = c->m1;
    st.m2 = c->m2;
    st.perm = c->perm;
    val_state_out(c, &st);
    if (dp_ckpt_writer_submit(c->writer, &st, &c->fault) != DP_OK) c->faulted = c->stop_now = 1;
}

/* Worker 0, the team waiting: the shuffle of the epoch (or the checkpoint's, resuming). */
static void epoch_begin(train_ctx *c, int epoch, int resumed)
{
    const dp_dataset *d = c->train;
    if (resumed) {
        memcpy(c->perm, c->resume->perm, d->n * sizeof *c->perm);
    } else {
        dp_rng rng;
        dp_rng_seed(&rng, c->cfg->seed, (uint64_t)epoch);
        dp_rng_permutation(&rng, c->perm, d->n);
    }
    c->drop_key = dp_dropout_key(c->cfg->seed, epoch);
    c->imbalance_sum = 0.0;
    c->imbalance_steps = 0;
}

/* Worker 0, the team waiting: the epoch's loss over all ranks, the report, the checkpoint,
 * and the ranks' agreement that nothing failed. */
static void epoch_end(train_ctx *c, int epoch, const epoch_acc *a, double seconds)
{
    const dp_train_config *cfg = c->cfg;
    double loss = 0.0;
    for (int u = 0; u < c->tc.T; u++) loss += c->tc.slot[u].epoch_loss;
    if (c->R > 1 && dp_dist_allreduce_doubles(&loss, 1, &c->fault) != DP_OK)
        c->faulted = c->stop_now = 1;
    loss += a->loss0;
    long done_steps = a->start + a->steps_here;
    int partial = done_steps < c->steps_per_epoch;
    if (c->R > 1 && cfg->verify_ranks &&
        !dp_dist_same_everywhere(c->tc.params, c->tc.lay->n_params * sizeof(float))) {
        dp_fail(&c->fault, DP_EINTERNAL, "ranks disagree on the model after epoch %d", epoch);
        c->faulted = c->stop_now = 1;
    }
    epoch_report(c, epoch, a, loss, seconds, partial);
    if (a->samples) step_note_epoch_loss(c, loss / (double)a->samples);
    /* Checkpoints: every `every` epochs, when a stop ends the run inside an epoch, and after
     * the last epoch (so a longer --epochs can continue from it) or the early stop. */
    int every = c->hooks && c->hooks->checkpoint_every > 0 ? c->hooks->checkpoint_every : 1;
    if (!c->faulted &&
        (partial || epoch % every == 0 || epoch == cfg->epochs || c->early_stopped))
        write_checkpoint(c, epoch, done_steps, loss, a);
    /* A rank that failed must not leave the others waiting in the next allreduce. */
    if (c->R > 1 && !dp_dist_all_ok(!c->faulted) && !c->faulted) {
        dp_fail(&c->fault, DP_EINTERNAL, "another rank failed at epoch %d", epoch);
        c->faulted = c->stop_now = 1;
    }
}

/* One epoch for worker t. Returns 0 when the run faulted inside it. */
static int run_epoch(dp_team *team, train_ctx *c, int t, int epoch, long first_step,
                     long *my_step)
{
    const dp_train_state *rs = c->resume;
    worker_slot *s = &c->tc.slot[t];
    int resumed = rs && epoch == rs->epoch;
    epoch_acc a = {resumed ? first_step : 0, resumed ? rs->epoch_loss : 0.0,
                   resumed ? rs->epoch_samples : 0, resumed ? rs->epoch_steps : 0, 0};
    if (t == 0) epoch_begin(c, epoch, resumed);
    s->epoch_loss = s->fwd = s->bwd = s->red = s->upd = 0.0;
    dp_team_barrier(team);
    double t_epoch = dp_now();
    run_steps(team, c, t, epoch, &a, my_step);
    double seconds = dp_now() - t_epoch;
    if (c->faulted) return 0;
    if (c->test) {
        size_t lo, hi;
        dp_team_bf16_refresh(team, &c->tc, t);
        dp_shard_rows(c->test->n, t, c->tc.T, &lo, &hi);
        dp_eval_rows(&c->tc, t, c->test, lo, hi, NULL, &s->eval_loss, &s->eval_score);
    }
    val_eval_rows(c, t);
    dp_team_barrier(team);
    if (t == 0) epoch_end(c, epoch, &a, seconds);
    dp_team_barrier(team);
    return 1;
}

static void train_worker(dp_team *team, int t, void *arg)
{
    train_ctx *c = arg;
    const dp_train_state *rs = c->resume;
    dp_worker_setup(&c->tc, t);
    /* A worker without its buffers aborts the team: all leave after the barrier. */
    if (c->tc.slot[t].failed) dp_team_abort(team);
    dp_team_barrier(team);
    if (!dp_team_aborted(team)) {
        if (t == 0) report_binding(c);
        long my_step = rs ? rs->global_step : 0;
        int first_epoch = rs ? rs->epoch : 1;
        long first_step = rs ? rs->next_step : 0;
        if (rs && first_step >= c->steps_per_epoch) {
            first_epoch++;
            first_step = 0;
        }
        for (int epoch = first_epoch; epoch <= c->cfg->epochs && !c->stop_now; epoch++)
            if (!run_epoch(team, c, t, epoch, first_step, &my_step)) break;
    }
    dp_team_barrier(team);
    dp_worker_teardown(&c->tc, t);
}

static dp_status check_config(const dp_train_config *cfg, dp_error *err)
{
    if (cfg->batch < 1) return dp_fail(err, DP_EUSAGE, "--batch must be at least 1");
    if (cfg->epochs < 1) return dp_fail(err, DP_EUSAGE, "--epochs must be at least 1");
    if (cfg->threads < 1) return dp_fail(err, DP_EUSAGE, "--threads must be at least 1");
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr))
        return dp_fail(err, DP_EUSAGE, "--lr must be a positive number");
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
        return dp_fail(err, DP_EUSAGE, "--momentum must be in [0, 1)");
    if (!(cfg->weight_decay >= 0.0f) || !isfinite(cfg->weight_decay))
        return dp_fail(err, DP_EUSAGE, "--weight-decay must be >= 0");
    if ((unsigned)cfg->reduce > DP_REDUCE_TREE)
        return dp_fail(err, DP_EUSAGE, "--reduce must be segmented, serial or tree");
    if ((unsigned)cfg->precision > DP_PRECISION_BF16)
        return dp_fail(err, DP_EUSAGE, "--precision must be fp32 or bf16");
    return DP_OK;
}

/* A checkpointed state fits this run: same model size, optimizer and training set (its size
 * and, where the checkpoint recorded it, its content's fingerprint). */
static dp_status check_resume(const dp_model *m, const dp_dataset *train,
                              const dp_train_config *cfg, const dp_train_state *rs,
                              uint64_t fingerprint, dp_error *err)
{
    if (rs->n_params != m->layout.n_params)
        return dp_fail(err, DP_EDATA, "checkpoint holds %zu parameters, the model has %zu",
                       rs->n_params, m->layout.n_params);
    if (rs->n_train != train->n)
        return dp_fail(err, DP_EDATA,
                       "checkpoint was taken on %zu training samples, %s has %zu: resume with "
                       "the same data", rs->n_train, train->source, train->n);
    if (rs->n_moments != dp_optim_moments(cfg->optim))
        return dp_fail(err, DP_EDATA, "checkpoint's optimizer state does not fit --optim %s",
                       dp_optim_name(cfg->optim));
    if (rs->epoch < 1 || rs->next_step < 0 || !rs->params || !rs->perm)
        return dp_fail(err, DP_EDATA, "checkpoint state is incomplete");
    if (rs->data_fingerprint && !cfg->resume_any_data && rs->data_fingerprint != fingerprint)
        return dp_fail(err, DP_EUSAGE,
                       "the checkpoint was written for training data %016" PRIx64
                       ", these data (%s) are %016" PRIx64
                       ": pass --resume-any-data to resume anyway",
                       rs->data_fingerprint, train->source, fingerprint);
    return DP_OK;
}

/* Plans the placement and says what it will be; without a topology the run is unbound. */
static dp_topo *open_placement(const dp_train_config *cfg, const dp_train_hooks *hooks,
                               dp_plan *plan)
{
    dp_topo *topo = NULL;
    dp_error e;
    char line[1100];
    if (dp_topo_open(&topo, &e) != DP_OK) {
        snprintf(line, sizeof line, "warning: %.500s; running unbound", e.msg);
        report(hooks, line);
        return NULL;
    }
    if (dp_topo_plan(topo, cfg->threads, cfg->bind, plan, &e) != DP_OK) {
        snprintf(line, sizeof line, "warning: %.500s; running unbound", e.msg);
        report(hooks, line);
        dp_topo_close(topo);
        return NULL;
    }
    char summary[768];
    dp_plan_summary(plan, summary, sizeof summary);
    snprintf(line, sizeof line, "%s (%s)", summary, plan->why);
    report(hooks, line);
    if (plan->oversubscribed) {
        snprintf(line, sizeof line,
                 "warning: %d workers but only %d PUs allowed: oversubscribed workers share "
                 "a PU and every barrier waits for the descheduled ones (use --threads %d)",
                 cfg->threads, dp_topo_allowed_pus(topo), dp_topo_allowed_cores(topo));
        report(hooks, line);
    }
    return topo;
}

static void free_ctx(train_ctx *c)
{
    dp_ckpt_writer_close(c->writer);
    dp_team_precision_close(&c->tc);
    dp_team_ctx_free(&c->tc);
    dp_free(c->reduced);
    dp_free(c->m1);
    dp_free(c->m2);
    val_free(c);
    free(c->perm);
}

/* Shapes of the run: batch, steps, micro-shards and the rows a workspace must hold. Returns
 * the number of gradient blocks. */
static int plan_shards(train_ctx *c, const dp_train_config *cfg)
{
    int T = cfg->threads;
    c->batch = (size_t)cfg->batch < c->train->n ? (size_t)cfg->batch : c->train->n;
    c->steps_per_epoch = (long)((c->train->n + c->batch - 1) / c->batch);
    int n_blocks = T;
    if (cfg->deterministic) {
        c->micro = (c->batch + DP_MICRO_SHARDS - 1) / DP_MICRO_SHARDS;
        if (c->micro < DP_MICRO_ROWS) c->micro = DP_MICRO_ROWS;
        n_blocks = (int)((c->batch + c->micro - 1) / c->micro);
        c->tc.shard_cap = c->micro;
    } else {
        c->tc.shard_cap = (c->batch + (size_t)T - 1) / (size_t)T;
    }
    if (c->tc.shard_cap < 64) c->tc.shard_cap = 64; /* evaluation reuses the workspace */
    return n_blocks;
}

/* Everything the team needs before it starts: the context, optimizer state, the resumed
 * state copied in, the MPI buffer and the checkpoint writer. */
static dp_status init_ctx(train_ctx *c, dp_model *m, const dp_train_config *cfg,
                          const dp_train_hooks *hooks, const dp_train_state *resume,
                          dp_error *err)
{
    size_t n = m->layout.n_params;
    int moments = dp_optim_moments(cfg->optim);
    int n_blocks = plan_shards(c, cfg);
    dp_status st = dp_team_ctx_init(&c->tc, cfg->threads, n_blocks, err);
    if (st != DP_OK || (st = dp_team_precision_open(&c->tc, cfg->precision, err)) != DP_OK)
        return st;
    char line[400];
    dp_precision_describe(cfg->precision, line, sizeof line);
    report(hooks, line);
    c->perm = malloc(c->train->n * sizeof *c->perm);
    if (moments >= 1) c->m1 = dp_calloc(n * sizeof(float));
    if (moments >= 2) c->m2 = dp_calloc(n * sizeof(float));
    if (!c->perm || (moments >= 1 && !c->m1) || (moments >= 2 && !c->m2))
        return dp_fail(err, DP_EINTERNAL, "out of memory for the optimizer state");
    if (resume) {
        memcpy(m->params, resume->params, n * sizeof(float));
        if (c->m1) memcpy(c->m1, resume->m1, n * sizeof(float));
        if (c->m2) memcpy(c->m2, resume->m2, n * sizeof(float));
        c->global_step = resume->global_step;
    }
    c->R = dp_dist_size();
    c->rank = dp_dist_rank();
    if (c->R > 1 && !(c->reduced = dp_calloc(n * sizeof(float))))
        return dp_fail(err, DP_EINTERNAL, "out of memory for the allreduce buffer");
    if ((st = val_init(c, resume, err)) != DP_OK) return st;
    if (hooks && hooks->checkpoint)
        return dp_ckpt_writer_open(&c->writer, hooks, &m->spec, cfg, n, moments, c->train->n,
                                   err);
    return DP_OK;
}

/* Places, runs the team, and waits for the last checkpoint: the run's status. */
static dp_status run_team(train_ctx *c, dp_error *err)
{
    const dp_train_config *cfg = c->cfg;
    dp_plan plan;
    memset(&plan, 0, sizeof plan);
    dp_topo *topo = open_placement(cfg, c->hooks, &plan);
    c->tc.topo = topo;
    c->tc.plan = topo ? &plan : NULL;
    dp_binding *caller_binding = dp_topo_binding_save(topo);
    dp_status st = dp_team_run(cfg->threads, cfg->team_openmp ? DP_TEAM_OPENMP : DP_TEAM_PTHREADS,
                               train_worker, c, err);
    dp_topo_binding_restore(topo, caller_binding);
    if (st == DP_OK && dp_team_setup_failed(&c->tc))
        st = dp_fail(err, DP_EINTERNAL, "out of memory for the workers' buffers");
    if (st == DP_OK && c->faulted) {
        st = c->fault.code;
        if (err) *err = c->fault;
    }
    /* The final (or stop) checkpoint is written before dp_train returns. */
    dp_error werr;
    if (dp_ckpt_writer_wait(c->writer, &werr) != DP_OK && st == DP_OK) {
        st = werr.code;
        if (err) *err = werr;
    }
    /* A stop request is not a failure, but the caller must know the run did not finish. */
    if (st == DP_OK && c->stopped)
        st = dp_fail(err, DP_ESTOPPED, "training stopped on request after step %ld",
                     c->global_step);
    if (topo) {
        dp_plan_free(&plan);
        dp_topo_close(topo);
    }
    return st;
}

/* The run on its final training set (the split already made): checks, context, team. */
static dp_status train_sets(dp_model *m, const dp_dataset *train, const dp_dataset *val,
                            const dp_dataset *test, const dp_train_config *cfg,
                            const dp_train_hooks *hooks, const dp_train_state *resume,
                            dp_error *err)
{
    dp_status st;
    if (train->n == 0) return dp_fail(err, DP_EDATA, "%s: no training samples", train->source);
    if ((st = dp_data_check_fits(train, &m->spec, err)) != DP_OK) return st;
    if (test && (st = dp_data_check_fits(test, &m->spec, err)) != DP_OK) return st;
    if (val && (st = dp_data_check_fits(val, &m->spec, err)) != DP_OK) return st;
    /* Hashing the data costs one pass over it: only when a checkpoint will store it or a
     * resume must compare it. */
    int want_fp = (hooks && hooks->checkpoint) || (resume && resume->data_fingerprint);
    uint64_t fingerprint = want_fp ? dp_data_fingerprint(train) : 0;
    if (resume && (st = check_resume(m, train, cfg, resume, fingerprint, err)) != DP_OK)
        return st;
    if (test && test->n == 0) test = NULL;
    if (val && val->n == 0) return dp_fail(err, DP_EDATA, "%s: no validation samples", val->source);

    train_ctx c;
    memset(&c, 0, sizeof c);
    c.tc.spec = &m->spec;
    c.tc.lay = &m->layout;
    c.tc.params = m->params;
    c.train = train;
    c.test = test;
    c.cfg = cfg;
    c.hooks = hooks;
    c.resume = resume;
    c.fingerprint = fingerprint;
    c.tc.dropout = dp_dropout_any(&m->spec, cfg->dropout) ? cfg->dropout : NULL;
    c.val = val;
    st = init_ctx(&c, m, cfg, hooks, resume, err);
    if (st == DP_OK) st = run_team(&c, err);
    if (st == DP_OK) val_finish(&c, m->params);
    free_ctx(&c);
    return st;
}

dp_status dp_train_val(dp_model *m, const dp_dataset *train, const dp_dataset *val,
                       const dp_dataset *test, const dp_train_config *cfg,
                       const dp_train_hooks *hooks, const dp_train_state *resume, dp_error *err)
{
    dp_status st = check_config(cfg, err);
    if (st == DP_OK) st = val_check_config(cfg, val || cfg->val_split > 0.0f, err);
    if (st == DP_OK) st = dp_dropout_validate(&m->spec, cfg, err);
    if (st != DP_OK) return st;
    if (val && cfg->val_split > 0.0f)
        return dp_fail(err, DP_EUSAGE, "give --val-split or --val, not both");
    dp_dataset *train_part, *val_part;
    if ((st = val_split(train, cfg, &train_part, &val_part, err)) != DP_OK) return st;
    st = train_sets(m, train_part ? train_part : train, val_part ? val_part : val, test, cfg,
                    hooks, resume, err);
    dp_data_free(train_part);
    dp_data_free(val_part);
    return st;
}

dp_status dp_train_resume(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                          const dp_train_config *cfg, const dp_train_hooks *hooks,
                          const dp_train_state *resume, dp_error *err)
{
    return dp_train_val(m, train, NULL, test, cfg, hooks, resume, err);
}

dp_status dp_train(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                   const dp_train_config *cfg, const dp_train_hooks *hooks, dp_error *err)
{
    return dp_train_resume(m, train, test, cfg, hooks, NULL, err);
}
