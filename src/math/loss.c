/* Output activations and losses (value, fused gradient, score), and the output's backward for
 * the unfused pairs (mse/mae through sigmoid, tanh or softmax). Probabilities are clamped
 * away from 0 and 1 before logs, so one confident mistake costs a large finite loss, not inf. */
#include "loss.h"

#include <float.h>
#include <math.h>

#include "err.h"
#include "fmath.h"
#include "kernels.h"

/* Row-wise softmax, the max subtracted first so exp never overflows. */
static void softmax_rows(float *y, size_t m, size_t K)
{
    for (size_t i = 0; i < m; i++) {
        float *row = y + i * K;
        float mx = row[0];
        for (size_t j = 1; j < K; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (size_t j = 0; j < K; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < K; j++) row[j] *= inv;
    }
}

void dp_output_forward(dp_act out, float *y, size_t m, size_t K)
{
    switch (out) {
    case DP_ACT_SOFTMAX: softmax_rows(y, m, K); break;
    case DP_ACT_SIGMOID:
        for (size_t i = 0; i < m * K; i++) y[i] = dp_sigmoidf(y[i]);
        break;
    case DP_ACT_TANH:
        for (size_t i = 0; i < m * K; i++) y[i] = tanhf(y[i]);
        break;
    default: break;
    }
}

int dp_loss_fused(dp_loss loss) { return loss == DP_LOSS_XENT || loss == DP_LOSS_BCE; }

void dp_output_backward(dp_act out, dp_loss loss, float *dz, const float *y, size_t m, size_t K)
{
    if (dp_loss_fused(loss)) return; /* dp_loss_eval gave dL/dz already */
    if (out == DP_ACT_SIGMOID || out == DP_ACT_TANH) {
        dp_act_backward(dz, y, NULL, m * K, out, 0.0f);
        return;
    }
    if (out != DP_ACT_SOFTMAX) return;
    /* Softmax's Jacobian row by row: dz_j = y_j · (g_j − Σ_k g_k y_k). */
    for (size_t i = 0; i < m; i++) {
        float *g = dz + i * K;
        const float *p = y + i * K;
        double dot = 0.0;
        for (size_t k = 0; k < K; k++) dot += (double)g[k] * p[k];
        for (size_t j = 0; j < K; j++) g[j] = p[j] * (g[j] - (float)dot);
    }
}

static inline double safe_log(float p)
{
    const float lo = 1e-7f;
    return log(p < lo ? lo : p);
}

static inline float bce_target(const int32_t *labels, size_t i, size_t j, size_t K)
{
    if (K == 1) return (float)labels[i];
    return (size_t)labels[i] == j ? 1.0f : 0.0f;
}

double dp_loss_eval(dp_loss loss, const float *y, size_t m, size_t K, const int32_t *labels,
                    const float *targets, float *dz)
{
    DP_ASSERT(K >= 1 && (unsigned)loss <= DP_LOSS_MAE);
    int classify = loss == DP_LOSS_XENT || loss == DP_LOSS_BCE;
    DP_ASSERT(m == 0 || (classify ? labels != NULL : targets != NULL));
    double total = 0.0;
    const float invK = 1.0f / (float)K;
    for (size_t i = 0; i < m; i++) {
        const float *row = y + i * K;
        float *drow = dz ? dz + i * K : NULL;
        double row_loss = 0.0;
        switch (loss) {
        case DP_LOSS_XENT:
            row_loss = -safe_log(row[labels[i]]);
            if (drow) {
                for (size_t j = 0; j < K; j++) drow[j] = row[j];
                drow[labels[i]] -= 1.0f;
            }
            break;
        case DP_LOSS_BCE:
            for (size_t j = 0; j < K; j++) {
                float t = bce_target(labels, i, j, K);
                row_loss -= t * safe_log(row[j]) + (1.0f - t) * safe_log(1.0f - row[j]);
                if (drow) drow[j] = (row[j] - t) * invK;
            }
            row_loss *= invK;
            break;
        case DP_LOSS_MSE:
            for (size_t j = 0; j < K; j++) {
                float d = row[j] - targets[i * K + j];
                row_loss += (double)d * d;
                if (drow) drow[j] = 2.0f * d * invK;
            }
            row_loss *= invK;
            break;
        case DP_LOSS_MAE:
            for (size_t j = 0; j < K; j++) {
                float d = row[j] - targets[i * K + j];
                row_loss += fabs((double)d);
                /* Subgradient 0 at d == 0 keeps a perfect fit in place. */
                if (drow) drow[j] = (d > 0.0f ? invK : d < 0.0f ? -invK : 0.0f);
            }
            row_loss *= invK;
            break;
        }
        total += row_loss;
    }
    return total;
}

double dp_loss_score(dp_loss loss, const float *y, size_t m, size_t K, const int32_t *labels,
                     const float *targets)
{
    double score = 0.0;
    for (size_t i = 0; i < m; i++) {
        const float *row = y + i * K;
        if (loss == DP_LOSS_XENT || loss == DP_LOSS_BCE) {
            int32_t pred = K == 1 ? row[0] > 0.5f : (int32_t)dp_argmax(row, K);
            score += pred == labels[i];
        } else {
            double err = 0.0;
            for (size_t j = 0; j < K; j++) err += fabs((double)row[j] - targets[i * K + j]);
            score += err / (double)K;
        }
    }
    return score;
}
