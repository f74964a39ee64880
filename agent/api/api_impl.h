/* api_impl: what the files of the HTTP API share (api.c routes and the
 * membership endpoints; api_catalog.c, api_kv.c, api_events.c the catalog
 * endpoints; api_lww.c what the endpoints of a last-writer-wins record
 * kind share; api_super.c the supervisor's; api_block.c blocking queries;
 * api_input.c the checks of a request's text). Not for the rest of agent/,
 * except catalog/catalog.c, which wakes blocking queries when its index
 * moves (a known exception, docs/architecture.md). */
#ifndef TROUPE_API_IMPL_H
#define TROUPE_API_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "agent/api/httpd.h"
#include "core/err.h"

struct agent;
struct acl_token;
struct crdt_rec;

/* The one reply path of every handler. api_reply_json answers with j
 * (which it takes) as compact JSON and a newline; a NULL j (a JSON builder
 * refused a value) is answered 500 with a JSON error, never dereferenced.
 * api_reply_error answers {"error": TEXT}, bytes that are not UTF-8 in the
 * text shown as '?'. */
void api_reply_json(struct httpd_req *req, int status, json_t *j);
void api_reply_error(struct httpd_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The HTTP status of a negative error code, the one mapping every handler
 * uses: -ENOENT 404, -EPERM 403, -EEXIST 409, -ENOTSUP 422 (understood, not
 * supported: a cluster spec asking for what placement cannot do), -EIO 500,
 * anything else 400.
 * api_status is for what the path names; api_status_of_body for a document
 * in the body, where something it names that does not exist (-ENOENT) makes
 * the document wrong: 400. (Bundle fetches map the trust errors with
 * bundle_http_status: a refusal there is about the mirror, not the client.) */
int api_status(int code);
int api_status_of_body(int code);
/* api_reply_error(req, api_status(e->code), "%s", e->msg) */
void api_reply_err(struct httpd_req *req, const struct err *e);

/* Route tables: a request matches the first row whose method and pattern
 * fit. A pattern ending in '*' matches any rest of the path (empty, or
 * with slashes), which the handler gets; otherwise rest is "". A "PUT" row
 * takes POST too. */
typedef void (*api_route_fn)(struct agent *a, struct httpd_req *req, const char *rest);
struct api_route {
    const char *method;
    const char *pattern;
    api_route_fn fn;
};
/* The matching row, or NULL; *path_known (may be NULL) is set to 1 when a
 * row of another method has this path. */
const struct api_route *api_route_find(const struct api_route *t, size_t n, const char *method,
                                       const char *path, const char **rest, int *path_known);
/* A JSON string of bytes that may not be UTF-8 (check output, payloads):
 * bytes that do not form UTF-8, and NUL, become '?'. */
json_t *api_json_text(const char *s, size_t len);
/* 1 when the query has parameter name (with or without a value). */
int api_query_has(struct httpd_req *req, const char *name);
/* A query parameter that is a whole number: digits only (no sign, no
 * space), within 64 bits. 1 with *v set, 0 when absent, -1 otherwise. */
int api_query_uint(struct httpd_req *req, const char *name, uint64_t *v);
/* PUT routes also take POST. */
int api_method_is(const char *method, const char *want);

/* The route tables of each file, in the order handle() tries them. */
extern const struct api_route api_super_routes[], api_own_routes[], api_ui_routes[],
    api_catalog_routes[], api_kv_routes[], api_events_routes[], api_specs_routes[],
    api_routes_routes[], api_tokens_routes[];
extern const size_t api_super_n_routes, api_own_n_routes, api_ui_n_routes, api_catalog_n_routes,
    api_kv_n_routes, api_events_n_routes, api_specs_n_routes, api_routes_n_routes,
    api_tokens_n_routes;

/* Blocking reads (?index=N&wait=D): fn answers req; it runs now when the
 * catalog index is past N (or no index was given), else once it moves or
 * the wait (default 5 min, at most 10 min) runs out. Every answer carries
 * X-Troupe-Index. A bad index or wait is answered 400 here. */
typedef void (*api_read_fn)(struct agent *a, struct httpd_req *req);
void api_block(struct agent *a, struct httpd_req *req, api_read_fn fn);
/* What api_block does once the index and wait are known: fn runs now when
 * the catalog index is past index (or wait_ms is 0), else once it moves or
 * wait_ms runs out. For listeners whose index means something else (the
 * Consul API, agent/consul/), which translate it first. */
void api_park(struct agent *a, struct httpd_req *req, api_read_fn fn, uint64_t index,
              uint64_t wait_ms);
/* ?wait=D into *wait_ms (default 5 min, at most 10 min): 0, or -1 when it
 * is not a duration. */
int api_wait_param(struct httpd_req *req, uint64_t *wait_ms);
void api_block_notify(struct agent *a);
void api_block_close(struct agent *a);
void api_set_index(struct agent *a, struct httpd_req *req);

/* Writes shared with the Consul listener (agent/consul/), durable on
 * return. api_kv_put: -E2BIG past CRDT_VAL_MAX. api_kv_delete: the key, or
 * with recurse every key under it; returns how many were deleted.
 * api_event_fire: a user event (-EINVAL for a bad name, -E2BIG for a
 * payload too long), *seq its number. The caller then calls agent_drive. */
int api_kv_put(struct agent *a, const char *key, const void *val, size_t len, struct err *e);
int api_kv_delete(struct agent *a, const char *key, int recurse, struct err *e);
int api_event_fire(struct agent *a, const char *name, const void *payload, size_t len,
                   uint64_t *seq, struct err *e);

/* A last-writer-wins record kind over HTTP (api_lww.c: routes, specs, KV).
 * api_lww_list answers the live records of kind under prefix (NULL: all),
 * in key order, each as fn makes it (NULL leaves it out); [] when none.
 * api_lww_find: the live record of key, or NULL when it answered 404
 * "no WHAT \"KEY\"". Both set X-Troupe-Index. */
typedef json_t *(*api_lww_json_fn)(const struct crdt_rec *r, void *ud);
void api_lww_list(struct agent *a, struct httpd_req *req, uint8_t kind, const char *prefix,
                  api_lww_json_fn fn, void *ud);
const struct crdt_rec *api_lww_find(struct agent *a, struct httpd_req *req, uint8_t kind,
                                    const char *key, const char *what);
/* Writes key and saves the replica: 0 or a negative code. */
int api_lww_put(struct agent *a, uint8_t kind, const char *key, const void *val, size_t len,
                struct err *e);
/* The answer to a write: rc < 0 the error (api_status), else
 * X-Troupe-Index and j (which it takes either way), then agent_drive. */
void api_lww_reply(struct agent *a, struct httpd_req *req, int rc, const struct err *e, json_t *j);

/* Routers of the catalog endpoints: 1 when they answered req. */
int api_catalog_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
int api_kv_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
int api_events_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
/* The cluster's service specs and where they run (api_specs.c). */
int api_specs_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
/* The proxy routes (api_routes.c). */
int api_routes_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);

/* Requests by route and code, and their durations (api_metrics.c). */
#include <stdio.h>
int api_metrics_route(const char *path); /* the route's number, for httpd_req_set_tag */
void api_metrics_open(struct agent *a);  /* after httpd_open */
void api_write_metrics(struct agent *a, FILE *f);

/* api_acl.c: the one authorization check, before any route runs. 1 when
 * the request may go on; 0 when it was answered (404, 405, 401, 403).
 * Writes are audited. */
int api_acl_check(struct agent *a, struct httpd_req *req);
/* The token a request carries (already checked), NULL for none. */
const struct acl_token *api_acl_token(struct agent *a, struct httpd_req *req);
/* The rows of the authorization table, for the test that every route has
 * one (and every row a route). */
void api_acl_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud);
/* What a refusal of the check is; the caller's deny function answers it. */
enum api_denial {
    API_DENY_NO_ROUTE,      /* no row has the path (troupe: 404) */
    API_DENY_METHOD,        /* a row has the path with another method (405) */
    API_DENY_UNKNOWN_TOKEN, /* a secret no token has (401) */
    API_DENY_FORBIDDEN,     /* the token or its absence lacks the rule (403) */
};
typedef void (*api_deny_fn)(struct agent *a, struct httpd_req *req, enum api_denial kind,
                            const char *msg);
/* The same check for the Consul listener (agent/consul/), whose table is
 * its own; its tokens also come in X-Consul-Token and ?token=. The
 * decision is the same; deny answers a refusal in the listener's shape. */
int api_acl_check_consul(struct agent *a, struct httpd_req *req, api_deny_fn deny);
/* The "ServiceID" of a Consul check registration body, its key in any case
 * and with underscores (python3-consul sends "serviceid"), as the rule and
 * the handler both read it: NULL when absent, not a string, or given
 * twice. */
const char *api_acl_consul_service_id(json_t *body);
void api_acl_consul_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud);
/* api_tokens.c: the token endpoints. */
int api_tokens_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);

#endif
