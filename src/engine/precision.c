/* The engine's side of --precision bf16: the shared weight pack a team's workspaces read,
 * refreshed once per step by all workers (each its chunks, then a barrier) rather than once
 * per shard, and the start-up line that says which bf16 path runs and why. */
#include "precision.h"

#include <stdio.h>
#include <stdlib.h>

#include "bf16.h"
#include "err.h"

dp_status dp_team_precision_open(team_ctx *c, dp_precision precision, dp_error *err)
{
    c->pack = NULL;
    if (precision != DP_PRECISION_BF16) return DP_OK;
    c->pack = calloc(1, sizeof *c->pack);
    if (!c->pack) return dp_fail(err, DP_EINTERNAL, "out of memory for the bf16 weight pack");
    dp_status st = dp_bf16_pack_init(c->pack, c->spec, err);
    if (st != DP_OK) {
        free(c->pack);
        c->pack = NULL;
    }
    return st;
}

void dp_team_precision_close(team_ctx *c)
{
    if (!c->pack) return;
    dp_bf16_pack_free(c->pack);
    free(c->pack);
    c->pack = NULL;
}

void dp_team_bf16_refresh(dp_team *team, team_ctx *c, int t)
{
    if (!c->pack) return;
    dp_bf16_pack_part(c->pack, c->spec, c->lay, c->params, t, c->T);
    dp_team_barrier(team);
}

void dp_precision_describe(dp_precision precision, char *line, size_t cap)
{
    if (precision != DP_PRECISION_BF16) {
        snprintf(line, cap, "precision fp32 (the default)");
        return;
    }
    const char *path = dp_bf16_path();
    snprintf(line, cap,
             "precision bf16: GEMM operands rounded to bf16, fp32 accumulation, master weights, "
             "gradients and optimizer state; kernels %s (%s)",
             path, dp_bf16_why());
}
