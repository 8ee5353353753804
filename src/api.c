/* Public handles: models (create, accessors, save and load through ckpt.c's file format,
 * prediction on a caller's rows), the version, and the machine facts the CLI reports
 * (default thread count, topology, build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "dist.h"
#include "export.h"
#include "err.h"
#include "kernels.h"
#include "model.h"
#include "topo.h"

dp_model *dp_model_create(const dp_spec *spec, uint64_t seed, dp_error *err)
{
    if (dp_spec_validate(spec, err) != DP_OK) return NULL;
    dp_model *m = calloc(1, sizeof *m);
    if (!m) {
        dp_fail(err, DP_EINTERNAL, "out of memory for the model");
        return NULL;
    }
    m->spec = *spec;
    dp_layout_init(&m->layout, spec);
    m->params = dp_alloc(m->layout.n_params * sizeof(float));
    if (!m->params) {
        dp_fail(err, DP_EINTERNAL, "out of memory for %zu parameters", m->layout.n_params);
        free(m);
        return NULL;
    }
    dp_model_init_params(spec, &m->layout, m->params, seed);
    return m;
}

void dp_model_free(dp_model *m)
{
    if (!m) return;
    dp_free(m->params);
    free(m);
}

const dp_spec *dp_model_spec(const dp_model *m) { return &m->spec; }
size_t dp_model_n_params(const dp_model *m) { return m->layout.n_params; }
float *dp_model_params(dp_model *m) { return m->params; }

dp_status dp_model_save(const dp_model *m, const char *path, dp_error *err)
{
    return dp_model_file_save(path, &m->spec, m->params, m->layout.n_params, err);
}

dp_model *dp_model_load(const char *path, dp_error *err)
{
    dp_spec spec;
    float *params = NULL;
    size_t n = 0;
    if (dp_model_file_load(path, &spec, &params, &n, err) != DP_OK) return NULL;
    dp_error spec_err;
    if (dp_spec_validate(&spec, &spec_err) != DP_OK) {
        dp_fail(err, DP_EDATA, "%s: invalid model: %s", path, spec_err.msg);
        dp_free(params);
        return NULL;
    }
    dp_model *m = calloc(1, sizeof *m);
    if (!m) {
        dp_free(params);
        dp_fail(err, DP_EINTERNAL, "out of memory for the model");
        return NULL;
    }
    m->spec = spec;
    dp_layout_init(&m->layout, &spec);
    m->params = params;
    return m;
}

dp_status dp_checkpoint_save(const char *path, const dp_spec *spec, const dp_train_config *cfg,
                             const dp_train_state *state, dp_error *err)
{
    return dp_ckpt_save(path, spec, cfg, state, err);
}

dp_status dp_checkpoint_load(const char *path, dp_spec *spec, dp_train_config *cfg,
                             dp_train_state *state, dp_error *err)
{
    return dp_ckpt_load(path, spec, cfg, state, err);
}

int dp_default_threads(char *why, size_t why_len)
{
    dp_topo *t;
    dp_error e;
    if (dp_topo_open(&t, &e) != DP_OK) {
        snprintf(why, why_len, "1 (topology unavailable: %s)", e.msg);
        return 1;
    }
    int n = dp_topo_default_threads(t, why, why_len);
    dp_topo_close(t);
    return n < 1 ? 1 : n;
}

dp_status dp_topo_print(int threads, dp_bind bind, void *file, dp_error *err)
{
    dp_topo *t;
    dp_status st = dp_topo_open(&t, err);
    if (st != DP_OK) return st;
    dp_plan plan;
    st = dp_topo_plan(t, threads, bind, &plan, err);
    if (st == DP_OK) {
        dp_topo_report(t, &plan, (FILE *)file);
        dp_kernels_select(getenv("DPMLP_KERNELS"));
        fprintf((FILE *)file, "kernels: %s\n", dp_kernels_describe());
        dp_plan_free(&plan);
    }
    dp_topo_close(t);
    return st;
}

void dp_build_info(char *buf, size_t len)
{
    snprintf(buf, len,
             "dpmlp %s; compiler %s; OpenMP %d; hwloc %s; kernels %s; BLAS none (own kernels); "
             "MPI %s",
             DPMLP_VERSION,
#if defined(__clang__)
             "clang " __clang_version__,
#elif defined(__GNUC__)
             "gcc " __VERSION__,
#else
             "unknown",
#endif
#ifdef _OPENMP
             _OPENMP,
#else
             0,
#endif
             dp_topo_hwloc_version(),
             (dp_kernels_select(getenv("DPMLP_KERNELS")), dp_kernels_describe()),
             dp_dist_describe());
}

const char *dp_version(void) { return DPMLP_VERSION; }
int dp_version_major(void) { return DPMLP_VERSION_MAJOR; }
int dp_version_minor(void) { return DPMLP_VERSION_MINOR; }
int dp_version_patch(void) { return DPMLP_VERSION_PATCH; }

/* Rows per forward pass: DP_PREDICT_ROWS, fewer where they would pass the workspace bound. */
static size_t predict_rows(const dp_spec *spec, size_t n)
{
    size_t rows = DP_PREDICT_WORKSPACE_BYTES / dp_workspace_forward_row_bytes(spec);
    if (rows > DP_PREDICT_ROWS) rows = DP_PREDICT_ROWS;
    if (rows > n) rows = n;
    return rows < 1 ? 1 : rows;
}

/* Each block of rows is read from x and written to out where they lie: the workspace's
 * input and output layers are pointed at the caller's arrays for the pass (the forward pass
 * only reads act[0]; the kernels need no alignment), so only the hidden layers use it. */
dp_status dp_model_predict(const dp_model *m, size_t n, const float *x, float *out, dp_error *err)
{
    if (!m) return dp_fail(err, DP_EUSAGE, "dp_model_predict: model is NULL");
    if (n == 0) return DP_OK;
    if (!x || !out) return dp_fail(err, DP_EUSAGE, "dp_model_predict: x or out is NULL");
    const dp_spec *spec = &m->spec;
    const int L = spec->n_sizes - 1;
    const size_t in = (size_t)spec->sizes[0], outs = (size_t)spec->sizes[L];
    const size_t rows = predict_rows(spec, n);
    dp_workspace ws;
    dp_status st = dp_workspace_init_forward(&ws, spec, rows, err);
    if (st != DP_OK) return st;
    float *own_in = ws.act[0], *own_out = ws.act[L];
    for (size_t r = 0; r < n; r += rows) {
        size_t k = n - r < rows ? n - r : rows;
        ws.act[0] = (float *)(x + r * in);
        ws.act[L] = out + r * outs;
        dp_model_forward(spec, &m->layout, m->params, &ws, k);
    }
    ws.act[0] = own_in;
    ws.act[L] = own_out;
    dp_workspace_free(&ws);
    return DP_OK;
}

/* ---- export (io/export_*.c) ---- */

dp_status dp_model_export(const dp_model *m, dp_export_format format, const char *path,
                          dp_error *err)
{
    if (!m || !path) return dp_fail(err, DP_EUSAGE, "export: no model or no path");
    return dp_export_save(path, format, &m->spec, m->params, err);
}

dp_status dp_model_export_stream(const dp_model *m, dp_export_format format, void *file,
                                 dp_error *err)
{
    if (!m || !file) return dp_fail(err, DP_EUSAGE, "export: no model or no stream");
    return dp_export_write(file, "<stream>", format, &m->spec, m->params, err);
}
