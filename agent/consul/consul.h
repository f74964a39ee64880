/* consul: a second HTTP listener (--consul-http, 127.0.0.1:8500 by
 * default) that speaks Consul's HTTP API over troupe's replica, so that
 * tools written for Consul work unchanged (docs/consul-compat.md). It is
 * agent/api's HTTP server with the same tokens and limits; only the routes
 * and the JSON differ. */
#ifndef TROUPE_CONSUL_H
#define TROUPE_CONSUL_H

#include "core/err.h"

struct agent;
struct httpd;

/* Opens the listener (nothing when --consul-http off). The default port
 * taken is logged and skipped; an address given and taken is an error. */
int consul_open(struct agent *a, struct err *e);
void consul_close(struct agent *a);
/* The listener, for tests that inject requests; NULL when off. */
struct httpd *consul_httpd(struct agent *a);
/* Every route of the Consul listener ("PUT" rows take POST too; a pattern
 * ending in '*' takes any rest of the path). */
void consul_routes_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud);

#endif
