/* proxy_conn: one client connection of a route's listener, its upstream
 * connection, and the route's pool of idle upstream connections. In tcp
 * mode the bytes pass both ways as they come (with half-close); in http
 * mode each request is parsed with core/http1, sent to an endpoint of the
 * version the balancer picks, and the response streamed back.
 * Backpressure both ways: a side whose peer has more than PCONN_QUEUE_HIGH
 * bytes queued is not read until the queue drains.
 *
 * http: upstream connections are kept alive and pooled per route and
 * endpoint when the response allows it (HTTP/1.1, no "connection: close",
 * framed by content-length or chunked and read to its end); a pooled
 * connection the endpoint closed meanwhile is retried once on a new one.
 * The client's connection stays open between requests when the response's
 * framing allows it. A request body is buffered whole (core/http1, at most
 * 1 MiB); a response body is streamed. A connect failure or timeout is
 * retried on another endpoint (route retries.attempts); when nothing was
 * sent to the client yet, failures answer with a status and an
 * x-troupe-reason header (no-endpoints, connect-failed, timeout,
 * upstream-reset, bad-response). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/log.h"
#include "agent/proxy/proxy_impl.h"
#include "core/http1.h"
#include "core/mem.h"

#define PCONN_READ_BYTES (64u << 10)
#define PCONN_QUEUE_HIGH (256u << 10) /* stop reading the other side above this */
#define PCONN_IN_MAX     (HTTP1_HEADER_BYTES + HTTP1_BODY_MAX + 4096)
#define PCONN_IDLE_MAX   256 /* idle upstream connections per route */

enum pstate {
    PS_IDLE = 0, /* http: waiting for a request */
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
};

struct pconn {
    struct pconn *next, *prev; /* the proxy's list */
    struct proxy_route *rt;
    uv_tcp_t down;     /* the client */
    struct pup *up;    /* the endpoint, or NULL */
    uv_timer_t ctimer; /* connect timeout */
    uv_timer_t rtimer; /* http: whole request timeout */
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
    uint32_t attempts;
    uint64_t t_start, t_connected;
    uint64_t t_req; /* http: when the request was in whole (proxy_obs's latency) */
    int no_pool;    /* this request's next attempt opens a new connection */

    /* tcp: who has ended its side */
    int down_eof, up_eof;

    /* http */
    uint8_t *in; /* client bytes (heap), in_len of in_cap */
    size_t in_len, in_cap;
    size_t req_len;  /* bytes of the request being served */
    int req_head;    /* HEAD: the response has no body */
    int idempotent;  /* GET, HEAD, OPTIONS, PUT, DELETE, TRACE: safe to send again */
    int client_keep; /* the client wants keep-alive */
    uint8_t *ureq;   /* the request as sent upstream (heap) */
    size_t ureq_len;
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
};

struct wreq {
    uv_write_t w;
    struct pconn *c; /* a write to the client */
    struct pup *u;   /* a write upstream */
    char data[];
};

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void try_request(struct pconn *c);
static void start_attempt(struct pconn *c);

struct pconn *pconn_next(struct pconn *c)
{
    return c->next;
}

int pconn_has_upstream(const struct pconn *c)
{
    return c->up != NULL;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(PCONN_READ_BYTES);
    buf->len = buf->base ? PCONN_READ_BYTES : 0;
}

static void shutdown_cb(uv_shutdown_t *r, int status)
{
    (void)status;
    free(r);
}

/* ---- upstream connections and the pool ---- */

static void pup_closed(uv_handle_t *h)
{
    free(h->data);
}

static void pup_close(struct pup *u)
{
    u->c = NULL;
    if (!uv_is_closing((uv_handle_t *)&u->h))
        uv_close((uv_handle_t *)&u->h, pup_closed);
}

static void pool_unlink(struct pup *u)
{
    struct pup **pp = &u->rt->idle;

    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = u->next;
        u->rt->n_idle--;
    }
    u->rt = NULL;
    u->next = NULL;
}

/* An idle connection that speaks (or closes) is of no more use. */
static void idle_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pup *u = s->data;

    free(buf->base);
    if (n == 0)
        return;
    pool_unlink(u);
    pup_close(u);
}

static struct pup *pool_take(struct proxy_route *rt, const char *key)
{
    for (struct pup *u = rt->idle; u; u = u->next) {
        if (strcmp(u->key, key) != 0)
            continue;
        pool_unlink(u);
        uv_read_stop((uv_stream_t *)&u->h);
        return u;
    }
    return NULL;
}

void pconn_pool_close(struct proxy_route *rt)
{
    while (rt->idle) {
        struct pup *u = rt->idle;
        pool_unlink(u);
        pup_close(u);
    }
}

/* The connection lets go of its upstream: into the pool when keep and the
 * route has room, else closed. */
static void detach_up(struct pconn *c, int keep)
{
    struct pup *u = c->up;
    struct proxy_route *rt = c->rt;

    if (!u)
        return;
    c->up = NULL;
    u->c = NULL;
    uv_read_stop((uv_stream_t *)&u->h);
    if (keep && c->is_http && u->pending == 0 && u->h.write_queue_size == 0 && !rt->gone &&
        !rt->p->closing && rt->n_idle < PCONN_IDLE_MAX) {
        u->rt = rt;
        u->next = rt->idle;
        rt->idle = u;
        rt->n_idle++;
        uv_read_start((uv_stream_t *)&u->h, alloc_cb, idle_read_cb);
        return;
    }
    pup_close(u);
}

/* ---- closing ---- */

static void release(struct pconn *c)
{
    proxy_route_unref(c->rt);
    free(c->in);
    free(c->ureq);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct pconn *c = h->data;

    if (--c->open_handles == 0)
        release(c);
}

static void ep_end(struct pconn *c, int ok)
{
    uint64_t now = proxy_now(c->rt->p);
    /* tcp: the latency is the connect's; the request is the connection */
    uint64_t end = !c->is_http && c->t_connected ? c->t_connected : now;
    int i;

    if (!c->ep_busy)
        return;
    c->ep_busy = 0;
    proxy_route_busy(c->rt, -1);
    i = bal_find(&c->rt->bal, c->ep_key);
    if (i >= 0 && bal_end(&c->rt->bal, i, ok, (uint32_t)(end - c->t_start), now))
        log_info("proxy", "route %s: endpoint %s ejected", c->rt->r.name, c->ep_key);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
}

static void pconn_close(struct pconn *c)
{
    struct proxy *p = c->rt->p;

    if (c->closing)
        return;
    c->closing = 1;
    c->state = PS_DONE;
    ep_end(c, 1); /* the client went away, or the exchange ended: not the endpoint's fault */
    detach_up(c, 0);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->n_conns--;
    phold_forget(p, c);
    close_handle((uv_handle_t *)&c->down);
    close_handle((uv_handle_t *)&c->ctimer);
    close_handle((uv_handle_t *)&c->rtimer);
}

void pconn_abort(struct pconn *c)
{
    pconn_close(c);
}

/* ---- reading and writing, with backpressure ---- */

static void resume_down(struct pconn *c)
{
    if (c->closing || c->down_eof || (c->is_http ? c->state != PS_IDLE : c->state != PS_STREAM))
        return;
    if (c->up && c->up->h.write_queue_size > PCONN_QUEUE_HIGH)
        return;
    uv_read_start((uv_stream_t *)&c->down, alloc_cb, down_read_cb);
}

static void resume_up(struct pconn *c)
{
    if (c->closing || !c->up || c->up_eof || c->state != PS_STREAM)
        return;
    if (c->down.write_queue_size > PCONN_QUEUE_HIGH)
        return;
    uv_read_start((uv_stream_t *)&c->up->h, alloc_cb, up_read_cb);
}

static void up_failed(struct pconn *c, ssize_t err);

static void write_cb(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct pup *u = r->u;
    struct pconn *c = u ? u->c : r->c;

    if (u)
        u->pending--;
    else
        c->pending_writes--;
    free(r);
    if (!c || c->closing || (u && c->up != u))
        return; /* the upstream was let go of, or the connection is closing */
    if (status < 0) {
        if (u)
            up_failed(c, status);
        else
            pconn_close(c);
        return;
    }
    if (!u && c->close_after && c->pending_writes == 0) {
        pconn_close(c);
        return;
    }
    /* a queue drained: read the side that feeds it again */
    if (u && u->h.write_queue_size < PCONN_QUEUE_HIGH / 2)
        resume_down(c);
    if (!u && c->down.write_queue_size < PCONN_QUEUE_HIGH / 2)
        resume_up(c);
}

static int queue_write(uv_stream_t *to, struct pconn *c, struct pup *u, const void *data,
                       size_t len)
{
    struct wreq *r = xmalloc(sizeof(*r) + len);
    uv_buf_t b;

    r->c = c;
    r->u = u;
    memcpy(r->data, data, len);
    b = uv_buf_init(r->data, (unsigned)len);
    if (uv_write(&r->w, to, &b, 1, write_cb) < 0) {
        free(r);
        return -1;
    }
    return 0;
}

/* Queues bytes to the client; stops reading the upstream when the client's
 * queue is long. */
static void send_down(struct pconn *c, const void *data, size_t len)
{
    if (c->closing || len == 0)
        return;
    if (queue_write((uv_stream_t *)&c->down, c, NULL, data, len) < 0) {
        pconn_close(c);
        return;
    }
    c->pending_writes++;
    if (c->down.write_queue_size > PCONN_QUEUE_HIGH && c->up)
        uv_read_stop((uv_stream_t *)&c->up->h);
}

static void send_up(struct pconn *c, const void *data, size_t len)
{
    struct pup *u = c->up;

    if (c->closing || !u || len == 0)
        return;
    if (queue_write((uv_stream_t *)&u->h, NULL, u, data, len) < 0) {
        up_failed(c, UV_EPIPE);
        return;
    }
    u->pending++;
    if (u->h.write_queue_size > PCONN_QUEUE_HIGH)
        uv_read_stop((uv_stream_t *)&c->down);
}

static void count_status(struct pconn *c, int status);

/* An answer of the proxy itself; the connection closes after it unless
 * keep (the client may send its next request). */
static void reply(struct pconn *c, int status, const char *reason, const char *why, int keep)
{
    char buf[512];
    const char *text = status == 503   ? "Service Unavailable"
                       : status == 504 ? "Gateway Timeout"
                       : status == 502 ? "Bad Gateway"
                       : status == 413 ? "Content Too Large"
                       : status == 404 ? "Not Found"
                                       : "Bad Request";
    char body[256];
    int bl = snprintf(body, sizeof(body), "%s: route %s\n", why, c->rt->r.name);
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                     "x-troupe-reason: %s\r\n%s\r\n%s",
                     status, text, bl, reason, keep ? "" : "connection: close\r\n", body);

    count_status(c, status);
    send_down(c, buf, (size_t)n);
    c->sent_any = 1;
    if (!keep)
        c->close_after = 1;
}

/* ---- connecting ---- */

static void next_request(struct pconn *c);

static void attempt_failed(struct pconn *c)
{
    c->rt->connect_failures++;
    ep_end(c, 0);
    uv_timer_stop(&c->ctimer);
    detach_up(c, 0);
    if (c->attempts < c->rt->r.attempts) {
        c->rt->retries++;
        start_attempt(c);
    } else if (c->is_http) {
        uv_timer_stop(&c->rtimer);
        c->state = PS_DONE;
        reply(c, 502, "connect-failed", "no endpoint accepted the connection", 0);
    } else {
        pconn_close(c);
    }
}

static void on_ctimeout(uv_timer_t *t)
{
    struct pconn *c = t->data;

    if (c->state == PS_CONNECT && !c->closing)
        attempt_failed(c); /* the pending connect gets UV_ECANCELED */
}

static void on_rtimeout(uv_timer_t *t)
{
    struct pconn *c = t->data;

    if (c->closing)
        return;
    c->rt->timeouts++;
    ep_end(c, 0);
    detach_up(c, 0);
    uv_timer_stop(&c->ctimer);
    c->state = PS_DONE;
    if (!c->sent_any)
        reply(c, 504, "timeout", "the endpoint did not answer in time", 0);
    else
        pconn_close(c);
}

/* The upstream is ready for the request (new, or from the pool). */
static void upstream_ready(struct pconn *c)
{
    c->t_connected = proxy_now(c->rt->p);
    c->state = PS_STREAM;
    if (c->is_http) {
        send_up(c, c->ureq, c->ureq_len);
        resume_up(c);
    } else {
        resume_up(c);
        resume_down(c);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct pup *u = req->data;
    struct pconn *c = u->c;

    if (!c || c->closing || status == UV_ECANCELED)
        return;
    if (status < 0) {
        attempt_failed(c);
        return;
    }
    uv_timer_stop(&c->ctimer);
    uv_tcp_nodelay(&u->h, 1);
    upstream_ready(c);
}

static void no_endpoints(struct pconn *c)
{
    c->rt->no_endpoints++;
    uv_timer_stop(&c->rtimer);
    if (!c->is_http) {
        pconn_close(c);
        return;
    }
    reply(c, 503, "no-endpoints", "no passing instance", c->client_keep);
    if (c->client_keep && !c->closing)
        next_request(c); /* the next request may follow on the same connection */
}

void pconn_hold_begin(struct pconn *c)
{
    uv_timer_stop(&c->rtimer);
}

void pconn_hold_end(struct pconn *c, const char *reason)
{
    if (c->closing)
        return;
    if (!reason) {
        if (c->is_http)
            uv_timer_start(&c->rtimer, on_rtimeout, c->rt->r.request_ms, 0);
        start_attempt(c);
        return;
    }
    c->rt->no_endpoints++;
    if (!c->is_http) {
        pconn_close(c);
        return;
    }
    c->state = PS_DONE;
    reply(c, 503, reason, "no instance ready: the service is starting from zero", 0);
}

static void start_attempt(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    uint64_t now = proxy_now(rt->p);
    const char *v = c->any_version ? NULL : c->version;
    int i = bal_pick(&rt->bal, v, c->last_ep, now);
    struct pup *u;
    int rc;

    /* a retry with no other endpoint of the version: another of any version, else the same */
    if (i < 0 && c->attempts > 0)
        i = bal_pick(&rt->bal, NULL, c->last_ep, now);
    if (i < 0 && c->attempts > 0)
        i = bal_pick(&rt->bal, NULL, -1, now);
    if (i < 0) {
        if (!phold_hold(rt, c)) /* a service at zero waits for a cold start (proxy_hold.c) */
            no_endpoints(c);
        return;
    }
    c->attempts++;
    c->last_ep = i;
    snprintf(c->ep_key, sizeof(c->ep_key), "%s", rt->bal.ep[i].key);
    bal_begin(&rt->bal, i);
    c->ep_busy = 1;
    proxy_route_busy(rt, 1);
    c->t_start = now;
    if (c->is_http && !c->no_pool && (u = pool_take(rt, c->ep_key))) {
        u->c = c;
        u->reused = 1;
        u->got_bytes = 0;
        c->up = u;
        upstream_ready(c);
        return;
    }
    c->no_pool = 0;
    u = xcalloc(1, sizeof(*u));
    uv_tcp_init(c->down.loop, &u->h);
    u->h.data = u;
    u->creq.data = u;
    u->c = c;
    snprintf(u->key, sizeof(u->key), "%s", c->ep_key);
    c->up = u;
    c->up_eof = 0;
    c->state = PS_CONNECT;
    rc = uv_tcp_connect(&u->creq, &u->h, (const struct sockaddr *)&rt->addrs[i], on_connect);
    if (rc < 0) {
        attempt_failed(c);
        return;
    }
    uv_timer_start(&c->ctimer, on_ctimeout, rt->r.connect_ms, 0);
}

/* ---- http: requests ---- */

static int hop_by_hop(const char *name, size_t len)
{
    static const char *const hop[] = {
        "connection",        "keep-alive", "proxy-connection", "te",     "trailer",
        "transfer-encoding", "upgrade",    "content-length",   "expect", NULL};

    for (size_t i = 0; hop[i]; i++)
        if (strlen(hop[i]) == len && strncasecmp(hop[i], name, len) == 0)
            return 1;
    return 0;
}

static void append(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

static const char *req_header(void *ud, const char *name, size_t *len)
{
    const struct http1_req *q = ud;

    return http1_header(q->h, q->n_headers, name, len);
}

/* Builds the upstream request of q into c->ureq: HTTP/1.1, keep-alive,
 * hop-by-hop headers removed, the body (decoded) with its length. */
static void build_request(struct pconn *c, const struct http1_req *q)
{
    size_t cap = 512 + q->target_len + q->body_len, len = 0;
    uint8_t *b = xmalloc(cap);
    char line[128];
    int n;

    append(&b, &len, &cap, q->method, q->method_len);
    append(&b, &len, &cap, " ", 1);
    append(&b, &len, &cap, q->target, q->target_len);
    append(&b, &len, &cap, " HTTP/1.1\r\n", 11);
    for (size_t i = 0; i < q->n_headers; i++) {
        const struct http1_header *h = &q->h[i];
        if (hop_by_hop(h->name, h->name_len))
            continue;
        append(&b, &len, &cap, h->name, h->name_len);
        append(&b, &len, &cap, ": ", 2);
        append(&b, &len, &cap, h->value, h->value_len);
        append(&b, &len, &cap, "\r\n", 2);
    }
    if (q->body_len || http1_header(q->h, q->n_headers, "content-length", NULL) ||
        http1_header(q->h, q->n_headers, "transfer-encoding", NULL)) {
        n = snprintf(line, sizeof(line), "content-length: %zu\r\n", q->body_len);
        append(&b, &len, &cap, line, (size_t)n);
    }
    append(&b, &len, &cap, "\r\n", 2);
    if (q->body_len)
        append(&b, &len, &cap, q->body, q->body_len);
    free(c->ureq);
    c->ureq = b;
    c->ureq_len = len;
}

/* ingress: the connection moves to the route of this request (its Host
 * and path, proxy_ingress.c); none answers 404 no-route. 0 when the
 * request goes on. */
static int ingress_route(struct pconn *c, const struct http1_req *q)
{
    size_t hl = 0;
    const char *host = http1_header(q->h, q->n_headers, "host", &hl);
    struct proxy_route *to = proxy_ingress_pick(c->rt->p, host, hl, q->target, q->target_len);
    int found = to != NULL;

    if (!to)
        to = c->rt->p->ingress; /* the answer names the ingress, not the last route */
    if (to && to != c->rt) {
        to->refs++;
        proxy_route_unref(c->rt);
        c->rt = to;
    }
    if (!found) {
        uv_read_stop((uv_stream_t *)&c->down);
        c->client_keep = q->keep_alive;
        reply(c, 404, "no-route", "no route has this host and path", c->client_keep);
        if (c->client_keep && !c->closing)
            next_request(c);
        return -1;
    }
    return 0;
}

/* RFC 9110's idempotent methods: sent again when the endpoint died before
 * answering. */
static int idempotent(const char *m, size_t len)
{
    static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", NULL};

    for (size_t i = 0; ok[i]; i++)
        if (strlen(ok[i]) == len && memcmp(ok[i], m, len) == 0)
            return 1;
    return 0;
}

/* A complete request is at the start of c->in (req_len bytes). */
static void serve_request(struct pconn *c, struct http1_req *q)
{
    struct proxy_route *rt = c->rt;
    const char *v;

    rt->requests++;
    rt->pub_requests++;
    uv_read_stop((uv_stream_t *)&c->down);
    c->client_keep = q->keep_alive;
    c->req_head = q->method_len == 4 && memcmp(q->method, "HEAD", 4) == 0;
    c->idempotent = idempotent(q->method, q->method_len);
    c->head_len = 0;
    c->head_done = 0;
    c->sent_any = 0;
    c->resp_complete = 0;
    c->resp_framed = 0;
    c->resp_has_length = 0;
    c->resp_chunked = 0;
    c->up_reusable = 0;
    c->attempts = 0;
    c->last_ep = -1;
    c->no_pool = 0;
    v = bal_version(&rt->bal, &rt->r, req_header, q);
    c->any_version = v == NULL;
    snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    build_request(c, q);
    uv_timer_start(&c->rtimer, on_rtimeout, rt->r.request_ms, 0);
    start_attempt(c);
}

static void try_request(struct pconn *c)
{
    struct http1_req q;
    long n;

    if (c->closing || c->state != PS_IDLE || c->in_len == 0)
        return;
    n = http1_parse_request(&q, c->in, c->in_len, NULL);
    if (n == 0)
        return;
    c->t_req = proxy_now(c->rt->p);
    c->version[0] = '\0';
    if (n < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", q.error ? q.error : "bad request");
        uv_read_stop((uv_stream_t *)&c->down);
        c->state = PS_DONE;
        reply(c, q.status ? q.status : 400, "bad-request", why, 0);
        return;
    }
    c->req_len = (size_t)n;
    if (c->ingress && ingress_route(c, &q) < 0)
        return;
    serve_request(c, &q);
}

/* The client's connection goes on to its next request. */
static void next_request(struct pconn *c)
{
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    c->state = PS_IDLE;
    resume_down(c);
    try_request(c);
}

/* ---- http: responses ---- */

/* The exchange of one request ended: the upstream goes back to the pool
 * when it can, and the client connection goes on to its next request when
 * the response's framing allows it, else it closes. */
static void response_done(struct pconn *c)
{
    uv_timer_stop(&c->rtimer);
    c->resp_complete = 1;
    ep_end(c, 1);
    detach_up(c, c->up_reusable);
    if (!c->client_keep || !c->resp_framed) {
        c->state = PS_DONE;
        c->close_after = 1;
        if (c->pending_writes == 0)
            pconn_close(c);
        return;
    }
    next_request(c);
}

/* The response head is in c->head (hl bytes): the client gets it without
 * hop-by-hop headers, with how many tries it took. */
static void send_head(struct pconn *c, const struct http1_resp *r, size_t hl,
                      const struct http1_framing *f)
{
    size_t cap = hl + 256, len = 0;
    uint8_t *b = xmalloc(cap);
    const uint8_t *eol = memchr(c->head, '\n', hl);
    char line[128];
    int n;

    /* the status line, in our own version: an HTTP/1.0 endpoint's answer
     * goes out as HTTP/1.1, framed by its length or by our close */
    append(&b, &len, &cap, "HTTP/1.1", 8);
    append(&b, &len, &cap, c->head + 8, (size_t)(eol - c->head) + 1 - 8);
    for (size_t i = 0; i < r->n_headers; i++) {
        const struct http1_header *h = &r->h[i];
        if (hop_by_hop(h->name, h->name_len) &&
            !(h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) &&
            !(h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0))
            continue;
        append(&b, &len, &cap, h->name, h->name_len);
        append(&b, &len, &cap, ": ", 2);
        append(&b, &len, &cap, h->value, h->value_len);
        append(&b, &len, &cap, "\r\n", 2);
    }
    c->resp_framed = f->no_body || c->req_head || f->chunked || f->has_length;
    n = snprintf(line, sizeof(line), "x-troupe-attempts: %u\r\n%s\r\n", c->attempts,
                 c->client_keep && c->resp_framed ? "" : "connection: close\r\n");
    append(&b, &len, &cap, line, (size_t)n);
    send_down(c, b, len);
    free(b);
    c->sent_any = 1;
}

/* Body bytes of the response: to the client, following the framing to
 * find the end. Bytes past the end make the upstream unfit for reuse. */
static void body_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    if (c->resp_chunked) {
        long k = http1_chunks_feed(&c->chunks, p, n);
        if (k < 0) {
            /* not chunked after all: passed on as it is, ended by the close */
            c->resp_chunked = 0;
            c->up_reusable = 0;
            send_down(c, p, n);
            return;
        }
        send_down(c, p, (size_t)k);
        if ((size_t)k < n)
            c->up_reusable = 0;
        if (http1_chunks_done(&c->chunks))
            response_done(c);
        return;
    }
    if (!c->resp_has_length) {
        send_down(c, p, n);
        return;
    }
    if (n > c->body_left) {
        n = (size_t)c->body_left; /* the endpoint sent more than it said: dropped */
        c->up_reusable = 0;
    }
    send_down(c, p, n);
    c->body_left -= n;
    if (c->body_left == 0)
        response_done(c);
}

/* A response to the request (the endpoint's or the proxy's own): counted
 * by the route, and by version and latency for /metrics (proxy_obs.c). */
static void count_status(struct pconn *c, int status)
{
    struct proxy_route *rt = c->rt;
    const char *v = c->version;
    int i;

    if (!v[0] && c->up && (i = bal_find(&rt->bal, c->ep_key)) >= 0)
        v = rt->bal.ep[i].version; /* no split: the version of the endpoint that answered */
    proxy_obs_response(rt, v, status, proxy_now(rt->p) - c->t_req);
    if (status >= 500)
        rt->resp_5xx++;
    else if (status >= 400)
        rt->resp_4xx++;
    else if (status >= 300)
        rt->resp_3xx++;
    else
        rt->resp_2xx++;
}

/* 1 when the upstream may serve another request after this response. */
static int reusable(const struct http1_resp *r, const struct http1_framing *f)
{
    size_t vl;
    const char *v = http1_header(r->h, r->n_headers, "connection", &vl);

    if (r->minor < 1 || !(f->no_body || f->chunked || f->has_length))
        return 0;
    for (size_t i = 0; v && i + 5 <= vl; i++)
        if (strncasecmp(v + i, "close", 5) == 0)
            return 0;
    return 1;
}

static void http_up_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    struct http1_limits lim = {HTTP1_HEADER_BYTES, SIZE_MAX / 2};
    struct http1_resp r;
    struct http1_framing f;
    size_t take, rest;
    uint8_t *tmp;
    long hl;

    if (c->head_done) {
        body_bytes(c, p, n);
        return;
    }
    take = n < sizeof(c->head) - c->head_len ? n : sizeof(c->head) - c->head_len;
    memcpy(c->head + c->head_len, p, take);
    c->head_len += take;
    memset(&f, 0, sizeof(f));
    hl = http1_parse_response_head(&r, c->head, c->head_len, 0, &lim, &f);
    if (hl == 0 && c->head_len < sizeof(c->head))
        return;
    if (hl <= 0) {
        ep_end(c, 0);
        detach_up(c, 0);
        c->state = PS_DONE;
        uv_timer_stop(&c->rtimer);
        reply(c, 502, "bad-response", "the endpoint's response is not HTTP/1.1", 0);
        return;
    }
    rest = c->head_len - (size_t)hl;
    tmp = rest ? xmemdup(c->head + hl, rest) : NULL;
    if (r.status >= 100 && r.status < 200) {
        /* an interim response (100 Continue): dropped, the final one follows */
        c->head_len = 0;
        if (rest)
            http_up_bytes(c, tmp, rest);
        free(tmp);
        if (take < n && !c->closing && c->up)
            http_up_bytes(c, p + take, n - take);
        return;
    }
    c->head_done = 1;
    count_status(c, r.status);
    ep_end(c, r.status < 500); /* the latency is the time to the head */
    send_head(c, &r, (size_t)hl, &f);
    c->up_reusable = reusable(&r, &f);
    if (f.no_body || c->req_head) {
        free(tmp);
        c->up_reusable = c->up_reusable && rest == 0 && take == n;
        response_done(c);
        return;
    }
    c->resp_chunked = f.chunked;
    memset(&c->chunks, 0, sizeof(c->chunks));
    c->resp_has_length = f.has_length && !f.chunked;
    c->body_left = f.content_length;
    if (c->resp_has_length && c->body_left == 0) {
        free(tmp);
        c->up_reusable = c->up_reusable && rest == 0 && take == n;
        response_done(c);
        return;
    }
    /* what came with the head, and what the rest of this read held */
    if (rest)
        body_bytes(c, tmp, rest);
    free(tmp);
    if (take < n && !c->resp_complete && !c->closing)
        body_bytes(c, p + take, n - take);
}

/* The upstream failed or ended (err: UV_EOF or an error) during the
 * request. */
static void up_failed(struct pconn *c, ssize_t err)
{
    struct pup *u = c->up;

    if (!c->is_http) {
        c->up_eof = 1;
        if (u)
            uv_read_stop((uv_stream_t *)&u->h);
        if (err == UV_EOF && !c->down_eof) {
            /* tcp half-close: the client gets our end once its queue is written */
            uv_shutdown_t *sr = xmalloc(sizeof(*sr));
            if (uv_shutdown(sr, (uv_stream_t *)&c->down, shutdown_cb) == 0)
                return;
            free(sr);
        }
        pconn_close(c);
        return;
    }
    if (c->resp_complete)
        return;
    if (!c->head_done && u && u->reused && !u->got_bytes) {
        /* a pooled connection the endpoint had closed: once more on a new one */
        ep_end(c, 1);
        detach_up(c, 0);
        c->attempts--;
        c->no_pool = 1;
        c->last_ep = -1;
        start_attempt(c);
        return;
    }
    if (!c->head_done) {
        ep_end(c, 0);
        detach_up(c, 0);
        if (c->idempotent && !c->sent_any && c->attempts < c->rt->r.attempts) {
            /* the endpoint died with the request: an idempotent one goes
             * to another endpoint (its whole text is in c->ureq) */
            c->rt->retries++;
            c->head_len = 0;
            start_attempt(c);
            return;
        }
        uv_timer_stop(&c->rtimer);
        c->state = PS_DONE;
        if (!c->sent_any)
            reply(c, 502, "upstream-reset", "the endpoint closed before answering", 0);
        else
            pconn_close(c);
        return;
    }
    if (err == UV_EOF && !c->resp_has_length && !c->resp_chunked) {
        c->up_reusable = 0;
        response_done(c); /* close-delimited: the end is the close */
        return;
    }
    pconn_close(c); /* shorter than its framing said */
}

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pup *u = s->data;
    struct pconn *c = u->c;

    if (c && !c->closing && c->up == u) {
        if (n > 0) {
            u->got_bytes = 1;
            if (!c->is_http)
                send_down(c, buf->base, (size_t)n);
            else if (!c->resp_complete)
                http_up_bytes(c, (const uint8_t *)buf->base, (size_t)n);
        } else if (n < 0) {
            up_failed(c, n);
        }
    }
    free(buf->base);
}

static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pconn *c = s->data;

    if (n > 0 && !c->closing) {
        if (!c->is_http) {
            send_up(c, buf->base, (size_t)n);
        } else if (c->in_len + (size_t)n > PCONN_IN_MAX) {
            uv_read_stop(s);
            c->state = PS_DONE;
            reply(c, 413, "too-large", "request larger than the proxy buffers", 0);
        } else {
            append(&c->in, &c->in_len, &c->in_cap, buf->base, (size_t)n);
            try_request(c);
        }
    } else if (n < 0 && !c->closing) {
        uv_read_stop(s);
        c->down_eof = 1;
        if (c->is_http || n != UV_EOF || c->up_eof || c->state != PS_STREAM || !c->up) {
            pconn_close(c);
        } else {
            uv_shutdown_t *sr = xmalloc(sizeof(*sr));
            if (uv_shutdown(sr, (uv_stream_t *)&c->up->h, shutdown_cb) < 0) {
                free(sr);
                pconn_close(c);
            }
        }
    }
    free(buf->base);
}

/* ---- accepting ---- */

void pconn_accept(struct proxy_route *rt)
{
    struct proxy *p = rt->p;
    uv_loop_t *loop = rt->listener.loop;
    struct pconn *c = xcalloc(1, sizeof(*c));
    const char *v;

    c->rt = rt;
    rt->refs++;
    rt->conns++;
    c->is_http = rt->r.protocol == ROUTE_HTTP;
    c->ingress = rt->ingress;
    if (!c->is_http)
        rt->pub_requests++; /* tcp: the connection is the request */
    c->last_ep = -1;
    uv_tcp_init(loop, &c->down);
    uv_timer_init(loop, &c->ctimer);
    uv_timer_init(loop, &c->rtimer);
    c->down.data = c->ctimer.data = c->rtimer.data = c;
    c->open_handles = 3;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->n_conns++;
    if (uv_accept((uv_stream_t *)&rt->listener, (uv_stream_t *)&c->down) < 0) {
        pconn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->down, 1);
    if (c->is_http) {
        c->state = PS_IDLE;
        resume_down(c);
        return;
    }
    /* tcp: one version per connection; the client is read once the endpoint is connected */
    v = bal_version(&rt->bal, &rt->r, NULL, NULL);
    c->any_version = v == NULL;
    snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    start_attempt(c);
}
