/* The flag parser's refusals that the audit found missing: an empty file name is a
 * usage error naming its flag (not "dpmlp: : cannot open"), and numbers with a leading space
 * or sign are not numbers (" -1" was taken for --seed 2^64-1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

static dp_status parse(const dp_opt_def *defs, const char *a, const char *b, dp_opts *o,
                       dp_error *e)
{
    char *argv[] = {"dpmlp", "cmd", (char *)a, (char *)b, NULL};
    return dp_opts_parse(b ? 4 : 3, argv, 2, defs, o, e);
}

START_TEST(empty_path_names_its_flag)
{
    static const char *const train_paths[] = {"data", "train", "test", "log", "save",
                                              "checkpoint", "resume", NULL};
    dp_opts o;
    dp_error e;
    char flag[64];
    for (int i = 0; train_paths[i]; i++) {
        snprintf(flag, sizeof flag, "--%s", train_paths[i]);
        ck_assert_int_eq(parse(DP_TRAIN_OPTS, flag, "", &o, &e), DP_EUSAGE);
        ck_assert_msg(strstr(e.msg, flag) && strstr(e.msg, "file name"), "%s: %s", flag, e.msg);
        snprintf(flag, sizeof flag, "--%s=", train_paths[i]);
        ck_assert_int_eq(parse(DP_TRAIN_OPTS, flag, NULL, &o, &e), DP_EUSAGE);
    }
    ck_assert_int_eq(parse(DP_EVAL_OPTS, "--model", "", &o, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "--model"));
    ck_assert_int_eq(parse(DP_PREDICT_OPTS, "--input", "", &o, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "--input"));
    /* "-" is a name (stdout for --log), and a value flag may still be empty for its own
     * parser to judge. */
    ck_assert_int_eq(parse(DP_TRAIN_OPTS, "--log", "-", &o, &e), DP_OK);
    ck_assert_str_eq(dp_opts_get(&o, "log"), "-");
}
END_TEST

START_TEST(numbers_refuse_spaces_and_signs)
{
    uint64_t u = 7;
    long l = 7;
    float f = 7;
    dp_error e;
    ck_assert_int_eq(dp_flag_u64("seed", " -1", &u, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_u64("seed", "-1", &u, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_u64("seed", "+1", &u, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_u64("seed", " 1", &u, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_u64("seed", "1 ", &u, &e), DP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "--seed"));
    ck_assert_uint_eq(u, 7);
    ck_assert_int_eq(dp_flag_u64("seed", "18446744073709551615", &u, &e), DP_OK);
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert_int_eq(dp_flag_u64("seed", "18446744073709551616", &u, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_long("epochs", " 3", 1, 10, &l, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_long("epochs", "3", 1, 10, &l, &e), DP_OK);
    ck_assert_int_eq(l, 3);
    ck_assert_int_eq(dp_flag_float("lr", " 0.5", 0, 1, 1, &f, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_flag_float("lr", "0.5", 0, 1, 1, &f, &e), DP_OK);
    ck_assert(f == 0.5f);
}
END_TEST

/* --resume-any-data reaches the config (the trainer then accepts other data on resume). */
START_TEST(resume_any_data_sets_the_config)
{
    dp_opts o;
    dp_error e;
    dp_train_config cfg;
    ck_assert_int_eq(parse(DP_TRAIN_OPTS, "--resume-any-data", NULL, &o, &e), DP_OK);
    ck_assert_int_eq(dp_flags_train_config(&o, &cfg, &e), DP_OK);
    ck_assert_int_eq(cfg.resume_any_data, 1);
    ck_assert_int_eq(parse(DP_TRAIN_OPTS, "--quiet", NULL, &o, &e), DP_OK);
    ck_assert_int_eq(dp_flags_train_config(&o, &cfg, &e), DP_OK);
    ck_assert_int_eq(cfg.resume_any_data, 0);
    ck_assert_int_eq(parse(DP_TRAIN_OPTS, "--resume-any-data=1", NULL, &o, &e), DP_EUSAGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flags");
    TCase *t = tcase_create("refusals");
    tcase_add_test(t, empty_path_names_its_flag);
    tcase_add_test(t, numbers_refuse_spaces_and_signs);
    tcase_add_test(t, resume_any_data_sets_the_config);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
