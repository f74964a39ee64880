/* net: UDP and TCP gossip transport on libuv (see net.h). Owns the sockets,
 * the stream connections and their buffers, and the sealing state; the
 * protocol above it sees only plaintext. */
#include "agent/net/net.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "agent/metrics.h"
#include "agent/log.h"
#include "core/mem.h"

#define UDP_BUF        65536
#define REFUSAL_LOG_MS 30000
#define REFUSAL_SLOTS  256
#define FRAME_MAX      (CODEC_STREAM_MAX + KEYRING_OVERHEAD)

struct stream {
    struct stream *prev, *next;
    struct net *n;
    int outbound;
    int open_handles;
    int finished; /* the reply was delivered or the failure reported */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    struct node_addr peer;
    uint8_t *out;
    size_t out_len;
    uint8_t *in;
    size_t in_len, in_cap;
};

struct refusal_log {
    struct node_addr peer;
    uint8_t why;
    uint64_t at;
};

struct net {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_tcp_t tcp;
    const struct keyring *kr;
    struct keyring_sender snd;
    struct keyring_replay *rp;
    struct net_callbacks cb;
    void *ud;
    struct net_stats stats;
    struct stream *streams;
    size_t n_in, n_out, max_in;
    struct log_burst refused_log;
    int open_handles;
    int closing;
    void (*done)(void *ud);
    void *done_ud;
    uint16_t port;
    struct refusal_log logs[REFUSAL_SLOTS];
    uint8_t rbuf[UDP_BUF];
    uint8_t pbuf[UDP_BUF];
};

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void note_refusal(struct net *n, const struct node_addr *peer, enum keyring_refusal why,
                         const char *msg, const char *what)
{
    uint64_t now = uv_now(n->loop);
    struct refusal_log *slot = &n->logs[(peer->ip[3] * 31u + peer->port + why) % REFUSAL_SLOTS];
    char a[64];

    n->stats.refused[why]++;
    if (slot->at && slot->why == why && node_addr_eq(&slot->peer, peer) &&
        now - slot->at < REFUSAL_LOG_MS)
        return;
    slot->peer = *peer;
    slot->why = (uint8_t)why;
    slot->at = now ? now : 1;
    log_warn("net", "refused %s from %s: %s", what, node_addr_str(peer, a, sizeof(a)), msg);
}

/* ---- handles ---- */

static void maybe_done(struct net *n)
{
    if (n->closing && n->open_handles == 0) {
        void (*done)(void *) = n->done;
        void *ud = n->done_ud;
        keyring_replay_free(n->rp);
        free(n);
        if (done)
            done(ud);
    }
}

static void net_handle_closed(uv_handle_t *h)
{
    struct net *n = h->data;
    n->open_handles--;
    maybe_done(n);
}

static void stream_handle_closed(uv_handle_t *h)
{
    struct stream *s = h->data;
    struct net *n = s->n;

    n->open_handles--;
    if (--s->open_handles == 0) {
        free(s->out);
        free(s->in);
        free(s);
    }
    maybe_done(n);
}

static void stream_close(struct stream *s)
{
    struct net *n = s->n;

    if (uv_is_closing((uv_handle_t *)&s->tcp))
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        n->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->outbound)
        n->n_out--;
    else
        n->n_in--;
    uv_close((uv_handle_t *)&s->tcp, stream_handle_closed);
    uv_close((uv_handle_t *)&s->timer, stream_handle_closed);
}

static void stream_fail(struct stream *s)
{
    struct net *n = s->n;

    if (s->outbound && !s->finished) {
        s->finished = 1;
        n->stats.stream_failures++;
        if (!n->closing && n->cb.on_stream_failed)
            n->cb.on_stream_failed(n->ud, &s->peer);
    }
    stream_close(s);
}

static struct stream *stream_new(struct net *n, int outbound)
{
    struct stream *s = xcalloc(1, sizeof(*s));

    s->n = n;
    s->outbound = outbound;
    uv_tcp_init(n->loop, &s->tcp);
    uv_timer_init(n->loop, &s->timer);
    s->tcp.data = s->timer.data = s->connect.data = s->write.data = s;
    s->open_handles = 2;
    n->open_handles += 2;
    s->next = n->streams;
    if (s->next)
        s->next->prev = s;
    n->streams = s;
    if (outbound)
        n->n_out++;
    else
        n->n_in++;
    return s;
}

static void stream_timeout(uv_timer_t *t)
{
    stream_fail(t->data);
}

/* ---- framing ---- */

static uint8_t *seal_frame(struct net *n, const uint8_t *plain, size_t len, size_t *out_len)
{
    uint8_t *buf = xmalloc(4 + len + KEYRING_OVERHEAD);
    int sealed =
        keyring_seal(n->kr, &n->snd, wall_ms(), plain, len, buf + 4, len + KEYRING_OVERHEAD);

    if (sealed < 0) {
        free(buf);
        return NULL;
    }
    buf[0] = (uint8_t)((uint32_t)sealed >> 24);
    buf[1] = (uint8_t)((uint32_t)sealed >> 16);
    buf[2] = (uint8_t)((uint32_t)sealed >> 8);
    buf[3] = (uint8_t)sealed;
    *out_len = 4 + (size_t)sealed;
    return buf;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct stream *s = h->data;

    if (s->in_cap - s->in_len < 65536) {
        size_t cap = s->in_cap ? s->in_cap * 2 : 65536;
        if (cap > FRAME_MAX + 4 + 65536)
            cap = FRAME_MAX + 4 + 65536;
        s->in = xrealloc(s->in, cap);
        s->in_cap = cap;
    }
    buf->base = (char *)s->in + s->in_len;
    buf->len = s->in_cap - s->in_len;
}

/* Returns 1 with the frame body when complete, 0 when more is needed, -1 if bad. */
static int frame_ready(struct stream *s, const uint8_t **body, size_t *len)
{
    uint32_t flen;

    if (s->in_len < 4)
        return 0;
    flen = (uint32_t)s->in[0] << 24 | (uint32_t)s->in[1] << 16 | (uint32_t)s->in[2] << 8 | s->in[3];
    if (flen > FRAME_MAX)
        return -1;
    if (s->in_len < 4 + (size_t)flen)
        return 0;
    *body = s->in + 4;
    *len = flen;
    return 1;
}

static int open_frame(struct stream *s, const uint8_t *body, size_t len, uint8_t **plain,
                      size_t *plain_len, struct err *e)
{
    struct net *n = s->n;
    enum keyring_refusal why;

    *plain = xmalloc(len ? len : 1);
    if (keyring_open(n->kr, n->rp, wall_ms(), body, len, *plain, len, plain_len, &why, e) < 0) {
        note_refusal(n, &s->peer, why, e->msg, "stream");
        free(*plain);
        *plain = NULL;
        return -1;
    }
    return 0;
}

/* ---- inbound streams ---- */

static void inbound_written(uv_write_t *w, int status)
{
    stream_close(w->data);
}

/* Tells the peer, in the clear, why its stream was refused, so that both
 * sides can say why a join failed. It carries no secret (only the reason
 * and key ids, which are hash prefixes), and a receiver only logs it. */
static void send_refusal(struct stream *s, const char *why)
{
    size_t wl = strnlen(why, 200), flen = KEYRING_HEADER + wl;

    s->out = xmalloc(4 + flen);
    s->out[0] = 0;
    s->out[1] = 0;
    s->out[2] = (uint8_t)(flen >> 8);
    s->out[3] = (uint8_t)flen;
    memcpy(s->out + 4, "TRP\x01\xff\xff\xff\xff", KEYRING_HEADER);
    memcpy(s->out + 4 + KEYRING_HEADER, why, wl);
    s->out_len = 4 + flen;
    uv_buf_t wb = uv_buf_init((char *)s->out, (unsigned)s->out_len);
    if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &wb, 1, inbound_written) < 0)
        stream_close(s);
}

static void inbound_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct stream *s = h->data;
    struct net *n = s->n;
    struct err e;
    const uint8_t *body;
    size_t len, plain_len, reply_len = 0, frame_len;
    uint8_t *plain, *reply = NULL;
    int r;

    if (nread < 0) {
        stream_close(s);
        return;
    }
    s->in_len += (size_t)nread;
    r = frame_ready(s, &body, &len);
    if (r == 0)
        return;
    uv_read_stop(h);
    if (r < 0) {
        stream_close(s);
        return;
    }
    if (open_frame(s, body, len, &plain, &plain_len, &e) < 0) {
        send_refusal(s, e.msg);
        return;
    }
    if (n->cb.on_stream)
        n->cb.on_stream(n->ud, &s->peer, plain, plain_len, &reply, &reply_len);
    free(plain);
    if (!reply || n->closing) {
        free(reply);
        stream_close(s);
        return;
    }
    s->out = seal_frame(n, reply, reply_len, &frame_len);
    free(reply);
    if (!s->out) {
        stream_close(s);
        return;
    }
    s->out_len = frame_len;
    uv_buf_t wb = uv_buf_init((char *)s->out, (unsigned)s->out_len);
    if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &wb, 1, inbound_written) < 0)
        stream_close(s);
}

/* An inbound stream refused: counted, and logged once per burst. */
static void refused(struct net *n, const char *why)
{
    unsigned long long held = 0;

    n->stats.streams_refused++;
    if (log_burst_due(&n->refused_log, uv_now(n->loop), &held))
        log_warn("net",
                 "gossip TCP: a connection refused: %s (%llu more since the last such "
                 "line)",
                 why, held);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct net *n = server->data;
    struct stream *s;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (n->closing)
        return;
    if (status < 0) {
        refused(n, uv_strerror(status)); /* libuv closed it: out of file descriptors */
        return;
    }
    s = stream_new(n, 0);
    if (uv_accept(server, (uv_stream_t *)&s->tcp) < 0) {
        stream_close(s);
        return;
    }
    if (n->n_in > n->max_in) {
        char why[64];
        snprintf(why, sizeof(why), "%zu open (--gossip-tcp-max-conns)", n->max_in);
        refused(n, why);
        stream_close(s);
        return;
    }
    n->stats.streams_in++;
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) == 0)
        node_addr_from_sockaddr((struct sockaddr *)&ss, &s->peer);
    uv_timer_start(&s->timer, stream_timeout, NET_INBOUND_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, inbound_read);
}

/* ---- outbound streams ---- */

static void outbound_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct stream *s = h->data;
    struct net *n = s->n;
    const uint8_t *body;
    size_t len, plain_len;
    uint8_t *plain;
    struct err e;
    int r;

    if (nread < 0) {
        stream_fail(s);
        return;
    }
    s->in_len += (size_t)nread;
    r = frame_ready(s, &body, &len);
    if (r == 0)
        return;
    if (r < 0) {
        stream_fail(s);
        return;
    }
    if (len >= KEYRING_HEADER && memcmp(body, "TRP\x01\xff\xff\xff\xff", KEYRING_HEADER) == 0) {
        char why[201], a[64];
        size_t wl = len - KEYRING_HEADER < 200 ? len - KEYRING_HEADER : 200;
        for (size_t i = 0; i < wl; i++) {
            uint8_t c = body[KEYRING_HEADER + i];
            why[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        why[wl] = '\0';
        log_warn("net", "refused by %s: it says: %s", node_addr_str(&s->peer, a, sizeof(a)), why);
        stream_fail(s);
        return;
    }
    if (open_frame(s, body, len, &plain, &plain_len, &e) < 0) {
        stream_fail(s);
        return;
    }
    s->finished = 1;
    if (!n->closing && n->cb.on_stream_reply)
        n->cb.on_stream_reply(n->ud, &s->peer, plain, plain_len);
    free(plain);
    stream_close(s);
}

static void outbound_written(uv_write_t *w, int status)
{
    struct stream *s = w->data;

    if (status < 0) {
        stream_fail(s);
        return;
    }
    uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, outbound_read);
}

static void outbound_connected(uv_connect_t *c, int status)
{
    struct stream *s = c->data;
    uv_buf_t wb;

    if (status < 0) {
        stream_fail(s);
        return;
    }
    wb = uv_buf_init((char *)s->out, (unsigned)s->out_len);
    if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &wb, 1, outbound_written) < 0)
        stream_fail(s);
}

int net_send_stream(struct net *n, const struct node_addr *to, const uint8_t *plain, size_t len)
{
    struct sockaddr_storage ss;
    struct stream *s;

    if (n->closing)
        return -ECANCELED;
    s = stream_new(n, 1);
    s->peer = *to;
    n->stats.streams_out++;
    s->out = seal_frame(n, plain, len, &s->out_len);
    node_addr_to_sockaddr(to, &ss);
    /* failures are reported from the loop, never from inside this call */
    if (n->n_out > NET_STREAMS_MAX || !s->out) {
        n->stats.streams_refused++;
        uv_timer_start(&s->timer, stream_timeout, 0, 0);
        return -EAGAIN;
    }
    uv_timer_start(&s->timer, stream_timeout, NET_STREAM_TIMEOUT_MS, 0);
    if (uv_tcp_connect(&s->connect, &s->tcp, (struct sockaddr *)&ss, outbound_connected) < 0)
        uv_timer_start(&s->timer, stream_timeout, 0, 0);
    return 0;
}

/* ---- datagrams ---- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct net *n = h->data;
    buf->base = (char *)n->rbuf;
    buf->len = sizeof(n->rbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *sa,
                     unsigned flags)
{
    struct net *n = h->data;
    struct node_addr from;
    enum keyring_refusal why;
    size_t len;
    struct err e;

    if (nread <= 0 || !sa || n->closing)
        return;
    n->stats.udp_in++;
    node_addr_from_sockaddr(sa, &from);
    if (keyring_open(n->kr, n->rp, wall_ms(), (const uint8_t *)buf->base, (size_t)nread, n->pbuf,
                     sizeof(n->pbuf), &len, &why, &e) < 0) {
        note_refusal(n, &from, why, e.msg, "packet");
        return;
    }
    if (n->cb.on_packet)
        n->cb.on_packet(n->ud, &from, n->pbuf, len);
}

int net_send_udp(struct net *n, const struct node_addr *to, const uint8_t *plain, size_t len)
{
    uint8_t buf[CODEC_PACKET_MAX + KEYRING_OVERHEAD];
    struct sockaddr_storage ss;
    uv_buf_t b;
    int sealed, rc;

    if (n->closing)
        return -ECANCELED;
    sealed = keyring_seal(n->kr, &n->snd, wall_ms(), plain, len, buf, sizeof(buf));
    if (sealed < 0)
        return sealed;
    node_addr_to_sockaddr(to, &ss);
    b = uv_buf_init((char *)buf, (unsigned)sealed);
    rc = uv_udp_try_send(&n->udp, &b, 1, (struct sockaddr *)&ss);
    if (rc < 0) {
        n->stats.udp_send_errors++;
        return rc;
    }
    n->stats.udp_out++;
    return 0;
}

/* ---- life cycle ---- */

int net_open(struct net **out, uv_loop_t *loop, const struct node_addr *bind,
             const struct keyring *kr, const struct net_callbacks *cb, void *ud, struct err *e)
{
    struct net *n = xcalloc(1, sizeof(*n));
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;
    char a[64];

    *out = NULL;
    n->loop = loop;
    n->max_in = NET_STREAMS_MAX;
    n->kr = kr;
    n->cb = *cb;
    n->ud = ud;
    n->rp = keyring_replay_new();
    keyring_sender_init(&n->snd);
    uv_tcp_init(loop, &n->tcp);
    uv_udp_init(loop, &n->udp);
    n->tcp.data = n->udp.data = n;
    n->open_handles = 2;
    node_addr_str(bind, a, sizeof(a));

    node_addr_to_sockaddr(bind, &ss);
    if ((rc = uv_tcp_bind(&n->tcp, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&n->tcp, 128, on_connection)) < 0) {
        err_set(e, rc, "gossip TCP on %s: %s", a, uv_strerror(rc));
        goto fail;
    }
    uv_tcp_getsockname(&n->tcp, (struct sockaddr *)&ss, &len);
    n->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    /* UDP on the very port TCP got, so port 0 works for tests */
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons(n->port);
    if ((rc = uv_udp_bind(&n->udp, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_udp_recv_start(&n->udp, udp_alloc, udp_recv)) < 0) {
        err_set(e, rc, "gossip UDP on %s: %s", a, uv_strerror(rc));
        goto fail;
    }
    /* room for bursts of gossip */
    {
        int size = 4 << 20;
        uv_recv_buffer_size((uv_handle_t *)&n->udp, &size);
    }
    *out = n;
    return 0;
fail:
    net_close(n, NULL, NULL);
    return rc;
}

void net_set_keyring(struct net *n, const struct keyring *kr)
{
    n->kr = kr;
}

void net_close(struct net *n, void (*done)(void *ud), void *ud)
{
    if (n->closing)
        return;
    n->closing = 1;
    n->done = done;
    n->done_ud = ud;
    while (n->streams)
        stream_close(n->streams);
    uv_close((uv_handle_t *)&n->udp, net_handle_closed);
    uv_close((uv_handle_t *)&n->tcp, net_handle_closed);
}

void net_set_max_inbound(struct net *n, size_t max)
{
    n->max_in = max ? max : NET_STREAMS_MAX;
}

const struct net_stats *net_stats(const struct net *n)
{
    return &n->stats;
}

void net_write_metrics(const struct net *n, FILE *f)
{
    const struct net_stats *s = &n->stats;

    metrics_head(f, "troupe_net_packets_refused_total", "counter",
                 "Gossip input refused before decoding, by reason.");
    for (int i = 1; i < KR_REFUSAL_COUNT; i++)
        fprintf(f, "troupe_net_packets_refused_total{reason=\"%s\"} %llu\n",
                keyring_refusal_name((enum keyring_refusal)i), (unsigned long long)s->refused[i]);
    metrics_head(f, "troupe_net_udp_packets_total", "counter",
                 "Gossip UDP datagrams, by direction.");
    fprintf(f, "troupe_net_udp_packets_total{dir=\"in\"} %llu\n", (unsigned long long)s->udp_in);
    fprintf(f, "troupe_net_udp_packets_total{dir=\"out\"} %llu\n", (unsigned long long)s->udp_out);
    metrics_one(f, "troupe_net_udp_send_errors_total", "counter", "Gossip UDP sends that failed.",
                s->udp_send_errors);
    metrics_head(f, "troupe_net_tcp_streams_total", "counter",
                 "Gossip TCP streams (push-pull, syncs, TCP pings), by direction.");
    fprintf(f, "troupe_net_tcp_streams_total{dir=\"in\"} %llu\n",
            (unsigned long long)s->streams_in);
    fprintf(f, "troupe_net_tcp_streams_total{dir=\"out\"} %llu\n",
            (unsigned long long)s->streams_out);
    metrics_one(f, "troupe_net_tcp_stream_failures_total", "counter",
                "Gossip TCP streams that failed (connect, read, write, timeout).",
                s->stream_failures);
    metrics_one(f, "troupe_net_tcp_streams_refused_total", "counter",
                "Inbound gossip TCP streams closed at once: over --gossip-tcp-max-conns, or out "
                "of file descriptors.",
                s->streams_refused);
}
