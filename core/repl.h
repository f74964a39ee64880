/* repl: how the CRDT store travels between agents, sans-I/O.
 * - Deltas piggyback on gossip: every change (local, or merged and new to
 *   us) is queued as a small payload that the driver hands to
 *   swim_broadcast_user, which retransmits it retransmit_mult x log(N+1)
 *   times. A node relays each record that is new to it once, so a change
 *   reaches everyone in a few gossip rounds.
 * - A record too big for a packet is not broadcast; a notice (origin,
 *   version) is, and a node that learns it is behind asks the notice's
 *   sender for a sync at once.
 * - Anti-entropy: every sync_interval_ms the driver asks for a sync with one
 *   random live peer over TCP: we send our digest, the peer answers with
 *   what we lack and its own digest, and we push what it lacks. No full
 *   state in steady state: only missing records move.
 * - The digests peers send are kept to collect tombstones that every live
 *   member already has.
 *
 * Wire (owned by core/crdt_codec): a broadcast payload starts with a repl
 * message type byte; a stream message is [CODEC_VERSION][MSG_REPL][type]...
 * so the driver can tell it from a membership stream message.
 * Writes go through repl so that they are disseminated; reads go to the
 * crdt store directly. */
#ifndef TROUPE_REPL_H
#define TROUPE_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/crdt.h"
#include "core/err.h"
#include "core/hlc.h"

struct repl_config {
    uint32_t sync_interval_ms;  /* anti-entropy period: 10000 */
    uint32_t out_max;           /* queued broadcasts and stream outputs: 4096 */
};

void repl_config_default(struct repl_config *c);

/* What the driver must send. */
enum repl_out_kind {
    REPL_OUT_BROADCAST = 1, /* give data to swim_broadcast_user */
    REPL_OUT_STREAM = 2,    /* open a stream to node `to`, send data; a reply goes to repl_recv_stream */
};

struct repl_out {
    uint8_t kind;
    char to[SWIM_NAME_MAX + 1]; /* REPL_OUT_STREAM: the node name */
    uint8_t *data;              /* heap; the caller frees */
    size_t len;
};

struct repl_stats {
    uint64_t broadcasts_out, broadcasts_in, records_merged, records_stale;
    uint64_t syncs, sync_records_out, sync_records_in, notices;
    uint64_t decode_errors, dropped; /* malformed input; outputs over out_max */
    uint64_t gc_collected;
};

struct repl;

/* Replicates store c (not owned; it must outlive repl). Free with repl_free. */
struct repl *repl_new(struct crdt *c, const struct repl_config *cfg);
void repl_free(struct repl *r); /* NULL is a no-op */

/* Local writes (self is the origin), stamped with the HLC at wall_ms and
 * queued for dissemination. Returns as crdt_put / crdt_del. */
int repl_put(struct repl *r, uint64_t wall_ms, uint8_t kind, const char *key, const void *val,
             uint32_t len, struct err *e);
int repl_del(struct repl *r, uint64_t wall_ms, uint8_t kind, const char *key, struct err *e);

/* A user broadcast from gossip (SWIM_EV_USER data), sent by node `from`
 * when known (NULL otherwise). Malformed input is counted and refused with
 * a negative code; what was valid before the error stays merged. */
int repl_recv_broadcast(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                        size_t len, struct err *e);

/* Starts an anti-entropy exchange with node `peer` (chosen by the driver,
 * a random live member): queues a REPL_OUT_STREAM to it. */
void repl_sync(struct repl *r, const char *peer);

/* A repl stream message (whole frame, starting with CODEC_VERSION, MSG_REPL)
 * from node `from`, inbound or the reply to one of our streams. When it
 * needs an answer on the same stream, *reply gets a heap buffer (caller
 * frees), else NULL. */
int repl_recv_stream(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                     size_t len, uint8_t **reply, size_t *reply_len, struct err *e);

/* Pops the next output; 1 when *o was filled, 0 when none is left. */
int repl_poll_out(struct repl *r, struct repl_out *o);

/* Collects tombstones every live member has. live(ud, node) says which
 * members count; a live member whose digest we never got blocks it. */
size_t repl_gc(struct repl *r, int (*live)(void *ud, const char *node), void *ud);

/* A member was reaped: its records and its digest go. */
void repl_forget(struct repl *r, const char *node);

const struct repl_stats *repl_stats(const struct repl *r);
struct hlc *repl_hlc(struct repl *r);

/* 1 when buf is a repl stream frame (CODEC_VERSION, MSG_REPL). */
int repl_is_stream(const uint8_t *buf, size_t len);

#endif
