/* Inverted dropout on the hidden layers' outputs, private to the model: the masks come from a
 * counter-based hash of (key, sample position, layer, unit), so a mask never depends on which
 * worker computes it or on how the batch is cut (dp_dropout and the rest are in model.h). */
#ifndef DP_DROPOUT_H
#define DP_DROPOUT_H
#include <stddef.h>

#include "model.h"

/* After hidden layer l's activation of m rows × n units (ws->act[l+1]): fills ws->mask[l+1]
 * and ws->drop[l+1] = act ⊙ mask, and marks the layer dropped (ws->drop_on[l+1]). */
void dp_dropout_apply(dp_workspace *ws, const dp_dropout *d, int l, size_t m, size_t n);

#endif
