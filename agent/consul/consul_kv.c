/* consul_kv: Consul's KV and user events over troupe's (last writer wins,
 * no consensus: docs/consul-compat.md).
 *   GET    /v1/kv/KEY     [entry], 404 when absent; ?raw the bytes;
 *                         ?recurse every entry under KEY; ?keys the names
 *                         (?separator= cuts them after it)
 *   PUT    /v1/kv/KEY     true; ?flags other than 0, ?cas, ?acquire, ?release refused
 *   DELETE /v1/kv/KEY     true; ?recurse every key under KEY; ?cas refused
 *   PUT    /v1/event/fire/NAME   the event; GET /v1/event/list (?name=) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/consul/consul_impl.h"
#include "core/hlc.h"
#include "core/mem.h"

#define EVENTS_MAX 256 /* Consul keeps the last 256 */

static const char refuse_linear[] =
    "%s needs a linearizable store, which troupe does not have: every agent accepts writes on "
    "its own and the last writer wins (see docs/consul-compat.md)";

/* A key's indexes: the wall time (ms) of its write, which only grows for a
 * key and stays below every X-Consul-Index (consul_index.c). */
static json_t *entry_json(const struct crdt_rec *r)
{
    uint64_t t = hlc_wall_ms(r->hlc) ? hlc_wall_ms(r->hlc) : 1;

    return consul_kv_json(r->key, r->val, r->len, t, t);
}

struct list {
    struct catalog *c;
    json_t *arr;
    const char *last; /* keys come in (key, origin) order */
    const char *prefix;
    char sep[16]; /* ?separator: "" for none */
    int keys_only;
};

static int list_cb(void *ud, const struct crdt_rec *r)
{
    struct list *l = ud;
    const struct crdt_rec *w;
    size_t plen = strlen(l->prefix), n;
    const char *cut;

    if (l->last && strcmp(l->last, r->key) == 0)
        return 0;
    l->last = r->key;
    w = crdt_lww(l->c->crdt, CRDT_KV, r->key);
    if (!w || w->deleted)
        return 0;
    if (!l->keys_only) {
        json_array_append_new(l->arr, entry_json(w));
        return 0;
    }
    n = strlen(w->key);
    if (l->sep[0] && (cut = strstr(w->key + plen, l->sep)))
        n = (size_t)(cut - w->key) + strlen(l->sep);
    /* a name cut at the separator comes once */
    if (json_array_size(l->arr)) {
        const char *prev = json_string_value(json_array_get(l->arr, json_array_size(l->arr) - 1));
        if (strlen(prev) == n && strncmp(prev, w->key, n) == 0)
            return 0;
    }
    json_array_append_new(l->arr, json_stringn(w->key, n));
    return 0;
}

static void get_kv(struct agent *a, struct httpd_req *req)
{
    const char *key = httpd_req_path(req) + strlen("/v1/kv/");
    const struct crdt_rec *r;

    if (api_query_has(req, "recurse") || api_query_has(req, "keys")) {
        struct list l = {.c = a->catalog,
                         .arr = json_array(),
                         .prefix = key,
                         .keys_only = api_query_has(req, "keys")};
        if (httpd_req_query(req, "separator", l.sep, sizeof(l.sep)) < 0)
            l.sep[0] = '\0';
        crdt_scan(a->catalog->crdt, CRDT_KV, key[0] ? key : NULL, 0, list_cb, &l);
        if (!json_array_size(l.arr)) {
            json_decref(l.arr);
            consul_reply_error(a, req, 404, "no key under \"%.200s\"", key);
            return;
        }
        consul_reply_json(a, req, 200, l.arr);
        return;
    }
    r = key[0] ? crdt_lww(a->catalog->crdt, CRDT_KV, key) : NULL;
    if (!r || r->deleted) {
        consul_reply_error(a, req, 404, "no key \"%.200s\"", key);
        return;
    }
    if (api_query_has(req, "raw")) {
        consul_reply_bytes(a, req, 200, "application/octet-stream", r->val, r->len);
        return;
    }
    consul_reply_json(a, req, 200, json_pack("[o]", entry_json(r)));
}

/* ?cas, ?acquire, ?release: 1 when one was given (and answered). */
static int refused_param(struct agent *a, struct httpd_req *req)
{
    static const char *const params[] = {"cas", "acquire", "release"};

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        if (api_query_has(req, params[i])) {
            char what[16];
            snprintf(what, sizeof(what), "?%s", params[i]);
            consul_refused(a, CONSUL_REFUSED_CAS);
            consul_reply_error(a, req, 501, refuse_linear, what);
            return 1;
        }
    }
    return 0;
}

static int check_key(struct agent *a, struct httpd_req *req, const char *key)
{
    if (!key[0]) {
        consul_reply_error(a, req, 400, "Missing key name");
        return -1;
    }
    if (strlen(key) > CRDT_KEY_MAX) {
        consul_reply_error(a, req, 400, "Key longer than %d bytes", CRDT_KEY_MAX);
        return -1;
    }
    return 0;
}

static void put_kv(struct agent *a, struct httpd_req *req, const char *key)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    uint64_t flags = 0;
    struct err e;
    int rc;

    if (refused_param(a, req) || check_key(a, req, key) < 0)
        return;
    if (api_query_uint(req, "flags", &flags) < 0 || flags != 0) {
        consul_refused(a, CONSUL_REFUSED_FLAGS);
        consul_reply_error(a, req, 400,
                           "?flags: troupe's KV keeps no flags, only 0 is taken (see "
                           "docs/consul-compat.md)");
        return;
    }
    if ((rc = api_kv_put(a, key, body, len, &e)) < 0) {
        consul_reply_error(a, req, rc == -E2BIG ? 413 : api_status(rc), "%s", e.msg);
        return;
    }
    consul_reply_true(a, req);
    agent_drive(a);
}

static void delete_kv(struct agent *a, struct httpd_req *req, const char *key)
{
    int recurse = api_query_has(req, "recurse"), rc;
    struct err e;

    if (refused_param(a, req) || (!recurse && check_key(a, req, key) < 0))
        return;
    if ((rc = api_kv_delete(a, key, recurse, &e)) < 0) {
        consul_reply_error(a, req, api_status(rc), "%s", e.msg);
        return;
    }
    consul_reply_true(a, req);
    agent_drive(a);
}

static void read_kv(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, get_kv);
}

/* ---- events ---- */

static void put_fire(struct agent *a, struct httpd_req *req, const char *name)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct crdt *c = a->catalog->crdt;
    const struct crdt_rec *r;
    struct cat_event *ev;
    uint64_t seq = 0;
    char key[24];
    struct err e;
    int rc = api_event_fire(a, name, body, len, &seq, &e);

    if (rc < 0) {
        consul_reply_error(a, req, rc == -E2BIG ? 413 : api_status(rc), "%s", e.msg);
        return;
    }
    cat_event_key(seq, key);
    r = crdt_get(c, crdt_self(c), CRDT_EVENT, key);
    ev = xcalloc(1, sizeof(*ev));
    if (!r || cat_event_decode(ev, r->val, r->len, &e) < 0) {
        free(ev);
        consul_reply_error(a, req, 500, "the event just written cannot be read back");
        return;
    }
    consul_reply_json(a, req, 200, consul_event_json(a->cfg.node, ev, hlc_wall_ms(r->hlc)));
    free(ev);
    agent_drive(a);
}

struct ev_item {
    uint64_t hlc;
    json_t *j;
};

struct ev_scan {
    struct ev_item *v;
    size_t n, cap;
    char name[CAT_EVENT_NAME_MAX + 2]; /* ?name, "" for every event */
    struct cat_event ev;
};

static int ev_cb(void *ud, const struct crdt_rec *r)
{
    struct ev_scan *s = ud;

    if (r->deleted || cat_event_decode(&s->ev, r->val, r->len, NULL) < 0)
        return 0;
    if (s->name[0] && strcmp(s->name, s->ev.name) != 0)
        return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n].hlc = r->hlc;
    s->v[s->n++].j = consul_event_json(r->origin, &s->ev, hlc_wall_ms(r->hlc));
    return 0;
}

static int by_hlc(const void *x, const void *y)
{
    const struct ev_item *a = x, *b = y;
    return a->hlc < b->hlc ? -1 : a->hlc > b->hlc;
}

static void list_events(struct agent *a, struct httpd_req *req)
{
    struct ev_scan *s = xcalloc(1, sizeof(*s));
    json_t *arr = json_array();

    if (httpd_req_query(req, "name", s->name, sizeof(s->name)) < 0)
        s->name[0] = '\0';
    crdt_scan(a->catalog->crdt, CRDT_EVENT, NULL, 0, ev_cb, s);
    if (s->n) /* qsort takes no NULL array, even empty */
        qsort(s->v, s->n, sizeof(*s->v), by_hlc);
    for (size_t i = 0; i < s->n; i++) {
        if (s->n - i <= EVENTS_MAX)
            json_array_append(arr, s->v[i].j);
        json_decref(s->v[i].j);
    }
    free(s->v);
    free(s);
    consul_reply_json(a, req, 200, arr);
}

static void read_events(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, list_events);
}

const struct api_route consul_kv_routes[] = {
    {"GET", "/v1/kv/*", read_kv},           {"PUT", "/v1/kv/*", put_kv},
    {"DELETE", "/v1/kv/*", delete_kv},      {"PUT", "/v1/event/fire/*", put_fire},
    {"GET", "/v1/event/list", read_events},
};
const size_t consul_kv_n_routes = sizeof(consul_kv_routes) / sizeof(consul_kv_routes[0]);
