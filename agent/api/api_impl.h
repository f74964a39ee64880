/* api_impl: what the files of the HTTP API share (api.c routes and the
 * membership endpoints; api_catalog.c, api_kv.c, api_events.c the catalog
 * endpoints; api_block.c blocking queries). Not for the rest of agent/,
 * except catalog/catalog.c, which wakes blocking queries when its index
 * moves (a known exception, docs/architecture.md). */
#ifndef TROUPE_API_IMPL_H
#define TROUPE_API_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "agent/api/httpd.h"

struct agent;

/* Answers with j (which this takes) as compact JSON; the index header too. */
void api_reply_json(struct httpd_req *req, int status, json_t *j);
void api_reply_error(struct httpd_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A JSON string of bytes that may not be UTF-8 (check output, payloads):
 * bytes that do not form UTF-8 become '?'. */
json_t *api_json_text(const char *s, size_t len);
/* 1 when the query has parameter name (with or without a value). */
int api_query_has(struct httpd_req *req, const char *name);
/* When path starts with prefix, *rest points past it and 1 is returned. */
int api_prefix(const char *path, const char *prefix, const char **rest);
/* PUT routes also take POST. */
int api_method_is(const char *method, const char *want);

/* Blocking reads (?index=N&wait=D): fn answers req; it runs now when the
 * catalog index is past N (or no index was given), else once it moves or
 * the wait (default 5 min, at most 10 min) runs out. Every answer carries
 * X-Troupe-Index. A bad index or wait is answered 400 here. */
typedef void (*api_read_fn)(struct agent *a, struct httpd_req *req);
void api_block(struct agent *a, struct httpd_req *req, api_read_fn fn);
void api_block_notify(struct agent *a);
void api_block_close(struct agent *a);
void api_set_index(struct agent *a, struct httpd_req *req);

/* Routers of the catalog endpoints: 1 when they answered req. */
int api_catalog_route(struct agent *a, struct httpd_req *req, const char *method,
                      const char *path);
int api_kv_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
int api_events_route(struct agent *a, struct httpd_req *req, const char *method,
                     const char *path);
/* The cluster's service specs and where they run (api_specs.c). */
int api_specs_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);
/* The proxy routes (api_routes.c). */
int api_routes_route(struct agent *a, struct httpd_req *req, const char *method,
                     const char *path);

/* Requests by route and code, and their durations (api_metrics.c). */
#include <stdio.h>
int api_metrics_route(const char *path); /* the route's number, for httpd_req_set_tag */
void api_metrics_open(struct agent *a);  /* after httpd_open */
void api_write_metrics(struct agent *a, FILE *f);

#endif
