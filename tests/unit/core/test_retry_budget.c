/* Tests of core/retry_budget: with no traffic only the per-second reserve
 * may be spent; requests add percent % of themselves; spent retries leave
 * the window after its seconds pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/retry_budget.h"

static void test_reserve_alone_allows_per_s_times_window(void **state)
{
    struct rbudget b;
    int n = 0;

    (void)state;
    rbudget_init(&b, 20, 10);
    while (rbudget_retry(&b, 50000) && n < 1000)
        n++;
    assert_int_equal(n, 10 * RBUDGET_WINDOW_S);
}

static void test_requests_add_their_percent(void **state)
{
    struct rbudget b;
    int n = 0;

    (void)state;
    rbudget_init(&b, 20, 0);
    for (int i = 0; i < 1000; i++)
        rbudget_request(&b, 10000 + (uint64_t)i);
    assert_int_equal(rbudget_left(&b, 11000), 200);
    while (rbudget_retry(&b, 11000) && n < 1000)
        n++;
    assert_int_equal(n, 200);
    assert_int_equal(rbudget_left(&b, 11000), 0);
}

static void test_zero_budget_refuses_every_retry(void **state)
{
    struct rbudget b;

    (void)state;
    rbudget_init(&b, 0, 0);
    for (int i = 0; i < 100; i++)
        rbudget_request(&b, 5000);
    assert_int_equal(rbudget_retry(&b, 5000), 0);
}

static void test_window_slides(void **state)
{
    struct rbudget b;

    (void)state;
    rbudget_init(&b, 50, 0);
    for (int i = 0; i < 10; i++)
        rbudget_request(&b, 100000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rbudget_retry(&b, 100500), 1);
    assert_int_equal(rbudget_retry(&b, 100900), 0);
    /* the second of those requests and retries leaves the window */
    assert_int_equal(rbudget_left(&b, 100000 + RBUDGET_WINDOW_S * 1000), 0);
    for (int i = 0; i < 4; i++)
        rbudget_request(&b, 100000 + RBUDGET_WINDOW_S * 1000);
    assert_int_equal(rbudget_left(&b, 100000 + RBUDGET_WINDOW_S * 1000), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_alone_allows_per_s_times_window),
        cmocka_unit_test(test_requests_add_their_percent),
        cmocka_unit_test(test_zero_budget_refuses_every_retry),
        cmocka_unit_test(test_window_slides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
