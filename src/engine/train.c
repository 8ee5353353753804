/* The training loop (DESIGN.md, "the training step"): every worker gathers its shard of the
 * batch, runs forward and backward into its PRIVATE gradient block, meets the others at a
 * barrier, reduces its slice of the flat vector over all blocks in a fixed order, applies the
 * optimizer to that slice, and meets them again. Averages divide by the samples really in the
 * batch, so uneven shards, a short last batch and B < T are exact.
 *
 * --deterministic replaces "one block per worker" by "one block per micro-shard": the batch is
 * cut into pieces of max(DP_MICRO_ROWS, B / DP_MICRO_SHARDS) rows, boundaries that depend on
 * B only; each piece's gradient lands in its own block, and blocks are summed in piece order,
 * so the bytes of the model do not depend on the thread count.
 *
 * With MPI (R ranks), each rank takes its share of the global batch and splits it over its
 * workers; the workers' segmented sums land in one vector that worker 0 allreduces across
 * ranks before every worker updates its slice, so all ranks apply the same update. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "optim.h"
#include "rng.h"
#include "team.h"
#include "worker.h"

/* Floats reduced per pass before the optimizer consumes them: 16 KiB stays in L1. */
#define REDUCE_CHUNK 4096
/* Deterministic mode: at most this many micro-shards per batch (bounds the extra gradient
 * blocks and the reduction's reads), each at least DP_MICRO_ROWS rows (a micro-shard's fixed
 * cost, writing a whole gradient block, must be spread over enough rows). */
#define DP_MICRO_SHARDS 32
#define DP_MICRO_ROWS 16

typedef struct train_ctx {
    team_ctx tc;
    const dp_dataset *train, *test;
    const dp_train_config *cfg;
    const dp_train_hooks *hooks;
    const dp_train_state *resume;
    size_t batch;               /* effective global batch (<= samples) */
    size_t micro;               /* deterministic: rows per micro-shard; 0 otherwise */
    long steps_per_epoch;
    float *m1, *m2;             /* optimizer moments (flat layout) */
    uint32_t *perm;             /* this epoch's shuffle */
    long global_step;           /* worker 0's count, for bookkeeping and checkpoints */
    int R, rank;                /* MPI ranks and this one (1 and 0 without MPI) */
    float *reduced;             /* R > 1: this rank's summed gradient, then the global one */
    double global_loss;         /* R > 1: the step's loss over all ranks (worker 0 writes) */
    double allreduce_s;
    double imbalance_sum;
    long imbalance_steps;
    int stop_now;
    int faulted;
    dp_error fault;
} train_ctx;

static void report(const dp_train_hooks *hooks, const char *line)
{
    if (hooks && hooks->on_message) hooks->on_message(hooks->ctx, line);
}

/* Sums blocks[0..n_blocks) over [lo, hi) in block order, scales by 1/B, and applies the
 * optimizer to it, one L1-sized chunk at a time. */
static void reduce_update_range(train_ctx *c, const dp_optim_step *os, float *const *blocks,
                                int n_blocks, float scale, size_t lo, size_t hi, double *t_red,
                                double *t_upd)
{
    float buf[REDUCE_CHUNK] __attribute__((aligned(64)));
    double t0 = dp_now();
    for (size_t off = lo; off < hi; off += REDUCE_CHUNK) {
        size_t n = hi - off < REDUCE_CHUNK ? hi - off : REDUCE_CHUNK;
        dp_optim_sum_blocks(buf, blocks, n_blocks, off, n, scale);
        double t1 = dp_now();
        *t_red += t1 - t0;
        dp_optim_apply(os, c->tc.params + off, buf, c->m1 ? c->m1 + off : NULL,
                       c->m2 ? c->m2 + off : NULL, n);
        t0 = dp_now();
        *t_upd += t0 - t1;
    }
}

/* Worker 0 of each rank, the team waiting: the rank's gradient sum and loss become the global
 * ones, and a stop request anywhere becomes a stop everywhere (no rank may leave the others
 * waiting in the next allreduce). */
static void allreduce_step(train_ctx *c)
{
    double t0 = dp_now();
    double loss_stop[2] = {0.0, 0.0};
    for (int u = 0; u < c->tc.T; u++) loss_stop[0] += c->tc.slot[u].step_loss;
    const dp_train_hooks *h = c->hooks;
    loss_stop[1] = (h && h->stop && *h->stop) ? 1.0 : 0.0;
    dp_error e;
    if (dp_dist_allreduce_floats(c->reduced, c->tc.lay->n_params, &e) != DP_OK ||
        dp_dist_allreduce_doubles(loss_stop, 2, &e) != DP_OK) {
        c->fault = e;
        c->faulted = 1;
        loss_stop[0] = NAN;
    }
    c->global_loss = loss_stop[0];
    if (loss_stop[1] > 0.0) c->stop_now = 1;
    c->allreduce_s += dp_now() - t0;
}

/* The reduction strategies; all leave the averaged update applied to every parameter.
 * Deterministic mode always sums its micro-shard blocks segment-wise in piece order. */
static void reduce_and_update(dp_team *team, train_ctx *c, int t, int n_blocks, float scale,
                              long step_no)
{
    worker_slot *s = &c->tc.slot[t];
    int T = c->tc.T;
    size_t n = c->tc.lay->n_params;
    size_t lo = dp_slice_bound(n, t, T), hi = dp_slice_bound(n, t + 1, T);
    dp_optim_step os;
    dp_optim_prepare(&os, c->cfg, step_no);
    dp_reduce strategy = c->micro || c->R > 1 ? DP_REDUCE_SEGMENTED : c->cfg->reduce;
    if (c->R > 1) {
        /* Each worker applies the update to its slice of the allreduced sum. */
        float *sum = c->reduced;
        double t0 = dp_now();
        dp_optim_sum_blocks(sum + lo, c->tc.grad, n_blocks, lo, hi - lo, 1.0f);
        s->red += dp_now() - t0;
        dp_team_barrier(team);
        if (t == 0) allreduce_step(c);
        dp_team_barrier(team);
        if (!isfinite(c->global_loss)) return;
        t0 = dp_now();
        for (size_t i = lo; i < hi; i++) sum[i] *= scale;
        dp_optim_apply(&os, c->tc.params + lo, sum + lo, c->m1 ? c->m1 + lo : NULL,
                       c->m2 ? c->m2 + lo : NULL, hi - lo);
        s->upd += dp_now() - t0;
        return;
    }
    switch (strategy) {
    case DP_REDUCE_SEGMENTED:
        reduce_update_range(c, &os, c->tc.grad, n_blocks, scale, lo, hi, &s->red, &s->upd);
        break;
    case DP_REDUCE_SERIAL:
        if (t == 0)
            reduce_update_range(c, &os, c->tc.grad, n_blocks, scale, 0, n, &s->red, &s->upd);
        break;
    case DP_REDUCE_TREE: {
        /* Round r: worker t (a multiple of 2^(r+1)) adds block t + 2^r into its own. */
        double t0 = dp_now();
        for (int stride = 1; stride < T; stride *= 2) {
            if (t % (2 * stride) == 0 && t + stride < T) {
                float *dst = c->tc.grad[t];
                const float *src = c->tc.grad[t + stride];
                for (size_t i = 0; i < n; i++) dst[i] += src[i];
            }
            dp_team_barrier(team);
        }
        s->red += dp_now() - t0;
        reduce_update_range(c, &os, c->tc.grad, 1, scale, lo, hi, &s->red, &s->upd);
        break;
    }
    }
}

/* Forward and backward of rows perm[b0 + lo .. b0 + hi) into block g: the step's loss sum. */
static double compute_rows(train_ctx *c, int t, size_t b0, size_t lo, size_t hi, float *g)
{
    if (hi == lo) {
        /* An empty shard (B < T) contributes zeros, so the fixed-order sum stays exact. */
        memset(g, 0, c->tc.lay->n_params * sizeof(float));
        return 0.0;
    }
    worker_slot *s = &c->tc.slot[t];
    dp_workspace *ws = &c->tc.ws[t];
    double t0 = dp_now();
    dp_load_rows(c->train, ws, c->perm + b0 + lo, hi - lo);
    dp_model_forward(c->tc.spec, c->tc.lay, c->tc.params, ws, hi - lo);
    double t1 = dp_now();
    double loss = dp_model_backward(c->tc.spec, c->tc.lay, c->tc.params, ws, hi - lo, g, 0);
    s->fwd += t1 - t0;
    s->bwd += dp_now() - t1;
    return loss;
}

/* Worker t's part of one step over the nb rows at b0: gradients into its block(s). Returns
 * how many blocks the reduction must sum. */
static int compute_step(train_ctx *c, int t, size_t b0, size_t nb)
{
    worker_slot *s = &c->tc.slot[t];
    int T = c->tc.T;
    /* This rank's share of the global batch; all of it without MPI. */
    size_t rlo, rhi;
    dp_shard_rows(nb, c->rank, c->R, &rlo, &rhi);
    b0 += rlo;
    nb = rhi - rlo;
    double t0 = dp_now();
    s->step_loss = 0.0;
    int n_blocks;
    if (!c->micro) {
        size_t lo, hi;
        dp_shard_rows(nb, t, T, &lo, &hi);
        s->step_loss = compute_rows(c, t, b0, lo, hi, c->tc.grad[t]);
        n_blocks = T;
    } else {
        /* Piece k holds rows [k·micro, (k+1)·micro): boundaries independent of T. */
        n_blocks = (int)((nb + c->micro - 1) / c->micro);
        for (int k = t; k < n_blocks; k += T) {
            size_t lo = (size_t)k * c->micro;
            size_t hi = lo + c->micro < nb ? lo + c->micro : nb;
            s->step_loss += compute_rows(c, t, b0, lo, hi, c->tc.grad[k]);
        }
    }
    s->step_compute = dp_now() - t0;
    return n_blocks;
}

/* Worker 0, between the step's two barriers: imbalance bookkeeping, progress, stop requests. */
static void step_bookkeeping(train_ctx *c, int epoch, long step)
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
    if (h && h->on_step) h->on_step(h->ctx, epoch, step + 1, c->steps_per_epoch);
    if ((c->R == 1 && h && h->stop && *h->stop) ||
        (c->cfg->max_steps > 0 && c->global_step >= c->cfg->max_steps))
        c->stop_now = 1;
}

/* Worker 0 after the epoch (or the part of it this run did): its numbers, to on_epoch. */
static void epoch_report(train_ctx *c, int epoch, long steps, size_t samples, double loss,
                         double seconds, int partial)
{
    dp_epoch_stats st;
    memset(&st, 0, sizeof st);
    st.epoch = epoch;
    st.partial = partial;
    st.steps = steps;
    st.samples = samples;
    st.train_loss = samples ? loss / (double)samples : NAN;
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
    st.samples_per_sec = seconds > 0.0 ? (double)samples / seconds : 0.0;
    worker_slot *w0 = &c->tc.slot[0];
    st.forward_s = w0->fwd;
    st.backward_s = w0->bwd;
    st.reduce_s = w0->red;
    st.update_s = w0->upd;
    st.imbalance = c->imbalance_steps ? c->imbalance_sum / (double)c->imbalance_steps : 1.0;
    st.ranks = c->R;
    st.allreduce_s = c->allreduce_s;
    c->allreduce_s = 0.0;
    if (c->hooks && c->hooks->on_epoch) c->hooks->on_epoch(c->hooks->ctx, &st);
}

/* Worker 0, the team waiting: hand the live state to the checkpoint hook. */
static void write_checkpoint(train_ctx *c, int epoch, long next_step, double epoch_loss,
                             size_t epoch_samples, long epoch_steps)
{
    const dp_train_hooks *h = c->hooks;
    if (!h || !h->checkpoint) return;
    dp_train_state st;
    memset(&st, 0, sizeof st);
    st.epoch = epoch;
    st.next_step = next_step;
    st.global_step = c->global_step;
    st.n_train = c->train->n;
    st.epoch_loss = epoch_loss;
    st.epoch_samples = epoch_samples;
    st.epoch_steps = epoch_steps;
    st.n_params = c->tc.lay->n_params;
    st.n_moments = dp_optim_moments(c->cfg->optim);
    st.params = c->tc.params;
    st.m1 = c->m1;
    st.m2 = c->m2;
    st.perm = c->perm;
    if (h->checkpoint(h->ctx, c->tc.spec, c->cfg, &st, &c->fault) != DP_OK) {
        c->faulted = 1;
        c->stop_now = 1;
    }
}

static void train_worker(dp_team *team, int t, void *arg)
{
    train_ctx *c = arg;
    const dp_train_config *cfg = c->cfg;
    const dp_dataset *d = c->train;
    worker_slot *s = &c->tc.slot[t];
    int T = c->tc.T;
    size_t B = c->batch;
    const dp_train_state *rs = c->resume;
    long my_step = rs ? rs->global_step : 0;
    int every = c->hooks && c->hooks->checkpoint_every > 0 ? c->hooks->checkpoint_every : 1;

    dp_worker_setup(&c->tc, t);
    dp_team_barrier(team);
    if (dp_team_setup_failed(&c->tc)) goto done;
    if (t == 0) {
        char line[320];
        for (int u = 0; u < T; u++)
            if (c->tc.slot[u].bind_msg[0]) {
                snprintf(line, sizeof line, "warning: %s", c->tc.slot[u].bind_msg);
                report(c->hooks, line);
            }
    }

    int first_epoch = 1;
    long first_step = 0;
    if (rs) {
        first_epoch = rs->epoch;
        first_step = rs->next_step;
        if (first_step >= c->steps_per_epoch) {
            first_epoch++;
            first_step = 0;
        }
    }
    for (int epoch = first_epoch; epoch <= cfg->epochs && !c->stop_now; epoch++) {
        int resumed = rs && epoch == rs->epoch;
        long start = resumed ? first_step : 0;
        if (t == 0) {
            if (resumed)
                memcpy(c->perm, rs->perm, d->n * sizeof *c->perm);
            else {
                dp_rng rng;
                dp_rng_seed(&rng, cfg->seed, (uint64_t)epoch);
                dp_rng_permutation(&rng, c->perm, d->n);
            }
            c->imbalance_sum = 0.0;
            c->imbalance_steps = 0;
        }
        s->epoch_loss = s->fwd = s->bwd = s->red = s->upd = 0.0;
        /* Loss, samples and steps this epoch had before a resume, so its totals match. */
        double loss0 = resumed ? rs->epoch_loss : 0.0;
        size_t samples = resumed ? rs->epoch_samples : 0;
        long steps = resumed ? rs->epoch_steps : 0;
        long steps_here = 0;
        dp_team_barrier(team);
        double t_epoch = dp_now();
        for (long step = start; step < c->steps_per_epoch; step++) {
            size_t b0 = (size_t)step * B;
            size_t nb = d->n - b0 < B ? d->n - b0 : B;
            int n_blocks = compute_step(c, t, b0, nb);
            dp_team_barrier(team);

            /* Every worker sums the same T losses in the same order, so all agree on a
             * fault without another barrier, and nobody applies a non-finite update. */
            double step_loss = 0.0;
            for (int u = 0; u < T; u++) step_loss += c->tc.slot[u].step_loss;
            s->epoch_loss += s->step_loss;
            /* Each worker counts steps itself: worker 0 bumps c->global_step while others may
             * still be updating their slices with this step's Adam bias corrections. */
            if (c->R > 1) {
                reduce_and_update(team, c, t, n_blocks, 1.0f / (float)nb, ++my_step);
                step_loss = c->global_loss;
            }
            if (!isfinite(step_loss)) {
                if (t == 0 && !c->faulted) {
                    dp_fail(&c->fault, DP_EINTERNAL,
                            "non-finite loss at epoch %d, step %ld: the learning rate (--lr %g) "
                            "is probably too high for this model and data",
                            epoch, step + 1, (double)cfg->lr);
                    c->faulted = 1;
                    c->stop_now = 1;
                }
                dp_team_barrier(team);
                break;
            }
            if (c->R == 1) reduce_and_update(team, c, t, n_blocks, 1.0f / (float)nb, ++my_step);
            steps++;
            steps_here++;
            samples += nb;
            if (t == 0) step_bookkeeping(c, epoch, step);
            dp_team_barrier(team);
            if (c->stop_now) break;
        }
        double seconds = dp_now() - t_epoch;
        if (c->faulted) break;
        if (c->test) {
            size_t lo, hi;
            dp_shard_rows(c->test->n, t, T, &lo, &hi);
            dp_eval_rows(&c->tc, t, c->test, lo, hi, NULL, &s->eval_loss, &s->eval_score);
        }
        dp_team_barrier(team);
        if (t == 0) {
            double loss = 0.0;
            for (int u = 0; u < T; u++) loss += c->tc.slot[u].epoch_loss;
            if (c->R > 1 && dp_dist_allreduce_doubles(&loss, 1, &c->fault) != DP_OK)
                c->faulted = c->stop_now = 1;
            loss += loss0;
            long done_steps = start + steps_here;
            int partial = done_steps < c->steps_per_epoch;
            if (c->R > 1 && cfg->verify_ranks &&
                !dp_dist_same_everywhere(c->tc.params, c->tc.lay->n_params * sizeof(float))) {
                dp_fail(&c->fault, DP_EINTERNAL, "ranks disagree on the model after epoch %d",
                        epoch);
                c->faulted = c->stop_now = 1;
            }
            epoch_report(c, epoch, steps, samples, loss, seconds, partial);
            /* Checkpoints: every `every` epochs, when a stop ends the run inside an epoch,
             * and after the last epoch (so a longer --epochs can continue from it). */
            if (!c->faulted && (partial || epoch % every == 0 || epoch == cfg->epochs))
                write_checkpoint(c, epoch, done_steps, loss, samples, steps);
            /* A rank that failed must not leave the others waiting in the next allreduce. */
            if (c->R > 1 && !dp_dist_all_ok(!c->faulted) && !c->faulted) {
                dp_fail(&c->fault, DP_EINTERNAL, "another rank failed at epoch %d", epoch);
                c->faulted = c->stop_now = 1;
            }
        }
        dp_team_barrier(team);
    }
done:
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
    return DP_OK;
}

/* A checkpointed state fits this run: same model size, optimizer and training set. */
static dp_status check_resume(const dp_model *m, const dp_dataset *train,
                              const dp_train_config *cfg, const dp_train_state *rs,
                              dp_error *err)
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
    dp_team_ctx_free(&c->tc);
    dp_free(c->reduced);
    dp_free(c->m1);
    dp_free(c->m2);
    free(c->perm);
}

dp_status dp_train_resume(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                          const dp_train_config *cfg, const dp_train_hooks *hooks,
                          const dp_train_state *resume, dp_error *err)
{
    dp_status st = check_config(cfg, err);
    if (st != DP_OK) return st;
    if (train->n == 0) return dp_fail(err, DP_EDATA, "%s: no training samples", train->source);
    if ((st = dp_data_check_fits(train, &m->spec, err)) != DP_OK) return st;
    if (test && (st = dp_data_check_fits(test, &m->spec, err)) != DP_OK) return st;
    if (resume && (st = check_resume(m, train, cfg, resume, err)) != DP_OK) return st;
    if (test && test->n == 0) test = NULL;

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
    int T = cfg->threads;
    c.batch = (size_t)cfg->batch < train->n ? (size_t)cfg->batch : train->n;
    c.steps_per_epoch = (long)((train->n + c.batch - 1) / c.batch);
    int n_blocks = T;
    if (cfg->deterministic) {
        c.micro = (c.batch + DP_MICRO_SHARDS - 1) / DP_MICRO_SHARDS;
        if (c.micro < DP_MICRO_ROWS) c.micro = DP_MICRO_ROWS;
        n_blocks = (int)((c.batch + c.micro - 1) / c.micro);
        c.tc.shard_cap = c.micro;
    } else {
        c.tc.shard_cap = (c.batch + (size_t)T - 1) / (size_t)T;
    }
    if (c.tc.shard_cap < 64) c.tc.shard_cap = 64; /* evaluation reuses the workspace */
    size_t n = m->layout.n_params;
    int moments = dp_optim_moments(cfg->optim);
    if ((st = dp_team_ctx_init(&c.tc, T, n_blocks, err)) != DP_OK) return st;
    c.perm = malloc(train->n * sizeof *c.perm);
    if (moments >= 1) c.m1 = dp_calloc(n * sizeof(float));
    if (moments >= 2) c.m2 = dp_calloc(n * sizeof(float));
    if (!c.perm || (moments >= 1 && !c.m1) || (moments >= 2 && !c.m2)) {
        free_ctx(&c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for the optimizer state");
    }
    if (resume) {
        memcpy(m->params, resume->params, n * sizeof(float));
        if (c.m1) memcpy(c.m1, resume->m1, n * sizeof(float));
        if (c.m2) memcpy(c.m2, resume->m2, n * sizeof(float));
        c.global_step = resume->global_step;
    }
    c.R = dp_dist_size();
    c.rank = dp_dist_rank();
    if (c.R > 1 && !(c.reduced = dp_calloc(n * sizeof(float)))) {
        free_ctx(&c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for the allreduce buffer");
    }

    dp_plan plan;
    memset(&plan, 0, sizeof plan);
    dp_topo *topo = open_placement(cfg, hooks, &plan);
    c.tc.topo = topo;
    c.tc.plan = topo ? &plan : NULL;
    dp_binding *caller_binding = dp_topo_binding_save(topo);
    st = dp_team_run(T, cfg->team_openmp ? DP_TEAM_OPENMP : DP_TEAM_PTHREADS, train_worker, &c,
                     err);
    dp_topo_binding_restore(topo, caller_binding);
    if (st == DP_OK && dp_team_setup_failed(&c.tc))
        st = dp_fail(err, DP_EINTERNAL, "out of memory for the workers' buffers");
    if (st == DP_OK && c.faulted) {
        st = c.fault.code;
        if (err) *err = c.fault;
    }
    if (topo) {
        dp_plan_free(&plan);
        dp_topo_close(topo);
    }
    free_ctx(&c);
    return st;
}

dp_status dp_train(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                   const dp_train_config *cfg, const dp_train_hooks *hooks, dp_error *err)
{
    return dp_train_resume(m, train, test, cfg, hooks, NULL, err);
}
