/* Tests of core/dns: requests built and responses read back with libknot,
 * against a fake catalog of instances and members held in the test. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <libknot/libknot.h>

#include "core/dns.h"
#include "core/mem.h"

#define FAKE_MAX 128

struct fake_inst {
    char service[64];
    char tag[64];
    struct dns_inst in;
};

struct fake {
    struct fake_inst inst[FAKE_MAX];
    size_t n;
    struct {
        char name[65];
        struct node_addr addr;
        int serving;
    } node[8];
    size_t n_nodes;
    int calls; /* instance lookups: how often the cache was missed */
};

static int fake_instances(void *ud, const char *service, const char *tag, struct dns_inst *out,
                          size_t cap)
{
    struct fake *f = ud;
    size_t k = 0;

    f->calls++;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->inst[i].service, service) != 0)
            continue;
        if (tag && strcmp(f->inst[i].tag, tag) != 0)
            continue;
        if (k < cap)
            out[k] = f->inst[i].in;
        k++;
    }
    return (int)k;
}

static int fake_node(void *ud, const char *name, struct node_addr *out)
{
    struct fake *f = ud;

    for (size_t i = 0; i < f->n_nodes; i++) {
        if (strcasecmp(f->node[i].name, name) == 0 && f->node[i].serving) {
            *out = f->node[i].addr;
            return 1;
        }
    }
    return 0;
}

static void add_node(struct fake *f, const char *name, const char *ip)
{
    struct err e;
    char text[80];

    snprintf(f->node[f->n_nodes].name, 65, "%s", name);
    snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:7420" : "%s:7420", ip);
    assert_int_equal(node_addr_parse(&f->node[f->n_nodes].addr, text, 0, &e), 0);
    f->node[f->n_nodes].serving = 1;
    f->n_nodes++;
}

/* An instance on node; ip NULL: the node's address. */
static struct dns_inst *add_inst(struct fake *f, const char *service, const char *tag,
                                 const char *node, const char *ip, uint16_t port, uint8_t status)
{
    struct fake_inst *fi = &f->inst[f->n++];

    memset(fi, 0, sizeof(*fi));
    snprintf(fi->service, sizeof(fi->service), "%s", service);
    snprintf(fi->tag, sizeof(fi->tag), "%s", tag ? tag : "");
    snprintf(fi->in.node, sizeof(fi->in.node), "%s", node);
    if (ip) {
        fi->in.family = strchr(ip, ':') ? 6 : 4;
        inet_pton(fi->in.family == 4 ? AF_INET : AF_INET6, ip, fi->in.ip);
    }
    fi->in.port = port;
    fi->in.weight = 1;
    fi->in.status = status;
    fi->in.serving = 1;
    return &fi->in;
}

struct t {
    struct fake f;
    struct dns *d;
    struct dns_view v;
    uint8_t out[DNS_MSG_MAX];
    size_t len;
    knot_pkt_t *resp;
};

static struct t *setup_with(const struct dns_config *c)
{
    struct t *t = xcalloc(1, sizeof(*t));
    struct err e;

    t->d = dns_new(c, 42, &e);
    assert_non_null(t->d);
    t->v.instances = fake_instances;
    t->v.node = fake_node;
    t->v.ud = &t->f;
    t->v.index = 1;
    add_node(&t->f, "alpha", "10.0.0.1");
    add_node(&t->f, "beta", "10.0.0.2");
    add_node(&t->f, "gamma6", "fd00::3");
    add_inst(&t->f, "web", "v1", "alpha", NULL, 8080, 0);
    add_inst(&t->f, "web", "v2", "beta", NULL, 8081, 1); /* warning */
    add_inst(&t->f, "web", "v2", "gamma6", NULL, 8082, 0);
    add_inst(&t->f, "web", "v1", "beta", "192.168.7.9", 9000, 2); /* critical */
    add_inst(&t->f, "api", "", "alpha", "192.168.1.5", 7000, 0);  /* own address */
    return t;
}

static struct t *setup(void)
{
    struct dns_config c;

    dns_config_default(&c);
    snprintf(c.self, sizeof(c.self), "alpha");
    return setup_with(&c);
}

static void teardown(struct t *t)
{
    knot_pkt_free(t->resp);
    dns_free(t->d);
    free(t);
}

/* Builds a query; edns: 0 none, else the payload size advertised. */
static size_t make_query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t edns, uint16_t id)
{
    knot_pkt_t *q = knot_pkt_new(NULL, 512, NULL); /* a fresh header */
    knot_dname_t *dn = knot_dname_from_str_alloc(name);
    size_t len;

    assert_non_null(dn);
    knot_wire_set_id(q->wire, id);
    knot_wire_set_rd(q->wire);
    assert_int_equal(knot_pkt_put_question(q, dn, KNOT_CLASS_IN, qtype), KNOT_EOK);
    if (edns) {
        knot_rrset_t opt;
        assert_int_equal(knot_edns_init(&opt, edns, 0, 0, NULL), KNOT_EOK);
        knot_pkt_begin(q, KNOT_ADDITIONAL);
        assert_int_equal(knot_pkt_put(q, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_FREE), KNOT_EOK);
    }
    len = q->size;
    memcpy(buf, q->wire, len);
    knot_pkt_free(q);
    free(dn);
    return len;
}

/* Asks and parses the response into t->resp. Returns the action. */
static enum dns_action ask_raw(struct t *t, const uint8_t *req, size_t len, int tcp)
{
    enum dns_action act = dns_handle(t->d, &t->v, req, len, tcp, t->out, sizeof(t->out), &t->len);

    knot_pkt_free(t->resp);
    t->resp = NULL;
    if (act == DNS_REPLY) {
        t->resp = knot_pkt_new(t->out, (uint16_t)t->len, NULL);
        assert_int_equal(knot_pkt_parse(t->resp, 0), KNOT_EOK);
    }
    return act;
}

static enum dns_action ask(struct t *t, const char *name, uint16_t qtype, uint16_t edns, int tcp)
{
    uint8_t req[512];
    size_t len = make_query(req, name, qtype, edns, 0x1234);
    return ask_raw(t, req, len, tcp);
}

static const knot_pktsection_t *sec(struct t *t, knot_section_t s)
{
    return knot_pkt_section(t->resp, s);
}

/* Number of records of type in section s. */
static int count(struct t *t, knot_section_t s, uint16_t type)
{
    const knot_pktsection_t *ps = sec(t, s);
    int n = 0;
    for (uint16_t i = 0; i < ps->count; i++) {
        const knot_rrset_t *rr = knot_pkt_rr(ps, i);
        if (rr->type == type)
            n += rr->rrs.count;
    }
    return n;
}

/* 1 when an A/AAAA record in section s carries ip. */
static int has_addr(struct t *t, knot_section_t s, const char *ip)
{
    const knot_pktsection_t *ps = sec(t, s);
    uint8_t want[16];
    int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
    size_t n = fam == AF_INET ? 4 : 16;

    inet_pton(fam, ip, want);
    for (uint16_t i = 0; i < ps->count; i++) {
        const knot_rrset_t *rr = knot_pkt_rr(ps, i);
        knot_rdata_t *rd = rr->rrs.rdata;
        for (uint16_t j = 0; j < rr->rrs.count; j++, rd = knot_rdataset_next(rd))
            if ((rr->type == KNOT_RRTYPE_A || rr->type == KNOT_RRTYPE_AAAA) && rd->len == n &&
                memcmp(rd->data, want, n) == 0)
                return 1;
    }
    return 0;
}

static uint8_t rcode(struct t *t)
{
    return knot_wire_get_rcode(t->out);
}

static void test_service_a_serves_passing_and_warning(void **state)
{
    struct t *t = setup();

    assert_int_equal(ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_true(knot_wire_get_aa(t->out));
    assert_true(knot_wire_get_qr(t->out));
    assert_int_equal(knot_wire_get_id(t->out), 0x1234);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.2"));     /* warning */
    assert_false(has_addr(t, KNOT_ANSWER, "192.168.7.9")); /* critical */
    assert_int_equal(knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->ttl, 5);
    teardown(t);
}

static void test_only_passing_leaves_out_warning(void **state)
{
    struct dns_config c;
    struct t *t;

    dns_config_default(&c);
    c.only_passing = 1;
    t = setup_with(&c);
    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 1);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    teardown(t);
}

static void test_service_aaaa(void **state)
{
    struct t *t = setup();

    ask(t, "web.service.troupe", KNOT_RRTYPE_AAAA, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_AAAA), 1);
    assert_true(has_addr(t, KNOT_ANSWER, "fd00::3"));
    teardown(t);
}

static void test_tag_filters_instances(void **state)
{
    struct t *t = setup();

    ask(t, "v2.web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 1);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.2"));
    ask(t, "nosuchtag.web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    teardown(t);
}

static void test_srv_has_ports_weights_and_additionals(void **state)
{
    struct t *t = setup();
    const knot_rrset_t *rr;
    int seen_8080 = 0;

    ask(t, "_web._tcp.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 3);
    rr = knot_pkt_rr(sec(t, KNOT_ANSWER), 0);
    for (uint16_t i = 0; i < sec(t, KNOT_ANSWER)->count; i++) {
        knot_rdata_t *rd = knot_pkt_rr(sec(t, KNOT_ANSWER), i)->rrs.rdata;
        uint16_t port = (uint16_t)(rd->data[4] << 8 | rd->data[5]);
        if (port == 8080) {
            char *target = knot_dname_to_str_alloc(rd->data + 6);
            assert_string_equal(target, "alpha.node.troupe.");
            free(target);
            assert_int_equal(rd->data[3], 1); /* weight */
            seen_8080 = 1;
        }
    }
    (void)rr;
    assert_true(seen_8080);
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.1"));
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.2"));
    assert_true(has_addr(t, KNOT_ADDITIONAL, "fd00::3"));
    teardown(t);
}

static void test_srv_target_of_own_address_resolves(void **state)
{
    struct t *t = setup();
    knot_rdata_t *rd;
    char *target;

    ask(t, "_api._tcp.service.troupe", KNOT_RRTYPE_SRV, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 1);
    rd = knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->rrs.rdata;
    target = knot_dname_to_str_alloc(rd->data + 6);
    assert_string_equal(target, "c0a80105.addr.troupe.");
    assert_true(has_addr(t, KNOT_ADDITIONAL, "192.168.1.5"));
    ask(t, target, KNOT_RRTYPE_A, 0, 0);
    assert_true(has_addr(t, KNOT_ANSWER, "192.168.1.5"));
    free(target);
    teardown(t);
}

static void test_srv_with_tag(void **state)
{
    struct t *t = setup();

    ask(t, "_web._v1.service.troupe", KNOT_RRTYPE_SRV, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 1);
    teardown(t);
}

static void test_node_lookup_and_case(void **state)
{
    struct t *t = setup();
    char name[64];

    ask(t, "ALPHA.Node.TROUPE", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    /* the question comes back with the case it was asked in */
    knot_dname_to_str(name, knot_pkt_wire_qname(t->resp), sizeof(name));
    assert_string_equal(name, "ALPHA.Node.TROUPE.");
    ask(t, "gamma6.node.troupe", KNOT_RRTYPE_AAAA, 0, 0);
    assert_true(has_addr(t, KNOT_ANSWER, "fd00::3"));
    ask(t, "WEB.SERVICE.TROUPE", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    teardown(t);
}

static void test_unknown_name_is_nxdomain_with_soa(void **state)
{
    struct t *t = setup();
    const knot_rrset_t *soa;

    ask(t, "nope.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 0);
    assert_int_equal(count(t, KNOT_AUTHORITY, KNOT_RRTYPE_SOA), 1);
    soa = knot_pkt_rr(sec(t, KNOT_AUTHORITY), 0);
    assert_int_equal(soa->ttl, 5);
    assert_int_equal(knot_soa_minimum(soa->rrs.rdata), 5);
    ask(t, "nobody.node.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    ask(t, "x.y.z.w.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    ask(t, "other.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    teardown(t);
}

static void test_known_name_other_type_is_nodata(void **state)
{
    struct t *t = setup();

    ask(t, "web.service.troupe", KNOT_RRTYPE_TXT, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    assert_int_equal(count(t, KNOT_AUTHORITY, KNOT_RRTYPE_SOA), 1);
    ask(t, "api.service.troupe", KNOT_RRTYPE_AAAA, 0, 0); /* IPv4 only */
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    ask(t, "service.troupe", KNOT_RRTYPE_A, 0, 0); /* empty non-terminal */
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    teardown(t);
}

static void test_all_critical_is_nodata_not_nxdomain(void **state)
{
    struct t *t = setup();

    add_inst(&t->f, "down", "", "alpha", NULL, 1, 2);
    ask(t, "down.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    teardown(t);
}

static void test_apex_soa_and_ns(void **state)
{
    struct t *t = setup();
    knot_rdata_t *rd;
    char *ns;

    ask(t, "troupe", KNOT_RRTYPE_SOA, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SOA), 1);
    ask(t, "troupe", KNOT_RRTYPE_NS, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_NS), 1);
    rd = knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->rrs.rdata;
    ns = knot_dname_to_str_alloc(rd->data);
    assert_string_equal(ns, "alpha.node.troupe.");
    free(ns);
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.1"));
    teardown(t);
}

static void add_many(struct t *t, int n)
{
    for (int i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 200, i % 200 + 1);
        add_inst(&t->f, "big", "", "alpha", ip, (uint16_t)(10000 + i), 0);
    }
}

static void test_big_answer_truncated_over_udp_whole_over_tcp(void **state)
{
    struct t *t = setup();

    add_many(t, 60);
    ask(t, "big.service.troupe", KNOT_RRTYPE_A, 0, 0); /* 512 bytes without EDNS */
    assert_true(knot_wire_get_tc(t->out));
    assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    assert_true(t->len <= 512);
    ask(t, "big.service.troupe", KNOT_RRTYPE_A, 1232, 0); /* fits in 1232 */
    assert_false(knot_wire_get_tc(t->out));
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 60);
    ask(t, "_big._tcp.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_true(knot_wire_get_tc(t->out));
    assert_true(t->len <= 1232);
    ask(t, "_big._tcp.service.troupe", KNOT_RRTYPE_SRV, 1232, 1);
    assert_false(knot_wire_get_tc(t->out));
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 60);
    assert_int_equal(count(t, KNOT_ADDITIONAL, KNOT_RRTYPE_A), 60);
    ask(t, "big.service.troupe", KNOT_RRTYPE_A, 0, 1);
    assert_false(knot_wire_get_tc(t->out));
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 60);
    assert_int_equal(dns_stats(t->d)->truncated, 2);
    teardown(t);
}

static void test_udp_srv_drops_additionals_that_do_not_fit(void **state)
{
    struct t *t = setup();

    add_many(t, 24); /* 24 SRV fit in 1232 with short targets, not with their A */
    ask(t, "_big._tcp.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_false(knot_wire_get_tc(t->out));
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 24);
    assert_true(t->len <= 1232);
    teardown(t);
}

/* The A records' order over many answers: every address comes first at
 * some point, and the set never changes. */
static void test_answers_are_shuffled(void **state)
{
    struct t *t = setup();
    int first[60] = {0};

    add_many(t, 60);
    for (int k = 0; k < 600; k++) {
        const knot_rrset_t *rr;
        ask(t, "big.service.troupe", KNOT_RRTYPE_A, 1232, 0);
        assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 60);
        rr = knot_pkt_rr(sec(t, KNOT_ANSWER), 0);
        first[(rr->rrs.rdata->data[2] * 200 + rr->rrs.rdata->data[3] - 1) % 60]++;
    }
    for (int i = 0; i < 60; i++)
        assert_true(first[i] > 0);
    /* SRV answers are shuffled too and stay valid */
    for (int k = 0; k < 20; k++) {
        ask(t, "_big._tcp.service.troupe", KNOT_RRTYPE_SRV, 0, 1);
        assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 60);
    }
    teardown(t);
}

static void test_cache_follows_the_index(void **state)
{
    struct t *t = setup();
    int calls;

    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    calls = t->f.calls;
    ask(t, "Web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(t->f.calls, calls); /* served from the cache */
    assert_true(dns_stats(t->d)->cache_hits >= 1);
    t->f.inst[0].in.status = 2; /* alpha's instance turns critical */
    t->v.index = 2;
    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 1);
    assert_false(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    teardown(t);
}

static void test_edns_advertises_1232(void **state)
{
    struct t *t = setup();

    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 4096, 0);
    assert_non_null(t->resp->opt_rr);
    assert_int_equal(knot_edns_get_payload(t->resp->opt_rr), DNS_UDP_PAYLOAD);
    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_null(t->resp->opt_rr);
    teardown(t);
}

static void test_edns_version_1_is_badvers(void **state)
{
    struct t *t = setup();
    uint8_t req[512];
    size_t len = make_query(req, "web.service.troupe", KNOT_RRTYPE_A, 1232, 7);

    req[len - 5] = 1; /* the OPT RR ends: ext rcode, version, flags(2), rdlen(2) */
    assert_int_equal(ask_raw(t, req, len, 0), DNS_REPLY);
    assert_non_null(t->resp->opt_rr);
    assert_int_equal(knot_pkt_ext_rcode(t->resp), KNOT_RCODE_BADVERS);
    teardown(t);
}

static void test_outside_names_forward_or_refuse(void **state)
{
    struct t *t = setup();

    assert_int_equal(ask(t, "example.com", KNOT_RRTYPE_A, 0, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_REFUSED);
    assert_false(knot_wire_get_ra(t->out));
    dns_set_upstreams(t->d, 1);
    assert_int_equal(ask(t, "example.com", KNOT_RRTYPE_A, 0, 0), DNS_FORWARD);
    assert_int_equal(dns_stats(t->d)->forwarded, 1);
    teardown(t);
}

static void test_error_reply_for_failed_forward(void **state)
{
    struct t *t = setup();
    uint8_t req[512];
    size_t len = make_query(req, "example.com", KNOT_RRTYPE_A, 1232, 99);

    t->len = dns_error_reply(t->d, req, len, 0, KNOT_RCODE_SERVFAIL, t->out, sizeof(t->out));
    assert_true(t->len > 12);
    assert_int_equal(knot_wire_get_id(t->out), 99);
    assert_int_equal(rcode(t), KNOT_RCODE_SERVFAIL);
    assert_int_equal(knot_wire_get_qdcount(t->out), 1);
    teardown(t);
}

static void test_malformed_requests(void **state)
{
    struct t *t = setup();
    uint8_t req[512];
    size_t len;

    /* too short: silence */
    assert_int_equal(ask_raw(t, (const uint8_t *)"\x12\x34\x01", 3, 0), DNS_DROP);
    /* a response: silence, answering could loop */
    len = make_query(req, "web.service.troupe", KNOT_RRTYPE_A, 0, 1);
    knot_wire_set_qr(req);
    assert_int_equal(ask_raw(t, req, len, 0), DNS_DROP);
    /* truncated question: FORMERR */
    len = make_query(req, "web.service.troupe", KNOT_RRTYPE_A, 0, 1);
    assert_int_equal(ask_raw(t, req, len - 3, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_FORMERR);
    assert_int_equal(knot_wire_get_id(t->out), 1);
    /* two questions: FORMERR */
    len = make_query(req, "web.service.troupe", KNOT_RRTYPE_A, 0, 1);
    knot_wire_set_qdcount(req, 2);
    assert_int_equal(ask_raw(t, req, len, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_FORMERR);
    /* not a QUERY: NOTIMP */
    len = make_query(req, "web.service.troupe", KNOT_RRTYPE_A, 0, 1);
    knot_wire_set_opcode(req, KNOT_OPCODE_UPDATE);
    assert_int_equal(ask_raw(t, req, len, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_NOTIMPL);
    /* zone transfer: NOTIMP */
    ask(t, "troupe", KNOT_RRTYPE_AXFR, 0, 1);
    assert_int_equal(rcode(t), KNOT_RCODE_NOTIMPL);
    assert_int_equal(dns_stats(t->d)->by_rcode[4], 2);
    assert_int_equal(dns_stats(t->d)->by_rcode[1], 2);
    teardown(t);
}

static void test_random_bytes_never_crash(void **state)
{
    struct t *t = setup();
    uint8_t buf[600];
    uint64_t x = 88172645463325252ULL;

    for (int k = 0; k < 20000; k++) {
        size_t len = (size_t)(x % sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        if (len > 2)
            buf[2] &= 0x07; /* mostly requests with opcode QUERY */
        dns_handle(t->d, &t->v, buf, len, (int)(x & 1), t->out, sizeof(t->out), &t->len);
        assert_true(t->len <= DNS_MSG_MAX);
    }
    teardown(t);
}

static void test_counters_by_type_and_rcode(void **state)
{
    struct t *t = setup();
    const struct dns_stats *st = dns_stats(t->d);

    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    ask(t, "web.service.troupe", KNOT_RRTYPE_AAAA, 0, 0);
    ask(t, "_web._tcp.service.troupe", KNOT_RRTYPE_SRV, 0, 0);
    ask(t, "nope.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(st->requests, 4);
    assert_int_equal(st->by_qtype[0], 2);
    assert_string_equal(dns_qtype_slot_name(0), "A");
    assert_int_equal(st->by_qtype[1], 1);
    assert_int_equal(st->by_qtype[2], 1);
    assert_int_equal(st->by_rcode[0], 3);
    assert_int_equal(st->by_rcode[3], 1);
    assert_string_equal(dns_rcode_slot_name(3), "NXDOMAIN");
    teardown(t);
}

static void test_bad_domain_is_refused(void **state)
{
    struct dns_config c;
    struct err e;

    dns_config_default(&c);
    snprintf(c.domain, sizeof(c.domain), "a..b");
    assert_null(dns_new(&c, 1, &e));
    assert_non_null(strstr(e.msg, "a..b"));
    static const char *const bad[] = {"a b", "-x", "x-.troupe", ".", "a.-b", "tr\\oupe", "a/b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(c.domain, sizeof(c.domain), "%s", bad[i]);
        assert_null(dns_new(&c, 1, &e));
        assert_non_null(strstr(e.msg, "labels of letters"));
    }
    snprintf(c.domain, sizeof(c.domain), "service_zone.example-1.");
    struct dns *ok = dns_new(&c, 1, &e);
    assert_non_null(ok);
    dns_free(ok);
    snprintf(c.domain, sizeof(c.domain), "Consul");
    struct dns *d = dns_new(&c, 1, &e);
    assert_non_null(d);
    assert_string_equal(dns_config(d)->domain, "consul.");
    dns_free(d);
}

/* ---- Consul's names (the alt zone) ---- */

static struct t *setup_consul(void)
{
    struct dns_config c;

    dns_config_default(&c);
    snprintf(c.self, sizeof(c.self), "alpha");
    snprintf(c.alt_domain, sizeof(c.alt_domain), "consul");
    return setup_with(&c);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The answer section as text, one record per line in a fixed order (type,
 * TTL, rdata in hex; an SRV target cut to its first label, since the zones
 * differ), and the rcode: what must be the same for two names. */
static void answers(struct t *t, char *out, size_t cap)
{
    const knot_pktsection_t *ps = sec(t, KNOT_ANSWER);
    char *lines[256];
    size_t n = 0, len;

    len = (size_t)snprintf(out, cap, "rcode %d\n", rcode(t));
    for (uint16_t i = 0; i < ps->count; i++) {
        const knot_rrset_t *rr = knot_pkt_rr(ps, i);
        knot_rdata_t *rd = rr->rrs.rdata;
        for (uint16_t j = 0; j < rr->rrs.count && n < 256; j++, rd = knot_rdataset_next(rd)) {
            char *l = xcalloc(1, 256);
            size_t k = (size_t)snprintf(l, 256, "%u %u ", rr->type, rr->ttl);
            size_t m = rd->len;
            if (rr->type == KNOT_RRTYPE_SRV)
                m = 6 + 1 + rd->data[6]; /* priority, weight, port, first label */
            for (size_t b = 0; b < m && k + 3 < 256; b++)
                k += (size_t)snprintf(l + k, 256 - k, "%02x", rd->data[b]);
            lines[n++] = l;
        }
    }
    qsort(lines, n, sizeof(lines[0]), str_cmp);
    for (size_t i = 0; i < n; i++) {
        if (len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s\n", lines[i]);
        free(lines[i]);
    }
}

static void assert_same_answers(struct t *t, const char *ours, const char *consul, uint16_t type)
{
    char a[8192], b[8192];

    ask(t, ours, type, 1232, 0);
    answers(t, a, sizeof(a));
    ask(t, consul, type, 1232, 0);
    answers(t, b, sizeof(b));
    if (strcmp(a, b) != 0)
        fail_msg("%s and %s (type %u) differ:\n%s---\n%s", ours, consul, type, a, b);
}

static void test_consul_names_answer_as_ours(void **state)
{
    struct t *t = setup_consul();
    static const struct {
        const char *ours, *consul;
        uint16_t type;
    } pairs[] = {
        {"web.service.troupe", "web.service.consul", KNOT_RRTYPE_A},
        {"web.service.troupe", "web.service.dc1.consul", KNOT_RRTYPE_A},
        {"web.service.troupe", "web.service.consul", KNOT_RRTYPE_AAAA},
        {"web.service.troupe", "WEB.Service.DC1.Consul", KNOT_RRTYPE_AAAA},
        {"v2.web.service.troupe", "v2.web.service.consul", KNOT_RRTYPE_A},
        {"v2.web.service.troupe", "v2.web.service.dc1.consul", KNOT_RRTYPE_A},
        {"v1.web.service.troupe", "v1.web.service.consul", KNOT_RRTYPE_A},
        {"api.service.troupe", "api.service.consul", KNOT_RRTYPE_A},
        {"_web._tcp.service.troupe", "_web._tcp.service.consul", KNOT_RRTYPE_SRV},
        {"_web._tcp.service.troupe", "_web._tcp.service.dc1.consul", KNOT_RRTYPE_SRV},
        {"_web._v1.service.troupe", "_web._v1.service.consul", KNOT_RRTYPE_SRV},
        {"_api._tcp.service.troupe", "_api._tcp.service.consul", KNOT_RRTYPE_SRV},
        {"web.service.troupe", "web.service.consul", KNOT_RRTYPE_SRV},
        {"v2.web.service.troupe", "v2.web.service.dc1.consul", KNOT_RRTYPE_SRV},
        {"alpha.node.troupe", "alpha.node.consul", KNOT_RRTYPE_A},
        {"alpha.node.troupe", "alpha.node.dc1.consul", KNOT_RRTYPE_A},
        {"gamma6.node.troupe", "gamma6.node.dc1.consul", KNOT_RRTYPE_AAAA},
        {"c0a80105.addr.troupe", "c0a80105.addr.dc1.consul", KNOT_RRTYPE_A},
        /* what does not exist does not exist in both */
        {"nope.service.troupe", "nope.service.consul", KNOT_RRTYPE_A},
        {"nosuchtag.web.service.troupe", "nosuchtag.web.service.dc1.consul", KNOT_RRTYPE_A},
        {"nobody.node.troupe", "nobody.node.dc1.consul", KNOT_RRTYPE_A},
        {"web.service.troupe", "web.service.consul", KNOT_RRTYPE_TXT},
    };

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        assert_same_answers(t, pairs[i].ours, pairs[i].consul, pairs[i].type);
    /* and the records are there: not two empty answers */
    ask(t, "web.service.dc1.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    assert_int_equal(knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->ttl, 5);
    assert_true(knot_wire_get_aa(t->out));
    ask(t, "v2.web.service.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 1);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.2"));
    ask(t, "alpha.node.dc1.consul", KNOT_RRTYPE_A, 0, 0);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    assert_int_equal(knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->ttl, 30);
    teardown(t);
}

static void test_consul_health_filtering_follows_only_passing(void **state)
{
    struct dns_config c;
    struct t *t;

    dns_config_default(&c);
    c.only_passing = 1;
    snprintf(c.alt_domain, sizeof(c.alt_domain), "consul.");
    t = setup_with(&c);
    ask(t, "web.service.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 1);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    add_inst(&t->f, "down", "", "alpha", NULL, 1, 2);
    t->v.index++;
    ask(t, "down.service.dc1.consul", KNOT_RRTYPE_A, 0, 0); /* all critical: NODATA */
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    teardown(t);
}

static void test_consul_srv_targets_are_in_the_consul_zone(void **state)
{
    struct t *t = setup_consul();
    const knot_pktsection_t *ps;
    int node_target = 0, addr_target = 0;

    ask(t, "_web._tcp.service.consul", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 3);
    ask(t, "_api._tcp.service.consul", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 1);
    ask(t, "web.service.consul", KNOT_RRTYPE_SRV, 1232, 0);
    ps = sec(t, KNOT_ANSWER);
    for (uint16_t i = 0; i < ps->count; i++) {
        knot_rdata_t *rd = knot_pkt_rr(ps, i)->rrs.rdata;
        char *target = knot_dname_to_str_alloc(rd->data + 6);
        if (strcmp(target, "alpha.node.dc1.consul.") == 0)
            node_target = 1;
        free(target);
    }
    assert_true(node_target);
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.1"));
    ask(t, "api.service.consul", KNOT_RRTYPE_SRV, 1232, 0);
    {
        knot_rdata_t *rd = knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->rrs.rdata;
        char *target = knot_dname_to_str_alloc(rd->data + 6);
        addr_target = strcmp(target, "c0a80105.addr.dc1.consul.") == 0;
        free(target);
    }
    assert_true(addr_target);
    /* the targets resolve */
    ask(t, "alpha.node.dc1.consul", KNOT_RRTYPE_A, 0, 0);
    assert_true(has_addr(t, KNOT_ANSWER, "10.0.0.1"));
    ask(t, "c0a80105.addr.dc1.consul", KNOT_RRTYPE_A, 0, 0);
    assert_true(has_addr(t, KNOT_ANSWER, "192.168.1.5"));
    /* troupe's own zone keeps its own targets */
    ask(t, "_api._tcp.service.troupe", KNOT_RRTYPE_SRV, 0, 0);
    {
        knot_rdata_t *rd = knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->rrs.rdata;
        char *target = knot_dname_to_str_alloc(rd->data + 6);
        assert_string_equal(target, "c0a80105.addr.troupe.");
        free(target);
    }
    teardown(t);
}

static void test_consul_other_datacenter_is_nxdomain(void **state)
{
    struct t *t = setup_consul();
    const knot_rrset_t *soa;
    char *owner;
    static const char *const gone[] = {
        "web.service.dc2.consul",
        "v2.web.service.dc2.consul",
        "_web._tcp.service.dc2.consul",
        "alpha.node.dc2.consul",
        "dc2.consul",
        "x.dc1.consul",
        "web.dc1.service.consul",
        "web.service.dc1.dc1.consul",
        "web.query.consul",
        "web.service.dc1.x.consul",
        "other.consul",
    };

    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        ask(t, gone[i], KNOT_RRTYPE_A, 0, 0);
        if (rcode(t) != KNOT_RCODE_NXDOMAIN)
            fail_msg("%s: rcode %d, not NXDOMAIN", gone[i], rcode(t));
        assert_int_equal(sec(t, KNOT_ANSWER)->count, 0);
    }
    /* the SOA of the negative answer is the consul zone's */
    ask(t, "web.service.dc2.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_AUTHORITY, KNOT_RRTYPE_SOA), 1);
    soa = knot_pkt_rr(sec(t, KNOT_AUTHORITY), 0);
    owner = knot_dname_to_str_alloc(soa->owner);
    assert_string_equal(owner, "consul.");
    free(owner);
    /* our datacenter and its kinds exist, empty (not NXDOMAIN: a resolver
     * would then take every name below them for absent) */
    static const char *const empty[] = {"dc1.consul", "service.dc1.consul", "node.dc1.consul",
                                        "service.consul", "_web._tcp.service.dc1.consul"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        ask(t, empty[i], KNOT_RRTYPE_TXT, 0, 0);
        if (rcode(t) != KNOT_RCODE_NOERROR)
            fail_msg("%s TXT: rcode %d, not NOERROR", empty[i], rcode(t));
    }
    teardown(t);
}

static void test_consul_apex_and_datacenter_names(void **state)
{
    struct dns_config c;
    struct t *t;
    knot_rdata_t *rd;
    char *ns;

    dns_config_default(&c);
    snprintf(c.self, sizeof(c.self), "alpha");
    snprintf(c.alt_domain, sizeof(c.alt_domain), "consul.");
    snprintf(c.datacenter, sizeof(c.datacenter), "EU-West_2");
    t = setup_with(&c);
    ask(t, "consul", KNOT_RRTYPE_SOA, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SOA), 1);
    ask(t, "consul", KNOT_RRTYPE_NS, 0, 0);
    rd = knot_pkt_rr(sec(t, KNOT_ANSWER), 0)->rrs.rdata;
    ns = knot_dname_to_str_alloc(rd->data);
    assert_string_equal(ns, "alpha.node.eu-west_2.consul.");
    free(ns);
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.1"));
    ask(t, "web.service.eu-west_2.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    ask(t, "web.service.EU-WEST_2.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    ask(t, "web.service.dc1.consul", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    teardown(t);
}

static void test_consul_zone_off_or_nested(void **state)
{
    struct dns_config c;
    struct t *t;

    /* without an alt domain, consul. is a name like any other outside */
    t = setup();
    assert_int_equal(ask(t, "web.service.consul", KNOT_RRTYPE_A, 0, 0), DNS_REPLY);
    assert_int_equal(rcode(t), KNOT_RCODE_REFUSED);
    dns_set_upstreams(t->d, 1);
    assert_int_equal(ask(t, "web.service.consul", KNOT_RRTYPE_A, 0, 0), DNS_FORWARD);
    teardown(t);
    /* one zone inside the other: the deeper one answers */
    dns_config_default(&c);
    snprintf(c.alt_domain, sizeof(c.alt_domain), "consul.troupe");
    t = setup_with(&c);
    ask(t, "web.service.dc1.consul.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    ask(t, "web.service.troupe", KNOT_RRTYPE_A, 0, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_A), 2);
    teardown(t);
}

static void test_consul_bad_config_is_refused(void **state)
{
    struct dns_config c;
    struct err e;
    static const char *const bad_dc[] = {"", "dc.1", "-dc", "dc 1", "service", "Node", "addr"};

    dns_config_default(&c);
    snprintf(c.alt_domain, sizeof(c.alt_domain), "TROUPE.");
    assert_null(dns_new(&c, 1, &e));
    assert_non_null(strstr(e.msg, "is the domain"));
    snprintf(c.alt_domain, sizeof(c.alt_domain), "con..sul");
    assert_null(dns_new(&c, 1, &e));
    assert_non_null(strstr(e.msg, "labels of letters"));
    snprintf(c.alt_domain, sizeof(c.alt_domain), "consul");
    for (size_t i = 0; i < sizeof(bad_dc) / sizeof(bad_dc[0]); i++) {
        snprintf(c.datacenter, sizeof(c.datacenter), "%s", bad_dc[i]);
        assert_null(dns_new(&c, 1, &e));
        assert_non_null(strstr(e.msg, "datacenter"));
    }
    /* the datacenter matters only with the alt zone */
    c.alt_domain[0] = '\0';
    struct dns *d = dns_new(&c, 1, &e);
    assert_non_null(d);
    dns_free(d);
}

static void test_service_name_answers_srv_when_asked(void **state)
{
    struct t *t = setup();

    ask(t, "web.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NOERROR);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 3);
    assert_true(has_addr(t, KNOT_ADDITIONAL, "10.0.0.1"));
    ask(t, "v1.web.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(count(t, KNOT_ANSWER, KNOT_RRTYPE_SRV), 1);
    ask(t, "nope.service.troupe", KNOT_RRTYPE_SRV, 1232, 0);
    assert_int_equal(rcode(t), KNOT_RCODE_NXDOMAIN);
    teardown(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_a_serves_passing_and_warning),
        cmocka_unit_test(test_only_passing_leaves_out_warning),
        cmocka_unit_test(test_service_aaaa),
        cmocka_unit_test(test_tag_filters_instances),
        cmocka_unit_test(test_srv_has_ports_weights_and_additionals),
        cmocka_unit_test(test_srv_target_of_own_address_resolves),
        cmocka_unit_test(test_srv_with_tag),
        cmocka_unit_test(test_node_lookup_and_case),
        cmocka_unit_test(test_unknown_name_is_nxdomain_with_soa),
        cmocka_unit_test(test_known_name_other_type_is_nodata),
        cmocka_unit_test(test_all_critical_is_nodata_not_nxdomain),
        cmocka_unit_test(test_apex_soa_and_ns),
        cmocka_unit_test(test_big_answer_truncated_over_udp_whole_over_tcp),
        cmocka_unit_test(test_udp_srv_drops_additionals_that_do_not_fit),
        cmocka_unit_test(test_answers_are_shuffled),
        cmocka_unit_test(test_cache_follows_the_index),
        cmocka_unit_test(test_edns_advertises_1232),
        cmocka_unit_test(test_edns_version_1_is_badvers),
        cmocka_unit_test(test_outside_names_forward_or_refuse),
        cmocka_unit_test(test_error_reply_for_failed_forward),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_random_bytes_never_crash),
        cmocka_unit_test(test_counters_by_type_and_rcode),
        cmocka_unit_test(test_bad_domain_is_refused),
        cmocka_unit_test(test_service_name_answers_srv_when_asked),
        cmocka_unit_test(test_consul_names_answer_as_ours),
        cmocka_unit_test(test_consul_health_filtering_follows_only_passing),
        cmocka_unit_test(test_consul_srv_targets_are_in_the_consul_zone),
        cmocka_unit_test(test_consul_other_datacenter_is_nxdomain),
        cmocka_unit_test(test_consul_apex_and_datacenter_names),
        cmocka_unit_test(test_consul_zone_off_or_nested),
        cmocka_unit_test(test_consul_bad_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
