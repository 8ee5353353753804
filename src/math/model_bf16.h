/* The network's GEMMs in bf16 mixed precision (bf16.h): the weights packed once per step in
 * the two pair layouts the forward and the input gradient read (shared by all workers), and
 * per-workspace scratch for the operands packed per shard. model.c calls the three layer
 * GEMMs below instead of the fp32 ones when a workspace has bf16 scratch attached. */
#ifndef DP_MODEL_BF16_H
#define DP_MODEL_BF16_H
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct dp_bf16_pack {
    int n_layers;
    uint32_t *w_nn[DP_MAX_SIZES]; /* layer l: pairs(in) × ld(out), B of the forward */
    uint32_t *w_nt[DP_MAX_SIZES]; /* layer l ≥ 1: pairs(out) × ld(in), B of dX = dZ · Wᵀ */
    size_t n_chunks;              /* 16-pair-row pieces of both forms, the unit of sharing */
} dp_bf16_pack;

dp_status dp_bf16_pack_init(dp_bf16_pack *pk, const dp_spec *spec, dp_error *err);
void dp_bf16_pack_free(dp_bf16_pack *pk);
/* Packs chunks t, t + T, … of params' weights (worker t of T; every chunk writes its own
 * rows, so workers never share a line of output). The whole pack after all T have run. */
void dp_bf16_pack_part(dp_bf16_pack *pk, const dp_spec *spec, const dp_layout *lay,
                       const float *params, int t, int T);

/* Per-workspace scratch for the packed shard operands. */
typedef struct dp_bf16_ws {
    const dp_bf16_pack *pack;
    uint32_t *a, *b, *scratch;
} dp_bf16_ws;

/* Gives ws bf16 scratch reading pk (the workspace frees it). */
dp_status dp_workspace_bf16_attach(dp_workspace *ws, const dp_spec *spec,
                                   const dp_bf16_pack *pk, dp_error *err);
void dp_bf16_ws_free(dp_bf16_ws *b);

/* Layer l's GEMMs, contracts as model.c's fp32 calls:
 *   forward  Y[m×out] = X[m×in] · W          (overwrites Y)
 *   wgrad    dW[in×out] (+)= Xᵀ · dZ[m×out]
 *   igrad    dX[m×in] = dZ · Wᵀ              (overwrites dX) */
void dp_bf16_forward(dp_bf16_ws *b, int l, size_t m, size_t in, size_t out, const float *X,
                     float *Y);
void dp_bf16_wgrad(dp_bf16_ws *b, size_t m, size_t in, size_t out, const float *X,
                   const float *dZ, float *dW, int accumulate);
void dp_bf16_igrad(dp_bf16_ws *b, int l, size_t m, size_t in, size_t out, const float *dZ,
                   float *dX);

#endif
