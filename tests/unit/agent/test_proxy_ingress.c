/* Tests of agent/proxy/proxy_ingress.c's choice of a route: by Host, then
 * the longest prefix, a tie to the name that sorts first; routes that are
 * gone, tcp or without hosts are never picked; a request without Host or
 * with a target that is not a path picks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/proxy/proxy_impl.h"

static struct proxy_route *route(struct proxy *p, const char *json)
{
    struct proxy_route *rt = calloc(1, sizeof(*rt));
    struct err e;

    assert_non_null(rt);
    assert_int_equal(route_parse(&rt->r, json, strlen(json), &e), 0);
    rt->p = p;
    rt->next = p->routes;
    p->routes = rt;
    return rt;
}

static const char *pick(struct proxy *p, const char *host, const char *target)
{
    struct proxy_route *rt =
        proxy_ingress_pick(p, host, host ? strlen(host) : 0, target, strlen(target));
    return rt ? rt->r.name : NULL;
}

static void free_routes(struct proxy *p)
{
    while (p->routes) {
        struct proxy_route *rt = p->routes;
        p->routes = rt->next;
        free(rt);
    }
}

static void test_host_then_longest_prefix(void **state)
{
    struct proxy p;

    (void)state;
    memset(&p, 0, sizeof(p));
    route(&p, "{\"service\":\"web\",\"port\":1,\"hosts\":[\"web.example\"]}");
    route(&p, "{\"name\":\"api\",\"service\":\"api\",\"port\":2,\"hosts\":[\"web.example\"],"
              "\"prefix\":\"/api\"}");
    route(&p, "{\"name\":\"api-v2\",\"service\":\"api\",\"port\":3,\"hosts\":[\"web.example\"],"
              "\"prefix\":\"/api/v2\"}");
    route(&p, "{\"name\":\"shop\",\"service\":\"shop\",\"port\":4,\"hosts\":[\"shop.example\"]}");
    assert_string_equal(pick(&p, "web.example", "/"), "web");
    assert_string_equal(pick(&p, "web.example", "/api/users?x=/api/v2"), "api");
    assert_string_equal(pick(&p, "Web.Example:8080", "/api/v2/users"), "api-v2");
    assert_string_equal(pick(&p, "shop.example", "/api"), "shop");
    assert_null(pick(&p, "other.example", "/"));
    free_routes(&p);
}

static void test_tie_goes_to_the_first_name(void **state)
{
    struct proxy p;

    (void)state;
    memset(&p, 0, sizeof(p));
    route(&p, "{\"name\":\"b\",\"service\":\"web\",\"port\":1,\"hosts\":[\"web.example\"]}");
    route(&p, "{\"name\":\"a\",\"service\":\"web\",\"port\":2,\"hosts\":[\"web.example\"]}");
    route(&p, "{\"name\":\"c\",\"service\":\"web\",\"port\":3,\"hosts\":[\"web.example\"]}");
    assert_string_equal(pick(&p, "web.example", "/"), "a");
    free_routes(&p);
}

static void test_gone_routes_and_odd_requests_pick_nothing(void **state)
{
    struct proxy p;
    struct proxy_route *rt;

    (void)state;
    memset(&p, 0, sizeof(p));
    rt = route(&p, "{\"service\":\"web\",\"port\":1,\"hosts\":[\"web.example\"]}");
    route(&p, "{\"name\":\"plain\",\"service\":\"web\",\"port\":2}");
    assert_null(pick(&p, NULL, "/"));
    assert_null(pick(&p, "web.example", "http://web.example/"));
    assert_null(pick(&p, "web.example", "*"));
    assert_string_equal(pick(&p, "web.example", "/"), "web");
    rt->gone = 1;
    assert_null(pick(&p, "web.example", "/"));
    free_routes(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_then_longest_prefix),
        cmocka_unit_test(test_tie_goes_to_the_first_name),
        cmocka_unit_test(test_gone_routes_and_odd_requests_pick_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
