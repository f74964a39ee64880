/* dns_zone: what a name inside the zone answers (see dns.h for the names),
 * decided from the view (instances and members through its callbacks) and
 * written (core/dns_wire) into one response: the answer records, the SOA in
 * the authority section of a negative answer, the addresses of SRV targets
 * as additionals. The alt zone (Consul's names) answers the same way once
 * its datacenter label is taken off. Does not deal with requests, EDNS,
 * truncation, caching or counters (core/dns.c). Everything lives in the
 * request's arena. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dns_internal.h"

#define SOA_REFRESH_S 3600
#define SOA_RETRY_S   600
#define SOA_EXPIRE_S  86400
#define LABELS_MAX    127
#define LABEL_BUF     64 /* a service name or tag: one DNS label */

struct label {
    const uint8_t *p;
    uint8_t len;
};

/* Records of one owner and type, their rdata one after the other, each
 * behind its length (2 bytes, host order). */
struct rrset {
    const uint8_t *owner;
    uint16_t type;
    uint32_t ttl;
    uint16_t count;
    uint8_t *data;
    size_t used;
};

/* One answer being decided. */
struct ans {
    struct dns *d;
    const struct dns_view *v;
    struct dnsw_msg msg;
    const uint8_t *qname; /* lower case */
    const uint8_t *zone;  /* the zone the name is in, wire form */
    const char *domain;   /* the same in text, ending with a dot */
    /* where names this answer points to live: the domain, or DC.domain
     * in the alt zone (as Consul writes its SRV targets) */
    char targets[DNS_DC_MAX + 1 + DNS_DOMAIN_MAX + 1];
    uint16_t qtype;
    int alt; /* the name is in the alt zone */
    uint8_t rcode;
    int negative; /* NXDOMAIN or NODATA: the SOA goes to the authority section */
    struct rrset *an[4];
    size_t n_an;
    struct rrset **ar; /* additionals, n_ar of them */
    size_t n_ar, cap_ar;
};

/* An address to answer with. */
struct addr {
    uint8_t family;
    uint8_t ip[16];
};

static int addr_cmp(const void *a, const void *b)
{
    const struct addr *x = a, *y = b;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    return memcmp(x->ip, y->ip, 16);
}

static size_t addr_len(uint8_t family)
{
    return family == 4 ? 4 : 16;
}

/* ---- records in the arena ---- */

/* An empty rrset with room for n rdata of at most max_len bytes each. */
static struct rrset *rrset_new(struct dns *d, const uint8_t *owner, uint16_t type, uint32_t ttl,
                               size_t n, size_t max_len)
{
    struct rrset *rr = dns_alloc(d, sizeof(*rr));
    uint8_t *mem = dns_alloc(d, (n ? n : 1) * (2 + max_len));

    if (!rr || !mem)
        return NULL;
    memset(rr, 0, sizeof(*rr));
    rr->owner = owner;
    rr->type = type;
    rr->ttl = ttl;
    rr->data = mem;
    return rr;
}

static void rrset_add(struct rrset *rr, const uint8_t *data, uint16_t len)
{
    memcpy(rr->data + rr->used, &len, 2);
    memcpy(rr->data + rr->used + 2, data, len);
    rr->used += 2 + (size_t)len;
    rr->count++;
}

/* Writes all records of rr into section, or none of them (-EMSGSIZE). */
static int rrset_put(struct dnsw_msg *m, enum dnsw_section section, const struct rrset *rr)
{
    size_t len = m->len;
    uint16_t count = dnsw_get16(m->wire + section);

    for (size_t at = 0; at < rr->used;) {
        uint16_t n;
        memcpy(&n, rr->data + at, 2);
        if (dnsw_put_rr(m, section, rr->owner, rr->type, rr->ttl, rr->data + at + 2, n) < 0) {
            m->len = len;
            dnsw_put16(m->wire + section, count);
            return -EMSGSIZE;
        }
        at += 2 + (size_t)n;
    }
    return 0;
}

static uint8_t *dname_from(struct dns *d, const char *text)
{
    uint8_t *buf = dns_alloc(d, DNSW_NAME_MAX);

    if (!buf || !dnsw_name_from_text(buf, text))
        return NULL;
    return buf;
}

static int put_answer(struct ans *a, struct rrset *rr)
{
    if (!rr)
        return -ENOMEM;
    if (rr->count && a->n_an < sizeof(a->an) / sizeof(a->an[0]))
        a->an[a->n_an++] = rr;
    return 0;
}

static int put_additional(struct ans *a, struct rrset *rr)
{
    if (!rr)
        return -ENOMEM;
    if (rr->count && a->n_ar < a->cap_ar)
        a->ar[a->n_ar++] = rr;
    return 0;
}

static void nxdomain(struct ans *a)
{
    a->rcode = DNSW_NXDOMAIN;
    a->negative = 1;
}

static void nodata(struct ans *a)
{
    a->negative = 1;
}

/* The zone's name server: SELF.node.Z. */
static uint8_t *ns_name(struct ans *a)
{
    char text[DNSW_TEXT_MAX + 1];

    snprintf(text, sizeof(text), "%s.node.%s", a->d->cfg.self, a->targets);
    return dname_from(a->d, text);
}

static struct rrset *soa_rrset(struct ans *a, uint32_t ttl)
{
    struct dns *d = a->d;
    const struct dns_view *v = a->v;
    uint8_t *mname = ns_name(a), *rname;
    char text[DNSW_TEXT_MAX + 1];
    uint8_t rdata[2 * DNSW_NAME_MAX + 20];
    size_t n1, n2, off;
    uint32_t serial = (uint32_t)(v->index ? v->index : 1), nums[5];
    struct rrset *rr;

    snprintf(text, sizeof(text), "hostmaster.%s", a->domain);
    rname = dname_from(d, text);
    if (!mname || !rname)
        return NULL;
    n1 = dnsw_name_size(mname);
    n2 = dnsw_name_size(rname);
    memcpy(rdata, mname, n1);
    memcpy(rdata + n1, rname, n2);
    off = n1 + n2;
    nums[0] = serial;
    nums[1] = SOA_REFRESH_S;
    nums[2] = SOA_RETRY_S;
    nums[3] = SOA_EXPIRE_S;
    nums[4] = d->cfg.negative_ttl_s;
    for (int i = 0; i < 5; i++) {
        uint32_t be = htonl(nums[i]);
        memcpy(rdata + off, &be, 4);
        off += 4;
    }
    rr = rrset_new(d, a->zone, DNSW_SOA, ttl, 1, off);
    if (rr)
        rrset_add(rr, rdata, (uint16_t)off);
    return rr;
}

/* A and/or AAAA (by qtype) of the addresses, owned by owner. */
static int answer_addrs(struct ans *a, const uint8_t *owner, const struct addr *ad, size_t n,
                        uint32_t ttl, int additional)
{
    static const uint16_t types[2] = {DNSW_A, DNSW_AAAA};
    int any = 0;

    for (int t = 0; t < 2; t++) {
        uint8_t fam = t == 0 ? 4 : 6;
        struct rrset *rr;
        size_t k = 0;

        if (!additional && a->qtype != types[t] && a->qtype != DNSW_ANY)
            continue;
        for (size_t i = 0; i < n; i++)
            k += ad[i].family == fam;
        if (k == 0)
            continue;
        rr = rrset_new(a->d, owner, types[t], ttl, k, addr_len(fam));
        if (!rr)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (ad[i].family == fam)
                rrset_add(rr, ad[i].ip, (uint16_t)addr_len(fam));
        if ((additional ? put_additional(a, rr) : put_answer(a, rr)) < 0)
            return -ENOMEM;
        any = 1;
    }
    if (!additional && !any)
        nodata(a);
    return 0;
}

/* ---- names ---- */

static int label_is(const struct label *l, const char *s)
{
    return l->len == strlen(s) && memcmp(l->p, s, l->len) == 0;
}

/* A label as text when it is a service name or tag: [a-z0-9_-] (the name
 * is already lower case), skipping its first `skip` bytes. Returns 0, or -1
 * for anything else. */
static int label_text(const struct label *l, size_t skip, char *out, size_t cap)
{
    size_t n = l->len - skip;

    if (l->len <= skip || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = l->p[skip + i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return -1;
        out[i] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* The address an instance answers with: its own, or its node's. */
static int inst_addr(struct ans *a, const struct dns_inst *in, struct addr *out)
{
    struct node_addr na;

    memset(out, 0, sizeof(*out));
    if (in->family == 4 || in->family == 6) {
        out->family = in->family;
        memcpy(out->ip, in->ip, addr_len(in->family));
        return 1;
    }
    if (!a->v->node || a->v->node(a->v->ud, in->node, &na) != 1)
        return 0;
    out->family = na.family;
    memcpy(out->ip, na.ip, addr_len(na.family));
    return 1;
}

/* Instances of service with tag that the answers serve, in d->insts.
 * Returns how many, or -1 when the name does not exist (no instance at
 * all, whatever the health), or -2 on error. */
static int served(struct ans *a, const char *service, const char *tag)
{
    struct dns *d = a->d;
    uint8_t worst = d->cfg.only_passing ? 0 : 1;
    int total;
    size_t k = 0;

    if (!a->v->instances)
        return -1;
    total = a->v->instances(a->v->ud, service, tag, d->insts, DNS_INSTANCES_MAX);
    if (total < 0)
        return -2;
    if (total == 0)
        return -1;
    if ((size_t)total > DNS_INSTANCES_MAX)
        total = DNS_INSTANCES_MAX;
    for (int i = 0; i < total; i++) {
        if (!d->insts[i].serving || d->insts[i].status > worst)
            continue;
        d->insts[k++] = d->insts[i];
    }
    return (int)k;
}

/* Most records of one type that fit in a message beside the question. */
static size_t records_fit(size_t rr_size)
{
    return (DNS_MSG_MAX - DNSW_HEADER - DNSW_NAME_MAX - 4 - 512) / rr_size;
}

static int answer_service(struct ans *a, const char *service, const char *tag)
{
    int n = served(a, service, tag);
    struct addr *ad;
    size_t k = 0, u = 0;

    if (n == -2)
        return -EIO;
    if (n == -1) {
        nxdomain(a);
        return 0;
    }
    ad = dns_alloc(a->d, (size_t)(n ? n : 1) * sizeof(*ad));
    if (!ad)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        k += (size_t)inst_addr(a, &a->d->insts[i], &ad[k]);
    qsort(ad, k, sizeof(*ad), addr_cmp);
    for (size_t i = 0; i < k; i++)
        if (u == 0 || addr_cmp(&ad[u - 1], &ad[i]) != 0)
            ad[u++] = ad[i];
    if (u > records_fit(28))
        u = records_fit(28);
    return answer_addrs(a, a->qname, ad, u, a->d->cfg.service_ttl_s, 0);
}

/* One SRV record being built. */
struct srv {
    char target[DNSW_TEXT_MAX + 1];
    uint16_t port, weight;
    struct addr addr;
};

static int srv_cmp(const void *x, const void *y)
{
    const struct srv *a = x, *b = y;
    int c = strcmp(a->target, b->target);
    return c ? c : (int)a->port - (int)b->port;
}

static void hex_addr(const struct addr *ad, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = addr_len(ad->family);

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[ad->ip[i] >> 4];
        out[2 * i + 1] = hex[ad->ip[i] & 15];
    }
    out[2 * n] = '\0';
}

static int answer_srv(struct ans *a, const char *service, const char *tag)
{
    struct dns *d = a->d;
    int n = served(a, service, tag);
    struct srv *s;
    size_t k = 0, u = 0, bytes = 0;
    struct rrset *rr;

    if (n == -2)
        return -EIO;
    if (n == -1) {
        nxdomain(a);
        return 0;
    }
    if (a->qtype != DNSW_SRV && a->qtype != DNSW_ANY) {
        nodata(a);
        return 0;
    }
    s = dns_alloc(d, (size_t)(n ? n : 1) * sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const struct dns_inst *in = &d->insts[i];
        struct srv *t = &s[k];
        char hex[33];

        if (!inst_addr(a, in, &t->addr))
            continue;
        if (in->family) {
            hex_addr(&t->addr, hex);
            snprintf(t->target, sizeof(t->target), "%s.addr.%s", hex, a->targets);
        } else {
            snprintf(t->target, sizeof(t->target), "%s.node.%s", in->node, a->targets);
        }
        t->port = in->port;
        t->weight = in->weight ? in->weight : 1;
        k++;
    }
    qsort(s, k, sizeof(*s), srv_cmp);
    for (size_t i = 0; i < k; i++)
        if (u == 0 || srv_cmp(&s[u - 1], &s[i]) != 0)
            s[u++] = s[i];
    rr = rrset_new(d, a->qname, DNSW_SRV, d->cfg.service_ttl_s, u, 6 + DNSW_NAME_MAX);
    a->ar = dns_alloc(d, (u ? u : 1) * sizeof(*a->ar));
    if (!rr || !a->ar)
        return -ENOMEM;
    a->cap_ar = u;
    for (size_t i = 0; i < u; i++) {
        uint8_t rdata[6 + DNSW_NAME_MAX];
        uint16_t be;
        uint8_t *target = dname_from(d, s[i].target);
        size_t tl;

        if (!target)
            continue; /* a node name that is no valid DNS name */
        tl = dnsw_name_size(target);
        if (bytes + 12 + 6 + tl > records_fit(1))
            break; /* no more fits in one message */
        bytes += 12 + 6 + tl;
        be = htons(1);
        memcpy(rdata, &be, 2);
        be = htons(s[i].weight);
        memcpy(rdata + 2, &be, 2);
        be = htons(s[i].port);
        memcpy(rdata + 4, &be, 2);
        memcpy(rdata + 6, target, tl);
        rrset_add(rr, rdata, (uint16_t)(6 + tl));
        if (i == 0 || strcmp(s[i - 1].target, s[i].target) != 0) {
            if (answer_addrs(a, target, &s[i].addr, 1, d->cfg.node_ttl_s, 1) < 0)
                return -ENOMEM;
        }
    }
    return put_answer(a, rr);
}

static int answer_node(struct ans *a, const struct label *l, int n)
{
    char name[SWIM_NAME_MAX + 1];
    size_t off = 0;
    struct node_addr na;
    struct addr ad;

    /* NODE may span labels: the node name "web.1" is web.1.node.Z */
    for (int i = 0; i < n; i++) {
        if (off + l[i].len + (i ? 1 : 0) > SWIM_NAME_MAX) {
            nxdomain(a);
            return 0;
        }
        if (i)
            name[off++] = '.';
        memcpy(name + off, l[i].p, l[i].len);
        off += l[i].len;
    }
    name[off] = '\0';
    if (memchr(name, '\0', off) || !a->v->node || a->v->node(a->v->ud, name, &na) != 1) {
        nxdomain(a);
        return 0;
    }
    memset(&ad, 0, sizeof(ad));
    ad.family = na.family;
    memcpy(ad.ip, na.ip, addr_len(na.family));
    return answer_addrs(a, a->qname, &ad, 1, a->d->cfg.node_ttl_s, 0);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int answer_hex(struct ans *a, const struct label *l)
{
    struct addr ad;

    memset(&ad, 0, sizeof(ad));
    if (l->len != 8 && l->len != 32) {
        nxdomain(a);
        return 0;
    }
    ad.family = l->len == 8 ? 4 : 6;
    for (size_t i = 0; i < l->len; i += 2) {
        int hi = hexval(l->p[i]), lo = hexval(l->p[i + 1]);
        if (hi < 0 || lo < 0) {
            nxdomain(a);
            return 0;
        }
        ad.ip[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return answer_addrs(a, a->qname, &ad, 1, a->d->cfg.node_ttl_s, 0);
}

static int answer_apex(struct ans *a)
{
    struct dns *d = a->d;
    int soa = a->qtype == DNSW_SOA || a->qtype == DNSW_ANY;
    int ns = a->qtype == DNSW_NS || a->qtype == DNSW_ANY;

    if (!soa && !ns) {
        nodata(a);
        return 0;
    }
    if (soa && put_answer(a, soa_rrset(a, d->cfg.node_ttl_s)) < 0)
        return -ENOMEM;
    if (ns) {
        uint8_t *target = ns_name(a);
        struct rrset *rr =
            target ? rrset_new(d, a->qname, DNSW_NS, d->cfg.node_ttl_s, 1, dnsw_name_size(target))
                   : NULL;
        struct node_addr na;

        if (!rr)
            return -ENOMEM;
        rrset_add(rr, target, (uint16_t)dnsw_name_size(target));
        if (put_answer(a, rr) < 0)
            return -ENOMEM;
        a->ar = dns_alloc(d, 2 * sizeof(*a->ar));
        a->cap_ar = a->ar ? 2 : 0;
        if (a->v->node && a->v->node(a->v->ud, d->cfg.self, &na) == 1) {
            struct addr ad = {.family = na.family};
            memcpy(ad.ip, na.ip, addr_len(na.family));
            if (answer_addrs(a, target, &ad, 1, d->cfg.node_ttl_s, 1) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* NAME.service.Z and TAG.NAME.service.Z: addresses, or SRV records when
 * SRV is asked (Consul answers them so, and SRV-aware clients ask so). */
static int answer_named(struct ans *a, const char *service, const char *tag)
{
    if (a->qtype == DNSW_SRV)
        return answer_srv(a, service, tag);
    return answer_service(a, service, tag);
}

static int is_kind(const struct label *l)
{
    return label_is(l, "service") || label_is(l, "node") || label_is(l, "addr");
}

/* Decides the records; the name is labels l[0..n) below the zone, l[n-1]
 * the one next to it. */
static int decide(struct ans *a, const struct label *l, int n)
{
    char name[LABEL_BUF], tag[LABEL_BUF];

    if (a->alt && n > 0 && !is_kind(&l[n - 1])) {
        /* Consul's names may carry the datacenter next to the zone; only
         * ours exists here (Consul answers an unknown one NXDOMAIN too).
         * DC.Z alone and service.DC.Z exist, empty, as service.Z does. */
        if (!label_is(&l[n - 1], a->d->cfg.datacenter)) {
            nxdomain(a);
            return 0;
        }
        if (--n == 0 || (n == 1 && is_kind(&l[0]))) {
            nodata(a);
            return 0;
        }
        if (!is_kind(&l[n - 1])) {
            nxdomain(a);
            return 0;
        }
    }
    if (n == 0)
        return answer_apex(a);
    if (label_is(&l[n - 1], "service")) {
        if (n == 1 || (n == 2 && l[0].p[0] == '_')) {
            nodata(a); /* service.Z and _tcp.service.Z exist, empty */
            return 0;
        }
        if (n == 2) {
            if (label_text(&l[0], 0, name, sizeof(name)) < 0) {
                nxdomain(a);
                return 0;
            }
            return answer_named(a, name, NULL);
        }
        if (n == 3 && l[0].p[0] == '_' && l[1].p[0] == '_') {
            int any_tag = label_is(&l[1], "_tcp") || label_is(&l[1], "_udp");
            if (label_text(&l[0], 1, name, sizeof(name)) < 0 ||
                label_text(&l[1], 1, tag, sizeof(tag)) < 0) {
                nxdomain(a);
                return 0;
            }
            return answer_srv(a, name, any_tag ? NULL : tag);
        }
        if (n == 3 && label_text(&l[0], 0, tag, sizeof(tag)) == 0 &&
            label_text(&l[1], 0, name, sizeof(name)) == 0)
            return answer_named(a, name, tag);
        nxdomain(a);
        return 0;
    }
    if (label_is(&l[n - 1], "node")) {
        if (n == 1) {
            nodata(a);
            return 0;
        }
        return answer_node(a, l, n - 1);
    }
    if (label_is(&l[n - 1], "addr")) {
        if (n == 1) {
            nodata(a);
            return 0;
        }
        if (n == 2)
            return answer_hex(a, &l[0]);
    }
    nxdomain(a);
    return 0;
}

/* Writes the decided records after the question. */
static int write_sections(struct ans *a, struct dns_built *out)
{
    struct dnsw_msg *m = &a->msg;

    out->an_off = m->len;
    for (size_t i = 0; i < a->n_an; i++)
        if (rrset_put(m, DNSW_ANSWER, a->an[i]) < 0)
            return -EMSGSIZE;
    out->an_end = m->len;
    out->an_count = dnsw_get16(m->wire + DNSW_ANCOUNT);
    if (a->negative) {
        struct rrset *soa = soa_rrset(a, a->d->cfg.negative_ttl_s);
        if (!soa)
            return -ENOMEM;
        if (rrset_put(m, DNSW_AUTHORITY, soa) < 0)
            return -EMSGSIZE;
    }
    for (size_t i = 0; i < a->n_ar; i++)
        if (rrset_put(m, DNSW_ADDITIONAL, a->ar[i]) < 0)
            break; /* additionals are optional: what does not fit stays out */
    return 0;
}

int dns_zone_answer(struct dns *d, const struct dns_view *v, const struct dnsw_query *q, int depth,
                    int alt, struct dns_built *out)
{
    struct ans a;
    struct label l[LABELS_MAX];
    const uint8_t *p;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(out, 0, sizeof(*out));
    a.d = d;
    a.v = v;
    a.qname = q->qname;
    a.qtype = q->qtype;
    a.alt = alt;
    a.zone = alt ? d->alt_zone : d->zone;
    a.domain = alt ? d->cfg.alt_domain : d->cfg.domain;
    if (alt)
        snprintf(a.targets, sizeof(a.targets), "%s.%s", d->cfg.datacenter, a.domain);
    else
        snprintf(a.targets, sizeof(a.targets), "%s", a.domain);
    dnsw_msg_init(&a.msg, d->build, DNS_MSG_MAX, q);
    p = a.qname;
    for (int i = 0; i < depth && i < LABELS_MAX; i++) {
        l[i].len = p[0];
        l[i].p = p + 1;
        p += 1 + p[0];
    }
    if ((rc = decide(&a, l, depth < LABELS_MAX ? depth : LABELS_MAX)) < 0)
        return rc;
    if ((rc = write_sections(&a, out)) < 0)
        return rc;
    out->wire = a.msg.wire;
    out->len = a.msg.len;
    out->rcode = a.rcode;
    out->shuffle = a.qtype == DNSW_A || a.qtype == DNSW_AAAA || a.qtype == DNSW_SRV;
    return 0;
}
