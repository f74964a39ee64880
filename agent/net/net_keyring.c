/* net_keyring: sealing and opening gossip packets, key ids, and replay
 * windows (the format is described in net_keyring.h). Owns key material and
 * wipes it; knows nothing of sockets. */
#include "agent/net/net_keyring.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define MAGIC0       'T'
#define MAGIC1       'R'
#define MAGIC2       'P'
#define WIRE_VERSION 1
#define NONCE_LEN    24
#define INNER_HDR    24 /* boot id, counter, time */
#define MAX_KEYS     16

struct keyring {
    size_t n;
    uint8_t key[MAX_KEYS][KEYRING_KEY_LEN];
    uint32_t id[MAX_KEYS];
};

struct sender_window {
    uint8_t boot_id[8];
    uint64_t top;                       /* highest counter seen */
    uint64_t bits[KEYRING_WINDOW / 64]; /* bit i: counter top - i seen */
    uint64_t last_seen;
    int used;
};

struct keyring_replay {
    struct sender_window w[KEYRING_SENDERS_MAX];
    uint64_t clock; /* a use counter for least-recently-seen eviction */
};

static uint32_t key_id(const uint8_t *key)
{
    uint8_t h[16];
    uint32_t id;

    crypto_generichash(h, sizeof(h), key, KEYRING_KEY_LEN, NULL, 0);
    id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return id ? id : 1; /* 0 means a clear packet */
}

struct keyring *keyring_new(void)
{
    return xcalloc(1, sizeof(struct keyring));
}

void keyring_free(struct keyring *kr)
{
    if (!kr)
        return;
    sodium_memzero(kr, sizeof(*kr));
    free(kr);
}

int keyring_add(struct keyring *kr, const uint8_t key[KEYRING_KEY_LEN])
{
    if (kr->n == MAX_KEYS)
        return -ENOSPC;
    memcpy(kr->key[kr->n], key, KEYRING_KEY_LEN);
    kr->id[kr->n] = key_id(key);
    kr->n++;
    return 0;
}

int keyring_add_b64(struct keyring *kr, const char *b64, struct err *e)
{
    uint8_t key[64];
    size_t len = 0;
    int rc;

    if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != KEYRING_KEY_LEN) {
        sodium_memzero(key, sizeof(key));
        return err_set(e, -EINVAL, "key is not base64 of %d bytes", KEYRING_KEY_LEN);
    }
    rc = keyring_add(kr, key);
    sodium_memzero(key, sizeof(key));
    if (rc < 0)
        return err_set(e, rc, "more than %d keys", MAX_KEYS);
    return 0;
}

size_t keyring_count(const struct keyring *kr)
{
    return kr ? kr->n : 0;
}

int keyring_generate_b64(char *out, size_t cap)
{
    uint8_t key[KEYRING_KEY_LEN];

    if (cap < sodium_base64_ENCODED_LEN(KEYRING_KEY_LEN, sodium_base64_VARIANT_ORIGINAL))
        return -ENOSPC;
    randombytes_buf(key, sizeof(key));
    sodium_bin2base64(out, cap, key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(key, sizeof(key));
    return 0;
}

void keyring_sender_init(struct keyring_sender *s)
{
    randombytes_buf(s->boot_id, sizeof(s->boot_id));
    s->counter = 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void header(uint8_t *h, uint32_t id)
{
    h[0] = MAGIC0;
    h[1] = MAGIC1;
    h[2] = MAGIC2;
    h[3] = WIRE_VERSION;
    h[4] = (uint8_t)(id >> 24);
    h[5] = (uint8_t)(id >> 16);
    h[6] = (uint8_t)(id >> 8);
    h[7] = (uint8_t)id;
}

int keyring_seal(const struct keyring *kr, struct keyring_sender *snd, uint64_t now_wall_ms,
                 const uint8_t *plain, size_t len, uint8_t *out, size_t cap)
{
    uint8_t *inner;
    unsigned long long clen;
    size_t inner_len = INNER_HDR + len;

    if (!kr || kr->n == 0) {
        if (len + KEYRING_HEADER > cap)
            return -EMSGSIZE;
        header(out, 0);
        memcpy(out + KEYRING_HEADER, plain, len);
        return (int)(len + KEYRING_HEADER);
    }
    if (len + KEYRING_OVERHEAD > cap || len > INT32_MAX - KEYRING_OVERHEAD)
        return -EMSGSIZE;
    header(out, kr->id[0]);
    randombytes_buf(out + KEYRING_HEADER, NONCE_LEN);
    /* build the inner plaintext in place after the nonce, then encrypt in place */
    inner = out + KEYRING_HEADER + NONCE_LEN;
    memmove(inner + INNER_HDR, plain, len);
    memcpy(inner, snd->boot_id, 8);
    put64(inner + 8, ++snd->counter);
    put64(inner + 16, now_wall_ms);
    crypto_aead_xchacha20poly1305_ietf_encrypt(inner, &clen, inner, inner_len, out, KEYRING_HEADER,
                                               NULL, out + KEYRING_HEADER, kr->key[0]);
    return (int)(KEYRING_HEADER + NONCE_LEN + clen);
}

struct keyring_replay *keyring_replay_new(void)
{
    return xcalloc(1, sizeof(struct keyring_replay));
}

void keyring_replay_free(struct keyring_replay *rp)
{
    free(rp);
}

static struct sender_window *window_for(struct keyring_replay *rp, const uint8_t *boot)
{
    uint32_t h = (uint32_t)get64(boot) % KEYRING_SENDERS_MAX;
    struct sender_window *oldest = NULL;

    for (uint32_t i = 0; i < 32; i++) {
        struct sender_window *w = &rp->w[(h + i) % KEYRING_SENDERS_MAX];
        if (w->used && memcmp(w->boot_id, boot, 8) == 0)
            return w;
        if (!w->used) {
            oldest = w;
            break;
        }
        if (!oldest || w->last_seen < oldest->last_seen)
            oldest = w;
    }
    /* a new sender takes a free slot near its hash, or the least recently seen */
    memset(oldest, 0, sizeof(*oldest));
    memcpy(oldest->boot_id, boot, 8);
    oldest->used = 1;
    return oldest;
}

/* Returns 0 and records ctr, or -1 when it was seen or is too old. */
static int window_check(struct sender_window *w, uint64_t ctr)
{
    if (ctr == 0)
        return -1;
    if (ctr > w->top) {
        uint64_t shift = ctr - w->top;
        if (shift >= KEYRING_WINDOW) {
            memset(w->bits, 0, sizeof(w->bits));
        } else {
            /* shift the bitmap by `shift` positions */
            for (uint64_t s = 0; s < shift; s++) {
                for (int i = KEYRING_WINDOW / 64 - 1; i >= 0; i--) {
                    w->bits[i] <<= 1;
                    if (i > 0 && (w->bits[i - 1] >> 63))
                        w->bits[i] |= 1;
                }
            }
        }
        w->top = ctr;
        w->bits[0] |= 1;
        return 0;
    }
    {
        uint64_t back = w->top - ctr;
        if (back >= KEYRING_WINDOW)
            return -1;
        if (w->bits[back / 64] & (1ull << (back % 64)))
            return -1;
        w->bits[back / 64] |= 1ull << (back % 64);
        return 0;
    }
}

static int refuse(enum keyring_refusal *why, enum keyring_refusal r, int code, struct err *e,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(enum keyring_refusal *why, enum keyring_refusal r, int code, struct err *e,
                  const char *fmt, ...)
{
    va_list ap;

    *why = r;
    if (e) {
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

int keyring_open(const struct keyring *kr, struct keyring_replay *rp, uint64_t now_wall_ms,
                 const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *plain_len,
                 enum keyring_refusal *why, struct err *e)
{
    uint32_t id;
    size_t k;
    unsigned long long mlen;
    uint64_t ctr, t;
    struct sender_window *w;

    *why = KR_OK;
    if (len < KEYRING_HEADER || in[0] != MAGIC0 || in[1] != MAGIC1 || in[2] != MAGIC2)
        return refuse(why, KR_MALFORMED, -EBADMSG, e, "not a troupe packet");
    if (in[3] != WIRE_VERSION)
        return refuse(why, KR_MALFORMED, -EPROTO, e, "packet format version %u", in[3]);
    id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
    if (id == 0) {
        if (kr && kr->n)
            return refuse(why, KR_CLEAR, -EACCES, e,
                          "peer sends gossip in the clear but this agent requires encryption");
        if (len - KEYRING_HEADER > cap)
            return refuse(why, KR_MALFORMED, -EMSGSIZE, e, "packet too large");
        memcpy(out, in + KEYRING_HEADER, len - KEYRING_HEADER);
        *plain_len = len - KEYRING_HEADER;
        return 0;
    }
    if (!kr || kr->n == 0)
        return refuse(why, KR_NO_KEY, -ENOKEY, e,
                      "peer encrypts gossip (key id %08x) but this agent has no key; set "
                      "--encrypt",
                      id);
    for (k = 0; k < kr->n && kr->id[k] != id; k++)
        ;
    if (k == kr->n)
        return refuse(why, KR_FOREIGN_KEY, -EKEYREJECTED, e,
                      "no key of our keyring matches key id %08x (wrong --encrypt key?)", id);
    if (len < KEYRING_OVERHEAD || len - KEYRING_HEADER - NONCE_LEN > cap)
        return refuse(why, KR_MALFORMED, -EBADMSG, e, "sealed packet truncated");
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, &mlen, NULL, in + KEYRING_HEADER + NONCE_LEN, len - KEYRING_HEADER - NONCE_LEN, in,
            KEYRING_HEADER, in + KEYRING_HEADER, kr->key[k]) != 0 ||
        mlen < INNER_HDR)
        return refuse(why, KR_FORGED, -EBADMSG, e,
                      "packet failed authentication under key %08x: forged or corrupted", id);
    ctr = get64(out + 8);
    t = get64(out + 16);
    if (t + KEYRING_CLOCK_WINDOW_MS < now_wall_ms || t > now_wall_ms + KEYRING_CLOCK_WINDOW_MS)
        return refuse(why, KR_CLOCK, -ETIME, e,
                      "packet time is more than 5 minutes from ours (replay, or clocks apart)");
    if (rp) {
        w = window_for(rp, out);
        w->last_seen = ++rp->clock;
        if (window_check(w, ctr) < 0)
            return refuse(why, KR_REPLAY, -EALREADY, e, "replayed packet");
    }
    memmove(out, out + INNER_HDR, mlen - INNER_HDR);
    *plain_len = mlen - INNER_HDR;
    return 0;
}

const char *keyring_refusal_name(enum keyring_refusal r)
{
    static const char *const names[] = {"ok",          "malformed", "clear",  "no_key",
                                        "foreign_key", "forged",    "replay", "clock"};
    return (unsigned)r < KR_REFUSAL_COUNT ? names[r] : "unknown";
}
