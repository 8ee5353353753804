/* Per-layer activations, output/loss pairs and dropout in the model: backprop against central
 * finite differences for leaky_relu, gelu and linear hidden layers (mixed per layer), for
 * every output mse and mae take (sigmoid, tanh, softmax, linear), and through a fixed dropout
 * mask; masks that depend on the sample's position only (not on how rows are cut into
 * shards), keep rate and scale; evaluation (no dropout) unchanged by a dropout forward. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loss.h"
#include "math/netfd.h"
#include "model.h"

static dp_spec spec4(int K, dp_act h1, dp_act h2, dp_act out, dp_loss loss)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 4;
    s.sizes[0] = 5, s.sizes[1] = 7, s.sizes[2] = 6, s.sizes[3] = K;
    s.loss = loss;
    s.n_act = 3;
    s.act[0] = h1, s.act[1] = h2, s.act[2] = out;
    s.leaky_slope = 0.1f;
    return s;
}

static void expect_gradient(const dp_spec *s, double tol, const char *what)
{
    dp_error e;
    ck_assert_msg(dp_spec_validate(s, &e) == DP_OK, "%s: %s", what, e.msg);
    net n;
    net_init_spec(&n, s, 3);
    double err = gradient_error(&n);
    ck_assert_msg(err < tol, "%s: relative gradient error %g", what, err);
    net_free(&n);
}

START_TEST(new_hidden_acts_every_loss)
{
    static const dp_act H[] = {DP_ACT_LEAKY_RELU, DP_ACT_GELU, DP_ACT_LINEAR};
    struct { dp_loss loss; int K; } cases[] = {
        {DP_LOSS_XENT, 4}, {DP_LOSS_BCE, 1}, {DP_LOSS_BCE, 3}, {DP_LOSS_MSE, 2}, {DP_LOSS_MAE, 3}};
    for (size_t a = 0; a < 3; a++)
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            /* Both hidden layers the new one, then mixed with tanh in either order. */
            dp_act out = dp_loss_default_out(cases[c].loss);
            dp_act pairs[3][2] = {{H[a], H[a]}, {H[a], DP_ACT_TANH}, {DP_ACT_SIGMOID, H[a]}};
            for (int p = 0; p < 3; p++) {
                dp_spec s = spec4(cases[c].K, pairs[p][0], pairs[p][1], out, cases[c].loss);
                char what[96];
                snprintf(what, sizeof what, "%s,%s / %s K=%d", dp_act_name(pairs[p][0]),
                         dp_act_name(pairs[p][1]), dp_loss_name(cases[c].loss), cases[c].K);
                /* Kinks (leaky_relu, MAE) crossed by a finite difference cost accuracy. */
                int kink = H[a] == DP_ACT_LEAKY_RELU || cases[c].loss == DP_LOSS_MAE;
                expect_gradient(&s, kink ? 3e-2 : 5e-3, what);
            }
        }
}
END_TEST

START_TEST(regression_through_every_output)
{
    static const dp_act OUT[] = {DP_ACT_SIGMOID, DP_ACT_TANH, DP_ACT_SOFTMAX, DP_ACT_LINEAR};
    static const dp_loss L[] = {DP_LOSS_MSE, DP_LOSS_MAE};
    for (size_t o = 0; o < 4; o++)
        for (size_t l = 0; l < 2; l++) {
            dp_spec s = spec4(3, DP_ACT_TANH, DP_ACT_GELU, OUT[o], L[l]);
            char what[64];
            snprintf(what, sizeof what, "--out %s --loss %s", dp_act_name(OUT[o]),
                     dp_loss_name(L[l]));
            expect_gradient(&s, L[l] == DP_LOSS_MAE ? 3e-2 : 5e-3, what);
        }
}
END_TEST

/* dp_spec_validate: the loss/output rule and the per-layer shape, one line each. */
START_TEST(bad_pairs_refused)
{
    dp_error e;
    dp_spec s = spec4(3, DP_ACT_TANH, DP_ACT_TANH, DP_ACT_SIGMOID, DP_LOSS_XENT);
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "xent needs --out softmax"));
    s = spec4(1, DP_ACT_TANH, DP_ACT_TANH, DP_ACT_LINEAR, DP_LOSS_BCE);
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    s = spec4(1, DP_ACT_TANH, DP_ACT_TANH, DP_ACT_RELU, DP_LOSS_MSE);
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    s = spec4(2, DP_ACT_SOFTMAX, DP_ACT_TANH, DP_ACT_LINEAR, DP_LOSS_MSE);
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "hidden layer 1 cannot be 'softmax'"));
    s = spec4(2, DP_ACT_TANH, DP_ACT_TANH, DP_ACT_LINEAR, DP_LOSS_MSE);
    s.n_act = 2;
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    s.n_act = 3;
    s.leaky_slope = -0.5f;
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE);
    s.leaky_slope = 0.0f;
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_OK);
}
END_TEST

static float g_rate[DP_MAX_SIZES];

START_TEST(gradient_through_fixed_dropout)
{
    dp_spec s = spec4(2, DP_ACT_TANH, DP_ACT_GELU, DP_ACT_LINEAR, DP_LOSS_MSE);
    memset(g_rate, 0, sizeof g_rate);
    g_rate[0] = 0.5f, g_rate[1] = 0.25f;
    net n;
    net_init_spec(&n, &s, 4);
    ck_assert_int_eq(dp_workspace_add_dropout(&n.ws, &s, g_rate, NULL), DP_OK);
    dp_dropout d = {g_rate, dp_dropout_key(3, 2), 40};
    n.drop = &d;
    double err = gradient_error(&n);
    ck_assert_msg(err < 5e-3, "dropout: relative gradient error %g", err);
    /* Some units really were dropped, and the kept ones scaled by 1/(1-p). */
    int zeros = 0, twos = 0;
    for (size_t i = 0; i < 4 * 7; i++) {
        zeros += n.ws.mask[1][i] == 0.0f;
        twos += n.ws.mask[1][i] == 2.0f;
    }
    ck_assert_int_eq(zeros + twos, 28);
    ck_assert(zeros > 0 && twos > 0);
    net_free(&n);
}
END_TEST

/* Evaluation is dropout-free: a plain forward after a dropout forward gives exactly the
 * outputs of a net that never had dropout, and the dropout forward itself differs. */
START_TEST(eval_ignores_dropout)
{
    dp_spec s = spec4(3, DP_ACT_RELU, DP_ACT_TANH, DP_ACT_SOFTMAX, DP_LOSS_XENT);
    memset(g_rate, 0, sizeof g_rate);
    g_rate[0] = g_rate[1] = 0.5f;
    net a, b;
    net_init_spec(&a, &s, 5);
    net_init_spec(&b, &s, 5);
    ck_assert_int_eq(dp_workspace_add_dropout(&a.ws, &s, g_rate, NULL), DP_OK);
    dp_dropout d = {g_rate, dp_dropout_key(1, 1), 0};
    a.drop = &d;
    net_loss(&a);
    size_t out = 5 * 3 * sizeof(float);
    float *dropped = malloc(out);
    memcpy(dropped, a.ws.act[3], out);
    a.drop = NULL;
    net_loss(&a);
    net_loss(&b);
    ck_assert_int_eq(memcmp(a.ws.act[3], b.ws.act[3], out), 0);
    ck_assert_int_ne(memcmp(dropped, b.ws.act[3], out), 0);
    free(dropped);
    net_free(&a);
    net_free(&b);
}
END_TEST

/* A unit's mask is a function of (key, position, layer, unit) only: the same rows cut into
 * two shards (row0 and row0 + 3) get the same masks as in one, so the thread count cannot
 * change them; about 1 - p of the units are kept; another epoch's key draws other masks. */
START_TEST(mask_depends_on_position_only)
{
    uint64_t key = dp_dropout_key(42, 7);
    size_t kept = 0, total = 0, same_other_epoch = 0;
    for (uint64_t pos = 100; pos < 400; pos++)
        for (size_t j = 0; j < 50; j++) {
            float m = dp_dropout_scale(key, pos, 1, j, 0.3f);
            ck_assert(m == 0.0f || m == 1.0f / 0.7f);
            kept += m != 0.0f;
            total++;
            same_other_epoch += m == dp_dropout_scale(dp_dropout_key(42, 8), pos, 1, j, 0.3f);
        }
    double rate = (double)kept / (double)total;
    ck_assert_msg(fabs(rate - 0.7) < 0.02, "kept %g of the units, want 0.7", rate);
    ck_assert(same_other_epoch < total * 7 / 10); /* independent masks agree ~58 % of the time */

    dp_spec s = spec4(2, DP_ACT_TANH, DP_ACT_TANH, DP_ACT_LINEAR, DP_LOSS_MSE);
    memset(g_rate, 0, sizeof g_rate);
    g_rate[0] = 0.4f;
    net whole, part;
    net_init_spec(&whole, &s, 6);
    net_init_spec(&part, &s, 6);
    ck_assert_int_eq(dp_workspace_add_dropout(&whole.ws, &s, g_rate, NULL), DP_OK);
    ck_assert_int_eq(dp_workspace_add_dropout(&part.ws, &s, g_rate, NULL), DP_OK);
    dp_dropout d = {g_rate, key, 10};
    whole.drop = &d;
    net_loss(&whole);
    for (size_t half = 0; half < 2; half++) {
        dp_dropout dh = {g_rate, key, 10 + 3 * half};
        memcpy(part.ws.act[0], whole.x + half * 3 * 5, 3 * 5 * sizeof(float));
        dp_model_forward_train(&s, &part.lay, whole.params, &part.ws, 3, &dh);
        ck_assert_int_eq(memcmp(part.ws.mask[1], whole.ws.mask[1] + half * 3 * 7, 3 * 7 * 4), 0);
        ck_assert_int_eq(memcmp(part.ws.act[3], whole.ws.act[3] + half * 3 * 2, 3 * 2 * 4), 0);
    }
    net_free(&whole);
    net_free(&part);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_grads");
    TCase *tc = tcase_create("layer_grads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, new_hidden_acts_every_loss);
    tcase_add_test(tc, regression_through_every_output);
    tcase_add_test(tc, bad_pairs_refused);
    tcase_add_test(tc, gradient_through_fixed_dropout);
    tcase_add_test(tc, eval_ignores_dropout);
    tcase_add_test(tc, mask_depends_on_position_only);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
