/* dpmlp — public C API of the data-parallel MLP trainer.
 * Opaque handles for models and datasets, plain structs for the model spec and the
 * training configuration, and status codes that are sysexits.h values (so the CLI maps
 * them 1:1 to exit codes). Every call that can fail fills a dp_error with one line. */
#ifndef DPMLP_H
#define DPMLP_H

#include <stddef.h>
#include <stdint.h>

/* The one place the version lives: the Makefile reads these three lines for the shared
 * library's name (libdpmlp.so.MAJOR.MINOR, soname libdpmlp.so.MAJOR) and dpmlp.pc. */
#define DPMLP_VERSION_MAJOR 0
#define DPMLP_VERSION_MINOR 1
#define DPMLP_VERSION_PATCH 0
#define DP_STR_(x) #x
#define DP_STR(x) DP_STR_(x)
#define DPMLP_VERSION                                                                          \
    DP_STR(DPMLP_VERSION_MAJOR) "." DP_STR(DPMLP_VERSION_MINOR) "." DP_STR(DPMLP_VERSION_PATCH)

/* Thread safety (also in libdpmlp(3)).
 * - Every call is reentrant: the library keeps no mutable global state except the kernel
 *   path chosen once (thread-safe, pthread_once) and the registry of atomic writes in
 *   flight (locked); different objects may be used from different threads at once.
 * - A dp_model, dp_dataset or dp_spec that no thread modifies may be shared: any number of
 *   threads may call dp_model_predict, dp_predict, dp_evaluate, dp_model_save and the
 *   accessors on the same model, and train or evaluate on the same dataset, concurrently.
 * - Calls that modify an object need it to themselves: dp_train / dp_train_resume (the
 *   model's weights change in place), writing through dp_model_params, dp_model_free,
 *   dp_data_free. No other call on that model may run meanwhile.
 * - dp_train, dp_train_resume, dp_evaluate and dp_predict start their own worker threads
 *   and return after they have ended; hooks are called from those threads (see
 *   dp_train_hooks). dp_model_predict runs on the calling thread only.
 * - dp_dist_* (MPI): only the thread that called dp_dist_init. dp_abort_writes is
 *   async-signal-safe; nothing else is. */

typedef enum dp_status {
    DP_OK = 0,
    DP_EUSAGE = 64,     /* bad flag or value */
    DP_EDATA = 65,      /* malformed or inconsistent input data, model or checkpoint */
    DP_ENOINPUT = 66,   /* input file missing or unreadable */
    DP_EINTERNAL = 70,  /* a bug or a numerical fault we could not recover from */
    DP_EOSERR = 71,     /* the system refused a resource: a worker thread could not start */
    DP_EIO = 74,        /* write failed (disk full, unwritable directory, I/O error) */
    DP_ETEMPFAIL = 75,  /* another run holds the checkpoint's lock: try again later */
    DP_ESTOPPED = 128,  /* dp_train ended early by hooks->stop; the model holds the weights
                         * after the last complete step (the CLI exits 128 + the signal) */
    DP_EINTR = 130,     /* stopped by SIGINT (143 for SIGTERM is 128 + 15) */
    DP_ETERM = 143
} dp_status;

typedef struct dp_error {
    dp_status code;
    char msg[512];
} dp_error;

/* Fills err (when non-NULL) with one printf-formatted line and code, and returns code, so
 * failure paths (the library's and a hook's) read `return dp_fail(err, DP_EDATA, ...);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
dp_status dp_fail(dp_error *err, dp_status code, const char *fmt, ...);

/* Codes are stored in files: new values go at the end. gelu is the tanh approximation;
 * leaky_relu's slope is dp_spec.leaky_slope. */
typedef enum dp_act {
    DP_ACT_RELU, DP_ACT_SIGMOID, DP_ACT_TANH, DP_ACT_LINEAR, DP_ACT_SOFTMAX, DP_ACT_LEAKY_RELU,
    DP_ACT_GELU
} dp_act;
typedef enum dp_loss { DP_LOSS_XENT, DP_LOSS_BCE, DP_LOSS_MSE, DP_LOSS_MAE } dp_loss;
/* adam's weight decay is L2 (added to the gradient); adamw's is decoupled (w -= lr·wd·w beside
 * the Adam step, Loshchilov & Hutter). */
typedef enum dp_optim_kind { DP_OPT_SGD, DP_OPT_MOMENTUM, DP_OPT_ADAM, DP_OPT_ADAMW } dp_optim_kind;
typedef enum dp_bind { DP_BIND_COMPACT, DP_BIND_SPREAD, DP_BIND_NONE } dp_bind;
/* How the per-worker gradients are summed: segmented (each worker reduces and updates its own
 * slice; the default), serial (worker 0 sums everything), tree (pairwise, log2 T rounds). */
typedef enum dp_reduce { DP_REDUCE_SEGMENTED, DP_REDUCE_SERIAL, DP_REDUCE_TREE } dp_reduce;
/* Learning-rate schedules (src/math/schedule.h has the formulas). */
typedef enum dp_schedule {
    DP_SCHED_CONSTANT, DP_SCHED_STEP, DP_SCHED_COSINE, DP_SCHED_PLATEAU
} dp_schedule;
/* The GEMMs' arithmetic: fp32, or bf16 mixed precision (operands rounded to bf16, products
 * summed in fp32; weights, gradients, optimizer state and files stay fp32). */
typedef enum dp_precision { DP_PRECISION_FP32, DP_PRECISION_BF16 } dp_precision;

#define DP_MAX_SIZES 32       /* layer sizes incl. input and output: up to 31 weight layers */
#define DP_MAX_WIDTH 1048576  /* widest layer we accept from flags or files */
#define DP_MAX_THREADS 4096   /* most workers per process we accept from flags or files */

/* The model's meaning: sizes from input to output, the activation of every weight layer, the
 * loss. Two ways to give the activations: n_act == 0 (older code and files): `hidden` for
 * every hidden layer and the loss's default output (xent→softmax, bce→sigmoid,
 * mse/mae→linear); n_act == n_sizes - 1: act[l] for weight layer l, the output layer last.
 * Read them through dp_spec_layer_act, never the fields. Rules (dp_spec_validate): xent needs
 * a softmax output and bce a sigmoid one (fused with the loss, numerically stable); mse and
 * mae take softmax, sigmoid, tanh or linear; hidden layers take relu, leaky_relu, gelu, tanh,
 * sigmoid or linear; leaky_slope (leaky_relu's slope for x < 0) is in [0, 1]. */
typedef struct dp_spec {
    int n_sizes;
    int sizes[DP_MAX_SIZES];
    dp_act hidden;
    dp_loss loss;
    int n_act;                      /* 0 or n_sizes - 1 */
    dp_act act[DP_MAX_SIZES - 1];   /* per weight layer when n_act > 0 */
    float leaky_slope;              /* the CLI's default: DP_LEAKY_SLOPE_DEFAULT */
} dp_spec;

#define DP_LEAKY_SLOPE_DEFAULT 0.01f

typedef struct dp_train_config {
    dp_optim_kind optim;
    float lr, momentum, weight_decay;
    float beta1, beta2, eps;    /* Adam */
    int epochs;
    int batch;                  /* global batch (all workers together) */
    uint64_t seed;
    int threads;                /* workers; >= 1 (the CLI resolves the default) */
    dp_bind bind;
    dp_reduce reduce;
    int team_openmp;            /* 0: pthreads team (default), 1: one OpenMP parallel region */
    long max_steps;             /* stop after this many optimizer steps; 0 = no limit */
    int deterministic;          /* same bytes for every thread count (fixed micro-shards) */
    int verify_ranks;           /* MPI: check every epoch that all ranks hold the same model */
    int resume_any_data;        /* resume even if the training data's fingerprint differs */
    int quiet;                  /* no progress output on stderr */
    /* Inverted dropout on the outputs of hidden layer l (weight layer l, 0-based), training
     * only: each unit is kept with probability 1 - dropout[l] and scaled by 1/(1 - dropout[l]).
     * 0 = off; entries beyond the hidden layers must be 0. The mask is a pure function of (seed,
     * epoch, the sample's position in the epoch's order, layer, unit): never of the thread. */
    float dropout[DP_MAX_SIZES];
    /* Validation and early stopping: with validation dp_train leaves the best epoch's weights
     * (lowest validation loss) in the model. */
    float val_split;            /* fraction of the training set held out; 0 = none */
    int early_stop;             /* stop after N epochs without a better val loss; 0 = off */
    /* Learning-rate schedule: lr is the peak; see dp_schedule and src/math/schedule.h. */
    dp_schedule schedule;
    long warmup;                /* steps of linear warm-up from lr/warmup to lr; 0 = none */
    float lr_min;               /* cosine's floor, plateau's lowest lr */
    int lr_step;                /* step: epochs between decays */
    float lr_gamma;             /* step: factor applied at each decay */
    int plateau_patience;       /* plateau: epochs without a better val loss before a cut */
    float plateau_factor;       /* plateau: factor applied at each cut */
    dp_precision precision;     /* fp32 (default) or bf16 mixed precision (checkpoint v3) */
} dp_train_config;

/* Metrics of one pass over a dataset. accuracy is for classification, mae for regression. */
typedef struct dp_metrics {
    size_t samples;
    double loss;
    double accuracy;
    double mae;
} dp_metrics;

typedef struct dp_model dp_model;
typedef struct dp_dataset dp_dataset;

/* Spec helpers. dp_spec_parse_layers fills the whole spec: the sizes from text ("784,256,10"),
 * the rest with the defaults (relu hidden layers, xent, n_act 0 = no per-layer list, leaky
 * slope DP_LEAKY_SLOPE_DEFAULT); set fields after it. */
dp_status dp_spec_parse_layers(const char *text, dp_spec *spec, dp_error *err);
dp_status dp_spec_validate(const dp_spec *spec, dp_error *err);
int dp_spec_is_classification(const dp_spec *spec);
/* The activation of weight layer `layer` (0..n_sizes-2, the output layer last), whichever way
 * the spec gives them (see dp_spec). */
dp_act dp_spec_layer_act(const dp_spec *spec, int layer);
/* The output activation a loss gets when none is given: xent→softmax, bce→sigmoid, else linear. */
dp_act dp_loss_default_out(dp_loss loss);
/* Dropout rates of cfg for spec's hidden layers: each in [0, 1), none beyond the hidden layers. */
dp_status dp_dropout_validate(const dp_spec *spec, const dp_train_config *cfg, dp_error *err);
/* The one table of names: dp_names gives the NULL-terminated names of a kind's values in enum
 * order (the team's: 0 pthreads, 1 openmp); dp_name_lookup the value of a name, or -1;
 * dp_name_of the name of a value, or "?". */
typedef enum dp_names_kind {
    DP_NAMES_ACT, DP_NAMES_LOSS, DP_NAMES_OPTIM, DP_NAMES_BIND, DP_NAMES_REDUCE, DP_NAMES_TEAM,
    DP_NAMES_SCHEDULE, DP_NAMES_PRECISION,
    DP_NAMES_EXPORT /* dp_export_format: onnx, npz, csv */
} dp_names_kind;
const char *const *dp_names(dp_names_kind kind);
int dp_name_lookup(dp_names_kind kind, const char *name);
const char *dp_name_of(dp_names_kind kind, int value);
const char *dp_act_name(dp_act a);
const char *dp_loss_name(dp_loss l);
const char *dp_optim_name(dp_optim_kind o);
const char *dp_bind_name(dp_bind b);
const char *dp_reduce_name(dp_reduce r);
void dp_train_config_defaults(dp_train_config *cfg);

/* The library's version at run time ("MAJOR.MINOR.PATCH"; compare with DPMLP_VERSION_* of
 * the header a client was compiled with). */
const char *dp_version(void);
int dp_version_major(void);
int dp_version_minor(void);
int dp_version_patch(void);

/* Models. */
dp_model *dp_model_create(const dp_spec *spec, uint64_t seed, dp_error *err);
void dp_model_free(dp_model *m);
const dp_spec *dp_model_spec(const dp_model *m);
size_t dp_model_n_params(const dp_model *m);
float *dp_model_params(dp_model *m);
dp_status dp_model_save(const dp_model *m, const char *path, dp_error *err);
dp_model *dp_model_load(const char *path, dp_error *err);

/* Export: a model for other tools (formats described in dpmlp(1) and the README's Export
 * section). onnx: opset 13, one Gemm + activation per layer, input "input" [batch, inputs],
 * output "output", W<l> stored outputs × inputs (transB = 1); npz: W0, b0, W1, b1, ... (y = x·W + b, W stored inputs × outputs, float32)
 * and `activations`; csv: one long-format file layer,activation,tensor,row,col,value.
 * dp_model_export writes path atomically; dp_model_export_stream writes to an open FILE*
 * (stdout for `--out -`) and does not close it. DP_EUSAGE for an activation a format cannot
 * express or a model too large for it, DP_EIO when the write fails. */
typedef enum dp_export_format { DP_EXPORT_ONNX, DP_EXPORT_NPZ, DP_EXPORT_CSV } dp_export_format;
dp_status dp_model_export(const dp_model *m, dp_export_format format, const char *path,
                          dp_error *err);
dp_status dp_model_export_stream(const dp_model *m, dp_export_format format, void *file /* FILE* */,
                                 dp_error *err);

/* Datasets. MNIST layout: dir holds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
dp_status dp_data_load_mnist(const char *dir, int test_split, dp_dataset **out, dp_error *err);
/* CSV: n_targets == 0 → last column is an integer class; K > 0 → last K columns are targets;
 * n_targets < 0 → features only (prediction input): labels all 0, max_label -1; with
 * n_targets = -1 - K a row may also hold K more columns (labels/targets), ignored whatever they
 * hold. A skipped header row is said in dp_data_note. */
dp_status dp_data_load_csv(const char *path, int n_in, int n_targets, dp_dataset **out, dp_error *err);
/* n seeded random samples shaped by spec (for `--data synthetic:N`): features ~ N(0,1);
 * classes (classification) or targets (regression) from a fixed random teacher network so
 * the task is learnable. */
dp_status dp_data_synthetic(const dp_spec *spec, size_t n, uint64_t seed, dp_dataset **out,
                            dp_error *err);
/* A dataset from n rows of a caller's arrays, copied (the caller keeps and frees its own):
 * x is n × n_features, row-major; labels (n class indices >= 0, targets NULL, n_targets 0)
 * for classification, or targets (n × n_targets, row-major, labels NULL) for regression;
 * both NULL with n_targets 0: features only, for prediction. Non-finite features or targets
 * and negative labels are DP_EDATA naming the (0-based) row; inconsistent arguments
 * DP_EUSAGE. */
dp_status dp_data_from_arrays(size_t n, size_t n_features, const float *x, const int32_t *labels,
                              const float *targets, size_t n_targets, dp_dataset **out,
                              dp_error *err);
void dp_data_free(dp_dataset *d);
size_t dp_data_count(const dp_dataset *d);
size_t dp_data_features(const dp_dataset *d);
/* 64-bit fingerprint of a dataset's content (features, labels, targets and shape): what a
 * checkpoint stores so that resume can refuse other data of the same size. */
uint64_t dp_data_fingerprint(const dp_dataset *d);
/* A note on how the file was read that the user should see (e.g. "data.csv: first row taken
 * as a header"), or NULL. */
const char *dp_data_note(const dp_dataset *d);
/* Does the dataset fit the model (features = input size, labels/targets fit the output)? */
dp_status dp_data_check_fits(const dp_dataset *d, const dp_spec *spec, dp_error *err);

/* What one epoch measured. Phase times are worker 0's wall seconds inside the step;
 * imbalance = slowest worker's compute time / mean, per step, averaged over the epoch. */
typedef struct dp_epoch_stats {
    int epoch;                  /* 1-based */
    int partial;                /* the run stopped inside this epoch (signal or --steps) */
    long steps;                 /* optimizer steps in this epoch */
    size_t samples;             /* training samples seen in this epoch */
    double train_loss;          /* mean over the epoch's samples, at the weights each saw */
    int has_test, classification;
    dp_metrics test;
    double seconds, samples_per_sec;
    double forward_s, backward_s, reduce_s, update_s;
    double imbalance;
    int ranks;                  /* MPI processes in the run (1 without MPI) */
    double allreduce_s;         /* worker 0's seconds in MPI allreduce this epoch */
    int has_val;                /* validation set (split or given) evaluated after the epoch */
    dp_metrics val;
    double lr;                  /* learning rate of the epoch's last step */
    int best_epoch;             /* epoch of the lowest val loss so far (0: no validation) */
    double best_val_loss;
    int early_stopped;          /* early stopping ends the run after this epoch */
} dp_epoch_stats;

/* Everything needed to continue a run exactly where it stopped: a checkpoint's content.
 * The shuffle of epoch e is a pure function of (seed, e); perm is that order, stored so a
 * checkpoint is self-describing and verified on resume. */
typedef struct dp_train_state {
    int epoch;                  /* epoch in progress, 1-based */
    long next_step;             /* steps of `epoch` already applied (0 = epoch not started) */
    long global_step;           /* optimizer steps applied since the start of the run */
    size_t n_train;             /* training samples (the data must match on resume) */
    uint64_t data_fingerprint;  /* dp_data_fingerprint of the training set (0: not recorded) */
    double epoch_loss;          /* loss sum, samples and steps of the partial epoch */
    size_t epoch_samples;
    long epoch_steps;
    size_t n_params;
    int n_moments;              /* optimizer moment arrays: 0 sgd, 1 momentum, 2 adam */
    float *params, *m1, *m2;    /* n_params each (m1/m2 NULL when unused) */
    uint32_t *perm;             /* n_train: the shuffle of `epoch` */
    /* Validation (format 3): the best complete epoch so far, its val loss and weights, and
     * the counters early stopping and the plateau schedule decide on. */
    int best_epoch;             /* 0: none yet */
    double best_loss;
    int bad_epochs;             /* complete epochs since best_epoch */
    int plateau_bad;            /* epochs since the last improvement or lr cut */
    int lr_cuts;                /* plateau cuts so far: lr = lr * plateau_factor^lr_cuts */
    float *best_params;         /* n_params when best_epoch > 0, else NULL */
} dp_train_state;

/* Called every checkpoint_every epochs at the end of the epoch and once more when a stop
 * request ends the run mid-epoch, from the trainer's checkpoint thread with a copy of the
 * state while the team trains on (one call at a time, in order; dp_train returns only after
 * the last one has returned). A non-OK return stops training with that error, at the latest
 * after the next step (the previous checkpoint is untouched: writes are atomic). */
typedef dp_status (*dp_checkpoint_fn)(void *ctx, const dp_spec *spec, const dp_train_config *cfg,
                                      const dp_train_state *state, dp_error *err);

/* Callbacks from the trainer: on_step from worker 0 after each step (keep it cheap),
 * on_epoch after each epoch's evaluation. stop, when non-NULL and set non-zero (e.g. by a
 * signal handler), ends training after the current step: dp_train then returns DP_ESTOPPED
 * (after the stop checkpoint, if any), the model holding the weights of that last step. */
typedef struct dp_train_hooks {
    void (*on_message)(void *ctx, const char *line);  /* start-up report, warnings */
    void (*on_step)(void *ctx, int epoch, long step, long steps_in_epoch);
    void (*on_epoch)(void *ctx, const dp_epoch_stats *stats);
    void *ctx;
    volatile int *stop;
    dp_checkpoint_fn checkpoint;    /* NULL: no checkpoints */
    int checkpoint_every;           /* epochs between checkpoints (>= 1) */
    /* May be NULL: just before on_step, that step's loss summed over its `samples` rows (all
     * ranks), for a running loss on the progress line. */
    void (*on_step_loss)(void *ctx, double loss_sum, size_t samples);
} dp_train_hooks;

/* Training, evaluation, prediction. */
dp_status dp_train(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                   const dp_train_config *cfg, const dp_train_hooks *hooks, dp_error *err);
/* dp_train continuing from a checkpointed state (NULL: a fresh run). The state must come from
 * the same spec, optimizer, batch, seed and training set size; params are taken from it. */
dp_status dp_train_resume(dp_model *m, const dp_dataset *train, const dp_dataset *test,
                          const dp_train_config *cfg, const dp_train_hooks *hooks,
                          const dp_train_state *resume, dp_error *err);
/* dp_train_resume with a validation set: val (may be NULL) is evaluated after every epoch;
 * with cfg->val_split > 0 instead, a seeded fraction of train is held out (val must be NULL).
 * Either way, early stopping and the plateau schedule decide on its loss, and the model ends
 * with the best epoch's weights. */
dp_status dp_train_val(dp_model *m, const dp_dataset *train, const dp_dataset *val,
                       const dp_dataset *test, const dp_train_config *cfg,
                       const dp_train_hooks *hooks, const dp_train_state *resume, dp_error *err);
/* The split dp_train_val makes for cfg->val_split: round(frac * n) samples (at least 1, at most
 * n - 1) chosen by the seed alone go to *val, the rest to *train, both in file order. */
dp_status dp_data_split(const dp_dataset *d, double frac, uint64_t seed, dp_dataset **train,
                        dp_dataset **val, dp_error *err);
/* How many of n samples that split holds out (0 when n < 2 or frac is not in (0, 1)). */
size_t dp_data_split_count(size_t n, double frac);
/* Frees the arrays of a loaded state and zeroes it; safe on NULL and on a zeroed struct. */
void dp_train_state_free(dp_train_state *s);
/* Checkpoint files (format in src/ckpt.h): written atomically; loads validate everything and
 * fill only the config fields a checkpoint stores (optimizer, lr, momentum, weight decay,
 * betas, eps, epochs, batch, seed, threads, reduce; format 2: deterministic; format 3:
 * val_split, early_stop, the schedule's fields, dropout and precision) and the state (format 3:
 * the best epoch, its loss and weights, the early-stopping and plateau counters). */
dp_status dp_checkpoint_save(const char *path, const dp_spec *spec, const dp_train_config *cfg,
                             const dp_train_state *state, dp_error *err);
dp_status dp_checkpoint_load(const char *path, dp_spec *spec, dp_train_config *cfg,
                             dp_train_state *state, dp_error *err);
/* The longest suffix an atomic write appends to its path for the temp file (Linux pids have
 * at most 7 digits): what an output name plus it must fit in NAME_MAX. */
#define DP_TEMP_SUFFIX_MAX (sizeof ".tmp.4194304.XXXXXX" - 1)
/* Atomic writes (models, checkpoints) go through PATH.tmp.<pid>.<6 random>. Removes such
 * temp files beside path whose writing process is gone (a kill -9 leaves them), never another
 * name nor a live writer's; calls on_removed (may be NULL) for each and returns how many. */
int dp_remove_stale_temps(const char *path, void (*on_removed)(void *ctx, const char *temp),
                          void *ctx);
/* Async-signal-safe: unlinks the temp files of the atomic writes in flight, so a signal
 * handler that ends the process at once (a second SIGTERM) leaves no PATH.tmp.* behind. */
void dp_abort_writes(void);
dp_status dp_evaluate(const dp_model *m, const dp_dataset *d, int threads, dp_metrics *out,
                      dp_error *err);
/* Evaluation and prediction with options; dp_evaluate/dp_predict are these with
 * {threads, DP_PRECISION_FP32}. bf16 rounds the GEMM operands as training in bf16 does. */
typedef struct dp_eval_options {
    int threads;
    dp_precision precision;
} dp_eval_options;
dp_status dp_evaluate_ex(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                         dp_metrics *out, dp_error *err);
dp_status dp_predict_ex(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                        float *out, dp_error *err);
/* What `eval --metrics` reports. Classification: confusion[true * n_classes + predicted] and
 * per-class precision, recall, F1 (0 where undefined); regression: MAE, RMSE and R² over all
 * outputs (R² = 1 - SS_res / SS_tot, SS_tot about each output's mean). */
typedef struct dp_metrics_full {
    dp_metrics base;
    int classification;
    int n_classes;              /* K, or 2 for a one-output bce model */
    uint64_t *confusion;        /* n_classes² */
    double *precision, *recall, *f1;  /* n_classes each */
    double macro_f1;
    double mae, rmse, r2;
} dp_metrics_full;
/* dp_evaluate_ex and these metrics (two passes; the options as dp_evaluate_ex's). */
dp_status dp_evaluate_full(const dp_model *m, const dp_dataset *d, const dp_eval_options *opt,
                           dp_metrics_full *out, dp_error *err);
void dp_metrics_full_free(dp_metrics_full *m);
/* out: n × outputs, the output layer's activations (probabilities or values). */
dp_status dp_predict(const dp_model *m, const dp_dataset *d, int threads, float *out,
                     dp_error *err);
/* The same for n rows of a caller's array x (n × inputs, row-major) into out (n × outputs),
 * on the calling thread: no threads, no copy of x or out. Its only allocation is a workspace
 * of DP_PREDICT_ROWS rows (fewer for very wide layers: at most DP_PREDICT_WORKSPACE_BYTES) of
 * every layer's activations, made and freed per call. Rows are independent; a non-finite
 * input gives non-finite outputs in its row only. Runs in the caller's floating-point
 * environment. A shared model may be used by many threads at once (see above). */
#define DP_PREDICT_ROWS 32
#define DP_PREDICT_WORKSPACE_BYTES ((size_t)4 << 20)
dp_status dp_model_predict(const dp_model *m, size_t n, const float *x, float *out,
                           dp_error *err);

/* Machine. Default worker count (OMP_NUM_THREADS, else allowed physical cores capped by a
 * cgroup CPU quota and by SLURM_CPUS_PER_TASK) with one line on why; the topology and a
 * placement plan as text. */
int dp_default_threads(char *why, size_t why_len);
dp_status dp_topo_print(int threads, dp_bind bind, void *file /* FILE* */, dp_error *err);
/* One line: version, compiler, OpenMP, hwloc, kernel path. */
void dp_build_info(char *buf, size_t len);

/* Multi-process runs (MPI; `make MPI=1`). The default build is rank 0 of 1 and these are the
 * identity. dp_dist_init: MPI_Init_thread with FUNNELED (refuses a library that offers less);
 * only the thread that called it may call the others. */
dp_status dp_dist_init(int *argc, char ***argv, dp_error *err);
void dp_dist_finalize(void);
int dp_dist_rank(void);
int dp_dist_size(void);
/* Do all ranks hold the same bytes? (Compares a 64-bit hash; collective.) */
int dp_dist_same_everywhere(const void *bytes, size_t len);
/* With several ranks, ends the whole job with this exit code (MPI_Abort). With one rank it
 * finalizes MPI and returns: the caller exits with the code. */
void dp_dist_abort(int code);

#endif
