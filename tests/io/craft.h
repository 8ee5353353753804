/* The small writer the io suites craft files with: whole-file read and write, little-endian
 * field patches, and the trailing CRC-32 made right again, so a crafted model or checkpoint
 * reaches the loader's field checks instead of stopping at the checksum. */
#ifndef DP_TESTS_CRAFT_H
#define DP_TESTS_CRAFT_H
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dpmlp.h"

static inline unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static inline void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static inline void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16), b[3] = (unsigned char)(v >> 24);
}

static inline uint32_t get_u32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void put_u64(unsigned char *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b + 4, (uint32_t)(v >> 32));
}

/* Recompute the trailing CRC, so a test reaches the field check instead of the checksum. */
static inline void fix_crc(unsigned char *b, size_t n)
{
    put_u32(b + n - 4, (uint32_t)crc32(0L, b, (uInt)(n - 4)));
}

/* 3 -> 4 -> 2: weights 12 + 8, then biases 4 + 2: 26 parameters. */
static inline dp_spec small_spec(void)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 3;
    s.sizes[0] = 3, s.sizes[1] = 4, s.sizes[2] = 2;
    s.hidden = DP_ACT_TANH;
    s.loss = DP_LOSS_XENT;
    return s;
}

#endif
