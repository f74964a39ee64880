/* Tests of agent/api/api_acl.c's table against the route tables of the
 * API: every route has its row in the authorization table (a route without
 * one is unreachable: the check answers 404 before it), and every row is a
 * route (no stale row opens a path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/api/api.h"
#include "agent/api/api_impl.h"
#include "agent/consul/consul.h"

#define ROWS_MAX 256

struct rows {
    size_t n;
    const char *method[ROWS_MAX], *pattern[ROWS_MAX];
};

static void collect(void *ud, const char *method, const char *pattern)
{
    struct rows *r = ud;

    assert_true(r->n < ROWS_MAX);
    r->method[r->n] = method;
    r->pattern[r->n++] = pattern;
}

static int has(const struct rows *r, const char *method, const char *pattern)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->method[i], method) == 0 && strcmp(r->pattern[i], pattern) == 0)
            return 1;
    return 0;
}

static const char *service_id_of(const char *text, json_t **keep)
{
    *keep = json_loads(text, 0, NULL);
    assert_non_null(*keep);
    return api_acl_consul_service_id(*keep);
}

/* The rule of /v1/agent/check/register and its handler read one
 * ServiceID: in any case and with underscores, none when given twice. */
static void test_consul_service_id_is_read_once_in_any_case(void **state)
{
    json_t *j;

    assert_string_equal(service_id_of("{\"name\": \"m\", \"serviceid\": \"web-1\"}", &j), "web-1");
    json_decref(j);
    assert_string_equal(service_id_of("{\"Service_ID\": \"a\", \"ServiceIDs\": \"b\"}", &j), "a");
    json_decref(j);
    assert_null(service_id_of("{\"ServiceID\": \"a\", \"serviceid\": \"b\"}", &j));
    json_decref(j);
    assert_null(service_id_of("{\"ServiceID\": 1}", &j));
    json_decref(j);
    assert_null(service_id_of("{\"Name\": \"x\", \"Service\": \"web\"}", &j));
    json_decref(j);
}

static void test_every_route_has_a_row_of_the_authorization_table(void **state)
{
    static struct rows routes, acl;

    api_routes_each(collect, &routes);
    api_acl_each(collect, &acl);
    assert_true(routes.n >= 40);
    for (size_t i = 0; i < routes.n; i++)
        if (!has(&acl, routes.method[i], routes.pattern[i]))
            fail_msg("route %s %s has no row in agent/api/api_acl.c", routes.method[i],
                     routes.pattern[i]);
}

static void test_every_row_of_the_authorization_table_is_a_route(void **state)
{
    static struct rows routes, acl;

    api_routes_each(collect, &routes);
    api_acl_each(collect, &acl);
    for (size_t i = 0; i < acl.n; i++)
        if (!has(&routes, acl.method[i], acl.pattern[i]))
            fail_msg("row %s %s of agent/api/api_acl.c is no route", acl.method[i], acl.pattern[i]);
}

static void test_every_consul_route_has_a_row_of_the_consul_table(void **state)
{
    static struct rows routes, acl;

    consul_routes_each(collect, &routes);
    api_acl_consul_each(collect, &acl);
    assert_true(routes.n >= 30);
    for (size_t i = 0; i < routes.n; i++)
        if (!has(&acl, routes.method[i], routes.pattern[i]))
            fail_msg("Consul route %s %s has no row in agent/api/api_acl.c", routes.method[i],
                     routes.pattern[i]);
}

static void test_every_row_of_the_consul_table_is_a_consul_route(void **state)
{
    static struct rows routes, acl;

    consul_routes_each(collect, &routes);
    api_acl_consul_each(collect, &acl);
    for (size_t i = 0; i < acl.n; i++)
        if (!has(&routes, acl.method[i], acl.pattern[i]))
            fail_msg("Consul row %s %s of agent/api/api_acl.c is no route", acl.method[i],
                     acl.pattern[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_has_a_row_of_the_authorization_table),
        cmocka_unit_test(test_every_row_of_the_authorization_table_is_a_route),
        cmocka_unit_test(test_every_consul_route_has_a_row_of_the_consul_table),
        cmocka_unit_test(test_every_row_of_the_consul_table_is_a_consul_route),
        cmocka_unit_test(test_consul_service_id_is_read_once_in_any_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
