/* sim_net: the simulated network under troupe-sim. Nodes are numbered
 * 0..nodes-1; the network moves opaque byte strings between them in
 * simulated time, through one event queue ordered by (time, insertion), so a
 * run is a pure function of its configuration and seed. It knows nothing of
 * the protocol it carries: the swim driver (sim_swim.c) and later drivers of
 * other core/ modules pull events from it and feed them to their machines.
 *
 * Model:
 * - every link (a, b) has a base one-way latency drawn once from
 *   [latency_min_ms, latency_max_ms] by a hash of the seed and the pair;
 *   every packet adds a uniform jitter of 0..jitter_ms;
 * - a datagram is lost with probability `loss`, independently per packet;
 * - a stream (one request, at most one reply, as core/swim's TCP model) is
 *   reliable but pays for loss with TCP retransmission delays: a lost SYN or
 *   SYN-ACK costs 1 s (doubling), a lost data segment 200 ms (doubling);
 *   a stream that cannot finish within stream_timeout_ms fails then;
 * - a node that is down neither sends nor receives; datagrams to it vanish
 *   and streams to it time out;
 * - partitions: during [start, end) nodes talk only within their group;
 *   reachability is checked when a packet arrives, so packets in flight when
 *   a partition starts are lost.
 * Bandwidth is not modelled: a large push-pull costs latency, not time on
 * the wire. */
#ifndef TROUPE_SIM_NET_H
#define TROUPE_SIM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sim_net_config {
    uint32_t nodes;
    uint32_t latency_min_ms, latency_max_ms; /* base one-way latency of a link */
    uint32_t jitter_ms;                      /* added per packet: 0..jitter_ms */
    double loss;                             /* per datagram and per TCP segment, 0..1 */
    uint32_t stream_timeout_ms;              /* a stream gives up after this: 5000 */
    uint64_t seed;
};

enum sim_ev_kind {
    SIM_EV_TIMER = 1,     /* the wake-up armed with sim_net_timer for `to` */
    SIM_EV_DGRAM,         /* a datagram from `from` arrived at `to` */
    SIM_EV_STREAM,        /* a stream request from `from` arrived at `to` */
    SIM_EV_REPLY,         /* the reply to a stream `to` opened to `from` arrived */
    SIM_EV_STREAM_FAILED, /* the stream `to` opened to `from` failed */
};

struct sim_ev {
    uint8_t kind;   /* enum sim_ev_kind */
    uint64_t at_ms; /* now */
    uint32_t from, to;
    uint64_t opened_ms; /* streams: when the opener sent the request */
    uint64_t lives;     /* streams: the opener's and the peer's lives then (sim_net_new_life) */
    uint8_t *data;      /* owned by the network, valid until the next sim_net_next */
    size_t len;
};

/* Per-node traffic, counted at the sender. */
struct sim_net_node_stats {
    uint64_t dgrams, dgram_bytes;   /* datagrams sent */
    uint64_t streams, stream_bytes; /* streams opened and replies sent, with their bytes */
};

struct sim_net_stats {
    uint64_t dgrams_lost;        /* dropped by `loss` */
    uint64_t dgrams_unreachable; /* dropped by a partition or a down node */
    uint64_t streams_failed;
    uint64_t events;    /* events delivered */
    uint64_t queue_max; /* deepest the event queue got */
};

/* Returns a network with every node up and no partition, or NULL with a
 * message in e when the configuration is invalid. Free with sim_net_free. */
struct sim_net *sim_net_new(const struct sim_net_config *c, struct err *e);
void sim_net_free(struct sim_net *n); /* NULL is a no-op */

uint64_t sim_net_now(const struct sim_net *n);

/* Adds a partition over [start_ms, end_ms): group[i] is node i's group (an
 * array of `nodes` entries, copied); nodes talk only inside their group.
 * Partitions may overlap: a pair must share a group in every active one. */
void sim_net_partition(struct sim_net *n, const uint16_t *group, uint64_t start_ms,
                       uint64_t end_ms);
/* Can a and b talk at the current time? */
int sim_net_reachable(const struct sim_net *n, uint32_t a, uint32_t b);
/* Were a and b kept apart by a partition at any time in [since_ms, now]? */
int sim_net_separated_since(const struct sim_net *n, uint32_t a, uint32_t b, uint64_t since_ms);

/* Takes node down (it stops sending and receiving) or brings it up. */
/* Node starts a new life (an agent restarted): streams either end opened
 * before it are gone, and the end still running sees them fail. */
void sim_net_new_life(struct sim_net *n, uint32_t node);
void sim_net_set_up(struct sim_net *n, uint32_t node, int up);

/* Wakes `node` with a SIM_EV_TIMER at at_ms (not before now). A node has one
 * timer: arming it again replaces the previous deadline. */
void sim_net_timer(struct sim_net *n, uint32_t node, uint64_t at_ms);

/* Sends a datagram; the network takes `data` (heap) and frees it. */
void sim_net_send(struct sim_net *n, uint32_t from, uint32_t to, uint8_t *data, size_t len);
/* Opens a stream and sends one request; takes `data` (heap). The opener
 * later gets SIM_EV_REPLY or SIM_EV_STREAM_FAILED. */
void sim_net_stream(struct sim_net *n, uint32_t from, uint32_t to, uint8_t *data, size_t len);
/* Answers the SIM_EV_STREAM `req`; takes `data` (heap). With data NULL the
 * stream closes without a reply, which the opener sees as a failure. */
void sim_net_reply(struct sim_net *n, const struct sim_ev *req, uint8_t *data, size_t len);

/* Pops the next event due at or before until_ms into ev and returns 1;
 * returns 0 when none is left before then, with the clock at until_ms. */
int sim_net_next(struct sim_net *n, uint64_t until_ms, struct sim_ev *ev);

const struct sim_net_node_stats *sim_net_node_stats(const struct sim_net *n, uint32_t node);
const struct sim_net_stats *sim_net_stats(const struct sim_net *n);

#endif
