/* Checkpoint files: the whole training state (spec, stored config, step counters, parameters,
 * optimizer moments, the epoch's shuffle) in the layout documented in ckpt.h, written through
 * dp_atomic_write and loaded as hostile input: sizes are proven against the file before any
 * allocation, the CRC before any semantic check, and nothing is handed out half-validated.
 * The header's fields are described once, in FIELDS below: the writer encodes from it, the
 * loader decodes and range-checks from it, and the writer runs the loader's checks on what it
 * encoded, so a file that would not load is never written. */
#include "ckpt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "err.h"
#include "fileio.h"

#define MAX_TRAIN (1ull << 28)  /* perm entries are u32 and the bitmap check stays <= 32 MiB */
/* Counters a real run reaches, far below where a signed counter or a double's exact integers
 * end: epoch + 1 and step + 1 never overflow on resume. */
#define MAX_EPOCHS 1000000000ull
#define MAX_STEPS (1ull << 53)

/* ---- the header's fields ---- */

enum { CFG, ST, SP };                /* which struct holds the field: config, state, spec */
enum { M_INT, M_LONG, M_SIZE, M_U64, M_FLOAT, M_DOUBLE }; /* the member's C type */
enum { R_NONE, R_INT, R_POS, R_NONNEG, R_UNIT, R_FINITE }; /* what a load accepts */

typedef struct field {
    const char *say;        /* the field in messages: "epoch is", "config batch" */
    unsigned char in, wire, mem, range, since; /* struct, bytes in the file, type, range, version */
    size_t off;             /* offsetof in its struct */
    uint64_t lo, hi;        /* R_INT bounds */
} field;

#define C_(say, wire, mem, range, m, lo, hi) {say, CFG, wire, mem, range, 1, offsetof(dp_train_config, m), lo, hi}
#define S_(say, wire, mem, range, m, lo, hi) {say, ST, wire, mem, range, 1, offsetof(dp_train_state, m), lo, hi}

/* One row per weight layer's activation and per hidden layer's dropout rate (version 3). */
#define ACT_ROW(i) [F_ACT0 + (i)] = {"layer activation code", SP, 4, M_INT, R_INT, 3, \
                                     offsetof(dp_spec, act[i]), 0, DP_ACT_GELU}
#define DROP_ROW(i) [F_DROP0 + (i)] = {"config dropout", CFG, 4, M_FLOAT, R_UNIT, 3, \
                                       offsetof(dp_train_config, dropout[i]), 0, 0}
#define X4(M, i) M(i), M((i) + 1), M((i) + 2), M((i) + 3)
#define X16(M, i) X4(M, i), X4(M, (i) + 4), X4(M, (i) + 8), X4(M, (i) + 12)

/* File order. Fields F_NTRAIN, F_NPARAMS and F_NMOM size the file and are checked before it
 * is read; the others after its CRC. */
enum { F_OPTIM, F_LR, F_MOM, F_WD, F_B1, F_B2, F_EPS, F_EPOCHS, F_BATCH, F_SEED, F_THREADS,
       F_REDUCE, F_EPOCH, F_NEXT, F_GSTEP, F_NTRAIN, F_LOSS, F_ESAMPLES, F_ESTEPS, F_NPARAMS,
       F_NMOM, F_FPRINT, F_DETERM,
       /* version 3: the per-layer activations, leaky_relu's slope, dropout per hidden layer */
       F_NACT, F_SLOPE, F_ACT0, F_DROP0 = F_ACT0 + DP_MAX_SIZES - 1,
       /* version 3: validation, early stopping, the lr schedule and their decisions */
       F_VSPLIT = F_DROP0 + DP_MAX_SIZES - 2, F_ESTOP, F_SCHED, F_WARMUP, F_LRMIN, F_LRSTEP,
       F_LRGAMMA, F_PPAT, F_PFACT, F_BEST, F_BLOSS, F_BAD, F_PBAD, F_CUTS,
       /* version 3: the GEMMs' precision */
       F_PRECISION,
       N_FIELDS };
#define C3_(say, wire, mem, range, m, lo, hi) {say, CFG, wire, mem, range, 3, offsetof(dp_train_config, m), lo, hi}
#define S3_(say, wire, mem, range, m, lo, hi) {say, ST, wire, mem, range, 3, offsetof(dp_train_state, m), lo, hi}
static const field FIELDS[N_FIELDS] = {
    C_("optimizer code", 4, M_INT, R_INT, optim, 0, DP_OPT_ADAMW),
    C_("config lr", 4, M_FLOAT, R_POS, lr, 0, 0),
    C_("config momentum", 4, M_FLOAT, R_UNIT, momentum, 0, 0),
    C_("config weight_decay", 4, M_FLOAT, R_NONNEG, weight_decay, 0, 0),
    C_("config beta1", 4, M_FLOAT, R_UNIT, beta1, 0, 0),
    C_("config beta2", 4, M_FLOAT, R_UNIT, beta2, 0, 0),
    C_("config eps", 4, M_FLOAT, R_POS, eps, 0, 0),
    C_("config epochs", 4, M_INT, R_INT, epochs, 1, MAX_EPOCHS),
    C_("config batch", 4, M_INT, R_INT, batch, 1, INT_MAX),
    C_("config seed", 8, M_U64, R_NONE, seed, 0, 0),
    C_("config threads", 4, M_INT, R_INT, threads, 1, DP_MAX_THREADS),
    C_("reduce code", 4, M_INT, R_INT, reduce, 0, DP_REDUCE_TREE),
    S_("epoch is", 4, M_INT, R_INT, epoch, 1, MAX_EPOCHS),
    S_("next_step is", 8, M_LONG, R_INT, next_step, 0, MAX_STEPS),
    S_("global_step is", 8, M_LONG, R_INT, global_step, 0, MAX_STEPS),
    S_("header n_train is", 8, M_SIZE, R_INT, n_train, 1, MAX_TRAIN),
    S_("epoch_loss", 8, M_DOUBLE, R_FINITE, epoch_loss, 0, 0),
    S_("epoch_samples is", 8, M_SIZE, R_INT, epoch_samples, 0, MAX_TRAIN),
    S_("epoch_steps is", 8, M_LONG, R_INT, epoch_steps, 0, MAX_STEPS),
    S_("header n_params", 8, M_SIZE, R_NONE, n_params, 0, 0),
    S_("header n_moments is", 4, M_INT, R_INT, n_moments, 0, 2),
    {"data_fingerprint", ST, 8, M_U64, R_NONE, 2, offsetof(dp_train_state, data_fingerprint), 0, 0},
    {"config deterministic", CFG, 4, M_INT, R_INT, 2, offsetof(dp_train_config, deterministic), 0, 1},
    /* Version 3. A version 2 file reads n_act 0: the spec's hidden and loss say every layer's
     * activation (dp_spec), slope and dropout 0, as those runs had. dp_spec_validate checks
     * the slope and what fits where. */
    [F_NACT] = {"header n_act is", SP, 4, M_INT, R_INT, 3, offsetof(dp_spec, n_act), 0, DP_MAX_SIZES - 1},
    [F_SLOPE] = {"leaky_slope", SP, 4, M_FLOAT, R_NONE, 3, offsetof(dp_spec, leaky_slope), 0, 0},
    X16(ACT_ROW, 0), X4(ACT_ROW, 16), X4(ACT_ROW, 20), X4(ACT_ROW, 24),
    ACT_ROW(28), ACT_ROW(29), ACT_ROW(30),
    X16(DROP_ROW, 0), X4(DROP_ROW, 16), X4(DROP_ROW, 20), X4(DROP_ROW, 24),
    DROP_ROW(28), DROP_ROW(29),
    C3_("config val_split", 4, M_FLOAT, R_UNIT, val_split, 0, 0),
    C3_("config early_stop", 4, M_INT, R_INT, early_stop, 0, MAX_EPOCHS),
    C3_("schedule code", 4, M_INT, R_INT, schedule, 0, DP_SCHED_PLATEAU),
    C3_("config warmup", 8, M_LONG, R_INT, warmup, 0, MAX_STEPS),
    C3_("config lr_min", 4, M_FLOAT, R_NONNEG, lr_min, 0, 0),
    C3_("config lr_step", 4, M_INT, R_INT, lr_step, 0, MAX_EPOCHS),
    C3_("config lr_gamma", 4, M_FLOAT, R_NONNEG, lr_gamma, 0, 0),
    C3_("config plateau_patience", 4, M_INT, R_INT, plateau_patience, 0, MAX_EPOCHS),
    C3_("config plateau_factor", 4, M_FLOAT, R_UNIT, plateau_factor, 0, 0),
    S3_("best_epoch is", 4, M_INT, R_INT, best_epoch, 0, MAX_EPOCHS),
    S3_("best_loss", 8, M_DOUBLE, R_FINITE, best_loss, 0, 0),
    S3_("bad_epochs is", 4, M_INT, R_INT, bad_epochs, 0, MAX_EPOCHS),
    S3_("plateau_bad is", 4, M_INT, R_INT, plateau_bad, 0, MAX_EPOCHS),
    S3_("lr_cuts is", 4, M_INT, R_INT, lr_cuts, 0, MAX_EPOCHS),
    C3_("config precision", 4, M_INT, R_INT, precision, 0, DP_PRECISION_BF16),
};

_Static_assert(sizeof(dp_optim_kind) == sizeof(int) && sizeof(dp_reduce) == sizeof(int) &&
                   sizeof(dp_act) == sizeof(int) && sizeof(dp_schedule) == sizeof(int) &&
                   sizeof(dp_precision) == sizeof(int),
               "enum members are stored through M_INT");

/* Header bytes after the prologue for a version. */
static size_t fields_len(uint32_t version)
{
    size_t n = 0;
    for (int i = 0; i < N_FIELDS; i++)
        if (FIELDS[i].since <= version) n += FIELDS[i].wire;
    return n;
}

static size_t ckpt_head_len(uint32_t version, uint32_t n_sizes)
{
    return DP_FILE_FIXED_HEAD + 4 * (size_t)n_sizes + 8 + fields_len(version);
}

static const dp_file_kind CKPT_KIND = {
    .magic = DP_FILE_CKPT_MAGIC,
    .other_magic = DP_FILE_MODEL_MAGIC,
    .other_msg = "is a model file, not a checkpoint (give it to --model, or resume from a file "
                 "written by --checkpoint)",
    .bad_magic_msg = "not a dpmlp checkpoint (bad magic)",
    .header_noun = "a checkpoint header",
    .big_endian = "written by a big-endian machine (byte order marker 01 02 03 04); this dpmlp "
                  "reads little-endian checkpoints",
    .version_noun = "checkpoint format",
    .min_version = DP_CKPT_OLDEST_VERSION,
    .max_version = DP_CKPT_FORMAT_VERSION,
    .head_len = ckpt_head_len,
};

/* The header's field values as they are on the wire (floats as their bits, zero-extended). */
typedef struct raw_fields {
    uint64_t v[N_FIELDS];
} raw_fields;

static uint64_t member_get(const field *f, const void *base)
{
    const unsigned char *p = (const unsigned char *)base + f->off;
    switch (f->mem) {
    case M_INT: { int x; memcpy(&x, p, sizeof x); return (uint32_t)x; }
    case M_LONG: { long x; memcpy(&x, p, sizeof x); return (uint64_t)x; }
    case M_SIZE: { size_t x; memcpy(&x, p, sizeof x); return (uint64_t)x; }
    case M_FLOAT: { float x; memcpy(&x, p, sizeof x); return dp_float_bits(x); }
    case M_DOUBLE: { double x; memcpy(&x, p, sizeof x); return dp_double_bits(x); }
    default: { uint64_t x; memcpy(&x, p, sizeof x); return x; }
    }
}

/* Only for values the range checks accepted: each fits its member. */
static void member_set(const field *f, void *base, uint64_t v)
{
    unsigned char *p = (unsigned char *)base + f->off;
    switch (f->mem) {
    case M_INT: { int x = (int)v; memcpy(p, &x, sizeof x); break; }
    case M_LONG: { long x = (long)v; memcpy(p, &x, sizeof x); break; }
    case M_SIZE: { size_t x = (size_t)v; memcpy(p, &x, sizeof x); break; }
    case M_FLOAT: { float x = dp_bits_float((uint32_t)v); memcpy(p, &x, sizeof x); break; }
    case M_DOUBLE: { double x = dp_bits_double(v); memcpy(p, &x, sizeof x); break; }
    default: memcpy(p, &v, sizeof v); break;
    }
}

static const void *field_src(const field *f, const dp_spec *sp, const dp_train_config *cfg,
                             const dp_train_state *st)
{
    return f->in == CFG ? (const void *)cfg : f->in == ST ? (const void *)st : (const void *)sp;
}

static void raw_from(raw_fields *r, const dp_spec *sp, const dp_train_config *cfg,
                     const dp_train_state *st)
{
    for (int i = 0; i < N_FIELDS; i++) r->v[i] = member_get(&FIELDS[i], field_src(&FIELDS[i], sp, cfg, st));
}

/* The spec's fields (set before the checks: dp_spec_validate judges them; every value fits
 * its member, none is used as a size) or the config's and state's (after the checks). */
static void raw_to(const raw_fields *r, int spec_fields, dp_spec *sp, dp_train_config *cfg,
                   dp_train_state *st)
{
    for (int i = 0; i < N_FIELDS; i++)
        if ((FIELDS[i].in == SP) == spec_fields)
            member_set(&FIELDS[i], (void *)field_src(&FIELDS[i], sp, cfg, st), r->v[i]);
}

static size_t raw_encode(const raw_fields *r, unsigned char *b)
{
    size_t at = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        if (FIELDS[i].wire == 4)
            dp_put_u32(b + at, (uint32_t)r->v[i]);
        else
            dp_put_u64(b + at, r->v[i]);
        at += FIELDS[i].wire;
    }
    return at;
}

/* Fields newer than the file's version stay 0 (data_fingerprint 0: not recorded). */
static void raw_decode(raw_fields *r, const unsigned char *b, uint32_t version)
{
    size_t at = 0;
    for (int i = 0; i < N_FIELDS; i++) {
        r->v[i] = 0;
        if (FIELDS[i].since > version) continue;
        r->v[i] = FIELDS[i].wire == 4 ? dp_get_u32(b + at) : dp_get_u64(b + at);
        at += FIELDS[i].wire;
    }
}

/* NULL if field i's value is in range, else why. */
static const char *range_check(const raw_fields *r, int i, char *why, size_t why_len)
{
    const field *f = &FIELDS[i];
    uint64_t v = r->v[i];
    if (f->range == R_INT) {
        if (v >= f->lo && v <= f->hi) return NULL;
        snprintf(why, why_len, "%s %llu, expected %llu..%llu", f->say, (unsigned long long)v,
                 (unsigned long long)f->lo, (unsigned long long)f->hi);
        return why;
    }
    if (f->range == R_NONE) return NULL;
    double x = f->wire == 4 ? (double)dp_bits_float((uint32_t)v) : dp_bits_double(v);
    int ok = isfinite(x) && (f->range == R_FINITE || (f->range == R_POS && x > 0.0) ||
                             (f->range == R_NONNEG && x >= 0.0) ||
                             (f->range == R_UNIT && x >= 0.0 && x < 1.0));
    if (ok) return NULL;
    snprintf(why, why_len, "%s is %g, out of range", f->say, x);
    return why;
}

/* ---- checks shared by save and load ---- */

static int expected_moments(uint64_t optim)
{
    return optim == DP_OPT_ADAM || optim == DP_OPT_ADAMW ? 2 : optim == DP_OPT_MOMENTUM ? 1 : 0;
}

/* Steps in an epoch: the trainer takes ceil(n / batch) steps, a short last batch included. */
static uint64_t steps_per_epoch(uint64_t n_train, uint64_t batch)
{
    return n_train / batch + (n_train % batch != 0);
}

/* NULL if perm[0..n) is a permutation of 0..n-1, else what is wrong. The bitmap is sized by n,
 * which every caller has already bounded by MAX_TRAIN. */
static const char *perm_check(const uint32_t *perm, size_t n, char *why, size_t why_len)
{
    uint64_t *seen = calloc((n + 63) / 64, sizeof *seen);
    if (!seen) {
        snprintf(why, why_len, "out of memory checking the permutation of %zu entries", n);
        return why;
    }
    const char *bad = NULL;
    for (size_t i = 0; i < n && !bad; i++) {
        uint32_t v = perm[i];
        if (v >= n) {
            snprintf(why, why_len, "perm is not a permutation: perm[%zu] = %u, expected 0..%zu",
                     i, v, n - 1);
            bad = why;
        } else if (seen[v / 64] & (1ull << (v % 64))) {
            snprintf(why, why_len, "perm is not a permutation: perm[%zu] = %u repeats an "
                                   "earlier entry", i, v);
            bad = why;
        } else {
            seen[v / 64] |= 1ull << (v % 64);
        }
    }
    free(seen);
    return bad;
}

/* The fields that size the file: n_params against the spec, n_moments and n_train in range. */
static const char *sizing_check(const raw_fields *r, const dp_spec *sp, char *why, size_t len)
{
    uint64_t want = (uint64_t)dp_spec_param_count(sp);
    if (r->v[F_NPARAMS] != want) {
        snprintf(why, len, "header claims n_params %llu, its layer sizes need %llu",
                 (unsigned long long)r->v[F_NPARAMS], (unsigned long long)want);
        return why;
    }
    if (range_check(r, F_NMOM, why, len) || range_check(r, F_BEST, why, len)) return why;
    return range_check(r, F_NTRAIN, why, len);
}

/* Everything else a header must make sense of (a buggy or hostile writer can produce a valid
 * CRC): every field in range, the moments the optimizer keeps, a valid spec, and the epoch's
 * position inside the epoch. */
static const char *semantic_check(const raw_fields *r, const dp_spec *sp, char *why, size_t len)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (range_check(r, i, why, len)) return why;
    uint64_t optim = r->v[F_OPTIM], nm = r->v[F_NMOM];
    if ((int)nm != expected_moments(optim)) {
        snprintf(why, len, "n_moments is %u but optimizer %s keeps %d moment arrays",
                 (unsigned)nm, dp_name_of(DP_NAMES_OPTIM, (int)optim), expected_moments(optim));
        return why;
    }
    dp_error spec_err;
    if (dp_spec_validate(sp, &spec_err) != DP_OK) {
        snprintf(why, len, "invalid model in checkpoint: %.150s", spec_err.msg);
        return why;
    }
    for (int l = sp->n_sizes - 2; l >= 0 && l < DP_MAX_SIZES - 2; l++)
        if (r->v[F_DROP0 + l]) {
            snprintf(why, len, "config dropout set for layer %d, the model has %d hidden layers",
                     l + 1, sp->n_sizes - 2);
            return why;
        }
    uint64_t n_train = r->v[F_NTRAIN], batch = r->v[F_BATCH];
    uint64_t spe = steps_per_epoch(n_train, batch);
    if (r->v[F_NEXT] > spe) {
        snprintf(why, len, "next_step is %llu, an epoch of %llu samples at batch %llu has %llu "
                 "steps", (unsigned long long)r->v[F_NEXT], (unsigned long long)n_train,
                 (unsigned long long)batch, (unsigned long long)spe);
        return why;
    }
    if (r->v[F_BEST] > r->v[F_EPOCH]) {
        snprintf(why, len, "best_epoch is %llu, after the checkpoint's epoch %llu",
                 (unsigned long long)r->v[F_BEST], (unsigned long long)r->v[F_EPOCH]);
        return why;
    }
    if (r->v[F_ESAMPLES] > n_train) {
        snprintf(why, len, "epoch_samples is %llu, more than n_train %llu",
                 (unsigned long long)r->v[F_ESAMPLES], (unsigned long long)n_train);
        return why;
    }
    return NULL;
}

/* The arrays: perm a permutation, parameters and moments finite. */
static const char *arrays_check(const dp_spec *sp, const dp_train_state *st, uint64_t optim,
                                char *why, size_t len)
{
    if (perm_check(st->perm, st->n_train, why, len)) return why;
    if (dp_file_nonfinite(NULL, sp, st->params, st->n_params, why, len)) return why;
    const char *m1 = optim >= DP_OPT_ADAM ? "adam first moment" : "momentum velocity";
    if (st->n_moments >= 1 && dp_file_nonfinite(m1, sp, st->m1, st->n_params, why, len))
        return why;
    if (st->n_moments == 2 &&
        dp_file_nonfinite("adam second moment", sp, st->m2, st->n_params, why, len))
        return why;
    if (st->best_epoch > 0 &&
        dp_file_nonfinite("best epoch's weights", sp, st->best_params, st->n_params, why, len))
        return why;
    return NULL;
}

/* ---- save ---- */

typedef struct ckpt_ctx {
    const dp_spec *spec;
    const raw_fields *raw;
    const dp_train_state *st;
} ckpt_ctx;

static int write_ckpt_body(FILE *f, void *vctx)
{
    const ckpt_ctx *c = vctx;
    const dp_train_state *st = c->st;
    unsigned char head[DP_FILE_MAX_HEAD];
    size_t h = dp_file_put_head(head, DP_FILE_CKPT_MAGIC, DP_CKPT_FORMAT_VERSION, c->spec);
    h += raw_encode(c->raw, head + h);
    unsigned long crc = crc32(0L, Z_NULL, 0);
    if (dp_write_crc(f, head, h, &crc) != 0) return -1;

    unsigned char *buf = malloc(DP_FILE_CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = dp_write_words(f, st->params, st->n_params, buf, &crc);
    if (rc == 0 && st->n_moments >= 1) rc = dp_write_words(f, st->m1, st->n_params, buf, &crc);
    if (rc == 0 && st->n_moments == 2) rc = dp_write_words(f, st->m2, st->n_params, buf, &crc);
    if (rc == 0 && st->best_epoch > 0)
        rc = dp_write_words(f, st->best_params, st->n_params, buf, &crc);
    if (rc == 0) rc = dp_write_words(f, st->perm, st->n_train, buf, &crc);
    free(buf);
    return rc != 0 ? -1 : dp_write_crc_tail(f, crc);
}

/* The loader's rules, applied to what the caller hands us: a file we would refuse to read is
 * a bug to report now, not a surprise at resume time. */
static const char *save_check(const dp_spec *spec, const raw_fields *r, const dp_train_state *st,
                              char *why, size_t len)
{
    if (dp_file_spec_check_spec(spec, why, len)) return why;
    uint64_t want = (uint64_t)dp_spec_param_count(spec);
    if ((uint64_t)st->n_params != want) {
        snprintf(why, len, "%zu parameters given, the spec needs %llu", st->n_params,
                 (unsigned long long)want);
        return why;
    }
    if (sizing_check(r, spec, why, len) || semantic_check(r, spec, why, len)) return why;
    if (!st->params || (st->n_moments >= 1 && !st->m1) || (st->n_moments == 2 && !st->m2) ||
        !st->perm || (st->best_epoch > 0 && !st->best_params)) {
        snprintf(why, len, "missing parameter, moment, best-weights or perm array");
        return why;
    }
    return arrays_check(spec, st, r->v[F_OPTIM], why, len);
}

dp_status dp_ckpt_save(const char *path, const dp_spec *spec, const dp_train_config *cfg,
                       const dp_train_state *state, dp_error *err)
{
    if (!path || !*path || !spec || !cfg || !state)
        return dp_fail(err, DP_EINTERNAL, "checkpoint save: missing path, spec, config or state");
    raw_fields r;
    raw_from(&r, spec, cfg, state);
    char why[200];
    if (save_check(spec, &r, state, why, sizeof why))
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save checkpoint: %s", path, why);
    ckpt_ctx c = {spec, &r, state};
    return dp_atomic_write(path, write_ckpt_body, &c, err);
}

/* ---- load ---- */

/* Allocates the arrays the (already size-checked) header describes. */
static dp_status alloc_arrays(dp_train_state *st, const raw_fields *r, const char *path,
                              dp_error *err)
{
    st->n_params = (size_t)r->v[F_NPARAMS];
    st->n_train = (size_t)r->v[F_NTRAIN];
    st->n_moments = (int)r->v[F_NMOM];
    st->params = dp_alloc(st->n_params * sizeof(float));
    if (st->n_moments >= 1) st->m1 = dp_alloc(st->n_params * sizeof(float));
    if (st->n_moments == 2) st->m2 = dp_alloc(st->n_params * sizeof(float));
    st->perm = dp_alloc(st->n_train * sizeof(uint32_t));
    int best = r->v[F_BEST] > 0;
    if (best) st->best_params = dp_alloc(st->n_params * sizeof(float));
    if (!st->params || (st->n_moments >= 1 && !st->m1) || (st->n_moments == 2 && !st->m2) ||
        !st->perm || (best && !st->best_params))
        return dp_fail(err, DP_EINTERNAL, "%s: out of memory for %zu parameters", path,
                       st->n_params);
    return DP_OK;
}

/* The arrays after the header, then the CRC over everything. */
static dp_status read_arrays(FILE *f, const dp_file_head *h, dp_train_state *st,
                             const char *path, dp_error *err)
{
    unsigned char *buf = malloc(DP_FILE_CHUNK);
    if (!buf) return dp_fail(err, DP_EINTERNAL, "%s: out of memory", path);
    unsigned long crc = dp_crc(crc32(0L, Z_NULL, 0), h->b, h->len);
    long at = (long)h->len;
    float *arrays[3] = {st->params, st->m1, st->m2};
    dp_status rc = DP_OK;
    for (int a = 0; a <= st->n_moments && rc == DP_OK; a++)
        rc = dp_read_words(f, arrays[a], st->n_params, buf, &crc, path, &at, err);
    if (rc == DP_OK && st->best_params)
        rc = dp_read_words(f, st->best_params, st->n_params, buf, &crc, path, &at, err);
    if (rc == DP_OK) rc = dp_read_words(f, st->perm, st->n_train, buf, &crc, path, &at, err);
    free(buf);
    return rc == DP_OK ? dp_check_crc_tail(f, crc, path, at, err) : rc;
}

/* Header fields that size the file, then the file's size itself. */
static dp_status check_sizes(const dp_file_head *h, const raw_fields *r, uint64_t fsize,
                             const char *path, dp_error *err)
{
    char why[200];
    if (sizing_check(r, &h->spec, why, sizeof why))
        return dp_fail(err, DP_EDATA, "%s: %s", path, why);
    /* np <= ~3.3e13 and n_train <= 2^28: the sum stays far below 2^64. */
    uint64_t np = r->v[F_NPARAMS];
    uint64_t arrays = 1 + r->v[F_NMOM] + (r->v[F_BEST] > 0);
    uint64_t expect = (uint64_t)h->len + 4 * np * arrays + 4 * r->v[F_NTRAIN] + 4;
    dp_status rc = dp_file_check_size(path, fsize, expect, err);
    if (rc == DP_OK && (np > SIZE_MAX / 4 || expect > (uint64_t)LONG_MAX))
        rc = dp_fail(err, DP_EDATA, "%s: %llu parameters do not fit in memory on this host", path,
                     (unsigned long long)np);
    return rc;
}

static dp_status load_body(FILE *f, const char *path, uint64_t fsize, dp_spec *spec,
                           dp_train_config *cfg, dp_train_state *st, dp_error *err)
{
    dp_file_head h;
    raw_fields r;
    dp_status rc = dp_file_read_head(f, path, fsize, &CKPT_KIND, &h, err);
    if (rc != DP_OK) return rc;
    raw_decode(&r, h.b + h.rest, h.version);
    raw_to(&r, 1, &h.spec, NULL, NULL);
    if ((rc = check_sizes(&h, &r, fsize, path, err)) != DP_OK) return rc;
    /* Only now, with the sizes proven by the file itself, allocate. */
    if ((rc = alloc_arrays(st, &r, path, err)) != DP_OK) return rc;
    if ((rc = read_arrays(f, &h, st, path, err)) != DP_OK) return rc;
    char why[200];
    if (semantic_check(&r, &h.spec, why, sizeof why) ||
        arrays_check(&h.spec, st, r.v[F_OPTIM], why, sizeof why))
        return dp_fail(err, DP_EDATA, "%s: %s", path, why);
    memset(cfg, 0, sizeof *cfg);
    raw_to(&r, 0, NULL, cfg, st);
    *spec = h.spec;
    return DP_OK;
}

dp_status dp_ckpt_load(const char *path, dp_spec *spec, dp_train_config *cfg,
                       dp_train_state *state, dp_error *err)
{
    if (!path || !spec || !cfg || !state)
        return dp_fail(err, DP_EINTERNAL, "checkpoint load: missing path or output");
    memset(state, 0, sizeof *state);
    uint64_t fsize;
    FILE *f = dp_open_regular(path, NULL, &fsize, err);
    if (!f) return err ? err->code : DP_ENOINPUT;
    dp_train_state st;
    memset(&st, 0, sizeof st);
    dp_status rc = load_body(f, path, fsize, spec, cfg, &st, err);
    fclose(f);
    if (rc == DP_OK)
        *state = st; /* handed over */
    else
        dp_train_state_free(&st);
    return rc;
}

/* Here: the loader is what allocates these arrays. */
void dp_train_state_free(dp_train_state *s)
{
    if (!s) return;
    dp_free(s->params);
    dp_free(s->m1);
    dp_free(s->m2);
    dp_free(s->perm);
    dp_free(s->best_params);
    memset(s, 0, sizeof *s);
}
