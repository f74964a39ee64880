/* httpd: an HTTP/1.1 server on libuv over core/http1. It accepts
 * connections, parses requests (keep-alive, pipelining answered in order),
 * hands each to one handler, and writes the answer whenever the handler
 * gives it: at once, or later from the loop (blocking queries, joins). */
#ifndef TROUPE_HTTPD_H
#define TROUPE_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "core/codec.h"
#include "core/err.h"

/* What one client may hold. A connection over max_conns is accepted and
 * closed at once, unless an idle one (no request under way) can make room:
 * the one idle longest is closed instead, so idle connections never keep a
 * request out. A request's line and headers must be in within
 * header_timeout_ms of its first byte, its body within body_timeout_ms of
 * the headers (else 408 and close); a connection with no request is closed
 * after idle_timeout_ms. No timer runs while the handler has the request. */
struct httpd_limits {
    uint32_t max_conns;
    uint32_t header_timeout_ms;
    uint32_t body_timeout_ms;
    uint32_t idle_timeout_ms;
};
#define HTTPD_LIMITS_DEFAULT                                                                       \
    {                                                                                              \
        4096, 10000, 30000, 60000                                                                  \
    }

struct httpd;
struct httpd_req;

/* Called once per request; the request stays valid until httpd_respond. */
typedef void (*httpd_handler)(void *ud, struct httpd_req *req);

/* Listens on addr with the limits lim (copied). Free through
 * httpd_close. */
int httpd_open(struct httpd **out, uv_loop_t *loop, const struct node_addr *addr,
               const struct httpd_limits *lim, httpd_handler handler, void *ud, struct err *e);
/* Connections accepted from now on speak TLS with tls (NULL: plain HTTP
 * again); tls stays the caller's and valid until httpd_close. */
struct tls_server;
void httpd_set_tls(struct httpd *h, struct tls_server *tls);
/* Closes the listener and every connection; requests still unanswered stay
 * valid until answered (their answer is then dropped). done may be NULL. */
void httpd_close(struct httpd *h, void (*done)(void *ud), void *ud);

const char *httpd_req_method(const struct httpd_req *r);
const char *httpd_req_path(const struct httpd_req *r); /* percent-decoded */
/* Bytes of the decoded path: more than strlen when it holds %00. */
size_t httpd_req_path_len(const struct httpd_req *r);
/* The query as sent (after '?', not decoded); NULL when none. */
const char *httpd_req_query_raw(const struct httpd_req *r, size_t *len);
/* Query parameter, percent-decoded into out; -1 absent, -2 malformed/too long. */
int httpd_req_query(const struct httpd_req *r, const char *name, char *out, size_t cap);
const char *httpd_req_body(const struct httpd_req *r, size_t *len);
/* The value of header name (case-insensitive), *len its length; NULL when absent. */
const char *httpd_req_header(const struct httpd_req *r, const char *name, size_t *len);
/* The client's address as text ("IP:PORT"); "?" when unknown. Returns out. */
char *httpd_req_peer(const struct httpd_req *r, char *out, size_t cap);
/* fn(ud, status) runs when the request is answered, before it is freed
 * (one callback per request; a later call replaces it). */
void httpd_req_on_respond(struct httpd_req *r, void (*fn)(void *ud, int status), void *ud);

/* A number of the handler's own, handed to the observer (-1 until set). */
void httpd_req_set_tag(struct httpd_req *r, int tag);
/* Called as each request is answered (not when its connection went first):
 * its tag, the status and the seconds since it was parsed. */
typedef void (*httpd_observer)(void *ud, int tag, int status, double seconds);
void httpd_set_observer(struct httpd *h, httpd_observer fn, void *ud);

/* Adds a response header (before httpd_respond); at most 1 KiB in all. */
void httpd_add_header(struct httpd_req *r, const char *name, const char *value);
/* Answers and frees r. body is copied. */
void httpd_respond(struct httpd_req *r, int status, const char *content_type, const void *body,
                   size_t len);

/* Without a socket (tests, fuzzing): parses one request from bytes (copied)
 * and hands it to the handler as if it had arrived; the answer, the bytes a
 * connection would have been sent, goes to sink, now or later from the
 * loop. Returns 1 when handed over, 0 when the bytes are not a whole
 * request (nothing answered), -1 when the parser refused them (answered,
 * as a connection would be). */
typedef void (*httpd_sink)(void *ud, const char *resp, size_t len);
int httpd_inject(struct httpd *h, const uint8_t *bytes, size_t len, httpd_sink sink, void *ud);

struct httpd_stats {
    uint64_t requests, errors, conns_accepted, conns_refused;
    uint64_t conns_evicted; /* idle ones closed to make room */
    uint64_t header_timeouts, body_timeouts, idle_timeouts;
    uint64_t conns_open; /* now */
    uint64_t tls_failed; /* connections whose TLS failed (handshake, bad record) */
};
const struct httpd_stats *httpd_stats(const struct httpd *h);
/* The counters in Prometheus text (GET /metrics). */
void httpd_write_metrics(const struct httpd *h, FILE *f);

#endif
