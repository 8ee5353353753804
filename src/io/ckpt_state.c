/* Checkpoint files: the whole training state (spec, stored config, step counters, parameters,
 * optimizer moments, the epoch's shuffle) in the layout documented in ckpt.h, written through
 * dp_atomic_write and loaded as hostile input: sizes are proven against the file before any
 * allocation, the CRC before any semantic check, and nothing is handed out half-validated. */
#include "ckpt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "ckpt_io.h"
#include "err.h"

#define CFG_LEN 52u                /* optim, 6 floats, epochs, batch, seed(8), threads, reduce */
#define STATE_LEN 64u              /* epoch, 7 × 64-bit fields, n_moments */
#define MAX_HEAD (DP_CKIO_FIXED_HEAD + 4u * DP_MAX_SIZES + 8u + CFG_LEN + STATE_LEN)
#define MAX_TRAIN (1ull << 28)     /* perm entries are u32 and the bitmap check stays ≤ 32 MiB */

static size_t head_len(uint32_t n_sizes)
{
    return DP_CKIO_FIXED_HEAD + 4u * (size_t)n_sizes + 8u + CFG_LEN + STATE_LEN;
}

static int expected_moments(long optim)
{
    return optim == DP_OPT_ADAM ? 2 : optim == DP_OPT_MOMENTUM ? 1 : 0;
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

/* ---- save ---- */

typedef struct ckpt_ctx {
    const dp_spec *spec;
    const dp_train_config *cfg;
    const dp_train_state *st;
} ckpt_ctx;

static size_t encode_head(unsigned char *b, const dp_spec *spec, const dp_train_config *cfg,
                          const dp_train_state *st)
{
    memcpy(b, DP_CKIO_CKPT_MAGIC, 8);
    dp_put_u32(b + 8, DP_CKPT_FORMAT_VERSION);
    dp_put_u32(b + 12, DP_CKIO_ENDIAN_MARKER);
    dp_put_u32(b + 16, (uint32_t)spec->n_sizes);
    size_t h = DP_CKIO_FIXED_HEAD;
    for (int i = 0; i < spec->n_sizes; i++, h += 4) dp_put_u32(b + h, (uint32_t)spec->sizes[i]);
    dp_put_u32(b + h, (uint32_t)spec->hidden);
    dp_put_u32(b + h + 4, (uint32_t)spec->loss);
    h += 8;

    unsigned char *c = b + h;
    dp_put_u32(c, (uint32_t)cfg->optim);
    const float fl[6] = {cfg->lr, cfg->momentum, cfg->weight_decay, cfg->beta1, cfg->beta2,
                         cfg->eps};
    for (int i = 0; i < 6; i++) dp_put_u32(c + 4 + 4 * i, dp_float_bits(fl[i]));
    dp_put_u32(c + 28, (uint32_t)cfg->epochs);
    dp_put_u32(c + 32, (uint32_t)cfg->batch);
    dp_put_u64(c + 36, cfg->seed);
    dp_put_u32(c + 44, (uint32_t)cfg->threads);
    dp_put_u32(c + 48, (uint32_t)cfg->reduce);
    h += CFG_LEN;

    unsigned char *s = b + h;
    uint64_t loss_bits;
    memcpy(&loss_bits, &st->epoch_loss, sizeof loss_bits);
    dp_put_u32(s, (uint32_t)st->epoch);
    dp_put_u64(s + 4, (uint64_t)st->next_step);
    dp_put_u64(s + 12, (uint64_t)st->global_step);
    dp_put_u64(s + 20, (uint64_t)st->n_train);
    dp_put_u64(s + 28, loss_bits);
    dp_put_u64(s + 36, (uint64_t)st->epoch_samples);
    dp_put_u64(s + 44, (uint64_t)st->epoch_steps);
    dp_put_u64(s + 52, (uint64_t)st->n_params);
    dp_put_u32(s + 60, (uint32_t)st->n_moments);
    return h + STATE_LEN;
}

/* n 4-byte words (floats or u32s: only their bits matter) little-endian, through buf. */
static int write_ckpt_body(FILE *f, void *vctx)
{
    const ckpt_ctx *c = vctx;
    const dp_train_state *st = c->st;
    unsigned char head[MAX_HEAD];
    size_t h = encode_head(head, c->spec, c->cfg, st);
    unsigned long crc = crc32(0L, Z_NULL, 0);
    if (dp_ckio_write_crc(f, head, h, &crc) != 0) return -1;

    unsigned char *buf = malloc(DP_CKIO_CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = dp_ckio_write_words(f, st->params, st->n_params, buf, &crc);
    if (rc == 0 && st->n_moments >= 1) rc = dp_ckio_write_words(f, st->m1, st->n_params, buf, &crc);
    if (rc == 0 && st->n_moments == 2) rc = dp_ckio_write_words(f, st->m2, st->n_params, buf, &crc);
    if (rc == 0) rc = dp_ckio_write_words(f, st->perm, st->n_train, buf, &crc);
    free(buf);
    if (rc != 0) return -1;
    unsigned char tail[4];
    dp_put_u32(tail, (uint32_t)crc);
    return fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

/* The loader's rules, applied to what the caller hands us: a file we would refuse to read is
 * a bug to report now, not a surprise at resume time. */
static const char *save_check(const dp_spec *spec, const dp_train_config *cfg,
                              const dp_train_state *st, char *why, size_t why_len)
{
    long sizes[DP_MAX_SIZES];
    int ns = spec->n_sizes;
    for (int i = 0; i < ns && i >= 0 && i < DP_MAX_SIZES; i++) sizes[i] = spec->sizes[i];
    if (dp_ckio_spec_check(ns, sizes, (long)spec->hidden, (long)spec->loss, why, why_len))
        return why;
    if ((unsigned)cfg->optim > DP_OPT_ADAM || (unsigned)cfg->reduce > DP_REDUCE_TREE ||
        cfg->epochs < 1 || cfg->batch < 1 || cfg->threads < 1 ||
        cfg->threads > DP_MAX_THREADS) {
        snprintf(why, why_len, "config out of range (optim %d, reduce %d, epochs %d, batch %d, "
                 "threads %d)", (int)cfg->optim, (int)cfg->reduce, cfg->epochs, cfg->batch,
                 cfg->threads);
        return why;
    }
    uint64_t want = dp_spec_param_count(spec);
    if ((uint64_t)st->n_params != want) {
        snprintf(why, why_len, "%zu parameters given, the spec needs %llu", st->n_params,
                 (unsigned long long)want);
        return why;
    }
    if (st->n_moments != expected_moments(cfg->optim)) {
        snprintf(why, why_len, "%d moment arrays given, %s needs %d", st->n_moments,
                 dp_name_of(DP_NAMES_OPTIM, (int)cfg->optim), expected_moments(cfg->optim));
        return why;
    }
    if (!st->params || (st->n_moments >= 1 && !st->m1) || (st->n_moments == 2 && !st->m2) ||
        !st->perm) {
        snprintf(why, why_len, "missing parameter, moment or perm array");
        return why;
    }
    if (st->n_train < 1 || (uint64_t)st->n_train > MAX_TRAIN || st->epoch < 1 ||
        st->next_step < 0 || st->global_step < 0 || st->epoch_steps < 0 ||
        st->epoch_samples > st->n_train ||
        (uint64_t)st->next_step > steps_per_epoch(st->n_train, (uint64_t)cfg->batch)) {
        snprintf(why, why_len, "state out of range (epoch %d, next_step %ld, n_train %zu, "
                 "epoch_samples %zu)", st->epoch, st->next_step, st->n_train, st->epoch_samples);
        return why;
    }
    return perm_check(st->perm, st->n_train, why, why_len);
}

dp_status dp_ckpt_save(const char *path, const dp_spec *spec, const dp_train_config *cfg,
                       const dp_train_state *state, dp_error *err)
{
    if (!path || !*path || !spec || !cfg || !state)
        return dp_fail(err, DP_EINTERNAL, "checkpoint save: missing path, spec, config or state");
    char why[160];
    if (save_check(spec, cfg, state, why, sizeof why))
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save checkpoint: %s", path, why);
    ckpt_ctx c = {spec, cfg, state};
    return dp_atomic_write(path, write_ckpt_body, &c, err);
}

/* ---- load ---- */

#define FAIL(...)                                      \
    do {                                               \
        rc = dp_fail(err, DP_EDATA, __VA_ARGS__);      \
        goto done;                                     \
    } while (0)

dp_status dp_ckpt_load(const char *path, dp_spec *spec, dp_train_config *cfg,
                       dp_train_state *state, dp_error *err)
{
    if (!path || !spec || !cfg || !state)
        return dp_fail(err, DP_EINTERNAL, "checkpoint load: missing path or output");
    memset(state, 0, sizeof *state);

    uint64_t fsize;
    FILE *f = dp_ckio_open_regular(path, &fsize, err);
    if (!f) return err ? err->code : DP_ENOINPUT;

    dp_status rc = DP_OK;
    dp_train_state st;
    memset(&st, 0, sizeof st);
    unsigned char *buf = NULL;
    unsigned char head[MAX_HEAD];
    char why[160];

    /* Magic first, on whatever bytes exist, so a short file of another kind is named as such. */
    size_t first = fsize < DP_CKIO_FIXED_HEAD ? (size_t)fsize : DP_CKIO_FIXED_HEAD;
    if (first > 0 && (rc = dp_ckio_read_exact(f, head, first, path, 0, err)) != DP_OK) goto done;
    if (memcmp(head, DP_CKIO_CKPT_MAGIC, first < 8 ? first : 8) != 0) {
        if (first >= 8 && memcmp(head, DP_CKIO_MODEL_MAGIC, 8) == 0)
            FAIL("%s: is a model file, not a checkpoint (give it to --model, or resume from "
                 "a file written by --checkpoint)", path);
        FAIL("%s: not a dpmlp checkpoint (bad magic)", path);
    }
    if (fsize < DP_CKIO_FIXED_HEAD)
        FAIL("%s: truncated: %llu bytes, a checkpoint header needs at least %u%s", path,
             (unsigned long long)fsize, DP_CKIO_FIXED_HEAD, fsize == 0 ? " (empty file)" : "");
    uint32_t version = dp_get_u32(head + 8), marker = dp_get_u32(head + 12);
    /* A big-endian writer byte-swaps the version too: name the real cause first. */
    if (marker == DP_CKIO_ENDIAN_SWAPPED)
        FAIL("%s: written by a big-endian machine (byte order marker 01 02 03 04); this dpmlp "
             "reads little-endian checkpoints", path);
    if (version != DP_CKPT_FORMAT_VERSION)
        FAIL("%s: checkpoint format version %u, this dpmlp reads version %u", path, version,
             DP_CKPT_FORMAT_VERSION);
    if (marker != DP_CKIO_ENDIAN_MARKER)
        FAIL("%s: bad byte order marker 0x%08x at offset 12, expected 0x%08x", path, marker,
             DP_CKIO_ENDIAN_MARKER);
    uint32_t ns = dp_get_u32(head + 16);
    if (ns < 2 || ns > DP_MAX_SIZES)
        FAIL("%s: header n_sizes is %u at offset 16, expected 2..%d", path, ns, DP_MAX_SIZES);
    size_t hlen = head_len(ns);
    if (fsize < hlen)
        FAIL("%s: truncated: %llu bytes, the header alone needs %zu", path,
             (unsigned long long)fsize, hlen);
    rc = dp_ckio_read_exact(f, head + DP_CKIO_FIXED_HEAD, hlen - DP_CKIO_FIXED_HEAD, path,
                            DP_CKIO_FIXED_HEAD, err);
    if (rc != DP_OK) goto done;

    /* Fields that size the file and the allocations: checked before either is trusted. */
    long sizes[DP_MAX_SIZES];
    for (uint32_t i = 0; i < ns; i++)
        sizes[i] = (long)dp_get_u32(head + DP_CKIO_FIXED_HEAD + 4 * i);
    size_t p = DP_CKIO_FIXED_HEAD + 4 * (size_t)ns;
    long hidden = (long)dp_get_u32(head + p), loss = (long)dp_get_u32(head + p + 4);
    if (dp_ckio_spec_check((long)ns, sizes, hidden, loss, why, sizeof why))
        FAIL("%s: bad header: %s", path, why);
    dp_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.n_sizes = (int)ns;
    for (uint32_t i = 0; i < ns; i++) sp.sizes[i] = (int)sizes[i];
    sp.hidden = (dp_act)hidden;
    sp.loss = (dp_loss)loss;

    const unsigned char *c = head + p + 8, *s = c + CFG_LEN;
    uint64_t n_train = dp_get_u64(s + 20), np = dp_get_u64(s + 52);
    uint32_t nm = dp_get_u32(s + 60);
    uint64_t want = dp_spec_param_count(&sp);
    if (np != want)
        FAIL("%s: header claims n_params %llu, its layer sizes need %llu", path,
             (unsigned long long)np, (unsigned long long)want);
    if (nm > 2) FAIL("%s: header n_moments is %u, expected 0..2", path, nm);
    if (n_train < 1 || n_train > MAX_TRAIN)
        FAIL("%s: header n_train is %llu, expected 1..%llu", path, (unsigned long long)n_train,
             (unsigned long long)MAX_TRAIN);
    /* np ≤ ~3.3e13 and n_train ≤ 2^28: the sum stays far below 2^64. */
    uint64_t expect = (uint64_t)hlen + 4 * np * (1 + (uint64_t)nm) + 4 * n_train + 4;
    if (fsize < expect)
        FAIL("%s: truncated: %llu bytes, the header promises %llu", path,
             (unsigned long long)fsize, (unsigned long long)expect);
    if (fsize > expect)
        FAIL("%s: %llu bytes, the header promises %llu (trailing garbage)", path,
             (unsigned long long)fsize, (unsigned long long)expect);
    if (np > SIZE_MAX / 4 || expect > (uint64_t)LONG_MAX)
        FAIL("%s: %llu parameters do not fit in memory on this host", path,
             (unsigned long long)np);

    /* Only now, with the sizes proven by the file itself, allocate. */
    st.n_params = (size_t)np;
    st.n_train = (size_t)n_train;
    st.n_moments = (int)nm;
    st.params = dp_alloc(st.n_params * sizeof(float));
    if (nm >= 1) st.m1 = dp_alloc(st.n_params * sizeof(float));
    if (nm == 2) st.m2 = dp_alloc(st.n_params * sizeof(float));
    st.perm = dp_alloc(st.n_train * sizeof(uint32_t));
    buf = malloc(DP_CKIO_CHUNK);
    if (!st.params || (nm >= 1 && !st.m1) || (nm == 2 && !st.m2) || !st.perm || !buf) {
        rc = dp_fail(err, DP_EINTERNAL, "%s: out of memory for %llu parameters", path,
                     (unsigned long long)np);
        goto done;
    }
    unsigned long crc = dp_ckio_crc(crc32(0L, Z_NULL, 0), head, hlen);
    long at = (long)hlen;
    float *arrays[3] = {st.params, st.m1, st.m2};
    for (uint32_t a = 0; a <= nm; a++)
        if ((rc = dp_ckio_read_words(f, arrays[a], st.n_params, buf, &crc, path, &at, err)) != DP_OK)
            goto done;
    if ((rc = dp_ckio_read_words(f, st.perm, st.n_train, buf, &crc, path, &at, err)) != DP_OK) goto done;
    unsigned char tail[4];
    if ((rc = dp_ckio_read_exact(f, tail, 4, path, at, err)) != DP_OK) goto done;
    if (dp_get_u32(tail) != (uint32_t)crc)
        FAIL("%s: checksum mismatch (file corrupt): stored crc32 %08x, computed %08x", path,
             dp_get_u32(tail), (unsigned)(uint32_t)crc);

    /* The bytes are what was written; now check that what was written makes sense (a buggy or
     * hostile writer can produce a valid CRC). */
    uint32_t optim = dp_get_u32(c), reduce = dp_get_u32(c + 48);
    uint32_t epochs = dp_get_u32(c + 28), batch = dp_get_u32(c + 32), threads = dp_get_u32(c + 44);
    if (optim > DP_OPT_ADAM)
        FAIL("%s: optimizer code %u, expected 0..%d", path, optim, DP_OPT_ADAM);
    if (reduce > DP_REDUCE_TREE)
        FAIL("%s: reduce code %u, expected 0..%d", path, reduce, DP_REDUCE_TREE);
    if ((int)nm != expected_moments(optim))
        FAIL("%s: n_moments is %u but optimizer %s keeps %d moment arrays", path, nm,
             dp_name_of(DP_NAMES_OPTIM, (int)optim), expected_moments(optim));
    if (epochs < 1 || epochs > INT_MAX || batch < 1 || batch > INT_MAX || threads < 1 ||
        threads > DP_MAX_THREADS)
        FAIL("%s: config out of range: epochs %u, batch %u (each 1..%d), threads %u (1..%d)",
             path, epochs, batch, INT_MAX, threads, DP_MAX_THREADS);
    {
        /* lr, momentum, weight decay, beta1, beta2, eps: the ranges the flags enforce. */
        static const char *const names[6] = {"lr", "momentum", "weight_decay", "beta1", "beta2",
                                             "eps"};
        for (int i = 0; i < 6; i++) {
            float v = dp_bits_float(dp_get_u32(c + 4 + 4 * i));
            int ok = isfinite(v) && (i == 0 || i == 5 ? v > 0.0f
                                     : i == 2         ? v >= 0.0f
                                                      : v >= 0.0f && v < 1.0f);
            if (!ok) FAIL("%s: config %s is %g, out of range", path, names[i], (double)v);
        }
    }
    {
        dp_error spec_err;
        if (dp_spec_validate(&sp, &spec_err) != DP_OK)
            FAIL("%s: invalid model in checkpoint: %s", path, spec_err.msg);
    }
    uint32_t epoch = dp_get_u32(s);
    uint64_t next_step = dp_get_u64(s + 4), global_step = dp_get_u64(s + 12);
    uint64_t epoch_samples = dp_get_u64(s + 36), epoch_steps = dp_get_u64(s + 44);
    if (epoch < 1 || epoch > INT_MAX) FAIL("%s: epoch is %u, expected >= 1", path, epoch);
    uint64_t spe = steps_per_epoch(n_train, batch);
    if (next_step > spe)
        FAIL("%s: next_step is %llu, an epoch of %llu samples at batch %u has %llu steps", path,
             (unsigned long long)next_step, (unsigned long long)n_train, batch,
             (unsigned long long)spe);
    if (global_step > (uint64_t)LONG_MAX || epoch_steps > (uint64_t)LONG_MAX)
        FAIL("%s: step counters out of range (global_step %llu, epoch_steps %llu)", path,
             (unsigned long long)global_step, (unsigned long long)epoch_steps);
    if (epoch_samples > n_train)
        FAIL("%s: epoch_samples is %llu, more than n_train %llu", path,
             (unsigned long long)epoch_samples, (unsigned long long)n_train);
    if (perm_check(st.perm, st.n_train, why, sizeof why)) FAIL("%s: %s", path, why);

    st.epoch = (int)epoch;
    st.next_step = (long)next_step;
    st.global_step = (long)global_step;
    uint64_t loss_bits = dp_get_u64(s + 28);
    memcpy(&st.epoch_loss, &loss_bits, sizeof st.epoch_loss);
    st.epoch_samples = (size_t)epoch_samples;
    st.epoch_steps = (long)epoch_steps;

    memset(cfg, 0, sizeof *cfg);
    cfg->optim = (dp_optim_kind)optim;
    float *fl[6] = {&cfg->lr, &cfg->momentum, &cfg->weight_decay, &cfg->beta1, &cfg->beta2,
                    &cfg->eps};
    for (int i = 0; i < 6; i++) *fl[i] = dp_bits_float(dp_get_u32(c + 4 + 4 * i));
    cfg->epochs = (int)epochs;
    cfg->batch = (int)batch;
    cfg->seed = dp_get_u64(c + 36);
    cfg->threads = (int)threads;
    cfg->reduce = (dp_reduce)reduce;
    *spec = sp;
    *state = st;
    memset(&st, 0, sizeof st); /* handed over */
done:
    free(buf);
    dp_train_state_free(&st);
    fclose(f);
    return rc;
}
