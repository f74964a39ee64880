/* api_routes: the proxy routes' HTTP endpoints. A route is a last-writer-
 * wins record (CRDT_ROUTE) under its name, stored as the canonical JSON of
 * core/route, so a write on any agent is in force on every agent once it
 * has gossiped (agent/proxy listens for it).
 *   GET    /v1/routes        every live route, sorted by name ([] when none)
 *   GET    /v1/routes/NAME   one route; 404 when there is none
 *   PUT    /v1/routes[/NAME] the body is a route (core/route.h); with NAME,
 *                            the body's name (if any) must be NAME
 *   DELETE /v1/routes/NAME   a tombstone; 404 when there is no such route
 * and what this agent's proxy makes of them (agent/proxy/proxy_obs.c):
 *   GET /v1/proxy/routes          the routes it serves: endpoints healthy
 *                                 and ejected, requests/s, p99
 *   GET /v1/proxy/endpoints/NAME  one route's endpoints and their state */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/proxy/proxy.h"
#include "core/route.h"

/* The route of a record as JSON, with who wrote it and when. */
static json_t *route_entry(const struct crdt_rec *r, void *ud)
{
    json_t *j = json_loadb((const char *)r->val, r->len, 0, NULL);

    if (!json_is_object(j)) {
        json_decref(j);
        j = json_pack("{s:s, s:s}", "name", r->key, "error", "not a valid route");
    }
    json_object_set_new(j, "origin", json_string(r->origin));
    json_object_set_new(j, "hlc", json_integer((json_int_t)r->hlc));
    return j;
}

static void get_routes(struct agent *a, struct httpd_req *req)
{
    const char *name = httpd_req_path(req) + strlen("/v1/routes");
    const struct crdt_rec *r;

    if (*name == '/')
        name++;
    if (!*name)
        api_lww_list(a, req, CRDT_ROUTE, NULL, route_entry, NULL);
    else if ((r = api_lww_find(a, req, CRDT_ROUTE, name, "route")))
        api_reply_json(req, 200, route_entry(r, NULL));
}

static void put_route(struct agent *a, struct httpd_req *req, const char *name)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct route rt;
    struct err e;
    char *json;
    int rc;

    if (route_parse(&rt, body, len, &e) < 0) {
        api_reply_error(req, 400, "%s", e.msg);
        return;
    }
    if (*name && strcmp(name, rt.name) != 0) {
        /* a body without "name" takes the path's; one with another is refused */
        if (rt.name_given || !route_name_ok(name)) {
            api_reply_error(req, 400, "name: \"%s\" in the body, \"%s\" in the path", rt.name,
                            name);
            return;
        }
        snprintf(rt.name, sizeof(rt.name), "%s", name);
    }
    json = route_json(&rt);
    rc = api_lww_put(a, CRDT_ROUTE, rt.name, json, strlen(json), &e);
    free(json);
    api_lww_reply(a, req, rc, &e, json_pack("{s:b, s:s}", "stored", 1, "name", rt.name));
}

static void delete_route(struct agent *a, struct httpd_req *req, const char *name)
{
    const struct crdt_rec *r = crdt_lww(a->catalog->crdt, CRDT_ROUTE, name);
    struct err e;
    int rc;

    if (!*name) {
        api_reply_error(req, 400, "name: missing (expected /v1/routes/NAME)");
        return;
    }
    if (!r || r->deleted) {
        api_reply_error(req, 404, "no route \"%s\"", name);
        return;
    }
    rc = catalog_lww_del(a, CRDT_ROUTE, name, "{}", 2, &e);
    if (rc >= 0)
        rc = catalog_save(a, &e);
    api_lww_reply(a, req, rc, &e, json_pack("{s:i}", "deleted", 1));
}

static void read_routes(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_routes);
}

static void get_proxy_routes(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_reply_json(req, 200, proxy_routes_json(a));
}

static void get_proxy_endpoints(struct agent *a, struct httpd_req *req, const char *name)
{
    json_t *j = proxy_endpoints_json(a, name);

    if (!j) {
        api_reply_error(req, 404, "this agent's proxy has no route \"%s\"", name);
        return;
    }
    api_reply_json(req, 200, j);
}

const struct api_route api_routes_routes[] = {
    {"GET", "/v1/routes", read_routes},
    {"GET", "/v1/routes/*", read_routes},
    {"PUT", "/v1/routes", put_route},
    {"PUT", "/v1/routes/*", put_route},
    {"DELETE", "/v1/routes", delete_route},
    {"DELETE", "/v1/routes/*", delete_route},
    {"GET", "/v1/proxy/routes", get_proxy_routes},
    {"GET", "/v1/proxy/endpoints/*", get_proxy_endpoints},
};
const size_t api_routes_n_routes = sizeof(api_routes_routes) / sizeof(api_routes_routes[0]);

int api_routes_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const struct api_route *r;
    const char *name;
    int known = 0;

    if ((r = api_route_find(api_routes_routes, api_routes_n_routes, method, path, &name, &known))) {
        r->fn(a, req, name);
        return 1;
    }
    if (!known)
        return 0;
    api_reply_error(req, 405, "method %s not allowed on %s", method, path);
    return 1;
}
