/* Base room tests: the one enum <-> name table (every value of every kind round-trips, the
 * count of names matches the enum, unknown names and values are refused) and the 64-bit
 * FNV-1a hash against the published test vectors. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlp.h"
#include "hash.h"

/* Each kind with the number of values its enum has (the team's two come from names.c). */
static const struct {
    dp_names_kind kind;
    int count;
} KINDS[] = {
    {DP_NAMES_ACT, DP_ACT_GELU + 1},      {DP_NAMES_LOSS, DP_LOSS_MAE + 1},
    {DP_NAMES_OPTIM, DP_OPT_ADAMW + 1},       {DP_NAMES_BIND, DP_BIND_NONE + 1},
    {DP_NAMES_REDUCE, DP_REDUCE_TREE + 1},   {DP_NAMES_TEAM, 2},
    {DP_NAMES_SCHEDULE, DP_SCHED_PLATEAU + 1},
    {DP_NAMES_PRECISION, DP_PRECISION_BF16 + 1},
    {DP_NAMES_EXPORT, DP_EXPORT_CSV + 1},
};
enum { NKINDS = sizeof KINDS / sizeof KINDS[0] };

START_TEST(every_value_round_trips)
{
    dp_names_kind kind = KINDS[_i].kind;
    const char *const *t = dp_names(kind);
    ck_assert_ptr_nonnull(t);
    int n = 0;
    while (t[n]) n++;
    ck_assert_int_eq(n, KINDS[_i].count);
    for (int v = 0; v < n; v++) {
        ck_assert_str_eq(dp_name_of(kind, v), t[v]);
        ck_assert_int_eq(dp_name_lookup(kind, dp_name_of(kind, v)), v);
        for (int w = 0; w < v; w++) ck_assert_str_ne(t[v], t[w]); /* names are distinct */
    }
}
END_TEST

START_TEST(unknown_names_and_values)
{
    dp_names_kind kind = KINDS[_i].kind;
    int n = KINDS[_i].count;
    ck_assert_int_eq(dp_name_lookup(kind, "no-such-name"), -1);
    ck_assert_int_eq(dp_name_lookup(kind, ""), -1);
    ck_assert_int_eq(dp_name_lookup(kind, NULL), -1);
    ck_assert_str_eq(dp_name_of(kind, n), "?");
    ck_assert_str_eq(dp_name_of(kind, -1), "?");
    /* Exact match only: no prefixes, no case folding, no trailing junk. */
    const char *first = dp_names(kind)[0];
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(first) - 1, first);
    ck_assert_int_eq(dp_name_lookup(kind, buf), -1);
    snprintf(buf, sizeof buf, "%s ", first);
    ck_assert_int_eq(dp_name_lookup(kind, buf), -1);
    snprintf(buf, sizeof buf, "%s", first);
    buf[0] = (char)(buf[0] - 'a' + 'A');
    ck_assert_int_eq(dp_name_lookup(kind, buf), -1);
}
END_TEST

START_TEST(unknown_kind_has_no_names)
{
    dp_names_kind bogus = (dp_names_kind)(DP_NAMES_EXPORT + 1);
    ck_assert_ptr_nonnull(dp_names(bogus));
    ck_assert_ptr_null(dp_names(bogus)[0]);
    ck_assert_int_eq(dp_name_lookup(bogus, "relu"), -1);
    ck_assert_str_eq(dp_name_of(bogus, 0), "?");
}
END_TEST

/* The typed wrappers the CLI, files and logs use spell the same table. */
START_TEST(typed_names)
{
    ck_assert_str_eq(dp_act_name(DP_ACT_TANH), "tanh");
    ck_assert_str_eq(dp_act_name(DP_ACT_SOFTMAX), "softmax");
    ck_assert_str_eq(dp_loss_name(DP_LOSS_XENT), "xent");
    ck_assert_str_eq(dp_loss_name(DP_LOSS_MAE), "mae");
    ck_assert_str_eq(dp_optim_name(DP_OPT_MOMENTUM), "momentum");
    ck_assert_str_eq(dp_bind_name(DP_BIND_SPREAD), "spread");
    ck_assert_str_eq(dp_reduce_name(DP_REDUCE_SERIAL), "serial");
    ck_assert_str_eq(dp_name_of(DP_NAMES_TEAM, 1), "openmp");
    ck_assert_str_eq(dp_optim_name((dp_optim_kind)99), "?");
}
END_TEST

/* ---- FNV-1a 64 (test vectors from the FNV reference, isthe.com/chongo/tech/comp/fnv) ---- */

static uint64_t fnv(const char *s) { return dp_hash64(DP_HASH64_INIT, s, strlen(s)); }

START_TEST(hash_known_vectors)
{
    ck_assert_uint_eq(DP_HASH64_INIT, 0xcbf29ce484222325ull);
    ck_assert_uint_eq(fnv(""), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(fnv("a"), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(fnv("b"), 0xaf63df4c8601f1a5ull);
    ck_assert_uint_eq(fnv("foobar"), 0x85944171f73967e8ull);
}
END_TEST

START_TEST(hash_continues_and_u64_is_little_endian)
{
    /* A hash continued over pieces equals the hash of the whole. */
    ck_assert_uint_eq(dp_hash64(fnv("foo"), "bar", 3), fnv("foobar"));
    ck_assert_uint_eq(dp_hash64(fnv("foobar"), NULL, 0), fnv("foobar"));
    const unsigned char le[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    uint64_t v = 0x0102030405060708ull;
    ck_assert_uint_eq(dp_hash64_u64(DP_HASH64_INIT, v), dp_hash64(DP_HASH64_INIT, le, 8));
    ck_assert_uint_ne(dp_hash64_u64(DP_HASH64_INIT, v), dp_hash64_u64(DP_HASH64_INIT, v + 1));
}
END_TEST

static Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *n = tcase_create("names");
    tcase_add_loop_test(n, every_value_round_trips, 0, NKINDS);
    tcase_add_loop_test(n, unknown_names_and_values, 0, NKINDS);
    tcase_add_test(n, unknown_kind_has_no_names);
    tcase_add_test(n, typed_names);
    suite_add_tcase(s, n);
    TCase *h = tcase_create("hash");
    tcase_add_test(h, hash_known_vectors);
    tcase_add_test(h, hash_continues_and_u64_is_little_endian);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(names_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
