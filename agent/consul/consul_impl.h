/* consul_impl: what the files of the Consul-compatible API share:
 * consul_http.c (the listener, routing, replies, blocking, status and
 * refusals), consul_index.c (X-Consul-Index), consul_agent.c, consul_catalog.c
 * (catalog and health), consul_kv.c (KV and events). Not for other folders. */
#ifndef TROUPE_CONSUL_IMPL_H
#define TROUPE_CONSUL_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "agent/api/api_impl.h"
#include "agent/api/httpd.h"
#include "agent/consul/consul_shape.h"

struct agent;

/* What troupe refuses by design, counted so an operator sees who asks. */
enum consul_refusal {
    CONSUL_REFUSED_CAS,     /* ?cas, ?acquire, ?release */
    CONSUL_REFUSED_SESSION, /* /v1/session/... */
    CONSUL_REFUSED_CATALOG, /* /v1/catalog/register, /deregister */
    CONSUL_REFUSED_FLAGS,   /* KV ?flags other than 0 */
    CONSUL_REFUSED_N
};

struct consul {
    struct httpd *httpd;
    uint64_t answers[6]; /* by the status's first digit, 1xx..5xx (0: other) */
    uint64_t refused[CONSUL_REFUSED_N];
};

/* Counts one refusal (consul_http.c). */
void consul_refused(struct agent *a, enum consul_refusal what);

/* X-Consul-Index: never 0, never lower than one this agent gave before,
 * also across a restart (consul_index.c). */
uint64_t consul_index(struct agent *a);
/* The catalog index at or past which consul_index is past idx; 0 when it
 * already is (consul_index.c). */
uint64_t consul_catalog_threshold(struct agent *a, uint64_t idx);

/* Answers: JSON with X-Consul-Index, X-Consul-KnownLeader and
 * X-Consul-LastContact (j taken; NULL answers 500). Errors are plain text,
 * as Consul's are. */
void consul_reply_json(struct agent *a, struct httpd_req *req, int status, json_t *j);
void consul_reply_error(struct agent *a, struct httpd_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An empty 200 (a write that went through), or Consul's "true". */
void consul_reply_ok(struct agent *a, struct httpd_req *req);
/* Bytes as they are (?raw), with Consul's headers. */
void consul_reply_bytes(struct agent *a, struct httpd_req *req, int status, const char *type,
                        const void *bytes, size_t len);
void consul_reply_true(struct agent *a, struct httpd_req *req);
/* Reads with ?index=&wait= (Consul's blocking query): fn answers now or
 * once the index passes the one asked for. ?stale, ?consistent, ?cached
 * change nothing: every answer is this agent's replica. */
void consul_block(struct agent *a, struct httpd_req *req, api_read_fn fn);

/* This node as Consul's catalog shows a node: its address without port. */
void consul_member_ip(const struct node_addr *addr, char *out, size_t cap);
/* 1 when node is served (alive or suspect). */
int consul_serving(struct agent *a, const char *node);
/* The node's address ("" when it is not a member). */
void consul_node_ip(struct agent *a, const char *node, char *out, size_t cap);

/* Route tables of each file. */
extern const struct api_route consul_agent_routes[], consul_catalog_routes[], consul_kv_routes[],
    consul_misc_routes[];
extern const size_t consul_agent_n_routes, consul_catalog_n_routes, consul_kv_n_routes,
    consul_misc_n_routes;

#endif
