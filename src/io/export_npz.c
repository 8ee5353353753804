/* NumPy .npz export: a zip archive (stored, no compression) of W<l>.npy, b<l>.npy and
 * activations.npy (little-endian float32, C order; the names as a '<U' string array), which
 * numpy.load reads without pickle. Each member is built in memory first, so its CRC-32 and
 * size go into its local header and the archive is written front to back (pipes work). */
#include "export.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "fileio.h"

/* npy format 1.0: magic, version, u16 header length, a Python dict literal padded with
 * spaces to a multiple of 64 bytes (numpy's own alignment) ending in '\n'. */
static void npy_head(dp_buf *b, const char *descr, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
    dp_buf_put(b, "\x93NUMPY\x01\x00", 8);
    dp_buf_u16(b, (uint32_t)(padded - 10));
    dp_buf_put(b, dict, (size_t)n);
    for (size_t i = total; i < padded; i++) dp_buf_put(b, " ", 1);
    dp_buf_put(b, "\n", 1);
}

static void npy_floats(dp_buf *b, const float *v, int rows, int cols)
{
    char shape[64];
    if (rows > 0)
        snprintf(shape, sizeof shape, "(%d, %d)", rows, cols);
    else
        snprintf(shape, sizeof shape, "(%d,)", cols);
    npy_head(b, "<f4", shape);
    dp_buf_f32s(b, v, (size_t)(rows > 0 ? rows : 1) * (size_t)cols);
}

/* The activation names as fixed-width UTF-32LE strings (numpy's '<U' dtype). */
static void npy_names(dp_buf *b, const dp_export_layer *L, int n)
{
    size_t width = 1;
    for (int l = 0; l < n; l++)
        if (strlen(dp_act_name(L[l].act)) > width) width = strlen(dp_act_name(L[l].act));
    char descr[32], shape[32];
    snprintf(descr, sizeof descr, "<U%zu", width);
    snprintf(shape, sizeof shape, "(%d,)", n);
    npy_head(b, descr, shape);
    for (int l = 0; l < n; l++) {
        const char *s = dp_act_name(L[l].act);
        for (size_t i = 0; i < width; i++) dp_buf_u32(b, i < strlen(s) ? (unsigned char)s[i] : 0);
    }
}

/* The zip directory as it is written: one central entry per member. */
typedef struct zip_out {
    FILE *f;
    dp_buf central;
    uint64_t offset;
    unsigned entries;
    int failed;
} zip_out;

/* The fields local and central headers share, from "version needed" to the name length. */
static void zip_common(dp_buf *h, uint32_t crc, uint32_t size, size_t name_len)
{
    dp_buf_u16(h, 20);     /* version needed: 2.0 */
    dp_buf_u16(h, 0);      /* flags */
    dp_buf_u16(h, 0);      /* stored */
    dp_buf_u16(h, 0);      /* time 00:00 */
    dp_buf_u16(h, 0x21);   /* date 1980-01-01: fixed, so an export is reproducible */
    dp_buf_u32(h, crc);
    dp_buf_u32(h, size);   /* compressed = uncompressed */
    dp_buf_u32(h, size);
    dp_buf_u16(h, (uint32_t)name_len);
    dp_buf_u16(h, 0);      /* extra field length */
}

static void zip_member(zip_out *z, const char *name, dp_buf *data)
{
    size_t nl = strlen(name);
    if (data->failed || data->len > 0xffffffffu || z->offset > 0xffffffffu) {
        z->failed = data->failed ? 1 : 2;
        return;
    }
    uint32_t crc = (uint32_t)dp_crc(0, data->p, data->len), size = (uint32_t)data->len;
    dp_buf h = {0};
    dp_buf_u32(&h, 0x04034b50u);
    zip_common(&h, crc, size, nl);
    dp_buf_put(&h, name, nl);
    dp_buf *c = &z->central;
    dp_buf_u32(c, 0x02014b50u);
    dp_buf_u16(c, 20);     /* version made by */
    zip_common(c, crc, size, nl);
    dp_buf_u16(c, 0);      /* comment length */
    dp_buf_u16(c, 0);      /* disk */
    dp_buf_u16(c, 0);      /* internal attributes */
    dp_buf_u32(c, 0);      /* external attributes */
    dp_buf_u32(c, (uint32_t)z->offset);
    dp_buf_put(c, name, nl);
    if (h.failed) z->failed = 1;
    if (!z->failed && (fwrite(h.p, 1, h.len, z->f) != h.len ||
                       fwrite(data->p, 1, data->len, z->f) != data->len))
        z->failed = 3;
    z->offset += h.len + data->len;
    z->entries++;
    dp_buf_free(&h);
}

static void zip_end(zip_out *z)
{
    dp_buf e = {0};
    dp_buf_u32(&e, 0x06054b50u);
    dp_buf_u16(&e, 0);
    dp_buf_u16(&e, 0);
    dp_buf_u16(&e, z->entries);
    dp_buf_u16(&e, z->entries);
    dp_buf_u32(&e, (uint32_t)z->central.len);
    dp_buf_u32(&e, (uint32_t)z->offset);
    dp_buf_u16(&e, 0);     /* comment length */
    if (z->central.failed || e.failed) z->failed = 1;
    if (!z->failed && (fwrite(z->central.p, 1, z->central.len, z->f) != z->central.len ||
                       fwrite(e.p, 1, e.len, z->f) != e.len))
        z->failed = 3;
    dp_buf_free(&e);
}

dp_status dp_export_npz(FILE *f, const dp_export_layer *L, int n_layers, dp_error *err)
{
    zip_out z = {f, {0}, 0, 0, 0};
    char name[32];
    for (int l = 0; l < n_layers && !z.failed; l++) {
        dp_buf w = {0}, b = {0};
        npy_floats(&w, L[l].w, L[l].in, L[l].out);
        snprintf(name, sizeof name, "W%d.npy", l);
        zip_member(&z, name, &w);
        npy_floats(&b, L[l].b, 0, L[l].out);
        snprintf(name, sizeof name, "b%d.npy", l);
        zip_member(&z, name, &b);
        dp_buf_free(&w);
        dp_buf_free(&b);
    }
    dp_buf a = {0}, s = {0};
    npy_names(&a, L, n_layers);
    if (!z.failed) zip_member(&z, "activations.npy", &a);
    /* leaky_relu's slope per layer (0 elsewhere): what a forward pass needs beside the names. */
    float slopes[DP_MAX_SIZES];
    for (int l = 0; l < n_layers; l++) slopes[l] = L[l].slope;
    npy_floats(&s, slopes, 0, n_layers);
    if (!z.failed) zip_member(&z, "leaky_slope.npy", &s);
    dp_buf_free(&a);
    dp_buf_free(&s);
    if (!z.failed) zip_end(&z);
    dp_buf_free(&z.central);
    if (z.failed == 1) return dp_fail(err, DP_EINTERNAL, "npz export: out of memory");
    if (z.failed == 2)
        return dp_fail(err, DP_EUSAGE, "npz export: the model is over 4 GiB, more than a zip "
                                       "without zip64 holds (use --format csv)");
    if (z.failed == 3) return dp_fail(err, DP_EIO, "npz export: write failed");
    return DP_OK;
}
