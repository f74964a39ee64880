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
#define REC_MIN 26          /* origin 2, kind, flags, version, hlc, key 3, value length */

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
        return err_set(e, -EMSGSIZE, "record from %s: value of %u bytes, at most %u",
                       out->origin, vl, CRDT_VAL_MAX);
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

size_t crdt_codec_digest_size(const struct crdt_digest *d)
{
    size_t n = 4;
    for (size_t i = 0; i < d->n; i++)
        n += 1 + name_len(d->e[i].origin) + 8;
    return n;
}

void crdt_codec_put_digest(struct wr *w, const struct crdt_digest *d)
{
    wr_u32(w, (uint32_t)d->n);
    for (size_t i = 0; i < d->n; i++) {
        put_name(w, d->e[i].origin);
        wr_u64(w, d->e[i].version);
    }
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
    default:
        return err_set(e, -EPROTO, "repl broadcast: unknown type %u", m->type);
    }
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "repl broadcast: %zu bytes after the message", rd_left(&r));
    return 0;
}

static int decode_delta(struct repl_msg *m, struct rd *r, struct err *e)
{
    struct crdt_wire_rec rec;
    size_t start;
    int rc;

    if (rd_u8(r, &m->reply) < 0)
        return err_set(e, -EBADMSG, "delta: truncated");
    if (m->reply > 1)
        return err_set(e, -EBADMSG, "delta: unknown flags 0x%x", m->reply);
    if ((rc = crdt_codec_get_digest(r, &m->digest, e)) < 0)
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
        return err_set(e, -EMSGSIZE, "delta of %u records, at most %d", m->n_recs,
                       CRDT_RECS_MAX);
    if ((size_t)m->n_recs * REC_MIN > rd_left(r))
        return err_set(e, -EBADMSG, "delta of %u records in %zu bytes", m->n_recs, rd_left(r));
    start = r->off;
    for (uint32_t i = 0; i < m->n_recs; i++) {
        if ((rc = crdt_codec_get_rec(r, &rec, e)) < 0)
            return err_wrap(e, "delta record %u", i);
    }
    m->recs = r->p + start;
    m->recs_len = r->off - start;
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

uint8_t *repl_msg_encode_sync(const struct crdt_digest *d, size_t *len)
{
    size_t n = 3 + crdt_codec_digest_size(d);
    uint8_t *buf = xmalloc(n);
    struct wr w;

    wr_init(&w, buf, n);
    wr_u8(&w, CODEC_VERSION);
    wr_u8(&w, MSG_REPL);
    wr_u8(&w, REPL_S_SYNC);
    crdt_codec_put_digest(&w, d);
    *len = w.len;
    return buf;
}

struct delta_acc {
    struct wr *w;  /* NULL while counting */
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
                               size_t max, size_t *len, uint32_t *n_recs)
{
    struct crdt_digest mine;
    struct delta_acc a = {0};
    size_t head, total;
    uint8_t *buf;
    struct wr w;

    crdt_digest(c, &mine);
    head = 3 + 1 + crdt_codec_digest_size(&mine) + 1 + 1 + SWIM_NAME_MAX + 8 + 4;
    a.budget = max > head ? max - head : 0;
    crdt_delta(c, peer, delta_count, &a);
    total = head + a.used;
    buf = xmalloc(total);
    wr_init(&w, buf, total);
    wr_u8(&w, CODEC_VERSION);
    wr_u8(&w, MSG_REPL);
    wr_u8(&w, REPL_S_DELTA);
    wr_u8(&w, reply ? 1 : 0);
    crdt_codec_put_digest(&w, &mine);
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
    crdt_digest_release(&mine);
    *len = w.len;
    if (n_recs)
        *n_recs = a.n;
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
