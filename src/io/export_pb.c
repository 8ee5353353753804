/* The byte buffer of the export writers and a protobuf encoder for the handful of ONNX
 * messages the ONNX writer needs. Hand-written on purpose: the wire format (varint tags,
 * length-delimited submessages, fixed32 floats) is small and frozen, and a protobuf library
 * (libprotobuf-c plus generated onnx.pb-c.c) would be a new build dependency for ~60 lines. */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

void dp_buf_put(dp_buf *b, const void *p, size_t n)
{
    if (b->failed || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void dp_buf_u16(dp_buf *b, uint32_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    dp_buf_put(b, x, 2);
}

void dp_buf_u32(dp_buf *b, uint32_t v)
{
    unsigned char x[4];
    dp_put_u32(x, v);
    dp_buf_put(b, x, 4);
}

void dp_buf_f32s(dp_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) dp_buf_u32(b, dp_float_bits(v[i]));
}

void dp_buf_free(dp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void pb_varint(dp_buf *b, uint64_t v)
{
    unsigned char x[10];
    size_t n = 0;
    do {
        x[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) x[n] |= 0x80;
        n++;
    } while (v);
    dp_buf_put(b, x, n);
}

static void pb_tag(dp_buf *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (unsigned)wire); }

/* Negative int64 values are ten-byte two's complement varints, as protobuf writes them. */
void dp_pb_int(dp_buf *b, int field, int64_t v)
{
    pb_tag(b, field, DP_PB_VARINT);
    pb_varint(b, (uint64_t)v);
}

void dp_pb_float(dp_buf *b, int field, float v)
{
    pb_tag(b, field, DP_PB_FIXED32);
    dp_buf_u32(b, dp_float_bits(v));
}

void dp_pb_bytes(dp_buf *b, int field, const void *p, size_t n)
{
    pb_tag(b, field, DP_PB_LEN);
    pb_varint(b, n);
    dp_buf_put(b, p, n);
}

void dp_pb_str(dp_buf *b, int field, const char *s) { dp_pb_bytes(b, field, s, strlen(s)); }

void dp_pb_msg(dp_buf *b, int field, dp_buf *sub)
{
    if (sub->failed) b->failed = 1;
    dp_pb_bytes(b, field, sub->p, sub->len);
    dp_buf_free(sub);
}
