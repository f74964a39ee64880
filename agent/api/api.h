/* api: the agent's HTTP JSON API (/v1/...), routes and their JSON, served
 * by agent/httpd. Reads the agent's state; writes go through the agent. */
#ifndef TROUPE_API_H
#define TROUPE_API_H

#include "core/codec.h"
#include "core/err.h"

struct agent;

int api_open(struct agent *a, struct err *e);
void api_close(struct agent *a);
/* Frees the request counters (api_metrics.c), once the loop has ended. */
void api_metrics_free(struct agent *a);
/* SIGHUP: the API's certificate and key read again (logged either way). */
void api_tls_reload(struct agent *a);
/* The supervisor's endpoints (api_super.c): 1 when it handled req. */
struct httpd_req;
int api_super_handle(struct agent *a, struct httpd_req *req);
/* Every route the API serves, in the order they are tried: "PUT" rows
 * take POST too; a pattern ending in '*' takes any rest of the path. */
void api_routes_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud);
/* Answers now every request still waiting (blocking reads, joins), as if
 * its wait ran out. For tests that drive the API without waiting. */
void api_answer_parked(struct agent *a);
/* A join started by the API got its outcome (called for every outcome). */
void api_join_outcome(struct agent *a, const struct node_addr *addr, int ok);

#endif
