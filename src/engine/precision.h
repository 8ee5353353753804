/* --precision for a team (precision.c): the bf16 weight pack its workspaces share, its
 * per-step refresh, and the line that says which path runs. Private to the engine. */
#ifndef DP_PRECISION_H
#define DP_PRECISION_H
#include <stddef.h>

#include "model_bf16.h"
#include "team.h"
#include "worker.h"

/* fp32: nothing (c->pack stays NULL). bf16: allocates c->pack for c->spec. */
dp_status dp_team_precision_open(team_ctx *c, dp_precision precision, dp_error *err);
void dp_team_precision_close(team_ctx *c);
/* Every worker of the team, after the weights changed and before they are read: packs its
 * chunks, then waits for the others. No-op (and no barrier) in fp32. */
void dp_team_bf16_refresh(dp_team *team, team_ctx *c, int t);
void dp_precision_describe(dp_precision precision, char *line, size_t cap);

#endif
