/* consul_http: the Consul listener (see consul.h): opening it on
 * agent/api's HTTP server with the API's limits and certificate, the one
 * path of every request (text checks, the authorization check of
 * api_acl.c, the route tables of consul_agent.c, consul_catalog.c,
 * consul_kv.c and the few below), Consul's reply headers and plain-text
 * errors, blocking queries, the status endpoints, and the answers to what troupe
 * refuses by design (sessions, catalog writes for other nodes). */
#include "agent/consul/consul.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_input.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/consul/consul_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "core/mem.h"

#define WAIT_DEFAULT_MS (5u * 60u * 1000u) /* Consul's */
#define WAIT_MAX_MS     (10u * 60u * 1000u)

/* ---- replies ---- */

static void headers(struct agent *a, struct httpd_req *req)
{
    char v[32];

    snprintf(v, sizeof(v), "%llu", (unsigned long long)consul_index(a));
    httpd_add_header(req, "X-Consul-Index", v);
    /* every agent answers from its own replica: there is no leader to lose */
    httpd_add_header(req, "X-Consul-KnownLeader", "true");
    httpd_add_header(req, "X-Consul-LastContact", "0");
}

void consul_reply_json(struct agent *a, struct httpd_req *req, int status, json_t *j)
{
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    headers(a, req);
    if (!body) {
        static const char msg[] = "the answer could not be encoded as JSON\n";
        httpd_respond(req, 500, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
        json_decref(j);
        return;
    }
    httpd_respond(req, status, "application/json", body, strlen(body));
    free(body);
    json_decref(j);
}

void consul_reply_error(struct agent *a, struct httpd_req *req, int status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(msg) - 2)
        n = (int)sizeof(msg) - 2;
    /* the message may quote what the client sent: only printable text */
    for (int i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
            msg[i] = '?';
    msg[n++] = '\n';
    headers(a, req);
    httpd_respond(req, status, "text/plain; charset=utf-8", msg, (size_t)n);
}

void consul_reply_bytes(struct agent *a, struct httpd_req *req, int status, const char *type,
                        const void *bytes, size_t len)
{
    headers(a, req);
    httpd_respond(req, status, type, bytes, len);
}

void consul_reply_ok(struct agent *a, struct httpd_req *req)
{
    consul_reply_bytes(a, req, 200, "text/plain; charset=utf-8", "", 0);
}

void consul_reply_true(struct agent *a, struct httpd_req *req)
{
    consul_reply_json(a, req, 200, json_true());
}

/* ---- blocking ---- */

void consul_block(struct agent *a, struct httpd_req *req, api_read_fn fn)
{
    uint64_t index = 0, wait_ms = WAIT_DEFAULT_MS;
    char v[32];
    int rc = api_query_uint(req, "index", &index);

    if (rc == 0 || index == 0) {
        fn(a, req);
        return;
    }
    if (rc < 0) {
        consul_reply_error(a, req, 400, "Invalid X-Consul-Index: expected a whole number");
        return;
    }
    rc = httpd_req_query(req, "wait", v, sizeof(v));
    if (rc != -1 && (rc < 0 || consul_duration(v, &wait_ms) < 0)) {
        consul_reply_error(a, req, 400, "Invalid wait time: expected a duration such as \"30s\"");
        return;
    }
    if (rc == -1)
        wait_ms = WAIT_DEFAULT_MS;
    if (wait_ms > WAIT_MAX_MS)
        wait_ms = WAIT_MAX_MS;
    if (consul_index(a) > index) {
        fn(a, req);
        return;
    }
    api_park(a, req, fn, consul_catalog_threshold(a, index), wait_ms);
}

/* ---- members ---- */

void consul_member_ip(const struct node_addr *addr, char *out, size_t cap)
{
    char buf[64], *ip = buf, *colon;

    node_addr_str(addr, buf, sizeof(buf));
    if ((colon = strrchr(buf, ':')))
        *colon = '\0';
    if (buf[0] == '[') {
        ip = buf + 1;
        ip[strlen(ip) - 1] = '\0';
    }
    snprintf(out, cap, "%s", ip);
}

int consul_serving(struct agent *a, const char *node)
{
    return repl_drive_serving(a, node);
}

void consul_node_ip(struct agent *a, const char *node, char *out, size_t cap)
{
    const struct swim_member *m = a->swim ? swim_member_find(a->swim, node) : NULL;

    out[0] = '\0';
    if (m)
        consul_member_ip(&m->addr, out, cap);
}

/* ---- status and refusals ---- */

/* Consul's clients ask for the leader to learn that the cluster answers.
 * troupe has none: every agent answers from its own replica, so this
 * agent names itself (its gossip address), which is what keeps them
 * working and is true of what answers them. */
static void get_leader(struct agent *a, struct httpd_req *req, const char *rest)
{
    char ip[64], addr[80];
    const struct swim_member *self = swim_self(a->swim);

    consul_member_ip(&self->addr, ip, sizeof(ip));
    snprintf(addr, sizeof(addr), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)self->addr.port);
    consul_reply_json(a, req, 200, json_string(addr));
}

/* The members that answer: every live agent is a peer with a replica. */
static void get_peers(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_t *arr = json_array();
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        char ip[64], addr[80];
        if (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT)
            continue;
        consul_member_ip(&m->addr, ip, sizeof(ip));
        snprintf(addr, sizeof(addr), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip,
                 (unsigned)m->addr.port);
        json_array_append_new(arr, json_string(addr));
    }
    consul_reply_json(a, req, 200, arr);
}

void consul_refused(struct agent *a, enum consul_refusal what)
{
    if (a->consul)
        a->consul->refused[what]++;
}

static void refuse_session(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_refused(a, CONSUL_REFUSED_SESSION);
    consul_reply_error(a, req, 501,
                       "sessions need a linearizable store, which troupe does not have: every "
                       "agent accepts writes on its own (see docs/consul-compat.md)");
}

static void refuse_catalog_write(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_refused(a, CONSUL_REFUSED_CATALOG);
    consul_reply_error(a, req, 501,
                       "troupe has no catalog of other nodes to write: each agent is the only "
                       "writer of its own services; register them on their agent with "
                       "/v1/agent/service/register (see docs/consul-compat.md)");
}

const struct api_route consul_misc_routes[] = {
    {"GET", "/v1/status/leader", get_leader},
    {"GET", "/v1/status/peers", get_peers},
    {"PUT", "/v1/catalog/register", refuse_catalog_write},
    {"PUT", "/v1/catalog/deregister", refuse_catalog_write},
    {"GET", "/v1/session/*", refuse_session},
    {"PUT", "/v1/session/*", refuse_session},
};
const size_t consul_misc_n_routes = sizeof(consul_misc_routes) / sizeof(consul_misc_routes[0]);

/* ---- routing ---- */

static const struct {
    const struct api_route *t;
    const size_t *n;
} tables[] = {
    {consul_agent_routes, &consul_agent_n_routes},
    {consul_catalog_routes, &consul_catalog_n_routes},
    {consul_kv_routes, &consul_kv_n_routes},
    {consul_misc_routes, &consul_misc_n_routes},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

void consul_routes_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud)
{
    for (size_t i = 0; i < N_TABLES; i++)
        for (size_t k = 0; k < *tables[i].n; k++)
            fn(ud, tables[i].t[k].method, tables[i].t[k].pattern);
}

/* A refusal of the authorization check (api_acl.c decides) as Consul
 * answers one: 403 and plain text, "ACL not found" for a secret no token
 * has, "Permission denied: ..." for a rule the token lacks, with Consul's
 * headers. */
static void deny(struct agent *a, struct httpd_req *req, enum api_denial kind, const char *msg)
{
    switch (kind) {
    case API_DENY_UNKNOWN_TOKEN:
        consul_reply_error(a, req, 403, "ACL not found");
        break;
    case API_DENY_FORBIDDEN:
        consul_reply_error(a, req, 403, "Permission denied: %s", msg);
        break;
    case API_DENY_METHOD:
        consul_reply_error(a, req, 405, "%s", msg);
        break;
    default:
        consul_reply_error(a, req, 404, "%s", msg);
        break;
    }
}

static void handle(void *ud, struct httpd_req *req)
{
    struct agent *a = ud;
    const char *method = httpd_req_method(req), *path = httpd_req_path(req), *query, *rest = "";
    const struct api_route *r = NULL;
    size_t query_len;
    int known = 0;
    char why[256];

    query = httpd_req_query_raw(req, &query_len);
    if (api_input_check(path, httpd_req_path_len(req), query, query_len, why, sizeof(why)) < 0) {
        consul_reply_error(a, req, 400, "%s", why);
        return;
    }
    for (size_t i = 0; i < N_TABLES && !r; i++)
        r = api_route_find(tables[i].t, *tables[i].n, method, path, &rest, &known);
    /* a path that is no route is answered as Consul does, with its headers
     * (its clients read X-Consul-Index even from a 404) */
    if (!r && known) {
        consul_reply_error(a, req, 405, "method %s not allowed on %s", method, path);
        return;
    }
    if (!r) {
        consul_reply_error(a, req, 404, "no such endpoint: %s %s", method, path);
        return;
    }
    /* the same tokens and rules as troupe's API, with Consul's routes: a
     * route without a row of the table is refused there (fail closed) */
    if (!api_acl_check_consul(a, req, deny))
        return;
    r->fn(a, req, rest);
}

/* ---- metrics ---- */

static void observe(void *ud, int tag, int status, double seconds)
{
    struct consul *c = ud;

    c->answers[status >= 100 && status < 600 ? status / 100 : 0]++;
}

static void write_metrics(struct agent *a, FILE *f)
{
    static const char *const refusals[] = {"cas", "session", "catalog_write", "flags"};
    struct consul *c = a->consul;

    if (!c)
        return;
    metrics_head(f, "troupe_consul_requests_total", "counter",
                 "Requests answered by Consul's HTTP API (--consul-http), by status class.");
    for (int i = 2; i <= 5; i++)
        if (i != 3) /* no redirects: nothing is ever 1xx or 3xx */
            fprintf(f, "troupe_consul_requests_total{code=\"%dxx\"} %llu\n", i,
                    (unsigned long long)c->answers[i]);
    metrics_head(f, "troupe_consul_refusals_total", "counter",
                 "Requests of Consul's API refused by design (docs/consul-compat.md), by what "
                 "they asked for.");
    for (int i = 0; i < CONSUL_REFUSED_N; i++)
        fprintf(f, "troupe_consul_refusals_total{what=\"%s\"} %llu\n", refusals[i],
                (unsigned long long)c->refused[i]);
    metrics_one(f, "troupe_consul_connections_open", "gauge",
                "Connections open to Consul's HTTP API.", httpd_stats(c->httpd)->conns_open);
}

/* ---- the listener ---- */

int consul_open(struct agent *a, struct err *e)
{
    struct httpd_limits lim = {a->cfg.http_max_conns, a->cfg.http_header_timeout_ms,
                               a->cfg.http_body_timeout_ms, a->cfg.http_idle_timeout_ms};
    char addr[64];
    struct consul *c;
    int rc;

    if (!a->cfg.consul_http.family) {
        log_info("consul", "Consul's HTTP API is off (--consul-http off)");
        return 0;
    }
    node_addr_str(&a->cfg.consul_http, addr, sizeof(addr));
    c = xcalloc(1, sizeof(*c));
    rc = httpd_open(&c->httpd, &a->loop, &a->cfg.consul_http, &lim, handle, a, e);
    if (rc < 0) {
        free(c);
        if (rc == -EADDRINUSE && !a->cfg.consul_http_explicit) {
            /* only the default address: Consul or another agent has it */
            log_warn("consul",
                     "%s; running without Consul's HTTP API (choose an address with "
                     "--consul-http)",
                     e->msg);
            err_clear(e);
            return 0;
        }
        return err_wrap(e, "Consul's HTTP API on %s", addr);
    }
    /* on loopback plain HTTP, as Consul's clients expect at 127.0.0.1:8500;
     * beyond it the API's certificate (config_check asks for one) */
    if (!config_is_loopback(&a->cfg.consul_http))
        httpd_set_tls(c->httpd, a->api_tls);
    httpd_set_observer(c->httpd, observe, c);
    a->consul = c;
    a->consul_write_metrics = write_metrics;
    log_info("consul", "Consul's HTTP API on %s://%s (datacenter %s)",
             a->api_tls && !config_is_loopback(&a->cfg.consul_http) ? "https" : "http", addr,
             a->cfg.datacenter);
    return 0;
}

void consul_close(struct agent *a)
{
    if (!a->consul)
        return;
    /* requests still parked are answered after this: count none of them */
    httpd_set_observer(a->consul->httpd, NULL, NULL);
    httpd_close(a->consul->httpd, NULL, NULL);
    free(a->consul);
    a->consul = NULL;
    a->consul_write_metrics = NULL;
}

struct httpd *consul_httpd(struct agent *a)
{
    return a->consul ? a->consul->httpd : NULL;
}
