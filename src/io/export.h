/* Export writers (export_*.c): a model's spec and flat parameters written as ONNX, NumPy .npz
 * or CSV to a stream, for tools that cannot read dpmlp's own format. Each writer builds what
 * needs lengths up front in memory (protobuf messages, zip members), so no output is ever
 * seeked: a pipe works as well as a file. */
#ifndef DP_EXPORT_H
#define DP_EXPORT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpmlp.h"

/* A growable byte buffer; `failed` sticks after an allocation failure, so builders check it
 * once at the end instead of after every append. */
typedef struct dp_buf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} dp_buf;

void dp_buf_put(dp_buf *b, const void *p, size_t n);
void dp_buf_u16(dp_buf *b, uint32_t v);  /* little-endian */
void dp_buf_u32(dp_buf *b, uint32_t v);  /* little-endian */
void dp_buf_f32s(dp_buf *b, const float *v, size_t n); /* IEEE-754 little-endian */
void dp_buf_free(dp_buf *b);

/* Protobuf wire format (export_pb.c): only what ONNX's messages need. */
enum { DP_PB_VARINT = 0, DP_PB_LEN = 2, DP_PB_FIXED32 = 5 };
void dp_pb_int(dp_buf *b, int field, int64_t v);            /* int32/int64/enum field */
void dp_pb_float(dp_buf *b, int field, float v);            /* float field */
void dp_pb_bytes(dp_buf *b, int field, const void *p, size_t n); /* bytes/string field */
void dp_pb_str(dp_buf *b, int field, const char *s);
void dp_pb_msg(dp_buf *b, int field, dp_buf *sub);          /* embeds sub, then frees it */

/* One weight layer's view of the flat parameters (all weights first, then all biases; W is
 * inputs × outputs, row-major, y = x·W + b). */
typedef struct dp_export_layer {
    int in, out;
    const float *w, *b;
    dp_act act;
    float slope;                /* leaky_relu's negative slope (0 for other activations) */
} dp_export_layer;

/* The layers of spec over params (n_sizes - 1 entries in L). */
int dp_export_layers(const dp_spec *spec, const float *params, dp_export_layer *L);

/* What the ONNX writer can express: dpmlp's activations plus those built from primitive
 * operators (LeakyRelu with its slope, GELU's tanh approximation). */
typedef enum dp_onnx_act {
    DP_ONNX_RELU, DP_ONNX_SIGMOID, DP_ONNX_TANH, DP_ONNX_LINEAR, DP_ONNX_SOFTMAX,
    DP_ONNX_LEAKY_RELU, DP_ONNX_GELU_TANH
} dp_onnx_act;

/* The writers: 0 on success, else err filled (DP_EUSAGE: not expressible, DP_EIO: write
 * failed, DP_EINTERNAL: out of memory). acts/alphas: the ONNX activation (and LeakyRelu
 * slope) of each layer. */
dp_status dp_export_onnx(FILE *f, const dp_export_layer *L, int n_layers,
                         const dp_onnx_act *acts, const float *alphas, dp_error *err);
dp_status dp_export_npz(FILE *f, const dp_export_layer *L, int n_layers, dp_error *err);
dp_status dp_export_csv(FILE *f, const dp_export_layer *L, int n_layers, dp_error *err);

/* Dispatch on format; path only names the output in messages. */
dp_status dp_export_write(FILE *f, const char *path, dp_export_format format,
                          const dp_spec *spec, const float *params, dp_error *err);
/* The same, atomically to path. */
dp_status dp_export_save(const char *path, dp_export_format format, const dp_spec *spec,
                         const float *params, dp_error *err);

#endif
