/* sup_spec: parsing and validation of a service spec (see sup_spec.h).
 * Each field has one parser below; each parser names its field in every
 * error. Unknown keys are refused so that a typo never passes silently.
 * Pure: jansson and libc only. */
#include "core/sup_spec.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_field.h"
#include "core/mem.h"
#include "core/trust.h"

int sup_name_ok(const char *s)
{
    return jfield_name_ok(s, SUP_NAME_MAX);
}

int sup_secret_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SUP_SECRET_NAME_MAX || !isalnum((unsigned char)s[0]))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_' ||
              *s == '.'))
            return 0;
    return 1;
}

static int env_name_ok(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* ---- fields ---- */

static int parse_args(struct sup_spec *s, json_t *v, struct err *e)
{
    size_t i;
    json_t *a;
    char field[32];

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "args: expected an array of strings");
    if (json_array_size(v) > SUP_ARGS_MAX)
        return err_set(e, -EINVAL, "args: more than %d arguments", SUP_ARGS_MAX);
    s->args = xcalloc(json_array_size(v) + 1, sizeof(char *));
    json_array_foreach(v, i, a)
    {
        const char *str;
        snprintf(field, sizeof(field), "args[%zu]", i);
        if (!json_is_string(a) || json_string_length(a) == 0) {
            /* an empty argument is legal on a command line */
            if (json_is_string(a)) {
                s->args[s->n_args++] = xstrdup("");
                continue;
            }
            return err_set(e, -EINVAL, "%s: expected a string", field);
        }
        if (jfield_str(a, field, SUP_STR_MAX, &str, e) < 0)
            return e->code;
        s->args[s->n_args++] = xstrdup(str);
    }
    return 0;
}

static int parse_env(struct sup_spec *s, json_t *v, struct err *e)
{
    const char *k;
    json_t *val;
    char field[96];

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "env: expected an object of NAME: \"value\"");
    if (json_object_size(v) > SUP_ENV_MAX)
        return err_set(e, -EINVAL, "env: more than %d variables", SUP_ENV_MAX);
    s->env = xcalloc(json_object_size(v) + 1, sizeof(char *));
    json_object_foreach(v, k, val)
    {
        const char *str = "";
        size_t n;
        snprintf(field, sizeof(field), "env.%.64s", k);
        if (strlen(k) > 255 || !env_name_ok(k))
            return err_set(e, -EINVAL, "%s: a variable name is [A-Za-z_][A-Za-z0-9_]*", field);
        if (strcmp(k, "PORT") == 0 || strncmp(k, "PORT_", 5) == 0 || strncmp(k, "TROUPE_", 7) == 0)
            return err_set(e, -EINVAL, "%s: PORT, PORT_* and TROUPE_* are set by the agent", field);
        if (!json_is_string(val))
            return err_set(e, -EINVAL, "%s: expected a string", field);
        if (json_string_length(val) && jfield_str(val, field, SUP_STR_MAX, &str, e) < 0)
            return e->code;
        n = strlen(k) + strlen(str) + 2;
        s->env[s->n_env] = xmalloc(n);
        snprintf(s->env[s->n_env++], n, "%s=%s", k, str);
    }
    return 0;
}

static int parse_user(json_t *v, const char *field, char *dst, struct err *e)
{
    if (jfield_copy(v, field, dst, SUP_USER_MAX + 1, e) < 0)
        return e->code;
    for (const char *p = dst; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            return err_set(e, -EINVAL, "%s: \"%s\" is not a user or group name", field, dst);
    return 0;
}

static int parse_ports(struct sup_spec *s, json_t *v, struct err *e)
{
    const char *k;
    json_t *p;
    char field[64];

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "ports: expected an object of NAME: PORT or \"auto\"");
    if (json_object_size(v) > SUP_PORTS_MAX)
        return err_set(e, -EINVAL, "ports: more than %d ports", SUP_PORTS_MAX);
    json_object_foreach(v, k, p)
    {
        struct sup_port *sp = &s->ports[s->n_ports];
        snprintf(field, sizeof(field), "ports.%.40s", k);
        if (!*k || strlen(k) > SUP_PORT_NAME_MAX || !env_name_ok(k))
            return err_set(e, -EINVAL, "%s: a port name is [A-Za-z_][A-Za-z0-9_]*, at most %d",
                           field, SUP_PORT_NAME_MAX);
        memcpy(sp->name, k, strlen(k) + 1);
        if (json_is_string(p) && strcmp(json_string_value(p), "auto") == 0) {
            sp->port = 0;
        } else {
            uint32_t n;
            if (!json_is_integer(p))
                return err_set(e, -EINVAL, "%s: expected a port number or \"auto\"", field);
            if (jfield_u32(p, field, 1, 65535, &n, e) < 0)
                return e->code;
            sp->port = (uint16_t)n;
        }
        s->n_ports++;
    }
    return 0;
}

static int parse_restart(struct sup_spec *s, json_t *v, struct err *e)
{
    const char *r;

    if (jfield_str(v, "restart", 32, &r, e) < 0)
        return e->code;
    if (strcmp(r, "always") == 0)
        s->sup.restart = SUP_RESTART_ALWAYS;
    else if (strcmp(r, "on-failure") == 0)
        s->sup.restart = SUP_RESTART_ON_FAILURE;
    else if (strcmp(r, "never") == 0)
        s->sup.restart = SUP_RESTART_NEVER;
    else
        return err_set(e, -EINVAL, "restart: \"%s\" is not always, on-failure or never", r);
    return 0;
}

static int parse_backoff(struct sup_spec *s, json_t *v, struct err *e)
{
    static const char *const keys[] = {"first_ms", "max_ms", "reset_after_ms", "min_run_ms", NULL};
    json_t *f;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "backoff: expected an object");
    if (jfield_only_keys(v, "backoff", keys, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "first_ms")) &&
        jfield_u32(f, "backoff.first_ms", 1, 3600000, &s->sup.backoff_first_ms, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "max_ms")) &&
        jfield_u32(f, "backoff.max_ms", 1, 86400000, &s->sup.backoff_max_ms, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "reset_after_ms")) &&
        jfield_u32(f, "backoff.reset_after_ms", 1, 86400000, &s->sup.backoff_reset_ms, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "min_run_ms")) &&
        jfield_u32(f, "backoff.min_run_ms", 1, 86400000, &s->sup.min_run_ms, e) < 0)
        return e->code;
    if (s->sup.backoff_max_ms < s->sup.backoff_first_ms)
        return err_set(e, -EINVAL, "backoff.max_ms: below backoff.first_ms");
    return 0;
}

static int parse_start_limit(struct sup_spec *s, json_t *v, struct err *e)
{
    static const char *const keys[] = {"burst", "interval_ms", NULL};
    json_t *f;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "start_limit: expected an object");
    if (jfield_only_keys(v, "start_limit", keys, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "burst")) &&
        jfield_u32(f, "start_limit.burst", 0, SUP_START_BURST_MAX, &s->sup.start_burst, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "interval_ms")) &&
        jfield_u32(f, "start_limit.interval_ms", 1, 86400000, &s->sup.start_interval_ms, e) < 0)
        return e->code;
    return 0;
}

/* A check's "name" (default checkN) and "role". */
static int parse_check_name_role(struct sup_check *c, json_t *v, const char *where, size_t idx,
                                 struct err *e)
{
    char field[64];
    const char *str;
    json_t *f;

    snprintf(c->name, sizeof(c->name), "check%zu", idx + 1);
    if ((f = json_object_get(v, "name"))) {
        snprintf(field, sizeof(field), "%s.name", where);
        if (jfield_copy(f, field, c->name, sizeof(c->name), e) < 0)
            return e->code;
        for (const char *p = c->name; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("._:-", *p)))
                return err_set(e, -EINVAL, "%s: use [A-Za-z0-9._:-]", field);
    }
    if ((f = json_object_get(v, "role"))) {
        snprintf(field, sizeof(field), "%s.role", where);
        if (jfield_str(f, field, 16, &str, e) < 0)
            return e->code;
        if (strcmp(str, "readiness") == 0)
            c->role = SUP_CHECK_READINESS;
        else if (strcmp(str, "liveness") == 0)
            c->role = SUP_CHECK_LIVENESS;
        else
            return err_set(e, -EINVAL, "%s: \"%s\" is not readiness or liveness", field, str);
    }
    return 0;
}

/* Exactly one of http, tcp, exec (with its target) and ttl_ms. */
static int parse_check_kind(struct sup_check *c, json_t *v, const char *where, struct err *e)
{
    static const char *const kinds[] = {NULL, "http", "tcp", "exec"};
    char field[64];
    const char *str;
    json_t *f;

    for (uint8_t t = SUP_CHECK_HTTP; t <= SUP_CHECK_EXEC; t++) {
        if (!(f = json_object_get(v, kinds[t])))
            continue;
        snprintf(field, sizeof(field), "%s.%s", where, kinds[t]);
        if (c->type)
            return err_set(e, -EINVAL, "%s: a check has one of http, tcp, exec or ttl_ms", field);
        if (jfield_str(f, field, SUP_STR_MAX, &str, e) < 0)
            return e->code;
        if (t == SUP_CHECK_HTTP && strncmp(str, "http://", 7) != 0)
            return err_set(e, -EINVAL, "%s: expected an http:// URL", field);
        if (t == SUP_CHECK_TCP && !strchr(str, ':'))
            return err_set(e, -EINVAL, "%s: expected HOST:PORT", field);
        c->type = t;
        c->target = xstrdup(str);
    }
    if ((f = json_object_get(v, "ttl_ms"))) {
        snprintf(field, sizeof(field), "%s.ttl_ms", where);
        if (c->type)
            return err_set(e, -EINVAL, "%s: a check has one of http, tcp, exec or ttl_ms", field);
        if (jfield_u32(f, field, 100, 86400000, &c->ttl_ms, e) < 0)
            return e->code;
        c->type = SUP_CHECK_TTL;
    }
    if (!c->type)
        return err_set(e, -EINVAL, "%s: needs one of http, tcp, exec or ttl_ms", where);
    return 0;
}

static int parse_check(struct sup_check *c, json_t *v, size_t idx, struct err *e)
{
    static const char *const keys[] = {"name",
                                       "role",
                                       "http",
                                       "tcp",
                                       "exec",
                                       "ttl_ms",
                                       "interval_ms",
                                       "timeout_ms",
                                       "successes_before_passing",
                                       "failures_before_critical",
                                       NULL};
    char where[32], field[64];
    json_t *f;

    snprintf(where, sizeof(where), "checks[%zu]", idx);
    if (!json_is_object(v))
        return err_set(e, -EINVAL, "%s: expected an object", where);
    if (jfield_only_keys(v, where, keys, e) < 0)
        return e->code;
    c->interval_ms = 10000;
    c->timeout_ms = 2000;
    c->successes_before_passing = 1;
    c->failures_before_critical = 1;
    if (parse_check_name_role(c, v, where, idx, e) < 0 || parse_check_kind(c, v, where, e) < 0)
        return e->code;
#define U32_FIELD(key, lo, hi)                                                                     \
    if ((f = json_object_get(v, #key))) {                                                          \
        snprintf(field, sizeof(field), "%s." #key, where);                                         \
        if (jfield_u32(f, field, lo, hi, &c->key, e) < 0)                                          \
            return e->code;                                                                        \
    }
    U32_FIELD(interval_ms, 50, 86400000)
    U32_FIELD(timeout_ms, 10, 3600000)
    U32_FIELD(successes_before_passing, 1, 100)
    U32_FIELD(failures_before_critical, 1, 100)
#undef U32_FIELD
    if (c->type != SUP_CHECK_TTL && c->timeout_ms > c->interval_ms)
        return err_set(e, -EINVAL, "%s.timeout_ms: longer than interval_ms", where);
    return 0;
}

static int parse_checks(struct sup_spec *s, json_t *v, struct err *e)
{
    size_t i;
    json_t *c;

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "checks: expected an array of checks");
    if (json_array_size(v) > SUP_CHECKS_MAX)
        return err_set(e, -EINVAL, "checks: more than %d checks", SUP_CHECKS_MAX);
    json_array_foreach(v, i, c)
    {
        s->n_checks++; /* counted first, so release frees a half-parsed one */
        if (parse_check(&s->checks[i], c, i, e) < 0)
            return e->code;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->checks[k].name, s->checks[i].name) == 0)
                return err_set(e, -EINVAL, "checks[%zu].name: \"%s\" is used twice", i,
                               s->checks[i].name);
    }
    return 0;
}

static int parse_name_list(json_t *v, const char *what, size_t max, size_t cap,
                           int (*ok)(const char *), char *dst, size_t *n, struct err *e)
{
    size_t i;
    json_t *x;
    char field[48];

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "%s: expected an array of names", what);
    if (json_array_size(v) > max)
        return err_set(e, -EINVAL, "%s: more than %zu names", what, max);
    json_array_foreach(v, i, x)
    {
        char *slot = dst + i * cap;
        snprintf(field, sizeof(field), "%s[%zu]", what, i);
        if (jfield_copy(x, field, slot, cap, e) < 0)
            return e->code;
        if (ok && !ok(slot))
            return err_set(e, -EINVAL, "%s: \"%s\" is not a valid name", field, slot);
        for (size_t k = 0; k < i; k++)
            if (strcmp(dst + k * cap, slot) == 0)
                return err_set(e, -EINVAL, "%s: \"%s\" is listed twice", field, slot);
        (*n)++;
    }
    return 0;
}

static int cap_ok(const char *s)
{
    if (strncmp(s, "CAP_", 4) != 0 || !s[4])
        return 0;
    for (s += 4; *s; s++)
        if (!(isupper((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static int tag_ok(const char *s)
{
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int parse_limits(struct sup_spec *s, json_t *v, struct err *e)
{
    static const char *const keys[] = {"memory_mb", "cpu_percent", "pids", "nofile", NULL};
    json_t *f;
    uint64_t mb = 0;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "limits: expected an object");
    if (jfield_only_keys(v, "limits", keys, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "memory_mb"))) {
        if (jfield_u64(f, "limits.memory_mb", 4, 1u << 24, &mb, e) < 0)
            return e->code;
        s->limits.memory_bytes = mb << 20;
    }
    if ((f = json_object_get(v, "cpu_percent")) &&
        jfield_u32(f, "limits.cpu_percent", 1, 100000, &s->limits.cpu_percent, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "pids")) &&
        jfield_u32(f, "limits.pids", 1, 1u << 22, &s->limits.pids, e) < 0)
        return e->code;
    if ((f = json_object_get(v, "nofile")) &&
        jfield_u32(f, "limits.nofile", 16, 1u << 20, &s->limits.nofile, e) < 0)
        return e->code;
    return 0;
}

static int parse_runtime(struct sup_spec *s, json_t *v, struct err *e)
{
    const char *r;

    if (jfield_str(v, "runtime", 16, &r, e) < 0)
        return e->code;
    if (strcmp(r, "process") == 0)
        s->runtime = SUP_RUNTIME_PROCESS;
    else if (strcmp(r, "crun") == 0)
        s->runtime = SUP_RUNTIME_CRUN;
    else
        return err_set(e, -EINVAL, "runtime: \"%s\" is not process or crun", r);
    return 0;
}

static int parse_network(struct sup_spec *s, json_t *v, struct err *e)
{
    const char *r;

    if (jfield_str(v, "network", 16, &r, e) < 0)
        return e->code;
    if (strcmp(r, "host") == 0)
        s->own_network = 0;
    else if (strcmp(r, "own") == 0)
        s->own_network = 1;
    else
        return err_set(e, -EINVAL, "network: \"%s\" is not host or own", r);
    return 0;
}

/* What runs: the name, a command or a signed bundle, its arguments,
 * directory, environment and identity. */
static int parse_program(struct sup_spec *s, json_t *root, struct err *e)
{
    const char *str;
    json_t *f;

    if (!(f = json_object_get(root, "name")))
        return err_set(e, -EINVAL, "name: missing");
    if (jfield_copy(f, "name", s->name, sizeof(s->name), e) < 0)
        return e->code;
    if (!sup_name_ok(s->name))
        return err_set(e, -EINVAL, "name: \"%s\" is not a DNS label (a-z, 0-9, '-', at most 63)",
                       s->name);
    if ((f = json_object_get(root, "bundle"))) {
        if (json_object_get(root, "command"))
            return err_set(e, -EINVAL, "bundle: a spec names a command or a bundle, not both");
        if (jfield_str(f, "bundle", TRUST_NAME_MAX, &str, e) < 0)
            return e->code;
        if (!trust_target_name_valid(str))
            return err_set(e, -EINVAL,
                           "bundle: \"%.64s\" is not NAME@VERSION ([A-Za-z0-9._+-], one '@')", str);
        s->bundle = xstrdup(str);
    } else {
        if (!(f = json_object_get(root, "command")))
            return err_set(e, -EINVAL, "command: missing (or name a signed \"bundle\")");
        if (jfield_str(f, "command", SUP_STR_MAX, &str, e) < 0)
            return e->code;
        s->command = xstrdup(str);
    }
    if ((f = json_object_get(root, "args")) && parse_args(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "dir"))) {
        if (s->bundle)
            return err_set(e, -EINVAL, "dir: a bundle runs from its own directory");
        if (jfield_str(f, "dir", SUP_STR_MAX, &str, e) < 0)
            return e->code;
        if (str[0] != '/')
            return err_set(e, -EINVAL, "dir: \"%s\" is not an absolute path", str);
        s->dir = xstrdup(str);
    }
    if ((f = json_object_get(root, "env")) && parse_env(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "user")) && parse_user(f, "user", s->user, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "group")) && parse_user(f, "group", s->group, e) < 0)
        return e->code;
    return 0;
}

/* How many instances, and the ports they listen on. */
static int parse_instances(struct sup_spec *s, json_t *root, struct err *e)
{
    json_t *f;

    if ((f = json_object_get(root, "instances")) &&
        jfield_u32(f, "instances", 0, SUP_INSTANCES_MAX, &s->instances, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "ports")) && parse_ports(s, f, e) < 0)
        return e->code;
    for (size_t i = 0; i < s->n_ports; i++)
        if (s->ports[i].port && s->instances > 1)
            return err_set(e, -EINVAL,
                           "ports.%s: a fixed port cannot serve %u instances; use \"auto\"",
                           s->ports[i].name, s->instances);
    return 0;
}

/* When it restarts, how it stops, and the checks that judge its health. */
static int parse_lifecycle(struct sup_spec *s, json_t *root, struct err *e)
{
    const char *str;
    json_t *f;

    if ((f = json_object_get(root, "restart")) && parse_restart(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "backoff")) && parse_backoff(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "start_limit")) && parse_start_limit(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "stop_signal"))) {
        if (jfield_str(f, "stop_signal", 16, &str, e) < 0)
            return e->code;
        if ((s->stop_signal = sup_signal_parse(str)) < 0)
            return err_set(e, -EINVAL, "stop_signal: \"%s\" is not a signal", str);
    }
    if ((f = json_object_get(root, "stop_grace_ms")) &&
        jfield_u32(f, "stop_grace_ms", 0, 3600000, &s->sup.stop_grace_ms, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "checks")) && parse_checks(s, f, e) < 0)
        return e->code;
    return 0;
}

/* What it may see and use: secrets, runtime, root file system,
 * capabilities, network and resource limits. */
static int parse_sandbox(struct sup_spec *s, json_t *root, struct err *e)
{
    const char *str;
    json_t *f;

    if ((f = json_object_get(root, "secrets")) &&
        parse_name_list(f, "secrets", SUP_SECRETS_MAX, SUP_SECRET_NAME_MAX + 1, sup_secret_name_ok,
                        &s->secrets[0][0], &s->n_secrets, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "runtime"))) {
        if (parse_runtime(s, f, e) < 0)
            return e->code;
        s->runtime_set = 1;
    }
    if ((f = json_object_get(root, "rootfs"))) {
        if (s->bundle)
            return err_set(e, -EINVAL, "rootfs: a bundle is its own root file system");
        if (jfield_str(f, "rootfs", SUP_STR_MAX, &str, e) < 0)
            return e->code;
        if (str[0] != '/')
            return err_set(e, -EINVAL, "rootfs: \"%s\" is not an absolute path", str);
        s->rootfs = xstrdup(str);
    }
    if ((f = json_object_get(root, "capabilities")) &&
        parse_name_list(f, "capabilities", SUP_CAPS_MAX, sizeof(s->caps[0]), cap_ok, &s->caps[0][0],
                        &s->n_caps, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "network")) && parse_network(s, f, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "limits")) && parse_limits(s, f, e) < 0)
        return e->code;
    return 0;
}

/* "socket_activation": true: the agent binds the first port itself and
 * passes the listening socket as fd 3 (LISTEN_FDS, systemd's convention). */
static int parse_socket_activation(struct sup_spec *s, json_t *root, struct err *e)
{
    json_t *f = json_object_get(root, "socket_activation");

    if (!f)
        return 0;
    if (!json_is_boolean(f))
        return err_set(e, -EINVAL, "socket_activation: expected true or false");
    s->socket_activation = json_is_true(f);
    if (s->socket_activation && !s->n_ports)
        return err_set(e, -EINVAL, "socket_activation: needs a port (\"ports\") to bind");
    if (s->socket_activation && s->runtime == SUP_RUNTIME_CRUN)
        return err_set(e, -ENOTSUP, "socket_activation: only for runtime process (not crun yet)");
    return 0;
}

/* Fields that only a crun container has, checked once the runtime is known. */
static int check_runtime_fields(const struct sup_spec *s, struct err *e)
{
    if (s->runtime == SUP_RUNTIME_CRUN && !s->rootfs && !s->bundle)
        return err_set(e, -EINVAL, "rootfs: missing; runtime crun needs a rootfs");
    /* a bundle without a runtime of the spec's: its manifest decides, at start */
    if (s->runtime != SUP_RUNTIME_CRUN && (!s->bundle || s->runtime_set)) {
        if (s->rootfs)
            return err_set(e, -EINVAL, "rootfs: only for runtime crun");
        if (s->n_caps)
            return err_set(e, -EINVAL, "capabilities: only for runtime crun");
        if (s->own_network)
            return err_set(e, -EINVAL, "network: \"own\" only for runtime crun");
    }
    return 0;
}

static int parse_obj(struct sup_spec *s, json_t *root, struct err *e)
{
    static const char *const keys[] = {
        "name",        "command",      "bundle",        "args",   "dir",     "env",
        "user",        "group",        "instances",     "ports",  "restart", "backoff",
        "start_limit", "stop_signal",  "stop_grace_ms", "checks", "secrets", "runtime",
        "rootfs",      "capabilities", "network",       "limits", "tags",    "socket_activation",
        NULL};
    json_t *f;

    if (!json_is_object(root))
        return err_set(e, -EINVAL, "a spec is a JSON object");
    if (jfield_only_keys(root, "", keys, e) < 0 || parse_program(s, root, e) < 0 ||
        parse_instances(s, root, e) < 0 || parse_lifecycle(s, root, e) < 0 ||
        parse_sandbox(s, root, e) < 0)
        return e->code;
    if ((f = json_object_get(root, "tags")) &&
        parse_name_list(f, "tags", SUP_TAGS_MAX, SUP_TAG_MAX + 1, tag_ok, &s->tags[0][0],
                        &s->n_tags, e) < 0)
        return e->code;
    if (check_runtime_fields(s, e) < 0)
        return e->code;
    return parse_socket_activation(s, root, e);
}

int sup_spec_parse(struct sup_spec *s, const char *text, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(s, 0, sizeof(*s));
    sup_cfg_default(&s->sup);
    s->instances = 1;
    s->stop_signal = 15; /* SIGTERM */
    if (len > SUP_SPEC_TEXT_MAX)
        return err_set(e, -EMSGSIZE, "spec: larger than %u bytes", SUP_SPEC_TEXT_MAX);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return err_set(e, -EINVAL, "spec: not JSON: %s (line %d)", jerr.text, jerr.line);
    rc = parse_obj(s, root, e);
    if (rc == 0)
        s->json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (rc < 0 || !s->json) {
        sup_spec_release(s);
        return rc < 0 ? rc : err_set(e, -ENOMEM, "spec: cannot encode");
    }
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void sup_spec_release(struct sup_spec *s)
{
    if (!s)
        return;
    free(s->command);
    free(s->bundle);
    free_strv(s->args, s->n_args);
    free(s->dir);
    free_strv(s->env, s->n_env);
    for (size_t i = 0; i < s->n_checks; i++)
        free(s->checks[i].target);
    free(s->rootfs);
    free(s->json);
    memset(s, 0, sizeof(*s));
}

/* ---- privilege ---- */

int sup_spec_privilege_err(struct err *e, const char *service, const char *field, const char *what)
{
    return err_set(e, -EPERM,
                   "field \"%s\": %s needs an agent started with --allow-root-services and a "
                   "token with run:write on service \"%s\"",
                   field, what, service);
}

static int is_root_name(const char *s)
{
    return strcmp(s, "root") == 0 || strcmp(s, "0") == 0;
}

int sup_spec_check_privilege(const struct sup_spec *s, int allow_root, struct err *e)
{
    char what[64], field[48];

    if (allow_root)
        return 0;
    if (is_root_name(s->user)) {
        snprintf(what, sizeof(what), "\"%s\"", s->user);
        return sup_spec_privilege_err(e, s->name, "user", what);
    }
    if (is_root_name(s->group)) {
        snprintf(what, sizeof(what), "\"%s\"", s->group);
        return sup_spec_privilege_err(e, s->name, "group", what);
    }
    if (s->n_caps)
        return sup_spec_privilege_err(e, s->name, "capabilities", s->caps[0]);
    for (size_t i = 0; i < s->n_ports && !s->own_network; i++) {
        if (s->ports[i].port == 0 || s->ports[i].port >= 1024)
            continue;
        snprintf(field, sizeof(field), "ports.%s", s->ports[i].name);
        snprintf(what, sizeof(what), "privileged port %u on the host's network",
                 (unsigned)s->ports[i].port);
        return sup_spec_privilege_err(e, s->name, field, what);
    }
    return 0;
}
