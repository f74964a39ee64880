/* proxy_obs: what the proxy shows of itself. It counts each route's
 * responses by version and class and their latency (request to response
 * head), keeps a request rate and a windowed histogram for `troupe
 * routes`, tells ejections and restorations as events of the history
 * (kind "proxy"), and writes the proxy's /metrics lines and the JSON of
 * GET /v1/proxy/routes and /v1/proxy/endpoints/NAME (docs/proxy.md).
 * With worker threads it runs on the main loop over what they reported
 * (proxy_worker.c adds their counters to the main loop's routes and
 * keeps their balancer state in each route's wseen).
 * Not here: the requests themselves (proxy_conn.c), routes and endpoints
 * (proxy.c). */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/proxy/proxy.h"
#include "agent/proxy/proxy_impl.h"

#define PROXY_WINDOW_MS 10000 /* the p99 of `troupe routes`: this window and the last */
#define PROXY_RATE_MS   2000  /* requests/s: measured over this long */

static struct proxy_vstat *vstat_of(struct proxy_stats *st, const char *version)
{
    struct proxy_vstat *v = NULL;

    for (size_t i = 0; i < st->n_v && !v; i++)
        if (strcmp(st->v[i].version, version) == 0)
            v = &st->v[i];
    if (!v && st->n_v < PROXY_VERSIONS_MAX) {
        v = &st->v[st->n_v++];
        snprintf(v->version, sizeof(v->version), "%s", version);
    }
    return v ? v : &st->v[PROXY_VERSIONS_MAX - 1]; /* beyond: counted with the last one */
}

void proxy_obs_add(struct proxy_route *rt, const struct proxy_vstat *add)
{
    struct proxy_vstat *v = vstat_of(&rt->st, add->version);

    for (int c = 0; c < 5; c++)
        v->code[c] += add->code[c];
}

void proxy_obs_response(struct proxy_route *rt, const char *version, int status, uint64_t ms)
{
    struct proxy_stats *st = &rt->st;
    struct proxy_vstat *v = vstat_of(st, version);
    int cls = status / 100 - 1;
    double s = (double)ms / 1000.0;

    if (cls < 0 || cls > 4)
        cls = 4;
    v->code[cls]++;
    metrics_hist_observe(&st->dur, s);
    metrics_hist_observe(&st->win[0], s);
}

static const struct pw_ep *seen_ep(const struct pw_seen *ws, size_t i, const char *key)
{
    if (i < ws->n && strcmp(ws->ep[i].key, key) == 0)
        return &ws->ep[i]; /* the same snapshot: the same order */
    for (size_t k = 0; k < ws->n; k++)
        if (strcmp(ws->ep[k].key, key) == 0)
            return &ws->ep[k];
    return NULL;
}

void proxy_obs_ep(const struct proxy_route *rt, size_t i, struct bal_ep *out)
{
    *out = rt->bal.ep[i];
    for (uint32_t w = 0; rt->wseen && w < rt->p->n_workers; w++) {
        const struct pw_ep *x = seen_ep(&rt->wseen[w], i, out->key);
        if (!x)
            continue;
        out->outstanding += x->outstanding;
        out->ejections += x->ejections;
        if (x->failures > out->failures)
            out->failures = x->failures;
        if (x->cost_ms > out->cost_ms)
            out->cost_ms = x->cost_ms;
        if (x->ejected_until > out->ejected_until)
            out->ejected_until = x->ejected_until;
    }
}

/* Ejected at now, in the main loop's balancer or a worker's. */
static int ep_ejected(const struct proxy_route *rt, size_t i, const struct bal_ep *v, uint64_t now)
{
    return bal_is_ejected(&rt->bal, (int)i, now) || v->ejected_until > now;
}

/* Ejections and restorations since the last look, as events. */
static void tell_ejections(struct proxy *p, struct proxy_route *rt, uint64_t now)
{
    for (size_t i = 0; i < rt->bal.n; i++) {
        struct bal_ep *ep = &rt->bal.ep[i], v;
        int ejected;

        proxy_obs_ep(rt, i, &v);
        ejected = ep_ejected(rt, i, &v, now);

        if (v.ejections > ep->told_ejections) {
            ep->told_ejections = v.ejections;
            ep->told_ejected = 1;
            log_info("proxy", "route %s: endpoint %s ejected for %llu ms (ejection %u)", rt->r.name,
                     ep->key,
                     (unsigned long long)(v.ejected_until > now ? v.ejected_until - now : 0),
                     v.ejections);
            history_add(p->a, "proxy", rt->r.name, "endpoint %s ejected for %llu ms (ejection %u)",
                        ep->key,
                        (unsigned long long)(v.ejected_until > now ? v.ejected_until - now : 0),
                        v.ejections);
        } else if (ep->told_ejected && !ejected) {
            ep->told_ejected = 0;
            log_info("proxy", "route %s: endpoint %s restored", rt->r.name, ep->key);
            history_add(p->a, "proxy", rt->r.name, "endpoint %s restored", ep->key);
        }
    }
}

void proxy_obs_tick(struct proxy *p, uint64_t now)
{
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        struct proxy_stats *st = &rt->st;

        tell_ejections(p, rt, now);
        if (!st->rate_ms) {
            st->rate_ms = st->win_start_ms = now;
            st->rate_requests = rt->requests;
        }
        if (now >= st->rate_ms + PROXY_RATE_MS) {
            st->rps =
                (double)(rt->requests - st->rate_requests) * 1000.0 / (double)(now - st->rate_ms);
            st->rate_requests = rt->requests;
            st->rate_ms = now;
        }
        if (now >= st->win_start_ms + PROXY_WINDOW_MS) {
            st->win[1] = st->win[0];
            memset(&st->win[0], 0, sizeof(st->win[0]));
            st->win_start_ms = now;
        }
    }
}

/* ---- JSON for the API ---- */

static void split_text(const struct route *r, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < r->n_split && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s=%u", i ? "," : "", r->split[i].version,
                              r->split[i].weight);
}

static size_t ejected_count(const struct proxy_route *rt, uint64_t now)
{
    size_t k = 0;

    for (size_t i = 0; i < rt->bal.n; i++) {
        struct bal_ep v;
        proxy_obs_ep(rt, i, &v);
        k += (size_t)ep_ejected(rt, i, &v, now);
    }
    return k;
}

/* Listening on the main loop or in any worker. */
static int route_listening(const struct proxy_route *rt)
{
    int on = rt->listening;

    for (uint32_t w = 0; rt->wseen && w < rt->p->n_workers; w++)
        on |= rt->wseen[w].listening;
    return on;
}

json_t *proxy_routes_json(struct agent *a)
{
    struct proxy *p = a->proxy;
    json_t *arr = json_array();
    uint64_t now;

    if (!p)
        return arr;
    now = proxy_now(p);
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        struct metrics_hist h = rt->st.win[0];
        size_t ej = ejected_count(rt, now);
        char split[ROUTE_SPLIT_MAX * (ROUTE_VERSION_MAX + 8)];
        json_t *hosts = json_array();

        for (size_t i = 0; i < rt->r.n_hosts; i++)
            json_array_append_new(hosts, json_string(rt->r.hosts[i]));
        metrics_hist_add(&h, &rt->st.win[1]);
        split_text(&rt->r, split, sizeof(split));
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:i, s:s, s:b, s:s, s:o, s:I, s:I, s:I, s:f, s:f, s:I}", "name",
                      rt->r.name, "service", rt->r.service, "port", (int)rt->r.port, "protocol",
                      route_protocol_name(rt->r.protocol), "listening", route_listening(rt),
                      "split", split, "hosts", hosts, "endpoints", (json_int_t)rt->bal.n, "healthy",
                      (json_int_t)(rt->bal.n - ej), "ejected", (json_int_t)ej, "requests_per_s",
                      rt->st.rps, "p99_ms", metrics_hist_quantile(&h, 0.99) * 1000.0, "requests",
                      (json_int_t)rt->requests));
    }
    return arr;
}

json_t *proxy_endpoints_json(struct agent *a, const char *name)
{
    struct proxy *p = a->proxy;
    struct proxy_route *rt = NULL;
    json_t *eps;
    uint64_t now;

    for (rt = p ? p->routes : NULL; rt; rt = rt->next)
        if (strcmp(rt->r.name, name) == 0)
            break;
    if (!rt)
        return NULL;
    now = proxy_now(p);
    eps = json_array();
    for (size_t i = 0; i < rt->bal.n; i++) {
        struct bal_ep v;
        const struct bal_ep *ep = &v;
        const char *slash;
        struct node_addr na;
        char addr[64], node[BAL_KEY_MAX];
        int ejected;

        proxy_obs_ep(rt, i, &v);
        slash = strchr(ep->key, '/');
        ejected = ep_ejected(rt, i, &v, now);

        snprintf(node, sizeof(node), "%.*s", slash ? (int)(slash - ep->key) : 0, ep->key);
        node_addr_from_sockaddr((const struct sockaddr *)&rt->addrs[i], &na);
        node_addr_str(&na, addr, sizeof(addr));
        json_array_append_new(
            eps, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:f, s:I, s:I, s:I, s:I}",
                           "key", ep->key, "node", node, "id", slash ? slash + 1 : ep->key,
                           "version", ep->version, "address", addr, "state",
                           ejected ? "ejected" : "healthy", "local", ep->local,
                           /* on a node of this node's zone (not on this node) */
                           "same_zone", ep->zone, "ewma_ms", ep->cost_ms, "outstanding",
                           (json_int_t)ep->outstanding, "failures", (json_int_t)ep->failures,
                           "ejections", (json_int_t)ep->ejections, "ejected_for_ms",
                           (json_int_t)(ejected ? ep->ejected_until - now : 0)));
    }
    return json_pack("{s:s, s:s, s:o}", "route", rt->r.name, "service", rt->r.service, "endpoints",
                     eps);
}

/* ---- /metrics ---- */

/* A label value as the text format wants it: \ " and newline escaped. */
static const char *esc(const char *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (; *s && n + 3 < cap; s++) {
        if (*s == '\\' || *s == '"')
            buf[n++] = '\\';
        buf[n++] = *s == '\n' ? 'n' : *s;
    }
    buf[n] = '\0';
    return buf;
}

/* One counter of every route. */
typedef uint64_t (*route_count_fn)(const struct proxy_route *rt);

static uint64_t n_ejections(const struct proxy_route *rt)
{
    return rt->bal.ejections_total;
}
static uint64_t n_retries(const struct proxy_route *rt)
{
    return rt->retries;
}
static uint64_t n_budget(const struct proxy_route *rt)
{
    return rt->budget_exhausted; /* proxy_conn.c */
}
static uint64_t n_overloaded(const struct proxy_route *rt)
{
    return rt->overloaded; /* proxy_conn.c */
}
static uint64_t n_no_endpoints(const struct proxy_route *rt)
{
    return rt->no_endpoints;
}
static uint64_t n_timeouts(const struct proxy_route *rt)
{
    return rt->timeouts;
}

static void per_route(FILE *f, struct proxy *p, const char *name, const char *help,
                      route_count_fn count)
{
    metrics_head(f, name, "counter", help);
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        fprintf(f, "%s{route=\"%s\"} %llu\n", name, rt->r.name, (unsigned long long)count(rt));
}

void proxy_write_metrics(struct agent *a, FILE *f)
{
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    struct proxy *p = a->proxy;
    uint64_t idle = 0, busy = 0, now;
    char v[2 * ROUTE_VERSION_MAX + 2], labels[256];

    if (!p)
        return;
    now = proxy_now(p);
    metrics_head(f, "troupe_proxy_requests_total", "counter",
                 "HTTP requests answered, by route, version and status class");
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        for (size_t i = 0; i < rt->st.n_v; i++)
            for (int c = 0; c < 5; c++)
                if (rt->st.v[i].code[c])
                    fprintf(f,
                            "troupe_proxy_requests_total{route=\"%s\",version=\"%s\","
                            "code_class=\"%s\"} %llu\n",
                            rt->r.name, esc(rt->st.v[i].version, v, sizeof(v)), cls[c],
                            (unsigned long long)rt->st.v[i].code[c]);
    metrics_head(f, "troupe_proxy_request_duration_seconds", "histogram",
                 "from a request's arrival to its response head");
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        snprintf(labels, sizeof(labels), "route=\"%s\"", rt->r.name);
        metrics_hist_write(f, "troupe_proxy_request_duration_seconds", labels, &rt->st.dur);
    }
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        idle += rt->n_idle;
        for (uint32_t w = 0; rt->wseen && w < p->n_workers; w++) {
            idle += rt->wseen[w].n_idle;
            busy += rt->wseen[w].busy_up;
        }
    }
    for (struct pconn *c = p->conns; c; c = pconn_next(c))
        busy += (uint64_t)pconn_has_upstream(c);
    metrics_head(f, "troupe_proxy_upstream_connections", "gauge",
                 "connections to endpoints: serving a request, or idle in a route's pool");
    fprintf(f, "troupe_proxy_upstream_connections{state=\"active\"} %llu\n",
            (unsigned long long)busy);
    fprintf(f, "troupe_proxy_upstream_connections{state=\"idle\"} %llu\n",
            (unsigned long long)idle);
    metrics_head(f, "troupe_proxy_endpoints", "gauge", "endpoints of each route, by state");
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        size_t ej = ejected_count(rt, now);
        fprintf(f, "troupe_proxy_endpoints{route=\"%s\",state=\"healthy\"} %zu\n", rt->r.name,
                rt->bal.n - ej);
        fprintf(f, "troupe_proxy_endpoints{route=\"%s\",state=\"ejected\"} %zu\n", rt->r.name, ej);
    }
    per_route(f, p, "troupe_proxy_ejections_total", "endpoints ejected after consecutive failures",
              n_ejections);
    per_route(f, p, "troupe_proxy_retries_total", "requests tried again on another endpoint",
              n_retries);
    per_route(f, p, "troupe_proxy_retry_budget_exhausted_total",
              "retries refused because the route's retry budget was spent", n_budget);
    per_route(f, p, "troupe_proxy_overloaded_total",
              "requests answered 503 overloaded (over the route's limits)", n_overloaded);
    per_route(f, p, "troupe_proxy_no_endpoints_total",
              "requests or connections with no endpoint to go to", n_no_endpoints);
    per_route(f, p, "troupe_proxy_timeouts_total",
              "requests whose endpoint did not answer within the route's request timeout",
              n_timeouts);
    if (p->n_workers) {
        metrics_head(f, "troupe_proxy_worker_requests_total", "counter",
                     "HTTP requests and TCP connections each proxy thread served");
        for (uint32_t w = 0; w < p->n_workers; w++)
            fprintf(f, "troupe_proxy_worker_requests_total{worker=\"%u\"} %llu\n", w,
                    (unsigned long long)pworkers_requests(p, w));
        metrics_one(f, "troupe_proxy_worker_reports_dropped_total", "counter",
                    "proxy workers' reports and cold start requests dropped: the agent's loop "
                    "had 4096 waiting",
                    pworkers_dropped(p));
    }
}
