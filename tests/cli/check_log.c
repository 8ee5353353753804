/* Run output: the JSON Lines metrics log parsed back by a strict little JSON reader (exact
 * keys in order, null for NaN and for a missing test set, one flushed line per epoch), write
 * and open failures as DP_EIO, and progress output: nothing per step and one plain line per
 * epoch off a terminal, a throttled redrawn bar on a pseudo-terminal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

/* ---- a strict JSON reader, enough to reject anything a real parser would ---- */

typedef struct jfield {
    char key[64];
    const char *val;   /* raw text of the value */
    size_t val_len;
} jfield;

typedef struct jobj {
    jfield f[64];
    int n;
} jobj;

static const char *jws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *jvalue(const char *p, int depth);

static const char *jstring(const char *p)
{
    if (*p != '"') return NULL;
    for (p++; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i])) return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *jnumber(const char *p)
{
    if (*p == '-') p++;
    if (*p == '0') {
        p++;
    } else if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) p++;
    } else {
        return NULL;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) p++;
    }
    return p;
}

/* Parses an object; when out != NULL records its top-level fields. */
static const char *jobject(const char *p, int depth, jobj *out)
{
    if (*p != '{' || depth > 16) return NULL;
    p = jws(p + 1);
    if (*p == '}') return p + 1;
    for (;;) {
        const char *k = p;
        if (!(p = jstring(p))) return NULL;
        const char *kend = p - 1;
        p = jws(p);
        if (*p != ':') return NULL;
        p = jws(p + 1);
        const char *v = p;
        if (!(p = jvalue(p, depth + 1))) return NULL;
        if (out && out->n < 64) {
            jfield *f = &out->f[out->n++];
            size_t kl = (size_t)(kend - k - 1);
            if (kl >= sizeof f->key) kl = sizeof f->key - 1;
            memcpy(f->key, k + 1, kl);
            f->key[kl] = '\0';
            f->val = v;
            f->val_len = (size_t)(p - v);
        }
        p = jws(p);
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = jws(p + 1);
    }
}

static const char *jvalue(const char *p, int depth)
{
    if (depth > 16) return NULL;
    switch (*p) {
    case '{': return jobject(p, depth, NULL);
    case '[':
        p = jws(p + 1);
        if (*p == ']') return p + 1;
        for (;;) {
            if (!(p = jvalue(p, depth + 1))) return NULL;
            p = jws(p);
            if (*p == ']') return p + 1;
            if (*p != ',') return NULL;
            p = jws(p + 1);
        }
    case '"': return jstring(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return jnumber(p);
    }
}

/* The whole line must be exactly one object. */
static int parse_line(const char *line, jobj *o)
{
    memset(o, 0, sizeof *o);
    const char *p = jobject(line, 0, o);
    return p && *p == '\0';
}

static const jfield *jget(const jobj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->f[i].key, key)) return &o->f[i];
    return NULL;
}

static int jis_null(const jobj *o, const char *key)
{
    const jfield *f = jget(o, key);
    return f && f->val_len == 4 && !strncmp(f->val, "null", 4);
}

static double jnum(const jobj *o, const char *key)
{
    const jfield *f = jget(o, key);
    ck_assert_msg(f != NULL, "key %s missing", key);
    ck_assert_msg(!jis_null(o, key), "key %s is null", key);
    return strtod(f->val, NULL);
}

/* ---- helpers ---- */

static char tdir[256];
static char lpath[512];

static void setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/check_log.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(lpath, sizeof lpath, "%s/run.jsonl", tdir);
}

static void teardown(void)
{
    unlink(lpath);
    rmdir(tdir);
}

static dp_epoch_stats stats(int epoch, int classification, int has_test)
{
    dp_epoch_stats s;
    memset(&s, 0, sizeof s);
    s.epoch = epoch;
    s.steps = 469;
    s.samples = 60000;
    s.train_loss = 0.5123;
    s.has_test = has_test;
    s.classification = classification;
    s.test.samples = 10000;
    s.test.loss = 0.43;
    s.test.accuracy = 0.8512;
    s.test.mae = 0.125;
    s.seconds = 1.93;
    s.samples_per_sec = 31000.5;
    s.forward_s = 0.61;
    s.backward_s = 0.97;
    s.reduce_s = 0.11;
    s.update_s = 0.05;
    s.imbalance = 1.02;
    return s;
}

/* Reads the file into lines (newline-terminated; a missing final newline is an error). */
static int read_lines(const char *path, char lines[][1024], int max)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    char buf[1024];
    while (fgets(buf, sizeof buf, f)) {
        size_t l = strlen(buf);
        ck_assert_msg(l > 0 && buf[l - 1] == '\n', "line %d not newline-terminated", n + 1);
        buf[l - 1] = '\0';
        ck_assert_int_lt(n, max);
        strcpy(lines[n++], buf);
    }
    fclose(f);
    return n;
}

static const char *const CLASS_KEYS[] = {
    "epoch", "steps", "samples", "train_loss", "test_loss", "test_accuracy", "seconds",
    "samples_per_sec", "forward_s", "backward_s", "reduce_s", "update_s", "imbalance"};

/* ---- log ---- */

START_TEST(log_lines_parse_back)
{
    dp_log *l = NULL;
    dp_error e = {0};
    ck_assert_msg(dp_log_open(lpath, &l, &e) == DP_OK, "%s", e.msg);

    dp_epoch_stats s1 = stats(1, 1, 1);
    ck_assert_int_eq(dp_log_epoch(l, &s1, NULL, &e), DP_OK);
    /* Flushed per line: the file holds epoch 1 before the log is closed. */
    char early[4][1024];
    ck_assert_int_eq(read_lines(lpath, early, 4), 1);

    dp_epoch_stats s2 = stats(2, 1, 1);
    s2.train_loss = NAN;
    s2.test.loss = INFINITY;
    s2.imbalance = -INFINITY;
    ck_assert_int_eq(dp_log_epoch(l, &s2, "\"lr\":0.001,\"threads\":2,\"bind\":\"compact\"", &e),
                     DP_OK);
    dp_epoch_stats s3 = stats(3, 1, 0);
    ck_assert_int_eq(dp_log_epoch(l, &s3, "", &e), DP_OK);
    dp_epoch_stats s4 = stats(4, 0, 1);
    ck_assert_int_eq(dp_log_epoch(l, &s4, NULL, &e), DP_OK);
    dp_log_close(l);

    char lines[8][1024];
    ck_assert_int_eq(read_lines(lpath, lines, 8), 4);
    jobj o[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(parse_line(lines[i], &o[i]), "line %d is not one JSON object: %s", i + 1,
                      lines[i]);
        ck_assert_ptr_null(strstr(lines[i], "nan"));
        ck_assert_ptr_null(strstr(lines[i], "inf"));
        ck_assert_int_eq((int)jnum(&o[i], "epoch"), i + 1);
    }

    /* Epoch 1: exactly the documented keys, in order, with the values given. */
    ck_assert_int_eq(o[0].n, 13);
    for (int k = 0; k < 13; k++) ck_assert_str_eq(o[0].f[k].key, CLASS_KEYS[k]);
    ck_assert_int_eq((long)jnum(&o[0], "steps"), 469);
    ck_assert_int_eq((long)jnum(&o[0], "samples"), 60000);
    ck_assert_double_eq(jnum(&o[0], "train_loss"), 0.5123);
    ck_assert_double_eq(jnum(&o[0], "test_loss"), 0.43);
    ck_assert_double_eq(jnum(&o[0], "test_accuracy"), 0.8512);
    ck_assert_double_eq(jnum(&o[0], "samples_per_sec"), 31000.5);
    ck_assert_double_eq(jnum(&o[0], "imbalance"), 1.02);
    ck_assert_double_eq_tol(jnum(&o[0], "backward_s"), 0.97, 1e-12);

    /* Epoch 2: non-finite → null; extra fields appended after the fixed ones. */
    ck_assert(jis_null(&o[1], "train_loss"));
    ck_assert(jis_null(&o[1], "test_loss"));
    ck_assert(jis_null(&o[1], "imbalance"));
    ck_assert_int_eq(o[1].n, 16);
    ck_assert_str_eq(o[1].f[13].key, "lr");
    ck_assert_str_eq(o[1].f[15].key, "bind");
    ck_assert_double_eq_tol(jnum(&o[1], "lr"), 0.001, 1e-15);

    /* Epoch 3: no test set → test fields present as null; "" extra adds nothing. */
    ck_assert_int_eq(o[2].n, 13);
    ck_assert(jis_null(&o[2], "test_loss"));
    ck_assert(jis_null(&o[2], "test_accuracy"));
    ck_assert_double_eq(jnum(&o[2], "train_loss"), 0.5123);

    /* Epoch 4: regression → test_mae instead of test_accuracy. */
    ck_assert_int_eq(o[3].n, 13);
    ck_assert_ptr_null(jget(&o[3], "test_accuracy"));
    ck_assert_str_eq(o[3].f[5].key, "test_mae");
    ck_assert_double_eq(jnum(&o[3], "test_mae"), 0.125);

    /* Cross-check with a real JSON parser where one is installed. */
    if (system("python3 -c 'import sys' >/dev/null 2>&1") == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' %s",
                 lpath);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

/* A resumed run keeps the epochs before its first, drops the redone (partial) one, later
 * ones and a torn last line, and appends; a fresh open still truncates. */
START_TEST(log_resume_keeps_earlier_epochs)
{
    FILE *f = fopen(lpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"epoch\":1,\"steps\":5}\n{\"epoch\":2,\"steps\":5}\n"
          "{\"epoch\":3,\"steps\":2,\"partial\":true}\n{\"epoch\":4,\"steps\":1}\n{\"epo",
          f);
    fclose(f);
    dp_log *l = NULL;
    dp_error e = {0};
    ck_assert_msg(dp_log_open_resume(lpath, 3, &l, &e) == DP_OK, "%s", e.msg);
    dp_epoch_stats s3 = stats(3, 1, 1);
    ck_assert_int_eq(dp_log_epoch(l, &s3, NULL, &e), DP_OK);
    dp_log_close(l);
    char lines[8][1024];
    ck_assert_int_eq(read_lines(lpath, lines, 8), 3);
    ck_assert_str_eq(lines[0], "{\"epoch\":1,\"steps\":5}");
    ck_assert_str_eq(lines[1], "{\"epoch\":2,\"steps\":5}");
    ck_assert_msg(!strncmp(lines[2], "{\"epoch\":3,\"steps\":469,", 23), "%s", lines[2]);

    /* A finished run resumed again (first epoch past the end) keeps every line. */
    ck_assert_int_eq(dp_log_open_resume(lpath, 4, &l, &e), DP_OK);
    dp_log_close(l);
    ck_assert_int_eq(read_lines(lpath, lines, 8), 3);
    /* A missing file is created; a fresh open truncates. */
    unlink(lpath);
    ck_assert_int_eq(dp_log_open_resume(lpath, 2, &l, &e), DP_OK);
    dp_log_close(l);
    ck_assert_int_eq(access(lpath, F_OK), 0);
    ck_assert_int_eq(dp_log_open(lpath, &l, &e), DP_OK);
    dp_log_close(l);
    ck_assert_int_eq(read_lines(lpath, lines, 8), 0);
}
END_TEST

START_TEST(double_precision_round_trips)
{
    dp_log *l = NULL;
    dp_error e = {0};
    ck_assert_int_eq(dp_log_open(lpath, &l, &e), DP_OK);
    dp_epoch_stats s = stats(1, 1, 1);
    s.train_loss = 1.0 / 3.0;
    s.seconds = 1e-300;
    s.samples_per_sec = 123456789012.0;
    ck_assert_int_eq(dp_log_epoch(l, &s, NULL, &e), DP_OK);
    dp_log_close(l);
    char lines[2][1024];
    ck_assert_int_eq(read_lines(lpath, lines, 2), 1);
    jobj o;
    ck_assert(parse_line(lines[0], &o));
    ck_assert_double_eq_tol(jnum(&o, "train_loss"), 1.0 / 3.0, 1e-9);
    ck_assert_double_eq_tol(jnum(&o, "seconds"), 1e-300, 1e-308);
    ck_assert_double_eq_tol(jnum(&o, "samples_per_sec"), 123456789012.0, 1000.0);
}
END_TEST

START_TEST(log_open_failure)
{
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/run.jsonl", tdir);
    dp_log *l = (dp_log *)0x1;
    dp_error e = {0};
    ck_assert_int_eq(dp_log_open(bad, &l, &e), DP_EIO);
    ck_assert_int_eq(e.code, DP_EIO);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    ck_assert_ptr_nonnull(strstr(e.msg, "No such file or directory"));
}
END_TEST

START_TEST(log_write_failure)
{
    if (access("/dev/full", W_OK) != 0) {
        printf("check_log: log_write_failure skipped: no /dev/full\n");
        return;
    }
    dp_log *l = NULL;
    dp_error e = {0};
    ck_assert_int_eq(dp_log_open("/dev/full", &l, &e), DP_OK);
    dp_epoch_stats s = stats(1, 1, 1);
    ck_assert_int_eq(dp_log_epoch(l, &s, NULL, &e), DP_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, "/dev/full"));
    ck_assert_ptr_nonnull(strstr(e.msg, "No space left on device"));
    dp_log_close(l);
}
END_TEST

START_TEST(log_stdout_stays_open)
{
    dp_log *l = NULL;
    dp_error e = {0};
    ck_assert_int_eq(dp_log_open("-", &l, &e), DP_OK);
    dp_log_close(l);
    /* Closing the log must not close the process's stdout. */
    ck_assert_int_ne(fcntl(STDOUT_FILENO, F_GETFD), -1);
    ck_assert_int_eq(fflush(stdout), 0);
}
END_TEST

/* ---- progress ---- */

static char *slurp(FILE *f, size_t *len)
{
    fflush(f);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    char *b = calloc((size_t)n + 1, 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    *len = (size_t)n;
    return b;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

START_TEST(progress_plain_one_line_per_epoch)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    dp_progress *p = dp_progress_new(f, 3, 0);   /* a file is not a tty: plain mode */
    ck_assert_ptr_nonnull(p);
    const int cls[3] = {1, 0, 1}, test[3] = {1, 1, 0};
    for (int ep = 1; ep <= 3; ep++) {
        for (long st = 1; st <= 5000; st++) dp_progress_step(p, ep, st, 5000);
        dp_epoch_stats s = stats(ep, cls[ep - 1], test[ep - 1]);
        s.train_loss = 0.3412;
        s.test.loss = 0.381;
        s.test.accuracy = 0.8642;
        dp_progress_epoch(p, &s);
    }
    dp_progress_free(p);
    size_t len;
    char *out = slurp(f, &len);
    fclose(f);
    ck_assert_int_eq(count_char(out, '\n'), 3);
    ck_assert_int_eq(count_char(out, '\r'), 0);
    ck_assert_int_eq(count_char(out, '\033'), 0);
    char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    l2[-1] = l3[-1] = '\0';
    ck_assert_str_eq(l1, "epoch 1/3  train_loss 0.3412  test_loss 0.3810  test_accuracy 0.8642"
                         "  1.93 s  31000 samples/s");
    ck_assert_str_eq(l2, "epoch 2/3  train_loss 0.3412  test_loss 0.3810  test_mae 0.1250"
                         "  1.93 s  31000 samples/s");
    ck_assert_str_eq(l3, "epoch 3/3  train_loss 0.3412  1.93 s  31000 samples/s\n");
    free(out);
}
END_TEST

START_TEST(progress_null_safe)
{
    dp_progress_step(NULL, 1, 1, 2);
    dp_progress_epoch(NULL, NULL);
    dp_progress_free(NULL);
    dp_log_close(NULL);
}
END_TEST

/* On a pseudo-terminal: a redrawn bar (\r, no newline per step), at most ~10 redraws a
 * second however fast the steps come, and a cleared line before the epoch summary. */
START_TEST(progress_tty_bar_throttled)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        printf("check_log: progress_tty_bar_throttled skipped: no pty (%s)\n", strerror(errno));
        if (master >= 0) close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    struct winsize wide = {24, 120, 0, 0}; /* the bar's form needs ~90 columns */
    ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &wide), 0);
    FILE *tty = fdopen(slave, "w");
    ck_assert_ptr_nonnull(tty);

    /* force_plain wins over a terminal. */
    dp_progress *plain = dp_progress_new(tty, 2, 1);
    for (long st = 1; st <= 100; st++) dp_progress_step(plain, 1, st, 100);
    dp_progress_free(plain);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dp_progress *p = dp_progress_new(tty, 2, 0);
    long steps = 200000;
    for (long st = 1; st <= steps; st++) dp_progress_step(p, 1, st, steps);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dp_epoch_stats s = stats(1, 1, 1);
    dp_progress_epoch(p, &s);
    dp_progress_free(p);
    fclose(tty);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

    char buf[65536];
    size_t len = 0;
    int fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        ssize_t r = read(master, buf + len, sizeof buf - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(master);
    buf[len] = '\0';

    int redraws = 0;
    for (const char *q = buf; (q = strstr(q, "\r epoch 1/2 [")); q++) redraws++;
    ck_assert_int_ge(redraws, 1);
    ck_assert_msg(redraws <= 2 + (int)(elapsed * 10.0), "%d redraws in %.3f s", redraws, elapsed);
    ck_assert_ptr_nonnull(strstr(buf, "\r\033[Kepoch 1/2  train_loss 0.5123"));
    ck_assert_ptr_nonnull(strstr(buf, "step 1/200000"));
    ck_assert_ptr_nonnull(strstr(buf, "samples/s"));
    ck_assert_ptr_nonnull(strstr(buf, "ETA"));
    /* The summary is the only line ended (the pty turns \n into \r\n). */
    ck_assert_int_eq(count_char(buf, '\n'), 1);
}
END_TEST

/* A 50-column terminal: every redraw is at most 49 columns (a longer one wraps, and the
 * next \r then redraws below it: the pane fills with copies), with the running loss given by
 * dp_progress_loss in it. */
START_TEST(progress_tty_fits_narrow_width)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        printf("check_log: progress_tty_fits_narrow_width skipped: no pty\n");
        if (master >= 0) close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    struct winsize narrow = {24, 50, 0, 0};
    ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &narrow), 0);
    FILE *tty = fdopen(slave, "w");
    ck_assert_ptr_nonnull(tty);
    dp_progress *p = dp_progress_new(tty, 10, 0);
    dp_progress_loss(p, 64 * 0.25, 64);
    dp_progress_step(p, 10, 4690, 46900);
    dp_progress_free(p);
    fclose(tty);
    char buf[4096];
    ssize_t r = read(master, buf, sizeof buf - 1);
    close(master);
    ck_assert_int_gt(r, 0);
    buf[r] = '\0';
    char *line = strchr(buf, '\r'), *end = line ? strstr(line, "\033[K") : NULL;
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    ck_assert_msg(strlen(line + 1) <= 49, "%zu columns: '%s'", strlen(line + 1), line + 1);
    ck_assert_msg(strstr(line, "10/10") && strstr(line, "10%") && strstr(line, "4690/46900") &&
                  strstr(line, "loss 0.2500") && strstr(line, "ETA"), "'%s'", line + 1);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *t = tcase_create("jsonl");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, log_lines_parse_back);
    tcase_add_test(t, double_precision_round_trips);
    tcase_add_test(t, log_resume_keeps_earlier_epochs);
    tcase_add_test(t, log_open_failure);
    tcase_add_test(t, log_write_failure);
    tcase_add_test(t, log_stdout_stays_open);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("progress");
    tcase_add_test(p, progress_plain_one_line_per_epoch);
    tcase_add_test(p, progress_null_safe);
    tcase_add_test(p, progress_tty_bar_throttled);
    tcase_add_test(p, progress_tty_fits_narrow_width);
    suite_add_tcase(s, p);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
