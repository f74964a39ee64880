/* httpd: HTTP/1.1 connections on libuv (see httpd.h). Owns the listener,
 * the connections and their input buffers, and what bounds them: the
 * connection limit and each connection's one timer, whose deadline is set
 * by the phase the connection is in (idle, headers, body, closing). One
 * request per connection is in flight at a time, so pipelined requests are
 * answered in order. With TLS (httpd_set_tls) a connection's bytes pass
 * through agent/api/tls in places marked "TLS:": what is read is decrypted
 * into the input buffer, what is written is encrypted, and the handshake's
 * own output is sent as it comes. */
#include "agent/api/httpd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/api/tls.h"
#include "agent/metrics.h"
#include "agent/log.h"
#include "core/http1.h"
#include "core/mem.h"

#define IN_MAX            (HTTP1_HEADER_BYTES + HTTP1_BODY_MAX + 4096)
#define EXTRA_HEADERS_MAX 1024
#define CLOSE_GRACE_MS    1000  /* for a last answer (408, 413) to be written */
#define TLS_READ_BYTES    65536 /* ciphertext read at once into httpd's one buffer */

/* What a connection's timer waits for. */
enum conn_phase {
    PH_NEW = 0,
    PH_IDLE,    /* no byte of a request yet: idle timeout; in h's idle list */
    PH_HEAD,    /* the request line and headers: header timeout */
    PH_BODY,    /* the body: body timeout */
    PH_HANDLER, /* the handler has the request: no timer */
    PH_CLOSING, /* a last answer is written, then the connection closes */
};

struct conn {
    struct conn *prev, *next;
    struct httpd *h;
    uv_tcp_t tcp;
    uv_timer_t timer;
    int open_handles;
    int closing;
    uint8_t *in;
    size_t in_len, in_cap;
    struct httpd_req *pending; /* the request being answered */
    int reading;
    enum conn_phase phase;
    struct conn *idle_prev, *idle_next; /* h->idle, most recently idle first */
    size_t head_scan;                   /* bytes of in searched for the headers' end */
    struct tls_conn *tls;               /* NULL: plain HTTP */
};

struct httpd_req {
    struct conn *c;  /* NULL once the connection is gone, or injected */
    httpd_sink sink; /* injected (httpd_inject): where the answer goes */
    void *sink_ud;
    uint8_t *in; /* then the connection's input, which r points into: freed here */
    struct http1_req r;
    size_t consumed; /* bytes of c->in the request takes */
    char method[17];
    char extra[EXTRA_HEADERS_MAX];
    size_t extra_len;
    uint64_t start_ns;                        /* when it was parsed */
    int tag;                                  /* the handler's (httpd_req_set_tag), -1 none */
    void (*on_respond)(void *ud, int status); /* httpd_req_on_respond */
    void *on_respond_ud;
};

struct write_req {
    uv_write_t w;
    struct conn *c;
    int close_after;
    size_t len;
    char data[];
};

struct httpd {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    httpd_handler handler;
    void *ud;
    httpd_observer observe; /* NULL: none */
    void *observe_ud;
    struct conn *conns;
    size_t n_conns;
    struct conn *idle, *idle_tail; /* PH_IDLE connections; the tail idled longest */
    struct httpd_limits lim;
    struct log_burst refused_log, evicted_log;
    int open_handles;
    int closing;
    void (*done)(void *);
    void *done_ud;
    struct httpd_stats stats;
    struct tls_server *tls; /* NULL: plain HTTP; not owned */
    uint8_t *tls_in;        /* TLS_READ_BYTES: each read's ciphertext, fed at once */
};

static void process(struct conn *c);

static void maybe_done(struct httpd *h)
{
    if (h->closing && h->open_handles == 0) {
        void (*done)(void *) = h->done;
        void *ud = h->done_ud;
        free(h->tls_in);
        free(h);
        if (done)
            done(ud);
    }
}

static void conn_handle_closed(uv_handle_t *hd)
{
    struct conn *c = hd->data;
    struct httpd *h = c->h;

    h->open_handles--;
    if (--c->open_handles == 0) {
        free(c->in);
        tls_conn_free(c->tls);
        free(c);
    }
    maybe_done(h);
}

static void idle_unlink(struct conn *c)
{
    struct httpd *h = c->h;

    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        h->idle = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        h->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

static void timeout_cb(uv_timer_t *t);

/* Moves c to phase p and sets its timer for it; nothing when c is in p
 * already, so that bytes trickling in never push a deadline back. */
static void set_phase(struct conn *c, enum conn_phase p)
{
    struct httpd *h = c->h;
    uint64_t ms = 0;

    if (c->phase == p)
        return;
    if (c->phase == PH_IDLE)
        idle_unlink(c);
    c->phase = p;
    switch (p) {
    case PH_IDLE:
        c->idle_next = h->idle;
        if (h->idle)
            h->idle->idle_prev = c;
        else
            h->idle_tail = c;
        h->idle = c;
        ms = h->lim.idle_timeout_ms;
        break;
    case PH_HEAD:
        c->head_scan = 0;
        ms = h->lim.header_timeout_ms;
        break;
    case PH_BODY:
        ms = h->lim.body_timeout_ms;
        break;
    case PH_CLOSING:
        ms = CLOSE_GRACE_MS;
        break;
    case PH_NEW:
    case PH_HANDLER:
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, timeout_cb, ms, 0);
}

static void conn_close(struct conn *c)
{
    struct httpd *h = c->h;

    if (c->closing)
        return;
    c->closing = 1;
    if (c->phase == PH_IDLE)
        idle_unlink(c);
    c->phase = PH_NEW;
    if (c->pending) {
        /* the handler still answers, reading the request until then; the
         * answer is dropped, and the input goes with the request */
        c->pending->c = NULL;
        c->pending->in = c->in;
        c->in = NULL;
        c->in_len = c->in_cap = 0;
    }
    c->pending = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
    h->stats.conns_open = h->n_conns;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void send_error(struct conn *c, int status, const char *msg);

static void timeout_cb(uv_timer_t *t)
{
    struct conn *c = t->data;

    switch (c->phase) {
    case PH_HEAD:
        c->h->stats.header_timeouts++;
        send_error(c, 408, "the request line and headers did not arrive in time");
        return;
    case PH_BODY:
        c->h->stats.body_timeouts++;
        send_error(c, 408, "the request body did not arrive in time");
        return;
    case PH_IDLE:
        c->h->stats.idle_timeouts++;
        break;
    default:
        break;
    }
    conn_close(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

static void written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct conn *c = wr->c;

    if (!c->closing && (status < 0 || wr->close_after))
        conn_close(c);
    free(wr);
}

/* TLS: sends what the session has to send (handshake, alerts, records);
 * closes the connection afterwards when close_after. */
static void tls_flush(struct conn *c, int close_after)
{
    size_t len = tls_conn_pending(c->tls);
    struct write_req *wr;
    uv_buf_t b;

    if (len == 0) {
        if (close_after)
            conn_close(c);
        return;
    }
    wr = xmalloc(sizeof(*wr) + len);
    wr->c = c;
    wr->close_after = close_after;
    wr->len = tls_conn_take(c->tls, wr->data, len);
    b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, written) < 0) {
        free(wr);
        conn_close(c);
    }
}

/* The bytes of an answer, in a write request (the caller frees it). */
static struct write_req *response_new(int status, const char *ctype, const char *extra,
                                      size_t extra_len, const void *body, size_t len,
                                      int close_after)
{
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: %s\r\n",
                      status, reason(status), ctype ? ctype : "text/plain", len,
                      close_after ? "close" : "keep-alive");
    struct write_req *wr = xmalloc(sizeof(*wr) + (size_t)hl + extra_len + 2 + len);

    wr->c = NULL;
    wr->close_after = close_after;
    memcpy(wr->data, head, (size_t)hl);
    memcpy(wr->data + hl, extra, extra_len);
    memcpy(wr->data + (size_t)hl + extra_len, "\r\n", 2);
    if (len)
        memcpy(wr->data + (size_t)hl + extra_len + 2, body, len);
    wr->len = (size_t)hl + extra_len + 2 + len;
    return wr;
}

static void send_response(struct conn *c, int status, const char *ctype, const char *extra,
                          size_t extra_len, const void *body, size_t len, int close_after)
{
    struct write_req *wr = response_new(status, ctype, extra, extra_len, body, len, close_after);
    uv_buf_t b;

    wr->c = c;
    if (c->tls) { /* TLS: the answer goes out encrypted */
        int rc = tls_conn_write(c->tls, wr->data, wr->len);
        free(wr);
        if (rc < 0) {
            conn_close(c);
            return;
        }
        if (close_after)
            tls_conn_shutdown(c->tls);
        tls_flush(c, close_after);
        return;
    }
    b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, written) < 0) {
        free(wr);
        conn_close(c);
    }
}

static void send_error(struct conn *c, int status, const char *msg)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
    c->h->stats.errors++;
    /* the last answer: nothing more is read, and it has a while to go out */
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    set_phase(c, PH_CLOSING);
    send_response(c, status, "application/json", "", 0, body, (size_t)n, 1);
}

static void in_grow(struct conn *c)
{
    /* never while a request is answered: it points into c->in (read_cb
     * stops reading when c->in is full then) */
    if (!c->pending && c->in_cap - c->in_len < 16384 && c->in_cap < IN_MAX) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
        if (cap > IN_MAX)
            cap = IN_MAX;
        c->in = xrealloc(c->in, cap);
        c->in_cap = cap;
    }
}

static void alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = hd->data;

    if (c->tls) { /* TLS: ciphertext, fed to the session in read_cb */
        if (!c->h->tls_in)
            c->h->tls_in = xmalloc(TLS_READ_BYTES);
        buf->base = (char *)c->h->tls_in;
        buf->len = TLS_READ_BYTES;
        return;
    }
    in_grow(c);
    buf->base = (char *)c->in + c->in_len;
    buf->len = c->in_cap - c->in_len;
}

/* TLS: decrypts what has arrived into c->in, as far as it has room (the
 * rest waits in the session, and reading pauses as for plain HTTP), and
 * sends what the handshake has to say. -1 when the session failed or the
 * peer closed it: the connection is closing then. */
static int tls_pull(struct conn *c)
{
    ssize_t n = 0;

    for (;;) {
        in_grow(c);
        if (c->in_len == c->in_cap)
            break;
        n = tls_conn_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
        if (n <= 0)
            break;
        c->in_len += (size_t)n;
    }
    if (n < 0) {
        if (n == -EPROTO) {
            c->h->stats.tls_failed++;
            log_debug("http", "TLS: %s", tls_conn_error(c->tls));
        }
        tls_flush(c, 1); /* an alert, or the close_notify answering the peer's */
        return -1;
    }
    tls_flush(c, 0);
    return 0;
}

/* Full while a request is answered: wait for the answer, since c->in
 * cannot grow then (a request still arriving keeps reading: alloc_cb grows
 * the buffer). */
static void pause_if_full(struct conn *c)
{
    if (!c->closing && c->pending && c->reading && c->in_len == c->in_cap) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;

    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->tls) { /* TLS: decrypt, then parse as plain HTTP */
        tls_conn_feed(c->tls, buf->base, (size_t)nread);
        if (tls_pull(c) < 0)
            return;
    } else {
        c->in_len += (size_t)nread;
    }
    if (!c->pending)
        process(c);
    pause_if_full(c);
}

/* 1 when the buffered request has its empty line (the end of the headers);
 * searches only what it has not searched before. */
static int headers_in(struct conn *c)
{
    size_t i = c->head_scan > 2 ? c->head_scan - 2 : 0;

    for (; i + 1 < c->in_len; i++)
        if (c->in[i] == '\n' &&
            (c->in[i + 1] == '\n' ||
             (c->in[i + 1] == '\r' && i + 2 < c->in_len && c->in[i + 2] == '\n')))
            return 1;
    c->head_scan = c->in_len;
    return 0;
}

static void process(struct conn *c)
{
    struct httpd *h = c->h;
    struct httpd_req *req;
    long n;

    if (c->closing || c->pending || c->phase == PH_CLOSING)
        return;
    if (c->tls && tls_pull(c) < 0) /* TLS: what waited while c->in was full */
        return;
    if (c->in_len == 0) {
        /* TLS: a handshake under way is timed as the headers are */
        set_phase(c, c->tls && tls_conn_handshaking(c->tls) ? PH_HEAD : PH_IDLE);
        return;
    }
    req = xcalloc(1, sizeof(*req));
    n = http1_parse_request(&req->r, c->in, c->in_len, NULL);
    if (n == 0) {
        free(req);
        if (c->in_len == c->in_cap && c->in_cap >= IN_MAX) {
            send_error(c, 413, "request too large");
            return;
        }
        if (c->phase != PH_HEAD && c->phase != PH_BODY)
            set_phase(c, PH_HEAD);
        if (c->phase == PH_HEAD && headers_in(c))
            set_phase(c, PH_BODY);
        if (!c->reading) {
            uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
            c->reading = 1;
        }
        return;
    }
    if (n < 0) {
        send_error(c, req->r.status, req->r.error);
        free(req);
        return;
    }
    set_phase(c, PH_HANDLER);
    h->stats.requests++;
    req->c = c;
    req->start_ns = metrics_now_ns();
    req->tag = -1;
    req->consumed = (size_t)n;
    memcpy(req->method, req->r.method, req->r.method_len < 16 ? req->r.method_len : 16);
    c->pending = req;
    h->handler(h->ud, req);
    pause_if_full(c); /* answered later, with pipelined requests behind it */
}

void httpd_respond(struct httpd_req *req, int status, const char *content_type, const void *body,
                   size_t len)
{
    struct conn *c = req->c;
    int close_after;

    if (req->on_respond)
        req->on_respond(req->on_respond_ud, status);
    if (req->sink) {
        struct write_req *wr = response_new(status, content_type, req->extra, req->extra_len, body,
                                            len, !req->r.keep_alive);
        req->sink(req->sink_ud, wr->data, wr->len);
        free(wr);
        free(req->in);
        free(req);
        return;
    }
    if (!c) {
        free(req->in);
        free(req);
        return;
    }
    close_after = !req->r.keep_alive || c->h->closing;
    if (c->h->observe)
        c->h->observe(c->h->observe_ud, req->tag, status,
                      (double)(metrics_now_ns() - req->start_ns) / 1e9);
    send_response(c, status, content_type, req->extra, req->extra_len, body, len, close_after);
    c->pending = NULL;
    if (!c->closing) {
        memmove(c->in, c->in + req->consumed, c->in_len - req->consumed);
        c->in_len -= req->consumed;
    }
    free(req->in); /* a failed send closed the connection */
    free(req);
    if (!close_after && !c->closing) {
        if (!c->reading) {
            uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
            c->reading = 1;
        }
        process(c);
    }
}

void httpd_req_set_tag(struct httpd_req *r, int tag)
{
    r->tag = tag;
}

void httpd_set_observer(struct httpd *h, httpd_observer fn, void *ud)
{
    h->observe = fn;
    h->observe_ud = ud;
}

void httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
    int n = snprintf(r->extra + r->extra_len, sizeof(r->extra) - r->extra_len, "%s: %s\r\n", name,
                     value);
    if (n > 0 && (size_t)n < sizeof(r->extra) - r->extra_len)
        r->extra_len += (size_t)n;
    else
        r->extra[r->extra_len] = '\0';
}

/* A connection refused: counted, and logged once per burst. */
static void refused(struct httpd *h, const char *why)
{
    unsigned long long held = 0;

    h->stats.conns_refused++;
    if (log_burst_due(&h->refused_log, uv_now(h->loop), &held))
        log_warn("api", "HTTP API: a connection refused: %s (%llu more since the last such line)",
                 why, held);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct httpd *h = server->data;
    struct conn *c;

    if (h->closing)
        return;
    if (status < 0) {
        /* libuv accepted and closed it: out of file descriptors (EMFILE) */
        refused(h, uv_strerror(status));
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    h->open_handles += 2;
    c->next = h->conns;
    if (c->next)
        c->next->prev = c;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (h->n_conns > h->lim.max_conns) {
        char why[96];
        unsigned long long held = 0;
        if (!h->idle_tail) {
            snprintf(why, sizeof(why), "%u open (--http-max-conns), none idle", h->lim.max_conns);
            refused(h, why);
            conn_close(c);
            return;
        }
        h->stats.conns_evicted++;
        if (log_burst_due(&h->evicted_log, uv_now(h->loop), &held))
            log_info("api",
                     "HTTP API: %u connections open (--http-max-conns): the one idle longest "
                     "closed to make room (%llu more since the last such line)",
                     h->lim.max_conns, held);
        conn_close(h->idle_tail);
    }
    h->stats.conns_accepted++;
    h->stats.conns_open = h->n_conns;
    uv_tcp_nodelay(&c->tcp, 1);
    if (h->tls && !(c->tls = tls_conn_new(h->tls))) { /* TLS: the session, accepting */
        conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    c->reading = 1;
    set_phase(c, PH_IDLE);
}

static void listener_closed(uv_handle_t *hd)
{
    struct httpd *h = hd->data;
    h->open_handles--;
    maybe_done(h);
}

int httpd_open(struct httpd **out, uv_loop_t *loop, const struct node_addr *addr,
               const struct httpd_limits *lim, httpd_handler handler, void *ud, struct err *e)
{
    struct httpd *h = xcalloc(1, sizeof(*h));
    struct sockaddr_storage ss;
    int rc;

    *out = NULL;
    h->loop = loop;
    h->lim = *lim;
    h->handler = handler;
    h->ud = ud;
    uv_tcp_init(loop, &h->tcp);
    h->tcp.data = h;
    h->open_handles = 1;
    node_addr_to_sockaddr(addr, &ss);
    if ((rc = uv_tcp_bind(&h->tcp, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&h->tcp, 511, on_connection)) < 0) {
        err_set(e, rc, "%s", uv_strerror(rc));
        httpd_close(h, NULL, NULL);
        return rc;
    }
    *out = h;
    return 0;
}

void httpd_set_tls(struct httpd *h, struct tls_server *tls)
{
    h->tls = tls;
}

void httpd_close(struct httpd *h, void (*done)(void *ud), void *ud)
{
    if (h->closing)
        return;
    h->closing = 1;
    h->done = done;
    h->done_ud = ud;
    while (h->conns)
        conn_close(h->conns);
    uv_close((uv_handle_t *)&h->tcp, listener_closed);
}

const char *httpd_req_method(const struct httpd_req *r)
{
    return r->method;
}

const char *httpd_req_path(const struct httpd_req *r)
{
    return r->r.path;
}

size_t httpd_req_path_len(const struct httpd_req *r)
{
    return r->r.path_len;
}

const char *httpd_req_query_raw(const struct httpd_req *r, size_t *len)
{
    *len = r->r.query_len;
    return r->r.query;
}

int httpd_req_query(const struct httpd_req *r, const char *name, char *out, size_t cap)
{
    return http1_query_get(r->r.query, r->r.query_len, name, out, cap);
}

const char *httpd_req_body(const struct httpd_req *r, size_t *len)
{
    *len = r->r.body_len;
    return (const char *)r->r.body;
}

int httpd_inject(struct httpd *h, const uint8_t *bytes, size_t len, httpd_sink sink, void *ud)
{
    struct httpd_req *req = xcalloc(1, sizeof(*req));
    long n;

    req->in = xmalloc(len ? len : 1);
    if (len)
        memcpy(req->in, bytes, len);
    n = http1_parse_request(&req->r, req->in, len, NULL);
    if (n <= 0) {
        int rc = n == 0 ? 0 : -1;
        if (n < 0) { /* answered as a connection would be, then closed */
            char body[256];
            int bl = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", req->r.error);
            struct write_req *wr =
                response_new(req->r.status, "application/json", "", 0, body, (size_t)bl, 1);
            h->stats.errors++;
            sink(ud, wr->data, wr->len);
            free(wr);
        }
        free(req->in);
        free(req);
        return rc;
    }
    h->stats.requests++;
    req->sink = sink;
    req->sink_ud = ud;
    memcpy(req->method, req->r.method, req->r.method_len < 16 ? req->r.method_len : 16);
    h->handler(h->ud, req);
    return 1;
}

const char *httpd_req_header(const struct httpd_req *r, const char *name, size_t *len)
{
    return http1_header(r->r.h, r->r.n_headers, name, len);
}

char *httpd_req_peer(const struct httpd_req *r, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];

    snprintf(out, cap, "?");
    if (!r->c || uv_tcp_getpeername(&r->c->tcp, (struct sockaddr *)&ss, &len) < 0)
        return out;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
    return out;
}

void httpd_req_on_respond(struct httpd_req *r, void (*fn)(void *ud, int status), void *ud)
{
    r->on_respond = fn;
    r->on_respond_ud = ud;
}

const struct httpd_stats *httpd_stats(const struct httpd *h)
{
    return &h->stats;
}

void httpd_write_metrics(const struct httpd *h, FILE *f)
{
    const struct httpd_stats *s = &h->stats;

    metrics_one(f, "troupe_api_parse_errors_total", "counter",
                "HTTP API requests refused before routing: malformed or over a limit.", s->errors);
    metrics_one(f, "troupe_api_connections_total", "counter", "HTTP API connections accepted.",
                s->conns_accepted);
    metrics_one(f, "troupe_api_connections_open", "gauge", "HTTP API connections open.",
                s->conns_open);
    metrics_one(f, "troupe_api_connections_refused_total", "counter",
                "HTTP API connections closed at once: over --http-max-conns with none idle, or "
                "out of file descriptors.",
                s->conns_refused);
    metrics_one(f, "troupe_api_connections_evicted_total", "counter",
                "Idle HTTP API connections closed to make room under --http-max-conns.",
                s->conns_evicted);
    metrics_one(f, "troupe_api_tls_failures_total", "counter",
                "HTTP API connections closed because their TLS failed (a handshake, plain HTTP "
                "to a TLS port, a bad record).",
                s->tls_failed);
    metrics_head(f, "troupe_api_timeouts_total", "counter",
                 "HTTP API connections closed by a timeout, by phase.");
    fprintf(f,
            "troupe_api_timeouts_total{phase=\"header\"} %llu\n"
            "troupe_api_timeouts_total{phase=\"body\"} %llu\n"
            "troupe_api_timeouts_total{phase=\"idle\"} %llu\n",
            (unsigned long long)s->header_timeouts, (unsigned long long)s->body_timeouts,
            (unsigned long long)s->idle_timeouts);
}
