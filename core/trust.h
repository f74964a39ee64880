/* trust: the client side of content trust for bundles, after TUF (The Update
 * Framework). Sans-I/O: it takes metadata bytes, the current time and the
 * versions this client accepted last, and returns a verdict. It never reads
 * a file, a socket or the clock; the caller fetches and persists.
 *
 * Four roles sign four files, each a JSON envelope
 *     {"signed": {...}, "signatures": [{"keyid": HEX, "sig": HEX}, ...]}
 * where every signature is Ed25519 over the canonical form of "signed"
 * (jansson, sorted keys, no insignificant white space; see trust_canonical):
 *   root.json       every role's public keys and signature threshold
 *   timestamp.json  version, length and sha256 of snapshot.json (short expiry)
 *   snapshot.json   version, length and sha256 of targets.json
 *   targets.json    name, length and sha256 of every bundle ("NAME@VERSION")
 * A client walks root (rotations) -> timestamp -> snapshot -> targets ->
 * bundle; each step checks the threshold, the expiry, that it matches what
 * the step before recorded, and that no version goes below the last one
 * accepted. Every refusal returns a negative code and a message that names
 * the attack (see enum trust_attack). Key ids are the hex sha256 of the raw
 * 32-byte public key. Times are UTC seconds ("expires": "2030-01-01T00:00:00Z").
 *
 * Owns: parsing, verification, canonical form, signing and the JSON of the
 * four roles (the repository tool in cli/ builds metadata with it). Does not
 * own: fetching, key storage, persistence of the versions. */
#ifndef TROUPE_TRUST_H
#define TROUPE_TRUST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TRUST_KEYS_MAX      16           /* keys in root.json, and keys of one role */
#define TRUST_TARGETS_MAX   4096         /* bundles in targets.json */
#define TRUST_NAME_MAX      128          /* bytes of "NAME@VERSION" */
#define TRUST_ROOT_MAX      (256u << 10) /* bytes of a root.json */
#define TRUST_TIMESTAMP_MAX (16u << 10)  /* bytes of timestamp.json */
#define TRUST_META_MAX      (16u << 20)  /* bytes of snapshot.json or targets.json */
#define TRUST_KEYID_LEN     64           /* hex characters of a key id */

enum trust_role { TRUST_ROOT, TRUST_TARGETS, TRUST_SNAPSHOT, TRUST_TIMESTAMP, TRUST_ROLES };

/* What a refusal means. The error code tells them apart; the message names it. */
enum trust_attack {
    TRUST_OK = 0,
    TRUST_MALFORMED = -EBADMSG,    /* not metadata troupe understands */
    TRUST_FORGED = -EKEYREJECTED,  /* a signature by a role key does not verify */
    TRUST_THRESHOLD = -EACCES,     /* too few valid signatures */
    TRUST_ROLLBACK = -ESTALE,      /* a version older than the last accepted one */
    TRUST_FREEZE = -ETIME,         /* expired metadata */
    TRUST_MIX_AND_MATCH = -EILSEQ, /* a file that is not the one the step before names */
    TRUST_ARBITRARY = -EBADE,      /* a bundle whose hash or length is not recorded */
    TRUST_ENDLESS = -EFBIG,        /* more bytes than recorded */
    TRUST_UNKNOWN = -ENOENT,       /* no such bundle in targets.json */
};

struct trust_key {
    char id[TRUST_KEYID_LEN + 1];
    uint8_t pub[32];
};

struct trust_rolekeys {
    char ids[TRUST_KEYS_MAX][TRUST_KEYID_LEN + 1];
    size_t n;
    unsigned threshold;
};

struct trust_root {
    uint64_t version;
    int64_t expires;
    struct trust_key keys[TRUST_KEYS_MAX];
    size_t n_keys;
    struct trust_rolekeys roles[TRUST_ROLES];
};

/* What one file records about another (timestamp -> snapshot, snapshot -> targets). */
struct trust_metafile {
    uint64_t version;
    uint64_t length;
    uint8_t sha256[32];
};

struct trust_timestamp {
    uint64_t version;
    int64_t expires;
    struct trust_metafile snapshot;
};

struct trust_snapshot {
    uint64_t version;
    int64_t expires;
    struct trust_metafile targets;
};

struct trust_target {
    char name[TRUST_NAME_MAX + 1]; /* "NAME@VERSION" */
    uint64_t length;
    uint8_t sha256[32];
};

struct trust_targets {
    uint64_t version;
    int64_t expires;
    struct trust_target *t; /* heap; trust_targets_release frees */
    size_t n;
};

/* The versions this client accepted last; all 0 on a fresh client. */
struct trust_state {
    uint64_t root, timestamp, snapshot, targets;
};

const char *trust_role_name(enum trust_role r); /* "root", "targets", ... */
/* "rollback attack", "freeze attack", ... ; "" for TRUST_OK */
const char *trust_attack_name(int code);

/* ---- verification (client side) ---- */

/* Parses a pinned root.json and checks it is signed by the threshold of its
 * own root keys. The pinned root is trusted because the operator put it
 * there, never because it was fetched. */
int trust_root_load(struct trust_root *r, const void *buf, size_t len, struct err *e);
/* Rotation: buf is the root with version cur->version + 1; it replaces *cur
 * only when signed by the threshold of both the old and the new root keys.
 * When the timestamp or snapshot keys changed, the versions of those roles
 * in st restart (a rotated key recovers from a fast-forward attack). */
int trust_root_update(struct trust_root *cur, struct trust_state *st, const void *buf, size_t len,
                      struct err *e);
/* The root in use after rotations must not be expired. */
int trust_root_fresh(const struct trust_root *r, int64_t now, struct err *e);

int trust_timestamp_verify(const struct trust_root *root, const struct trust_state *last,
                           int64_t now, const void *buf, size_t len, struct trust_timestamp *out,
                           struct err *e);
int trust_snapshot_verify(const struct trust_root *root, const struct trust_state *last,
                          int64_t now, const struct trust_timestamp *ts, const void *buf,
                          size_t len, struct trust_snapshot *out, struct err *e);
/* out is filled on success only; release it with trust_targets_release. */
int trust_targets_verify(const struct trust_root *root, const struct trust_state *last, int64_t now,
                         const struct trust_snapshot *snap, const void *buf, size_t len,
                         struct trust_targets *out, struct err *e);
void trust_targets_release(struct trust_targets *t);
/* The bundle named "NAME@VERSION", or NULL with a TRUST_UNKNOWN message. */
const struct trust_target *trust_targets_find(const struct trust_targets *t, const char *name,
                                              struct err *e);

/* Streaming check of a bundle's bytes against its target: update refuses
 * the first byte past the recorded length (endless data), final refuses a
 * short bundle or a different hash (arbitrary bundle). */
struct trust_check {
    struct trust_target want;
    uint64_t got;
    void *md; /* hash context, heap; released by final or release */
};
void trust_check_init(struct trust_check *c, const struct trust_target *t);
int trust_check_update(struct trust_check *c, const void *p, size_t n, struct err *e);
int trust_check_final(struct trust_check *c, struct err *e);
void trust_check_release(struct trust_check *c); /* safe after final */
/* Ends the check without judging: the sha256 of the bytes so far (the
 * repository tool hashes bundles on the way in with it). */
void trust_check_digest(struct trust_check *c, uint8_t out[32]);

/* ---- helpers shared with the repository tool ---- */

void trust_sha256(const void *p, size_t n, uint8_t out[32]);
void trust_keyid(const uint8_t pub[32], char out[TRUST_KEYID_LEN + 1]);
/* "2030-01-01T00:00:00Z" <-> seconds since the epoch (UTC). */
int trust_time_parse(const char *s, int64_t *out);
void trust_time_format(int64_t t, char out[32]);
/* Canonical form of v (sorted keys, compact); caller frees. NULL when v
 * holds a real number (metadata carries integers only). */
char *trust_canonical(const json_t *v, size_t *len);

struct trust_signer {
    uint8_t pub[32];
    uint8_t sk[64]; /* libsodium Ed25519 secret key */
};
/* Wraps signed (the reference is stolen) in an envelope signed by each
 * signer; returns NULL when signed cannot be canonicalised. Caller decrefs. */
json_t *trust_envelope(json_t *signed_, const struct trust_signer *s, size_t n);

/* The "signed" JSON of each role and back. _to_json returns a new reference;
 * _from_json checks every field and its type. */
json_t *trust_root_to_json(const struct trust_root *r);
json_t *trust_timestamp_to_json(const struct trust_timestamp *t);
json_t *trust_snapshot_to_json(const struct trust_snapshot *s);
json_t *trust_targets_to_json(const struct trust_targets *t);
int trust_root_from_json(struct trust_root *r, const json_t *signed_, struct err *e);
int trust_targets_from_json(struct trust_targets *t, const json_t *signed_, struct err *e);
/* 1 when s is a valid "NAME@VERSION": [A-Za-z0-9._+-], one '@', no "..". */
int trust_target_name_valid(const char *s);
/* Adds or replaces a target (by name); -ENOSPC past TRUST_TARGETS_MAX. */
int trust_targets_put(struct trust_targets *t, const struct trust_target *x, struct err *e);

#endif
