/* Per-worker set-up and teardown (pin, then allocate and first-touch), and the row loading
 * and evaluation both teams use: the worker's room, below train.c and evaluate.c. */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fpmode.h"
#include "testhooks.h"
#include "model_bf16.h"

dp_status dp_team_ctx_init(team_ctx *c, int T, int n_blocks, dp_error *err)
{
    c->T = T;
    c->n_blocks = n_blocks;
    c->ws = calloc((size_t)T, sizeof *c->ws);
    c->slot = aligned_alloc(64, (size_t)T * sizeof *c->slot);
    c->grad = n_blocks ? calloc((size_t)n_blocks, sizeof *c->grad) : NULL;
    if (!c->ws || !c->slot || (n_blocks && !c->grad)) {
        dp_team_ctx_free(c);
        return dp_fail(err, DP_EINTERNAL, "out of memory for %d workers", T);
    }
    memset(c->slot, 0, (size_t)T * sizeof *c->slot);
    return DP_OK;
}

void dp_team_ctx_free(team_ctx *c)
{
    free(c->ws);
    free(c->slot);
    free(c->grad);
    c->ws = NULL;
    c->slot = NULL;
    c->grad = NULL;
}

/* Pins worker t by the plan; an unbound worker (policy none, or binding refused) is widened
 * to every allowed PU, since it inherited its creator's binding (OpenMP's first place under
 * OMP_PROC_BIND). Then reads back where it may really run, for the start-up report. */
static void worker_place(team_ctx *c, int t)
{
    worker_slot *s = &c->slot[t];
    dp_error e;
    dp_status st = c->plan ? dp_topo_bind_self(c->topo, c->plan, t, &e) : DP_OK;
    if (st != DP_OK) snprintf(s->bind_msg, sizeof s->bind_msg, "%.150s", e.msg);
    if ((!c->plan || c->plan->policy == DP_BIND_NONE || st != DP_OK) &&
        dp_topo_unbind_self(c->topo, &e) != DP_OK && !s->bind_msg[0])
        snprintf(s->bind_msg, sizeof s->bind_msg, "worker %d: %.130s", t, e.msg);
    dp_topo_self_cpus(c->topo, s->cpus, sizeof s->cpus);
}

void dp_worker_setup(team_ctx *c, int t)
{
    worker_slot *s = &c->slot[t];
    /* Once per worker, for the whole run: denormal moments and activations would otherwise
     * cost the update and the GEMMs several times their normal time. */
    s->fp_saved = dp_fpmode_enter();
    if (c->topo) worker_place(c, t);
    dp_error e;
    dp_status st = c->forward_only
                       ? dp_workspace_init_forward(&c->ws[t], c->spec, c->shard_cap, &e)
                       : dp_workspace_init(&c->ws[t], c->spec, c->shard_cap, &e);
    if (st == DP_OK && c->dropout && !c->forward_only)
        st = dp_workspace_add_dropout(&c->ws[t], c->spec, c->dropout, &e);
    if (st != DP_OK) s->failed = 1;
    if (st == DP_OK && c->pack && dp_workspace_bf16_attach(&c->ws[t], c->spec, c->pack, &e) != DP_OK)
        s->failed = 1;
    for (int k = t; k < c->n_blocks; k += c->T) {
        c->grad[k] = dp_calloc(c->lay->n_params * sizeof(float));
        if (!c->grad[k]) s->failed = 1;
    }
}

void dp_worker_teardown(team_ctx *c, int t)
{
    dp_workspace_free(&c->ws[t]);
    for (int k = t; k < c->n_blocks; k += c->T) {
        dp_free(c->grad[k]);
        c->grad[k] = NULL;
    }
    dp_testhook_worker_fn probe = dp_testhook_worker_probe();
    if (probe) probe(t, dp_fpmode_flushing());
    dp_fpmode_restore(c->slot[t].fp_saved);
}

int dp_team_setup_failed(const team_ctx *c)
{
    for (int u = 0; u < c->T; u++)
        if (c->slot[u].failed) return 1;
    return 0;
}

void dp_load_rows(const dp_dataset *d, dp_workspace *ws, const uint32_t *idx, size_t m)
{
    dp_data_gather(d, idx, m, ws->act[0]);
    if (d->labels)
        dp_data_gather_labels(d, idx, m, ws->labels);
    else if (d->targets)
        dp_data_gather_targets(d, idx, m, ws->targets);
}

void dp_eval_rows(const team_ctx *c, int t, const dp_dataset *d, size_t lo, size_t hi,
                  float *out, double *loss, double *score)
{
    dp_workspace *ws = &c->ws[t];
    size_t outputs = (size_t)c->spec->sizes[c->spec->n_sizes - 1];
    uint32_t idx[256];
    *loss = 0.0;
    *score = 0.0;
    size_t cap = c->shard_cap < 256 ? c->shard_cap : 256;
    for (size_t r = lo; r < hi; r += cap) {
        size_t m = hi - r < cap ? hi - r : cap;
        for (size_t i = 0; i < m; i++) idx[i] = (uint32_t)(r + i);
        dp_load_rows(d, ws, idx, m);
        dp_model_forward(c->spec, c->lay, c->params, ws, m);
        if (out) {
            memcpy(out + (r - lo) * outputs, ws->act[c->spec->n_sizes - 1],
                   m * outputs * sizeof(float));
        } else {
            double l, s;
            dp_model_score(c->spec, ws, m, &l, &s);
            *loss += l;
            *score += s;
        }
    }
}
