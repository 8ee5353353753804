/* Evaluation and prediction over a whole dataset with an unpinned team: rows split evenly
 * across workers, results summed in worker order. Also the per-worker set-up the training
 * team shares (worker.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "team.h"
#include "train.h"
#include "worker.h"

dp_status dp_team_ctx_init(team_ctx *c, int T, int n_blocks, dp_error *err)
{
    c->T = T;
    c->n_blocks = n_blocks;
    c->ws = calloc((size_t)T, sizeof *c->ws);
    c->slot = aligned_alloc(64, (size_t)T * sizeof *c->slot);
    c->grad = n_blocks ? calloc((size_t)n_blocks, sizeof *c->grad) : NULL;
    if (!c->ws || !c->slot || (n_blocks && !c->grad)) {
        dp_team_ctx_free(c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for %d workers", T);
    }
    memset(c->slot, 0, (size_t)T * sizeof *c->slot);
    return DP_OK;
}

void dp_team_ctx_free(team_ctx *c)
{
    free(c->ws);
    free(c->slot);
    free(c->grad);
    c->ws = NULL;
    c->slot = NULL;
    c->grad = NULL;
}

void dp_worker_setup(team_ctx *c, int t)
{
    worker_slot *s = &c->slot[t];
    if (c->topo && c->plan) {
        dp_error e;
        if (dp_topo_bind_self(c->topo, c->plan, t, &e) != DP_OK)
            snprintf(s->bind_msg, sizeof s->bind_msg, "%.150s", e.msg);
    }
    dp_error e;
    if (dp_workspace_init(&c->ws[t], c->spec, c->shard_cap, &e) != DP_OK) s->failed = 1;
    for (int k = t; k < c->n_blocks; k += c->T) {
        c->grad[k] = dp_calloc(c->lay->n_params * sizeof(float));
        if (!c->grad[k]) s->failed = 1;
    }
}

void dp_worker_teardown(team_ctx *c, int t)
{
    dp_workspace_free(&c->ws[t]);
    for (int k = t; k < c->n_blocks; k += c->T) {
        dp_free(c->grad[k]);
        c->grad[k] = NULL;
    }
}

int dp_team_setup_failed(const team_ctx *c)
{
    for (int u = 0; u < c->T; u++)
        if (c->slot[u].failed) return 1;
    return 0;
}

void dp_load_rows(const dp_dataset *d, dp_workspace *ws, const uint32_t *idx, size_t m)
{
    dp_data_gather(d, idx, m, ws->act[0]);
    if (d->labels)
        dp_data_gather_labels(d, idx, m, ws->labels);
    else if (d->targets)
        dp_data_gather_targets(d, idx, m, ws->targets);
}

void dp_eval_rows(const team_ctx *c, int t, const dp_dataset *d, size_t lo, size_t hi,
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
        dp_load_rows(d, ws, idx, m);
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

typedef struct eval_job {
    team_ctx c;
    const dp_dataset *d;
    float *out;
} eval_job;

static void eval_worker(dp_team *team, int t, void *arg)
{
    eval_job *j = arg;
    dp_worker_setup(&j->c, t);
    dp_team_barrier(team);
    if (!dp_team_setup_failed(&j->c)) {
        size_t lo, hi;
        dp_shard_rows(j->d->n, t, j->c.T, &lo, &hi);
        size_t outputs = (size_t)j->c.spec->sizes[j->c.spec->n_sizes - 1];
        dp_eval_rows(&j->c, t, j->d, lo, hi, j->out ? j->out + lo * outputs : NULL,
                     &j->c.slot[t].eval_loss, &j->c.slot[t].eval_score);
    }
    dp_team_barrier(team);
    dp_worker_teardown(&j->c, t);
}

static dp_status run_eval(const dp_model *m, const dp_dataset *d, int threads, float *out,
                          eval_job *j, dp_error *err)
{
    memset(j, 0, sizeof *j);
    dp_status st = DP_OK;
    /* Prediction input may be features only: then only the input size must fit. */
    if (!out || d->labels || d->targets) st = dp_data_check_fits(d, &m->spec, err);
    if (st == DP_OK && d->n_in != (size_t)m->spec.sizes[0])
        st = dp_fail(err, DP_EDATA, "%s: samples have %zu features but the input layer has %d",
                     d->source, d->n_in, m->spec.sizes[0]);
    if (st != DP_OK) return st;
    if (threads < 1) return dp_fail(err, DP_EUSAGE, "--threads must be at least 1");
    j->d = d;
    j->out = out;
    j->c.spec = &m->spec;
    j->c.lay = &m->layout;
    j->c.params = m->params;
    j->c.shard_cap = 256;
    if ((st = dp_team_ctx_init(&j->c, threads, 0, err)) != DP_OK) return st;
    st = dp_team_run(threads, DP_TEAM_PTHREADS, eval_worker, j, err);
    if (st == DP_OK && dp_team_setup_failed(&j->c))
        st = dp_fail(err, DP_EINTERNAL, "out of memory for the evaluation workers' buffers");
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
    dp_team_ctx_free(&j.c);
    return st;
}

dp_status dp_predict(const dp_model *m, const dp_dataset *d, int threads, float *out,
                     dp_error *err)
{
    eval_job j;
    dp_status st = run_eval(m, d, threads, out, &j, err);
    dp_team_ctx_free(&j.c);
    return st;
}
