/* `dpmlp train`: flags to a spec and config (or a checkpoint to resume, resume.c), the output
 * files checked first (outputs.c), progress and JSON Lines on the way, checkpoints on
 * schedule and on SIGINT/SIGTERM, the model at the end. MPI ranks all run it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "train_cmd.h"

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
    "  --test FILE.csv     evaluated after every epoch ('-' for either CSV: standard input)\n"
    "validation and early stopping (with validation, --save keeps the best epoch's weights)\n"
    "  --val-split F       hold out a seeded fraction F in (0, 1) of the training set for the\n"
    "                      whole run (chosen by --seed alone, never shuffled into training)\n"
    "  --val PATH          validation set: a directory in MNIST layout (its t10k files) or a CSV\n"
    "  --early-stop N      stop after N epochs without a lower validation loss [off]\n"
    "learning-rate schedule (the log's lr field is the lr of each epoch's last step)\n"
    "  --schedule S        constant|step|cosine|plateau                  [constant]\n"
    "                      step: lr * gamma^floor((epoch-1)/lr-step); cosine: from lr down to\n"
    "                      lr-min over all epochs' steps; plateau: lr *= factor after\n"
    "                      plateau-patience epochs without a lower validation loss\n"
    "  --warmup N          linear warm-up over the first N steps          [0]\n"
    "  --lr-min X          cosine's floor, plateau's lowest lr            [0]\n"
    "  --lr-step E --lr-gamma G  step schedule                            [10, 0.1]\n"
    "  --plateau-patience N --plateau-factor F  plateau schedule          [5, 0.1]\n"
    "model\n"
    "  --layers LIST       sizes from input to output            [784,256,128,10]\n"
    "  --act A[,A2,...]    hidden activations, one for all or one per hidden layer:\n"
    "                      relu|leaky_relu|gelu|tanh|sigmoid|linear  [relu]\n"
    "  --leaky-slope X     leaky_relu's slope for x < 0, in [0, 1]   [0.01]\n"
    "  --loss L            xent|bce|mse|mae                          [xent]\n"
    "  --out A             output activation softmax|sigmoid|tanh|linear\n"
    "                      [xent softmax, bce sigmoid, mse/mae linear]; xent needs softmax,\n"
    "                      bce needs sigmoid, mse/mae take any of the four\n"
    "  --dropout P[,P2,...] inverted dropout on hidden outputs while training (off in eval\n"
    "                      and predict), one rate for all or one per hidden layer  [0]\n"
    "optimizer\n"
    "  --optim O           sgd|momentum|adam|adamw                [adam]\n"
    "  --lr X              learning rate   [adam/adamw 0.001, momentum 0.05, sgd 0.1]\n"
    "  --momentum X        momentum coefficient                  [0.9]\n"
    "  --weight-decay X    L2 penalty added to the gradient; adamw: decoupled decay\n"
    "                      w -= lr*X*w beside the Adam step         [0]\n"
    "  --beta1 X --beta2 X Adam moments                          [0.9, 0.999]\n"
    "  --epochs N          passes over the training set          [10]\n"
    "  --batch B           global batch, all workers together    [128]\n"
    "  --steps N           stop after N optimizer steps (fixed-work benchmarks)\n"
    "  --seed S            init and shuffles; same seed and threads -> same bytes [1]\n"
    "parallelism\n"
    "  --threads T         workers [OMP_NUM_THREADS, else allowed physical cores, capped by a\n"
    "                      cgroup CPU quota and SLURM_CPUS_PER_TASK]\n"
    "  --bind P            compact|spread|none                   [compact]\n"
    "  --reduce R          segmented|serial|tree                 [segmented]\n"
    "  --team K            pthreads|openmp (OpenMP: set OMP_WAIT_POLICY=passive when\n"
    "                      oversubscribing)                      [pthreads]\n"
    "  --deterministic     same model bytes for every thread count (fixed micro-shards)\n"
    "  --verify-ranks      MPI: check every epoch that all ranks hold identical weights\n"
    "  --precision P       fp32|bf16: bf16 rounds the GEMM operands to bf16 and sums in fp32\n"
    "                      (weights, gradients, optimizer state, files stay fp32) [fp32]\n"
    "runs that survive\n"
    "  --checkpoint FILE   full training state, written atomically every N epochs, at the\n"
    "                      end, and when SIGINT/SIGTERM/SIGHUP stops the run after its\n"
    "                      current step\n"
    "  --checkpoint-every N  epochs between checkpoints          [1]\n"
    "  --resume FILE       continue a checkpointed run (give the same data flags); may change\n"
    "                      --epochs --lr --momentum --weight-decay --beta1 --beta2 --threads\n"
    "                      --bind --team --reduce --steps --log --save --early-stop --precision\n"
    "                      and turn on --deterministic (changed stored values and --bind/--team\n"
    "                      are said on stderr); checkpoints go on to FILE unless --checkpoint;\n"
    "                      the schedule and --val-split are the checkpoint's\n"
    "  --resume-any-data   resume even if the training data differs from the checkpoint's\n"
    "                      (its fingerprint is checked otherwise)\n"
    "output\n"
    "  --log FILE          JSON Lines, one object per epoch ('-' = stdout)\n"
    "  --save FILE         the trained model (written atomically at the end; a file path,\n"
    "                      never '-': --save - and --checkpoint - exit 64)\n"
    "  --quiet             no progress or start-up lines on stderr\n"
    "\n"
    "exit codes: 0 ok, 64 usage, 65 bad data, 66 missing input, 70 internal, non-finite\n"
    "loss or weights, or a loss 1000x over its best (diverging; nothing saved), 71 a worker thread could not start, 74 write failed, 75 the checkpoint is locked by\n"
    "another run, 129 SIGHUP, 130 SIGINT, 143 SIGTERM (after the current step and checkpoint)\n";

/* ---- signals: the first asks training to stop after the current step, a second exits. ----
 * SIGHUP (a closed terminal, an ssh drop) is one more such stop, exit 129 = 128 + SIGHUP,
 * unless it is ignored on entry: under nohup the user asked for the run to outlive it. */

static volatile int g_stop;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    /* A second signal ends the run at once: no write in flight may leave its temp file. */
    if (g_signal) {
        dp_abort_writes();
        _exit(128 + sig);
    }
    g_signal = sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGHUP, &sa, NULL);
}

/* 129/130/143: a stop by SIGHUP/SIGINT/SIGTERM after the current step, not a failure. */
static int stopped_by_signal(int rc)
{
    return rc == 128 + SIGHUP || rc == 128 + SIGINT || rc == 128 + SIGTERM;
}

/* ---- the trainer's hooks: progress, the log, checkpoints ---- */

typedef struct train_output {
    dp_log *log;
    dp_progress *progress;
    int quiet;
    int failed;               /* a log or checkpoint write failed: stop and report */
    dp_error err;
    const char *checkpoint;   /* path, or NULL */
    const dp_train_config *cfg;
    int checkpoints_written;
    int best_epoch;           /* with validation: the epoch whose weights the model holds */
    double best_val_loss;
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

static void on_step_loss(void *ctx, double loss_sum, size_t samples)
{
    train_output *t = ctx;
    if (t->progress) dp_progress_loss(t->progress, loss_sum, samples);
}

static void on_epoch(void *ctx, const dp_epoch_stats *s)
{
    train_output *t = ctx;
    if (t->progress) dp_progress_epoch(t->progress, s);
    t->best_epoch = s->best_epoch;
    t->best_val_loss = s->best_val_loss;
    char extra[768];
    dp_log_run_fields(extra, sizeof extra, s, t->cfg);
    if (!t->log || t->failed || dp_log_epoch(t->log, s, extra, &t->err) == DP_OK) return;
    if (dp_log_reader_gone(t->log)) {
        /* `--log - | head`: the reader chose to stop reading, not to lose the run. */
        fprintf(stderr, "dpmlp: warning: %s; logging stopped, the run goes on\n", t->err.msg);
        dp_log_close(t->log);
        t->log = NULL;
        return;
    }
    t->failed = 1;
    g_stop = 1; /* a run whose log cannot be written is not worth continuing */
}

static dp_status on_checkpoint(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                               const dp_train_state *state, dp_error *err)
{
    train_output *t = ctx;
    dp_status st = dp_checkpoint_save(t->checkpoint, spec, cfg, state, err);
    if (st == DP_OK) t->checkpoints_written++;
    return st;
}

/* ---- one run ---- */

typedef struct train_run {
    int rank;
    dp_opts o;
    dp_spec spec;
    dp_train_config cfg;
    dp_train_state state;
    long every;                /* --checkpoint-every */
    const char *resume;        /* --resume path, or NULL */
    cli_outputs out;           /* rank 0's output files */
    char why[256];             /* where the worker count came from */
} train_run;

/* Flags to spec, config and paths; a checkpoint to resume replaces most of them. */
static int read_flags(const char *cmd, train_run *r)
{
    dp_error err;
    int rc;
    if ((rc = cli_check(cmd, dp_flags_spec(&r->o, &r->spec, &err), &err)) ||
        (rc = cli_check(cmd, dp_flags_train_config(&r->o, &r->cfg, &err), &err)) ||
        (rc = cli_check(cmd, dp_flags_dropout(&r->o, &r->spec, &r->cfg, &err), &err)))
        return rc;
    /* Only rank 0 talks and writes; the other ranks compute. */
    if (r->rank != 0) r->cfg.quiet = 1;
    if (dp_opts_get(&r->o, "test") && !dp_opts_get(&r->o, "train"))
        return cli_usage(cmd, "--test needs --train (with --data the t10k files are the test set)");
    r->every = 1;
    const char *v = dp_opts_get(&r->o, "checkpoint-every");
    if (v && (rc = cli_check(cmd, dp_flag_long("checkpoint-every", v, 1, 1000000, &r->every,
                                               &err), &err)))
        return rc;
    r->resume = dp_opts_get(&r->o, "resume");
    const char *ckpt = dp_opts_get(&r->o, "checkpoint");
    if (r->rank == 0) {
        r->out.checkpoint = ckpt ? ckpt : r->resume;
        r->out.save = dp_opts_get(&r->o, "save");
        r->out.log = dp_opts_get(&r->o, "log");
    }
    if (r->resume)
        rc = cli_resume(cmd, &r->o, r->resume, &r->spec, &r->cfg, &r->state, r->why,
                        sizeof r->why);
    else
        rc = cli_threads(cmd, &r->o, &r->cfg.threads, r->why, sizeof r->why);
    return rc ? rc : cli_bind(cmd, &r->o, r->cfg.quiet, &r->cfg.bind);
}

static void say_start(const train_run *r, const cli_data *data)
{
    fprintf(stderr, "dpmlp: %zu training samples, %zu test; %d worker%s (%s); %s, batch %d, "
                    "lr %g%s%s\n",
            dp_data_count(data->train), data->test ? dp_data_count(data->test) : (size_t)0,
            r->cfg.threads, r->cfg.threads == 1 ? "" : "s", r->why, dp_optim_name(r->cfg.optim), r->cfg.batch,
            (double)r->cfg.lr, r->cfg.deterministic ? ", deterministic" : "",
            r->cfg.precision == DP_PRECISION_BF16 ? ", precision bf16" : "");
}

/* What the finished (or stopped) run leaves: its exit code and, on success, the model. */
static int finish(const train_run *r, const train_output *out, const dp_model *model,
                  dp_status st, const dp_error *err)
{
    /* DP_ESTOPPED: our g_stop ended the run, for a signal or a failed log write below. */
    if (st != DP_OK && st != DP_ESTOPPED) return cli_fail(err);
    if (out->failed) return cli_fail(&out->err);
    if (g_signal) {
        fprintf(stderr, "dpmlp: stopped by signal %d after the current step; %s\n",
                (int)g_signal,
                out->checkpoints_written ? "checkpoint written, resume with --resume"
                                         : "no checkpoint (--checkpoint not set); no model saved");
        return 128 + g_signal;
    }
    if (st == DP_ESTOPPED) return cli_fail(err); /* g_stop set by no one we know: say so */
    const char *save = r->out.save;
    dp_error serr;
    if (save && dp_model_save(model, save, &serr) != DP_OK) return cli_fail(&serr);
    if (save && !r->cfg.quiet && out->best_epoch > 0)
        fprintf(stderr, "dpmlp: model saved to %s: epoch %d's weights (best validation loss "
                        "%.6g)\n", save, out->best_epoch, out->best_val_loss);
    else if (save && !r->cfg.quiet)
        fprintf(stderr, "dpmlp: model saved to %s\n", save);
    return 0;
}

/* A fresh run starts its log afresh; a resumed one keeps the epochs before its first. */
static dp_status open_log(const train_run *r, dp_log **log, dp_error *err)
{
    if (!r->resume) return dp_log_open(r->out.log, log, err);
    return dp_log_open_resume(r->out.log, cli_resume_first_epoch(&r->state, &r->cfg), log, err);
}

/* The header: the log's first line (a resumed log keeps its own and gains one saying so)
 * and, unless quiet, the start-up report. */
static int say_header(const train_run *r, const cli_data *data, const dp_dataset *val,
                      train_output *out)
{
    char line[4096];
    if (!cli_run_header(&r->o, &r->spec, &r->cfg, data, val, r->resume, line, sizeof line)) {
        fprintf(stderr, "dpmlp: warning: the run's header did not fit its line; not logged\n");
        return 0;
    }
    if (!r->cfg.quiet) fprintf(stderr, "dpmlp: %s\n", line);
    /* Rerunning a finished job trains nothing: its log stays as it was. */
    if (r->resume && cli_resume_first_epoch(&r->state, &r->cfg) > r->cfg.epochs) return 0;
    dp_error err;
    if (out->log && dp_log_line(out->log, line, &err) != DP_OK) return cli_fail(&err);
    return 0;
}

static int run_training(train_run *r, const cli_data *data)
{
    train_output out;
    memset(&out, 0, sizeof out);
    out.quiet = r->cfg.quiet;
    out.checkpoint = r->out.checkpoint;
    out.cfg = &r->cfg;
    dp_error err;
    int rc = 0;
    dp_model *model = NULL;
    dp_dataset *val = NULL;
    if (r->out.log && open_log(r, &out.log, &err) != DP_OK) {
        rc = cli_fail(&err);
        goto out;
    }
    if ((rc = cli_load_val(&r->o, &r->spec, &val))) goto out;
    if (!r->cfg.quiet) {
        out.progress = dp_progress_new(stderr, r->cfg.epochs, 0);
        if (r->cfg.schedule != DP_SCHED_CONSTANT || r->cfg.warmup > 0)
            dp_progress_show_lr(out.progress);
        say_start(r, data);
    }
    if (r->rank == 0 && (rc = say_header(r, data, val, &out))) goto out;
    model = dp_model_create(&r->spec, r->cfg.seed, &err);
    if (!model) {
        rc = cli_fail(&err);
        goto out;
    }
    install_signals();
    dp_train_hooks hooks = {on_message, on_step, on_epoch, &out, &g_stop,
                            out.checkpoint ? on_checkpoint : NULL, (int)r->every, on_step_loss};
    dp_status st = dp_train_val(model, data->train, val, data->test, &r->cfg, &hooks,
                                r->resume ? &r->state : NULL, &err);
    rc = finish(r, &out, model, st, &err);
out:
    dp_model_free(model);
    dp_data_free(val);
    if (out.progress) dp_progress_free(out.progress);
    if (out.log) dp_log_close(out.log);
    return rc;
}

static int train_main(int argc, char **argv, int rank)
{
    const char *cmd = "train";
    train_run r;
    memset(&r, 0, sizeof r);
    r.rank = rank;
    r.out.lock_fd = -1;
    int rc = cli_parse(cmd, argc, argv, DP_TRAIN_OPTS, &r.o);
    if (rc) return rc;
    if (dp_opts_get(&r.o, "help")) {
        /* One buffer for the whole text: a failed write is then seen at the flush, with its
         * errno (a write inside fputs would leave only the error flag). */
        static char help_buf[sizeof TRAIN_HELP];
        setvbuf(stdout, help_buf, _IOFBF, sizeof help_buf);
        fputs(TRAIN_HELP, stdout);
        return 0;
    }
    cli_data data = {NULL, NULL};
    if (!(rc = read_flags(cmd, &r)) && !(rc = cli_check_outputs(cmd, &r.o, &r.out, r.cfg.quiet)) &&
        !(rc = cli_load_data(cmd, &r.o, &r.spec, 1, r.cfg.seed, &data)))
        rc = run_training(&r, &data);
    cli_free_data(&data);
    dp_train_state_free(&r.state);
    if (r.out.lock_fd >= 0) close(r.out.lock_fd);
    return rc;
}

/* Do all ranks hold the same flags? A job whose ranks disagree cannot train one model. */
static int same_flags_everywhere(int argc, char **argv)
{
    size_t len = 0;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *joined = calloc(len + 1, 1);
    for (int i = 0; joined && i < argc; i++) strcat(strcat(joined, argv[i]), "\n");
    int same = joined && dp_dist_same_everywhere(joined, len);
    free(joined);
    return same;
}

/* Under mpirun every rank runs this: the same flags everywhere (checked), one shared fate —
 * a rank that fails ends the whole job with its exit code instead of leaving the others
 * waiting in an allreduce. */
int cmd_train(int argc, char **argv)
{
    dp_error err;
    /* A closed log or stdout reader must not kill the run unsaved: writes fail with EPIPE
     * instead, and the log stops with a warning (on_epoch). */
    signal(SIGPIPE, SIG_IGN);
    if (dp_dist_init(&argc, &argv, &err) != DP_OK) return cli_fail(&err);
    int rank = dp_dist_rank(), size = dp_dist_size();
    if (size > 1 && !same_flags_everywhere(argc, argv)) {
        if (rank == 0) fprintf(stderr, "dpmlp: train: the ranks were given different flags\n");
        dp_dist_abort(DP_EUSAGE);
        return DP_EUSAGE;
    }
    int rc = train_main(argc, argv, rank);
    /* A stop by a signal is one every rank agreed on, not a failure. */
    if (size > 1 && rc != 0 && !stopped_by_signal(rc)) {
        fprintf(stderr, "dpmlp: rank %d of %d failed (exit %d): stopping the job\n", rank, size,
                rc);
        dp_dist_abort(rc);
        return rc;
    }
    dp_dist_finalize();
    return rc;
}
