/* Float helpers more than one room needs, each written once: the overflow-free logistic (the
 * kernels' sigmoid activation and the bce output agree bit for bit) and argmax (predicted
 * class). Inline: they sit in per-element loops. */
#ifndef DP_FMATH_H
#define DP_FMATH_H
#include <math.h>
#include <stddef.h>

/* Overflow-free logistic: exp of a non-positive argument only, so ±large x saturates to
 * 0 or 1 and never produces inf/inf. */
static inline float dp_sigmoidf(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* Index of the largest of v[0..n), the first on ties; 0 for n ≤ 1. A NaN never wins (every
 * comparison with it is false), so a NaN row predicts class 0 or a finite maximum. */
static inline size_t dp_argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

#endif
