/* Process-level glue (dist.h) on one process: the default build's twin (dist_single.c) and,
 * when this suite is built with MPI=1, dist_mpi.c outside an MPI job, are both rank 0 of 1: every
 * collective is the identity, buffers are left untouched, abort exits with its code. The
 * multi-rank behaviour is tested end to end by tests/cli/test_mpi.sh under mpirun. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dist.h"

/* Before dp_dist_init (and in the single build always) the process is rank 0 of 1. */
START_TEST(rank_zero_of_one_before_init)
{
    ck_assert_int_eq(dp_dist_rank(), 0);
    ck_assert_int_eq(dp_dist_size(), 1);
    const char *d = dp_dist_describe();
    ck_assert_ptr_nonnull(d);
    ck_assert_int_gt((int)strlen(d), 0);
    ck_assert_ptr_null(strchr(d, '\n'));
#ifdef DPMLP_MPI
    ck_assert_msg(strstr(d, "MPI") != NULL, "describe says '%s', expected an MPI library", d);
#else
    ck_assert_str_eq(d, "none (single process)");
#endif
}
END_TEST

START_TEST(collectives_are_identity)
{
    float f[5] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-30f};
    double g[3] = {1.0, -1e300, 4.5};
    float f0[5];
    double g0[3];
    memcpy(f0, f, sizeof f);
    memcpy(g0, g, sizeof g);
    dp_error err = {DP_OK, ""};
    ck_assert_int_eq(dp_dist_allreduce_floats(f, 5, &err), DP_OK);
    ck_assert_int_eq(dp_dist_allreduce_doubles(g, 3, &err), DP_OK);
    ck_assert_int_eq(memcmp(f, f0, sizeof f), 0);
    ck_assert_int_eq(memcmp(g, g0, sizeof g), 0);
    /* Zero-length and NULL buffers are legal no-ops. */
    ck_assert_int_eq(dp_dist_allreduce_floats(NULL, 0, &err), DP_OK);
    ck_assert_int_eq(dp_dist_allreduce_doubles(NULL, 0, NULL), DP_OK);
    ck_assert_int_eq(dp_dist_all_ok(1), 1);
    ck_assert_int_eq(dp_dist_all_ok(0), 0);
    ck_assert_int_ne(dp_dist_all_ok(7), 0);
    ck_assert_int_eq(dp_dist_same_everywhere(f, sizeof f), 1);
    ck_assert_int_eq(dp_dist_same_everywhere(NULL, 0), 1);
    ck_assert_int_eq(err.code, DP_OK);
}
END_TEST

START_TEST(allreduce_seconds_are_taken)
{
    float f[4] = {0};
    dp_error err;
    ck_assert_int_eq(dp_dist_allreduce_floats(f, 4, &err), DP_OK);
    double s = dp_dist_take_allreduce_seconds();
    ck_assert(s >= 0.0 && s < 1.0);
    /* Taking resets the counter. */
    ck_assert(dp_dist_take_allreduce_seconds() == 0.0 || dp_dist_size() > 1);
}
END_TEST

/* With one rank abort returns (no exit() below the CLI: the caller exits with the code); checked
 * in a child, so an abort that did end the process shows as its code instead of 42. No OpenMP
 * region has run in this suite, so fork is safe. */
START_TEST(abort_returns_on_one_rank)
{
    int codes[] = {66, 70, 1};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            dp_dist_abort(codes[i]);
            _exit(42);
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 42);
    }
}
END_TEST

#ifndef DPMLP_MPI
/* Init and finalize are harmless on one process and leave it rank 0 of 1. (In an MPI build,
 * MPI_Init outside mpirun is a singleton job: covered by test_mpi.sh instead.) */
START_TEST(init_finalize_single)
{
    int argc = 1;
    char arg0[] = "check_dist";
    char *args[] = {arg0, NULL};
    char **argv = args;
    dp_error err = {DP_OK, ""};
    ck_assert_int_eq(dp_dist_init(&argc, &argv, &err), DP_OK);
    ck_assert_int_eq(argc, 1);
    ck_assert_ptr_eq(argv, args);
    ck_assert_int_eq(dp_dist_rank(), 0);
    ck_assert_int_eq(dp_dist_size(), 1);
    float f[2] = {1.0f, 2.0f};
    ck_assert_int_eq(dp_dist_allreduce_floats(f, 2, &err), DP_OK);
    ck_assert(f[0] == 1.0f && f[1] == 2.0f);
    dp_dist_finalize();
    dp_dist_finalize(); /* idempotent */
    ck_assert_int_eq(dp_dist_size(), 1);
}
END_TEST
#endif

static Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *t = tcase_create("one process");
    tcase_add_test(t, rank_zero_of_one_before_init);
    tcase_add_test(t, collectives_are_identity);
    tcase_add_test(t, allreduce_seconds_are_taken);
    tcase_add_test(t, abort_returns_on_one_rank);
#ifndef DPMLP_MPI
    tcase_add_test(t, init_finalize_single);
#endif
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
