/* api_catalog: the catalog's HTTP endpoints. Reads answer from the local
 * replica (blocking with ?index); writes register our own instances and
 * answer once they are durable.
 *   GET /v1/catalog/services           every service with counts and tags
 *   GET /v1/catalog/service/NAME       its instances (?tag=)
 *   GET /v1/catalog/digest             a hash of the replicated state
 *   GET /v1/health/service/NAME        instances with checks (?passing, ?tag=)
 *   GET /v1/agent/services             this agent's own registrations
 *   PUT /v1/agent/service/register     a service definition (JSON)
 *   PUT /v1/agent/service/deregister/ID
 *   PUT /v1/agent/check/ID/pass|warn|fail   a TTL check's report */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/catalog/services.h"
#include "core/mem.h"

static json_t *instance_json(struct agent *a, const struct cat_instance *in)
{
    json_t *tags = json_array(), *meta = json_object();
    char addr[CAT_ADDR_MAX + 8];

    for (size_t i = 0; i < in->n_tags; i++)
        json_array_append_new(tags, json_string(in->tags[i]));
    for (size_t i = 0; i < in->meta.n; i++)
        json_object_set_new(meta, in->meta.t[i].key, json_string(in->meta.t[i].val));
    snprintf(addr, sizeof(addr), "%s", in->address);
    if (!addr[0] && a->swim) {
        /* empty: the node's address */
        const struct swim_member *m = swim_member_find(a->swim, in->node);
        if (m) {
            char *colon;
            node_addr_str(&m->addr, addr, sizeof(addr));
            colon = strrchr(addr, ':');
            if (colon)
                *colon = '\0';
            if (addr[0] == '[') {
                memmove(addr, addr + 1, strlen(addr));
                addr[strlen(addr) - 1] = '\0';
            }
        }
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:I}", "id", in->id, "service",
                     in->service, "node", in->node, "address", addr, "port", (int)in->port, "tags",
                     tags, "meta", meta, "version", in->version, "weight", (json_int_t)in->weight);
}

static json_t *check_json(const struct cat_check *ck, const char *node)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", ck->id, "name", ck->name, "node",
                     node, "instance", ck->instance, "type", ck->type, "status",
                     cat_status_name(ck->status), "output",
                     api_json_text(ck->output, ck->output_len));
}

static int tag_param(struct httpd_req *req, char *tag, size_t cap)
{
    int rc = httpd_req_query(req, "tag", tag, cap);
    if (rc == -2) {
        api_reply_error(req, 400, "tag: too long or malformed");
        return -1;
    }
    return rc >= 0;
}

/* ---- reads ---- */

static void get_services(struct agent *a, struct httpd_req *req)
{
    struct cat_view v;
    struct cat_service *s = NULL;
    size_t n = 0;
    struct err e;
    json_t *arr;

    catalog_view(a, &v);
    if (cat_services(&v, &s, &n, &e) < 0) {
        api_reply_error(req, 500, "%s", e.msg);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *tags = json_array();
        for (size_t k = 0; k < s[i].n_tags; k++)
            json_array_append_new(tags, json_string(s[i].tags[k]));
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "name", s[i].name,
                                             "instances", (json_int_t)s[i].instances, "passing",
                                             (json_int_t)s[i].passing, "warning",
                                             (json_int_t)s[i].warning, "critical",
                                             (json_int_t)s[i].critical, "tags", tags));
    }
    free(s);
    api_set_index(a, req);
    api_reply_json(req, 200, arr);
}

/* NAME from the path and ?tag; the entries; 0 or answered an error. */
static int entries(struct agent *a, struct httpd_req *req, const char *prefix, uint8_t max,
                   int only_serving, struct cat_entry **es, size_t *n)
{
    const char *name = httpd_req_path(req) + strlen(prefix);
    char tag[CAT_TAG_MAX + 2];
    struct cat_view v;
    struct err e;
    int has_tag;

    if (!name[0] || strchr(name, '/')) {
        api_reply_error(req, 400, "expected %sNAME", prefix);
        return -1;
    }
    if ((has_tag = tag_param(req, tag, sizeof(tag))) < 0)
        return -1;
    catalog_view(a, &v);
    if (cat_service_entries(&v, name, has_tag ? tag : NULL, max, only_serving, es, n, &e) < 0) {
        api_reply_error(req, 400, "%s", e.msg);
        return -1;
    }
    return 0;
}

static void get_service(struct agent *a, struct httpd_req *req)
{
    struct cat_entry *es = NULL;
    size_t n = 0;
    json_t *arr;

    if (entries(a, req, "/v1/catalog/service/", CAT_CRITICAL, 0, &es, &n) < 0)
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = instance_json(a, &es[i].inst);
        json_object_set_new(o, "serving", json_boolean(es[i].serving));
        json_array_append_new(arr, o);
    }
    cat_entries_free(es, n);
    api_set_index(a, req);
    api_reply_json(req, 200, arr);
}

static void get_health(struct agent *a, struct httpd_req *req)
{
    int passing = api_query_has(req, "passing");
    struct cat_entry *es = NULL;
    size_t n = 0;
    json_t *arr;

    if (entries(a, req, "/v1/health/service/", passing ? CAT_PASSING : CAT_CRITICAL, passing, &es,
                &n) < 0)
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *checks = json_array();
        /* a node that is not served (dead, left) counts as critical */
        uint8_t st = es[i].serving ? es[i].status : CAT_CRITICAL;
        for (size_t k = 0; k < es[i].n_checks; k++)
            json_array_append_new(checks, check_json(&es[i].checks[k], es[i].inst.node));
        json_array_append_new(arr,
                              json_pack("{s:s, s:o, s:o, s:s, s:b}", "node", es[i].inst.node,
                                        "service", instance_json(a, &es[i].inst), "checks", checks,
                                        "status", cat_status_name(st), "serving", es[i].serving));
    }
    cat_entries_free(es, n);
    api_set_index(a, req);
    api_reply_json(req, 200, arr);
}

static int hash_rec(void *ud, const struct crdt_rec *r)
{
    crypto_generichash_state *h = ud;
    uint8_t hdr[21];

    crypto_generichash_update(h, (const uint8_t *)r->origin, strlen(r->origin) + 1);
    crypto_generichash_update(h, (const uint8_t *)r->key, strlen(r->key) + 1);
    hdr[0] = r->kind;
    for (int i = 0; i < 8; i++) {
        hdr[1 + i] = (uint8_t)(r->version >> (56 - 8 * i));
        hdr[9 + i] = (uint8_t)(r->hlc >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; i++)
        hdr[17 + i] = (uint8_t)(r->len >> (24 - 8 * i));
    crypto_generichash_update(h, hdr, sizeof(hdr));
    if (r->len)
        crypto_generichash_update(h, r->val, r->len);
    return 0;
}

static int count_rec(void *ud, const struct crdt_rec *r)
{
    (void)r;
    (*(size_t *)ud)++;
    return 0;
}

/* A hash of every live record (tombstones left out: when they are
 * collected differs between agents), so converged agents answer alike. */
static void get_digest(struct agent *a, struct httpd_req *req)
{
    crypto_generichash_state h;
    uint8_t out[32];
    char hex[65];
    size_t n = 0;

    crypto_generichash_init(&h, NULL, 0, sizeof(out));
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++) {
        crdt_scan(a->catalog->crdt, k, NULL, 0, hash_rec, &h);
        crdt_scan(a->catalog->crdt, k, NULL, 0, count_rec, &n);
    }
    crypto_generichash_final(&h, out, sizeof(out));
    sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
    api_set_index(a, req);
    api_reply_json(req, 200, json_pack("{s:s, s:I}", "digest", hex, "records", (json_int_t)n));
}

static void get_own(struct agent *a, struct httpd_req *req)
{
    static const char *const src[] = {"", "api", "file", "supervisor"};
    json_t *arr = json_array();

    for (struct svc_local *s = a->catalog->svcs; s; s = s->next) {
        json_t *checks = json_array();
        uint8_t worst = CAT_PASSING;
        for (size_t i = 0; i < s->n_checks; i++) {
            uint8_t st = checks_status(s->checks[i]);
            worst = st > worst ? st : worst;
            json_array_append_new(checks, json_pack("{s:s, s:s}", "id", checks_id(s->checks[i]),
                                                    "status", cat_status_name(st)));
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:s, s:o}", "id", s->id, "source",
                                             src[s->source], "file", s->file, "status",
                                             cat_status_name(worst), "checks", checks));
    }
    api_set_index(a, req);
    api_reply_json(req, 200, arr);
}

/* ---- writes ---- */

static int do_register(void *ud, const struct catalog_def *d, struct err *e)
{
    return catalog_register(ud, d, CATALOG_SRC_API, e);
}

static void put_register(struct agent *a, struct httpd_req *req, const char *rest)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct err e;
    int rc;

    if (len == 0) {
        api_reply_error(req, 400, "missing body: a service definition (JSON)");
        return;
    }
    err_clear(&e);
    rc = services_parse_text(body, len, do_register, a, &e);
    if (rc < 0) {
        api_reply_error(req, api_status(rc), "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200, json_pack("{s:i}", "registered", rc));
    agent_drive(a);
}

static void put_deregister(struct agent *a, struct httpd_req *req, const char *id)
{
    struct err e;
    int rc = catalog_deregister(a, id, &e);

    if (rc < 0) {
        api_reply_error(req, api_status(rc), "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200, json_pack("{s:s}", "deregistered", id));
    agent_drive(a);
}

static struct check_run *find_check(struct agent *a, const char *id)
{
    for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
        for (size_t i = 0; i < s->n_checks; i++)
            if (strcmp(checks_id(s->checks[i]), id) == 0)
                return s->checks[i];
    return NULL;
}

static const struct {
    const char *verb;
    uint8_t status;
} verbs[] = {{"pass", CAT_PASSING}, {"warn", CAT_WARNING}, {"fail", CAT_CRITICAL}};

/* PUT /v1/agent/check/ID/pass|warn|fail, the output from ?note= or a body
 * {"output": "..."} or the raw body. */
static void put_check(struct agent *a, struct httpd_req *req, const char *rest)
{
    const char *slash = strrchr(rest, '/');
    char id[CAT_ID_MAX + 1], note[CAT_OUTPUT_MAX + 1];
    const char *out = "";
    size_t out_len = 0, blen;
    const char *body = httpd_req_body(req, &blen);
    struct check_run *r;
    uint8_t status;
    size_t i;
    json_t *j = NULL;
    struct err e;
    int rc;

    if (!slash || slash == rest || (size_t)(slash - rest) > CAT_ID_MAX) {
        api_reply_error(req, 400, "expected /v1/agent/check/ID/pass, warn or fail");
        return;
    }
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(slash + 1, verbs[i].verb) == 0)
            break;
    if (i == sizeof(verbs) / sizeof(verbs[0])) {
        api_reply_error(req, 404, "expected /v1/agent/check/ID/pass, warn or fail, not \"%s\"",
                        slash + 1);
        return;
    }
    status = verbs[i].status;
    if (!(r = find_check(a, id))) {
        api_reply_error(req, 404, "no check of this agent has id \"%s\"", id);
        return;
    }
    if ((rc = httpd_req_query(req, "note", note, sizeof(note))) >= 0) {
        out = note;
        out_len = (size_t)rc;
    } else if (blen && body[0] == '{') {
        json_error_t jerr;
        json_t *o;
        j = json_loadb(body, blen, 0, &jerr);
        if (!j) {
            api_reply_error(req, 400, "body is not JSON: %s", jerr.text);
            return;
        }
        o = json_object_get(j, "output");
        if (o && !json_is_string(o)) {
            json_decref(j);
            api_reply_error(req, 400, "output: expected a string");
            return;
        }
        out = o ? json_string_value(o) : "";
        out_len = o ? json_string_length(o) : 0;
    } else if (blen) {
        out = body;
        out_len = blen;
    }
    if (out_len > CAT_OUTPUT_MAX)
        out_len = CAT_OUTPUT_MAX;
    rc = checks_report(r, status, out, out_len, &e);
    json_decref(j);
    if (rc < 0) {
        api_reply_error(req, 400, "%s", e.msg);
        return;
    }
    if (catalog_save(a, &e) < 0) {
        api_reply_error(req, 500, "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200,
                   json_pack("{s:s, s:s}", "check", id, "reported", cat_status_name(status)));
    agent_drive(a);
}

static void read_services(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_services);
}

static void read_service(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_service);
}

static void read_digest(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_digest);
}

static void read_health(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_health);
}

static void read_own(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_own);
}

const struct api_route api_catalog_routes[] = {
    {"GET", "/v1/catalog/services", read_services},
    {"GET", "/v1/catalog/service/*", read_service},
    {"GET", "/v1/catalog/digest", read_digest},
    {"GET", "/v1/health/service/*", read_health},
    {"GET", "/v1/agent/services", read_own},
    {"PUT", "/v1/agent/service/register", put_register},
    {"PUT", "/v1/agent/service/deregister/*", put_deregister},
    {"PUT", "/v1/agent/check/*", put_check},
};
const size_t api_catalog_n_routes = sizeof(api_catalog_routes) / sizeof(api_catalog_routes[0]);

int api_catalog_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const size_t n = api_catalog_n_routes;
    const struct api_route *r;
    const char *rest;
    int known = 0, use_put;

    if ((r = api_route_find(api_catalog_routes, n, method, path, &rest, &known))) {
        r->fn(a, req, rest);
        return 1;
    }
    if (!known)
        return 0;
    /* a path of a write says which method it takes */
    use_put = api_route_find(api_catalog_routes, n, "PUT", path, &rest, NULL) != NULL;
    api_reply_error(req, 405, "method %s not allowed on %s%s", method, path,
                    use_put ? " (use PUT)" : "");
    return 1;
}
