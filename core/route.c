/* route: parsing, validation and canonical JSON of a proxy route (see
 * route.h). One parser per field or object; every error names its field,
 * unknown fields are refused so that a typo never passes silently. */
#include "core/route.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json_field.h"

int route_name_ok(const char *s)
{
    return jfield_name_ok(s, ROUTE_NAME_MAX);
}

const char *route_protocol_name(uint8_t p)
{
    return p == ROUTE_TCP ? "tcp" : "http";
}

const char *route_balance_name(uint8_t b)
{
    return b == ROUTE_ROUND_ROBIN ? "round_robin" : "p2c";
}

/* A version label: 1..64 printable ASCII bytes, no space. */
static int version_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ROUTE_VERSION_MAX)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

/* An HTTP header name: a token (RFC 9110). */
static int header_ok(const char *s)
{
    if (!*s || strlen(s) > ROUTE_HEADER_MAX)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    return 1;
}

static int parse_split(struct route *r, json_t *v, struct err *e)
{
    const char *k;
    json_t *w;
    uint32_t sum = 0;
    char field[96];

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "split: expected an object of version: weight");
    if (json_object_size(v) == 0)
        return err_set(e, -EINVAL, "split: must name at least one version");
    if (json_object_size(v) > ROUTE_SPLIT_MAX)
        return err_set(e, -EINVAL, "split: more than %d versions", ROUTE_SPLIT_MAX);
    json_object_foreach(v, k, w)
    {
        struct route_split *s = &r->split[r->n_split];

        snprintf(field, sizeof(field), "split.%.64s", k);
        if (!version_ok(k))
            return err_set(e, -EINVAL, "%s: a version is 1-%d printable bytes without spaces",
                           field, ROUTE_VERSION_MAX);
        if (jfield_u32(w, field, 0, 100, &s->weight, e) < 0)
            return -EINVAL;
        memcpy(s->version, k, strlen(k) + 1);
        sum += s->weight;
        r->n_split++;
    }
    if (sum == 0)
        return err_set(e, -EINVAL, "split: the weights sum to 0 (no version gets requests)");
    return 0;
}

static int parse_match(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"header", "value", "version", NULL};
    char where[32], field[48];
    size_t i;
    json_t *m;

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "match: expected an array");
    if (json_array_size(v) > ROUTE_MATCH_MAX)
        return err_set(e, -EINVAL, "match: more than %d entries", ROUTE_MATCH_MAX);
    json_array_foreach(v, i, m)
    {
        struct route_match *x = &r->match[i];

        snprintf(where, sizeof(where), "match[%zu]", i);
        if (!json_is_object(m))
            return err_set(e, -EINVAL, "%s: expected an object", where);
        if (jfield_only_keys(m, where, keys, e) < 0)
            return -EINVAL;
        snprintf(field, sizeof(field), "%s.header", where);
        if (jfield_copy(json_object_get(m, "header"), field, x->header, sizeof(x->header), e) < 0)
            return -EINVAL;
        if (!header_ok(x->header))
            return err_set(e, -EINVAL, "%s: not an HTTP header name", field);
        snprintf(field, sizeof(field), "%s.value", where);
        if (jfield_copy(json_object_get(m, "value"), field, x->value, sizeof(x->value), e) < 0)
            return -EINVAL;
        snprintf(field, sizeof(field), "%s.version", where);
        if (jfield_copy(json_object_get(m, "version"), field, x->version, sizeof(x->version), e) <
            0)
            return -EINVAL;
        if (!version_ok(x->version))
            return err_set(e, -EINVAL, "%s: 1-%d printable bytes without spaces", field,
                           ROUTE_VERSION_MAX);
        r->n_match++;
    }
    return 0;
}

static int parse_balance(struct route *r, json_t *v, struct err *e)
{
    const char *b = json_string_value(v);
    size_t n = json_string_length(v);

    if (b && n == 3 && strcmp(b, "p2c") == 0)
        r->balance = ROUTE_P2C;
    else if (b && n == 11 && strcmp(b, "round_robin") == 0)
        r->balance = ROUTE_ROUND_ROBIN;
    else
        return err_set(e, -EINVAL, "balance: expected \"p2c\" or \"round_robin\"");
    return 0;
}

/* {"header": NAME} or {"cookie": NAME}: one of the two; a cookie's name is
 * a token too (RFC 6265). */
static int parse_sticky(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"header", "cookie", NULL};
    json_t *h, *c;
    const char *field;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "sticky: expected {\"header\": NAME} or {\"cookie\": NAME}");
    if (jfield_only_keys(v, "sticky", keys, e) < 0)
        return -EINVAL;
    h = json_object_get(v, "header");
    c = json_object_get(v, "cookie");
    if (!h == !c)
        return err_set(e, -EINVAL, "sticky: exactly one of \"header\" or \"cookie\"");
    field = h ? "sticky.header" : "sticky.cookie";
    if (jfield_copy(h ? h : c, field, r->sticky_name, sizeof(r->sticky_name), e) < 0)
        return -EINVAL;
    if (!header_ok(r->sticky_name))
        return err_set(e, -EINVAL, "%s: not a %s name (a token of at most %d bytes)", field,
                       h ? "header" : "cookie", ROUTE_HEADER_MAX);
    r->sticky = h ? ROUTE_STICKY_HEADER : ROUTE_STICKY_COOKIE;
    return 0;
}

static int parse_timeouts(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"connect_ms", "request_ms", "idle_ms", "upstream_idle_ms",
                                       NULL};
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "timeouts: expected an object");
    if (jfield_only_keys(v, "timeouts", keys, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "connect_ms")) &&
        jfield_u32(x, "timeouts.connect_ms", 1, 60000, &r->connect_ms, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "request_ms")) &&
        jfield_u32(x, "timeouts.request_ms", 1, 3600000, &r->request_ms, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "idle_ms")) &&
        jfield_u32(x, "timeouts.idle_ms", 1000, 3600000, &r->idle_ms, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "upstream_idle_ms")) &&
        jfield_u32(x, "timeouts.upstream_idle_ms", 0, 3600000, &r->upstream_idle_ms, e) < 0)
        return -EINVAL;
    return 0;
}

static int parse_retries(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"attempts", "budget_percent", "budget_per_s", "backoff_ms",
                                       NULL};
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "retries: expected an object");
    if (jfield_only_keys(v, "retries", keys, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "attempts")) &&
        jfield_u32(x, "retries.attempts", 1, 5, &r->attempts, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "budget_percent")) &&
        jfield_u32(x, "retries.budget_percent", 0, 100, &r->budget_percent, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "budget_per_s")) &&
        jfield_u32(x, "retries.budget_per_s", 0, 100000, &r->budget_per_s, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "backoff_ms")) &&
        jfield_u32(x, "retries.backoff_ms", 0, 10000, &r->backoff_ms, e) < 0)
        return -EINVAL;
    return 0;
}

static int parse_limits(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"max_requests", "max_pending", NULL};
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "limits: expected an object");
    if (jfield_only_keys(v, "limits", keys, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "max_requests")) &&
        jfield_u32(x, "limits.max_requests", 1, 1000000, &r->max_requests, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "max_pending")) &&
        jfield_u32(x, "limits.max_pending", 0, 1000000, &r->max_pending, e) < 0)
        return -EINVAL;
    return 0;
}

/* An absolute path without "..", control bytes or a trailing '/'. */
static int parse_access_log(struct route *r, json_t *v, struct err *e)
{
    const char *s;
    size_t n;

    if (jfield_copy(v, "access_log", r->access_log, sizeof(r->access_log), e) < 0)
        return -EINVAL;
    s = r->access_log;
    n = strlen(s);
    if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "/../") ||
        (n >= 3 && strcmp(s + n - 3, "/..") == 0))
        return err_set(e, -EINVAL, "access_log: an absolute path of a file, without \"..\"");
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            return err_set(e, -EINVAL, "access_log: control character in the path");
    return 0;
}

static int parse_outlier(struct route *r, json_t *v, struct err *e)
{
    static const char *const keys[] = {"consecutive_failures", "base_ejection_ms",
                                       "max_ejection_ms", "max_ejected_percent", NULL};
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "outlier: expected an object");
    if (jfield_only_keys(v, "outlier", keys, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "consecutive_failures")) &&
        jfield_u32(x, "outlier.consecutive_failures", 1, 1000, &r->outlier_failures, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "base_ejection_ms")) &&
        jfield_u32(x, "outlier.base_ejection_ms", 1, 3600000, &r->outlier_base_ms, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "max_ejection_ms")) &&
        jfield_u32(x, "outlier.max_ejection_ms", 1, 3600000, &r->outlier_max_ms, e) < 0)
        return -EINVAL;
    if ((x = json_object_get(v, "max_ejected_percent")) &&
        jfield_u32(x, "outlier.max_ejected_percent", 0, 100, &r->outlier_max_percent, e) < 0)
        return -EINVAL;
    if (r->outlier_max_ms < r->outlier_base_ms)
        return err_set(e, -EINVAL, "outlier.max_ejection_ms: %u is below base_ejection_ms %u",
                       r->outlier_max_ms, r->outlier_base_ms);
    return 0;
}

/* A host name: 1-253 bytes of DNS labels ([a-z0-9-], 1-63 each, not
 * starting or ending with '-'), lower case. */
static int host_ok(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > ROUTE_HOST_MAX)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = s[i];
        if (ch == '.' || ch == 0) {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return 0;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int parse_hosts(struct route *r, json_t *v, struct err *e)
{
    char field[32];
    size_t i;
    json_t *h;

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "hosts: expected an array of host names");
    if (json_array_size(v) > ROUTE_HOSTS_MAX)
        return err_set(e, -EINVAL, "hosts: more than %d names", ROUTE_HOSTS_MAX);
    json_array_foreach(v, i, h)
    {
        snprintf(field, sizeof(field), "hosts[%zu]", i);
        if (jfield_copy(h, field, r->hosts[i], sizeof(r->hosts[i]), e) < 0)
            return -EINVAL;
        if (!host_ok(r->hosts[i]))
            return err_set(e, -EINVAL,
                           "%s: a host name in lower case, labels of [a-z0-9-] (no port)", field);
        r->n_hosts++;
    }
    return 0;
}

static int parse_prefix(struct route *r, json_t *v, struct err *e)
{
    if (jfield_copy(v, "prefix", r->prefix, sizeof(r->prefix), e) < 0)
        return -EINVAL;
    if (r->prefix[0] != '/')
        return err_set(e, -EINVAL, "prefix: a path prefix starts with '/'");
    for (const char *p = r->prefix; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '?' || *p == '#')
            return err_set(e, -EINVAL, "prefix: printable bytes without spaces, '?' or '#'");
    return 0;
}

size_t route_ingress_match(const struct route *r, const char *host, size_t host_len,
                           const char *path, size_t path_len)
{
    size_t hl = 0, pl = strlen(r->prefix);

    while (hl < host_len && host[hl] != ':')
        hl++;
    if (hl && host[hl - 1] == '.')
        hl--; /* a fully qualified name */
    if (pl > path_len || memcmp(r->prefix, path, pl) != 0)
        return 0;
    for (size_t i = 0; i < r->n_hosts; i++)
        if (strlen(r->hosts[i]) == hl && strncasecmp(r->hosts[i], host, hl) == 0)
            return 1 + pl;
    return 0;
}

static int parse_obj(struct route *r, json_t *root, struct err *e)
{
    static const char *const keys[] = {
        "name",    "service", "port",   "protocol", "split",      "match",   "timeouts", "retries",
        "outlier", "hosts",   "prefix", "limits",   "access_log", "balance", "sticky",   NULL};
    json_t *v;
    uint32_t port = 0;

    if (!json_is_object(root))
        return err_set(e, -EINVAL, "route: expected a JSON object");
    if (jfield_only_keys(root, "", keys, e) < 0)
        return -EINVAL;
    if (!(v = json_object_get(root, "service")))
        return err_set(e, -EINVAL, "service: missing");
    if (jfield_copy(v, "service", r->service, sizeof(r->service), e) < 0)
        return -EINVAL;
    if (!route_name_ok(r->service))
        return err_set(e, -EINVAL, "service: 1-%d of [a-z0-9-], not starting or ending with '-'",
                       ROUTE_NAME_MAX);
    if ((v = json_object_get(root, "name"))) {
        if (jfield_copy(v, "name", r->name, sizeof(r->name), e) < 0)
            return -EINVAL;
        if (!route_name_ok(r->name))
            return err_set(e, -EINVAL, "name: 1-%d of [a-z0-9-], not starting or ending with '-'",
                           ROUTE_NAME_MAX);
        r->name_given = 1;
    } else {
        memcpy(r->name, r->service, sizeof(r->name));
    }
    if (!(v = json_object_get(root, "port")))
        return err_set(e, -EINVAL, "port: missing");
    if (jfield_u32(v, "port", 1, 65535, &port, e) < 0)
        return -EINVAL;
    r->port = (uint16_t)port;
    if ((v = json_object_get(root, "protocol"))) {
        const char *p = json_string_value(v);
        if (p && strcmp(p, "http") == 0 && json_string_length(v) == 4)
            r->protocol = ROUTE_HTTP;
        else if (p && strcmp(p, "tcp") == 0 && json_string_length(v) == 3)
            r->protocol = ROUTE_TCP;
        else
            return err_set(e, -EINVAL, "protocol: expected \"http\" or \"tcp\"");
    }
    if ((v = json_object_get(root, "split")) && parse_split(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "match"))) {
        if (parse_match(r, v, e) < 0)
            return -EINVAL;
        if (r->n_match && r->protocol == ROUTE_TCP)
            return err_set(e, -EINVAL, "match: header matches need protocol \"http\"");
    }
    if ((v = json_object_get(root, "timeouts")) && parse_timeouts(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "retries")) && parse_retries(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "outlier")) && parse_outlier(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "hosts")) && parse_hosts(r, v, e) < 0)
        return -EINVAL;
    if (r->n_hosts && r->protocol == ROUTE_TCP)
        return err_set(e, -EINVAL, "hosts: the ingress routes HTTP only (protocol is \"tcp\")");
    if ((v = json_object_get(root, "prefix"))) {
        if (parse_prefix(r, v, e) < 0)
            return -EINVAL;
        if (!r->n_hosts)
            return err_set(e, -EINVAL, "prefix: needs hosts (the ingress matches the host first)");
    }
    if ((v = json_object_get(root, "limits")) && parse_limits(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "access_log")) && parse_access_log(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "balance")) && parse_balance(r, v, e) < 0)
        return -EINVAL;
    if ((v = json_object_get(root, "sticky"))) {
        if (parse_sticky(r, v, e) < 0)
            return -EINVAL;
        if (r->protocol == ROUTE_TCP)
            return err_set(e, -EINVAL, "sticky: needs protocol \"http\" (a header or a cookie)");
    }
    return 0;
}

static void defaults(struct route *r)
{
    memset(r, 0, sizeof(*r));
    r->protocol = ROUTE_HTTP;
    r->connect_ms = 1000;
    r->request_ms = 15000;
    r->idle_ms = 60000;
    r->upstream_idle_ms = ROUTE_UPSTREAM_IDLE_MS;
    r->attempts = 2;
    r->budget_percent = 20;
    r->budget_per_s = 10;
    r->backoff_ms = 25;
    r->max_requests = 1024;
    r->max_pending = 1024;
    r->outlier_failures = 5;
    r->outlier_base_ms = 30000;
    r->outlier_max_ms = 300000;
    r->outlier_max_percent = 50;
    r->prefix[0] = '/';
}

int route_parse(struct route *r, const char *text, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    defaults(r);
    if (len > ROUTE_TEXT_MAX)
        return err_set(e, -EMSGSIZE, "route: larger than %u bytes", ROUTE_TEXT_MAX);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return err_set(e, -EINVAL, "route: not JSON: %s (line %d)", jerr.text, jerr.line);
    rc = parse_obj(r, root, e);
    json_decref(root);
    if (rc < 0)
        defaults(r);
    return rc;
}

char *route_json(const struct route *r)
{
    json_t *o, *split = json_object(), *match = json_array(), *hosts = json_array();
    char *s;

    for (size_t i = 0; i < r->n_split; i++)
        json_object_set_new(split, r->split[i].version, json_integer(r->split[i].weight));
    for (size_t i = 0; i < r->n_match; i++)
        json_array_append_new(match,
                              json_pack("{s:s, s:s, s:s}", "header", r->match[i].header, "value",
                                        r->match[i].value, "version", r->match[i].version));
    for (size_t i = 0; i < r->n_hosts; i++)
        json_array_append_new(hosts, json_string(r->hosts[i]));
    o = json_pack(
        "{s:s, s:s, s:i, s:s, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
        "name", r->name, "service", r->service, "port", (int)r->port, "protocol",
        route_protocol_name(r->protocol), "timeouts", "connect_ms", (json_int_t)r->connect_ms,
        "request_ms", (json_int_t)r->request_ms, "idle_ms", (json_int_t)r->idle_ms, "retries",
        "attempts", (json_int_t)r->attempts, "budget_percent", (json_int_t)r->budget_percent,
        "budget_per_s", (json_int_t)r->budget_per_s, "backoff_ms", (json_int_t)r->backoff_ms,
        "outlier", "consecutive_failures", (json_int_t)r->outlier_failures, "base_ejection_ms",
        (json_int_t)r->outlier_base_ms, "max_ejection_ms", (json_int_t)r->outlier_max_ms,
        "max_ejected_percent", (json_int_t)r->outlier_max_percent, "limits", "max_requests",
        (json_int_t)r->max_requests, "max_pending", (json_int_t)r->max_pending);
    /* written only when set, so routes without it read the same on an
     * agent that does not know it */
    if (o && r->upstream_idle_ms != ROUTE_UPSTREAM_IDLE_MS)
        json_object_set_new(json_object_get(o, "timeouts"), "upstream_idle_ms",
                            json_integer(r->upstream_idle_ms));
    if (o && r->access_log[0])
        json_object_set_new(o, "access_log", json_string(r->access_log));
    if (!o) {
        json_decref(split);
        json_decref(match);
        json_decref(hosts);
        return NULL;
    }
    if (r->n_split)
        json_object_set_new(o, "split", split);
    else
        json_decref(split);
    if (r->n_match)
        json_object_set_new(o, "match", match);
    else
        json_decref(match);
    /* balance and sticky are written only when not the default, as hosts
     * below: a route that does not use them keeps the canonical JSON it had,
     * and agents that predate them (which refuse unknown fields) still read
     * it */
    if (r->balance != ROUTE_P2C)
        json_object_set_new(o, "balance", json_string(route_balance_name(r->balance)));
    if (r->sticky != ROUTE_STICKY_NONE)
        json_object_set_new(o, "sticky",
                            json_pack("{s:s}",
                                      r->sticky == ROUTE_STICKY_HEADER ? "header" : "cookie",
                                      r->sticky_name));
    if (r->n_hosts) {
        /* written only with hosts, so routes without stay as they were */
        json_object_set_new(o, "hosts", hosts);
        json_object_set_new(o, "prefix", json_string(r->prefix));
    } else {
        json_decref(hosts);
    }
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}
