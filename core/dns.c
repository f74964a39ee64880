/* dns: one request in, one decision out (see dns.h). This file owns the
 * request side: parsing (core/dns_wire), what is refused or not implemented,
 * EDNS (we advertise DNS_UDP_PAYLOAD), the answer cache, the shuffle of
 * answer records, truncation to what fits in UDP, and the counters. What a
 * name answers is core/dns_zone.c.
 *
 * Why a cache of whole responses: a popular name is asked far more often
 * than the catalog changes, and building 50 records costs more than the
 * syscalls around it. A cached response is valid while the
 * view's index is the one it was built at; serving it is a copy, the ID
 * and flags of this request, the question bytes of this request (so the
 * case of the name is echoed, which 0x20-randomizing resolvers check), and
 * a shuffle of the answer records. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/dns_internal.h"
#include "core/mem.h"

struct dns_cache_ent {
    uint64_t index; /* the view's index it was built at; 0: empty */
    uint16_t qtype;
    uint8_t qname[DNSW_NAME_MAX]; /* lower case */
    struct dns_built b;           /* b.wire: heap, owned by the entry */
};

void dns_config_default(struct dns_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->domain, sizeof(c->domain), "troupe.");
    snprintf(c->self, sizeof(c->self), "troupe");
    snprintf(c->datacenter, sizeof(c->datacenter), "dc1");
    c->service_ttl_s = 5;
    c->node_ttl_s = 30;
    c->negative_ttl_s = 5;
    c->cache_slots = 4096;
}

/* ---- scratch ---- */

void *dns_alloc(struct dns *d, size_t n)
{
    size_t at = (d->arena_used + 15) & ~(size_t)15;

    if (n > DNS_ARENA_SIZE || at > DNS_ARENA_SIZE - n)
        return NULL;
    d->arena_used = at + n;
    return d->arena + at;
}

uint64_t dns_rand(struct dns *d)
{
    /* xorshift64*: fast, and good enough to spread load across instances */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return d->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- life ---- */

/* A zone name as an operator writes it: dot-separated labels of 1-63
 * letters, digits, '-' or '_', no label starting or ending with '-'. (The
 * wire library takes any bytes in a label, which a resolver will not send.) */
static int domain_ok(const char *s)
{
    size_t len = 0;

    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (len == 0 || len > 63 || p[-1] == '-' || p[-(long)len] == '-')
                return *p == '\0' && len == 0 && p > s && p[-1] == '.';
            if (*p == '\0')
                return 1;
            len = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
        len++;
    }
}

int dns_domain_check(const char *domain, uint8_t *zone, char *canon, struct err *e)
{
    char dotted[DNS_DOMAIN_MAX + 2], text[DNSW_TEXT_MAX + 1];
    size_t n = strlen(domain);

    if (n == 0 || n > DNS_DOMAIN_MAX)
        return err_set(e, -EINVAL, "DNS domain \"%s\": 1-%d characters", domain, DNS_DOMAIN_MAX);
    if (!domain_ok(domain))
        return err_set(e, -EINVAL,
                       "DNS domain \"%s\": labels of letters, digits, '-' and '_', 1-63 each, "
                       "separated by dots",
                       domain);
    /* the domain in text always ends with a dot, so names append to it */
    snprintf(dotted, sizeof(dotted), "%s%s", domain, domain[n - 1] == '.' ? "" : ".");
    text[0] = '\0';
    if (strcmp(dotted, ".") != 0 && strlen(dotted) <= DNS_DOMAIN_MAX &&
        dnsw_name_from_text(zone, dotted)) {
        dnsw_name_lower(zone);
        dnsw_name_to_text(zone, text); /* lower case, odd bytes as \DDD */
    }
    if (!text[0] || strlen(text) > DNS_DOMAIN_MAX)
        return err_set(e, -EINVAL, "DNS domain \"%s\" is not a valid domain name", domain);
    snprintf(canon, DNS_DOMAIN_MAX + 1, "%s", text);
    return 0;
}

int dns_datacenter_check(const char *dc, struct err *e)
{
    size_t n = strlen(dc);

    if (n == 0 || n > DNS_DC_MAX || strchr(dc, '.') || !domain_ok(dc))
        return err_set(e, -EINVAL,
                       "datacenter \"%s\": one label of letters, digits, '-' and '_', 1-%d "
                       "characters",
                       dc, DNS_DC_MAX);
    if (strcasecmp(dc, "service") == 0 || strcasecmp(dc, "node") == 0 ||
        strcasecmp(dc, "addr") == 0)
        return err_set(e, -EINVAL, "datacenter \"%s\": a word DNS names use for their kind", dc);
    return 0;
}

struct dns *dns_new(const struct dns_config *c, uint64_t seed, struct err *e)
{
    struct dns *d;
    uint8_t zone[DNSW_NAME_MAX], alt_zone[DNSW_NAME_MAX];
    char canon[DNS_DOMAIN_MAX + 1], alt_canon[DNS_DOMAIN_MAX + 1] = "";

    if (dns_domain_check(c->domain, zone, canon, e) < 0)
        return NULL;
    if (c->alt_domain[0]) {
        if (dns_domain_check(c->alt_domain, alt_zone, alt_canon, e) < 0 ||
            dns_datacenter_check(c->datacenter, e) < 0)
            return NULL;
        if (strcmp(canon, alt_canon) == 0) {
            err_set(e, -EINVAL, "DNS: the second domain \"%s\" is the domain", alt_canon);
            return NULL;
        }
    }
    if (c->self[0] == '\0') {
        err_set(e, -EINVAL, "DNS: our node name is empty");
        return NULL;
    }
    d = xcalloc(1, sizeof(*d));
    d->cfg = *c;
    memcpy(d->zone, zone, sizeof(d->zone));
    snprintf(d->cfg.domain, sizeof(d->cfg.domain), "%s", canon);
    snprintf(d->cfg.alt_domain, sizeof(d->cfg.alt_domain), "%s", alt_canon);
    if (alt_canon[0]) {
        memcpy(d->alt_zone, alt_zone, sizeof(d->alt_zone));
        d->has_alt = 1;
        for (char *p = d->cfg.datacenter; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    if (d->cfg.cache_slots == 0)
        d->cfg.cache_slots = 1;
    d->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    d->arena = xmalloc(DNS_ARENA_SIZE);
    d->insts = xcalloc(DNS_INSTANCES_MAX, sizeof(*d->insts));
    d->build = xmalloc(DNS_MSG_MAX);
    d->cache = xcalloc(d->cfg.cache_slots, sizeof(*d->cache));
    return d;
}

void dns_free(struct dns *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->cfg.cache_slots; i++)
        free(d->cache[i].b.wire);
    free(d->cache);
    free(d->build);
    free(d->insts);
    free(d->arena);
    free(d);
}

const struct dns_config *dns_config(const struct dns *d)
{
    return &d->cfg;
}

void dns_set_upstreams(struct dns *d, int upstreams)
{
    d->cfg.upstreams = upstreams;
}

/* ---- counters ---- */

static const struct {
    uint16_t type;
    const char *name;
} qtype_slots[DNS_QTYPE_SLOTS] = {
    {DNSW_A, "A"},   {DNSW_AAAA, "AAAA"},   {DNSW_SRV, "SRV"},     {DNSW_SOA, "SOA"},
    {DNSW_NS, "NS"}, {DNSW_ANY, "ANY"},     {DNSW_PTR, "PTR"},     {DNSW_TXT, "TXT"},
    {DNSW_MX, "MX"}, {DNSW_CNAME, "CNAME"}, {DNSW_HTTPS, "HTTPS"}, {0, "other"},
};

static const char *const rcode_slots[DNS_RCODE_SLOTS] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"};

const char *dns_qtype_slot_name(int slot)
{
    return slot >= 0 && slot < DNS_QTYPE_SLOTS ? qtype_slots[slot].name : "other";
}

const char *dns_rcode_slot_name(int slot)
{
    return slot >= 0 && slot < DNS_RCODE_SLOTS ? rcode_slots[slot] : "other";
}

static void count_qtype(struct dns *d, uint16_t qtype)
{
    int i = 0;
    while (i < DNS_QTYPE_SLOTS - 1 && qtype_slots[i].type != qtype)
        i++;
    d->st.by_qtype[i]++;
}

static void count_rcode(struct dns *d, unsigned rcode)
{
    d->st.by_rcode[rcode <= DNSW_REFUSED ? rcode : rcode == DNSW_BADVERS ? 6 : 7]++;
}

const struct dns_stats *dns_stats(const struct dns *d)
{
    return &d->st;
}

void dns_count_forwarded(struct dns *d, const uint8_t *resp, size_t len)
{
    if (len >= DNSW_HEADER)
        count_rcode(d, dnsw_rcode(resp));
}

/* ---- responses ---- */

/* The UDP size limit of a request: 512 without EDNS, else what the client
 * takes, between 512 and what we advertise. */
static size_t udp_limit(const struct dnsw_query *q)
{
    uint16_t pl;

    if (!q || !q->has_opt)
        return DNS_UDP_MIN;
    pl = q->opt_payload;
    return pl < DNS_UDP_MIN ? DNS_UDP_MIN : pl > DNS_UDP_PAYLOAD ? DNS_UDP_PAYLOAD : pl;
}

/* Appends our OPT RR (payload, extended rcode bits, version 0, no options). */
static size_t put_opt(uint8_t *out, size_t len, unsigned rcode)
{
    struct wr w;

    wr_init(&w, out + len, DNS_OPT_SIZE);
    wr_u8(&w, 0); /* root */
    wr_u16(&w, DNSW_OPT);
    wr_u16(&w, DNS_UDP_PAYLOAD);
    wr_u8(&w, (uint8_t)(rcode >> 4));
    wr_u8(&w, 0);  /* version */
    wr_u16(&w, 0); /* flags: DO clear, we do not sign */
    wr_u16(&w, 0); /* no options */
    dnsw_put16(out + DNSW_ARCOUNT, (uint16_t)(dnsw_get16(out + DNSW_ARCOUNT) + 1));
    return len + DNS_OPT_SIZE;
}

static void set_flags(struct dns *d, uint8_t *out, const uint8_t *req, unsigned rcode, int aa)
{
    memcpy(out + DNSW_ID, req + DNSW_ID, 2);
    out[2] = (uint8_t)((req[2] & 0x79) | DNSW_QR | (aa ? DNSW_AA : 0)); /* opcode, RD */
    out[3] = (uint8_t)((d->cfg.upstreams ? DNSW_RA : 0) | (rcode & 0xf));
}

/* A response without records: header, the question when q has one (and
 * keep_question), OPT when q had one. */
static size_t error_reply(struct dns *d, const uint8_t *req, const struct dnsw_query *q,
                          int keep_question, unsigned rcode, uint8_t *out)
{
    size_t qend = DNSW_HEADER + (keep_question ? q->qsize : 0);
    size_t len = qend;

    memset(out, 0, DNSW_HEADER);
    if (qend > DNSW_HEADER) {
        memcpy(out + DNSW_HEADER, req + DNSW_HEADER, qend - DNSW_HEADER);
        dnsw_put16(out + DNSW_QDCOUNT, 1);
    }
    set_flags(d, out, req, rcode, 0);
    if (q && q->has_opt)
        len = put_opt(out, len, rcode);
    count_rcode(d, rcode);
    return len;
}

/* Permutes the answer records (Fisher-Yates). Only when every record's
 * owner is the 2-byte pointer to the question name: then no record points
 * into another, and moving them keeps the message valid. Records of one
 * size (A, AAAA) trade their rdata in place. */
static void shuffle(struct dns *d, uint8_t *w, size_t an_off, size_t an_end, uint16_t n)
{
    uint16_t *off = dns_alloc(d, (size_t)(n + 1) * sizeof(*off));
    size_t p = an_off, sz;
    int same = 1;

    if (!off || n < 2)
        return;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t rdlen;
        if (p + 12 > an_end || w[p] != 0xc0 || w[p + 1] != DNSW_HEADER)
            return;
        rdlen = (uint16_t)(w[p + 10] << 8 | w[p + 11]);
        off[i] = (uint16_t)p;
        p += 12 + (size_t)rdlen;
        if (p > an_end)
            return;
    }
    off[n] = (uint16_t)p;
    if (p != an_end)
        return;
    sz = (size_t)(off[1] - off[0]);
    for (uint16_t i = 1; i < n && same; i++)
        same = (size_t)(off[i + 1] - off[i]) == sz;
    if (same) {
        size_t rd = sz - 12;
        uint8_t tmp[16];
        if (rd > sizeof(tmp))
            same = 0;
        for (uint16_t i = n - 1; same && i > 0; i--) {
            uint16_t j = (uint16_t)(dns_rand(d) % (uint64_t)(i + 1));
            if (j == i)
                continue;
            memcpy(tmp, w + off[i] + 12, rd);
            memcpy(w + off[i] + 12, w + off[j] + 12, rd);
            memcpy(w + off[j] + 12, tmp, rd);
        }
        if (same)
            return;
    }
    {
        uint16_t *perm = dns_alloc(d, n * sizeof(*perm));
        uint8_t *copy = dns_alloc(d, an_end - an_off);
        size_t at = an_off;
        if (!perm || !copy)
            return;
        memcpy(copy, w + an_off, an_end - an_off);
        for (uint16_t i = 0; i < n; i++)
            perm[i] = i;
        for (uint16_t i = n - 1; i > 0; i--) {
            uint16_t j = (uint16_t)(dns_rand(d) % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (uint16_t i = 0; i < n; i++) {
            size_t len = (size_t)(off[perm[i] + 1] - off[perm[i]]);
            memcpy(w + at, copy + (off[perm[i]] - an_off), len);
            at += len;
        }
    }
}

/* Serves a built response to this request: ID, flags, the request's
 * question bytes, shuffled answers, cut to the size limit, OPT. */
static size_t finish(struct dns *d, const uint8_t *req, const struct dnsw_query *q,
                     const struct dns_built *b, int tcp, uint8_t *out)
{
    size_t qsize = q->qsize; /* without the header */
    size_t limit = tcp ? DNS_MSG_MAX : udp_limit(q);
    size_t opt = q->has_opt ? DNS_OPT_SIZE : 0, len = b->len;

    memcpy(out, b->wire, b->len);
    set_flags(d, out, req, b->rcode, 1);
    memcpy(out + DNSW_HEADER, req + DNSW_HEADER, qsize);
    if (b->shuffle && b->an_count > 1)
        shuffle(d, out, b->an_off, b->an_end, b->an_count);
    if (len + opt > limit) {
        if (b->an_end + opt <= limit) {
            /* the answer fits: leave out the additionals (and authority) */
            len = b->an_end;
        } else {
            /* it does not: say so, the client asks again over TCP */
            len = DNSW_HEADER + qsize;
            dnsw_put16(out + DNSW_ANCOUNT, 0);
            out[2] |= DNSW_TC;
            d->st.truncated++;
        }
        dnsw_put16(out + DNSW_NSCOUNT, 0);
        dnsw_put16(out + DNSW_ARCOUNT, 0);
    }
    if (opt)
        len = put_opt(out, len, b->rcode);
    count_rcode(d, b->rcode);
    return len;
}

static uint32_t name_hash(const uint8_t *name, size_t len, uint16_t qtype)
{
    uint32_t h = 2166136261u ^ qtype; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= name[i];
        h *= 16777619u;
    }
    return h;
}

/* The response for an in-zone question, from the cache or built (and
 * cached when the view allows it). Returns 0 or <0 (out of scratch). */
static int zone_response(struct dns *d, const struct dns_view *v, const struct dnsw_query *q,
                         int depth, int alt, const struct dns_built **out)
{
    const uint8_t *qname = q->qname;
    size_t nlen = dnsw_name_size(qname);
    uint16_t qtype = q->qtype;
    struct dns_cache_ent *ce = &d->cache[name_hash(qname, nlen, qtype) % d->cfg.cache_slots];
    int rc;

    if (v->index && ce->index == v->index && ce->qtype == qtype &&
        memcmp(ce->qname, qname, nlen) == 0) {
        d->st.cache_hits++;
        *out = &ce->b;
        return 0;
    }
    d->st.cache_misses++;
    {
        struct dns_built *b = dns_alloc(d, sizeof(*b));
        if (!b)
            return -ENOMEM;
        if ((rc = dns_zone_answer(d, v, q, depth, alt, b)) < 0)
            return rc;
        if (v->index) {
            free(ce->b.wire);
            ce->b = *b;
            ce->b.wire = xmemdup(b->wire, b->len);
            ce->index = v->index;
            ce->qtype = qtype;
            memcpy(ce->qname, qname, nlen);
            *out = &ce->b;
        } else {
            *out = b;
        }
    }
    return 0;
}

enum dns_action dns_handle(struct dns *d, const struct dns_view *v, const uint8_t *req, size_t len,
                           int tcp, uint8_t *out, size_t cap, size_t *out_len)
{
    struct dnsw_query *q;
    const struct dns_built *b;
    int depth, alt = 0;

    d->arena_used = 0;
    d->st.requests++;
    *out_len = 0;
    if (cap < DNS_MSG_MAX || len < DNSW_HEADER || len > DNS_MSG_MAX || dnsw_qr(req)) {
        d->st.dropped++; /* not a request: answering could start a loop */
        return DNS_DROP;
    }
    if (dnsw_opcode(req) != DNSW_OPCODE_QUERY) {
        *out_len = error_reply(d, req, NULL, 0, DNSW_NOTIMP, out);
        return DNS_REPLY;
    }
    q = dns_alloc(d, sizeof(*q));
    if (!q) {
        *out_len = error_reply(d, req, NULL, 0, DNSW_SERVFAIL, out);
        return DNS_REPLY;
    }
    if (dnsw_parse_query(req, len, q) < 0) {
        *out_len = error_reply(d, req, NULL, 0, DNSW_FORMERR, out);
        return DNS_REPLY;
    }
    count_qtype(d, q->qtype);
    if (q->has_opt && q->opt_version != 0) {
        *out_len = error_reply(d, req, q, 1, DNSW_BADVERS, out);
        return DNS_REPLY;
    }
    depth = dnsw_name_depth(q->qname, d->zone);
    if (d->has_alt) {
        /* the deeper zone wins when one holds the other */
        int alt_depth = dnsw_name_depth(q->qname, d->alt_zone);
        if (alt_depth >= 0 && (depth < 0 || alt_depth < depth)) {
            depth = alt_depth;
            alt = 1;
        }
    }
    if (depth < 0) {
        if (d->cfg.upstreams) {
            d->st.forwarded++;
            return DNS_FORWARD;
        }
        *out_len = error_reply(d, req, q, 1, DNSW_REFUSED, out);
        return DNS_REPLY;
    }
    if (q->qclass != DNSW_CLASS_IN || q->qtype == DNSW_AXFR || q->qtype == DNSW_IXFR ||
        q->qtype == DNSW_OPT || (q->qtype >= 128 && q->qtype < DNSW_ANY)) {
        *out_len = error_reply(d, req, q, 1, DNSW_NOTIMP, out);
        return DNS_REPLY;
    }
    if (zone_response(d, v, q, depth, alt, &b) < 0) {
        *out_len = error_reply(d, req, q, 1, DNSW_SERVFAIL, out);
        return DNS_REPLY;
    }
    *out_len = finish(d, req, q, b, tcp, out);
    return DNS_REPLY;
}

size_t dns_error_reply(struct dns *d, const uint8_t *req, size_t len, int tcp, uint8_t rcode,
                       uint8_t *out, size_t cap)
{
    struct dnsw_query *q;

    (void)tcp;
    d->arena_used = 0;
    if (cap < DNS_MSG_MAX || len < DNSW_HEADER || len > DNS_MSG_MAX || dnsw_qr(req))
        return 0;
    q = dns_alloc(d, sizeof(*q));
    if (!q || dnsw_parse_query(req, len, q) < 0)
        return error_reply(d, req, NULL, 0, rcode, out);
    return error_reply(d, req, q, 1, rcode, out);
}
