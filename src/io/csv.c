/* Numeric CSV loader: one sample per line, features then a class (n_targets == 0), K float
 * targets (n_targets = K) or nothing (n_targets < 0: prediction input); an optional header.
 * Sizes come from the file: a cheap first pass counts lines, nothing is allocated on a guess. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fseeko, getc_unlocked */
#endif
#include "data.h"
#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct csv_reader {
    FILE *f;
    char *buf;
    size_t cap, len, max;
    size_t lineno;
} csv_reader;

/* 1: a line in buf (without '\n'), 0: end of file, -1: longer than max, -2: read error. */
static int csv_next_line(csv_reader *r)
{
    int c;
    r->len = 0;
    if (!r->buf) {
        r->cap = 4096 < r->max ? 4096 : r->max;
        if (!(r->buf = malloc(r->cap))) return -1;
    }
    while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
        if (r->len + 1 >= r->cap) {
            if (r->cap >= r->max) return -1;
            size_t ncap = r->cap ? r->cap * 2 : 4096;
            if (ncap > r->max) ncap = r->max;
            char *nb = realloc(r->buf, ncap);
            if (!nb) return -1;
            r->buf = nb;
            r->cap = ncap;
        }
        r->buf[r->len++] = (char)c;
    }
    if (ferror(r->f)) return -2;
    if (c == EOF && r->len == 0) return 0;
    r->lineno++;
    if (r->len && r->buf[r->len - 1] == '\r') r->len--; /* CRLF */
    r->buf[r->len] = '\0';
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* A cell quoted for a one-line message: at most 40 bytes, control bytes shown as '?'. */
static const char *show(const char *s, size_t n, char out[48])
{
    size_t k = n < 40 ? n : 40;
    for (size_t i = 0; i < k; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (n > 40) {
        memcpy(out + 40, "...", 4);
    } else {
        out[k] = '\0';
    }
    return out;
}

/* Parses buf[0..n) (already trimmed) as a float; 0 if it is not entirely a number. */
static int parse_float(char *s, size_t n, double *v, int as_double)
{
    if (n == 0) return 0;
    /* Plain integers (pixel values, class labels) skip strtod: below 10^7 they are exact in
     * float, so the result is the same, several times faster. */
    size_t i = (s[0] == '-' || s[0] == '+'), k = i;
    if (n - i >= 1 && n - i <= 7) {
        long acc = 0;
        while (k < n && s[k] >= '0' && s[k] <= '9') acc = acc * 10 + (s[k++] - '0');
        if (k == n) {
            *v = s[0] == '-' ? -(double)acc : (double)acc;
            return 1;
        }
    }
    char save = s[n], *end;
    s[n] = '\0';
    errno = 0;
    *v = as_double ? strtod(s, &end) : (double)strtof(s, &end);
    s[n] = save;
    return end == s + n;
}

dp_status dp_csv_load(const char *path, int n_in, int n_targets, dp_dataset **out,
                      dp_error *err)
{
    *out = NULL;
    if (n_in < 1 || n_in > DP_MAX_WIDTH || n_targets > DP_MAX_WIDTH)
        return dp_fail(err, DP_EUSAGE, "%s: %d features and %d targets: out of range 1..%d",
                       path, n_in, n_targets, DP_MAX_WIDTH);
    struct stat st;
    if (stat(path, &st) != 0)
        return dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return dp_fail(err, DP_ENOINPUT, "%s: is a directory, expected a CSV file", path);
    if (!S_ISREG(st.st_mode))
        return dp_fail(err, DP_ENOINPUT, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));

    /* Features only (n_targets < 0): a classification set with no labels, max_label -1. */
    const int classify = n_targets == 0, features_only = n_targets < 0;
    if (features_only) n_targets = 0;
    const size_t extra = features_only ? 0 : n_targets ? (size_t)n_targets : 1;
    const size_t cols = (size_t)n_in + extra;
    const char *what = n_targets ? "target" : "label";
    char more[64] = "";
    if (extra)
        snprintf(more, sizeof more, " (+%zu %s column%s)", extra, what, extra > 1 ? "s" : "");

    /* Pass 1: an upper bound on data rows, from the lines there really are and from the
     * shortest a row can be ("0,0,...,0": 2 * cols - 1 bytes). */
    size_t newlines = 0;
    {
        char chunk[1 << 16];
        size_t r;
        while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
            for (const char *p = chunk, *e = chunk + r; (p = memchr(p, '\n', (size_t)(e - p)));
                 p++)
                newlines++;
        }
        if (ferror(f) || fseeko(f, 0, SEEK_SET) != 0) {
            int e = errno;
            fclose(f);
            return dp_fail(err, DP_ENOINPUT, "%s: read error: %s", path, strerror(e));
        }
    }
    size_t rows_cap = newlines + 1, by_size = ((size_t)st.st_size + 1) / (2 * cols);
    if (by_size < rows_cap) rows_cap = by_size;

    csv_reader rd = {.f = f, .max = cols * 128 + 65536};
    double *row = malloc(cols * sizeof(double));
    dp_dataset *d = NULL;
    dp_status s = DP_OK;
    size_t rows = 0;
    int seen_first = 0;
    size_t header = 0; /* line number of the header, 0: none */
    char sh[48];
    if (!row) s = dp_fail(err, DP_EINTERNAL, "%s: out of memory", path);

    for (;;) {
        if (s != DP_OK) break;
        int lr = csv_next_line(&rd);
        if (lr == 0) break;
        if (lr == -1) {
            s = dp_fail(err, DP_EDATA, "%s:%zu: line %zu is longer than %zu bytes", path,
                        rd.lineno + 1, rd.lineno + 1, rd.max);
            break;
        }
        if (lr == -2) {
            s = dp_fail(err, DP_ENOINPUT, "%s: read error: %s", path, strerror(errno));
            break;
        }
        const size_t ln = rd.lineno;
        char *line = rd.buf;
        size_t len = rd.len;
        if (ln == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3; /* UTF-8 byte order mark (spreadsheet exports) */
            len -= 3;
        }
        size_t blank = 0;
        while (blank < len && is_space(line[blank])) blank++;
        if (blank == len) continue; /* blank lines (typically at the end) carry nothing */

        size_t ncells = 1;
        for (size_t i = 0; i < len; i++) ncells += line[i] == ',';
        if (ncells != cols) {
            if (ncells > extra)
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu: line %zu has %zu column%s, expected %zu: %zu features vs "
                            "input layer size %d%s",
                            path, ln, ln, ncells, ncells > 1 ? "s" : "", cols, ncells - extra,
                            n_in, more);
            else
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu: line %zu has %zu column%s, expected %zu: no room for the "
                            "features of input layer size %d%s",
                            path, ln, ln, ncells, ncells > 1 ? "s" : "", cols, n_in, more);
            break;
        }
        const int first = !seen_first;
        seen_first = 1;
        size_t c = 0, bad_col = 0, bad_start = 0, bad_len = 0;
        char *p = line, *end = line + len;
        for (; c < cols; c++) {
            char *e = memchr(p, ',', (size_t)(end - p));
            if (!e) e = end;
            char *a = p, *b = e;
            while (a < b && is_space(*a)) a++;
            while (b > a && is_space(b[-1])) b--;
            int is_label = classify && c == cols - 1;
            if (!parse_float(a, (size_t)(b - a), &row[c], is_label)) {
                if (!bad_col) {
                    bad_col = c + 1;
                    bad_start = (size_t)(a - line);
                    bad_len = (size_t)(b - a);
                }
            }
            p = e + 1;
        }
        if (bad_col) {
            if (first) {
                header = ln; /* a non-numeric cell on the first line: column names */
                continue;
            }
            if (bad_len == 0)
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: empty cell is not a number (line %zu, column %zu)", path,
                            ln, bad_col, ln, bad_col);
            else
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: '%s' is not a number (line %zu, column %zu)", path, ln,
                            bad_col, show(line + bad_start, bad_len, sh), ln, bad_col);
            break;
        }
        for (c = 0; c < cols && s == DP_OK; c++) {
            if (!isfinite(row[c]))
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: %s is not allowed (line %zu, column %zu; NaN and inf "
                            "cells are rejected, floats must be finite)",
                            path, ln, c + 1, isnan(row[c]) ? "NaN" : "an infinite value", ln,
                            c + 1);
        }
        if (s != DP_OK) break;
        if (classify) {
            double v = row[cols - 1];
            if (v != floor(v))
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: class label %g is not an integer (line %zu, column %zu)",
                            path, ln, cols, v, ln, cols);
            else if (v < 0)
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: class label %.0f is negative (line %zu, column %zu)",
                            path, ln, cols, v, ln, cols);
            else if (v >= DP_MAX_WIDTH)
                s = dp_fail(err, DP_EDATA,
                            "%s:%zu:%zu: class label %.0f is larger than any output layer "
                            "(at most %d) (line %zu, column %zu)",
                            path, ln, cols, v, DP_MAX_WIDTH - 1, ln, cols);
            if (s != DP_OK) break;
        }
        if (!d) {
            s = dp_data_alloc(rows_cap ? rows_cap : 1, (size_t)n_in, (size_t)n_targets, 0, path,
                              &d, err);
            if (s != DP_OK) break;
        }
        if (rows >= d->n) {
            s = dp_fail(err, DP_EDATA, "%s:%zu: file changed while it was being read", path, ln);
            break;
        }
        float *x = d->x_f32 + rows * (size_t)n_in;
        for (c = 0; c < (size_t)n_in; c++) x[c] = (float)row[c];
        if (n_targets) {
            for (size_t k = 0; k < extra; k++)
                d->targets[rows * extra + k] = (float)row[(size_t)n_in + k];
        } else if (classify) {
            int32_t lab = (int32_t)row[cols - 1];
            d->labels[rows] = lab;
            if (lab > d->max_label) d->max_label = lab;
        }
        rows++;
    }
    free(row);
    free(rd.buf);
    fclose(f);
    if (s == DP_OK && rows == 0)
        s = header ? dp_fail(err, DP_EDATA,
                             "%s: only a header line, no data rows (line %zu has a non-numeric "
                             "cell, so it was read as column names)",
                             path, header)
                   : dp_fail(err, DP_EDATA, "%s: empty file, no data rows", path);
    if (s != DP_OK) {
        dp_data_free(d);
        return s;
    }
    d->n = rows; /* the arrays may hold a few spare rows (header, blank lines) */
    *out = d;
    return DP_OK;
}

dp_status dp_data_load_csv(const char *path, int n_in, int n_targets, dp_dataset **out,
                           dp_error *err)
{
    return dp_csv_load(path, n_in, n_targets, out, err);
}
