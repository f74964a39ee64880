/* api_events: user events and the event history over HTTP.
 *   PUT /v1/event/fire/NAME   the body (at most 512 bytes) is the payload; the
 *                             event is gossiped and lands in every agent's history
 *   GET /v1/events?since=SEQ&kind=KIND&limit=N   this agent's history, oldest
 *                             first: after SEQ, or without since the newest N
 *                             (default 100); blocking with ?index */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/store/store_catalog.h"
#include "core/mem.h"

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX     10000

static int valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CAT_EVENT_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-' || *s == ':'))
            return 0;
    return 1;
}

int api_event_fire(struct agent *a, const char *name, const void *payload, size_t len,
                   uint64_t *seq, struct err *e)
{
    struct catalog *c = a->catalog;
    struct cat_event *ev;
    uint8_t buf[CAT_EVENT_NAME_MAX + CAT_EVENT_PAYLOAD_MAX + 64];
    char key[24];
    int n, rc;

    if (!valid_name(name))
        return err_set(e, -EINVAL, "name: expected 1 to %d of [A-Za-z0-9._:-]", CAT_EVENT_NAME_MAX);
    if (len > CAT_EVENT_PAYLOAD_MAX)
        return err_set(e, -E2BIG, "payload: %zu bytes, at most %d", len, CAT_EVENT_PAYLOAD_MAX);
    ev = xcalloc(1, sizeof(*ev));
    snprintf(ev->name, sizeof(ev->name), "%s", name);
    ev->seq = c->event_seq + 1;
    ev->payload_len = (uint16_t)len;
    memcpy(ev->payload, payload, len);
    cat_event_key(ev->seq, key);
    n = cat_event_encode(ev, buf, sizeof(buf), e);
    rc = n < 0 ? n : repl_put(c->repl, agent_wall_ms(), CRDT_EVENT, key, buf, (uint32_t)n, e);
    if (rc >= 0) {
        c->event_seq = ev->seq;
        history_add(a, "user", name, "from %s: %.*s", a->cfg.node, (int)len, (const char *)payload);
        rc = catalog_save(a, e);
    }
    *seq = ev->seq;
    free(ev);
    return rc < 0 ? rc : 0;
}

static void put_fire(struct agent *a, struct httpd_req *req, const char *name)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    uint64_t seq = 0;
    struct err e;
    int rc = api_event_fire(a, name, body, len, &seq, &e);

    if (rc < 0) {
        api_reply_error(req, rc == -E2BIG ? 413 : api_status(rc), "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:I}", "name", name, "node", a->cfg.node, "seq", (json_int_t)seq));
    agent_drive(a);
}

static void event_cb(void *ud, const struct store_event *ev)
{
    json_array_append_new(ud, json_pack("{s:I, s:I, s:s, s:o, s:o}", "seq", (json_int_t)ev->seq,
                                        "time_ms", (json_int_t)ev->time_ms, "kind", ev->kind,
                                        "subject", api_json_text(ev->subject, strlen(ev->subject)),
                                        "detail", api_json_text(ev->detail, strlen(ev->detail))));
}

static int int_param(struct httpd_req *req, const char *name, int64_t def, int64_t max,
                     int64_t *out)
{
    uint64_t x;
    int rc = api_query_uint(req, name, &x);

    *out = def;
    if (rc < 0) {
        api_reply_error(req, 400, "%s: expected a whole number", name);
        return -1;
    }
    if (rc > 0)
        *out = x > (uint64_t)max ? max : (int64_t)x;
    return 0;
}

static void get_events(struct agent *a, struct httpd_req *req)
{
    char kind[32];
    int64_t since, limit;
    int has_kind = httpd_req_query(req, "kind", kind, sizeof(kind));
    json_t *arr;
    struct err e;

    if (has_kind == -2) {
        api_reply_error(req, 400, "kind: too long");
        return;
    }
    if (int_param(req, "since", -1, INT64_MAX, &since) < 0 ||
        int_param(req, "limit", EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX, &limit) < 0)
        return;
    if (catalog_save(a, &e) < 0) { /* the history still in memory first */
        api_reply_error(req, 500, "%s", e.msg);
        return;
    }
    arr = json_array();
    if (store_events_query(a->store, since, has_kind >= 0 ? kind : NULL, limit, event_cb, arr, &e) <
        0) {
        json_decref(arr);
        api_reply_error(req, 500, "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200, arr);
}

static void read_events(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_events);
}

const struct api_route api_events_routes[] = {
    {"PUT", "/v1/event/fire/*", put_fire},
    {"GET", "/v1/events", read_events},
};
const size_t api_events_n_routes = sizeof(api_events_routes) / sizeof(api_events_routes[0]);

int api_events_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const size_t n = api_events_n_routes;
    const struct api_route *r;
    const char *rest;
    int known = 0, use_put;

    if ((r = api_route_find(api_events_routes, n, method, path, &rest, &known))) {
        r->fn(a, req, rest);
        return 1;
    }
    if (!known)
        return 0;
    /* a path of a write says which method it takes */
    use_put = api_route_find(api_events_routes, n, "PUT", path, &rest, NULL) != NULL;
    api_reply_error(req, 405, "method %s not allowed on %s%s", method, path,
                    use_put ? " (use PUT)" : "");
    return 1;
}
