/* Tests of core/dns_cat: catalog records in a real CRDT store, read as DNS
 * instances, and answered by core/dns end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libknot/libknot.h>

#include "core/dns_cat.h"
#include "core/mem.h"

static void put_instance(struct crdt *c, const char *id, const char *service, const char *addr,
                         uint16_t port, uint32_t weight, const char *tag)
{
    struct cat_instance in;
    uint8_t buf[4096];
    int n;

    memset(&in, 0, sizeof(in));
    snprintf(in.id, sizeof(in.id), "%s", id);
    snprintf(in.service, sizeof(in.service), "%s", service);
    snprintf(in.address, sizeof(in.address), "%s", addr);
    in.port = port;
    in.weight = weight;
    if (tag) {
        snprintf(in.tags[0], sizeof(in.tags[0]), "%s", tag);
        in.n_tags = 1;
    }
    n = cat_instance_encode(&in, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_true(crdt_put(c, CRDT_INSTANCE, id, buf, (uint32_t)n, 1, NULL, NULL) >= 0);
}

static void put_check(struct crdt *c, const char *id, const char *inst, uint8_t status)
{
    struct cat_check ck;
    uint8_t buf[8192];
    int n;

    memset(&ck, 0, sizeof(ck));
    snprintf(ck.id, sizeof(ck.id), "%s", id);
    snprintf(ck.instance, sizeof(ck.instance), "%s", inst);
    snprintf(ck.type, sizeof(ck.type), "http");
    ck.status = status;
    n = cat_check_encode(&ck, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_true(crdt_put(c, CRDT_CHECK, id, buf, (uint32_t)n, 1, NULL, NULL) >= 0);
}

static int serving_all(void *ud, const char *node)
{
    (void)ud;
    (void)node;
    return 1;
}

/* A tag that is no DNS label (a router rule, a URL prefix, "a_b") is in
 * the catalog but no DNS name ever matches it. */
static void test_a_tag_that_is_no_label_is_never_matched(void **state)
{
    struct crdt *c = crdt_new("n1");
    struct cat_view v = {c, serving_all, NULL};
    struct dns_inst out[8];

    put_instance(c, "web-1", "web", "10.0.0.5", 8080, 1, "traefik.enable=true");
    put_instance(c, "web-2", "web", "10.0.0.6", 8080, 1, "a_b");
    put_instance(c, "web-3", "web", "10.0.0.7", 8080, 1, "Canary");
    assert_int_equal(dns_cat_instances(&v, "web", "traefik.enable=true", out, 8), 0);
    assert_int_equal(dns_cat_instances(&v, "web", "a_b", out, 8), 0);
    assert_int_equal(dns_cat_instances(&v, "web", "canary", out, 8), 1);
    assert_int_equal(dns_cat_instances(&v, "web", NULL, out, 8), 3);
    crdt_free(c);
}

static void test_instances_carry_address_port_weight_health(void **state)
{
    struct crdt *c = crdt_new("n1");
    struct cat_view v = {c, serving_all, NULL};
    struct dns_inst out[8];
    int n;

    put_instance(c, "web-1", "web", "10.0.0.5", 8080, 3, "canary");
    put_instance(c, "web-2", "web", "", 8081, 1, NULL);
    put_instance(c, "web-3", "web", "fd00::9", 8082, 65535, NULL);
    put_instance(c, "db-1", "db", "10.0.0.6", 5432, 1, NULL);
    put_check(c, "web-2:0", "web-2", CAT_CRITICAL);
    n = dns_cat_instances(&v, "web", NULL, out, 8);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].node, "n1");
    assert_int_equal(out[0].family, 4);
    assert_int_equal(out[0].ip[3], 5);
    assert_int_equal(out[0].port, 8080);
    assert_int_equal(out[0].weight, 3);
    assert_int_equal(out[0].status, CAT_PASSING);
    assert_int_equal(out[1].family, 0); /* the node's address */
    assert_int_equal(out[1].weight, 1);
    assert_int_equal(out[1].status, CAT_CRITICAL);
    assert_int_equal(out[2].family, 6);
    assert_int_equal(out[2].weight, 65535);
    assert_int_equal(dns_cat_instances(&v, "web", "canary", out, 8), 1);
    assert_int_equal(dns_cat_instances(&v, "web", "nope", out, 8), 0);
    assert_int_equal(dns_cat_instances(&v, "nothing", NULL, out, 8), 0);
    assert_int_equal(dns_cat_instances(&v, "web", NULL, out, 1), 3); /* counts past cap */
    crdt_free(c);
}

static int node_addr_of(void *ud, const char *node, struct node_addr *out)
{
    (void)ud;
    memset(out, 0, sizeof(*out));
    out->family = 4;
    out->ip[0] = 10;
    out->ip[3] = 1;
    return strcmp(node, "n1") == 0;
}

/* The catalog's view behind dns_handle: passing instances answer A. */
static struct cat_view *g_cat;
static int instances_fn(void *ud, const char *s, const char *t, struct dns_inst *o, size_t cap)
{
    (void)ud;
    return dns_cat_instances(g_cat, s, t, o, cap);
}

static void test_dns_answers_from_the_catalog(void **state)
{
    struct crdt *c = crdt_new("n1");
    struct cat_view cv = {c, serving_all, NULL};
    struct dns_view v = {instances_fn, node_addr_of, NULL, 1};
    struct dns_config cfg;
    struct dns *d;
    uint8_t q[512], *out = xmalloc(DNS_MSG_MAX);
    size_t len;
    knot_pkt_t *p = knot_pkt_new(NULL, 512, NULL), *r;
    knot_dname_t *name = knot_dname_from_str_alloc("web.service.troupe.");

    g_cat = &cv;
    dns_config_default(&cfg);
    d = dns_new(&cfg, 7, NULL);
    put_instance(c, "web-1", "web", "10.0.0.5", 8080, 1, NULL);
    put_instance(c, "web-2", "web", "", 8081, 1, NULL);
    put_instance(c, "web-3", "web", "10.0.0.7", 8082, 1, NULL);
    put_check(c, "web-3:0", "web-3", CAT_CRITICAL);
    knot_pkt_put_question(p, name, KNOT_CLASS_IN, KNOT_RRTYPE_A);
    memcpy(q, p->wire, p->size);
    assert_int_equal(dns_handle(d, &v, q, p->size, 0, out, DNS_MSG_MAX, &len), DNS_REPLY);
    r = knot_pkt_new(out, (uint16_t)len, NULL);
    assert_int_equal(knot_pkt_parse(r, 0), KNOT_EOK);
    assert_int_equal(knot_wire_get_ancount(out), 2); /* 10.0.0.5 and the node's 10.0.0.1 */
    knot_pkt_free(r);
    knot_pkt_free(p);
    free(name);
    free(out);
    dns_free(d);
    crdt_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instances_carry_address_port_weight_health),
        cmocka_unit_test(test_dns_answers_from_the_catalog),
        cmocka_unit_test(test_a_tag_that_is_no_label_is_never_matched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
