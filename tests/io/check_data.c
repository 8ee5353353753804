/* Data room suite: IDX (raw and gzip) and CSV loaders on files written into a fresh temp
 * directory, every malformed class the loaders must refuse (status and a one-line message
 * naming the file), gather scaling, the fit check, and the synthetic teacher task. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "dpmlp.h"

static char g_dir[256];

static const char *tpath(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", g_dir, name);
    return buf;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_raw(const char *name, const void *buf, size_t n)
{
    char p[512];
    FILE *f = fopen(tpath(p, name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *name, const char *text) { write_raw(name, text, strlen(text)); }

static void write_gz(const char *name, const void *buf, size_t n)
{
    char p[512];
    gzFile g = gzopen(tpath(p, name), "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, buf, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static uint8_t *read_all(const char *name, size_t *n)
{
    char p[512];
    FILE *f = fopen(tpath(p, name), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static uint8_t pixel(size_t i, size_t j) { return (uint8_t)((i * 37 + j * 11) & 0xff); }

/* An IDX3 file of n images r x c with pixel(i, j); *len gets its size. */
static uint8_t *make_images(uint32_t n, uint32_t r, uint32_t c, size_t *len)
{
    size_t px = (size_t)r * c;
    *len = 16 + n * px;
    uint8_t *b = malloc(*len);
    put_be32(b, 0x803);
    put_be32(b + 4, n);
    put_be32(b + 8, r);
    put_be32(b + 12, c);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < px; j++) b[16 + i * px + j] = pixel(i, j);
    return b;
}

static uint8_t *make_labels(uint32_t n, size_t *len)
{
    *len = 8 + n;
    uint8_t *b = malloc(*len);
    put_be32(b, 0x801);
    put_be32(b + 4, n);
    for (size_t i = 0; i < n; i++) b[8 + i] = (uint8_t)(i % 7);
    return b;
}

/* Writes a valid pair <stem>-images / <stem>-labels (gz selects gzip for both). */
static void write_pair(const char *img, const char *lab, uint32_t n, uint32_t r, uint32_t c,
                       int gz)
{
    size_t li, ll;
    uint8_t *bi = make_images(n, r, c, &li), *bl = make_labels(n, &ll);
    if (gz) {
        write_gz(img, bi, li);
        write_gz(lab, bl, ll);
    } else {
        write_raw(img, bi, li);
        write_raw(lab, bl, ll);
    }
    free(bi);
    free(bl);
}

/* status == code, and the message is one line holding every keyword (NULL-terminated). */
static void expect_fail(dp_status st, const dp_error *err, dp_status code, ...)
{
    ck_assert_msg(st == code, "status %d, expected %d (msg: %s)", st, code, err->msg);
    ck_assert_msg(err->code == code, "err.code %d, expected %d", err->code, code);
    ck_assert_msg(strchr(err->msg, '\n') == NULL, "message is not one line: %s", err->msg);
    if (getenv("CHECK_DATA_VERBOSE")) fprintf(stderr, "  [%d] %s\n", (int)st, err->msg);
    va_list ap;
    va_start(ap, code);
    const char *k;
    while ((k = va_arg(ap, const char *)))
        ck_assert_msg(strstr(err->msg, k), "message lacks '%s': %s", k, err->msg);
    va_end(ap);
}

static dp_status load_pair(const char *img, const char *lab, dp_dataset **d, dp_error *err)
{
    char pi[512], pl[512];
    memset(err, 0, sizeof *err);
    return dp_idx_load_pair(tpath(pi, img), tpath(pl, lab), d, err);
}

/* ---------------------------------------------------------------- IDX: good files */

static void check_pattern(const dp_dataset *d, uint32_t n, uint32_t r, uint32_t c)
{
    ck_assert_uint_eq(dp_data_count(d), n);
    ck_assert_uint_eq(dp_data_features(d), (size_t)r * c);
    ck_assert_uint_eq(d->n_targets, 0);
    ck_assert_ptr_nonnull(d->x_u8);
    ck_assert_ptr_null(d->x_f32);
    ck_assert_ptr_nonnull(d->labels);
    ck_assert_uint_eq((uintptr_t)d->x_u8 % 64, 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(d->labels[i], (int32_t)(i % 7));
        for (size_t j = 0; j < (size_t)r * c; j++)
            ck_assert_uint_eq(d->x_u8[i * r * c + j], pixel(i, j));
    }
    ck_assert_int_eq(d->max_label, n >= 7 ? 6 : (int32_t)n - 1);
}

START_TEST(idx_raw_round_trip)
{
    write_pair("rt-img", "rt-lab", 9, 3, 5, 0);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_pair("rt-img", "rt-lab", &d, &err), DP_OK);
    check_pattern(d, 9, 3, 5);
    ck_assert_ptr_nonnull(strstr(d->source, "rt-img"));
    dp_data_free(d);
}
END_TEST

START_TEST(idx_gz_round_trip)
{
    /* Names without .gz: the loader must find name.gz and sniff gzip itself. */
    write_pair("gz-img.gz", "gz-lab.gz", 20, 28, 28, 1);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_pair("gz-img", "gz-lab", &d, &err), DP_OK);
    check_pattern(d, 20, 28, 28);
    ck_assert_ptr_nonnull(strstr(d->source, "gz-img.gz"));
    dp_data_free(d);
    /* The explicit .gz name works too. */
    ck_assert_int_eq(load_pair("gz-img.gz", "gz-lab.gz", &d, &err), DP_OK);
    dp_data_free(d);
}
END_TEST

START_TEST(idx_mixed_and_multimember)
{
    /* Raw images with gzip labels, and a gzip made of two members (cat a.gz b.gz). */
    size_t li, ll;
    uint8_t *bi = make_images(11, 4, 4, &li), *bl = make_labels(11, &ll);
    write_gz("mm-img.gz.part1", bi, 50);
    write_gz("mm-img.gz.part2", bi + 50, li - 50);
    size_t n1, n2;
    uint8_t *p1 = read_all("mm-img.gz.part1", &n1), *p2 = read_all("mm-img.gz.part2", &n2);
    uint8_t *cat = malloc(n1 + n2);
    memcpy(cat, p1, n1);
    memcpy(cat + n1, p2, n2);
    write_raw("mm-img.gz", cat, n1 + n2);
    write_gz("mm-lab.gz", bl, ll);
    write_raw("mx-img", bi, li);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_pair("mm-img", "mm-lab", &d, &err), DP_OK);
    check_pattern(d, 11, 4, 4);
    dp_data_free(d);
    ck_assert_int_eq(load_pair("mx-img", "mm-lab", &d, &err), DP_OK);
    check_pattern(d, 11, 4, 4);
    dp_data_free(d);
    free(bi);
    free(bl);
    free(p1);
    free(p2);
    free(cat);
}
END_TEST

START_TEST(idx_mnist_dir)
{
    char dir[512], p[512];
    mkdir(tpath(dir, "mn"), 0755);
    write_pair("mn/train-images-idx3-ubyte.gz", "mn/train-labels-idx1-ubyte.gz", 12, 2, 3, 1);
    write_pair("mn/t10k-images-idx3-ubyte", "mn/t10k-labels-idx1-ubyte", 5, 2, 3, 0);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(dp_data_load_mnist(dir, 0, &d, &err), DP_OK);
    check_pattern(d, 12, 2, 3);
    dp_data_free(d);
    ck_assert_int_eq(dp_data_load_mnist(dir, 1, &d, &err), DP_OK);
    check_pattern(d, 5, 2, 3);
    dp_data_free(d);
    tpath(p, "mn/"); /* a trailing slash is fine */
    ck_assert_int_eq(dp_data_load_mnist(p, 1, &d, &err), DP_OK);
    dp_data_free(d);
}
END_TEST

/* ---------------------------------------------------------------- IDX: missing input */

START_TEST(idx_missing)
{
    char dir[512], p[512];
    mkdir(tpath(dir, "empty"), 0755);
    dp_dataset *d = (dp_dataset *)1;
    dp_error err;
    tpath(p, "empty/train-images-idx3-ubyte");
    expect_fail(dp_data_load_mnist(dir, 0, &d, &err), &err, DP_ENOINPUT, p, ".gz", NULL);
    ck_assert_ptr_null(d);
    tpath(p, "empty/t10k-images-idx3-ubyte");
    expect_fail(dp_data_load_mnist(dir, 1, &d, &err), &err, DP_ENOINPUT, p, ".gz", NULL);
    expect_fail(dp_data_load_mnist(tpath(p, "nodir"), 0, &d, &err), &err, DP_ENOINPUT, "nodir",
                NULL);
    write_text("afile", "1,2\n");
    expect_fail(dp_data_load_mnist(tpath(p, "afile"), 0, &d, &err), &err, DP_ENOINPUT, "afile",
                "not a directory", NULL);
    /* Images present, labels missing: the labels path is named. */
    write_pair("only-img", "only-lab", 3, 2, 2, 0);
    unlink(tpath(p, "only-lab"));
    expect_fail(load_pair("only-img", "only-lab", &d, &err), &err, DP_ENOINPUT, "only-lab",
                NULL);
}
END_TEST

/* ---------------------------------------------------------------- IDX: bad headers */

START_TEST(idx_bad_magic)
{
    size_t li, ll;
    uint8_t *bi = make_images(4, 2, 2, &li), *bl = make_labels(4, &ll);
    write_raw("bm-lab", bl, ll);
    write_raw("bm-img-swapped", bl, ll); /* a labels file where images belong */
    dp_dataset *d;
    dp_error err;
    expect_fail(load_pair("bm-img-swapped", "bm-lab", &d, &err), &err, DP_EDATA,
                "bm-img-swapped", "magic", "0x00000801", "0x00000803", NULL);
    put_be32(bi, 0x03080000); /* little-endian writer */
    write_raw("bm-img-le", bi, li);
    expect_fail(load_pair("bm-img-le", "bm-lab", &d, &err), &err, DP_EDATA, "bm-img-le",
                "magic", "0x03080000", NULL);
    put_be32(bi, 0x803);
    write_raw("bm-img", bi, li);
    put_be32(bl, 0x12345678);
    write_raw("bm-lab-bad", bl, ll);
    expect_fail(load_pair("bm-img", "bm-lab-bad", &d, &err), &err, DP_EDATA, "bm-lab-bad",
                "magic", "0x12345678", NULL);
    /* gzip content with a bad magic too. */
    write_gz("bm-lab-bad-gz.gz", bl, ll);
    expect_fail(load_pair("bm-img", "bm-lab-bad-gz", &d, &err), &err, DP_EDATA,
                "bm-lab-bad-gz.gz", "magic", NULL);
    free(bi);
    free(bl);
}
END_TEST

START_TEST(idx_bad_dims)
{
    size_t li, ll;
    uint8_t *bi = make_images(4, 2, 2, &li), *bl = make_labels(4, &ll);
    write_raw("bd-lab", bl, ll);
    dp_dataset *d;
    dp_error err;
    put_be32(bi + 8, 0); /* zero rows */
    write_raw("bd-img0", bi, li);
    expect_fail(load_pair("bd-img0", "bd-lab", &d, &err), &err, DP_EDATA, "bd-img0", "0x2",
                NULL);
    put_be32(bi + 8, 2);
    put_be32(bi + 12, 5000); /* a side beyond 4096 */
    write_raw("bd-img-wide", bi, li);
    expect_fail(load_pair("bd-img-wide", "bd-lab", &d, &err), &err, DP_EDATA, "bd-img-wide",
                "2x5000", NULL);
    put_be32(bi + 12, 2);
    put_be32(bi + 4, 0); /* zero images */
    write_raw("bd-img-n0", bi, 16);
    expect_fail(load_pair("bd-img-n0", "bd-lab", &d, &err), &err, DP_EDATA, "bd-img-n0",
                "0 samples", NULL);
    put_be32(bi + 4, 4);
    /* Image and label counts disagree. */
    uint8_t *bl5 = make_labels(5, &ll);
    write_raw("bd-lab5", bl5, ll);
    write_raw("bd-img", bi, li);
    expect_fail(load_pair("bd-img", "bd-lab5", &d, &err), &err, DP_EDATA, "bd-img", "bd-lab5",
                "4 images", "5 labels", NULL);
    free(bi);
    free(bl);
    free(bl5);
}
END_TEST

START_TEST(idx_raw_size_mismatch)
{
    size_t li, ll;
    uint8_t *bi = make_images(6, 3, 3, &li), *bl = make_labels(6, &ll);
    write_raw("rs-lab", bl, ll);
    dp_dataset *d;
    dp_error err;
    write_raw("rs-img-short", bi, li - 1);
    expect_fail(load_pair("rs-img-short", "rs-lab", &d, &err), &err, DP_EDATA, "rs-img-short",
                "truncated", NULL);
    uint8_t *big = calloc(li + 3, 1);
    memcpy(big, bi, li);
    write_raw("rs-img-long", big, li + 3);
    expect_fail(load_pair("rs-img-long", "rs-lab", &d, &err), &err, DP_EDATA, "rs-img-long",
                "trailing", NULL);
    write_raw("rs-img-hdr", bi, 10); /* cut inside the header */
    expect_fail(load_pair("rs-img-hdr", "rs-lab", &d, &err), &err, DP_EDATA, "rs-img-hdr",
                "truncated", NULL);
    write_raw("rs-img-empty", bi, 0);
    expect_fail(load_pair("rs-img-empty", "rs-lab", &d, &err), &err, DP_EDATA, "rs-img-empty",
                "truncated", NULL);
    write_raw("rs-img", bi, li);
    write_raw("rs-lab-short", bl, ll - 2);
    expect_fail(load_pair("rs-img", "rs-lab-short", &d, &err), &err, DP_EDATA, "rs-lab-short",
                "truncated", NULL);
    free(bi);
    free(bl);
    free(big);
}
END_TEST

/* Headers that claim absurd sizes must be refused from the header alone. */
START_TEST(idx_lying_headers)
{
    size_t li, ll;
    uint8_t *bi = make_images(2, 28, 28, &li), *bl = make_labels(2, &ll);
    write_gz("lie-lab.gz", bl, ll);
    dp_dataset *d;
    dp_error err;
    put_be32(bi + 4, 0x80000000u); /* 2^31 images */
    write_gz("lie-n.gz", bi, li);
    write_raw("lie-n-raw", bi, li);
    expect_fail(load_pair("lie-n", "lie-lab", &d, &err), &err, DP_EDATA, "lie-n.gz",
                "2147483648", NULL);
    expect_fail(load_pair("lie-n-raw", "lie-lab", &d, &err), &err, DP_EDATA, "lie-n-raw", NULL);
    put_be32(bi + 4, 2);
    put_be32(bi + 8, 65535);
    put_be32(bi + 12, 65535);
    write_gz("lie-px.gz", bi, li);
    expect_fail(load_pair("lie-px", "lie-lab", &d, &err), &err, DP_EDATA, "lie-px.gz",
                "65535x65535", NULL);
    /* Within every limit, but far more than a tiny gzip can inflate to. */
    put_be32(bi + 4, 10000000);
    put_be32(bi + 8, 28);
    put_be32(bi + 12, 28);
    write_gz("lie-ratio.gz", bi, li);
    uint8_t lh[8];
    put_be32(lh, 0x801);
    put_be32(lh + 4, 10000000);
    write_gz("lie-ratio-lab.gz", lh, 8);
    expect_fail(load_pair("lie-ratio", "lie-ratio-lab", &d, &err), &err, DP_EDATA,
                "lie-ratio.gz", "10000000", NULL);
    free(bi);
    free(bl);
}
END_TEST

START_TEST(idx_gz_content_mismatch)
{
    size_t li, ll;
    uint8_t *bi = make_images(5, 28, 28, &li), *bl = make_labels(5, &ll);
    uint8_t *bl30 = make_labels(30, &ll);
    dp_dataset *d;
    dp_error err;
    /* Claims 30 images (plausible for the file size), holds 5: shorter than claimed. */
    put_be32(bi + 4, 30);
    write_gz("gc-short.gz", bi, li);
    write_gz("gc-lab30.gz", bl30, 8 + 30);
    expect_fail(load_pair("gc-short", "gc-lab30", &d, &err), &err, DP_EDATA, "gc-short.gz",
                "truncated", "30", NULL);
    /* Claims 4 images, holds 5: longer than claimed. */
    put_be32(bi + 4, 4);
    write_gz("gc-long.gz", bi, li);
    put_be32(bl, 0x801);
    put_be32(bl + 4, 4);
    write_gz("gc-lab4.gz", bl, 8 + 4);
    expect_fail(load_pair("gc-long", "gc-lab4", &d, &err), &err, DP_EDATA, "gc-long.gz",
                "longer", NULL);
    free(bi);
    free(bl);
    free(bl30);
}
END_TEST

START_TEST(idx_gz_damaged)
{
    write_pair("gd-img.gz", "gd-lab.gz", 40, 28, 28, 1);
    size_t n;
    uint8_t *g = read_all("gd-img.gz", &n);
    dp_dataset *d;
    dp_error err;
    /* Cut in the middle of the deflate data, and cut just the trailer. */
    write_raw("gd-cut.gz", g, n / 2);
    expect_fail(load_pair("gd-cut", "gd-lab", &d, &err), &err, DP_EDATA, "gd-cut.gz",
                "truncated", NULL);
    write_raw("gd-cut-trailer.gz", g, n - 3);
    expect_fail(load_pair("gd-cut-trailer", "gd-lab", &d, &err), &err, DP_EDATA,
                "gd-cut-trailer.gz", "truncated", NULL);
    write_raw("gd-cut-hdr.gz", g, 5);
    expect_fail(load_pair("gd-cut-hdr", "gd-lab", &d, &err), &err, DP_EDATA, "gd-cut-hdr.gz",
                "truncated", NULL);
    /* A flipped CRC-32 byte: the data inflates but fails its check. */
    g[n - 8] ^= 0x55;
    write_raw("gd-crc.gz", g, n);
    expect_fail(load_pair("gd-crc", "gd-lab", &d, &err), &err, DP_EDATA, "gd-crc.gz", "corrupt",
                NULL);
    g[n - 8] ^= 0x55;
    /* Garbage inside the deflate stream. */
    for (size_t i = n / 3; i < n / 3 + 16; i++) g[i] ^= 0xa7;
    write_raw("gd-bits.gz", g, n);
    expect_fail(load_pair("gd-bits", "gd-lab", &d, &err), &err, DP_EDATA, "gd-bits.gz", NULL);
    for (size_t i = n / 3; i < n / 3 + 16; i++) g[i] ^= 0xa7;
    /* Zeros after a complete stream. */
    uint8_t *pad = calloc(n + 64, 1);
    memcpy(pad, g, n);
    write_raw("gd-pad.gz", pad, n + 64);
    expect_fail(load_pair("gd-pad", "gd-lab", &d, &err), &err, DP_EDATA, "gd-pad.gz",
                "trailing", NULL);
    /* The untouched file still loads (the damage above was really the cause). */
    write_raw("gd-ok.gz", g, n);
    ck_assert_int_eq(load_pair("gd-ok", "gd-lab", &d, &err), DP_OK);
    dp_data_free(d);
    free(g);
    free(pad);
}
END_TEST

/* ---------------------------------------------------------------- gather */

START_TEST(gather_u8_scaling)
{
    size_t li, ll;
    uint8_t *bi = make_images(4, 1, 256, &li), *bl = make_labels(4, &ll);
    for (size_t j = 0; j < 256; j++) bi[16 + 2 * 256 + j] = (uint8_t)j; /* image 2: 0..255 */
    write_raw("ga-img", bi, li);
    write_raw("ga-lab", bl, ll);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_pair("ga-img", "ga-lab", &d, &err), DP_OK);
    uint32_t idx[3] = {2, 0, 3};
    float x[3 * 256];
    int32_t lab[3];
    dp_data_gather(d, idx, 3, x);
    dp_data_gather_labels(d, idx, 3, lab);
    for (size_t j = 0; j < 256; j++) {
        ck_assert(x[j] == (float)j * (1.0f / 255.0f));
        ck_assert(x[256 + j] == (float)pixel(0, j) * (1.0f / 255.0f));
        ck_assert(x[512 + j] == (float)pixel(3, j) * (1.0f / 255.0f));
    }
    ck_assert(x[0] == 0.0f && x[255] == 1.0f);
    ck_assert_int_eq(lab[0], 2);
    ck_assert_int_eq(lab[1], 0);
    ck_assert_int_eq(lab[2], 3);
    dp_data_free(d);
    free(bi);
    free(bl);
}
END_TEST

START_TEST(data_alloc_shapes)
{
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(dp_data_alloc(3, 5, 2, 0, "mem", &d, &err), DP_OK);
    ck_assert_ptr_nonnull(d->x_f32);
    ck_assert_ptr_nonnull(d->targets);
    ck_assert_ptr_null(d->labels);
    ck_assert_ptr_null(d->x_u8);
    ck_assert_uint_eq((uintptr_t)d->x_f32 % 64, 0);
    ck_assert_uint_eq((uintptr_t)d->targets % 64, 0);
    for (size_t i = 0; i < 15; i++) ck_assert(d->x_f32[i] == 0.0f);
    ck_assert_int_eq(d->max_label, -1);
    ck_assert_str_eq(d->source, "mem");
    for (size_t i = 0; i < 6; i++) d->targets[i] = (float)i + 0.5f;
    uint32_t idx[2] = {2, 1};
    float t[4];
    dp_data_gather_targets(d, idx, 2, t);
    ck_assert(t[0] == 4.5f && t[1] == 5.5f && t[2] == 2.5f && t[3] == 3.5f);
    dp_data_free(d);
    ck_assert_int_eq(dp_data_alloc(4, 7, 0, 1, "px", &d, &err), DP_OK);
    ck_assert_ptr_nonnull(d->x_u8);
    ck_assert_ptr_nonnull(d->labels);
    dp_data_free(d);
    expect_fail(dp_data_alloc(0, 7, 0, 1, "none", &d, &err), &err, DP_EDATA, "none", NULL);
    expect_fail(dp_data_alloc(DP_DATA_MAX_SAMPLES + 1, 7, 0, 1, "many", &d, &err), &err, DP_EDATA,
                "many", NULL);
    expect_fail(dp_data_alloc(1u << 27, 1u << 20, 0, 0, "huge", &d, &err), &err, DP_EDATA, "huge",
                NULL);
    dp_data_free(NULL);
    ck_assert_uint_eq(dp_data_count(NULL), 0);
}
END_TEST

/* ---------------------------------------------------------------- CSV */

static dp_status load_csv(const char *name, int n_in, int k, dp_dataset **d, dp_error *err)
{
    char p[512];
    memset(err, 0, sizeof *err);
    return dp_data_load_csv(tpath(p, name), n_in, k, d, err);
}

START_TEST(csv_classification)
{
    write_text("c1.csv", "x0,x1,x2,label\n0.5,-1,2e-3,2\n1, 2 ,3,0\n-0.25,0,7,5.0\n");
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_csv("c1.csv", 3, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 3);
    ck_assert_uint_eq(dp_data_features(d), 3);
    ck_assert_ptr_nonnull(d->x_f32);
    ck_assert_ptr_null(d->x_u8);
    const float want[9] = {0.5f, -1, 2e-3f, 1, 2, 3, -0.25f, 0, 7};
    for (int i = 0; i < 9; i++) ck_assert(d->x_f32[i] == want[i]);
    ck_assert_int_eq(d->labels[0], 2);
    ck_assert_int_eq(d->labels[1], 0);
    ck_assert_int_eq(d->labels[2], 5);
    ck_assert_int_eq(d->max_label, 5);
    ck_assert_ptr_nonnull(strstr(d->source, "c1.csv"));
    uint32_t idx[2] = {2, 0};
    float x[6];
    dp_data_gather(d, idx, 2, x);
    ck_assert(x[0] == -0.25f && x[2] == 7 && x[3] == 0.5f);
    dp_data_free(d);
    /* Without a header: the first row is data. */
    write_text("c2.csv", "1,2,3,1\n4,5,6,0\n");
    ck_assert_int_eq(load_csv("c2.csv", 3, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 2);
    ck_assert(d->x_f32[0] == 1.0f && d->labels[0] == 1);
    dp_data_free(d);
    /* Integer spellings (a fast path) read exactly as strtof would. */
    write_text("c4.csv", "-0,+7,0000012,-8388607,3\n");
    ck_assert_int_eq(load_csv("c4.csv", 4, 0, &d, &err), DP_OK);
    ck_assert(d->x_f32[0] == 0.0f && signbit(d->x_f32[0]));
    ck_assert(d->x_f32[1] == 7.0f && d->x_f32[2] == 12.0f && d->x_f32[3] == -8388607.0f);
    ck_assert_int_eq(d->labels[0], 3);
    dp_data_free(d);
    /* Quoted column names are a header too. */
    write_text("c3.csv", "\"a\",\"b\"\n3,1\n");
    ck_assert_int_eq(load_csv("c3.csv", 1, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 1);
    dp_data_free(d);
}
END_TEST

START_TEST(csv_line_endings)
{
    dp_dataset *d;
    dp_error err;
    write_text("crlf.csv", "a,b,y\r\n1,2,0\r\n3,4,1\r\n\r\n\r\n");
    ck_assert_int_eq(load_csv("crlf.csv", 2, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 2);
    ck_assert(d->x_f32[3] == 4.0f && d->labels[1] == 1);
    dp_data_free(d);
    write_text("nonl.csv", "1,2,0\n3,4,1");
    ck_assert_int_eq(load_csv("nonl.csv", 2, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 2);
    ck_assert(d->x_f32[2] == 3.0f && d->labels[1] == 1);
    dp_data_free(d);
    write_text("blank-end.csv", "1,2,0\n3,4,1\n\n   \n\n");
    ck_assert_int_eq(load_csv("blank-end.csv", 2, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 2);
    dp_data_free(d);
    write_text("bom.csv", "\xEF\xBB\xBF" "1,2,0\n");
    ck_assert_int_eq(load_csv("bom.csv", 2, 0, &d, &err), DP_OK);
    ck_assert(d->x_f32[0] == 1.0f);
    dp_data_free(d);
}
END_TEST

START_TEST(csv_regression)
{
    write_text("r.csv", "x,y1,y2\n1,0.5,-0.5\n2,1.5,2.5\n");
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_csv("r.csv", 1, 2, &d, &err), DP_OK);
    ck_assert_uint_eq(d->n_targets, 2);
    ck_assert_ptr_null(d->labels);
    ck_assert(d->targets[0] == 0.5f && d->targets[1] == -0.5f && d->targets[3] == 2.5f);
    uint32_t idx[1] = {1};
    float t[2];
    dp_data_gather_targets(d, idx, 1, t);
    ck_assert(t[0] == 1.5f && t[1] == 2.5f);
    dp_data_free(d);
    /* A non-integer last column is fine as a target, not as a class. */
    write_text("r1.csv", "1,0.25\n");
    ck_assert_int_eq(load_csv("r1.csv", 1, 1, &d, &err), DP_OK);
    ck_assert(d->targets[0] == 0.25f);
    dp_data_free(d);
    expect_fail(load_csv("r1.csv", 1, 0, &d, &err), &err, DP_EDATA, "r1.csv:1:2", "integer",
                "line 1", "column 2", NULL);
}
END_TEST

/* n_targets < 0: prediction input, features only (the CLI's `predict --input`). */
START_TEST(csv_features_only)
{
    dp_dataset *d;
    dp_error err;
    write_text("fo.csv", "a,b\n1,2.5\n3,4\n");
    ck_assert_int_eq(load_csv("fo.csv", 2, -1, &d, &err), DP_OK);
    ck_assert_uint_eq(d->n, 2);
    ck_assert_uint_eq(d->n_targets, 0);
    ck_assert_int_eq(d->max_label, -1);
    ck_assert(d->x_f32[1] == 2.5f && d->x_f32[3] == 4.0f);
    ck_assert(d->labels[0] == 0 && d->labels[1] == 0);
    dp_data_free(d);
    /* A labelled file is one column too wide for features only, and vice versa. */
    write_text("fo3.csv", "1,2,0\n");
    expect_fail(load_csv("fo3.csv", 2, -1, &d, &err), &err, DP_EDATA, "fo3.csv:1", "3 columns",
                "expected 2", "3 features vs input layer size 2", NULL);
    ck_assert_ptr_null(strstr(err.msg, "label"));
    expect_fail(load_csv("fo.csv", 2, 0, &d, &err), &err, DP_EDATA, "fo.csv:1", "2 columns",
                "expected 3", "1 features vs input layer size 2 (+1 label column)", NULL);
}
END_TEST

START_TEST(csv_bad_cells)
{
    dp_dataset *d = (dp_dataset *)1;
    dp_error err;
    write_text("nn.csv", "a,b,c\n1,2,0\n4,abc,1\n");
    expect_fail(load_csv("nn.csv", 2, 0, &d, &err), &err, DP_EDATA, "nn.csv:3:2", "'abc'",
                "not a number", "line 3", "column 2", NULL);
    ck_assert_ptr_null(d);
    /* A header is only ever the first line. */
    write_text("h2.csv", "1,2,0\nx,y,label\n");
    expect_fail(load_csv("h2.csv", 2, 0, &d, &err), &err, DP_EDATA, "h2.csv:2:1", "'x'",
                "line 2", "column 1", NULL);
    write_text("nan.csv", "1,nan,0\n");
    expect_fail(load_csv("nan.csv", 2, 0, &d, &err), &err, DP_EDATA, "nan.csv:1:2", "NaN",
                "line 1", "column 2", NULL);
    write_text("inf.csv", "1,2,0\n-inf,2,0\n");
    expect_fail(load_csv("inf.csv", 2, 0, &d, &err), &err, DP_EDATA, "inf.csv:2:1", "infinite",
                "line 2", "column 1", NULL);
    write_text("big.csv", "1,1e60,0\n");
    expect_fail(load_csv("big.csv", 2, 0, &d, &err), &err, DP_EDATA, "big.csv:1:2", "infinite",
                NULL);
    write_text("tnan.csv", "1,2\n3,NaN\n");
    expect_fail(load_csv("tnan.csv", 1, 1, &d, &err), &err, DP_EDATA, "tnan.csv:2:2", "NaN",
                NULL);
    write_text("empty-cell.csv", "1,2,0\n1,,0\n");
    expect_fail(load_csv("empty-cell.csv", 2, 0, &d, &err), &err, DP_EDATA, "empty-cell.csv:2:2",
                "empty", "line 2", "column 2", NULL);
    write_text("junk.csv", "1,2,0\n1,2x,0\n");
    expect_fail(load_csv("junk.csv", 2, 0, &d, &err), &err, DP_EDATA, "junk.csv:2:2", "'2x'",
                NULL);
    write_text("ctl.csv", "1,2,0\n1,\x01\r2,0\n");
    expect_fail(load_csv("ctl.csv", 2, 0, &d, &err), &err, DP_EDATA, "ctl.csv:2:2", NULL);
    ck_assert_ptr_null(strchr(err.msg, '\r'));
    write_text("neg.csv", "1,2,0\n1,2,-1\n");
    expect_fail(load_csv("neg.csv", 2, 0, &d, &err), &err, DP_EDATA, "neg.csv:2:3", "negative",
                "line 2", "column 3", NULL);
    write_text("frac.csv", "1,2,1.5\n");
    expect_fail(load_csv("frac.csv", 2, 0, &d, &err), &err, DP_EDATA, "frac.csv:1:3", "integer",
                NULL);
    write_text("huge-label.csv", "1,2,1e12\n");
    expect_fail(load_csv("huge-label.csv", 2, 0, &d, &err), &err, DP_EDATA, "huge-label.csv:1:3",
                NULL);
}
END_TEST

START_TEST(csv_bad_shape)
{
    dp_dataset *d;
    dp_error err;
    write_text("wide.csv", "1,2,3,0\n1,2,3,4,0\n");
    expect_fail(load_csv("wide.csv", 3, 0, &d, &err), &err, DP_EDATA, "wide.csv:2", "line 2",
                "5 columns", "expected 4", "4 features vs input layer size 3", NULL);
    write_text("narrow.csv", "a,b,c,y\n1,2,3,0\n1,2,0\n");
    expect_fail(load_csv("narrow.csv", 3, 0, &d, &err), &err, DP_EDATA, "narrow.csv:3", "line 3",
                "3 columns", "2 features vs input layer size 3", NULL);
    write_text("one.csv", "5\n");
    expect_fail(load_csv("one.csv", 3, 0, &d, &err), &err, DP_EDATA, "one.csv:1", "line 1",
                "1 column", NULL);
    write_text("reg.csv", "1,2,3\n");
    expect_fail(load_csv("reg.csv", 2, 2, &d, &err), &err, DP_EDATA, "reg.csv:1", "3 columns",
                "expected 4", "1 features vs input layer size 2", NULL);
    /* The empty, the header-only and the whitespace-only file. */
    write_text("empty.csv", "");
    expect_fail(load_csv("empty.csv", 2, 0, &d, &err), &err, DP_EDATA, "empty.csv", "empty",
                NULL);
    write_text("hdr.csv", "a,b,label\r\n");
    expect_fail(load_csv("hdr.csv", 2, 0, &d, &err), &err, DP_EDATA, "hdr.csv", "header", NULL);
    write_text("ws.csv", "\n \n\t\n");
    expect_fail(load_csv("ws.csv", 2, 0, &d, &err), &err, DP_EDATA, "ws.csv", "empty", NULL);
}
END_TEST

START_TEST(csv_missing)
{
    dp_dataset *d;
    dp_error err;
    char p[512];
    expect_fail(load_csv("nope.csv", 2, 0, &d, &err), &err, DP_ENOINPUT, "nope.csv", NULL);
    mkdir(tpath(p, "adir.csv"), 0755);
    expect_fail(load_csv("adir.csv", 2, 0, &d, &err), &err, DP_ENOINPUT, "adir.csv", NULL);
}
END_TEST

START_TEST(csv_many_rows)
{
    /* Enough rows to cross the reader's chunk sizes; values checked end to end. */
    const size_t n = 20000;
    char p[512];
    FILE *f = fopen(tpath(p, "many.csv"), "w");
    fprintf(f, "f0,f1,f2,f3,y\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%.3f,%zu,-%zu,%zu\n", i, (double)i / 8.0, i % 13, i, i % 10);
    fclose(f);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(load_csv("many.csv", 4, 0, &d, &err), DP_OK);
    ck_assert_uint_eq(d->n, n);
    for (size_t i = 0; i < n; i += 997) {
        ck_assert(d->x_f32[i * 4] == (float)i);
        ck_assert(d->x_f32[i * 4 + 1] == (float)i / 8.0f);
        ck_assert(d->x_f32[i * 4 + 3] == -(float)i);
        ck_assert_int_eq(d->labels[i], (int32_t)(i % 10));
    }
    ck_assert_int_eq(d->max_label, 9);
    dp_data_free(d);
}
END_TEST

/* ---------------------------------------------------------------- check_fits */

static dp_spec mkspec(int in, int out, dp_loss loss)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 3;
    s.sizes[0] = in;
    s.sizes[1] = 8;
    s.sizes[2] = out;
    s.hidden = DP_ACT_RELU;
    s.loss = loss;
    return s;
}

static dp_dataset *labels_set(size_t n_in, int32_t max_label, const char *src)
{
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(dp_data_alloc(4, n_in, 0, 1, src, &d, &err), DP_OK);
    for (int i = 0; i < 4; i++) d->labels[i] = i <= max_label ? i : max_label;
    d->max_label = max_label;
    return d;
}

START_TEST(fits_cases)
{
    dp_error err;
    dp_spec s;
    dp_dataset *d = labels_set(785, 9, "data/x.csv");
    s = mkspec(784, 10, DP_LOSS_XENT);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "data/x.csv",
                "samples have 785 features but the input layer has 784", NULL);
    s = mkspec(785, 10, DP_LOSS_XENT);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(785, 9, DP_LOSS_XENT);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "data/x.csv", "label 9", NULL);
    s = mkspec(785, 10, DP_LOSS_BCE); /* one-hot over 10 outputs */
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(785, 1, DP_LOSS_BCE);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "data/x.csv", "bce", "0 or 1",
                NULL);
    s = mkspec(785, 10, DP_LOSS_MSE);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "data/x.csv", "mse", NULL);
    dp_data_free(d);

    d = labels_set(2, 1, "xor.csv");
    s = mkspec(2, 1, DP_LOSS_BCE);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(2, 2, DP_LOSS_XENT);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(2, 1, DP_LOSS_XENT);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "xor.csv", "label 1", NULL);
    dp_data_free(d);

    ck_assert_int_eq(dp_data_alloc(4, 2, 3, 0, "reg.csv", &d, &err), DP_OK);
    s = mkspec(2, 3, DP_LOSS_MSE);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(2, 3, DP_LOSS_MAE);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    s = mkspec(2, 2, DP_LOSS_MAE);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "reg.csv", "3 targets", NULL);
    s = mkspec(2, 3, DP_LOSS_XENT);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "reg.csv", "xent", NULL);
    s = mkspec(2, 3, DP_LOSS_BCE);
    expect_fail(dp_data_check_fits(d, &s, &err), &err, DP_EDATA, "reg.csv", "bce", NULL);
    dp_data_free(d);
}
END_TEST

/* ---------------------------------------------------------------- synthetic */

static int same_set(const dp_dataset *a, const dp_dataset *b)
{
    if (a->n != b->n || a->n_in != b->n_in || a->n_targets != b->n_targets) return 0;
    if (memcmp(a->x_f32, b->x_f32, a->n * a->n_in * sizeof(float))) return 0;
    if (a->n_targets) return !memcmp(a->targets, b->targets, a->n * a->n_targets * sizeof(float));
    return !memcmp(a->labels, b->labels, a->n * sizeof(int32_t));
}

START_TEST(synthetic_deterministic)
{
    dp_spec s = mkspec(20, 10, DP_LOSS_XENT);
    dp_dataset *a, *b, *c, *pre;
    dp_error err;
    ck_assert_int_eq(dp_data_synthetic(&s, 2000, 42, &a, &err), DP_OK);
    ck_assert_int_eq(dp_data_synthetic(&s, 2000, 42, &b, &err), DP_OK);
    ck_assert_int_eq(dp_data_synthetic(&s, 2000, 43, &c, &err), DP_OK);
    ck_assert_int_eq(dp_data_synthetic(&s, 500, 42, &pre, &err), DP_OK);
    ck_assert_str_eq(a->source, "synthetic:2000");
    ck_assert(same_set(a, b));
    ck_assert(!same_set(a, c));
    ck_assert_int_eq(dp_data_check_fits(a, &s, &err), DP_OK);
    /* A shorter set is a prefix of a longer one (same teacher, same samples). */
    ck_assert(!memcmp(pre->x_f32, a->x_f32, 500 * 20 * sizeof(float)));
    ck_assert(!memcmp(pre->labels, a->labels, 500 * sizeof(int32_t)));
    /* Every class appears, none dominates; features look standard normal. */
    size_t count[10] = {0};
    double sum = 0, sq = 0;
    for (size_t i = 0; i < a->n; i++) {
        ck_assert(a->labels[i] >= 0 && a->labels[i] < 10);
        count[a->labels[i]]++;
    }
    for (size_t i = 0; i < a->n * a->n_in; i++) {
        sum += a->x_f32[i];
        sq += (double)a->x_f32[i] * a->x_f32[i];
    }
    for (int k = 0; k < 10; k++)
        ck_assert_msg(count[k] > 40 && count[k] < 600, "class %d: %zu", k, count[k]);
    double mean = sum / (double)(a->n * a->n_in), var = sq / (double)(a->n * a->n_in) - mean * mean;
    ck_assert_msg(fabs(mean) < 0.05 && fabs(var - 1) < 0.05, "mean %g var %g", mean, var);
    ck_assert_int_eq(a->max_label, 9);
    dp_data_free(a);
    dp_data_free(b);
    dp_data_free(c);
    dp_data_free(pre);
}
END_TEST

/* The teacher is learnable: the class means of the features separate the classes, so
 * a nearest-centroid rule fit on one half beats chance by far on the other half. */
START_TEST(synthetic_learnable)
{
    dp_spec s = mkspec(10, 4, DP_LOSS_XENT);
    dp_dataset *d;
    dp_error err;
    ck_assert_int_eq(dp_data_synthetic(&s, 4000, 7, &d, &err), DP_OK);
    double mu[4][10] = {{0}};
    size_t cnt[4] = {0};
    for (size_t i = 0; i < 2000; i++) {
        cnt[d->labels[i]]++;
        for (int j = 0; j < 10; j++) mu[d->labels[i]][j] += d->x_f32[i * 10 + j];
    }
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 10; j++) mu[k][j] /= (double)(cnt[k] ? cnt[k] : 1);
    size_t right = 0;
    for (size_t i = 2000; i < 4000; i++) {
        int best = 0;
        double bd = 1e300;
        for (int k = 0; k < 4; k++) {
            double dd = 0;
            for (int j = 0; j < 10; j++) {
                double t = d->x_f32[i * 10 + j] - mu[k][j];
                dd += t * t;
            }
            if (dd < bd) bd = dd, best = k;
        }
        right += best == d->labels[i];
    }
    ck_assert_msg(right > 1200, "nearest centroid got %zu / 2000", right);
    dp_data_free(d);
}
END_TEST

START_TEST(synthetic_shapes)
{
    dp_dataset *d;
    dp_error err;
    dp_spec s = mkspec(3, 2, DP_LOSS_MSE);
    ck_assert_int_eq(dp_data_synthetic(&s, 300, 1, &d, &err), DP_OK);
    ck_assert_uint_eq(d->n_targets, 2);
    ck_assert_ptr_nonnull(d->targets);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    int spread = 0;
    for (size_t i = 0; i < 600; i++) {
        ck_assert(d->targets[i] > -1.0f && d->targets[i] < 1.0f);
        spread += fabsf(d->targets[i]) > 0.3f;
    }
    ck_assert(spread > 100);
    dp_data_free(d);
    s = mkspec(5, 1, DP_LOSS_BCE);
    ck_assert_int_eq(dp_data_synthetic(&s, 400, 1, &d, &err), DP_OK);
    size_t ones = 0;
    for (size_t i = 0; i < 400; i++) {
        ck_assert(d->labels[i] == 0 || d->labels[i] == 1);
        ones += (size_t)d->labels[i];
    }
    ck_assert(ones > 100 && ones < 300);
    ck_assert_int_eq(dp_data_check_fits(d, &s, &err), DP_OK);
    dp_data_free(d);
    expect_fail(dp_data_synthetic(&s, 0, 1, &d, &err), &err, DP_EDATA, "synthetic:0", NULL);
}
END_TEST

/* ---------------------------------------------------------------- the real thing */

#define FASHION "/usr/share/datasets/fashion-mnist"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

START_TEST(fashion_mnist)
{
    struct stat st;
    if (stat(FASHION "/train-images-idx3-ubyte.gz", &st) != 0) {
        fprintf(stderr, "check_data: %s absent, Fashion-MNIST test skipped\n", FASHION);
        return;
    }
    dp_dataset *tr, *te;
    dp_error err;
    double t0 = now_s();
    ck_assert_msg(dp_data_load_mnist(FASHION, 0, &tr, &err) == DP_OK, "%s", err.msg);
    double t1 = now_s();
    ck_assert_msg(dp_data_load_mnist(FASHION, 1, &te, &err) == DP_OK, "%s", err.msg);
    fprintf(stderr, "check_data: Fashion-MNIST train %.3f s, test %.3f s\n", t1 - t0, now_s() - t1);
    ck_assert_uint_eq(tr->n, 60000);
    ck_assert_uint_eq(te->n, 10000);
    ck_assert_uint_eq(tr->n_in, 784);
    ck_assert_uint_eq(te->n_in, 784);
    ck_assert_int_eq(tr->max_label, 9);
    ck_assert_int_eq(te->max_label, 9);
    size_t count[10] = {0}; /* Fashion-MNIST is balanced: 6000 per class */
    for (size_t i = 0; i < tr->n; i++) count[tr->labels[i]]++;
    for (int k = 0; k < 10; k++) ck_assert_uint_eq(count[k], 6000);
    dp_spec s = mkspec(784, 10, DP_LOSS_XENT);
    ck_assert_int_eq(dp_data_check_fits(tr, &s, &err), DP_OK);
    dp_data_free(tr);
    dp_data_free(te);
}
END_TEST

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/check_data.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("data");
    TCase *idx = tcase_create("idx"), *csv = tcase_create("csv"), *mem = tcase_create("memory"),
          *real = tcase_create("fashion");
    tcase_add_test(idx, idx_raw_round_trip);
    tcase_add_test(idx, idx_gz_round_trip);
    tcase_add_test(idx, idx_mixed_and_multimember);
    tcase_add_test(idx, idx_mnist_dir);
    tcase_add_test(idx, idx_missing);
    tcase_add_test(idx, idx_bad_magic);
    tcase_add_test(idx, idx_bad_dims);
    tcase_add_test(idx, idx_raw_size_mismatch);
    tcase_add_test(idx, idx_lying_headers);
    tcase_add_test(idx, idx_gz_content_mismatch);
    tcase_add_test(idx, idx_gz_damaged);
    tcase_add_test(csv, csv_classification);
    tcase_add_test(csv, csv_line_endings);
    tcase_add_test(csv, csv_regression);
    tcase_add_test(csv, csv_features_only);
    tcase_add_test(csv, csv_bad_cells);
    tcase_add_test(csv, csv_bad_shape);
    tcase_add_test(csv, csv_missing);
    tcase_add_test(csv, csv_many_rows);
    tcase_add_test(mem, gather_u8_scaling);
    tcase_add_test(mem, data_alloc_shapes);
    tcase_add_test(mem, fits_cases);
    tcase_add_test(mem, synthetic_deterministic);
    tcase_add_test(mem, synthetic_learnable);
    tcase_add_test(mem, synthetic_shapes);
    tcase_add_test(real, fashion_mnist);
    tcase_set_timeout(real, 60);
    suite_add_tcase(s, idx);
    suite_add_tcase(s, csv);
    suite_add_tcase(s, mem);
    suite_add_tcase(s, real);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
