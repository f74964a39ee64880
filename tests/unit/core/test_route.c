/* Tests of core/route: a full route parses into its fields, defaults fill
 * the rest, the canonical JSON reads back the same, and every kind of bad
 * route is refused with an error that names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/route.h"

static void refused(const char *text, const char *field)
{
    struct route r;
    struct err e;

    err_clear(&e);
    assert_true(route_parse(&r, text, strlen(text), &e) < 0);
    if (!strstr(e.msg, field))
        fail_msg("error \"%s\" does not name \"%s\"", e.msg, field);
}

static void test_full_route(void **state)
{
    const char *t =
        "{\"name\":\"web-canary\",\"service\":\"web\",\"port\":9001,\"protocol\":\"http\","
        "\"split\":{\"v1\":90,\"v2\":10},"
        "\"match\":[{\"header\":\"x-canary\",\"value\":\"1\",\"version\":\"v2\"}],"
        "\"timeouts\":{\"connect_ms\":500,\"request_ms\":3000,\"idle_ms\":9000},"
        "\"retries\":{\"attempts\":3,\"budget_percent\":30,\"budget_per_s\":5,\"backoff_ms\":40},"
        "\"limits\":{\"max_requests\":8,\"max_pending\":0},\"access_log\":\"/var/log/web.jsonl\","
        "\"outlier\":{\"consecutive_failures\":3,\"base_ejection_ms\":1000,"
        "\"max_ejection_ms\":5000,\"max_ejected_percent\":40}}";
    struct route r;
    struct err e;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_string_equal(r.name, "web-canary");
    assert_string_equal(r.service, "web");
    assert_int_equal(r.port, 9001);
    assert_int_equal(r.protocol, ROUTE_HTTP);
    assert_int_equal(r.n_split, 2);
    assert_string_equal(r.split[0].version, "v1");
    assert_int_equal(r.split[0].weight, 90);
    assert_int_equal(r.split[1].weight, 10);
    assert_int_equal(r.n_match, 1);
    assert_string_equal(r.match[0].header, "x-canary");
    assert_string_equal(r.match[0].value, "1");
    assert_string_equal(r.match[0].version, "v2");
    assert_int_equal(r.connect_ms, 500);
    assert_int_equal(r.request_ms, 3000);
    assert_int_equal(r.idle_ms, 9000);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.budget_percent, 30);
    assert_int_equal(r.budget_per_s, 5);
    assert_int_equal(r.backoff_ms, 40);
    assert_int_equal(r.max_requests, 8);
    assert_int_equal(r.max_pending, 0);
    assert_string_equal(r.access_log, "/var/log/web.jsonl");
    assert_int_equal(r.outlier_failures, 3);
    assert_int_equal(r.outlier_base_ms, 1000);
    assert_int_equal(r.outlier_max_ms, 5000);
    assert_int_equal(r.outlier_max_percent, 40);
}

static void test_defaults(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":9001}";
    struct route r;
    struct err e;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_string_equal(r.name, "web");
    assert_int_equal(r.protocol, ROUTE_HTTP);
    assert_int_equal(r.n_split, 0);
    assert_int_equal(r.n_match, 0);
    assert_int_equal(r.connect_ms, 1000);
    assert_int_equal(r.request_ms, 15000);
    assert_int_equal(r.idle_ms, 60000);
    assert_int_equal(r.upstream_idle_ms, ROUTE_UPSTREAM_IDLE_MS);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.budget_percent, 20);
    assert_int_equal(r.budget_per_s, 10);
    assert_int_equal(r.backoff_ms, 25);
    assert_int_equal(r.max_requests, 1024);
    assert_int_equal(r.max_pending, 1024);
    assert_string_equal(r.access_log, "");
    assert_int_equal(r.outlier_failures, 5);
    assert_int_equal(r.outlier_base_ms, 30000);
    assert_int_equal(r.outlier_max_ms, 300000);
    assert_int_equal(r.outlier_max_percent, 50);
}

static void test_canonical_json_reads_back_the_same(void **state)
{
    const char *t = "{\"service\":\"db\",\"port\":5433,\"protocol\":\"tcp\","
                    "\"split\":{\"green\":100,\"blue\":0},\"limits\":{\"max_pending\":3},"
                    "\"access_log\":\"/tmp/db.log\"}";
    struct route r, again;
    struct err e;
    char *j, *k;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    j = route_json(&r);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"connect_ms\":1000"));
    assert_int_equal(route_parse(&again, j, strlen(j), &e), 0);
    k = route_json(&again);
    assert_string_equal(j, k);
    assert_int_equal(again.protocol, ROUTE_TCP);
    assert_int_equal(again.max_pending, 3);
    assert_string_equal(again.access_log, "/tmp/db.log");
    assert_non_null(strstr(j, "\"idle_ms\":60000"));
    free(j);
    free(k);
}

/* upstream_idle_ms is written only when it is not the default, so a route
 * that leaves it reads the same on an agent that does not know the field;
 * 0 (no pool) and other values read back. */
static void test_upstream_idle_written_only_when_set(void **state)
{
    const char *dflt = "{\"service\":\"web\",\"port\":1}";
    const char *zero = "{\"service\":\"web\",\"port\":1,\"timeouts\":{\"upstream_idle_ms\":0}}";
    struct route r, again;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, dflt, strlen(dflt), &e), 0);
    j = route_json(&r);
    assert_non_null(j);
    assert_null(strstr(j, "upstream_idle_ms"));
    free(j);
    assert_int_equal(route_parse(&r, zero, strlen(zero), &e), 0);
    assert_int_equal(r.upstream_idle_ms, 0);
    j = route_json(&r);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"upstream_idle_ms\":0"));
    assert_int_equal(route_parse(&again, j, strlen(j), &e), 0);
    assert_int_equal(again.upstream_idle_ms, 0);
    free(j);
}

static void test_bad_routes_name_the_field(void **state)
{
    (void)state;
    refused("[]", "route");
    refused("{", "route: not JSON");
    refused("{\"port\":1}", "service");
    refused("{\"service\":\"Web\",\"port\":1}", "service");
    refused("{\"service\":\"web\"}", "port");
    refused("{\"service\":\"web\",\"port\":0}", "port");
    refused("{\"service\":\"web\",\"port\":70000}", "port");
    refused("{\"service\":\"web\",\"port\":\"80\"}", "port");
    refused("{\"service\":\"web\",\"port\":1,\"name\":\"-x\"}", "name");
    refused("{\"service\":\"web\",\"port\":1,\"protocol\":\"udp\"}", "protocol");
    refused("{\"service\":\"web\",\"port\":1,\"colour\":1}", "colour: unknown field");
    refused("{\"service\":\"web\",\"port\":1,\"split\":[]}", "split");
    refused("{\"service\":\"web\",\"port\":1,\"split\":{}}", "split");
    refused("{\"service\":\"web\",\"port\":1,\"split\":{\"v1\":101}}", "split.v1");
    refused("{\"service\":\"web\",\"port\":1,\"split\":{\"v1\":0}}", "split");
    refused("{\"service\":\"web\",\"port\":1,\"split\":{\"v 1\":5}}", "split.v 1");
    refused("{\"service\":\"web\",\"port\":1,\"match\":{}}", "match");
    refused("{\"service\":\"web\",\"port\":1,\"match\":[{\"header\":\"x\",\"value\":\"1\"}]}",
            "match[0].version");
    refused("{\"service\":\"web\",\"port\":1,\"match\":[{\"header\":\"a b\",\"value\":\"1\","
            "\"version\":\"v\"}]}",
            "match[0].header");
    refused("{\"service\":\"web\",\"port\":1,\"protocol\":\"tcp\",\"match\":[{\"header\":\"x\","
            "\"value\":\"1\",\"version\":\"v\"}]}",
            "match");
    refused("{\"service\":\"web\",\"port\":1,\"timeouts\":{\"connect_ms\":0}}",
            "timeouts.connect_ms");
    refused("{\"service\":\"web\",\"port\":1,\"timeouts\":{\"idle_ms\":5}}", "timeouts.idle_ms");
    refused("{\"service\":\"web\",\"port\":1,\"timeouts\":{\"upstream_idle_ms\":3600001}}",
            "timeouts.upstream_idle_ms");
    refused("{\"service\":\"web\",\"port\":1,\"timeouts\":{\"upstream_idle_ms\":-1}}",
            "timeouts.upstream_idle_ms");
    refused("{\"service\":\"web\",\"port\":1,\"retries\":{\"attempts\":9}}", "retries.attempts");
    refused("{\"service\":\"web\",\"port\":1,\"outlier\":{\"max_ejected_percent\":101}}",
            "outlier.max_ejected_percent");
    refused("{\"service\":\"web\",\"port\":1,\"outlier\":{\"base_ejection_ms\":9,"
            "\"max_ejection_ms\":5}}",
            "outlier.max_ejection_ms");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":\"a\"}", "hosts");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"a\",\"B.example\"]}", "hosts[1]");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"a:80\"]}", "hosts[0]");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"-a.b\"]}", "hosts[0]");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"a..b\"]}", "hosts[0]");
    refused("{\"service\":\"web\",\"port\":1,\"protocol\":\"tcp\",\"hosts\":[\"a\"]}", "hosts");
    refused("{\"service\":\"web\",\"port\":1,\"prefix\":\"/api\"}", "prefix");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"a\"],\"prefix\":\"api\"}", "prefix");
    refused("{\"service\":\"web\",\"port\":1,\"hosts\":[\"a\"],\"prefix\":\"/a b\"}", "prefix");
    refused("{\"service\":\"web\",\"port\":1,\"limits\":[]}", "limits");
    refused("{\"service\":\"web\",\"port\":1,\"limits\":{\"max_requests\":0}}",
            "limits.max_requests");
    refused("{\"service\":\"web\",\"port\":1,\"limits\":{\"max_pending\":-1}}",
            "limits.max_pending");
    refused("{\"service\":\"web\",\"port\":1,\"limits\":{\"queue\":1}}", "queue");
    refused("{\"service\":\"web\",\"port\":1,\"retries\":{\"budget_percent\":101}}",
            "retries.budget_percent");
    refused("{\"service\":\"web\",\"port\":1,\"retries\":{\"backoff_ms\":10001}}",
            "retries.backoff_ms");
    refused("{\"service\":\"web\",\"port\":1,\"access_log\":\"log.json\"}", "access_log");
    refused("{\"service\":\"web\",\"port\":1,\"access_log\":\"/var/../etc/x\"}", "access_log");
    refused("{\"service\":\"web\",\"port\":1,\"access_log\":\"/var/log/\"}", "access_log");
    refused("{\"service\":\"web\",\"port\":1,\"access_log\":7}", "access_log");
}

static void test_hosts_and_prefix_read_back(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":9001,\"hosts\":[\"web.example\","
                    "\"www.web.example\"],\"prefix\":\"/api\"}";
    struct route r, back;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(r.n_hosts, 2);
    assert_string_equal(r.hosts[1], "www.web.example");
    assert_string_equal(r.prefix, "/api");
    j = route_json(&r);
    assert_non_null(strstr(j, "\"prefix\":\"/api\""));
    assert_int_equal(route_parse(&back, j, strlen(j), &e), 0);
    assert_int_equal(back.n_hosts, 2);
    assert_string_equal(back.hosts[0], "web.example");
    assert_string_equal(back.prefix, "/api");
    free(j);
}

static void test_route_without_hosts_writes_neither_field(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":9001}";
    struct route r;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_string_equal(r.prefix, "/");
    j = route_json(&r);
    assert_null(strstr(j, "hosts"));
    assert_null(strstr(j, "prefix"));
    free(j);
}

static void test_balance_defaults_to_p2c_and_is_not_written(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":9001}";
    struct route r;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(r.balance, ROUTE_P2C);
    assert_int_equal(r.sticky, ROUTE_STICKY_NONE);
    j = route_json(&r);
    /* agents from before these fields refuse unknown ones: default routes
     * keep the JSON they had */
    assert_null(strstr(j, "balance"));
    assert_null(strstr(j, "sticky"));
    free(j);
}

static void test_round_robin_reads_back(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":9001,\"balance\":\"round_robin\"}";
    const char *p2c = "{\"service\":\"web\",\"port\":9001,\"balance\":\"p2c\"}";
    struct route r, back;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(r.balance, ROUTE_ROUND_ROBIN);
    j = route_json(&r);
    assert_non_null(strstr(j, "\"balance\":\"round_robin\""));
    assert_int_equal(route_parse(&back, j, strlen(j), &e), 0);
    assert_int_equal(back.balance, ROUTE_ROUND_ROBIN);
    free(j);
    assert_int_equal(route_parse(&r, p2c, strlen(p2c), &e), 0);
    assert_int_equal(r.balance, ROUTE_P2C);
    /* round robin is TCP's too */
    t = "{\"service\":\"db\",\"port\":5432,\"protocol\":\"tcp\",\"balance\":\"round_robin\"}";
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(r.balance, ROUTE_ROUND_ROBIN);
}

static void test_sticky_header_and_cookie_read_back(void **state)
{
    const char *h = "{\"service\":\"web\",\"port\":9001,\"sticky\":{\"header\":\"x-user\"}}";
    const char *c = "{\"service\":\"web\",\"port\":9001,\"sticky\":{\"cookie\":\"session\"}}";
    struct route r, back;
    struct err e;
    char *j;

    (void)state;
    assert_int_equal(route_parse(&r, h, strlen(h), &e), 0);
    assert_int_equal(r.sticky, ROUTE_STICKY_HEADER);
    assert_string_equal(r.sticky_name, "x-user");
    j = route_json(&r);
    assert_non_null(strstr(j, "\"sticky\":{\"header\":\"x-user\"}"));
    assert_int_equal(route_parse(&back, j, strlen(j), &e), 0);
    assert_int_equal(back.sticky, ROUTE_STICKY_HEADER);
    assert_string_equal(back.sticky_name, "x-user");
    free(j);

    assert_int_equal(route_parse(&r, c, strlen(c), &e), 0);
    assert_int_equal(r.sticky, ROUTE_STICKY_COOKIE);
    assert_string_equal(r.sticky_name, "session");
    j = route_json(&r);
    assert_non_null(strstr(j, "\"sticky\":{\"cookie\":\"session\"}"));
    assert_int_equal(route_parse(&back, j, strlen(j), &e), 0);
    assert_int_equal(back.sticky, ROUTE_STICKY_COOKIE);
    assert_string_equal(back.sticky_name, "session");
    free(j);
}

static void test_bad_balance_and_sticky_name_the_field(void **state)
{
    (void)state;
    refused("{\"service\":\"web\",\"port\":1,\"balance\":\"random\"}", "balance");
    refused("{\"service\":\"web\",\"port\":1,\"balance\":1}", "balance");
    refused("{\"service\":\"web\",\"port\":1,\"balance\":\"Round_Robin\"}", "balance");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":\"x-user\"}", "sticky");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{}}", "sticky");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"header\":\"a\",\"cookie\":\"b\"}}",
            "sticky");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"query\":\"a\"}}", "sticky");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"header\":\"x user\"}}", "sticky.header");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"header\":\"\"}}", "sticky.header");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"cookie\":\"a;b\"}}", "sticky.cookie");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"cookie\":7}}", "sticky.cookie");
    refused("{\"service\":\"web\",\"port\":1,\"sticky\":{\"header\":\"x-aaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
            "sticky.header");
    refused("{\"service\":\"db\",\"port\":1,\"protocol\":\"tcp\",\"sticky\":{\"header\":\"x\"}}",
            "sticky");
}

static void test_ingress_match_by_host_then_longest_prefix(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":1,\"hosts\":[\"web.example\"],"
                    "\"prefix\":\"/api\"}";
    const char *u = "{\"service\":\"web\",\"port\":1,\"hosts\":[\"web.example\"]}";
    struct route api, all;
    struct err e;

    (void)state;
    assert_int_equal(route_parse(&api, t, strlen(t), &e), 0);
    assert_int_equal(route_parse(&all, u, strlen(u), &e), 0);
    assert_int_equal(route_ingress_match(&api, "WEB.example:8080", 16, "/api/x", 6), 5);
    assert_int_equal(route_ingress_match(&all, "web.example.", 12, "/api/x", 6), 2);
    assert_int_equal(route_ingress_match(&api, "web.example", 11, "/other", 6), 0);
    assert_int_equal(route_ingress_match(&all, "other.example", 13, "/", 1), 0);
    assert_int_equal(route_ingress_match(&all, "web.exampl", 10, "/", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_route),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_canonical_json_reads_back_the_same),
        cmocka_unit_test(test_bad_routes_name_the_field),
        cmocka_unit_test(test_upstream_idle_written_only_when_set),
        cmocka_unit_test(test_hosts_and_prefix_read_back),
        cmocka_unit_test(test_route_without_hosts_writes_neither_field),
        cmocka_unit_test(test_balance_defaults_to_p2c_and_is_not_written),
        cmocka_unit_test(test_round_robin_reads_back),
        cmocka_unit_test(test_sticky_header_and_cookie_read_back),
        cmocka_unit_test(test_bad_balance_and_sticky_name_the_field),
        cmocka_unit_test(test_ingress_match_by_host_then_longest_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
