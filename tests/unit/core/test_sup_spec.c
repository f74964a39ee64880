/* Tests of core/sup_spec: a full spec parses into its fields, defaults
 * fill the rest, and every kind of bad spec is refused with an error that
 * names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/sup_spec.h"

static void refused(const char *text, const char *field)
{
    struct sup_spec s;
    struct err e;

    err_clear(&e);
    assert_true(sup_spec_parse(&s, text, strlen(text), &e) < 0);
    if (!strstr(e.msg, field))
        fail_msg("error \"%s\" does not name \"%s\"", e.msg, field);
}

static void test_full_spec(void **state)
{
    const char *t = "{\"name\":\"web\",\"command\":\"/bin/sh\",\"args\":[\"-c\",\"exec sleep 9\"],"
                    "\"dir\":\"/tmp\",\"env\":{\"A\":\"1\",\"EMPTY\":\"\"},\"user\":\"nobody\","
                    "\"instances\":3,\"ports\":{\"http\":\"auto\"},\"restart\":\"on-failure\","
                    "\"backoff\":{\"first_ms\":50,\"max_ms\":1000},\"start_limit\":{\"burst\":3},"
                    "\"stop_signal\":\"SIGINT\",\"stop_grace_ms\":500,"
                    "\"checks\":[{\"role\":\"liveness\",\"http\":\"http://127.0.0.1:${PORT}/\","
                    "\"interval_ms\":200,\"timeout_ms\":100}],\"secrets\":[\"db-pass\"],"
                    "\"limits\":{\"memory_mb\":64,\"nofile\":256},\"tags\":[\"v1\"]}";
    struct sup_spec s;
    struct err e;

    assert_int_equal(sup_spec_parse(&s, t, strlen(t), &e), 0);
    assert_string_equal(s.name, "web");
    assert_int_equal(s.n_args, 2);
    assert_string_equal(s.args[1], "exec sleep 9");
    assert_int_equal(s.n_env, 2);
    assert_string_equal(s.env[0], "A=1");
    assert_string_equal(s.env[1], "EMPTY=");
    assert_int_equal(s.instances, 3);
    assert_int_equal(s.n_ports, 1);
    assert_int_equal(s.ports[0].port, 0);
    assert_int_equal(s.sup.restart, SUP_RESTART_ON_FAILURE);
    assert_int_equal(s.sup.backoff_first_ms, 50);
    assert_int_equal(s.sup.start_burst, 3);
    assert_int_equal(s.sup.start_interval_ms, 10000);
    assert_int_equal(s.stop_signal, 2);
    assert_int_equal(s.sup.stop_grace_ms, 500);
    assert_int_equal(s.n_checks, 1);
    assert_int_equal(s.checks[0].role, SUP_CHECK_LIVENESS);
    assert_int_equal(s.checks[0].type, SUP_CHECK_HTTP);
    assert_string_equal(s.secrets[0], "db-pass");
    assert_int_equal(s.limits.memory_bytes, 64u << 20);
    assert_non_null(strstr(s.json, "\"name\":\"web\""));
    sup_spec_release(&s);
}

static void test_defaults(void **state)
{
    const char *t = "{\"name\":\"a\",\"command\":\"/bin/true\"}";
    struct sup_spec s;
    struct err e;

    assert_int_equal(sup_spec_parse(&s, t, strlen(t), &e), 0);
    assert_int_equal(s.instances, 1);
    assert_int_equal(s.sup.restart, SUP_RESTART_ALWAYS);
    assert_int_equal(s.sup.backoff_first_ms, 100);
    assert_int_equal(s.sup.backoff_max_ms, 300000);
    assert_int_equal(s.sup.start_burst, 5);
    assert_int_equal(s.sup.stop_grace_ms, 10000);
    assert_int_equal(s.stop_signal, 15);
    assert_int_equal(s.runtime, SUP_RUNTIME_PROCESS);
    sup_spec_release(&s);
}

static void test_bad_specs_name_the_field(void **state)
{
    refused("nope", "not JSON");
    refused("[]", "object");
    refused("{\"command\":\"/bin/true\"}", "name");
    refused("{\"name\":\"Web!\",\"command\":\"/bin/true\"}", "name");
    refused("{\"name\":\"a\"}", "command");
    refused("{\"name\":\"a\",\"command\":\"\"}", "command");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"colour\":1}", "colour");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"instances\":-1}", "instances");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"instances\":65}", "instances");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"restart\":\"sometimes\"}", "restart");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"ports\":{\"http\":70000}}", "ports.http");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"ports\":{\"http\":\"any\"}}", "ports.http");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"instances\":2,\"ports\":{\"p\":80}}", "ports.p");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"env\":{\"PORT\":\"1\"}}", "env.PORT");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"env\":{\"1X\":\"1\"}}", "env.1X");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"env\":{\"X\":1}}", "env.X");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"args\":[1]}", "args[0]");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"dir\":\"rel\"}", "dir");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"stop_signal\":\"SIGNOPE\"}", "stop_signal");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"backoff\":{\"first\":1}}", "backoff.first");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"backoff\":{\"first_ms\":10,\"max_ms\":5}}",
            "backoff.max_ms");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"checks\":[{}]}", "checks[0]");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"checks\":[{\"http\":\"ftp://x\"}]}",
            "checks[0].http");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"checks\":[{\"tcp\":\"h:1\",\"ttl_ms\":500}]}",
            "checks[0].ttl_ms");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"checks\":[{\"tcp\":\"h:1\",\"role\":\"x\"}]}",
            "checks[0].role");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"secrets\":[\"A B\"]}", "secrets[0]");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"secrets\":[\"a\",\"a\"]}", "secrets[1]");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"runtime\":\"docker\"}", "runtime");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"runtime\":\"crun\"}", "rootfs");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"capabilities\":[\"CAP_NET_RAW\"]}",
            "capabilities");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"runtime\":\"crun\",\"rootfs\":\"/r\","
            "\"capabilities\":[\"NET_RAW\"]}",
            "capabilities[0]");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"limits\":{\"memory_mb\":1}}", "limits.memory_mb");
    refused("{\"name\":\"a\",\"name\":\"b\",\"command\":\"/x\"}", "duplicate");
}

static void test_bundle_instead_of_command(void **state)
{
    const char *t = "{\"name\":\"web\",\"bundle\":\"web@1.4\",\"args\":[\"--v\"],"
                    "\"capabilities\":[\"CAP_NET_BIND_SERVICE\"]}";
    struct sup_spec s;
    struct err e;

    assert_int_equal(sup_spec_parse(&s, t, strlen(t), &e), 0);
    assert_string_equal(s.bundle, "web@1.4");
    assert_null(s.command);
    assert_int_equal(s.runtime_set, 0); /* the manifest decides */
    assert_int_equal(s.n_caps, 1);
    sup_spec_release(&s);
    t = "{\"name\":\"web\",\"bundle\":\"web@1.4\",\"runtime\":\"crun\"}";
    assert_int_equal(sup_spec_parse(&s, t, strlen(t), &e), 0);
    assert_int_equal(s.runtime, SUP_RUNTIME_CRUN);
    assert_int_equal(s.runtime_set, 1);
    assert_null(s.rootfs);
    sup_spec_release(&s);
}

static void test_bad_bundle_specs_name_the_field(void **state)
{
    refused("{\"name\":\"a\"}", "command: missing (or name a signed \"bundle\")");
    refused("{\"name\":\"a\",\"command\":\"/x\",\"bundle\":\"a@1\"}", "not both");
    refused("{\"name\":\"a\",\"bundle\":\"a\"}", "bundle: \"a\" is not NAME@VERSION");
    refused("{\"name\":\"a\",\"bundle\":\"../x@1\"}", "bundle");
    refused("{\"name\":\"a\",\"bundle\":\"\"}", "bundle: must not be empty");
    refused("{\"name\":\"a\",\"bundle\":7}", "bundle: expected a string");
    refused("{\"name\":\"a\",\"bundle\":\"a@1\",\"dir\":\"/tmp\"}", "dir");
    refused("{\"name\":\"a\",\"bundle\":\"a@1\",\"rootfs\":\"/r\"}", "rootfs");
    refused("{\"name\":\"a\",\"bundle\":\"a@1\",\"runtime\":\"process\","
            "\"capabilities\":[\"CAP_NET_RAW\"]}",
            "capabilities");
}

/* Parses text, which must be valid, and runs the privilege check on it. */
static int privilege(const char *text, int allow, struct err *e)
{
    struct sup_spec s;
    int rc;

    assert_int_equal(sup_spec_parse(&s, text, strlen(text), e), 0);
    err_clear(e);
    rc = sup_spec_check_privilege(&s, allow, e);
    sup_spec_release(&s);
    return rc;
}

static void privilege_refused(const char *text, const char *msg)
{
    struct err e;

    assert_int_equal(privilege(text, 0, &e), -EPERM);
    if (!strstr(e.msg, msg))
        fail_msg("error \"%s\" does not say \"%s\"", e.msg, msg);
    if (!strstr(e.msg, "--allow-root-services") || !strstr(e.msg, "run:write on service \"web\""))
        fail_msg("error \"%s\" does not say what is needed", e.msg);
    assert_int_equal(privilege(text, 1, &e), 0);
}

static void test_root_user_needs_allow_root_services(void **state)
{
    (void)state;
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"user\":\"root\"}",
                      "field \"user\": \"root\" needs an agent started with "
                      "--allow-root-services and a token with run:write on service \"web\"");
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"user\":\"0\"}",
                      "field \"user\": \"0\"");
}

static void test_root_group_needs_allow_root_services(void **state)
{
    (void)state;
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"user\":\"nobody\","
                      "\"group\":\"root\"}",
                      "field \"group\": \"root\"");
}

static void test_capabilities_need_allow_root_services(void **state)
{
    (void)state;
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"runtime\":\"crun\","
                      "\"rootfs\":\"/srv/web\",\"capabilities\":[\"CAP_NET_ADMIN\"]}",
                      "field \"capabilities\": CAP_NET_ADMIN");
}

static void test_privileged_port_on_host_network_needs_allow_root_services(void **state)
{
    struct err e;

    (void)state;
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"ports\":{\"http\":80}}",
                      "field \"ports.http\": privileged port 80 on the host's network");
    privilege_refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"runtime\":\"crun\","
                      "\"rootfs\":\"/srv/web\",\"network\":\"host\",\"ports\":{\"dns\":53}}",
                      "field \"ports.dns\"");
    /* a network of its own: port 80 there is nobody else's */
    assert_int_equal(privilege("{\"name\":\"web\",\"command\":\"/bin/sh\",\"runtime\":"
                               "\"crun\",\"rootfs\":\"/srv/web\",\"network\":\"own\","
                               "\"ports\":{\"http\":80}}",
                               0, &e),
                     0);
}

static void test_unprivileged_specs_pass_the_privilege_check(void **state)
{
    struct err e;

    (void)state;
    /* no user: the supervisor's unprivileged default, never root */
    assert_int_equal(privilege("{\"name\":\"web\",\"command\":\"/bin/sh\"}", 0, &e), 0);
    assert_int_equal(privilege("{\"name\":\"web\",\"command\":\"/bin/sh\",\"user\":"
                               "\"nobody\",\"ports\":{\"http\":1024,\"x\":\"auto\"}}",
                               0, &e),
                     0);
    /* names that only look like root */
    assert_int_equal(privilege("{\"name\":\"web\",\"command\":\"/bin/sh\",\"user\":"
                               "\"rooter\",\"group\":\"00\"}",
                               0, &e),
                     0);
}

static void test_socket_activation_needs_a_port_and_a_process(void **state)
{
    const char *t = "{\"name\":\"web\",\"command\":\"/bin/sh\",\"ports\":{\"http\":\"auto\"},"
                    "\"socket_activation\":true}";
    struct sup_spec s;
    struct err e;

    (void)state;
    assert_int_equal(sup_spec_parse(&s, t, strlen(t), &e), 0);
    assert_int_equal(s.socket_activation, 1);
    sup_spec_release(&s);
    refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"socket_activation\":true}",
            "socket_activation");
    refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"ports\":{\"http\":\"auto\"},"
            "\"socket_activation\":1}",
            "socket_activation");
    refused("{\"name\":\"web\",\"command\":\"/bin/sh\",\"runtime\":\"crun\",\"rootfs\":"
            "\"/srv/web\",\"ports\":{\"http\":\"auto\"},\"socket_activation\":true}",
            "socket_activation");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_specs_name_the_field),
        cmocka_unit_test(test_bundle_instead_of_command),
        cmocka_unit_test(test_bad_bundle_specs_name_the_field),
        cmocka_unit_test(test_root_user_needs_allow_root_services),
        cmocka_unit_test(test_root_group_needs_allow_root_services),
        cmocka_unit_test(test_capabilities_need_allow_root_services),
        cmocka_unit_test(test_privileged_port_on_host_network_needs_allow_root_services),
        cmocka_unit_test(test_unprivileged_specs_pass_the_privilege_check),
        cmocka_unit_test(test_socket_activation_needs_a_port_and_a_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
