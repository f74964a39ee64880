/* Tests of agent/consul/consul_filter.c: the common expressions of
 * Consul's ?filter= over an answer's objects, and the refusal of the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/consul/consul_filter.h"

static json_t *row(void)
{
    return json_loads(
        "{\"ServiceName\": \"web\", \"ServicePort\": 8080, \"ServiceTags\": [\"v1\", "
        "\"canary\"], \"ServiceMeta\": {\"team\": \"core\"}, \"ServiceAddress\": \"\","
        " \"Node\": {\"Node\": \"h1\"}, \"Passing\": true}",
        0, NULL);
}

/* 1 or 0 as the filter decides on row(); -1 when it does not parse. */
static int decide(const char *expr)
{
    struct consul_filter *f;
    struct err e;
    json_t *o = row();
    int r;

    if (consul_filter_parse(expr, &f, &e) < 0) {
        json_decref(o);
        return -1;
    }
    r = consul_filter_match(f, o);
    consul_filter_free(f);
    json_decref(o);
    return r;
}

static void test_equality_on_strings_numbers_and_booleans(void **state)
{
    assert_int_equal(decide("ServiceName == \"web\""), 1);
    assert_int_equal(decide("ServiceName == `api`"), 0);
    assert_int_equal(decide("ServiceName != \"api\""), 1);
    assert_int_equal(decide("ServicePort == 8080"), 1);
    assert_int_equal(decide("Passing == true"), 1);
    assert_int_equal(decide("Node.Node == h1"), 1);
    assert_int_equal(decide("Missing == \"x\""), 0);
}

static void test_in_and_contains_on_lists_maps_and_strings(void **state)
{
    assert_int_equal(decide("\"canary\" in ServiceTags"), 1);
    assert_int_equal(decide("\"v2\" in ServiceTags"), 0);
    assert_int_equal(decide("\"v2\" not in ServiceTags"), 1);
    assert_int_equal(decide("ServiceTags contains \"v1\""), 1);
    assert_int_equal(decide("ServiceTags not contains \"v1\""), 0);
    assert_int_equal(decide("\"team\" in ServiceMeta"), 1);
    assert_int_equal(decide("ServiceName contains \"we\""), 1);
    assert_int_equal(decide("ServiceMeta.team == core"), 1);
}

static void test_empty(void **state)
{
    assert_int_equal(decide("ServiceAddress is empty"), 1);
    assert_int_equal(decide("ServiceTags is not empty"), 1);
    assert_int_equal(decide("Missing is empty"), 1);
}

static void test_and_binds_tighter_than_or(void **state)
{
    assert_int_equal(decide("ServicePort == 1 and ServiceName == web or Passing == true"), 1);
    assert_int_equal(decide("ServicePort == 1 or ServiceName == web and Passing == false"), 0);
    assert_int_equal(decide("ServicePort == 8080 and \"v1\" in ServiceTags"), 1);
}

static void test_what_is_not_supported_is_refused(void **state)
{
    assert_int_equal(decide(""), -1);
    assert_int_equal(decide("ServiceName matches \"w.*\""), -1);
    assert_int_equal(decide("(ServiceName == web)"), -1);
    assert_int_equal(decide("not ServiceName == web"), -1);
    assert_int_equal(decide("ServiceName =="), -1);
    assert_int_equal(decide("ServiceName == \"unterminated"), -1);
    assert_int_equal(decide("ServiceName == web and"), -1);
    assert_int_equal(decide("\"quoted\" == web"), -1);
}

static void test_clauses_are_bounded(void **state)
{
    char expr[2048] = "";

    for (int i = 0; i <= CONSUL_FILTER_CLAUSES_MAX; i++)
        strcat(expr, i ? " and A == b" : "A == b");
    assert_int_equal(decide(expr), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equality_on_strings_numbers_and_booleans),
        cmocka_unit_test(test_in_and_contains_on_lists_maps_and_strings),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_and_binds_tighter_than_or),
        cmocka_unit_test(test_what_is_not_supported_is_refused),
        cmocka_unit_test(test_clauses_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
