/* Evaluate room: evaluation workspaces hold the forward pass only and are capped by memory,
 * so a wide model costs tens of MB per worker, not GB (before: 256 rows with the backprop
 * buffers, 3 GiB per worker for a [1,1048576,2] model); results do not depend on the cap or
 * the thread count. */
#include <check.h>
#include <math.h>
#include <sys/resource.h>

#include "data.h"
#include "err.h"
#include "model.h"

#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

/* ThreadSanitizer's shadow memory counts in the RSS (several times the application's): its
 * bound is wider, still far below the 12 GiB four old-style workspaces took. */
#if defined(__SANITIZE_THREAD__)
#define RSS_BOUND_MIB 2000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSS_BOUND_MIB 2000
#endif
#endif
#ifndef RSS_BOUND_MIB
#define RSS_BOUND_MIB 400
#endif

static long peak_rss_mib(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss / 1024; /* Linux: KiB */
}

START_TEST(test_wide_model_evaluates_in_bounded_memory)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {1, 1048576, 2}, .hidden = DP_ACT_RELU,
                    .loss = DP_LOSS_XENT};
    dp_error e;
    dp_model *m = dp_model_create(&spec, 3, &e);
    ck_assert_ptr_nonnull(m);
    dp_dataset *d = NULL;
    ck_assert_int_eq(dp_data_synthetic(&spec, 40, 5, &d, &e), DP_OK);
    long before = peak_rss_mib();
    dp_metrics four, one;
    ck_assert_int_eq(dp_evaluate(m, d, 4, &four, &e), DP_OK);
    long after = peak_rss_mib();
    /* 4 workers x <= 64 MiB of activations, the 12 MiB model and the test's own data. */
    ck_assert_msg(after < RSS_BOUND_MIB, "peak RSS %ld MiB (before evaluation: %ld MiB)", after,
                  before);
    ck_assert_int_eq(dp_evaluate(m, d, 1, &one, &e), DP_OK);
    ck_assert_uint_eq(four.samples, 40);
    ck_assert_msg(fabs(four.loss - one.loss) <= 1e-6 * fabs(one.loss), "%g vs %g", four.loss,
                  one.loss);
    ck_assert_double_eq(four.accuracy, one.accuracy);
    dp_data_free(d);
    dp_model_free(m);
}
END_TEST

START_TEST(test_forward_workspace_has_no_backprop_buffers)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {5, 7, 3}, .hidden = DP_ACT_TANH,
                    .loss = DP_LOSS_XENT};
    dp_workspace ws;
    dp_error e;
    ck_assert_int_eq(dp_workspace_init_forward(&ws, &spec, 10, &e), DP_OK);
    ck_assert_ptr_null(ws.grad_a);
    ck_assert_ptr_null(ws.grad_b);
    for (int l = 0; l < 3; l++) ck_assert_ptr_nonnull(ws.act[l]);
    ck_assert_ptr_nonnull(ws.labels);
    dp_workspace_free(&ws);
    ck_assert_uint_eq(dp_workspace_forward_row_bytes(&spec), (5 + 7 + 3 + 3) * 4 + 4);
}
END_TEST

/* Prediction workers run with DAZ/FTZ: denormal weights count as 0, so a linear model with
 * zero biases predicts exactly 0 on every row, at 1 and 3 threads; the same dot product on
 * the calling thread (its own mode, handed back unchanged) is not 0. */
START_TEST(test_prediction_flushes_denormal_weights)
{
#ifdef HAVE_MXCSR
    dp_spec spec = {.n_sizes = 2, .sizes = {4, 2}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_MSE};
    dp_error e;
    dp_model *m = dp_model_create(&spec, 3, &e);
    ck_assert_ptr_nonnull(m);
    float *p = dp_model_params(m);
    for (size_t i = 0; i < 8; i++) p[i] = 2e-39f; /* denormal: below FLT_MIN */
    for (size_t i = 8; i < 10; i++) p[i] = 0.0f;
    dp_dataset *d = NULL;
    ck_assert_int_eq(dp_data_synthetic(&spec, 10, 5, &d, &e), DP_OK);
    volatile float dot = 0.0f;
    for (int i = 0; i < 4; i++) dot += d->x_f32[i] * p[2 * i];
    ck_assert_msg(dot != 0.0f, "row 0 is 0 without flushing: the test would prove nothing");
    float out[20];
    unsigned host = _mm_getcsr() & ~0x3fu;
    for (int T = 1; T <= 3; T += 2) {
        for (int i = 0; i < 20; i++) out[i] = 1.0f;
        ck_assert_int_eq(dp_predict(m, d, T, out, &e), DP_OK);
        for (int i = 0; i < 20; i++) ck_assert_msg(out[i] == 0.0f, "T %d row %d: %g", T, i / 2,
                                                   (double)out[i]);
        ck_assert_uint_eq(_mm_getcsr() & ~0x3fu, host);
    }
    dp_data_free(d);
    dp_model_free(m);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("evaluate");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forward_workspace_has_no_backprop_buffers);
    tcase_add_test(tc, test_wide_model_evaluates_in_bounded_memory);
    tcase_add_test(tc, test_prediction_flushes_denormal_weights);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
