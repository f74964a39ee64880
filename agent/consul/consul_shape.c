/* consul_shape: Consul's JSON from troupe's values, and Consul's service
 * registration body read into troupe's definition (see consul_shape.h).
 * What the shapes are is Consul's documentation; what they hold here is
 * written down in docs/consul-compat.md. */
#include "agent/consul/consul_shape.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define DEFAULT_TIMEOUT_MS 2000 /* troupe's check timeout, which must stay below the interval */

/* ---- ids and small values ---- */

static void uuid_of(const void *data, size_t len, char out[37])
{
    uint8_t h[16];
    char hex[33];

    crypto_generichash(h, sizeof(h), data, len, (const uint8_t *)"consul-id", 9);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void consul_node_id(const char *name, char out[37])
{
    uuid_of(name, strlen(name), out);
}

/* Text that may hold any bytes (check output, names from peers): bytes
 * that are not UTF-8 become '?', so a builder never fails. */
static json_t *text(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    char *copy;

    if (j)
        return j;
    copy = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        copy[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
    j = json_stringn(copy, len);
    free(copy);
    return j ? j : json_string("");
}

static json_t *str(const char *s)
{
    return text(s, strlen(s));
}

static json_t *meta_json(const struct tags *t)
{
    json_t *o = json_object();

    for (size_t i = 0; t && i < t->n; i++)
        json_object_set_new(o, t->t[i].key, str(t->t[i].val));
    return o;
}

static json_t *tags_json(const struct cat_instance *in)
{
    json_t *a = json_array();

    for (size_t i = 0; in && i < in->n_tags; i++)
        json_array_append_new(a, str(in->tags[i]));
    return a;
}

static json_t *weights_json(const struct cat_instance *in)
{
    return json_pack("{s:I, s:i}", "Passing", (json_int_t)(in->weight ? in->weight : 1), "Warning",
                     1);
}

static json_t *base64(const uint8_t *val, size_t len)
{
    size_t cap;
    char *b;
    json_t *j;

    if (len == 0)
        return json_null();
    cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    b = xmalloc(cap);
    sodium_bin2base64(b, cap, val, len, sodium_base64_VARIANT_ORIGINAL);
    j = json_string(b);
    free(b);
    return j;
}

const char *consul_check_type(const char *type)
{
    return strcmp(type, "exec") == 0 ? "script" : type;
}

int consul_status_parse(const char *s, uint8_t *status)
{
    if (!s)
        return -1;
    return cat_status_parse(s, status) < 0 ? -1 : 0;
}

/* ---- the shapes ---- */

json_t *consul_node_json(const struct consul_node *n, uint64_t index)
{
    char id[37];

    consul_node_id(n->name, id);
    return json_pack("{s:s, s:o, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:o, s:I, s:I}", "ID", id,
                     "Node", str(n->name), "Address", n->address, "Datacenter", n->dc,
                     "TaggedAddresses", "lan", n->address, "lan_ipv4", n->address, "wan",
                     n->address, "wan_ipv4", n->address, "Meta", meta_json(n->meta), "CreateIndex",
                     (json_int_t)index, "ModifyIndex", (json_int_t)index);
}

json_t *consul_service_json(const struct cat_instance *in, const char *dc, uint64_t index)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:s, s:o, s:o, s:b, s:s, s:I, s:I}", "Kind",
                     "", "ID", in->id, "Service", in->service, "Tags", tags_json(in), "Meta",
                     meta_json(&in->meta), "Port", (int)in->port, "Address", in->address,
                     "TaggedAddresses", json_object(), "Weights", weights_json(in),
                     "EnableTagOverride", 0, "Datacenter", dc, "CreateIndex", (json_int_t)index,
                     "ModifyIndex", (json_int_t)index);
}

json_t *consul_catalog_service_json(const struct consul_node *n, const struct cat_instance *in,
                                    uint64_t index)
{
    json_t *o = consul_node_json(n, index);

    json_object_set(o, "NodeMeta", json_object_get(o, "Meta"));
    json_object_del(o, "Meta");
    json_object_set_new(o, "ServiceKind", json_string(""));
    json_object_set_new(o, "ServiceID", json_string(in->id));
    json_object_set_new(o, "ServiceName", json_string(in->service));
    json_object_set_new(o, "ServiceTags", tags_json(in));
    json_object_set_new(o, "ServiceAddress", json_string(in->address));
    json_object_set_new(o, "ServiceTaggedAddresses", json_object());
    json_object_set_new(o, "ServiceWeights", weights_json(in));
    json_object_set_new(o, "ServiceMeta", meta_json(&in->meta));
    json_object_set_new(o, "ServicePort", json_integer(in->port));
    json_object_set_new(o, "ServiceEnableTagOverride", json_false());
    return o;
}

json_t *consul_check_json(const char *node, const struct cat_check *ck,
                          const struct cat_instance *in, uint64_t index)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:{}, "
                     "s:I, s:I}",
                     "Node", str(node), "CheckID", ck->id, "Name", ck->name, "Status",
                     cat_status_name(ck->status), "Notes", "", "Output",
                     text(ck->output, ck->output_len), "ServiceID", ck->instance, "ServiceName",
                     in ? in->service : "", "ServiceTags", tags_json(in), "Type",
                     consul_check_type(ck->type), "Interval", "", "Timeout", "", "ExposedPort", 0,
                     "Definition", "CreateIndex", (json_int_t)index, "ModifyIndex",
                     (json_int_t)index);
}

json_t *consul_serf_check_json(const char *node, int serving, uint64_t index)
{
    struct cat_check ck;

    memset(&ck, 0, sizeof(ck));
    snprintf(ck.id, sizeof(ck.id), "serfHealth");
    snprintf(ck.name, sizeof(ck.name), "Serf Health Status");
    ck.status = serving ? CAT_PASSING : CAT_CRITICAL;
    ck.output_len =
        (uint16_t)snprintf(ck.output, sizeof(ck.output), "%s",
                           serving ? "Agent alive and reachable" : "Agent not live or unreachable");
    return consul_check_json(node, &ck, NULL, index);
}

json_t *consul_health_entry_json(const struct consul_node *n, const struct cat_entry *en,
                                 uint64_t index)
{
    json_t *svc = consul_service_json(&en->inst, n->dc, index), *checks = json_array();

    json_object_del(svc, "Datacenter");
    json_array_append_new(checks, consul_serf_check_json(en->inst.node, en->serving, index));
    for (size_t k = 0; k < en->n_checks; k++)
        json_array_append_new(checks,
                              consul_check_json(en->inst.node, &en->checks[k], &en->inst, index));
    return json_pack("{s:o, s:o, s:o}", "Node", consul_node_json(n, index), "Service", svc,
                     "Checks", checks);
}

json_t *consul_kv_json(const char *key, const uint8_t *val, size_t len, uint64_t create_index,
                       uint64_t modify_index)
{
    return json_pack("{s:i, s:o, s:I, s:I, s:i, s:o}", "LockIndex", 0, "Key", str(key),
                     "CreateIndex", (json_int_t)create_index, "ModifyIndex",
                     (json_int_t)modify_index, "Flags", 0, "Value", base64(val, len));
}

json_t *consul_event_json(const char *origin, const struct cat_event *ev, uint64_t ltime)
{
    char id[37], seed[SWIM_NAME_MAX + 32];
    int n = snprintf(seed, sizeof(seed), "%s/%llu", origin, (unsigned long long)ev->seq);

    uuid_of(seed, (size_t)n, id);
    return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:i, s:I}", "ID", id, "Name", str(ev->name),
                     "Payload", base64(ev->payload, ev->payload_len), "NodeFilter", "",
                     "ServiceFilter", "", "TagFilter", "", "Version", 1, "LTime",
                     (json_int_t)ltime);
}

json_t *consul_member_json(const char *name, const char *addr, uint16_t port, int serf_status,
                           json_t *tags)
{
    return json_pack("{s:o, s:s, s:i, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "Name", str(name),
                     "Addr", addr, "Port", (int)port, "Tags", tags ? tags : json_object(), "Status",
                     serf_status, "ProtocolMin", 1, "ProtocolMax", 5, "ProtocolCur", 2,
                     "DelegateMin", 2, "DelegateMax", 5, "DelegateCur", 4);
}

/* ---- durations ---- */

int consul_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    double total = 0;

    if (!s || !*s)
        return -1;
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    while (*s) {
        char *end;
        double v;
        size_t i, best = 0, best_len = 0;

        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        s = end;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, l) == 0 && l > best_len)
                best = i, best_len = l;
        }
        if (!best_len)
            return -1;
        total += v * units[best].ms;
        if (total > 1e12)
            return -1;
        s += best_len;
    }
    *ms = (uint64_t)total;
    return 0;
}

/* ---- a registration body ---- */

/* The value of key in o, whatever the case and underscores of its name
 * ("DeregisterCriticalServiceAfter", "deregister_critical_service_after"). */
static json_t *field(json_t *o, const char *want)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        const char *a = k, *b = want;
        while (*a && *b) {
            if (*a == '_') {
                a++;
                continue;
            }
            if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                break;
            a++, b++;
        }
        while (*a == '_')
            a++;
        if (!*a && !*b)
            return v;
    }
    return NULL;
}

static int copy_duration(json_t *from, const char *key, json_t *to, const char *to_key,
                         const char *where, uint64_t *ms, struct err *e)
{
    json_t *v = field(from, key);
    char buf[32];

    *ms = 0;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return 0;
    if (!json_is_string(v) || consul_duration(json_string_value(v), ms) < 0)
        return err_set(e, -EINVAL, "%s%s: expected a duration such as \"10s\" or \"1m30s\"", where,
                       key);
    snprintf(buf, sizeof(buf), "%llums", (unsigned long long)*ms);
    json_object_set_new(to, to_key, json_string(buf));
    return 0;
}

static int copy_string(json_t *from, const char *key, json_t *to, const char *to_key,
                       const char *where, struct err *e)
{
    json_t *v = field(from, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(e, -EINVAL, "%s%s: expected a string", where, key);
    if (json_string_length(v))
        json_object_set(to, to_key, v);
    return 0;
}

/* One Consul check definition into troupe's; n: its place (0 when alone). */
static json_t *check_body(json_t *c, const char *service_id, size_t n, size_t of, struct err *e)
{
    static const char *const refused[] = {
        "GRPC", "DockerContainerID", "AliasService", "AliasNode", "H2PING",
        "UDP",  "OSService",         "Shell",        "Script"};
    json_t *o = json_object(), *v;
    char where[32], id[160];
    uint64_t interval = 0, timeout = 0, unused;
    int rc = 0;

    snprintf(where, sizeof(where), of > 1 ? "Checks[%zu]." : "Check.", n);
    if (!json_is_object(c)) {
        err_set(e, -EINVAL, "%.*s: expected an object", (int)strlen(where) - 1, where);
        goto fail;
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if ((v = field(c, refused[i])) && !json_is_null(v) &&
            !(json_is_string(v) && !json_string_length(v))) {
            err_set(e, -EINVAL,
                    "%s%s: troupe runs http, tcp, script (Args) and ttl checks only "
                    "(docs/consul-compat.md)",
                    where, refused[i]);
            goto fail;
        }
    }
    if ((rc = copy_string(c, "CheckID", o, "id", where, e)) < 0 ||
        (!json_object_get(o, "id") && (rc = copy_string(c, "ID", o, "id", where, e)) < 0) ||
        (rc = copy_string(c, "Name", o, "name", where, e)) < 0 ||
        (rc = copy_string(c, "HTTP", o, "http", where, e)) < 0 ||
        (rc = copy_string(c, "TCP", o, "tcp", where, e)) < 0 ||
        (rc = copy_duration(c, "TTL", o, "ttl", where, &unused, e)) < 0 ||
        (rc = copy_duration(c, "Interval", o, "interval", where, &interval, e)) < 0 ||
        (rc = copy_duration(c, "Timeout", o, "timeout", where, &timeout, e)) < 0 ||
        (rc = copy_duration(c, "DeregisterCriticalServiceAfter", o, "deregister_critical_after",
                            where, &unused, e)) < 0)
        goto fail;
    if (((v = field(c, "Args")) || (v = field(c, "ScriptArgs"))) && !json_is_null(v))
        json_object_set(o, "args", v);
    if ((v = field(c, "SuccessBeforePassing")) && json_integer_value(v) > 0)
        json_object_set(o, "successes_before_passing", v);
    if ((v = field(c, "FailuresBeforeCritical")) && json_integer_value(v) > 0)
        json_object_set(o, "failures_before_critical", v);
    /* Consul's default timeout is 10 s; troupe's must stay below the interval */
    if (!timeout && interval && interval <= DEFAULT_TIMEOUT_MS) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%llums", (unsigned long long)(interval * 3 / 4 + 1));
        json_object_set_new(o, "timeout", json_string(buf));
    }
    if (!json_object_get(o, "id")) {
        if (of > 1)
            snprintf(id, sizeof(id), "service:%s:%zu", service_id, n + 1);
        else
            snprintf(id, sizeof(id), "service:%s", service_id);
        json_object_set_new(o, "id", json_string(id));
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static int copy_checks(json_t *body, const char *service_id, json_t *out, struct err *e)
{
    json_t *one = field(body, "Check"), *list = field(body, "Checks"), *arr = json_array(), *c;
    size_t of = 0, n = 0, i;

    if (one && json_is_null(one))
        one = NULL;
    if (list && json_is_null(list))
        list = NULL;
    if (list && !json_is_array(list)) {
        json_decref(arr);
        return err_set(e, -EINVAL, "Checks: expected an array");
    }
    of = (one ? 1 : 0) + (list ? json_array_size(list) : 0);
    if (one) {
        if (!(c = check_body(one, service_id, n++, of, e)))
            goto fail;
        json_array_append_new(arr, c);
    }
    json_array_foreach(list, i, c)
    {
        json_t *t = check_body(c, service_id, n++, of, e);
        if (!t)
            goto fail;
        json_array_append_new(arr, t);
    }
    if (json_array_size(arr))
        json_object_set_new(out, "checks", arr);
    else
        json_decref(arr);
    return 0;
fail:
    json_decref(arr);
    return -EINVAL;
}

json_t *consul_check_register_body(json_t *body, uint8_t *status, struct err *e)
{
    json_t *o, *v;
    int has_id;

    *status = CAT_CRITICAL;
    if (!json_is_object(body)) {
        err_set(e, -EINVAL, "the body: expected a JSON object (a check definition)");
        return NULL;
    }
    if ((v = field(body, "Status")) && !json_is_null(v) &&
        !(json_is_string(v) && !json_string_length(v)) &&
        consul_status_parse(json_string_value(v), status) < 0) {
        err_set(e, -EINVAL, "Status: expected \"passing\", \"warning\" or \"critical\"");
        return NULL;
    }
    has_id = ((v = field(body, "CheckID")) || (v = field(body, "ID"))) && json_is_string(v) &&
             json_string_length(v);
    if (!has_id && !((v = field(body, "Name")) && json_is_string(v) && json_string_length(v))) {
        err_set(e, -EINVAL, "Name: missing (the check's name, its ID without one)");
        return NULL;
    }
    if (!(o = check_body(body, "", 0, 1, e)))
        return NULL;
    if (!has_id) /* Consul's default check id is its name */
        json_object_set(o, "id", json_object_get(o, "name"));
    return o;
}

json_t *consul_register_body(json_t *body, struct err *e)
{
    static const char *const refused[] = {"Connect", "Proxy", "Kind"};
    json_t *o = json_object(), *v;
    const char *id;

    if (!json_is_object(body)) {
        err_set(e, -EINVAL, "the body: expected a JSON object (a service definition)");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if ((v = field(body, refused[i])) && !json_is_null(v) &&
            !(json_is_string(v) && !json_string_length(v)) &&
            !(json_is_object(v) && !json_object_size(v))) {
            err_set(e, -EINVAL, "%s: Connect and proxies are not troupe's (docs/consul-compat.md)",
                    refused[i]);
            goto fail;
        }
    }
    if (copy_string(body, "Name", o, "name", "", e) < 0 ||
        copy_string(body, "ID", o, "id", "", e) < 0 ||
        copy_string(body, "Address", o, "address", "", e) < 0)
        goto fail;
    if (!json_object_get(o, "name")) {
        err_set(e, -EINVAL, "Name: missing (the service's name)");
        goto fail;
    }
    if (!json_object_get(o, "id"))
        json_object_set(o, "id", json_object_get(o, "name"));
    id = json_string_value(json_object_get(o, "id"));
    if ((v = field(body, "Port")) && !json_is_null(v)) {
        if (!json_is_integer(v)) {
            err_set(e, -EINVAL, "Port: expected a whole number");
            goto fail;
        }
        json_object_set(o, "port", v);
    }
    if ((v = field(body, "Tags")) && !json_is_null(v))
        json_object_set(o, "tags", v);
    if ((v = field(body, "Meta")) && !json_is_null(v))
        json_object_set(o, "meta", v);
    if ((v = field(body, "Weights")) && json_is_object(v)) {
        json_t *p = field(v, "Passing");
        if (p && !json_is_integer(p)) {
            err_set(e, -EINVAL, "Weights.Passing: expected a whole number");
            goto fail;
        }
        if (p)
            json_object_set(o, "weight", p);
    }
    if (copy_checks(body, id, o, e) < 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}
