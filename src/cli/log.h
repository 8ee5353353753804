/* Human and machine output: JSON Lines metrics of a training run (one object per epoch), the
 * JSON object `eval` prints — every JSON field the CLI writes is named in log.c — and
 * progress on stderr (a redrawn bar on a terminal, plain lines otherwise). */
#ifndef DP_LOG_H
#define DP_LOG_H
#include <stdio.h>

#include "dpmlp.h"

typedef struct dp_log dp_log;

/* path "-" is stdout. Fails with DP_EIO naming the path. */
dp_status dp_log_open(const char *path, dp_log **out, dp_error *err);
/* For a resumed run whose first epoch is first_epoch: keeps the file's lines of earlier
 * epochs and appends after them, so every epoch appears once (the lines of the epoch being
 * redone, of later ones, and a torn last line are cut off). A missing file is created. */
dp_status dp_log_open_resume(const char *path, int first_epoch, dp_log **out, dp_error *err);
/* Writes one JSON object line and flushes: epoch, steps, samples, train_loss, test_loss,
 * test_accuracy (classification) or test_mae (regression) — null when there is no test set —
 * seconds, samples_per_sec, forward_s, backward_s, reduce_s, update_s, imbalance, plus the
 * `extra` fields (a pre-formatted `"k":v,...` fragment without braces, may be NULL).
 * Returns DP_EIO if the write failed. */
dp_status dp_log_epoch(dp_log *l, const dp_epoch_stats *s, const char *extra, dp_error *err);
void dp_log_close(dp_log *l);
/* Did the last failed write find the reader gone (EPIPE: `--log - | head`)? */
int dp_log_reader_gone(const dp_log *l);
/* The `extra` fragment of a training run's epoch line: ranks, allreduce_s and the
 * configuration that produced it (threads, batch, bind, reduce, team, deterministic), plus
 * "partial":true for an epoch a stop cut short, the lr of its last step, and with validation
 * val_loss, val_accuracy (or val_mae), best_epoch and "early_stop":true on the last epoch. */
void dp_log_run_fields(char *buf, size_t cap, const dp_epoch_stats *s, const dp_train_config *c);
/* What the run's header line says beyond the spec and config: the data, by the flags that
 * named them, and their sizes (n_val: held out by --val-split or read from --val). */
typedef struct dp_log_run {
    const dp_spec *spec;
    const dp_train_config *cfg;
    const char *train, *val, *test;   /* NULL: none */
    size_t n_train, n_val, n_test;
    const char *resumed_from;         /* the checkpoint, or NULL */
    const char *build;                /* dp_build_info */
} dp_log_run;
/* The header: one JSON object {"run":{...}} with layers, activations, output, loss, optimizer
 * and its settings, schedule, epochs, batch, seed, threads and placement, validation, data and
 * sizes — enough to redo the run. Every field comes from r, so a new setting is added here
 * once. Returns 0 when it did not fit in cap. */
int dp_log_header_json(char *buf, size_t cap, const dp_log_run *r);
/* Writes one line as given (and flushes): DP_EIO if the write failed. */
dp_status dp_log_line(dp_log *l, const char *line, dp_error *err);
/* `eval`'s one line: {"samples":N,"loss":X,"accuracy":A} or {...,"mae":M}; non-finite
 * values as null. */
void dp_log_metrics(FILE *f, const dp_metrics *m, int classification);
/* `eval --metrics`: the same line plus, for classification, "macro_f1", "classes",
 * "confusion" (rows: true class, columns: predicted), "precision", "recall", "f1" (one per
 * class); for regression "rmse" and "r2". */
void dp_log_metrics_full(FILE *f, const dp_metrics_full *m);

/* Progress on `out` (stderr). tty: redraws one line with a bar, throttled to ~10 Hz;
 * otherwise prints nothing per step and one plain line per epoch. */
typedef struct dp_progress dp_progress;
dp_progress *dp_progress_new(FILE *out, int epochs, int force_plain);
/* tty: percent, step, samples/s, running loss and ETA on one line that fits the terminal's
 * width (narrower panes get shorter forms, never a wrapped line). */
void dp_progress_step(dp_progress *p, int epoch, long step, long steps_in_epoch);
/* The loss sum and sample count of the step about to be reported (running loss, samples/s). */
void dp_progress_loss(dp_progress *p, double loss_sum, size_t samples);
void dp_progress_epoch(dp_progress *p, const dp_epoch_stats *s);
void dp_progress_free(dp_progress *p);
/* Each epoch line also says the lr (runs with a schedule). */
void dp_progress_show_lr(dp_progress *p);

#endif
