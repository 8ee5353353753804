/* The trainer's own random numbers (never rand()): xoshiro256** seeded by splitmix64.
 * The state is four words so checkpoints can store it exactly. */
#ifndef DP_RNG_H
#define DP_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct dp_rng { uint64_t s[4]; } dp_rng;

/* Seed from a 64-bit seed and a stream id (e.g. the epoch), so streams are independent. */
void dp_rng_seed(dp_rng *r, uint64_t seed, uint64_t stream);
uint64_t dp_rng_next(dp_rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float dp_rng_uniform(dp_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire). */
uint64_t dp_rng_below(dp_rng *r, uint64_t n);
/* Standard normal (Box-Muller on doubles). */
double dp_rng_normal(dp_rng *r);
/* perm := a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void dp_rng_permutation(dp_rng *r, uint32_t *perm, size_t n);

#endif
