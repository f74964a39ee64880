/* pconn: what the files of one proxied connection share: proxy_conn.c (the
 * client connection, reading and writing with backpressure, choosing and
 * connecting an endpoint, the proxy's own answers), proxy_pool.c (idle
 * upstream connections), proxy_http.c (requests and responses) and
 * proxy_tcp.c (byte streams). Not for the rest of agent/proxy: proxy.c
 * sees only proxy_impl.h. */
#ifndef TROUPE_PCONN_H
#define TROUPE_PCONN_H

#include <stdint.h>
#include <uv.h>

#include "agent/proxy/proxy_impl.h"
#include "core/http1.h"
#include "core/trace.h"

#define PCONN_READ_BYTES (64u << 10)
#define PCONN_QUEUE_HIGH (256u << 10) /* stop reading the other side above this */
#define PCONN_IN_MAX     (HTTP1_HEADER_BYTES + PCONN_READ_BYTES) /* client bytes held */
#define PCONN_IDLE_MAX   256 /* idle upstream connections per route */

enum pstate {
    PS_IDLE = 0, /* http: waiting for a request */
    PS_WAIT,     /* http: the route is at its limit, the request waits for a slot */
    PS_BACKOFF,  /* waiting before the next attempt */
    PS_CONNECT,  /* connecting upstream */
    PS_STREAM,   /* tcp: splicing; http: request sent, response coming */
    PS_DONE,     /* closing */
};

/* An upstream connection: serving one client connection, or idle in its
 * route's pool. Freed in its close callback. */
struct pup {
    uv_tcp_t h;
    uv_connect_t creq;
    struct pconn *c;        /* the connection it serves; NULL when idle or closing */
    struct proxy_route *rt; /* the pool it is in, while idle */
    struct pup *next;       /* the pool's list */
    char key[BAL_KEY_MAX];  /* its endpoint */
    int pending;            /* writes not yet called back */
    int reused;             /* taken from the pool for this request */
    int got_bytes;          /* response bytes came on this use */
    uint64_t idle_since;    /* when it went into the pool (ms) */
};

struct pconn {
    struct pconn *next, *prev; /* the proxy's list */
    struct proxy_route *rt;
    uv_tcp_t down;     /* the client */
    struct pup *up;    /* the endpoint, or NULL */
    uv_timer_t ctimer; /* connect timeout */
    uv_timer_t rtimer; /* http: whole request timeout */
    uv_timer_t itimer; /* idle timeout */
    uint64_t last_io;  /* when bytes last came from either side */
    char peer[48];     /* the client's address, for x-forwarded-for */
    int open_handles;
    int closing;
    enum pstate state;
    int is_http;
    int ingress; /* from the ingress: each request picks its route */

    /* the endpoint of this request */
    char ep_key[BAL_KEY_MAX];
    int ep_busy; /* counted as outstanding in the balancer */
    char version[ROUTE_VERSION_MAX + 1];
    int any_version;
    int last_ep; /* index tried last, skipped on the retry */
    int sticky;  /* the request has a stickiness key (route's sticky) */
    uint64_t sticky_key;
    uint32_t attempts;
    uint64_t t_start, t_connected;
    uint64_t t_req; /* http: when the request's head was in (proxy_obs's latency) */
    int no_pool;    /* this request's next attempt opens a new connection */
    /* limits: a request (http) or connection (tcp) holds one of the route's
     * slots while it runs; when they are taken it waits in the route's list */
    int has_slot;
    int waiting;
    struct pconn *wait_next;

    /* tcp: who has ended its side */
    int down_eof, up_eof;

    /* http */
    uint8_t *in; /* client bytes (heap), in_len of in_cap */
    size_t in_len, in_cap;
    size_t req_len;  /* bytes of the request being served */
    int req_head;    /* HEAD: the response has no body */
    int client_keep; /* the client wants keep-alive */
    uint8_t *ureq;   /* the request's head as sent upstream (heap) */
    size_t ureq_len, ureq_cap;
    int in_request;  /* a request is being served (limits, access log) */
    int idempotent;  /* GET, HEAD, OPTIONS, PUT, DELETE, TRACE: may be retried */
    int upgrade;     /* the request asks for an upgrade (websocket) */
    int expect;      /* the request has "expect: 100-continue" */
    int req_chunked; /* the request body: chunked, or req_left bytes */
    uint64_t req_left;
    struct http1_chunks req_chunks;
    int req_body_done;
    uint64_t body_sent; /* request body bytes sent upstream on this attempt */
    uint64_t bytes_out; /* response bytes to the client */
    uint64_t t_request; /* when the request's head was read */
    uint64_t t_head;    /* when the response's head came */
    int status;         /* the response's, for the access log */
    struct trace trace;
    char request_id[65];
    char method[17];
    char *path;                       /* heap, for the access log; NULL when off */
    uint8_t head[HTTP1_HEADER_BYTES]; /* response head while it comes in */
    size_t head_len;
    int head_done;
    int sent_any;    /* bytes of a response went to the client */
    int resp_framed; /* content-length or chunked: the client connection can stay */
    int resp_has_length;
    int resp_chunked;
    struct http1_chunks chunks;
    uint64_t body_left; /* with content-length: bytes still to come */
    int resp_complete;
    int up_reusable;    /* the upstream connection may go back to the pool */
    int close_after;    /* close the client once what is queued is written */
    int pending_writes; /* writes to the client not yet called back */
    /* while one read of the upstream is handled, what goes to the client
     * gathers here and leaves in one write (a response's head and body in
     * one system call) */
    int corked;
    uint8_t *out; /* heap, out_len of out_cap, kept between responses */
    size_t out_len, out_cap;
};

/* proxy_conn.c */
void pconn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);
void pconn_shutdown_cb(uv_shutdown_t *r, int status);
void pconn_close(struct pconn *c);
/* The request on the current endpoint ended: ok or not, for the balancer. */
void pconn_ep_end(struct pconn *c, int ok);
void pconn_resume_down(struct pconn *c);
void pconn_resume_up(struct pconn *c);
/* Reads the upstream connection (its one read callback, in use or idle). */
void pconn_read_up(struct pup *u);
/* Queue bytes to the client / to the endpoint, with backpressure. */
void pconn_send_down(struct pconn *c, const void *data, size_t len);
void pconn_send_up(struct pconn *c, const void *data, size_t len);
/* An answer of the proxy itself, with x-troupe-reason; the client
 * connection closes after it unless keep. */
void pconn_reply(struct pconn *c, int status, const char *reason, const char *why, int keep);
/* Starts the route's whole-request timeout (504 when it fires). */
void pconn_request_timer(struct pconn *c);
/* Picks an endpoint and connects to it (or takes a pooled connection). */
void pconn_start_attempt(struct pconn *c);
/* After a failure: 1 when the route's attempts and retry budget allow
 * another attempt (the budget is spent, the retry counted), else 0 (a
 * refusal of the budget counted). */
int pconn_retry_allowed(struct pconn *c);
/* The next attempt, after a jittered backoff; c has no upstream. */
void pconn_retry_start(struct pconn *c);
/* Limits: takes a slot of the route (1), or queues c for one (0), or
 * neither when the route is full (-1: overloaded). A queued connection
 * gets phttp_dispatch when a slot frees. */
int pconn_slot_take(struct pconn *c);
void pconn_slot_give(struct pconn *c);
/* The upstream failed or ended (err: UV_EOF or an error). */
void pconn_up_failed(struct pconn *c, ssize_t err);

/* proxy_pool.c */
/* An idle connection to key from the route's pool, or NULL. For a
 * request that may not be sent twice (!idempotent), a connection whose
 * endpoint has already closed it, unseen yet by the loop, is dropped
 * rather than taken. */
struct pup *ppool_take(struct proxy_route *rt, const char *key, int idempotent);
/* Closes an upstream connection (freed in its close callback). */
void ppool_close_up(struct pup *u);
/* An upstream connection that serves no one was read (n: bytes, or an
 * error or UV_EOF): dropped, out of the pool. */
void ppool_idle_read(struct pup *u, ssize_t n);
/* The connection lets go of its upstream: into the pool when keep and
 * the route has room, else closed. */
void pconn_detach_up(struct pconn *c, int keep);

/* proxy_http.c */
/* A response to the request (the endpoint's or the proxy's own): counted
 * by the route, and by version and latency for /metrics (proxy_obs.c). */
void phttp_count_status(struct pconn *c, int status);
void phttp_try_request(struct pconn *c);
void phttp_next_request(struct pconn *c);
void phttp_down_bytes(struct pconn *c, const uint8_t *p, size_t n);
void phttp_up_bytes(struct pconn *c, const uint8_t *p, size_t n);
void phttp_up_failed(struct pconn *c, ssize_t err);
/* The request holds a slot: on to an endpoint. */
void phttp_dispatch(struct pconn *c);
/* The request ends (once): its slot freed, its access log line written. */
void phttp_request_end(struct pconn *c);
/* The upstream is ready for the request: its head, then its body. */
void phttp_upstream_ready(struct pconn *c);
/* The client may be read: waiting for a request, or streaming its body. */
int phttp_wants_down(struct pconn *c);

/* proxy_tcp.c */
void ptcp_start(struct pconn *c);
void ptcp_up_failed(struct pconn *c, ssize_t err);
void ptcp_down_eof(struct pconn *c);

#endif
