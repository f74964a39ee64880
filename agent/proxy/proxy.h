/* proxy: the per-node traffic proxy. For every route of the replicated
 * state (core/route, CRDT_ROUTE) it listens on 127.0.0.1:PORT (or the
 * --proxy-bind address) and passes each connection (tcp) or request (http)
 * to a passing instance of the route's service on a serving node, chosen
 * by core/balance. Routes and endpoints follow the local catalog replica.
 *
 * With --proxy-workers N (proxy_worker.c) N threads, each with its own
 * loop, serve the listeners from an immutable snapshot of the routes and
 * endpoints the agent's loop publishes; the agent's loop keeps the
 * catalog, cold starts, load records, history and the views
 * (docs/proxy.md). With 0 the proxy runs on the agent's loop. */
#ifndef TROUPE_PROXY_H
#define TROUPE_PROXY_H

#include <jansson.h>
#include <stdio.h>

#include "core/err.h"

struct agent;

/* Starts following the routes (listeners open as routes appear). */
int proxy_open(struct agent *a, struct err *e);
/* Closes the listeners and every open connection (handles close on the
 * loop; the memory goes in their close callbacks). */
void proxy_close(struct agent *a);
/* troupe_cold_start_* lines of /metrics (proxy_hold.c). */
void proxy_hold_write_metrics(struct agent *a, FILE *f);
/* Reads the NAME.json files of CONFIG_DIR/routes and stores each route that differs from
 * the replicated one (proxy_dir.c); at start and on SIGHUP. The caller
 * drives the agent afterwards so the records gossip. */
void proxy_dir_load(struct agent *a);

/* What the proxy shows (proxy_obs.c): the routes it serves with their
 * endpoint counts, rate and p99 (a JSON array, the caller decrefs); one
 * route's endpoints with their balancer state (NULL when this proxy has
 * no such route); the troupe_proxy_* lines of /metrics. */
json_t *proxy_routes_json(struct agent *a);
json_t *proxy_endpoints_json(struct agent *a, const char *route);
void proxy_write_metrics(struct agent *a, FILE *f);

/* proxy_load.c: a service reports a queue length or latency on this node
 * (PUT /v1/agent/metric/NAME, for "scale": {"on": "queue"|"latency"});
 * it goes out with the next load record and lapses after
 * PROXY_METRIC_TTL_MS without a new report. -ENOSPC past
 * PROXY_METRICS_MAX services, -ENODEV when the proxy is not open. */
#define PROXY_METRIC_TTL_MS 60000
int proxy_metric_set(struct agent *a, const char *service, double value, struct err *e);
/* troupe_autoscale_load_* lines of /metrics: what this node published. */
void proxy_load_write_metrics(struct agent *a, FILE *f);

#endif
