/* Train room, validation: the model dp_train_val leaves is the best epoch's (the same bytes as
 * a run stopped at that epoch), early stopping stops where the bookkeeping says, and with
 * --deterministic a run with validation gives the same bytes for every thread count. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct seen {
    int last_epoch, best_epoch, early;
    double val_loss[64];      /* per epoch, 1-based */
} seen;

static void on_epoch(void *ctx, const dp_epoch_stats *s)
{
    seen *v = ctx;
    ck_assert(s->has_val);
    v->last_epoch = s->epoch;
    v->best_epoch = s->best_epoch;
    v->early |= s->early_stopped;
    if (s->epoch < 64) v->val_loss[s->epoch] = s->val.loss;
}

/* Trains a fresh model with cfg; returns its parameters (caller frees) and what it saw. */
static float *run(const dp_dataset *d, const dp_train_config *cfg, seen *v, size_t *n)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {6, 32, 3}, .hidden = DP_ACT_RELU,
                    .loss = DP_LOSS_XENT};
    dp_error e;
    dp_model *m = dp_model_create(&spec, cfg->seed, &e);
    ck_assert_ptr_nonnull(m);
    memset(v, 0, sizeof *v);
    dp_train_hooks h = {.on_epoch = on_epoch, .ctx = v};
    dp_status st = dp_train_val(m, d, NULL, NULL, cfg, &h, NULL, &e);
    ck_assert_msg(st == DP_OK, "%s", e.msg);
    *n = dp_model_n_params(m);
    float *p = malloc(*n * sizeof(float));
    memcpy(p, dp_model_params(m), *n * sizeof(float));
    dp_model_free(m);
    return p;
}

static dp_dataset *data(void)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {6, 32, 3}, .hidden = DP_ACT_RELU,
                    .loss = DP_LOSS_XENT};
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(&spec, 1000, 5, &d, &e), DP_OK);
    return d;
}

static dp_train_config config(int threads)
{
    dp_train_config c;
    dp_train_config_defaults(&c);
    c.threads = threads, c.batch = 8, c.epochs = 60, c.seed = 3, c.lr = 0.03f, c.quiet = 1;
    c.val_split = 0.25f;
    c.early_stop = 3;
    return c;
}

START_TEST(the_model_is_the_best_epochs)
{
    dp_dataset *d = data();
    dp_train_config c = config(2);
    seen a, b;
    size_t n;
    float *pa = run(d, &c, &a, &n);
    ck_assert(a.early);
    ck_assert_int_eq(a.last_epoch - a.best_epoch, 3);
    ck_assert_int_lt(a.last_epoch, 60);
    /* The same run stopped at the best epoch ends with that epoch's weights. */
    c.epochs = a.best_epoch;
    c.early_stop = 0;
    float *pb = run(d, &c, &b, &n);
    ck_assert_int_eq(b.best_epoch, a.best_epoch);
    ck_assert_int_eq(memcmp(pa, pb, n * sizeof(float)), 0);
    free(pa), free(pb);
    dp_data_free(d);
}
END_TEST

START_TEST(deterministic_with_validation_for_every_thread_count)
{
    dp_dataset *d = data();
    dp_train_config c = config(1);
    c.deterministic = 1;
    c.schedule = DP_SCHED_COSINE;
    c.warmup = 10;
    c.epochs = 8;
    seen s1, s3;
    size_t n;
    float *p1 = run(d, &c, &s1, &n);
    c.threads = 3;
    float *p3 = run(d, &c, &s3, &n);
    ck_assert_int_eq(s1.best_epoch, s3.best_epoch);
    ck_assert_int_eq(memcmp(p1, p3, n * sizeof(float)), 0);
    /* The losses the decisions compare have the same bits for every thread count. */
    ck_assert_int_eq(memcmp(s1.val_loss, s3.val_loss, sizeof s1.val_loss), 0);
    free(p1), free(p3);
    dp_data_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_val");
    TCase *t = tcase_create("train_val");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, the_model_is_the_best_epochs);
    tcase_add_test(t, deterministic_with_validation_for_every_thread_count);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
