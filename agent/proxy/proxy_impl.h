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
#include "core/place.h"
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
struct pworker;
struct pworkers;

/* What the main loop knows of one worker's side of a route
 * (proxy_worker.c): its endpoints' balancer state and its gauges, from
 * its last report. */
struct pw_ep {
    char key[BAL_KEY_MAX];
    uint32_t outstanding, failures, ejections;
    double cost_ms;
    uint64_t ejected_until;
};
struct pw_seen {
    struct pw_ep *ep; /* heap, n */
    size_t n;
    uint32_t n_idle, busy_up; /* upstream connections: idle in the pool, serving */
    int listening;
};

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
    /* main loop, with workers: each worker's side of this route (heap,
     * one per worker; proxy_worker.c) */
    struct pw_seen *wseen;
    /* in a worker: the counters as last reported, and whether the service
     * starts from zero (sc: its scale fields), from the snapshot */
    uint64_t sent[16];
    int scales;
    struct place_scale sc;
};

#define PROXY_METRICS_MAX 64 /* services reporting a metric on this node */

/* A queue length or latency a service reported (PUT /v1/agent/metric/NAME). */
struct proxy_metric {
    char service[ROUTE_NAME_MAX + 1];
    double value;
    uint64_t at_ms;
};

struct proxy {
    struct agent *a;     /* NULL in a worker: nothing there reads the agent */
    uv_loop_t *loop;     /* the agent's, or the worker's own */
    struct pworker *w;   /* in a worker: the worker; NULL on the main loop */
    struct pworkers *ws; /* main loop: the workers that serve the listeners; NULL: none */
    uint32_t n_workers;  /* main loop: how many (route->wseen has as many) */
    uv_timer_t timer;    /* follows the catalog's index */
    uint64_t seen;       /* catalog index + membership generation last applied */
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
/* Makes p's routes those of rs[0..n): new ones added (and listening),
 * gone ones (or moved to another port) dropped, changed ones take their
 * fields. The catalog's on the main loop, a snapshot's in a worker. */
void proxy_routes_apply(struct proxy *p, const struct route *rs, size_t n);
/* The route's endpoints become eps/addrs[0..n) (copied), kept state by key. */
void proxy_route_set_eps(struct proxy_route *rt, const struct bal_ep *eps,
                         const struct sockaddr_storage *addrs, size_t n);
struct proxy_route *proxy_route_find(struct proxy *p, const char *name);
/* Closes p's ingress, routes, connections and holds (their memory goes in
 * close callbacks on p's loop); the timer is the caller's. */
void proxy_shut(struct proxy *p);

/* proxy_worker.c: the threads that serve the route listeners when
 * --proxy-workers is above 0. Started by proxy_open, stopped and joined
 * by proxy_close; the main loop publishes its routes and endpoints as an
 * immutable snapshot after each change (proxy_workers_publish) and takes
 * the workers' reports (counters, balancer state, cold starts asked). */
int pworkers_start(struct proxy *p, uint32_t n, struct err *e);
void pworkers_publish(struct proxy *p);
void pworkers_stop(struct proxy *p);
/* A worker's requests served so far (troupe_proxy_worker_requests_total). */
uint64_t pworkers_requests(const struct proxy *p, uint32_t i);
/* Reports and cold start requests dropped: the main loop's queue was full. */
uint64_t pworkers_dropped(const struct proxy *p);
/* In a worker: a connection waits for a cold start of rt's service. */
void pworker_cold_start(struct proxy *p, struct proxy_route *rt);
/* In a worker: one more connection held for route's cold start, if the
 * node holds fewer than limit for it (1; else 0); and one less. */
int pworker_hold_take(struct proxy *p, const char *route, uint32_t limit);
void pworker_hold_give(struct proxy *p, const char *route);

/* proxy_hold.c: a connection with no endpoint for a service that scales
 * from zero waits for a cold start. 1: held, or answered (queue full);
 * 0: not such a service (answer no-endpoints). */
int phold_hold(struct proxy_route *rt, struct pconn *c);
/* The connection closes: no longer held. */
void phold_forget(struct proxy *p, struct pconn *c);
void phold_open(struct proxy *p);
void phold_close(struct proxy *p);
/* What a worker's holds did since its last report (taken: reset), and
 * on the main loop: that added, and a cold start a worker asked for (the
 * main loop starts it and watches the route's endpoints for it, then
 * publishes them). */
struct phold_rep {
    uint64_t queue_full, timeouts, released;
    uint32_t held;
    struct metrics_hist wait;
};
void phold_report_take(struct proxy *p, struct phold_rep *r);
void phold_report_add(struct proxy *p, uint32_t worker, const struct phold_rep *r);
void phold_remote(struct proxy *p, const char *route);

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
/* A worker's responses of one version, added to the route's. */
void proxy_obs_add(struct proxy_route *rt, const struct proxy_vstat *v);
/* Endpoint i of rt as the node sees it: the main loop's balancer state
 * with every worker's added (outstanding, ejections) or the worst taken
 * (latency, failures, ejection). */
void proxy_obs_ep(const struct proxy_route *rt, size_t i, struct bal_ep *out);

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
/* The route is removed (or moves to another port): its http clients
 * waiting between requests are closed, and a response in flight ends
 * its client's connection. */
void pconn_route_gone(struct proxy_route *rt);
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
