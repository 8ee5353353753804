/* The pieces of `dpmlp train` that live in their own rooms: resuming from a checkpoint
 * (resume.c) and the run's output files (outputs.c). */
#ifndef DP_CLI_TRAIN_CMD_H
#define DP_CLI_TRAIN_CMD_H
#include <stddef.h>

#include "common.h"

/* --resume PATH: loads the checkpoint into spec, cfg and state, keeping the flags that may
 * change (each change said on stderr unless quiet) and refusing those that may not (64).
 * The worker count comes from --threads, else from the checkpoint; why says which.
 * Returns 0 or the exit code (message printed). */
int cli_resume(const char *cmd, const dp_opts *o, const char *path, dp_spec *spec,
               dp_train_config *cfg, dp_train_state *state, char *why, size_t why_len);

/* The first epoch a run resumed from state will train (and log): the checkpoint's epoch, or
 * the next one when it was written at the epoch's end (the trainer's rule). */
int cli_resume_first_epoch(const dp_train_state *state, const dp_train_config *cfg);

/* --val DIR|FILE.csv (train_val.c): *val (NULL without the flag). 0 or the exit code. */
int cli_load_val(const dp_opts *o, const dp_spec *spec, dp_dataset **val);
/* The run's header line into buf (see dp_log_header_json); 0 when it did not fit. */
int cli_run_header(const dp_opts *o, const dp_spec *spec, const dp_train_config *cfg,
                   const cli_data *data, const dp_dataset *val, const char *resumed_from,
                   char *buf, size_t cap);

/* The files a training run writes (NULL when not written; log "-" is stdout). */
typedef struct cli_outputs {
    const char *save, *log, *checkpoint;
    int lock_fd;   /* the checkpoint's lock, held for the run (-1: none) */
} cli_outputs;

/* Before any data is loaded: no two flags name one file where one of them writes it (64),
 * every output's directory is writable, the file is not a
 * directory, its name (with the temp suffix of atomic writes) fits NAME_MAX. Then takes the checkpoint's lock (75 when another run
 * holds it; out->lock_fd, to close at the end) and removes the temp
 * files an interrupted checkpoint write left. Returns 0 or the exit code (message printed). */
int cli_check_outputs(const char *cmd, const dp_opts *o, cli_outputs *out, int quiet);

#endif
