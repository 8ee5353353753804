/* 64-bit FNV-1a and the counter-based hash (see hash.h). */
#include "hash.h"

static const uint64_t FNV_PRIME = 0x100000001b3ull;

uint64_t dp_hash64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t dp_hash64_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint8_t)(v >> (8 * i));
        h *= FNV_PRIME;
    }
    return h;
}

/* splitmix64's output function (Steele, Lea & Flood), a bijection with full avalanche. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t dp_hash_counter(uint64_t key, uint64_t a, uint64_t b)
{
    const uint64_t golden = 0x9e3779b97f4a7c15ull;
    uint64_t x = mix64(key + golden);
    x = mix64(x ^ (a + 2 * golden));
    return mix64(x ^ (b + 3 * golden));
}
