/* Crafted and special input files, each refused with the documented status and a message that
 * names the file and the field: checkpoints whose counters would overflow on resume or whose
 * moments hold NaN, model files with NaN weights (all with valid CRCs, from a small writer
 * here), FIFOs in place of every input, gzip files longer than their IDX header (refused
 * before memory grows), CSV headers and ignored label columns, and the temp files of atomic
 * writes (stale ones removed only when their writer is gone; in-flight ones unlinkable from a
 * signal handler). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt.h"
#include "data.h"
#include "err.h"
#include "io/craft.h"

static char tdir[256];

static void setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/check_bad_files.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
    DIR *d = opendir(tdir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tdir, e->d_name);
            if (unlink(p) != 0) {
                /* an MNIST-layout subdirectory */
                DIR *s = opendir(p);
                struct dirent *f;
                char q[1300];
                while (s && (f = readdir(s)))
                    if (f->d_name[0] != '.') snprintf(q, sizeof q, "%s/%s", p, f->d_name), unlink(q);
                if (s) closedir(s);
                rmdir(p);
            }
        }
        closedir(d);
    }
    rmdir(tdir);
}

static const char *tpath(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tdir, name);
    return buf;
}

/* Writes b with its last four bytes set to the CRC-32 of the rest, as a real writer would. */
static void write_with_crc(const char *path, unsigned char *b, size_t len)
{
    fix_crc(b, len);
    write_all(path, b, len);
}

#define NP 26u
#define NTRAIN 10u
#define HEAD (20u + 4u * 3u + 8u) /* prologue with 3 sizes */
#define CFG HEAD
#define ST (CFG + 52u)
#define EPOCH (ST + 0u)
#define GSTEP (ST + 12u)
/* format 3: n_act, slope, act[31], dropout[30], then 64 bytes of validation and
 * schedule fields, then u32 precision */
#define CK_V3 (8u + 4u * 31u + 4u * 30u + 64u + 4u)
#define CK_HLEN (ST + 76u + CK_V3)

typedef struct fixture {
    dp_spec spec;
    dp_train_config cfg;
    dp_train_state st;
    float params[NP], m1[NP], m2[NP];
    uint32_t perm[NTRAIN];
} fixture;

static void make_state(fixture *x, dp_optim_kind optim)
{
    memset(x, 0, sizeof *x);
    x->spec = small_spec();
    dp_train_config_defaults(&x->cfg);
    x->cfg.optim = optim;
    x->cfg.epochs = 5, x->cfg.batch = 4, x->cfg.threads = 1;
    for (unsigned i = 0; i < NP; i++)
        x->params[i] = 0.01f * (float)i, x->m1[i] = 0.5f, x->m2[i] = 0.25f;
    for (unsigned i = 0; i < NTRAIN; i++) x->perm[i] = NTRAIN - 1 - i;
    dp_train_state *s = &x->st;
    s->epoch = 2, s->next_step = 1, s->global_step = 4, s->n_train = NTRAIN;
    s->epoch_samples = 4, s->epoch_steps = 1, s->n_params = NP;
    s->n_moments = optim >= DP_OPT_ADAM ? 2 : optim == DP_OPT_MOMENTUM ? 1 : 0;
    s->params = x->params;
    s->m1 = s->n_moments >= 1 ? x->m1 : NULL;
    s->m2 = s->n_moments == 2 ? x->m2 : NULL;
    s->perm = x->perm;
    s->data_fingerprint = 0x1234abcd5678ef00ull;
}

/* A valid adam checkpoint at path, read back into memory. */
static unsigned char *valid_ckpt(const char *path, size_t *len)
{
    fixture x;
    make_state(&x, DP_OPT_ADAM);
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_save(path, &x.spec, &x.cfg, &x.st, &e) == DP_OK, "%s", e.msg);
    return read_all(path, len);
}

static void expect_ckpt(const char *path, dp_status want, const char *word)
{
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    dp_error e = {0};
    dp_status rc = dp_ckpt_load(path, &s, &c, &t, &e);
    ck_assert_msg(rc == want, "%s: status %d, expected %d (%s)", word, rc, want, e.msg);
    ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, word), "message lacks '%s': %s", word,
                  e.msg);
    ck_assert_ptr_null(t.params);
}

static void expect_model(const char *path, dp_status want, const char *word)
{
    dp_spec s;
    float *p = (float *)1;
    size_t n = 1;
    dp_error e = {0};
    dp_status rc = dp_model_file_load(path, &s, &p, &n, &e);
    ck_assert_msg(rc == want, "%s: status %d, expected %d (%s)", word, rc, want, e.msg);
    ck_assert_msg(strstr(e.msg, path) && strstr(e.msg, word), "message lacks '%s': %s", word,
                  e.msg);
    ck_assert_ptr_null(p);
}

/* ---- checkpoint counters (issue 13.3) ---- */

START_TEST(ckpt_counters_that_would_overflow)
{
    char p[512];
    tpath(p, "ck.bin");
    size_t len;
    unsigned char *orig = valid_ckpt(p, &len), *b = malloc(len);
    ck_assert_uint_eq(len, CK_HLEN + 4 * NP * 3 + 4 * NTRAIN + 4);

    memcpy(b, orig, len), put_u32(b + EPOCH, 0x7fffffffu), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "epoch is 2147483647, expected 1..1000000000");
    memcpy(b, orig, len), put_u64(b + GSTEP, 0x7fffffffffffffffull), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "global_step is 9223372036854775807");
    memcpy(b, orig, len), put_u64(b + ST + 44, 1ull << 60), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "epoch_steps is 1152921504606846976");
    memcpy(b, orig, len), put_u32(b + CFG + 28, 0x7fffffffu), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "config epochs 2147483647");
    memcpy(b, orig, len), put_u32(b + CFG + 44, 100000), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "config threads 100000");
    memcpy(b, orig, len), put_u32(b + ST + 72, 2), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "config deterministic 2");
    memcpy(b, orig, len), put_u32(b + CK_HLEN - 4, 2), write_with_crc(p, b, len); /* precision */
    expect_ckpt(p, DP_EDATA, "config precision 2, expected 0..1");
    memcpy(b, orig, len), put_u64(b + ST + 28, 0x7ff8000000000000ull), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "epoch_loss is nan");
    /* The largest accepted values still load. */
    memcpy(b, orig, len), put_u32(b + EPOCH, 1000000000u), put_u64(b + GSTEP, 1ull << 53);
    write_with_crc(p, b, len);
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_load(p, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_int_eq(t.epoch, 1000000000);
    ck_assert(t.global_step == (long)(1ull << 53));
    dp_train_state_free(&t);
    free(b);
    free(orig);
}
END_TEST

/* The writer refuses the same states: a file it wrote always loads. */
START_TEST(ckpt_save_refuses_what_load_refuses)
{
    char p[512];
    fixture x;
    make_state(&x, DP_OPT_ADAM);
    dp_error e = {0};
    x.st.global_step = (long)(1ull << 62);
    ck_assert_int_eq(dp_ckpt_save(tpath(p, "ck.bin"), &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "global_step"));
    x.st.global_step = 4;
    x.m2[5] = NAN;
    ck_assert_int_eq(dp_ckpt_save(p, &x.spec, &x.cfg, &x.st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "adam second moment holds NaN"));
    ck_assert_int_ne(access(p, F_OK), 0);
    x.m2[5] = 0.25f;
    x.params[20] = INFINITY;
    ck_assert_int_eq(dp_model_file_save(p, &x.spec, x.params, NP, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "layer 1 biases hold inf at index 0"));
}
END_TEST

/* ---- non-finite values (issue 13.5) ---- */

START_TEST(ckpt_nonfinite_arrays)
{
    char p[512];
    tpath(p, "ck.bin");
    size_t len;
    unsigned char *orig = valid_ckpt(p, &len), *b = malloc(len);
    const size_t params = CK_HLEN, m1 = params + 4 * NP, m2 = m1 + 4 * NP;
    memcpy(b, orig, len), put_u32(b + m2 + 4 * 17, 0x7f800000u), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "adam second moment holds inf at layer 2 weights index 5");
    memcpy(b, orig, len), put_u32(b + m1 + 4 * 2, 0x7fc00000u), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "adam first moment holds NaN at layer 1 weights index 2");
    memcpy(b, orig, len), put_u32(b + params + 4 * 25, 0xffc00001u), write_with_crc(p, b, len);
    expect_ckpt(p, DP_EDATA, "layer 2 biases hold NaN at index 1");
    free(b);
    free(orig);
}
END_TEST

START_TEST(model_nonfinite_weights)
{
    char p[512];
    tpath(p, "m.model");
    /* 4 -> 8 -> 5: layer 2's weights start at 32; index 17 of them is parameter 49. */
    dp_spec s = small_spec();
    s.sizes[0] = 4, s.sizes[1] = 8, s.sizes[2] = 5;
    const size_t n = 4 * 8 + 8 * 5 + 8 + 5;
    float *w = calloc(n, sizeof *w);
    dp_error e = {0};
    ck_assert_msg(dp_model_file_save(p, &s, w, n, &e) == DP_OK, "%s", e.msg);
    size_t len;
    unsigned char *b = read_all(p, &len);
    const size_t at = 20 + 4 * 3 + 16 + 2 * 4 + 4; /* format 2: + act[2], leaky_slope */
    put_u32(b + at + 4 * 49, 0x7fc00000u);
    write_with_crc(p, b, len);
    expect_model(p, DP_EDATA, "layer 2 weights hold NaN at index 17");
    put_u32(b + at + 4 * 49, 0);
    put_u32(b + at + 4 * (n - 1), 0xff800000u);
    write_with_crc(p, b, len);
    expect_model(p, DP_EDATA, "layer 2 biases hold inf at index 4");
    free(b);
    free(w);
}
END_TEST

/* ---- format versions (issue 13.6) ---- */

START_TEST(ckpt_version_1_still_loads)
{
    char p[512];
    tpath(p, "ck.bin");
    size_t len;
    unsigned char *b = valid_ckpt(p, &len);
    /* A version 1 file: the same without the 12 bytes of fingerprint and deterministic (and
     * format 3's block after them). */
    unsigned char *v1 = malloc(len - 12 - CK_V3);
    memcpy(v1, b, ST + 64);
    memcpy(v1 + ST + 64, b + ST + 76 + CK_V3, len - (ST + 76 + CK_V3));
    put_u32(v1 + 8, 1);
    write_with_crc(p, v1, len - 12 - CK_V3);
    dp_spec s;
    dp_train_config c;
    dp_train_state t;
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_load(p, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(t.data_fingerprint, 0);
    ck_assert_int_eq(c.deterministic, 0);
    ck_assert_int_eq(t.epoch, 2);
    ck_assert(t.params[3] == 0.03f && t.m2[0] == 0.25f && t.perm[0] == NTRAIN - 1);
    dp_train_state_free(&t);
    /* Version 2 keeps both. */
    fixture x;
    make_state(&x, DP_OPT_SGD);
    x.cfg.deterministic = 1;
    ck_assert_msg(dp_ckpt_save(p, &x.spec, &x.cfg, &x.st, &e) == DP_OK, "%s", e.msg);
    ck_assert_msg(dp_ckpt_load(p, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(t.data_fingerprint, 0x1234abcd5678ef00ull);
    ck_assert_int_eq(c.deterministic, 1);
    dp_train_state_free(&t);
    /* A version 2 file (format 3 without its block) loads: no validation, constant lr, fp32;
     * version 3 keeps bf16. */
    x.cfg.precision = DP_PRECISION_BF16;
    ck_assert_msg(dp_ckpt_save(p, &x.spec, &x.cfg, &x.st, &e) == DP_OK, "%s", e.msg);
    ck_assert_msg(dp_ckpt_load(p, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_int_eq(c.precision, DP_PRECISION_BF16);
    dp_train_state_free(&t);
    free(b);
    b = read_all(p, &len);
    unsigned char *v2 = malloc(len - CK_V3);
    memcpy(v2, b, ST + 76);
    memcpy(v2 + ST + 76, b + ST + 76 + CK_V3, len - (ST + 76 + CK_V3));
    put_u32(v2 + 8, 2);
    write_with_crc(p, v2, len - CK_V3);
    ck_assert_msg(dp_ckpt_load(p, &s, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_int_eq(c.deterministic, 1);
    ck_assert_int_eq(c.schedule, DP_SCHED_CONSTANT);
    ck_assert_int_eq(c.precision, DP_PRECISION_FP32);
    ck_assert_int_eq(t.best_epoch, 0);
    ck_assert_ptr_null(t.best_params);
    dp_train_state_free(&t);
    free(v2);
    free(v1);
    free(b);
}
END_TEST

/* ---- special files (issue 13.2) ---- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "check_bad_files: a loader blocked on a FIFO\n";
    if (write(2, m, sizeof m - 1) < 0) { /* nothing more to do */ }
    _exit(3);
}

static void expect_not_regular(dp_status rc, const dp_error *e, const char *name)
{
    ck_assert_msg(rc == DP_ENOINPUT, "%s: status %d (%s)", name, rc, e->msg);
    ck_assert_msg(strstr(e->msg, name) && strstr(e->msg, "not a regular file"), "%s", e->msg);
}

START_TEST(fifo_inputs_refused_at_once)
{
    /* Without the check each load below would block in open() forever: the alarm makes that
     * a failure instead of a hung suite. */
    signal(SIGALRM, on_alarm);
    alarm(20);
    char p[512], q[512];
    ck_assert_int_eq(mkfifo(tpath(p, "pipe"), 0600), 0);
    dp_error e = {0};
    dp_spec s;
    float *w;
    size_t n;
    expect_not_regular(dp_model_file_load(p, &s, &w, &n, &e), &e, p);
    dp_train_config c;
    dp_train_state t;
    expect_not_regular(dp_ckpt_load(p, &s, &c, &t, &e), &e, p);
    dp_dataset *d;
    expect_not_regular(dp_data_load_csv(p, 2, 0, &d, &e), &e, p);
    expect_not_regular(dp_idx_load_pair(p, p, &d, &e), &e, p);
    /* The .gz fallback too: images missing under the plain name, a FIFO under .gz. */
    ck_assert_int_eq(mkfifo(tpath(q, "img.gz"), 0600), 0);
    expect_not_regular(dp_idx_load_pair(tpath(p, "img"), p, &d, &e), &e, q);
    ck_assert_ptr_null(d);
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}
END_TEST

/* ---- gzip longer than its header (issue 13.13) ---- */

static void be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

/* gzip members at path: for each m, `head` (16 bytes, first member only) then zeros[m]. */
static void write_gz(const char *path, const unsigned char *head, const size_t *zeros, int members)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    static unsigned char in[1 << 20], out[1 << 16];
    memset(in, 0, sizeof in);
    for (int m = 0; m < members; m++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        ck_assert_int_eq(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        size_t left = zeros[m];
        int first = m == 0 && head;
        for (int fin = 0; !fin;) {
            if (first) {
                zs.next_in = (Bytef *)(uintptr_t)head, zs.avail_in = 16, first = 0;
            } else {
                size_t k = left < sizeof in ? left : sizeof in;
                zs.next_in = in, zs.avail_in = (uInt)k;
                left -= k;
            }
            int flush = (left == 0 && !first) ? Z_FINISH : Z_NO_FLUSH;
            do {
                zs.next_out = out, zs.avail_out = sizeof out;
                int r = deflate(&zs, flush);
                ck_assert(r != Z_STREAM_ERROR);
                fwrite(out, 1, sizeof out - zs.avail_out, f);
                if (r == Z_STREAM_END) fin = 1;
            } while (zs.avail_out == 0);
        }
        deflateEnd(&zs);
    }
    ck_assert_int_eq(fclose(f), 0);
}

/* Loads the pair in a child and returns its status and peak RSS in KiB. */
static int load_in_child(const char *img, const char *lab, long *maxrss_kb)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dp_dataset *d = NULL;
        dp_error e = {0};
        dp_status s = dp_idx_load_pair(img, lab, &d, &e);
        if (s != DP_OK) fprintf(stderr, "child: %s\n", e.msg);
        if (s == DP_OK && (d->n != 60000 || d->x_u8[d->n * d->n_in - 1] != 0)) s = 99;
        dp_data_free(d);
        _exit((int)s);
    }
    int status = 0;
    struct rusage ru;
    ck_assert_int_eq(wait4(pid, &status, 0, &ru), pid);
    ck_assert(WIFEXITED(status));
    *maxrss_kb = ru.ru_maxrss;
    return WEXITSTATUS(status);
}

START_TEST(gz_longer_than_header_refused_early)
{
    char img[512], lab[512];
    const uint32_t n = 60000;
    const size_t payload = (size_t)n * 28 * 28; /* 47 MB */
    unsigned char head[16];
    be32(head, 0x803), be32(head + 4, n), be32(head + 8, 28), be32(head + 12, 28);
    /* Labels: raw and valid. */
    FILE *f = fopen(tpath(lab, "lab"), "wb");
    unsigned char lh[8];
    be32(lh, 0x801), be32(lh + 4, n);
    fwrite(lh, 1, 8, f);
    for (uint32_t i = 0; i < n; i++) fputc((int)(i % 10), f);
    ck_assert_int_eq(fclose(f), 0);

    long base_kb, kb;
    /* A correct file, one member: loads (and says how much a load costs here). */
    size_t one[1] = {payload};
    write_gz(tpath(img, "img.gz"), head, one, 1);
    ck_assert_int_eq(load_in_child(img, lab, &base_kb), 0);
    /* Two members that together hold exactly the claim: still a valid gzip file. */
    size_t split[2] = {payload / 2, payload - payload / 2};
    write_gz(img, head, split, 2);
    ck_assert_int_eq(load_in_child(img, lab, &kb), 0);

    /* 200 MB more than the header claims, in one member or as a second member: refused with
     * 65 before the payload buffer exists, so the peak stays well below one payload. */
    size_t longer[1] = {payload + (200u << 20)};
    write_gz(img, head, longer, 1);
    ck_assert_int_eq(load_in_child(img, lab, &kb), DP_EDATA);
    printf("check_bad_files: peak RSS %ld KiB for a good load, %ld KiB refusing a long one\n",
           base_kb, kb);
    ck_assert_int_lt(kb, base_kb - (long)(payload / 2048));
    size_t second[2] = {payload, 200u << 20};
    write_gz(img, head, second, 2);
    ck_assert_int_eq(load_in_child(img, lab, &kb), DP_EDATA);
    ck_assert_int_lt(kb, base_kb - (long)(payload / 2048));
    /* The message: trailing data, naming the images file. */
    dp_dataset *d;
    dp_error e = {0};
    ck_assert_int_eq(dp_idx_load_pair(img, lab, &d, &e), DP_EDATA);
    ck_assert_msg(strstr(e.msg, img) && strstr(e.msg, "trailing data"), "%s", e.msg);
}
END_TEST

/* ---- messages (issue 13.15) ---- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(csv_header_is_said)
{
    char p[512], want[700];
    dp_dataset *d;
    dp_error e = {0};
    write_text(tpath(p, "data.csv"), "x1,x2,label\n1,2,0\n3,4,1\n");
    ck_assert_int_eq(dp_data_load_csv(p, 2, 0, &d, &e), DP_OK);
    snprintf(want, sizeof want, "%s: first row taken as a header (not all numeric): 'x1,x2,label'",
             p);
    ck_assert_ptr_nonnull(dp_data_note(d));
    ck_assert_str_eq(dp_data_note(d), want);
    ck_assert_uint_eq(d->n, 2);
    dp_data_free(d);
    /* A typo in the first row of numbers is a header too, and said as such. */
    write_text(p, "1,2o,0\n3,4,1\n");
    ck_assert_int_eq(dp_data_load_csv(p, 2, 0, &d, &e), DP_OK);
    ck_assert_ptr_nonnull(strstr(dp_data_note(d), "'1,2o,0'"));
    dp_data_free(d);
    write_text(p, "1,2,0\n3,4,1\n");
    ck_assert_int_eq(dp_data_load_csv(p, 2, 0, &d, &e), DP_OK);
    ck_assert_ptr_null(dp_data_note(d));
    dp_data_free(d);
}
END_TEST

START_TEST(csv_features_only_ignores_label_column)
{
    char p[512];
    dp_dataset *d;
    dp_error e = {0};
    /* predict --input with labels: -1 or any text in the label column is ignored. */
    write_text(tpath(p, "in.csv"), "1,2,-1\n3,4,x\n5,6\n");
    ck_assert_msg(dp_data_load_csv(p, 2, -2, &d, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(d->n, 3);
    ck_assert_int_eq(d->max_label, -1);
    ck_assert(d->x_f32[2] == 3.0f && d->x_f32[5] == 6.0f);
    dp_data_free(d);
    /* Only as many extra columns as asked for. */
    write_text(p, "1,2,0,0\n");
    ck_assert_int_eq(dp_data_load_csv(p, 2, -2, &d, &e), DP_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "4 columns"));
    ck_assert_msg(dp_data_load_csv(p, 2, -3, &d, &e) == DP_OK, "%s", e.msg);
    dp_data_free(d);
}
END_TEST

START_TEST(idx_bad_label_names_labels_file)
{
    char dir[512], p[700];
    mkdir(tpath(dir, "mn"), 0700);
    unsigned char h[16];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    FILE *f = fopen(p, "wb");
    be32(h, 0x803), be32(h + 4, 2), be32(h + 8, 1), be32(h + 12, 1);
    fwrite(h, 1, 16, f);
    fputc(0, f), fputc(255, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    f = fopen(p, "wb");
    be32(h, 0x801), be32(h + 4, 2);
    fwrite(h, 1, 8, f);
    fputc(0, f), fputc(7, f);
    fclose(f);
    dp_dataset *d;
    dp_error e = {0};
    ck_assert_msg(dp_data_load_mnist(dir, 0, &d, &e) == DP_OK, "%s", e.msg);
    dp_spec s = small_spec();
    s.sizes[0] = 1;
    ck_assert_int_eq(dp_data_check_fits(d, &s, &e), DP_EDATA);
    ck_assert_msg(strstr(e.msg, p) && strstr(e.msg, "label 7"), "%s", e.msg);
    dp_data_free(d);
}
END_TEST

/* ---- temp files (issue 13.9) ---- */

static int count_temps(const char *base)
{
    DIR *d = opendir(tdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, base, strlen(base)) == 0 && strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void touch(const char *name)
{
    char p[512];
    write_text(tpath(p, name), "x");
}

static void count_removed(void *ctx, const char *temp)
{
    ck_assert_ptr_nonnull(strstr(temp, "ck.tmp."));
    ++*(int *)ctx;
}

START_TEST(stale_temps_only_of_dead_writers)
{
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0) _exit(0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    char name[128];
    snprintf(name, sizeof name, "ck.tmp.%ld.aB3xYz", (long)dead);
    touch(name); /* removed: the writer is gone */
    snprintf(name, sizeof name, "ck.tmp.%ld.aB3xYz", (long)getppid());
    touch(name); /* a live writer's */
    snprintf(name, sizeof name, "ck.tmp.%ld.abc", (long)dead);
    touch(name); /* not the writer's pattern */
    snprintf(name, sizeof name, "ck.tmp.%ld.aB3xYz.old", (long)dead);
    touch(name);
    snprintf(name, sizeof name, "other.tmp.%ld.aB3xYz", (long)dead);
    touch(name);
    touch("ck.tmp.backup");
    touch("ck.tmp.abcdef"); /* the old temp name: a user's file now */
    char p[512];
    int seen = 0;
    ck_assert_int_eq(dp_remove_stale_temps(tpath(p, "ck"), count_removed, &seen), 1);
    ck_assert_int_eq(seen, 1);
    char gone[600];
    snprintf(gone, sizeof gone, "%s/ck.tmp.%ld.aB3xYz", tdir, (long)dead);
    ck_assert_int_ne(access(gone, F_OK), 0);
    ck_assert_int_eq(count_temps("ck.tmp."), 5);
    ck_assert_int_eq(count_temps("other.tmp."), 1);
}
END_TEST

/* The body of a write that a second signal interrupts: its handler calls dp_abort_writes. */
static int interrupted_body(FILE *f, void *ctx)
{
    (void)ctx;
    fputs("partial", f);
    fflush(f);
    char want[64];
    snprintf(want, sizeof want, "ck.tmp.%ld.", (long)getpid());
    ck_assert_int_eq(count_temps(want), 1); /* the writer's own pattern */
    dp_abort_writes();
    ck_assert_int_eq(count_temps("ck.tmp."), 0);
    return -1;
}

START_TEST(abort_writes_unlinks_temp_in_flight)
{
    char p[512];
    write_text(tpath(p, "ck"), "old");
    dp_error e = {0};
    ck_assert_int_eq(dp_atomic_write(p, interrupted_body, NULL, &e), DP_EIO);
    ck_assert_int_eq(count_temps("ck.tmp."), 0);
    size_t len;
    unsigned char *b = read_all(p, &len);
    ck_assert(len == 3 && memcmp(b, "old", 3) == 0);
    free(b);
    dp_abort_writes(); /* nothing in flight: harmless */
}
END_TEST

static void on_term(int sig)
{
    dp_abort_writes();
    _exit(128 + sig);
}

/* A second SIGTERM during a long final save: the handler that ends the process at once
 * unlinks the temp file in flight, wherever the signal lands (before the temp file exists,
 * while it is written, after its rename). */
START_TEST(signal_during_save_leaves_no_temp)
{
    dp_spec s = small_spec();
    s.sizes[0] = 784, s.sizes[1] = 512, s.sizes[2] = 10; /* 1.6 MB per save */
    const size_t n = 784 * 512 + 512 * 10 + 512 + 10;
    float *w = calloc(n, sizeof *w);
    char p[512];
    tpath(p, "final.model");
    int mid = 0;
    for (int k = 0; k < 12; k++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            signal(SIGTERM, on_term);
            dp_error e;
            for (;;) dp_model_file_save(p, &s, w, n, &e);
        }
        struct timespec ts = {0, 1000000L * (2 + 3 * k)};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, SIGTERM), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM);
        mid += access(p, F_OK) == 0;
        ck_assert_msg(count_temps("final.model.tmp.") == 0, "kill %d left a temp file", k);
    }
    ck_assert_int_gt(mid, 0);
    free(w);
}
END_TEST

static Suite *bad_files_suite(void)
{
    Suite *s = suite_create("bad_files");
    TCase *t = tcase_create("crafted");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, ckpt_counters_that_would_overflow);
    tcase_add_test(t, ckpt_save_refuses_what_load_refuses);
    tcase_add_test(t, ckpt_nonfinite_arrays);
    tcase_add_test(t, model_nonfinite_weights);
    tcase_add_test(t, ckpt_version_1_still_loads);
    tcase_add_test(t, fifo_inputs_refused_at_once);
    tcase_add_test(t, gz_longer_than_header_refused_early);
    tcase_add_test(t, csv_header_is_said);
    tcase_add_test(t, csv_features_only_ignores_label_column);
    tcase_add_test(t, idx_bad_label_names_labels_file);
    tcase_add_test(t, stale_temps_only_of_dead_writers);
    tcase_add_test(t, abort_writes_unlinks_temp_in_flight);
    tcase_add_test(t, signal_during_save_leaves_no_temp);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bad_files_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
