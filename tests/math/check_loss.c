/* Loss room tests: each output activation and loss (value, fused gradient dL/dz, score)
 * against the textbook formula computed naively in double on small cases, including extreme
 * logits (±100) where a naive float softmax or logistic would overflow. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"

/* |got − want| within an absolute plus relative tolerance. */
#define NEAR(got, want, tol)                                                               \
    ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol) * (1.0 + fabs((double)(want))), \
                  "%s = %.9g, want %.9g", #got, (double)(got), (double)(want))

static const double LOG_FLOOR = 1e-7; /* loss.c clamps probabilities here before logs */

static double naive_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Softmax of one row in double, max subtracted (the stable textbook form). */
static void naive_softmax(const float *z, size_t K, double *p)
{
    double mx = z[0], s = 0.0;
    for (size_t j = 1; j < K; j++) mx = z[j] > mx ? z[j] : mx;
    for (size_t j = 0; j < K; j++) s += p[j] = exp((double)z[j] - mx);
    for (size_t j = 0; j < K; j++) p[j] /= s;
}

static double clamped_log(double p) { return log(p < LOG_FLOOR ? LOG_FLOOR : p); }

/* Rows of logits: ordinary, tied, and extreme (±100: exp(100) overflows float). */
enum { XR = 5, XK = 4 };
static const float XZ[XR][XK] = {
    {0.5f, -1.0f, 2.0f, 0.0f},
    {1.0f, 1.0f, 1.0f, 1.0f},
    {100.0f, -100.0f, 0.0f, 3.0f},
    {-100.0f, -100.0f, -100.0f, -99.0f},
    {100.0f, 100.0f, -100.0f, 100.0f},
};
static const int32_t XL[XR] = {2, 3, 1, 0, 2};

START_TEST(softmax_xent_against_naive)
{
    float y[XR * XK], dz[XR * XK];
    memcpy(y, XZ, sizeof y);
    dp_output_forward(DP_ACT_SOFTMAX, y, XR, XK);
    double want_loss = 0.0;
    for (size_t i = 0; i < XR; i++) {
        double p[XK], sum = 0.0;
        naive_softmax(XZ[i], XK, p);
        for (size_t j = 0; j < XK; j++) {
            ck_assert(isfinite(y[i * XK + j]));
            NEAR(y[i * XK + j], p[j], 1e-6);
            sum += y[i * XK + j];
        }
        NEAR(sum, 1.0, 1e-6);
        want_loss -= clamped_log(p[XL[i]]);
    }
    double loss = dp_loss_eval(DP_LOSS_XENT, y, XR, XK, XL, NULL, dz);
    ck_assert(isfinite(loss));
    NEAR(loss, want_loss, 1e-5);
    /* Row 2's label sits at −100: p ≈ e^-200, so the clamp sets a large but finite loss. */
    ck_assert(want_loss > -log(LOG_FLOOR));
    for (size_t i = 0; i < XR; i++) {
        double p[XK];
        naive_softmax(XZ[i], XK, p);
        for (size_t j = 0; j < XK; j++) /* d/dz of −log softmax = p − onehot */
            NEAR(dz[i * XK + j], p[j] - (j == (size_t)XL[i]), 1e-6);
    }
    /* Without dz the same loss. */
    ck_assert(dp_loss_eval(DP_LOSS_XENT, y, XR, XK, XL, NULL, NULL) == loss);
}
END_TEST

/* The fused gradient is the derivative of the loss sum: central differences in z. */
START_TEST(xent_gradient_is_derivative)
{
    const float z0[XK] = {0.3f, -0.7f, 1.1f, 0.2f};
    const int32_t label = 1;
    float y[XK], dz[XK];
    memcpy(y, z0, sizeof y);
    dp_output_forward(DP_ACT_SOFTMAX, y, 1, XK);
    dp_loss_eval(DP_LOSS_XENT, y, 1, XK, &label, NULL, dz);
    for (size_t j = 0; j < XK; j++) {
        double lp[2];
        for (int s = 0; s < 2; s++) {
            float z[XK];
            memcpy(z, z0, sizeof z);
            z[j] += s ? -1e-2f : 1e-2f;
            dp_output_forward(DP_ACT_SOFTMAX, z, 1, XK);
            lp[s] = dp_loss_eval(DP_LOSS_XENT, z, 1, XK, &label, NULL, NULL);
        }
        NEAR(dz[j], (lp[0] - lp[1]) / 2e-2, 1e-3);
    }
}
END_TEST

START_TEST(bce_single_output_against_naive)
{
    const float z[] = {0.0f, 2.5f, -1.5f, 100.0f, -100.0f, 100.0f, -100.0f};
    const int32_t t[] = {1, 0, 0, 1, 0, 0, 1};
    enum { N = sizeof z / sizeof z[0] };
    float y[N], dz[N];
    memcpy(y, z, sizeof y);
    dp_output_forward(DP_ACT_SIGMOID, y, N, 1);
    double want = 0.0;
    for (size_t i = 0; i < N; i++) {
        double p = naive_sigmoid(z[i]);
        ck_assert(y[i] >= 0.0f && y[i] <= 1.0f);
        NEAR(y[i], p, 1e-6);
        want -= t[i] * clamped_log(p) + (1 - t[i]) * clamped_log(1.0 - p);
    }
    double loss = dp_loss_eval(DP_LOSS_BCE, y, N, 1, t, NULL, dz);
    ck_assert(isfinite(loss));
    /* The confident mistakes (±100 on the wrong side) cost the clamp's −log(1e-7) each. */
    NEAR(loss, want, 1e-4);
    ck_assert(loss > 2 * -log(LOG_FLOOR));
    for (size_t i = 0; i < N; i++) NEAR(dz[i], naive_sigmoid(z[i]) - t[i], 1e-6);
    /* Right-side ±100 rows cost nothing and push nothing. */
    ck_assert(fabs(dz[3]) < 1e-6 && fabs(dz[4]) < 1e-6);
}
END_TEST

/* K > 1 bce: one-hot targets, the loss and gradient averaged over the K outputs. */
START_TEST(bce_multi_output_against_naive)
{
    float y[2 * 3] = {0.2f, -0.4f, 1.0f, 100.0f, -100.0f, 0.0f}, dz[6];
    const float z[6] = {0.2f, -0.4f, 1.0f, 100.0f, -100.0f, 0.0f};
    const int32_t labels[2] = {2, 1};
    dp_output_forward(DP_ACT_SIGMOID, y, 2, 3);
    double want = 0.0;
    for (size_t i = 0; i < 2; i++) {
        double row = 0.0;
        for (size_t j = 0; j < 3; j++) {
            double p = naive_sigmoid(z[i * 3 + j]), tt = (size_t)labels[i] == j;
            row -= tt * clamped_log(p) + (1 - tt) * clamped_log(1.0 - p);
        }
        want += row / 3.0;
    }
    NEAR(dp_loss_eval(DP_LOSS_BCE, y, 2, 3, labels, NULL, dz), want, 1e-4);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            NEAR(dz[i * 3 + j], (naive_sigmoid(z[i * 3 + j]) - ((size_t)labels[i] == j)) / 3.0,
                 1e-6);
}
END_TEST

/* Regression losses: the output is linear (activate leaves it), mean over K per row. */
START_TEST(mse_mae_against_naive)
{
    enum { M = 2, K = 3 };
    const float z[M * K] = {1.0f, -2.0f, 0.5f, 3.0f, 3.0f, -100.0f};
    const float tg[M * K] = {0.0f, -2.0f, 1.5f, 1.0f, 4.0f, 100.0f};
    float y[M * K], dz[M * K];
    memcpy(y, z, sizeof y);
    dp_output_forward(DP_ACT_LINEAR, y, M, K);
    ck_assert(memcmp(y, z, sizeof y) == 0);
    dp_output_forward(DP_ACT_LINEAR, y, M, K);
    ck_assert(memcmp(y, z, sizeof y) == 0);

    /* The loss averages with a float 1/K, so agreement is to float precision. */
    double mse = 0.0, mae = 0.0;
    for (size_t i = 0; i < M * K; i++) {
        double d = (double)z[i] - tg[i];
        mse += d * d / K;
        mae += fabs(d) / K;
    }
    NEAR(dp_loss_eval(DP_LOSS_MSE, y, M, K, NULL, tg, dz), mse, 1e-6);
    for (size_t i = 0; i < M * K; i++) NEAR(dz[i], 2.0 * ((double)z[i] - tg[i]) / K, 1e-6);
    NEAR(dp_loss_eval(DP_LOSS_MAE, y, M, K, NULL, tg, dz), mae, 1e-6);
    for (size_t i = 0; i < M * K; i++) {
        double d = (double)z[i] - tg[i];
        NEAR(dz[i], d > 0 ? 1.0 / K : d < 0 ? -1.0 / K : 0.0, 1e-7);
    }
    ck_assert(dz[1] == 0.0f); /* d == 0: the subgradient keeps a perfect fit in place */
    /* The regression score is the summed mean absolute error. */
    NEAR(dp_loss_score(DP_LOSS_MAE, y, M, K, NULL, tg), mae, 1e-6);
    NEAR(dp_loss_score(DP_LOSS_MSE, y, M, K, NULL, tg), mae, 1e-6);
}
END_TEST

/* Classification score: argmax (first of ties) for K > 1, p > 0.5 for single-output bce. */
START_TEST(score_counts_correct_rows)
{
    const float p[3 * 3] = {0.1f, 0.7f, 0.2f, 0.4f, 0.4f, 0.2f, 0.3f, 0.3f, 0.4f};
    const int32_t right[3] = {1, 0, 2}, wrong[3] = {0, 1, 1};
    ck_assert(dp_loss_score(DP_LOSS_XENT, p, 3, 3, right, NULL) == 3.0);
    ck_assert(dp_loss_score(DP_LOSS_XENT, p, 3, 3, wrong, NULL) == 0.0);
    const float q[4] = {0.9f, 0.5f, 0.51f, 0.1f};
    const int32_t t[4] = {1, 0, 1, 1};
    ck_assert(dp_loss_score(DP_LOSS_BCE, q, 4, 1, t, NULL) == 3.0);
}
END_TEST

static Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *c = tcase_create("loss");
    tcase_add_test(c, softmax_xent_against_naive);
    tcase_add_test(c, xent_gradient_is_derivative);
    tcase_add_test(c, bce_single_output_against_naive);
    tcase_add_test(c, bce_multi_output_against_naive);
    tcase_add_test(c, mse_mae_against_naive);
    tcase_add_test(c, score_counts_correct_rows);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loss_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
