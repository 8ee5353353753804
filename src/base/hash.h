/* 64-bit FNV-1a: the fingerprint of byte runs (training data in checkpoints, the flags and
 * weights that MPI ranks compare). Not cryptographic: it tells honest mistakes apart.
 * And a counter-based hash: random bits as a pure function of a few integers (dropout masks),
 * so who computes them, and in which order, never matters. */
#ifndef DP_HASH_H
#define DP_HASH_H
#include <stddef.h>
#include <stdint.h>

#define DP_HASH64_INIT 0xcbf29ce484222325ull

/* Continues hash h over n bytes at p (start with DP_HASH64_INIT). */
uint64_t dp_hash64(uint64_t h, const void *p, size_t n);
/* Continues hash h over the 8 little-endian bytes of v (lengths, shapes). */
uint64_t dp_hash64_u64(uint64_t h, uint64_t v);

/* 64 well-mixed bits from (key, a, b): splitmix64's finalizer over each word in turn. Equal
 * inputs give equal bits on every host; nearby counters give unrelated bits. */
uint64_t dp_hash_counter(uint64_t key, uint64_t a, uint64_t b);

#endif
