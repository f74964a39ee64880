/* crdt: the replicated state as a per-origin delta CRDT. The state is a map
 * origin (node name) -> records; every record carries the origin's version
 * counter at its last change, and a removal is a tombstone (a record with
 * `deleted`). Merging keeps, per (origin, kind, key), the record with the
 * higher version: associative, commutative and idempotent, so any delivery
 * order of deltas gives the same state.
 *
 * A digest (origin -> highest version held) is all a peer needs to say what
 * it has; the delta for it is exactly the records with a higher version
 * (scuttlebutt reconciliation). Multi-writer data (KV, service specs,
 * routes) are last-writer-wins registers on top: each writer's record lives under its
 * own origin, and a read takes the highest (hlc, origin) among them.
 *
 * Owns the records and their memory. Knows nothing of the wire (crdt_codec),
 * of what a value means (cat), or of gossip (repl). Pure and deterministic. */
#ifndef TROUPE_CRDT_H
#define TROUPE_CRDT_H

#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"

#define CRDT_KEY_MAX 512            /* bytes of a key, without NUL */
#define CRDT_VAL_MAX (512u * 1024u) /* bytes of a value (a KV value at most) */

enum crdt_kind {
    CRDT_INSTANCE = 1, /* a service instance; key: instance id; one writer */
    CRDT_CHECK = 2,    /* a health check's status; key: check id; one writer */
    CRDT_KV = 3,       /* a KV entry; key: the KV key; LWW by hlc */
    CRDT_EVENT = 4,    /* a user event; key: zero-padded sequence; one writer */
    CRDT_SPEC = 5,     /* a cluster-wide service spec; key: name; LWW by hlc */
    CRDT_ROUTE = 6,    /* a proxy route (core/route.h); key: route name; LWW by hlc */
    CRDT_TOKEN = 7,    /* an API token (core/acl: a hash, never the secret); key: its
                          name; LWW by hlc */
    CRDT_LOAD = 8,     /* a node's load for a service (core/autoscale: in flight, rate,
                          a reported metric); key: service name; one writer */
};
#define CRDT_KIND_MAX 8

/* One record. Records handed out by the store point into its memory and
 * stay valid until the next call that changes the store. */
struct crdt_rec {
    const char *origin; /* the node that wrote it (NUL-terminated) */
    const char *key;    /* NUL-terminated, 1..CRDT_KEY_MAX bytes, no NUL inside */
    uint8_t kind;       /* enum crdt_kind */
    uint8_t deleted;    /* tombstone: val is empty */
    uint64_t version;   /* the origin's counter at this record's last change */
    uint64_t hlc;       /* hlc timestamp of the write (see core/hlc.h) */
    uint32_t len;
    const uint8_t *val;
};

struct crdt_digest_entry {
    char origin[SWIM_NAME_MAX + 1];
    uint64_t version;
};

/* origin -> the version up to which every record of that origin is held (or
 * a newer one under the same key, or it was collected), sorted by origin.
 * This is not the highest version held: broadcasts come out of order and get
 * lost, and a peer trusting a high-water mark would never fill the gap. */
struct crdt_digest {
    size_t n;
    struct crdt_digest_entry *e; /* heap; crdt_digest_release frees */
};

struct crdt;

/* A store for node `self`, empty. Free with crdt_free. */
struct crdt *crdt_new(const char *self);
void crdt_free(struct crdt *c); /* NULL is a no-op */

/* Local writes by self: the record gets version = ++self_version. Returns 1
 * when the state changed, 0 when the same live value was there already (no
 * new version), or a negative code with a message (bad kind, key, size).
 * *out (when not NULL) gets the record as stored. */
int crdt_put(struct crdt *c, uint8_t kind, const char *key, const void *val, uint32_t len,
             uint64_t hlc, const struct crdt_rec **out, struct err *e);
/* Replaces the record with a tombstone. Returns 1, or 0 when there is no
 * live record under that key. */
int crdt_del(struct crdt *c, uint8_t kind, const char *key, uint64_t hlc,
             const struct crdt_rec **out, struct err *e);

/* Merges a remote record. Returns 1 when it changed the state, 0 when the
 * store held that version or a newer one, or a negative code for a record
 * that cannot be valid. A copy of one of our own records newer than our
 * counter (we restarted and lost state) moves our counter past it and
 * re-asserts what we hold now: our record is stamped again with a newer
 * version, or a tombstone is written when we no longer hold the key.
 * A multi-writer record that beats our own live write of the same key turns
 * ours into a tombstone with the old stamp (new version), so the loser does
 * not linger. Either way crdt_self_version moves: the caller disseminates
 * our records above the version it saw before. A record at or below our
 * coverage of its origin is an old copy and is ignored (0). */
int crdt_merge(struct crdt *c, const struct crdt_rec *r, const struct crdt_rec **out,
               struct err *e);

/* Restores a record read back from disk at start (own records included;
 * our counter becomes at least its version). Same returns as crdt_merge. */
int crdt_load(struct crdt *c, const struct crdt_rec *r, struct err *e);

/* The record of one origin under (kind, key), tombstones included, or NULL. */
const struct crdt_rec *crdt_get(const struct crdt *c, const char *origin, uint8_t kind,
                                const char *key);
/* The last-writer-wins record under (kind, key) across origins: highest hlc,
 * then highest origin name. May be a tombstone (the key was deleted); NULL
 * when no origin wrote the key. */
const struct crdt_rec *crdt_lww(const struct crdt *c, uint8_t kind, const char *key);

/* Calls cb for every record of `kind` whose key starts with prefix (NULL:
 * all), in (key, origin) order; tombstones only when with_tombstones. Stops
 * and returns cb's value when it is not 0. The store must not change
 * during the scan. */
int crdt_scan(const struct crdt *c, uint8_t kind, const char *prefix, int with_tombstones,
              int (*cb)(void *ud, const struct crdt_rec *r), void *ud);
/* The same over the records of one origin, any kind, in version order. */
int crdt_scan_origin(const struct crdt *c, const char *origin,
                     int (*cb)(void *ud, const struct crdt_rec *r), void *ud);

/* Our digest. Free with crdt_digest_release. Our own origin is left out
 * until CRDT_SELF_ASKS syncs have completed (crdt_cover on ourselves): a
 * store that restarted may have lost records, and a digest without us asks
 * peers for every record of ours they hold, so we can re-assert. */
#define CRDT_SELF_ASKS 3
void crdt_digest(const struct crdt *c, struct crdt_digest *d);
/* The same with our own origin in from the start: what we hold, to compare
 * with a peer's digest (as opposed to what we ask for). */
void crdt_digest_all(const struct crdt *c, struct crdt_digest *d);
void crdt_digest_release(struct crdt_digest *d);
/* The version held for origin in d (0 when absent). */
uint64_t crdt_digest_get(const struct crdt_digest *d, const char *origin);

/* Calls cb for every record the holder of `peer` lacks (a higher version
 * than the digest says for its origin), in (origin, version) order. Stops
 * and returns cb's value when it is not 0. */
int crdt_delta(const struct crdt *c, const struct crdt_digest *peer,
               int (*cb)(void *ud, const struct crdt_rec *r), void *ud);

/* After merging everything a peer sent for our digest, we hold what the
 * peer covered: coverage of origin moves up to version (never down). For
 * our own origin it counts a completed sync (see crdt_digest), and a peer
 * covering more of ours than our counter means we restarted without our
 * state: the counter moves past it and our records are stamped again. Call
 * it for our own origin before merging the sync's records. */
void crdt_cover(struct crdt *c, const char *origin, uint64_t version);
/* Versions of ours are (epoch, counter): the epoch in the high 32 bits,
 * the counter of this boot's writes below. */
#define CRDT_EPOCH_SHIFT 32
/* Starts this boot's versions: call it once our own records are loaded from
 * disk, before our first write. `epoch` must grow from one start to the
 * next even when the data dir does not (the agent passes wall-clock
 * seconds since 2024): an agent restored from an old data dir then gives
 * versions above everything it gave before, which its restored counter
 * alone cannot promise. When what was loaded is from this epoch or a later
 * one (the clock went back), the epoch after it is taken. Multi-writer
 * records of ours at or below the floor (read back from disk) then defer
 * to what peers hold: a newer version of ours from a peer is taken as it
 * is (crdt_merge) and a census drops one that was deleted since. Without
 * it the counter goes on from what was loaded, as before. */
void crdt_boot(struct crdt *c, uint64_t epoch);
/* 1 once crdt_boot was called: repl then asks every peer once for all the
 * records of ours it holds (its first sync with it leaves us out of the
 * digest), since our data dir may be older than what a peer holds. */
int crdt_booted(const struct crdt *c);
/* Our versions above it were given in this boot (0 before crdt_boot). */
uint64_t crdt_boot_floor(const struct crdt *c);
/* A peer covers our origin up to version: when that is past our counter we
 * restarted from older state, and as in crdt_cover the counter moves past
 * it and our records are stamped again (no sync is counted). */
void crdt_self_floor(struct crdt *c, uint64_t version);
/* Calls cb with the name of every origin other than us of which we hold
 * records, in name order; stops and returns cb's value when it is not 0. */
int crdt_each_origin(const struct crdt *c, int (*cb)(void *ud, const char *origin), void *ud);
/* Our coverage of origin (0 when unknown). */
uint64_t crdt_covered(const struct crdt *c, const char *origin);

/* Before a reaped member's records go: its multi-writer records of `kind`
 * that decide a read are written again under our name with their stamps,
 * so every key reads the same without them. That is its winning writes,
 * and its winning deletes that hide an older live write of another origin
 * (without them that write would come back); a delete that hides nothing
 * is not taken. At most max records. Returns how many were written; the
 * caller disseminates our records above the counter it saw before. */
size_t crdt_adopt_origin(struct crdt *c, const char *origin, uint8_t kind, size_t max);

/* Removes every record of origin (a reaped member). Returns how many. */
size_t crdt_drop_origin(struct crdt *c, const char *origin);

/* Collects tombstones that our coverage and every digest in peers cover
 * (the digests of all members that count). A multi-writer tombstone stays
 * while it hides a live older write of another origin; our own stay until
 * CRDT_SELF_ASKS syncs have told us what peers hold of ours. Returns how
 * many. */
size_t crdt_gc(struct crdt *c, const struct crdt_digest *const *peers, size_t n_peers);

/* Census: what tells a member that came back (from a partition, a freeze,
 * an old snapshot, or after it was reaped) that a record it holds was
 * deleted meanwhile and the tombstone collected. It lists the keys we hold
 * of an origin, tombstones included, and our coverage of it: a record of
 * that origin at or below the coverage, under a key not in the list, was
 * superseded by a tombstone that is gone. Works the same for every kind:
 * a key is known by crdt_key_hash(kind, key), 64 bits, and a collision
 * only keeps a record (it never drops one that lives). */
uint64_t crdt_key_hash(uint8_t kind, const char *key);
/* 1 when a peer whose digest covers origin up to peer_covers needs our
 * census of it: we cover more, and a version in between may have been
 * collected (here, or by a peer our coverage came from). */
int crdt_census_wanted(const struct crdt *c, const char *origin, uint64_t peer_covers);
/* Our census of origin: *covered, and *hashes (heap, sorted; the caller
 * frees) of the keys we hold. Returns how many. */
size_t crdt_census(const struct crdt *c, const char *origin, uint64_t *covered, uint64_t **hashes);
/* A peer's census of origin (hashes sorted): drops our records of origin
 * at or below `covered` whose key it does not hold, except a multi-writer
 * tombstone that hides an older live write (as crdt_gc). Our own origin is
 * left alone (we are its writer), except multi-writer records read back
 * from disk before crdt_boot. Returns how many were dropped. */
size_t crdt_census_apply(struct crdt *c, const char *origin, uint64_t covered,
                         const uint64_t *hashes, size_t n);

/* A counter that goes up with every change of state, local or merged: the
 * index of blocking queries. */
uint64_t crdt_index(const struct crdt *c);
/* The same counted for one kind only: a reader that caches what records of
 * one kind say (API tokens) rebuilds when this moves, not at every change. */
uint64_t crdt_kind_index(const struct crdt *c, uint8_t kind);
uint64_t crdt_self_version(const struct crdt *c);
const char *crdt_self(const struct crdt *c);
size_t crdt_count(const struct crdt *c); /* records held, tombstones included */

#endif
