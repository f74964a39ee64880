/* Tests of agent/consul/consul_shape.c: Consul's JSON built from troupe's
 * values (names, types, what an empty value looks like), Go durations, and
 * a Consul registration body read into troupe's definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "agent/catalog/services.h"
#include "agent/consul/consul_shape.h"
#include "agent/consul/consul_write.h"

static struct cat_instance web(void)
{
    struct cat_instance in;

    memset(&in, 0, sizeof(in));
    snprintf(in.id, sizeof(in.id), "web-1");
    snprintf(in.service, sizeof(in.service), "web");
    in.port = 8080;
    in.n_tags = 1;
    snprintf(in.tags[0], sizeof(in.tags[0]), "v1");
    in.weight = 3;
    return in;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("%s: not a string", k);
    return json_string_value(v);
}

static void test_service_has_consuls_names_and_an_empty_address(void **state)
{
    struct cat_instance in = web();
    json_t *o = consul_service_json(&in, "dc1", 7);

    assert_string_equal(str(o, "ID"), "web-1");
    assert_string_equal(str(o, "Service"), "web");
    assert_string_equal(str(o, "Address"), ""); /* the node's address is meant */
    assert_int_equal(json_integer_value(json_object_get(o, "Port")), 8080);
    assert_true(json_is_array(json_object_get(o, "Tags")));
    assert_true(json_is_object(json_object_get(o, "Meta")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "Weights"), "Passing")),
                     3);
    assert_true(json_is_false(json_object_get(o, "EnableTagOverride")));
    assert_int_equal(json_integer_value(json_object_get(o, "ModifyIndex")), 7);
    json_decref(o);
}

static void test_catalog_row_prefixes_service_fields_and_names_node_meta(void **state)
{
    struct cat_instance in = web();
    struct tags meta = {0};
    struct consul_node n = {"h1", "10.0.0.1", "dc1", &meta};
    json_t *o = consul_catalog_service_json(&n, &in, 5);

    assert_string_equal(str(o, "Node"), "h1");
    assert_string_equal(str(o, "Address"), "10.0.0.1");
    assert_string_equal(str(o, "ServiceName"), "web");
    assert_string_equal(str(o, "ServiceID"), "web-1");
    assert_int_equal(json_integer_value(json_object_get(o, "ServicePort")), 8080);
    assert_true(json_is_object(json_object_get(o, "NodeMeta")));
    assert_null(json_object_get(o, "Meta"));
    assert_int_equal(strlen(str(o, "ID")), 36);
    json_decref(o);
}

static void test_node_id_is_a_uuid_the_same_for_a_name(void **state)
{
    char a[37], b[37], c[37];

    consul_node_id("h1", a);
    consul_node_id("h1", b);
    consul_node_id("h2", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 36);
    assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
}

static void test_check_type_exec_is_script_and_output_not_utf8_is_kept_readable(void **state)
{
    struct cat_check ck;
    json_t *o;

    memset(&ck, 0, sizeof(ck));
    snprintf(ck.id, sizeof(ck.id), "c1");
    snprintf(ck.instance, sizeof(ck.instance), "web-1");
    snprintf(ck.type, sizeof(ck.type), "exec");
    ck.status = CAT_WARNING;
    memcpy(ck.output, "ok\xff", 3);
    ck.output_len = 3;
    o = consul_check_json("h1", &ck, NULL, 1);
    assert_string_equal(str(o, "Type"), "script");
    assert_string_equal(str(o, "Status"), "warning");
    assert_string_equal(str(o, "Output"), "ok?");
    assert_string_equal(str(o, "ServiceName"), "");
    json_decref(o);
}

static void test_serf_health_follows_membership(void **state)
{
    json_t *up = consul_serf_check_json("h1", 1, 1), *down = consul_serf_check_json("h1", 0, 1);

    assert_string_equal(str(up, "CheckID"), "serfHealth");
    assert_string_equal(str(up, "Status"), "passing");
    assert_string_equal(str(down, "Status"), "critical");
    json_decref(up);
    json_decref(down);
}

static void test_kv_value_is_base64_and_null_when_empty(void **state)
{
    json_t *o = consul_kv_json("a/b", (const uint8_t *)"test", 4, 1, 2);
    json_t *e = consul_kv_json("a/c", NULL, 0, 1, 2);

    assert_string_equal(str(o, "Value"), "dGVzdA==");
    assert_int_equal(json_integer_value(json_object_get(o, "Flags")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "LockIndex")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "ModifyIndex")), 2);
    assert_true(json_is_null(json_object_get(e, "Value")));
    json_decref(o);
    json_decref(e);
}

static void test_event_id_is_stable_and_payload_base64(void **state)
{
    struct cat_event ev;
    json_t *a, *b;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.name, sizeof(ev.name), "deploy");
    ev.seq = 4;
    memcpy(ev.payload, "v2", 2);
    ev.payload_len = 2;
    a = consul_event_json("h1", &ev, 9);
    b = consul_event_json("h1", &ev, 9);
    assert_string_equal(str(a, "ID"), str(b, "ID"));
    assert_string_equal(str(a, "Payload"), "djI=");
    assert_int_equal(json_integer_value(json_object_get(a, "Version")), 1);
    json_decref(a);
    json_decref(b);
}

static void test_go_durations(void **state)
{
    uint64_t ms;

    assert_int_equal(consul_duration("10s", &ms), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(consul_duration("1m30s", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(consul_duration("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(consul_duration("1.5h", &ms), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(consul_duration("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(consul_duration("10", &ms), -1);
    assert_int_equal(consul_duration("s", &ms), -1);
    assert_int_equal(consul_duration("-1s", &ms), -1);
    assert_int_equal(consul_duration("", &ms), -1);
}

static json_t *read_body(const char *text, struct err *e)
{
    json_t *in = json_loads(text, 0, NULL), *out;

    assert_non_null(in);
    out = consul_register_body(in, e);
    json_decref(in);
    return out;
}

static void test_register_body_maps_onto_troupes_definition(void **state)
{
    struct err e;
    struct catalog_def d;
    json_t *o = read_body(
        "{\"Name\": \"Web\", \"Port\": 8080, \"Tags\": [\"v1\"], \"Meta\": {\"team\": \"core\"},"
        " \"Weights\": {\"Passing\": 5, \"Warning\": 1}, \"EnableTagOverride\": false,"
        " \"Checks\": [{\"TTL\": \"30s\"}, {\"HTTP\": \"http://127.0.0.1:8080/health\","
        " \"Interval\": \"1m30s\", \"Timeout\": \"2s\", \"DeregisterCriticalServiceAfter\": "
        "\"10m\"}]}",
        &e);

    assert_non_null(o);
    assert_int_equal(services_parse(o, &d, &e), 0);
    assert_string_equal(d.inst.service, "web");
    assert_string_equal(d.inst.id, "Web"); /* ID defaults to Name, as Consul's */
    assert_int_equal(d.inst.port, 8080);
    assert_int_equal(d.inst.weight, 5);
    assert_int_equal(d.n_checks, 2);
    assert_string_equal(d.checks[0].id, "service:Web:1");
    assert_int_equal(d.checks[0].cfg.ttl_ms, 30000);
    assert_string_equal(d.checks[1].id, "service:Web:2");
    assert_int_equal(d.checks[1].cfg.interval_ms, 90000);
    assert_int_equal(d.checks[1].cfg.deregister_critical_after_ms, 600000);
    catalog_def_release(&d);
    json_decref(o);
}

static void test_register_one_check_is_service_id_and_keys_are_any_case(void **state)
{
    struct err e;
    struct catalog_def d;
    json_t *o =
        read_body("{\"name\": \"api\", \"id\": \"api-1\", \"check\": {\"ttl\": \"10s\"}}", &e);

    assert_non_null(o);
    assert_int_equal(services_parse(o, &d, &e), 0);
    assert_int_equal(d.n_checks, 1);
    assert_string_equal(d.checks[0].id, "service:api-1");
    catalog_def_release(&d);
    json_decref(o);
}

static void test_register_refuses_what_troupe_cannot_run(void **state)
{
    struct err e;

    assert_null(
        read_body("{\"Name\": \"a\", \"Check\": {\"GRPC\": \"x:1\", \"Interval\": \"1s\"}}", &e));
    assert_non_null(strstr(e.msg, "Check.GRPC"));
    assert_null(read_body("{\"Name\": \"a\", \"Connect\": {\"Native\": true}}", &e));
    assert_non_null(strstr(e.msg, "Connect"));
    assert_null(read_body("{\"ID\": \"a\"}", &e));
    assert_non_null(strstr(e.msg, "Name"));
    assert_null(read_body("{\"Name\": \"a\", \"Check\": {\"TTL\": \"ten\"}}", &e));
    assert_non_null(strstr(e.msg, "TTL"));
    assert_null(read_body("[1]", &e));
}

static json_t *read_check(const char *text, uint8_t *status, struct err *e)
{
    json_t *in = json_loads(text, 0, NULL), *out;

    assert_non_null(in);
    out = consul_check_register_body(in, status, e);
    json_decref(in);
    return out;
}

/* /v1/agent/check/register: the id is ID, else Name; Status is read; the
 * definition is one services_parse_check takes. */
static void test_check_register_body_is_one_of_troupes_checks(void **state)
{
    struct err e;
    struct catalog_check_def c;
    uint8_t status;
    json_t *o = read_check("{\"Name\": \"mem\", \"ServiceID\": \"web-1\", \"TTL\": \"30s\","
                           " \"Notes\": \"below 1 GB\", \"Status\": \"passing\"}",
                           &status, &e);

    assert_non_null(o);
    assert_int_equal(status, CAT_PASSING);
    memset(&c, 0, sizeof(c));
    assert_int_equal(services_parse_check(o, "", &c, &e), 0);
    assert_string_equal(c.id, "mem");
    assert_string_equal(c.name, "mem");
    assert_int_equal(c.cfg.ttl_ms, 30000);
    json_decref(o);

    o = read_check("{\"name\": \"h\", \"id\": \"web-http\", \"http\": "
                   "\"http://127.0.0.1:8080/health\", \"interval\": \"10s\"}",
                   &status, &e);
    assert_non_null(o);
    assert_int_equal(status, CAT_CRITICAL);
    memset(&c, 0, sizeof(c));
    assert_int_equal(services_parse_check(o, "", &c, &e), 0);
    assert_string_equal(c.id, "web-http");
    assert_int_equal(c.cfg.interval_ms, 10000);
    json_decref(o);

    assert_null(read_check("{\"TTL\": \"10s\"}", &status, &e));
    assert_non_null(strstr(e.msg, "Name"));
    assert_null(
        read_check("{\"Name\": \"a\", \"TTL\": \"1s\", \"Status\": \"maybe\"}", &status, &e));
    assert_non_null(strstr(e.msg, "Status"));
    assert_null(read_check("{\"Name\": \"a\", \"GRPC\": \"x:1\"}", &status, &e));
    assert_null(read_check("[]", &status, &e));
}

/* The text writer and the tree builder give the same entry, with every
 * kind of value: escapes, output that is not UTF-8, meta, checks. */
static void test_health_entry_text_is_the_tree(void **state)
{
    struct cat_instance in = web();
    struct cat_check ck[2];
    struct tags meta = {0};
    struct consul_node n = {"h1", "10.0.0.1", "dc1", &meta};
    struct cat_entry en;
    struct consul_buf b = {0};
    struct err e;
    json_t *tree, *text;

    assert_int_equal(tags_set(&meta, "rack", "r1", &e), 0);
    assert_int_equal(tags_set(&in.meta, "v", "\xc3\xa9t\xc3\xa9", &e), 0);
    memset(ck, 0, sizeof(ck));
    for (int i = 0; i < 2; i++) {
        snprintf(ck[i].id, sizeof(ck[i].id), "c%d", i);
        snprintf(ck[i].instance, sizeof(ck[i].instance), "web-1");
        snprintf(ck[i].type, sizeof(ck[i].type), i ? "exec" : "http");
        ck[i].status = (uint8_t)(i ? CAT_CRITICAL : CAT_PASSING);
    }
    memcpy(ck[0].output, "HTTP 200 \"ok\"\t\x01", 15);
    ck[0].output_len = 15;
    memcpy(ck[1].output, "bad \xff\x00 bytes", 13);
    ck[1].output_len = 13;
    memset(&en, 0, sizeof(en));
    en.inst = in;
    snprintf(en.inst.node, sizeof(en.inst.node), "h1");
    en.serving = 1;
    en.n_checks = 2;
    en.checks = ck;
    for (int serving = 1; serving >= 0; serving--) {
        en.serving = (uint8_t)serving;
        b.len = 0;
        consul_health_entry_write(&b, &n, &en, 42);
        tree = consul_health_entry_json(&n, &en, 42);
        text = json_loadb(b.p, b.len, 0, NULL);
        assert_non_null(text);
        if (!json_equal(tree, text)) {
            char *t = json_dumps(tree, JSON_COMPACT);
            fail_msg("tree %s\ntext %.*s", t, (int)b.len, b.p);
        }
        json_decref(tree);
        json_decref(text);
    }
    consul_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_has_consuls_names_and_an_empty_address),
        cmocka_unit_test(test_catalog_row_prefixes_service_fields_and_names_node_meta),
        cmocka_unit_test(test_node_id_is_a_uuid_the_same_for_a_name),
        cmocka_unit_test(test_check_type_exec_is_script_and_output_not_utf8_is_kept_readable),
        cmocka_unit_test(test_serf_health_follows_membership),
        cmocka_unit_test(test_kv_value_is_base64_and_null_when_empty),
        cmocka_unit_test(test_event_id_is_stable_and_payload_base64),
        cmocka_unit_test(test_go_durations),
        cmocka_unit_test(test_register_body_maps_onto_troupes_definition),
        cmocka_unit_test(test_register_one_check_is_service_id_and_keys_are_any_case),
        cmocka_unit_test(test_register_refuses_what_troupe_cannot_run),
        cmocka_unit_test(test_check_register_body_is_one_of_troupes_checks),
        cmocka_unit_test(test_health_entry_text_is_the_tree),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
