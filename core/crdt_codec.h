/* crdt_codec: the wire format of replicated records, digests and the repl
 * messages that carry them. Every read is bounds-checked (core/buf.h) and
 * every count and size has a limit checked before anything is allocated;
 * errors are -EBADMSG (truncated, malformed), -EMSGSIZE (over a limit) or
 * -EPROTO (unknown version or type), with a message.
 *
 * Integers are big-endian. A name is u8 length + bytes (1..SWIM_NAME_MAX).
 *   record:  name origin, u8 kind, u8 flags (1: deleted), u64 version,
 *            u64 hlc, u16 key length + key, u32 value length + value
 *   digest:  u32 n, n x (name origin, u64 version), origins strictly sorted
 * Broadcast payloads (inside a gossip user message), by first byte:
 *   REPL_B_REC     record (sent by older agents; still understood)
 *   REPL_B_RECS    u8 n (1..255), n x record: the records a node had to send
 *                  at one moment, packed into one payload
 *   REPL_B_NOTICE  name origin, u64 version, name holder: a record too big
 *                  for a packet exists; `holder` has it
 * Stream messages: u8 CODEC_VERSION, u8 MSG_REPL, u8 type, then
 *   REPL_S_SYNC    digest of the sender, who asks for what it lacks (sent
 *                  by older agents; still answered)
 *   REPL_S_DELTA   u8 flags (1: push back what I lack; 2: partial), [when
 *                  partial: bucket set], digest of the sender, u8 has_cut
 *                  [name origin, u64 version], u32 n, n x record. The
 *                  records are everything the sender holds above the digest
 *                  it was asked for, in (origin, version) order, unless the
 *                  message grew too big: then it stops after the cut
 *                  (origin, version). A partial digest lists only the
 *                  origins of the buckets in the set: the others are equal
 *                  on both sides.
 *   REPL_S_SUMMARY u16 buckets, buckets x u64 hash: the sender's digest in
 *                  a few hundred bytes (see crdt_digest_summary)
 *   REPL_S_PARTIAL bucket set, digest: the answer to a summary, the
 *                  receiver's origins in the buckets whose hash differed
 *                  (an empty set: the digests are equal)
 *   REPL_S_CENSUS  u32 n, n x (name origin, u64 covered, u32 k, k x u64
 *                  key hash, non-decreasing), origins strictly sorted: the
 *                  keys the sender holds of each origin it covers further
 *                  than the receiver (see crdt_census). No answer.
 *   bucket set:    u16 buckets (a power of two, 1..REPL_BUCKETS_MAX),
 *                  ceil(buckets / 8) bytes of bitmap, bucket b in bit
 *                  (b % 8) of byte b / 8; every origin of a partial digest
 *                  must be in a bucket of the set.
 * Pure; owns no memory beyond the digest arrays it decodes. */
#ifndef TROUPE_CRDT_CODEC_H
#define TROUPE_CRDT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crdt.h"
#include "core/err.h"

#define CRDT_DIGEST_MAX  100000  /* origins in one digest */
#define CRDT_RECS_MAX    1000000 /* records in one stream message */
#define REPL_BUCKETS_MAX 1024    /* buckets of a digest summary */
#define REPL_BATCH_MAX   255     /* records in one broadcast payload */

enum repl_bcast_type { REPL_B_REC = 1, REPL_B_NOTICE = 2, REPL_B_RECS = 3 };
enum repl_stream_type {
    REPL_S_SYNC = 1,
    REPL_S_DELTA = 2,
    REPL_S_SUMMARY = 3,
    REPL_S_PARTIAL = 4,
    REPL_S_CENSUS = 5,
};

/* One origin of a census message. */
struct repl_census {
    char origin[SWIM_NAME_MAX + 1];
    uint64_t covered;
    uint32_t n;
    const uint64_t *hashes; /* n, sorted; inside repl_msg.census_hashes */
};

/* A subset of the buckets of a digest summary. */
struct repl_buckets {
    uint16_t n;                         /* buckets in all: a power of two */
    uint8_t bits[REPL_BUCKETS_MAX / 8]; /* the buckets in the set */
};

/* One splitmix64 step from z: the hashes of summaries, and repl's random
 * numbers. */
uint64_t repl_mix64(uint64_t z);
/* The bucket of an origin among n (a power of two). */
uint32_t crdt_digest_bucket(const char *origin, uint32_t n);
/* Hashes of the n buckets of d (n a power of two, at most REPL_BUCKETS_MAX):
 * equal digests give equal hashes; out gets n values. */
void crdt_digest_summary(const struct crdt_digest *d, uint32_t n, uint64_t *out);
int repl_buckets_has(const struct repl_buckets *b, uint32_t bucket);
/* 1 when origin falls in a bucket of the set. */
int repl_buckets_covers(const struct repl_buckets *b, const char *origin);

/* A decoded record: strings copied here, the value points into the input. */
struct crdt_wire_rec {
    struct crdt_rec r;
    char origin[SWIM_NAME_MAX + 1];
    char key[CRDT_KEY_MAX + 1];
};

/* Encoded size of a record. */
size_t crdt_codec_rec_size(const struct crdt_rec *r);
/* Writes a record; -EINVAL/-EMSGSIZE when it cannot be valid. Overflow of
 * a fixed writer shows in w->overflow. */
int crdt_codec_put_rec(struct wr *w, const struct crdt_rec *r, struct err *e);
int crdt_codec_get_rec(struct rd *r, struct crdt_wire_rec *out, struct err *e);

size_t crdt_codec_digest_size(const struct crdt_digest *d);
/* Decodes into d (heap; crdt_digest_release frees it, also on error). */
int crdt_codec_get_digest(struct rd *r, struct crdt_digest *d, struct err *e);

/* One decoded repl message, broadcast or stream. */
struct repl_msg {
    uint8_t type; /* REPL_B_* for broadcasts, REPL_S_* for streams */
    /* REPL_B_REC (REPL_B_RECS: n_recs and recs below) */
    struct crdt_wire_rec rec;
    /* REPL_B_NOTICE */
    char origin[SWIM_NAME_MAX + 1];
    char holder[SWIM_NAME_MAX + 1];
    uint64_t version;
    /* REPL_S_SYNC, REPL_S_DELTA, REPL_S_PARTIAL */
    struct crdt_digest digest; /* heap: repl_msg_release */
    uint8_t reply;
    uint8_t partial;         /* REPL_S_DELTA: digest holds only the buckets of `set` */
    struct repl_buckets set; /* REPL_S_DELTA (partial), REPL_S_PARTIAL */
    uint16_t n_hashes;       /* REPL_S_SUMMARY */
    uint64_t *hashes;        /* REPL_S_SUMMARY, heap: repl_msg_release */
    uint8_t has_cut;
    char cut_origin[SWIM_NAME_MAX + 1];
    uint64_t cut_version;
    uint32_t n_recs;     /* REPL_S_DELTA, REPL_B_RECS */
    const uint8_t *recs; /* n_recs records, all checked; read with crdt_codec_get_rec */
    size_t recs_len;
    uint32_t n_census;          /* REPL_S_CENSUS */
    struct repl_census *census; /* heap: repl_msg_release */
    uint64_t *census_hashes;    /* heap: repl_msg_release */
};

/* Decoders of a broadcast payload and of a whole stream frame. On success
 * call repl_msg_release. Both refuse trailing bytes. */
int repl_msg_decode_bcast(struct repl_msg *m, const uint8_t *buf, size_t len, struct err *e);
int repl_msg_decode_stream(struct repl_msg *m, const uint8_t *buf, size_t len, struct err *e);
void repl_msg_release(struct repl_msg *m);

/* Encoders of the small messages; each returns a heap buffer (caller
 * frees) or NULL with a message. */
uint8_t *repl_msg_encode_rec(const struct crdt_rec *r, size_t *len, struct err *e);
uint8_t *repl_msg_encode_notice(const char *origin, uint64_t version, const char *holder,
                                size_t *len, struct err *e);
/* The summary of digest d in n buckets. */
uint8_t *repl_msg_encode_summary(const struct crdt_digest *d, uint32_t n, size_t *len);
/* The entries of d in the buckets of set. */
uint8_t *repl_msg_encode_partial(const struct crdt_digest *d, const struct repl_buckets *set,
                                 size_t *len);
/* A delta of store c for a peer whose digest is `peer`, at most max bytes
 * (cut short when needed), with our digest, or only its origins in the
 * buckets of `set` when set is not NULL. *n_recs (when not NULL) gets the
 * number of records in it. Heap buffer, caller frees. */
uint8_t *repl_msg_encode_delta(const struct crdt *c, const struct crdt_digest *peer, int reply,
                               const struct repl_buckets *set, size_t max, size_t *len,
                               uint32_t *n_recs);
/* The same with `mine` as our digest (one that leaves our own origin out,
 * to ask the peer for every record of ours it holds). */
uint8_t *repl_msg_encode_delta_as(const struct crdt *c, const struct crdt_digest *mine,
                                  const struct crdt_digest *peer, int reply,
                                  const struct repl_buckets *set, size_t max, size_t *len,
                                  uint32_t *n_recs);

/* A broadcast payload of several records, built in a caller's buffer of
 * cap bytes (at most CODEC_USER_MAX): init, then add while it returns 0
 * (-EMSGSIZE: the record does not fit, or the batch is full). */
size_t repl_batch_init(uint8_t *buf);
int repl_batch_add(uint8_t *buf, size_t *len, size_t cap, const struct crdt_rec *r);
/* For entry i of a decoded delta's digest: 1 and the version the receiver
 * now covers for that origin (after merging every record of the delta), or
 * 0 when the delta was cut before that origin. */
/* The census of every origin that a peer whose digest is `peer` (named
 * peer_name) needs (crdt_census_wanted), its own origin included (its
 * multi-writer records read back from an old data dir go by census), at
 * most max bytes: origins that do not fit wait for a later sync. NULL when
 * none is needed; else a heap buffer (caller frees), *n_origins set. */
uint8_t *repl_msg_encode_census(const struct crdt *c, const struct crdt_digest *peer,
                                const char *peer_name, size_t max, size_t *len,
                                uint32_t *n_origins);

int repl_msg_covers(const struct repl_msg *m, size_t i, uint64_t *version);

#endif
