/* Evaluation and prediction over a whole dataset with an unpinned team: rows split evenly
 * across workers, results summed in worker order; the full metrics (metrics.h) of `eval
 * --metrics` from the outputs. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics.h"
#include "precision.h"
#include "team.h"
#include "shard.h"
#include "worker.h"

/* Rows a worker evaluates at once: up to EVAL_MAX_ROWS, fewer when their activations would
 * pass EVAL_WORKSPACE_BYTES (a 1,048,576-wide layer costs 4 MiB a row), never below one. */
#define EVAL_MAX_ROWS 256
#define EVAL_WORKSPACE_BYTES ((size_t)64 << 20)

static size_t eval_rows_cap(const dp_spec *spec)
{
    size_t rows = EVAL_WORKSPACE_BYTES / dp_workspace_forward_row_bytes(spec);
    return rows < 1 ? 1 : rows > EVAL_MAX_ROWS ? EVAL_MAX_ROWS : rows;
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
    /* A worker without its buffers aborts the team: all leave after the barrier. */
    if (j->c.slot[t].failed) dp_team_abort(team);
    dp_team_barrier(team);
    if (!dp_team_aborted(team)) {
        size_t lo, hi;
        dp_shard_rows(j->d->n, t, j->c.T, &lo, &hi);
        size_t outputs = (size_t)j->c.spec->sizes[j->c.spec->n_sizes - 1];
        dp_eval_rows(&j->c, t, j->d, lo, hi, j->out ? j->out + lo * outputs : NULL,
                     &j->c.slot[t].eval_loss, &j->c.slot[t].eval_score);
    }
    dp_team_barrier(team);
    dp_worker_teardown(&j->c, t);
}

static dp_status run_eval(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                          float *out, eval_job *j, dp_error *err)
{
    int threads = opt->threads;
    memset(j, 0, sizeof *j);
    dp_status st = DP_OK;
    /* Prediction input may be features only (a CSV loaded with n_targets < 0: labels all 0,
     * max_label -1): then only the input size must fit, for regression models too. */
    int features_only = !d->targets && d->max_label < 0;
    if (!out || !features_only) st = dp_data_check_fits(d, &m->spec, err);
    if (st == DP_OK && d->n_in != (size_t)m->spec.sizes[0])
        st = dp_fail(err, DP_EDATA, "%s: samples have %zu features but the input layer has %d",
                     d->source, d->n_in, m->spec.sizes[0]);
    if (st != DP_OK) return st;
    if (threads < 1) return dp_fail(err, DP_EUSAGE, "--threads must be at least 1");
    if ((unsigned)opt->precision > DP_PRECISION_BF16)
        return dp_fail(err, DP_EUSAGE, "--precision must be fp32 or bf16");
    j->d = d;
    j->out = out;
    j->c.spec = &m->spec;
    j->c.lay = &m->layout;
    j->c.params = m->params;
    j->c.shard_cap = eval_rows_cap(&m->spec);
    j->c.forward_only = 1;
    if ((st = dp_team_ctx_init(&j->c, threads, 0, err)) != DP_OK ||
        (st = dp_team_precision_open(&j->c, opt->precision, err)) != DP_OK)
        return st;
    /* bf16: the weights do not change, so one pack before the team serves every row. */
    if (j->c.pack) dp_bf16_pack_part(j->c.pack, j->c.spec, j->c.lay, j->c.params, 0, 1);
    /* Unpinned, but widened to every allowed PU: workers inherit the caller's binding. */
    dp_topo *topo = NULL;
    dp_error topo_err;
    if (dp_topo_open(&topo, &topo_err) != DP_OK) topo = NULL;
    j->c.topo = topo;
    dp_binding *caller_binding = dp_topo_binding_save(topo);
    st = dp_team_run(threads, DP_TEAM_PTHREADS, eval_worker, j, err);
    dp_topo_binding_restore(topo, caller_binding);
    dp_topo_close(topo);
    if (st == DP_OK && dp_team_setup_failed(&j->c))
        st = dp_fail(err, DP_EINTERNAL, "out of memory for the evaluation workers' buffers");
    return st;
}

static void eval_job_free(eval_job *j)
{
    dp_team_precision_close(&j->c);
    dp_team_ctx_free(&j->c);
}

dp_status dp_evaluate_ex(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                         dp_metrics *out, dp_error *err)
{
    eval_job j;
    int threads = opt->threads;
    dp_status st = run_eval(m, d, opt, NULL, &j, err);
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
    eval_job_free(&j);
    return st;
}

dp_status dp_predict_ex(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                        float *out, dp_error *err)
{
    eval_job j;
    dp_status st = run_eval(m, d, opt, out, &j, err);
    eval_job_free(&j);
    return st;
}

dp_status dp_evaluate(const dp_model *m, const dp_dataset *d, int threads, dp_metrics *out,
                      dp_error *err)
{
    dp_eval_options opt = {threads, DP_PRECISION_FP32};
    return dp_evaluate_ex(m, d, &opt, out, err);
}

dp_status dp_predict(const dp_model *m, const dp_dataset *d, int threads, float *out,
                     dp_error *err)
{
    dp_eval_options opt = {threads, DP_PRECISION_FP32};
    return dp_predict_ex(m, d, &opt, out, err);
}

/* The classification half of dp_evaluate_full: confusion of the outputs y, then the scores. */
static dp_status class_metrics(const dp_dataset *d, const float *y, size_t K,
                               dp_metrics_full *out, dp_error *err)
{
    int C = K == 1 ? 2 : (int)K;
    size_t cells = (size_t)C * (size_t)C;
    out->n_classes = C;
    out->confusion = calloc(cells, sizeof *out->confusion);
    out->precision = calloc((size_t)C, sizeof(double));
    out->recall = calloc((size_t)C, sizeof(double));
    out->f1 = calloc((size_t)C, sizeof(double));
    if (!out->confusion || !out->precision || !out->recall || !out->f1)
        return dp_fail(err, DP_EINTERNAL, "out of memory for a %d-class confusion matrix", C);
    dp_metrics_confusion(out->confusion, C, y, d->n, K, d->labels);
    dp_metrics_from_confusion(out->confusion, C, out->precision, out->recall, out->f1,
                              &out->macro_f1);
    return DP_OK;
}

/* Two passes: dp_evaluate's loss and accuracy (the numbers the training log reports), then
 * the outputs themselves for the per-class and regression metrics. */
dp_status dp_evaluate_full(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                           dp_metrics_full *out, dp_error *err)
{
    memset(out, 0, sizeof *out);
    dp_status st = dp_evaluate_ex(m, d, opt, &out->base, err);
    if (st != DP_OK) return st;
    out->classification = dp_spec_is_classification(&m->spec);
    size_t K = (size_t)m->spec.sizes[m->spec.n_sizes - 1];
    float *y = dp_alloc((d->n ? d->n : 1) * K * sizeof(float));
    if (!y) return dp_fail(err, DP_EINTERNAL, "out of memory for %zu outputs", d->n * K);
    st = dp_predict_ex(m, d, opt, y, err);
    if (st == DP_OK && out->classification)
        st = class_metrics(d, y, K, out, err);
    else if (st == DP_OK)
        dp_metrics_regression(y, d->targets, d->n, K, &out->mae, &out->rmse, &out->r2);
    dp_free(y);
    if (st != DP_OK) dp_metrics_full_free(out);
    return st;
}

void dp_metrics_full_free(dp_metrics_full *m)
{
    if (!m) return;
    free(m->confusion);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    m->confusion = NULL;
    m->precision = m->recall = m->f1 = NULL;
}
