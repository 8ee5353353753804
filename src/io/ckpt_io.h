/* Private to the ckpt room (ckpt.c: model files and atomic writes; ckpt_state.c: checkpoints):
 * the explicit little-endian encoding, CRC-32 feeding and spec checks both file formats share,
 * so the two formats cannot drift apart in how they write a number or judge a spec. */
#ifndef DP_CKPT_IO_H
#define DP_CKPT_IO_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dpmlp.h"
#include "spec.h" /* dp_spec_param_count */

#define DP_CKIO_MODEL_MAGIC "DPMLPMDL"   /* 8 bytes, no terminator in the file */
#define DP_CKIO_CKPT_MAGIC "DPMLPCKP"
#define DP_CKIO_ENDIAN_MARKER 0x01020304u
#define DP_CKIO_ENDIAN_SWAPPED 0x04030201u /* the marker as a big-endian writer leaves it */
#define DP_CKIO_FIXED_HEAD 20u             /* magic + version + marker + n_sizes */
#define DP_CKIO_CHUNK 65536u               /* bytes per buffered array chunk (multiple of 8) */

/* Explicit byte order, so the host's never leaks into a file. */
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

/* IEEE-754 binary32/64 is assumed (C11 Annex F hosts); only the byte order is made explicit. */
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

/* zlib's crc32 over any length (its own length type is uInt). */
unsigned long dp_ckio_crc(unsigned long crc, const unsigned char *p, size_t n);
/* fwrite that also feeds the running CRC; 0 on success. */
int dp_ckio_write_crc(FILE *f, const unsigned char *p, size_t n, unsigned long *crc);
/* NULL if the spec fields are storable, else `why` filled with what is wrong. */
const char *dp_ckio_spec_check(long n_sizes, const long *sizes, long hidden, long loss,
                               char *why, size_t why_len);
/* Reads exactly n bytes at offset `at` (for the message); a short read is DP_EDATA "truncated". */
/* n 32-bit words (floats or u32) from src, written little-endian through buf (DP_CKIO_CHUNK
 * bytes) with the CRC updated; 0 or -1 (errno set by stdio). */
int dp_ckio_write_words(FILE *f, const void *src, size_t n, unsigned char *buf,
                        unsigned long *crc);
/* The reverse: n little-endian words into dst, CRC updated, *at advanced (for messages). */
dp_status dp_ckio_read_words(FILE *f, void *dst, size_t n, unsigned char *buf,
                             unsigned long *crc, const char *path, long *at, dp_error *err);
/* Opens path for reading if it is a regular file (only a regular file's st_size can bound
 * the allocations a loader makes) and reports its size. NULL with DP_ENOINPUT otherwise. */
FILE *dp_ckio_open_regular(const char *path, uint64_t *size, dp_error *err);
dp_status dp_ckio_read_exact(FILE *f, unsigned char *p, size_t n, const char *path, long at,
                             dp_error *err);

#endif
