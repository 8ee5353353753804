/* Model room: backprop gradients of every hidden activation × loss against central finite
 * differences (in double, through the float forward pass), loss values at known points, the
 * flat layout, init, and the optimizers on hand-computed steps. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loss.h"
#include "model.h"
#include "optim.h"
#include "math/netfd.h"
#include "rng.h"

static const dp_act ACTS[] = {DP_ACT_RELU, DP_ACT_SIGMOID, DP_ACT_TANH};

START_TEST(test_gradients_every_act_and_loss)
{
    struct { dp_loss loss; int K; } cases[] = {
        {DP_LOSS_XENT, 4}, {DP_LOSS_BCE, 1}, {DP_LOSS_BCE, 3}, {DP_LOSS_MSE, 2}, {DP_LOSS_MAE, 3}};
    for (size_t a = 0; a < 3; a++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int sizes[] = {5, 7, 6, cases[c].K};
            net n;
            net_init(&n, sizes, 4, ACTS[a], cases[c].loss, 3);
            double err = gradient_error(&n);
            /* Kinks (ReLU, MAE) crossed by a finite difference cost a little accuracy. */
            double tol = (ACTS[a] == DP_ACT_RELU || cases[c].loss == DP_LOSS_MAE) ? 3e-2 : 5e-3;
            ck_assert_msg(err < tol, "act %s loss %s K=%d: relative gradient error %g",
                          dp_act_name(ACTS[a]), dp_loss_name(cases[c].loss), cases[c].K, err);
            net_free(&n);
        }
    }
}
END_TEST

START_TEST(test_gradient_accumulates)
{
    int sizes[] = {3, 4, 2};
    net n;
    net_init(&n, sizes, 3, DP_ACT_TANH, DP_LOSS_XENT, 2);
    memcpy(n.ws.act[0], n.x, 2 * 3 * sizeof(float));
    dp_model_forward(&n.spec, &n.lay, n.params, &n.ws, 2);
    dp_model_backward(&n.spec, &n.lay, n.params, &n.ws, 2, n.grad, 0);
    float *once = malloc(n.lay.n_params * sizeof(float));
    memcpy(once, n.grad, n.lay.n_params * sizeof(float));
    dp_model_forward(&n.spec, &n.lay, n.params, &n.ws, 2);
    dp_model_backward(&n.spec, &n.lay, n.params, &n.ws, 2, n.grad, 1);
    for (size_t p = 0; p < n.lay.n_params; p++)
        ck_assert_float_eq_tol(n.grad[p], 2.0f * once[p], 1e-6f);
    free(once);
    net_free(&n);
}
END_TEST

START_TEST(test_layout_is_weights_then_biases)
{
    dp_spec spec = {.n_sizes = 4, .sizes = {784, 256, 128, 10}};
    dp_layout lay;
    dp_layout_init(&lay, &spec);
    ck_assert_uint_eq(lay.n_params, 784 * 256 + 256 * 128 + 128 * 10 + 256 + 128 + 10);
    ck_assert_uint_eq(dp_spec_param_count(&spec), lay.n_params);
    ck_assert_uint_eq(lay.w_off[1], 784 * 256);
    ck_assert_uint_eq(lay.b_off[0], 784 * 256 + 256 * 128 + 128 * 10);
    ck_assert_uint_eq(lay.b_off[2], lay.b_off[0] + 256 + 128);
    ck_assert_uint_eq(lay.max_width, 784);
    dp_spec bad = {.n_sizes = 2, .sizes = {3, 0}};
    ck_assert_uint_eq(dp_spec_param_count(&bad), 0);
}
END_TEST

START_TEST(test_init_seeded_and_scaled)
{
    dp_spec spec = {.n_sizes = 3, .sizes = {100, 50, 10}, .hidden = DP_ACT_RELU};
    dp_layout lay;
    dp_layout_init(&lay, &spec);
    float *a = malloc(lay.n_params * sizeof(float)), *b = malloc(lay.n_params * sizeof(float));
    dp_model_init_params(&spec, &lay, a, 5);
    dp_model_init_params(&spec, &lay, b, 5);
    ck_assert(memcmp(a, b, lay.n_params * sizeof(float)) == 0);
    dp_model_init_params(&spec, &lay, b, 6);
    ck_assert(memcmp(a, b, lay.n_params * sizeof(float)) != 0);
    /* He uniform limit sqrt(6/100) for the ReLU layer; biases zero. */
    float mx = 0;
    for (size_t i = 0; i < 100 * 50; i++) mx = fmaxf(mx, fabsf(a[i]));
    ck_assert(mx <= sqrtf(6.0f / 100.0f) && mx > 0.9f * sqrtf(6.0f / 100.0f));
    for (size_t i = lay.b_off[0]; i < lay.n_params; i++) ck_assert(a[i] == 0.0f);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_loss_values)
{
    /* Uniform softmax over 4 classes: loss log 4, gradient p - onehot. */
    float y[4] = {0, 0, 0, 0}, dz[4];
    int32_t label = 2;
    dp_output_forward(DP_ACT_SOFTMAX, y, 1, 4);
    ck_assert_float_eq_tol(y[0], 0.25f, 1e-7f);
    double l = dp_loss_eval(DP_LOSS_XENT, y, 1, 4, &label, NULL, dz);
    ck_assert_double_eq_tol(l, log(4.0), 1e-6);
    ck_assert_float_eq_tol(dz[2], -0.75f, 1e-7f);
    ck_assert_float_eq_tol(dz[1], 0.25f, 1e-7f);
    /* Softmax of huge logits stays finite. */
    float big[3] = {1000.0f, -1000.0f, 0.0f};
    dp_output_forward(DP_ACT_SOFTMAX, big, 1, 3);
    ck_assert(isfinite(big[0]) && big[0] > 0.999f);
    label = 1;
    ck_assert(isfinite(dp_loss_eval(DP_LOSS_XENT, big, 1, 3, &label, NULL, NULL)));
    /* MSE and MAE are means over the outputs. */
    float out[2] = {1.0f, 3.0f}, t[2] = {0.0f, 1.0f};
    ck_assert_double_eq_tol(dp_loss_eval(DP_LOSS_MSE, out, 1, 2, NULL, t, NULL), 2.5, 1e-9);
    ck_assert_double_eq_tol(dp_loss_eval(DP_LOSS_MAE, out, 1, 2, NULL, t, NULL), 1.5, 1e-9);
    ck_assert_double_eq_tol(dp_loss_score(DP_LOSS_MAE, out, 1, 2, NULL, t), 1.5, 1e-9);
    /* BCE with one output: p = 0.5 costs log 2; accuracy counts p > 0.5 as class 1. */
    float p[2] = {0.0f, 4.0f};
    int32_t labels[2] = {1, 1};
    dp_output_forward(DP_ACT_SIGMOID, p, 2, 1);
    ck_assert_float_eq_tol(p[0], 0.5f, 1e-7f);
    double bce = dp_loss_eval(DP_LOSS_BCE, p, 1, 1, labels, NULL, NULL);
    ck_assert_double_eq_tol(bce, log(2.0), 1e-6);
    ck_assert_double_eq(dp_loss_score(DP_LOSS_BCE, p, 2, 1, labels, NULL), 1.0);
}
END_TEST

START_TEST(test_optimizers_by_hand)
{
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    float w[2], g[2] = {0.5f, -1.0f}, m1[2] = {0, 0}, m2[2] = {0, 0};
    dp_optim_step s;

    cfg.optim = DP_OPT_SGD;
    cfg.lr = 0.1f;
    cfg.weight_decay = 0.01f;
    w[0] = 1.0f;
    w[1] = 2.0f;
    dp_optim_prepare(&s, &cfg, 1);
    dp_optim_apply(&s, w, g, NULL, NULL, 2);
    ck_assert_float_eq_tol(w[0], 1.0f - 0.1f * (0.5f + 0.01f), 1e-7f);
    ck_assert_float_eq_tol(w[1], 2.0f - 0.1f * (-1.0f + 0.02f), 1e-7f);

    cfg.optim = DP_OPT_MOMENTUM;
    cfg.weight_decay = 0.0f;
    cfg.momentum = 0.9f;
    w[0] = 1.0f;
    dp_optim_prepare(&s, &cfg, 1);
    dp_optim_apply(&s, w, g, m1, NULL, 1);
    dp_optim_apply(&s, w, g, m1, NULL, 1);
    /* v1 = 0.5, w = 0.95; v2 = 0.95, w = 0.855 */
    ck_assert_float_eq_tol(m1[0], 0.95f, 1e-7f);
    ck_assert_float_eq_tol(w[0], 0.855f, 1e-6f);

    cfg.optim = DP_OPT_ADAM;
    cfg.lr = 0.01f;
    w[0] = 1.0f;
    m1[0] = m2[0] = 0.0f;
    dp_optim_prepare(&s, &cfg, 1);
    dp_optim_apply(&s, w, g, m1, m2, 1);
    /* First Adam step moves by lr * sign(g) (bias-corrected m/sqrt(v) = g/|g|). */
    ck_assert_float_eq_tol(w[0], 1.0f - 0.01f, 1e-6f);
    ck_assert_int_eq(dp_optim_moments(DP_OPT_ADAM), 2);
    ck_assert_int_eq(dp_optim_moments(DP_OPT_SGD), 0);
}
END_TEST

START_TEST(test_spec_parse)
{
    dp_spec s;
    dp_error e;
    ck_assert_int_eq(dp_spec_parse_layers("784,256,128,10", &s, &e), DP_OK);
    ck_assert_int_eq(s.n_sizes, 4);
    ck_assert_int_eq(s.sizes[3], 10);
    ck_assert_int_eq(dp_spec_parse_layers("784,0,10", &s, &e), DP_EUSAGE);
    ck_assert(strstr(e.msg, "out of range") != NULL);
    ck_assert_int_eq(dp_spec_parse_layers("784,abc", &s, &e), DP_EUSAGE);
    ck_assert(strstr(e.msg, "'abc'") != NULL);
    ck_assert_int_eq(dp_spec_parse_layers("784", &s, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_spec_parse_layers("784,,10", &s, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_spec_parse_layers("", &s, &e), DP_EUSAGE);
    s.hidden = DP_ACT_RELU;
    s.loss = DP_LOSS_XENT;
    ck_assert_int_eq(dp_spec_parse_layers("4,1", &s, &e), DP_OK);
    ck_assert_int_eq(dp_spec_validate(&s, &e), DP_EUSAGE); /* xent needs >= 2 outputs */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradients_every_act_and_loss);
    tcase_add_test(tc, test_gradient_accumulates);
    tcase_add_test(tc, test_layout_is_weights_then_biases);
    tcase_add_test(tc, test_init_seeded_and_scaled);
    tcase_add_test(tc, test_loss_values);
    tcase_add_test(tc, test_optimizers_by_hand);
    tcase_add_test(tc, test_spec_parse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
