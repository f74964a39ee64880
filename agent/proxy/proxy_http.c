/* proxy_http: http mode of a proxied connection. Each request's head is
 * parsed with core/http1, the request goes to an endpoint of the version
 * the balancer picks, its body is streamed up as it comes (content-length
 * or chunked, passed on as it is), and the response streamed back. Neither
 * body is ever held whole: backpressure (proxy_conn.c) bounds what is in
 * flight.
 *
 * On the way up: hop-by-hop headers (and those the connection header
 * names) are removed, x-forwarded-for gets the client's address,
 * x-forwarded-proto is set when absent, traceparent carries the caller's
 * trace with a new span id (a new trace when there was none), x-request-id
 * is kept or made. "expect: 100-continue" goes to the endpoint and its
 * 100 comes back; an upgrade request (websocket) answered 101 turns the
 * connection into a byte stream both ways (proxy_tcp.c).
 *
 * Retries: a connect failure, a reset before any response byte, or a 502
 * or 503 for an idempotent method whose body was not streamed yet, is
 * tried again on another endpoint within the route's attempts and retry
 * budget; the response says how many tries it took (x-troupe-attempts).
 *
 * Upstream connections are kept alive and pooled per route and endpoint
 * when the response allows it (HTTP/1.1, no "connection: close", framed by
 * content-length or chunked and read to its end), and closed after the
 * route's timeouts.upstream_idle_ms idle; an idempotent request on a
 * pooled connection the endpoint closed meanwhile goes once more on a new
 * one (another request gets 502: it may have been applied). The client's
 * connection stays open between requests when the framing allows it. A
 * route with an access_log writes one JSON line per request. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/log.h"
#include "agent/proxy/pconn.h"
#include "core/mem.h"

static int ieq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* 1 when the comma-separated list v holds tok (case-insensitive). */
static int has_token(const char *v, size_t vl, const char *tok, size_t tl)
{
    size_t i = 0;

    while (i < vl) {
        size_t s, e;
        while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < vl && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Hop-by-hop headers (RFC 9110 7.6.1), and framing the proxy writes. */
static int hop_by_hop(const char *name, size_t len)
{
    static const char *const hop[] = {"connection", "keep-alive",     "proxy-connection",
                                      "te",         "trailer",        "transfer-encoding",
                                      "upgrade",    "content-length", NULL};

    for (size_t i = 0; hop[i]; i++)
        if (ieq(name, len, hop[i]))
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

static void append_str(uint8_t **buf, size_t *len, size_t *cap, const char *s)
{
    append(buf, len, cap, s, strlen(s));
}

static void append_header(uint8_t **b, size_t *len, size_t *cap, const char *name, size_t nl,
                          const char *value, size_t vl)
{
    append(b, len, cap, name, nl);
    append(b, len, cap, ": ", 2);
    append(b, len, cap, value, vl);
    append(b, len, cap, "\r\n", 2);
}

static const char *req_header(void *ud, const char *name, size_t *len)
{
    const struct http1_req *q = ud;

    return http1_header(q->h, q->n_headers, name, len);
}

/* splitmix64: ids that need to be unique, not secret */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void random_bytes(struct proxy_route *rt, uint8_t *out, size_t n)
{
    while (n) {
        uint64_t v = rng_next(&rt->rng);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
}

/* c->trace: the caller's trace with a new span, or a new trace. */
static void next_trace(struct pconn *c, const struct http1_req *q)
{
    uint8_t rnd[TRACE_RANDOM];
    struct trace in;
    size_t vl;
    const char *v = http1_header(q->h, q->n_headers, "traceparent", &vl);

    random_bytes(c->rt, rnd, sizeof(rnd));
    trace_next(&c->trace, v && trace_parse(&in, v, vl) == 0 ? &in : NULL, rnd);
}

/* c->request_id: the caller's x-request-id (up to 64 bytes), or a new one. */
static const char *request_id(struct pconn *c, const struct http1_req *q, int *made)
{
    static const char digits[] = "0123456789abcdef";
    size_t vl;
    const char *v = http1_header(q->h, q->n_headers, "x-request-id", &vl);
    uint8_t rnd[16];

    *made = !v || vl == 0;
    if (!*made) {
        vl = vl < sizeof(c->request_id) - 1 ? vl : sizeof(c->request_id) - 1;
        memcpy(c->request_id, v, vl);
        c->request_id[vl] = '\0';
        return c->request_id;
    }
    random_bytes(c->rt, rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++) {
        c->request_id[2 * i] = digits[rnd[i] >> 4];
        c->request_id[2 * i + 1] = digits[rnd[i] & 15];
    }
    c->request_id[2 * sizeof(rnd)] = '\0';
    return c->request_id;
}

/* Builds the head sent upstream into c->ureq: HTTP/1.1, keep-alive, the
 * body's framing as the client sent it, hop-by-hop headers removed, the
 * forwarding and tracing headers written. */
static void build_request(struct pconn *c, const struct http1_req *q, const struct http1_framing *f)
{
    size_t cap = c->ureq_cap, len = 0, conn_len = 0, up_len = 0, xff_len = 0;
    const char *conn = http1_header(q->h, q->n_headers, "connection", &conn_len);
    const char *up = http1_header(q->h, q->n_headers, "upgrade", &up_len);
    const char *xff = http1_header(q->h, q->n_headers, "x-forwarded-for", &xff_len);
    uint8_t *b = c->ureq; /* its room is kept from one request to the next */
    char line[160], tp[TRACE_HEADER_LEN + 1];
    int made, n;
    const char *rid = request_id(c, q, &made);

    append(&b, &len, &cap, q->method, q->method_len);
    append(&b, &len, &cap, " ", 1);
    append(&b, &len, &cap, q->target, q->target_len);
    append_str(&b, &len, &cap, " HTTP/1.1\r\n");
    for (size_t i = 0; i < q->n_headers; i++) {
        const struct http1_header *h = &q->h[i];
        if (hop_by_hop(h->name, h->name_len) || ieq(h->name, h->name_len, "x-forwarded-for") ||
            ieq(h->name, h->name_len, "traceparent") ||
            (conn && has_token(conn, conn_len, h->name, h->name_len)))
            continue;
        append_header(&b, &len, &cap, h->name, h->name_len, h->value, h->value_len);
    }
    if (f->chunked) {
        append_str(&b, &len, &cap, "transfer-encoding: chunked\r\n");
    } else if (f->has_length) {
        n = snprintf(line, sizeof(line), "content-length: %zu\r\n", f->content_length);
        append(&b, &len, &cap, line, (size_t)n);
    }
    if (c->upgrade) {
        append_str(&b, &len, &cap, "connection: upgrade\r\n");
        append_header(&b, &len, &cap, "upgrade", 7, up, up_len);
    }
    if (xff || c->peer[0]) {
        append_str(&b, &len, &cap, "x-forwarded-for: ");
        if (xff)
            append(&b, &len, &cap, xff, xff_len);
        if (xff && c->peer[0])
            append(&b, &len, &cap, ", ", 2);
        append_str(&b, &len, &cap, c->peer);
        append(&b, &len, &cap, "\r\n", 2);
    }
    if (!http1_header(q->h, q->n_headers, "x-forwarded-proto", NULL))
        append_str(&b, &len, &cap, "x-forwarded-proto: http\r\n");
    next_trace(c, q);
    trace_format(&c->trace, tp);
    n = snprintf(line, sizeof(line), "traceparent: %s\r\n", tp);
    append(&b, &len, &cap, line, (size_t)n);
    if (made) {
        n = snprintf(line, sizeof(line), "x-request-id: %s\r\n", rid);
        append(&b, &len, &cap, line, (size_t)n);
    }
    append(&b, &len, &cap, "\r\n", 2);
    c->ureq = b;
    c->ureq_len = len;
    c->ureq_cap = cap;
}

static int idempotent(const char *m, size_t n)
{
    return ieq(m, n, "GET") || ieq(m, n, "HEAD") || ieq(m, n, "OPTIONS") || ieq(m, n, "PUT") ||
           ieq(m, n, "DELETE") || ieq(m, n, "TRACE");
}

/* Drops the first n bytes the client sent (used, or passed on). */
static void consume(struct pconn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* ---- the access log ---- */

static FILE *access_log(struct proxy_route *rt)
{
    if (strcmp(rt->access_log_path, rt->r.access_log) == 0)
        return rt->access_log; /* open, or failed to open: said once */
    if (rt->access_log)
        fclose(rt->access_log);
    snprintf(rt->access_log_path, sizeof(rt->access_log_path), "%s", rt->r.access_log);
    rt->access_log = fopen(rt->access_log_path, "ae");
    if (!rt->access_log) {
        log_warn("proxy", "route %s: cannot open the access log %s: %m", rt->r.name,
                 rt->access_log_path);
        return NULL;
    }
    setvbuf(rt->access_log, NULL, _IOLBF, 0);
    return rt->access_log;
}

/* Printable ASCII only, so that the line is JSON whatever the client sent. */
static void ascii(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
            *s = '?';
}

static void write_access_log(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    FILE *f = access_log(rt);
    uint64_t now = proxy_now(rt->p);
    struct timespec ts;
    struct tm tm;
    char when[40], trace_id[33], *line;
    int i = bal_find(&rt->bal, c->ep_key);
    json_t *o;

    if (!f)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
    trace_id_hex(&c->trace, trace_id);
    ascii(c->request_id);
    if (c->path)
        ascii(c->path);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:i, s:s, s:s}", "time",
                  when, "route", rt->r.name, "version", i >= 0 ? rt->bal.ep[i].version : c->version,
                  "endpoint", c->ep_key, "method", c->method, "path", c->path ? c->path : "",
                  "status", c->status, "bytes_in", (json_int_t)c->body_sent, "bytes",
                  (json_int_t)c->bytes_out, "duration_ms", (json_int_t)(now - c->t_request),
                  "upstream_ms", (json_int_t)(c->t_head ? c->t_head - c->t_start : 0), "attempts",
                  (int)c->attempts, "trace_id", trace_id, "request_id", c->request_id);
    line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line)
        fprintf(f, "%s\n", line);
    free(line);
    json_decref(o);
}

void phttp_request_end(struct pconn *c)
{
    if (!c->in_request)
        return;
    c->in_request = 0;
    pconn_slot_give(c);
    if (c->rt->r.access_log[0])
        write_access_log(c);
}

/* ---- requests ---- */

int phttp_wants_down(struct pconn *c)
{
    if (c->state == PS_IDLE)
        return 1;
    if (!c->in_request)
        return 0;
    /* the request's body: read when it can go on, with nothing of it left */
    if (!c->req_body_done)
        return c->state == PS_STREAM && c->up && c->in_len == 0;
    /* else the client stays read (stopping and starting reads costs system
     * calls per request): the next request may come early, or its end */
    return c->in_len < HTTP1_HEADER_BYTES;
}

/* Passes on what the client sent of the request's body, up to its end;
 * what follows the end is the next request, read once this one is over. */
static void pump_body(struct pconn *c)
{
    size_t k;

    if (c->req_body_done || c->state != PS_STREAM || !c->up || c->in_len == 0)
        return;
    if (c->req_chunked) {
        long r = http1_chunks_feed(&c->req_chunks, c->in, c->in_len);
        if (r < 0) {
            /* not chunked after all: the endpoint has part of it, so no answer fits */
            pconn_close(c);
            return;
        }
        k = (size_t)r;
        c->req_body_done = http1_chunks_done(&c->req_chunks);
    } else {
        k = c->in_len < c->req_left ? c->in_len : (size_t)c->req_left;
        c->req_left -= k;
        c->req_body_done = c->req_left == 0;
    }
    c->body_sent += k;
    pconn_send_up(c, c->in, k);
    if (c->closing)
        return;
    consume(c, k);
}

void phttp_upstream_ready(struct pconn *c)
{
    /* a new attempt: nothing of a response yet */
    c->head_len = 0;
    c->head_done = 0;
    c->resp_complete = 0;
    c->resp_framed = 0;
    c->resp_has_length = 0;
    c->resp_chunked = 0;
    c->up_reusable = 0;
    c->t_head = 0;
    pconn_send_up(c, c->ureq, c->ureq_len);
    if (c->closing || !c->up)
        return;
    pump_body(c);
    if (c->closing)
        return;
    pconn_resume_up(c);
    pconn_resume_down(c);
}

void phttp_dispatch(struct pconn *c)
{
    c->attempts = 0;
    c->last_ep = -1;
    c->no_pool = 0;
    /* no longer waiting for a request, even while held for a cold start
     * (proxy_hold.c): a pipelined next one waits in c->in */
    c->state = PS_CONNECT;
    pconn_start_attempt(c);
}

/* ingress: the connection moves to the route of this request (its Host
 * and path, proxy_ingress.c); none answers 404 no-route (its head is
 * dropped from c->in first; keep-alive only without a body to skip). 0
 * when the request goes on. */
static int ingress_route(struct pconn *c, const struct http1_req *q, size_t hl,
                         const struct http1_framing *f)
{
    size_t n = 0;
    const char *host = http1_header(q->h, q->n_headers, "host", &n);
    struct proxy_route *to = proxy_ingress_pick(c->rt->p, host, n, q->target, q->target_len);
    int found = to != NULL, keep;

    if (!to)
        to = c->rt->p->ingress; /* the answer names the ingress, not the last route */
    if (to && to != c->rt) {
        to->refs++;
        proxy_route_unref(c->rt);
        c->rt = to;
    }
    if (found)
        return 0;
    keep = q->keep_alive && !f->chunked && !(f->has_length && f->content_length);
    consume(c, hl);
    c->client_keep = keep;
    c->state = PS_DONE;
    pconn_reply(c, 404, "no-route", "no route has this host and path", keep);
    if (keep && !c->closing)
        phttp_next_request(c);
    return -1;
}

/* The head of a request (hl bytes) is at the start of c->in. */
static void serve_request(struct pconn *c, struct http1_req *q, size_t hl,
                          const struct http1_framing *f)
{
    struct proxy_route *rt = c->rt;
    size_t cl, ul;
    const char *conn = http1_header(q->h, q->n_headers, "connection", &cl);
    const char *ex = http1_header(q->h, q->n_headers, "expect", NULL);
    const char *v;
    int keep;

    rt->requests++;
    rt->pub_requests++;
    c->in_request = 1;
    c->t_request = proxy_now(rt->p);
    c->status = 0;
    c->bytes_out = 0;
    c->body_sent = 0;
    c->sent_any = 0;
    c->resp_complete = 0;
    c->attempts = 0;
    c->ep_key[0] = '\0';
    c->client_keep = q->keep_alive;
    c->req_head = ieq(q->method, q->method_len, "HEAD");
    snprintf(c->method, sizeof(c->method), "%.*s", (int)q->method_len, q->method);
    c->idempotent = idempotent(q->method, q->method_len);
    c->upgrade = http1_header(q->h, q->n_headers, "upgrade", &ul) && conn &&
                 has_token(conn, cl, "upgrade", 7);
    c->expect = ex != NULL;
    c->req_chunked = f->chunked;
    c->req_left = f->has_length ? f->content_length : 0;
    memset(&c->req_chunks, 0, sizeof(c->req_chunks));
    c->req_body_done = !f->chunked && c->req_left == 0;
    v = bal_version(&rt->bal, &rt->r, req_header, q);
    c->any_version = v == NULL;
    snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    c->sticky = bal_sticky_key(&rt->r, req_header, q, &c->sticky_key);
    build_request(c, q, f);
    free(c->path);
    c->path = rt->r.access_log[0] ? xstrndup(q->target, q->target_len) : NULL;
    consume(c, hl);
    pconn_request_timer(c);
    rbudget_request(&rt->budget, c->t_request);
    switch (pconn_slot_take(c)) {
    case 1:
        phttp_dispatch(c);
        break;
    case 0:
        break; /* waits for a slot (PS_WAIT) */
    default:
        /* over the route's limits: at once, with the reason */
        uv_timer_stop(&c->rtimer);
        keep = c->client_keep && c->req_body_done;
        c->state = PS_DONE;
        pconn_reply(c, 503, "overloaded", "the route is at its limit of requests", keep);
        if (keep && !c->closing)
            phttp_next_request(c);
    }
}

void phttp_try_request(struct pconn *c)
{
    /* the body's size is not ours to limit: it streams */
    struct http1_limits lim = {HTTP1_HEADER_BYTES, (size_t)1 << 50};
    struct http1_framing f;
    struct http1_req q;
    long n;

    if (c->closing || c->state != PS_IDLE || c->in_len == 0)
        return;
    n = http1_parse_request_head(&q, c->in, c->in_len, &lim, &f);
    if (n == 0)
        return;
    c->t_req = proxy_now(c->rt->p);
    c->version[0] = '\0';
    if (n < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", q.error ? q.error : "bad request");
        uv_read_stop((uv_stream_t *)&c->down);
        c->state = PS_DONE;
        pconn_reply(c, q.status ? q.status : 400, "bad-request", why, 0);
        return;
    }
    if (c->ingress && ingress_route(c, &q, (size_t)n, &f) < 0)
        return;
    serve_request(c, &q, (size_t)n, &f);
    if (!c->closing && !phttp_wants_down(c))
        uv_read_stop((uv_stream_t *)&c->down);
}

/* The client's connection goes on to its next request. */
void phttp_next_request(struct pconn *c)
{
    c->state = PS_IDLE;
    pconn_resume_down(c);
    phttp_try_request(c);
}

void phttp_down_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    if (c->in_len + n > PCONN_IN_MAX) {
        uv_read_stop((uv_stream_t *)&c->down);
        c->state = PS_DONE;
        pconn_reply(c, 431, "too-large", "request head larger than the proxy reads", 0);
        return;
    }
    append(&c->in, &c->in_len, &c->in_cap, p, n);
    if (c->state == PS_IDLE) {
        phttp_try_request(c);
        return;
    }
    if (c->req_body_done) {
        /* the next request, read once this one is over */
        if (!phttp_wants_down(c))
            uv_read_stop((uv_stream_t *)&c->down);
        return;
    }
    pump_body(c);
    if (!c->closing && !phttp_wants_down(c))
        uv_read_stop((uv_stream_t *)&c->down);
}

/* ---- responses ---- */

/* The exchange of one request ended: the upstream goes back to the pool
 * when it can, and the client connection goes on to its next request when
 * the framing allows it (and the request's body was read), else it
 * closes. */
static void response_done(struct pconn *c)
{
    int keep = c->client_keep && c->resp_framed && c->req_body_done && !c->rt->gone;

    uv_timer_stop(&c->rtimer);
    c->resp_complete = 1;
    pconn_ep_end(c, 1);
    pconn_detach_up(c, c->up_reusable && c->req_body_done);
    phttp_request_end(c);
    if (!keep) {
        c->state = PS_DONE;
        c->close_after = 1;
        if (c->pending_writes == 0 && !c->corked)
            pconn_close(c); /* else once the writes are done */
        return;
    }
    phttp_next_request(c);
}

/* The response head is in c->head (hl bytes): the client gets it without
 * hop-by-hop headers, with how many tries it took. */
static void send_head(struct pconn *c, const struct http1_resp *r, const uint8_t *head, size_t hl,
                      const struct http1_framing *f, int upgraded)
{
    const uint8_t *eol = memchr(head, '\n', hl);
    char n[16];
    const char *conn;

    /* pieces, gathered by the cork of the read that brought the head. The
     * status line in our own version: an HTTP/1.0 endpoint's answer goes
     * out as HTTP/1.1, framed by its length or by our close */
    pconn_send_down(c, "HTTP/1.1", 8);
    pconn_send_down(c, head + 8, (size_t)(eol - head) + 1 - 8);
    for (size_t i = 0; i < r->n_headers; i++) {
        const struct http1_header *h = &r->h[i];
        if (hop_by_hop(h->name, h->name_len) && !ieq(h->name, h->name_len, "content-length") &&
            !ieq(h->name, h->name_len, "transfer-encoding") &&
            !(upgraded && ieq(h->name, h->name_len, "upgrade")))
            continue;
        pconn_send_down(c, h->name, h->name_len);
        pconn_send_down(c, ": ", 2);
        pconn_send_down(c, h->value, h->value_len);
        pconn_send_down(c, "\r\n", 2);
    }
    c->resp_framed = f->no_body || c->req_head || f->chunked || f->has_length;
    conn = upgraded ? "connection: upgrade\r\n"
           : c->client_keep && c->resp_framed && c->req_body_done && !c->rt->gone
               ? ""
               : "connection: close\r\n";
    n[0] = (char)('0' + c->attempts % 10); /* 1..5 */
    pconn_send_down(c, "x-troupe-attempts: ", 19);
    pconn_send_down(c, n, 1);
    pconn_send_down(c, "\r\n", 2);
    pconn_send_down(c, conn, strlen(conn));
    pconn_send_down(c, "\r\n", 2);
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
            pconn_send_down(c, p, n);
            return;
        }
        pconn_send_down(c, p, (size_t)k);
        if ((size_t)k < n)
            c->up_reusable = 0;
        if (http1_chunks_done(&c->chunks))
            response_done(c);
        return;
    }
    if (!c->resp_has_length) {
        pconn_send_down(c, p, n);
        return;
    }
    if (n > c->body_left) {
        n = (size_t)c->body_left; /* the endpoint sent more than it said: dropped */
        c->up_reusable = 0;
    }
    pconn_send_down(c, p, n);
    c->body_left -= n;
    if (c->body_left == 0)
        response_done(c);
}

void phttp_count_status(struct pconn *c, int status)
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
    return !(v && has_token(v, vl, "close", 5));
}

/* A failure before any of the response went to the client: 1 when the
 * request is tried again (idempotent, its body not streamed yet, within
 * the attempts and the budget); the upstream is let go of then. */
static int retry_request(struct pconn *c)
{
    if (!c->idempotent || c->body_sent || c->sent_any || c->upgrade || !pconn_retry_allowed(c))
        return 0;
    pconn_ep_end(c, 0);
    pconn_detach_up(c, 0);
    pconn_retry_start(c);
    return 1;
}

/* 101 to an upgrade request: from here on bytes pass both ways as they
 * come, as a tcp route's (rest: what came after the head). */
static void upgraded(struct pconn *c, const uint8_t *rest, size_t n)
{
    uv_timer_stop(&c->rtimer);
    phttp_request_end(c);
    c->is_http = 0;
    c->state = PS_STREAM;
    pconn_send_down(c, rest, n);
    if (c->in_len) {
        pconn_send_up(c, c->in, c->in_len);
        c->in_len = 0;
    }
    pconn_resume_down(c);
    pconn_resume_up(c);
}

/* The response's head, when it is whole (hl bytes at h): interim ones
 * are passed or dropped, an upgrade switches to bytes, a 502/503 may be
 * retried; else the head goes to the client and the body follows. The
 * bytes after the head are a and then b. */
static void response_head(struct pconn *c, const struct http1_resp *r, const uint8_t *h, size_t hl,
                          const struct http1_framing *f, const uint8_t *a, size_t an,
                          const uint8_t *b, size_t bn)
{
    uint8_t *tmp;

    if (r->status == 101 && c->upgrade) {
        c->head_done = 1;
        c->status = 101;
        c->t_head = proxy_now(c->rt->p);
        phttp_count_status(c, r->status);
        pconn_ep_end(c, 1);
        send_head(c, r, h, hl, f, 1);
        tmp = xmalloc(an + bn + 1);
        if (an)
            memcpy(tmp, a, an);
        if (bn)
            memcpy(tmp + an, b, bn);
        upgraded(c, tmp, an + bn);
        free(tmp);
        return;
    }
    if (r->status >= 100 && r->status < 200) {
        /* an interim response: 100 goes to a client that expects it, the
         * others are dropped; the final one follows (a may be in c->head,
         * which the next head reuses: copied first) */
        if (r->status == 100 && c->expect)
            pconn_send_down(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        tmp = an ? xmemdup(a, an) : NULL;
        c->head_len = 0;
        if (an)
            phttp_up_bytes(c, tmp, an);
        free(tmp);
        if (bn && !c->closing && c->up)
            phttp_up_bytes(c, b, bn);
        return;
    }
    if ((r->status == 502 || r->status == 503) && retry_request(c))
        return;
    c->head_done = 1;
    c->status = r->status;
    c->t_head = proxy_now(c->rt->p);
    phttp_count_status(c, r->status);
    pconn_ep_end(c, r->status < 500); /* the latency is the time to the head */
    send_head(c, r, h, hl, f, 0);
    c->up_reusable = reusable(r, f);
    if (f->no_body || c->req_head || (f->has_length && !f->chunked && f->content_length == 0)) {
        c->up_reusable = c->up_reusable && an == 0 && bn == 0;
        response_done(c);
        return;
    }
    c->resp_chunked = f->chunked;
    memset(&c->chunks, 0, sizeof(c->chunks));
    c->resp_has_length = f->has_length && !f->chunked;
    c->body_left = f->content_length;
    /* what came with the head, and what the rest of this read held */
    if (an)
        body_bytes(c, a, an);
    if (bn && !c->resp_complete && !c->closing)
        body_bytes(c, b, bn);
}

void phttp_up_bytes(struct pconn *c, const uint8_t *p, size_t n)
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
    memset(&f, 0, sizeof(f));
    if (c->head_len == 0) {
        /* most often the head comes whole in one read: parsed where it is */
        hl = http1_parse_response_head(&r, p, n, 0, &lim, &f);
        if (hl == 0 && n < sizeof(c->head)) {
            memcpy(c->head, p, n); /* the rest comes with the next reads */
            c->head_len = n;
            return;
        }
        if (hl > 0) {
            response_head(c, &r, p, (size_t)hl, &f, p + hl, n - (size_t)hl, NULL, 0);
            return;
        }
    } else {
        take = n < sizeof(c->head) - c->head_len ? n : sizeof(c->head) - c->head_len;
        memcpy(c->head + c->head_len, p, take);
        c->head_len += take;
        hl = http1_parse_response_head(&r, c->head, c->head_len, 0, &lim, &f);
        if (hl == 0 && c->head_len < sizeof(c->head))
            return;
        if (hl > 0) {
            response_head(c, &r, c->head, (size_t)hl, &f, c->head + hl, c->head_len - (size_t)hl,
                          p + take, n - take);
            return;
        }
    }
    pconn_ep_end(c, 0);
    pconn_detach_up(c, 0);
    c->state = PS_DONE;
    uv_timer_stop(&c->rtimer);
    pconn_reply(c, 502, "bad-response", "the endpoint's response is not HTTP/1.1", 0);
}

void phttp_up_failed(struct pconn *c, ssize_t err)
{
    struct pup *u = c->up;

    if (c->resp_complete)
        return;
    if (!c->head_done && u && u->reused && !u->got_bytes && !c->body_sent && c->idempotent) {
        /* a pooled connection the endpoint had closed: once more on a new
         * one. Not a request that must not go twice: the endpoint may
         * have applied it before closing (ppool_take makes this rare). */
        pconn_ep_end(c, 1);
        pconn_detach_up(c, 0);
        c->attempts--;
        c->no_pool = 1;
        c->last_ep = -1;
        pconn_start_attempt(c);
        return;
    }
    if (!c->head_done) {
        if (!(u && u->got_bytes) && retry_request(c))
            return;
        pconn_ep_end(c, 0);
        pconn_detach_up(c, 0);
        uv_timer_stop(&c->rtimer);
        c->state = PS_DONE;
        if (!c->sent_any)
            pconn_reply(c, 502, "upstream-reset", "the endpoint closed before answering", 0);
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
