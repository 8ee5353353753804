/* `dpmlp train`: flags to a spec and config (or a checkpoint to resume), progress and JSON
 * Lines on the way, checkpoints on schedule and on SIGINT/SIGTERM, the model at the end.
 * Exit codes: 0, 64 usage, 65 bad data, 66 missing input, 70 internal or non-finite loss,
 * 74 write failed, 130 SIGINT, 143 SIGTERM. */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

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
    "  --deterministic     same model bytes for every thread count (fixed micro-shards)\n"
    "  --verify-ranks      MPI: check every epoch that all ranks hold identical weights\n"
    "runs that survive\n"
    "  --checkpoint FILE   full training state, written atomically every N epochs, at the\n"
    "                      end, and when SIGINT/SIGTERM stops the run after its current step\n"
    "  --checkpoint-every N  epochs between checkpoints          [1]\n"
    "  --resume FILE       continue a checkpointed run (give the same data flags); may change\n"
    "                      --epochs --lr --momentum --weight-decay --threads --bind --reduce\n"
    "                      --team --steps; checkpoints go on to FILE unless --checkpoint\n"
    "output\n"
    "  --log FILE          JSON Lines, one object per epoch ('-' = stdout)\n"
    "  --save FILE         the trained model (written atomically at the end)\n"
    "  --quiet             no progress or start-up lines on stderr\n"
    "\n"
    "exit codes: 0 ok, 64 usage, 65 bad data, 66 missing input, 70 internal or non-finite\n"
    "loss, 74 write failed, 130 SIGINT, 143 SIGTERM (after the current step and checkpoint)\n";

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

/* A run must not train for hours and then find it cannot write: the directory of every output
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

/* A kill -9 during a checkpoint write leaves FILE.tmp.XXXXXX beside the (intact) checkpoint;
 * this run is the path's only writer, so such leftovers are removed and said. */
static void remove_stale_temps(const char *ckpt_path, int quiet)
{
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s.tmp.??????", ckpt_path);
    glob_t g;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0) return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (unlink(g.gl_pathv[i]) == 0 && !quiet)
            fprintf(stderr, "dpmlp: removed %s, left by an interrupted checkpoint write\n",
                    g.gl_pathv[i]);
    globfree(&g);
}

typedef struct train_output {
    dp_log *log;
    dp_progress *progress;
    int quiet;
    int failed;               /* a log or checkpoint write failed: stop and report */
    dp_error err;
    const char *checkpoint;   /* path, or NULL */
    const dp_train_config *cfg;
    int checkpoints_written;
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
    /* The configuration that produced the line, so a log describes itself. */
    char extra[384];
    const dp_train_config *c = t->cfg;
    snprintf(extra, sizeof extra,
             "\"ranks\":%d,\"allreduce_s\":%.9g,\"threads\":%d,\"batch\":%d,\"bind\":\"%s\","
             "\"reduce\":\"%s\",\"team\":\"%s\",\"deterministic\":%s%s",
             s->ranks, s->allreduce_s, c->threads, c->batch, dp_bind_name(c->bind),
             dp_reduce_name(c->reduce), dp_name_of(DP_NAMES_TEAM, c->team_openmp),
             c->deterministic ? "true" : "false", s->partial ? ",\"partial\":true" : "");
    if (t->log && !t->failed && dp_log_epoch(t->log, s, extra, &t->err) != DP_OK) {
        t->failed = 1;
        g_stop = 1; /* a run whose log cannot be written is not worth continuing */
    }
}

static dp_status on_checkpoint(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                               const dp_train_state *state, dp_error *err)
{
    train_output *t = ctx;
    dp_status st = dp_checkpoint_save(t->checkpoint, spec, cfg, state, err);
    if (st == DP_OK) t->checkpoints_written++;
    return st;
}

/* On --resume: the checkpoint fixes the model and the run's identity; only flags that leave
 * both meaningful may change, and each change is said. */
static void merge_resume(const char *cmd, const dp_opts *o, const dp_spec *flag_spec,
                         const dp_train_config *flag_cfg, const dp_spec *ck_spec,
                         dp_train_config *cfg, int quiet)
{
    static const char *const fixed[] = {"layers", "act", "loss", "optim", "batch", "seed", NULL};
    for (int i = 0; fixed[i]; i++) {
        if (!dp_opts_get(o, fixed[i])) continue;
        int same = 1;
        if (!strcmp(fixed[i], "layers"))
            same = flag_spec->n_sizes == ck_spec->n_sizes &&
                   !memcmp(flag_spec->sizes, ck_spec->sizes,
                           (size_t)ck_spec->n_sizes * sizeof(int));
        else if (!strcmp(fixed[i], "act"))
            same = flag_spec->hidden == ck_spec->hidden;
        else if (!strcmp(fixed[i], "loss"))
            same = flag_spec->loss == ck_spec->loss;
        else if (!strcmp(fixed[i], "optim"))
            same = flag_cfg->optim == cfg->optim;
        else if (!strcmp(fixed[i], "batch"))
            same = flag_cfg->batch == cfg->batch;
        else
            same = flag_cfg->seed == cfg->seed;
        if (!same)
            cli_usage(cmd, "--%s differs from the checkpoint's: a resumed run keeps its model, "
                           "optimizer, batch and seed", fixed[i]);
    }
    char changed[512] = "";
#define MAY_CHANGE(flag, field, fmt)                                                        \
    if (dp_opts_get(o, flag) && flag_cfg->field != cfg->field) {                            \
        size_t len = strlen(changed);                                                      \
        snprintf(changed + len, sizeof changed - len, "%s--" flag " " fmt " -> " fmt,       \
                 len ? ", " : "", cfg->field, flag_cfg->field);                            \
        cfg->field = flag_cfg->field;                                                      \
    }
    MAY_CHANGE("epochs", epochs, "%d")
    MAY_CHANGE("lr", lr, "%g")
    MAY_CHANGE("momentum", momentum, "%g")
    MAY_CHANGE("weight-decay", weight_decay, "%g")
    MAY_CHANGE("beta1", beta1, "%g")
    MAY_CHANGE("beta2", beta2, "%g")
#undef MAY_CHANGE
    if (dp_opts_get(o, "reduce") && flag_cfg->reduce != cfg->reduce) {
        size_t len = strlen(changed);
        snprintf(changed + len, sizeof changed - len, "%s--reduce %s -> %s", len ? ", " : "",
                 dp_reduce_name(cfg->reduce), dp_reduce_name(flag_cfg->reduce));
        cfg->reduce = flag_cfg->reduce;
    }
    cfg->max_steps = flag_cfg->max_steps;
    cfg->team_openmp = flag_cfg->team_openmp;
    cfg->deterministic = flag_cfg->deterministic;
    cfg->quiet = flag_cfg->quiet;
    if (changed[0] && !quiet) fprintf(stderr, "dpmlp: resume changes %s\n", changed);
}

static int train_main(int argc, char **argv, int rank)
{
    const char *cmd = "train";
    dp_opts o;
    dp_error err;
    cli_check(cmd, dp_opts_parse(argc, argv, 2, DP_TRAIN_OPTS, &o, &err), &err);
    if (dp_opts_get(&o, "help")) {
        fputs(TRAIN_HELP, stdout);
        return 0;
    }
    dp_spec spec;
    dp_train_config cfg;
    cli_check(cmd, dp_flags_spec(&o, &spec, &err), &err);
    cli_check(cmd, dp_flags_train_config(&o, &cfg, &err), &err);
    /* Only rank 0 talks and writes; the other ranks compute. */
    if (rank != 0) cfg.quiet = 1;
    if (dp_opts_get(&o, "test") && !dp_opts_get(&o, "train"))
        cli_usage(cmd, "--test needs --train (with --data the t10k files are the test set)");
    long every = 1;
    const char *v = dp_opts_get(&o, "checkpoint-every");
    if (v) cli_check(cmd, dp_flag_long("checkpoint-every", v, 1, 1000000, &every, &err), &err);
    const char *resume_path = dp_opts_get(&o, "resume");
    const char *ckpt_path = dp_opts_get(&o, "checkpoint");
    if (!ckpt_path) ckpt_path = resume_path;
    char why[256];

    dp_train_state state;
    memset(&state, 0, sizeof state);
    if (resume_path) {
        dp_spec ck_spec;
        dp_train_config ck_cfg;
        if (dp_checkpoint_load(resume_path, &ck_spec, &ck_cfg, &state, &err) != DP_OK)
            return cli_fail(&err);
        dp_train_config flag_cfg = cfg;
        cfg = ck_cfg;
        merge_resume(cmd, &o, &spec, &flag_cfg, &ck_spec, &cfg, flag_cfg.quiet);
        spec = ck_spec;
        if (dp_opts_get(&o, "threads")) {
            int threads = cli_threads(cmd, &o, why, sizeof why);
            if (threads != cfg.threads && !cfg.quiet)
                fprintf(stderr, "dpmlp: resume changes --threads %d -> %d (the model will not "
                                "be byte-identical to an uninterrupted run)\n", cfg.threads,
                        threads);
            cfg.threads = threads;
        } else {
            snprintf(why, sizeof why, "as in the checkpoint");
        }
        if (!cfg.quiet)
            fprintf(stderr, "dpmlp: resuming %s at epoch %d, step %ld (%ld steps done)\n",
                    resume_path, state.epoch, state.next_step, state.global_step);
    } else {
        cfg.threads = cli_threads(cmd, &o, why, sizeof why);
    }
    cfg.bind = cli_bind(cmd, &o, cfg.quiet);

    const char *save_path = rank == 0 ? dp_opts_get(&o, "save") : NULL;
    const char *log_path = rank == 0 ? dp_opts_get(&o, "log") : NULL;
    if (rank != 0) ckpt_path = NULL;
    int rc = check_output_dir("save", save_path);
    if (!rc) rc = check_output_dir("log", log_path);
    if (!rc) rc = check_output_dir("checkpoint", ckpt_path);
    if (rc) {
        dp_train_state_free(&state);
        return rc;
    }
    if (ckpt_path) remove_stale_temps(ckpt_path, cfg.quiet);
    cli_data data;
    rc = cli_load_data(cmd, &o, &spec, 1, cfg.seed, &data);
    if (rc) {
        dp_train_state_free(&state);
        return rc;
    }

    train_output out;
    memset(&out, 0, sizeof out);
    out.quiet = cfg.quiet;
    out.checkpoint = ckpt_path;
    out.cfg = &cfg;
    dp_model *model = NULL;
    if (log_path && dp_log_open(log_path, &out.log, &err) != DP_OK) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!cfg.quiet) {
        out.progress = dp_progress_new(stderr, cfg.epochs, 0);
        fprintf(stderr, "dpmlp: %zu training samples, %zu test; %d workers (%s); %s, batch %d, "
                        "lr %g%s\n",
                dp_data_count(data.train), data.test ? dp_data_count(data.test) : (size_t)0,
                cfg.threads, why, dp_optim_name(cfg.optim), cfg.batch, (double)cfg.lr,
                cfg.deterministic ? ", deterministic" : "");
    }
    model = dp_model_create(&spec, cfg.seed, &err);
    if (!model) {
        rc = cli_fail(&err);
        goto out;
    }
    install_signals();
    dp_train_hooks hooks = {on_message, on_step, on_epoch, &out, &g_stop,
                            ckpt_path ? on_checkpoint : NULL, (int)every};
    dp_status st = dp_train_resume(model, data.train, data.test, &cfg, &hooks,
                                   resume_path ? &state : NULL, &err);
    if (st != DP_OK) {
        rc = cli_fail(&err);
    } else if (out.failed) {
        rc = cli_fail(&out.err);
    } else if (g_signal) {
        fprintf(stderr, "dpmlp: stopped by signal %d after the current step; %s\n",
                (int)g_signal,
                out.checkpoints_written ? "checkpoint written, resume with --resume"
                                        : "no checkpoint (--checkpoint not set); no model saved");
        rc = 128 + g_signal;
    } else {
        if (save_path && dp_model_save(model, save_path, &err) != DP_OK)
            rc = cli_fail(&err);
        else if (save_path && !cfg.quiet)
            fprintf(stderr, "dpmlp: model saved to %s\n", save_path);
    }
out:
    dp_model_free(model);
    if (out.progress) dp_progress_free(out.progress);
    if (out.log) dp_log_close(out.log);
    cli_free_data(&data);
    dp_train_state_free(&state);
    return rc;
}

/* Under mpirun every rank runs this: the same flags everywhere (checked), one shared fate —
 * a rank that fails ends the whole job with its exit code instead of leaving the others
 * waiting in an allreduce. */
int cli_train(int argc, char **argv)
{
    dp_error err;
    if (dp_dist_init(&argc, &argv, &err) != DP_OK) return cli_fail(&err);
    int rank = dp_dist_rank(), size = dp_dist_size();
    if (size > 1) {
        size_t len = 0;
        for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
        char *joined = calloc(len + 1, 1);
        for (int i = 0; joined && i < argc; i++) strcat(strcat(joined, argv[i]), "\n");
        int same = joined && dp_dist_same_everywhere(joined, len);
        free(joined);
        if (!same) {
            if (rank == 0) fprintf(stderr, "dpmlp: train: the ranks were given different flags\n");
            dp_dist_abort(DP_EUSAGE);
            return DP_EUSAGE;
        }
    }
    int rc = train_main(argc, argv, rank);
    /* 130/143 after a signal are a stop every rank agreed on, not a failure. */
    if (size > 1 && rc != 0 && rc != 130 && rc != 143) {
        fprintf(stderr, "dpmlp: rank %d of %d failed (exit %d): stopping the job\n", rank, size,
                rc);
        dp_dist_abort(rc);
        return rc;
    }
    dp_dist_finalize();
    return rc;
}
