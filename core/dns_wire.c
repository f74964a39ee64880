/* dns_wire: reading DNS requests and writing responses (see dns_wire.h).
 * Compression on the way out only ever points into the question name: a
 * response of this server repeats the question's name and its zone in
 * nearly every record, and a single target keeps the writer simple and
 * lets core/dns.c move answer records around (their owners are all the
 * pointer to the question). */
#include "core/dns_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"

#define PTR_MASK  0xc0
#define LABEL_MAX 63

uint16_t dnsw_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void dnsw_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- names ---- */

size_t dnsw_name_from_text(uint8_t *out, const char *text)
{
    size_t n = 0;
    const char *s = text;

    if (strcmp(text, ".") == 0) {
        out[0] = 0;
        return 1;
    }
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);

        if (l == 0 || l > LABEL_MAX || n + 1 + l + 1 > DNSW_NAME_MAX)
            return 0;
        out[n] = (uint8_t)l;
        memcpy(out + n + 1, s, l);
        n += 1 + l;
        s += l;
        if (*s == '.')
            s++;
    }
    if (n == 0)
        return 0;
    out[n++] = 0;
    return n;
}

void dnsw_name_to_text(const uint8_t *name, char *out)
{
    size_t o = 0;

    if (name[0] == 0) {
        strcpy(out, ".");
        return;
    }
    for (size_t p = 0; name[p]; p += 1 + name[p]) {
        for (size_t i = 1; i <= name[p]; i++) {
            uint8_t c = name[p + i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_')
                out[o++] = (char)c;
            else
                o += (size_t)sprintf(out + o, "\\%03u", (unsigned)c);
        }
        out[o++] = '.';
    }
    out[o] = '\0';
}

size_t dnsw_name_size(const uint8_t *name)
{
    size_t p = 0;

    while (name[p])
        p += 1 + name[p];
    return p + 1;
}

void dnsw_name_lower(uint8_t *name)
{
    for (size_t p = 0; name[p]; p += 1 + name[p])
        for (size_t i = 1; i <= name[p]; i++)
            if (name[p + i] >= 'A' && name[p + i] <= 'Z')
                name[p + i] = (uint8_t)(name[p + i] + 32);
}

static int labels(const uint8_t *name)
{
    int n = 0;

    for (size_t p = 0; name[p]; p += 1 + name[p])
        n++;
    return n;
}

int dnsw_name_depth(const uint8_t *name, const uint8_t *zone)
{
    int depth = labels(name) - labels(zone);
    size_t p = 0;

    if (depth < 0)
        return -1;
    for (int i = 0; i < depth; i++)
        p += 1 + name[p];
    return memcmp(name + p, zone, dnsw_name_size(zone)) == 0 ? depth : -1;
}

/* ---- requests ---- */

/* Steps over a name of a record at *off: labels, then the root or one
 * pointer to an earlier byte (so a chain of pointers always ends); the
 * name it stands for at most DNSW_NAME_MAX bytes. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
    size_t p = *off, total = 0, end = 0;

    for (;;) {
        uint8_t c;
        if (p >= len)
            return -EBADMSG;
        c = msg[p];
        if ((c & PTR_MASK) == PTR_MASK) {
            size_t to;
            if (p + 1 >= len)
                return -EBADMSG;
            to = (size_t)(c & 0x3f) << 8 | msg[p + 1];
            if (to >= p)
                return -EBADMSG; /* forward or onto itself: could loop */
            if (!end)
                end = p + 2;
            p = to;
            continue;
        }
        if (c & PTR_MASK)
            return -EBADMSG; /* the extended label types nobody uses */
        total += 1 + (size_t)c;
        if (total > DNSW_NAME_MAX)
            return -EBADMSG;
        if (c == 0)
            break;
        p += 1 + (size_t)c;
    }
    *off = end ? end : p + 1;
    return 0;
}

/* The question's name, not compressed, into q->qname in lower case. */
static int read_qname(struct rd *r, struct dnsw_query *q)
{
    size_t n = 0;

    for (;;) {
        uint8_t c;
        if (rd_u8(r, &c) < 0 || c > LABEL_MAX || n + 1 + (size_t)c > DNSW_NAME_MAX)
            return -EBADMSG;
        q->qname[n] = c;
        if (c == 0)
            break;
        if (rd_bytes(r, q->qname + n + 1, c) < 0)
            return -EBADMSG;
        n += 1 + (size_t)c;
    }
    dnsw_name_lower(q->qname);
    return 0;
}

/* EDNS options: code, length, data; exactly filling the rdata. */
static int check_options(const uint8_t *rdata, uint16_t rdlen)
{
    struct rd r;
    uint16_t code, olen;
    const uint8_t *skip;

    rd_init(&r, rdata, rdlen);
    while (rd_left(&r)) {
        if (rd_u16(&r, &code) < 0 || rd_u16(&r, &olen) < 0 || rd_ptr(&r, olen, &skip) < 0)
            return -EBADMSG;
    }
    return 0;
}

int dnsw_parse_query(const uint8_t *msg, size_t len, struct dnsw_query *q)
{
    struct rd r;
    const uint8_t *id_flags;
    uint16_t qd, an, ns, ar;
    uint32_t records;

    memset(q, 0, sizeof(*q));
    rd_init(&r, msg, len);
    if (rd_ptr(&r, 4, &id_flags) < 0 || rd_u16(&r, &qd) < 0 || rd_u16(&r, &an) < 0 ||
        rd_u16(&r, &ns) < 0 || rd_u16(&r, &ar) < 0 || qd != 1)
        return -EBADMSG;
    if (read_qname(&r, q) < 0 || rd_u16(&r, &q->qtype) < 0 || rd_u16(&r, &q->qclass) < 0)
        return -EBADMSG;
    q->qsize = r.off - DNSW_HEADER;
    records = (uint32_t)an + ns + ar;
    for (uint32_t i = 0; i < records; i++) {
        size_t owner = r.off;
        uint16_t type, cls, rdlen;
        uint32_t ttl;
        const uint8_t *rdata;

        if (skip_name(msg, len, &r.off) < 0 || rd_u16(&r, &type) < 0 || rd_u16(&r, &cls) < 0 ||
            rd_u32(&r, &ttl) < 0 || rd_u16(&r, &rdlen) < 0 || rd_ptr(&r, rdlen, &rdata) < 0)
            return -EBADMSG;
        if (type != DNSW_OPT)
            continue;
        /* one OPT, among the additionals, owned by the root (RFC 6891) */
        if (i < (uint32_t)an + ns || q->has_opt || msg[owner] != 0 ||
            check_options(rdata, rdlen) < 0)
            return -EBADMSG;
        q->has_opt = 1;
        q->opt_payload = cls;
        q->opt_version = (uint8_t)(ttl >> 16);
    }
    return rd_left(&r) ? -EBADMSG : 0; /* bytes after the last record */
}

/* ---- responses ---- */

void dnsw_msg_init(struct dnsw_msg *m, uint8_t *buf, size_t cap, const struct dnsw_query *q)
{
    size_t n = dnsw_name_size(q->qname);

    memset(buf, 0, DNSW_HEADER);
    dnsw_put16(buf + DNSW_QDCOUNT, 1);
    memcpy(buf + DNSW_HEADER, q->qname, n);
    dnsw_put16(buf + DNSW_HEADER + n, q->qtype);
    dnsw_put16(buf + DNSW_HEADER + n + 2, q->qclass);
    m->wire = buf;
    m->cap = cap;
    m->len = DNSW_HEADER + n + 4;
    m->qname = buf + DNSW_HEADER;
    m->qname_len = n;
}

/* Whether the question name has a label starting at offset at. */
static int qname_label_at(const struct dnsw_msg *m, size_t at)
{
    size_t p = 0;

    while (p < at && m->qname[p])
        p += 1 + m->qname[p];
    return p == at;
}

/* Bytes equal but for ASCII case (length bytes, below 'A', never fold). */
static int same_ci(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* Writes name: its first labels, then a pointer to the longest suffix it
 * shares with the question name (the root alone is not worth one). */
static void put_name(struct wr *w, const struct dnsw_msg *m, const uint8_t *name)
{
    size_t size = dnsw_name_size(name);

    for (size_t p = 0; name[p]; p += 1 + name[p]) {
        size_t rest = size - p, at;
        if (rest > m->qname_len)
            continue;
        at = m->qname_len - rest;
        if (qname_label_at(m, at) && same_ci(name + p, m->qname + at, rest)) {
            wr_bytes(w, name, p);
            wr_u16(w, (uint16_t)(0xc000 | (DNSW_HEADER + at)));
            return;
        }
    }
    wr_bytes(w, name, size);
}

int dnsw_put_rr(struct dnsw_msg *m, enum dnsw_section section, const uint8_t *owner, uint16_t type,
                uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
    struct wr w;
    size_t start;

    wr_init(&w, m->wire + m->len, m->cap - m->len);
    put_name(&w, m, owner);
    wr_u16(&w, type);
    wr_u16(&w, DNSW_CLASS_IN);
    wr_u32(&w, ttl);
    wr_u16(&w, 0); /* rdata length, set below */
    start = w.len;
    if (type == DNSW_NS) {
        put_name(&w, m, rdata);
    } else if (type == DNSW_SOA) {
        size_t n1 = dnsw_name_size(rdata), n2 = dnsw_name_size(rdata + n1);
        put_name(&w, m, rdata);
        put_name(&w, m, rdata + n1);
        wr_bytes(&w, rdata + n1 + n2, rdlen - n1 - n2);
    } else {
        wr_bytes(&w, rdata, rdlen);
    }
    if (w.overflow || w.len - start > 0xffff)
        return -EMSGSIZE;
    dnsw_put16(m->wire + m->len + start - 2, (uint16_t)(w.len - start));
    m->len += w.len;
    dnsw_put16(m->wire + section, (uint16_t)(dnsw_get16(m->wire + section) + 1));
    return 0;
}
