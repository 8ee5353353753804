/* FP-mode room (fpmode.h): entering sets FTZ and DAZ on the calling thread, so a product that
 * would be denormal is 0 and a denormal operand counts as 0; restoring gives the caller's
 * mode back bit for bit. x86 only: elsewhere the calls are no-ops and report no flushing. */
#include <check.h>
#include <float.h>

#include "fpmode.h"

#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>

/* The control bits of MXCSR: the low six are sticky exception flags that any arithmetic
 * (these tests' own denormal products) may raise. */
static unsigned control(unsigned csr) { return csr & ~0x3fu; }

/* volatile: the products must be computed at run time, under the thread's mode. */
static float product(float a, float b)
{
    volatile float x = a, y = b;
    return x * y;
}

START_TEST(test_enter_flushes_and_restore_gives_the_mode_back)
{
    unsigned host = _mm_getcsr();
    ck_assert_int_eq(dp_fpmode_flushing(), 0);
    /* Without the mode the results are denormal, so the asserts below could fail. */
    ck_assert(product(1e-30f, 1e-10f) > 0.0f && product(1e-30f, 1e-10f) < FLT_MIN);
    ck_assert(product(FLT_MIN / 4.0f, 2.0f) > 0.0f);
    unsigned saved = dp_fpmode_enter();
    ck_assert_uint_eq(control(saved), control(host));
    ck_assert_int_eq(dp_fpmode_flushing(), 1);
    ck_assert_uint_eq(control(_mm_getcsr()), control(host) | 0x8040u); /* only FTZ, DAZ */
    ck_assert(product(1e-30f, 1e-10f) == 0.0f);    /* FTZ: a denormal result is 0 */
    ck_assert(product(FLT_MIN / 4.0f, 2.0f) == 0.0f); /* DAZ: a denormal operand is 0 */
    ck_assert(product(1e-20f, 1e-10f) == 1e-20f * 1e-10f); /* normal numbers unchanged */
    dp_fpmode_restore(saved);
    ck_assert_uint_eq(_mm_getcsr(), saved);
    ck_assert_int_eq(dp_fpmode_flushing(), 0);
}
END_TEST

#else

START_TEST(test_enter_flushes_and_restore_gives_the_mode_back)
{
    dp_fpmode_restore(dp_fpmode_enter());
    ck_assert_int_eq(dp_fpmode_flushing(), 0);
}
END_TEST

#endif

int main(void)
{
    Suite *s = suite_create("fpmode");
    TCase *tc = tcase_create("fpmode");
    tcase_add_test(tc, test_enter_flushes_and_restore_gives_the_mode_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
