/* route: a proxy route, the cluster-wide desired state of the traffic layer
 * (a CRDT_ROUTE record, last writer wins). A route names a service and how
 * every agent's proxy reaches it: the local port it listens on, the
 * protocol, a split of requests over the instances' versions, header
 * matches that pin a version, timeouts, retries and their budget, outlier
 * ejection, limits on requests at once, an optional access log, how the
 * balancer picks (two choices or round robin) and optional stickiness.
 *
 * Owns the route's JSON: parsing and validation (every field checked,
 * unknown fields refused, each error naming its field) and the canonical
 * JSON a route is stored and gossiped as (every default written out, so a
 * stored route reads back the same on every agent). Pure: jansson and libc.
 * Not here: the balancer (core/balance), listening (agent/proxy). */
#ifndef TROUPE_ROUTE_H
#define TROUPE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ROUTE_TEXT_MAX    (16u << 10) /* bytes of a route's JSON */
#define ROUTE_NAME_MAX    63          /* route and service names: DNS labels */
#define ROUTE_VERSION_MAX 64          /* a version label (CAT_VERSION_MAX) */
#define ROUTE_SPLIT_MAX   8           /* versions in a split */
#define ROUTE_MATCH_MAX   16          /* header matches */
#define ROUTE_HEADER_MAX  64          /* bytes of a header name */
#define ROUTE_VALUE_MAX   256         /* bytes of a header value to match */
#define ROUTE_HOSTS_MAX   8           /* host names the ingress routes here */
#define ROUTE_HOST_MAX    253         /* bytes of a host name (a DNS name) */
#define ROUTE_PREFIX_MAX  255         /* bytes of a path prefix */
#define ROUTE_PATH_MAX    255         /* bytes of the access log's path */
/* An idle upstream connection is closed after this long by default: below
 * the keep-alive timeout of common servers (Node.js 5 s, Apache 5 s), so
 * the proxy closes it before the server does and rarely sends a request
 * on a connection the server is closing. */
#define ROUTE_UPSTREAM_IDLE_MS 4000

enum route_protocol { ROUTE_HTTP = 1, ROUTE_TCP = 2 };

/* How the balancer picks among a version's endpoints (core/balance). */
enum route_balance {
    ROUTE_P2C = 0,         /* two choices over peak-EWMA load (the default) */
    ROUTE_ROUND_ROBIN = 1, /* each endpoint in turn, load not considered */
};

/* Where a request's stickiness key comes from: none, a header, a cookie. */
enum route_sticky { ROUTE_STICKY_NONE = 0, ROUTE_STICKY_HEADER = 1, ROUTE_STICKY_COOKIE = 2 };

struct route_split {
    char version[ROUTE_VERSION_MAX + 1];
    uint32_t weight; /* 0..100; the weights of a split sum to 1..800 */
};

/* A request whose header (case-insensitive name) equals value (exactly)
 * goes to version; the first match wins, before the split. */
struct route_match {
    char header[ROUTE_HEADER_MAX + 1];
    char value[ROUTE_VALUE_MAX + 1];
    char version[ROUTE_VERSION_MAX + 1];
};

struct route {
    char name[ROUTE_NAME_MAX + 1];    /* the record's key; default: the service */
    uint8_t name_given;               /* the JSON had "name" */
    char service[ROUTE_NAME_MAX + 1]; /* the catalog service whose instances serve it */
    uint16_t port;                    /* the proxy listens on it on every agent */
    uint8_t protocol;                 /* enum route_protocol; default http */
    size_t n_split;                   /* 0: every version, by the balancer alone */
    struct route_split split[ROUTE_SPLIT_MAX];
    size_t n_match; /* http only */
    struct route_match match[ROUTE_MATCH_MAX];
    uint32_t connect_ms;       /* timeouts.connect_ms: 1..60000, default 1000 */
    uint32_t request_ms;       /* timeouts.request_ms: 1..3600000, default 15000 */
    uint32_t idle_ms;          /* timeouts.idle_ms: 1000..3600000, default 60000 */
    uint32_t upstream_idle_ms; /* timeouts.upstream_idle_ms: 0..3600000, default 4000; 0: no pool */
    uint32_t attempts;         /* retries.attempts: tries in all, 1..5, default 2 */
    uint32_t budget_percent;   /* retries.budget_percent: of requests, 0..100, default 20 */
    uint32_t budget_per_s;     /* retries.budget_per_s: retries/s anyway, 0..100000, default 10 */
    uint32_t backoff_ms;       /* retries.backoff_ms: first backoff's ceiling, 0..10000, 25 */
    uint32_t max_requests;     /* limits.max_requests: at once, 1..1000000, default 1024 */
    uint32_t max_pending;      /* limits.max_pending: waiting, 0..1000000, default 1024 */
    char access_log[ROUTE_PATH_MAX + 1]; /* access_log: an absolute path, "" for none */
    uint32_t outlier_failures;           /* outlier.consecutive_failures: 1..1000, default 5 */
    uint32_t outlier_base_ms;            /* outlier.base_ejection_ms: default 30000 */
    uint32_t outlier_max_ms;             /* outlier.max_ejection_ms: default 300000 */
    uint32_t outlier_max_percent;        /* outlier.max_ejected_percent: 0..100, default 50 */
    /* the ingress (--ingress): requests whose Host is one of hosts (lower
     * case, without a port) and whose path starts with prefix come here;
     * http only; none: the ingress never picks this route */
    size_t n_hosts;
    char hosts[ROUTE_HOSTS_MAX][ROUTE_HOST_MAX + 1];
    char prefix[ROUTE_PREFIX_MAX + 1]; /* default "/" */
    uint8_t balance; /* balance: enum route_balance, "p2c" (default) or "round_robin" */
    /* sticky: {"header": NAME} or {"cookie": NAME}, http only: a request
     * that carries it goes to the endpoint its value hashes to (rendezvous
     * hashing over the version's endpoints); without it, balanced as usual */
    uint8_t sticky; /* enum route_sticky */
    char sticky_name[ROUTE_HEADER_MAX + 1];
};

/* Parses and validates a route from JSON text. On error e names the field
 * ("split.v2: ...") and r holds nothing to free (it never holds heap). */
int route_parse(struct route *r, const char *text, size_t len, struct err *e);

/* The canonical JSON of r (sorted keys, compact, every field written):
 * route_parse of it gives r back. Heap string, the caller frees; NULL when
 * out of memory. */
char *route_json(const struct route *r);

/* A route or service name: 1-63 of [a-z0-9-], not starting or ending with '-'. */
int route_name_ok(const char *s);
const char *route_protocol_name(uint8_t p); /* "http", "tcp" */
const char *route_balance_name(uint8_t b);  /* "p2c", "round_robin" */

/* How well a request for host (the Host header: any case, a port after
 * ':' ignored) and path matches r for the ingress: 0 when it does not,
 * else 1 + the length of r's prefix (the longest prefix wins). */
size_t route_ingress_match(const struct route *r, const char *host, size_t host_len,
                           const char *path, size_t path_len);

#endif
