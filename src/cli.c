/* The dpmlp command line: subcommands train, eval, predict, topo; flag parsing with one-line
 * usage errors (exit 64); mapping of every dp_status to its documented exit code; signals;
 * progress and JSON Lines output. The only place that prints for users or calls exit. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpmlp.h"
#include "log.h"

#define MAX_OPTS 40

typedef struct opt_def {
    const char *name;  /* without the leading dashes */
    int takes_value;
} opt_def;

typedef struct parsed_opts {
    int n;
    const char *name[MAX_OPTS];
    const char *value[MAX_OPTS];
} parsed_opts;

static void die_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dpmlp%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'dpmlp %s--help')\n", cmd ? cmd : "");
    exit(DP_EUSAGE);
}

static int fail(const dp_error *err)
{
    fprintf(stderr, "dpmlp: %s\n", err->msg);
    return err->code ? (int)err->code : DP_EINTERNAL;
}

/* Parses argv[first..] against defs: "--name value", "--name=value", or a bare "--name". */
static void parse_opts(const char *cmd, int argc, char **argv, int first, const opt_def *defs,
                       parsed_opts *out)
{
    out->n = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            die_usage(cmd, "unexpected argument '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_def *d = NULL;
        for (const opt_def *p = defs; p->name; p++)
            if (strlen(p->name) == len && !strncmp(p->name, name, len)) d = p;
        if (!d) die_usage(cmd, "unknown flag '--%.*s'", (int)len, name);
        const char *value = NULL;
        if (d->takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                die_usage(cmd, "--%s needs a value", d->name);
        } else if (eq) {
            die_usage(cmd, "--%s takes no value", d->name);
        }
        if (out->n == MAX_OPTS) die_usage(cmd, "too many flags");
        out->name[out->n] = d->name;
        out->value[out->n] = value ? value : "";
        out->n++;
    }
}

/* The last value given for a flag (later flags win), or NULL. */
static const char *opt(const parsed_opts *o, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->name[i], name)) v = o->value[i];
    return v;
}

static long parse_long(const char *cmd, const char *flag, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno) die_usage(cmd, "--%s '%s' is not an integer", flag, s);
    if (v < lo || v > hi) die_usage(cmd, "--%s %ld out of range %ld..%ld", flag, v, lo, hi);
    return v;
}

static uint64_t parse_u64(const char *cmd, const char *flag, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-')
        die_usage(cmd, "--%s '%s' is not a non-negative integer", flag, s);
    return (uint64_t)v;
}

/* lo_open: the value must be > lo (else >= lo). */
static float parse_float(const char *cmd, const char *flag, const char *s, double lo, int lo_open,
                         double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        die_usage(cmd, "--%s '%s' is not a number", flag, s);
    if ((lo_open ? v <= lo : v < lo) || v > hi)
        die_usage(cmd, "--%s %s out of range (%s%g .. %g)", flag, s, lo_open ? ">" : "", lo, hi);
    return (float)v;
}

static int parse_choice(const char *cmd, const char *flag, const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) return i;
    char list[128] = "";
    for (int i = 0; names[i]; i++) {
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    die_usage(cmd, "--%s '%s': expected %s", flag, s, list);
    return -1;
}

static const char *const ACT_NAMES[] = {"relu", "sigmoid", "tanh", NULL};
static const char *const LOSS_NAMES[] = {"xent", "bce", "mse", "mae", NULL};
static const char *const OPTIM_NAMES[] = {"sgd", "momentum", "adam", NULL};
static const char *const BIND_NAMES[] = {"compact", "spread", "none", NULL};
static const char *const REDUCE_NAMES[] = {"segmented", "serial", "tree", NULL};
static const char *const TEAM_NAMES[] = {"openmp", "pthreads", NULL}; /* index 0: OpenMP */

/* ---- signals: the first asks training to stop after the current step, a second exits. ---- */

static volatile int g_stop;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    if (g_signal) _exit(128 + sig);
    g_signal = sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- threads ---- */

static int resolve_threads(const char *cmd, const parsed_opts *o, char *why, size_t len)
{
    const char *v = opt(o, "threads");
    if (v) {
        snprintf(why, len, "--threads");
        return (int)parse_long(cmd, "threads", v, 1, 4096);
    }
    return dp_default_threads(why, len);
}

/* Exactly one party binds: with OMP_PROC_BIND/OMP_PLACES set and no --bind, OpenMP does. */
static dp_bind resolve_bind(const char *cmd, const parsed_opts *o, int quiet)
{
    const char *v = opt(o, "bind");
    const char *omp_bind = getenv("OMP_PROC_BIND"), *omp_places = getenv("OMP_PLACES");
    int omp_set = (omp_bind && *omp_bind) || (omp_places && *omp_places);
    if (v) {
        dp_bind b = (dp_bind)parse_choice(cmd, "bind", v, BIND_NAMES);
        if (omp_set && b != DP_BIND_NONE && !quiet)
            fprintf(stderr, "dpmlp: --bind %s overrides OMP_PROC_BIND/OMP_PLACES\n", v);
        return b;
    }
    if (omp_set) {
        if (!quiet)
            fprintf(stderr, "dpmlp: OMP_PROC_BIND/OMP_PLACES set: OpenMP places the workers "
                            "(give --bind to let dpmlp pin them)\n");
        return DP_BIND_NONE;
    }
    return DP_BIND_COMPACT;
}

/* ---- data ---- */

typedef struct data_pair {
    dp_dataset *train, *test;
} data_pair;

static void free_data(data_pair *d)
{
    dp_data_free(d->train);
    dp_data_free(d->test);
    d->train = d->test = NULL;
}

/* --data DIR (MNIST layout), --data synthetic:N, or CSV files. n_targets is -1 for "features
 * only" prediction input (rows may omit labels). */
static int load_data(const char *cmd, const parsed_opts *o, const dp_spec *spec, int want_train,
                     data_pair *out, uint64_t seed)
{
    dp_error err;
    memset(out, 0, sizeof *out);
    const char *dir = opt(o, "data");
    const char *train_csv = opt(o, "train"), *test_csv = opt(o, "test");
    const char *input_csv = opt(o, "input");
    int outputs = spec->sizes[spec->n_sizes - 1];
    int n_targets = dp_spec_is_classification(spec) ? 0 : outputs;
    int sources = (dir != NULL) + (train_csv != NULL || (!want_train && test_csv)) +
                  (input_csv != NULL);
    if (sources == 0)
        die_usage(cmd, want_train ? "give --data DIR or --train FILE.csv"
                                  : "give --data DIR or --test/--input FILE.csv");
    if (sources > 1) die_usage(cmd, "--data and CSV files are exclusive");
    if (dir && !strncmp(dir, "synthetic:", 10)) {
        long n = parse_long(cmd, "data", dir + 10, 1, 100000000);
        if (dp_data_synthetic(spec, (size_t)n, seed, want_train ? &out->train : &out->test,
                              &err) != DP_OK)
            return fail(&err);
        return 0;
    }
    if (dir) {
        if (want_train && dp_data_load_mnist(dir, 0, &out->train, &err) != DP_OK)
            return fail(&err);
        if (dp_data_load_mnist(dir, 1, &out->test, &err) != DP_OK) {
            free_data(out);
            return fail(&err);
        }
        return 0;
    }
    int n_in = spec->sizes[0];
    if (want_train && dp_data_load_csv(train_csv, n_in, n_targets, &out->train, &err) != DP_OK)
        return fail(&err);
    const char *eval_csv = input_csv ? input_csv : test_csv;
    if (eval_csv) {
        dp_status st = dp_data_load_csv(eval_csv, n_in, n_targets, &out->test, &err);
        if (st != DP_OK && input_csv) {
            /* Prediction input may carry no targets at all: features only. */
            dp_error err2;
            if (dp_data_load_csv(eval_csv, n_in, -1, &out->test, &err2) == DP_OK) st = DP_OK;
        }
        if (st != DP_OK) {
            free_data(out);
            return fail(&err);
        }
    }
    return 0;
}


/* ---- train ---- */

static const opt_def TRAIN_OPTS[] = {
    {"data", 1}, {"train", 1}, {"test", 1}, {"layers", 1}, {"act", 1}, {"loss", 1},
    {"optim", 1}, {"lr", 1}, {"momentum", 1}, {"weight-decay", 1}, {"beta1", 1}, {"beta2", 1},
    {"epochs", 1}, {"batch", 1}, {"seed", 1}, {"threads", 1}, {"bind", 1}, {"reduce", 1},
    {"team", 1}, {"steps", 1}, {"log", 1}, {"save", 1}, {"quiet", 0}, {"help", 0}, {NULL, 0}};

static const char TRAIN_HELP[] =
    "usage: dpmlp train (--data DIR | --data synthetic:N | --train FILE.csv [--test FILE.csv])\n"
    "                   [flags]\n"
    "\n"
    "Trains an MLP with data-parallel backprop: the batch is sharded across pinned workers,\n"
    "each computes gradients into a private buffer, the buffers are reduced slice by slice and\n"
    "one update is applied per step.\n"
    "\n"
    "data\n"
    "  --data DIR          MNIST layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];\n"
    "                      t10k is the test set. synthetic:N makes N seeded random samples\n"
    "  --train FILE.csv    one sample per row, optional header; classification: last column\n"
    "                      is the class; regression: last K columns are targets (K outputs)\n"
    "  --test FILE.csv     evaluated after every epoch\n"
    "model\n"
    "  --layers LIST       sizes from input to output            [784,256,128,10]\n"
    "  --act A             hidden activation relu|sigmoid|tanh   [relu]\n"
    "  --loss L            xent|bce|mse|mae (output: softmax|sigmoid|linear|linear) [xent]\n"
    "optimizer\n"
    "  --optim O           sgd|momentum|adam                     [adam]\n"
    "  --lr X              learning rate          [adam 0.001, momentum 0.05, sgd 0.1]\n"
    "  --momentum X        momentum coefficient                  [0.9]\n"
    "  --weight-decay X    L2 penalty added to the gradient      [0]\n"
    "  --beta1 X --beta2 X Adam moments                          [0.9, 0.999]\n"
    "  --epochs N          passes over the training set          [10]\n"
    "  --batch B           global batch, all workers together    [128]\n"
    "  --steps N           stop after N optimizer steps (fixed-work benchmarks)\n"
    "  --seed S            init and shuffles; same seed and threads -> same bytes [1]\n"
    "parallelism\n"
    "  --threads T         workers [OMP_NUM_THREADS, else allowed physical cores, capped by a\n"
    "                      cgroup CPU quota]\n"
    "  --bind P            compact|spread|none                   [compact]\n"
    "  --reduce R          segmented|serial|tree                 [segmented]\n"
    "  --team K            pthreads|openmp (OpenMP: set OMP_WAIT_POLICY=passive when\n"
    "                      oversubscribing)                      [pthreads]\n"
    "output\n"
    "  --log FILE          JSON Lines, one object per epoch ('-' = stdout)\n"
    "  --save FILE         the trained model (written atomically at the end)\n"
    "  --quiet             no progress or start-up lines on stderr\n"
    "\n"
    "exit codes: 0 ok, 64 usage, 65 bad data, 66 missing input, 70 internal or non-finite\n"
    "loss, 74 write failed, 130 SIGINT, 143 SIGTERM\n";

/* A run must not train for hours and then find it cannot save: the directory of every output
 * file is checked before training starts. */
static int check_output_dir(const char *flag, const char *path)
{
    if (!path || !strcmp(path, "-")) return 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dpmlp: --%s %s: directory %s is not writable: %s\n", flag, path, dir,
                strerror(errno));
        return DP_EIO;
    }
    return 0;
}

typedef struct train_output {
    dp_log *log;
    dp_progress *progress;
    int quiet;
    int log_failed;
    dp_error log_err;
} train_output;

static void on_message(void *ctx, const char *line)
{
    train_output *t = ctx;
    if (!t->quiet || !strncmp(line, "warning", 7)) fprintf(stderr, "dpmlp: %s\n", line);
}

static void on_step(void *ctx, int epoch, long step, long steps)
{
    train_output *t = ctx;
    if (t->progress) dp_progress_step(t->progress, epoch, step, steps);
}

static void on_epoch(void *ctx, const dp_epoch_stats *s)
{
    train_output *t = ctx;
    if (t->progress) dp_progress_epoch(t->progress, s);
    if (t->log && !t->log_failed && dp_log_epoch(t->log, s, NULL, &t->log_err) != DP_OK) {
        t->log_failed = 1;
        g_stop = 1; /* a run whose log cannot be written is not worth continuing */
    }
}

static void spec_from_opts(const char *cmd, const parsed_opts *o, dp_spec *spec)
{
    dp_error err;
    const char *layers = opt(o, "layers");
    if (dp_spec_parse_layers(layers ? layers : "784,256,128,10", spec, &err) != DP_OK)
        die_usage(cmd, "%s", err.msg);
    const char *v;
    spec->hidden = (v = opt(o, "act")) ? (dp_act)parse_choice(cmd, "act", v, ACT_NAMES)
                                       : DP_ACT_RELU;
    spec->loss = (v = opt(o, "loss")) ? (dp_loss)parse_choice(cmd, "loss", v, LOSS_NAMES)
                                      : DP_LOSS_XENT;
    if (dp_spec_validate(spec, &err) != DP_OK) die_usage(cmd, "%s", err.msg);
}

static void config_from_opts(const char *cmd, const parsed_opts *o, dp_train_config *cfg)
{
    const char *v;
    dp_train_config_defaults(cfg);
    if ((v = opt(o, "optim"))) cfg->optim = (dp_optim_kind)parse_choice(cmd, "optim", v, OPTIM_NAMES);
    cfg->lr = cfg->optim == DP_OPT_ADAM ? 1e-3f : cfg->optim == DP_OPT_MOMENTUM ? 0.05f : 0.1f;
    if ((v = opt(o, "lr"))) cfg->lr = parse_float(cmd, "lr", v, 0.0, 1, 1e6);
    if ((v = opt(o, "momentum"))) cfg->momentum = parse_float(cmd, "momentum", v, 0.0, 0, 0.999999);
    if ((v = opt(o, "weight-decay")))
        cfg->weight_decay = parse_float(cmd, "weight-decay", v, 0.0, 0, 1e6);
    if ((v = opt(o, "beta1"))) cfg->beta1 = parse_float(cmd, "beta1", v, 0.0, 0, 0.999999);
    if ((v = opt(o, "beta2"))) cfg->beta2 = parse_float(cmd, "beta2", v, 0.0, 0, 0.999999);
    if ((v = opt(o, "epochs"))) cfg->epochs = (int)parse_long(cmd, "epochs", v, 1, 1000000);
    if ((v = opt(o, "batch"))) cfg->batch = (int)parse_long(cmd, "batch", v, 1, 1 << 24);
    if ((v = opt(o, "steps"))) cfg->max_steps = parse_long(cmd, "steps", v, 1, 1L << 40);
    if ((v = opt(o, "seed"))) cfg->seed = parse_u64(cmd, "seed", v);
    if ((v = opt(o, "reduce"))) cfg->reduce = (dp_reduce)parse_choice(cmd, "reduce", v, REDUCE_NAMES);
    if ((v = opt(o, "team"))) cfg->team_openmp = parse_choice(cmd, "team", v, TEAM_NAMES) == 0;
    cfg->quiet = opt(o, "quiet") != NULL;
}

static int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    parsed_opts o;
    parse_opts(cmd, argc, argv, 2, TRAIN_OPTS, &o);
    if (opt(&o, "help")) {
        fputs(TRAIN_HELP, stdout);
        return 0;
    }
    dp_spec spec;
    spec_from_opts(cmd, &o, &spec);
    dp_train_config cfg;
    config_from_opts(cmd, &o, &cfg);
    char why[256];
    cfg.threads = resolve_threads(cmd, &o, why, sizeof why);
    cfg.bind = resolve_bind(cmd, &o, cfg.quiet);
    if (opt(&o, "test") && !opt(&o, "train"))
        die_usage(cmd, "--test needs --train (with --data the t10k files are the test set)");

    int rc = check_output_dir("save", opt(&o, "save"));
    if (!rc) rc = check_output_dir("log", opt(&o, "log"));
    if (rc) return rc;
    data_pair data;
    rc = load_data(cmd, &o, &spec, 1, &data, cfg.seed);
    if (rc) return rc;

    train_output out;
    memset(&out, 0, sizeof out);
    out.quiet = cfg.quiet;
    dp_error err;
    const char *log_path = opt(&o, "log");
    if (log_path && dp_log_open(log_path, &out.log, &err) != DP_OK) {
        free_data(&data);
        return fail(&err);
    }
    if (!cfg.quiet) {
        out.progress = dp_progress_new(stderr, cfg.epochs, 0);
        fprintf(stderr, "dpmlp: %zu training samples, %zu test; %d workers (%s); %s, batch %d, "
                        "lr %g\n",
                dp_data_count(data.train), data.test ? dp_data_count(data.test) : (size_t)0,
                cfg.threads, why, dp_optim_name(cfg.optim), cfg.batch, (double)cfg.lr);
    }
    dp_model *model = dp_model_create(&spec, cfg.seed, &err);
    if (!model) {
        rc = fail(&err);
    } else {
        install_signals();
        dp_train_hooks hooks = {on_message, on_step, on_epoch, &out, &g_stop};
        dp_status st = dp_train(model, data.train, data.test, &cfg, &hooks, &err);
        if (st != DP_OK) {
            rc = fail(&err);
        } else if (out.log_failed) {
            rc = fail(&out.log_err);
        } else if (g_signal) {
            fprintf(stderr, "dpmlp: stopped by signal %d after the current step; no model "
                            "saved\n", (int)g_signal);
            rc = 128 + g_signal;
        } else {
            const char *save = opt(&o, "save");
            if (save && dp_model_save(model, save, &err) != DP_OK) rc = fail(&err);
            else if (save && !cfg.quiet) fprintf(stderr, "dpmlp: model saved to %s\n", save);
        }
    }
    dp_model_free(model);
    if (out.progress) dp_progress_free(out.progress);
    if (out.log) dp_log_close(out.log);
    free_data(&data);
    return rc;
}

/* ---- eval and predict ---- */

static const opt_def EVAL_OPTS[] = {{"model", 1}, {"data", 1}, {"test", 1},
                                    {"threads", 1}, {"help", 0}, {NULL, 0}};
static const opt_def PREDICT_OPTS[] = {{"model", 1}, {"data", 1}, {"input", 1}, {"threads", 1},
                                       {"proba", 0}, {"help", 0}, {NULL, 0}};

static const char EVAL_HELP[] =
    "usage: dpmlp eval --model FILE (--data DIR | --test FILE.csv) [--threads T]\n"
    "Prints one JSON object: {\"samples\":N,\"loss\":X,\"accuracy\":A} (classification) or\n"
    "{\"samples\":N,\"loss\":X,\"mae\":M} (regression). --data DIR uses its t10k files.\n";
static const char PREDICT_HELP[] =
    "usage: dpmlp predict --model FILE (--data DIR | --input FILE.csv) [--proba] [--threads T]\n"
    "One line per sample: the class index (classification) or the output values separated by\n"
    "commas (regression); --proba prints the output probabilities instead of the class.\n"
    "--input rows may hold features only, or features followed by labels/targets (ignored).\n";

static dp_model *load_model_opt(const char *cmd, const parsed_opts *o, int *rc)
{
    const char *path = opt(o, "model");
    if (!path) die_usage(cmd, "--model FILE is required");
    dp_error err;
    dp_model *m = dp_model_load(path, &err);
    if (!m) *rc = fail(&err);
    return m;
}

static int cmd_eval(int argc, char **argv, int predict)
{
    const char *cmd = predict ? "predict" : "eval";
    parsed_opts o;
    parse_opts(cmd, argc, argv, 2, predict ? PREDICT_OPTS : EVAL_OPTS, &o);
    if (opt(&o, "help")) {
        fputs(predict ? PREDICT_HELP : EVAL_HELP, stdout);
        return 0;
    }
    int rc = 0;
    char why[256];
    int threads = resolve_threads(cmd, &o, why, sizeof why);
    if (!opt(&o, "model")) die_usage(cmd, "--model FILE is required");
    if (!opt(&o, "data") && !opt(&o, predict ? "input" : "test"))
        die_usage(cmd, predict ? "give --data DIR or --input FILE.csv"
                               : "give --data DIR or --test FILE.csv");
    dp_model *m = load_model_opt(cmd, &o, &rc);
    if (!m) return rc;
    const dp_spec *spec = dp_model_spec(m);
    data_pair data;
    rc = load_data(cmd, &o, spec, 0, &data, 1);
    if (rc) {
        dp_model_free(m);
        return rc;
    }
    dp_error err;
    if (!predict) {
        dp_metrics mt;
        if (dp_evaluate(m, data.test, threads, &mt, &err) != DP_OK) {
            rc = fail(&err);
        } else if (dp_spec_is_classification(spec)) {
            printf("{\"samples\":%zu,\"loss\":%.9g,\"accuracy\":%.9g}\n", mt.samples, mt.loss,
                   mt.accuracy);
        } else {
            printf("{\"samples\":%zu,\"loss\":%.9g,\"mae\":%.9g}\n", mt.samples, mt.loss, mt.mae);
        }
    } else {
        size_t n = dp_data_count(data.test);
        size_t K = (size_t)spec->sizes[spec->n_sizes - 1];
        float *out = malloc((n ? n : 1) * K * sizeof(float));
        if (!out) {
            fprintf(stderr, "dpmlp: out of memory for %zu predictions\n", n);
            rc = DP_EINTERNAL;
        } else if (dp_predict(m, data.test, threads, out, &err) != DP_OK) {
            rc = fail(&err);
        } else {
            int proba = opt(&o, "proba") != NULL;
            int classify = dp_spec_is_classification(spec) && !proba;
            for (size_t i = 0; i < n; i++) {
                const float *row = out + i * K;
                if (classify) {
                    size_t best = 0;
                    if (K == 1) best = row[0] > 0.5f;
                    for (size_t j = 1; j < K; j++)
                        if (row[j] > row[best]) best = j;
                    printf("%zu\n", best);
                } else {
                    for (size_t j = 0; j < K; j++) printf(j ? ",%.6g" : "%.6g", (double)row[j]);
                    putchar('\n');
                }
            }
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "dpmlp: writing predictions to stdout failed: %s\n",
                        strerror(errno));
                rc = DP_EIO;
            }
        }
        free(out);
    }
    free_data(&data);
    dp_model_free(m);
    return rc;
}

/* ---- topo ---- */

static const opt_def TOPO_OPTS[] = {{"threads", 1}, {"bind", 1}, {"help", 0}, {NULL, 0}};

static int cmd_topo(int argc, char **argv)
{
    const char *cmd = "topo";
    parsed_opts o;
    parse_opts(cmd, argc, argv, 2, TOPO_OPTS, &o);
    if (opt(&o, "help")) {
        fputs("usage: dpmlp topo [--threads T] [--bind compact|spread|none]\n"
              "The hwloc topology this process sees (HWLOC_SYNTHETIC and HWLOC_XMLFILE are\n"
              "honoured) and the core each worker would be pinned to.\n",
              stdout);
        return 0;
    }
    char why[256];
    int threads = resolve_threads(cmd, &o, why, sizeof why);
    dp_bind bind = resolve_bind(cmd, &o, 1);
    printf("workers: %d (%s)\n", threads, why);
    dp_error err;
    if (dp_topo_print(threads, bind, stdout, &err) != DP_OK) return fail(&err);
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
    if (!strcmp(c, "train")) return cmd_train(argc, argv);
    if (!strcmp(c, "eval")) return cmd_eval(argc, argv, 0);
    if (!strcmp(c, "predict")) return cmd_eval(argc, argv, 1);
    if (!strcmp(c, "topo")) return cmd_topo(argc, argv);
    die_usage(NULL, "unknown command '%s'", c);
    return DP_EUSAGE;
}
