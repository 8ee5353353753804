/* Validation room of io: the held-out split is a pure function of (seed, n) — the same seed
 * gives the same two sets, the sets are disjoint, cover every sample once and keep the file's
 * order — and checkpoint format 3 carries the schedule's config, the best epoch's counters and
 * weights through save and load (a best epoch after the checkpoint's own is refused). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "data.h"
#include "err.h"
#include "io/craft.h"

/* n samples whose one feature is their row number, labels row % 3. */
static dp_dataset *numbered(size_t n)
{
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_alloc(n, 1, 0, 0, "numbered", &d, &e), DP_OK);
    for (size_t i = 0; i < n; i++) {
        d->x_f32[i] = (float)i;
        d->labels[i] = (int32_t)(i % 3);
    }
    d->max_label = n > 2 ? 2 : (int32_t)n - 1;
    return d;
}

START_TEST(split_is_seeded_disjoint_and_complete)
{
    dp_dataset *d = numbered(1000);
    dp_dataset *tr, *va, *tr2, *va2, *tr3, *va3;
    dp_error e;
    ck_assert_int_eq(dp_data_split(d, 0.1, 7, &tr, &va, &e), DP_OK);
    ck_assert_int_eq(dp_data_split(d, 0.1, 7, &tr2, &va2, &e), DP_OK);
    ck_assert_int_eq(dp_data_split(d, 0.1, 8, &tr3, &va3, &e), DP_OK);
    ck_assert_uint_eq(va->n, 100);
    ck_assert_uint_eq(tr->n, 900);
    ck_assert_uint_eq(dp_data_split_count(1000, 0.1), 100);
    ck_assert_int_eq(memcmp(va->x_f32, va2->x_f32, va->n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(tr->x_f32, tr2->x_f32, tr->n * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(va->x_f32, va3->x_f32, va->n * sizeof(float)), 0);
    int seen[1000] = {0};
    for (size_t i = 0; i < va->n; i++) seen[(int)va->x_f32[i]] += 1;
    for (size_t i = 0; i < tr->n; i++) seen[(int)tr->x_f32[i]] += 10;
    for (int i = 0; i < 1000; i++) ck_assert_msg(seen[i] == 1 || seen[i] == 10, "row %d: %d", i, seen[i]);
    for (size_t i = 1; i < va->n; i++) ck_assert(va->x_f32[i - 1] < va->x_f32[i]);
    for (size_t i = 1; i < tr->n; i++) ck_assert(tr->x_f32[i - 1] < tr->x_f32[i]);
    for (size_t i = 0; i < va->n; i++) ck_assert_int_eq(va->labels[i], (int)va->x_f32[i] % 3);
    ck_assert_int_eq(va->max_label, 2);
    dp_data_free(tr), dp_data_free(va), dp_data_free(tr2), dp_data_free(va2);
    dp_data_free(tr3), dp_data_free(va3), dp_data_free(d);
}
END_TEST

START_TEST(split_refuses_what_cannot_be_split)
{
    dp_dataset *d = numbered(5), *one = numbered(1), *tr, *va;
    dp_error e;
    ck_assert_int_eq(dp_data_split(d, 1.5, 1, &tr, &va, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "--val-split"));
    ck_assert_int_eq(dp_data_split(d, 0.0, 1, &tr, &va, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_data_split(one, 0.5, 1, &tr, &va, &e), DP_EDATA);
    ck_assert_ptr_null(tr);
    /* Tiny fractions still hold one out, large ones leave one to train on. */
    ck_assert_int_eq(dp_data_split(d, 0.01, 1, &tr, &va, &e), DP_OK);
    ck_assert_uint_eq(va->n, 1);
    dp_data_free(tr), dp_data_free(va);
    ck_assert_int_eq(dp_data_split(d, 0.99, 1, &tr, &va, &e), DP_OK);
    ck_assert_uint_eq(tr->n, 1);
    dp_data_free(tr), dp_data_free(va), dp_data_free(d), dp_data_free(one);
}
END_TEST

#define NP 26u /* small_spec's parameters */
#define NT 10u

START_TEST(ckpt_v3_carries_the_best_epoch)
{
    char dir[] = "/tmp/check_validation.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    dp_spec s = small_spec();
    dp_train_config cfg;
    dp_train_config_defaults(&cfg);
    cfg.optim = DP_OPT_SGD, cfg.batch = 4, cfg.epochs = 9;
    cfg.val_split = 0.25f, cfg.early_stop = 3, cfg.schedule = DP_SCHED_PLATEAU;
    cfg.warmup = 17, cfg.lr_min = 1e-5f, cfg.plateau_patience = 2, cfg.plateau_factor = 0.5f;
    float params[NP], best[NP];
    uint32_t perm[NT];
    for (unsigned i = 0; i < NP; i++) params[i] = 0.01f * (float)i, best[i] = -0.5f * (float)i;
    for (unsigned i = 0; i < NT; i++) perm[i] = i;
    dp_train_state st = {.epoch = 4, .next_step = 1, .global_step = 10, .n_train = NT,
                         .n_params = NP, .params = params, .perm = perm, .best_epoch = 2,
                         .best_loss = 0.375, .bad_epochs = 1, .plateau_bad = 1, .lr_cuts = 2,
                         .best_params = best};
    dp_error e;
    ck_assert_msg(dp_ckpt_save(path, &s, &cfg, &st, &e) == DP_OK, "%s", e.msg);
    dp_spec s2;
    dp_train_config c2;
    dp_train_state t;
    ck_assert_msg(dp_ckpt_load(path, &s2, &c2, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert(c2.val_split == 0.25f && c2.early_stop == 3 && c2.schedule == DP_SCHED_PLATEAU);
    ck_assert(c2.warmup == 17 && c2.lr_min == 1e-5f && c2.plateau_patience == 2 &&
              c2.plateau_factor == 0.5f && c2.lr_step == 10 && c2.lr_gamma == 0.1f);
    ck_assert(t.best_epoch == 2 && t.best_loss == 0.375 && t.bad_epochs == 1 &&
              t.plateau_bad == 1 && t.lr_cuts == 2);
    ck_assert_ptr_nonnull(t.best_params);
    ck_assert_int_eq(memcmp(t.best_params, best, sizeof best), 0);
    ck_assert_int_eq(memcmp(t.params, params, sizeof params), 0);
    dp_train_state_free(&t);
    /* No best epoch: no weights stored for it, the file is NP floats shorter. */
    size_t with_best, without;
    free(read_all(path, &with_best));
    st.best_epoch = 0, st.best_params = NULL;
    ck_assert_msg(dp_ckpt_save(path, &s, &cfg, &st, &e) == DP_OK, "%s", e.msg);
    free(read_all(path, &without));
    ck_assert_uint_eq(with_best - without, 4 * NP);
    /* A best epoch after the checkpoint's own cannot be: the writer refuses it. */
    st.best_epoch = 5, st.best_params = best;
    ck_assert_int_eq(dp_ckpt_save(path, &s, &cfg, &st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "best_epoch"));
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("validation_io");
    TCase *t = tcase_create("split_and_ckpt");
    tcase_add_test(t, split_is_seeded_disjoint_and_complete);
    tcase_add_test(t, split_refuses_what_cannot_be_split);
    tcase_add_test(t, ckpt_v3_carries_the_best_epoch);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
