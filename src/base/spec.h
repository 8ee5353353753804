/* What the library's rooms ask of a layer spec beyond the public parse/validate (dpmlp.h):
 * the parameter count, a property of the spec alone, so the model and the file formats
 * compute it in one place. */
#ifndef DP_SPEC_H
#define DP_SPEC_H
#include <stddef.h>

#include "dpmlp.h"

/* Weights in·out plus biases out over every layer; 0 if the sizes are out of range
 * (2..DP_MAX_SIZES sizes of 1..DP_MAX_WIDTH). Those bounds keep the sum far below 2^63. */
size_t dp_spec_param_count(const dp_spec *spec);

/* Public in dpmlp.h, defined in spec.c beside the one validation: dp_spec_layer_act (every
 * weight layer's activation, whichever way the spec gives them), dp_loss_default_out and
 * dp_dropout_validate. */

#endif
