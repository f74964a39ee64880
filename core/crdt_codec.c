/* crdt_codec: encoding and decoding of records, digests and repl messages
 * (see crdt_codec.h). The record stream of a delta is checked whole when it
 * is decoded, so a caller merging it never meets a bad record halfway. */
#include "core/crdt_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/mem.h"

#define DIGEST_ENTRY_MIN 10 /* name (1+1) + version (8) */
#define REC_MIN          26 /* origin 2, kind, flags, version, hlc, key 3, value length */

static size_t name_len(const char *s)
{
    return strnlen(s, SWIM_NAME_MAX + 1);
}

static void put_name(struct wr *w, const char *s)
{
    size_t n = name_len(s);
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, s, n);
}

static int get_name(struct rd *r, char out[SWIM_NAME_MAX + 1], const char *what, struct err *e)
{
    uint8_t n;
    const uint8_t *p;

    if (rd_u8(r, &n) < 0 || rd_ptr(r, n, &p) < 0)
        return err_set(e, -EBADMSG, "%s: truncated", what);
    if (n == 0 || n > SWIM_NAME_MAX || memchr(p, 0, n))
        return err_set(e, -EBADMSG, "%s: name of %u bytes, must be 1..%d without NUL", what, n,
                       SWIM_NAME_MAX);
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* FNV-1a over the name, then a 64-bit finalizer (splitmix64): the same
 * on every node and every platform. */
uint64_t repl_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return repl_mix64(h);
}

uint32_t crdt_digest_bucket(const char *origin, uint32_t n)
{
    return (uint32_t)(name_hash(origin) >> 32) & (n - 1);
}

void crdt_digest_summary(const struct crdt_digest *d, uint32_t n, uint64_t *out)
{
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; i < d->n; i++) {
        uint64_t h = name_hash(d->e[i].origin);
        out[(uint32_t)(h >> 32) & (n - 1)] ^= repl_mix64(h ^ repl_mix64(d->e[i].version));
    }
}

int repl_buckets_has(const struct repl_buckets *b, uint32_t bucket)
{
    return bucket < b->n && (b->bits[bucket / 8] >> (bucket % 8) & 1);
}

int repl_buckets_covers(const struct repl_buckets *b, const char *origin)
{
    return repl_buckets_has(b, crdt_digest_bucket(origin, b->n));
}

static int pow2_buckets(uint32_t n)
{
    return n >= 1 && n <= REPL_BUCKETS_MAX && (n & (n - 1)) == 0;
}

static void put_set(struct wr *w, const struct repl_buckets *b)
{
    wr_u16(w, b->n);
    wr_bytes(w, b->bits, (b->n + 7u) / 8);
}

static size_t set_size(const struct repl_buckets *b)
{
    return 2 + (b->n + 7u) / 8;
}

static int get_set(struct rd *r, struct repl_buckets *b, struct err *e)
{
    memset(b, 0, sizeof(*b));
    if (rd_u16(r, &b->n) < 0)
        return err_set(e, -EBADMSG, "bucket set: truncated");
    if (!pow2_buckets(b->n))
        return err_set(e, -EBADMSG, "bucket set of %u buckets, must be a power of two 1..%d", b->n,
                       REPL_BUCKETS_MAX);
    if (rd_bytes(r, b->bits, (b->n + 7u) / 8) < 0)
        return err_set(e, -EBADMSG, "bucket set: truncated");
    if (b->n < 8 && (b->bits[0] >> b->n))
        return err_set(e, -EBADMSG, "bucket set: bits past bucket %u", b->n - 1);
    return 0;
}

/* Every origin of a partial digest lies in a bucket of its set. */
static int check_partial(const struct crdt_digest *d, const struct repl_buckets *b, struct err *e)
{
    for (size_t i = 0; i < d->n; i++) {
        if (!repl_buckets_covers(b, d->e[i].origin))
            return err_set(e, -EBADMSG, "partial digest: origin %s outside its buckets",
                           d->e[i].origin);
    }
    return 0;
}

size_t crdt_codec_rec_size(const struct crdt_rec *r)
{
    return 1 + name_len(r->origin) + 1 + 1 + 8 + 8 + 2 + strnlen(r->key, CRDT_KEY_MAX + 1) + 4 +
           (r->deleted ? 0 : r->len);
}

int crdt_codec_put_rec(struct wr *w, const struct crdt_rec *r, struct err *e)
{
    size_t ol = name_len(r->origin), kl = strnlen(r->key, CRDT_KEY_MAX + 1);
    uint32_t len = r->deleted ? 0 : r->len;

    if (ol == 0 || ol > SWIM_NAME_MAX)
        return err_set(e, -EINVAL, "record origin must be 1..%d bytes", SWIM_NAME_MAX);
    if (kl == 0 || kl > CRDT_KEY_MAX)
        return err_set(e, -EINVAL, "record key must be 1..%d bytes", CRDT_KEY_MAX);
    if (len > CRDT_VAL_MAX)
        return err_set(e, -EMSGSIZE, "record value of %u bytes, at most %u", len, CRDT_VAL_MAX);
    put_name(w, r->origin);
    wr_u8(w, r->kind);
    wr_u8(w, r->deleted ? 1 : 0);
    wr_u64(w, r->version);
    wr_u64(w, r->hlc);
    wr_u16(w, (uint16_t)kl);
    wr_bytes(w, r->key, kl);
    wr_u32(w, len);
    wr_bytes(w, r->val, len);
    return 0;
}

int crdt_codec_get_rec(struct rd *r, struct crdt_wire_rec *out, struct err *e)
{
    uint16_t kl;
    uint32_t vl;
    const uint8_t *k, *v;
    int rc;

    memset(&out->r, 0, sizeof(out->r));
    if ((rc = get_name(r, out->origin, "record origin", e)) < 0)
        return rc;
    if (rd_u8(r, &out->r.kind) < 0 || rd_u8(r, &out->r.deleted) < 0 ||
        rd_u64(r, &out->r.version) < 0 || rd_u64(r, &out->r.hlc) < 0 || rd_u16(r, &kl) < 0 ||
        rd_ptr(r, kl, &k) < 0 || rd_u32(r, &vl) < 0)
        return err_set(e, -EBADMSG, "record from %s: truncated", out->origin);
    if (out->r.kind < 1 || out->r.kind > CRDT_KIND_MAX)
        return err_set(e, -EBADMSG, "record from %s: unknown kind %u", out->origin, out->r.kind);
    if (out->r.deleted > 1)
        return err_set(e, -EBADMSG, "record from %s: unknown flags 0x%x", out->origin,
                       out->r.deleted);
    if (out->r.version == 0)
        return err_set(e, -EBADMSG, "record from %s: version 0", out->origin);
    if (kl == 0 || kl > CRDT_KEY_MAX || memchr(k, 0, kl))
        return err_set(e, -EBADMSG, "record from %s: key of %u bytes, must be 1..%d without NUL",
                       out->origin, kl, CRDT_KEY_MAX);
    if (vl > CRDT_VAL_MAX)
        return err_set(e, -EMSGSIZE, "record from %s: value of %u bytes, at most %u", out->origin,
                       vl, CRDT_VAL_MAX);
    if (out->r.deleted && vl)
        return err_set(e, -EBADMSG, "record from %s: a tombstone with a value", out->origin);
    if (rd_ptr(r, vl, &v) < 0)
        return err_set(e, -EBADMSG, "record from %s: value truncated", out->origin);
    memcpy(out->key, k, kl);
    out->key[kl] = '\0';
    out->r.origin = out->origin;
    out->r.key = out->key;
    out->r.len = vl;
    out->r.val = v;
    return 0;
}

/* The entries of d in set (all when set is NULL): their count and size. */
static size_t digest_part_size(const struct crdt_digest *d, const struct repl_buckets *set,
                               uint32_t *count)
{
    size_t n = 4;
    *count = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (set && !repl_buckets_covers(set, d->e[i].origin))
            continue;
        n += 1 + name_len(d->e[i].origin) + 8;
        (*count)++;
    }
    return n;
}

static void put_digest_part(struct wr *w, const struct crdt_digest *d,
                            const struct repl_buckets *set)
{
    uint32_t count;

    digest_part_size(d, set, &count);
    wr_u32(w, count);
    for (size_t i = 0; i < d->n; i++) {
        if (set && !repl_buckets_covers(set, d->e[i].origin))
            continue;
        put_name(w, d->e[i].origin);
        wr_u64(w, d->e[i].version);
    }
}

size_t crdt_codec_digest_size(const struct crdt_digest *d)
{
    uint32_t count;
    return digest_part_size(d, NULL, &count);
}

int crdt_codec_get_digest(struct rd *r, struct crdt_digest *d, struct err *e)
{
    uint32_t n;
    int rc;

    d->n = 0;
    d->e = NULL;
    if (rd_u32(r, &n) < 0)
        return err_set(e, -EBADMSG, "digest: truncated");
    if (n > CRDT_DIGEST_MAX)
        return err_set(e, -EMSGSIZE, "digest of %u origins, at most %d", n, CRDT_DIGEST_MAX);
    if ((size_t)n * DIGEST_ENTRY_MIN > rd_left(r))
        return err_set(e, -EBADMSG, "digest of %u origins in %zu bytes", n, rd_left(r));
    d->e = xmalloc((n ? n : 1) * sizeof(*d->e));
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = get_name(r, d->e[i].origin, "digest origin", e)) < 0)
            return rc;
        if (rd_u64(r, &d->e[i].version) < 0)
            return err_set(e, -EBADMSG, "digest: truncated");
        if (i && strcmp(d->e[i - 1].origin, d->e[i].origin) >= 0)
            return err_set(e, -EBADMSG, "digest: origins not sorted or repeated");
        d->n = i + 1;
    }
    return 0;
}

void repl_msg_release(struct repl_msg *m)
{
    crdt_digest_release(&m->digest);
    free(m->hashes);
    m->hashes = NULL;
    free(m->census);
    m->census = NULL;
    free(m->census_hashes);
    m->census_hashes = NULL;
    m->n_census = 0;
}

/* n_recs records, each checked; m->recs points at them. */
static int get_recs(struct repl_msg *m, struct rd *r, const char *what, struct err *e)
{
    struct crdt_wire_rec rec;
    size_t start;
    int rc;

    if ((size_t)m->n_recs * REC_MIN > rd_left(r))
        return err_set(e, -EBADMSG, "%s of %u records in %zu bytes", what, m->n_recs, rd_left(r));
    start = r->off;
    for (uint32_t i = 0; i < m->n_recs; i++) {
        if ((rc = crdt_codec_get_rec(r, &rec, e)) < 0)
            return err_wrap(e, "%s record %u", what, i);
    }
    m->recs = r->p + start;
    m->recs_len = r->off - start;
    return 0;
}

int repl_msg_decode_bcast(struct repl_msg *m, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    int rc;

    memset(m, 0, sizeof(*m));
    rd_init(&r, buf, len);
    if (rd_u8(&r, &m->type) < 0)
        return err_set(e, -EBADMSG, "repl broadcast: empty");
    switch (m->type) {
    case REPL_B_REC:
        if ((rc = crdt_codec_get_rec(&r, &m->rec, e)) < 0)
            return rc;
        break;
    case REPL_B_NOTICE:
        if ((rc = get_name(&r, m->origin, "notice origin", e)) < 0)
            return rc;
        if (rd_u64(&r, &m->version) < 0)
            return err_set(e, -EBADMSG, "notice: truncated");
        if ((rc = get_name(&r, m->holder, "notice holder", e)) < 0)
            return rc;
        break;
    case REPL_B_RECS: {
        uint8_t n;
        if (rd_u8(&r, &n) < 0)
            return err_set(e, -EBADMSG, "repl batch: truncated");
        if (n == 0)
            return err_set(e, -EBADMSG, "repl batch: no record");
        m->n_recs = n;
        if ((rc = get_recs(m, &r, "batch", e)) < 0)
            return rc;
    } break;
    default:
        return err_set(e, -EPROTO, "repl broadcast: unknown type %u", m->type);
    }
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "repl broadcast: %zu bytes after the message", rd_left(&r));
    return 0;
}

static int decode_delta(struct repl_msg *m, struct rd *r, struct err *e)
{
    uint8_t flags;
    int rc;

    if (rd_u8(r, &flags) < 0)
        return err_set(e, -EBADMSG, "delta: truncated");
    if (flags > 3)
        return err_set(e, -EBADMSG, "delta: unknown flags 0x%x", flags);
    m->reply = flags & 1;
    m->partial = flags >> 1 & 1;
    if (m->partial && (rc = get_set(r, &m->set, e)) < 0)
        return rc;
    if ((rc = crdt_codec_get_digest(r, &m->digest, e)) < 0)
        return rc;
    if (m->partial && (rc = check_partial(&m->digest, &m->set, e)) < 0)
        return rc;
    if (rd_u8(r, &m->has_cut) < 0)
        return err_set(e, -EBADMSG, "delta: truncated");
    if (m->has_cut > 1)
        return err_set(e, -EBADMSG, "delta: bad cut flag %u", m->has_cut);
    if (m->has_cut) {
        if ((rc = get_name(r, m->cut_origin, "delta cut", e)) < 0)
            return rc;
        if (rd_u64(r, &m->cut_version) < 0)
            return err_set(e, -EBADMSG, "delta: truncated");
    }
    if (rd_u32(r, &m->n_recs) < 0)
        return err_set(e, -EBADMSG, "delta: truncated");
    if (m->n_recs > CRDT_RECS_MAX)
        return err_set(e, -EMSGSIZE, "delta of %u records, at most %d", m->n_recs, CRDT_RECS_MAX);
    return get_recs(m, r, "delta", e);
}

static int decode_summary(struct repl_msg *m, struct rd *r, struct err *e)
{
    if (rd_u16(r, &m->n_hashes) < 0)
        return err_set(e, -EBADMSG, "summary: truncated");
    if (!pow2_buckets(m->n_hashes))
        return err_set(e, -EBADMSG, "summary of %u buckets, must be a power of two 1..%d",
                       m->n_hashes, REPL_BUCKETS_MAX);
    if ((size_t)m->n_hashes * 8 > rd_left(r))
        return err_set(e, -EBADMSG, "summary: truncated");
    m->hashes = xmalloc(m->n_hashes * sizeof(*m->hashes));
    for (uint32_t i = 0; i < m->n_hashes; i++)
        rd_u64(r, &m->hashes[i]); /* length checked above */
    return 0;
}

static int decode_partial(struct repl_msg *m, struct rd *r, struct err *e)
{
    int rc;

    if ((rc = get_set(r, &m->set, e)) < 0 || (rc = crdt_codec_get_digest(r, &m->digest, e)) < 0)
        return rc;
    return check_partial(&m->digest, &m->set, e);
}

#define CENSUS_ENTRY_MIN (1 + 1 + 8 + 4) /* name of 1 byte, covered, k */

static int decode_census(struct repl_msg *m, struct rd *r, struct err *e)
{
    uint32_t n, k;
    size_t total = 0, cap = 0;

    if (rd_u32(r, &n) < 0)
        return err_set(e, -EBADMSG, "census: truncated");
    if (n > CRDT_DIGEST_MAX)
        return err_set(e, -EMSGSIZE, "census of %u origins, at most %d", n, CRDT_DIGEST_MAX);
    if ((size_t)n * CENSUS_ENTRY_MIN > rd_left(r))
        return err_set(e, -EBADMSG, "census of %u origins in %zu bytes", n, rd_left(r));
    m->census = xcalloc(n ? n : 1, sizeof(*m->census));
    for (uint32_t i = 0; i < n; i++) {
        struct repl_census *c = &m->census[i];
        int rc = get_name(r, c->origin, "census origin", e);
        if (rc < 0)
            return rc;
        if (i && strcmp(m->census[i - 1].origin, c->origin) >= 0)
            return err_set(e, -EBADMSG, "census: origins not sorted or repeated");
        if (rd_u64(r, &c->covered) < 0 || rd_u32(r, &k) < 0)
            return err_set(e, -EBADMSG, "census: truncated");
        if ((size_t)k * 8 > rd_left(r))
            return err_set(e, -EBADMSG, "census of %s: %u keys in %zu bytes", c->origin, k,
                           rd_left(r));
        if (total + k > CRDT_RECS_MAX)
            return err_set(e, -EMSGSIZE, "census of more than %d keys", CRDT_RECS_MAX);
        if (total + k > cap) {
            cap = (total + k) * 2;
            m->census_hashes = xrealloc(m->census_hashes, cap * sizeof(*m->census_hashes));
        }
        for (uint32_t j = 0; j < k; j++) {
            uint64_t *h = &m->census_hashes[total + j];
            rd_u64(r, h); /* length checked above */
            if (j && *h < h[-1])
                return err_set(e, -EBADMSG, "census of %s: keys not sorted", c->origin);
        }
        c->n = k;
        total += k;
        m->n_census = i + 1;
    }
    /* the array may have moved while it grew: point the entries at it last */
    total = 0;
    for (uint32_t i = 0; i < m->n_census; i++) {
        m->census[i].hashes = m->census_hashes ? m->census_hashes + total : NULL;
        total += m->census[i].n;
    }
    return 0;
}

int repl_msg_decode_stream(struct repl_msg *m, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint8_t ver, type;
    int rc;

    memset(m, 0, sizeof(*m));
    if (len > CODEC_STREAM_MAX)
        return err_set(e, -EMSGSIZE, "repl message of %zu bytes, at most %u", len,
                       CODEC_STREAM_MAX);
    rd_init(&r, buf, len);
    if (rd_u8(&r, &ver) < 0 || rd_u8(&r, &type) < 0 || rd_u8(&r, &m->type) < 0)
        return err_set(e, -EBADMSG, "repl message: truncated header");
    if (ver != CODEC_VERSION || type != MSG_REPL)
        return err_set(e, -EPROTO, "not a repl message (version %u, type %u)", ver, type);
    switch (m->type) {
    case REPL_S_SYNC:
        rc = crdt_codec_get_digest(&r, &m->digest, e);
        break;
    case REPL_S_DELTA:
        rc = decode_delta(m, &r, e);
        break;
    case REPL_S_SUMMARY:
        rc = decode_summary(m, &r, e);
        break;
    case REPL_S_PARTIAL:
        rc = decode_partial(m, &r, e);
        break;
    case REPL_S_CENSUS:
        rc = decode_census(m, &r, e);
        break;
    default:
        return err_set(e, -EPROTO, "repl message: unknown type %u", m->type);
    }
    if (rc == 0 && rd_left(&r))
        rc = err_set(e, -EBADMSG, "repl message: %zu bytes after the message", rd_left(&r));
    if (rc < 0)
        repl_msg_release(m);
    return rc;
}

uint8_t *repl_msg_encode_rec(const struct crdt_rec *r, size_t *len, struct err *e)
{
    size_t n = 1 + crdt_codec_rec_size(r);
    uint8_t *buf = xmalloc(n);
    struct wr w;

    wr_init(&w, buf, n);
    wr_u8(&w, REPL_B_REC);
    if (crdt_codec_put_rec(&w, r, e) < 0 || w.overflow) {
        free(buf);
        return NULL;
    }
    *len = w.len;
    return buf;
}

uint8_t *repl_msg_encode_notice(const char *origin, uint64_t version, const char *holder,
                                size_t *len, struct err *e)
{
    size_t ol = name_len(origin), hl = name_len(holder);
    uint8_t *buf;
    struct wr w;

    if (!ol || ol > SWIM_NAME_MAX || !hl || hl > SWIM_NAME_MAX) {
        err_set(e, -EINVAL, "notice: names must be 1..%d bytes", SWIM_NAME_MAX);
        return NULL;
    }
    buf = xmalloc(1 + 1 + ol + 8 + 1 + hl);
    wr_init(&w, buf, 1 + 1 + ol + 8 + 1 + hl);
    wr_u8(&w, REPL_B_NOTICE);
    put_name(&w, origin);
    wr_u64(&w, version);
    put_name(&w, holder);
    *len = w.len;
    return buf;
}

static void put_stream_head(struct wr *w, uint8_t type)
{
    wr_u8(w, CODEC_VERSION);
    wr_u8(w, MSG_REPL);
    wr_u8(w, type);
}

uint8_t *repl_msg_encode_summary(const struct crdt_digest *d, uint32_t n, size_t *len)
{
    size_t size = 3 + 2 + (size_t)n * 8;
    uint64_t *h = xmalloc(n * sizeof(*h));
    uint8_t *buf = xmalloc(size);
    struct wr w;

    crdt_digest_summary(d, n, h);
    wr_init(&w, buf, size);
    put_stream_head(&w, REPL_S_SUMMARY);
    wr_u16(&w, (uint16_t)n);
    for (uint32_t i = 0; i < n; i++)
        wr_u64(&w, h[i]);
    free(h);
    *len = w.len;
    return buf;
}

uint8_t *repl_msg_encode_partial(const struct crdt_digest *d, const struct repl_buckets *set,
                                 size_t *len)
{
    uint32_t count;
    size_t size = 3 + set_size(set) + digest_part_size(d, set, &count);
    uint8_t *buf = xmalloc(size);
    struct wr w;

    wr_init(&w, buf, size);
    put_stream_head(&w, REPL_S_PARTIAL);
    put_set(&w, set);
    put_digest_part(&w, d, set);
    *len = w.len;
    return buf;
}

size_t repl_batch_init(uint8_t *buf)
{
    buf[0] = REPL_B_RECS;
    buf[1] = 0;
    return 2;
}

int repl_batch_add(uint8_t *buf, size_t *len, size_t cap, const struct crdt_rec *r)
{
    struct wr w;

    if (cap > CODEC_USER_MAX)
        cap = CODEC_USER_MAX;
    if (buf[1] == REPL_BATCH_MAX || *len + crdt_codec_rec_size(r) > cap)
        return -EMSGSIZE;
    wr_init(&w, buf + *len, cap - *len);
    if (crdt_codec_put_rec(&w, r, NULL) < 0 || w.overflow)
        return -EMSGSIZE;
    *len += w.len;
    buf[1]++;
    return 0;
}

struct delta_acc {
    struct wr *w; /* NULL while counting */
    size_t budget, used;
    uint32_t n, max_n;
    int cut;
    char cut_origin[SWIM_NAME_MAX + 1];
    uint64_t cut_version;
};

static int delta_count(void *ud, const struct crdt_rec *r)
{
    struct delta_acc *a = ud;
    size_t sz = crdt_codec_rec_size(r);

    if (a->used + sz > a->budget || a->n == CRDT_RECS_MAX) {
        a->cut = 1;
        snprintf(a->cut_origin, sizeof(a->cut_origin), "%s", r->origin);
        a->cut_version = r->version - 1;
        return 1;
    }
    a->used += sz;
    a->n++;
    return 0;
}

static int delta_write(void *ud, const struct crdt_rec *r)
{
    struct delta_acc *a = ud;

    if (a->n == a->max_n)
        return 1;
    crdt_codec_put_rec(a->w, r, NULL);
    a->n++;
    return 0;
}

uint8_t *repl_msg_encode_delta(const struct crdt *c, const struct crdt_digest *peer, int reply,
                               const struct repl_buckets *set, size_t max, size_t *len,
                               uint32_t *n_recs)
{
    struct crdt_digest mine;
    uint8_t *buf;

    crdt_digest(c, &mine);
    buf = repl_msg_encode_delta_as(c, &mine, peer, reply, set, max, len, n_recs);
    crdt_digest_release(&mine);
    return buf;
}

uint8_t *repl_msg_encode_delta_as(const struct crdt *c, const struct crdt_digest *mine,
                                  const struct crdt_digest *peer, int reply,
                                  const struct repl_buckets *set, size_t max, size_t *len,
                                  uint32_t *n_recs)
{
    struct delta_acc a = {0};
    size_t head, total;
    uint32_t count;
    uint8_t *buf;
    struct wr w;

    head = 3 + 1 + (set ? set_size(set) : 0) + digest_part_size(mine, set, &count) + 1 + 1 +
           SWIM_NAME_MAX + 8 + 4;
    a.budget = max > head ? max - head : 0;
    crdt_delta(c, peer, delta_count, &a);
    total = head + a.used;
    buf = xmalloc(total);
    wr_init(&w, buf, total);
    put_stream_head(&w, REPL_S_DELTA);
    wr_u8(&w, (uint8_t)((reply ? 1 : 0) | (set ? 2 : 0)));
    if (set)
        put_set(&w, set);
    put_digest_part(&w, mine, set);
    wr_u8(&w, (uint8_t)a.cut);
    if (a.cut) {
        put_name(&w, a.cut_origin);
        wr_u64(&w, a.cut_version);
    }
    wr_u32(&w, a.n);
    a.max_n = a.n;
    a.n = 0;
    a.w = &w;
    crdt_delta(c, peer, delta_write, &a);
    *len = w.len;
    if (n_recs)
        *n_recs = a.n;
    return buf;
}

/* One origin of a census being built. */
struct census_part {
    const char *origin;
    uint64_t covered, *hashes;
    size_t n;
};

uint8_t *repl_msg_encode_census(const struct crdt *c, const struct crdt_digest *peer,
                                const char *peer_name, size_t max, size_t *len, uint32_t *n_origins)
{
    (void)peer_name;
    struct crdt_digest mine;
    struct census_part *parts;
    size_t n_parts = 0, total = 3 + 4;
    uint8_t *buf = NULL;
    struct wr w;

    crdt_digest_all(c, &mine);
    parts = xmalloc((mine.n ? mine.n : 1) * sizeof(*parts));
    for (size_t i = 0; i < mine.n; i++) {
        const char *o = mine.e[i].origin;
        struct census_part *p = &parts[n_parts];
        size_t sz;
        /* the peer's own origin too (peer_name): its multi-writer records
         * read back from an old data dir go by census (crdt_census_apply) */
        if (!crdt_census_wanted(c, o, crdt_digest_get(peer, o)))
            continue;
        p->origin = o;
        p->n = crdt_census(c, o, &p->covered, &p->hashes);
        sz = 1 + name_len(o) + 8 + 4 + p->n * 8;
        if (total + sz > max) {
            free(p->hashes); /* the rest waits for a later sync */
            break;
        }
        total += sz;
        n_parts++;
    }
    if (n_parts) {
        buf = xmalloc(total);
        wr_init(&w, buf, total);
        put_stream_head(&w, REPL_S_CENSUS);
        wr_u32(&w, (uint32_t)n_parts);
        for (size_t i = 0; i < n_parts; i++) {
            put_name(&w, parts[i].origin);
            wr_u64(&w, parts[i].covered);
            wr_u32(&w, (uint32_t)parts[i].n);
            for (size_t j = 0; j < parts[i].n; j++)
                wr_u64(&w, parts[i].hashes[j]);
        }
        *len = w.len;
    }
    for (size_t i = 0; i < n_parts; i++)
        free(parts[i].hashes);
    free(parts);
    crdt_digest_release(&mine);
    *n_origins = (uint32_t)n_parts;
    return buf;
}

int repl_msg_covers(const struct repl_msg *m, size_t i, uint64_t *version)
{
    const struct crdt_digest_entry *d = &m->digest.e[i];
    int x;

    *version = d->version;
    if (!m->has_cut)
        return 1;
    x = strcmp(d->origin, m->cut_origin);
    if (x > 0)
        return 0;
    if (x == 0 && m->cut_version < *version)
        *version = m->cut_version;
    return 1;
}
