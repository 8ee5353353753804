/* Losses and output activations. The gradient is taken w.r.t. the output layer's
 * pre-activation z: fused with the activation for xent/softmax (p - y) and bce/sigmoid, through
 * dp_output_backward for mse/mae; it is the gradient of the loss SUM over rows: the trainer
 * divides by the batch once. */
#ifndef DP_LOSS_H
#define DP_LOSS_H
#include <stddef.h>
#include <stdint.h>

#include "dpmlp.h"

/* y[m×K] holds z + bias; turns it into the output activation in place (softmax, sigmoid,
 * tanh, or nothing for linear). */
void dp_output_forward(dp_act out, float *y, size_t m, size_t K);

/* xent (with softmax) and bce (with sigmoid) are fused: dp_loss_eval's dz is dL/dz. */
int dp_loss_fused(dp_loss loss);

/* For an unfused loss (mse, mae) turns dz = dL/dy (from dp_loss_eval) into dL/dz through the
 * output activation out (y: its values after dp_output_forward); a no-op for fused losses and
 * for a linear output. */
void dp_output_backward(dp_act out, dp_loss loss, float *dz, const float *y, size_t m, size_t K);

/* Loss summed over m rows of outputs y (after dp_output_forward), against class labels
 * (xent, bce) or targets (mse, mae, m×K). If dz is non-NULL it receives dLsum/dz (m×K) for
 * xent and bce (fused with their output), dLsum/dy for mse and mae (see dp_output_backward).
 * Per-row losses: xent -log p[label]; bce mean over K of -(t log p + (1-t) log(1-p)), where
 * t = label for K = 1 and one-hot(label) for K > 1; mse mean over K of (y-t)²; mae mean over
 * K of |y-t|. */
double dp_loss_eval(dp_loss loss, const float *y, size_t m, size_t K, const int32_t *labels,
                    const float *targets, float *dz);

/* Classification: rows whose prediction equals the label (argmax; p > 0.5 for K = 1 bce).
 * Regression: sum over rows of mean |y - t|. */
double dp_loss_score(dp_loss loss, const float *y, size_t m, size_t K, const int32_t *labels,
                     const float *targets);

#endif
