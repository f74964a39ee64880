/* net: the gossip transport, UDP and TCP on one port through libuv. Every
 * datagram and every stream frame is sealed with the keyring (net_keyring);
 * refused input is dropped, counted by reason, and logged with the peer's
 * address (at most once per peer and reason every 30 s). A stream carries
 * one framed request (u32 length + sealed bytes) and at most one framed reply. */
#ifndef TROUPE_NET_H
#define TROUPE_NET_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "agent/net/net_keyring.h"
#include "core/codec.h"
#include "core/err.h"

#define NET_STREAMS_MAX        128   /* outbound streams; inbound by default */
#define NET_STREAM_TIMEOUT_MS  5000  /* outbound: connect, send and get the reply */
#define NET_INBOUND_TIMEOUT_MS 10000 /* inbound: read the request */

struct net_callbacks {
    /* a datagram, opened */
    void (*on_packet)(void *ud, const struct node_addr *from, const uint8_t *plain, size_t len);
    /* an inbound stream request; set *reply (heap, net frees it) to answer */
    int (*on_stream)(void *ud, const struct node_addr *from, const uint8_t *plain, size_t len,
                     uint8_t **reply, size_t *reply_len);
    /* the reply to our stream to `to` */
    void (*on_stream_reply)(void *ud, const struct node_addr *to, const uint8_t *plain, size_t len);
    /* our stream to `to` failed or got no reply in time */
    void (*on_stream_failed)(void *ud, const struct node_addr *to);
};

struct net_stats {
    uint64_t udp_in, udp_out, udp_send_errors;
    uint64_t streams_in, streams_out, stream_failures, streams_refused;
    uint64_t refused[KR_REFUSAL_COUNT];
};

struct net;

/* Binds UDP and TCP on bind (port 0: one free port for both). The keyring
 * is borrowed: it must outlive the net or be replaced by net_set_keyring.
 * Frees itself after net_close's callback. */
int net_open(struct net **out, uv_loop_t *loop, const struct node_addr *bind,
             const struct keyring *kr, const struct net_callbacks *cb, void *ud, struct err *e);
void net_set_keyring(struct net *n, const struct keyring *kr);
/* Inbound streams open at once at most (0: NET_STREAMS_MAX); one more is
 * accepted and closed at once, counted and logged once per burst. */
void net_set_max_inbound(struct net *n, size_t max);
int net_send_udp(struct net *n, const struct node_addr *to, const uint8_t *plain, size_t len);
int net_send_stream(struct net *n, const struct node_addr *to, const uint8_t *plain, size_t len);
/* Closes every handle; done(ud) runs once all are closed and n is freed. */
void net_close(struct net *n, void (*done)(void *ud), void *ud);
const struct net_stats *net_stats(const struct net *n);
/* Prometheus lines for the transport counters. */
void net_write_metrics(const struct net *n, FILE *f);

#endif
