/* `dpmlp eval` (one JSON object of metrics) and `dpmlp predict` (one line per sample) on a
 * saved model. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "common.h"
#include "log.h"

static const char EVAL_HELP[] =
    "usage: dpmlp eval --model FILE (--data DIR | --test FILE.csv) [--metrics] [--threads T]\n"
    "                  [--precision fp32|bf16]\n"
    "Prints one JSON object: {\"samples\":N,\"loss\":X,\"accuracy\":A} (classification) or\n"
    "{\"samples\":N,\"loss\":X,\"mae\":M} (regression). --data DIR uses its t10k files.\n"
    "--metrics adds, for classification, \"macro_f1\", \"classes\", \"confusion\" (rows: true\n"
    "class, columns: predicted) and per-class \"precision\", \"recall\", \"f1\"; for regression\n"
    "\"rmse\" and \"r2\" (R^2 over all outputs).\n"
    "--precision bf16 runs the forward pass in bf16 mixed precision (as train --precision bf16).\n"
    "--test - reads the CSV from standard input.\n";
static const char PREDICT_HELP[] =
    "usage: dpmlp predict --model FILE (--data DIR | --input FILE.csv) [--proba] [--threads T]\n"
    "                     [--precision fp32|bf16]\n"
    "One line per sample: the class index (classification) or the output values separated by\n"
    "commas (regression). Classification with --proba: CSV with a header row p0,...,pK-1,class\n"
    "and per sample the probability of every class and the top class (a one-output sigmoid\n"
    "model has two classes: p0 = 1 - p1).\n"
    "--input rows may hold features only, or features followed by labels/targets (ignored);\n"
    "--input - reads them from standard input. Output goes to standard output: a reader that\n"
    "stops early (| head) ends predict quietly by SIGPIPE (exit 141 in the shell); a write that\n"
    "fails (a full disk, > /dev/full) exits 74 with a message.\n";

/* The class a row predicts: argmax, or p > 0.5 for one sigmoid output. */
static size_t top_class(const float *row, size_t K)
{
    size_t best = K == 1 ? row[0] > 0.5f : 0;
    for (size_t j = 1; j < K; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

/* --proba: a header row, then every class's probability and the top class per sample. */
static void print_proba_row(const float *row, size_t K)
{
    if (K == 1)
        printf("%.6g,%.6g", 1.0 - (double)row[0], (double)row[0]);
    else
        for (size_t j = 0; j < K; j++) printf(j ? ",%.6g" : "%.6g", (double)row[j]);
    printf(",%zu\n", top_class(row, K));
}

static int print_predictions(const dp_spec *spec, const float *out, size_t n, int proba)
{
    size_t K = (size_t)spec->sizes[spec->n_sizes - 1];
    int classify = dp_spec_is_classification(spec);
    if (classify && proba) {
        size_t C = K == 1 ? 2 : K;
        for (size_t j = 0; j < C; j++) printf("p%zu,", j);
        printf("class\n");
    }
    for (size_t i = 0; i < n; i++) {
        const float *row = out + i * K;
        if (classify && proba) {
            print_proba_row(row, K);
        } else if (classify) {
            printf("%zu\n", top_class(row, K));
        } else {
            for (size_t j = 0; j < K; j++) printf(j ? ",%.6g" : "%.6g", (double)row[j]);
            putchar('\n');
        }
    }
    return cli_flush_stdout();
}

static int run_eval(const dp_model *m, const dp_dataset *test, const dp_eval_options *opt,
                    int full)
{
    dp_error err;
    if (full) {
        dp_metrics_full mf;
        if (dp_evaluate_full(m, test, opt, &mf, &err) != DP_OK) return cli_fail(&err);
        dp_log_metrics_full(stdout, &mf);
        dp_metrics_full_free(&mf);
        return cli_flush_stdout();
    }
    dp_metrics mt;
    if (dp_evaluate_ex(m, test, opt, &mt, &err) != DP_OK) return cli_fail(&err);
    dp_log_metrics(stdout, &mt, dp_spec_is_classification(dp_model_spec(m)));
    return 0;
}

static int run_predict(const dp_model *m, const dp_dataset *test, const dp_eval_options *opt,
                       int proba)
{
    const dp_spec *spec = dp_model_spec(m);
    size_t n = dp_data_count(test);
    size_t K = (size_t)spec->sizes[spec->n_sizes - 1];
    dp_error err;
    int rc;
    float *out = malloc((n ? n : 1) * K * sizeof(float));
    if (!out) {
        fprintf(stderr, "dpmlp: out of memory for %zu predictions\n", n);
        rc = DP_EINTERNAL;
    } else if (dp_predict_ex(m, test, opt, out, &err) != DP_OK) {
        rc = cli_fail(&err);
    } else {
        rc = print_predictions(spec, out, n, proba);
    }
    free(out);
    return rc;
}

static int eval_or_predict(int argc, char **argv, int predict)
{
    const char *cmd = predict ? "predict" : "eval";
    dp_opts o;
    dp_error err;
    int rc = cli_parse(cmd, argc, argv, predict ? DP_PREDICT_OPTS : DP_EVAL_OPTS, &o);
    if (rc) return rc;
    if (dp_opts_get(&o, "help")) {
        fputs(predict ? PREDICT_HELP : EVAL_HELP, stdout);
        return 0;
    }
    char why[256];
    dp_eval_options opt = {0, DP_PRECISION_FP32};
    if ((rc = cli_threads(cmd, &o, &opt.threads, why, sizeof why)) ||
        (rc = cli_check(cmd, dp_flags_precision(&o, &opt.precision, &err), &err)))
        return rc;
    const char *path = dp_opts_get(&o, "model");
    if (!path) return cli_usage(cmd, "--model FILE is required");
    if (!dp_opts_get(&o, "data") && !dp_opts_get(&o, predict ? "input" : "test"))
        return cli_usage(cmd, predict ? "give --data DIR or --input FILE.csv"
                                      : "give --data DIR or --test FILE.csv");
    dp_model *m = dp_model_load(path, &err);
    if (!m) return cli_fail(&err);
    cli_data data;
    rc = cli_load_data(cmd, &o, dp_model_spec(m), 0, 1, &data);
    if (!rc)
        rc = predict ? run_predict(m, data.test, &opt, dp_opts_get(&o, "proba") != NULL)
                     : run_eval(m, data.test, &opt, dp_opts_get(&o, "metrics") != NULL);
    cli_free_data(&data);
    dp_model_free(m);
    return rc;
}

int cmd_eval(int argc, char **argv) { return eval_or_predict(argc, argv, 0); }
int cmd_predict(int argc, char **argv) { return eval_or_predict(argc, argv, 1); }
