/* Optimizer tests: sgd, momentum, adam and adamw (through dp_optim_apply, the engine's entry, and so
 * the kernels' flat ops) against a naive double reference over a few steps, on every kernel
 * path this CPU runs; the portable path bit for bit against the documented float formulas
 * (the FMA paths may differ in the last bit where the compiler contracts, see kernels_flat.h);
 * the block sum in its fixed order; and adam with zero gradients keeping its moments finite. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kernels.h"
#include "optim.h"
#include "util/kernel_paths.h"


static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) { return kp_frand(&rng_state); }

static dp_train_config config(dp_optim_kind kind)
{
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    cfg.optim = kind;
    cfg.lr = kind >= DP_OPT_ADAM ? 1e-2f : 0.1f;
    cfg.weight_decay = 0.01f;
    return cfg;
}

/* One step of the textbook rule in double over n elements (m, v: double moments). AdamW as
 * PyTorch writes it: w *= 1 - lr·wd, then the Adam step on the gradient without the decay. */
static void naive_step(const dp_train_config *cfg, long t, double *w, const float *g, double *m,
                       double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int adamw = cfg->optim == DP_OPT_ADAMW;
        double gi = g[i] + (adamw ? 0.0 : (double)cfg->weight_decay * w[i]);
        if (adamw) w[i] *= 1.0 - (double)cfg->lr * cfg->weight_decay;
        switch (cfg->optim) {
        case DP_OPT_SGD: w[i] -= cfg->lr * gi; break;
        case DP_OPT_MOMENTUM:
            m[i] = cfg->momentum * m[i] + gi;
            w[i] -= cfg->lr * m[i];
            break;
        case DP_OPT_ADAM:
        case DP_OPT_ADAMW: {
            m[i] = cfg->beta1 * m[i] + (1.0 - cfg->beta1) * gi;
            v[i] = cfg->beta2 * v[i] + (1.0 - cfg->beta2) * gi * gi;
            double mh = m[i] / (1.0 - pow(cfg->beta1, (double)t));
            double vh = v[i] / (1.0 - pow(cfg->beta2, (double)t));
            w[i] -= cfg->lr * mh / (sqrt(vh) + cfg->eps);
            break;
        }
        }
    }
}

/* The same step in float, exactly as kernels.h documents it (no fused multiply-add: this
 * file is compiled for the baseline ISA, like the portable path). */
static void float_step(const dp_optim_step *s, float *w, const float *g, float *m, float *v,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int adamw = s->kind == DP_OPT_ADAMW;
        float gi = adamw ? g[i] : g[i] + s->weight_decay * w[i];
        if (adamw) {
            float decay = s->lr * s->weight_decay;
            w[i] = w[i] - decay * w[i];
        }
        if (s->kind == DP_OPT_SGD) {
            w[i] -= s->lr * gi;
        } else if (s->kind == DP_OPT_MOMENTUM) {
            m[i] = s->momentum * m[i] + gi;
            w[i] -= s->lr * m[i];
        } else {
            m[i] = s->beta1 * m[i] + (1.0f - s->beta1) * gi;
            v[i] = s->beta2 * v[i] + (1.0f - s->beta2) * gi * gi;
            w[i] -= (s->lr * s->adam_c1) * m[i] / (sqrtf(v[i] * s->adam_c2) + s->eps);
        }
    }
}

enum { N = 1037, STEPS = 4 }; /* odd: every path's vector tail runs */

/* Runs STEPS updates of `kind` on path p and compares with both references. */
static void check_rule(int p, dp_optim_kind kind)
{
    if (!kp_use_path(p)) return;
    dp_train_config cfg = config(kind);
    float *w = dp_calloc(N * sizeof(float)), *m = dp_calloc(N * sizeof(float));
    float *v = dp_calloc(N * sizeof(float)), *g = dp_calloc(N * sizeof(float));
    float fw[N], fm[N] = {0}, fv[N] = {0};
    double dw[N], dm[N] = {0}, dv[N] = {0};
    for (size_t i = 0; i < N; i++) dw[i] = fw[i] = w[i] = frand();
    for (long t = 1; t <= STEPS; t++) {
        for (size_t i = 0; i < N; i++) g[i] = frand() * (i % 7 == 0 ? 1e-3f : 1.0f);
        dp_optim_step s;
        dp_optim_prepare(&s, &cfg, t);
        /* Two chunks, as the reduction applies a slice chunk by chunk. */
        dp_optim_apply(&s, w, g, m, v, 300);
        dp_optim_apply(&s, w + 300, g + 300, m + 300, v + 300, N - 300);
        float_step(&s, fw, g, fm, fv, N);
        naive_step(&cfg, t, dw, g, dm, dv, N);
    }
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(fabs(w[i] - dw[i]) <= 1e-5 * (1.0 + fabs(dw[i])),
                      "%s %s [%zu]: %.9g, naive %.9g", KP_PATHS[p], dp_optim_name(kind), i,
                      (double)w[i], dw[i]);
        if (kind != DP_OPT_SGD)
            ck_assert(fabs(m[i] - dm[i]) <= 1e-5 * (1.0 + fabs(dm[i])));
    }
    if (p == 0) /* portable: the documented float formulas, to the bit */
        ck_assert_msg(memcmp(w, fw, sizeof fw) == 0, "portable %s differs from its formula",
                      dp_optim_name(kind));
    dp_free(w), dp_free(m), dp_free(v), dp_free(g);
}

START_TEST(sgd_matches_naive) { check_rule(_i, DP_OPT_SGD); }
END_TEST
START_TEST(momentum_matches_naive) { check_rule(_i, DP_OPT_MOMENTUM); }
END_TEST
START_TEST(adam_matches_naive) { check_rule(_i, DP_OPT_ADAM); }
END_TEST
START_TEST(adamw_matches_naive) { check_rule(_i, DP_OPT_ADAMW); }
END_TEST

/* The decoupled decay is not adam's L2: with the same gradient and wd, the two rules move a
 * weight differently (adam's decay passes through the moments' normalization, adamw's does
 * not), and adamw with a zero gradient shrinks w by exactly (1 - lr·wd) per step. */
START_TEST(adamw_decay_is_decoupled)
{
    dp_train_config a = config(DP_OPT_ADAM), aw = config(DP_OPT_ADAMW);
    a.weight_decay = aw.weight_decay = 0.5f;
    float *w1 = dp_calloc(64), *w2 = dp_calloc(64), *g = dp_calloc(64);
    float *m1 = dp_calloc(64), *v1 = dp_calloc(64), *m2 = dp_calloc(64), *v2 = dp_calloc(64);
    w1[0] = w2[0] = 4.0f; /* adam's first step moves ~lr whatever wd·w is; adamw's lr·wd·w */
    dp_optim_step s1, s2;
    dp_optim_prepare(&s1, &a, 1);
    dp_optim_prepare(&s2, &aw, 1);
    dp_optim_apply(&s1, w1, g, m1, v1, 1);
    dp_optim_apply(&s2, w2, g, m2, v2, 1);
    ck_assert_float_eq(w2[0], 4.0f - (aw.lr * aw.weight_decay) * 4.0f);
    ck_assert_float_eq(m2[0], 0.0f); /* no decay in adamw's moments */
    ck_assert(m1[0] != 0.0f && fabsf(w1[0] - w2[0]) > 1e-4f);
    dp_free(w1), dp_free(w2), dp_free(g), dp_free(m1), dp_free(v1), dp_free(m2), dp_free(v2);
}
END_TEST

/* The reduction's sum: blocks added in order 0..T−1 from `offset`, then scaled. Each element
 * is one float sum in that order, so every path gives these exact bits. */
START_TEST(block_sum_fixed_order)
{
    if (!kp_use_path(_i)) return;
    enum { T = 5, LEN = 200, OFF = 13, CNT = 171 };
    float *blocks[T];
    for (int u = 0; u < T; u++) {
        blocks[u] = dp_alloc(LEN * sizeof(float));
        for (size_t i = 0; i < LEN; i++) blocks[u][i] = frand() * (u == 2 ? 1e4f : 1.0f);
    }
    for (int nb = 1; nb <= T; nb++) {
        float out[CNT], want[CNT];
        const float scale = 1.0f / 7.0f;
        dp_optim_sum_blocks(out, blocks, nb, OFF, CNT, scale);
        for (size_t i = 0; i < CNT; i++) {
            float s = blocks[0][OFF + i];
            for (int u = 1; u < nb; u++) s += blocks[u][OFF + i];
            want[i] = s * scale;
        }
        ck_assert_msg(memcmp(out, want, sizeof out) == 0, "%s: %d blocks", KP_PATHS[_i], nb);
        dp_block_sum(out, blocks, nb, 0, CNT, 1.0f); /* offset 0, no scaling */
        for (size_t i = 0; i < CNT; i++) {
            float s = blocks[0][i];
            for (int u = 1; u < nb; u++) s += blocks[u][i];
            ck_assert(out[i] == s);
        }
    }
    for (int u = 0; u < T; u++) dp_free(blocks[u]);
}
END_TEST

/* Adam on a parameter whose gradient is zero (a dead unit) for many steps, late steps
 * included (bias corrections near 1): moments stay 0, never 0/0, and the weight stays put.
 * Tiny gradients whose squares underflow must not produce inf or NaN either. */
START_TEST(adam_zero_gradients_stay_finite)
{
    if (!kp_use_path(_i)) return;
    dp_train_config cfg = config(DP_OPT_ADAM);
    cfg.weight_decay = 0.0f;
    enum { M = 67 };
    float w[M], g[M], m1[M] = {0}, m2[M] = {0};
    for (size_t i = 0; i < M; i++) {
        w[i] = frand();
        g[i] = i < M / 2 ? 0.0f : 1e-30f; /* 1e-30² underflows to 0 in float */
    }
    float w0[M];
    memcpy(w0, w, sizeof w);
    for (long t = 1; t <= 2000; t++) {
        dp_optim_step s;
        dp_optim_prepare(&s, &cfg, t);
        dp_optim_apply(&s, w, g, m1, m2, M);
    }
    for (size_t i = 0; i < M; i++) {
        ck_assert_msg(isfinite(m1[i]) && isfinite(m2[i]) && isfinite(w[i]),
                      "%s [%zu]: w %g m %g v %g", KP_PATHS[_i], i, (double)w[i], (double)m1[i],
                      (double)m2[i]);
        if (i < M / 2) {
            ck_assert(m1[i] == 0.0f && m2[i] == 0.0f);
            ck_assert(w[i] == w0[i]);
        }
    }
}
END_TEST

START_TEST(moments_per_rule)
{
    ck_assert_int_eq(dp_optim_moments(DP_OPT_SGD), 0);
    ck_assert_int_eq(dp_optim_moments(DP_OPT_MOMENTUM), 1);
    ck_assert_int_eq(dp_optim_moments(DP_OPT_ADAM), 2);
    /* Adam's bias corrections: 1 / (1 − β^t), float-rounded. */
    dp_train_config cfg = config(DP_OPT_ADAM);
    dp_optim_step s;
    dp_optim_prepare(&s, &cfg, 1);
    ck_assert(fabs(s.adam_c1 - 10.0) < 1e-4 * 10.0 && fabs(s.adam_c2 - 1000.0) < 1e-4 * 1000.0);
    dp_optim_prepare(&s, &cfg, 100000);
    ck_assert(s.adam_c1 == 1.0f && fabs(s.adam_c2 - 1.0) < 1e-4);
}
END_TEST

/* What an update leaves non-finite, with lr 0 (w - 0·(g + 0·w) keeps finite weights and
 * turns NaN/±inf into NaN): NaN, +inf and -inf count; the largest finite float, denormals, -0
 * and ordinary values do not; at every offset and odd length (vector tails). */
static size_t sgd_left_non_finite(const float *v, size_t n)
{
    static float w[256], g[256];
    const dp_update_hyper h = {.lr = 0.0f};
    memcpy(w, v, n * sizeof(float));
    return dp_sgd_update(w, g, n, &h);
}

START_TEST(updates_count_what_they_left_non_finite)
{
    if (!kp_use_path(_i)) return;
    enum { N = 240 };
    float v[N];
    for (int i = 0; i < N; i++) v[i] = frand();
    v[0] = 3.4028235e38f;
    v[1] = 1e-45f;
    v[2] = -0.0f;
    size_t want = 0;
    for (int i = 5; i < N; i += 17) {
        v[i] = (i % 3 == 0) ? NAN : (i % 3 == 1) ? INFINITY : -INFINITY;
        want++;
    }
    ck_assert_uint_eq(sgd_left_non_finite(v, N), want);
    for (size_t lo = 0; lo < 40; lo++)
        for (size_t n = 0; n + lo <= 200; n += 7) {
            size_t naive = 0;
            for (size_t i = lo; i < lo + n; i++) naive += !isfinite(v[i]);
            ck_assert_uint_eq(sgd_left_non_finite(v + lo, n), naive);
        }
    /* Adam: a gradient whose square overflows leaves the weight finite (m / sqrt(inf) = 0) and
     * the second moment +inf, which counts; a finite step counts nothing. */
    float w[3] = {0.5f, 0.5f, 0.5f}, gr[3] = {1e30f, 0.1f, -1e30f}, m[3] = {0}, vv[3] = {0};
    const dp_update_hyper h = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                               .step_size = 1e-2f, .c2 = 1000.0f};
    ck_assert_uint_eq(dp_adam_update(w, gr, m, vv, 3, &h), 2);
    ck_assert(isfinite(w[0]) && isfinite(w[1]) && isfinite(w[2]) && isinf(vv[0]));
    float m2[3] = {0}, v2[3] = {0}, g2[3] = {0.1f, -0.2f, 0.3f};
    ck_assert_uint_eq(dp_adam_update(w, g2, m2, v2, 3, &h), 0);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *c = tcase_create("rules");
    tcase_add_loop_test(c, sgd_matches_naive, 0, KP_NPATHS);
    tcase_add_loop_test(c, momentum_matches_naive, 0, KP_NPATHS);
    tcase_add_loop_test(c, adam_matches_naive, 0, KP_NPATHS);
    tcase_add_loop_test(c, adamw_matches_naive, 0, KP_NPATHS);
    tcase_add_test(c, adamw_decay_is_decoupled);
    tcase_add_loop_test(c, block_sum_fixed_order, 0, KP_NPATHS);
    tcase_add_loop_test(c, adam_zero_gradients_stay_finite, 0, KP_NPATHS);
    tcase_add_test(c, moments_per_rule);
    tcase_add_loop_test(c, updates_count_what_they_left_non_finite, 0, KP_NPATHS);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(optim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    dp_kernels_select(NULL);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
