/* services: service definitions as JSON (see services.h). Owns the JSON
 * shape of a registration and its messages; what a valid instance is stays
 * in core/cat, what a valid check timing is in core/health. */
#include "agent/catalog/services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define DUR_EXAMPLE "a duration such as \"10s\", \"500ms\", \"1m\""

void catalog_def_release(struct catalog_def *d)
{
    for (size_t i = 0; i < CATALOG_CHECKS_MAX; i++) {
        for (size_t k = 0; k < d->checks[i].argc && k < CATALOG_ARGS_MAX; k++) {
            free(d->checks[i].argv[k]);
            d->checks[i].argv[k] = NULL;
        }
        d->checks[i].argc = 0;
    }
}

int services_duration(const char *s, uint64_t *ms)
{
    char *end;
    unsigned long long v;
    uint64_t mult;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else
        return -1;
    if (v > UINT64_MAX / mult / 1000)
        return -1;
    *ms = v * mult;
    return 0;
}

int services_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon, *h = s, *hend;
    char *end;
    unsigned long p;

    if (*s == '[') {
        hend = strchr(s, ']');
        if (!hend || hend[1] != ':')
            return -1;
        h = s + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return -1;
        hend = colon;
    }
    if (hend == h || (size_t)(hend - h) >= cap)
        return -1;
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p == 0 || p > 65535)
        return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int services_parse_url(const char *url, char *host, size_t cap, uint16_t *port, char *path,
                       size_t path_cap)
{
    const char *rest, *slash;
    char hp[300];
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    rest = url + 7;
    slash = strchr(rest, '/');
    n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(hp))
        return -1;
    memcpy(hp, rest, n);
    hp[n] = '\0';
    if (strchr(hp, '@') || strpbrk(url, " \r\n\t"))
        return -1;
    if (services_parse_hostport(hp, host, cap, port) < 0) {
        /* no port: 80 */
        if (strchr(hp, ':') || strlen(hp) >= cap)
            return -1;
        memcpy(host, hp, n + 1);
        *port = 80;
    }
    if (snprintf(path, path_cap, "%s", slash ? slash : "/") >= (int)path_cap)
        return -1;
    return 0;
}

/* ---- reading fields ---- */

static int get_string(json_t *o, const char *key, const char *where, char *out, size_t cap,
                      int required, struct err *e)
{
    json_t *v = json_object_get(o, key);

    if (!v) {
        if (required)
            return err_set(e, -EINVAL, "%s%s: missing", where, key);
        return 0;
    }
    if (!json_is_string(v))
        return err_set(e, -EINVAL, "%s%s: expected a string", where, key);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        return err_set(e, -EINVAL, "%s%s: longer than %zu bytes or holds a NUL", where, key,
                       cap - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 1;
}

static int get_uint(json_t *o, const char *key, const char *where, uint64_t min, uint64_t max,
                    uint64_t *out, struct err *e)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max)
        return err_set(e, -EINVAL, "%s%s: expected a whole number from %llu to %llu", where, key,
                       (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static int get_duration(json_t *o, const char *key, const char *where, uint64_t *ms, struct err *e)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_string(v) || services_duration(json_string_value(v), ms) < 0)
        return err_set(e, -EINVAL, "%s%s: expected %s", where, key, DUR_EXAMPLE);
    return 1;
}

static int only_keys(json_t *o, const char *where, const char *const *keys, struct err *e)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        size_t i;
        for (i = 0; keys[i]; i++)
            if (strcmp(keys[i], k) == 0)
                break;
        if (!keys[i])
            return err_set(e, -EINVAL, "%s%s: unknown field", where, k);
    }
    return 0;
}

static const char *const check_keys[] = {"id",
                                         "name",
                                         "http",
                                         "tcp",
                                         "args",
                                         "ttl",
                                         "interval",
                                         "timeout",
                                         "successes_before_passing",
                                         "failures_before_critical",
                                         "deregister_critical_after",
                                         NULL};

/* A period of a check in ms: above 0, below 49 days (a uint32_t). 1 when
 * given, 0 when absent (*ms unchanged). */
static int get_period(json_t *o, const char *key, const char *where, uint32_t *ms, struct err *e)
{
    uint64_t v;
    int rc = get_duration(o, key, where, &v, e);

    if (rc <= 0)
        return rc;
    if (v == 0 || v > UINT32_MAX)
        return err_set(e, -EINVAL, "%s%s: must be above 0 and below 49 days", where, key);
    *ms = (uint32_t)v;
    return 1;
}

/* An exec check's "args": 1..CATALOG_ARGS_MAX non-empty strings. */
static int check_args(json_t *args, const char *w, struct catalog_check_def *c, struct err *e)
{
    size_t i;
    json_t *a;

    if (!json_is_array(args) || json_array_size(args) == 0 ||
        json_array_size(args) > CATALOG_ARGS_MAX)
        return err_set(e, -EINVAL, "%sargs: expected an array of 1 to %d strings", w,
                       CATALOG_ARGS_MAX);
    json_array_foreach(args, i, a)
    {
        if (!json_is_string(a) || json_string_length(a) == 0 ||
            strlen(json_string_value(a)) != json_string_length(a) || json_string_length(a) > 4096)
            return err_set(e, -EINVAL, "%sargs[%zu]: expected a non-empty string", w, i);
        c->argv[c->argc++] = xstrdup(json_string_value(a));
    }
    return 0;
}

/* Which of http, tcp, args and ttl the check is (exactly one), with its
 * target; *type is its HEALTH_* kind. */
static int check_kind(json_t *j, const char *where, const char *w, struct catalog_check_def *c,
                      uint8_t *type, struct err *e)
{
    char host[256], path[CATALOG_TARGET_MAX];
    uint16_t port;
    int kinds = 0, rc;
    json_t *args;

    if (json_object_get(j, "http")) {
        kinds++;
        *type = HEALTH_HTTP;
        if ((rc = get_string(j, "http", w, c->target, sizeof(c->target), 1, e)) < 0)
            return rc;
        if (services_parse_url(c->target, host, sizeof(host), &port, path, sizeof(path)) < 0)
            return err_set(e, -EINVAL, "%shttp: expected a URL http://HOST[:PORT]/PATH", w);
    }
    if (json_object_get(j, "tcp")) {
        kinds++;
        *type = HEALTH_TCP;
        if ((rc = get_string(j, "tcp", w, c->target, sizeof(c->target), 1, e)) < 0)
            return rc;
        if (services_parse_hostport(c->target, host, sizeof(host), &port) < 0)
            return err_set(e, -EINVAL, "%stcp: expected HOST:PORT", w);
    }
    if ((args = json_object_get(j, "args"))) {
        kinds++;
        *type = HEALTH_EXEC;
        if ((rc = check_args(args, w, c, e)) < 0)
            return rc;
    }
    if (json_object_get(j, "ttl")) {
        kinds++;
        *type = HEALTH_TTL;
    }
    if (kinds != 1)
        return err_set(e, -EINVAL, "%s: expected exactly one of http, tcp, args, ttl", where);
    return 0;
}

/* The periods and thresholds of c->cfg, over the kind's defaults. */
static int check_timing(json_t *j, const char *w, struct catalog_check_def *c, struct err *e)
{
    uint64_t v;
    int rc;

    if (c->cfg.type == HEALTH_TTL && (rc = get_period(j, "ttl", w, &c->cfg.ttl_ms, e)) < 0)
        return rc;
    if ((rc = get_period(j, "interval", w, &c->cfg.interval_ms, e)) < 0 ||
        (rc = get_period(j, "timeout", w, &c->cfg.timeout_ms, e)) < 0)
        return rc;
    if (rc == 0 && c->cfg.timeout_ms >= c->cfg.interval_ms) /* no timeout given */
        c->cfg.timeout_ms = c->cfg.interval_ms / 2 ? c->cfg.interval_ms / 2 : 1;
    if ((rc = get_uint(j, "successes_before_passing", w, 1, 100, &v, e)) < 0)
        return rc;
    if (rc)
        c->cfg.successes_before_passing = (uint32_t)v;
    if ((rc = get_uint(j, "failures_before_critical", w, 1, 100, &v, e)) < 0)
        return rc;
    if (rc)
        c->cfg.failures_before_critical = (uint32_t)v;
    if ((rc = get_duration(j, "deregister_critical_after", w, &v, e)) < 0)
        return rc;
    if (rc)
        c->cfg.deregister_critical_after_ms = v;
    return 0;
}

int services_parse_check(json_t *j, const char *where, struct catalog_check_def *c, struct err *e)
{
    char w[96];
    uint8_t type = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    if (!json_is_object(j))
        return err_set(e, -EINVAL, "%s: expected an object", where);
    snprintf(w, sizeof(w), "%s.", where);
    if ((rc = only_keys(j, w, check_keys, e)) < 0)
        return rc;
    if ((rc = get_string(j, "id", w, c->id, sizeof(c->id), 0, e)) < 0 ||
        (rc = get_string(j, "name", w, c->name, sizeof(c->name), 0, e)) < 0)
        return rc;
    if ((rc = check_kind(j, where, w, c, &type, e)) < 0)
        return rc;
    health_cfg_default(&c->cfg, type);
    if ((rc = check_timing(j, w, c, e)) < 0)
        return rc;
    if ((rc = health_cfg_check(&c->cfg, e)) < 0)
        return err_wrap(e, "%s", where);
    return 0;
}

static const char *const service_keys[] = {"id",      "name",   "address", "port",   "tags", "meta",
                                           "version", "weight", "check",   "checks", NULL};

static int parse_tags(json_t *v, struct cat_instance *in, struct err *e)
{
    json_t *item;
    size_t i;

    if (!json_is_array(v) || json_array_size(v) > CAT_TAGS_MAX)
        return err_set(e, -EINVAL, "tags: expected an array of at most %d strings", CAT_TAGS_MAX);
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > CAT_TAG_MAX ||
            strlen(json_string_value(item)) != json_string_length(item))
            return err_set(e, -EINVAL, "tags[%zu]: expected a string of 1 to %d bytes", i,
                           CAT_TAG_MAX);
        memcpy(in->tags[in->n_tags++], json_string_value(item), json_string_length(item) + 1);
    }
    return 0;
}

static int parse_meta(json_t *v, struct cat_instance *in, struct err *e)
{
    const char *k;
    json_t *item;
    struct err sub;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "meta: expected an object of strings");
    json_object_foreach(v, k, item)
    {
        if (!json_is_string(item))
            return err_set(e, -EINVAL, "meta.%s: expected a string", k);
        if (tags_set(&in->meta, k, json_string_value(item), &sub) < 0)
            return err_set(e, -EINVAL, "meta.%s: %s", k, sub.msg);
    }
    return 0;
}

/* "check" (one) and "checks" (a list) into d->checks. */
static int parse_checks(json_t *j, struct catalog_def *d, struct err *e)
{
    json_t *v, *item;
    char where[48];
    size_t i;
    int rc;

    if ((v = json_object_get(j, "check"))) {
        if ((rc = services_parse_check(v, "check", &d->checks[0], e)) < 0)
            return rc;
        d->n_checks = 1;
    }
    if ((v = json_object_get(j, "checks"))) {
        if (!json_is_array(v) || json_array_size(v) + d->n_checks > CATALOG_CHECKS_MAX)
            return err_set(e, -EINVAL, "checks: expected an array of at most %d checks",
                           CATALOG_CHECKS_MAX);
        json_array_foreach(v, i, item)
        {
            snprintf(where, sizeof(where), "checks[%zu]", i);
            if ((rc = services_parse_check(item, where, &d->checks[d->n_checks], e)) < 0)
                return rc;
            d->n_checks++;
        }
    }
    return 0;
}

/* A check without an id gets "<instance id>:<n>"; no id twice. */
static int name_checks(struct catalog_def *d, struct err *e)
{
    const char *id = d->inst.id;

    for (size_t i = 0; i < d->n_checks; i++) {
        struct catalog_check_def *c = &d->checks[i];
        if (!c->id[0] && snprintf(c->id, sizeof(c->id), "%s:%zu", id, i + 1) >= (int)sizeof(c->id))
            return err_set(e, -EINVAL, "checks[%zu].id: missing, and \"%s:%zu\" is too long", i, id,
                           i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp(d->checks[k].id, c->id) == 0)
                return err_set(e, -EINVAL, "checks[%zu].id: \"%s\" is used twice", i, c->id);
    }
    return 0;
}

int services_parse(json_t *j, struct catalog_def *d, struct err *e)
{
    struct cat_instance *in = &d->inst;
    json_t *v;
    uint64_t u;
    int rc;

    memset(d, 0, sizeof(*d));
    if (!json_is_object(j))
        return err_set(e, -EINVAL, "service definition: expected a JSON object");
    if ((rc = only_keys(j, "", service_keys, e)) < 0)
        return rc;
    if ((rc = get_string(j, "name", "", in->service, sizeof(in->service), 1, e)) < 0 ||
        (rc = get_string(j, "address", "", in->address, sizeof(in->address), 0, e)) < 0 ||
        (rc = get_string(j, "version", "", in->version, sizeof(in->version), 0, e)) < 0)
        return rc;
    if ((rc = get_string(j, "id", "", in->id, sizeof(in->id), 0, e)) < 0)
        return rc;
    if (rc == 0)
        memcpy(in->id, in->service, sizeof(in->service));
    if ((rc = get_uint(j, "port", "", 0, 65535, &u, e)) < 0)
        return rc;
    in->port = rc ? (uint16_t)u : 0;
    in->weight = 1;
    if ((rc = get_uint(j, "weight", "", 1, 65535, &u, e)) < 0)
        return rc;
    if (rc)
        in->weight = (uint32_t)u;
    if ((v = json_object_get(j, "tags")) && (rc = parse_tags(v, in, e)) < 0)
        return rc;
    if ((v = json_object_get(j, "meta")) && (rc = parse_meta(v, in, e)) < 0)
        return rc;
    if ((rc = cat_instance_check(in, e)) < 0 || (rc = parse_checks(j, d, e)) < 0)
        return rc;
    return name_checks(d, e);
}

int services_parse_root(json_t *root,
                        int (*cb)(void *ud, const struct catalog_def *d, struct err *e), void *ud,
                        struct err *e)
{
    json_t *list = NULL;
    struct catalog_def *d = xcalloc(1, sizeof(*d));
    int rc = 0, n = 0;

    if (json_is_object(root) && json_object_size(root) == 1 && json_object_get(root, "services")) {
        list = json_object_get(root, "services");
        if (!json_is_array(list)) {
            rc = err_set(e, -EINVAL, "services: expected an array of service definitions");
            goto out;
        }
        json_incref(list);
    } else {
        json_t *one =
            json_is_object(root) && json_object_size(root) == 1 && json_object_get(root, "service")
                ? json_object_get(root, "service")
                : root;
        list = json_array();
        json_array_append(list, one);
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        rc = services_parse(json_array_get(list, i), d, e);
        if (rc == 0)
            rc = cb(ud, d, e);
        catalog_def_release(d);
        if (rc < 0) {
            if (json_array_size(list) > 1 || json_object_get(root, "services"))
                err_wrap(e, "services[%zu]", i);
            goto out;
        }
        n++;
    }
    rc = n;
out:
    json_decref(list);
    free(d);
    return rc;
}

int services_parse_text(const char *text, size_t len,
                        int (*cb)(void *ud, const struct catalog_def *d, struct err *e), void *ud,
                        struct err *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (!root)
        return err_set(e, -EINVAL, "not JSON: line %d: %s", jerr.line, jerr.text);
    rc = services_parse_root(root, cb, ud, e);
    json_decref(root);
    return rc;
}

static json_t *check_json(const struct catalog_check_def *c)
{
    json_t *o = json_pack("{s:s, s:s}", "id", c->id, "name", c->name);
    char buf[32];

    switch (c->cfg.type) {
    case HEALTH_HTTP:
        json_object_set_new(o, "http", json_string(c->target));
        break;
    case HEALTH_TCP:
        json_object_set_new(o, "tcp", json_string(c->target));
        break;
    case HEALTH_EXEC: {
        json_t *a = json_array();
        for (size_t i = 0; i < c->argc; i++)
            json_array_append_new(a, json_string(c->argv[i]));
        json_object_set_new(o, "args", a);
        break;
    }
    default:
        snprintf(buf, sizeof(buf), "%ums", c->cfg.ttl_ms);
        json_object_set_new(o, "ttl", json_string(buf));
        break;
    }
    snprintf(buf, sizeof(buf), "%ums", c->cfg.interval_ms);
    json_object_set_new(o, "interval", json_string(buf));
    snprintf(buf, sizeof(buf), "%ums", c->cfg.timeout_ms);
    json_object_set_new(o, "timeout", json_string(buf));
    json_object_set_new(o, "successes_before_passing",
                        json_integer(c->cfg.successes_before_passing));
    json_object_set_new(o, "failures_before_critical",
                        json_integer(c->cfg.failures_before_critical));
    if (c->cfg.deregister_critical_after_ms) {
        snprintf(buf, sizeof(buf), "%llums",
                 (unsigned long long)c->cfg.deregister_critical_after_ms);
        json_object_set_new(o, "deregister_critical_after", json_string(buf));
    }
    return o;
}

json_t *services_to_json(const struct catalog_def *d)
{
    const struct cat_instance *in = &d->inst;
    json_t *tags = json_array(), *meta = json_object(), *checks = json_array();

    for (size_t i = 0; i < in->n_tags; i++)
        json_array_append_new(tags, json_string(in->tags[i]));
    for (size_t i = 0; i < in->meta.n; i++)
        json_object_set_new(meta, in->meta.t[i].key, json_string(in->meta.t[i].val));
    for (size_t i = 0; i < d->n_checks; i++)
        json_array_append_new(checks, check_json(&d->checks[i]));
    return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:I, s:o}", "id", in->id, "name",
                     in->service, "address", in->address, "port", (int)in->port, "tags", tags,
                     "meta", meta, "version", in->version, "weight", (json_int_t)in->weight,
                     "checks", checks);
}
