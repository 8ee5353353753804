/* Arrays room suite: dp_data_from_arrays copies a caller's rows exactly (classification,
 * regression, features only), its fingerprint equals a CSV of the same numbers, and every bad
 * value or argument is refused with its status and a message naming the row. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "dpmlp.h"

static const float X[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int32_t Y[4] = {0, 1, 1, 0};

START_TEST(arrays_classification_copies)
{
    float x[8];
    int32_t y[4];
    memcpy(x, X, sizeof x);
    memcpy(y, Y, sizeof y);
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_from_arrays(4, 2, x, y, NULL, 0, &d, &e), DP_OK);
    /* A copy: the caller's arrays may change or go away at once. */
    memset(x, 0x7f, sizeof x);
    y[1] = 7;
    ck_assert_uint_eq(dp_data_count(d), 4);
    ck_assert_uint_eq(dp_data_features(d), 2);
    ck_assert_uint_eq(d->n_targets, 0);
    ck_assert_int_eq(d->max_label, 1);
    ck_assert_mem_eq(d->x_f32, X, sizeof X);
    ck_assert_mem_eq(d->labels, Y, sizeof Y);
    dp_spec ok = {.n_sizes = 3, .sizes = {2, 3, 2}, .hidden = DP_ACT_TANH, .loss = DP_LOSS_XENT};
    ck_assert_int_eq(dp_data_check_fits(d, &ok, &e), DP_OK);
    dp_data_free(d);
}
END_TEST

START_TEST(arrays_regression_and_features_only)
{
    const float t[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3.5f};
    dp_dataset *d = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_from_arrays(4, 2, X, NULL, t, 3, &d, &e), DP_OK);
    ck_assert_uint_eq(d->n_targets, 3);
    ck_assert_ptr_null(d->labels);
    ck_assert_mem_eq(d->targets, t, sizeof t);
    dp_spec reg = {.n_sizes = 2, .sizes = {2, 3}, .hidden = DP_ACT_RELU, .loss = DP_LOSS_MSE};
    ck_assert_int_eq(dp_data_check_fits(d, &reg, &e), DP_OK);
    reg.sizes[1] = 2;
    ck_assert_int_eq(dp_data_check_fits(d, &reg, &e), DP_EDATA);
    dp_data_free(d);
    ck_assert_int_eq(dp_data_from_arrays(4, 2, X, NULL, NULL, 0, &d, &e), DP_OK);
    ck_assert_int_eq(d->max_label, -1);
    ck_assert_mem_eq(d->x_f32, X, sizeof X);
    dp_data_free(d);
}
END_TEST

/* The same numbers read from a CSV give the same dataset content. */
START_TEST(arrays_equal_csv)
{
    char path[] = "/tmp/dpmlp-arrays-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("0,0,0\n0,1,1\n1,0,1\n1,1,0\n", f);
    ck_assert_int_eq(fclose(f), 0);
    dp_dataset *a = NULL, *c = NULL;
    dp_error e;
    ck_assert_int_eq(dp_data_load_csv(path, 2, 0, &c, &e), DP_OK);
    ck_assert_int_eq(dp_data_from_arrays(4, 2, X, Y, NULL, 0, &a, &e), DP_OK);
    ck_assert_uint_eq(dp_data_fingerprint(a), dp_data_fingerprint(c));
    unlink(path);
    dp_data_free(a);
    dp_data_free(c);
}
END_TEST

static void refused(dp_status want, const char *needle, size_t n, size_t k, const float *x,
                    const int32_t *y, const float *t, size_t nt)
{
    dp_dataset *d = (dp_dataset *)1;
    dp_error e = {DP_OK, ""};
    ck_assert_int_eq(dp_data_from_arrays(n, k, x, y, t, nt, &d, &e), want);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.code, want);
    ck_assert_msg(strstr(e.msg, needle) && strncmp(e.msg, "arrays: ", 8) == 0,
                  "message '%s' lacks '%s'", e.msg, needle);
    ck_assert_ptr_null(strchr(e.msg, '\n'));
}

START_TEST(arrays_bad_values_name_the_row)
{
    float x[8];
    memcpy(x, X, sizeof x);
    x[5] = NAN;
    refused(DP_EDATA, "row 2, feature 1 is nan", 4, 2, x, Y, NULL, 0);
    x[5] = INFINITY;
    refused(DP_EDATA, "row 2, feature 1 is inf", 4, 2, x, Y, NULL, 0);
    x[5] = -INFINITY;
    refused(DP_EDATA, "row 2, feature 1 is -inf", 4, 2, x, NULL, NULL, 0);
    const float t[4] = {0.5f, 1, NAN, 0};
    refused(DP_EDATA, "row 2, target 0 is nan", 4, 2, X, NULL, t, 1);
    const int32_t y[4] = {0, 1, 2, -3};
    refused(DP_EDATA, "row 3 has label -3", 4, 2, X, y, NULL, 0);
}
END_TEST

START_TEST(arrays_bad_arguments)
{
    const float t[4] = {0, 1, 2, 3};
    refused(DP_EDATA, "no samples", 0, 2, X, Y, NULL, 0);
    refused(DP_EDATA, "0 features", 4, 0, X, Y, NULL, 0);
    refused(DP_EUSAGE, "x is NULL", 4, 2, NULL, Y, NULL, 0);
    refused(DP_EUSAGE, "both labels and targets", 4, 2, X, Y, t, 1);
    refused(DP_EUSAGE, "n_targets is 0", 4, 2, X, NULL, t, 0);
    refused(DP_EUSAGE, "targets is NULL", 4, 2, X, NULL, NULL, 2);
    /* The loaders' shape limits hold here too, before the arrays are read. */
    refused(DP_EDATA, "more than the limit", DP_DATA_MAX_SAMPLES + 1, 2, X, Y, NULL, 0);
    dp_error e;
    ck_assert_int_eq(dp_data_from_arrays(4, 2, X, Y, NULL, 0, NULL, &e), DP_EUSAGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arrays");
    TCase *tc = tcase_create("arrays");
    tcase_add_test(tc, arrays_classification_copies);
    tcase_add_test(tc, arrays_regression_and_features_only);
    tcase_add_test(tc, arrays_equal_csv);
    tcase_add_test(tc, arrays_bad_values_name_the_row);
    tcase_add_test(tc, arrays_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
