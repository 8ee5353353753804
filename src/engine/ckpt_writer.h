/* Checkpoints written in the background: worker 0 copies the state (parameters, moments,
 * shuffle) while the team waits a moment, and a pthread of its own hands the copy to the
 * checkpoint hook while the team trains on. One checkpoint is in flight at a time: the next
 * submit waits for the previous write. The trainer waits for the last one before it returns,
 * so the final or stop checkpoint is complete (and as durable as the hook makes it). */
#ifndef DP_CKPT_WRITER_H
#define DP_CKPT_WRITER_H
#include <stddef.h>

#include "dpmlp.h"

typedef struct dp_ckpt_writer dp_ckpt_writer;

/* A writer for states of this shape, calling hooks->checkpoint (which must be set). */
dp_status dp_ckpt_writer_open(dp_ckpt_writer **out, const dp_train_hooks *hooks,
                              const dp_spec *spec, const dp_train_config *cfg, size_t n_params,
                              int n_moments, size_t n_train, dp_error *err);
/* Copies st (arrays included) and queues it. Returns the error of an earlier write instead,
 * queueing nothing. Without a thread (the system refused one) it writes before returning. */
dp_status dp_ckpt_writer_submit(dp_ckpt_writer *w, const dp_train_state *st, dp_error *err);
/* Non-zero once a write has failed (cheap: an atomic load, for every step). */
int dp_ckpt_writer_failed(dp_ckpt_writer *w);
/* Waits until everything queued is written; the first failure, if any. */
dp_status dp_ckpt_writer_wait(dp_ckpt_writer *w, dp_error *err);
/* Waits, stops the thread and frees; safe on NULL. */
void dp_ckpt_writer_close(dp_ckpt_writer *w);

#endif
