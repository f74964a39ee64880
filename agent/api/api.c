/* api: the HTTP JSON API of the agent (see api.h): routing, request bodies
 * (jansson), and the JSON of members and of the agent itself. Joins answer
 * later, when their outcomes are known. */
#include "agent/api/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/acl/tokens.h"
#include "agent/agent_impl.h"
#include "agent/trust/bundle.h"
#include "agent/dns/dnsd.h"
#include "agent/api/api_impl.h"
#include "agent/api/api_ui.h"
#include "agent/api/tls.h"
#include "agent/api/api_input.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/place/place_drive.h"
#include "agent/proxy/proxy.h"
#include "agent/super/super.h"
#include "core/mem.h"
#include "core/route.h"
#include "core/tags.h"
#include "core/trust.h"

#define API_JOIN_TIMEOUT_MS 10000
#define API_BODY_MAX        (64u << 10)

struct api_join {
    struct api_join *next;
    struct agent *a;
    struct httpd_req *req;
    uv_timer_t timer;
    size_t n;
    struct node_addr addr[AGENT_JOIN_MAX];
    int8_t outcome[AGENT_JOIN_MAX]; /* -1 waiting, 0 failed, 1 joined, 2 our own address */
    int answered;
};

/* The one place an answer's JSON is written. */
void api_reply_json(struct httpd_req *req, int status, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    size_t len;

    if (!body) { /* a builder refused a value (not UTF-8): say so rather than crash */
        static const char msg[] = "{\"error\":\"the answer could not be encoded as JSON\"}\n";
        httpd_respond(req, 500, "application/json", msg, sizeof(msg) - 1);
        json_decref(j);
        return;
    }
    len = strlen(body);
    /* a trailing newline makes curl output readable; JSON parsers ignore it */
    body = xrealloc(body, len + 2);
    body[len++] = '\n';
    body[len] = '\0';
    httpd_respond(req, status, "application/json", body, len);
    free(body);
    json_decref(j);
}

static void reply_verror(struct httpd_req *req, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void reply_verror(struct httpd_req *req, int status, const char *fmt, va_list ap)
{
    char msg[512];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);

    if (n < 0)
        n = 0;
    /* the message may quote what the client sent: keep it valid JSON text */
    api_reply_json(
        req, status,
        json_pack("{s:o}", "error",
                  api_json_text(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1)));
}

void api_reply_error(struct httpd_req *req, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_verror(req, status, fmt, ap);
    va_end(ap);
}

static const struct {
    int code, status, body_status;
} statuses[] = {
    {-ENOENT, 404, 400}, /* no such thing; in a body: the document names what is not there */
    {-EPERM, 403, 403},   {-EEXIST, 409, 409},
    {-ENOTSUP, 422, 422}, /* understood, but not supported (a cluster spec) */
    {-EIO, 500, 500},     /* the disk, not the client */
};

int api_status(int code)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].code == code)
            return statuses[i].status;
    return 400;
}

int api_status_of_body(int code)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i].code == code)
            return statuses[i].body_status;
    return 400;
}

void api_reply_err(struct httpd_req *req, const struct err *e)
{
    api_reply_error(req, api_status(e->code), "%s", e->msg);
}

const struct api_route *api_route_find(const struct api_route *t, size_t n, const char *method,
                                       const char *path, const char **rest, int *path_known)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].pattern);
        const char *r;
        if (len && t[i].pattern[len - 1] == '*') {
            if (strncmp(path, t[i].pattern, len - 1) != 0)
                continue;
            r = path + len - 1;
        } else {
            if (strcmp(path, t[i].pattern) != 0)
                continue;
            r = path + len;
        }
        if (!api_method_is(method, t[i].method)) {
            if (path_known)
                *path_known = 1;
            continue;
        }
        *rest = r;
        return &t[i];
    }
    return NULL;
}

json_t *api_json_text(const char *s, size_t len)
{
    char *copy = xmalloc(len + 1);
    const unsigned char *p = (const unsigned char *)s;
    json_t *j;

    for (size_t i = 0; i < len;) {
        size_t n = api_input_utf8_char(p + i, len - i);
        if (n == 0 || p[i] == 0) { /* a JSON "\u0000" is more than jansson (and so the CLI) reads */
            copy[i++] = '?';
            continue;
        }
        memcpy(copy + i, p + i, n);
        i += n;
    }
    j = json_stringn(copy, len);
    free(copy);
    return j ? j : json_string("");
}

int api_query_has(struct httpd_req *req, const char *name)
{
    char v[8];
    return httpd_req_query(req, name, v, sizeof(v)) != -1;
}

int api_query_uint(struct httpd_req *req, const char *name, uint64_t *v)
{
    char buf[32];
    int rc = httpd_req_query(req, name, buf, sizeof(buf));
    uint64_t x = 0;

    if (rc == -1)
        return 0;
    if (rc < 0 || !buf[0])
        return -1;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return 1;
}

int api_method_is(const char *method, const char *want)
{
    return strcmp(method, want) == 0 || (strcmp(want, "PUT") == 0 && strcmp(method, "POST") == 0);
}

static json_t *tags_json(const uint8_t *enc, size_t len)
{
    json_t *o = json_object();
    struct tags t;

    if (len && tags_decode(&t, enc, len, NULL) == 0) {
        for (size_t i = 0; i < t.n; i++)
            json_object_set_new(o, t.t[i].key, api_json_text(t.t[i].val, strlen(t.t[i].val)));
    }
    return o;
}

static json_t *member_json(const struct swim_member *m)
{
    char addr[64];
    const char *ip;

    node_addr_str(&m->addr, addr, sizeof(addr));
    /* addr and port apart: strip ":port" and IPv6 brackets from the text */
    *strrchr(addr, ':') = '\0';
    ip = addr;
    if (addr[0] == '[') {
        ip = addr + 1;
        addr[strlen(addr) - 1] = '\0';
    }
    /* names and tags come from other members: shown, whatever their bytes */
    return json_pack("{s:o, s:s, s:i, s:s, s:I, s:o}", "name",
                     api_json_text(m->name, strlen(m->name)), "addr", ip, "port", (int)m->addr.port,
                     "status", swim_state_name((enum swim_state)m->state), "incarnation",
                     (json_int_t)m->incarnation, "tags", tags_json(m->tags, m->tags_len));
}

static void get_members(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_t *arr = json_array();
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, member_json(swim_member_at(a->swim, i)));
    api_reply_json(req, 200, arr);
}

static json_t *counts_json(struct agent *a)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "alive",
                     (json_int_t)swim_count_state(a->swim, SWIM_ALIVE), "suspect",
                     (json_int_t)swim_count_state(a->swim, SWIM_SUSPECT), "dead",
                     (json_int_t)swim_count_state(a->swim, SWIM_DEAD), "left",
                     (json_int_t)swim_count_state(a->swim, SWIM_LEFT));
}

/* How joining goes: "joined" (another member is alive), "retrying" (none
 * is: the targets are tried with backoff) or "alone" (none, and nothing to
 * join through: a first seed waiting for others). */
static json_t *join_json(struct agent *a)
{
    const struct swim_rejoin *r = &a->rejoin;
    uint64_t now = agent_now(a), next = swim_rejoin_next(r);
    int alone = swim_rejoin_alone(a->swim);
    json_t *o = json_object();

    json_object_set_new(o, "state",
                        json_string(!alone        ? "joined"
                                    : r->n_target ? "retrying"
                                                  : "alone"));
    json_object_set_new(o, "targets", json_integer((json_int_t)r->n_target));
    if (alone && r->n_target) {
        json_object_set_new(o, "attempts", json_integer((json_int_t)r->attempts));
        json_object_set_new(o, "next_try_in_ms",
                            json_integer((json_int_t)(next > now ? next - now : 0)));
    }
    return o;
}

static void get_self(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_t *o = member_json(swim_self(a->swim));
    char bind[64];

    json_object_set_new(o, "bind", json_string(node_addr_str(&a->cfg.bind, bind, 64)));
    json_object_set_new(o, "version", json_string(TROUPE_VERSION));
    json_object_set_new(o, "profile",
                        json_string(a->cfg.profile == SWIM_PROFILE_FAST ? "fast" : "lan"));
    json_object_set_new(o, "encrypted", json_boolean(a->cfg.n_keys > 0));
    json_object_set_new(o, "keys", json_integer((json_int_t)a->cfg.n_keys));
    json_object_set_new(o, "awareness", json_integer(swim_awareness(a->swim)));
    json_object_set_new(o, "members", counts_json(a));
    json_object_set_new(o, "join", join_json(a));
    json_object_set_new(o, "uptime_s",
                        json_integer((json_int_t)((agent_wall_ms() - a->started_wall_ms) / 1000)));
    api_reply_json(req, 200, o);
}

static void get_health(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_t *o = json_pack("{s:s, s:i, s:o}", "status", a->stopping ? "leaving" : "ok", "awareness",
                          (int)swim_awareness(a->swim), "members", counts_json(a));
    api_reply_json(req, a->stopping ? 503 : 200, o);
}

/* ---- PUT /v1/join ---- */

static void join_closed(uv_handle_t *h)
{
    free(h->data);
}

static void join_finish(struct api_join *j)
{
    struct agent *a = j->a;
    json_t *errors = json_array();
    int joined = 0;
    char addr[64];

    if (j->answered)
        return;
    j->answered = 1;
    for (size_t i = 0; i < j->n; i++) {
        if (j->outcome[i] == 1) {
            joined++;
            continue;
        }
        node_addr_str(&j->addr[i], addr, sizeof(addr));
        json_array_append_new(errors, json_sprintf("%s: %s", addr,
                                                   j->outcome[i] == 0   ? "join failed"
                                                   : j->outcome[i] == 2 ? "this agent's own address"
                                                                        : "no answer in time"));
    }
    api_reply_json(j->req, joined ? 200 : 502,
                   json_pack("{s:i, s:o}", "joined", joined, "errors", errors));
    for (struct api_join **p = &a->api_joins; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&j->timer, join_closed);
}

static void join_timeout_cb(uv_timer_t *t)
{
    join_finish(t->data);
}

void api_join_outcome(struct agent *a, const struct node_addr *addr, int ok)
{
    struct api_join *j, *next;

    for (j = a->api_joins; j; j = next) {
        int waiting = 0;
        next = j->next;
        for (size_t i = 0; i < j->n; i++) {
            if (j->outcome[i] < 0 && node_addr_eq(&j->addr[i], addr))
                j->outcome[i] = (int8_t)ok;
            waiting |= j->outcome[i] < 0;
        }
        if (!waiting)
            join_finish(j);
    }
}

/* PUT /v1/agent/metric/NAME {"value": N}: a service's queue length or
 * latency on this node, for "scale": {"on": "queue"|"latency"}; it goes
 * out with this node's next load record (agent/proxy/proxy_load.c). */
static void put_metric(struct agent *a, struct httpd_req *req, const char *name)
{
    json_error_t jerr;
    json_t *body, *v;
    struct err e;
    size_t len;
    const char *data = httpd_req_body(req, &len);
    double value;

    if (!route_name_ok(name)) {
        api_reply_error(req, 400, "name: expected a service name ([a-z0-9-], 1-63)");
        return;
    }
    if (!(body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr))) {
        api_reply_error(req, 400, "body is not JSON: %s", jerr.text);
        return;
    }
    v = json_object_get(body, "value");
    value = json_is_number(v) ? json_number_value(v) : -1;
    if (!json_is_object(body) || json_object_size(body) != 1 || !(value >= 0 && value <= 1e12)) {
        json_decref(body);
        api_reply_error(req, 400, "field \"value\": expected {\"value\": N}, N from 0 to 1e12");
        return;
    }
    json_decref(body);
    if (proxy_metric_set(a, name, value, &e) < 0) {
        api_reply_err(req, &e);
        return;
    }
    api_reply_json(req, 200, json_pack("{s:s, s:f}", "service", name, "value", value));
}

static void put_join(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_error_t jerr;
    json_t *body, *addrs;
    struct api_join *j;
    struct err e;
    size_t len, i;
    const char *data = httpd_req_body(req, &len);

    body = json_loadb(data, len, 0, &jerr);
    if (!body) {
        api_reply_error(req, 400, "body is not JSON: %s", jerr.text);
        return;
    }
    addrs = json_object_get(body, "addrs");
    if (!json_is_array(addrs) || json_array_size(addrs) == 0) {
        json_decref(body);
        api_reply_error(req, 400, "field \"addrs\": expected a non-empty array of \"IP:PORT\"");
        return;
    }
    if (json_array_size(addrs) > AGENT_JOIN_MAX) {
        json_decref(body);
        api_reply_error(req, 400, "field \"addrs\": at most %d addresses", AGENT_JOIN_MAX);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    for (i = 0; i < json_array_size(addrs); i++) {
        const char *s = json_string_value(json_array_get(addrs, i));
        if (!s || node_addr_parse(&j->addr[i], s, 7420, &e) < 0) {
            api_reply_error(req, 400, "field \"addrs\"[%zu]: %s", i,
                            s ? e.msg : "expected a string \"IP:PORT\"");
            json_decref(body);
            free(j);
            return;
        }
        j->outcome[i] = -1;
    }
    json_decref(body);
    j->n = i;
    j->a = a;
    j->req = req;
    j->next = a->api_joins;
    a->api_joins = j;
    uv_timer_init(&a->loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, join_timeout_cb, API_JOIN_TIMEOUT_MS, 0);
    for (i = 0; i < j->n; i++) {
        /* a join through our own address would only reach ourselves */
        if (swim_rejoin_is_own(&a->rejoin, &j->addr[i]))
            j->outcome[i] = 2;
        else
            swim_join(a->swim, agent_now(a), &j->addr[i]);
    }
    agent_drive(a);
    for (i = 0; i < j->n && j->outcome[i] >= 0; i++)
        ;
    if (i == j->n)
        join_finish(j);
}

static void put_leave(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_reply_json(req, 200, json_pack("{s:b}", "left", 1));
    agent_leave(a);
}

/* ---- PUT /v1/bundle/fetch ---- */

static void bundle_done(void *ud, const struct bundle_result *r)
{
    struct httpd_req *req = ud;

    if (!r->path) {
        const char *refusal = bundle_refusal(r->e->code);
        json_t *o = json_pack("{s:s, s:o}", "bundle", r->name, "error",
                              api_json_text(r->e->msg, strlen(r->e->msg)));
        if (refusal)
            json_object_set_new(o, "refused", json_string(refusal));
        api_reply_json(req, bundle_http_status(r->e->code), o);
        return;
    }
    api_reply_json(req, 200,
                   json_pack("{s:s, s:s, s:b, s:{s:s, s:s, s:s, s:s}}", "bundle", r->name, "path",
                             r->path, "reused", r->reused, "manifest", "name", r->manifest->name,
                             "version", r->manifest->version, "entrypoint", r->manifest->entrypoint,
                             "runtime", r->manifest->runtime));
}

static void put_bundle_fetch(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_error_t jerr;
    json_t *body;
    const char *name;
    char buf[TRUST_NAME_MAX + 1];
    size_t len;
    const char *data = httpd_req_body(req, &len);

    body = json_loadb(data, len, 0, &jerr);
    if (!body) {
        api_reply_error(req, 400, "body is not JSON: %s", jerr.text);
        return;
    }
    name = json_string_value(json_object_get(body, "bundle"));
    if (!name || !trust_target_name_valid(name)) {
        json_decref(body);
        api_reply_error(req, 400, "field \"bundle\": expected \"NAME@VERSION\"");
        return;
    }
    snprintf(buf, sizeof(buf), "%s", name);
    json_decref(body);
    bundle_prepare(a, buf, bundle_done, req);
}

/* ---- GET /metrics ---- */

static void get_metrics(struct agent *a, struct httpd_req *req, const char *rest)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f) {
        api_reply_error(req, 500, "out of memory");
        return;
    }
    membership_write_metrics(a, f);
    net_write_metrics(a->net, f);
    catalog_write_metrics(a, f);
    checks_write_metrics(a, f);
    if (a->super)
        super_write_metrics(a->super, f);
    place_drive_write_metrics(a, f);
    proxy_hold_write_metrics(a, f);
    proxy_load_write_metrics(a, f);
    bundle_write_metrics(a, f);
    if (a->httpd)
        httpd_write_metrics(a->httpd, f);
    api_write_metrics(a, f);
    if (a->consul_write_metrics)
        a->consul_write_metrics(a, f);
    proxy_write_metrics(a, f);
    tokens_write_metrics(a, f);
    if (a->dnsd)
        dnsd_write_metrics(a->dnsd, f);
    store_write_metrics(a->store, f);
    metrics_process_write(f, &a->loop_lag);
    fclose(f);
    httpd_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}

/* ---- GET /v1/dns/stats ---- */

static void get_dns_stats(struct agent *a, struct httpd_req *req, const char *rest)
{
    if (!a->dnsd) {
        api_reply_error(req, 404, "DNS is off on this agent (see --dns)");
        return;
    }
    api_reply_json(req, 200, dnsd_stats_json(a->dnsd));
}

/* ---- routing ---- */

const struct api_route api_own_routes[] = {
    {"GET", "/v1/members", get_members},       {"GET", "/v1/self", get_self},
    {"GET", "/v1/health", get_health},         {"PUT", "/v1/join", put_join},
    {"PUT", "/v1/leave", put_leave},           {"PUT", "/v1/bundle/fetch", put_bundle_fetch},
    {"GET", "/metrics", get_metrics},          {"GET", "/v1/dns/stats", get_dns_stats},
    {"PUT", "/v1/agent/metric/*", put_metric},
};
const size_t api_own_n_routes = sizeof(api_own_routes) / sizeof(api_own_routes[0]);

static void handle(void *ud, struct httpd_req *req)
{
    struct agent *a = ud;
    const char *method = httpd_req_method(req), *path = httpd_req_path(req), *query, *rest;
    const struct api_route *r;
    size_t query_len;
    int path_known = 0;
    char why[256];

    httpd_req_set_tag(req, api_metrics_route(path));
    /* no handler, and no JSON builder, ever sees text that is not UTF-8 */
    query = httpd_req_query_raw(req, &query_len);
    if (api_input_check(path, httpd_req_path_len(req), query, query_len, why, sizeof(why)) < 0) {
        api_reply_error(req, 400, "%s", why);
        return;
    }
    /* who may do what: one check, before any route runs (api_acl.c) */
    if (!api_acl_check(a, req))
        return;
    if (api_tokens_route(a, req, method, path) || api_super_handle(a, req))
        return;
    r = api_route_find(api_own_routes, api_own_n_routes, method, path, &rest, &path_known);
    if (r) {
        r->fn(a, req, rest);
        return;
    }
    if (!path_known &&
        (api_ui_route(a, req, method, path) || api_catalog_route(a, req, method, path) ||
         api_kv_route(a, req, method, path) || api_events_route(a, req, method, path) ||
         api_specs_route(a, req, method, path) || api_routes_route(a, req, method, path)))
        return;
    if (path_known)
        api_reply_error(req, 405, "method %s not allowed on %s", method, path);
    else
        api_reply_error(req, 404, "no such endpoint: %s %s", method, path);
}

void api_routes_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud)
{
    static const struct {
        const struct api_route *t;
        const size_t *n;
    } tables[] = {
        {api_super_routes, &api_super_n_routes},   {api_own_routes, &api_own_n_routes},
        {api_ui_routes, &api_ui_n_routes},         {api_catalog_routes, &api_catalog_n_routes},
        {api_kv_routes, &api_kv_n_routes},         {api_events_routes, &api_events_n_routes},
        {api_specs_routes, &api_specs_n_routes},   {api_routes_routes, &api_routes_n_routes},
        {api_tokens_routes, &api_tokens_n_routes},
    };

    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        for (size_t k = 0; k < *tables[i].n; k++)
            fn(ud, tables[i].t[k].method, tables[i].t[k].pattern);
}

void api_answer_parked(struct agent *a)
{
    if (a->catalog)
        api_block_close(a);
    while (a->api_joins)
        join_finish(a->api_joins);
}

int api_open(struct agent *a, struct err *e)
{
    char addr[64];
    struct httpd_limits lim = {a->cfg.http_max_conns, a->cfg.http_header_timeout_ms,
                               a->cfg.http_body_timeout_ms, a->cfg.http_idle_timeout_ms};
    int rc;

    node_addr_str(&a->cfg.http, addr, sizeof(addr));
    if (a->cfg.http_tls_cert[0] &&
        tls_server_new(&a->api_tls, a->cfg.http_tls_cert, a->cfg.http_tls_key, e) < 0)
        return err_wrap(e, "HTTP API TLS (--http-tls-cert, --http-tls-key)");
    if ((rc = httpd_open(&a->httpd, &a->loop, &a->cfg.http, &lim, handle, a, e)) < 0)
        return err_wrap(e, "HTTP API on %s", addr);
    httpd_set_tls(a->httpd, a->api_tls);
    api_metrics_open(a);
    a->started_wall_ms = agent_wall_ms();
    log_info("api", "HTTP API on %s://%s", a->api_tls ? "https" : "http", addr);
    if (a->cfg.http_insecure)
        log_warn("api",
                 "the HTTP API on %s speaks plain HTTP beyond loopback (--http-insecure): "
                 "whoever reaches it reads and changes what it offers, and tokens cross the "
                 "network in the clear",
                 addr);
    return 0;
}

void api_tls_reload(struct agent *a)
{
    struct err e;

    if (!a->api_tls)
        return;
    if (tls_server_reload(a->api_tls, &e) < 0)
        log_error("api", "TLS reload refused, keeping the running certificate: %s", e.msg);
    else
        log_info("api", "TLS: certificate %s and key %s read again; new connections use them",
                 a->cfg.http_tls_cert, a->cfg.http_tls_key);
}

void api_close(struct agent *a)
{
    while (a->api_joins)
        join_finish(a->api_joins);
    if (a->httpd)
        httpd_close(a->httpd, NULL, NULL);
    a->httpd = NULL;
    tls_server_free(a->api_tls); /* open connections hold their own references */
    a->api_tls = NULL;
}
