/* bf16 mixed precision end to end below the CLI: the whole network's gradient in bf16 against
 * fp32 finite differences (tolerance from bf16's 8-bit significand), the shared weight pack
 * split across workers equal to one worker's, training in bf16 reaching fp32's accuracy on a
 * generated set, and the byte-level promises (same seed and threads → same bytes;
 * --deterministic → same bytes for every thread count) in bf16; evaluation in bf16. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "data.h"
#include "err.h"
#include "model.h"
#include "model_bf16.h"

/* ---- gradient check ---- */

typedef struct net {
    dp_spec spec;
    dp_layout lay;
    float *params, *grad;
    dp_workspace ws;
    dp_bf16_pack pack;
    size_t m;
} net;

static void net_init(net *n, size_t m)
{
    memset(n, 0, sizeof *n);
    n->spec = (dp_spec){.n_sizes = 4, .sizes = {13, 17, 11, 5}, .hidden = DP_ACT_TANH,
                        .loss = DP_LOSS_XENT};
    n->m = m;
    dp_layout_init(&n->lay, &n->spec);
    n->params = dp_calloc(n->lay.n_params * sizeof(float));
    n->grad = dp_calloc(n->lay.n_params * sizeof(float));
    dp_model_init_params(&n->spec, &n->lay, n->params, 3);
    /* Non-zero biases, so their gradients and the bias path are exercised too. */
    for (size_t i = n->lay.b_off[0]; i < n->lay.n_params; i++) n->params[i] = 0.05f * (float)(i % 7) - 0.15f;
    dp_error e;
    ck_assert_int_eq(dp_workspace_init(&n->ws, &n->spec, m, &e), DP_OK);
    ck_assert_int_eq(dp_bf16_pack_init(&n->pack, &n->spec, &e), DP_OK);
    uint64_t s = 12345;
    for (size_t i = 0; i < m * 13; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        n->ws.act[0][i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    for (size_t i = 0; i < m; i++) n->ws.labels[i] = (int32_t)(i % 5);
}

static void net_free(net *n)
{
    dp_workspace_free(&n->ws);
    dp_bf16_pack_free(&n->pack);
    dp_free(n->params);
    dp_free(n->grad);
}

/* The fp32 loss sum of the current params (the finite differences' function). */
static double loss_fp32(net *n)
{
    dp_bf16_ws *keep = n->ws.bf16;
    n->ws.bf16 = NULL;
    dp_model_forward(&n->spec, &n->lay, n->params, &n->ws, n->m);
    double l = dp_model_backward(&n->spec, &n->lay, n->params, &n->ws, n->m, n->grad, 0);
    n->ws.bf16 = keep;
    return l;
}

static void grad_bf16(net *n, float *out)
{
    dp_bf16_pack_part(&n->pack, &n->spec, &n->lay, n->params, 0, 1);
    dp_model_forward(&n->spec, &n->lay, n->params, &n->ws, n->m);
    dp_model_backward(&n->spec, &n->lay, n->params, &n->ws, n->m, out, 0);
}

/* bf16 has an 8-bit significand: unit roundoff u = 2⁻⁸. Every GEMM rounds both operands, so a
 * product is off by at most 2u relative; a weight's gradient passes through the forward of
 * the L layers and the backward of those above it, at most 2L rounded GEMMs, so its relative
 * error (in norm, against the exact gradient) stays below 2L · 2u. The fp32 finite differences
 * (central, h = 2⁻⁷ on a loss of a few units) add about 1e-4 of their own. */
START_TEST(gradient_bf16_vs_fp32_finite_differences)
{
    net n;
    net_init(&n, 9);
    dp_error e;
    ck_assert_int_eq(dp_workspace_bf16_attach(&n.ws, &n.spec, &n.pack, &e), DP_OK);
    size_t P = n.lay.n_params;
    float *g = dp_alloc(P * sizeof *g), *g32 = malloc(P * sizeof *g32);
    grad_bf16(&n, g);
    loss_fp32(&n);
    memcpy(g32, n.grad, P * sizeof *g32);
    double num = 0.0, den = 0.0, diff32 = 0.0;
    const float h = 0x1p-7f;
    for (size_t i = 0; i < P; i++) {
        float w = n.params[i];
        n.params[i] = w + h;
        double lp = loss_fp32(&n);
        n.params[i] = w - h;
        double lm = loss_fp32(&n);
        n.params[i] = w;
        double fd = (lp - lm) / (2.0 * h);
        num += (g[i] - fd) * (g[i] - fd);
        den += fd * fd;
        diff32 += ((double)g[i] - g32[i]) * ((double)g[i] - g32[i]);
    }
    double rel = sqrt(num / den), tol = 2.0 * 3 * 2.0 * 0x1p-8;
    ck_assert_msg(rel <= tol, "bf16 gradient off by %.4g relative (tol %.4g)", rel, tol);
    /* The bf16 path really ran: it is not the fp32 gradient. */
    ck_assert_msg(diff32 > 0.0, "bf16 gradient equals the fp32 one bit for bit");
    dp_free(g);
    free(g32);
    net_free(&n);
}
END_TEST

/* Workers pack interleaved chunks of one shared pack: any split gives one worker's bytes. */
START_TEST(pack_split_equals_one_worker)
{
    dp_spec spec = {.n_sizes = 4, .sizes = {784, 40, 33, 10}, .hidden = DP_ACT_RELU,
                    .loss = DP_LOSS_XENT};
    dp_layout lay;
    dp_layout_init(&lay, &spec);
    float *p = dp_alloc(lay.n_params * sizeof(float));
    dp_model_init_params(&spec, &lay, p, 9);
    dp_bf16_pack one, three;
    dp_error e;
    ck_assert_int_eq(dp_bf16_pack_init(&one, &spec, &e), DP_OK);
    ck_assert_int_eq(dp_bf16_pack_init(&three, &spec, &e), DP_OK);
    dp_bf16_pack_part(&one, &spec, &lay, p, 0, 1);
    for (int t = 2; t >= 0; t--) dp_bf16_pack_part(&three, &spec, &lay, p, t, 3);
    for (int l = 0; l < 3; l++) {
        size_t in = (size_t)spec.sizes[l], out = (size_t)spec.sizes[l + 1];
        ck_assert_mem_eq(one.w_nn[l], three.w_nn[l], dp_bf16_pairs(in) * dp_bf16_ld(out) * 4);
        if (l > 0)
            ck_assert_mem_eq(one.w_nt[l], three.w_nt[l], dp_bf16_pairs(out) * dp_bf16_ld(in) * 4);
        else
            ck_assert_ptr_null(one.w_nt[0]); /* the input layer's dX is never formed */
        /* Spot check the layout: pair (k = 2, 3) of column 1 in the forward form. */
        const float *w = p + lay.w_off[l];
        ck_assert_uint_eq(one.w_nn[l][1 * dp_bf16_ld(out) + 1],
                          (uint32_t)dp_bf16_round(w[2 * out + 1]) |
                              (uint32_t)dp_bf16_round(w[3 * out + 1]) << 16);
    }
    dp_bf16_pack_free(&one);
    dp_bf16_pack_free(&three);
    dp_free(p);
}
END_TEST

/* ---- training ---- */

static const dp_spec TRAIN_SPEC = {.n_sizes = 4, .sizes = {24, 64, 32, 4},
                                   .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};

static dp_train_config config(int threads, dp_precision prec, int deterministic)
{
    dp_train_config c;
    dp_train_config_defaults(&c);
    c.threads = threads;
    c.batch = 64;
    c.epochs = 4;
    c.lr = 2e-3f;
    c.seed = 7;
    c.quiet = 1;
    c.precision = prec;
    c.deterministic = deterministic;
    return c;
}

/* Trains and returns the model (test accuracy in *acc when test is given). */
static dp_model *train(const dp_dataset *d, const dp_dataset *test, const dp_train_config *c,
                       double *acc, dp_precision eval_prec)
{
    dp_error e;
    dp_model *m = dp_model_create(&TRAIN_SPEC, c->seed, &e);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(dp_train(m, d, NULL, c, NULL, &e) == DP_OK, "%s", e.msg);
    if (test) {
        dp_metrics mt;
        dp_eval_options o = {2, eval_prec};
        ck_assert_msg(dp_evaluate_ex(m, test, &o, &mt, &e) == DP_OK, "%s", e.msg);
        *acc = mt.accuracy;
    }
    return m;
}

static int same_bytes(const dp_model *a, const dp_model *b)
{
    return memcmp(dp_model_params((dp_model *)a), dp_model_params((dp_model *)b),
                  dp_model_n_params(a) * sizeof(float)) == 0;
}

/* Samples [lo, lo + n) of one teacher's set: train and held-out test from the same task. */
static dp_dataset *rows_of(const dp_dataset *all, size_t lo, size_t n)
{
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_alloc(n, all->n_in, 0, 0, "rows", &d, &e), DP_OK);
    memcpy(d->x_f32, all->x_f32 + lo * all->n_in, n * all->n_in * sizeof(float));
    memcpy(d->labels, all->labels + lo, n * sizeof(int32_t));
    d->max_label = all->max_label;
    return d;
}

START_TEST(bf16_trains_as_well_as_fp32)
{
    dp_dataset *all = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(&TRAIN_SPEC, 4000, 21, &all, &e), DP_OK);
    dp_dataset *d = rows_of(all, 0, 3000), *test = rows_of(all, 3000, 1000);
    dp_data_free(all);
    double a32, a16, a16_eval16;
    dp_train_config c32 = config(2, DP_PRECISION_FP32, 0), c16 = config(2, DP_PRECISION_BF16, 0);
    dp_model *m32 = train(d, test, &c32, &a32, DP_PRECISION_FP32);
    dp_model *m16 = train(d, test, &c16, &a16, DP_PRECISION_FP32);
    dp_metrics mt;
    dp_eval_options o = {1, DP_PRECISION_BF16};
    ck_assert_int_eq(dp_evaluate_ex(m16, test, &o, &mt, &e), DP_OK);
    a16_eval16 = mt.accuracy;
    ck_assert_msg(a32 > 0.6, "fp32 did not learn: %.3f", a32);
    ck_assert_msg(fabs(a16 - a32) <= 0.03, "bf16 %.4f vs fp32 %.4f", a16, a32);
    ck_assert_msg(fabs(a16_eval16 - a16) <= 0.02, "bf16 eval %.4f vs fp32 eval %.4f", a16_eval16, a16);
    ck_assert_msg(!same_bytes(m32, m16), "bf16 training gave the fp32 bytes");
    dp_model_free(m32);
    dp_model_free(m16);
    dp_data_free(d);
    dp_data_free(test);
}
END_TEST

START_TEST(bf16_bytes_repeat)
{
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_synthetic(&TRAIN_SPEC, 700, 23, &d, &e), DP_OK);
    dp_train_config c = config(2, DP_PRECISION_BF16, 0);
    c.epochs = 2;
    dp_model *a = train(d, NULL, &c, NULL, DP_PRECISION_FP32);
    dp_model *b = train(d, NULL, &c, NULL, DP_PRECISION_FP32);
    ck_assert_msg(same_bytes(a, b), "same seed and threads, different bf16 bytes");
    dp_model_free(a);
    dp_model_free(b);
    dp_train_config d1 = config(1, DP_PRECISION_BF16, 1), d3 = config(3, DP_PRECISION_BF16, 1);
    d1.epochs = d3.epochs = 2;
    a = train(d, NULL, &d1, NULL, DP_PRECISION_FP32);
    b = train(d, NULL, &d3, NULL, DP_PRECISION_FP32);
    ck_assert_msg(same_bytes(a, b), "--deterministic bf16: 1 and 3 threads differ");
    dp_model_free(a);
    dp_model_free(b);
    dp_data_free(d);
}
END_TEST

static Suite *bf16_train_suite(void)
{
    Suite *s = suite_create("train_bf16");
    TCase *g = tcase_create("gradient");
    tcase_add_test(g, gradient_bf16_vs_fp32_finite_differences);
    tcase_add_test(g, pack_split_equals_one_worker);
    suite_add_tcase(s, g);
    TCase *t = tcase_create("train");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, bf16_trains_as_well_as_fp32);
    tcase_add_test(t, bf16_bytes_repeat);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bf16_train_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
