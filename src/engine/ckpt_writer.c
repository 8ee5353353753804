/* The background checkpoint writer (ckpt_writer.h). The thread starts with the first
 * checkpoint, not with the run, so the team's start is the run's first thread creation; when
 * the system refuses the thread the writes happen inline, as before this room existed. */
#include "ckpt_writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct dp_ckpt_writer {
    const dp_train_hooks *hooks;
    const dp_spec *spec;
    const dp_train_config *cfg;
    size_t n_params, n_train;
    int n_moments;
    float *params, *m1, *m2; /* the copy's arrays, sized at open */
    uint32_t *perm;
    float *best;          /* the best epoch's weights, allocated with the first that has them */
    dp_train_state copy;  /* the queued state, pointing at them */
    pthread_t thread;
    int thread_state;     /* 0 not started, 1 running, -1 refused: write inline */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, quit;    /* under mu */
    atomic_int failed;
    dp_error err;         /* the first failure (written before failed is set) */
};

/* Hands the copy to the hook; records the first failure. */
static void write_copy(dp_ckpt_writer *w)
{
    dp_error e = {DP_OK, ""};
    dp_status st = w->hooks->checkpoint(w->hooks->ctx, w->spec, w->cfg, &w->copy, &e);
    if (st != DP_OK && !atomic_load(&w->failed)) {
        if (e.code == DP_OK) e.code = st;
        w->err = e;
        atomic_store(&w->failed, 1);
    }
}

static void *writer_main(void *p)
{
    dp_ckpt_writer *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending) break;
        pthread_mutex_unlock(&w->mu);
        write_copy(w);
        pthread_mutex_lock(&w->mu);
        w->pending = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dp_status dp_ckpt_writer_open(dp_ckpt_writer **out, const dp_train_hooks *hooks,
                              const dp_spec *spec, const dp_train_config *cfg, size_t n_params,
                              int n_moments, size_t n_train, dp_error *err)
{
    DP_ASSERT(hooks && hooks->checkpoint && n_moments >= 0 && n_moments <= 2);
    dp_ckpt_writer *w = calloc(1, sizeof *w);
    if (!w) return dp_fail(err, DP_EINTERNAL, "out of memory for the checkpoint writer");
    w->hooks = hooks;
    w->spec = spec;
    w->cfg = cfg;
    w->n_params = n_params;
    w->n_train = n_train;
    w->n_moments = n_moments;
    size_t bytes = n_params * sizeof(float);
    w->params = dp_alloc(bytes);
    if (n_moments >= 1) w->m1 = dp_alloc(bytes);
    if (n_moments >= 2) w->m2 = dp_alloc(bytes);
    w->perm = malloc(n_train * sizeof *w->perm);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->failed, 0);
    *out = w;
    if (!w->params || (n_moments >= 1 && !w->m1) || (n_moments >= 2 && !w->m2) || !w->perm) {
        dp_ckpt_writer_close(w);
        *out = NULL;
        return dp_fail(err, DP_EINTERNAL, "out of memory for the checkpoint copy");
    }
    return DP_OK;
}

/* The queued state: src with the writer's own arrays. */
static void copy_state(dp_ckpt_writer *w, const dp_train_state *src)
{
    DP_ASSERT(src->n_params == w->n_params && src->n_train == w->n_train &&
              src->n_moments == w->n_moments);
    size_t bytes = src->n_params * sizeof(float);
    w->copy = *src;
    w->copy.params = memcpy(w->params, src->params, bytes);
    w->copy.m1 = src->n_moments >= 1 ? memcpy(w->m1, src->m1, bytes) : NULL;
    w->copy.m2 = src->n_moments >= 2 ? memcpy(w->m2, src->m2, bytes) : NULL;
    w->copy.perm = memcpy(w->perm, src->perm, src->n_train * sizeof *w->perm);
    w->copy.best_params = src->best_params ? memcpy(w->best, src->best_params, bytes) : NULL;
}

dp_status dp_ckpt_writer_submit(dp_ckpt_writer *w, const dp_train_state *st, dp_error *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
    if (atomic_load(&w->failed)) {
        pthread_mutex_unlock(&w->mu);
        return dp_ckpt_writer_wait(w, err);
    }
    if (st->best_params && !w->best && !(w->best = dp_alloc(w->n_params * sizeof(float)))) {
        pthread_mutex_unlock(&w->mu);
        return dp_fail(err, DP_EINTERNAL, "out of memory for the checkpoint copy");
    }
    copy_state(w, st);
    if (w->thread_state == 0)
        w->thread_state = pthread_create(&w->thread, NULL, writer_main, w) == 0 ? 1 : -1;
    if (w->thread_state < 0) {
        pthread_mutex_unlock(&w->mu);
        write_copy(w);
        return dp_ckpt_writer_wait(w, err);
    }
    w->pending = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return DP_OK;
}

int dp_ckpt_writer_failed(dp_ckpt_writer *w) { return w && atomic_load(&w->failed); }

dp_status dp_ckpt_writer_wait(dp_ckpt_writer *w, dp_error *err)
{
    if (!w) return DP_OK;
    pthread_mutex_lock(&w->mu);
    while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (!atomic_load(&w->failed)) return DP_OK;
    if (err) *err = w->err;
    return w->err.code;
}

void dp_ckpt_writer_close(dp_ckpt_writer *w)
{
    if (!w) return;
    if (w->thread_state > 0) {
        pthread_mutex_lock(&w->mu);
        w->quit = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL); /* the thread writes what is pending before it quits */
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    dp_free(w->params);
    dp_free(w->m1);
    dp_free(w->m2);
    dp_free(w->best);
    free(w->perm);
    free(w);
}
