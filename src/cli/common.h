/* What the CLI's commands share: usage errors (exit 64), error exits (the dp_status is the
 * exit code), thread and binding resolution, and loading the data the flags name. Nothing
 * here exits: every function returns 0 or the exit code (its message already printed), and
 * main() alone ends the process. */
#ifndef DP_CLI_COMMON_H
#define DP_CLI_COMMON_H
#include <stddef.h>

#include "dpmlp.h"
#include "flags.h"

/* Prints "dpmlp CMD: <message> (see 'dpmlp CMD --help')" and returns DP_EUSAGE (64). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cli_usage(const char *cmd, const char *fmt, ...);
/* A flag-parsing status: DP_OK gives 0, anything else is printed as a usage error (64). */
int cli_check(const char *cmd, dp_status st, const dp_error *err);
/* Prints "dpmlp: <message>" and returns the exit code for err. */
int cli_fail(const dp_error *err);
/* Parses argv[2..] against defs into o: 0, or 64 with the message printed. */
int cli_parse(const char *cmd, int argc, char **argv, const dp_opt_def *defs, dp_opts *o);

/* --threads, else the machine's default; why says which. 0 or 64. */
int cli_threads(const char *cmd, const dp_opts *o, int *threads, char *why, size_t len);
/* --bind, else compact (none when OMP_PROC_BIND/OMP_PLACES bind for us). 0 or 64. */
int cli_bind(const char *cmd, const dp_opts *o, int quiet, dp_bind *bind);

/* Flushes stdout: 0, or 74 with "dpmlp: cannot write to standard output: <why>" said once
 * (a result lost on a full disk must not exit 0). */
int cli_flush_stdout(void);
/* At exit: flushes and closes stdout; rc, or 74 when that fails and rc was 0. A reader that
 * went away (EPIPE, only seen where SIGPIPE is ignored: train) is not our failure. */
int cli_close_stdout(int rc);
/* A write to stdout failed and err says why: printed like cli_fail, and cli_close_stdout will
 * not say it a second time. */
int cli_fail_stdout(const dp_error *err);

typedef struct cli_data {
    dp_dataset *train, *test;
} cli_data;

/* --data DIR | --data synthetic:N | --train/--test/--input CSV files. want_train: training
 * (train + optional test) versus evaluation (test only). Returns 0 or an exit code (the
 * message already printed); a dataset's note (how its file was read) goes to stderr. */
int cli_load_data(const char *cmd, const dp_opts *o, const dp_spec *spec, int want_train,
                  uint64_t seed, cli_data *out);
void cli_free_data(cli_data *d);

#endif
