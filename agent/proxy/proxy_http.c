/* proxy_http: http mode of a proxied connection. Each request is parsed
 * with core/http1, sent to an endpoint of the version the balancer picks,
 * and the response streamed back.
 *
 * Upstream connections are kept alive and pooled per route and endpoint
 * when the response allows it (HTTP/1.1, no "connection: close", framed by
 * content-length or chunked and read to its end); a pooled connection the
 * endpoint closed meanwhile is retried once on a new one. The client's
 * connection stays open between requests when the response's framing
 * allows it. A request body is buffered whole (core/http1, at most 1 MiB);
 * a response body is streamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/proxy/pconn.h"
#include "core/mem.h"

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
        pconn_reply(c, 404, "no-route", "no route has this host and path", c->client_keep);
        if (c->client_keep && !c->closing)
            phttp_next_request(c);
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
    pconn_request_timer(c);
    pconn_start_attempt(c);
}

void phttp_try_request(struct pconn *c)
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
        pconn_reply(c, q.status ? q.status : 400, "bad-request", why, 0);
        return;
    }
    c->req_len = (size_t)n;
    if (c->ingress && ingress_route(c, &q) < 0)
        return;
    serve_request(c, &q);
}

/* The client's connection goes on to its next request. */
void phttp_next_request(struct pconn *c)
{
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    c->state = PS_IDLE;
    pconn_resume_down(c);
    phttp_try_request(c);
}

/* The exchange of one request ended: the upstream goes back to the pool
 * when it can, and the client connection goes on to its next request when
 * the response's framing allows it, else it closes. */
static void response_done(struct pconn *c)
{
    uv_timer_stop(&c->rtimer);
    c->resp_complete = 1;
    pconn_ep_end(c, 1);
    pconn_detach_up(c, c->up_reusable);
    if (!c->client_keep || !c->resp_framed) {
        c->state = PS_DONE;
        c->close_after = 1;
        if (c->pending_writes == 0)
            pconn_close(c);
        return;
    }
    phttp_next_request(c);
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
    pconn_send_down(c, b, len);
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
    for (size_t i = 0; v && i + 5 <= vl; i++)
        if (strncasecmp(v + i, "close", 5) == 0)
            return 0;
    return 1;
}

void phttp_up_bytes(struct pconn *c, const uint8_t *p, size_t n)
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
        pconn_ep_end(c, 0);
        pconn_detach_up(c, 0);
        c->state = PS_DONE;
        uv_timer_stop(&c->rtimer);
        pconn_reply(c, 502, "bad-response", "the endpoint's response is not HTTP/1.1", 0);
        return;
    }
    rest = c->head_len - (size_t)hl;
    tmp = rest ? xmemdup(c->head + hl, rest) : NULL;
    if (r.status >= 100 && r.status < 200) {
        /* an interim response (100 Continue): dropped, the final one follows */
        c->head_len = 0;
        if (rest)
            phttp_up_bytes(c, tmp, rest);
        free(tmp);
        if (take < n && !c->closing && c->up)
            phttp_up_bytes(c, p + take, n - take);
        return;
    }
    c->head_done = 1;
    phttp_count_status(c, r.status);
    pconn_ep_end(c, r.status < 500); /* the latency is the time to the head */
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

void phttp_up_failed(struct pconn *c, ssize_t err)
{
    struct pup *u = c->up;

    if (c->resp_complete)
        return;
    if (!c->head_done && u && u->reused && !u->got_bytes) {
        /* a pooled connection the endpoint had closed: once more on a new one */
        pconn_ep_end(c, 1);
        pconn_detach_up(c, 0);
        c->attempts--;
        c->no_pool = 1;
        c->last_ep = -1;
        pconn_start_attempt(c);
        return;
    }
    if (!c->head_done) {
        pconn_ep_end(c, 0);
        pconn_detach_up(c, 0);
        if (c->idempotent && !c->sent_any && c->attempts < c->rt->r.attempts) {
            /* the endpoint died with the request: an idempotent one goes
             * to another endpoint (its whole text is in c->ureq) */
            c->rt->retries++;
            c->head_len = 0;
            pconn_start_attempt(c);
            return;
        }
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

void phttp_down_bytes(struct pconn *c, const uint8_t *p, size_t n)
{
    if (c->in_len + n > PCONN_IN_MAX) {
        uv_read_stop((uv_stream_t *)&c->down);
        c->state = PS_DONE;
        pconn_reply(c, 413, "too-large", "request larger than the proxy buffers", 0);
        return;
    }
    append(&c->in, &c->in_len, &c->in_cap, p, n);
    phttp_try_request(c);
}
