/* Fuzz regression suite: replays every input saved under tests/fuzz/regressions/<harness>/
 * (or $DPMLP_FUZZ_REGRESSIONS) through the same targets the libFuzzer harnesses use, without
 * libFuzzer, plus hand-made hostile files that every loader must refuse fast with DP_EDATA. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz/fuzz_targets.h"

static char g_dir[256];

static const char *tpath(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", g_dir, name);
    return buf;
}

static void put(const char *name, const void *p, size_t n)
{
    ck_assert_int_eq(fz_write(g_dir, name, p, n), 0);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

/* A refusal: the documented code, one line, nothing handed out, and quickly (no allocation or
 * read sized by the lie). */
static void expect_refused(dp_status st, const dp_error *e, dp_status code, const void *out,
                           double t0, const char *what)
{
    double dt = now() - t0;
    ck_assert_msg(st == code, "%s: status %d, expected %d (%s)", what, st, code, e->msg);
    ck_assert_msg(e->code == code && e->msg[0] && !strchr(e->msg, '\n'), "%s: message '%s'", what,
                  e->msg);
    ck_assert_msg(out == NULL, "%s: output handed out on failure", what);
    ck_assert_msg(dt < 1.0, "%s: took %.2f s to refuse", what, dt);
}

/* ---------------------------------------------------------------- saved fuzz inputs */

typedef const char *(*target_fn)(const char *dir, const uint8_t *data, size_t size);

static const char *flags_target(const char *dir, const uint8_t *data, size_t size)
{
    (void)dir;
    return fz_flags(data, size);
}

static const struct {
    const char *name;
    target_fn fn;
} TARGETS[] = {{"idx_raw", fz_idx_raw}, {"idx_gz", fz_idx_gz}, {"csv", fz_csv},
               {"ckpt", fz_ckpt},       {"flags", flags_target}};

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0, r;
    uint8_t *b = malloc(cap);
    while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

/* Files named known-* record a contract violation that is reported but not fixed yet: replayed
 * (a memory error still fails the run under SAN=address), the violation only printed. Once the
 * fix lands, the line "now passes" says to rename the file to crash-*. */
START_TEST(replay_saved_inputs)
{
    const char *root = getenv("DPMLP_FUZZ_REGRESSIONS");
    if (!root || !*root) root = "tests/fuzz/regressions";
    DIR *top = opendir(root);
    if (!top) {
        fprintf(stderr, "  fuzz regressions: %s not found, nothing to replay\n", root);
        return;
    }
    int replayed = 0, known = 0;
    struct dirent *h;
    while ((h = readdir(top))) {
        if (h->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", root, h->d_name);
        struct stat st;
        if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode)) continue; /* README and such */
        target_fn fn = NULL;
        for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++)
            if (!strcmp(TARGETS[i].name, h->d_name)) fn = TARGETS[i].fn;
        ck_assert_msg(fn != NULL, "%s: no fuzz target named '%s'", sub, h->d_name);
        DIR *d = opendir(sub);
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
            if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            size_t n = 0;
            uint8_t *data = slurp(path, &n);
            ck_assert_msg(data != NULL, "%s: cannot read", path);
            const char *bad = fn(g_dir, data, n);
            free(data);
            replayed++;
            if (!strncmp(e->d_name, "known-", 6)) {
                known++;
                fprintf(stderr, "  %s: %s\n", path,
                        bad ? bad : "now passes: rename it crash-* so it guards the fix");
                continue;
            }
            ck_assert_msg(bad == NULL, "%s: %s", path, bad);
        }
        closedir(d);
    }
    closedir(top);
    fprintf(stderr, "  fuzz regressions: %d inputs replayed from %s (%d known-unfixed)\n",
            replayed, root, known);
}
END_TEST

/* ---------------------------------------------------------------- hostile IDX */

static dp_status load_idx(const char *img, const char *lab, dp_dataset **d, dp_error *e)
{
    char pi[512], pl[512];
    memset(e, 0, sizeof *e);
    return dp_idx_load_pair(tpath(pi, sizeof pi, img), tpath(pl, sizeof pl, lab), d, e);
}

static void idx_header(uint8_t *b, uint32_t n, uint32_t r, uint32_t c)
{
    be32(b, 0x803);
    be32(b + 4, n);
    be32(b + 8, r);
    be32(b + 12, c);
}

START_TEST(idx_headers_that_lie)
{
    uint8_t img[16], lab[8];
    be32(lab, 0x801);
    dp_dataset *d = NULL;
    dp_error e;
    double t0;
    /* 2^31 images in a 16-byte file. */
    idx_header(img, 0x80000000u, 28, 28);
    be32(lab + 4, 0x80000000u);
    put("huge-n-img", img, 16);
    put("huge-n-lab", lab, 8);
    t0 = now();
    expect_refused(load_idx("huge-n-img", "huge-n-lab", &d, &e), &e, DP_EDATA, d, t0, "2^31 images");
    /* 65535 x 65535 pixels. */
    idx_header(img, 1, 65535, 65535);
    be32(lab + 4, 1);
    put("huge-side-img", img, 16);
    put("huge-side-lab", lab, 8);
    t0 = now();
    expect_refused(load_idx("huge-side-img", "huge-side-lab", &d, &e), &e, DP_EDATA, d, t0,
                   "65535x65535");
    /* Within every limit (2^20 images of 4096 x 4096 would be 16 TiB: over the byte limit;
     * 2^16 of 256 x 256 is 4 GiB: under it) but the file holds only the header. */
    idx_header(img, 1u << 16, 256, 256);
    be32(lab + 4, 1u << 16);
    put("big-img", img, 16);
    put("big-lab", lab, 8);
    t0 = now();
    expect_refused(load_idx("big-img", "big-lab", &d, &e), &e, DP_EDATA, d, t0, "4 GiB claim");
}
END_TEST

/* gzip of p[0..n) at level 9 into a malloc'd buffer. */
static uint8_t *gz(const uint8_t *p, size_t n, size_t *len)
{
    uint8_t *out = NULL;
    *len = 0;
    ck_assert_int_eq(fz_gzip(p, n, 9, &out, len), 0);
    return out;
}

START_TEST(idx_gzip_bombs)
{
    dp_dataset *d = NULL;
    dp_error e;
    size_t gl, ll;
    double t0;
    uint8_t lab[9];
    be32(lab, 0x801);
    be32(lab + 4, 1);
    lab[8] = 3;
    uint8_t *glab = gz(lab, 9, &ll);
    put("one-lab.gz", glab, ll);

    /* A tiny member whose header claims 2^20 images of 28 x 28 (822 MB): more than any gzip
     * of that size can inflate to, refused before allocating. */
    uint8_t img[16];
    idx_header(img, 1u << 20, 28, 28);
    uint8_t *g = gz(img, 16, &gl);
    put("claim-img.gz", g, gl);
    uint8_t lab20[8];
    be32(lab20, 0x801);
    be32(lab20 + 4, 1u << 20);
    uint8_t *g20 = gz(lab20, 8, &ll);
    put("claim-lab.gz", g20, ll);
    t0 = now();
    expect_refused(load_idx("claim-img", "claim-lab", &d, &e), &e, DP_EDATA, d, t0,
                   "gzip claiming 822 MB");
    free(g);
    free(g20);

    /* A real bomb: one 28 x 28 image followed by 32 MiB of zeros (about 32 KiB compressed).
     * The loader must stop after the image plus a little, not inflate it all. */
    size_t big = 16 + 784 + ((size_t)32 << 20);
    uint8_t *bomb = calloc(1, big);
    ck_assert_ptr_nonnull(bomb);
    idx_header(bomb, 1, 28, 28);
    g = gz(bomb, big, &gl);
    free(bomb);
    put("bomb-img.gz", g, gl);
    free(g);
    t0 = now();
    expect_refused(load_idx("bomb-img", "one-lab", &d, &e), &e, DP_EDATA, d, t0, "gzip bomb");

    /* ISIZE rewritten to agree with a header that claims 30 images while the member holds one:
     * the loader allocates up front, then must still refuse (CRC / length check). */
    uint8_t one[16 + 784];
    memset(one, 7, sizeof one);
    idx_header(one, 30, 28, 28);
    g = gz(one, sizeof one, &gl);
    le32(g + gl - 4, 16 + 30 * 784);
    put("isize-img.gz", g, gl);
    free(g);
    uint8_t lab30[8 + 30] = {0};
    be32(lab30, 0x801);
    be32(lab30 + 4, 30);
    g = gz(lab30, sizeof lab30, &gl);
    put("isize-lab.gz", g, gl);
    free(g);
    t0 = now();
    expect_refused(load_idx("isize-img", "isize-lab", &d, &e), &e, DP_EDATA, d, t0,
                   "lying ISIZE");
    free(glab);
}
END_TEST

/* ---------------------------------------------------------------- hostile CSV */

START_TEST(csv_wide_and_long)
{
    char path[512];
    dp_dataset *d = NULL;
    dp_error e;
    double t0;
    /* 10 000 columns, two rows. */
    size_t cols = 10000, len = 2 * (2 * cols);
    char *text = malloc(len + 1), *p = text;
    for (int r = 0; r < 2; r++)
        for (size_t c = 0; c < cols; c++) {
            *p++ = c + 1 == cols ? '0' : (char)('0' + (c + (size_t)r) % 10); /* label 0 */
            *p++ = c + 1 == cols ? '\n' : ',';
        }
    put("wide.csv", text, (size_t)(p - text));
    free(text);
    tpath(path, sizeof path, "wide.csv");
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(dp_data_load_csv(path, (int)cols - 1, 0, &d, &e), DP_OK);
    ck_assert_uint_eq(dp_data_count(d), 2);
    ck_assert_uint_eq(dp_data_features(d), cols - 1);
    dp_data_free(d);
    d = NULL;
    memset(&e, 0, sizeof e);
    t0 = now();
    expect_refused(dp_data_load_csv(path, 64, 0, &d, &e), &e, DP_EDATA, d, t0,
                   "10k columns, 64 expected");

    /* One 200 KB line for one feature: longer than any row of that shape may be. */
    size_t n = 200000;
    text = malloc(n);
    memset(text, '1', n);
    put("long.csv", text, n);
    free(text);
    tpath(path, sizeof path, "long.csv");
    memset(&e, 0, sizeof e);
    t0 = now();
    expect_refused(dp_data_load_csv(path, 1, -1, &d, &e), &e, DP_EDATA, d, t0, "200 KB line");

    /* Cells that overflow float, and NUL bytes inside a cell. */
    static const char inf[] = "1,2\n1e39,0\n";
    put("inf.csv", inf, sizeof inf - 1);
    tpath(path, sizeof path, "inf.csv");
    memset(&e, 0, sizeof e);
    t0 = now();
    expect_refused(dp_data_load_csv(path, 1, 0, &d, &e), &e, DP_EDATA, d, t0, "1e39 feature");
    static const char nul[] = "1,2\n3\0004,0\n";
    put("nul.csv", nul, sizeof nul - 1);
    tpath(path, sizeof path, "nul.csv");
    memset(&e, 0, sizeof e);
    t0 = now();
    expect_refused(dp_data_load_csv(path, 1, 0, &d, &e), &e, DP_EDATA, d, t0, "NUL in a cell");
}
END_TEST

/* ---------------------------------------------------------------- hostile model / checkpoint */

START_TEST(model_claiming_2_40_params)
{
    char path[512];
    uint8_t f[8 + 4 + 4 + 4 + 8 + 8 + 8 + 4];
    size_t h = 0;
    memcpy(f, "DPMLPMDL", 8);
    le32(f + 8, 1);
    le32(f + 12, 0x01020304u);
    le32(f + 16, 2);
    le32(f + 20, 1u << 20);
    le32(f + 24, 1u << 20);
    le32(f + 28, 0); /* relu */
    le32(f + 32, 2); /* mse */
    h = 36;
    le64(f + h, ((uint64_t)1 << 40) + ((uint64_t)1 << 20));
    le32(f + h + 8, 0);
    put("huge.model", f, h + 12);
    tpath(path, sizeof path, "huge.model");
    dp_error e = {0};
    double t0 = now();
    dp_model *m = dp_model_load(path, &e);
    expect_refused(e.code, &e, DP_EDATA, m, t0, "model with 2^40 params");
    /* The same with a parameter count that disagrees with the sizes. */
    le64(f + h, (uint64_t)1 << 40);
    put("huge.model", f, h + 12);
    memset(&e, 0, sizeof e);
    t0 = now();
    m = dp_model_load(path, &e);
    expect_refused(e.code, &e, DP_EDATA, m, t0, "model with a wrong param count");
}
END_TEST

START_TEST(checkpoint_claiming_huge_arrays)
{
    /* A genuine checkpoint of a 2-2 model, then its counts inflated (CRC fixed up by the fuzz
     * target's flag byte 1, so the size checks are what must refuse). */
    dp_spec sp = {.n_sizes = 2, .sizes = {2, 2}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_XENT};
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    cfg.optim = DP_OPT_SGD;
    float params[6] = {0};
    uint32_t perm[3] = {2, 0, 1};
    dp_train_state st = {.epoch = 1, .n_train = 3, .n_params = 6, .params = params, .perm = perm};
    char path[512];
    dp_error e = {0};
    ck_assert_int_eq(dp_checkpoint_save(tpath(path, sizeof path, "ok.ckpt"), &sp, &cfg, &st, &e),
                     DP_OK);
    size_t n = 0;
    uint8_t *file = slurp(path, &n);
    ck_assert_ptr_nonnull(file);
    uint8_t *in = malloc(n + 1);
    in[0] = 1; /* fix up the CRC */
    memcpy(in + 1, file, n);
    ck_assert_ptr_null(fz_ckpt(g_dir, in, n + 1));
    {
        dp_spec s2;
        dp_train_config c2;
        dp_train_state st2;
        ck_assert_int_eq(dp_checkpoint_load(path, &s2, &c2, &st2, &e), DP_OK);
        ck_assert_uint_eq(st2.n_train, 3);
        dp_train_state_free(&st2);
    }

    /* Offsets: 20 + 4 * n_sizes + 8 (hidden, loss) + 52 (config) = 88 → state. */
    const size_t s = 88;
    static const struct {
        size_t off;
        int wide;
        uint64_t v;
        const char *what;
    } lies[] = {{s + 20, 1, (uint64_t)1 << 40, "n_train 2^40"},
                {s + 20, 1, (uint64_t)1 << 28, "n_train 2^28 in a small file"},
                {s + 52, 1, ((uint64_t)1 << 40) + 6, "n_params 2^40"},
                {s + 60, 0, 2, "two moments for sgd"},
                {s + 60, 0, 0xffffffffu, "n_moments 2^32-1"},
                {16, 0, 0xffffffffu, "n_sizes 2^32-1"}};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(in + 1, file, n);
        if (lies[i].wide)
            le64(in + 1 + lies[i].off, lies[i].v);
        else
            le32(in + 1 + lies[i].off, (uint32_t)lies[i].v);
        put("lie.ckpt", in + 1, n);
        /* Through the fuzz target (CRC fixed) and directly (CRC stale): both refuse. */
        double t0 = now();
        const char *bad = fz_ckpt(g_dir, in, n + 1);
        ck_assert_msg(bad == NULL, "%s: %s", lies[i].what, bad);
        dp_spec s2;
        dp_train_config c2;
        dp_train_state st2;
        memset(&e, 0, sizeof e);
        dp_status rc = dp_checkpoint_load(tpath(path, sizeof path, "lie.ckpt"), &s2, &c2, &st2, &e);
        expect_refused(rc, &e, DP_EDATA, st2.params, t0, lies[i].what);
        dp_train_state_free(&st2);
    }
    free(in);
    free(file);
}
END_TEST

/* ---------------------------------------------------------------- hostile flags */

static dp_status parse_train(int argc, char **argv, dp_error *e)
{
    dp_opts o;
    dp_spec sp;
    dp_train_config cfg;
    memset(e, 0, sizeof *e);
    dp_status s = dp_opts_parse(argc, argv, 0, DP_TRAIN_OPTS, &o, e);
    if (s == DP_OK) s = dp_flags_spec(&o, &sp, e);
    if (s == DP_OK) s = dp_flags_train_config(&o, &cfg, e);
    return s;
}

START_TEST(flags_hostile)
{
    dp_error e;
    double t0 = now();
    char *many[DP_MAX_OPTS + 1];
    for (int i = 0; i <= DP_MAX_OPTS; i++) many[i] = "--quiet";
    expect_refused(parse_train(DP_MAX_OPTS + 1, many, &e), &e, DP_EUSAGE, NULL, t0, "65 flags");

    char layers[256] = "--layers=";
    for (int i = 0; i < 40; i++) strcat(layers, i ? ",3" : "3");
    char *a1[] = {layers};
    expect_refused(parse_train(1, a1, &e), &e, DP_EUSAGE, NULL, t0, "40 layer sizes");
    char *a2[] = {"--batch", "99999999999999999999999"};
    expect_refused(parse_train(2, a2, &e), &e, DP_EUSAGE, NULL, t0, "batch overflow");
    char *a3[] = {"--lr", "nan"};
    expect_refused(parse_train(2, a3, &e), &e, DP_EUSAGE, NULL, t0, "lr nan");
    char *a4[] = {"--layers", "4,2147483648,2"};
    expect_refused(parse_train(2, a4, &e), &e, DP_EUSAGE, NULL, t0, "layer 2^31");
    char *a5[] = {"--seed"};
    expect_refused(parse_train(1, a5, &e), &e, DP_EUSAGE, NULL, t0, "flag without value");
    char *a6[] = {"--quiet=1"};
    expect_refused(parse_train(1, a6, &e), &e, DP_EUSAGE, NULL, t0, "value for a switch");
    /* A 64 KiB argument is echoed truncated, not overflowing the message. */
    char *huge = malloc(65536);
    memset(huge, 'x', 65535);
    huge[65535] = '\0';
    char *a7[] = {huge};
    expect_refused(parse_train(1, a7, &e), &e, DP_EUSAGE, NULL, t0, "64 KiB argument");
    huge[0] = huge[1] = '-';
    expect_refused(parse_train(1, a7, &e), &e, DP_EUSAGE, NULL, t0, "64 KiB flag name");
    free(huge);
}
END_TEST

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dpmlp-check-fuzz-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("fuzz_regressions");
    TCase *saved = tcase_create("saved"), *hostile = tcase_create("hostile");
    tcase_add_test(saved, replay_saved_inputs);
    tcase_set_timeout(saved, 30);
    tcase_add_test(hostile, idx_headers_that_lie);
    tcase_add_test(hostile, idx_gzip_bombs);
    tcase_add_test(hostile, csv_wide_and_long);
    tcase_add_test(hostile, model_claiming_2_40_params);
    tcase_add_test(hostile, checkpoint_claiming_huge_arrays);
    tcase_add_test(hostile, flags_hostile);
    tcase_set_timeout(hostile, 30);
    suite_add_tcase(s, saved);
    suite_add_tcase(s, hostile);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(g_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
