/* Little-endian byte codecs for the file formats: explicit byte order, so the host's never
 * leaks into a file. IEEE-754 binary32/64 is assumed (C11 Annex F hosts); only the byte order
 * is made explicit. */
#ifndef DP_BYTES_H
#define DP_BYTES_H
#include <stdint.h>
#include <string.h>

static inline void dp_put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

static inline void dp_put_u64(unsigned char *b, uint64_t v)
{
    dp_put_u32(b, (uint32_t)v);
    dp_put_u32(b + 4, (uint32_t)(v >> 32));
}

static inline uint32_t dp_get_u32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t dp_get_u64(const unsigned char *b)
{
    return (uint64_t)dp_get_u32(b) | (uint64_t)dp_get_u32(b + 4) << 32;
}

static inline uint32_t dp_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float dp_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t dp_double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double dp_bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

#endif
