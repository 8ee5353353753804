/* Model files and checkpoints: bit-exact round trips, the documented byte layout, every class
 * of corrupt or hostile file refused with DP_EDATA and a message naming the file and the
 * problem, atomic writes that leave the old file intact on every failure (missing directory,
 * injected torn write, full filesystem), and checkpoints that survive kill -9 mid-write. */
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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt.h"
#include "err.h"
#include "io/craft.h"

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

/* small_spec (craft.h): 3 → 4 → 2: 3*4+4 + 4*2+2 = 26 parameters. */
#define SMALL_N 26u

/* Values whose bits a careless writer would lose: signed zero, subnormals, infinities, NaN
 * payloads, extremes. */
static void fill_params(float *p, size_t n, uint32_t seed)
{
    /* Edge values, all finite: a file holding NaN or inf is bad data (format version 2). */
    static const uint32_t special[] = {0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u,
                                       0xff7fffffu, 0x80000001u, 0x7f7fffffu, 0x3f800000u};
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
            if ((u & 0x7f800000u) == 0x7f800000u) u &= ~0x00800000u; /* keep it finite */
        }
        memcpy(&p[i], &u, 4);
    }
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
    /* version 2: + u32 act[2] (per weight layer) + f32 leaky_slope before n_params */
    size_t hlen = 8 + 4 + 4 + 4 + 3 * 4 + 4 + 4 + 2 * 4 + 4 + 8;
    ck_assert_uint_eq(len, hlen + 4 * SMALL_N + 4);
    ck_assert_int_eq(memcmp(b, "DPMLPMDL", 8), 0);
    static const unsigned char ver_marker[8] = {2, 0, 0, 0, 4, 3, 2, 1};
    ck_assert_int_eq(memcmp(b + 8, ver_marker, 8), 0);
    ck_assert_uint_eq(get_u32(b + 16), 3);
    ck_assert_uint_eq(get_u32(b + 20), 3);
    ck_assert_uint_eq(get_u32(b + 24), 4);
    ck_assert_uint_eq(get_u32(b + 28), 2);
    ck_assert_uint_eq(get_u32(b + 32), DP_ACT_TANH);
    ck_assert_uint_eq(get_u32(b + 36), DP_LOSS_XENT);
    ck_assert_uint_eq(get_u32(b + 40), DP_ACT_TANH);    /* the spec's n_act 0, resolved */
    ck_assert_uint_eq(get_u32(b + 44), DP_ACT_SOFTMAX);
    ck_assert_uint_eq(get_u32(b + 48), 0);              /* leaky_slope 0.0f */
    ck_assert_uint_eq(get_u32(b + 52), SMALL_N);
    ck_assert_uint_eq(get_u32(b + 56), 0);
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
    expect_edata(mpath, "model format version 7, this dpmlp reads version 1 to 2", "version 7");
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
    /* Per-layer codes (version 2): out of range, or in range but breaking a rule. */
    static const struct { size_t at; uint32_t code; const char *word; } bad_act[] = {
        {40, 99, "layer 1 activation code 99"}, {44, DP_ACT_GELU + 1, "activation code"},
        {40, DP_ACT_SOFTMAX, "hidden layer 1 cannot be 'softmax'"},
        {44, DP_ACT_SIGMOID, "--out sigmoid with --loss xent"}};
    for (size_t i = 0; i < sizeof bad_act / sizeof *bad_act; i++) {
        memcpy(b, orig, len);
        put_u32(b + bad_act[i].at, bad_act[i].code);
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, bad_act[i].word, "per-layer act");
    }
    static const uint32_t bad_slope[] = {0xbf800000u /* -1 */, 0x40000000u /* 2 */, 0x7fc00000u};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, orig, len);
        put_u32(b + 48, bad_slope[i]);
        fix_crc(b, len);
        write_all(mpath, b, len);
        expect_edata(mpath, "--leaky-slope", "slope");
    }
    static const uint64_t bad_np[] = {0, SMALL_N - 1, SMALL_N + 1, 0xffffffffffffffffull};
    for (size_t i = 0; i < 4; i++) {
        memcpy(b, orig, len);
        put_u32(b + 52, (uint32_t)bad_np[i]);
        put_u32(b + 56, (uint32_t)(bad_np[i] >> 32));
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

/* ==== checkpoints (dp_ckpt_save / dp_ckpt_load) ==== */

static char cpath[512];

/* A state shaped like the trainer's: arrays from dp_alloc, perm a seeded shuffle. */
typedef struct ck_fixture {
    dp_spec spec;
    dp_train_config cfg;
    dp_train_state st;
} ck_fixture;

static void make_fixture(ck_fixture *x, const dp_spec *spec, dp_optim_kind optim, size_t n_train,
                         uint32_t seed)
{
    memset(x, 0, sizeof *x);
    x->spec = *spec;
    x->cfg.optim = optim;
    x->cfg.lr = 0.001f, x->cfg.momentum = 0.9f, x->cfg.weight_decay = 1e-4f;
    x->cfg.beta1 = 0.9f, x->cfg.beta2 = 0.999f, x->cfg.eps = 1e-8f;
    x->cfg.epochs = 10, x->cfg.batch = 4, x->cfg.threads = 2;
    x->cfg.seed = 0x0123456789abcdefull ^ seed;
    x->cfg.reduce = DP_REDUCE_TREE;
    x->cfg.deterministic = (int)(seed & 1);
    /* Not stored: the loader must hand these back as zero. */
    x->cfg.bind = DP_BIND_SPREAD, x->cfg.team_openmp = 1, x->cfg.max_steps = 99, x->cfg.quiet = 1;

    size_t np = 0;
    for (int l = 0; l + 1 < spec->n_sizes; l++)
        np += (size_t)spec->sizes[l] * (size_t)spec->sizes[l + 1] + (size_t)spec->sizes[l + 1];
    dp_train_state *st = &x->st;
    st->epoch = 3 + (int)(seed % 5);
    st->next_step = 2;
    st->global_step = 0x1234567890ll + seed;
    st->n_train = n_train;
    st->data_fingerprint = 0xfeedface00000000ull ^ seed;
    /* A double whose low bits a float round trip would lose. */
    st->epoch_loss = 1.0 / 3.0 + (double)seed * 1e-13;
    st->epoch_samples = n_train < 8 ? n_train : 8;
    st->epoch_steps = 2;
    st->n_params = np;
    st->n_moments = optim >= DP_OPT_ADAM ? 2 : optim == DP_OPT_MOMENTUM ? 1 : 0;
    st->params = dp_alloc(np * sizeof(float));
    fill_params(st->params, np, seed);
    if (st->n_moments >= 1) fill_params(st->m1 = dp_alloc(np * sizeof(float)), np, seed + 100);
    if (st->n_moments == 2) fill_params(st->m2 = dp_alloc(np * sizeof(float)), np, seed + 200);
    st->perm = dp_alloc(n_train * sizeof(uint32_t));
    for (size_t i = 0; i < n_train; i++) st->perm[i] = (uint32_t)i;
    uint32_t r = seed * 2246822519u + 7;
    for (size_t i = n_train - 1; i > 0; i--) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        size_t j = r % (i + 1);
        uint32_t t = st->perm[i];
        st->perm[i] = st->perm[j];
        st->perm[j] = t;
    }
}

static void free_fixture(ck_fixture *x) { dp_train_state_free(&x->st); }

static void save_fixture(const char *path, const ck_fixture *x)
{
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_save(path, &x->spec, &x->cfg, &x->st, &e) == DP_OK, "%s", e.msg);
}

static int bits_eq(const void *a, const void *b, size_t n)
{
    if (n == 0) return 1;
    return a && b && memcmp(a, b, n) == 0;
}

/* 1 if what was loaded is bit for bit the fixture (stored fields; the rest zero). */
static int same_as(const ck_fixture *x, const dp_spec *s, const dp_train_config *c,
                   const dp_train_state *t)
{
    const dp_train_state *w = &x->st;
    if (s->n_sizes != x->spec.n_sizes || s->hidden != x->spec.hidden || s->loss != x->spec.loss ||
        s->n_act != x->spec.n_act || memcmp(&s->leaky_slope, &x->spec.leaky_slope, 4))
        return 0;
    for (int l = 0; l + 1 < s->n_sizes; l++)
        if (dp_spec_layer_act(s, l) != dp_spec_layer_act(&x->spec, l)) return 0;
    if (memcmp(c->dropout, x->cfg.dropout, sizeof c->dropout)) return 0;
    for (int i = 0; i < s->n_sizes; i++)
        if (s->sizes[i] != x->spec.sizes[i]) return 0;
    dp_train_config wc = x->cfg;
    wc.bind = 0, wc.team_openmp = 0, wc.max_steps = 0, wc.quiet = 0;
    if (c->optim != wc.optim || c->epochs != wc.epochs || c->batch != wc.batch ||
        c->seed != wc.seed || c->threads != wc.threads || c->reduce != wc.reduce ||
        c->bind != wc.bind || c->team_openmp != wc.team_openmp || c->max_steps != wc.max_steps ||
        c->quiet != wc.quiet || c->deterministic != wc.deterministic)
        return 0;
    const float *cf[6] = {&c->lr, &c->momentum, &c->weight_decay, &c->beta1, &c->beta2, &c->eps};
    const float *wf[6] = {&wc.lr, &wc.momentum, &wc.weight_decay, &wc.beta1, &wc.beta2, &wc.eps};
    for (int i = 0; i < 6; i++)
        if (memcmp(cf[i], wf[i], sizeof(float)) != 0) return 0;
    if (t->epoch != w->epoch || t->next_step != w->next_step || t->global_step != w->global_step ||
        t->n_train != w->n_train || memcmp(&t->epoch_loss, &w->epoch_loss, sizeof(double)) ||
        t->epoch_samples != w->epoch_samples || t->epoch_steps != w->epoch_steps ||
        t->n_params != w->n_params || t->n_moments != w->n_moments ||
        t->data_fingerprint != w->data_fingerprint)
        return 0;
    size_t pb = w->n_params * sizeof(float);
    if (!bits_eq(t->params, w->params, pb) || !bits_eq(t->perm, w->perm, w->n_train * 4))
        return 0;
    if ((w->n_moments >= 1) != (t->m1 != NULL) || (w->n_moments == 2) != (t->m2 != NULL))
        return 0;
    if (w->n_moments >= 1 && !bits_eq(t->m1, w->m1, pb)) return 0;
    if (w->n_moments == 2 && !bits_eq(t->m2, w->m2, pb)) return 0;
    return 1;
}

static void expect_ckpt_exact(const char *path, const ck_fixture *x)
{
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_load(path, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_msg(same_as(x, &s, &c, &t), "%s: loaded state differs from the saved one", path);
    ck_assert_int_eq(((uintptr_t)t.params) % 64, 0);
    dp_train_state_free(&t);
    ck_assert_ptr_null(t.params);
    ck_assert_ptr_null(t.perm);
}

/* Loads `path` as a checkpoint expecting DP_EDATA, a zeroed state, and a message naming the
 * path and containing `word`. */
static void expect_ckpt_edata(const char *path, const char *word, const char *ctx)
{
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    memset(&t, 0x5a, sizeof t);
    dp_error e = {0};
    dp_status rc = dp_ckpt_load(path, &s, &c, &t, &e);
    ck_assert_msg(rc == DP_EDATA, "%s: expected DP_EDATA, got %d (%s)", ctx, rc, e.msg);
    ck_assert_int_eq(e.code, DP_EDATA);
    ck_assert_ptr_null(t.params);
    ck_assert_ptr_null(t.m1);
    ck_assert_ptr_null(t.m2);
    ck_assert_ptr_null(t.perm);
    ck_assert_uint_eq(t.n_params, 0);
    ck_assert_msg(strstr(e.msg, path) != NULL, "%s: message lacks the path: %s", ctx, e.msg);
    ck_assert_msg(strchr(e.msg, '\n') == NULL, "%s: message is not one line: %s", ctx, e.msg);
    if (word)
        ck_assert_msg(strstr(e.msg, word) != NULL, "%s: message lacks '%s': %s", ctx, word,
                      e.msg);
}

/* Byte offsets in a checkpoint of the small spec (3 sizes), per the layout in ckpt.h. */
#define CK_NS 3u
#define CK_CFG (20u + 4u * CK_NS + 8u)      /* optim */
#define CK_ST (CK_CFG + 52u)               /* epoch */
#define CK_V3 (CK_ST + 76u)    /* version 2 ends here (+ u64 data_fingerprint, u32 deterministic) */
#define CK_NACT CK_V3
#define CK_SLOPE (CK_V3 + 4u)
#define CK_ACT0 (CK_V3 + 8u)                   /* u32 act[31] */
#define CK_DROP0 (CK_ACT0 + 4u * 31u)          /* f32 dropout[30] */
/* then 40 bytes of validation and schedule config, 24 of their state (best_epoch first), and
 * u32 precision */
#define CK_HLEN (CK_DROP0 + 4u * 30u + 64u + 4u)
#define CK_OPTIM CK_CFG
#define CK_BATCH (CK_CFG + 32u)
#define CK_REDUCE (CK_CFG + 48u)
#define CK_EPOCH CK_ST
#define CK_NEXT (CK_ST + 4u)
#define CK_NTRAIN (CK_ST + 20u)
#define CK_ESAMPLES (CK_ST + 36u)
#define CK_NPARAMS (CK_ST + 52u)
#define CK_NMOM (CK_ST + 60u)
#define CK_FPRINT (CK_ST + 64u)
#define CK_DETERM (CK_ST + 72u)
#define CK_NTRAIN_SMALL 10u

static void ck_setup(void)
{
    setup();
    snprintf(cpath, sizeof cpath, "%s/run.ckpt", tdir);
}

/* Writes `b` to cpath with the CRC fixed, then expects DP_EDATA with `word`. */
static void patched_expect(unsigned char *b, size_t len, const char *word, const char *ctx)
{
    fix_crc(b, len);
    write_all(cpath, b, len);
    expect_ckpt_edata(cpath, word, ctx);
}

START_TEST(ckpt_round_trip_each_optimizer)
{
    dp_spec s = small_spec();
    static const dp_optim_kind kinds[] = {DP_OPT_SGD, DP_OPT_MOMENTUM, DP_OPT_ADAM, DP_OPT_ADAMW};
    for (int k = 0; k < 4; k++) {
        ck_fixture x;
        make_fixture(&x, &s, kinds[k], CK_NTRAIN_SMALL, 11 + (uint32_t)k);
        save_fixture(cpath, &x);
        expect_ckpt_exact(cpath, &x);
        size_t len;
        unsigned char *b = read_all(cpath, &len);
        ck_assert_uint_eq(len, CK_HLEN + 4 * SMALL_N * (1 + (size_t)x.st.n_moments) +
                                   4 * CK_NTRAIN_SMALL + 4);
        ck_assert_int_eq(memcmp(b, "DPMLPCKP", 8), 0);
        ck_assert_uint_eq(get_u32(b + 8), 3);
        ck_assert_uint_eq(get_u32(b + 12), 0x01020304u);
        ck_assert_uint_eq(get_u32(b + CK_OPTIM), kinds[k]);
        ck_assert_uint_eq(get_u32(b + CK_FPRINT) | (uint64_t)get_u32(b + CK_FPRINT + 4) << 32,
                          x.st.data_fingerprint);
        ck_assert_uint_eq(get_u32(b + CK_DETERM), (uint32_t)x.cfg.deterministic);
        ck_assert_uint_eq(get_u32(b + CK_NMOM), (uint32_t)x.st.n_moments);
        ck_assert_uint_eq(get_u32(b + len - 4), (uint32_t)crc32(0L, b, (uInt)(len - 4)));
        /* perm sits last, just before the CRC. */
        ck_assert_uint_eq(get_u32(b + len - 8), x.st.perm[CK_NTRAIN_SMALL - 1]);
        free(b);
        free_fixture(&x);
    }
    /* Larger than one I/O chunk in every array, and a perm of 100k entries. */
    dp_spec r;
    memset(&r, 0, sizeof r);
    r.n_sizes = 4;
    r.sizes[0] = 100, r.sizes[1] = 150, r.sizes[2] = 30, r.sizes[3] = 1;
    r.hidden = DP_ACT_SIGMOID;
    r.loss = DP_LOSS_MAE;
    ck_fixture x;
    make_fixture(&x, &r, DP_OPT_ADAM, 100000, 5);
    x.st.epoch_samples = 100000;
    x.st.next_step = 25000;   /* the last step of an epoch at batch 4 */
    save_fixture(cpath, &x);
    expect_ckpt_exact(cpath, &x);
    free_fixture(&x);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
}
END_TEST

START_TEST(ckpt_state_free_is_safe)
{
    dp_train_state t;
    memset(&t, 0, sizeof t);
    dp_train_state_free(&t);
    dp_train_state_free(NULL);
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_ADAM, 4, 1);
    dp_train_state_free(&x.st);
    ck_assert_ptr_null(x.st.params);
    ck_assert_ptr_null(x.st.m2);
    ck_assert_uint_eq(x.st.n_params, 0);
    dp_train_state_free(&x.st);   /* twice: the struct was zeroed */
}
END_TEST

START_TEST(ckpt_save_refuses_unloadable_state)
{
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_MOMENTUM, CK_NTRAIN_SMALL, 3);
    dp_error e = {0};
    x.st.n_moments = 2;
    ck_assert_int_eq(dp_ckpt_save(cpath, &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, cpath));
    x.st.n_moments = 1;
    uint32_t keep = x.st.perm[1];
    x.st.perm[1] = x.st.perm[0];
    ck_assert_int_eq(dp_ckpt_save(cpath, &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a permutation"));
    x.st.perm[1] = keep;
    x.st.n_params--;
    ck_assert_int_eq(dp_ckpt_save(cpath, &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "parameters"));
    x.st.n_params++;
    x.st.epoch = 0;
    ck_assert_int_eq(dp_ckpt_save(cpath, &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 0);
    x.st.epoch = 1;
    save_fixture(cpath, &x);   /* the repaired state saves */
    expect_ckpt_exact(cpath, &x);
    free_fixture(&x);
}
END_TEST

START_TEST(ckpt_truncated_at_every_offset)
{
    dp_spec s = small_spec();
    static const dp_optim_kind kinds[] = {DP_OPT_SGD, DP_OPT_ADAM};
    char cut[600], ctx[64];
    snprintf(cut, sizeof cut, "%s/cut.ckpt", tdir);
    for (int k = 0; k < 2; k++) {
        ck_fixture x;
        make_fixture(&x, &s, kinds[k], CK_NTRAIN_SMALL, 21);
        save_fixture(cpath, &x);
        size_t len;
        unsigned char *b = read_all(cpath, &len);
        for (size_t n = 0; n < len; n++) {
            write_all(cut, b, n);
            snprintf(ctx, sizeof ctx, "optim %d cut at %zu of %zu", (int)kinds[k], n, len);
            expect_ckpt_edata(cut, "truncated", ctx);
        }
        unsigned char *longer = malloc(len + 1);
        memcpy(longer, b, len);
        longer[len] = 0;
        write_all(cut, longer, len + 1);
        expect_ckpt_edata(cut, "trailing", "one extra byte");
        free(longer);
        free(b);
        free_fixture(&x);
    }
}
END_TEST

/* Is byte i one the loader must read before it knows the file's size (so a flip there may be
 * named by that field's check rather than by the checksum)? */
static int sizes_the_file(size_t i)
{
    return i < CK_CFG || (i >= CK_NTRAIN && i < CK_NTRAIN + 8) ||
           (i >= CK_NPARAMS && i < CK_HLEN);
}

START_TEST(ckpt_any_flipped_byte_is_refused)
{
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_ADAM, CK_NTRAIN_SMALL, 31);
    save_fixture(cpath, &x);
    size_t len;
    unsigned char *b = read_all(cpath, &len);
    char ctx[64];
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    int by_crc = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            b[i] ^= masks[m];
            write_all(cpath, b, len);
            snprintf(ctx, sizeof ctx, "byte %zu ^ 0x%02x", i, masks[m]);
            int crc_only = !sizes_the_file(i);
            expect_ckpt_edata(cpath, crc_only ? "checksum mismatch (file corrupt)" : NULL, ctx);
            by_crc += crc_only;
            b[i] ^= masks[m];
        }
    }
    ck_assert_int_gt(by_crc, (int)(3 * (len - CK_HLEN)));
    write_all(cpath, b, len);
    expect_ckpt_exact(cpath, &x);   /* the unflipped bytes still load */
    free(b);
    free_fixture(&x);
}
END_TEST

START_TEST(ckpt_bad_magic_and_model_file)
{
    write_all(cpath, (const unsigned char *)"hello, world\n", 13);
    expect_ckpt_edata(cpath, "not a dpmlp checkpoint (bad magic)", "text file");
    write_all(cpath, (const unsigned char *)"PK\3\4", 4);
    expect_ckpt_edata(cpath, "bad magic", "short zip");

    /* A model file handed to --resume, and a checkpoint handed to --model. */
    float params[SMALL_N];
    save_small(mpath, params);
    expect_ckpt_edata(mpath, "is a model file, not a checkpoint", "model as checkpoint");
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_SGD, CK_NTRAIN_SMALL, 41);
    save_fixture(cpath, &x);
    expect_edata(cpath, "is a checkpoint, not a model file", "checkpoint as model");

    size_t len;
    unsigned char *b = read_all(cpath, &len);
    b[7] = 'X';
    patched_expect(b, len, "bad magic", "last magic byte");
    free(b);
    free_fixture(&x);
}
END_TEST

START_TEST(ckpt_version_and_byte_order)
{
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_SGD, CK_NTRAIN_SMALL, 51);
    save_fixture(cpath, &x);
    size_t len;
    unsigned char *b = read_all(cpath, &len);
    put_u32(b + 8, 9);
    patched_expect(b, len, "checkpoint format version 9, this dpmlp reads version 1 to 3", "v9");
    put_u32(b + 8, 1);
    static const unsigned char be[4] = {1, 2, 3, 4};
    memcpy(b + 12, be, 4);
    patched_expect(b, len, "written by a big-endian machine", "BE marker");
    static const unsigned char be_ver[4] = {0, 0, 0, 1};
    memcpy(b + 8, be_ver, 4);
    patched_expect(b, len, "written by a big-endian machine", "BE version and marker");
    put_u32(b + 8, 1);
    put_u32(b + 12, 0xdeadbeef);
    patched_expect(b, len, "byte order marker", "garbage marker");
    free(b);
    free_fixture(&x);
}
END_TEST

/* Fields a valid CRC vouches for but that make no sense: the semantic checks must catch them. */
START_TEST(ckpt_inconsistent_fields)
{
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_ADAM, CK_NTRAIN_SMALL, 61);
    save_fixture(cpath, &x);
    size_t len;
    unsigned char *orig = read_all(cpath, &len);
    unsigned char *b = malloc(len);
#define FRESH() memcpy(b, orig, len)

    /* n_moments vs optimizer: the file holds 2 moment arrays (adam). */
    FRESH(), put_u32(b + CK_OPTIM, DP_OPT_MOMENTUM);
    patched_expect(b, len, "n_moments", "adam data, momentum optimizer");
    FRESH(), put_u32(b + CK_OPTIM, DP_OPT_SGD);
    patched_expect(b, len, "n_moments", "adam data, sgd optimizer");
    FRESH(), put_u32(b + CK_NMOM, 3);
    patched_expect(b, len, "n_moments", "3 moments");
    FRESH(), put_u32(b + CK_OPTIM, 4);
    patched_expect(b, len, "optimizer code 4", "optim 4");
    FRESH(), put_u32(b + CK_REDUCE, 3);
    patched_expect(b, len, "reduce code 3", "reduce 3");
    FRESH(), put_u32(b + CK_BATCH, 0);
    patched_expect(b, len, "batch 0", "batch 0");

    /* perm: a duplicate, and an entry out of range. */
    size_t perm_at = len - 4 - 4 * CK_NTRAIN_SMALL;
    FRESH(), memcpy(b + perm_at + 4, b + perm_at, 4);
    patched_expect(b, len, "not a permutation", "duplicate perm entry");
    FRESH(), put_u32(b + perm_at + 8, CK_NTRAIN_SMALL);
    patched_expect(b, len, "not a permutation", "perm entry = n_train");
    FRESH(), put_u32(b + perm_at, 0xffffffffu);
    patched_expect(b, len, "not a permutation", "perm entry 2^32-1");

    /* n_params against the spec, either side changed. */
    FRESH(), put_u64(b + CK_NPARAMS, SMALL_N + 1);
    patched_expect(b, len, "n_params", "n_params + 1");
    FRESH(), put_u64(b + CK_NPARAMS, 0xffffffffffffffffull);
    patched_expect(b, len, "n_params", "n_params 2^64-1");
    FRESH(), put_u32(b + 20 + 4, 5);   /* hidden width 4 → 5 */
    patched_expect(b, len, "n_params", "layer size changed");

    /* State counters. */
    FRESH(), put_u32(b + CK_EPOCH, 0);
    patched_expect(b, len, "epoch is 0", "epoch 0");
    FRESH(), put_u64(b + CK_NEXT, 4);   /* 10 samples at batch 4: 3 steps */
    patched_expect(b, len, "next_step", "next_step past the epoch");
    FRESH(), put_u64(b + CK_NEXT, 0x8000000000000000ull);
    patched_expect(b, len, "next_step", "next_step negative as long");
    FRESH(), put_u64(b + CK_ESAMPLES, CK_NTRAIN_SMALL + 1);
    patched_expect(b, len, "epoch_samples", "epoch_samples > n_train");

    /* n_train out of range (file size then also disagrees, but the range is named first). */
    FRESH(), put_u64(b + CK_NTRAIN, 0);
    patched_expect(b, len, "n_train", "n_train 0");
    FRESH(), put_u64(b + CK_NTRAIN, (1ull << 28) + 1);
    patched_expect(b, len, "n_train", "n_train 2^28+1");
    FRESH(), put_u64(b + CK_NTRAIN, 0xffffffffffffffffull);
    patched_expect(b, len, "n_train", "n_train 2^64-1");
#undef FRESH
    free(b);
    free(orig);
    free_fixture(&x);
}
END_TEST

/* Self-consistent headers promising gigabytes in a file of a few hundred bytes: refused on the
 * size, before any allocation (ASan aborts on allocations this large). */
START_TEST(ckpt_absurd_claims_tiny_file)
{
    dp_spec s = small_spec();
    ck_fixture x;
    make_fixture(&x, &s, DP_OPT_SGD, CK_NTRAIN_SMALL, 71);
    save_fixture(cpath, &x);
    size_t len;
    unsigned char *b = read_all(cpath, &len);
    put_u64(b + CK_NTRAIN, 1ull << 28);   /* 1 GiB of perm */
    patched_expect(b, len, "truncated", "n_train 2^28, tiny file");
    free(b);

    /* The widest spec the format allows: ~4 TiB per array. */
    unsigned char h[20 + 8 + 8 + 52 + 64 + 4];
    memset(h, 0, sizeof h);
    memcpy(h, "DPMLPCKP", 8);
    put_u32(h + 8, 1);
    put_u32(h + 12, 0x01020304u);
    put_u32(h + 16, 2);
    put_u32(h + 20, DP_MAX_WIDTH);
    put_u32(h + 24, DP_MAX_WIDTH);
    put_u32(h + 28, DP_ACT_RELU);
    put_u32(h + 32, DP_LOSS_MSE);
    unsigned char *c = h + 36, *st = c + 52;
    put_u32(c, DP_OPT_ADAM);
    put_u32(c + 28, 1), put_u32(c + 32, 1), put_u32(c + 44, 1);
    put_u32(st, 1);
    put_u64(st + 20, 1ull << 28);
    put_u64(st + 52, (uint64_t)DP_MAX_WIDTH * DP_MAX_WIDTH + DP_MAX_WIDTH);
    put_u32(st + 60, 2);
    patched_expect(h, sizeof h, "truncated", "12 TiB claim");
    free_fixture(&x);
}
END_TEST

START_TEST(ckpt_missing_file)
{
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    dp_error e = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.ckpt", tdir);
    ck_assert_int_eq(dp_ckpt_load(missing, &s, &c, &t, &e), DP_ENOINPUT);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    ck_assert_ptr_nonnull(strstr(e.msg, "No such file or directory"));
    ck_assert_ptr_null(t.params);
    ck_assert_int_eq(dp_ckpt_load(tdir, &s, &c, &t, &e), DP_ENOINPUT);
    ck_assert_ptr_nonnull(strstr(e.msg, tdir));
    write_all(cpath, NULL, 0);
    expect_ckpt_edata(cpath, "empty", "empty file");
}
END_TEST

/* ---- failed checkpoint writes keep the previous checkpoint ---- */

START_TEST(ckpt_injected_fault_keeps_previous)
{
    dp_spec s = small_spec();
    ck_fixture a, b;
    make_fixture(&a, &s, DP_OPT_ADAM, CK_NTRAIN_SMALL, 81);
    make_fixture(&b, &s, DP_OPT_ADAM, CK_NTRAIN_SMALL, 82);
    save_fixture(cpath, &a);
    dp_error e = {0};
    setenv("DPMLP_FAULT_WRITE", "1", 1);
    ck_assert_int_eq(dp_ckpt_save(cpath, &b.spec, &b.cfg, &b.st, &e), DP_EIO);
    ck_assert_int_eq(e.code, DP_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, cpath));
    ck_assert_ptr_nonnull(strstr(e.msg, "DPMLP_FAULT_WRITE"));
    unsetenv("DPMLP_FAULT_WRITE");
    expect_ckpt_exact(cpath, &a);
    ck_assert_int_eq(count_dir_entries(tdir, ".tmp."), 0);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
    save_fixture(cpath, &b);   /* and the next write works */
    expect_ckpt_exact(cpath, &b);
    free_fixture(&a);
    free_fixture(&b);
}
END_TEST

START_TEST(ckpt_full_filesystem_keeps_previous)
{
    char mnt[600];
    snprintf(mnt, sizeof mnt, "%s/mnt", tdir);
    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        printf("check_ckpt: ckpt_full_filesystem_keeps_previous skipped: cannot mount tmpfs "
               "(%s)\n", strerror(errno));
        rmdir(mnt);
        return;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/run.ckpt", mnt);
    dp_spec s = small_spec();
    ck_fixture a;
    make_fixture(&a, &s, DP_OPT_ADAM, CK_NTRAIN_SMALL, 91);
    dp_error e = {0};
    dp_status rc0 = dp_ckpt_save(path, &a.spec, &a.cfg, &a.st, &e);

    /* 784-64-10 with Adam: three arrays of ~200 KiB cannot fit in 64 KiB. */
    dp_spec big;
    memset(&big, 0, sizeof big);
    big.n_sizes = 3;
    big.sizes[0] = 784, big.sizes[1] = 64, big.sizes[2] = 10;
    big.hidden = DP_ACT_RELU;
    big.loss = DP_LOSS_XENT;
    ck_fixture b;
    make_fixture(&b, &big, DP_OPT_ADAM, 1000, 92);
    dp_error be = {0};
    dp_status rc = dp_ckpt_save(path, &b.spec, &b.cfg, &b.st, &be);

    int entries = count_dir_entries(mnt, NULL), temps = count_dir_entries(mnt, ".tmp.");
    dp_spec ls;
    dp_train_config lc;
    dp_train_state lt;
    dp_error le = {0};
    dp_status lrc = dp_ckpt_load(path, &ls, &lc, &lt, &le);
    int same = lrc == DP_OK && same_as(&a, &ls, &lc, &lt);
    if (lrc == DP_OK) dp_train_state_free(&lt);
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    free_fixture(&a);
    free_fixture(&b);

    ck_assert_msg(rc0 == DP_OK, "small checkpoint on tmpfs: %s", e.msg);
    ck_assert_msg(rc == DP_EIO, "save on a full fs returned %d (%s)", rc, be.msg);
    ck_assert_ptr_nonnull(strstr(be.msg, path));
    ck_assert_msg(strstr(be.msg, "No space left on device") != NULL, "%s", be.msg);
    ck_assert_int_eq(temps, 0);
    ck_assert_int_eq(entries, 1);
    ck_assert_msg(same, "previous checkpoint no longer loads bit-exact: %s", le.msg);
}
END_TEST

/* ---- kill -9 while checkpointing ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int remove_temps(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp.")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
        n++;
    }
    closedir(d);
    return n;
}

/* A child saves state A and B alternately to one path, forever; the parent SIGKILLs it at a
 * random moment and loads: the file must be exactly A or exactly B, never torn. The child is
 * forked with no OpenMP or other threads in this process and calls only dp_ckpt_save. */
START_TEST(ckpt_kill9_during_save)
{
    enum { KILLS = 25 };
    /* 784-512-10 with momentum and a 60k perm: ~3.5 MB per checkpoint, so a kill usually
     * lands inside a write. */
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 3;
    s.sizes[0] = 784, s.sizes[1] = 512, s.sizes[2] = 10;
    s.hidden = DP_ACT_RELU;
    s.loss = DP_LOSS_XENT;
    ck_fixture a, b;
    make_fixture(&a, &s, DP_OPT_MOMENTUM, 60000, 101);
    make_fixture(&b, &s, DP_OPT_MOMENTUM, 60000, 102);

    double t0 = now_s();
    save_fixture(cpath, &b);
    save_fixture(cpath, &a);
    double one = (now_s() - t0) / 2;
    /* Random delays over a couple of whole saves, so kills land in every phase and both
     * contents get a chance to be the survivor. */
    double span = one * 3 > 0.020 ? one * 3 : 0.020;
    uint32_t r = (uint32_t)time(NULL) * 2654435761u + (uint32_t)getpid();
    printf("check_ckpt: kill -9 loop: one save %.1f ms, delays 0..%.1f ms, seed %u\n",
           one * 1e3, span * 1e3, r);

    int loads_ok = 0, got_a = 0, got_b = 0, mid_write = 0;
    for (int i = 0; i < KILLS; i++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            dp_error e;
            for (unsigned k = 0;; k++) {
                const ck_fixture *x = (k & 1) ? &a : &b;
                if (dp_ckpt_save(cpath, &x->spec, &x->cfg, &x->st, &e) != DP_OK) _exit(3);
            }
        }
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        double delay = span * (double)(r % 10001) / 10000.0;
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "kill %d: the saving child ended on its own (status 0x%x)", i, status);
        /* A kill inside dp_atomic_write leaves its temp file: the target must not care. */
        mid_write += remove_temps(tdir) > 0;

        dp_spec ls;
        dp_train_config lc;
        dp_train_state lt;
        dp_error le = {0};
        dp_status lrc = dp_ckpt_load(cpath, &ls, &lc, &lt, &le);
        ck_assert_msg(lrc == DP_OK, "kill %d after %.1f ms: torn checkpoint: %s", i,
                      delay * 1e3, le.msg);
        loads_ok++;
        int is_a = same_as(&a, &ls, &lc, &lt), is_b = same_as(&b, &ls, &lc, &lt);
        dp_train_state_free(&lt);
        ck_assert_msg(is_a || is_b, "kill %d: loaded a checkpoint that is neither A nor B", i);
        got_a += is_a;
        got_b += is_b;
    }
    printf("check_ckpt: kill -9 loop: %d kills, %d loads OK (A: %d, B: %d), %d left a temp file "
           "(killed mid-write)\n", KILLS, loads_ok, got_a, got_b, mid_write);
    free_fixture(&a);
    free_fixture(&b);
    ck_assert_int_eq(loads_ok, KILLS);
    ck_assert_int_eq(got_a + got_b, KILLS);
    ck_assert_int_gt(mid_write, 0);
    ck_assert_int_eq(count_dir_entries(tdir, NULL), 1);
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

    TCase *c = tcase_create("checkpoint");
    tcase_add_checked_fixture(c, ck_setup, teardown);
    tcase_set_timeout(c, 120);
    tcase_add_test(c, ckpt_round_trip_each_optimizer);
    tcase_add_test(c, ckpt_state_free_is_safe);
    tcase_add_test(c, ckpt_save_refuses_unloadable_state);
    tcase_add_test(c, ckpt_truncated_at_every_offset);
    tcase_add_test(c, ckpt_any_flipped_byte_is_refused);
    tcase_add_test(c, ckpt_bad_magic_and_model_file);
    tcase_add_test(c, ckpt_version_and_byte_order);
    tcase_add_test(c, ckpt_inconsistent_fields);
    tcase_add_test(c, ckpt_absurd_claims_tiny_file);
    tcase_add_test(c, ckpt_missing_file);
    tcase_add_test(c, ckpt_injected_fault_keeps_previous);
    tcase_add_test(c, ckpt_full_filesystem_keeps_previous);
    tcase_add_test(c, ckpt_kill9_during_save);
    suite_add_tcase(s, c);
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
