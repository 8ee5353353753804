/* The training loop (DESIGN.md, "the training step"): every worker gathers its shard of the
 * batch, runs forward and backward into its PRIVATE gradient block, meets the others at a
 * barrier, reduces its slice of the flat vector over all blocks in the fixed order 0..T-1,
 * applies the optimizer to that slice, and meets them again. Averages divide by the samples
 * really in the batch, so uneven shards, a short last batch and B < T are exact. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "err.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "team.h"
#include "topo.h"

/* Floats reduced per pass before the optimizer consumes them: 8 KiB stays in L1. */
#define REDUCE_CHUNK 2048

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per-worker results, one cache line apart so workers never write a shared line. */
typedef struct worker_slot {
    double step_loss;      /* loss sum of this worker's shard in the current step */
    double step_compute;   /* gather + forward + backward seconds of the current step */
    double epoch_loss;     /* loss sum over the epoch */
    double eval_loss, eval_score;
    double fwd, bwd, red, upd;
    int failed;            /* workspace allocation failed */
    char bind_msg[160];    /* binding refused: the reason */
    char pad[64];
} __attribute__((aligned(64))) worker_slot;

typedef struct train_ctx {
    const dp_spec *spec;
    const dp_layout *lay;
    float *params;
    const dp_dataset *train, *test;
    const dp_train_config *cfg;
    const dp_train_hooks *hooks;
    const dp_topo *topo;
    const dp_plan *plan;
    int T;
    size_t shard_cap;      /* most rows a worker handles at once */
    float **grad;          /* T private gradient blocks, each n_params */
    dp_workspace *ws;      /* T workspaces */
    worker_slot *slot;     /* T */
    float *m1, *m2;        /* optimizer moments (flat layout) */
    uint32_t *perm;        /* this epoch's shuffle */
    long global_step;
    double imbalance_sum;
    long imbalance_steps;
    int stop_now;
    int faulted;
    char fault_msg[256];
} train_ctx;

static void report(const dp_train_hooks *hooks, const char *line)
{
    if (hooks && hooks->on_message) hooks->on_message(hooks->ctx, line);
}

/* Binds the worker, then allocates and first-touches its own memory (pin, then touch). */
static void worker_setup(train_ctx *c, int t)
{
    worker_slot *s = &c->slot[t];
    if (c->topo && c->plan) {
        dp_error e;
        if (dp_topo_bind_self(c->topo, c->plan, t, &e) != DP_OK)
            snprintf(s->bind_msg, sizeof s->bind_msg, "%.150s", e.msg);
    }
    dp_error e;
    if (dp_workspace_init(&c->ws[t], c->spec, c->shard_cap, &e) != DP_OK) s->failed = 1;
    if (c->grad) {
        c->grad[t] = dp_calloc(c->lay->n_params * sizeof(float));
        if (!c->grad[t]) s->failed = 1;
    }
}

static void worker_teardown(train_ctx *c, int t)
{
    dp_workspace_free(&c->ws[t]);
    if (c->grad) {
        dp_free(c->grad[t]);
        c->grad[t] = NULL;
    }
}

/* Gathers rows idx[0..m) of d into the workspace's input and target buffers. */
static void load_rows(const dp_dataset *d, dp_workspace *ws, const uint32_t *idx, size_t m)
{
    dp_data_gather(d, idx, m, ws->act[0]);
    if (d->labels)
        dp_data_gather_labels(d, idx, m, ws->labels);
    else if (d->targets)
        dp_data_gather_targets(d, idx, m, ws->targets);
}

/* Rows [lo, hi) of d in order, shard_cap at a time: loss sum and score (see dp_model_score).
 * When out is non-NULL the output activations are copied there (row lo at out[0]). */
static void eval_rows(const train_ctx *c, int t, const dp_dataset *d, size_t lo, size_t hi,
                      float *out, double *loss, double *score)
{
    dp_workspace *ws = &c->ws[t];
    size_t outputs = (size_t)c->spec->sizes[c->spec->n_sizes - 1];
    uint32_t idx[256];
    *loss = 0.0;
    *score = 0.0;
    size_t cap = c->shard_cap < 256 ? c->shard_cap : 256;
    for (size_t r = lo; r < hi; r += cap) {
        size_t m = hi - r < cap ? hi - r : cap;
        for (size_t i = 0; i < m; i++) idx[i] = (uint32_t)(r + i);
        load_rows(d, ws, idx, m);
        dp_model_forward(c->spec, c->lay, c->params, ws, m);
        if (out) {
            memcpy(out + (r - lo) * outputs, ws->act[c->spec->n_sizes - 1],
                   m * outputs * sizeof(float));
        } else {
            double l, s;
            dp_model_score(c->spec, ws, m, &l, &s);
            *loss += l;
            *score += s;
        }
    }
}

/* Sums every worker's block over [lo, hi) in the fixed order 0..T-1, scales by 1/B, and
 * applies the optimizer to it, one L1-sized chunk at a time. */
static void reduce_update_range(train_ctx *c, const dp_optim_step *os, float *const *blocks,
                                int n_blocks, float scale, size_t lo, size_t hi, double *t_red,
                                double *t_upd)
{
    float buf[REDUCE_CHUNK] __attribute__((aligned(64)));
    double t0 = now();
    for (size_t off = lo; off < hi; off += REDUCE_CHUNK) {
        size_t n = hi - off < REDUCE_CHUNK ? hi - off : REDUCE_CHUNK;
        memcpy(buf, blocks[0] + off, n * sizeof(float));
        for (int u = 1; u < n_blocks; u++) {
            const float *g = blocks[u] + off;
            for (size_t i = 0; i < n; i++) buf[i] += g[i];
        }
        for (size_t i = 0; i < n; i++) buf[i] *= scale;
        double t1 = now();
        *t_red += t1 - t0;
        dp_optim_apply(os, c->params + off, buf, c->m1 ? c->m1 + off : NULL,
                       c->m2 ? c->m2 + off : NULL, n);
        t0 = now();
        *t_upd += t0 - t1;
    }
}

/* The reduction strategies; all leave the averaged update applied to every parameter. */
static void reduce_and_update(dp_team *team, train_ctx *c, int t, float scale, long step_no)
{
    worker_slot *s = &c->slot[t];
    int T = c->T;
    size_t n = c->lay->n_params;
    dp_optim_step os;
    dp_optim_prepare(&os, c->cfg, step_no);
    switch (c->cfg->reduce) {
    case DP_REDUCE_SEGMENTED:
        reduce_update_range(c, &os, c->grad, T, scale, dp_slice_bound(n, t, T),
                            dp_slice_bound(n, t + 1, T), &s->red, &s->upd);
        break;
    case DP_REDUCE_SERIAL:
        if (t == 0) reduce_update_range(c, &os, c->grad, T, scale, 0, n, &s->red, &s->upd);
        break;
    case DP_REDUCE_TREE: {
        /* Round r: worker t (a multiple of 2^(r+1)) adds block t + 2^r into its own. */
        double t0 = now();
        for (int stride = 1; stride < T; stride *= 2) {
            if (t % (2 * stride) == 0 && t + stride < T) {
                float *dst = c->grad[t];
                const float *src = c->grad[t + stride];
                for (size_t i = 0; i < n; i++) dst[i] += src[i];
            }
            dp_team_barrier(team);
        }
        s->red += now() - t0;
        reduce_update_range(c, &os, c->grad, 1, scale, dp_slice_bound(n, t, T),
                            dp_slice_bound(n, t + 1, T), &s->red, &s->upd);
        break;
    }
    }
}

/* Worker 0, between the step's two barriers: imbalance bookkeeping, progress, stop requests. */
static void step_bookkeeping(train_ctx *c, int epoch, long step, long steps_per_epoch)
{
    double mx = 0.0, sum = 0.0;
    for (int u = 0; u < c->T; u++) {
        double v = c->slot[u].step_compute;
        mx = v > mx ? v : mx;
        sum += v;
    }
    if (sum > 0.0) {
        c->imbalance_sum += mx / (sum / c->T);
        c->imbalance_steps++;
    }
    c->global_step++;
    const dp_train_hooks *h = c->hooks;
    if (h && h->on_step) h->on_step(h->ctx, epoch, step + 1, steps_per_epoch);
    if ((h && h->stop && *h->stop) ||
        (c->cfg->max_steps > 0 && c->global_step >= c->cfg->max_steps))
        c->stop_now = 1;
}

/* Worker 0 after the epoch: the numbers of the epoch, handed to on_epoch. */
static void epoch_report(train_ctx *c, int epoch, long steps, size_t samples, double seconds)
{
    dp_epoch_stats st;
    memset(&st, 0, sizeof st);
    st.epoch = epoch;
    st.steps = steps;
    st.samples = samples;
    double loss = 0.0;
    for (int u = 0; u < c->T; u++) loss += c->slot[u].epoch_loss;
    st.train_loss = samples ? loss / (double)samples : NAN;
    st.classification = dp_spec_is_classification(c->spec);
    if (c->test) {
        double l = 0.0, s = 0.0;
        for (int u = 0; u < c->T; u++) {
            l += c->slot[u].eval_loss;
            s += c->slot[u].eval_score;
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
    st.samples_per_sec = seconds > 0.0 ? (double)samples / seconds : 0.0;
    worker_slot *w0 = &c->slot[0];
    st.forward_s = w0->fwd;
    st.backward_s = w0->bwd;
    st.reduce_s = w0->red;
    st.update_s = w0->upd;
    st.imbalance = c->imbalance_steps ? c->imbalance_sum / (double)c->imbalance_steps : 1.0;
    if (c->hooks && c->hooks->on_epoch) c->hooks->on_epoch(c->hooks->ctx, &st);
}

static void train_worker(dp_team *team, int t, void *arg)
{
    train_ctx *c = arg;
    const dp_train_config *cfg = c->cfg;
    const dp_dataset *d = c->train;
    worker_slot *s = &c->slot[t];
    int T = c->T;
    size_t B = (size_t)cfg->batch;
    long steps_per_epoch = (long)((d->n + B - 1) / B);
    long my_step = c->global_step;

    worker_setup(c, t);
    dp_team_barrier(team);
    for (int u = 0; u < T; u++)
        if (c->slot[u].failed) goto done;
    if (t == 0) {
        char line[320];
        for (int u = 0; u < T; u++)
            if (c->slot[u].bind_msg[0]) {
                snprintf(line, sizeof line, "warning: %s", c->slot[u].bind_msg);
                report(c->hooks, line);
            }
    }

    for (int epoch = 1; epoch <= cfg->epochs && !c->stop_now && !c->faulted; epoch++) {
        if (t == 0) {
            dp_rng rng;
            dp_rng_seed(&rng, cfg->seed, (uint64_t)epoch);
            dp_rng_permutation(&rng, c->perm, d->n);
            c->imbalance_sum = 0.0;
            c->imbalance_steps = 0;
        }
        s->epoch_loss = s->fwd = s->bwd = s->red = s->upd = 0.0;
        dp_team_barrier(team);
        double t_epoch = now();
        long steps = 0;
        size_t samples = 0;
        for (long step = 0; step < steps_per_epoch; step++) {
            size_t b0 = (size_t)step * B;
            size_t nb = d->n - b0 < B ? d->n - b0 : B;
            size_t lo, hi;
            dp_shard_rows(nb, t, T, &lo, &hi);
            size_t m = hi - lo;
            double t0 = now(), t1 = t0, t2 = t0;
            s->step_loss = 0.0;
            if (m > 0) {
                load_rows(d, &c->ws[t], c->perm + b0 + lo, m);
                dp_model_forward(c->spec, c->lay, c->params, &c->ws[t], m);
                t1 = now();
                s->step_loss =
                    dp_model_backward(c->spec, c->lay, c->params, &c->ws[t], m, c->grad[t], 0);
                t2 = now();
            } else {
                /* An empty shard (B < T) contributes zeros, so the fixed-order sum stays exact. */
                memset(c->grad[t], 0, c->lay->n_params * sizeof(float));
            }
            s->fwd += t1 - t0;
            s->bwd += t2 - t1;
            s->step_compute = t2 - t0;
            dp_team_barrier(team);

            /* Every worker sums the same T losses in the same order, so all agree on a
             * fault without another barrier, and nobody applies a non-finite update. */
            double step_loss = 0.0;
            for (int u = 0; u < T; u++) step_loss += c->slot[u].step_loss;
            if (!isfinite(step_loss)) {
                if (t == 0) {
                    snprintf(c->fault_msg, sizeof c->fault_msg,
                             "non-finite loss at epoch %d, step %ld: the learning rate "
                             "(--lr %g) is probably too high for this model and data",
                             epoch, step + 1, (double)cfg->lr);
                    c->faulted = 1;
                }
                dp_team_barrier(team);
                break;
            }
            s->epoch_loss += s->step_loss;
            /* Each worker counts steps itself: worker 0 bumps c->global_step while others may
             * still be updating their slices with this step's Adam bias corrections. */
            reduce_and_update(team, c, t, 1.0f / (float)nb, ++my_step);
            steps++;
            samples += nb;
            if (t == 0) step_bookkeeping(c, epoch, step, steps_per_epoch);
            dp_team_barrier(team);
            if (c->stop_now) break;
        }
        double seconds = now() - t_epoch;
        if (c->faulted) break;
        if (c->test) {
            size_t lo, hi;
            dp_shard_rows(c->test->n, t, T, &lo, &hi);
            eval_rows(c, t, c->test, lo, hi, NULL, &s->eval_loss, &s->eval_score);
        }
        dp_team_barrier(team);
        if (t == 0) epoch_report(c, epoch, steps, samples, seconds);
        dp_team_barrier(team);
    }
done:
    dp_team_barrier(team);
    worker_teardown(c, t);
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
    return DP_OK;
}

static void free_ctx(train_ctx *c)
{
    free(c->grad);
    free(c->ws);
    free(c->slot);
    dp_free(c->m1);
    dp_free(c->m2);
    free(c->perm);
}

dp_status dp_train(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                   const dp_train_config *cfg, const dp_train_hooks *hooks, dp_error *err)
{
    dp_status st = check_config(cfg, err);
    if (st != DP_OK) return st;
    if (train->n == 0) return dp_fail(err, DP_EDATA, "%s: no training samples", train->source);
    if ((st = dp_data_check_fits(train, &m->spec, err)) != DP_OK) return st;
    if (test && (st = dp_data_check_fits(test, &m->spec, err)) != DP_OK) return st;
    if (test && test->n == 0) test = NULL;

    train_ctx c;
    memset(&c, 0, sizeof c);
    c.spec = &m->spec;
    c.lay = &m->layout;
    c.params = m->params;
    c.train = train;
    c.test = test;
    c.cfg = cfg;
    c.hooks = hooks;
    c.T = cfg->threads;
    size_t B = (size_t)cfg->batch;
    if (B > train->n) B = train->n;
    c.shard_cap = (B + (size_t)c.T - 1) / (size_t)c.T;
    if (c.shard_cap < 64) c.shard_cap = 64; /* evaluation reuses the workspace in chunks */
    size_t n = m->layout.n_params;
    int moments = dp_optim_moments(cfg->optim);
    c.grad = calloc((size_t)c.T, sizeof *c.grad);
    c.ws = calloc((size_t)c.T, sizeof *c.ws);
    c.slot = aligned_alloc(64, (size_t)c.T * sizeof *c.slot);
    c.perm = malloc(train->n * sizeof *c.perm);
    if (moments >= 1) c.m1 = dp_calloc(n * sizeof(float));
    if (moments >= 2) c.m2 = dp_calloc(n * sizeof(float));
    if (!c.grad || !c.ws || !c.slot || !c.perm || (moments >= 1 && !c.m1) ||
        (moments >= 2 && !c.m2)) {
        free_ctx(&c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for %d workers", c.T);
    }
    memset(c.slot, 0, (size_t)c.T * sizeof *c.slot);

    dp_topo *topo = NULL;
    dp_plan plan;
    memset(&plan, 0, sizeof plan);
    dp_error terr;
    if (dp_topo_open(&topo, &terr) != DP_OK) {
        char line[600];
        snprintf(line, sizeof line, "warning: %s; running unbound", terr.msg);
        report(hooks, line);
    } else if (dp_topo_plan(topo, c.T, cfg->bind, &plan, &terr) != DP_OK) {
        char line[600];
        snprintf(line, sizeof line, "warning: %s; running unbound", terr.msg);
        report(hooks, line);
        dp_topo_close(topo);
        topo = NULL;
    } else {
        char line[1100], summary[768];
        dp_plan_summary(&plan, summary, sizeof summary);
        snprintf(line, sizeof line, "%s (%s)", summary, plan.why);
        report(hooks, line);
        c.topo = topo;
        c.plan = &plan;
    }

    dp_binding *caller_binding = dp_topo_binding_save(topo);
    st = dp_team_run(c.T, cfg->team_openmp ? DP_TEAM_OPENMP : DP_TEAM_PTHREADS, train_worker, &c,
                     err);
    dp_topo_binding_restore(topo, caller_binding);
    if (st == DP_OK) {
        for (int u = 0; u < c.T; u++)
            if (c.slot[u].failed) {
                st = dp_fail(err, DP_EINTERNAL, "out of memory for worker %d's buffers", u);
                break;
            }
    }
    if (st == DP_OK && c.faulted) st = dp_fail(err, DP_EINTERNAL, "%s", c.fault_msg);
    if (topo) {
        dp_plan_free(&plan);
        dp_topo_close(topo);
    }
    free_ctx(&c);
    return st;
}

/* Evaluation and prediction share one unpinned team: rows split evenly, results summed in
 * worker order. */
typedef struct eval_job {
    train_ctx c;
    const dp_dataset *d;
    float *out;
} eval_job;

static void eval_worker(dp_team *team, int t, void *arg)
{
    eval_job *j = arg;
    worker_setup(&j->c, t);
    dp_team_barrier(team);
    int ok = 1;
    for (int u = 0; u < j->c.T; u++) ok &= !j->c.slot[u].failed;
    if (ok) {
        size_t lo, hi;
        dp_shard_rows(j->d->n, t, j->c.T, &lo, &hi);
        size_t outputs = (size_t)j->c.spec->sizes[j->c.spec->n_sizes - 1];
        eval_rows(&j->c, t, j->d, lo, hi, j->out ? j->out + lo * outputs : NULL,
                  &j->c.slot[t].eval_loss, &j->c.slot[t].eval_score);
    }
    dp_team_barrier(team);
    worker_teardown(&j->c, t);
}

static dp_status run_eval(const dp_model *m, const dp_dataset *d, int threads, float *out,
                          eval_job *j, dp_error *err)
{
    dp_status st = dp_data_check_fits(d, &m->spec, err);
    if (st != DP_OK) return st;
    if (threads < 1) return dp_fail(err, DP_EUSAGE, "--threads must be at least 1");
    memset(j, 0, sizeof *j);
    j->d = d;
    j->out = out;
    j->c.spec = &m->spec;
    j->c.lay = &m->layout;
    j->c.params = m->params;
    j->c.T = threads;
    j->c.shard_cap = 256;
    j->c.ws = calloc((size_t)threads, sizeof *j->c.ws);
    j->c.slot = aligned_alloc(64, (size_t)threads * sizeof *j->c.slot);
    if (!j->c.ws || !j->c.slot) {
        free_ctx(&j->c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for %d workers", threads);
    }
    memset(j->c.slot, 0, (size_t)threads * sizeof *j->c.slot);
    st = dp_team_run(threads, DP_TEAM_PTHREADS, eval_worker, j, err);
    for (int u = 0; st == DP_OK && u < threads; u++)
        if (j->c.slot[u].failed)
            st = dp_fail(err, DP_EINTERNAL, "out of memory for worker %d's buffers", u);
    return st;
}

dp_status dp_evaluate(const dp_model *m, const dp_dataset *d, int threads, dp_metrics *out,
                      dp_error *err)
{
    eval_job j;
    dp_status st = run_eval(m, d, threads, NULL, &j, err);
    if (st == DP_OK) {
        double loss = 0.0, score = 0.0;
        for (int u = 0; u < threads; u++) {
            loss += j.c.slot[u].eval_loss;
            score += j.c.slot[u].eval_score;
        }
        memset(out, 0, sizeof *out);
        out->samples = d->n;
        double n = d->n ? (double)d->n : 1.0;
        out->loss = loss / n;
        if (dp_spec_is_classification(&m->spec))
            out->accuracy = score / n;
        else
            out->mae = score / n;
    }
    free_ctx(&j.c);
    return st;
}

dp_status dp_predict(const dp_model *m, const dp_dataset *d, int threads, float *out,
                     dp_error *err)
{
    eval_job j;
    dp_status st = run_eval(m, d, threads, out, &j, err);
    free_ctx(&j.c);
    return st;
}
