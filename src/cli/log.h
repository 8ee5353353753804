/* Human and machine output of a training run: JSON Lines metrics (one object per epoch) and
 * progress on stderr (a redrawn bar on a terminal, plain lines otherwise). */
#ifndef DP_LOG_H
#define DP_LOG_H
#include <stdio.h>

#include "dpmlp.h"

typedef struct dp_log dp_log;

/* path "-" is stdout. Fails with DP_EIO naming the path. */
dp_status dp_log_open(const char *path, dp_log **out, dp_error *err);
/* Writes one JSON object line and flushes: epoch, steps, samples, train_loss, test_loss,
 * test_accuracy (classification) or test_mae (regression) — null when there is no test set —
 * seconds, samples_per_sec, forward_s, backward_s, reduce_s, update_s, imbalance, plus the
 * `extra` fields (a pre-formatted `"k":v,...` fragment without braces, may be NULL).
 * Returns DP_EIO if the write failed. */
dp_status dp_log_epoch(dp_log *l, const dp_epoch_stats *s, const char *extra, dp_error *err);
void dp_log_close(dp_log *l);

/* Progress on `out` (stderr). tty: redraws one line with a bar, throttled to ~10 Hz;
 * otherwise prints nothing per step and one plain line per epoch. */
typedef struct dp_progress dp_progress;
dp_progress *dp_progress_new(FILE *out, int epochs, int force_plain);
void dp_progress_step(dp_progress *p, int epoch, long step, long steps_in_epoch);
void dp_progress_epoch(dp_progress *p, const dp_epoch_stats *s);
void dp_progress_free(dp_progress *p);

#endif
