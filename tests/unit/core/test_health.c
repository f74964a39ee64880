/* Tests of core/health: hysteresis, the initial critical status, TTL
 * expiry, output rate-limiting, deregistration, and config validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/health.h"

static void test_check_starts_critical_and_passes_after_successes(void **state)
{
    struct health_cfg c;
    struct health h;

    health_cfg_default(&c, HEALTH_HTTP);
    c.successes_before_passing = 3;
    health_init(&h, &c, 0);
    assert_int_equal(h.status, CAT_CRITICAL);
    assert_int_equal(health_result(&h, &c, 10, CAT_PASSING, "ok", 2), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 20, CAT_PASSING, "ok", 2), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 30, CAT_PASSING, "ok", 2), HEALTH_CHANGED);
    assert_int_equal(h.status, CAT_PASSING);
}

static void test_failures_before_critical_absorbs_a_blip(void **state)
{
    struct health_cfg c;
    struct health h;

    health_cfg_default(&c, HEALTH_TCP);
    c.failures_before_critical = 2;
    health_init(&h, &c, 0);
    health_result(&h, &c, 1, CAT_PASSING, NULL, 0);
    assert_int_equal(health_result(&h, &c, 2, CAT_CRITICAL, NULL, 0), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 3, CAT_PASSING, NULL, 0), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 4, CAT_CRITICAL, NULL, 0), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 5, CAT_CRITICAL, NULL, 0), HEALTH_CHANGED);
    assert_int_equal(h.status, CAT_CRITICAL);
    assert_int_equal(h.critical_since_ms, 5);
}

static void test_warning_is_its_own_status(void **state)
{
    struct health_cfg c;
    struct health h;

    health_cfg_default(&c, HEALTH_EXEC);
    health_init(&h, &c, 0);
    assert_int_equal(health_result(&h, &c, 1, health_from_exit(1), "slow", 4), HEALTH_CHANGED);
    assert_int_equal(h.status, CAT_WARNING);
}

static void test_output_only_change_goes_out_at_most_once_a_minute(void **state)
{
    struct health_cfg c;
    struct health h;
    uint64_t next;

    health_cfg_default(&c, HEALTH_HTTP);
    health_init(&h, &c, 0);
    assert_int_equal(health_result(&h, &c, 1000, CAT_PASSING, "a", 1), HEALTH_CHANGED);
    assert_int_equal(health_result(&h, &c, 2000, CAT_PASSING, "b", 1), HEALTH_SAME);
    assert_int_equal(health_result(&h, &c, 3000, CAT_PASSING, "c", 1), HEALTH_SAME);
    assert_int_equal(health_tick(&h, &c, 30000, &next), HEALTH_SAME);
    assert_int_equal(next, 1000 + HEALTH_OUTPUT_EVERY_MS);
    assert_int_equal(health_tick(&h, &c, next, &next), HEALTH_OUTPUT);
    assert_string_equal(h.output, "c");
    assert_int_equal(next, UINT64_MAX);
    /* the same output again is not a change */
    assert_int_equal(health_result(&h, &c, 200000, CAT_PASSING, "c", 1), HEALTH_SAME);
}

static void test_output_is_capped(void **state)
{
    struct health_cfg c;
    struct health h;
    static char big[CAT_OUTPUT_MAX + 100];

    memset(big, 'x', sizeof(big));
    health_cfg_default(&c, HEALTH_EXEC);
    health_init(&h, &c, 0);
    health_result(&h, &c, 1, CAT_PASSING, big, sizeof(big));
    assert_int_equal(h.output_len, CAT_OUTPUT_MAX);
    assert_int_equal(strlen(h.output), CAT_OUTPUT_MAX);
}

static void test_ttl_expires_to_critical(void **state)
{
    struct health_cfg c;
    struct health h;
    uint64_t next;

    health_cfg_default(&c, HEALTH_TTL);
    c.ttl_ms = 5000;
    health_init(&h, &c, 0);
    assert_int_equal(health_result(&h, &c, 1000, CAT_PASSING, "fine", 4), HEALTH_CHANGED);
    assert_int_equal(health_tick(&h, &c, 5000, &next), HEALTH_SAME);
    assert_int_equal(next, 6000);
    assert_int_equal(health_tick(&h, &c, 6000, &next), HEALTH_CHANGED);
    assert_int_equal(h.status, CAT_CRITICAL);
    assert_non_null(strstr(h.output, "TTL"));
    assert_int_equal(health_tick(&h, &c, 7000, &next), HEALTH_SAME);
}

static void test_critical_too_long_deregisters(void **state)
{
    struct health_cfg c;
    struct health h;
    uint64_t next;

    health_cfg_default(&c, HEALTH_HTTP);
    c.deregister_critical_after_ms = 60000;
    health_init(&h, &c, 0);
    health_result(&h, &c, 1000, CAT_PASSING, NULL, 0);
    health_result(&h, &c, 2000, CAT_CRITICAL, NULL, 0);
    assert_int_equal(health_tick(&h, &c, 30000, &next), HEALTH_SAME);
    assert_int_equal(next, 62000);
    assert_int_equal(health_tick(&h, &c, 62000, &next), HEALTH_DEREGISTER);
}

static void test_probe_result_mappings(void **state)
{
    assert_int_equal(health_from_http(200), CAT_PASSING);
    assert_int_equal(health_from_http(204), CAT_PASSING);
    assert_int_equal(health_from_http(429), CAT_WARNING);
    assert_int_equal(health_from_http(503), CAT_CRITICAL);
    assert_int_equal(health_from_http(301), CAT_CRITICAL);
    assert_int_equal(health_from_exit(0), CAT_PASSING);
    assert_int_equal(health_from_exit(1), CAT_WARNING);
    assert_int_equal(health_from_exit(2), CAT_CRITICAL);
}

static void test_bad_config_is_refused_naming_the_field(void **state)
{
    struct health_cfg c;
    struct err e;

    health_cfg_default(&c, HEALTH_HTTP);
    assert_int_equal(health_cfg_check(&c, &e), 0);
    c.timeout_ms = c.interval_ms;
    assert_int_equal(health_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "timeout"));
    health_cfg_default(&c, HEALTH_TTL);
    c.ttl_ms = 0;
    assert_int_equal(health_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "ttl"));
    health_cfg_default(&c, HEALTH_TCP);
    c.failures_before_critical = 0;
    assert_int_equal(health_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "failures_before_critical"));
    c.type = 9;
    assert_int_equal(health_cfg_check(&c, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_starts_critical_and_passes_after_successes),
        cmocka_unit_test(test_failures_before_critical_absorbs_a_blip),
        cmocka_unit_test(test_warning_is_its_own_status),
        cmocka_unit_test(test_output_only_change_goes_out_at_most_once_a_minute),
        cmocka_unit_test(test_output_is_capped),
        cmocka_unit_test(test_ttl_expires_to_critical),
        cmocka_unit_test(test_critical_too_long_deregisters),
        cmocka_unit_test(test_probe_result_mappings),
        cmocka_unit_test(test_bad_config_is_refused_naming_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
