/* cmd_route: troupe route set FILE|- | list | rm NAME | endpoints NAME,
 * and troupe routes: a thin client of /v1/routes and /v1/proxy
 * (agent/api/api_routes.c). The agent validates; this only reads the file
 * and prints the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/route.h"

static void print_routes(json_t *arr)
{
    size_t i;
    json_t *r;

    printf("%-24s %-6s %-8s %-20s %s\n", "ROUTE", "PORT", "PROTO", "SERVICE", "SPLIT");
    json_array_foreach(arr, i, r)
    {
        json_t *split = json_object_get(r, "split");
        const char *k;
        json_t *w;
        char buf[256] = "";
        size_t n = 0;

        json_object_foreach(split, k, w)
        {
            int m = snprintf(buf + n, sizeof(buf) - n, "%s%s=%lld", n ? "," : "", k,
                             (long long)json_integer_value(w));
            if (m < 0 || (size_t)m >= sizeof(buf) - n)
                break;
            n += (size_t)m;
        }
        printf("%-24s %-6lld %-8s %-20s %s\n", json_string_value(json_object_get(r, "name")),
               (long long)json_integer_value(json_object_get(r, "port")),
               json_string_value(json_object_get(r, "protocol")),
               json_string_value(json_object_get(r, "service")), n ? buf : "-");
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : "-";
}

/* troupe routes: what the local proxy serves. */
static void print_proxy_routes(json_t *arr)
{
    size_t i;
    json_t *r;

    printf("%-24s %-6s %-6s %-9s %-7s %-24s %10s %9s\n", "ROUTE", "PORT", "PROTO", "HEALTHY",
           "EJECTED", "SPLIT", "REQ/S", "P99(ms)");
    json_array_foreach(arr, i, r)
    {
        char healthy[32];
        snprintf(healthy, sizeof(healthy), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(r, "healthy")),
                 (long long)json_integer_value(json_object_get(r, "endpoints")));
        printf("%-24s %-6lld %-6s %-9s %-7lld %-24s %10.1f %9.2f\n", str(r, "name"),
               (long long)json_integer_value(json_object_get(r, "port")), str(r, "protocol"),
               healthy, (long long)json_integer_value(json_object_get(r, "ejected")),
               str(r, "split"), json_real_value(json_object_get(r, "requests_per_s")),
               json_real_value(json_object_get(r, "p99_ms")));
    }
}

/* troupe route endpoints NAME */
static void print_endpoints(json_t *res)
{
    size_t i;
    json_t *e;

    printf("%-32s %-12s %-22s %-8s %9s %5s %5s %5s\n", "ENDPOINT", "VERSION", "ADDRESS", "STATE",
           "EWMA(ms)", "OUT", "FAIL", "EJ");
    json_array_foreach(json_object_get(res, "endpoints"), i, e)
    {
        printf("%-32s %-12s %-22s %-8s %9.2f %5lld %5lld %5lld\n", str(e, "key"), str(e, "version"),
               str(e, "address"), str(e, "state"), json_real_value(json_object_get(e, "ewma_ms")),
               (long long)json_integer_value(json_object_get(e, "outstanding")),
               (long long)json_integer_value(json_object_get(e, "failures")),
               (long long)json_integer_value(json_object_get(e, "ejections")));
    }
}

int cmd_routes(struct cli *c)
{
    return cli_show(c, "GET", "/v1/proxy/routes", NULL, print_proxy_routes);
}

int cmd_route(struct cli *c)
{
    const char *sub = c->nargs > 0 ? c->args[0] : "";
    char path[256];
    json_t *res;
    int rc;

    if (strcmp(sub, "set") == 0) {
        if (c->nargs < 2)
            return usage_error("route set: missing FILE (or - for stdin)");
        return cli_put_file(c, c->args[1], ROUTE_TEXT_MAX, "/v1/routes", "route ", " set");
    }
    if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
        return cli_show(c, "GET", "/v1/routes", NULL, print_routes);
    if (strcmp(sub, "rm") == 0) {
        if (c->nargs < 2)
            return usage_error("route rm: missing NAME");
        if (!route_name_ok(c->args[1]))
            return usage_error("route rm: \"%s\" is not a route name", c->args[1]);
        snprintf(path, sizeof(path), "/v1/routes/%s", c->args[1]);
        if ((rc = call(c, "DELETE", path, NULL, &res)) != 0)
            return rc;
        if (c->json)
            print_json(res);
        else
            printf("route %s removed\n", c->args[1]);
        json_decref(res);
        return 0;
    }
    if (strcmp(sub, "endpoints") == 0) {
        if (c->nargs < 2)
            return usage_error("route endpoints: missing NAME");
        if (!route_name_ok(c->args[1]))
            return usage_error("route endpoints: \"%s\" is not a route name", c->args[1]);
        snprintf(path, sizeof(path), "/v1/proxy/endpoints/%s", c->args[1]);
        return cli_show(c, "GET", path, NULL, print_endpoints);
    }
    return usage_error("route: expected set FILE|-, list, rm NAME or endpoints NAME");
}
