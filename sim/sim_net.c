/* sim_net: event queue, links, loss and partitions of the simulated network
 * (see sim_net.h for the model). Owns every byte string in flight and frees
 * it once delivered or dropped. Knows no protocol. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sim/sim_net.h"

#define SYN_RTO_MS  1000 /* initial SYN retransmission timeout (RFC 6298) */
#define DATA_RTO_MS 200  /* Linux's minimum data retransmission timeout */

struct qe {
    uint64_t at, seq;
    uint64_t opened_ms;
    uint64_t lives; /* streams: the opener's and the peer's lives when it opened */
    uint8_t *data;
    uint32_t len;
    uint32_t from, to;
    uint8_t kind;
};

struct partition {
    uint64_t start_ms, end_ms;
    uint16_t *group;
};

struct sim_net {
    struct sim_net_config cfg;
    uint64_t now, seq, rng;
    uint64_t lat_key; /* keys the per-link latency hash */

    struct qe *q; /* binary min-heap on (at, seq) */
    size_t qn, qcap;

    uint64_t *timer_at; /* per node: the armed wake-up, UINT64_MAX: none */
    uint8_t *up;
    uint32_t *life; /* per node: how many times it came up (a restart is a new life) */
    struct partition *parts;
    size_t n_parts;

    uint8_t *last; /* data of the event handed out last, freed on the next call */
    struct sim_net_node_stats *node_stats;
    struct sim_net_stats stats;
};

/* ---- randomness ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd(struct sim_net *n)
{
    return mix64(n->rng += 0x9e3779b97f4a7c15ull);
}

static int lost(struct sim_net *n)
{
    /* 53 random bits as a double in [0, 1) */
    return n->cfg.loss > 0 && (double)(rnd(n) >> 11) * 0x1.0p-53 < n->cfg.loss;
}

/* The link's base latency, the same both ways and for the whole run. */
static uint64_t link_latency(const struct sim_net *n, uint32_t a, uint32_t b)
{
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t span = (uint64_t)n->cfg.latency_max_ms - n->cfg.latency_min_ms + 1;
    uint64_t h = mix64(n->lat_key ^ (((uint64_t)lo << 32) | hi));
    return n->cfg.latency_min_ms + h % span;
}

static uint64_t one_way(struct sim_net *n, uint32_t a, uint32_t b)
{
    uint64_t j = n->cfg.jitter_ms ? rnd(n) % ((uint64_t)n->cfg.jitter_ms + 1) : 0;
    return link_latency(n, a, b) + j;
}

/* Time a TCP stream needs to connect (SYN, SYN-ACK) under loss. */
static uint64_t connect_delay(struct sim_net *n, uint32_t a, uint32_t b)
{
    uint64_t wait = 0, rto = SYN_RTO_MS;
    while ((lost(n) || lost(n)) && wait <= n->cfg.stream_timeout_ms) {
        wait += rto;
        rto *= 2;
    }
    return wait + 2 * one_way(n, a, b);
}

/* Time one data segment needs to arrive under loss. */
static uint64_t data_delay(struct sim_net *n, uint32_t a, uint32_t b)
{
    uint64_t wait = 0, rto = DATA_RTO_MS;
    while (lost(n) && wait <= n->cfg.stream_timeout_ms) {
        wait += rto;
        rto *= 2;
    }
    return wait + one_way(n, a, b);
}

/* ---- the event queue ---- */

static int before(const struct qe *a, const struct qe *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void push(struct sim_net *n, uint8_t kind, uint64_t at, uint32_t from, uint32_t to,
                 uint64_t opened, uint64_t lives, uint8_t *data, size_t len)
{
    size_t i;

    if (n->qn == n->qcap) {
        n->qcap = n->qcap ? n->qcap * 2 : 1024;
        n->q = xrealloc(n->q, n->qcap * sizeof(*n->q));
    }
    i = n->qn++;
    n->q[i] = (struct qe){.at = at < n->now ? n->now : at,
                          .seq = n->seq++,
                          .opened_ms = opened,
                          .lives = lives,
                          .data = data,
                          .len = (uint32_t)len,
                          .from = from,
                          .to = to,
                          .kind = kind};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        struct qe t;
        if (!before(&n->q[i], &n->q[parent]))
            break;
        t = n->q[i];
        n->q[i] = n->q[parent];
        n->q[parent] = t;
        i = parent;
    }
    if (n->qn > n->stats.queue_max)
        n->stats.queue_max = n->qn;
}

static struct qe pop(struct sim_net *n)
{
    struct qe top = n->q[0];
    size_t i = 0;

    n->q[0] = n->q[--n->qn];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct qe t;
        if (l < n->qn && before(&n->q[l], &n->q[m]))
            m = l;
        if (r < n->qn && before(&n->q[r], &n->q[m]))
            m = r;
        if (m == i)
            break;
        t = n->q[i];
        n->q[i] = n->q[m];
        n->q[m] = t;
        i = m;
    }
    return top;
}

/* ---- life cycle ---- */

struct sim_net *sim_net_new(const struct sim_net_config *c, struct err *e)
{
    struct sim_net *n;

    if (c->nodes == 0) {
        err_set(e, -EINVAL, "the network needs at least one node");
        return NULL;
    }
    if (c->latency_min_ms > c->latency_max_ms) {
        err_set(e, -EINVAL, "latency range %u-%u ms is empty", c->latency_min_ms,
                c->latency_max_ms);
        return NULL;
    }
    if (!(c->loss >= 0 && c->loss < 1)) {
        err_set(e, -EINVAL, "loss %g is outside 0..1 (1 excluded)", c->loss);
        return NULL;
    }
    if (c->stream_timeout_ms == 0) {
        err_set(e, -EINVAL, "stream timeout must be positive");
        return NULL;
    }
    n = xcalloc(1, sizeof(*n));
    n->cfg = *c;
    n->rng = mix64(c->seed ^ 0x6e65746e65746e65ull);
    n->lat_key = mix64(c->seed + 0x9e3779b97f4a7c15ull);
    n->timer_at = xmalloc(c->nodes * sizeof(*n->timer_at));
    for (uint32_t i = 0; i < c->nodes; i++)
        n->timer_at[i] = UINT64_MAX;
    n->up = xmalloc(c->nodes);
    n->life = xcalloc(c->nodes, sizeof(*n->life));
    memset(n->up, 1, c->nodes);
    n->node_stats = xcalloc(c->nodes, sizeof(*n->node_stats));
    return n;
}

void sim_net_free(struct sim_net *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->qn; i++)
        free(n->q[i].data);
    for (size_t i = 0; i < n->n_parts; i++)
        free(n->parts[i].group);
    free(n->q);
    free(n->parts);
    free(n->timer_at);
    free(n->up);
    free(n->life);
    free(n->node_stats);
    free(n->last);
    free(n);
}

uint64_t sim_net_now(const struct sim_net *n)
{
    return n->now;
}

/* ---- topology ---- */

void sim_net_partition(struct sim_net *n, const uint16_t *group, uint64_t start_ms, uint64_t end_ms)
{
    struct partition *p;

    n->parts = xrealloc(n->parts, (n->n_parts + 1) * sizeof(*n->parts));
    p = &n->parts[n->n_parts++];
    p->start_ms = start_ms;
    p->end_ms = end_ms;
    p->group = xmemdup(group, n->cfg.nodes * sizeof(*group));
}

int sim_net_separated_since(const struct sim_net *n, uint32_t a, uint32_t b, uint64_t since_ms)
{
    for (size_t i = 0; i < n->n_parts; i++) {
        const struct partition *p = &n->parts[i];
        if (p->start_ms <= n->now && p->end_ms > since_ms && p->group[a] != p->group[b])
            return 1;
    }
    return 0;
}

int sim_net_reachable(const struct sim_net *n, uint32_t a, uint32_t b)
{
    return n->up[a] && n->up[b] && !sim_net_separated_since(n, a, b, n->now);
}

void sim_net_new_life(struct sim_net *n, uint32_t node)
{
    if (node < n->cfg.nodes)
        n->life[node]++;
}

void sim_net_set_up(struct sim_net *n, uint32_t node, int up)
{
    n->up[node] = up != 0;
    if (!up)
        n->timer_at[node] = UINT64_MAX;
}

/* ---- sending ---- */

void sim_net_timer(struct sim_net *n, uint32_t node, uint64_t at_ms)
{
    if (at_ms < n->now)
        at_ms = n->now;
    if (n->timer_at[node] == at_ms || !n->up[node])
        return;
    n->timer_at[node] = at_ms;
    push(n, SIM_EV_TIMER, at_ms, node, node, 0, 0, NULL, 0);
}

void sim_net_send(struct sim_net *n, uint32_t from, uint32_t to, uint8_t *data, size_t len)
{
    if (!n->up[from] || to >= n->cfg.nodes) {
        free(data);
        return;
    }
    n->node_stats[from].dgrams++;
    n->node_stats[from].dgram_bytes += len;
    if (lost(n)) {
        n->stats.dgrams_lost++;
        free(data);
        return;
    }
    push(n, SIM_EV_DGRAM, n->now + one_way(n, from, to), from, to, 0, 0, data, len);
}

static void stream_fail(struct sim_net *n, uint32_t opener, uint32_t peer, uint64_t opened)
{
    n->stats.streams_failed++;
    push(n, SIM_EV_STREAM_FAILED, opened + n->cfg.stream_timeout_ms, peer, opener, opened, 0, NULL,
         0);
}

void sim_net_stream(struct sim_net *n, uint32_t from, uint32_t to, uint8_t *data, size_t len)
{
    uint64_t d;

    if (!n->up[from]) {
        free(data);
        return;
    }
    n->node_stats[from].streams++;
    n->node_stats[from].stream_bytes += len;
    if (to >= n->cfg.nodes) {
        free(data);
        stream_fail(n, from, from, n->now);
        return;
    }
    d = connect_delay(n, from, to) + data_delay(n, from, to);
    if (d > n->cfg.stream_timeout_ms) {
        free(data);
        stream_fail(n, from, to, n->now);
        return;
    }
    push(n, SIM_EV_STREAM, n->now + d, from, to, n->now,
         (uint64_t)n->life[from] << 32 | n->life[to], data, len);
}

void sim_net_reply(struct sim_net *n, const struct sim_ev *req, uint8_t *data, size_t len)
{
    uint32_t opener = req->from, peer = req->to;
    uint64_t d;

    if (!data) {
        /* closed without an answer: the opener sees the connection end */
        push(n, SIM_EV_STREAM_FAILED, n->now + one_way(n, peer, opener), peer, opener,
             req->opened_ms, 0, NULL, 0);
        n->stats.streams_failed++;
        return;
    }
    n->node_stats[peer].stream_bytes += len;
    d = data_delay(n, peer, opener);
    if (n->now + d > req->opened_ms + n->cfg.stream_timeout_ms) {
        free(data);
        stream_fail(n, opener, peer, req->opened_ms);
        return;
    }
    push(n, SIM_EV_REPLY, n->now + d, peer, opener, req->opened_ms, req->lives, data, len);
}

/* ---- delivery ---- */

int sim_net_next(struct sim_net *n, uint64_t until_ms, struct sim_ev *ev)
{
    free(n->last);
    n->last = NULL;
    while (n->qn && n->q[0].at <= until_ms) {
        struct qe e = pop(n);
        n->now = e.at;
        switch (e.kind) {
        case SIM_EV_TIMER:
            if (n->timer_at[e.to] != e.at || !n->up[e.to])
                continue; /* replaced by a later sim_net_timer, or the node went down */
            n->timer_at[e.to] = UINT64_MAX;
            break;
        case SIM_EV_DGRAM:
            if (!sim_net_reachable(n, e.from, e.to)) {
                n->stats.dgrams_unreachable++;
                free(e.data);
                continue;
            }
            break;
        case SIM_EV_STREAM:
        case SIM_EV_REPLY:
            if (!n->up[e.to]) {
                free(e.data); /* a reply to a node that died meanwhile */
                continue;
            }
            /* an end restarted since the stream opened: the connection died
             * with it, and the end still running sees it fail */
            {
                uint32_t opener = e.kind == SIM_EV_STREAM ? e.from : e.to;
                uint32_t peer = e.kind == SIM_EV_STREAM ? e.to : e.from;
                int opener_same = n->life[opener] == (uint32_t)(e.lives >> 32);
                if (!opener_same || n->life[peer] != (uint32_t)e.lives) {
                    free(e.data);
                    if (opener_same)
                        stream_fail(n, opener, peer, e.opened_ms);
                    continue;
                }
            }
            if (!sim_net_reachable(n, e.from, e.to)) {
                free(e.data);
                if (e.kind == SIM_EV_STREAM)
                    stream_fail(n, e.from, e.to, e.opened_ms);
                else
                    stream_fail(n, e.to, e.from, e.opened_ms);
                continue;
            }
            break;
        case SIM_EV_STREAM_FAILED:
            if (!n->up[e.to])
                continue;
            break;
        }
        n->last = e.data;
        ev->kind = e.kind;
        ev->at_ms = e.at;
        ev->from = e.from;
        ev->to = e.to;
        ev->opened_ms = e.opened_ms;
        ev->lives = e.lives;
        ev->data = e.data;
        ev->len = e.len;
        n->stats.events++;
        return 1;
    }
    if (until_ms > n->now)
        n->now = until_ms;
    return 0;
}

const struct sim_net_node_stats *sim_net_node_stats(const struct sim_net *n, uint32_t node)
{
    return &n->node_stats[node];
}

const struct sim_net_stats *sim_net_stats(const struct sim_net *n)
{
    return &n->stats;
}
