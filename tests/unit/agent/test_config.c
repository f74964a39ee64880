/* Tests of agent/config: defaults, the JSON file, flags winning over the
 * file, --dev, every bad value refused with a message that names the flag
 * or the JSON key, and the option table against the struct: each option
 * lands in its own field and no other, and config_init holds the defaults
 * the docs print. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/config.h"
#include "core/acl.h"

#define KEY_A "mS3tvwZzS1bJv0bMoYtqbcGv0rJdzL0cz4vd9YyQf1Y="
#define KEY_B "2Ns6yqoq3CJX4wF1kxwI2DqyH0xcZ1c0o4jRaeo1Kcg="

static char tmpdir[64];

static int make_dir(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/troupe-config-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Writes text to a file in the test directory; returns its path (static). */
static const char *file_with(const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* config_parse over a NULL-terminated list of arguments after "agent". */
static int parse(struct config *c, struct err *e, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;

    argv[argc++] = "agent";
    va_start(ap, e);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    config_init(c);
    err_clear(e);
    return config_parse(c, argc, argv, e);
}

static const char *str(const struct node_addr *a)
{
    static char buf[64];
    return node_addr_str(a, buf, sizeof(buf));
}

static void test_defaults_without_flags(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct swim_config sc;
    struct err e;

    assert_int_equal(parse(c, &e, NULL), 0);
    assert_true(c->node[0] != '\0');
    assert_string_equal(str(&c->bind), "0.0.0.0:7420");
    assert_string_equal(str(&c->http), "127.0.0.1:7421");
    assert_int_equal(c->advertise.family, 0);
    assert_string_equal(c->data_dir, "/var/lib/troupe");
    assert_int_equal(c->profile, SWIM_PROFILE_LAN);
    assert_int_equal(c->log_level, LOG_INFO);
    assert_int_equal(c->n_join, 0);
    assert_int_equal(c->n_keys, 0);
    assert_int_equal(c->tags.n, 0);
    assert_false(c->dev);
    config_swim(c, &sc);
    assert_int_equal(sc.probe_interval_ms, 1000);
    assert_int_equal(sc.probe_timeout_ms, 500);
    assert_int_equal(sc.suspicion_mult, 4);
    assert_int_equal(sc.retransmit_mult, 4);
    assert_true(sc.reap_after_ms == 259200ull * 1000);
    assert_string_equal(sc.name, c->node);
    free(c);
}

static void test_every_flag_sets_its_value(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct swim_config sc;
    struct err e;

    assert_int_equal(parse(c, &e, "--node", "web1", "--bind", "10.0.0.1:7000",
                           "--advertise=192.0.2.1:7001", "--join", "10.0.0.2", "--join",
                           "[fd00::3]:7420", "--encrypt", KEY_A, "--encrypt=" KEY_B, "--http",
                           "127.0.0.1:9000", "--data-dir", "/srv/troupe", "--profile", "fast",
                           "--tag", "role=web", "--tag=zone=a", "--log-level", "debug",
                           "--probe-interval-ms", "300", "--probe-timeout-ms", "150",
                           "--pushpull-interval-ms", "20000", "--suspicion-mult", "5",
                           "--retransmit-mult", "3", "--reap-after-s", "60", NULL),
                     0);
    assert_string_equal(c->node, "web1");
    assert_string_equal(str(&c->bind), "10.0.0.1:7000");
    assert_string_equal(str(&c->advertise), "192.0.2.1:7001");
    assert_int_equal(c->n_join, 2);
    assert_string_equal(c->join[0], "10.0.0.2");
    assert_string_equal(c->join[1], "[fd00::3]:7420");
    assert_int_equal(c->n_keys, 2);
    assert_string_equal(c->keys[0], KEY_A);
    assert_string_equal(c->keys[1], KEY_B);
    assert_string_equal(str(&c->http), "127.0.0.1:9000");
    assert_string_equal(c->data_dir, "/srv/troupe");
    assert_int_equal(c->profile, SWIM_PROFILE_FAST);
    assert_int_equal(c->tags.n, 2);
    assert_int_equal(c->log_level, LOG_DEBUG);
    config_swim(c, &sc);
    assert_string_equal(sc.name, "web1");
    assert_string_equal(str(&sc.addr), "192.0.2.1:7001"); /* the advertised address */
    assert_int_equal(sc.probe_interval_ms, 300);
    assert_int_equal(sc.probe_timeout_ms, 150);
    assert_int_equal(sc.pushpull_interval_ms, 20000);
    assert_int_equal(sc.suspicion_mult, 5);
    assert_int_equal(sc.retransmit_mult, 3);
    assert_true(sc.reap_after_ms == 60000);
    assert_int_equal(sc.tags_len, (1 + 4 + 1 + 3) + (1 + 4 + 1 + 1));
    free(c);
}

static void test_fast_profile_changes_the_timings(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct swim_config sc;
    struct err e;

    assert_int_equal(parse(c, &e, "--profile", "fast", NULL), 0);
    config_swim(c, &sc);
    assert_int_equal(sc.probe_interval_ms, 200);
    assert_int_equal(sc.probe_timeout_ms, 100);
    free(c);
}

static void test_dev_mode_binds_loopback_and_logs_debug(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--dev", NULL), 0);
    assert_true(c->dev);
    assert_string_equal(str(&c->bind), "127.0.0.1:7420");
    assert_string_equal(c->data_dir, "./troupe-data");
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_int_equal(parse(c, &e, "--dev", "--bind", "0.0.0.0:7420", "--data-dir", "/d",
                           "--log-level", "info", NULL),
                     0);
    assert_string_equal(str(&c->bind), "0.0.0.0:7420");
    assert_string_equal(c->data_dir, "/d");
    assert_int_equal(c->log_level, LOG_INFO);
    assert_int_equal(parse(c, &e, "--dev=false", NULL), 0);
    assert_false(c->dev);
    free(c);
}

static void test_json_file_sets_values(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct swim_config sc;
    struct err e;
    const char *path = file_with("{\"node\": \"db1\", \"bind\": \"10.1.0.1:7420\","
                                 " \"join\": [\"10.1.0.2\", \"10.1.0.3:7500\"],"
                                 " \"encrypt\": [\"" KEY_A "\"], \"profile\": \"fast\","
                                 " \"tags\": {\"role\": \"db\", \"zone\": \"b\"},"
                                 " \"tag\": [\"rack=4\"], \"dev\": true, \"log_level\": \"warn\","
                                 " \"probe_interval_ms\": 250, \"reap_after_s\": 3600,"
                                 " \"data_dir\": \"/var/db\", \"http\": \"127.0.0.1:8000\"}");

    assert_int_equal(parse(c, &e, "--config", path, NULL), 0);
    assert_string_equal(c->config_file, path);
    assert_string_equal(c->node, "db1");
    assert_string_equal(str(&c->bind), "10.1.0.1:7420");
    assert_int_equal(c->n_join, 2);
    assert_string_equal(c->join[1], "10.1.0.3:7500");
    assert_int_equal(c->n_keys, 1);
    assert_int_equal(c->profile, SWIM_PROFILE_FAST);
    assert_int_equal(c->tags.n, 3);
    assert_true(c->dev);
    assert_int_equal(c->log_level, LOG_WARN); /* set by the file: --dev leaves it */
    assert_string_equal(c->data_dir, "/var/db");
    assert_string_equal(str(&c->http), "127.0.0.1:8000");
    config_swim(c, &sc);
    assert_int_equal(sc.probe_interval_ms, 250);
    assert_true(sc.reap_after_ms == 3600000);
    free(c);
}

static void test_flags_win_over_the_file(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    const char *path = file_with("{\"node\": \"from-file\", \"bind\": \"10.1.0.1:7420\","
                                 " \"join\": [\"10.1.0.2\", \"10.1.0.3\"],"
                                 " \"encrypt\": [\"" KEY_A "\"], \"tags\": {\"role\": \"db\","
                                 " \"zone\": \"b\"}}");

    /* flags before and after --config both win */
    assert_int_equal(parse(c, &e, "--node", "from-flag", "--config", path, "--join", "10.9.0.1",
                           "--encrypt", KEY_B, "--tag", "role=web", NULL),
                     0);
    assert_string_equal(c->node, "from-flag");
    assert_string_equal(str(&c->bind), "10.1.0.1:7420"); /* not given as a flag */
    /* a list given as flags replaces the file's list */
    assert_int_equal(c->n_join, 1);
    assert_string_equal(c->join[0], "10.9.0.1");
    assert_int_equal(c->n_keys, 1);
    assert_string_equal(c->keys[0], KEY_B);
    /* tags are a map: the flag replaces the same key and keeps the others */
    assert_int_equal(c->tags.n, 2);
    for (size_t i = 0; i < c->tags.n; i++)
        if (strcmp(c->tags.t[i].key, "role") == 0)
            assert_string_equal(c->tags.t[i].val, "web");
    free(c);
}

static void test_help_is_reported_and_printed_from_the_table(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const char *flags[] = {"--node NAME",
                           "--bind IP:PORT",
                           "--advertise",
                           "--join",
                           "--encrypt",
                           "--http",
                           "--data-dir",
                           "--profile",
                           "--tag",
                           "--dev",
                           "--log-level",
                           "--config",
                           "--probe-interval-ms",
                           "--probe-timeout-ms",
                           "--pushpull-interval-ms",
                           "--suspicion-mult",
                           "--retransmit-mult",
                           "--reap-after-s"};

    config_print_help(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strstr(text, flags[i]))
            fail_msg("help lacks %s", flags[i]);
    assert_non_null(strstr(text, "(default: 0.0.0.0:7420)"));
    free(text);
    f = open_memstream(&text, &len);
    config_print_markdown(f);
    fclose(f);
    assert_non_null(strstr(text, "| `--probe-interval-ms MS` | `probe_interval_ms` |"));
    assert_non_null(strstr(text, "lan\\|fast")); /* pipes escaped inside the table */
    free(text);
    free(c);
}

struct bad_case {
    const char *flag; /* as given */
    const char *value;
    const char *says; /* the message must hold this too */
    int eq_only;      /* a true/false flag: its value only after '=' */
};

static const struct bad_case bad_flags[] = {
    {"--node", "bad name", "node name", 0},
    {"--node", "", "node name", 0},
    {"--node", "a-name-that-is-far-too-long-to-be-a-node-name-in-troupe-65-bytes-x", "1-64", 0},
    {"--bind", "1.2.3.4:99999", "bad port", 0},
    {"--bind", "nowhere:1", "not an IP address", 0},
    {"--bind", "10.0.0.1", "missing :PORT", 0},
    {"--advertise", "10.0.0.1:x", "bad port", 0},
    {"--join", "not-an-ip", "not an IP address", 0},
    {"--join", "10.0.0.1:0x1", "bad port", 0},
    {"--encrypt", "c2hvcnQ=", "not base64 of 32 bytes", 0},
    {"--encrypt", "!!!", "troupe keygen", 0},
    {"--http", "localhost:7421", "not an IP address", 0},
    {"--data-dir", "", "empty", 0},
    {"--profile", "turbo", "not lan or fast", 0},
    {"--tag", "novalue", "key=value", 0},
    {"--tag", "=v", "key", 0},
    {"--capacity", "cpu=2", "capacity.cpu", 0},
    {"--capacity", "memory_mb=lots", "memory_mb", 0},
    {"--dev", "maybe", "true or false", 1},
    {"--log-level", "loud", "not error, warn, info or debug", 0},
    {"--probe-interval-ms", "0", "positive whole number", 0},
    {"--probe-interval-ms", "-5", "positive whole number", 0},
    {"--probe-interval-ms", "1.5", "positive whole number", 0},
    {"--probe-timeout-ms", "4294967296", "positive whole number", 0},
    {"--pushpull-interval-ms", "x", "positive whole number", 0},
    {"--suspicion-mult", "+3", "positive whole number", 0},
    {"--retransmit-mult", "", "positive whole number", 0},
    {"--reap-after-s", "99999999999999999999", "positive whole number", 0},
    {"--dns", "nowhere:53", "not an IP address", 0},
    {"--consul-http", "localhost:8500", "not an IP address", 0},
    {"--dns-domain", "a..b", "labels of letters", 0},
    {"--dns-domain", "a b", "labels of letters", 0},
    {"--dns-domain", "-x", "labels of letters", 0},
    {"--dns-alt-domain", "con sul", "labels of letters", 0},
    {"--dns-alt-domain", "", "1-200 characters", 0},
    {"--datacenter", "dc.1", "one label", 0},
    {"--datacenter", "", "one label", 0},
    {"--datacenter", "service", "their kind", 0},
    {"--dns-upstream", "resolver", "not an IP address", 0},
    {"--proxy-bind", "proxyhost", "not an IP address", 0},
    {"--ingress", "web.example:80", "not an IP address", 0},
    {"--proxy-workers", "65", "number of threads from 0 to 64", 0},
    {"--proxy-workers", "-1", "number of threads from 0 to 64", 0},
    {"--dns-service-ttl-s", "604801", "number of seconds", 0},
    {"--dns-node-ttl-s", "x", "number of seconds", 0},
    {"--dns-negative-ttl-s", "-1", "number of seconds", 0},
    {"--dns-only-passing", "yes", "true or false", 1},
    {"--trust-repo", "", "empty", 0},
    {"--trust-root", "", "empty", 0},
    {"--config-dir", "", "empty", 0},
    {"--enable-exec-checks", "1", "true or false", 1},
    {"--trust-fetch-idle-ms", "0", "positive whole number", 0},
    {"--allow-root-services", "yes", "true or false", 1},
    {"--cgroup-parent", "", "empty", 0},
    {"--http-max-conns", "0", "positive whole number", 0},
    {"--http-header-timeout-ms", "-1", "positive whole number", 0},
    {"--http-body-timeout-ms", "x", "positive whole number", 0},
    {"--http-idle-timeout-ms", "0", "positive whole number", 0},
    {"--dns-tcp-max-conns", "4294967296", "positive whole number", 0},
    {"--gossip-tcp-max-conns", "1e3", "positive whole number", 0},
    {"--http-tls-cert", "", "empty", 0},
    {"--http-tls-key", "", "empty", 0},
    {"--http-insecure", "yes", "true or false", 1},
    {"--gc-interval-ms", "0", "positive whole number", 0},
    {"--acl-default", "allow", "not read, deny or off", 0},
};

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Every option of the table (as --help-markdown prints it) has a bad value
 * above, so a new option cannot arrive without its refusals tested. */
static void test_every_option_of_the_table_has_a_bad_value_case(void **state)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0, n = 0;
    FILE *f = open_memstream(&text, &len);

    config_print_markdown(f);
    fclose(f);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char flag[64];
        int found = 0;
        if (sscanf(line, "| `%63[^ `]", flag) != 1 || strncmp(flag, "--", 2) != 0)
            continue;
        n++;
        if (strcmp(flag, "--config") == 0)
            continue; /* its own tests below */
        for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
            found |= strcmp(bad_flags[i].flag, flag) == 0;
        if (!found)
            fail_msg("option %s has no case in bad_flags of tests/unit/agent/test_config.c", flag);
    }
    assert_true(n >= 18);
    free(text);
}

static void test_every_bad_flag_value_is_refused_naming_the_flag(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char joined[256];

    for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
        const struct bad_case *b = &bad_flags[i];
        int rc;
        if (!b->eq_only) {
            rc = parse(c, &e, b->flag, b->value, NULL);
            if (rc != -EINVAL || !strstr(e.msg, b->flag) || !strstr(e.msg, b->says))
                fail_msg("%s '%s': rc %d, message \"%s\"", b->flag, b->value, rc, e.msg);
        }
        /* the --flag=value form says the same */
        snprintf(joined, sizeof(joined), "%s=%s", b->flag, b->value);
        rc = parse(c, &e, joined, NULL);
        if (rc != -EINVAL || !strstr(e.msg, b->flag))
            fail_msg("%s: rc %d, message \"%s\"", joined, rc, e.msg);
    }
    free(c);
}

static void test_every_bad_json_value_is_refused_naming_the_key(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char json[512], key[64];

    for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
        const struct bad_case *b = &bad_flags[i];
        const char *v = b->value;
        int list = strcmp(b->flag, "--join") == 0 || strcmp(b->flag, "--encrypt") == 0 ||
                   strcmp(b->flag, "--tag") == 0;
        int number =
            ends_with(b->flag, "-ms") || ends_with(b->flag, "-mult") || ends_with(b->flag, "-s");
        int rc;

        snprintf(key, sizeof(key), "%s", b->flag + 2);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        if (b->eq_only)
            snprintf(json, sizeof(json), "{\"%s\": \"%s\"}", key, v); /* a string, not a bool */
        else if (number && strspn(v, "-0123456789") == strlen(v) && *v)
            snprintf(json, sizeof(json), "{\"%s\": %s}", key, v);
        else if (number)
            snprintf(json, sizeof(json), "{\"%s\": \"%s\"}", key, v); /* a string */
        else if (list || strcmp(b->flag, "--dns-upstream") == 0 ||
                 strcmp(b->flag, "--proxy-bind") == 0)
            snprintf(json, sizeof(json), "{\"%s\": [\"%s\"]}", key, v);
        else
            snprintf(json, sizeof(json), "{\"%s\": \"%s\"}", key, v);
        config_init(c);
        rc = config_parse_json(c, json, strlen(json), &e);
        snprintf(key + strlen(key), sizeof(key) - strlen(key), "\"");
        if (number && strlen(v) > 18) /* beyond what JSON numbers hold: refused by the parser */
            snprintf(key, sizeof(key), "too big integer near '%s'", v);
        if (rc != -EINVAL || !strstr(e.msg, key))
            fail_msg("%s: rc %d, message \"%s\"", json, rc, e.msg);
    }
    free(c);
}

static void test_wrong_json_types_are_refused_naming_the_key(void **state)
{
    const struct {
        const char *json, *says;
    } cases[] = {
        {"{\"bind\": 7420}", "config key \"bind\": wrong type (expected a string)"},
        {"{\"dev\": 1}", "config key \"dev\": wrong type (expected true or false)"},
        {"{\"probe_interval_ms\": \"100\"}", "config key \"probe_interval_ms\": wrong type"},
        {"{\"probe_interval_ms\": 1.5}", "config key \"probe_interval_ms\": wrong type"},
        {"{\"join\": \"10.0.0.1\"}", "config key \"join\": expected an array of strings"},
        {"{\"join\": [1]}", "config key \"join\"[0]: expected a string"},
        {"{\"tags\": {\"role\": 5}}", "config key \"tags\".role: expected a string"},
        {"{\"tags\": {\"\": \"x\"}}", "config key \"tags\""},
        {"{\"tags\": [\"role=web\"]}", "unknown key \"tags\""},
        {"{\"colour\": \"red\"}", "unknown key \"colour\""},
        {"{\"config\": \"/other.json\"}", "unknown key \"config\""},
        {"[1, 2]", "expected a JSON object"},
        {"{\"bind\": ", "config file: line 1"},
        {"{\"node\": \"a\", \"node\": \"b\"}", "duplicate"},
        {"", "config file: line"},
    };
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        config_init(c);
        rc = config_parse_json(c, cases[i].json, strlen(cases[i].json), &e);
        if (rc != -EINVAL || !strstr(e.msg, cases[i].says))
            fail_msg("%s: rc %d, message \"%s\", expected \"%s\"", cases[i].json, rc, e.msg,
                     cases[i].says);
    }
    free(c);
}

static void test_bad_file_is_refused_naming_the_file(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char missing[128];
    const char *path = file_with("{\"profile\": \"turbo\"}");

    assert_int_equal(parse(c, &e, "--config", path, NULL), -EINVAL);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "config key \"profile\""));
    snprintf(missing, sizeof(missing), "%s/missing.json", tmpdir);
    assert_int_equal(parse(c, &e, "--config", missing, NULL), -ENOENT);
    assert_non_null(strstr(e.msg, "--config"));
    assert_non_null(strstr(e.msg, missing));
    assert_true(parse(c, &e, "--config", tmpdir, NULL) < 0); /* a directory */
    assert_non_null(strstr(e.msg, tmpdir));
    free(c);
}

static void test_config_flag_without_a_file_is_refused(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--config", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--config"));
    assert_int_equal(parse(c, &e, "--config=", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--config"));
    free(c);
}

static void test_unknown_flags_and_arguments_are_refused(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--frobnicate", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown flag --frobnicate"));
    assert_int_equal(parse(c, &e, "--frob=1", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown flag --frob"));
    assert_null(strstr(e.msg, "=1"));
    assert_int_equal(parse(c, &e, "stray", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "unexpected argument \"stray\""));
    assert_int_equal(parse(c, &e, "-n", "x", NULL), -EINVAL);
    assert_int_equal(parse(c, &e, "--nod", "x", NULL), -EINVAL); /* no prefixes */
    free(c);
}

static void test_flag_without_its_value_is_refused(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--bind", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--bind: missing IP:PORT"));
    assert_int_equal(parse(c, &e, "--node", "a", "--tag", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--tag: missing KEY=VALUE"));
    free(c);
}

static void test_probe_timeout_must_be_below_the_interval(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--probe-interval-ms", "100", "--probe-timeout-ms", "100", NULL),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "--probe-timeout-ms (100)"));
    assert_non_null(strstr(e.msg, "--probe-interval-ms (100)"));
    /* against the profile's interval too: lan probes every 1000 ms */
    assert_int_equal(parse(c, &e, "--probe-timeout-ms", "1000", NULL), -EINVAL);
    assert_int_equal(parse(c, &e, "--probe-timeout-ms", "999", NULL), 0);
    assert_int_equal(parse(c, &e, "--profile", "fast", "--probe-timeout-ms", "300", NULL), -EINVAL);
    free(c);
}

static void test_api_beyond_loopback_needs_tls_or_insecure(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--http", "0.0.0.0:7421", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--http 0.0.0.0:7421 is beyond loopback"));
    assert_non_null(strstr(e.msg, "--http-tls-cert"));
    assert_non_null(strstr(e.msg, "--http-tls-key"));
    assert_non_null(strstr(e.msg, "--http-insecure"));
    assert_int_equal(parse(c, &e, "--http", "[::]:7421", NULL), -EINVAL);
    assert_int_equal(parse(c, &e, "--http", "10.0.0.1:7421", NULL), -EINVAL);
    /* from the file too: the check runs once every source is applied */
    assert_int_equal(parse(c, &e, "--config", file_with("{\"http\": \"192.0.2.1:80\"}"), NULL),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "beyond loopback"));
    /* loopback needs neither */
    assert_int_equal(parse(c, &e, "--http", "127.0.0.2:7421", NULL), 0);
    assert_int_equal(parse(c, &e, "--http", "[::1]:7421", NULL), 0);
    assert_int_equal(parse(c, &e, "--http", "[::ffff:127.0.0.1]:7421", NULL), 0);
    /* the explicit choice */
    assert_int_equal(parse(c, &e, "--http", "0.0.0.0:7421", "--http-insecure", NULL), 0);
    assert_true(c->http_insecure);
    assert_int_equal(parse(c, &e, "--http", "0.0.0.0:7421", "--http-tls-cert", "/c.pem",
                           "--http-tls-key", "/k.pem", NULL),
                     0);
    assert_string_equal(c->http_tls_cert, "/c.pem");
    assert_string_equal(c->http_tls_key, "/k.pem");
    /* one without the other, or both choices at once */
    assert_int_equal(parse(c, &e, "--http-tls-cert", "/c.pem", NULL), -EINVAL);
    assert_string_equal(e.msg, "--http-tls-cert needs --http-tls-key FILE");
    assert_int_equal(parse(c, &e, "--http-tls-key", "/k.pem", NULL), -EINVAL);
    assert_string_equal(e.msg, "--http-tls-key needs --http-tls-cert FILE");
    assert_int_equal(parse(c, &e, "--http", "0.0.0.0:7421", "--http-insecure", "--http-tls-cert",
                           "/c.pem", "--http-tls-key", "/k.pem", NULL),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "--http-insecure and --http-tls-cert contradict"));
    free(c);
}

static void test_cgroup_parent_is_auto_off_or_a_path_from_the_root(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, NULL), 0);
    assert_string_equal(c->cgroup_parent, "off");
    assert_int_equal(parse(c, &e, "--cgroup-parent", "system.slice", NULL), -EINVAL);
    assert_non_null(strstr(e.msg, "--cgroup-parent \"system.slice\": auto, off, or a cgroup"));
    assert_int_equal(parse(c, &e, "--cgroup-parent", "auto", NULL), 0);
    assert_string_equal(c->cgroup_parent, "auto");
    assert_int_equal(parse(c, &e, "--cgroup-parent", "/system.slice/troupe.service", NULL), 0);
    assert_string_equal(c->cgroup_parent, "/system.slice/troupe.service");
    free(c);
}

static void test_acl_default_off_needs_a_loopback_api(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    assert_int_equal(parse(c, &e, "--acl-default", "deny", NULL), 0);
    assert_int_equal(c->acl_default, ACL_DEFAULT_DENY);
    assert_int_equal(parse(c, &e, "--acl-default", "off", NULL), 0);
    assert_int_equal(c->acl_default, ACL_DEFAULT_OFF);
    assert_int_equal(parse(c, &e, "--acl-default", "off", "--http", "10.0.0.1:7421", NULL),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "--acl-default off"));
    assert_non_null(strstr(e.msg, "loopback"));
    free(c);
}

static void test_too_many_joins_or_keys_are_refused(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char *argv[2 * CONFIG_JOIN_MAX + 4];
    char addrs[CONFIG_JOIN_MAX + 1][32];
    int argc = 0;

    argv[argc++] = "agent";
    for (int i = 0; i <= CONFIG_JOIN_MAX; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "10.0.%d.%d", i / 200, i % 200 + 1);
        argv[argc++] = "--join";
        argv[argc++] = addrs[i];
    }
    config_init(c);
    assert_int_equal(config_parse(c, argc - 2, argv, &e), 0);
    assert_int_equal(c->n_join, CONFIG_JOIN_MAX);
    config_init(c);
    assert_int_equal(config_parse(c, argc, argv, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "--join: more than 64"));

    argc = 1;
    for (int i = 0; i <= CONFIG_KEYS_MAX; i++) {
        argv[argc++] = "--encrypt";
        argv[argc++] = KEY_A;
    }
    config_init(c);
    assert_int_equal(config_parse(c, argc, argv, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "--encrypt: more than 8 keys"));
    free(c);
}

static void test_tags_beyond_the_wire_limit_are_refused_naming_the_flag(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char tag[4][160], json[1024];
    size_t o;

    for (int i = 0; i < 4; i++) { /* 3 x (1 + 2 + 1 + 128) bytes fit in 512, 4 do not */
        snprintf(tag[i], sizeof(tag[i]), "k%d=", i);
        memset(tag[i] + 3, 'v', TAG_VAL_MAX);
        tag[i][3 + TAG_VAL_MAX] = '\0';
    }
    assert_int_equal(parse(c, &e, "--tag", tag[0], "--tag", tag[1], "--tag", tag[2], NULL), 0);
    assert_int_equal(
        parse(c, &e, "--tag", tag[0], "--tag", tag[1], "--tag", tag[2], "--tag", tag[3], NULL),
        -EINVAL);
    assert_non_null(strstr(e.msg, "--tag"));
    assert_non_null(strstr(e.msg, "512"));

    o = (size_t)snprintf(json, sizeof(json), "{\"tags\": {");
    for (int i = 0; i < 4; i++) {
        tag[i][2] = '\0';
        o += (size_t)snprintf(json + o, sizeof(json) - o, "%s\"%s\": \"%s\"", i ? ", " : "", tag[i],
                              tag[i] + 3);
    }
    snprintf(json + o, sizeof(json) - o, "}}");
    config_init(c);
    assert_int_equal(config_parse_json(c, json, strlen(json), &e), -EINVAL);
    assert_non_null(strstr(e.msg, "config key \"tags\""));
    assert_non_null(strstr(e.msg, "512"));
    free(c);
}

static void test_json_path_longer_than_the_limit_is_refused_not_cut(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    size_t n = PATH_MAX + 100;
    char *json = malloc(n + 64);
    struct err e;
    size_t o;

    o = (size_t)sprintf(json, "{\"data_dir\": \"/");
    memset(json + o, 'd', n);
    strcpy(json + o + n, "\"}");
    config_init(c);
    assert_int_equal(config_parse_json(c, json, strlen(json), &e), -EINVAL);
    assert_non_null(strstr(e.msg, "config key \"data_dir\""));
    assert_string_equal(c->data_dir, "/var/lib/troupe");
    free(json);
    free(c);
}

/* ---- the option table against the struct ----
 * Where each option lands, written down here and not read from the table
 * in config.c, so that a row naming the wrong field fails: a value unlike
 * the default, the fields it changes (its own first), flags given along
 * with it (to both runs), and whether 0 in its field stands for the
 * profile's value. */
struct span {
    size_t off, size;
};
#define FIELD(f)                                                                                   \
    {                                                                                              \
        offsetof(struct config, f), sizeof(((struct config *)0)->f)                                \
    }

struct landing {
    const char *flag, *value; /* value NULL: a file holding {} */
    struct span fields[4];
    const char *with[2];
    int profile;
};

static const struct landing landings[] = {
    {.flag = "--node", .value = "web1", .fields = {FIELD(node)}},
    {.flag = "--bind", .value = "10.0.0.1:7000", .fields = {FIELD(bind)}},
    {.flag = "--advertise", .value = "192.0.2.1:7001", .fields = {FIELD(advertise)}},
    {.flag = "--join", .value = "10.0.0.2", .fields = {FIELD(join), FIELD(n_join)}},
    {.flag = "--encrypt", .value = KEY_A, .fields = {FIELD(keys), FIELD(n_keys)}},
    {.flag = "--http", .value = "127.0.0.1:9000", .fields = {FIELD(http)}},
    {.flag = "--data-dir", .value = "/srv/troupe", .fields = {FIELD(data_dir)}},
    {.flag = "--profile", .value = "fast", .fields = {FIELD(profile)}},
    {.flag = "--tag", .value = "role=web", .fields = {FIELD(tags)}},
    {.flag = "--capacity", .value = "cpu_millis=2000,memory_mb=512", .fields = {FIELD(capacity)}},
    {.flag = "--dev",
     .value = "true",
     .fields = {FIELD(dev), FIELD(bind), FIELD(data_dir), FIELD(log_level)}},
    {.flag = "--log-level", .value = "debug", .fields = {FIELD(log_level)}},
    {.flag = "--config", .value = NULL, .fields = {FIELD(config_file)}},
    {.flag = "--probe-interval-ms",
     .value = "3000",
     .fields = {FIELD(probe_interval_ms)},
     .profile = 1},
    {.flag = "--probe-timeout-ms",
     .value = "150",
     .fields = {FIELD(probe_timeout_ms)},
     .profile = 1},
    {.flag = "--pushpull-interval-ms",
     .value = "20000",
     .fields = {FIELD(pushpull_interval_ms)},
     .profile = 1},
    {.flag = "--suspicion-mult", .value = "5", .fields = {FIELD(suspicion_mult)}, .profile = 1},
    {.flag = "--retransmit-mult", .value = "3", .fields = {FIELD(retransmit_mult)}, .profile = 1},
    {.flag = "--reap-after-s", .value = "60", .fields = {FIELD(reap_after_s)}, .profile = 1},
    {.flag = "--gc-interval-ms", .value = "2000", .fields = {FIELD(gc_interval_ms)}},
    {.flag = "--dns", .value = "127.0.0.1:5353", .fields = {FIELD(dns), FIELD(dns_explicit)}},
    {.flag = "--dns-domain", .value = "example.", .fields = {FIELD(dns_domain)}},
    {.flag = "--dns-alt-domain", .value = "consul.example.", .fields = {FIELD(dns_alt_domain)}},
    {.flag = "--datacenter", .value = "eu-west_2", .fields = {FIELD(datacenter)}},
    {.flag = "--consul-http",
     .value = "127.0.0.1:18500",
     .fields = {FIELD(consul_http), FIELD(consul_http_explicit)}},
    {.flag = "--dns-upstream",
     .value = "192.0.2.53",
     .fields = {FIELD(dns_upstreams), FIELD(n_dns_upstreams)}},
    {.flag = "--proxy-bind",
     .value = "10.0.0.7",
     .fields = {FIELD(proxy_bind), FIELD(n_proxy_bind)}},
    {.flag = "--ingress", .value = "10.0.0.7:8080", .fields = {FIELD(ingress)}},
    {.flag = "--proxy-workers", .value = "0", .fields = {FIELD(proxy_workers)}},
    {.flag = "--dns-service-ttl-s", .value = "7", .fields = {FIELD(dns_service_ttl_s)}},
    {.flag = "--dns-node-ttl-s", .value = "31", .fields = {FIELD(dns_node_ttl_s)}},
    {.flag = "--dns-negative-ttl-s", .value = "9", .fields = {FIELD(dns_negative_ttl_s)}},
    {.flag = "--dns-only-passing", .value = "true", .fields = {FIELD(dns_only_passing)}},
    {.flag = "--trust-repo",
     .value = "/srv/repo",
     .fields = {FIELD(trust_repo)},
     .with = {"--trust-root", "/srv/root.json"}},
    {.flag = "--trust-root",
     .value = "/srv/root.json",
     .fields = {FIELD(trust_root)},
     .with = {"--trust-repo", "/srv/repo"}},
    {.flag = "--config-dir", .value = "/etc/troupe.d", .fields = {FIELD(config_dir)}},
    {.flag = "--enable-exec-checks", .value = "true", .fields = {FIELD(exec_checks)}},
    {.flag = "--trust-fetch-idle-ms", .value = "2500", .fields = {FIELD(trust_fetch_idle_ms)}},
    {.flag = "--allow-root-services", .value = "true", .fields = {FIELD(allow_root_services)}},
    {.flag = "--cgroup-parent", .value = "/troupe.slice", .fields = {FIELD(cgroup_parent)}},
    {.flag = "--http-max-conns", .value = "100", .fields = {FIELD(http_max_conns)}},
    {.flag = "--http-header-timeout-ms",
     .value = "2000",
     .fields = {FIELD(http_header_timeout_ms)}},
    {.flag = "--http-body-timeout-ms", .value = "2000", .fields = {FIELD(http_body_timeout_ms)}},
    {.flag = "--http-idle-timeout-ms", .value = "2000", .fields = {FIELD(http_idle_timeout_ms)}},
    {.flag = "--dns-tcp-max-conns", .value = "20", .fields = {FIELD(dns_tcp_max_conns)}},
    {.flag = "--gossip-tcp-max-conns", .value = "20", .fields = {FIELD(gossip_tcp_max_conns)}},
    {.flag = "--http-tls-cert",
     .value = "/etc/troupe/api.pem",
     .fields = {FIELD(http_tls_cert)},
     .with = {"--http-tls-key", "/etc/troupe/api.key"}},
    {.flag = "--http-tls-key",
     .value = "/etc/troupe/api.key",
     .fields = {FIELD(http_tls_key)},
     .with = {"--http-tls-cert", "/etc/troupe/api.pem"}},
    {.flag = "--http-insecure", .value = "true", .fields = {FIELD(http_insecure)}},
    {.flag = "--acl-default", .value = "deny", .fields = {FIELD(acl_default)}},
};

#define N_LANDINGS (sizeof(landings) / sizeof(landings[0]))

static const struct landing *landing_of(const char *flag)
{
    for (size_t i = 0; i < N_LANDINGS; i++)
        if (strcmp(landings[i].flag, flag) == 0)
            return &landings[i];
    return NULL;
}

/* The rows of --help-markdown: each option's flag and default column. */
struct doc_row {
    char flag[64], def[64];
};

static size_t doc_rows(struct doc_row *rows, size_t cap)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0, n = 0;
    FILE *f = open_memstream(&text, &len);

    config_print_markdown(f);
    fclose(f);
    for (line = strtok_r(text, "\n", &save); line && n < cap; line = strtok_r(NULL, "\n", &save)) {
        char *col = line;
        if (sscanf(line, "| `%63[^ `]", rows[n].flag) != 1 || strncmp(rows[n].flag, "--", 2))
            continue;
        for (int i = 0; i < 2 && col; i++) /* the third column: " | DEFAULT | " */
            col = strstr(col + 1, " | ");
        assert_non_null(col);
        col += 3;
        snprintf(rows[n].def, sizeof(rows[n].def), "%.*s", (int)(strstr(col, " | ") - col), col);
        n++;
    }
    free(text);
    return n;
}

/* config_parse over "agent", the landing's flags given along, then args. */
static int parse_with(struct config *c, const struct landing *l, const char *flag,
                      const char *value, struct err *e)
{
    char *argv[8];
    int argc = 0;

    argv[argc++] = "agent";
    if (l->with[0]) {
        argv[argc++] = (char *)l->with[0];
        argv[argc++] = (char *)l->with[1];
    }
    if (flag)
        argv[argc++] = (char *)flag;
    if (value)
        argv[argc++] = (char *)value;
    argv[argc] = NULL;
    config_init(c);
    err_clear(e);
    return config_parse(c, argc, argv, e);
}

static void test_every_option_of_the_table_has_a_landing(void **state)
{
    struct doc_row rows[64];
    size_t n = doc_rows(rows, 64);

    assert_int_equal(n, N_LANDINGS);
    for (size_t i = 0; i < n; i++)
        if (!landing_of(rows[i].flag))
            fail_msg("option %s has no landing in tests/unit/agent/test_config.c", rows[i].flag);
}

/* Each option, set alone from the command line, changes its own fields and
 * no other byte of the struct. */
static void test_every_option_lands_in_its_own_field_and_no_other(void **state)
{
    struct config *before = calloc(1, sizeof(*before)), *after = calloc(1, sizeof(*after));
    struct err e;

    for (size_t i = 0; i < N_LANDINGS; i++) {
        const struct landing *l = &landings[i];
        const char *value = l->value ? l->value : file_with("{}");
        char arg[PATH_MAX + 64];

        /* the flags given along may be refused alone (--trust-root needs
         * --trust-repo), by config_check once the struct is filled */
        if (parse_with(before, l, NULL, NULL, &e) != 0 && !l->with[0])
            fail_msg("no flags: %s", e.msg);
        /* --flag=value, which true/false flags need too */
        snprintf(arg, sizeof(arg), "%s=%s", l->flag, value);
        if (parse_with(after, l, arg, NULL, &e) != 0)
            fail_msg("%s: %s", arg, e.msg);
        for (size_t f = 0; f < 4 && l->fields[f].size; f++) {
            const struct span *s = &l->fields[f];
            if (memcmp((char *)before + s->off, (char *)after + s->off, s->size) == 0)
                fail_msg("%s: field %zu (at %zu) kept its value", arg, f, s->off);
            memcpy((char *)before + s->off, (char *)after + s->off, s->size);
        }
        if (memcmp(before, after, sizeof(*before)) != 0) {
            size_t at = 0;
            while (((char *)before)[at] == ((char *)after)[at])
                at++;
            fail_msg("%s also changed the byte at offset %zu of struct config", arg, at);
        }
    }
    free(before);
    free(after);
}

static int all_zero(const struct config *c, const struct span *s)
{
    for (size_t i = 0; i < s->size; i++)
        if (((const char *)c + s->off)[i])
            return 0;
    return 1;
}

/* What config_swim makes of a profile and one option's value. */
static void swim_of(const char *profile, const char *flag, const char *value,
                    struct swim_config *sc)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;

    if (flag)
        assert_int_equal(parse(c, &e, "--profile", profile, flag, value, NULL), 0);
    else
        assert_int_equal(parse(c, &e, "--profile", profile, NULL), 0);
    config_swim(c, sc);
    free(c);
}

/* The default that --help and the docs print is what config_init leaves:
 * giving that value as a flag changes nothing. */
static void test_proxy_bind_is_an_address_without_a_port(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    char *ok[] = {"agent", "--proxy-bind", "10.0.0.1", NULL};
    char *bad[] = {"agent", "--proxy-bind", "10.0.0.1:80", NULL};
    struct err e;

    config_init(c);
    assert_int_equal(config_parse(c, 3, ok, &e), 0);
    config_init(c);
    assert_true(config_parse(c, 3, bad, &e) < 0);
    assert_non_null(strstr(e.msg, "--proxy-bind"));
    free(c);
}

static void test_config_init_holds_the_documented_defaults(void **state)
{
    struct config *init = calloc(1, sizeof(*init)), *given = calloc(1, sizeof(*given));
    struct doc_row rows[64];
    size_t n = doc_rows(rows, 64);
    char host[256] = "";
    struct err e;

    config_init(init);
    for (size_t i = 0; i < n; i++) {
        const struct landing *l = landing_of(rows[i].flag);
        const struct span *own = &l->fields[0];
        const char *def = rows[i].def;
        unsigned long long lan, fast;
        char lan_s[32], fast_s[32];

        if (strcmp(def, "none") == 0 || strcmp(def, "bind address") == 0 ||
            strcmp(def, "resolv.conf") == 0) {
            /* empty: the agent derives the value */
            for (size_t f = 0; f < 4 && l->fields[f].size; f++)
                if (!all_zero(init, &l->fields[f]))
                    fail_msg("%s: documented as \"%s\" but set by config_init", l->flag, def);
        } else if (strcmp(def, "host name") == 0) {
            gethostname(host, sizeof(host) - 1);
            if (strcmp(init->node, host) != 0 && strcmp(init->node, "troupe") != 0)
                fail_msg("--node: \"%s\" is not the host name %s", init->node, host);
        } else if (strcmp(def, "the CPUs less one (1 to 8)") == 0) {
            long cpus = sysconf(_SC_NPROCESSORS_ONLN) - 1;
            uint32_t want = cpus < 1 ? 1 : cpus > 8 ? 8 : (uint32_t)cpus;
            if (init->proxy_workers != want)
                fail_msg("--proxy-workers: %u, not the CPUs less one, %u (1 to 8)",
                         init->proxy_workers, want);
        } else if (l->profile) {
            /* "1000, fast 200", or "4" for both: 0 in the struct, the
             * profile's value in the swim configuration */
            struct swim_config want, got;
            if (sscanf(def, "%llu, fast %llu", &lan, &fast) == 1)
                fast = lan;
            snprintf(lan_s, sizeof(lan_s), "%llu", lan);
            snprintf(fast_s, sizeof(fast_s), "%llu", fast);
            assert_true(all_zero(init, own));
            swim_of("lan", NULL, NULL, &want);
            swim_of("lan", l->flag, lan_s, &got);
            if (memcmp(&want, &got, sizeof(want)) != 0)
                fail_msg("%s: the lan profile's default is not %s", l->flag, lan_s);
            swim_of("fast", NULL, NULL, &want);
            swim_of("fast", l->flag, fast_s, &got);
            if (memcmp(&want, &got, sizeof(want)) != 0)
                fail_msg("%s: the fast profile's default is not %s", l->flag, fast_s);
        } else {
            /* a flag's "off" is written false; an option whose value
             * may be the word off (--dns, --cgroup-parent) takes it as is */
            char arg[128];
            snprintf(arg, sizeof(arg), "%s=%s", l->flag, def);
            if (parse_with(given, l, arg, NULL, &e) != 0 && strcmp(def, "off") == 0)
                snprintf(arg, sizeof(arg), "%s=false", l->flag);
            if (parse_with(given, l, arg, NULL, &e) != 0)
                fail_msg("%s: %s", arg, e.msg);
            if (memcmp((char *)init + own->off, (char *)given + own->off, own->size) != 0)
                fail_msg("%s: config_init does not hold the documented default", arg);
        }
    }
    free(init);
    free(given);
}

/* Consul's zone cannot be troupe's own: the names would mean two things. */
static void test_dns_alt_domain_is_not_the_domain(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct err e;
    char *same[] = {"agent", "--dns-alt-domain", "Troupe", NULL};
    char *theirs[] = {"agent", "--dns-domain", "consul", NULL};
    char *off[] = {"agent", "--dns-domain", "consul", "--dns-alt-domain", "off", NULL};

    config_init(c);
    assert_int_equal(config_parse(c, 3, same, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "both troupe."));
    config_init(c);
    assert_int_equal(config_parse(c, 3, theirs, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "--dns-alt-domain off"));
    config_init(c);
    assert_int_equal(config_parse(c, 5, off, &e), 0);
    assert_string_equal(c->dns_alt_domain, "");
    free(c);
}

/* The agent hands these to the DNS server as they are: the table's values
 * are the DNS server's own defaults. */
static void test_dns_defaults_are_the_dns_servers(void **state)
{
    struct config *c = calloc(1, sizeof(*c));
    struct dns_config dc;

    config_init(c);
    dns_config_default(&dc);
    assert_string_equal(c->dns_domain, dc.domain);
    assert_string_equal(c->datacenter, dc.datacenter);
    assert_int_equal(c->dns_service_ttl_s, dc.service_ttl_s);
    assert_int_equal(c->dns_node_ttl_s, dc.node_ttl_s);
    assert_int_equal(c->dns_negative_ttl_s, dc.negative_ttl_s);
    assert_int_equal(c->dns_only_passing, dc.only_passing);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_without_flags),
        cmocka_unit_test(test_every_flag_sets_its_value),
        cmocka_unit_test(test_dns_alt_domain_is_not_the_domain),
        cmocka_unit_test(test_fast_profile_changes_the_timings),
        cmocka_unit_test(test_dev_mode_binds_loopback_and_logs_debug),
        cmocka_unit_test(test_json_file_sets_values),
        cmocka_unit_test(test_flags_win_over_the_file),
        cmocka_unit_test(test_help_is_reported_and_printed_from_the_table),
        cmocka_unit_test(test_every_option_of_the_table_has_a_bad_value_case),
        cmocka_unit_test(test_every_bad_flag_value_is_refused_naming_the_flag),
        cmocka_unit_test(test_every_bad_json_value_is_refused_naming_the_key),
        cmocka_unit_test(test_wrong_json_types_are_refused_naming_the_key),
        cmocka_unit_test(test_bad_file_is_refused_naming_the_file),
        cmocka_unit_test(test_config_flag_without_a_file_is_refused),
        cmocka_unit_test(test_unknown_flags_and_arguments_are_refused),
        cmocka_unit_test(test_flag_without_its_value_is_refused),
        cmocka_unit_test(test_probe_timeout_must_be_below_the_interval),
        cmocka_unit_test(test_api_beyond_loopback_needs_tls_or_insecure),
        cmocka_unit_test(test_cgroup_parent_is_auto_off_or_a_path_from_the_root),
        cmocka_unit_test(test_acl_default_off_needs_a_loopback_api),
        cmocka_unit_test(test_too_many_joins_or_keys_are_refused),
        cmocka_unit_test(test_tags_beyond_the_wire_limit_are_refused_naming_the_flag),
        cmocka_unit_test(test_json_path_longer_than_the_limit_is_refused_not_cut),
        cmocka_unit_test(test_every_option_of_the_table_has_a_landing),
        cmocka_unit_test(test_every_option_lands_in_its_own_field_and_no_other),
        cmocka_unit_test(test_config_init_holds_the_documented_defaults),
        cmocka_unit_test(test_proxy_bind_is_an_address_without_a_port),
        cmocka_unit_test(test_dns_defaults_are_the_dns_servers),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
