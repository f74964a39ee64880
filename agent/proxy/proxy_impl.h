/* proxy_impl: what the proxy's files share: proxy.c (routes, listeners,
 * endpoints from the catalog) and proxy_conn.c (one client connection,
 * tcp splice or http requests, and the pool of upstream connections) and
 * proxy_load.c (the load records the autoscaler reads). Not
 * for the rest of agent/. */
#ifndef TROUPE_PROXY_IMPL_H
#define TROUPE_PROXY_IMPL_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <stdio.h>

#include "agent/metrics.h"
#include "core/balance.h"
#include "core/codec.h"
#include "core/retry_budget.h"
#include "core/route.h"

#define PROXY_VERSIONS_MAX 16 /* versions counted apart per route; more count with the last */

struct agent;
struct pconn;

/* What a route has served, for /metrics, the API and `troupe routes`
 * (proxy_obs.c). */
struct proxy_vstat {
    char version[ROUTE_VERSION_MAX + 1]; /* "" for an endpoint without one */
    uint64_t code[5];                    /* responses 1xx..5xx */
};
struct proxy_stats {
    struct proxy_vstat v[PROXY_VERSIONS_MAX];
    size_t n_v;
    struct metrics_hist dur;    /* request to response head, since the start */
    struct metrics_hist win[2]; /* the same over the current and the last window */
    uint64_t win_start_ms;
    uint64_t rate_requests, rate_ms; /* requests and time at the last rate sample */
    double rps;                      /* requests per second over the last window */
};
struct pup;
struct proxy_hold;

/* One route and its listener. Connections hold a reference, so a route
 * that goes away (or changes port) keeps serving the connections it has
 * until they end; it is freed when the last one closes. */
struct proxy_route {
    struct proxy_route *next;
    struct proxy *p;
    struct route r;
    uv_tcp_t listener;
    int listening;   /* bound and listening */
    int handle_init; /* listener initialized (its close is pending or done) */
    int gone;        /* no longer a route of the state: closing */
    int ingress;     /* the ingress's own (proxy_ingress.c): each request picks its route */
    int refs;        /* 1 for the proxy's list + 1 per connection + 1 while the listener is open */
    uint64_t bind_retry_ms; /* a failed bind is tried again after this time */
    struct bal bal;
    struct sockaddr_storage *addrs; /* heap, bal.n, the address of each endpoint */
    struct pup *idle;               /* http: idle upstream connections, kept alive (proxy_conn.c) */
    size_t n_idle;
    /* load for the autoscaler (proxy_load.c): in flight now, and since the
       last publish the request-milliseconds in flight and the requests */
    uint32_t inflight;
    uint64_t busy_at_ms, busy_area_ms, pub_requests;
    /* limits (proxy_conn.c): requests (http) or connections (tcp) in
     * flight, and the http requests waiting for one of them to end */
    uint32_t active;
    uint32_t n_waiting;
    struct pconn *wait_head, *wait_tail;
    struct rbudget budget; /* retries (proxy_conn.c) */
    uint64_t rng;          /* splitmix64 state: trace and request ids (proxy_http.c) */
    FILE *access_log;      /* open on r.access_log once a request ends (proxy_http.c) */
    char access_log_path[ROUTE_PATH_MAX + 1];
    /* counters, for /metrics: retries is troupe_proxy_retries_total,
     * budget_exhausted troupe_proxy_retry_budget_exhausted_total (a retry
     * the budget refused), overloaded troupe_proxy_overloaded_total (503
     * overloaded, or a tcp connection closed at once) */
    uint64_t conns, requests, no_endpoints, connect_failures, retries, timeouts;
    uint64_t budget_exhausted, overloaded, idle_closed;
    uint64_t resp_2xx, resp_3xx, resp_4xx, resp_5xx;
    uint64_t used_mark; /* requests + conns at the last tick (proxy.c: idle time) */
    struct proxy_stats st;
};

#define PROXY_METRICS_MAX 64 /* services reporting a metric on this node */

/* A queue length or latency a service reported (PUT /v1/agent/metric/NAME). */
struct proxy_metric {
    char service[ROUTE_NAME_MAX + 1];
    double value;
    uint64_t at_ms;
};

struct proxy {
    struct agent *a;
    uv_timer_t timer; /* follows the catalog's index */
    uint64_t seen;    /* catalog index + membership generation last applied */
    uint64_t last_full_ms;
    struct proxy_route *routes;
    struct proxy_route *ingress; /* --ingress: its listener; NULL when off */
    struct pconn *conns;         /* every open connection, to close them at stop */
    size_t n_conns;
    struct sockaddr_storage bind; /* port 0: taken from each route */
    int closing;
    struct proxy_hold *hold; /* connections waiting for a cold start (proxy_hold.c) */
    /* proxy_load.c */
    uint64_t load_pub_ms; /* the last publish, 0 none yet */
    struct proxy_metric metrics[PROXY_METRICS_MAX];
    size_t n_metrics;
    struct {
        uint64_t puts, dels, bytes, metrics_dropped;
    } load;
};

/* proxy.c */
void proxy_route_unref(struct proxy_route *rt);
uint64_t proxy_now(struct proxy *p);
/* Reads the route's endpoints from the catalog again, now. */
void proxy_route_refresh(struct proxy *p, struct proxy_route *rt);

/* proxy_hold.c: a connection with no endpoint for a service that scales
 * from zero waits for a cold start. 1: held, or answered (queue full);
 * 0: not such a service (answer no-endpoints). */
int phold_hold(struct proxy_route *rt, struct pconn *c);
/* The connection closes: no longer held. */
void phold_forget(struct proxy *p, struct pconn *c);
void phold_open(struct proxy *p);
void phold_close(struct proxy *p);

/* proxy_ingress.c: the ingress listener at `at` (family 0: off; a
 * failure to listen is an error), its closing, and the route of a request
 * by its Host header and target (NULL: none). */
int proxy_ingress_open(struct proxy *p, const struct node_addr *at, struct err *e);
void proxy_ingress_close(struct proxy *p);
struct proxy_route *proxy_ingress_pick(struct proxy *p, const char *host, size_t host_len,
                                       const char *target, size_t target_len);

/* proxy_obs.c: a response of status (proxy_conn.c calls it once per
 * request, at the response head or the proxy's own answer) to version
 * ("" when none), ms after the request came; the windows and rates
 * (every tick); ejections and restorations told as history events. */
void proxy_obs_response(struct proxy_route *rt, const char *version, int status, uint64_t ms);
void proxy_obs_tick(struct proxy *p, uint64_t now_ms);

/* proxy_load.c: a request starts (+1) or ends (-1) on rt. */
void proxy_route_busy(struct proxy_route *rt, int delta);
/* Publishes this node's load records when their period is up. */
void proxy_load_tick(struct proxy *p);

/* proxy_conn.c: a new connection on rt's listener (accepts it). */
void pconn_accept(struct proxy_route *rt);
/* Closes the route's idle upstream connections (the route goes). */
void pconn_pool_close(struct proxy_route *rt);
/* Held for a cold start (proxy_hold.c): its request timer waits too. */
void pconn_hold_begin(struct pconn *c);
/* The hold ends: reason NULL, an endpoint is there (the request goes on);
 * else the proxy answers 503 with x-troupe-reason: reason (http) or
 * closes (tcp). */
void pconn_hold_end(struct pconn *c, const char *reason);
/* A new route (its retry budget), a route whose fields changed, and a
 * route's memory going (its access log closed). */
void pconn_route_init(struct proxy_route *rt);
void pconn_route_changed(struct proxy_route *rt);
void pconn_route_release(struct proxy_route *rt);
/* Closes the idle upstream connections of endpoints the route no longer
 * has (after a catalog change): a leaving endpoint gets no new requests,
 * while the requests it has finish on their own connections. */
void pconn_pool_prune(struct proxy_route *rt);
/* Closes the route's idle upstream connections idle past
 * timeouts.upstream_idle_ms (every tick). */
void pconn_pool_sweep(struct proxy_route *rt, uint64_t now_ms);
/* Closes a connection now (at stop). */
void pconn_abort(struct pconn *c);
struct pconn *pconn_next(struct pconn *c);
/* 1 when c holds an upstream connection (for the gauge of them). */
int pconn_has_upstream(const struct pconn *c);

#endif
