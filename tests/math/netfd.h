/* The model suites' finite-difference harness: a small seeded net (spec, params, one
 * workspace, rows, labels and targets) and the relative error of backprop's gradient against
 * central differences in double through the float forward pass (with a fixed dropout when the
 * net has one, so the same masks are differentiated). */
#ifndef DP_TESTS_NETFD_H
#define DP_TESTS_NETFD_H
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "rng.h"

typedef struct net {
    dp_spec spec;
    dp_layout lay;
    float *params, *grad;
    dp_workspace ws;
    float *x;  /* m × inputs, kept to restore act[0] */
    size_t m;
    const dp_dropout *drop; /* NULL, or the fixed dropout every forward of the check uses */
} net;

/* A net of spec (sizes, activations, loss) on m seeded rows with seeded labels and targets. */
static inline void net_init_spec(net *n, const dp_spec *spec, size_t m)
{
    memset(n, 0, sizeof *n);
    n->spec = *spec;
    const int *sizes = spec->sizes;
    int n_sizes = spec->n_sizes;
    dp_loss loss = spec->loss;
    dp_layout_init(&n->lay, &n->spec);
    n->params = dp_alloc(n->lay.n_params * sizeof(float));
    n->grad = dp_alloc(n->lay.n_params * sizeof(float));
    dp_model_init_params(&n->spec, &n->lay, n->params, 7);
    dp_rng r;
    dp_rng_seed(&r, 99, 1);
    /* Non-zero biases so ReLU kinks are not all at the same place. */
    for (int l = 0; l < n->lay.n_layers; l++)
        for (int j = 0; j < sizes[l + 1]; j++)
            n->params[n->lay.b_off[l] + j] = 0.1f * (dp_rng_uniform(&r) - 0.5f);
    ck_assert_int_eq(dp_workspace_init(&n->ws, &n->spec, m, NULL), DP_OK);
    n->m = m;
    n->x = malloc(m * (size_t)sizes[0] * sizeof(float));
    for (size_t i = 0; i < m * (size_t)sizes[0]; i++) n->x[i] = 2.0f * dp_rng_uniform(&r) - 1.0f;
    int K = sizes[n_sizes - 1];
    for (size_t i = 0; i < m; i++) {
        n->ws.labels[i] = (int32_t)dp_rng_below(&r, (loss == DP_LOSS_BCE && K == 1) ? 2 : (uint64_t)K);
        for (int j = 0; j < K; j++) n->ws.targets[i * (size_t)K + j] = dp_rng_uniform(&r) * 2 - 1;
    }
}

static inline void net_init(net *n, const int *sizes, int n_sizes, dp_act act, dp_loss loss, size_t m)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = n_sizes;
    memcpy(s.sizes, sizes, (size_t)n_sizes * sizeof(int));
    s.hidden = act;
    s.loss = loss;
    net_init_spec(n, &s, m);
}

static inline void net_free(net *n)
{
    dp_free(n->params);
    dp_free(n->grad);
    dp_workspace_free(&n->ws);
    free(n->x);
}

static inline double net_loss(net *n)
{
    memcpy(n->ws.act[0], n->x, n->m * (size_t)n->spec.sizes[0] * sizeof(float));
    dp_model_forward_train(&n->spec, &n->lay, n->params, &n->ws, n->m, n->drop);
    double loss, score;
    dp_model_score(&n->spec, &n->ws, n->m, &loss, &score);
    return loss;
}

/* Relative error ||analytic - numeric|| / (||analytic|| + ||numeric||) over all parameters. */
static inline double gradient_error(net *n)
{
    memcpy(n->ws.act[0], n->x, n->m * (size_t)n->spec.sizes[0] * sizeof(float));
    dp_model_forward_train(&n->spec, &n->lay, n->params, &n->ws, n->m, n->drop);
    double loss = dp_model_backward(&n->spec, &n->lay, n->params, &n->ws, n->m, n->grad, 0);
    ck_assert(isfinite(loss));
    double diff2 = 0, a2 = 0, n2 = 0;
    for (size_t p = 0; p < n->lay.n_params; p++) {
        float saved = n->params[p];
        float h = 2e-3f * fmaxf(1.0f, fabsf(saved));
        n->params[p] = saved + h;
        double up = net_loss(n);
        n->params[p] = saved - h;
        double down = net_loss(n);
        n->params[p] = saved;
        double numeric = (up - down) / (2.0 * h);
        double analytic = n->grad[p];
        diff2 += (analytic - numeric) * (analytic - numeric);
        a2 += analytic * analytic;
        n2 += numeric * numeric;
    }
    return sqrt(diff2) / (sqrt(a2) + sqrt(n2) + 1e-12);
}

#endif
