/* proxy_conn: one client connection of a route's listener: accepting it,
 * reading and writing both sides with backpressure (a side whose peer has
 * more than PCONN_QUEUE_HIGH bytes queued is not read until the queue
 * drains), choosing an endpoint with the balancer and connecting to it
 * (a connect failure or timeout is retried on another endpoint, route
 * retries.attempts), timeouts, and the proxy's own answers: when nothing
 * was sent to the client yet, a failure answers with a status and an
 * x-troupe-reason header (no-endpoints, connect-failed, timeout,
 * upstream-reset, bad-response). What the bytes mean is proxy_http.c's or
 * proxy_tcp.c's; idle upstream connections are proxy_pool.c's. */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "agent/proxy/pconn.h"
#include "core/mem.h"

struct wreq {
    uv_write_t w;
    struct pconn *c; /* a write to the client */
    struct pup *u;   /* a write upstream */
    char data[];
};

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

struct pconn *pconn_next(struct pconn *c)
{
    return c->next;
}

int pconn_has_upstream(const struct pconn *c)
{
    return c->up != NULL;
}

/* Every read of the loop goes to one buffer: libuv calls the read
 * callback before it asks for a buffer again, and the callbacks copy what
 * they keep (into a write, or a connection's input), so no read needs a
 * malloc and a free of its own. One per thread, for a loop per thread. */
static _Thread_local char read_buf[PCONN_READ_BYTES];

void pconn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    *buf = uv_buf_init(read_buf, sizeof(read_buf));
}

void pconn_shutdown_cb(uv_shutdown_t *r, int status)
{
    (void)status;
    free(r);
}

static void release(struct pconn *c)
{
    proxy_route_unref(c->rt);
    free(c->in);
    free(c->ureq);
    free(c->path);
    free(c->out);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct pconn *c = h->data;

    if (--c->open_handles == 0)
        release(c);
}

void pconn_ep_end(struct pconn *c, int ok)
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

void pconn_close(struct pconn *c)
{
    struct proxy *p = c->rt->p;

    if (c->closing)
        return;
    c->closing = 1;
    c->state = PS_DONE;
    pconn_ep_end(c, 1); /* the client went away, or the exchange ended: not the endpoint's fault */
    pconn_detach_up(c, 0);
    if (c->is_http)
        phttp_request_end(c);
    pconn_slot_give(c);
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
    close_handle((uv_handle_t *)&c->itimer);
}

void pconn_abort(struct pconn *c)
{
    pconn_close(c);
}

void pconn_resume_down(struct pconn *c)
{
    if (c->closing || c->down_eof || (c->is_http ? !phttp_wants_down(c) : c->state != PS_STREAM))
        return;
    if (c->up && c->up->h.write_queue_size > PCONN_QUEUE_HIGH)
        return;
    uv_read_start((uv_stream_t *)&c->down, pconn_alloc_cb, down_read_cb);
}

void pconn_resume_up(struct pconn *c)
{
    if (c->closing || !c->up || c->up_eof || c->state != PS_STREAM)
        return;
    if (c->down.write_queue_size > PCONN_QUEUE_HIGH)
        return;
    pconn_read_up(c->up);
}

void pconn_read_up(struct pup *u)
{
    uv_read_start((uv_stream_t *)&u->h, pconn_alloc_cb, up_read_cb);
}

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
            pconn_up_failed(c, status);
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
        pconn_resume_down(c);
    if (!u && c->down.write_queue_size < PCONN_QUEUE_HIGH / 2)
        pconn_resume_up(c);
}

/* Writes at once what the socket takes (uv_try_write: no request, no
 * copy, and no change to the socket's poll state, which libuv would
 * otherwise turn into an epoll_ctl per write); the rest is copied into a
 * queued write. Returns 1 when a write was queued, 0 when all went out,
 * -1 on error. */
static int queue_write(uv_stream_t *to, struct pconn *c, struct pup *u, const void *data,
                       size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write(to, &b, 1);
    struct wreq *r;

    if (n == (int)len)
        return 0;
    if (n < 0 && n != UV_EAGAIN)
        return -1;
    if (n < 0)
        n = 0;
    r = xmalloc(sizeof(*r) + len - (size_t)n);
    r->c = c;
    r->u = u;
    memcpy(r->data, (const char *)data + n, len - (size_t)n);
    b = uv_buf_init(r->data, (unsigned)(len - (size_t)n));
    if (uv_write(&r->w, to, &b, 1, write_cb) < 0) {
        free(r);
        return -1;
    }
    return 1;
}

/* Queues bytes to the client; stops reading the upstream when the client's
 * queue is long. */
void pconn_send_down(struct pconn *c, const void *data, size_t len)
{
    if (c->closing || len == 0)
        return;
    if (c->corked) {
        if (c->out_len + len > c->out_cap) {
            c->out_cap = (c->out_len + len) * 2;
            c->out = xrealloc(c->out, c->out_cap);
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        c->bytes_out += len;
        return;
    }
    switch (queue_write((uv_stream_t *)&c->down, c, NULL, data, len)) {
    case -1:
        pconn_close(c);
        return;
    case 1:
        c->pending_writes++;
    }
    c->bytes_out += len;
    if (c->down.write_queue_size > PCONN_QUEUE_HIGH && c->up)
        uv_read_stop((uv_stream_t *)&c->up->h);
}

/* What gathered while corked goes to the client in one write. */
static void flush_down(struct pconn *c)
{
    size_t n = c->out_len;

    c->corked = 0;
    c->out_len = 0;
    if (c->closing)
        return;
    if (n) {
        c->bytes_out -= n; /* counted once, by pconn_send_down */
        pconn_send_down(c, c->out, n);
    }
    if (!c->closing && c->close_after && c->pending_writes == 0)
        pconn_close(c);                  /* all went out at once */
    if (c->out_cap > PCONN_READ_BYTES) { /* a large head or body: not kept */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
}

void pconn_send_up(struct pconn *c, const void *data, size_t len)
{
    struct pup *u = c->up;

    if (c->closing || !u || len == 0)
        return;
    switch (queue_write((uv_stream_t *)&u->h, NULL, u, data, len)) {
    case -1:
        pconn_up_failed(c, UV_EPIPE);
        return;
    case 1:
        u->pending++;
    }
    if (u->h.write_queue_size > PCONN_QUEUE_HIGH)
        uv_read_stop((uv_stream_t *)&c->down);
}

/* An answer of the proxy itself; the connection closes after it unless
 * keep (the client may send its next request). */
void pconn_reply(struct pconn *c, int status, const char *reason, const char *why, int keep)
{
    char buf[512];
    const char *text = status == 503   ? "Service Unavailable"
                       : status == 504 ? "Gateway Timeout"
                       : status == 502 ? "Bad Gateway"
                       : status == 413 ? "Content Too Large"
                       : status == 404 ? "Not Found"
                       : status == 431 ? "Request Header Fields Too Large"
                       : status == 501 ? "Not Implemented"
                       : status == 505 ? "HTTP Version Not Supported"
                       : status == 414 ? "URI Too Long"
                                       : "Bad Request";
    char body[256];
    int bl = snprintf(body, sizeof(body), "%s: route %s\n", why, c->rt->r.name);
    int n =
        snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
                 "x-troupe-reason: %s\r\nx-troupe-attempts: %u\r\n%s\r\n%s",
                 status, text, bl, reason, c->attempts, keep ? "" : "connection: close\r\n", body);

    phttp_count_status(c, status);
    pconn_send_down(c, buf, (size_t)n);
    c->sent_any = 1;
    c->status = status;
    if (!keep)
        c->close_after = 1;
    if (c->is_http)
        phttp_request_end(c);
    if (c->close_after && c->pending_writes == 0 && !c->corked)
        pconn_close(c); /* all went out at once */
}

/* ---- retries, with a budget and a jittered backoff ---- */

static void on_backoff(uv_timer_t *t)
{
    struct pconn *c = t->data;

    if (c->state == PS_BACKOFF && !c->closing)
        pconn_start_attempt(c);
}

int pconn_retry_allowed(struct pconn *c)
{
    struct proxy_route *rt = c->rt;

    if (c->attempts >= rt->r.attempts)
        return 0;
    if (!rbudget_retry(&rt->budget, proxy_now(rt->p))) {
        rt->budget_exhausted++;
        return 0;
    }
    rt->retries++;
    return 1;
}

void pconn_retry_start(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    /* full jitter: a random wait up to backoff_ms, doubled per attempt made */
    uint64_t ceiling = (uint64_t)rt->r.backoff_ms << (c->attempts > 1 ? c->attempts - 1 : 0);

    c->state = PS_BACKOFF;
    if (ceiling == 0) {
        pconn_start_attempt(c);
        return;
    }
    uv_timer_start(&c->ctimer, on_backoff, randombytes_uniform((uint32_t)ceiling + 1), 0);
}

static void attempt_failed(struct pconn *c)
{
    c->rt->connect_failures++;
    pconn_ep_end(c, 0);
    uv_timer_stop(&c->ctimer);
    pconn_detach_up(c, 0);
    if (pconn_retry_allowed(c)) {
        pconn_retry_start(c);
    } else if (c->is_http) {
        uv_timer_stop(&c->rtimer);
        c->state = PS_DONE;
        pconn_reply(c, 502, "connect-failed", "no endpoint accepted the connection", 0);
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
    if (c->waiting) {
        /* still waiting for a slot: out of the line, the answer says why */
        c->state = PS_DONE;
        pconn_slot_give(c);
        pconn_reply(c, 503, "overloaded", "the route's requests stayed at their limit", 0);
        return;
    }
    pconn_ep_end(c, 0);
    pconn_detach_up(c, 0);
    uv_timer_stop(&c->ctimer);
    c->state = PS_DONE;
    if (!c->sent_any)
        pconn_reply(c, 504, "timeout", "the endpoint did not answer in time", 0);
    else
        pconn_close(c);
}

void pconn_request_timer(struct pconn *c)
{
    uv_timer_start(&c->rtimer, on_rtimeout, c->rt->r.request_ms, 0);
}

/* The upstream is ready for the request (new, or from the pool). */
static void upstream_ready(struct pconn *c)
{
    c->t_connected = proxy_now(c->rt->p);
    c->state = PS_STREAM;
    if (c->is_http) {
        phttp_upstream_ready(c);
    } else {
        pconn_resume_up(c);
        pconn_resume_down(c);
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
    /* the client may send its next request on the same connection, once
     * this one's body (not read) is out of the way: only without one */
    pconn_reply(c, 503, "no-endpoints", "no passing instance", c->client_keep && c->req_body_done);
    if (c->client_keep && c->req_body_done && !c->closing)
        phttp_next_request(c);
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
            pconn_request_timer(c);
        pconn_start_attempt(c);
        return;
    }
    c->rt->no_endpoints++;
    if (!c->is_http) {
        pconn_close(c);
        return;
    }
    c->state = PS_DONE;
    pconn_reply(c, 503, reason, "no instance ready: the service is starting from zero", 0);
}

void pconn_start_attempt(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    uint64_t now = proxy_now(rt->p);
    const char *v = c->any_version ? NULL : c->version;
    /* a sticky request goes where its key hashes to, within its version */
    int i = c->sticky ? bal_pick_key(&rt->bal, v, c->last_ep, c->sticky_key, now)
                      : bal_pick(&rt->bal, v, c->last_ep, now);
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
    c->body_sent = 0;
    if (c->is_http && !c->no_pool && (u = ppool_take(rt, c->ep_key, c->idempotent))) {
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

void pconn_up_failed(struct pconn *c, ssize_t err)
{
    if (c->is_http)
        phttp_up_failed(c, err);
    else
        ptcp_up_failed(c, err);
}

static void up_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pup *u = s->data;
    struct pconn *c = u->c;

    if (c && !c->closing && c->up == u) {
        if (n > 0) {
            c->last_io = uv_now(s->loop);
            u->got_bytes = 1;
            if (!c->is_http) {
                pconn_send_down(c, buf->base, (size_t)n);
            } else if (!c->resp_complete) {
                c->corked = 1;
                phttp_up_bytes(c, (const uint8_t *)buf->base, (size_t)n);
                flush_down(c);
            }
        } else if (n < 0) {
            pconn_up_failed(c, n);
        }
    } else if (!c) {
        ppool_idle_read(u, n);
    }
}

static void down_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pconn *c = s->data;

    if (n > 0 && !c->closing) {
        c->last_io = uv_now(s->loop);
        if (c->is_http)
            phttp_down_bytes(c, (const uint8_t *)buf->base, (size_t)n);
        else
            pconn_send_up(c, buf->base, (size_t)n);
    } else if (n < 0 && !c->closing) {
        uv_read_stop(s);
        c->down_eof = 1;
        if (c->is_http && n == UV_EOF && ((c->in_request && c->req_body_done) || c->close_after))
            c->client_keep = 0; /* the answer still goes out, then the close */
        else if (c->is_http || n != UV_EOF)
            pconn_close(c);
        else
            ptcp_down_eof(c);
    }
}

/* ---- limits ---- */

int pconn_slot_take(struct pconn *c)
{
    struct proxy_route *rt = c->rt;

    if (c->has_slot)
        return 1;
    if (rt->active < rt->r.max_requests) {
        rt->active++;
        c->has_slot = 1;
        return 1;
    }
    if (!c->is_http || rt->n_waiting >= rt->r.max_pending) {
        rt->overloaded++;
        return -1;
    }
    c->waiting = 1;
    c->state = PS_WAIT;
    c->wait_next = NULL;
    if (rt->wait_tail)
        rt->wait_tail->wait_next = c;
    else
        rt->wait_head = c;
    rt->wait_tail = c;
    rt->n_waiting++;
    return 0;
}

static void wait_unlink(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    struct pconn **pp = &rt->wait_head, *prev = NULL;

    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->wait_next;
    }
    if (*pp) {
        *pp = c->wait_next;
        if (rt->wait_tail == c)
            rt->wait_tail = prev;
        rt->n_waiting--;
    }
    c->waiting = 0;
    c->wait_next = NULL;
}

void pconn_slot_give(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    struct pconn *next;

    if (c->waiting)
        wait_unlink(c);
    if (!c->has_slot)
        return;
    c->has_slot = 0;
    rt->active--;
    /* the first waiting request takes the slot */
    while ((next = rt->wait_head) && rt->active < rt->r.max_requests) {
        wait_unlink(next);
        rt->active++;
        next->has_slot = 1;
        phttp_dispatch(next);
    }
}

/* ---- idle timeout ---- */

static void on_itimeout(uv_timer_t *t)
{
    struct pconn *c = t->data;
    uint64_t now = uv_now(t->loop), idle = c->rt->r.idle_ms;
    int busy = c->is_http && c->state != PS_IDLE; /* a request's own timeout governs */

    if (c->closing)
        return;
    if (!busy && now >= c->last_io + idle) {
        c->rt->idle_closed++;
        pconn_close(c);
        return;
    }
    uv_timer_start(t, on_itimeout, busy ? idle : c->last_io + idle - now, 0);
}

static void peer_name(struct pconn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    c->peer[0] = '\0';
    if (uv_tcp_getpeername(&c->down, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer, sizeof(c->peer));
    else if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
}

void pconn_route_init(struct proxy_route *rt)
{
    rbudget_init(&rt->budget, rt->r.budget_percent, rt->r.budget_per_s);
    randombytes_buf(&rt->rng, sizeof(rt->rng));
}

void pconn_route_changed(struct proxy_route *rt)
{
    rt->budget.percent = rt->r.budget_percent;
    rt->budget.per_s = rt->r.budget_per_s;
    /* a raised limit lets waiting requests in */
    while (rt->wait_head && rt->active < rt->r.max_requests) {
        struct pconn *next = rt->wait_head;
        wait_unlink(next);
        rt->active++;
        next->has_slot = 1;
        phttp_dispatch(next);
    }
}

void pconn_route_gone(struct proxy_route *rt)
{
    struct pconn *c = rt->p->conns, *next;

    /* http clients between requests close now; those with a request in
     * flight get "connection: close" on its response (proxy_http.c); tcp
     * streams go on until they end */
    for (; c; c = next) {
        next = c->next;
        if (c->rt == rt && c->is_http && !c->ingress && c->state == PS_IDLE && c->in_len == 0)
            pconn_close(c);
    }
}

void pconn_route_release(struct proxy_route *rt)
{
    if (rt->access_log)
        fclose(rt->access_log);
    rt->access_log = NULL;
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
    c->ingress = rt->ingress;
    if (!c->is_http)
        rt->pub_requests++; /* tcp: the connection is the request */
    c->last_ep = -1;
    uv_tcp_init(loop, &c->down);
    uv_timer_init(loop, &c->ctimer);
    uv_timer_init(loop, &c->rtimer);
    uv_timer_init(loop, &c->itimer);
    c->down.data = c->ctimer.data = c->rtimer.data = c->itimer.data = c;
    c->open_handles = 4;
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
    c->last_io = uv_now(loop);
    uv_timer_start(&c->itimer, on_itimeout, rt->r.idle_ms, 0);
    if (c->is_http) {
        peer_name(c);
        c->state = PS_IDLE;
        pconn_resume_down(c);
        return;
    }
    if (pconn_slot_take(c) < 0) {
        pconn_close(c); /* tcp over its limit: closed at once */
        return;
    }
    rbudget_request(&rt->budget, uv_now(loop));
    ptcp_start(c);
}
