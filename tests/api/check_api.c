/* Public facade suite: dp_model_predict on a caller's rows equals dp_predict on the same rows
 * as a dataset (every output activation, block boundaries, wide layers), keeps bad rows to
 * themselves, gives the same bytes from many threads sharing one model; a run ended by the
 * stop flag returns DP_ESTOPPED with the weights of its last complete step; the version. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dpmlp.h"

static dp_model *trained(const dp_spec *spec, dp_dataset **data, size_t n)
{
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(spec, n, 3, data, &e), DP_OK);
    dp_model *m = dp_model_create(spec, 9, &e);
    ck_assert_ptr_nonnull(m);
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    cfg.threads = 1;
    cfg.epochs = 2;
    cfg.batch = 16;
    cfg.quiet = 1;
    ck_assert_int_eq(dp_train(m, *data, NULL, &cfg, NULL, &e), DP_OK);
    return m;
}

/* Rows of a dataset's features as one caller-owned array. */
static float *features_of(const dp_dataset *d)
{
    size_t bytes = d->n * d->n_in * sizeof(float);
    return memcpy(malloc(bytes), d->x_f32, bytes);
}

static void check_matches_predict(const dp_spec *spec, size_t n)
{
    dp_dataset *d;
    dp_model *m = trained(spec, &d, n);
    size_t outs = (size_t)spec->sizes[spec->n_sizes - 1];
    float *ref = calloc(n * outs, sizeof(float)), *got = calloc(n * outs, sizeof(float));
    float *x = features_of(d);
    dp_error e;
    ck_assert_int_eq(dp_predict(m, d, 2, ref, &e), DP_OK);
    ck_assert_int_eq(dp_model_predict(m, n, x, got, &e), DP_OK);
    double worst = 0.0;
    for (size_t i = 0; i < n * outs; i++) {
        ck_assert(isfinite(got[i]));
        double diff = fabs((double)got[i] - ref[i]);
        worst = diff > worst ? diff : worst;
    }
    /* Same kernels on the same rows; only a different row blocking could move a last bit. */
    ck_assert_msg(worst <= 1e-6, "loss %s, %zu rows: max |diff| %g", dp_loss_name(spec->loss), n,
                  worst);
    /* One row at a time gives the same as all at once. */
    for (size_t r = 0; r < n; r += 13) {
        float one[16];
        ck_assert_int_eq(dp_model_predict(m, 1, x + r * d->n_in, one, &e), DP_OK);
        for (size_t o = 0; o < outs; o++) ck_assert(fabs(one[o] - got[r * outs + o]) <= 1e-6);
    }
    free(ref);
    free(got);
    free(x);
    dp_model_free(m);
    dp_data_free(d);
}

START_TEST(predict_equals_dp_predict)
{
    /* 77 rows: two full blocks of DP_PREDICT_ROWS and a short one. */
    dp_spec xent = {.n_sizes = 4, .sizes = {5, 9, 7, 4}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};
    dp_spec bce = {.n_sizes = 3, .sizes = {5, 6, 1}, .hidden = DP_ACT_SIGMOID, .loss = DP_LOSS_BCE};
    dp_spec mse = {.n_sizes = 3, .sizes = {5, 8, 3}, .hidden = DP_ACT_TANH, .loss = DP_LOSS_MSE};
    check_matches_predict(&xent, 77);
    check_matches_predict(&bce, 77);
    check_matches_predict(&mse, 3);
    /* A layer so wide that fewer rows than DP_PREDICT_ROWS fit the workspace bound. */
    dp_spec wide = {.n_sizes = 3, .sizes = {4, 40000, 2}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};
    check_matches_predict(&wide, 40);
}
END_TEST

START_TEST(predict_bad_row_stays_in_its_row)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {5, 6, 3}, .hidden = DP_ACT_TANH, .loss = DP_LOSS_XENT};
    dp_dataset *d;
    dp_model *m = trained(&spec, &d, 40);
    float *x = features_of(d), out[3 * 3];
    x[1 * 5 + 2] = NAN;
    dp_error e;
    ck_assert_int_eq(dp_model_predict(m, 3, x, out, &e), DP_OK);
    for (int o = 0; o < 3; o++) {
        ck_assert(isfinite(out[o]) && isfinite(out[6 + o]));
        ck_assert(isnan(out[3 + o]));
    }
    ck_assert_int_eq(dp_model_predict(m, 0, NULL, NULL, &e), DP_OK);
    ck_assert_int_eq(dp_model_predict(m, 2, NULL, out, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_model_predict(NULL, 2, x, out, &e), DP_EUSAGE);
    free(x);
    dp_model_free(m);
    dp_data_free(d);
}
END_TEST

typedef struct predict_job {
    const dp_model *m;
    const float *x;
    float *out;
    size_t n;
    dp_status st;
} predict_job;

static void *predict_thread(void *arg)
{
    predict_job *j = arg;
    dp_error e;
    for (int rep = 0; rep < 20 && j->st == DP_OK; rep++)
        j->st = dp_model_predict(j->m, j->n, j->x, j->out, &e);
    return NULL;
}

START_TEST(predict_shared_model_from_threads)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {5, 16, 4}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};
    dp_dataset *d;
    size_t n = 100;
    dp_model *m = trained(&spec, &d, n);
    float *x = features_of(d), *ref = malloc(n * 4 * sizeof(float));
    dp_error e;
    ck_assert_int_eq(dp_model_predict(m, n, x, ref, &e), DP_OK);
    enum { T = 4 };
    pthread_t th[T];
    predict_job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (predict_job){m, x, calloc(n * 4, sizeof(float)), n, DP_OK};
        ck_assert_int_eq(pthread_create(&th[t], NULL, predict_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(jobs[t].st, DP_OK);
        ck_assert_mem_eq(jobs[t].out, ref, n * 4 * sizeof(float));
        free(jobs[t].out);
    }
    free(x);
    free(ref);
    dp_model_free(m);
    dp_data_free(d);
}
END_TEST

/* on_step sets the stop flag after step `at`, as a signal handler would. */
typedef struct stop_at {
    long at, seen;
    volatile int flag;
} stop_at;

static void stop_on_step(void *ctx, int epoch, long step, long steps)
{
    (void)epoch, (void)step, (void)steps;
    stop_at *s = ctx;
    if (++s->seen == s->at) s->flag = 1;
}

START_TEST(stop_flag_returns_estopped)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {5, 8, 3}, .hidden = DP_ACT_TANH, .loss = DP_LOSS_XENT};
    dp_dataset *d;
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(&spec, 64, 3, &d, &e), DP_OK);
    for (int T = 1; T <= 2; T++) {
        dp_train_config cfg;
        dp_train_config_defaults(&cfg);
        cfg.threads = T;
        cfg.epochs = 5;
        cfg.batch = 8;
        cfg.quiet = 1;
        /* The reference: the same run ended by --steps 11 (a normal end, DP_OK). */
        cfg.max_steps = 11;
        dp_model *ref = dp_model_create(&spec, 4, &e);
        ck_assert_int_eq(dp_train(ref, d, NULL, &cfg, NULL, &e), DP_OK);
        cfg.max_steps = 0;
        stop_at s = {11, 0, 0};
        dp_train_hooks hooks = {.on_step = stop_on_step, .ctx = &s, .stop = &s.flag};
        dp_model *m = dp_model_create(&spec, 4, &e);
        dp_status st = dp_train(m, d, NULL, &cfg, &hooks, &e);
        ck_assert_int_eq(st, DP_ESTOPPED);
        ck_assert_int_eq(e.code, DP_ESTOPPED);
        ck_assert_msg(strstr(e.msg, "stopped") != NULL, "%s", e.msg);
        ck_assert_int_eq(s.seen, 11);
        ck_assert_mem_eq(dp_model_params(m), dp_model_params(ref),
                         dp_model_n_params(m) * sizeof(float));
        dp_model_free(m);
        dp_model_free(ref);
    }
    dp_data_free(d);
}
END_TEST

START_TEST(version_matches_header)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DPMLP_VERSION_MAJOR, DPMLP_VERSION_MINOR,
             DPMLP_VERSION_PATCH);
    ck_assert_str_eq(dp_version(), want);
    ck_assert_str_eq(DPMLP_VERSION, want);
    ck_assert_int_eq(dp_version_major(), DPMLP_VERSION_MAJOR);
    ck_assert_int_eq(dp_version_minor(), DPMLP_VERSION_MINOR);
    ck_assert_int_eq(dp_version_patch(), DPMLP_VERSION_PATCH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, predict_equals_dp_predict);
    tcase_add_test(tc, predict_bad_row_stays_in_its_row);
    tcase_add_test(tc, predict_shared_model_from_threads);
    tcase_add_test(tc, stop_flag_returns_estopped);
    tcase_add_test(tc, version_matches_header);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
