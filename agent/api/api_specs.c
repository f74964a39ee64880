/* api_specs: the cluster's service specs over HTTP. A spec is a record of
 * the replicated state (CRDT_SPEC, last writer wins by HLC), so every agent
 * holds it within about a second of the write and agent/place runs its
 * share of the slots. The body is a supervisor spec plus the cluster
 * fields of core/place (count, constraints, spread, resources, update);
 * a bad one is refused with the field named and nothing is written.
 *   GET    /v1/specs          [{name, spec, origin, hlc, time_ms}] of the live specs
 *   GET    /v1/specs/NAME     one of them; 404 when none
 *   PUT    /v1/specs/NAME     body: the spec (its "name" must be NAME or missing)
 *   DELETE /v1/specs/NAME     a tombstone: every agent stops the slots
 * agent/place keeps the version last settled of each spec under the key
 * NAME@stable of the same kind: it is not a spec (not listed), and it goes
 * with its spec.
 *   GET    /v1/place[/NAME]   where each slot goes by this agent's view, and why not */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/place/place_drive.h"
#include "core/place.h"

static json_t *spec_json(const struct crdt_rec *r, void *ud)
{
    json_t *spec = json_loadb((const char *)r->val, r->len, 0, NULL);

    return json_pack("{s:s, s:o, s:s, s:I, s:I}", "name", r->key, "spec", spec ? spec : json_null(),
                     "origin", r->origin, "hlc", (json_int_t)r->hlc, "time_ms",
                     (json_int_t)hlc_wall_ms(r->hlc));
}

static json_t *spec_listed(const struct crdt_rec *r, void *ud)
{
    return strchr(r->key, '@') ? NULL : spec_json(r, ud); /* NAME@stable: agent/place's */
}

static void get_specs(struct agent *a, struct httpd_req *req)
{
    const char *path = httpd_req_path(req), *name = "";
    const struct crdt_rec *r;

    if (path[strlen("/v1/specs")] == '/')
        name = path + strlen("/v1/specs/");
    if (!name[0])
        api_lww_list(a, req, CRDT_SPEC, NULL, spec_listed, NULL);
    else if ((r = api_lww_find(a, req, CRDT_SPEC, name, "spec named")))
        api_reply_json(req, 200, spec_json(r, NULL));
}

/* The stored form: the body with its name, as compact JSON with sorted
 * keys, so that the same spec written twice is the same value. */
static char *canonical(const char *name, const char *body, size_t len, struct err *e)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    json_t *n;
    char *out;

    if (!root) {
        err_set(e, -EINVAL, "spec: line %d: %s", je.line, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        err_set(e, -EINVAL, "spec: expected a JSON object");
        return NULL;
    }
    n = json_object_get(root, "name");
    if (n && (!json_is_string(n) || strcmp(json_string_value(n), name) != 0)) {
        json_decref(root);
        err_set(e, -EINVAL, "name: the spec says another name than the path (%s)", name);
        return NULL;
    }
    json_object_set_new(root, "name", json_string(name));
    out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!out)
        err_set(e, -ENOMEM, "spec: cannot encode");
    return out;
}

static void put_spec(struct agent *a, struct httpd_req *req, const char *name)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const struct crdt_rec *old;
    char stable[CRDT_KEY_MAX];
    struct place_spec p;
    struct err e;
    char *text;
    int rc;

    if (!name[0] || strchr(name, '/')) {
        api_reply_error(req, 400, "expected /v1/specs/NAME");
        return;
    }
    if (!(text = canonical(name, body, len, &e))) {
        api_reply_error(req, 400, "%s", e.msg);
        return;
    }
    if ((rc = place_spec_check(text, strlen(text), &p, &e)) < 0) {
        free(text);
        api_reply_error(req, api_status_of_body(rc), "%s", e.msg);
        return;
    }
    old = crdt_lww(a->catalog->crdt, CRDT_SPEC, name);
    snprintf(stable, sizeof(stable), "%s@stable", name);
    rc = 0;
    if (!old || old->deleted)
        /* a new spec: a settled version left from one of the same name
         * (its writer had not yet seen the delete) is not this one's */
        rc = catalog_lww_del(a, CRDT_SPEC, stable, "{}", 2, &e);
    if (rc >= 0)
        rc = api_lww_put(a, CRDT_SPEC, name, text, strlen(text), &e);
    free(text);
    api_lww_reply(a, req, rc, &e, json_pack("{s:b}", "stored", 1));
    if (rc >= 0)
        place_drive_kick(a);
}

static void delete_spec(struct agent *a, struct httpd_req *req, const char *name)
{
    const struct crdt_rec *r = crdt_lww(a->catalog->crdt, CRDT_SPEC, name);
    char stable[CRDT_KEY_MAX];
    struct err e;
    int rc;

    if (!r || r->deleted || strchr(name, '@')) {
        api_reply_error(req, 404, "no spec named \"%s\"", name);
        return;
    }
    rc = catalog_lww_del(a, CRDT_SPEC, name, "{}", 2, &e);
    snprintf(stable, sizeof(stable), "%s@stable", name);
    if (rc >= 0)
        rc = catalog_lww_del(a, CRDT_SPEC, stable, "{}", 2, &e);
    if (rc >= 0)
        rc = catalog_save(a, &e);
    api_lww_reply(a, req, rc, &e, json_pack("{s:i}", "deleted", 1));
    if (rc >= 0)
        place_drive_kick(a);
}

static void get_place(struct agent *a, struct httpd_req *req)
{
    const char *path = httpd_req_path(req), *name = "";

    if (path[strlen("/v1/place")] == '/')
        name = path + strlen("/v1/place/");
    api_set_index(a, req);
    api_reply_json(req, 200, place_drive_status(a, name[0] ? name : NULL));
}

static void read_place(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_place);
}

static void read_specs(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_specs);
}

static void not_allowed(struct agent *a, struct httpd_req *req, const char *rest);

static void put_named(struct agent *a, struct httpd_req *req, const char *name)
{
    if (!name[0])
        not_allowed(a, req, name);
    else
        put_spec(a, req, name);
}

static void delete_named(struct agent *a, struct httpd_req *req, const char *name)
{
    if (!name[0])
        not_allowed(a, req, name);
    else
        delete_spec(a, req, name);
}

const struct api_route api_specs_routes[] = {
    {"GET", "/v1/place", read_place},  {"GET", "/v1/place/*", read_place},
    {"GET", "/v1/specs", read_specs},  {"GET", "/v1/specs/*", read_specs},
    {"PUT", "/v1/specs/*", put_named}, {"DELETE", "/v1/specs/*", delete_named},
};
const size_t api_specs_n_routes = sizeof(api_specs_routes) / sizeof(api_specs_routes[0]);

static void not_allowed(struct agent *a, struct httpd_req *req, const char *rest)
{
    const char *method = httpd_req_method(req), *path = httpd_req_path(req);

    if (strncmp(path, "/v1/place", strlen("/v1/place")) == 0)
        api_reply_error(req, 405, "method %s not allowed on /v1/place (GET)", method);
    else
        api_reply_error(req, 405, "method %s not allowed on %s (GET; PUT, DELETE with a name)",
                        method, path);
}

int api_specs_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const struct api_route *r;
    const char *rest;
    int known = 0;

    if ((r = api_route_find(api_specs_routes, api_specs_n_routes, method, path, &rest, &known))) {
        r->fn(a, req, rest);
        return 1;
    }
    if (!known)
        return 0;
    not_allowed(a, req, rest);
    return 1;
}
