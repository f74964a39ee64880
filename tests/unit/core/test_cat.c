/* Tests of core/cat: validation, value encodings (round trip, refusal of
 * malformed bytes), and the queries: instances with their health, dead
 * nodes not served, the services list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/cat.h"

static void instance(struct cat_instance *in, const char *id, const char *service)
{
    memset(in, 0, sizeof(*in));
    snprintf(in->id, sizeof(in->id), "%s", id);
    snprintf(in->service, sizeof(in->service), "%s", service);
    snprintf(in->address, sizeof(in->address), "10.0.0.1");
    in->port = 8080;
    in->weight = 1;
}

static void put_instance(struct crdt *c, const struct cat_instance *in)
{
    uint8_t buf[4096];
    int n = cat_instance_encode(in, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_true(crdt_put(c, CRDT_INSTANCE, in->id, buf, (uint32_t)n, 1, NULL, NULL) >= 0);
}

static void put_check(struct crdt *c, const char *id, const char *inst, uint8_t status)
{
    struct cat_check ck = {0};
    uint8_t buf[8192];
    snprintf(ck.id, sizeof(ck.id), "%s", id);
    snprintf(ck.instance, sizeof(ck.instance), "%s", inst);
    snprintf(ck.type, sizeof(ck.type), "http");
    ck.status = status;
    int n = cat_check_encode(&ck, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_true(crdt_put(c, CRDT_CHECK, id, buf, (uint32_t)n, 1, NULL, NULL) >= 0);
}

/* Copies every record of src into dst (one node's view of others). */
static int merge_cb(void *ud, const struct crdt_rec *r)
{
    return crdt_merge(ud, r, NULL, NULL) < 0;
}

static void sync_from(struct crdt *dst, const struct crdt *src)
{
    struct crdt_digest none = {0};
    crdt_delta(src, &none, merge_cb, dst);
}

static int dead_node; /* index into "n0".."n9" that is dead, or -1 */

static int serving_fn(void *ud, const char *node)
{
    char name[8];
    snprintf(name, sizeof(name), "n%d", dead_node);
    return strcmp(node, name) != 0;
}

static void test_instance_round_trips_with_tags_and_meta(void **state)
{
    struct cat_instance in, out;
    uint8_t buf[4096];
    int n;

    instance(&in, "web-1", "Web");
    in.n_tags = 2;
    strcpy(in.tags[0], "v2");
    strcpy(in.tags[1], "canary");
    tags_set(&in.meta, "zone", "eu-1", NULL);
    strcpy(in.version, "2.1.0");
    in.weight = 10;
    assert_int_equal(cat_instance_check(&in, NULL), 0);
    assert_string_equal(in.service, "web");
    n = cat_instance_encode(&in, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_int_equal(cat_instance_decode(&out, buf, (size_t)n, NULL), 0);
    assert_string_equal(out.id, "web-1");
    assert_string_equal(out.service, "web");
    assert_string_equal(out.address, "10.0.0.1");
    assert_int_equal(out.port, 8080);
    assert_int_equal(out.n_tags, 2);
    assert_string_equal(out.tags[1], "canary");
    assert_int_equal(out.meta.n, 1);
    assert_string_equal(out.meta.t[0].val, "eu-1");
    assert_string_equal(out.version, "2.1.0");
    assert_int_equal(out.weight, 10);
}

/* Tags are any printable ASCII of 1..CAT_TAG_MAX bytes, as Consul's tools
 * write them; a full instance still encodes with its u8 lengths. */
static void test_tags_are_printable_text_within_bounds(void **state)
{
    struct cat_instance in, out;
    static uint8_t buf[16384];
    struct err e;
    int n;

    instance(&in, "web-1", "web");
    in.n_tags = 3;
    strcpy(in.tags[0], "traefik.http.routers.web.rule=Host(`a.example`) && PathPrefix(`/b`)");
    strcpy(in.tags[1], "urlprefix-/");
    strcpy(in.tags[2], "a_b");
    assert_int_equal(cat_instance_check(&in, NULL), 0);
    assert_false(cat_tag_is_label(in.tags[0]));
    assert_false(cat_tag_is_label(in.tags[2]));
    assert_true(cat_tag_is_label("canary"));
    in.n_tags = CAT_TAGS_MAX;
    for (int i = 0; i < CAT_TAGS_MAX; i++) {
        memset(in.tags[i], 'a' + i % 26, CAT_TAG_MAX);
        in.tags[i][CAT_TAG_MAX] = '\0';
        in.tags[i][0] = (char)('A' + i); /* distinct */
    }
    assert_int_equal(cat_instance_check(&in, NULL), 0);
    n = cat_instance_encode(&in, buf, sizeof(buf), NULL);
    assert_true(n > 0);
    assert_int_equal(cat_instance_decode(&out, buf, (size_t)n, NULL), 0);
    assert_int_equal(out.n_tags, CAT_TAGS_MAX);
    assert_memory_equal(out.tags, in.tags, sizeof(in.tags));

    instance(&in, "web-1", "web");
    in.n_tags = 1;
    strcpy(in.tags[0], "");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    strcpy(in.tags[0], "a\tb");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "printable"));
    strcpy(in.tags[0], "caf\xc3\xa9");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    memset(in.tags[0], 'a', CAT_TAG_MAX + 1); /* no NUL within the bound */
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
}

static void test_invalid_instance_is_refused_naming_the_field(void **state)
{
    struct cat_instance in;
    struct err e;

    instance(&in, "web 1", "web");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "instance id"));
    instance(&in, "web-1", "we_b");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "service"));
    instance(&in, "web-1", "web");
    strcpy(in.address, "10.0.0.300");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "address"));
    instance(&in, "web-1", "web");
    in.weight = 70000;
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "weight"));
    instance(&in, "web-1", "web");
    in.n_tags = 2;
    strcpy(in.tags[0], "a");
    strcpy(in.tags[1], "a");
    assert_int_equal(cat_instance_check(&in, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "twice"));
    instance(&in, "web-1", "web");
    assert_int_equal(cat_instance_check(&in, &e), 0);
    assert_int_equal(in.weight, 1);
}

static void test_every_truncation_of_a_value_is_refused(void **state)
{
    struct cat_instance in, out;
    struct cat_check ck = {0}, ckout;
    struct cat_event ev = {0}, evout;
    uint8_t buf[8192];
    struct err e;
    int n;

    instance(&in, "web-1", "web");
    in.n_tags = 1;
    strcpy(in.tags[0], "x");
    n = cat_instance_encode(&in, buf, sizeof(buf), NULL);
    for (int i = 0; i < n; i++)
        assert_true(cat_instance_decode(&out, buf, (size_t)i, &e) < 0);
    buf[n] = 0;
    assert_int_equal(cat_instance_decode(&out, buf, (size_t)n + 1, &e), -EBADMSG);

    strcpy(ck.id, "c1");
    strcpy(ck.type, "tcp");
    ck.output_len = 3;
    strcpy(ck.output, "bad");
    n = cat_check_encode(&ck, buf, sizeof(buf), NULL);
    assert_int_equal(cat_check_decode(&ckout, buf, (size_t)n, NULL), 0);
    assert_string_equal(ckout.output, "bad");
    for (int i = 0; i < n; i++)
        assert_true(cat_check_decode(&ckout, buf, (size_t)i, &e) < 0);

    strcpy(ev.name, "deploy");
    ev.seq = 7;
    ev.payload_len = 2;
    memcpy(ev.payload, "hi", 2);
    n = cat_event_encode(&ev, buf, sizeof(buf), NULL);
    assert_int_equal(cat_event_decode(&evout, buf, (size_t)n, NULL), 0);
    assert_int_equal(evout.seq, 7);
    assert_memory_equal(evout.payload, "hi", 2);
    for (int i = 0; i < n; i++)
        assert_true(cat_event_decode(&evout, buf, (size_t)i, &e) < 0);
}

static void test_decoded_value_is_validated_like_a_registration(void **state)
{
    struct cat_instance in, out;
    struct cat_check ck = {0};
    uint8_t buf[4096];
    struct err e;
    int n;

    instance(&in, "web-1", "web");
    strcpy(in.service, "-bad-");
    n = cat_instance_encode(&in, buf, sizeof(buf), NULL);
    assert_int_equal(cat_instance_decode(&out, buf, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "service"));
    strcpy(ck.id, "c1");
    strcpy(ck.type, "smtp");
    n = cat_check_encode(&ck, buf, sizeof(buf), NULL);
    assert_int_equal(cat_check_decode(&ck, buf, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "type"));
}

static void test_health_is_the_worst_check_and_filters(void **state)
{
    struct crdt *n0 = crdt_new("n0"), *n1 = crdt_new("n1"), *me = crdt_new("n9");
    struct cat_view v = {me, serving_fn, NULL};
    struct cat_instance in;
    struct cat_entry *es;
    size_t n;

    dead_node = -1;
    instance(&in, "web-1", "web");
    put_instance(n0, &in);
    put_check(n0, "c1", "web-1", CAT_PASSING);
    put_check(n0, "c2", "web-1", CAT_WARNING);
    instance(&in, "web-2", "web");
    in.n_tags = 1;
    strcpy(in.tags[0], "canary");
    put_instance(n1, &in);
    put_check(n1, "c1", "web-2", CAT_PASSING);
    instance(&in, "db-1", "db");
    put_instance(n1, &in);
    put_check(n1, "node", "", CAT_CRITICAL); /* a node check judges all its instances */
    sync_from(me, n0);
    sync_from(me, n1);

    assert_int_equal(cat_service_entries(&v, "WEB", NULL, CAT_CRITICAL, 1, &es, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(es[0].inst.node, "n0");
    assert_int_equal(es[0].status, CAT_WARNING);
    assert_int_equal(es[0].n_checks, 2);
    assert_string_equal(es[1].inst.node, "n1");
    assert_int_equal(es[1].status, CAT_CRITICAL);
    cat_entries_free(es, n);

    assert_int_equal(cat_service_entries(&v, "web", NULL, CAT_PASSING, 1, &es, &n, NULL), 0);
    assert_int_equal(n, 0);
    cat_entries_free(es, n);
    assert_int_equal(cat_service_entries(&v, "web", "canary", CAT_CRITICAL, 1, &es, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(es[0].inst.id, "web-2");
    cat_entries_free(es, n);
    assert_int_equal(cat_service_entries(&v, "no such", NULL, CAT_CRITICAL, 1, &es, &n, NULL),
                     -EINVAL);
    crdt_free(n0), crdt_free(n1), crdt_free(me);
}

static void test_instances_of_a_dead_node_are_not_served_until_it_returns(void **state)
{
    struct crdt *n0 = crdt_new("n0"), *n1 = crdt_new("n1"), *me = crdt_new("n9");
    struct cat_view v = {me, serving_fn, NULL};
    struct cat_instance in;
    struct cat_entry *es;
    size_t n;

    instance(&in, "api-1", "api");
    put_instance(n0, &in);
    instance(&in, "api-2", "api");
    put_instance(n1, &in);
    sync_from(me, n0);
    sync_from(me, n1);

    dead_node = 0;
    assert_int_equal(cat_service_entries(&v, "api", NULL, CAT_PASSING, 1, &es, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(es[0].inst.node, "n1");
    cat_entries_free(es, n);
    /* still listed when asked for everything, marked as not served */
    assert_int_equal(cat_service_entries(&v, "api", NULL, CAT_CRITICAL, 0, &es, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_false(es[0].serving);
    cat_entries_free(es, n);
    dead_node = -1;
    assert_int_equal(cat_service_entries(&v, "api", NULL, CAT_PASSING, 1, &es, &n, NULL), 0);
    assert_int_equal(n, 2);
    cat_entries_free(es, n);
    /* reaped: its records go */
    crdt_drop_origin(me, "n0");
    assert_int_equal(cat_service_entries(&v, "api", NULL, CAT_CRITICAL, 0, &es, &n, NULL), 0);
    assert_int_equal(n, 1);
    cat_entries_free(es, n);
    crdt_free(n0), crdt_free(n1), crdt_free(me);
}

static void test_services_list_counts_and_tags(void **state)
{
    struct crdt *me = crdt_new("n9");
    struct cat_view v = {me, NULL, NULL};
    struct cat_instance in;
    struct cat_service *s;
    size_t n;

    instance(&in, "web-1", "web");
    in.n_tags = 1;
    strcpy(in.tags[0], "v2");
    put_instance(me, &in);
    put_check(me, "c1", "web-1", CAT_PASSING);
    instance(&in, "web-2", "web");
    in.n_tags = 1;
    strcpy(in.tags[0], "canary");
    put_instance(me, &in);
    instance(&in, "cache-1", "cache");
    put_instance(me, &in);
    put_check(me, "c2", "cache-1", CAT_CRITICAL);
    assert_int_equal(cat_services(&v, &s, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].name, "cache");
    assert_int_equal(s[0].critical, 1);
    assert_string_equal(s[1].name, "web");
    assert_int_equal(s[1].instances, 2);
    assert_int_equal(s[1].passing, 2);
    assert_int_equal(s[1].n_tags, 2);
    assert_string_equal(s[1].tags[0], "canary");
    assert_string_equal(s[1].tags[1], "v2");
    free(s);
    crdt_free(me);
}

static void test_status_names_and_event_keys(void **state)
{
    uint8_t st;
    char key[24];

    assert_string_equal(cat_status_name(CAT_WARNING), "warning");
    assert_int_equal(cat_status_parse("critical", &st), 0);
    assert_int_equal(st, CAT_CRITICAL);
    assert_int_equal(cat_status_parse("broken", &st), -EINVAL);
    cat_event_key(42, key);
    assert_string_equal(key, "00000000000000000042");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_round_trips_with_tags_and_meta),
        cmocka_unit_test(test_invalid_instance_is_refused_naming_the_field),
        cmocka_unit_test(test_tags_are_printable_text_within_bounds),
        cmocka_unit_test(test_every_truncation_of_a_value_is_refused),
        cmocka_unit_test(test_decoded_value_is_validated_like_a_registration),
        cmocka_unit_test(test_health_is_the_worst_check_and_filters),
        cmocka_unit_test(test_instances_of_a_dead_node_are_not_served_until_it_returns),
        cmocka_unit_test(test_services_list_counts_and_tags),
        cmocka_unit_test(test_status_names_and_event_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
