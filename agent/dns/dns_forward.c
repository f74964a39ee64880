/* dns_forward: upstream forwarding (see dns_forward.h). One struct fwq per
 * request in flight, with its own UDP socket, TCP handle and timer; it is
 * freed once all of them are closed. */
#include "agent/dns/dns_forward.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "agent/net/net.h"
#include "core/mem.h"

#define HDR     12
#define MSG_MAX 65535

struct fwq {
    struct fwq *prev, *next;
    struct dnsfw *f;
    void *origin;
    int tcp_client;
    uint8_t *req; /* as the client sent it */
    uint8_t *out; /* our copy with our ID */
    size_t len, qend;
    size_t up, attempts;
    int open; /* handles not yet closed */
    int finished;
    int via_tcp;
    uv_udp_t udp;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    uv_buf_t wbuf[2];
    uint8_t wlen[2];
    uint8_t *in; /* TCP answer being read */
    size_t in_len;
};

struct dnsfw {
    uv_loop_t *loop;
    struct node_addr ups[DNSFW_UPSTREAMS_MAX];
    size_t n_ups, next_up;
    dnsfw_done_fn done;
    void *ud;
    struct fwq *pending;
    size_t n_pending;
    int closing;
    int open; /* requests not yet freed */
    struct dnsfw_stats st;
    uint8_t rbuf[MSG_MAX];
};

static void maybe_free_fw(struct dnsfw *f)
{
    if (f->closing && f->open == 0)
        free(f);
}

static void q_closed(uv_handle_t *h)
{
    struct fwq *q = h->data;
    struct dnsfw *f = q->f;

    if (--q->open > 0)
        return;
    free(q->req);
    free(q->out);
    free(q->in);
    free(q);
    f->open--;
    maybe_free_fw(f);
}

static void q_close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, q_closed);
}

/* Ends a request: the answer (or NULL) goes to the caller, once. */
static void finish(struct fwq *q, uint8_t *resp, size_t len)
{
    struct dnsfw *f = q->f;

    if (q->finished)
        return;
    q->finished = 1;
    if (resp) {
        memcpy(resp, q->req, 2); /* the client's ID */
        f->st.answered++;
    } else {
        f->st.failed++;
    }
    f->done(f->ud, q->origin, q->req, q->len, resp, len);
    if (q->prev)
        q->prev->next = q->next;
    else
        f->pending = q->next;
    if (q->next)
        q->next->prev = q->prev;
    f->n_pending--;
    uv_timer_stop(&q->timer);
    q_close_handle((uv_handle_t *)&q->udp);
    q_close_handle((uv_handle_t *)&q->tcp);
    q_close_handle((uv_handle_t *)&q->timer);
}

/* The answer is to our question: same ID, a response, same question (the
 * name compared without case; label lengths are below 'A', so a byte-wise
 * tolower is safe on the wire form). */
static int matches(const struct fwq *q, const uint8_t *p, size_t len)
{
    if (len < q->qend || memcmp(p, q->out, 2) != 0 || !(p[2] & 0x80))
        return 0;
    for (size_t i = HDR; i < q->qend; i++)
        if (tolower(p[i]) != tolower(q->out[i]))
            return 0;
    return 1;
}

static void send_udp(struct fwq *q);

static void new_id(struct fwq *q)
{
    uint16_t id = (uint16_t)randombytes_uniform(65536);
    q->out[0] = (uint8_t)(id >> 8);
    q->out[1] = (uint8_t)id;
}

/* ---- TCP retry ---- */

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct fwq *q = h->data;
    (void)hint;
    if (!q->in)
        q->in = xmalloc(2 + MSG_MAX);
    *buf = uv_buf_init((char *)q->in + q->in_len, (unsigned)(2 + MSG_MAX - q->in_len));
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fwq *q = s->data;
    size_t want;
    (void)buf;

    if (n < 0) {
        finish(q, NULL, 0);
        return;
    }
    q->in_len += (size_t)n;
    if (q->in_len < 2)
        return;
    want = (size_t)(q->in[0] << 8 | q->in[1]);
    if (q->in_len < 2 + want)
        return;
    if (!matches(q, q->in + 2, want)) {
        q->f->st.mismatched++;
        finish(q, NULL, 0);
        return;
    }
    finish(q, q->in + 2, want);
}

static void tcp_written(uv_write_t *w, int status)
{
    struct fwq *q = w->data;
    if (status < 0)
        finish(q, NULL, 0);
}

static void tcp_connected(uv_connect_t *c, int status)
{
    struct fwq *q = c->data;

    if (q->finished)
        return;
    if (status < 0) {
        finish(q, NULL, 0);
        return;
    }
    q->wlen[0] = (uint8_t)(q->len >> 8);
    q->wlen[1] = (uint8_t)q->len;
    q->wbuf[0] = uv_buf_init((char *)q->wlen, 2);
    q->wbuf[1] = uv_buf_init((char *)q->out, (unsigned)q->len);
    q->write.data = q;
    if (uv_write(&q->write, (uv_stream_t *)&q->tcp, q->wbuf, 2, tcp_written) < 0 ||
        uv_read_start((uv_stream_t *)&q->tcp, tcp_alloc, tcp_read) < 0)
        finish(q, NULL, 0);
}

static void retry_tcp(struct fwq *q)
{
    struct sockaddr_storage ss;

    q->via_tcp = 1;
    q->f->st.tcp_retries++;
    uv_udp_recv_stop(&q->udp);
    new_id(q);
    node_addr_to_sockaddr(&q->f->ups[q->up], &ss);
    q->connect.data = q;
    if (uv_tcp_connect(&q->connect, &q->tcp, (struct sockaddr *)&ss, tcp_connected) < 0) {
        finish(q, NULL, 0);
        return;
    }
    uv_timer_again(&q->timer);
}

/* ---- UDP ---- */

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct fwq *q = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)q->f->rbuf, sizeof(q->f->rbuf));
}

static void udp_read(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
    struct fwq *q = u->data;
    struct node_addr a;
    uint8_t *p = (uint8_t *)buf->base;
    (void)flags;

    if (n <= 0 || !from || q->finished || q->via_tcp)
        return;
    node_addr_from_sockaddr(from, &a);
    if (!node_addr_eq(&a, &q->f->ups[q->up]) || !matches(q, p, (size_t)n)) {
        q->f->st.mismatched++; /* not the answer we wait for: keep waiting */
        return;
    }
    if ((p[2] & 0x02) && q->tcp_client) {
        retry_tcp(q);
        return;
    }
    finish(q, p, (size_t)n);
}

static void udp_sent(uv_udp_send_t *s, int status)
{
    (void)status; /* a lost datagram is the timer's business */
    free(s);
}

static void send_udp(struct fwq *q)
{
    struct sockaddr_storage ss;
    uv_udp_send_t *s = xmalloc(sizeof(*s));
    uv_buf_t b = uv_buf_init((char *)q->out, (unsigned)q->len);

    new_id(q);
    node_addr_to_sockaddr(&q->f->ups[q->up], &ss);
    q->f->st.sent++;
    if (uv_udp_send(s, &q->udp, &b, 1, (struct sockaddr *)&ss, udp_sent) < 0) {
        free(s);
        finish(q, NULL, 0);
    }
}

static void timer_cb(uv_timer_t *t)
{
    struct fwq *q = t->data;
    struct dnsfw *f = q->f;
    char a[64];

    log_debug("dns", "upstream %s did not answer in %d ms",
              node_addr_str(&f->ups[q->up], a, sizeof(a)), DNSFW_TIMEOUT_MS);
    if (q->via_tcp || q->attempts >= 2 || q->attempts >= f->n_ups) {
        finish(q, NULL, 0);
        return;
    }
    q->attempts++;
    q->up = (q->up + 1) % f->n_ups;
    send_udp(q);
    uv_timer_again(t);
}

/* End of the question section of a request already parsed by core/dns. */
static size_t question_end(const uint8_t *p, size_t len)
{
    size_t i = HDR;

    while (i < len && p[i] != 0) {
        if (p[i] & 0xc0)
            return 0;
        i += 1 + (size_t)p[i];
    }
    return i + 5 <= len ? i + 5 : 0;
}

int dnsfw_query(struct dnsfw *f, const uint8_t *req, size_t len, int tcp, void *origin)
{
    struct fwq *q;
    size_t qend = question_end(req, len);

    if (f->closing || f->n_ups == 0 || f->n_pending >= DNSFW_PENDING_MAX || qend == 0) {
        f->st.dropped++;
        return -ENOSPC;
    }
    q = xcalloc(1, sizeof(*q));
    q->f = f;
    q->origin = origin;
    q->tcp_client = tcp;
    q->req = xmemdup(req, len);
    q->out = xmemdup(req, len);
    q->len = len;
    q->qend = qend;
    q->up = f->next_up++ % f->n_ups;
    q->attempts = 1;
    uv_udp_init(f->loop, &q->udp);
    uv_tcp_init(f->loop, &q->tcp);
    uv_timer_init(f->loop, &q->timer);
    q->udp.data = q->tcp.data = q->timer.data = q;
    q->open = 3;
    f->open++;
    q->next = f->pending;
    if (q->next)
        q->next->prev = q;
    f->pending = q;
    f->n_pending++;
    uv_timer_start(&q->timer, timer_cb, DNSFW_TIMEOUT_MS, DNSFW_TIMEOUT_MS);
    /* uv_udp_recv_start binds to a random port on first use */
    {
        struct sockaddr_storage any;
        struct node_addr a = {.family = f->ups[q->up].family};
        node_addr_to_sockaddr(&a, &any);
        if (uv_udp_bind(&q->udp, (struct sockaddr *)&any, 0) < 0 ||
            uv_udp_recv_start(&q->udp, udp_alloc, udp_read) < 0) {
            finish(q, NULL, 0);
            return 0;
        }
    }
    send_udp(q);
    return 0;
}

struct dnsfw *dnsfw_new(uv_loop_t *loop, const struct node_addr *ups, size_t n, dnsfw_done_fn done,
                        void *ud)
{
    struct dnsfw *f = xcalloc(1, sizeof(*f));

    f->loop = loop;
    f->n_ups = n > DNSFW_UPSTREAMS_MAX ? DNSFW_UPSTREAMS_MAX : n;
    memcpy(f->ups, ups, f->n_ups * sizeof(*ups));
    f->next_up = randombytes_uniform(f->n_ups ? (uint32_t)f->n_ups : 1);
    f->done = done;
    f->ud = ud;
    return f;
}

void dnsfw_close(struct dnsfw *f)
{
    if (!f)
        return;
    f->closing = 1;
    while (f->pending)
        finish(f->pending, NULL, 0);
    maybe_free_fw(f);
}

size_t dnsfw_upstreams(const struct dnsfw *f)
{
    return f->n_ups;
}

const struct dnsfw_stats *dnsfw_stats(const struct dnsfw *f)
{
    return &f->st;
}

size_t dnsfw_resolv_conf(const char *path, const struct node_addr *self, struct node_addr *out,
                         size_t cap)
{
    static const uint8_t any[16];
    FILE *fp = fopen(path, "r");
    char line[512];
    size_t n = 0;

    if (!fp)
        return 0;
    while (n < cap && fgets(line, sizeof(line), fp)) {
        char ip[128], text[160];
        struct node_addr a;
        int is_self;

        if (sscanf(line, " nameserver %127s", ip) != 1)
            continue;
        snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:53" : "%s:53", ip);
        if (node_addr_parse(&a, text, 53, NULL) < 0)
            continue; /* e.g. a scoped IPv6 address */
        is_self = self && self->family && self->port == a.port &&
                  (memcmp(self->ip, a.ip, 16) == 0 || memcmp(self->ip, any, 16) == 0);
        if (!is_self)
            out[n++] = a;
    }
    fclose(fp);
    return n;
}
