/* dnsd: the DNS server on libuv (see dnsd.h). Owns the UDP socket
 * (a plain non-blocking socket watched by a uv_poll, so that datagrams are
 * read and answered in batches), the TCP listener and its connections,
 * and the forwarder. What to answer is core/dns's decision. */
#include "agent/dns/dnsd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include <strings.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "core/dns_cat.h"
#include "agent/dns/dns_forward.h"
#include "agent/log.h"
#include "agent/net/net.h"
#include "core/dns_cat.h"
#include "core/mem.h"

#define RBUF        4096       /* one UDP request; longer ones are dropped */
#define SBUF        1500       /* one UDP response: at most DNS_UDP_PAYLOAD */
#define CMSG_BUF    64         /* room for IP_PKTINFO / IPV6_PKTINFO */
#define ROUNDS_MAX  16         /* batches per wakeup, so TCP and timers get their turn */
#define WRITE_Q_MAX (1u << 20) /* a TCP client that reads no faster is dropped */

struct conn {
    struct conn *prev, *next;
    struct dnsd *d;
    uv_tcp_t tcp;
    uv_timer_t idle;
    uint8_t *in; /* 2 + DNS_MSG_MAX, from the first read */
    size_t in_len;
    int open; /* handles not yet closed */
    int closing;
    int pending; /* forwards in flight that answer on this connection */
};

/* Where a forwarded request's answer goes. */
struct origin {
    struct conn *c; /* TCP; NULL for UDP */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    uint8_t control[CMSG_BUF];
    size_t control_len;
};

struct wreq {
    uv_write_t w;
    uint8_t data[];
};

struct udp_stats {
    uint64_t in, out, send_errors, oversized;
};

struct dnsd {
    uv_loop_t *loop;
    struct dns *dns;
    struct dnsfw *fw;
    dnsd_view_fn view;
    void *ud;
    struct node_addr addr;
    int fd;
    uv_poll_t poll;
    uv_tcp_t listener;
    int open; /* handles not yet closed */
    int closing;
    struct conn *conns;
    size_t n_conns, max_conns;
    struct log_burst refused_log;
    struct udp_stats udp;
    uint64_t tcp_conns, tcp_refused, tcp_in, tcp_dropped, tcp_timeouts;

    /* one batch of datagrams in and out */
    struct mmsghdr rmsg[DNSD_BATCH], smsg[DNSD_BATCH];
    struct iovec riov[DNSD_BATCH], siov[DNSD_BATCH];
    struct sockaddr_storage raddr[DNSD_BATCH];
    uint8_t rctl[DNSD_BATCH][CMSG_BUF];
    uint8_t rbuf[DNSD_BATCH][RBUF];
    uint8_t sbuf[DNSD_BATCH][SBUF];
    uint8_t out[DNS_MSG_MAX + 2]; /* 2: the TCP length prefix */
};

static void maybe_free(struct dnsd *d)
{
    if (d->closing && d->open == 0) {
        dns_free(d->dns);
        free(d);
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct dnsd *d = h->data;
    d->open--;
    maybe_free(d);
}

/* ---- TCP ---- */

static void conn_free_if_done(struct conn *c)
{
    struct dnsd *d = c->d;

    if (c->open > 0 || c->pending > 0)
        return;
    free(c->in);
    free(c);
    d->open--;
    maybe_free(d);
}

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->open--;
    conn_free_if_done(c);
}

static void conn_close(struct conn *c)
{
    struct dnsd *d = c->d;

    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    uv_close((uv_handle_t *)&c->idle, conn_closed);
}

static void written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

/* Writes one length-prefixed message; a client too slow to read is closed. */
static void conn_send(struct conn *c, const uint8_t *msg, size_t len)
{
    struct wreq *r;
    uv_buf_t b;

    if (c->closing)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > WRITE_Q_MAX) {
        c->d->tcp_dropped++;
        conn_close(c);
        return;
    }
    r = xmalloc(sizeof(*r) + 2 + len);
    r->data[0] = (uint8_t)(len >> 8);
    r->data[1] = (uint8_t)len;
    memcpy(r->data + 2, msg, len);
    b = uv_buf_init((char *)r->data, (unsigned)(2 + len));
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, written) < 0) {
        free(r);
        conn_close(c);
    }
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)hint;
    if (!c->in)
        c->in = xmalloc(2 + DNS_MSG_MAX);
    *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(2 + DNS_MSG_MAX - c->in_len));
}

static void forward(struct dnsd *d, const uint8_t *req, size_t len, struct origin *o);

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct dnsd *d = c->d;
    struct dns_view v;
    size_t off = 0;
    (void)buf;

    if (n < 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    d->view(d->ud, &v);
    while (!c->closing && c->in_len - off >= 2) {
        size_t len = (size_t)(c->in[off] << 8 | c->in[off + 1]), out_len;
        const uint8_t *req = c->in + off + 2;
        enum dns_action act;

        if (c->in_len - off < 2 + len)
            break;
        d->tcp_in++;
        act = dns_handle(d->dns, &v, req, len, 1, d->out, DNS_MSG_MAX, &out_len);
        if (act == DNS_REPLY) {
            conn_send(c, d->out, out_len);
        } else if (act == DNS_FORWARD) {
            struct origin *o = xcalloc(1, sizeof(*o));
            o->c = c;
            c->pending++;
            forward(d, req, len, o);
        } else if (len < 12) {
            conn_close(c); /* a stream that does not carry DNS */
        }
        off += 2 + len;
    }
    if (off && !c->closing) {
        /* a whole message came: the next one has DNSD_IDLE_MS again (bytes
         * that trickle in without completing one do not buy time) */
        uv_timer_again(&c->idle);
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void idle_cb(uv_timer_t *t)
{
    struct conn *c = t->data;

    c->d->tcp_timeouts++;
    conn_close(c);
}

/* A connection refused: counted, and logged once per burst. */
static void refused(struct dnsd *d, const char *why)
{
    unsigned long long held = 0;

    d->tcp_refused++;
    if (log_burst_due(&d->refused_log, uv_now(d->loop), &held))
        log_warn("dns",
                 "DNS over TCP: a connection refused: %s (%llu more since the last such "
                 "line)",
                 why, held);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct dnsd *d = l->data;
    struct conn *c;

    if (d->closing)
        return;
    if (status < 0) {
        refused(d, uv_strerror(status)); /* libuv closed it: out of file descriptors */
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->d = d;
    uv_tcp_init(d->loop, &c->tcp);
    uv_timer_init(d->loop, &c->idle);
    c->tcp.data = c->idle.data = c;
    c->open = 2;
    d->open++;
    c->next = d->conns;
    if (c->next)
        c->next->prev = c;
    d->conns = c;
    d->n_conns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (d->n_conns > d->max_conns) {
        char why[64];
        snprintf(why, sizeof(why), "%zu open (--dns-tcp-max-conns)", d->max_conns);
        refused(d, why);
        conn_close(c);
        return;
    }
    d->tcp_conns++;
    uv_timer_start(&c->idle, idle_cb, DNSD_IDLE_MS, DNSD_IDLE_MS);
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) < 0)
        conn_close(c);
}

/* ---- UDP ---- */

static void udp_reply(struct dnsd *d, const struct origin *o, const uint8_t *msg, size_t len)
{
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
    struct msghdr h = {
        .msg_name = (void *)&o->addr,
        .msg_namelen = o->addr_len,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = o->control_len ? (void *)o->control : NULL,
        .msg_controllen = o->control_len,
    };

    if (sendmsg(d->fd, &h, MSG_DONTWAIT) < 0)
        d->udp.send_errors++;
    else
        d->udp.out++;
}

/* Reads and answers up to ROUNDS_MAX batches of datagrams. */
static void udp_readable(uv_poll_t *p, int status, int events)
{
    struct dnsd *d = p->data;
    struct dns_view v;
    (void)events;

    if (status < 0)
        return;
    for (int round = 0; round < ROUNDS_MAX; round++) {
        int n, k = 0, sent = 0;

        for (int i = 0; i < DNSD_BATCH; i++) {
            d->rmsg[i].msg_hdr.msg_namelen = sizeof(d->raddr[i]);
            d->rmsg[i].msg_hdr.msg_controllen = CMSG_BUF;
            d->rmsg[i].msg_hdr.msg_flags = 0;
        }
        n = recvmmsg(d->fd, d->rmsg, DNSD_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        d->udp.in += (uint64_t)n;
        d->view(d->ud, &v);
        for (int i = 0; i < n; i++) {
            struct msghdr *rh = &d->rmsg[i].msg_hdr;
            size_t out_len;
            enum dns_action act;

            if (rh->msg_flags & MSG_TRUNC) {
                d->udp.oversized++;
                continue;
            }
            act = dns_handle(d->dns, &v, d->rbuf[i], d->rmsg[i].msg_len, 0, d->out, DNS_MSG_MAX,
                             &out_len);
            if (act == DNS_REPLY && out_len <= SBUF) {
                struct msghdr *sh = &d->smsg[k].msg_hdr;
                memcpy(d->sbuf[k], d->out, out_len);
                d->siov[k].iov_base = d->sbuf[k];
                d->siov[k].iov_len = out_len;
                sh->msg_name = rh->msg_name;
                sh->msg_namelen = rh->msg_namelen;
                sh->msg_iov = &d->siov[k];
                sh->msg_iovlen = 1;
                sh->msg_control = rh->msg_controllen ? rh->msg_control : NULL;
                sh->msg_controllen = rh->msg_controllen;
                sh->msg_flags = 0;
                k++;
            } else if (act == DNS_FORWARD) {
                struct origin *o = xcalloc(1, sizeof(*o));
                memcpy(&o->addr, rh->msg_name, rh->msg_namelen);
                o->addr_len = rh->msg_namelen;
                if (rh->msg_controllen <= CMSG_BUF) {
                    memcpy(o->control, rh->msg_control, rh->msg_controllen);
                    o->control_len = rh->msg_controllen;
                }
                forward(d, d->rbuf[i], d->rmsg[i].msg_len, o);
            }
        }
        while (sent < k) {
            int r = sendmmsg(d->fd, d->smsg + sent, (unsigned)(k - sent), MSG_DONTWAIT);
            if (r <= 0) {
                /* the kernel's buffer is full or the client is gone: the
                 * client asks again, as over any lossy UDP path */
                d->udp.send_errors += (uint64_t)(k - sent);
                break;
            }
            sent += r;
        }
        d->udp.out += (uint64_t)sent;
        if (n < DNSD_BATCH)
            break;
    }
}

/* ---- forwarding ---- */

static void forward_done(void *ud, void *origin, const uint8_t *req, size_t req_len,
                         const uint8_t *resp, size_t len)
{
    struct dnsd *d = ud;
    struct origin *o = origin;

    if (resp) {
        dns_count_forwarded(d->dns, resp, len);
    } else {
        len = dns_error_reply(d->dns, req, req_len, o->c != NULL, DNS_RCODE_SERVFAIL, d->out,
                              DNS_MSG_MAX);
        resp = d->out;
    }
    if (o->c) {
        o->c->pending--;
        if (len)
            conn_send(o->c, resp, len);
        conn_free_if_done(o->c);
    } else if (len && !d->closing) {
        udp_reply(d, o, resp, len);
    }
    free(o);
}

static void forward(struct dnsd *d, const uint8_t *req, size_t len, struct origin *o)
{
    if (dnsfw_query(d->fw, req, len, o->c != NULL, o) == 0)
        return;
    /* too many in flight: fail this one now */
    forward_done(d, o, req, len, NULL, 0);
}

/* ---- open and close ---- */

static int udp_open(struct dnsd *d, struct err *e)
{
    static const uint8_t any[16];
    struct sockaddr_storage ss;
    int one = 1, buf = 4 << 20;
    socklen_t len = d->addr.family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    char a[64];

    node_addr_to_sockaddr(&d->addr, &ss);
    d->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0)
        return err_set(e, -errno, "DNS on %s: socket: %s", node_addr_str(&d->addr, a, sizeof(a)),
                       strerror(errno));
    setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(d->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (memcmp(d->addr.ip, any, 16) == 0) {
        /* on any address, answer from the address the request came to */
        if (d->addr.family == 4)
            setsockopt(d->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        else
            setsockopt(d->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    }
    if (bind(d->fd, (struct sockaddr *)&ss, len) < 0) {
        int rc = -errno;
        close(d->fd);
        d->fd = -1;
        return err_set(e, rc, "DNS on %s: %s", node_addr_str(&d->addr, a, sizeof(a)),
                       strerror(-rc));
    }
    for (int i = 0; i < DNSD_BATCH; i++) {
        d->riov[i].iov_base = d->rbuf[i];
        d->riov[i].iov_len = RBUF;
        d->rmsg[i].msg_hdr.msg_name = &d->raddr[i];
        d->rmsg[i].msg_hdr.msg_iov = &d->riov[i];
        d->rmsg[i].msg_hdr.msg_iovlen = 1;
        d->rmsg[i].msg_hdr.msg_control = d->rctl[i];
    }
    return 0;
}

static void poll_closed(uv_handle_t *h)
{
    struct dnsd *d = h->data;
    close(d->fd);
    d->fd = -1;
    handle_closed(h);
}

int dnsd_open(struct dnsd **out, uv_loop_t *loop, const struct config *cfg, const char *self,
              dnsd_view_fn view, void *ud, struct err *e)
{
    struct dnsd *d = xcalloc(1, sizeof(*d));
    struct dns_config dc;
    struct node_addr ups[DNSFW_UPSTREAMS_MAX];
    struct sockaddr_storage ss;
    size_t n_ups = 0;
    uint64_t seed;
    char a[64];
    int rc;

    d->loop = loop;
    d->view = view;
    d->ud = ud;
    d->addr = cfg->dns;
    d->max_conns = cfg->dns_tcp_max_conns ? cfg->dns_tcp_max_conns : DNSD_CONNS_MAX;
    d->fd = -1;
    dns_config_default(&dc);
    snprintf(dc.domain, sizeof(dc.domain), "%s", cfg->dns_domain);
    snprintf(dc.alt_domain, sizeof(dc.alt_domain), "%s", cfg->dns_alt_domain);
    snprintf(dc.datacenter, sizeof(dc.datacenter), "%s", cfg->datacenter);
    snprintf(dc.self, sizeof(dc.self), "%s", self);
    dc.service_ttl_s = cfg->dns_service_ttl_s;
    dc.node_ttl_s = cfg->dns_node_ttl_s;
    dc.negative_ttl_s = cfg->dns_negative_ttl_s;
    dc.only_passing = cfg->dns_only_passing;
    for (size_t i = 0; i < cfg->n_dns_upstreams && n_ups < DNSFW_UPSTREAMS_MAX; i++)
        if (node_addr_parse(&ups[n_ups], cfg->dns_upstreams[i], 53, NULL) == 0)
            n_ups++;
    if (cfg->n_dns_upstreams == 0)
        n_ups = dnsfw_resolv_conf("/etc/resolv.conf", &cfg->dns, ups, DNSFW_UPSTREAMS_MAX);
    dc.upstreams = n_ups > 0;
    randombytes_buf(&seed, sizeof(seed));
    if (!(d->dns = dns_new(&dc, seed, e))) {
        free(d);
        return e->code ? e->code : -EINVAL;
    }
    if ((rc = udp_open(d, e)) < 0) {
        dns_free(d->dns);
        free(d);
        return rc;
    }
    uv_tcp_init(loop, &d->listener);
    d->listener.data = d;
    d->open++;
    node_addr_to_sockaddr(&d->addr, &ss);
    if ((rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&d->listener, 128, on_connection)) < 0) {
        err_set(e, rc, "DNS on %s (TCP): %s", node_addr_str(&d->addr, a, sizeof(a)),
                uv_strerror(rc));
        close(d->fd);
        d->fd = -1;
        d->closing = 1;
        uv_close((uv_handle_t *)&d->listener, handle_closed);
        return rc == UV_EADDRINUSE ? -EADDRINUSE : rc;
    }
    uv_poll_init_socket(loop, &d->poll, d->fd);
    d->poll.data = d;
    d->open++;
    uv_poll_start(&d->poll, UV_READABLE, udp_readable);
    d->fw = dnsfw_new(loop, ups, n_ups, forward_done, d);
    log_info("dns", "DNS on %s (UDP and TCP), zone %s, %zu upstream resolver%s%s",
             node_addr_str(&d->addr, a, sizeof(a)), dns_config(d->dns)->domain, n_ups,
             n_ups == 1 ? "" : "s", n_ups ? "" : ": other names are REFUSED");
    if (dns_config(d->dns)->alt_domain[0])
        log_info("dns", "Consul's names answered too: NAME.service.%s, datacenter %s",
                 dns_config(d->dns)->alt_domain, dns_config(d->dns)->datacenter);
    for (size_t i = 0; i < n_ups; i++)
        log_debug("dns", "upstream %s", node_addr_str(&ups[i], a, sizeof(a)));
    *out = d;
    return 0;
}

void dnsd_close(struct dnsd *d)
{
    if (!d || d->closing)
        return;
    d->closing = 1;
    d->open++; /* hold d while the forwarder fails what is in flight */
    dnsfw_close(d->fw);
    d->fw = NULL;
    while (d->conns)
        conn_close(d->conns);
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t *)&d->poll, poll_closed);
    uv_close((uv_handle_t *)&d->listener, handle_closed);
    d->open--;
    maybe_free(d);
}

json_t *dnsd_stats_json(const struct dnsd *d)
{
    const struct dns_stats *st = dns_stats(d->dns);
    json_t *qt = json_object(), *rc = json_object();
    char a[64];

    for (int i = 0; i < DNS_QTYPE_SLOTS; i++)
        json_object_set_new(qt, dns_qtype_slot_name(i), json_integer((json_int_t)st->by_qtype[i]));
    for (int i = 0; i < DNS_RCODE_SLOTS; i++)
        json_object_set_new(rc, dns_rcode_slot_name(i), json_integer((json_int_t)st->by_rcode[i]));
    {
        const struct dnsfw_stats *fs = d->fw ? dnsfw_stats(d->fw) : NULL;
        return json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o,"
            " s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I},"
            " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
            "listen", node_addr_str(&d->addr, a, sizeof(a)), "domain", dns_config(d->dns)->domain,
            "alt_domain", dns_config(d->dns)->alt_domain, "datacenter",
            dns_config(d->dns)->datacenter, "requests", (json_int_t)st->requests, "dropped",
            (json_int_t)st->dropped, "forwarded", (json_int_t)st->forwarded, "truncated",
            (json_int_t)st->truncated, "cache_hits", (json_int_t)st->cache_hits, "cache_misses",
            (json_int_t)st->cache_misses, "by_qtype", qt, "by_rcode", rc, "udp", "in",
            (json_int_t)d->udp.in, "out", (json_int_t)d->udp.out, "send_errors",
            (json_int_t)d->udp.send_errors, "oversized", (json_int_t)d->udp.oversized, "tcp",
            "connections", (json_int_t)d->tcp_conns, "refused", (json_int_t)d->tcp_refused,
            "messages", (json_int_t)d->tcp_in, "slow_readers_dropped", (json_int_t)d->tcp_dropped,
            "upstream", "servers", (json_int_t)(d->fw ? dnsfw_upstreams(d->fw) : 0), "sent",
            (json_int_t)(fs ? fs->sent : 0), "answered", (json_int_t)(fs ? fs->answered : 0),
            "failed", (json_int_t)(fs ? fs->failed : 0), "tcp_retries",
            (json_int_t)(fs ? fs->tcp_retries : 0), "mismatched",
            (json_int_t)(fs ? fs->mismatched : 0), "dropped", (json_int_t)(fs ? fs->dropped : 0));
    }
}

void dnsd_write_metrics(const struct dnsd *d, FILE *f)
{
    const struct dns_stats *st = dns_stats(d->dns);
    const struct dnsfw_stats *fs = d->fw ? dnsfw_stats(d->fw) : NULL;

    fprintf(f, "# HELP troupe_dns_queries_total DNS requests by query type.\n"
               "# TYPE troupe_dns_queries_total counter\n");
    for (int i = 0; i < DNS_QTYPE_SLOTS; i++)
        fprintf(f, "troupe_dns_queries_total{qtype=\"%s\"} %llu\n", dns_qtype_slot_name(i),
                (unsigned long long)st->by_qtype[i]);
    fprintf(f, "# HELP troupe_dns_responses_total DNS responses by response code.\n"
               "# TYPE troupe_dns_responses_total counter\n");
    for (int i = 0; i < DNS_RCODE_SLOTS; i++)
        fprintf(f, "troupe_dns_responses_total{rcode=\"%s\"} %llu\n", dns_rcode_slot_name(i),
                (unsigned long long)st->by_rcode[i]);
#define DNS_COUNTER(name, value, help)                                                             \
    fprintf(f,                                                                                     \
            "# HELP troupe_dns_" name " " help "\n# TYPE troupe_dns_" name                         \
            " counter\ntroupe_dns_" name " %llu\n",                                                \
            (unsigned long long)(value))
    DNS_COUNTER("truncated_total", st->truncated, "UDP answers sent truncated (TC).");
    DNS_COUNTER("forwarded_total", st->forwarded, "Requests forwarded upstream.");
    DNS_COUNTER("upstream_failures_total", fs ? fs->failed : 0,
                "Forwarded requests no upstream answered in time.");
    DNS_COUNTER("cache_hits_total", st->cache_hits, "Answers served from the answer cache.");
    DNS_COUNTER("cache_misses_total", st->cache_misses, "Answers built from the replica.");
    DNS_COUNTER("dropped_total", st->dropped, "Datagrams that were no request, not answered.");
    DNS_COUNTER("tcp_conns_total", d->tcp_conns, "DNS-over-TCP connections accepted.");
    DNS_COUNTER("tcp_conns_refused_total", d->tcp_refused,
                "DNS-over-TCP connections closed at once: over --dns-tcp-max-conns, or out of "
                "file descriptors.");
    DNS_COUNTER("tcp_timeouts_total", d->tcp_timeouts,
                "DNS-over-TCP connections closed with no whole message in the idle time.");
#undef DNS_COUNTER
}

/* ---- the agent's view ---- */

/* A member by name, without case; its records are served while it is
 * alive or suspect. */
static int view_node(void *ud, const char *node, struct node_addr *out)
{
    return agent_member_addr(ud, node, out);
}

/* Service instances from the local replica of the catalog. */
static int view_instances(void *ud, const char *service, const char *tag, struct dns_inst *out,
                          size_t cap)
{
    struct agent *a = ud;
    struct cat_view cv;

    catalog_view(a, &cv);
    return dns_cat_instances(&cv, service, tag, out, cap);
}

static void agent_view(void *ud, struct dns_view *v)
{
    struct agent *a = ud;

    memset(v, 0, sizeof(*v));
    v->node = view_node;
    v->instances = a->catalog ? view_instances : NULL;
    v->ud = a;
    /* both only go up: their sum changes whenever either does */
    v->index = a->member_gen + (a->catalog ? catalog_index(a) : 0) + 1;
}

int agent_dns_start(struct agent *a, struct err *e)
{
    int rc;

    if (!a->cfg.dns.family) {
        log_info("dns", "DNS is off (--dns off)");
        return 0;
    }
    rc = dnsd_open(&a->dnsd, &a->loop, &a->cfg, a->cfg.node, agent_view, a, e);
    if (rc == -EADDRINUSE && !a->cfg.dns_explicit) {
        /* only the default address: another agent on this machine has it */
        log_warn("dns", "%s; running without DNS (choose an address with --dns)", e->msg);
        err_clear(e);
        return 0;
    }
    return rc;
}

void agent_dns_stop(struct agent *a)
{
    dnsd_close(a->dnsd);
    a->dnsd = NULL;
}
