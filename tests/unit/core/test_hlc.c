/* Tests of core/hlc: timestamps never go backwards, stay near wall time,
 * and order after what was observed, unless it is too far ahead. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/hlc.h"

static void test_now_follows_wall_time(void **state)
{
    struct hlc h = {0};
    uint64_t t = hlc_now(&h, 5000);
    assert_int_equal(hlc_wall_ms(t), 5000);
    assert_int_equal(t & 0xffff, 0);
    assert_int_equal(hlc_wall_ms(hlc_now(&h, 6000)), 6000);
}

static void test_same_millisecond_counts_on(void **state)
{
    struct hlc h = {0};
    uint64_t a = hlc_now(&h, 5000), b = hlc_now(&h, 5000), c = hlc_now(&h, 5000);
    assert_true(a < b && b < c);
    assert_int_equal(hlc_wall_ms(c), 5000);
}

static void test_wall_clock_going_back_never_goes_back(void **state)
{
    struct hlc h = {0};
    uint64_t a = hlc_now(&h, 9000), b = hlc_now(&h, 1000);
    assert_true(b > a);
    assert_int_equal(hlc_wall_ms(b), 9000);
}

static void test_observed_remote_orders_later_events_after_it(void **state)
{
    struct hlc h = {0};
    uint64_t remote = (uint64_t)7000 << HLC_LOGICAL_BITS | 3;
    hlc_now(&h, 5000);
    assert_int_equal(hlc_observe(&h, remote, 5000), 0);
    assert_true(hlc_now(&h, 5000) > remote);
}

static void test_older_remote_changes_nothing(void **state)
{
    struct hlc h = {0};
    uint64_t a = hlc_now(&h, 5000);
    assert_int_equal(hlc_observe(&h, (uint64_t)1000 << HLC_LOGICAL_BITS, 5000), 0);
    assert_int_equal(h.last, a);
}

static void test_remote_too_far_ahead_is_not_adopted(void **state)
{
    struct hlc h = {0};
    uint64_t far = (uint64_t)(5000 + HLC_MAX_DRIFT_MS + 1) << HLC_LOGICAL_BITS;
    uint64_t a = hlc_now(&h, 5000);
    assert_int_equal(hlc_observe(&h, far, 5000), -ERANGE);
    assert_int_equal(h.last, a);
    assert_true(hlc_now(&h, 5000) < far);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_follows_wall_time),
        cmocka_unit_test(test_same_millisecond_counts_on),
        cmocka_unit_test(test_wall_clock_going_back_never_goes_back),
        cmocka_unit_test(test_observed_remote_orders_later_events_after_it),
        cmocka_unit_test(test_older_remote_changes_nothing),
        cmocka_unit_test(test_remote_too_far_ahead_is_not_adopted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
