/* Schedule room: learning rates at chosen steps of every schedule (warm-up included) against
 * values worked out by hand, the best-epoch bookkeeping that early stopping and the plateau
 * schedule decide on, and the metrics of `eval --metrics` on a hand-made confusion matrix and
 * hand-computed regression errors. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "metrics.h"
#include "schedule.h"

static dp_train_config cfg_of(dp_schedule kind)
{
    dp_train_config c;
    dp_train_config_defaults(&c);
    c.schedule = kind;
    c.lr = 0.1f;
    c.epochs = 10;
    return c;
}

static const dp_sched NONE = {0, 0.0, 0, 0, 0};

START_TEST(constant_and_warmup)
{
    dp_train_config c = cfg_of(DP_SCHED_CONSTANT);
    ck_assert(dp_sched_lr(&c, &NONE, 1, 100) == (double)0.1f);
    ck_assert(dp_sched_lr(&c, &NONE, 999, 100) == (double)0.1f);
    c.warmup = 4;
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 1, 100), 0.1f * 0.25, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 3, 100), 0.1f * 0.75, 1e-12);
    ck_assert(dp_sched_lr(&c, &NONE, 4, 100) == (double)0.1f);
    ck_assert(dp_sched_lr(&c, &NONE, 5, 100) == (double)0.1f);
}
END_TEST

START_TEST(step_decays_every_lr_step_epochs)
{
    dp_train_config c = cfg_of(DP_SCHED_STEP);
    c.lr_step = 3;
    c.lr_gamma = 0.5f;
    /* 10 steps an epoch: steps 1..30 are epochs 1..3, step 31 starts epoch 4. */
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 1, 10), 0.1f, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 30, 10), 0.1f, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 31, 10), 0.05f, 1e-9);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 61, 10), 0.025f, 1e-9);
}
END_TEST

START_TEST(cosine_from_lr_to_lr_min)
{
    dp_train_config c = cfg_of(DP_SCHED_COSINE);
    c.lr_min = 0.01f;
    /* 10 epochs of 10 steps: T = 100, t = step - 1. */
    double lo = (double)0.01f, hi = (double)0.1f;
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 1, 10), hi, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 51, 10), (hi + lo) / 2, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 26, 10),
                            lo + (hi - lo) * 0.5 * (1 + cos(M_PI / 4)), 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 101, 10), lo, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 500, 10), lo, 1e-12); /* clamped */
    /* Warm-up: the ramp, then the cosine starts at lr over the remaining 90 steps. */
    c.warmup = 10;
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 5, 10), hi * 0.5, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 11, 10), hi, 1e-12);
    ck_assert_double_eq_tol(dp_sched_lr(&c, &NONE, 56, 10), (hi + lo) / 2, 1e-12);
    /* Decreasing after the warm-up. */
    for (long s = 11; s < 100; s++)
        ck_assert(dp_sched_lr(&c, &NONE, s + 1, 10) < dp_sched_lr(&c, &NONE, s, 10));
}
END_TEST

START_TEST(plateau_follows_the_cuts)
{
    dp_train_config c = cfg_of(DP_SCHED_PLATEAU);
    c.plateau_factor = 0.5f;
    c.lr_min = 0.02f;
    dp_sched s = NONE;
    ck_assert_double_eq_tol(dp_sched_lr(&c, &s, 7, 10), 0.1f, 1e-12);
    s.lr_cuts = 1;
    ck_assert_double_eq_tol(dp_sched_lr(&c, &s, 7, 10), 0.05f, 1e-9);
    s.lr_cuts = 5; /* 0.1 / 32 is below the floor */
    ck_assert_double_eq_tol(dp_sched_lr(&c, &s, 7, 10), 0.02f, 1e-9);
}
END_TEST

START_TEST(best_epoch_bookkeeping)
{
    dp_train_config c = cfg_of(DP_SCHED_PLATEAU);
    c.early_stop = 3;
    c.plateau_patience = 2;
    dp_sched s = NONE;
    /* epoch:     1    2    3    4    5    6    7 */
    double v[] = {0.9, 0.8, 0.85, 0.8, 0.7, 0.75, 0.71};
    int want[] = {DP_SCHED_IMPROVED, DP_SCHED_IMPROVED, 0, DP_SCHED_CUT, DP_SCHED_IMPROVED, 0,
                  DP_SCHED_CUT};
    for (int e = 0; e < 7; e++)
        ck_assert_int_eq(dp_sched_epoch_end(&c, &s, e + 1, v[e]), want[e]);
    /* Equal is not better (epoch 4); best is epoch 5; two cuts so far. */
    ck_assert_int_eq(s.best_epoch, 5);
    ck_assert(s.best_loss == 0.7);
    ck_assert_int_eq(s.bad_epochs, 2);
    ck_assert_int_eq(s.lr_cuts, 2);
    /* The third epoch without improvement stops; NaN is never better. */
    ck_assert_int_eq(dp_sched_epoch_end(&c, &s, 8, NAN), DP_SCHED_STOP);
    ck_assert_int_eq(s.best_epoch, 5);
    /* Without early stopping the counters grow and nothing stops. */
    c.early_stop = 0;
    c.schedule = DP_SCHED_CONSTANT;
    dp_sched q = NONE;
    ck_assert_int_eq(dp_sched_epoch_end(&c, &q, 1, 1.0), DP_SCHED_IMPROVED);
    for (int e = 2; e < 50; e++) ck_assert_int_eq(dp_sched_epoch_end(&c, &q, e, 2.0), 0);
    ck_assert_int_eq(q.bad_epochs, 48);
    ck_assert_int_eq(q.lr_cuts, 0);
}
END_TEST

START_TEST(metrics_on_a_hand_made_confusion)
{
    /* Rows true class, columns predicted: 3 classes. */
    const uint64_t conf[9] = {5, 1, 0,
                              2, 3, 1,
                              0, 0, 0};
    double p[3], r[3], f[3], macro;
    dp_metrics_from_confusion(conf, 3, p, r, f, &macro);
    ck_assert_double_eq_tol(p[0], 5.0 / 7, 1e-12);
    ck_assert_double_eq_tol(r[0], 5.0 / 6, 1e-12);
    ck_assert_double_eq_tol(p[1], 3.0 / 4, 1e-12);
    ck_assert_double_eq_tol(r[1], 3.0 / 6, 1e-12);
    /* Class 2: predicted once (wrongly), never true: precision 0, recall undefined -> 0. */
    ck_assert(p[2] == 0.0 && r[2] == 0.0 && f[2] == 0.0);
    double f0 = 2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6), f1 = 2 * 0.75 * 0.5 / 1.25;
    ck_assert_double_eq_tol(f[0], f0, 1e-12);
    ck_assert_double_eq_tol(f[1], f1, 1e-12);
    ck_assert_double_eq_tol(macro, (f0 + f1) / 3, 1e-12);
    /* The confusion of outputs: argmax rows, and p > 0.5 for one sigmoid output. */
    const float y[] = {0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.3f, 0.6f, 0.1f};
    const int32_t labels[] = {0, 0, 1};
    uint64_t c3[9] = {0};
    dp_metrics_confusion(c3, 3, y, 3, 3, labels);
    const uint64_t want3[9] = {1, 0, 1, 0, 1, 0, 0, 0, 0};
    ck_assert_int_eq(memcmp(c3, want3, sizeof c3), 0);
    const float y1[] = {0.2f, 0.9f, 0.6f};
    const int32_t l1[] = {0, 0, 1};
    uint64_t c2[4] = {0};
    dp_metrics_confusion(c2, 2, y1, 3, 1, l1);
    ck_assert(c2[0] == 1 && c2[1] == 1 && c2[2] == 0 && c2[3] == 1);
}
END_TEST

START_TEST(regression_metrics_by_hand)
{
    /* Two outputs, three rows. Errors: (1, -1), (0, 2), (-2, 0). */
    const float t[] = {1, 2, 3, 4, 5, 6};
    const float y[] = {2, 1, 3, 6, 3, 6};
    double mae, rmse, r2;
    dp_metrics_regression(y, t, 3, 2, &mae, &rmse, &r2);
    ck_assert_double_eq_tol(mae, 6.0 / 6, 1e-12);
    ck_assert_double_eq_tol(rmse, sqrt(10.0 / 6), 1e-12);
    /* SS_tot: each output's column has mean 3 and 4: (4 + 0 + 4) + (4 + 0 + 4) = 16. */
    ck_assert_double_eq_tol(r2, 1.0 - 10.0 / 16, 1e-12);
    const float same[] = {2, 2, 2};
    dp_metrics_regression(same, same, 3, 1, &mae, &rmse, &r2);
    ck_assert(mae == 0.0 && rmse == 0.0 && isnan(r2));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schedule");
    TCase *t = tcase_create("schedule");
    tcase_add_test(t, constant_and_warmup);
    tcase_add_test(t, step_decays_every_lr_step_epochs);
    tcase_add_test(t, cosine_from_lr_to_lr_min);
    tcase_add_test(t, plateau_follows_the_cuts);
    tcase_add_test(t, best_epoch_bookkeeping);
    tcase_add_test(t, metrics_on_a_hand_made_confusion);
    tcase_add_test(t, regression_metrics_by_hand);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
