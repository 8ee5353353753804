/* What a run shows: one JSON object per epoch (JSON Lines, flushed so `tail -f` and a crash
 * both see whole lines), and progress on stderr — a redrawn, throttled bar on a terminal, one
 * plain line per epoch when redirected, so logs of batch jobs stay readable. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>


struct dp_log {
    FILE *f;
    int is_stdout;
    int reader_gone;
    char *path;
};

/* The log for path opened with fopen mode (stdout for "-"). */
static dp_status log_open_mode(const char *path, const char *mode, dp_log **out, dp_error *err)
{
    if (!path || !out) return dp_fail(err, DP_EINTERNAL, "log open: missing path or output");
    *out = NULL;
    dp_log *l = calloc(1, sizeof *l);
    if (!l) return dp_fail(err, DP_EIO, "%s: cannot open log: out of memory", path);
    l->is_stdout = strcmp(path, "-") == 0;
    l->path = strdup(l->is_stdout ? "<stdout>" : path);
    if (!l->path) {
        free(l);
        return dp_fail(err, DP_EIO, "%s: cannot open log: out of memory", path);
    }
    l->f = l->is_stdout ? stdout : fopen(path, mode);
    if (!l->f) {
        int e = errno;
        free(l->path);
        free(l);
        return dp_fail(err, DP_EIO, "%s: cannot open log: %s", path, strerror(e));
    }
    *out = l;
    return DP_OK;
}

dp_status dp_log_open(const char *path, dp_log **out, dp_error *err)
{
    return log_open_mode(path, "w", out, err);
}

/* Where the kept part of a log ends: the start of its first line that is torn (no newline)
 * or of epoch >= first_epoch. Lines that are not epoch objects are kept. */
static long kept_length(FILE *f, int first_epoch)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long at = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        int epoch;
        if (line[n - 1] != '\n') break;
        if (sscanf(line, "{\"epoch\":%d", &epoch) == 1 && epoch >= first_epoch) break;
        at += (long)n;
    }
    free(line);
    return at;
}

dp_status dp_log_open_resume(const char *path, int first_epoch, dp_log **out, dp_error *err)
{
    /* "a+": reads from the start, every write appends after what is kept. */
    dp_status st = log_open_mode(path, "a+", out, err);
    if (st != DP_OK || (*out)->is_stdout) return st;
    dp_log *l = *out;
    errno = 0;
    long keep = kept_length(l->f, first_epoch);
    if (ferror(l->f) || ftruncate(fileno(l->f), keep) != 0) {
        int e = errno ? errno : EIO;
        dp_log_close(l);
        *out = NULL;
        return dp_fail(err, DP_EIO, "%s: cannot keep the log's earlier epochs: %s", path,
                       strerror(e));
    }
    return DP_OK;
}

/* printf to buf at *len, advancing *len; a full buffer takes nothing more. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k;
}

/* Appends `"key":value` to buf. JSON has no NaN or Infinity: a diverged loss is logged as
 * null rather than as a line no parser accepts. %.9g keeps a double readable and round-trips
 * any float exactly. */
static void put_num(char *buf, size_t cap, size_t *len, const char *key, double v, int present)
{
    if (*len >= cap) return;
    int n;
    if (!present || !isfinite(v))
        n = snprintf(buf + *len, cap - *len, ",\"%s\":null", key);
    else
        n = snprintf(buf + *len, cap - *len, ",\"%s\":%.9g", key, v);
    if (n > 0) *len += (size_t)n;
}

dp_status dp_log_epoch(dp_log *l, const dp_epoch_stats *s, const char *extra, dp_error *err)
{
    if (!l || !s) return dp_fail(err, DP_EINTERNAL, "log: no log or no stats");
    char buf[1024];
    size_t cap = sizeof buf, len = 0;
    int n = snprintf(buf, cap, "{\"epoch\":%d,\"steps\":%ld,\"samples\":%zu", s->epoch, s->steps,
                     s->samples);
    len = n > 0 ? (size_t)n : 0;
    put_num(buf, cap, &len, "train_loss", s->train_loss, 1);
    put_num(buf, cap, &len, "test_loss", s->test.loss, s->has_test);
    if (s->classification)
        put_num(buf, cap, &len, "test_accuracy", s->test.accuracy, s->has_test);
    else
        put_num(buf, cap, &len, "test_mae", s->test.mae, s->has_test);
    put_num(buf, cap, &len, "seconds", s->seconds, 1);
    put_num(buf, cap, &len, "samples_per_sec", s->samples_per_sec, 1);
    put_num(buf, cap, &len, "forward_s", s->forward_s, 1);
    put_num(buf, cap, &len, "backward_s", s->backward_s, 1);
    put_num(buf, cap, &len, "reduce_s", s->reduce_s, 1);
    put_num(buf, cap, &len, "update_s", s->update_s, 1);
    put_num(buf, cap, &len, "imbalance", s->imbalance, 1);
    if (len >= cap) /* cannot happen with these fixed keys; never write a cut line */
        return dp_fail(err, DP_EINTERNAL, "%s: log line too long", l->path);

    int has_extra = extra && *extra;
    errno = 0;
    if (fprintf(l->f, "%s%s%s}\n", buf, has_extra ? "," : "", has_extra ? extra : "") < 0 ||
        fflush(l->f) != 0 || ferror(l->f)) {
        int e = errno ? errno : EIO;
        clearerr(l->f);
        l->reader_gone = e == EPIPE;
        return dp_fail(err, DP_EIO, "%s: cannot write log: %s", l->path, strerror(e));
    }
    return DP_OK;
}

int dp_log_reader_gone(const dp_log *l) { return l && l->reader_gone; }

void dp_log_run_fields(char *buf, size_t cap, const dp_epoch_stats *s, const dp_train_config *c)
{
    int n = snprintf(buf, cap,
             "\"ranks\":%d,\"allreduce_s\":%.9g,\"threads\":%d,\"batch\":%d,\"bind\":\"%s\","
             "\"reduce\":\"%s\",\"team\":\"%s\",\"deterministic\":%s,\"precision\":\"%s\"%s",
             s->ranks, s->allreduce_s, c->threads, c->batch, dp_bind_name(c->bind),
             dp_reduce_name(c->reduce), dp_name_of(DP_NAMES_TEAM, c->team_openmp),
             c->deterministic ? "true" : "false", dp_name_of(DP_NAMES_PRECISION, c->precision),
             s->partial ? ",\"partial\":true" : "");
    size_t len = n > 0 ? (size_t)n : 0;
    /* The lr in use and, with validation, what the schedule decides on. */
    put_num(buf, cap, &len, "lr", s->lr, 1);
    if (!s->has_val || len >= cap) return;
    put_num(buf, cap, &len, "val_loss", s->val.loss, 1);
    put_num(buf, cap, &len, s->classification ? "val_accuracy" : "val_mae",
            s->classification ? s->val.accuracy : s->val.mae, 1);
    put_num(buf, cap, &len, "best_epoch", s->best_epoch, s->best_epoch > 0);
    if (s->early_stopped && len < cap) snprintf(buf + len, cap - len, ",\"early_stop\":true");
}

/* ---- the run's header: the first line of the log ---- */

#define HEAD_APPEND(...) appendf(buf, cap, &len, __VA_ARGS__)

/* `"name":"text"` with the text's quotes and backslashes escaped (paths are the user's). */
static void put_str(char *buf, size_t cap, size_t *lenp, const char *key, const char *text)
{
    size_t len = *lenp;
    if (!text) {
        HEAD_APPEND(",\"%s\":null", key);
        *lenp = len;
        return;
    }
    HEAD_APPEND(",\"%s\":\"", key);
    for (const char *p = text; *p && len + 2 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') buf[len++] = '\\';
        if (ch < 0x20) ch = '?';
        buf[len++] = (char)ch;
    }
    HEAD_APPEND("\"");
    *lenp = len;
}

/* The model and the optimizer: layers, activations, output, loss, optimizer settings. */
static size_t header_model(char *buf, size_t cap, size_t len, const dp_log_run *r)
{
    const dp_spec *sp = r->spec;
    const dp_train_config *c = r->cfg;
    HEAD_APPEND("\"layers\":[");
    for (int i = 0; i < sp->n_sizes; i++) HEAD_APPEND(i ? ",%d" : "%d", sp->sizes[i]);
    /* Every weight layer's activation (the output's last), as dp_spec_layer_act resolves it. */
    int n_layers = sp->n_sizes - 1;
    HEAD_APPEND("],\"act\":[");
    for (int l = 0; l + 1 < n_layers; l++)
        HEAD_APPEND(l ? ",\"%s\"" : "\"%s\"", dp_act_name(dp_spec_layer_act(sp, l)));
    HEAD_APPEND("],\"output\":\"%s\",\"leaky_slope\":%.9g,\"loss\":\"%s\",\"dropout\":[",
                dp_act_name(dp_spec_layer_act(sp, n_layers - 1)), (double)sp->leaky_slope,
                dp_loss_name(sp->loss));
    for (int l = 0; l + 1 < n_layers; l++) HEAD_APPEND(l ? ",%.9g" : "%.9g", (double)c->dropout[l]);
    HEAD_APPEND("],\"precision\":\"%s\"", dp_name_of(DP_NAMES_PRECISION, c->precision));
    HEAD_APPEND(",\"optim\":\"%s\",\"lr\":%.9g,\"momentum\":%.9g,\"weight_decay\":%.9g,"
                "\"beta1\":%.9g,\"beta2\":%.9g,\"eps\":%.9g", dp_optim_name(c->optim),
                (double)c->lr, (double)c->momentum, (double)c->weight_decay, (double)c->beta1,
                (double)c->beta2, (double)c->eps);
    HEAD_APPEND(",\"schedule\":{\"kind\":\"%s\",\"warmup\":%ld,\"lr_min\":%.9g,\"lr_step\":%d,"
                "\"lr_gamma\":%.9g,\"plateau_patience\":%d,\"plateau_factor\":%.9g}",
                dp_name_of(DP_NAMES_SCHEDULE, c->schedule), c->warmup, (double)c->lr_min,
                c->lr_step, (double)c->lr_gamma, c->plateau_patience, (double)c->plateau_factor);
    return len;
}

/* The run: epochs, batch, seed, parallelism, validation, and the data with their sizes. */
static size_t header_run(char *buf, size_t cap, size_t len, const dp_log_run *r)
{
    const dp_train_config *c = r->cfg;
    HEAD_APPEND(",\"epochs\":%d,\"batch\":%d,\"seed\":%llu,\"steps\":%ld,\"threads\":%d,"
                "\"bind\":\"%s\",\"reduce\":\"%s\",\"team\":\"%s\",\"deterministic\":%s",
                c->epochs, c->batch, (unsigned long long)c->seed, c->max_steps, c->threads,
                dp_bind_name(c->bind), dp_reduce_name(c->reduce),
                dp_name_of(DP_NAMES_TEAM, c->team_openmp), c->deterministic ? "true" : "false");
    HEAD_APPEND(",\"val_split\":%.9g,\"early_stop\":%d", (double)c->val_split, c->early_stop);
    put_str(buf, cap, &len, "train", r->train);
    HEAD_APPEND(",\"n_train\":%zu", r->n_train);
    put_str(buf, cap, &len, "val", r->val);
    HEAD_APPEND(",\"n_val\":%zu", r->n_val);
    put_str(buf, cap, &len, "test", r->test);
    HEAD_APPEND(",\"n_test\":%zu", r->n_test);
    put_str(buf, cap, &len, "resumed_from", r->resumed_from);
    put_str(buf, cap, &len, "build", r->build);
    return len;
}

int dp_log_header_json(char *buf, size_t cap, const dp_log_run *r)
{
    size_t len = 0;
    HEAD_APPEND("{\"run\":{\"dpmlp\":\"%s\",", DPMLP_VERSION);
    len = header_model(buf, cap, len, r);
    len = header_run(buf, cap, len, r);
    HEAD_APPEND("}}");
    return len < cap;
}
#undef HEAD_APPEND

dp_status dp_log_line(dp_log *l, const char *line, dp_error *err)
{
    errno = 0;
    if (fprintf(l->f, "%s\n", line) < 0 || fflush(l->f) != 0 || ferror(l->f)) {
        int e = errno ? errno : EIO;
        clearerr(l->f);
        l->reader_gone = e == EPIPE;
        return dp_fail(err, DP_EIO, "%s: cannot write log: %s", l->path, strerror(e));
    }
    return DP_OK;
}

void dp_log_metrics(FILE *f, const dp_metrics *m, int classification)
{
    char buf[256];
    size_t len = (size_t)snprintf(buf, sizeof buf, "{\"samples\":%zu", m->samples);
    put_num(buf, sizeof buf, &len, "loss", m->loss, 1);
    if (classification)
        put_num(buf, sizeof buf, &len, "accuracy", m->accuracy, 1);
    else
        put_num(buf, sizeof buf, &len, "mae", m->mae, 1);
    fprintf(f, "%s}\n", buf);
}

/* A JSON array of n doubles (non-finite as null). */
static void put_array(FILE *f, const char *key, const double *v, int n)
{
    fprintf(f, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        if (isfinite(v[i]))
            fprintf(f, "%.9g", v[i]);
        else
            fputs("null", f);
    }
    fputc(']', f);
}

void dp_log_metrics_full(FILE *f, const dp_metrics_full *m)
{
    char buf[256];
    size_t len = (size_t)snprintf(buf, sizeof buf, "{\"samples\":%zu", m->base.samples);
    put_num(buf, sizeof buf, &len, "loss", m->base.loss, 1);
    if (!m->classification) {
        put_num(buf, sizeof buf, &len, "mae", m->mae, 1);
        put_num(buf, sizeof buf, &len, "rmse", m->rmse, 1);
        put_num(buf, sizeof buf, &len, "r2", m->r2, 1);
        fprintf(f, "%s}\n", buf);
        return;
    }
    put_num(buf, sizeof buf, &len, "accuracy", m->base.accuracy, 1);
    put_num(buf, sizeof buf, &len, "macro_f1", m->macro_f1, 1);
    fprintf(f, "%s,\"classes\":%d,\"confusion\":[", buf, m->n_classes);
    for (int t = 0; t < m->n_classes; t++) {
        fputs(t ? ",[" : "[", f);
        for (int p = 0; p < m->n_classes; p++)
            fprintf(f, p ? ",%llu" : "%llu",
                    (unsigned long long)m->confusion[(size_t)t * (size_t)m->n_classes + (size_t)p]);
        fputc(']', f);
    }
    fputc(']', f);
    put_array(f, "precision", m->precision, m->n_classes);
    put_array(f, "recall", m->recall, m->n_classes);
    put_array(f, "f1", m->f1, m->n_classes);
    fputs("}\n", f);
}

void dp_log_close(dp_log *l)
{
    if (!l) return;
    if (l->is_stdout)
        fflush(l->f);
    else
        fclose(l->f);
    free(l->path);
    free(l);
}

/* ---- progress ---- */

#define BAR_WIDTH 20
#define REDRAW_NS 100000000LL   /* ≤ 10 redraws a second: a terminal is slow, a step is not */

struct dp_progress {
    FILE *out;
    int epochs;
    int tty;
    int drawn;                  /* a bar is on the current line and must be cleared */
    long long last_ns;          /* monotonic time of the last redraw; < 0 = never */
    int show_lr;                /* a schedule moves the lr: each epoch line says it */
    long long t0_ns;            /* start of this epoch's steps (creation or the last summary) */
    long steps_seen;            /* steps reported since t0 (a resumed epoch starts mid-way) */
    double loss_sum;            /* this epoch's step losses and samples, for the running loss */
    size_t samples;
};

void dp_progress_show_lr(dp_progress *p)
{
    if (p) p->show_lr = 1;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

dp_progress *dp_progress_new(FILE *out, int epochs, int force_plain)
{
    dp_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->out = out;
    p->epochs = epochs;
    p->tty = out && !force_plain && isatty(fileno(out));
    p->last_ns = -1;
    p->t0_ns = now_ns();
    return p;
}

void dp_progress_loss(dp_progress *p, double loss_sum, size_t samples)
{
    if (!p) return;
    p->loss_sum += loss_sum;
    p->samples += samples;
}

/* The terminal's width: the window size of `out`, else $COLUMNS, else 80. Asked at every
 * redraw (10 Hz at most), so a resized pane is followed. */
static int term_width(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 && v < 10000 ? (int)v : 80;
}

/* Seconds as 42s, 12m05s or 3h12m; "?" before anything is known. */
static void fmt_eta(char *b, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e8) snprintf(b, cap, "?");
    else if (s < 60) snprintf(b, cap, "%.0fs", s);
    else if (s < 3600) snprintf(b, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(b, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* 5123 -> "5.1k", 1234567 -> "1.2M": the compact forms' rate. */
static void fmt_rate(char *b, size_t cap, double r)
{
    if (r >= 1e6) snprintf(b, cap, "%.1fM", r / 1e6);
    else if (r >= 1e4) snprintf(b, cap, "%.0fk", r / 1e3);
    else if (r >= 1e3) snprintf(b, cap, "%.1fk", r / 1e3);
    else snprintf(b, cap, "%.0f", r);
}

/* What one redraw shows. */
typedef struct progress_view {
    char ep[32], bar[BAR_WIDTH + 1], step[48], rate[32], loss[32], eta[32];
    int pct;
} progress_view;

/* The widest form that fits in `width - 1` columns (the last column is left free so the
 * cursor never wraps: a wrapped line is what filled narrow panes with copies of the bar). */
static void progress_line(const progress_view *v, int width, char *line, size_t cap)
{
    size_t room = width > 1 ? (size_t)width - 1 : 1;
    for (int form = 0; form < 6; form++) {
        switch (form) {
        case 0: snprintf(line, cap, " epoch %s [%s] %3d%%  step %s  %s samples/s  loss %s  ETA %s",
                         v->ep, v->bar, v->pct, v->step, v->rate, v->loss, v->eta); break;
        case 1: snprintf(line, cap, " epoch %s %3d%%  step %s  %s samples/s  loss %s  ETA %s",
                         v->ep, v->pct, v->step, v->rate, v->loss, v->eta); break;
        case 2: snprintf(line, cap, "ep %s %d%% step %s %s/s loss %s ETA %s", v->ep, v->pct,
                         v->step, v->rate, v->loss, v->eta); break;
        case 3: snprintf(line, cap, "%s %d%% %s %s/s loss %s ETA %s", v->ep, v->pct, v->step,
                         v->rate, v->loss, v->eta); break;
        case 4: snprintf(line, cap, "%s %d%% loss %s ETA %s", v->ep, v->pct, v->loss, v->eta);
                break;
        default: snprintf(line, cap, "%d%% ETA %s", v->pct, v->eta); break;
        }
        if (strlen(line) <= room) return;
    }
    if (room < cap) line[room] = '\0'; /* a pane narrower than any form: cut, never wrap */
}

void dp_progress_step(dp_progress *p, int epoch, long step, long steps_in_epoch)
{
    /* Called from the hot loop every step: the common cases return before any work. */
    if (!p) return;
    p->steps_seen++;
    if (!p->tty) return;
    long long t = now_ns();
    if (p->last_ns >= 0 && t - p->last_ns < REDRAW_NS) return;
    p->last_ns = t;

    double frac = steps_in_epoch > 0 ? (double)step / (double)steps_in_epoch : 0.0;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    progress_view v;
    int fill = (int)(frac * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++) v.bar[i] = i < fill ? '#' : '.';
    v.bar[BAR_WIDTH] = '\0';
    v.pct = (int)(frac * 100);
    if (p->epochs > 0) snprintf(v.ep, sizeof v.ep, "%d/%d", epoch, p->epochs);
    else snprintf(v.ep, sizeof v.ep, "%d", epoch);
    snprintf(v.step, sizeof v.step, "%ld/%ld", step, steps_in_epoch);
    double secs = (double)(t - p->t0_ns) * 1e-9;
    fmt_rate(v.rate, sizeof v.rate, secs > 0 ? (double)p->samples / secs : 0.0);
    if (p->samples) snprintf(v.loss, sizeof v.loss, "%.4f", p->loss_sum / (double)p->samples);
    else snprintf(v.loss, sizeof v.loss, "-");
    /* ETA of the run: the steps left in this epoch and in the epochs after it, at this
     * epoch's pace so far. */
    long left = steps_in_epoch - step;
    if (p->epochs > epoch) left += (long)(p->epochs - epoch) * steps_in_epoch;
    fmt_eta(v.eta, sizeof v.eta, p->steps_seen > 0 ? secs / (double)p->steps_seen * (double)left : -1);
    char line[256];
    progress_line(&v, term_width(p->out), line, sizeof line);
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->drawn = 1;
}

void dp_progress_epoch(dp_progress *p, const dp_epoch_stats *s)
{
    if (!p || !p->out || !s) return;
    if (p->drawn) {
        fputs("\r\033[K", p->out);   /* erase the bar so the summary starts a clean line */
        p->drawn = 0;
    }
    char line[512];
    size_t cap = sizeof line, len = 0;
    int n = p->epochs > 0 ? snprintf(line, cap, "epoch %d/%d", s->epoch, p->epochs)
                          : snprintf(line, cap, "epoch %d", s->epoch);
    len = n > 0 ? (size_t)n : 0;
#define APPEND(...) appendf(line, cap, &len, __VA_ARGS__)
    APPEND("  train_loss %.4f", s->train_loss);
    if (s->has_test) {
        APPEND("  test_loss %.4f", s->test.loss);
        if (s->classification)
            APPEND("  test_accuracy %.4f", s->test.accuracy);
        else
            APPEND("  test_mae %.4f", s->test.mae);
    }
    if (s->has_val) {
        APPEND("  val_loss %.4f", s->val.loss);
        if (s->classification)
            APPEND("  val_accuracy %.4f", s->val.accuracy);
        else
            APPEND("  val_mae %.4f", s->val.mae);
        if (s->best_epoch == s->epoch) APPEND(" *");
    }
    if (p->show_lr) APPEND("  lr %.3g", s->lr);
    APPEND("  %.2f s  %.0f samples/s", s->seconds, s->samples_per_sec);
    /* A stop (signal or --steps) cut this epoch short: its numbers cover only part of it. */
    if (s->partial) APPEND("  (partial: stopped after %ld steps)", s->steps);
#undef APPEND
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->last_ns = -1;   /* the next epoch's first step draws at once */
    p->t0_ns = now_ns();
    p->steps_seen = 0;
    p->loss_sum = 0.0;
    p->samples = 0;
}

void dp_progress_free(dp_progress *p)
{
    if (!p) return;
    if (p->drawn && p->out) {
        fputs("\r\033[K", p->out);   /* an interrupted run must not leave a half bar behind */
        fflush(p->out);
    }
    free(p);
}
