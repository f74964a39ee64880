/* repl: how the CRDT store travels between agents, sans-I/O.
 * - Deltas piggyback on gossip: every change (local, or merged and new to
 *   us) is packed with the others of the moment into small payloads that
 *   the driver hands to swim_broadcast_user, which retransmits each
 *   retransmit_mult x log(N+1) times. A node relays each record that is
 *   new to it once, so a change reaches everyone in a few gossip rounds.
 * - A record too big for a packet is not broadcast; a notice (origin,
 *   version) is, and a node that learns it is behind asks the notice's
 *   sender for a sync at once.
 * - Anti-entropy over TCP, scheduled by repl_tick: we send a summary of our
 *   digest (a hash per bucket of origins); the peer answers with its digest
 *   entries of the buckets that differ (nothing when all agree); we send
 *   what it lacks with our entries of those buckets, and it answers with
 *   what we lack. In steady state a sync is two small messages.
 * - A node that learns it is behind (a gap in an origin's versions, a sync
 *   that brought new records, a notice, a cut-short delta) syncs again
 *   every sync_fast_ms until syncs find nothing new; otherwise every
 *   repl_sync_interval. At most one sync per peer and syncs_max in all are
 *   in flight; an unanswered one is given up after sync_timeout_ms.
 * - The digests peers send are kept to collect tombstones that every member
 *   the caller counts already has. A member that was not counted (dead,
 *   or back from an old snapshot) may still hold what a collected
 *   tombstone deleted: with a delta for a peer that covers an origin less
 *   than we do, where versions in between may have been collected, goes a
 *   census of that origin (the keys we hold), which makes the peer drop
 *   the records we do not hold at versions we cover (see crdt_census).
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
    uint32_t sync_interval_ms; /* anti-entropy period below 100 members: 10000 */
    uint32_t sync_fast_ms;     /* spacing of our syncs while we are behind: 500 */
    uint32_t sync_timeout_ms;  /* an unanswered sync of ours is given up: 15000 */
    uint32_t syncs_max;        /* our syncs in flight at once: 4 (at most 16) */
    uint32_t out_max;          /* queued broadcasts and stream outputs: 4096 */
    uint64_t seed;             /* of the peer and jitter choices */
};

void repl_config_default(struct repl_config *c);

/* The period of anti-entropy with nothing to catch up among n live peers:
 * sync_interval_ms x max(2, ceil(log10(n+1))) / 2, so 1x below 100
 * members, 1.5x below 1,000, 2x below 10,000: a summary grows with the
 * cluster, and differences found start fast syncs anyway. */
uint32_t repl_sync_interval(const struct repl_config *c, size_t n);

/* What the driver must send. */
enum repl_out_kind {
    REPL_OUT_BROADCAST = 1, /* give data to swim_broadcast_user */
    REPL_OUT_STREAM =
        2, /* open a stream to node `to`, send data; a reply goes to repl_recv_stream */
};

struct repl_out {
    uint8_t kind;
    char to[SWIM_NAME_MAX + 1]; /* REPL_OUT_STREAM: the node name */
    uint8_t *data;              /* heap; the caller frees */
    size_t len;
};

struct repl_stats {
    uint64_t broadcasts_out; /* records queued for gossip (ours and relayed) */
    uint64_t payloads_out;   /* gossip payloads they were packed into */
    uint64_t broadcasts_in, records_merged, records_stale;
    uint64_t syncs, sync_records_out, sync_records_in, notices;
    uint64_t syncs_equal;   /* syncs of ours that found both digests equal */
    uint64_t syncs_fast;    /* syncs of ours started early: we were behind */
    uint64_t syncs_busy;    /* sync requests left for later: one in flight already */
    uint64_t sync_timeouts; /* syncs of ours given up: no answer, or the stream failed */
    uint64_t gaps;          /* gossip records that showed a gap in their origin's versions */
    uint64_t decode_errors, dropped; /* malformed input; outputs over out_max */
    uint64_t gc_collected;
    uint64_t census_out, census_origins_out, census_bytes_out; /* censuses we sent */
    uint64_t census_in, census_dropped; /* censuses received; records they dropped here */
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

/* The live members other than us, as the driver sees them. */
struct repl_peers {
    size_t n;
    const char *(*at)(void *ud, size_t i); /* the i-th, i < n */
    void *ud;
};

/* Runs the sync schedule at now_ms: gives up syncs unanswered for too
 * long, starts the next one when due (with a peer asked for, else a
 * random one of p). Returns the next deadline (absolute ms). */
uint64_t repl_tick(struct repl *r, uint64_t now_ms, const struct repl_peers *p);
/* When repl_tick wants to run next (absolute ms; UINT64_MAX before the
 * first tick, unless a sync was asked for): an input may bring it forward
 * (a gap, a notice, repl_sync_soon). */
uint64_t repl_next_due(const struct repl *r);

/* Starts an anti-entropy exchange with node `peer` now: queues a
 * REPL_OUT_STREAM to it. When a sync with peer is already in flight, or
 * syncs_max are, it is left to repl_tick (counted in syncs_busy). */
void repl_sync(struct repl *r, const char *peer);
/* Asks for a sync with peer (NULL: any) at the next fast slot: a member
 * that (re)appeared, or our own join. */
void repl_sync_soon(struct repl *r, const char *peer);
/* Our stream to peer failed: its sync is given up. */
void repl_stream_failed(struct repl *r, const char *peer);

/* A repl stream message (whole frame, starting with CODEC_VERSION, MSG_REPL)
 * from node `from`, inbound or the reply to one of our streams. When it
 * needs an answer on the same stream, *reply gets a heap buffer (caller
 * frees), else NULL. */
int repl_recv_stream(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                     size_t len, uint8_t **reply, size_t *reply_len, struct err *e);

/* Pops the next output; 1 when *o was filled, 0 when none is left. */
int repl_poll_out(struct repl *r, struct repl_out *o);

/* Collects tombstones that every member that counts has covered: the
 * members listed (we may be among them). The agent lists every member not
 * yet reaped, dead and left ones included, so a member that returns before
 * it is reaped gets the tombstones themselves; one that was not counted
 * learns by census. A listed member whose digest we never got blocks
 * collection, whether or not we hold records of it: cut off since it
 * joined, it may hold writes nobody has seen, and a multi-writer delete
 * collected before it returns would let its older write read again. Every
 * origin we hold records of counts too, listed or not: after a start the
 * list may not be whole yet, and a tombstone collected then is lost for
 * good (peers take our coverage). The caller forgets an origin that stays
 * unlisted past its reap time (repl_forget). */
size_t repl_gc(struct repl *r, const struct repl_peers *members);

/* A member is about to be reaped: its multi-writer writes and deletes of
 * `kind` that decide a read are written again under our name, with their
 * stamps, and disseminated (crdt_adopt_origin; at most max). One live
 * member does it. Returns how many. */
size_t repl_adopt(struct repl *r, const char *origin, uint8_t kind, size_t max);

/* A member was reaped: its records and its digest go (that we asked it
 * for our own records in this start is kept). */
void repl_forget(struct repl *r, const char *node);

const struct repl_stats *repl_stats(const struct repl *r);

/* 1 when buf is a repl stream frame (CODEC_VERSION, MSG_REPL). */
int repl_is_stream(const uint8_t *buf, size_t len);

#endif
