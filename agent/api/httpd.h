/* httpd: an HTTP/1.1 server on libuv over core/http1. It accepts
 * connections, parses requests (keep-alive, pipelining answered in order),
 * hands each to one handler, and writes the answer whenever the handler
 * gives it: at once, or later from the loop (blocking queries, joins). */
#ifndef TROUPE_HTTPD_H
#define TROUPE_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/codec.h"
#include "core/err.h"

#define HTTPD_CONNS_MAX       1024
#define HTTPD_IDLE_MS         60000
#define HTTPD_READ_TIMEOUT_MS 10000

struct httpd;
struct httpd_req;

/* Called once per request; the request stays valid until httpd_respond. */
typedef void (*httpd_handler)(void *ud, struct httpd_req *req);

/* Listens on addr. Free through httpd_close. */
int httpd_open(struct httpd **out, uv_loop_t *loop, const struct node_addr *addr,
               httpd_handler handler, void *ud, struct err *e);
/* Closes the listener and every connection; requests still unanswered stay
 * valid until answered (their answer is then dropped). done may be NULL. */
void httpd_close(struct httpd *h, void (*done)(void *ud), void *ud);

const char *httpd_req_method(const struct httpd_req *r);
const char *httpd_req_path(const struct httpd_req *r); /* percent-decoded */
/* Query parameter, percent-decoded into out; -1 absent, -2 malformed/too long. */
int httpd_req_query(const struct httpd_req *r, const char *name, char *out, size_t cap);
const char *httpd_req_body(const struct httpd_req *r, size_t *len);

/* Adds a response header (before httpd_respond); at most 1 KiB in all. */
void httpd_add_header(struct httpd_req *r, const char *name, const char *value);
/* Answers and frees r. body is copied. */
void httpd_respond(struct httpd_req *r, int status, const char *content_type, const void *body,
                   size_t len);

struct httpd_stats {
    uint64_t requests, errors, conns_accepted, conns_refused;
};
const struct httpd_stats *httpd_stats(const struct httpd *h);

#endif
