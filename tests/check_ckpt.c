/* Model files: bit-exact round trips, the documented byte layout, every class of corrupt or
 * hostile file refused with DP_EDATA and a message naming the file and the problem, and
 * atomic writes that leave the old file intact on every failure (missing directory, injected
 * torn write, full filesystem). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt.h"
#include "err.h"

static char tdir[256];
static char mpath[512];

static void setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/check_ckpt.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(mpath, sizeof mpath, "%s/m.model", tdir);
    unsetenv("DPMLP_FAULT_WRITE");
}

static void teardown(void)
{
    unsetenv("DPMLP_FAULT_WRITE");
    DIR *d = opendir(tdir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tdir);
}

/* 3 → 4 → 2: 3*4+4 + 4*2+2 = 26 parameters. */
static dp_spec small_spec(void)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 3;
    s.sizes[0] = 3;
    s.sizes[1] = 4;
    s.sizes[2] = 2;
    s.hidden = DP_ACT_TANH;
    s.loss = DP_LOSS_XENT;
    return s;
}
#define SMALL_N 26u

/* Values whose bits a careless writer would lose: signed zero, subnormals, infinities, NaN
 * payloads, extremes. */
static void fill_params(float *p, size_t n, uint32_t seed)
{
    static const uint32_t special[] = {0x80000000u, 0x00000001u, 0x007fffffu, 0x7f800000u,
                                       0xff800000u, 0x7fc00001u, 0x7f7fffffu, 0x3f800000u};
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        if (i < sizeof special / sizeof special[0]) {
            u = special[i];
        } else {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            u = x;
        }
        memcpy(&p[i], &u, 4);
    }
}

static unsigned char *read_all(const char *path, size_t *len)
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

static void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16), b[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Recompute the trailing CRC, so a test reaches the field check instead of the checksum. */
static void fix_crc(unsigned char *b, size_t n)
{
    put_u32(b + n - 4, (uint32_t)crc32(0L, b, (uInt)(n - 4)));
}

static void save_small(const char *path, float *params)
{
    dp_spec s = small_spec();
    dp_error e = {0};
    fill_params(params, SMALL_N, 1);
    ck_assert_msg(dp_model_file_save(path, &s, params, SMALL_N, &e) == DP_OK, "%s", e.msg);
}

/* Loads `path` expecting DP_EDATA and a message naming the path and containing `word`. */
static void expect_edata(const char *path, const char *word, const char *ctx)
{
    dp_spec s;
    float *p = (float *)0x1;
    size_t n = 77;
    dp_error e = {0};
    dp_status rc = dp_model_file_load(path, &s, &p, &n, &e);
    ck_assert_msg(rc == DP_EDATA, "%s: expected DP_EDATA, got %d (%s)", ctx, rc, e.msg);
    ck_assert_int_eq(e.code, DP_EDATA);
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(n, 0);
    ck_assert_msg(strstr(e.msg, path) != NULL, "%s: message lacks the path: %s", ctx, e.msg);
    if (word)
        ck_assert_msg(strstr(e.msg, word) != NULL, "%s: message lacks '%s': %s", ctx, word,
                      e.msg);
}

static int count_dir_entries(const char *dir, const char *containing)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (!containing || strstr(e->d_name, containing)))
            n++;
    closedir(d);
    return n;
}

static void expect_loads_exact(const char *path, const dp_spec *want_spec, const float *want,
                               size_t want_n)
{
    dp_spec s;
    float *p = NULL;
    size_t n = 0;
    dp_error e = {0};
    ck_assert_msg(dp_model_file_load(path, &s, &p, &n, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(n, want_n);
    ck_assert_int_eq(memcmp(p, want, n * sizeof(float)), 0);
    ck_assert_int_eq(((uintptr_t)p) % 64, 0);
    ck_assert_int_eq(s.n_sizes, want_spec->n_sizes);
    for (int i = 0; i < s.n_sizes; i++) ck_assert_int_eq(s.sizes[i], want_spec->sizes[i]);
    ck_assert_int_eq(s.hidden, want_spec->hidden);
    ck_assert_int_eq(s.loss, want_spec->loss);
    dp_free(p);
}

/* ---- round trip and layout ---- */

START_TEST(round_trip_bit_exact)
{
    float params[SMALL_N];
    save_small(mpath, params);
    dp_spec s = small_spec();
    expect_loads_exact(mpath, &s, params, SMALL_N);

    /* A deeper regression model, larger than one I/O chunk (64 KiB = 16384 floats). */
    dp_spec r;
    memset(&r, 0, sizeof r);
    r.n_sizes = 4;
    r.sizes[0] = 100, r.sizes[1] = 150, r.sizes[2] = 30, r.sizes[3] = 1;
    r.hidden = DP_ACT_LINEAR;
    r.loss = DP_LOSS_MAE;
    size_t n = 100 * 150 + 150 + 150 * 30 + 30 + 30 * 1 + 1;
    float *big = malloc(n * sizeof *big);
    fill_params(big, n, 7);
    dp_error e = {0};
    ck_assert_msg(dp_model_file_save(mpath, &r, big, n, &e) == DP_OK, "%s", e.msg);
    expect_loads_exact(mpath, &r, big, n);   /* overwrote the small model in place */
    free(big);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
}
END_TEST

START_TEST(layout_is_documented_little_endian)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    size_t hlen = 8 + 4 + 4 + 4 + 3 * 4 + 4 + 4 + 8;
    ck_assert_uint_eq(len, hlen + 4 * SMALL_N + 4);
    ck_assert_int_eq(memcmp(b, "DPMLPMDL", 8), 0);
    static const unsigned char ver_marker[8] = {1, 0, 0, 0, 4, 3, 2, 1};
    ck_assert_int_eq(memcmp(b + 8, ver_marker, 8), 0);
    ck_assert_uint_eq(get_u32(b + 16), 3);
    ck_assert_uint_eq(get_u32(b + 20), 3);
    ck_assert_uint_eq(get_u32(b + 24), 4);
    ck_assert_uint_eq(get_u32(b + 28), 2);
    ck_assert_uint_eq(get_u32(b + 32), DP_ACT_TANH);
    ck_assert_uint_eq(get_u32(b + 36), DP_LOSS_XENT);
    ck_assert_uint_eq(get_u32(b + 40), SMALL_N);
    ck_assert_uint_eq(get_u32(b + 44), 0);
    for (size_t i = 0; i < SMALL_N; i++) {
        uint32_t u;
        memcpy(&u, &params[i], 4);
        ck_assert_uint_eq(get_u32(b + hlen + 4 * i), u);
    }
    ck_assert_uint_eq(get_u32(b + len - 4), (uint32_t)crc32(0L, b, (uInt)(len - 4)));
    free(b);
}
END_TEST

START_TEST(save_refuses_inconsistent_input)
{
    float params[SMALL_N] = {0};
    dp_spec s = small_spec();
    dp_error e = {0};
    ck_assert_int_eq(dp_model_file_save(mpath, &s, params, SMALL_N - 1, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, mpath));
    s.n_sizes = 1;
    ck_assert_int_eq(dp_model_file_save(mpath, &s, params, SMALL_N, &e), DP_EINTERNAL);
    s = small_spec();
    s.sizes[1] = 0;
    ck_assert_int_eq(dp_model_file_save(mpath, &s, params, SMALL_N, &e), DP_EINTERNAL);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 0);
}
END_TEST

/* ---- corrupt files ---- */

START_TEST(truncated_at_every_offset)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    char cut[600], ctx[64];
    snprintf(cut, sizeof cut, "%s/cut.model", tdir);
    for (size_t k = 0; k < len; k++) {
        write_all(cut, b, k);
        snprintf(ctx, sizeof ctx, "cut at %zu of %zu", k, len);
        expect_edata(cut, "truncated", ctx);
    }
    /* One byte too many is refused as well: the size must match the header exactly. */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    write_all(cut, longer, len + 1);
    expect_edata(cut, "trailing", "one extra byte");
    free(longer);
    free(b);
}
END_TEST

START_TEST(empty_file)
{
    write_all(mpath, NULL, 0);
    expect_edata(mpath, "truncated", "empty file");
    expect_edata(mpath, "empty", "empty file");
}
END_TEST

START_TEST(any_flipped_byte_is_refused)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    size_t hlen = len - 4 * SMALL_N - 4;
    char bad[600], ctx[64];
    snprintf(bad, sizeof bad, "%s/bad.model", tdir);
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            b[i] ^= masks[m];
            write_all(bad, b, len);
            snprintf(ctx, sizeof ctx, "byte %zu ^ 0x%02x", i, masks[m]);
            /* Inside the params or the stored CRC only the checksum can notice. */
            expect_edata(bad, i >= hlen ? "checksum mismatch" : NULL, ctx);
            b[i] ^= masks[m];
        }
    }
    free(b);
}
END_TEST

START_TEST(bad_magic)
{
    write_all(mpath, (const unsigned char *)"hello, world\n", 13);
    expect_edata(mpath, "not a dpmlp model file (bad magic)", "text file");
    write_all(mpath, (const unsigned char *)"PK\3\4", 4);
    expect_edata(mpath, "bad magic", "short zip");
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    b[7] = 'X';
    fix_crc(b, len);
    write_all(mpath, b, len);
    expect_edata(mpath, "bad magic", "last magic byte");
    free(b);
}
END_TEST

START_TEST(other_version)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    put_u32(b + 8, 7);
    fix_crc(b, len);
    write_all(mpath, b, len);
    expect_edata(mpath, "model format version 7, this dpmlp reads version 1", "version 7");
    free(b);
}
END_TEST

START_TEST(big_endian_marker)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    static const unsigned char be[4] = {1, 2, 3, 4};
    memcpy(b + 12, be, 4);
    fix_crc(b, len);
    write_all(mpath, b, len);
    expect_edata(mpath, "big-endian", "BE marker");
    /* A whole big-endian file (version byte-swapped too) names the byte order, not the version. */
    static const unsigned char be_ver[4] = {0, 0, 0, 1};
    memcpy(b + 8, be_ver, 4);
    fix_crc(b, len);
    write_all(mpath, b, len);
    expect_edata(mpath, "big-endian", "BE version and marker");
    put_u32(b + 8, 1);
    put_u32(b + 12, 0xdeadbeef);
    fix_crc(b, len);
    write_all(mpath, b, len);
    expect_edata(mpath, "byte order marker", "garbage marker");
    free(b);
}
END_TEST

/* Header fields out of range, with a valid CRC, so the field check itself must catch them. */
START_TEST(absurd_header_fields)
{
    float params[SMALL_N];
    save_small(mpath, params);
    size_t len;
    unsigned char *orig = read_all(mpath, &len);
    unsigned char *b = malloc(len);
    static const uint32_t bad_ns[] = {0, 1, 33, 1000, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad_ns / sizeof bad_ns[0]; i++) {
        memcpy(b, orig, len);
        put_u32(b + 16, bad_ns[i]);
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, "n_sizes", "n_sizes");
    }
    static const uint32_t bad_size[] = {0, DP_MAX_WIDTH + 1, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad_size / sizeof bad_size[0]; i++) {
        for (size_t layer = 0; layer < 3; layer++) {
            memcpy(b, orig, len);
            put_u32(b + 20 + 4 * layer, bad_size[i]);
            fix_crc(b, len);
            write_all(mpath, b, len);
            expect_edata(mpath, "layer size", "size");
        }
    }
    static const uint32_t bad_code[] = {DP_ACT_SOFTMAX, 99, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, orig, len);
        put_u32(b + 32, bad_code[i]);
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, "activation", "act");
        memcpy(b, orig, len);
        put_u32(b + 36, bad_code[i] == DP_ACT_SOFTMAX ? DP_LOSS_MAE + 1 : bad_code[i]);
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, "loss", "loss");
    }
    static const uint64_t bad_np[] = {0, SMALL_N - 1, SMALL_N + 1, 0xffffffffffffffffull};
    for (size_t i = 0; i < 4; i++) {
        memcpy(b, orig, len);
        put_u32(b + 40, (uint32_t)bad_np[i]);
        put_u32(b + 44, (uint32_t)(bad_np[i] >> 32));
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, "parameters", "n_params");
    }
    free(b);
    free(orig);
}
END_TEST

/* A header that is self-consistent but promises terabytes must fail on the file size, before
 * any allocation (ASan would abort on an allocation that large). */
START_TEST(huge_claim_small_file)
{
    unsigned char b[8 + 12 + 2 * 4 + 16 + 4];
    memcpy(b, "DPMLPMDL", 8);
    put_u32(b + 8, 1);
    put_u32(b + 12, 0x01020304u);
    put_u32(b + 16, 2);
    put_u32(b + 20, DP_MAX_WIDTH);
    put_u32(b + 24, DP_MAX_WIDTH);
    put_u32(b + 28, DP_ACT_RELU);
    put_u32(b + 32, DP_LOSS_MSE);
    uint64_t np = (uint64_t)DP_MAX_WIDTH * DP_MAX_WIDTH + DP_MAX_WIDTH;
    put_u32(b + 36, (uint32_t)np);
    put_u32(b + 40, (uint32_t)(np >> 32));
    fix_crc(b, sizeof b);
    write_all(mpath, b, sizeof b);
    expect_edata(mpath, "truncated", "4 TiB claim");
}
END_TEST

START_TEST(missing_file_and_directory)
{
    dp_spec s;
    float *p = NULL;
    size_t n = 0;
    dp_error e = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.model", tdir);
    ck_assert_int_eq(dp_model_file_load(missing, &s, &p, &n, &e), DP_ENOINPUT);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot open: No such file or directory"));
    ck_assert_ptr_null(p);
    /* A directory opens for reading on Linux; it must still be refused, not read. */
    ck_assert_int_eq(dp_model_file_load(tdir, &s, &p, &n, &e), DP_ENOINPUT);
    ck_assert_ptr_nonnull(strstr(e.msg, tdir));
}
END_TEST

/* ---- atomic write ---- */

START_TEST(write_into_missing_directory)
{
    char path[600], dir[400];
    snprintf(dir, sizeof dir, "%s/no/such", tdir);
    snprintf(path, sizeof path, "%s/m.model", dir);
    float params[SMALL_N] = {0};
    dp_spec s = small_spec();
    dp_error e = {0};
    ck_assert_int_eq(dp_model_file_save(path, &s, params, SMALL_N, &e), DP_EIO);
    ck_assert_int_eq(e.code, DP_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_ptr_nonnull(strstr(e.msg, "No such file or directory"));
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 0);
}
END_TEST

static int failing_body(FILE *f, void *ctx)
{
    (void)ctx;
    fputs("half a file", f);
    errno = ENOSPC;
    return -1;
}

START_TEST(body_failure_keeps_old_file)
{
    float params[SMALL_N];
    save_small(mpath, params);
    dp_error e = {0};
    ck_assert_int_eq(dp_atomic_write(mpath, failing_body, NULL, &e), DP_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, mpath));
    ck_assert_ptr_nonnull(strstr(e.msg, "No space left on device"));
    dp_spec s = small_spec();
    expect_loads_exact(mpath, &s, params, SMALL_N);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
}
END_TEST

START_TEST(injected_fault_keeps_old_file)
{
    float params[SMALL_N];
    save_small(mpath, params);
    dp_spec s = small_spec();
    float other[SMALL_N];
    fill_params(other, SMALL_N, 99);
    dp_error e = {0};

    setenv("DPMLP_FAULT_WRITE", "1", 1);
    ck_assert_int_eq(dp_model_file_save(mpath, &s, other, SMALL_N, &e), DP_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, mpath));
    ck_assert_ptr_nonnull(strstr(e.msg, "Input/output error"));
    unsetenv("DPMLP_FAULT_WRITE");
    expect_loads_exact(mpath, &s, params, SMALL_N);
    ck_assert_int_eq(count_dir_entries(tdir, ".tmp."), 0);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);

    /* N counts writes: with N = 2 the first succeeds, the second fails, the third succeeds. */
    setenv("DPMLP_FAULT_WRITE", "2", 1);
    ck_assert_int_eq(dp_model_file_save(mpath, &s, other, SMALL_N, &e), DP_OK);
    ck_assert_int_eq(dp_model_file_save(mpath, &s, params, SMALL_N, &e), DP_EIO);
    ck_assert_int_eq(dp_model_file_save(mpath, &s, params, SMALL_N, &e), DP_OK);
    unsetenv("DPMLP_FAULT_WRITE");
    expect_loads_exact(mpath, &s, params, SMALL_N);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
}
END_TEST

/* A real full filesystem: a 64 KiB tmpfs. Needs root and a mount namespace that allows it;
 * otherwise the test says so and passes vacuously. */
START_TEST(full_filesystem)
{
    char mnt[600];
    snprintf(mnt, sizeof mnt, "%s/mnt", tdir);
    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        printf("check_ckpt: full_filesystem skipped: cannot mount tmpfs (%s)\n", strerror(errno));
        rmdir(mnt);
        return;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/m.model", mnt);
    float params[SMALL_N];
    save_small(path, params);
    dp_spec s = small_spec();

    /* 784-64-10 is ~200 KiB of floats: cannot fit in 64 KiB. */
    dp_spec big;
    memset(&big, 0, sizeof big);
    big.n_sizes = 3;
    big.sizes[0] = 784, big.sizes[1] = 64, big.sizes[2] = 10;
    big.hidden = DP_ACT_RELU;
    big.loss = DP_LOSS_XENT;
    size_t n = 784 * 64 + 64 + 64 * 10 + 10;
    float *bp = calloc(n, sizeof *bp);
    dp_error e = {0};
    dp_status rc = dp_model_file_save(path, &big, bp, n, &e);
    free(bp);

    int entries = count_dir_entries(mnt, NULL);
    dp_spec ls;
    float *lp = NULL;
    size_t ln = 0;
    dp_error le = {0};
    dp_status lrc = dp_model_file_load(path, &ls, &lp, &ln, &le);
    int same = lrc == DP_OK && ln == SMALL_N && memcmp(lp, params, sizeof params) == 0;
    dp_free(lp);
    (void)s;
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);

    ck_assert_msg(rc == DP_EIO, "save on a full fs returned %d (%s)", rc, e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_msg(strstr(e.msg, "No space left on device") != NULL, "%s", e.msg);
    ck_assert_int_eq(entries, 1);
    ck_assert_msg(same, "old model no longer loads bit-exact: %s", le.msg);
}
END_TEST

static Suite *ckpt_suite(void)
{
    Suite *s = suite_create("ckpt");
    TCase *t = tcase_create("model_file");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, round_trip_bit_exact);
    tcase_add_test(t, layout_is_documented_little_endian);
    tcase_add_test(t, save_refuses_inconsistent_input);
    tcase_add_test(t, truncated_at_every_offset);
    tcase_add_test(t, empty_file);
    tcase_add_test(t, any_flipped_byte_is_refused);
    tcase_add_test(t, bad_magic);
    tcase_add_test(t, other_version);
    tcase_add_test(t, big_endian_marker);
    tcase_add_test(t, absurd_header_fields);
    tcase_add_test(t, huge_claim_small_file);
    tcase_add_test(t, missing_file_and_directory);
    suite_add_tcase(s, t);

    TCase *a = tcase_create("atomic_write");
    tcase_add_checked_fixture(a, setup, teardown);
    tcase_add_test(a, write_into_missing_directory);
    tcase_add_test(a, body_failure_keeps_old_file);
    tcase_add_test(a, injected_fault_keeps_old_file);
    tcase_add_test(a, full_filesystem);
    suite_add_tcase(s, a);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ckpt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
