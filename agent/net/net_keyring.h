/* net_keyring: gossip packet sealing with a ring of keys (libsodium).
 *
 * Packet: "TRP" | version u8 | key id u32 | body. Key id 0 means a clear
 * packet, whose body is the plaintext. Otherwise the key id is the first 4
 * bytes of BLAKE2b(key) and the body is a 24-byte random nonce followed by
 * the XChaCha20-Poly1305 ciphertext of: sender boot id (8 random bytes per
 * process) | u64 send counter | u64 sender wall time ms | plaintext, with
 * the 8-byte header as associated data. The first key seals; any key of the
 * ring opens, so keys rotate without downtime.
 *
 * Replays are refused: per sender boot id, a sliding window of 1024 counters
 * (in a table of at most KEYRING_SENDERS_MAX senders, least recently seen
 * evicted), and a sender time more than the clock window away from ours. */
#ifndef TROUPE_NET_KEYRING_H
#define TROUPE_NET_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define KEYRING_KEY_LEN         32
#define KEYRING_HEADER          8
#define KEYRING_OVERHEAD        (KEYRING_HEADER + 24 + 24 + 16) /* sealed, beyond plaintext */
#define KEYRING_SENDERS_MAX     4096
#define KEYRING_WINDOW          1024
#define KEYRING_CLOCK_WINDOW_MS (5 * 60 * 1000)

/* Why a packet was refused; each has a counter. */
enum keyring_refusal {
    KR_OK = 0,
    KR_MALFORMED,   /* bad magic, version, or truncated */
    KR_CLEAR,       /* clear packet but we require encryption */
    KR_NO_KEY,      /* sealed packet but we have no key */
    KR_FOREIGN_KEY, /* key id matches none of our keys */
    KR_FORGED,      /* authentication failed: forged or corrupted */
    KR_REPLAY,      /* counter already seen, or too far behind the window */
    KR_CLOCK,       /* sender time too far from ours */
    KR_REFUSAL_COUNT
};

struct keyring;

/* An empty ring (gossip in the clear). Free with keyring_free. */
struct keyring *keyring_new(void);
void keyring_free(struct keyring *kr); /* NULL is a no-op; keys are wiped */
/* Adds a key given as base64 of 32 bytes; the first added is primary. */
int keyring_add_b64(struct keyring *kr, const char *b64, struct err *e);
int keyring_add(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN]);
size_t keyring_count(const struct keyring *kr);
/* Writes a new random key as base64 (cap >= 45). Returns 0 or -ENOSPC. */
int keyring_generate_b64(char *out, size_t cap);

/* The sender side: a boot id and a counter. */
struct keyring_sender {
    uint8_t boot_id[8];
    uint64_t counter;
};
void keyring_sender_init(struct keyring_sender *s); /* random boot id */

/* Seals (or, with an empty ring, frames in the clear) plain into out.
 * Returns the packet length or -EMSGSIZE. */
int keyring_seal(const struct keyring *kr, struct keyring_sender *snd, uint64_t now_wall_ms,
                 const uint8_t *plain, size_t len, uint8_t *out, size_t cap);

/* The receiver side: replay windows per sender. Free with keyring_replay_free. */
struct keyring_replay;
struct keyring_replay *keyring_replay_new(void);
void keyring_replay_free(struct keyring_replay *rp);

/* Opens a packet into out (cap >= len). On success returns 0 and sets
 * *plain_len; on refusal returns a negative code, sets *why, and writes a
 * message naming the reason into e. */
int keyring_open(const struct keyring *kr, struct keyring_replay *rp, uint64_t now_wall_ms,
                 const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *plain_len,
                 enum keyring_refusal *why, struct err *e);

const char *keyring_refusal_name(enum keyring_refusal r);

#endif
