/* proxy_conn: one client connection of a route's listener, and its
 * upstream. In tcp mode the bytes pass both ways as they come (with
 * half-close); in http mode each request is parsed with core/http1, sent to
 * an endpoint of the version the balancer picks, and the response streamed
 * back. Backpressure both ways: a side whose peer has more than
 * PCONN_QUEUE_HIGH bytes queued is not read until the queue drains.
 *
 * What an upstream connection carries in http mode: one request, with
 * "connection: close" (no pool of upstream connections yet); the response
 * ends when the upstream closes or its content-length is reached. The
 * client's connection stays open between requests when the response's
 * framing allows it. A request body is buffered whole (core/http1, at most
 * 1 MiB); a response body is streamed. A connect failure or timeout is
 * retried on another endpoint (route retries.attempts); when nothing was
 * sent to the client yet, failures answer with a status and an
 * x-troupe-reason header (no-endpoints, connect-failed, timeout,
 * upstream-reset). */
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

enum pstate {
    PS_IDLE = 0,   /* http: waiting for a request */
    PS_CONNECT,    /* connecting upstream */
    PS_STREAM,     /* tcp: splicing; http: request sent, response coming */
    PS_DONE,       /* closing */
};

struct pconn {
    struct pconn *next, *prev; /* the proxy's list */
    struct proxy_route *rt;
    uv_tcp_t down;   /* the client */
    uv_tcp_t up;     /* the endpoint */
    uv_connect_t creq;
    uv_timer_t ctimer; /* connect timeout */
    uv_timer_t rtimer; /* http: whole request timeout */
    int open_handles;
    int up_init;       /* up initialized and not yet closed */
    int closing;
    enum pstate state;
    int is_http;

    /* the endpoint of this request */
    char ep_key[BAL_KEY_MAX];
    int ep_busy;        /* counted as outstanding in the balancer */
    char version[ROUTE_VERSION_MAX + 1];
    int any_version;
    int last_ep;        /* index tried last, skipped on the retry */
    uint32_t attempts;
    uint64_t t_start, t_connected;
    int connect_failed; /* the attempt in flight failed (connect cb or timeout) */

    /* tcp: who has ended its side */
    int down_eof, up_eof;

    /* http */
    uint8_t *in; /* client bytes (heap), in_len of in_cap */
    size_t in_len, in_cap;
    size_t req_len;       /* bytes of the request being served */
    int req_head;         /* HEAD: the response has no body */
    int client_keep;      /* the client wants keep-alive */
    uint8_t *ureq;        /* the request as sent upstream (heap) */
    size_t ureq_len;
    uint8_t head[HTTP1_HEADER_BYTES]; /* response head while it comes in */
    size_t head_len;
    int head_done;
    int sent_any;         /* bytes of a response went to the client */
    int resp_framed;      /* content-length or chunked: the client connection can stay */
    int resp_has_length;
    uint64_t body_left;   /* with content-length: bytes still to come */
    int resp_complete;
    int close_after;      /* close the client once what is queued is written */
    int pending_writes;   /* writes to the client not yet called back */
};

struct wreq {
    uv_write_t w;
    struct pconn *c;
    size_t len;
    char data[];
};

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void try_request(struct pconn *c);
static void start_attempt(struct pconn *c);
static void resume(struct pconn *c, uv_stream_t *from);

struct pconn *pconn_next(struct pconn *c)
{
    return c->next;
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
    i = bal_find(&c->rt->bal, c->ep_key);
    if (i >= 0 && bal_end(&c->rt->bal, i, ok, (uint32_t)(end - c->t_start), now))
        log_info("proxy", "route %s: endpoint %s ejected", c->rt->r.name, c->ep_key);
}

static void close_handle(struct pconn *c, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
    (void)c;
}

static void pconn_close(struct pconn *c)
{
    struct proxy *p = c->rt->p;

    if (c->closing)
        return;
    c->closing = 1;
    c->state = PS_DONE;
    ep_end(c, 1); /* the client went away, or the exchange ended: not the endpoint's fault */
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->n_conns--;
    close_handle(c, (uv_handle_t *)&c->down);
    close_handle(c, (uv_handle_t *)&c->ctimer);
    close_handle(c, (uv_handle_t *)&c->rtimer);
    if (c->up_init) {
        c->up_init = 0;
        close_handle(c, (uv_handle_t *)&c->up);
    }
}

void pconn_abort(struct pconn *c)
{
    pconn_close(c);
}

/* ---- writing ---- */

static uv_stream_t *other(struct pconn *c, uv_stream_t *s)
{
    return s == (uv_stream_t *)&c->down ? (uv_stream_t *)&c->up : (uv_stream_t *)&c->down;
}

static int reading_allowed(struct pconn *c, uv_stream_t *from)
{
    if (c->closing)
        return 0;
    if (from == (uv_stream_t *)&c->up)
        return c->up_init && !c->up_eof && c->state == PS_STREAM;
    /* the client: tcp while splicing; http only between requests */
    return !c->down_eof && (c->is_http ? c->state == PS_IDLE : c->state == PS_STREAM);
}

static void write_cb(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct pconn *c = r->c;
    uv_stream_t *to = w->handle;

    free(r);
    if (to == (uv_stream_t *)&c->down)
        c->pending_writes--;
    if (c->closing || uv_is_closing((uv_handle_t *)to))
        return; /* a write cancelled by a close */
    if (status < 0) {
        pconn_close(c);
        return;
    }
    if (to == (uv_stream_t *)&c->down && c->close_after && c->pending_writes == 0) {
        pconn_close(c);
        return;
    }
    /* the queue drained: read the side that feeds it again */
    if (to->write_queue_size < PCONN_QUEUE_HIGH / 2) {
        uv_stream_t *from = other(c, to);
        resume(c, from);
    }
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(PCONN_READ_BYTES);
    buf->len = buf->base ? PCONN_READ_BYTES : 0;
}

static void resume(struct pconn *c, uv_stream_t *from)
{
    uv_read_cb cb = from == (uv_stream_t *)&c->up ? up_read_cb : down_read_cb;

    if (reading_allowed(c, from))
        uv_read_start(from, alloc_cb, cb);
}

/* Queues len bytes to `to` (copied); stops reading the other side when to's
 * queue is long. */
static void send_bytes(struct pconn *c, uv_stream_t *to, const void *data, size_t len)
{
    struct wreq *r;
    uv_buf_t b;

    if (c->closing || len == 0)
        return;
    r = xmalloc(sizeof(*r) + len);
    r->c = c;
    r->len = len;
    memcpy(r->data, data, len);
    b = uv_buf_init(r->data, (unsigned)len);
    if (uv_write(&r->w, to, &b, 1, write_cb) < 0) {
        free(r);
        pconn_close(c);
        return;
    }
    if (to == (uv_stream_t *)&c->down)
        c->pending_writes++;
    if (to->write_queue_size > PCONN_QUEUE_HIGH &&
        (to == (uv_stream_t *)&c->up || c->up_init))
        uv_read_stop(other(c, to));
}

/* An answer of the proxy itself; the connection closes after it unless
 * keep (the client may send its next request). */
static void reply(struct pconn *c, int status, const char *reason, const char *why, int keep)
{
    char buf[512];
    const char *text = status == 503 ? "Service Unavailable"
                       : status == 504 ? "Gateway Timeout"
                       : status == 502 ? "Bad Gateway"
                                       : "Bad Request";
    char body[256];
    int bl = snprintf(body, sizeof(body), "%s: route %s\n", why, c->rt->r.name);
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                     "x-troupe-reason: %s\r\n%s\r\n%s",
                     status, text, bl, reason, keep ? "" : "connection: close\r\n", body);

    if (status >= 500)
        c->rt->resp_5xx++;
    else
        c->rt->resp_4xx++;
    send_bytes(c, (uv_stream_t *)&c->down, buf, (size_t)n);
    c->sent_any = 1;
    if (!keep)
        c->close_after = 1;
}

/* ---- upstream connection ---- */

static void up_closed_retry(uv_handle_t *h);

static void attempt_failed(struct pconn *c)
{
    struct proxy_route *rt = c->rt;

    rt->connect_failures++;
    ep_end(c, 0);
    uv_timer_stop(&c->ctimer);
    c->connect_failed = 1;
    if (c->up_init) {
        c->up_init = 0;
        uv_close((uv_handle_t *)&c->up, up_closed_retry);
    }
}

/* The failed attempt's handle is closed: try another endpoint, or give up. */
static void up_closed_retry(uv_handle_t *h)
{
    struct pconn *c = h->data;

    if (--c->open_handles == 0) {
        release(c);
        return;
    }
    if (c->closing)
        return;
    if (c->attempts < c->rt->r.attempts) {
        c->rt->retries++;
        start_attempt(c);
        return;
    }
    if (c->is_http)
        reply(c, 502, "connect-failed", "no endpoint accepted the connection", 0);
    else
        pconn_close(c);
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
    if (!c->sent_any)
        reply(c, 504, "timeout", "the endpoint did not answer in time", 0);
    else
        pconn_close(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct pconn *c = req->data;

    if (c->closing || c->connect_failed || status == UV_ECANCELED)
        return;
    if (status < 0) {
        attempt_failed(c);
        return;
    }
    uv_timer_stop(&c->ctimer);
    c->t_connected = proxy_now(c->rt->p);
    c->state = PS_STREAM;
    uv_tcp_nodelay(&c->up, 1);
    if (c->is_http) {
        send_bytes(c, (uv_stream_t *)&c->up, c->ureq, c->ureq_len);
        resume(c, (uv_stream_t *)&c->up);
    } else {
        resume(c, (uv_stream_t *)&c->up);
        resume(c, (uv_stream_t *)&c->down);
    }
}

static void start_attempt(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    uint64_t now = proxy_now(rt->p);
    int i = bal_pick(&rt->bal, c->any_version ? NULL : c->version, c->last_ep, now);
    int rc;

    /* a retry with no other endpoint of the version: another of any version, else the same */
    if (i < 0 && c->attempts > 0)
        i = bal_pick(&rt->bal, NULL, c->last_ep, now);
    if (i < 0 && c->attempts > 0)
        i = bal_pick(&rt->bal, NULL, -1, now);
    if (i < 0) {
        rt->no_endpoints++;
        uv_timer_stop(&c->rtimer);
        if (c->is_http)
            reply(c, 503, "no-endpoints", "no passing instance", c->client_keep);
        else
            pconn_close(c);
        if (c->is_http && c->client_keep && !c->closing) {
            /* the next request may follow on the same connection */
            memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
            c->in_len -= c->req_len;
            c->req_len = 0;
            c->state = PS_IDLE;
            c->sent_any = 0;
            resume(c, (uv_stream_t *)&c->down);
            try_request(c);
        }
        return;
    }
    c->attempts++;
    c->last_ep = i;
    snprintf(c->ep_key, sizeof(c->ep_key), "%s", rt->bal.ep[i].key);
    bal_begin(&rt->bal, i);
    c->ep_busy = 1;
    c->t_start = now;
    c->connect_failed = 0;
    c->state = PS_CONNECT;
    uv_tcp_init(c->down.loop, &c->up);
    c->up.data = c;
    c->up_init = 1;
    c->open_handles++;
    c->up_eof = 0;
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->up, (const struct sockaddr *)&rt->addrs[i], on_connect);
    if (rc < 0) {
        attempt_failed(c);
        return;
    }
    uv_timer_start(&c->ctimer, on_ctimeout, rt->r.connect_ms, 0);
}

/* ---- http: requests and responses ---- */

static int hop_by_hop(const char *name, size_t len)
{
    static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                      "trailer", "transfer-encoding", "upgrade",
                                      "content-length", "expect", NULL};

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

/* Builds the upstream request of q into c->ureq. */
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
    append(&b, &len, &cap, "connection: close\r\n\r\n", 21);
    if (q->body_len)
        append(&b, &len, &cap, q->body, q->body_len);
    free(c->ureq);
    c->ureq = b;
    c->ureq_len = len;
}

/* A complete request is at the start of c->in (req_len bytes). */
static void serve_request(struct pconn *c, struct http1_req *q)
{
    struct proxy_route *rt = c->rt;
    const char *v;

    rt->requests++;
    uv_read_stop((uv_stream_t *)&c->down);
    c->client_keep = q->keep_alive;
    c->req_head = q->method_len == 4 && memcmp(q->method, "HEAD", 4) == 0;
    c->head_len = 0;
    c->head_done = 0;
    c->sent_any = 0;
    c->resp_complete = 0;
    c->resp_framed = 0;
    c->resp_has_length = 0;
    c->attempts = 0;
    c->last_ep = -1;
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
    if (n < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", q.error ? q.error : "bad request");
        uv_read_stop((uv_stream_t *)&c->down);
        c->state = PS_DONE;
        reply(c, q.status ? q.status : 400, "bad-request", why, 0);
        return;
    }
    c->req_len = (size_t)n;
    serve_request(c, &q);
}

static void next_request(struct pconn *c)
{
    c->state = PS_IDLE;
    resume(c, (uv_stream_t *)&c->down);
    try_request(c);
}

static void up_closed_next(uv_handle_t *h)
{
    struct pconn *c = h->data;

    if (--c->open_handles == 0) {
        release(c);
        return;
    }
    if (!c->closing)
        next_request(c);
}

/* The exchange of one request ended; the client connection goes on to its
 * next request when the response's framing allows it, else it closes. */
static void response_done(struct pconn *c)
{
    uv_timer_stop(&c->rtimer);
    c->resp_complete = 1;
    ep_end(c, 1);
    if (!c->client_keep || !c->resp_framed) {
        c->state = PS_DONE;
        c->close_after = 1;
        if (c->pending_writes == 0)
            pconn_close(c);
        return;
    }
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    c->state = PS_DONE; /* until the upstream handle is closed: it is reused */
    if (c->up_init) {
        c->up_init = 0;
        uv_close((uv_handle_t *)&c->up, up_closed_next);
    } else {
        next_request(c);
    }
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
    send_bytes(c, (uv_stream_t *)&c->down, b, len);
    free(b);
    c->sent_any = 1;
}

/* Body bytes of the response: to the client, counting a content-length. */
static void body_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    if (c->resp_has_length && n > c->body_left)
        n = (size_t)c->body_left; /* the endpoint sent more than it said: dropped */
    send_bytes(c, (uv_stream_t *)&c->down, p, n);
    if (c->resp_has_length) {
        c->body_left -= n;
        if (c->body_left == 0)
            response_done(c);
    }
}

static void count_status(struct proxy_route *rt, int status)
{
    if (status >= 500)
        rt->resp_5xx++;
    else if (status >= 400)
        rt->resp_4xx++;
    else if (status >= 300)
        rt->resp_3xx++;
    else
        rt->resp_2xx++;
}

static void http_up_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    struct http1_limits lim = {HTTP1_HEADER_BYTES, SIZE_MAX / 2};
    struct http1_resp r;
    struct http1_framing f;
    size_t take;
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
        reply(c, 502, "bad-response", "the endpoint's response is not HTTP/1.1", 0);
        return;
    }
    if (r.status >= 100 && r.status < 200) {
        /* an interim response (100 Continue): dropped, the final one follows */
        size_t rest = c->head_len - (size_t)hl;
        uint8_t *tmp = rest ? xmemdup(c->head + hl, rest) : NULL;
        c->head_len = 0;
        if (rest)
            http_up_bytes(c, tmp, rest);
        free(tmp);
        if (take < n && !c->closing)
            http_up_bytes(c, p + take, n - take);
        return;
    }
    c->head_done = 1;
    count_status(c->rt, r.status);
    ep_end(c, r.status < 500); /* the latency is the time to the head */
    send_head(c, &r, (size_t)hl, &f);
    if (f.no_body || c->req_head) {
        response_done(c);
        return;
    }
    c->resp_has_length = f.has_length && !f.chunked;
    c->body_left = f.content_length;
    if (c->resp_has_length && c->body_left == 0) {
        response_done(c);
        return;
    }
    /* what came with the head, and what the rest of this read held */
    {
        size_t in_head = c->head_len - (size_t)hl;
        uint8_t *tmp = in_head ? xmemdup(c->head + hl, in_head) : NULL;
        if (in_head)
            body_bytes(c, tmp, in_head);
        free(tmp);
    }
    if (take < n && !c->resp_complete && !c->closing)
        body_bytes(c, p + take, n - take);
}

/* ---- reading ---- */

static void shutdown_cb(uv_shutdown_t *r, int status)
{
    (void)status;
    free(r);
}

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pconn *c = s->data;

    if (n > 0 && !c->closing) {
        if (c->is_http) {
            if (!c->resp_complete)
                http_up_bytes(c, (const uint8_t *)buf->base, (size_t)n);
        } else {
            send_bytes(c, (uv_stream_t *)&c->down, buf->base, (size_t)n);
        }
    } else if (n < 0 && !c->closing) {
        uv_read_stop(s);
        c->up_eof = 1;
        if (!c->is_http) {
            /* tcp half-close: the client gets our end once the queue is written */
            uv_shutdown_t *sr = xmalloc(sizeof(*sr));
            if (n != UV_EOF || c->down_eof ||
                uv_shutdown(sr, (uv_stream_t *)&c->down, shutdown_cb) < 0) {
                free(sr);
                pconn_close(c);
            }
        } else if (c->resp_complete) {
            /* nothing more was expected */
        } else if (!c->head_done) {
            ep_end(c, 0);
            if (!c->sent_any)
                reply(c, 502, "upstream-reset", "the endpoint closed before answering", 0);
            else
                pconn_close(c);
        } else if (c->resp_has_length) {
            pconn_close(c); /* shorter than its content-length */
        } else {
            response_done(c); /* chunked or close-delimited: the end is the close */
        }
    }
    free(buf->base);
}

static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pconn *c = s->data;

    if (n > 0 && !c->closing) {
        if (c->is_http) {
            if (c->in_len + (size_t)n > PCONN_IN_MAX) {
                uv_read_stop(s);
                c->state = PS_DONE;
                reply(c, 413, "too-large", "request larger than the proxy buffers", 0);
            } else {
                append(&c->in, &c->in_len, &c->in_cap, buf->base, (size_t)n);
                try_request(c);
            }
        } else {
            send_bytes(c, (uv_stream_t *)&c->up, buf->base, (size_t)n);
        }
    } else if (n < 0 && !c->closing) {
        uv_read_stop(s);
        c->down_eof = 1;
        if (c->is_http || n != UV_EOF || c->up_eof || c->state != PS_STREAM) {
            pconn_close(c);
        } else {
            uv_shutdown_t *sr = xmalloc(sizeof(*sr));
            if (uv_shutdown(sr, (uv_stream_t *)&c->up, shutdown_cb) < 0) {
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

    c->rt = rt;
    rt->refs++;
    rt->conns++;
    c->is_http = rt->r.protocol == ROUTE_HTTP;
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
        resume(c, (uv_stream_t *)&c->down);
        return;
    }
    /* tcp: the client is read once the endpoint is connected */
    c->any_version = 1;
    {
        const char *v = bal_version(&rt->bal, &rt->r, NULL, NULL);
        c->any_version = v == NULL;
        snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    }
    start_attempt(c);
}
