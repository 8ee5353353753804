/* Train room: the data-parallel engine. T = 2, 3, 4 workers reach the weights of T = 1 within
 * rounding (uneven shards, B < T, short last batch included); the same seed and T give the
 * same bytes; both team backends and the serial reduction give the segmented result bit for
 * bit; one full-batch SGD step equals the hand-averaged gradient; learning happens. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "err.h"
#include "model.h"
#include "testhooks.h"

#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

static dp_spec small_spec(dp_loss loss, dp_act act)
{
    dp_spec s = {.n_sizes = 4, .sizes = {6, 9, 7, 3}, .hidden = act, .loss = loss};
    if (loss == DP_LOSS_BCE) s.sizes[3] = 1;
    return s;
}

static dp_dataset *make_data(const dp_spec *spec, size_t n, uint64_t seed)
{
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(spec, n, seed, &d, &e), DP_OK);
    return d;
}

static dp_train_config base_config(int threads, int batch, int epochs)
{
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    cfg.threads = threads;
    cfg.batch = batch;
    cfg.epochs = epochs;
    cfg.optim = DP_OPT_MOMENTUM;
    cfg.lr = 0.05f;
    cfg.seed = 11;
    cfg.quiet = 1;
    return cfg;
}

/* Trains a fresh model and returns its parameters (caller frees). */
static float *train_params(const dp_spec *spec, const dp_dataset *d, const dp_train_config *cfg,
                           size_t *n_params)
{
    dp_error e;
    dp_model *m = dp_model_create(spec, cfg->seed, &e);
    ck_assert_ptr_nonnull(m);
    dp_status st = dp_train(m, d, NULL, cfg, NULL, &e);
    ck_assert_msg(st == DP_OK, "dp_train failed: %s", e.msg);
    *n_params = dp_model_n_params(m);
    float *p = malloc(*n_params * sizeof(float));
    memcpy(p, dp_model_params(m), *n_params * sizeof(float));
    dp_model_free(m);
    return p;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (fabs((double)a[i]) + 1e-3);
        worst = d > worst ? d : worst;
    }
    return worst;
}

START_TEST(test_threads_match_one_thread)
{
    /* 37 samples: batch 10 splits unevenly over 3 and 4 workers and ends with a 7-row batch;
     * batch 2 gives B < T for T = 3, 4. */
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_TANH);
    dp_dataset *d = make_data(&spec, 37, 5);
    int batches[] = {10, 2};
    for (int b = 0; b < 2; b++) {
        dp_train_config cfg = base_config(1, batches[b], 3);
        size_t n;
        float *ref = train_params(&spec, d, &cfg, &n);
        for (int T = 2; T <= 4; T++) {
            cfg.threads = T;
            size_t n2;
            float *p = train_params(&spec, d, &cfg, &n2);
            ck_assert_uint_eq(n, n2);
            double diff = max_rel_diff(ref, p, n);
            ck_assert_msg(diff < 1e-4, "T=%d batch %d: max relative difference %g", T,
                          batches[b], diff);
            free(p);
        }
        free(ref);
    }
    dp_data_free(d);
}
END_TEST

START_TEST(test_same_seed_same_bytes)
{
    dp_spec spec = small_spec(DP_LOSS_MSE, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 50, 3);
    for (int T = 1; T <= 3; T++) {
        dp_train_config cfg = base_config(T, 8, 2);
        cfg.optim = DP_OPT_ADAM;
        cfg.lr = 0.01f;
        size_t n;
        float *a = train_params(&spec, d, &cfg, &n);
        float *b = train_params(&spec, d, &cfg, &n);
        ck_assert_msg(memcmp(a, b, n * sizeof(float)) == 0, "T=%d: two runs differ", T);
        cfg.seed = 12;
        float *c = train_params(&spec, d, &cfg, &n);
        ck_assert_msg(memcmp(a, c, n * sizeof(float)) != 0, "another seed gave the same model");
        free(a);
        free(b);
        free(c);
    }
    dp_data_free(d);
}
END_TEST

START_TEST(test_backends_and_reductions_agree)
{
    dp_spec spec = small_spec(DP_LOSS_BCE, DP_ACT_SIGMOID);
    dp_dataset *d = make_data(&spec, 40, 9);
    dp_train_config cfg = base_config(3, 11, 2);
    size_t n;
    float *seg = train_params(&spec, d, &cfg, &n);
    cfg.team_openmp = 1;
    float *omp = train_params(&spec, d, &cfg, &n);
    ck_assert_msg(memcmp(seg, omp, n * sizeof(float)) == 0, "OpenMP team differs from pthreads");
    cfg.team_openmp = 0;
    cfg.reduce = DP_REDUCE_SERIAL;
    float *ser = train_params(&spec, d, &cfg, &n);
    /* Same summation order (0..T-1) as segmented: identical bits. */
    ck_assert_msg(memcmp(seg, ser, n * sizeof(float)) == 0, "serial reduce differs");
    cfg.reduce = DP_REDUCE_TREE;
    float *tree = train_params(&spec, d, &cfg, &n);
    ck_assert_msg(max_rel_diff(seg, tree, n) < 1e-4, "tree reduce too far: %g",
                  max_rel_diff(seg, tree, n));
    free(seg);
    free(omp);
    free(ser);
    free(tree);
    dp_data_free(d);
}
END_TEST

START_TEST(test_one_step_is_the_average_gradient)
{
    /* One full-batch SGD step with T = 3 over 13 samples (shards 4, 4, 5) must equal
     * params - lr * (sum of per-sample gradients) / 13, computed here on one workspace. */
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 13, 2);
    dp_train_config cfg = base_config(3, 13, 1);
    cfg.optim = DP_OPT_SGD;
    cfg.lr = 0.5f;
    size_t n;
    float *trained = train_params(&spec, d, &cfg, &n);

    dp_error e;
    dp_model *m = dp_model_create(&spec, cfg.seed, &e);
    dp_workspace ws;
    ck_assert_int_eq(dp_workspace_init(&ws, &spec, 13, &e), DP_OK);
    uint32_t idx[13];
    for (uint32_t i = 0; i < 13; i++) idx[i] = i;
    dp_data_gather(d, idx, 13, ws.act[0]);
    dp_data_gather_labels(d, idx, 13, ws.labels);
    float *g = dp_alloc(n * sizeof(float));
    dp_model_forward(&m->spec, &m->layout, m->params, &ws, 13);
    dp_model_backward(&m->spec, &m->layout, m->params, &ws, 13, g, 0);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float expect = m->params[i] - 0.5f * (g[i] / 13.0f);
        double diff = fabs((double)expect - trained[i]);
        worst = diff > worst ? diff : worst;
    }
    ck_assert_msg(worst < 1e-5, "one step differs from the averaged gradient by %g", worst);
    dp_free(g);
    dp_workspace_free(&ws);
    dp_model_free(m);
    free(trained);
    dp_data_free(d);
}
END_TEST

START_TEST(test_deterministic_same_bytes_for_every_thread_count)
{
    /* 61 samples: batch 20 (micro-shards of 16 + 4 rows, a 1-row last batch) and batch 45
     * (16 + 16 + 13 rows, a 16-row last batch): T = 1, 2, 3, 4, 8 — more workers than
     * micro-shards included — must give the very same bytes. */
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 61, 8);
    int batches[] = {20, 45};
    int threads[] = {2, 3, 4, 8};
    for (int b = 0; b < 2; b++) {
        dp_train_config cfg = base_config(1, batches[b], 3);
        cfg.optim = DP_OPT_ADAM;
        cfg.lr = 0.01f;
        cfg.deterministic = 1;
        size_t n;
        float *ref = train_params(&spec, d, &cfg, &n);
        for (int i = 0; i < 4; i++) {
            cfg.threads = threads[i];
            float *p = train_params(&spec, d, &cfg, &n);
            ck_assert_msg(memcmp(ref, p, n * sizeof(float)) == 0,
                          "deterministic: T=%d batch %d differs from T=1", threads[i], batches[b]);
            free(p);
        }
        /* And it is still the same training: close to the default mode's result. */
        cfg.deterministic = 0;
        cfg.threads = 1;
        float *plain = train_params(&spec, d, &cfg, &n);
        ck_assert_msg(max_rel_diff(ref, plain, n) < 1e-3, "deterministic drifts from default: %g",
                      max_rel_diff(ref, plain, n));
        free(plain);
        free(ref);
    }
    dp_data_free(d);
}
END_TEST

/* Dropout keeps the byte guarantees: with --deterministic T = 1, 2, 3 give the same bytes
 * (masks come from the sample's position, not the worker), without it the same T twice does;
 * and it really drops (the model differs from a dropout-free run). */
START_TEST(test_dropout_bytes_independent_of_threads)
{
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_TANH);
    dp_dataset *d = make_data(&spec, 61, 9);
    dp_train_config cfg = base_config(1, 20, 2);
    cfg.deterministic = 1;
    cfg.dropout[0] = 0.5f, cfg.dropout[1] = 0.2f;
    size_t n;
    float *ref = train_params(&spec, d, &cfg, &n);
    for (int t = 2; t <= 3; t++) {
        cfg.threads = t;
        float *p = train_params(&spec, d, &cfg, &n);
        ck_assert_msg(memcmp(ref, p, n * sizeof(float)) == 0, "dropout: T=%d differs", t);
        free(p);
    }
    cfg.deterministic = 0;
    cfg.threads = 3;
    float *a = train_params(&spec, d, &cfg, &n), *b = train_params(&spec, d, &cfg, &n);
    ck_assert_int_eq(memcmp(a, b, n * sizeof(float)), 0);
    cfg.dropout[0] = cfg.dropout[1] = 0.0f;
    float *none = train_params(&spec, d, &cfg, &n);
    ck_assert_int_ne(memcmp(a, none, n * sizeof(float)), 0);
    free(ref), free(a), free(b), free(none);
    dp_data_free(d);
}
END_TEST

typedef struct epoch_log {
    int epochs;
    double last_acc, first_loss, last_loss;
    long steps;
} epoch_log;

static void record_epoch(void *ctx, const dp_epoch_stats *s)
{
    epoch_log *l = ctx;
    if (l->epochs == 0) l->first_loss = s->train_loss;
    l->epochs++;
    l->last_loss = s->train_loss;
    l->last_acc = s->test.accuracy;
    l->steps += s->steps;
}

START_TEST(test_learns_and_reports)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {8, 32, 4}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};
    dp_dataset *d = make_data(&spec, 2000, 1);
    dp_dataset *t = make_data(&spec, 2000, 1); /* same teacher: evaluation on seen data */
    dp_train_config cfg = base_config(2, 32, 5);
    cfg.optim = DP_OPT_ADAM;
    cfg.lr = 0.01f;
    epoch_log log = {0};
    dp_train_hooks hooks = {.on_epoch = record_epoch, .ctx = &log};
    dp_error e;
    dp_model *m = dp_model_create(&spec, 1, &e);
    ck_assert_int_eq(dp_train(m, d, t, &cfg, &hooks, &e), DP_OK);
    ck_assert_int_eq(log.epochs, 5);
    ck_assert_int_eq(log.steps, 5 * 63); /* ceil(2000 / 32) */
    ck_assert_msg(log.last_loss < 0.5 * log.first_loss, "loss %g -> %g", log.first_loss,
                  log.last_loss);
    ck_assert_msg(log.last_acc > 0.85, "accuracy %g", log.last_acc);
    dp_metrics mt;
    ck_assert_int_eq(dp_evaluate(m, t, 3, &mt, &e), DP_OK);
    ck_assert_double_eq_tol(mt.accuracy, log.last_acc, 1e-9);

    /* --steps stops early, mid-epoch. */
    memset(&log, 0, sizeof log);
    cfg.max_steps = 70;
    ck_assert_int_eq(dp_train(m, d, NULL, &cfg, &hooks, &e), DP_OK);
    ck_assert_int_eq(log.steps, 70);
    ck_assert_int_eq(log.epochs, 2);
    dp_model_free(m);
    dp_data_free(d);
    dp_data_free(t);
}
END_TEST

START_TEST(test_non_finite_loss_stops)
{
    dp_spec spec = small_spec(DP_LOSS_MSE, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 64, 4);
    for (size_t i = 0; i < 64 * 6; i++) d->x_f32[i] *= 1e38f; /* the first forward overflows: a non-finite loss */
    dp_train_config cfg = base_config(2, 16, 3);
    cfg.optim = DP_OPT_SGD;
    cfg.lr = 1e6f;
    dp_error e;
    dp_model *m = dp_model_create(&spec, 1, &e);
    dp_status st = dp_train(m, d, NULL, &cfg, NULL, &e);
    ck_assert_int_eq(st, DP_EINTERNAL);
    ck_assert_msg(strstr(e.msg, "non-finite loss at epoch 1") && strstr(e.msg, "--lr"), "%s",
                  e.msg);
    dp_model_free(m);
    dp_data_free(d);
}
END_TEST


typedef struct ckpt_log {
    int calls, non_finite;
    uint64_t fingerprint;
} ckpt_log;

static dp_status record_checkpoint(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                                   const dp_train_state *st, dp_error *err)
{
    (void)spec, (void)cfg, (void)err;
    ckpt_log *l = ctx;
    l->calls++;
    l->fingerprint = st->data_fingerprint;
    for (size_t i = 0; i < st->n_params; i++)
        if (!isfinite(st->params[i])) l->non_finite++;
    return DP_OK;
}

START_TEST(test_non_finite_update_keeps_the_last_finite_weights)
{
    /* SGD with lr = weight decay = 1e10 multiplies every weight by about -1e20 per step: the
     * first step gives ~1e19 (finite, and a finite loss), the second overflows. The run must
     * stop at step 2, keep the weights of step 1 to the bit, and checkpoint nothing; with
     * each reduction (segmented, deterministic micro-shards, tree): each keeps the weights in
     * its own kind of block. */
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_TANH);
    dp_dataset *d = make_data(&spec, 64, 4);
    for (int k = 0; k < 6; k++) {
        int mode = k / 2, T = k % 2 ? 3 : 1;
        dp_train_config cfg = base_config(T, mode == 1 ? 32 : 16, 3);
        cfg.deterministic = mode == 1;
        if (mode == 2) cfg.reduce = DP_REDUCE_TREE;
        cfg.optim = DP_OPT_SGD;
        cfg.lr = 1e10f;
        cfg.weight_decay = 1e10f;
        cfg.max_steps = 1;
        size_t n;
        float *one_step = train_params(&spec, d, &cfg, &n);
        cfg.max_steps = 0;
        ckpt_log log = {0};
        dp_train_hooks hooks = {.checkpoint = record_checkpoint, .ctx = &log,
                                .checkpoint_every = 1};
        dp_error e;
        dp_model *m = dp_model_create(&spec, cfg.seed, &e);
        dp_status st = dp_train(m, d, NULL, &cfg, &hooks, &e);
        ck_assert_int_eq(st, DP_EINTERNAL);
        ck_assert_msg(strstr(e.msg, "epoch 1 step 2: the update made") &&
                          strstr(e.msg, "parameters non-finite") && strstr(e.msg, "--lr"),
                      "%s", e.msg);
        ck_assert_msg(memcmp(dp_model_params(m), one_step, n * sizeof(float)) == 0,
                      "mode %d, T=%d: the model is not the one of the last finite step", mode, T);
        ck_assert_int_eq(log.calls, 0);
        dp_model_free(m);
        free(one_step);
    }
    dp_data_free(d);
}
END_TEST


/* Keeps a deep copy of the last checkpointed state. */
static dp_status copy_checkpoint(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                                 const dp_train_state *st, dp_error *err)
{
    (void)spec, (void)cfg, (void)err;
    dp_train_state *keep = ctx;
    dp_train_state_free(keep);
    *keep = *st;
    size_t bytes = st->n_params * sizeof(float);
    keep->params = memcpy(dp_alloc(bytes), st->params, bytes);
    keep->m1 = st->m1 ? memcpy(dp_alloc(bytes), st->m1, bytes) : NULL;
    keep->m2 = st->m2 ? memcpy(dp_alloc(bytes), st->m2, bytes) : NULL;
    keep->perm = memcpy(dp_alloc(st->n_train * 4), st->perm, st->n_train * 4);
    return DP_OK;
}

START_TEST(test_resume_refuses_other_data)
{
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 40, 6), *other = make_data(&spec, 40, 7);
    dp_train_config cfg = base_config(2, 8, 1);
    dp_train_state state;
    memset(&state, 0, sizeof state);
    dp_train_hooks hooks = {.checkpoint = copy_checkpoint, .ctx = &state, .checkpoint_every = 1};
    dp_error e;
    dp_model *m = dp_model_create(&spec, cfg.seed, &e);
    ck_assert_int_eq(dp_train(m, d, NULL, &cfg, &hooks, &e), DP_OK);
    uint64_t fp = dp_data_fingerprint(d), fp_other = dp_data_fingerprint(other);
    ck_assert(fp != fp_other);
    ck_assert_msg(state.data_fingerprint == fp, "checkpoint fingerprint %llx, data %llx",
                  (unsigned long long)state.data_fingerprint, (unsigned long long)fp);

    cfg.epochs = 2;
    dp_status st = dp_train_resume(m, other, NULL, &cfg, NULL, &state, &e);
    ck_assert_int_eq(st, DP_EUSAGE);
    char a[32], b[32];
    snprintf(a, sizeof a, "%016llx", (unsigned long long)fp);
    snprintf(b, sizeof b, "%016llx", (unsigned long long)fp_other);
    ck_assert_msg(strstr(e.msg, a) && strstr(e.msg, b) && strstr(e.msg, "--resume-any-data"),
                  "%s", e.msg);
    ck_assert_int_eq(dp_train_resume(m, d, NULL, &cfg, NULL, &state, &e), DP_OK);
    cfg.resume_any_data = 1;
    ck_assert_int_eq(dp_train_resume(m, other, NULL, &cfg, NULL, &state, &e), DP_OK);
    /* A checkpoint that recorded no fingerprint (older files) resumes on any data. */
    cfg.resume_any_data = 0;
    state.data_fingerprint = 0;
    ck_assert_int_eq(dp_train_resume(m, other, NULL, &cfg, NULL, &state, &e), DP_OK);
    dp_train_state_free(&state);
    dp_model_free(m);
    dp_data_free(d);
    dp_data_free(other);
}
END_TEST


typedef struct slow_hook {
    int calls, finished, fail_first;
    int last_epoch;
} slow_hook;

/* A slow checkpoint hook (the write goes on while the team trains), failing on request. */
static dp_status slow_checkpoint(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                                 const dp_train_state *st, dp_error *err)
{
    (void)spec, (void)cfg;
    slow_hook *h = ctx;
    h->calls++;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (h->fail_first) return dp_fail(err, DP_EIO, "ckpt.tmp: No space left on device");
    h->last_epoch = st->epoch;
    h->finished++;
    return DP_OK;
}

START_TEST(test_background_checkpoints)
{
    /* Every checkpoint, the last one included, has been written when dp_train returns; a
     * failed write stops the run with its error soon after (not five epochs later). */
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 60, 3);
    dp_train_config cfg = base_config(2, 10, 5);
    slow_hook h = {0};
    dp_train_hooks hooks = {.checkpoint = slow_checkpoint, .ctx = &h, .checkpoint_every = 1};
    dp_error e;
    dp_model *m = dp_model_create(&spec, cfg.seed, &e);
    ck_assert_int_eq(dp_train(m, d, NULL, &cfg, &hooks, &e), DP_OK);
    ck_assert_int_eq(h.calls, 5);
    ck_assert_int_eq(h.finished, 5);
    ck_assert_int_eq(h.last_epoch, 5);

    memset(&h, 0, sizeof h);
    h.fail_first = 1;
    ck_assert_int_eq(dp_train(m, d, NULL, &cfg, &hooks, &e), DP_EIO);
    ck_assert_msg(strstr(e.msg, "No space left"), "%s", e.msg);
    ck_assert_msg(h.calls <= 2, "%d checkpoint calls after the first failed", h.calls);
    dp_model_free(m);
    dp_data_free(d);
}
END_TEST

/* Every worker of both teams, the serial T = 1 path included, trains and evaluates with
 * FTZ and DAZ set (the probe runs as each worker leaves), and dp_train hands the calling
 * thread its own FP mode back. */
#define PROBE_MAX 8
static int g_probe_seen[PROBE_MAX], g_probe_flushing[PROBE_MAX];

static void fp_probe(int worker, int flushing)
{
    ck_assert_int_lt(worker, PROBE_MAX);
    g_probe_seen[worker]++;
    g_probe_flushing[worker] += flushing;
}

START_TEST(test_workers_flush_denormals)
{
#ifdef HAVE_MXCSR
    dp_spec spec = small_spec(DP_LOSS_XENT, DP_ACT_RELU);
    dp_dataset *d = make_data(&spec, 40, 3);
    dp_testhook_set_worker_probe(fp_probe);
    for (int openmp = 0; openmp <= 1; openmp++)
        for (int T = 1; T <= 3; T++) {
            memset(g_probe_seen, 0, sizeof g_probe_seen);
            memset(g_probe_flushing, 0, sizeof g_probe_flushing);
            dp_train_config cfg = base_config(T, 8, 1);
            cfg.team_openmp = openmp;
            unsigned host = _mm_getcsr() & ~0x3fu;
            dp_error e;
            dp_model *m = dp_model_create(&spec, cfg.seed, &e);
            ck_assert_int_eq(dp_train(m, d, d, &cfg, NULL, &e), DP_OK);
            ck_assert_uint_eq(_mm_getcsr() & ~0x3fu, host);
            ck_assert_uint_eq(host & 0x8040u, 0);
            for (int t = 0; t < T; t++)
                ck_assert_msg(g_probe_seen[t] == 1 && g_probe_flushing[t] == 1,
                              "team %d, T %d, worker %d: seen %d, flushing %d", openmp, T, t,
                              g_probe_seen[t], g_probe_flushing[t]);
            ck_assert_int_eq(g_probe_seen[T], 0);
            dp_model_free(m);
        }
    dp_testhook_set_worker_probe(NULL);
    dp_data_free(d);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_threads_match_one_thread);
    tcase_add_test(tc, test_same_seed_same_bytes);
    tcase_add_test(tc, test_backends_and_reductions_agree);
    tcase_add_test(tc, test_one_step_is_the_average_gradient);
    tcase_add_test(tc, test_learns_and_reports);
    tcase_add_test(tc, test_deterministic_same_bytes_for_every_thread_count);
    tcase_add_test(tc, test_dropout_bytes_independent_of_threads);
    tcase_add_test(tc, test_non_finite_loss_stops);
    tcase_add_test(tc, test_non_finite_update_keeps_the_last_finite_weights);
    tcase_add_test(tc, test_resume_refuses_other_data);
    tcase_add_test(tc, test_background_checkpoints);
    tcase_add_test(tc, test_workers_flush_denormals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
