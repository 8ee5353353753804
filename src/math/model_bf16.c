/* bf16 mixed precision for the network's three GEMMs (model_bf16.h): the per-step weight
 * pack, split across workers in 16-pair-row chunks, the workspace scratch, and the layer
 * GEMMs that pack the shard's activations and gradients into pairs and call dp_bf16_gemm. */
#include "model_bf16.h"

#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "err.h"

static size_t nn_words(size_t in, size_t out) { return dp_bf16_pairs(in) * dp_bf16_ld(out); }
static size_t nt_words(size_t in, size_t out) { return dp_bf16_pairs(out) * dp_bf16_ld(in); }

dp_status dp_bf16_pack_init(dp_bf16_pack *pk, const dp_spec *spec, dp_error *err)
{
    memset(pk, 0, sizeof *pk);
    pk->n_layers = spec->n_sizes - 1;
    for (int l = 0; l < pk->n_layers; l++) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        pk->w_nn[l] = dp_alloc(nn_words(in, out) * sizeof(uint32_t));
        /* The first layer's input gradient is never formed (dp_model_backward): no Wᵀ. */
        pk->w_nt[l] = l > 0 ? dp_alloc(nt_words(in, out) * sizeof(uint32_t)) : NULL;
        if (!pk->w_nn[l] || (l > 0 && !pk->w_nt[l])) {
            dp_bf16_pack_free(pk);
            return dp_fail(err, DP_EINTERNAL, "out of memory for the bf16 weight pack");
        }
        pk->n_chunks += (dp_bf16_pairs(in) + (l > 0 ? dp_bf16_pairs(out) : 0)) / DP_BF16_PAD;
    }
    return DP_OK;
}

void dp_bf16_pack_free(dp_bf16_pack *pk)
{
    for (int l = 0; l < DP_MAX_SIZES; l++) {
        dp_free(pk->w_nn[l]);
        dp_free(pk->w_nt[l]);
    }
    memset(pk, 0, sizeof *pk);
}

/* Chunk u: layer l's forward form (pair rows along in) then its transposed form (along
 * out), 16 pair rows each. A chunk of the forward form packs rows 2·p0 .. 2·p0 + 31 of W as
 * a matrix of its own: its padding pairs fall inside the chunk, never in a neighbour's. */
static void pack_chunk(dp_bf16_pack *pk, const dp_spec *spec, const dp_layout *lay,
                       const float *params, size_t u)
{
    for (int l = 0; l < pk->n_layers; l++) {
        size_t in = (size_t)spec->sizes[l], out = (size_t)spec->sizes[l + 1];
        size_t c_nn = dp_bf16_pairs(in) / DP_BF16_PAD;
        size_t c_nt = l > 0 ? dp_bf16_pairs(out) / DP_BF16_PAD : 0;
        const float *w = params + lay->w_off[l];
        if (u < c_nn) {
            size_t p0 = u * DP_BF16_PAD, k0 = 2 * p0;
            size_t rows = in - k0 < 2 * DP_BF16_PAD ? in - k0 : 2 * DP_BF16_PAD;
            if (k0 < in)
                dp_bf16_pack_pairs(w + k0 * out, out, rows, out, pk->w_nn[l] + p0 * dp_bf16_ld(out));
            else
                memset(pk->w_nn[l] + p0 * dp_bf16_ld(out), 0,
                       DP_BF16_PAD * dp_bf16_ld(out) * sizeof(uint32_t));
            return;
        }
        u -= c_nn;
        if (u < c_nt) {
            size_t p0 = u * DP_BF16_PAD;
            dp_bf16_pack_pairs_t(w, out, in, out, pk->w_nt[l], p0, p0 + DP_BF16_PAD);
            return;
        }
        u -= c_nt;
    }
}

void dp_bf16_pack_part(dp_bf16_pack *pk, const dp_spec *spec, const dp_layout *lay,
                       const float *params, int t, int T)
{
    for (size_t u = (size_t)t; u < pk->n_chunks; u += (size_t)T)
        pack_chunk(pk, spec, lay, params, u);
}

dp_status dp_workspace_bf16_attach(dp_workspace *ws, const dp_spec *spec,
                                   const dp_bf16_pack *pk, dp_error *err)
{
    size_t rows = ws->max_rows, widest = 0;
    for (int l = 0; l < spec->n_sizes; l++)
        if ((size_t)spec->sizes[l] > widest) widest = (size_t)spec->sizes[l];
    /* a: the row form (rows × width) or the pair form (pairs of rows × width). */
    size_t rowform = dp_bf16_up(rows) * dp_bf16_pairs(widest);
    size_t pairform = dp_bf16_pairs(rows) * dp_bf16_ld(widest);
    dp_bf16_ws *b = calloc(1, sizeof *b);
    if (b) {
        b->pack = pk;
        b->a = dp_alloc((rowform > pairform ? rowform : pairform) * sizeof(uint32_t));
        b->b = dp_alloc(pairform * sizeof(uint32_t));
        b->scratch = dp_alloc(dp_bf16_scratch_words(widest, dp_bf16_pairs(rows)) * 4);
    }
    if (!b || !b->a || !b->b || !b->scratch) {
        dp_bf16_ws_free(b);
        return dp_fail(err, DP_EINTERNAL, "out of memory for a %zu-row bf16 workspace", rows);
    }
    ws->bf16 = b;
    return DP_OK;
}

void dp_bf16_ws_free(dp_bf16_ws *b)
{
    if (!b) return;
    dp_free(b->a);
    dp_free(b->b);
    dp_free(b->scratch);
    free(b);
}

void dp_bf16_forward(dp_bf16_ws *b, int l, size_t m, size_t in, size_t out, const float *X,
                     float *Y)
{
    size_t P = dp_bf16_pairs(in);
    dp_bf16_pack_rows(X, in, m, in, b->a);
    dp_bf16_gemm(m, out, P, b->a, P, 1, b->pack->w_nn[l], dp_bf16_ld(out), Y, out, 0,
                 b->scratch);
}

/* Both operands in the pair form along the shard's rows: Xᵀ's pair (i, p) is word
 * p·ld(in) + i of X's pack. */
void dp_bf16_wgrad(dp_bf16_ws *b, size_t m, size_t in, size_t out, const float *X,
                   const float *dZ, float *dW, int accumulate)
{
    dp_bf16_pack_pairs(X, in, m, in, b->a);
    dp_bf16_pack_pairs(dZ, out, m, out, b->b);
    dp_bf16_gemm(in, out, dp_bf16_pairs(m), b->a, 1, dp_bf16_ld(in), b->b, dp_bf16_ld(out), dW,
                 out, accumulate, b->scratch);
}

void dp_bf16_igrad(dp_bf16_ws *b, int l, size_t m, size_t in, size_t out, const float *dZ,
                   float *dX)
{
    size_t P = dp_bf16_pairs(out);
    dp_bf16_pack_rows(dZ, out, m, out, b->a);
    dp_bf16_gemm(m, in, P, b->a, P, 1, b->pack->w_nt[l], dp_bf16_ld(in), dX, in, 0, b->scratch);
}
