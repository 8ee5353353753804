/* The dpmlp command line: subcommands train (cli_train.c), eval, predict, topo; one-line
 * usage errors (exit 64); every dp_status is its documented exit code. The only place that
 * prints for users or calls exit. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dpmlp%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'dpmlp %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    exit(DP_EUSAGE);
}

void cli_check(const char *cmd, dp_status st, const dp_error *err)
{
    if (st != DP_OK) cli_usage(cmd, "%s", err->msg);
}

int cli_fail(const dp_error *err)
{
    fprintf(stderr, "dpmlp: %s\n", err->msg);
    return err->code ? (int)err->code : DP_EINTERNAL;
}

int cli_threads(const char *cmd, const dp_opts *o, char *why, size_t len)
{
    const char *v = dp_opts_get(o, "threads");
    if (v) {
        long t;
        dp_error err;
        cli_check(cmd, dp_flag_long("threads", v, 1, DP_MAX_THREADS, &t, &err), &err);
        snprintf(why, len, "--threads");
        return (int)t;
    }
    return dp_default_threads(why, len);
}

/* Exactly one party binds: with OMP_PROC_BIND/OMP_PLACES set and no --bind, OpenMP does. */
dp_bind cli_bind(const char *cmd, const dp_opts *o, int quiet)
{
    const char *v = dp_opts_get(o, "bind");
    const char *omp_bind = getenv("OMP_PROC_BIND"), *omp_places = getenv("OMP_PLACES");
    int omp_set = (omp_bind && *omp_bind) || (omp_places && *omp_places);
    if (v) {
        int b;
        dp_error err;
        cli_check(cmd, dp_flag_choice("bind", v, dp_names(DP_NAMES_BIND), &b, &err), &err);
        if (omp_set && b != DP_BIND_NONE && !quiet)
            fprintf(stderr, "dpmlp: --bind %s overrides OMP_PROC_BIND/OMP_PLACES\n", v);
        return (dp_bind)b;
    }
    if (omp_set) {
        if (!quiet)
            fprintf(stderr, "dpmlp: OMP_PROC_BIND/OMP_PLACES set: the workers stay unbound "
                            "(give --bind to let dpmlp pin them)\n");
        return DP_BIND_NONE;
    }
    return DP_BIND_COMPACT;
}

void cli_free_data(cli_data *d)
{
    dp_data_free(d->train);
    dp_data_free(d->test);
    d->train = d->test = NULL;
}

static int load_failed(cli_data *out, const dp_error *err)
{
    cli_free_data(out);
    return cli_fail(err);
}

int cli_load_data(const char *cmd, const dp_opts *o, const dp_spec *spec, int want_train,
                  uint64_t seed, cli_data *out)
{
    dp_error err;
    memset(out, 0, sizeof *out);
    const char *dir = dp_opts_get(o, "data");
    const char *train_csv = dp_opts_get(o, "train"), *test_csv = dp_opts_get(o, "test");
    const char *input_csv = dp_opts_get(o, "input");
    int outputs = spec->sizes[spec->n_sizes - 1];
    int n_targets = dp_spec_is_classification(spec) ? 0 : outputs;
    int sources = (dir != NULL) + (train_csv != NULL || (!want_train && test_csv)) +
                  (input_csv != NULL);
    if (sources == 0)
        cli_usage(cmd, want_train ? "give --data DIR or --train FILE.csv"
                                  : "give --data DIR or --test/--input FILE.csv");
    if (sources > 1) cli_usage(cmd, "--data and CSV files are exclusive");
    if (dir && !strncmp(dir, "synthetic:", 10)) {
        long n;
        cli_check(cmd, dp_flag_long("data", dir + 10, 1, 100000000, &n, &err), &err);
        if (dp_data_synthetic(spec, (size_t)n, seed, want_train ? &out->train : &out->test,
                              &err) != DP_OK)
            return load_failed(out, &err);
        return 0;
    }
    if (dir) {
        if (want_train && dp_data_load_mnist(dir, 0, &out->train, &err) != DP_OK)
            return load_failed(out, &err);
        if (dp_data_load_mnist(dir, 1, &out->test, &err) != DP_OK) return load_failed(out, &err);
        return 0;
    }
    int n_in = spec->sizes[0];
    if (want_train && dp_data_load_csv(train_csv, n_in, n_targets, &out->train, &err) != DP_OK)
        return load_failed(out, &err);
    const char *eval_csv = input_csv ? input_csv : test_csv;
    if (eval_csv) {
        dp_status st = dp_data_load_csv(eval_csv, n_in, n_targets, &out->test, &err);
        if (st != DP_OK && input_csv) {
            /* Prediction input may carry no targets at all: features only. */
            dp_error err2;
            if (dp_data_load_csv(eval_csv, n_in, -1, &out->test, &err2) == DP_OK) st = DP_OK;
        }
        if (st != DP_OK) return load_failed(out, &err);
    }
    return 0;
}

/* ---- eval and predict ---- */

static const char EVAL_HELP[] =
    "usage: dpmlp eval --model FILE (--data DIR | --test FILE.csv) [--threads T]\n"
    "Prints one JSON object: {\"samples\":N,\"loss\":X,\"accuracy\":A} (classification) or\n"
    "{\"samples\":N,\"loss\":X,\"mae\":M} (regression). --data DIR uses its t10k files.\n";
static const char PREDICT_HELP[] =
    "usage: dpmlp predict --model FILE (--data DIR | --input FILE.csv) [--proba] [--threads T]\n"
    "One line per sample: the class index (classification) or the output values separated by\n"
    "commas (regression); --proba prints the output probabilities instead of the class.\n"
    "--input rows may hold features only, or features followed by labels/targets (ignored).\n";

static int print_predictions(const dp_spec *spec, const float *out, size_t n, int proba)
{
    size_t K = (size_t)spec->sizes[spec->n_sizes - 1];
    int classify = dp_spec_is_classification(spec) && !proba;
    for (size_t i = 0; i < n; i++) {
        const float *row = out + i * K;
        if (classify) {
            size_t best = K == 1 ? row[0] > 0.5f : 0;
            for (size_t j = 1; j < K; j++)
                if (row[j] > row[best]) best = j;
            printf("%zu\n", best);
        } else {
            for (size_t j = 0; j < K; j++) printf(j ? ",%.6g" : "%.6g", (double)row[j]);
            putchar('\n');
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dpmlp: writing predictions to stdout failed: %s\n", strerror(errno));
        return DP_EIO;
    }
    return 0;
}

static int cmd_eval(int argc, char **argv, int predict)
{
    const char *cmd = predict ? "predict" : "eval";
    dp_opts o;
    dp_error err;
    cli_check(cmd, dp_opts_parse(argc, argv, 2, predict ? DP_PREDICT_OPTS : DP_EVAL_OPTS, &o, &err),
              &err);
    if (dp_opts_get(&o, "help")) {
        fputs(predict ? PREDICT_HELP : EVAL_HELP, stdout);
        return 0;
    }
    char why[256];
    int threads = cli_threads(cmd, &o, why, sizeof why);
    const char *path = dp_opts_get(&o, "model");
    if (!path) cli_usage(cmd, "--model FILE is required");
    if (!dp_opts_get(&o, "data") && !dp_opts_get(&o, predict ? "input" : "test"))
        cli_usage(cmd, predict ? "give --data DIR or --input FILE.csv"
                               : "give --data DIR or --test FILE.csv");
    dp_model *m = dp_model_load(path, &err);
    if (!m) return cli_fail(&err);
    const dp_spec *spec = dp_model_spec(m);
    cli_data data;
    int rc = cli_load_data(cmd, &o, spec, 0, 1, &data);
    if (rc) {
        dp_model_free(m);
        return rc;
    }
    if (!predict) {
        dp_metrics mt;
        if (dp_evaluate(m, data.test, threads, &mt, &err) != DP_OK)
            rc = cli_fail(&err);
        else if (dp_spec_is_classification(spec))
            printf("{\"samples\":%zu,\"loss\":%.9g,\"accuracy\":%.9g}\n", mt.samples, mt.loss,
                   mt.accuracy);
        else
            printf("{\"samples\":%zu,\"loss\":%.9g,\"mae\":%.9g}\n", mt.samples, mt.loss, mt.mae);
    } else {
        size_t n = dp_data_count(data.test);
        size_t K = (size_t)spec->sizes[spec->n_sizes - 1];
        float *out = malloc((n ? n : 1) * K * sizeof(float));
        if (!out) {
            fprintf(stderr, "dpmlp: out of memory for %zu predictions\n", n);
            rc = DP_EINTERNAL;
        } else if (dp_predict(m, data.test, threads, out, &err) != DP_OK) {
            rc = cli_fail(&err);
        } else {
            rc = print_predictions(spec, out, n, dp_opts_get(&o, "proba") != NULL);
        }
        free(out);
    }
    cli_free_data(&data);
    dp_model_free(m);
    return rc;
}

/* ---- topo ---- */

static int cmd_topo(int argc, char **argv)
{
    const char *cmd = "topo";
    dp_opts o;
    dp_error err;
    cli_check(cmd, dp_opts_parse(argc, argv, 2, DP_TOPO_OPTS, &o, &err), &err);
    if (dp_opts_get(&o, "help")) {
        fputs("usage: dpmlp topo [--threads T] [--bind compact|spread|none]\n"
              "The hwloc topology this process sees (HWLOC_SYNTHETIC and HWLOC_XMLFILE are\n"
              "honoured) and the core each worker would be pinned to.\n",
              stdout);
        return 0;
    }
    char why[256];
    int threads = cli_threads(cmd, &o, why, sizeof why);
    dp_bind bind = cli_bind(cmd, &o, 1);
    printf("workers: %d (%s)\n", threads, why);
    if (dp_topo_print(threads, bind, stdout, &err) != DP_OK) return cli_fail(&err);
    return 0;
}

static const char MAIN_HELP[] =
    "usage: dpmlp <command> [flags]   (dpmlp <command> --help for its flags)\n"
    "\n"
    "commands\n"
    "  train     train an MLP (data-parallel over pinned threads), save the model\n"
    "  eval      loss and accuracy of a saved model on a test set (JSON on stdout)\n"
    "  predict   one prediction per sample\n"
    "  topo      the topology and where each worker would be pinned\n"
    "\n"
    "  --version build configuration; --help this text\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(MAIN_HELP, stderr);
        return DP_EUSAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        fputs(MAIN_HELP, stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        char info[512];
        dp_build_info(info, sizeof info);
        printf("%s\n", info);
        return 0;
    }
    if (!strcmp(c, "train")) return cli_train(argc, argv);
    if (!strcmp(c, "eval")) return cmd_eval(argc, argv, 0);
    if (!strcmp(c, "predict")) return cmd_eval(argc, argv, 1);
    if (!strcmp(c, "topo")) return cmd_topo(argc, argv);
    cli_usage(NULL, "unknown command '%s'", c);
}
