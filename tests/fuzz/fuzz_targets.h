/* Fuzz targets shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and the Check replay
 * suite (tests/check_fuzz_regressions.c): each decodes one input into files or argv, calls the
 * loader or parser, checks the documented contract, and returns NULL or what was violated. */
#ifndef DP_FUZZ_TARGETS_H
#define DP_FUZZ_TARGETS_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "dpmlp.h"
#include "flags.h"

#define FZ_PATH 4096

/* Why the target failed, kept for the caller to print (single-threaded use only). */
static char fz_why[768];

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline const char *fz_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fz_why, sizeof fz_why, fmt, ap);
    va_end(ap);
    return fz_why;
}

/* path := dir/name; -1 if it does not fit. */
static inline int fz_path(char path[FZ_PATH], const char *dir, const char *name)
{
    int w = snprintf(path, FZ_PATH, "%s/%s", dir, name);
    return w < 0 || w >= FZ_PATH ? -1 : 0;
}

static inline int fz_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[FZ_PATH];
    if (fz_path(path, dir, name) != 0) return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static inline uint32_t fz_le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

/* A failed call must say why, with the documented code and without handing anything out. */
static inline const char *fz_check_failure(dp_status s, const dp_error *e, dp_status want,
                                           const void *out)
{
    if (s != want) {
        return fz_bad("status %d (expected %d): %.500s", (int)s, (int)want, e->msg);
    }
    if (e->code != s) return fz_bad("err.code disagrees with the returned status: %.500s", e->msg);
    if (!e->msg[0]) return fz_bad("failure with an empty message");
    if (memchr(e->msg, '\0', sizeof e->msg) == NULL) return fz_bad("unterminated message");
    if (out) return fz_bad("failure but an output was handed out: %.500s", e->msg);
    return NULL;
}

/* ---- datasets ---- */

/* What every loaded dataset promises its users (trainer, gather, fit check). */
static inline const char *fz_check_dataset(const dp_dataset *d, int features_only)
{
    if (!d->n || !d->n_in || d->n > DP_DATA_MAX_SAMPLES || d->n_in > DP_MAX_WIDTH * (size_t)16)
        return fz_bad("dataset shape out of range (%s)", d->source);
    if (!(d->x_u8 || d->x_f32)) return fz_bad("dataset without features (%s)", d->source);
    if (dp_data_count(d) != d->n || dp_data_features(d) != d->n_in)
        return fz_bad("count/features accessors disagree (%s)", d->source);
    if (d->n_targets == 0) {
        if (!d->labels) return fz_bad("classification set without labels (%s)", d->source);
        int32_t mx = -1;
        for (size_t i = 0; i < d->n; i++) {
            if (d->labels[i] < 0 || d->labels[i] >= DP_MAX_WIDTH)
                return fz_bad("label out of range (%s)", d->source);
            if (d->labels[i] > mx) mx = d->labels[i];
        }
        if (features_only ? d->max_label != -1 : d->max_label != mx)
            return fz_bad("max_label does not match the labels (%s)", d->source);
    } else {
        if (!d->targets) return fz_bad("regression set without targets (%s)", d->source);
        for (size_t i = 0; i < d->n * d->n_targets; i++)
            if (!isfinite(d->targets[i])) return fz_bad("non-finite target (%s)", d->source);
    }
    /* Gather the first and the last sample, as a shard would. */
    float *x = malloc(2 * d->n_in * sizeof *x);
    if (!x) return NULL; /* not the loader's fault */
    uint32_t idx[2] = {0, (uint32_t)(d->n - 1)};
    dp_data_gather(d, idx, 2, x);
    const char *bad = NULL;
    for (size_t i = 0; i < 2 * d->n_in && !bad; i++) {
        if (!isfinite(x[i])) bad = fz_bad("gathered a non-finite feature (%s)", d->source);
        if (d->x_u8 && (x[i] < 0.0f || x[i] > 1.0f))
            bad = fz_bad("pixel outside [0, 1] after scaling (%s)", d->source);
    }
    free(x);
    return bad;
}

static inline const char *fz_dataset_result(dp_status s, const dp_error *e, dp_dataset *d,
                                            int features_only)
{
    const char *bad;
    if (s == DP_OK)
        bad = d ? fz_check_dataset(d, features_only) : fz_bad("DP_OK without a dataset");
    else
        bad = fz_check_failure(s, e, DP_EDATA, d);
    if (s == DP_OK) dp_data_free(d);
    return bad;
}

/* Input: u16 LE length of the images part (mod what is left), images bytes, labels bytes.
 * Written raw as an MNIST-layout directory <dir>/mnist and loaded with dp_data_load_mnist,
 * which goes through dp_idx_load_pair. */
static inline const char *fz_idx_raw(const char *dir, const uint8_t *data, size_t size)
{
    if (size < 2) return NULL;
    size_t rest = size - 2, k = fz_le16(data) % (rest + 1);
    const uint8_t *img = data + 2, *lab = data + 2 + k;
    char sub[FZ_PATH];
    if (fz_path(sub, dir, "mnist") != 0 || (mkdir(sub, 0700) != 0 && errno != EEXIST))
        return NULL;
    if (fz_write(sub, "train-images-idx3-ubyte", img, k) != 0 ||
        fz_write(sub, "train-labels-idx1-ubyte", lab, rest - k) != 0)
        return NULL; /* the harness's own I/O, not a finding */
    dp_dataset *d = NULL;
    dp_error e = {0};
    dp_status s = dp_data_load_mnist(sub, 0, &d, &e);
    return fz_dataset_result(s, &e, d, 0);
}

/* gzip of p[0..n) as one member at `level`, appended to *out (grown with realloc). */
static inline int fz_gzip(const uint8_t *p, size_t n, int level, uint8_t **out, size_t *len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t bound = deflateBound(&zs, (uLong)n) + 32;
    uint8_t *b = realloc(*out, *len + bound);
    if (!b) {
        deflateEnd(&zs);
        return -1;
    }
    *out = b;
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = b + *len;
    zs.avail_out = (uInt)bound;
    int r = deflate(&zs, Z_FINISH);
    *len += bound - zs.avail_out;
    deflateEnd(&zs);
    return r == Z_STREAM_END ? 0 : -1;
}

/* What an IDX header in p claims the whole decompressed file to be (header + payload). */
static inline uint32_t fz_idx_claim(const uint8_t *p, size_t n, int images)
{
    uint8_t h[16] = {0};
    memcpy(h, p, n < 16 ? n : 16);
#define FZ_BE32(q) ((uint32_t)(q)[0] << 24 | (uint32_t)(q)[1] << 16 | (uint32_t)(q)[2] << 8 | (q)[3])
    uint64_t cnt = FZ_BE32(h + 4);
    uint64_t total = images ? 16 + cnt * FZ_BE32(h + 8) * FZ_BE32(h + 12) : 8 + cnt;
#undef FZ_BE32
    return (uint32_t)total;
}

/* One file of the gz target, encoded by `how` (2 bits) with the shared tweak (pos, val):
 * 0 one gzip member; 1 the bytes as given (a stream the fuzzer writes itself, or a raw file
 * under a .gz name); 2 two members split at pos; 3 one member then damaged by val: truncated,
 * a byte flipped, ISIZE set to what the IDX header claims, or junk appended. */
static inline int fz_gz_encode(const uint8_t *p, size_t n, unsigned how, uint32_t pos,
                               uint8_t val, int images, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int level = val % 10;
    if (how == 1) {
        *out = malloc(n ? n : 1);
        if (!*out) return -1;
        memcpy(*out, p, n);
        *len = n;
        return 0;
    }
    if (how == 2) {
        size_t cut = pos % (n + 1);
        return fz_gzip(p, cut, level, out, len) || fz_gzip(p + cut, n - cut, level, out, len);
    }
    if (fz_gzip(p, n, level, out, len)) return -1;
    if (how == 0 || *len < 18) return 0;
    switch ((val >> 4) & 3) {
    case 0: *len = pos % *len; break;
    case 1: (*out)[pos % *len] ^= (uint8_t)(val | 1); break;
    case 2: {
        uint32_t claim = fz_idx_claim(p, n, images);
        for (int i = 0; i < 4; i++) (*out)[*len - 4 + (size_t)i] = (uint8_t)(claim >> (8 * i));
        break;
    }
    default: {
        uint8_t *b = realloc(*out, *len + 8);
        if (!b) return -1;
        *out = b;
        for (int i = 0; i < 8; i++) b[(*len)++] = (uint8_t)(pos >> (i % 4)) ^ val;
        break;
    }
    }
    return 0;
}

/* Input: mode (bits 0-1 images encoding, 2-3 labels encoding), u16 LE images length, u16 LE
 * tweak position, tweak value, then the two plain files. Written as <dir>/gz-{images,labels}.gz
 * and loaded through dp_idx_load_pair's fallback from the name without ".gz". */
static inline const char *fz_idx_gz(const char *dir, const uint8_t *data, size_t size)
{
    if (size < 6) return NULL;
    unsigned mode = data[0];
    uint32_t pos = fz_le16(data + 3);
    uint8_t val = data[5];
    size_t rest = size - 6, k = fz_le16(data + 1) % (rest + 1);
    const uint8_t *img = data + 6, *lab = data + 6 + k;
    uint8_t *gi = NULL, *gl = NULL;
    size_t ni = 0, nl = 0;
    const char *bad = NULL;
    if (fz_gz_encode(img, k, mode & 3, pos, val, 1, &gi, &ni) == 0 &&
        fz_gz_encode(lab, rest - k, (mode >> 2) & 3, pos, val, 0, &gl, &nl) == 0 &&
        fz_write(dir, "gz-images.gz", gi, ni) == 0 && fz_write(dir, "gz-labels.gz", gl, nl) == 0) {
        char ip[FZ_PATH], lp[FZ_PATH];
        if (fz_path(ip, dir, "gz-images") == 0 && fz_path(lp, dir, "gz-labels") == 0) {
            dp_dataset *d = NULL;
            dp_error e = {0};
            dp_status s = dp_idx_load_pair(ip, lp, &d, &e);
            bad = fz_dataset_result(s, &e, d, 0);
        }
    }
    free(gi);
    free(gl);
    return bad;
}

/* Input: n_in = 1 + byte0 % 64, n_targets = byte1 % 6 - 1 (-1 features only, 0 a class
 * column, 1..4 targets), then the CSV file. */
static inline const char *fz_csv(const char *dir, const uint8_t *data, size_t size)
{
    if (size < 2) return NULL;
    /* byte 1: 0..5 → n_targets -1..4; 6, 7 → -2, -3 (features only, 1 or 2 columns ignored). */
    int n_in = 1 + data[0] % 64, nt = data[1] % 8, n_targets = nt < 6 ? nt - 1 : 4 - nt;
    char path[FZ_PATH];
    if (fz_write(dir, "data.csv", data + 2, size - 2) != 0 || fz_path(path, dir, "data.csv") != 0)
        return NULL;
    dp_dataset *d = NULL;
    dp_error e = {0};
    dp_status s = dp_data_load_csv(path, n_in, n_targets, &d, &e);
    if (s == DP_OK && d &&
        (d->n_in != (size_t)n_in || d->n_targets != (size_t)(n_targets > 0 ? n_targets : 0) ||
         !d->x_f32)) {
        dp_data_free(d);
        return fz_bad("CSV dataset has the wrong shape");
    }
    return fz_dataset_result(s, &e, d, n_targets < 0);
}

/* ---- model and checkpoint files ---- */

/* What the loaders promise about stored floats: finite (NaN/inf is bad data, refused). */
static inline int fz_all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static inline uint64_t fz_param_count(const dp_spec *sp)
{
    uint64_t n = 0;
    for (int l = 0; l + 1 < sp->n_sizes; l++)
        n += (uint64_t)sp->sizes[l] * (uint64_t)sp->sizes[l + 1] + (uint64_t)sp->sizes[l + 1];
    return n;
}

/* Input: flags byte (bit 0: overwrite the last 4 bytes with the CRC-32 of the rest, so
 * mutations of field values reach the checks behind the checksum instead of dying on it),
 * then the file. Both loaders run on it. */
static inline const char *fz_ckpt(const char *dir, const uint8_t *data, size_t size)
{
    if (size < 1) return NULL;
    size_t n = size - 1;
    uint8_t *file = malloc(n ? n : 1);
    if (!file) return NULL;
    memcpy(file, data + 1, n);
    if ((data[0] & 1) && n >= 4) {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), file, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) file[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    int w = fz_write(dir, "file.bin", file, n);
    free(file);
    char path[FZ_PATH];
    if (w != 0 || fz_path(path, dir, "file.bin") != 0) return NULL;

    const char *bad = NULL;
    dp_error e = {0};
    dp_model *m = dp_model_load(path, &e);
    if (m) {
        const dp_spec *sp = dp_model_spec(m);
        dp_error ve;
        if (dp_spec_validate(sp, &ve) != DP_OK)
            bad = fz_bad("loaded model has an invalid spec: %.500s", ve.msg);
        else if (dp_model_n_params(m) != fz_param_count(sp) || !dp_model_params(m))
            bad = fz_bad("loaded model's parameter count does not match its spec");
        else if (!fz_all_finite(dp_model_params(m), dp_model_n_params(m)))
            bad = fz_bad("loaded model holds a non-finite weight");
        dp_model_free(m);
    } else {
        bad = fz_check_failure(e.code, &e, DP_EDATA, NULL);
    }
    if (bad) return bad;

    dp_spec sp;
    dp_train_config cfg;
    dp_train_state st;
    memset(&e, 0, sizeof e);
    dp_status s = dp_checkpoint_load(path, &sp, &cfg, &st, &e);
    if (s == DP_OK) {
        int want_m = cfg.optim >= DP_OPT_ADAM ? 2 : cfg.optim == DP_OPT_MOMENTUM ? 1 : 0;
        if (st.n_params != fz_param_count(&sp) || !st.params || !st.perm)
            bad = fz_bad("checkpoint arrays do not match its spec");
        else if (st.n_moments != want_m || (want_m >= 1) != (st.m1 != NULL) ||
                 (want_m == 2) != (st.m2 != NULL))
            bad = fz_bad("checkpoint moments do not match its optimizer");
        else if (st.epoch < 1 || st.next_step < 0 || st.global_step < 0 || st.n_train < 1 ||
                 st.epoch_samples > st.n_train || cfg.batch < 1 || cfg.epochs < 1 ||
                 cfg.threads < 1 || (unsigned)cfg.reduce > DP_REDUCE_TREE)
            bad = fz_bad("checkpoint state out of range");
        /* Resume adds one to these: they must stay far from their types' ends. */
        else if (st.epoch > 1000000000 || cfg.epochs > 1000000000 ||
                 st.global_step > (1L << 53) || st.epoch_steps > (1L << 53) ||
                 (unsigned)cfg.deterministic > 1 || !isfinite(st.epoch_loss))
            bad = fz_bad("checkpoint counter out of the resumable range");
        else if (!fz_all_finite(st.params, st.n_params) ||
                 (st.m1 && !fz_all_finite(st.m1, st.n_params)) ||
                 (st.m2 && !fz_all_finite(st.m2, st.n_params)))
            bad = fz_bad("checkpoint holds a non-finite parameter or moment");
        for (size_t i = 0; i < st.n_train && !bad; i++)
            if (st.perm[i] >= st.n_train) bad = fz_bad("perm entry out of range");
    } else {
        bad = fz_check_failure(s, &e, DP_EDATA, st.params);
    }
    dp_train_state_free(&st);
    return bad;
}

/* ---- flags ---- */

/* Input: mode byte (train, eval, predict, topo option tables), then NUL-separated argv strings
 * (at most 40). Train lines also go through dp_flags_spec and dp_flags_train_config. */
static inline const char *fz_flags(const uint8_t *data, size_t size)
{
    if (size < 1) return NULL;
    static const dp_opt_def *const tables[] = {DP_TRAIN_OPTS, DP_EVAL_OPTS, DP_PREDICT_OPTS,
                                               DP_TOPO_OPTS};
    int mode = data[0] % 4;
    char *buf = malloc(size); /* size - 1 bytes of text and a final NUL */
    if (!buf) return NULL;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[41];
    int argc = 0;
    for (size_t i = 0; i < size - 1 && argc < 40;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    const char *bad = NULL;
    dp_opts o;
    dp_error e = {0};
    dp_status s = dp_opts_parse(argc, argv, 0, tables[mode], &o, &e);
    if (s != DP_OK) {
        bad = fz_check_failure(s, &e, DP_EUSAGE, NULL);
    } else if (o.n < 0 || o.n > DP_MAX_OPTS || o.n > argc) {
        bad = fz_bad("parsed option count out of range");
    } else if (mode == 0) {
        dp_spec sp;
        dp_train_config cfg;
        memset(&e, 0, sizeof e);
        s = dp_flags_spec(&o, &sp, &e);
        if (s == DP_OK) {
            dp_error ve;
            if (dp_spec_validate(&sp, &ve) != DP_OK)
                bad = fz_bad("dp_flags_spec accepted an invalid spec: %.500s", ve.msg);
        } else {
            bad = fz_check_failure(s, &e, DP_EUSAGE, NULL);
        }
        memset(&e, 0, sizeof e);
        s = dp_flags_train_config(&o, &cfg, &e);
        if (bad) {
            /* the spec's finding comes first */
        } else if (s == DP_OK) {
            /* Name the field (and a value that does not vary between reproducers), so a
             * repeat of a known violation can be told from a new one. */
            if (!(cfg.lr > 0.0f) || !isfinite(cfg.lr))
                bad = fz_bad("dp_flags_train_config accepted lr %s (want > 0, finite)",
                             cfg.lr == 0.0f ? "0" : "<= 0 or not finite");
            else if (cfg.epochs < 1 || cfg.batch < 1 || cfg.max_steps < 0)
                bad = fz_bad("dp_flags_train_config accepted epochs %d, batch %d, steps %ld",
                             cfg.epochs, cfg.batch, cfg.max_steps);
            else if (!(cfg.momentum >= 0.0f && cfg.momentum < 1.0f) ||
                     !(cfg.beta1 >= 0.0f && cfg.beta1 < 1.0f) ||
                     !(cfg.beta2 >= 0.0f && cfg.beta2 < 1.0f))
                bad = fz_bad("dp_flags_train_config accepted momentum/beta outside [0, 1)");
            else if (!(cfg.weight_decay >= 0.0f) || !isfinite(cfg.weight_decay))
                bad = fz_bad("dp_flags_train_config accepted a negative or non-finite "
                             "weight decay");
            else if ((unsigned)cfg.optim > DP_OPT_ADAMW || (unsigned)cfg.reduce > DP_REDUCE_TREE)
                bad = fz_bad("dp_flags_train_config returned an optimizer/reduce code out of "
                             "range");
        } else {
            bad = fz_check_failure(s, &e, DP_EUSAGE, NULL);
        }
    } else {
        /* eval/predict/topo: the CLI reads --threads with dp_flag_long. */
        const char *v = dp_opts_get(&o, "threads");
        long t = 0;
        memset(&e, 0, sizeof e);
        if (v && (s = dp_flag_long("threads", v, 1, 4096, &t, &e)) != DP_OK)
            bad = fz_check_failure(s, &e, DP_EUSAGE, NULL);
        else if (v && (t < 1 || t > 4096))
            bad = fz_bad("dp_flag_long returned a value out of its range");
    }
    free(buf);
    return bad;
}

#endif
