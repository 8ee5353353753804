/* One training step (step.h). Averages divide by the samples really in the batch, so uneven
 * shards, a short last batch and B < T are exact.
 *
 * --deterministic replaces "one block per worker" by "one block per micro-shard": the batch is
 * cut into pieces of c->micro rows, boundaries that depend on B only; each piece's gradient
 * lands in its own block, and blocks are summed in piece order, so the bytes of the model do
 * not depend on the thread count.
 *
 * With MPI (R ranks), each rank takes its share of the global batch and splits it over its
 * workers; the workers' segmented sums land in one vector that worker 0 allreduces across
 * ranks before every worker updates its slice, so all ranks apply the same update.
 *
 * Keeping the last finite weights costs no memory: once worker t has summed a chunk of its
 * slice, that chunk of every gradient block is dead until the next step's backward (only
 * worker t reads it), so a block keeps the chunk's pre-update parameters: worker t's own block
 * (t mod the blocks), whose lines its backward wrote and will write again. Keeping them in
 * another worker's block (block 0, before) dragged those lines between cores twice a step. */
#include "step.h"

#include <math.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "optim.h"
#include "shard.h"

/* Floats reduced per pass before the optimizer consumes them: 16 KiB stays in L1. */
#define REDUCE_CHUNK 4096

/* The block where worker t keeps its slice's pre-update parameters (see the top). */
static float *keep_block(const train_ctx *c, const worker_slot *s)
{
    int t = (int)(s - c->tc.slot);
    return c->tc.grad[t % c->tc.n_blocks];
}

/* Keeps params[off, off+n) in worker t's block (dead there, see the top), applies the
 * optimizer with the averaged gradient g, and counts in s what the update made non-finite. */
static void update_chunk(train_ctx *c, worker_slot *s, const dp_optim_step *os, const float *g,
                         size_t off, size_t n)
{
    float *p = c->tc.params + off;
    float *m1 = c->m1 ? c->m1 + off : NULL, *m2 = c->m2 ? c->m2 + off : NULL;
    memcpy(keep_block(c, s) + off, p, n * sizeof(float));
    s->n_bad += dp_optim_apply(os, p, g, m1, m2, n);
}

/* Sums blocks[0..n_blocks) over [lo, hi) in block order, scales by 1/B, and applies the
 * optimizer to it, one L1-sized chunk at a time. */
static void reduce_update_range(train_ctx *c, worker_slot *s, const dp_optim_step *os,
                                float *const *blocks, int n_blocks, float scale, size_t lo,
                                size_t hi)
{
    float buf[REDUCE_CHUNK] __attribute__((aligned(64)));
    DP_ASSERT(lo <= hi && hi <= c->tc.lay->n_params);
    s->kept_lo = lo;
    s->kept_hi = hi;
    double t0 = dp_now();
    for (size_t off = lo; off < hi; off += REDUCE_CHUNK) {
        size_t n = hi - off < REDUCE_CHUNK ? hi - off : REDUCE_CHUNK;
        dp_optim_sum_blocks(buf, blocks, n_blocks, off, n, scale);
        double t1 = dp_now();
        s->red += t1 - t0;
        update_chunk(c, s, os, buf, off, n);
        t0 = dp_now();
        s->upd += t0 - t1;
    }
}

/* Worker 0 of each rank, the team waiting: the rank's gradient sum and loss become the global
 * ones, and a stop request anywhere becomes a stop everywhere (no rank may leave the others
 * waiting in the next allreduce). */
static void allreduce_step(train_ctx *c)
{
    double t0 = dp_now();
    double loss_stop[2] = {0.0, 0.0};
    for (int u = 0; u < c->tc.T; u++) loss_stop[0] += c->tc.slot[u].step_loss;
    const dp_train_hooks *h = c->hooks;
    loss_stop[1] = (h && h->stop && *h->stop) ? 1.0 : 0.0;
    dp_error e;
    if (dp_dist_allreduce_floats(c->reduced, c->tc.lay->n_params, &e) != DP_OK ||
        dp_dist_allreduce_doubles(loss_stop, 2, &e) != DP_OK) {
        c->fault = e;
        c->faulted = 1;
        loss_stop[0] = NAN;
    }
    c->global_loss = loss_stop[0];
    if (loss_stop[1] > 0.0) c->stop_now = c->stopped = 1;
    c->allreduce_s += dp_now() - t0;
}

/* R > 1, reduce half: worker t sums its slice of the rank's blocks into c->reduced, then
 * worker 0 allreduces it between two barriers. Returns the global loss. */
static double reduce_ranks(dp_team *team, train_ctx *c, int t, int n_blocks, size_t lo,
                           size_t hi)
{
    worker_slot *s = &c->tc.slot[t];
    double t0 = dp_now();
    dp_optim_sum_blocks(c->reduced + lo, c->tc.grad, n_blocks, lo, hi - lo, 1.0f);
    s->red += dp_now() - t0;
    dp_team_barrier(team);
    if (t == 0) allreduce_step(c);
    dp_team_barrier(team);
    return c->global_loss;
}

/* R > 1, update half: every worker applies the update to its slice of the allreduced sum. */
static void update_ranks(train_ctx *c, worker_slot *s, const dp_optim_step *os, float scale,
                         size_t lo, size_t hi)
{
    float *sum = c->reduced;
    double t0 = dp_now();
    for (size_t i = lo; i < hi; i++) sum[i] *= scale;
    s->kept_lo = lo;
    s->kept_hi = hi;
    update_chunk(c, s, os, sum + lo, lo, hi - lo);
    s->upd += dp_now() - t0;
}

/* Round r of the tree: worker t (a multiple of 2^(r+1)) adds block t + 2^r into its own. */
static void tree_rounds(dp_team *team, train_ctx *c, int t)
{
    int T = c->tc.T;
    size_t n = c->tc.lay->n_params;
    double t0 = dp_now();
    for (int stride = 1; stride < T; stride *= 2) {
        if (t % (2 * stride) == 0 && t + stride < T) {
            float *dst = c->tc.grad[t];
            const float *src = c->tc.grad[t + stride];
            for (size_t i = 0; i < n; i++) dst[i] += src[i];
        }
        dp_team_barrier(team);
    }
    c->tc.slot[t].red += dp_now() - t0;
}

/* One rank: the reduction strategies; all leave the averaged update applied to every
 * parameter. Deterministic mode always sums its micro-shard blocks segment-wise. */
static void update_rank(dp_team *team, train_ctx *c, int t, const dp_optim_step *os,
                        int n_blocks, float scale, size_t lo, size_t hi)
{
    worker_slot *s = &c->tc.slot[t];
    dp_reduce strategy = c->micro ? DP_REDUCE_SEGMENTED : c->cfg->reduce;
    switch (strategy) {
    case DP_REDUCE_SEGMENTED:
        reduce_update_range(c, s, os, c->tc.grad, n_blocks, scale, lo, hi);
        break;
    case DP_REDUCE_SERIAL:
        if (t == 0)
            reduce_update_range(c, s, os, c->tc.grad, n_blocks, scale, 0, c->tc.lay->n_params);
        break;
    case DP_REDUCE_TREE:
        tree_rounds(team, c, t);
        reduce_update_range(c, s, os, c->tc.grad, 1, scale, lo, hi);
        break;
    }
}

void step_note_epoch_loss(train_ctx *c, double mean)
{
    if (!isfinite(mean)) return;
    if (c->div_epochs++ == 0) c->div_first = c->div_best = mean;
    if (mean < c->div_best) c->div_best = mean;
}

/* Divergence that is not (yet) NaN (step.h): every worker reads the same bound (set between
 * barriers) and the same loss, so all reach the same verdict without another barrier. */
static int step_diverged(const train_ctx *c, worker_slot *s, double mean)
{
    if (c->div_epochs == 0) return 0;
    double floor = DP_DIVERGE_FLOOR * c->div_first;
    double best = c->div_best > floor ? c->div_best : floor;
    return s->diverged = mean > DP_DIVERGE_FACTOR * best;
}

double step_reduce_update(dp_team *team, train_ctx *c, int t, int n_blocks, size_t nb,
                          long step_no)
{
    worker_slot *s = &c->tc.slot[t];
    size_t lo, hi;
    dp_slice(c->tc.lay->n_params, t, c->tc.T, &lo, &hi);
    DP_ASSERT(n_blocks >= 1 && n_blocks <= (c->micro ? c->tc.n_blocks : c->tc.T));
    s->n_bad = 0;
    s->kept_lo = s->kept_hi = 0;
    /* Every worker sums the same T losses in the same order, so all agree on the verdict
     * without another barrier, and nobody applies a non-finite update. */
    double loss = 0.0;
    for (int u = 0; u < c->tc.T; u++) loss += c->tc.slot[u].step_loss;
    if (c->R > 1) loss = reduce_ranks(team, c, t, n_blocks, lo, hi);
    if (!isfinite(loss)) return loss;
    if (step_diverged(c, s, loss / (double)nb)) return loss;
    float scale = 1.0f / (float)nb;
    dp_optim_step os;
    dp_optim_prepare(&os, c->cfg, step_no);
    os.lr = step_lr(c, step_no); /* the schedule's lr for this step (constant: cfg->lr) */
    if (c->R > 1)
        update_ranks(c, s, &os, scale, lo, hi);
    else
        update_rank(team, c, t, &os, n_blocks, scale, lo, hi);
    return loss;
}

size_t step_update_bad(train_ctx *c, int t)
{
    size_t bad = 0;
    for (int u = 0; u < c->tc.T; u++) bad += c->tc.slot[u].n_bad;
    if (bad == 0) return 0;
    worker_slot *s = &c->tc.slot[t];
    if (s->kept_hi > s->kept_lo)
        memcpy(c->tc.params + s->kept_lo, keep_block(c, s) + s->kept_lo,
               (s->kept_hi - s->kept_lo) * sizeof(float));
    return bad;
}

/* Forward and backward of rows perm[b0 + lo .. b0 + hi) into block g: the step's loss sum. */
static double compute_rows(train_ctx *c, int t, size_t b0, size_t lo, size_t hi, float *g)
{
    if (hi == lo) {
        /* An empty shard (B < T) contributes zeros, so the fixed-order sum stays exact. */
        memset(g, 0, c->tc.lay->n_params * sizeof(float));
        return 0.0;
    }
    worker_slot *s = &c->tc.slot[t];
    dp_workspace *ws = &c->tc.ws[t];
    DP_ASSERT(hi - lo <= ws->max_rows);
    double t0 = dp_now();
    dp_load_rows(c->train, ws, c->perm + b0 + lo, hi - lo);
    /* Row i's mask is keyed by its position b0 + lo + i in the epoch: never by the worker. */
    dp_dropout d = {c->tc.dropout, c->drop_key, b0 + lo};
    dp_model_forward_train(c->tc.spec, c->tc.lay, c->tc.params, ws, hi - lo,
                           c->tc.dropout ? &d : NULL);
    double t1 = dp_now();
    double loss = dp_model_backward(c->tc.spec, c->tc.lay, c->tc.params, ws, hi - lo, g, 0);
    s->fwd += t1 - t0;
    s->bwd += dp_now() - t1;
    return loss;
}

int step_compute(train_ctx *c, int t, size_t b0, size_t nb)
{
    worker_slot *s = &c->tc.slot[t];
    int T = c->tc.T;
    /* This rank's share of the global batch; all of it without MPI. */
    size_t rlo, rhi;
    dp_shard_rows(nb, c->rank, c->R, &rlo, &rhi);
    b0 += rlo;
    nb = rhi - rlo;
    double t0 = dp_now();
    s->step_loss = 0.0;
    int n_blocks;
    if (!c->micro) {
        size_t lo, hi;
        dp_shard_rows(nb, t, T, &lo, &hi);
        s->step_loss = compute_rows(c, t, b0, lo, hi, c->tc.grad[t]);
        n_blocks = T;
    } else {
        /* Piece k holds rows [k·micro, (k+1)·micro): boundaries independent of T. */
        n_blocks = (int)((nb + c->micro - 1) / c->micro);
        DP_ASSERT(n_blocks <= c->tc.n_blocks);
        for (int k = t; k < n_blocks; k += T) {
            size_t lo = (size_t)k * c->micro;
            size_t hi = lo + c->micro < nb ? lo + c->micro : nb;
            s->step_loss += compute_rows(c, t, b0, lo, hi, c->tc.grad[k]);
        }
    }
    s->step_compute = dp_now() - t0;
    return n_blocks;
}
