/* Export room suite: the protobuf encoder's exact bytes (varints, negative int64, fixed32
 * floats, nested lengths), the per-layer views of the flat parameters, dp_spec_layer_act, the
 * npz archive's zip structure (CRC-32 and sizes of each member against its bytes), the CSV
 * rows, and the ONNX writer's GELU and LeakyRelu graphs (not reachable from dpmlp's own
 * activations yet: with DP_EXPORT_DUMP=DIR set the suite leaves DIR/gelu_leaky.onnx for
 * tests/cli/test_export.sh to check with onnx.checker and its NumPy evaluator). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "dpmlp.h"
#include "export.h"

static void expect_bytes(const dp_buf *b, const unsigned char *want, size_t n)
{
    ck_assert_uint_eq(b->len, n);
    for (size_t i = 0; i < n; i++) ck_assert_msg(b->p[i] == want[i], "byte %zu: %02x, want %02x", i, b->p[i], want[i]);
}

START_TEST(protobuf_wire_bytes)
{
    dp_buf b = {0};
    dp_pb_int(&b, 1, 300); /* tag 08, varint ac 02 */
    dp_pb_int(&b, 2, -1);  /* tag 10, ten bytes */
    dp_pb_float(&b, 2, 1.0f); /* tag 15, 00 00 80 3f */
    dp_pb_str(&b, 8, "W0"); /* tag 42, len 2 */
    static const unsigned char want[] = {0x08, 0xac, 0x02, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01, 0x15, 0x00, 0x00, 0x80,
                                         0x3f, 0x42, 0x02, 'W', '0'};
    expect_bytes(&b, want, sizeof want);
    dp_buf outer = {0}, inner = {0};
    dp_pb_int(&inner, 1, 7);
    dp_pb_msg(&outer, 7, &inner); /* tag 3a, len 2, 08 07 */
    static const unsigned char nested[] = {0x3a, 0x02, 0x08, 0x07};
    expect_bytes(&outer, nested, sizeof nested);
    ck_assert_ptr_null(inner.p);
    /* A field number past 15 takes a two-byte tag: ATTR_TYPE = 20, varint → a0 01. */
    dp_buf t = {0};
    dp_pb_int(&t, 20, 1);
    static const unsigned char tag20[] = {0xa0, 0x01, 0x01};
    expect_bytes(&t, tag20, sizeof tag20);
    dp_buf_free(&b);
    dp_buf_free(&outer);
    dp_buf_free(&t);
}
END_TEST

static dp_spec spec_of(int n, const int *sizes, dp_act hidden, dp_loss loss)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = n;
    for (int i = 0; i < n; i++) s.sizes[i] = sizes[i];
    s.hidden = hidden;
    s.loss = loss;
    return s;
}

START_TEST(layer_views_and_acts)
{
    static const int sz[] = {3, 4, 2};
    dp_spec s = spec_of(3, sz, DP_ACT_TANH, DP_LOSS_XENT);
    float params[3 * 4 + 4 * 2 + 4 + 2];
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) params[i] = (float)i;
    dp_export_layer L[DP_MAX_SIZES];
    ck_assert_int_eq(dp_export_layers(&s, params, L), 2);
    /* All weights first (12 + 8), then the biases (4 + 2). */
    ck_assert(L[0].w == params && L[1].w == params + 12);
    ck_assert(L[0].b == params + 20 && L[1].b == params + 24);
    ck_assert_int_eq(L[0].act, DP_ACT_TANH);
    ck_assert_int_eq(L[1].act, DP_ACT_SOFTMAX);
    ck_assert_int_eq(dp_spec_layer_act(&s, 0), DP_ACT_TANH);
    s.loss = DP_LOSS_BCE;
    ck_assert_int_eq(dp_spec_layer_act(&s, 1), DP_ACT_SIGMOID);
    s.loss = DP_LOSS_MAE;
    ck_assert_int_eq(dp_spec_layer_act(&s, 1), DP_ACT_LINEAR);
    s.loss = DP_LOSS_MSE;
    ck_assert_int_eq(dp_spec_layer_act(&s, 1), DP_ACT_LINEAR);
}
END_TEST

static char *write_to_memory(dp_export_format fmt, const dp_spec *s, const float *p, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    ck_assert_ptr_nonnull(f);
    dp_error err;
    ck_assert_int_eq(dp_export_write(f, "mem", fmt, s, p, &err), DP_OK);
    fclose(f);
    return buf;
}

/* Walks the zip front to back, as a streaming reader would: each local header's CRC and
 * size must match the bytes after it, and the end record must count every member. */
START_TEST(npz_zip_structure)
{
    static const int sz[] = {2, 3, 1};
    dp_spec s = spec_of(3, sz, DP_ACT_RELU, DP_LOSS_BCE);
    float params[6 + 3 + 3 + 1];
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) params[i] = 0.5f * (float)i;
    size_t len;
    unsigned char *z = (unsigned char *)write_to_memory(DP_EXPORT_NPZ, &s, params, &len);
    static const char *const names[] = {"W0.npy", "b0.npy", "W1.npy", "b1.npy", "activations.npy",
                                        "leaky_slope.npy"};
    size_t at = 0;
    for (int m = 0; m < 6; m++) {
        ck_assert_uint_le(at + 30, len);
        ck_assert_uint_eq(dp_get_u32(z + at), 0x04034b50u);
        uint32_t crc = dp_get_u32(z + at + 14), size = dp_get_u32(z + at + 18);
        unsigned nl = z[at + 26] | z[at + 27] << 8;
        ck_assert_uint_eq(nl, strlen(names[m]));
        ck_assert(memcmp(z + at + 30, names[m], nl) == 0);
        const unsigned char *data = z + at + 30 + nl;
        ck_assert_uint_eq(crc, (uint32_t)crc32(0, data, size));
        ck_assert(memcmp(data, "\x93NUMPY\x01\x00", 8) == 0);
        unsigned hl = data[8] | data[9] << 8;
        ck_assert_uint_eq((10 + hl) % 64, 0);
        if (m == 0) {
            ck_assert(strstr((const char *)data + 10, "'shape': (2, 3)") != NULL);
            ck_assert_uint_eq(size, 10 + hl + 6 * 4);
            ck_assert_uint_eq(dp_get_u32(data + 10 + hl + 4), dp_float_bits(0.5f));
        }
        if (m == 4) ck_assert(strstr((const char *)data + 10, "'<U7'") != NULL); /* "sigmoid" */
        if (m == 5) { /* one slope per layer, 0 where the layer is not leaky_relu */
            ck_assert(strstr((const char *)data + 10, "'shape': (2,)") != NULL);
            ck_assert_uint_eq(size, 10 + hl + 2 * 4);
            ck_assert_uint_eq(dp_get_u32(data + 10 + hl), 0u);
        }
        at += 30 + nl + size;
    }
    ck_assert_uint_eq(dp_get_u32(z + len - 22), 0x06054b50u);
    ck_assert_uint_eq(z[len - 12], 6); /* entries */
    ck_assert_uint_eq(dp_get_u32(z + len - 6), at); /* central directory offset */
    free(z);
}
END_TEST

START_TEST(csv_rows)
{
    static const int sz[] = {2, 1};
    dp_spec s = spec_of(2, sz, DP_ACT_RELU, DP_LOSS_MSE);
    float params[] = {0.1f, -2.0f, 3.0f};
    size_t len;
    char *t = write_to_memory(DP_EXPORT_CSV, &s, params, &len);
    ck_assert_str_eq(t, "layer,activation,tensor,row,col,value\n"
                        "0,linear,W,0,0,0.100000001\n"
                        "0,linear,W,1,0,-2\n"
                        "0,linear,b,0,0,3\n");
    free(t);
}
END_TEST

START_TEST(onnx_gelu_leaky_graph)
{
    static const int sz[] = {3, 4, 4, 2};
    dp_spec s = spec_of(4, sz, DP_ACT_RELU, DP_LOSS_XENT);
    float params[3 * 4 + 4 * 4 + 4 * 2 + 4 + 4 + 2];
    for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        params[i] = (float)((int)(i * 37 % 17) - 8) / 8.0f;
    dp_export_layer L[DP_MAX_SIZES];
    int n = dp_export_layers(&s, params, L);
    dp_onnx_act acts[] = {DP_ONNX_GELU_TANH, DP_ONNX_LEAKY_RELU, DP_ONNX_SOFTMAX};
    float alphas[] = {0.0f, 0.1f, 0.0f};
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    dp_error err;
    ck_assert_int_eq(dp_export_onnx(f, L, n, acts, alphas, &err), DP_OK);
    fclose(f);
    ck_assert(len > 100 && (unsigned char)buf[0] == 0x08 && buf[1] == 7); /* ir_version 7 */
    ck_assert(memmem(buf, len, "LeakyRelu", 9) && memmem(buf, len, "gelu0_x3", 8) &&
              memmem(buf, len, "gelu0_xt", 8) && !memmem(buf, len, "Pow", 3));
    const char *dir = getenv("DP_EXPORT_DUMP");
    if (dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/gelu_leaky.onnx", dir);
        FILE *out = fopen(path, "wb");
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_eq(fwrite(buf, 1, len, out), len);
        fclose(out);
    }
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("export");
    TCase *t = tcase_create("export");
    tcase_add_test(t, protobuf_wire_bytes);
    tcase_add_test(t, layer_views_and_acts);
    tcase_add_test(t, npz_zip_structure);
    tcase_add_test(t, csv_rows);
    tcase_add_test(t, onnx_gelu_leaky_graph);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
