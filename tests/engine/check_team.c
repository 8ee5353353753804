/* Team room: every worker runs once with its own index and the barrier holds them together
 * (both backends, T = 1 included); the start gate: when worker k cannot be created,
 * dp_team_run returns DP_EOSERR naming it and NO worker has run the team's function (a
 * partial team would wait forever at its first barrier); the abort flag reaches everyone. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "team.h"

typedef struct probe {
    atomic_int ran;
    atomic_int seen[64];
    atomic_int phase_errors;
    atomic_int phase;
    atomic_int aborted_seen;
} probe;

/* Each worker marks itself, then checks across barriers that nobody is a phase ahead. */
static void count_worker(dp_team *team, int t, void *arg)
{
    probe *p = arg;
    atomic_fetch_add(&p->ran, 1);
    atomic_fetch_add(&p->seen[t], 1);
    for (int r = 0; r < 20; r++) {
        dp_team_barrier(team);
        if (t == 0) atomic_store(&p->phase, r + 1);
        dp_team_barrier(team);
        if (atomic_load(&p->phase) != r + 1) atomic_fetch_add(&p->phase_errors, 1);
        dp_team_barrier(team);
    }
    if (t == dp_team_size(team) - 1) dp_team_abort(team);
    dp_team_barrier(team);
    if (dp_team_aborted(team)) atomic_fetch_add(&p->aborted_seen, 1);
}

static void run_ok(int T, dp_team_kind kind)
{
    probe p;
    memset(&p, 0, sizeof p);
    dp_error e;
    ck_assert_int_eq(dp_team_run(T, kind, count_worker, &p, &e), DP_OK);
    ck_assert_int_eq(atomic_load(&p.ran), T);
    for (int t = 0; t < T; t++) ck_assert_int_eq(atomic_load(&p.seen[t]), 1);
    ck_assert_int_eq(atomic_load(&p.phase_errors), 0);
    ck_assert_int_eq(atomic_load(&p.aborted_seen), T);
}

START_TEST(test_every_worker_runs_once)
{
    int sizes[] = {1, 2, 3, 8};
    for (int i = 0; i < 4; i++) {
        run_ok(sizes[i], DP_TEAM_PTHREADS);
        run_ok(sizes[i], DP_TEAM_OPENMP);
    }
}
END_TEST

START_TEST(test_failed_start_releases_the_others)
{
    dp_team_kind kinds[] = {DP_TEAM_PTHREADS, DP_TEAM_OPENMP};
    int fail_at[] = {1, 5, 7};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++) {
            probe p;
            memset(&p, 0, sizeof p);
            dp_error e;
            dp_team_test_fail_start(fail_at[i]);
            dp_status st = dp_team_run(8, kinds[k], count_worker, &p, &e);
            dp_team_test_fail_start(0);
            ck_assert_int_eq(st, DP_EOSERR);
            char want[64];
            snprintf(want, sizeof want, "cannot start worker %d of 8", fail_at[i]);
            ck_assert_msg(strstr(e.msg, want), "%s", e.msg);
            ck_assert_msg(strstr(e.msg, "Resource temporarily unavailable"), "%s", e.msg);
            ck_assert_int_eq(atomic_load(&p.ran), 0);
        }
    /* And the next team starts normally. */
    run_ok(4, DP_TEAM_PTHREADS);
}
END_TEST

START_TEST(test_team_size_is_checked)
{
    probe p;
    memset(&p, 0, sizeof p);
    dp_error e;
    ck_assert_int_eq(dp_team_run(0, DP_TEAM_PTHREADS, count_worker, &p, &e), DP_EUSAGE);
    ck_assert_int_eq(dp_team_run(DP_MAX_THREADS + 1, DP_TEAM_PTHREADS, count_worker, &p, &e),
                     DP_EUSAGE);
    ck_assert_int_eq(atomic_load(&p.ran), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("team");
    TCase *tc = tcase_create("team");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_worker_runs_once);
    tcase_add_test(tc, test_failed_start_releases_the_others);
    tcase_add_test(tc, test_team_size_is_checked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
