/* What the export writers share: the per-layer views of the flat parameters, the mapping of
 * dpmlp's activations to ONNX operators, the dispatch on the format, and the atomic write to a
 * path (an export interrupted half-way never leaves a file that looks complete). */
#include "export.h"

#include <errno.h>
#include <string.h>

#include "ckpt.h"
#include "err.h"
#include "spec.h"

int dp_export_layers(const dp_spec *spec, const float *params, dp_export_layer *L)
{
    int n = spec->n_sizes - 1;
    size_t w = 0, b = 0;
    for (int l = 0; l < n; l++) b += (size_t)spec->sizes[l] * (size_t)spec->sizes[l + 1];
    for (int l = 0; l < n; l++) {
        L[l].in = spec->sizes[l];
        L[l].out = spec->sizes[l + 1];
        L[l].w = params + w;
        L[l].b = params + b;
        L[l].act = dp_spec_layer_act(spec, l);
        L[l].slope = L[l].act == DP_ACT_LEAKY_RELU ? spec->leaky_slope : 0.0f;
        w += (size_t)L[l].in * (size_t)L[l].out;
        b += (size_t)L[l].out;
    }
    return n;
}

/* dpmlp's activation as an ONNX operator; alpha is LeakyRelu's slope. */
static dp_status onnx_act(dp_act a, float slope, dp_onnx_act *out, float *alpha, dp_error *err)
{
    *alpha = 0.0f;
    switch (a) {
    case DP_ACT_LEAKY_RELU: *out = DP_ONNX_LEAKY_RELU, *alpha = slope; return DP_OK;
    case DP_ACT_GELU: *out = DP_ONNX_GELU_TANH; return DP_OK;
    case DP_ACT_RELU: *out = DP_ONNX_RELU; return DP_OK;
    case DP_ACT_SIGMOID: *out = DP_ONNX_SIGMOID; return DP_OK;
    case DP_ACT_TANH: *out = DP_ONNX_TANH; return DP_OK;
    case DP_ACT_LINEAR: *out = DP_ONNX_LINEAR; return DP_OK;
    case DP_ACT_SOFTMAX: *out = DP_ONNX_SOFTMAX; return DP_OK;
    default:
        return dp_fail(err, DP_EUSAGE, "activation %s has no ONNX export", dp_act_name(a));
    }
}

/* A protobuf message is at most 2 GiB; the parameters are nearly all of it. */
#define ONNX_MAX_PARAMS ((size_t)1 << 28) /* 1 GiB of float32, with room for the rest */

static dp_status write_onnx(FILE *f, const dp_export_layer *L, int n, size_t n_params,
                            dp_error *err)
{
    if (n_params > ONNX_MAX_PARAMS)
        return dp_fail(err, DP_EUSAGE, "onnx export: %zu parameters, more than one ONNX file "
                       "without external data holds (use --format npz)", n_params);
    dp_onnx_act acts[DP_MAX_SIZES];
    float alphas[DP_MAX_SIZES];
    for (int l = 0; l < n; l++) {
        dp_status st = onnx_act(L[l].act, L[l].slope, &acts[l], &alphas[l], err);
        if (st != DP_OK) return st;
    }
    return dp_export_onnx(f, L, n, acts, alphas, err);
}

dp_status dp_export_write(FILE *f, const char *path, dp_export_format format,
                          const dp_spec *spec, const float *params, dp_error *err)
{
    dp_export_layer L[DP_MAX_SIZES];
    dp_status st = dp_spec_validate(spec, err);
    if (st != DP_OK) return st;
    int n = dp_export_layers(spec, params, L);
    errno = 0;
    switch (format) {
    case DP_EXPORT_ONNX: st = write_onnx(f, L, n, dp_spec_param_count(spec), err); break;
    case DP_EXPORT_NPZ: st = dp_export_npz(f, L, n, err); break;
    case DP_EXPORT_CSV: st = dp_export_csv(f, L, n, err); break;
    default: return dp_fail(err, DP_EUSAGE, "export format %d: want onnx, npz or csv", (int)format);
    }
    if (st == DP_OK && (fflush(f) != 0 || ferror(f))) st = DP_EIO;
    if (st == DP_EIO)
        return dp_fail(err, DP_EIO, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
    if (st != DP_OK) {
        /* Put the output's name in front of the writer's message. */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return dp_fail(err, st, "%s: %s", path, msg);
    }
    return DP_OK;
}

typedef struct save_ctx {
    dp_export_format format;
    const dp_spec *spec;
    const float *params;
    const char *path;
    dp_error err;
} save_ctx;

static int save_body(FILE *f, void *ctx)
{
    save_ctx *c = ctx;
    return dp_export_write(f, c->path, c->format, c->spec, c->params, &c->err) == DP_OK ? 0 : -1;
}

dp_status dp_export_save(const char *path, dp_export_format format, const dp_spec *spec,
                         const float *params, dp_error *err)
{
    save_ctx c = {format, spec, params, path, {DP_OK, ""}};
    /* Refusals (an activation, a size) come before any file is created. */
    dp_status st = dp_atomic_write(path, save_body, &c, err);
    if (st != DP_OK && c.err.code != DP_OK && c.err.code != DP_EIO) {
        if (err) *err = c.err;
        return c.err.code;
    }
    return st;
}
