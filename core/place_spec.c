/* place_spec: the fields a cluster spec adds to a supervisor spec (count,
 * constraints, spread, resources, update, scale, exclusive), their parsing and
 * validation, and the supervisor spec that is left once they are taken
 * out (see place.h). Every error names its field. Pure: jansson and libc. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_field.h"
#include "core/mem.h"
#include "core/place.h"
#include "core/place_update.h"
#include "core/sup_spec.h"

static const char *const fields[] = {"count",  "constraints", "spread", "resources",
                                     "update", "exclusive",   "scale",  NULL};

int place_spec_field(const char *key)
{
    for (size_t i = 0; fields[i]; i++)
        if (strcmp(fields[i], key) == 0)
            return 1;
    return 0;
}

static int parse_constraints(struct place_spec *p, json_t *v, struct err *e)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "constraints: expected an object of tag: value");
    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "distinct_hosts") == 0) {
            if (!json_is_boolean(x))
                return err_set(e, -EINVAL, "constraints.distinct_hosts: expected true or false");
            p->distinct_hosts = json_is_true(x);
            continue;
        }
        if (!json_is_string(x))
            return err_set(e, -EINVAL, "constraints.%s: expected a string", k);
        if (tags_set(&p->constraints, k, json_string_value(x), e) < 0)
            return err_wrap(e, "constraints.%s", k);
    }
    return 0;
}

static int parse_resources(struct place_spec *p, json_t *v, struct err *e)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "resources: expected an object");
    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "cpu_millis") == 0) {
            if (jfield_u32(x, "resources.cpu_millis", 0, 1000000, &p->res.cpu_millis, e) < 0)
                return e->code;
        } else if (strcmp(k, "memory_mb") == 0) {
            if (jfield_u32(x, "resources.memory_mb", 0, 16u << 20, &p->res.memory_mb, e) < 0)
                return e->code;
        } else {
            return err_set(e, -EINVAL, "resources.%s: unknown field", k);
        }
    }
    return 0;
}

static int parse_update(struct place_spec *p, json_t *v, struct err *e)
{
    const char *k;
    json_t *x;
    struct place_update *u = &p->update;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "update: expected an object");
    json_object_foreach(v, k, x)
    {
        char f[64];
        snprintf(f, sizeof(f), "update.%s", k);
        if (strcmp(k, "max_parallel") == 0) {
            if (jfield_u32(x, f, 1, PLACE_COUNT_MAX, &u->max_parallel, e) < 0)
                return e->code;
        } else if (strcmp(k, "min_healthy_ms") == 0) {
            if (jfield_u32(x, f, 0, 3600000, &u->min_healthy_ms, e) < 0)
                return e->code;
        } else if (strcmp(k, "healthy_deadline_ms") == 0) {
            if (jfield_u32(x, f, 1000, 86400000, &u->healthy_deadline_ms, e) < 0)
                return e->code;
        } else if (strcmp(k, "canary") == 0) {
            if (jfield_u32(x, f, 0, PLACE_COUNT_MAX, &u->canary, e) < 0)
                return e->code;
        } else if (strcmp(k, "auto_revert") == 0) {
            if (!json_is_boolean(x))
                return err_set(e, -EINVAL, "%s: expected true or false", f);
            u->auto_revert = json_is_true(x);
        } else {
            return err_set(e, -EINVAL, "%s: unknown field", f);
        }
    }
    return 0;
}

/* scale.min, scale.max: 1 when k is one of them. */
static int parse_scale_bounds(struct place_scale *sc, const char *k, json_t *x, struct err *e)
{
    if (strcmp(k, "min") == 0)
        return jfield_u32(x, "scale.min", 0, PLACE_COUNT_MAX - 1, &sc->min, e) < 0 ? e->code : 1;
    if (strcmp(k, "max") == 0)
        return jfield_u32(x, "scale.max", 1, PLACE_COUNT_MAX - 1, &sc->max, e) < 0 ? e->code : 1;
    return 0;
}

/* scale.idle_after_ms: a service with no request for this long goes back to min. */
static int parse_scale_idle(struct place_scale *sc, const char *k, json_t *x, struct err *e)
{
    if (strcmp(k, "idle_after_ms") != 0)
        return 0;
    return jfield_u32(x, "scale.idle_after_ms", 100, 86400000, &sc->idle_after_ms, e) < 0 ? e->code
                                                                                          : 1;
}

/* scale.queue_limit, scale.start_timeout_ms: what the proxy holds during a cold start. */
static int parse_scale_hold(struct place_scale *sc, const char *k, json_t *x, struct err *e)
{
    if (strcmp(k, "queue_limit") == 0)
        return jfield_u32(x, "scale.queue_limit", 0, 100000, &sc->queue_limit, e) < 0 ? e->code : 1;
    if (strcmp(k, "start_timeout_ms") == 0)
        return jfield_u32(x, "scale.start_timeout_ms", 10, 3600000, &sc->start_timeout_ms, e) < 0
                   ? e->code
                   : 1;
    return 0;
}

/* A number in [lo, hi] as thousandths. */
static int scale_permille(json_t *x, const char *f, double lo, double hi, uint32_t *out,
                          struct err *e)
{
    double v;

    if (!json_is_number(x))
        return err_set(e, -EINVAL, "%s: expected a number", f);
    v = json_number_value(x);
    if (!(v >= lo && v <= hi))
        return err_set(e, -EINVAL, "%s: %g is out of %g..%g", f, v, lo, hi);
    *out = (uint32_t)(v * 1000 + 0.5);
    return 0;
}

/* The autoscaler's fields (core/autoscale): 1 when k is one of them. */
static int parse_scale_auto(struct as_cfg *c, const char *k, json_t *x, struct err *e)
{
    int rc = 0, on;

    if (strcmp(k, "target_concurrency") == 0)
        rc = jfield_u32(x, "scale.target_concurrency", 1, 100000, &c->target_concurrency, e);
    else if (strcmp(k, "utilization") == 0)
        rc = scale_permille(x, "scale.utilization", 0.01, 1, &c->utilization_permille, e);
    else if (strcmp(k, "target") == 0)
        rc = jfield_u32(x, "scale.target", 1, 1000000000, &c->target, e);
    else if (strcmp(k, "stable_window_ms") == 0)
        rc = jfield_u32(x, "scale.stable_window_ms", 1000, AS_WINDOW_SECS * 1000,
                        &c->stable_window_ms, e);
    else if (strcmp(k, "panic_window_ms") == 0)
        rc = jfield_u32(x, "scale.panic_window_ms", 1000, AS_WINDOW_SECS * 1000,
                        &c->panic_window_ms, e);
    else if (strcmp(k, "scale_down_delay_ms") == 0)
        rc = jfield_u32(x, "scale.scale_down_delay_ms", 0, 3600000, &c->scale_down_delay_ms, e);
    else if (strcmp(k, "scale_down_rate") == 0)
        rc = scale_permille(x, "scale.scale_down_rate", 1.001, 1000, &c->scale_down_rate_permille,
                            e);
    else if (strcmp(k, "on") == 0) {
        if ((on = json_is_string(x) ? as_on_parse(json_string_value(x)) : -1) < 0)
            return err_set(e, -EINVAL,
                           "scale.on: expected \"concurrency\", \"queue\" or \"latency\"");
        c->on = (uint8_t)on;
    } else
        return 0;
    return rc < 0 ? e->code : 1;
}

static void scale_default(struct place_scale *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->min = 1;
    sc->max = 10;
    sc->idle_after_ms = 300000;
    sc->queue_limit = 100;
    sc->start_timeout_ms = 30000;
}

static int parse_scale(struct place_spec *p, json_t *v, struct err *e)
{
    struct place_scale *sc = &p->scale;
    const char *k;
    json_t *x;
    int max_set = 0;

    if (!json_is_object(v))
        return err_set(e, -EINVAL, "scale: expected an object");
    sc->set = 1;
    json_object_foreach(v, k, x)
    {
        int rc = parse_scale_bounds(sc, k, x, e);
        if (rc == 0)
            rc = parse_scale_idle(sc, k, x, e);
        if (rc == 0)
            rc = parse_scale_hold(sc, k, x, e);
        if (rc == 0)
            rc = parse_scale_auto(&p->autoscale, k, x, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return err_set(e, -EINVAL, "scale.%s: unknown field", k);
        max_set |= strcmp(k, "max") == 0;
    }
    if (!max_set && sc->max < sc->min)
        sc->max = sc->min;
    if (sc->max < sc->min)
        return err_set(e, -EINVAL, "scale.max: %u is below scale.min %u", sc->max, sc->min);
    p->count = sc->min;
    p->autoscale.min = sc->min;
    p->autoscale.max = sc->max;
    p->autoscale.idle_after_ms = sc->idle_after_ms;
    return as_cfg_check(&p->autoscale, e);
}

static int parse_root(struct place_spec *p, json_t *root, struct err *e)
{
    json_t *v;

    if (!json_is_object(root))
        return err_set(e, -EINVAL, "spec: expected a JSON object");
    v = json_object_get(root, "name");
    if (!json_is_string(v) || !sup_name_ok(json_string_value(v)))
        return err_set(e, -EINVAL, "name: expected a service name ([a-z0-9-], 1-63)");
    snprintf(p->name, sizeof(p->name), "%s", json_string_value(v));
    if ((v = json_object_get(root, "count")) &&
        jfield_u32(v, "count", 0, PLACE_COUNT_MAX, &p->count, e) < 0)
        return e->code;
    if ((v = json_object_get(root, "exclusive")) && !json_is_boolean(v))
        return err_set(e, -EINVAL, "exclusive: expected true or false");
    if (v && json_is_true(v))
        return err_set(e, -ENOTSUP,
                       "exclusive: at-most-once needs a linearizable lease, which troupe "
                       "does not have (no external lock store is configured); "
                       "drop \"exclusive\" to run at-least-once");
    if ((v = json_object_get(root, "constraints")) && parse_constraints(p, v, e) < 0)
        return e->code;
    if ((v = json_object_get(root, "spread"))) {
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > TAG_KEY_MAX)
            return err_set(e, -EINVAL, "spread: expected a tag name (1-%d bytes)", TAG_KEY_MAX);
        snprintf(p->spread, sizeof(p->spread), "%s", json_string_value(v));
    }
    if ((v = json_object_get(root, "resources")) && parse_resources(p, v, e) < 0)
        return e->code;
    if ((v = json_object_get(root, "update")) && parse_update(p, v, e) < 0)
        return e->code;
    if ((v = json_object_get(root, "scale"))) {
        if (json_object_get(root, "count"))
            return err_set(e, -EINVAL,
                           "count: a spec with \"scale\" runs scale.min to scale.max instances");
        if (parse_scale(p, v, e) < 0)
            return e->code;
    }
    if (json_object_get(root, "instances"))
        return err_set(e, -EINVAL, "instances: a cluster spec says \"count\"");
    return 0;
}

int place_spec_parse(struct place_spec *p, const char *text, size_t len, struct err *e)
{
    json_error_t je;
    json_t *root;
    int rc;

    memset(p, 0, sizeof(*p));
    p->count = 1;
    p->update.max_parallel = 1;
    p->update.min_healthy_ms = 10000;
    p->update.healthy_deadline_ms = 300000;
    scale_default(&p->scale);
    as_cfg_default(&p->autoscale);
    if (len > SUP_SPEC_TEXT_MAX)
        return err_set(e, -EMSGSIZE, "spec: %zu bytes, at most %u", len, SUP_SPEC_TEXT_MAX);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(e, -EINVAL, "spec: line %d: %s", je.line, je.text);
    rc = parse_root(p, root, e);
    json_decref(root);
    return rc;
}

char *place_spec_sup_json(const char *text, size_t len, struct err *e)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    char *out;

    if (!root || !json_is_object(root)) {
        json_decref(root);
        err_set(e, -EINVAL, "spec: expected a JSON object");
        return NULL;
    }
    for (size_t i = 0; fields[i]; i++)
        json_object_del(root, fields[i]);
    json_object_set_new(root, "instances", json_integer(1));
    out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!out)
        err_set(e, -ENOMEM, "spec: cannot encode");
    return out;
}

int place_spec_check(const char *text, size_t len, struct place_spec *p, struct err *e)
{
    struct sup_spec s;
    char *sup;
    int rc;

    if ((rc = place_spec_parse(p, text, len, e)) < 0)
        return rc;
    if (!(sup = place_spec_sup_json(text, len, e)))
        return e->code;
    rc = sup_spec_parse(&s, sup, strlen(sup), e);
    free(sup);
    if (rc < 0)
        return rc;
    p->version = pu_version(s.json);
    for (size_t i = 0; i < s.n_ports; i++) {
        if (s.ports[i].port && (p->scale.set ? p->scale.max : p->count) > 1 && !p->distinct_hosts) {
            rc = err_set(e, -EINVAL,
                         "ports.%s: a fixed port serves one slot per host; set "
                         "constraints.distinct_hosts or use \"auto\"",
                         s.ports[i].name);
            break;
        }
    }
    sup_spec_release(&s);
    return rc;
}

int place_res_parse(struct place_res *r, const char *text, struct err *e)
{
    char buf[128];
    char *save = NULL;

    memset(r, 0, sizeof(*r));
    if (strlen(text) >= sizeof(buf))
        return err_set(e, -EINVAL, "capacity: \"%s\" is too long", text);
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        unsigned long v;
        if (!eq)
            return err_set(e, -EINVAL, "capacity: \"%s\": expected KEY=N", tok);
        *eq = '\0';
        v = strtoul(eq + 1, &end, 10);
        if (!eq[1] || *end || v > 0xffffffffu)
            return err_set(e, -EINVAL, "capacity.%s: \"%s\" is not a number", tok, eq + 1);
        if (strcmp(tok, "cpu_millis") == 0)
            r->cpu_millis = (uint32_t)v;
        else if (strcmp(tok, "memory_mb") == 0)
            r->memory_mb = (uint32_t)v;
        else
            return err_set(e, -EINVAL, "capacity.%s: unknown (cpu_millis, memory_mb)", tok);
    }
    return 0;
}
