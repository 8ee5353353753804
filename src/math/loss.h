/* Losses and the output activation they imply. The gradient is taken w.r.t. the output
 * layer's pre-activation z, fused with the activation (softmax+cross-entropy gives p - y),
 * and is the gradient of the loss SUM over rows: the trainer divides by the batch once. */
#ifndef DP_LOSS_H
#define DP_LOSS_H
#include <stddef.h>
#include <stdint.h>

#include "dpmlp.h"

/* y[m×K] holds z + bias; turns it into the output activation in place (softmax, sigmoid or
 * nothing). */
void dp_output_activate(dp_loss loss, float *y, size_t m, size_t K);

/* Loss summed over m rows of outputs y (after dp_output_activate), against class labels
 * (xent, bce) or targets (mse, mae, m×K). If dz is non-NULL it receives dLsum/dz (m×K).
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
