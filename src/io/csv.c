/* Numeric CSV loader: one sample per line, features then a class (n_targets == 0), K float
 * targets (n_targets = K) or nothing (n_targets < 0: prediction input; n_targets = -1 - K also
 * takes rows with K more columns and ignores them); an optional header, said in the note.
 * Sizes come from the file: a cheap first pass counts lines, nothing is allocated on a guess. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fseeko, getc_unlocked */
#endif
#include "data.h"
#include "err.h"
#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* What a file must look like: columns, which of them are the label or the targets. */
typedef struct csv_shape {
    const char *path;
    int n_in, n_targets;    /* n_targets 0 for labels and for features only */
    int classify, features_only;
    size_t extra, cols;     /* label/target columns; all columns */
    size_t ignore;          /* features only: trailing columns a row may add, ignored */
    char more[64];          /* " (+1 label column)" for messages */
} csv_shape;

static void csv_shape_init(csv_shape *sh, const char *path, int n_in, int n_targets)
{
    memset(sh, 0, sizeof *sh);
    sh->path = path;
    sh->n_in = n_in;
    /* Features only (n_targets < 0): a classification set with no labels, max_label -1. */
    sh->classify = n_targets == 0;
    sh->features_only = n_targets < 0;
    sh->n_targets = sh->features_only ? 0 : n_targets;
    sh->ignore = n_targets < -1 ? (size_t)(-(long)n_targets - 1) : 0;
    sh->extra = sh->features_only ? 0 : n_targets ? (size_t)n_targets : 1;
    sh->cols = (size_t)n_in + sh->extra;
    const char *what = sh->n_targets ? "target" : "label";
    if (sh->extra)
        snprintf(sh->more, sizeof sh->more, " (+%zu %s column%s)", sh->extra, what,
                 sh->extra > 1 ? "s" : "");
}

/* Pass 1: an upper bound on data rows, from the lines there really are and from the shortest
 * a row can be ("0,0,...,0": 2 * cols - 1 bytes). */
static dp_status csv_count_rows(FILE *f, const csv_shape *sh, uint64_t fsize, size_t *cap,
                                dp_error *err)
{
    size_t newlines = 0;
    char chunk[1 << 16];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        for (const char *p = chunk, *e = chunk + r; (p = memchr(p, '\n', (size_t)(e - p))); p++)
            newlines++;
    }
    if (ferror(f) || fseeko(f, 0, SEEK_SET) != 0)
        return dp_fail(err, DP_ENOINPUT, "%s: read error: %s", sh->path, strerror(errno));
    size_t by_size = ((size_t)fsize + 1) / (2 * sh->cols);
    *cap = newlines + 1 < by_size ? newlines + 1 : by_size;
    return DP_OK;
}

/* The column count of a line against the shape. A features-only load with n_targets = -1 - K
 * also takes rows with K more columns (features then labels or targets, as `predict --input`
 * documents) and ignores them whatever they hold: *use is the number of cells to parse. */
static dp_status csv_check_columns(const csv_shape *sh, size_t ln, size_t ncells, size_t *use,
                                   dp_error *err)
{
    *use = sh->cols;
    if (ncells == sh->cols || (sh->ignore && ncells == sh->cols + sh->ignore)) return DP_OK;
    const char *pl = ncells > 1 ? "s" : "";
    if (ncells > sh->extra)
        return dp_fail(err, DP_EDATA,
                       "%s:%zu: line %zu has %zu column%s, expected %zu: %zu features vs input "
                       "layer size %d%s",
                       sh->path, ln, ln, ncells, pl, sh->cols, ncells - sh->extra, sh->n_in,
                       sh->more);
    return dp_fail(err, DP_EDATA,
                   "%s:%zu: line %zu has %zu column%s, expected %zu: no room for the features "
                   "of input layer size %d%s",
                   sh->path, ln, ln, ncells, pl, sh->cols, sh->n_in, sh->more);
}

/* The first cell of line[0..len) that is not a number: 0 if all `use` cells parse into row,
 * else its 1-based column, with *start and *n the trimmed cell. */
static size_t csv_parse_cells(const csv_shape *sh, char *line, size_t len, size_t use,
                              double *row, size_t *start, size_t *n)
{
    size_t bad = 0;
    char *p = line, *end = line + len;
    for (size_t c = 0; c < use; c++) {
        char *e = memchr(p, ',', (size_t)(end - p));
        if (!e) e = end;
        char *a = p, *b = e;
        while (a < b && is_space(*a)) a++;
        while (b > a && is_space(b[-1])) b--;
        int is_label = sh->classify && c == sh->cols - 1;
        if (!parse_float(a, (size_t)(b - a), &row[c], is_label) && !bad) {
            bad = c + 1;
            *start = (size_t)(a - line);
            *n = (size_t)(b - a);
        }
        p = e + 1;
    }
    return bad;
}

/* Values that parsed but cannot be used: NaN/inf anywhere, a class label that is not a small
 * non-negative integer. */
static dp_status csv_check_values(const csv_shape *sh, const double *row, size_t ln,
                                  dp_error *err)
{
    const char *path = sh->path;
    const size_t cols = sh->cols;
    for (size_t c = 0; c < cols; c++)
        if (!isfinite(row[c]))
            return dp_fail(err, DP_EDATA,
                           "%s:%zu:%zu: %s is not allowed (line %zu, column %zu; NaN and inf "
                           "cells are rejected, floats must be finite)",
                           path, ln, c + 1, isnan(row[c]) ? "NaN" : "an infinite value", ln,
                           c + 1);
    if (!sh->classify) return DP_OK;
    double v = row[cols - 1];
    if (v != floor(v))
        return dp_fail(err, DP_EDATA,
                       "%s:%zu:%zu: class label %g is not an integer (line %zu, column %zu)",
                       path, ln, cols, v, ln, cols);
    if (v < 0)
        return dp_fail(err, DP_EDATA,
                       "%s:%zu:%zu: class label %.0f is negative (line %zu, column %zu)", path,
                       ln, cols, v, ln, cols);
    if (v >= DP_MAX_WIDTH)
        return dp_fail(err, DP_EDATA,
                       "%s:%zu:%zu: class label %.0f is larger than any output layer (at most "
                       "%d) (line %zu, column %zu)",
                       path, ln, cols, v, DP_MAX_WIDTH - 1, ln, cols);
    return DP_OK;
}

static void csv_store_row(dp_dataset *d, const csv_shape *sh, const double *row, size_t i)
{
    float *x = d->x_f32 + i * (size_t)sh->n_in;
    for (size_t c = 0; c < (size_t)sh->n_in; c++) x[c] = (float)row[c];
    if (sh->n_targets) {
        for (size_t k = 0; k < sh->extra; k++)
            d->targets[i * sh->extra + k] = (float)row[(size_t)sh->n_in + k];
    } else if (sh->classify) {
        int32_t lab = (int32_t)row[sh->cols - 1];
        d->labels[i] = lab;
        if (lab > d->max_label) d->max_label = lab;
    }
}

/* The reading loop's state: rows kept, the header line (0: none) and its text for the note. */
typedef struct csv_load {
    csv_reader rd;
    double *row;
    dp_dataset *d;
    size_t rows_cap, rows, header;
    char header_text[48];
} csv_load;

/* One non-blank line, already without its byte order mark: skipped as a header, stored as a
 * row, or refused. */
static dp_status csv_take_line(csv_load *L, const csv_shape *sh, char *line, size_t len,
                               dp_error *err)
{
    const size_t ln = L->rd.lineno;
    size_t ncells = 1, use, bad_start = 0, bad_len = 0;
    for (size_t i = 0; i < len; i++) ncells += line[i] == ',';
    dp_status s = csv_check_columns(sh, ln, ncells, &use, err);
    if (s != DP_OK) return s;
    size_t bad = csv_parse_cells(sh, line, len, use, L->row, &bad_start, &bad_len);
    if (bad && L->rows == 0 && !L->header) {
        L->header = ln; /* a non-numeric cell on the first line: column names */
        show(line, len, L->header_text);
        return DP_OK;
    }
    char sh_cell[48];
    if (bad && bad_len == 0)
        return dp_fail(err, DP_EDATA,
                       "%s:%zu:%zu: empty cell is not a number (line %zu, column %zu)", sh->path,
                       ln, bad, ln, bad);
    if (bad)
        return dp_fail(err, DP_EDATA, "%s:%zu:%zu: '%s' is not a number (line %zu, column %zu)",
                       sh->path, ln, bad, show(line + bad_start, bad_len, sh_cell), ln, bad);
    if ((s = csv_check_values(sh, L->row, ln, err)) != DP_OK) return s;
    if (!L->d && (s = dp_data_alloc(L->rows_cap ? L->rows_cap : 1, (size_t)sh->n_in,
                                    (size_t)sh->n_targets, 0, sh->path, &L->d, err)) != DP_OK)
        return s;
    if (L->rows >= L->d->n)
        return dp_fail(err, DP_EDATA, "%s:%zu: file changed while it was being read", sh->path,
                       ln);
    csv_store_row(L->d, sh, L->row, L->rows++);
    return DP_OK;
}

static dp_status csv_read_all(csv_load *L, const csv_shape *sh, dp_error *err)
{
    for (;;) {
        int lr = csv_next_line(&L->rd);
        if (lr == 0) return DP_OK;
        if (lr == -1)
            return dp_fail(err, DP_EDATA, "%s:%zu: line %zu is longer than %zu bytes", sh->path,
                           L->rd.lineno + 1, L->rd.lineno + 1, L->rd.max);
        if (lr == -2)
            return dp_fail(err, DP_ENOINPUT, "%s: read error: %s", sh->path, strerror(errno));
        char *line = L->rd.buf;
        size_t len = L->rd.len, blank = 0;
        if (L->rd.lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3; /* UTF-8 byte order mark (spreadsheet exports) */
            len -= 3;
        }
        while (blank < len && is_space(line[blank])) blank++;
        if (blank == len) continue; /* blank lines (typically at the end) carry nothing */
        dp_status s = csv_take_line(L, sh, line, len, err);
        if (s != DP_OK) return s;
    }
}

dp_status dp_csv_load(const char *path, int n_in, int n_targets, dp_dataset **out,
                      dp_error *err)
{
    *out = NULL;
    if (n_in < 1 || n_in > DP_MAX_WIDTH || n_targets > DP_MAX_WIDTH ||
        n_targets < -1 - DP_MAX_WIDTH)
        return dp_fail(err, DP_EUSAGE, "%s: %d features and %d targets: out of range 1..%d",
                       path, n_in, n_targets, DP_MAX_WIDTH);
    uint64_t fsize;
    FILE *f = dp_open_input(path, "a CSV file", &fsize, err);
    if (!f) return err ? err->code : DP_ENOINPUT;
    if (dp_path_is_stdin(path)) path = "<stdin>"; /* what messages and the note call it */
    csv_shape sh;
    csv_shape_init(&sh, path, n_in, n_targets);
    csv_load L;
    memset(&L, 0, sizeof L);
    L.rd.f = f;
    L.rd.max = sh.cols * 128 + 65536;
    dp_status s = csv_count_rows(f, &sh, fsize, &L.rows_cap, err);
    if (s == DP_OK && !(L.row = malloc(sh.cols * sizeof(double))))
        s = dp_fail(err, DP_EINTERNAL, "%s: out of memory", path);
    if (s == DP_OK) s = csv_read_all(&L, &sh, err);
    free(L.row);
    free(L.rd.buf);
    fclose(f);
    if (s == DP_OK && L.rows == 0)
        s = L.header ? dp_fail(err, DP_EDATA,
                               "%s: only a header line, no data rows (line %zu has a non-numeric "
                               "cell, so it was read as column names)",
                               path, L.header)
                     : dp_fail(err, DP_EDATA, "%s: empty file, no data rows", path);
    if (s != DP_OK) {
        dp_data_free(L.d);
        return s;
    }
    L.d->n = L.rows; /* the arrays may hold a few spare rows (header, blank lines) */
    if (L.header)
        snprintf(L.d->note, sizeof L.d->note,
                 "%.200s: first row taken as a header (not all numeric): '%s'", path,
                 L.header_text);
    *out = L.d;
    return DP_OK;
}

dp_status dp_data_load_csv(const char *path, int n_in, int n_targets, dp_dataset **out,
                           dp_error *err)
{
    return dp_csv_load(path, n_in, n_targets, out, err);
}
