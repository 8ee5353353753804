/* Per-layer activations, leaky_relu's slope and dropout in the files: model format 2 and
 * checkpoint format 3 round-trip them bit for bit; a model file of format 1 and a checkpoint of
 * format 2 (made from new ones by cutting the new fields out and setting the version back, the
 * CRC fixed) still load, and their hidden/loss mean every layer's activation as they did. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "err.h"
#include "io/craft.h"

static char tdir[256], mpath[512], cpath[512];

static void setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/check_layer_acts.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(mpath, sizeof mpath, "%s/m.model", tdir);
    snprintf(cpath, sizeof cpath, "%s/run.ckpt", tdir);
}

static void teardown(void)
{
    unlink(mpath);
    unlink(cpath);
    rmdir(tdir);
}

/* 2 -> 3 -> 4 -> 1: gelu, leaky_relu, then a sigmoid output under mse. */
#define NP (2 * 3 + 3 + 3 * 4 + 4 + 4 * 1 + 1)

static dp_spec deep_spec(void)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 4;
    s.sizes[0] = 2, s.sizes[1] = 3, s.sizes[2] = 4, s.sizes[3] = 1;
    s.hidden = DP_ACT_GELU;
    s.loss = DP_LOSS_MSE;
    s.n_act = 3;
    s.act[0] = DP_ACT_GELU, s.act[1] = DP_ACT_LEAKY_RELU, s.act[2] = DP_ACT_SIGMOID;
    s.leaky_slope = 0.2f;
    return s;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = 0.25f * (float)i - 3.0f;
}

/* Cuts bytes [at, at + n) out of b (len bytes) and fixes the CRC; returns the new length. */
static size_t cut(unsigned char *b, size_t len, size_t at, size_t n)
{
    memmove(b + at, b + at + n, len - at - n);
    fix_crc(b, len - n);
    return len - n;
}

START_TEST(model_round_trip_keeps_every_layer)
{
    dp_spec s = deep_spec();
    float p[NP];
    fill(p, NP);
    dp_error e = {0};
    ck_assert_msg(dp_model_file_save(mpath, &s, p, NP, &e) == DP_OK, "%s", e.msg);
    dp_spec r;
    float *q = NULL;
    size_t n = 0;
    ck_assert_msg(dp_model_file_load(mpath, &r, &q, &n, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(n, NP);
    ck_assert_int_eq(memcmp(p, q, sizeof p), 0);
    ck_assert_int_eq(r.n_act, 3);
    for (int l = 0; l < 3; l++) ck_assert_int_eq(dp_spec_layer_act(&r, l), s.act[l]);
    ck_assert_float_eq(r.leaky_slope, 0.2f);
    dp_free(q);
}
END_TEST

/* A format 1 file: no per-layer codes, no slope. hidden sigmoid + loss bce must mean sigmoid
 * hidden layers and a sigmoid output, as format 1 files always did. */
START_TEST(model_format_1_still_loads)
{
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = 3;
    s.sizes[0] = 2, s.sizes[1] = 2, s.sizes[2] = 1;
    s.hidden = DP_ACT_SIGMOID;
    s.loss = DP_LOSS_BCE;
    float p[9];
    fill(p, 9);
    dp_error e = {0};
    ck_assert_msg(dp_model_file_save(mpath, &s, p, 9, &e) == DP_OK, "%s", e.msg);
    size_t len;
    unsigned char *b = read_all(mpath, &len);
    size_t acts_at = 20 + 4 * 3 + 8; /* after the prologue's hidden and loss */
    ck_assert_uint_eq(get_u32(b + acts_at + 4), DP_ACT_SIGMOID); /* the resolved output */
    put_u32(b + 8, 1);
    len = cut(b, len, acts_at, 2 * 4 + 4);
    write_all(mpath, b, len);
    free(b);
    dp_spec r;
    float *q = NULL;
    size_t n = 0;
    ck_assert_msg(dp_model_file_load(mpath, &r, &q, &n, &e) == DP_OK, "%s", e.msg);
    ck_assert_uint_eq(n, 9);
    ck_assert_int_eq(memcmp(p, q, sizeof p), 0);
    ck_assert_int_eq(r.n_act, 0);
    ck_assert_int_eq(dp_spec_layer_act(&r, 0), DP_ACT_SIGMOID);
    ck_assert_int_eq(dp_spec_layer_act(&r, 1), DP_ACT_SIGMOID);
    dp_free(q);
    /* Format 1's rule: mse meant a linear output. */
    s.loss = DP_LOSS_MSE;
    s.hidden = DP_ACT_TANH;
    ck_assert_int_eq(dp_spec_layer_act(&s, 0), DP_ACT_TANH);
    ck_assert_int_eq(dp_spec_layer_act(&s, 1), DP_ACT_LINEAR);
}
END_TEST

START_TEST(model_save_refuses_a_bad_pair)
{
    dp_spec s = deep_spec();
    s.loss = DP_LOSS_BCE; /* bce needs a sigmoid output: it has one */
    float p[NP];
    fill(p, NP);
    dp_error e = {0};
    ck_assert_int_eq(dp_model_file_save(mpath, &s, p, NP, &e), DP_OK);
    s.act[2] = DP_ACT_TANH;
    ck_assert_int_eq(dp_model_file_save(mpath, &s, p, NP, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "bce needs --out sigmoid"));
}
END_TEST

static void make_state(dp_train_state *st, uint32_t *perm, float *params)
{
    memset(st, 0, sizeof *st);
    st->epoch = 2;
    st->global_step = 7;
    st->n_train = 4;
    st->n_params = NP;
    st->params = params;
    st->perm = perm;
}

static void make_cfg(dp_train_config *cfg)
{
    dp_train_config_defaults(cfg);
    cfg->optim = DP_OPT_SGD;
    cfg->batch = 2;
    cfg->dropout[0] = 0.5f;
    cfg->dropout[1] = 0.125f;
}

START_TEST(ckpt_round_trip_keeps_acts_and_dropout)
{
    dp_spec s = deep_spec();
    dp_train_config cfg;
    make_cfg(&cfg);
    float p[NP];
    fill(p, NP);
    uint32_t perm[4] = {3, 1, 0, 2};
    dp_train_state st;
    make_state(&st, perm, p);
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_save(cpath, &s, &cfg, &st, &e) == DP_OK, "%s", e.msg);
    dp_spec r;
    dp_train_config c;
    dp_train_state t;
    ck_assert_msg(dp_ckpt_load(cpath, &r, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_int_eq(r.n_act, 3);
    for (int l = 0; l < 3; l++) ck_assert_int_eq(r.act[l], s.act[l]);
    ck_assert_float_eq(r.leaky_slope, 0.2f);
    ck_assert_float_eq(c.dropout[0], 0.5f);
    ck_assert_float_eq(c.dropout[1], 0.125f);
    ck_assert_float_eq(c.dropout[2], 0.0f);
    dp_train_state_free(&t);
    /* Dropout on the output layer is not a hidden layer's: refused at save. */
    cfg.dropout[2] = 0.5f;
    ck_assert_int_eq(dp_ckpt_save(cpath, &s, &cfg, &st, &e), DP_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "dropout"));
}
END_TEST

/* A format 2 checkpoint: the version 3 block (n_act, slope, 31 codes, 30 rates, 64 bytes of
 * validation and schedule fields) cut out. */
START_TEST(ckpt_format_2_still_loads)
{
    dp_spec s = deep_spec();
    s.n_act = 0, s.leaky_slope = 0.0f, s.hidden = DP_ACT_TANH;
    dp_train_config cfg;
    make_cfg(&cfg);
    cfg.dropout[0] = cfg.dropout[1] = 0.0f;
    float p[NP];
    fill(p, NP);
    uint32_t perm[4] = {0, 1, 2, 3};
    dp_train_state st;
    make_state(&st, perm, p);
    dp_error e = {0};
    ck_assert_msg(dp_ckpt_save(cpath, &s, &cfg, &st, &e) == DP_OK, "%s", e.msg);
    size_t len;
    unsigned char *b = read_all(cpath, &len);
    size_t v3_at = 20 + 4 * 4 + 8 + 52 + 76; /* prologue of 4 sizes, config, state (v2) */
    put_u32(b + 8, 2);
    len = cut(b, len, v3_at, 8 + 4 * 31 + 4 * 30 + 64 + 4); /* + validation, schedule, precision */
    write_all(cpath, b, len);
    free(b);
    dp_spec r;
    dp_train_config c;
    dp_train_state t;
    ck_assert_msg(dp_ckpt_load(cpath, &r, &c, &t, &e) == DP_OK, "%s", e.msg);
    ck_assert_int_eq(r.n_act, 0);
    ck_assert_int_eq(dp_spec_layer_act(&r, 0), DP_ACT_TANH);
    ck_assert_int_eq(dp_spec_layer_act(&r, 1), DP_ACT_TANH);
    ck_assert_int_eq(dp_spec_layer_act(&r, 2), DP_ACT_LINEAR);
    for (int l = 0; l < DP_MAX_SIZES; l++) ck_assert_float_eq(c.dropout[l], 0.0f);
    ck_assert_int_eq(memcmp(t.params, p, sizeof p), 0);
    dp_train_state_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_acts");
    TCase *t = tcase_create("formats");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, model_round_trip_keeps_every_layer);
    tcase_add_test(t, model_format_1_still_loads);
    tcase_add_test(t, model_save_refuses_a_bad_pair);
    tcase_add_test(t, ckpt_round_trip_keeps_acts_and_dropout);
    tcase_add_test(t, ckpt_format_2_still_loads);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
