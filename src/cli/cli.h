/* What the CLI's commands share: usage errors (exit 64), error exits (the dp_status is the
 * exit code), thread and binding resolution, and loading the data the flags name. */
#ifndef DP_CLI_H
#define DP_CLI_H
#include <stddef.h>

#include "dpmlp.h"
#include "flags.h"

/* Prints "dpmlp CMD: <message> (see 'dpmlp CMD --help')" and exits 64. */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
void cli_usage(const char *cmd, const char *fmt, ...);
/* A flag-parsing status: DP_OK passes, anything else is a usage exit. */
void cli_check(const char *cmd, dp_status st, const dp_error *err);
/* Prints "dpmlp: <message>" and returns the exit code for err. */
int cli_fail(const dp_error *err);

int cli_threads(const char *cmd, const dp_opts *o, char *why, size_t len);
dp_bind cli_bind(const char *cmd, const dp_opts *o, int quiet);

typedef struct cli_data {
    dp_dataset *train, *test;
} cli_data;

/* --data DIR | --data synthetic:N | --train/--test/--input CSV files. want_train: training
 * (train + optional test) versus evaluation (test only). Returns 0 or an exit code (the
 * message already printed). */
int cli_load_data(const char *cmd, const dp_opts *o, const dp_spec *spec, int want_train,
                  uint64_t seed, cli_data *out);
void cli_free_data(cli_data *d);

int cli_train(int argc, char **argv);

#endif
