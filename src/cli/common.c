/* What the CLI's commands share: one-line usage errors (64), error exits (every dp_status is
 * its documented exit code), the worker count and binding, and loading the data the flags
 * name. Functions return exit codes; only main() ends the process. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dpmlp%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'dpmlp %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return DP_EUSAGE;
}

int cli_check(const char *cmd, dp_status st, const dp_error *err)
{
    return st == DP_OK ? 0 : cli_usage(cmd, "%s", err->msg);
}

int cli_fail(const dp_error *err)
{
    fprintf(stderr, "dpmlp: %s\n", err->msg);
    return err->code ? (int)err->code : DP_EINTERNAL;
}

static int g_stdout_reported;

int cli_flush_stdout(void)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno ? errno : EIO;
    if (!bad) return 0;
    if (e == EPIPE) return 0;
    if (!g_stdout_reported)
        fprintf(stderr, "dpmlp: cannot write to standard output: %s\n", strerror(e));
    g_stdout_reported = 1;
    return DP_EIO;
}

int cli_fail_stdout(const dp_error *err)
{
    g_stdout_reported = 1;
    return cli_fail(err);
}

int cli_close_stdout(int rc)
{
    int st = cli_flush_stdout();
    if (fclose(stdout) != 0 && !st && errno != EPIPE) {
        if (!g_stdout_reported)
            fprintf(stderr, "dpmlp: cannot write to standard output: %s\n", strerror(errno));
        st = DP_EIO;
    }
    return rc ? rc : st;
}

int cli_parse(const char *cmd, int argc, char **argv, const dp_opt_def *defs, dp_opts *o)
{
    dp_error err;
    return cli_check(cmd, dp_opts_parse(argc, argv, 2, defs, o, &err), &err);
}

int cli_threads(const char *cmd, const dp_opts *o, int *threads, char *why, size_t len)
{
    const char *v = dp_opts_get(o, "threads");
    if (v) {
        long t;
        dp_error err;
        int rc = cli_check(cmd, dp_flag_long("threads", v, 1, DP_MAX_THREADS, &t, &err), &err);
        if (rc) return rc;
        snprintf(why, len, "--threads");
        *threads = (int)t;
        return 0;
    }
    *threads = dp_default_threads(why, len);
    return 0;
}

/* Exactly one party binds: with OMP_PROC_BIND/OMP_PLACES set and no --bind, OpenMP does. */
int cli_bind(const char *cmd, const dp_opts *o, int quiet, dp_bind *bind)
{
    const char *v = dp_opts_get(o, "bind");
    const char *omp_bind = getenv("OMP_PROC_BIND"), *omp_places = getenv("OMP_PLACES");
    int omp_set = (omp_bind && *omp_bind) || (omp_places && *omp_places);
    if (v) {
        int b;
        dp_error err;
        int rc = cli_check(cmd, dp_flag_choice("bind", v, dp_names(DP_NAMES_BIND), &b, &err),
                           &err);
        if (rc) return rc;
        if (omp_set && b != DP_BIND_NONE && !quiet)
            fprintf(stderr, "dpmlp: --bind %s overrides OMP_PROC_BIND/OMP_PLACES\n", v);
        *bind = (dp_bind)b;
        return 0;
    }
    if (omp_set && !quiet)
        fprintf(stderr, "dpmlp: OMP_PROC_BIND/OMP_PLACES set: the workers stay unbound "
                        "(give --bind to let dpmlp pin them)\n");
    *bind = omp_set ? DP_BIND_NONE : DP_BIND_COMPACT;
    return 0;
}

void cli_free_data(cli_data *d)
{
    dp_data_free(d->train);
    dp_data_free(d->test);
    d->train = d->test = NULL;
}

/* Frees what was loaded and prints the error: the data loaders' one failure exit. */
static int load_failed(cli_data *out, const dp_error *err)
{
    cli_free_data(out);
    return cli_fail(err);
}

static int load_synthetic(const char *cmd, const char *n_text, const dp_spec *spec,
                          int want_train, uint64_t seed, cli_data *out)
{
    long n;
    dp_error err;
    int rc = cli_check(cmd, dp_flag_long("data", n_text, 1, 100000000, &n, &err), &err);
    if (rc) return rc;
    if (dp_data_synthetic(spec, (size_t)n, seed, want_train ? &out->train : &out->test, &err) !=
        DP_OK)
        return load_failed(out, &err);
    return 0;
}

static int load_mnist(const char *dir, int want_train, cli_data *out)
{
    dp_error err;
    if (want_train && dp_data_load_mnist(dir, 0, &out->train, &err) != DP_OK)
        return load_failed(out, &err);
    if (dp_data_load_mnist(dir, 1, &out->test, &err) != DP_OK) return load_failed(out, &err);
    return 0;
}

/* --train (training), then --input or --test (evaluation: prediction input may carry no
 * targets at all, features only). */
static int load_csvs(const dp_opts *o, const dp_spec *spec, int want_train, cli_data *out)
{
    dp_error err;
    const char *input_csv = dp_opts_get(o, "input");
    const char *eval_csv = input_csv ? input_csv : dp_opts_get(o, "test");
    int n_in = spec->sizes[0];
    int n_targets = dp_spec_is_classification(spec) ? 0 : spec->sizes[spec->n_sizes - 1];
    if (want_train &&
        dp_data_load_csv(dp_opts_get(o, "train"), n_in, n_targets, &out->train, &err) != DP_OK)
        return load_failed(out, &err);
    if (!eval_csv) return 0;
    dp_status st = dp_data_load_csv(eval_csv, n_in, n_targets, &out->test, &err);
    if (st != DP_OK && input_csv) {
        /* Prediction input: features only, or features plus label/target columns that are
         * ignored whatever they hold (predict --help says so). */
        int k = n_targets ? n_targets : 1;
        dp_error err2;
        if (dp_data_load_csv(eval_csv, n_in, -1 - k, &out->test, &err2) == DP_OK) st = DP_OK;
    }
    return st != DP_OK ? load_failed(out, &err) : 0;
}

int cli_load_data(const char *cmd, const dp_opts *o, const dp_spec *spec, int want_train,
                  uint64_t seed, cli_data *out)
{
    memset(out, 0, sizeof *out);
    const char *dir = dp_opts_get(o, "data");
    const char *train_csv = dp_opts_get(o, "train"), *test_csv = dp_opts_get(o, "test");
    const char *input_csv = dp_opts_get(o, "input");
    int sources = (dir != NULL) + (train_csv != NULL || (!want_train && test_csv)) +
                  (input_csv != NULL);
    if (sources == 0)
        return cli_usage(cmd, want_train ? "give --data DIR or --train FILE.csv"
                                         : "give --data DIR or --test/--input FILE.csv");
    if (sources > 1) return cli_usage(cmd, "--data and CSV files are exclusive");
    if (want_train && train_csv && test_csv && !strcmp(train_csv, "-") && !strcmp(test_csv, "-"))
        return cli_usage(cmd, "--train - and --test -: standard input is one stream, give a "
                              "file for one of them");
    int rc;
    if (dir && !strncmp(dir, "synthetic:", 10))
        rc = load_synthetic(cmd, dir + 10, spec, want_train, seed, out);
    else if (dir)
        rc = load_mnist(dir, want_train, out);
    else
        rc = load_csvs(o, spec, want_train, out);
    /* How a file was read (a skipped header row, say) is a warning: said even with --quiet. */
    const dp_dataset *sets[2] = {out->train, out->test};
    for (int i = 0; !rc && i < 2; i++)
        if (sets[i] && dp_data_note(sets[i])) fprintf(stderr, "dpmlp: %s\n", dp_data_note(sets[i]));
    return rc;
}
