/* Model files: the byte layout documented in ckpt.h, written little-endian byte by byte (so
 * any host writes the same file) through dp_atomic_write, and a loader that treats the file as
 * hostile: every field and the exact file size are checked before any allocation sized by
 * them, the CRC-32 and the finiteness of every weight before the parameters are handed out. */
#include "ckpt.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "err.h"
#include "fileio.h"

/* Bytes of the per-layer activations and the slope (version 2 on). */
static size_t acts_len(uint32_t version, uint32_t n_sizes)
{
    return version >= 2 && n_sizes >= 1 ? 4 * ((size_t)n_sizes - 1) + 4 : 0;
}

static size_t model_head_len(uint32_t version, uint32_t n_sizes)
{
    /* + hidden, loss, (acts, slope), u64 n_params */
    return DP_FILE_FIXED_HEAD + 4 * (size_t)n_sizes + 16 + acts_len(version, n_sizes);
}

/* Every weight layer's activation as dp_spec_layer_act gives it, then the slope. */
static size_t put_acts(unsigned char *b, const dp_spec *spec)
{
    size_t at = 0;
    for (int l = 0; l + 1 < spec->n_sizes; l++, at += 4)
        dp_put_u32(b + at, (uint32_t)dp_spec_layer_act(spec, l));
    dp_put_u32(b + at, dp_float_bits(spec->leaky_slope));
    return at + 4;
}

/* Version 2's activations into h->spec, range-checked; then the whole spec is validated (a
 * version 1 spec too: its hidden/loss pair must make a valid network). */
static dp_status read_acts(dp_file_head *h, const char *path, dp_error *err)
{
    dp_spec *s = &h->spec;
    if (h->version >= 2) {
        const unsigned char *b = h->b + h->rest;
        s->n_act = s->n_sizes - 1;
        for (int l = 0; l < s->n_act; l++) {
            uint32_t code = dp_get_u32(b + 4 * (size_t)l);
            if (code > DP_ACT_GELU)
                return dp_fail(err, DP_EDATA, "%s: bad header: layer %d activation code %u, "
                               "expected 0..%d", path, l + 1, code, (int)DP_ACT_GELU);
            s->act[l] = (dp_act)code;
        }
        s->leaky_slope = dp_bits_float(dp_get_u32(b + 4 * (size_t)s->n_act));
        h->rest += acts_len(h->version, (uint32_t)s->n_sizes);
    }
    dp_error e;
    if (dp_spec_validate(s, &e) != DP_OK)
        return dp_fail(err, DP_EDATA, "%s: bad header: %.400s", path, e.msg);
    return DP_OK;
}

static const dp_file_kind MODEL_KIND = {
    .magic = DP_FILE_MODEL_MAGIC,
    .other_magic = DP_FILE_CKPT_MAGIC,
    .other_msg = "is a checkpoint, not a model file (bad magic)",
    .bad_magic_msg = "not a dpmlp model file (bad magic)",
    .header_noun = "a model file header",
    .big_endian = "written on a big-endian machine (byte order marker 01 02 03 04); this dpmlp "
                  "reads little-endian files",
    .version_noun = "model format",
    .min_version = DP_MODEL_OLDEST_VERSION,
    .max_version = DP_MODEL_FORMAT_VERSION,
    .head_len = model_head_len,
};

/* ---- save ---- */

typedef struct save_ctx {
    const dp_spec *spec;
    const float *params;
    size_t n_params;
} save_ctx;

static int write_model_body(FILE *f, void *vctx)
{
    const save_ctx *c = vctx;
    unsigned char head[DP_FILE_MAX_HEAD];
    size_t h = dp_file_put_head(head, DP_FILE_MODEL_MAGIC, DP_MODEL_FORMAT_VERSION, c->spec);
    h += put_acts(head + h, c->spec);
    dp_put_u64(head + h, (uint64_t)c->n_params);
    h += 8;
    unsigned long crc = crc32(0L, Z_NULL, 0);
    if (dp_write_crc(f, head, h, &crc) != 0) return -1;

    unsigned char *buf = malloc(DP_FILE_CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = dp_write_words(f, c->params, c->n_params, buf, &crc);
    free(buf);
    return rc != 0 ? -1 : dp_write_crc_tail(f, crc);
}

dp_status dp_model_file_save(const char *path, const dp_spec *spec, const float *params,
                             size_t n_params, dp_error *err)
{
    if (!path || !spec || (!params && n_params))
        return dp_fail(err, DP_EINTERNAL, "model save: missing path, spec or parameters");
    /* Refuse to write what the loader would refuse to read. */
    char why[128];
    dp_error e;
    if (dp_file_spec_check_spec(spec, why, sizeof why))
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save model: invalid spec: %s", path, why);
    if (dp_spec_validate(spec, &e) != DP_OK)
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save model: %.400s", path, e.msg);
    uint64_t want = (uint64_t)dp_spec_param_count(spec);
    if ((uint64_t)n_params != want)
        return dp_fail(err, DP_EINTERNAL,
                       "%s: cannot save model: %zu parameters given, the spec needs %llu", path,
                       n_params, (unsigned long long)want);
    if (dp_file_nonfinite(NULL, spec, params, n_params, why, sizeof why))
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save model: %s", path, why);
    save_ctx c = {spec, params, n_params};
    return dp_atomic_write(path, write_model_body, &c, err);
}

/* ---- load ---- */

/* n_params against the spec and the file's size against the header: what sizes the load. */
static dp_status model_sizes(const dp_file_head *h, uint64_t fsize, const char *path,
                             uint64_t *np, dp_error *err)
{
    *np = dp_get_u64(h->b + h->rest);
    uint64_t want = (uint64_t)dp_spec_param_count(&h->spec);
    if (*np != want)
        return dp_fail(err, DP_EDATA, "%s: header claims %llu parameters, its layer sizes need %llu",
                       path, (unsigned long long)*np, (unsigned long long)want);
    /* want <= ~3.3e13, so 4*want + len + 4 cannot overflow 64 bits. */
    dp_status rc = dp_file_check_size(path, fsize, (uint64_t)h->len + 4 * *np + 4, err);
    if (rc == DP_OK && *np > SIZE_MAX / 4)
        rc = dp_fail(err, DP_EDATA, "%s: %llu parameters do not fit in memory on this host", path,
                     (unsigned long long)*np);
    return rc;
}

/* The parameters after the header, CRC-checked, then checked finite. */
static dp_status model_params(FILE *f, const dp_file_head *h, size_t np, const char *path,
                              float **out, dp_error *err)
{
    *out = NULL;
    float *p = NULL;
    unsigned char *buf = NULL;
    if (np > 0) {
        p = dp_alloc(np * sizeof(float));
        buf = malloc(DP_FILE_CHUNK);
        if (!p || !buf) {
            free(buf);
            dp_free(p);
            return dp_fail(err, DP_EINTERNAL, "%s: out of memory for %zu parameters", path, np);
        }
    }
    unsigned long crc = dp_crc(crc32(0L, Z_NULL, 0), h->b, h->len);
    long at = (long)h->len;
    dp_status rc = dp_read_words(f, p, np, buf, &crc, path, &at, err);
    if (rc == DP_OK) rc = dp_check_crc_tail(f, crc, path, at, err);
    char why[160];
    if (rc == DP_OK && dp_file_nonfinite(NULL, &h->spec, p, np, why, sizeof why))
        rc = dp_fail(err, DP_EDATA, "%s: %s", path, why);
    free(buf);
    if (rc != DP_OK)
        dp_free(p);
    else
        *out = p;
    return rc;
}

dp_status dp_model_file_load(const char *path, dp_spec *spec, float **params, size_t *n_params,
                             dp_error *err)
{
    if (!path || !spec || !params || !n_params)
        return dp_fail(err, DP_EINTERNAL, "model load: missing path or output");
    *params = NULL;
    *n_params = 0;

    uint64_t fsize, np = 0;
    FILE *f = dp_open_regular(path, NULL, &fsize, err);
    if (!f) return err ? err->code : DP_ENOINPUT;
    dp_file_head h;
    float *out = NULL;
    dp_status rc = dp_file_read_head(f, path, fsize, &MODEL_KIND, &h, err);
    if (rc == DP_OK) rc = read_acts(&h, path, err);
    if (rc == DP_OK) rc = model_sizes(&h, fsize, path, &np, err);
    if (rc == DP_OK) rc = model_params(f, &h, (size_t)np, path, &out, err);
    fclose(f);
    if (rc != DP_OK) return rc;
    *spec = h.spec;
    *params = out;
    *n_params = (size_t)np;
    return DP_OK;
}
