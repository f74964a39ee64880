/* Tests of agent/services: service definitions from JSON, their defaults,
 * every bad field refused with a message naming it, and the round trip
 * through services_to_json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/catalog/services.h"

static struct catalog_def last;
static int n_defs;

static int keep(void *ud, const struct catalog_def *d, struct err *e)
{
    (void)ud;
    (void)e;
    last = *d; /* argv pointers are the parser's: compared, never freed here */
    n_defs++;
    return 0;
}

static int parse(const char *text, struct err *e)
{
    n_defs = 0;
    memset(&last, 0, sizeof(last));
    err_clear(e);
    return services_parse_text(text, strlen(text), keep, NULL, e);
}

static void refused_naming(const char *text, const char *field)
{
    struct err e;
    assert_true(parse(text, &e) < 0);
    if (!strstr(e.msg, field))
        fail_msg("\"%s\" was refused with \"%s\", which does not name %s", text, e.msg, field);
}

static void test_minimal_definition_gets_defaults(void **state)
{
    struct err e;
    (void)state;
    assert_int_equal(parse("{\"name\": \"Web\"}", &e), 1);
    assert_string_equal(last.inst.service, "web");
    assert_string_equal(last.inst.id, "Web");
    assert_int_equal(last.inst.weight, 1);
    assert_int_equal(last.n_checks, 0);
}

static void test_full_definition_with_checks(void **state)
{
    struct err e;
    (void)state;
    assert_int_equal(
        parse("{\"service\": {\"name\": \"web\", \"id\": \"web-1\", \"port\": 8080, \"tags\": "
              "[\"v1\"], \"meta\": {\"team\": \"a\"}, \"weight\": 5, \"checks\": ["
              "{\"http\": \"http://127.0.0.1:8080/health\", \"interval\": \"2s\"},"
              "{\"tcp\": \"127.0.0.1:8080\", \"failures_before_critical\": 3},"
              "{\"id\": \"t\", \"ttl\": \"30s\", \"deregister_critical_after\": \"1m\"}]}}",
              &e),
        1);
    assert_string_equal(last.inst.id, "web-1");
    assert_int_equal(last.inst.port, 8080);
    assert_int_equal(last.n_checks, 3);
    assert_string_equal(last.checks[0].id, "web-1:1");
    assert_int_equal(last.checks[0].cfg.type, HEALTH_HTTP);
    assert_int_equal(last.checks[0].cfg.interval_ms, 2000);
    assert_int_equal(last.checks[1].cfg.failures_before_critical, 3);
    assert_int_equal(last.checks[2].cfg.ttl_ms, 30000);
    assert_int_equal(last.checks[2].cfg.deregister_critical_after_ms, 60000);
}

static void test_services_list(void **state)
{
    struct err e;
    (void)state;
    assert_int_equal(parse("{\"services\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}", &e), 2);
    assert_string_equal(last.inst.service, "b");
}

static void test_bad_fields_are_named(void **state)
{
    (void)state;
    refused_naming("{\"port\": 1}", "name: missing");
    refused_naming("{\"name\": 5}", "name: expected a string");
    refused_naming("{\"name\": \"a\", \"port\": -1}", "port");
    refused_naming("{\"name\": \"a\", \"weight\": 0}", "weight");
    refused_naming("{\"name\": \"a\", \"tags\": \"x\"}", "tags");
    refused_naming("{\"name\": \"a\", \"meta\": {\"k\": 1}}", "meta.k");
    refused_naming("{\"name\": \"a\", \"colour\": 1}", "colour: unknown field");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"tcp\": \"x\"}]}", "checks[0].tcp");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"tcp\": \"h:1\", \"ttl\": \"1s\"}]}",
                   "exactly one");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"ttl\": \"1s\"}, {\"ttl\": 5}]}",
                   "checks[1].ttl");
    refused_naming("{\"name\": \"a\", \"check\": {\"tcp\": \"h:1\", \"interval\": \"1x\"}}",
                   "check.interval");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"args\": []}]}", "checks[0].args");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"id\": \"x\", \"ttl\": \"1s\"},"
                   "{\"id\": \"x\", \"ttl\": \"1s\"}]}",
                   "used twice");
    refused_naming("{\"name\": \"a\", \"checks\": [{\"http\": \"https://x/\"}]}", "http");
    refused_naming("[1, 2]", "expected a JSON object");
    refused_naming("{\"name\": ", "not JSON");
}

static void test_durations_and_addresses(void **state)
{
    uint64_t ms;
    uint16_t port;
    char host[64], path[64];
    (void)state;
    assert_int_equal(services_duration("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(services_duration("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_true(services_duration("10", &ms) < 0);
    assert_true(services_duration("-1s", &ms) < 0);
    assert_int_equal(services_parse_hostport("[::1]:80", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_true(services_parse_hostport("h:0", host, sizeof(host), &port) < 0);
    assert_int_equal(
        services_parse_url("http://localhost/x?y", host, sizeof(host), &port, path, sizeof(path)),
        0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 80);
    assert_string_equal(path, "/x?y");
}

static void test_round_trip_through_json(void **state)
{
    struct err e;
    struct catalog_def *again = calloc(1, sizeof(*again));
    json_t *j;
    (void)state;
    assert_int_equal(parse("{\"name\": \"web\", \"port\": 1, \"tags\": [\"a\"], \"checks\": "
                           "[{\"tcp\": \"127.0.0.1:1\", \"timeout\": \"1s\"}, {\"ttl\": \"5s\"}]}",
                           &e),
                     1);
    j = services_to_json(&last);
    assert_int_equal(services_parse(j, again, &e), 0);
    assert_string_equal(again->inst.id, last.inst.id);
    assert_int_equal(again->n_checks, 2);
    assert_memory_equal(&again->checks[0].cfg, &last.checks[0].cfg, sizeof(last.checks[0].cfg));
    assert_memory_equal(&again->checks[1].cfg, &last.checks[1].cfg, sizeof(last.checks[1].cfg));
    catalog_def_release(again);
    free(again);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_definition_gets_defaults),
        cmocka_unit_test(test_full_definition_with_checks),
        cmocka_unit_test(test_services_list),
        cmocka_unit_test(test_bad_fields_are_named),
        cmocka_unit_test(test_durations_and_addresses),
        cmocka_unit_test(test_round_trip_through_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
