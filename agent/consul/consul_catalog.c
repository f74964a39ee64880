/* consul_catalog: Consul's catalog and health reads over the local replica.
 * A node is a member (not one that left); its check serfHealth is its
 * membership state. Every read blocks with ?index=&wait=.
 *   GET /v1/catalog/datacenters, /v1/catalog/nodes, /v1/catalog/node/NODE
 *   GET /v1/catalog/services, /v1/catalog/service/NAME (?tag, ?node-meta, ?filter)
 *   GET /v1/health/service/NAME (?passing, ?tag, ?filter), /v1/health/checks/NAME
 *   GET /v1/health/node/NODE, /v1/health/state/any|passing|warning|critical */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/consul/consul_filter.h"
#include "agent/consul/consul_impl.h"
#include "agent/consul/consul_write.h"
#include "core/mem.h"
#include "core/tags.h"

/* A member as a node of Consul's catalog; 0 when it is none (unknown, left). */
struct node_buf {
    char ip[64];
    struct tags meta;
    struct consul_node n;
};

static int node_of(struct agent *a, const char *name, struct node_buf *b)
{
    const struct swim_member *m = swim_member_find(a->swim, name);

    memset(b, 0, sizeof(*b));
    b->n.name = name;
    b->n.dc = a->cfg.datacenter;
    b->n.address = b->ip;
    b->n.meta = &b->meta;
    if (!m || m->state == SWIM_LEFT)
        return 0;
    consul_member_ip(&m->addr, b->ip, sizeof(b->ip));
    if (m->tags_len && tags_decode(&b->meta, m->tags, m->tags_len, NULL) < 0)
        b->meta.n = 0;
    return 1;
}

/* ?node-meta=KEY:VALUE: 1 when the node has it (or none is asked for). */
static int node_meta_ok(struct httpd_req *req, const struct tags *meta)
{
    char want[160], *colon;

    if (httpd_req_query(req, "node-meta", want, sizeof(want)) < 0)
        return 1;
    if (!(colon = strchr(want, ':')))
        return 0;
    *colon = '\0';
    for (size_t i = 0; i < meta->n; i++)
        if (strcmp(meta->t[i].key, want) == 0 && strcmp(meta->t[i].val, colon + 1) == 0)
            return 1;
    return 0;
}

/* ?filter=EXPR parsed (NULL when none); 0, or answered 400. */
static int filter_param(struct agent *a, struct httpd_req *req, struct consul_filter **f)
{
    char expr[512];
    struct err e;
    int rc = httpd_req_query(req, "filter", expr, sizeof(expr));

    *f = NULL;
    if (rc == -1)
        return 0;
    if (rc < 0 || consul_filter_parse(expr, f, &e) < 0) {
        consul_reply_error(a, req, 400, "Failed to create boolean expression evaluator: %s",
                           rc < 0 ? "too long" : e.msg);
        return -1;
    }
    return 0;
}

/* Appends o to arr when the filter takes it, else drops it. */
static void add_filtered(json_t *arr, json_t *o, const struct consul_filter *f)
{
    if (!f || consul_filter_match(f, o))
        json_array_append_new(arr, o);
    else
        json_decref(o);
}

/* ---- catalog ---- */

static void get_datacenters(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_reply_json(a, req, 200, json_pack("[s]", a->cfg.datacenter));
}

static void nodes(struct agent *a, struct httpd_req *req)
{
    struct node_buf *b = xmalloc(sizeof(*b));
    struct consul_filter *f;
    uint64_t idx = consul_index(a);
    json_t *arr;
    size_t n = swim_member_count(a->swim);

    if (filter_param(a, req, &f) < 0) {
        free(b);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (node_of(a, m->name, b) && node_meta_ok(req, &b->meta))
            add_filtered(arr, consul_node_json(&b->n, idx), f);
    }
    consul_filter_free(f);
    free(b);
    consul_reply_json(a, req, 200, arr);
}

struct node_services {
    json_t *o;
    const char *node;
    struct cat_instance in;
    uint64_t index;
    const char *dc;
};

static int node_service_cb(void *ud, const struct crdt_rec *r)
{
    struct node_services *ns = ud;
    json_t *s;

    if (r->deleted || strcmp(r->origin, ns->node) != 0 ||
        cat_instance_decode(&ns->in, r->val, r->len, NULL) < 0)
        return 0;
    s = consul_service_json(&ns->in, ns->dc, ns->index);
    json_object_del(s, "Kind");
    json_object_del(s, "Datacenter");
    json_object_set_new(ns->o, ns->in.id, s);
    return 0;
}

static void node(struct agent *a, struct httpd_req *req)
{
    const char *name = httpd_req_path(req) + strlen("/v1/catalog/node/");
    struct node_buf *b = xmalloc(sizeof(*b));
    struct node_services *ns;
    uint64_t idx = consul_index(a);

    if (!node_of(a, name, b)) {
        free(b);
        consul_reply_json(a, req, 200, json_null()); /* Consul's answer for a node it lacks */
        return;
    }
    ns = xcalloc(1, sizeof(*ns));
    ns->o = json_object();
    ns->node = name;
    ns->index = idx;
    ns->dc = a->cfg.datacenter;
    crdt_scan(a->catalog->crdt, CRDT_INSTANCE, NULL, 0, node_service_cb, ns);
    consul_reply_json(
        a, req, 200,
        json_pack("{s:o, s:o}", "Node", consul_node_json(&b->n, idx), "Services", ns->o));
    free(ns);
    free(b);
}

/* Adds the tags of in that tags lacks. */
static void add_tags(json_t *tags, const struct cat_instance *in)
{
    for (size_t t = 0; t < in->n_tags; t++) {
        size_t i, n = json_array_size(tags);
        for (i = 0; i < n; i++)
            if (strcmp(json_string_value(json_array_get(tags, i)), in->tags[t]) == 0)
                break;
        if (i == n)
            json_array_append_new(tags, json_string(in->tags[t]));
    }
}

/* With ?node-meta or ?filter: the services with an instance that passes
 * them (the filter sees each instance as /v1/catalog/service/NAME shows
 * it), with those instances' tags. */
static json_t *services_selected(struct agent *a, struct httpd_req *req,
                                 const struct cat_service *s, size_t n,
                                 const struct consul_filter *f)
{
    struct node_buf *b = xmalloc(sizeof(*b));
    uint64_t idx = consul_index(a);
    json_t *o = json_object();
    struct cat_view v;

    catalog_view(a, &v);
    for (size_t i = 0; i < n; i++) {
        struct cat_entry *es = NULL;
        json_t *tags = NULL;
        size_t m = 0;
        struct err e;

        if (cat_service_entries(&v, s[i].name, NULL, CAT_CRITICAL, 0, &es, &m, &e) < 0)
            continue;
        for (size_t k = 0; k < m; k++) {
            node_of(a, es[k].inst.node, b);
            if (!node_meta_ok(req, &b->meta))
                continue;
            if (f) {
                json_t *row = consul_catalog_service_json(&b->n, &es[k].inst, idx);
                int ok = consul_filter_match(f, row);
                json_decref(row);
                if (!ok)
                    continue;
            }
            if (!tags)
                tags = json_array();
            add_tags(tags, &es[k].inst);
        }
        if (tags)
            json_object_set_new(o, s[i].name, tags);
        cat_entries_free(es, m);
    }
    free(b);
    return o;
}

static void services(struct agent *a, struct httpd_req *req)
{
    struct cat_view v;
    struct cat_service *s = NULL;
    struct consul_filter *f;
    size_t n = 0;
    struct err e;
    json_t *o;

    if (filter_param(a, req, &f) < 0)
        return;
    catalog_view(a, &v);
    if (cat_services(&v, &s, &n, &e) < 0) {
        consul_filter_free(f);
        consul_reply_error(a, req, 500, "%s", e.msg);
        return;
    }
    if (f || api_query_has(req, "node-meta")) {
        o = services_selected(a, req, s, n, f);
    } else {
        o = json_object();
        for (size_t i = 0; i < n; i++) {
            json_t *tags = json_array();
            for (size_t k = 0; k < s[i].n_tags; k++)
                json_array_append_new(tags, json_string(s[i].tags[k]));
            json_object_set_new(o, s[i].name, tags);
        }
    }
    free(s);
    consul_filter_free(f);
    consul_reply_json(a, req, 200, o);
}

/* 1 when the instance has tag. */
static int has_tag(const struct cat_instance *in, const char *tag)
{
    for (size_t i = 0; i < in->n_tags; i++)
        if (strcmp(in->tags[i], tag) == 0)
            return 1;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Drops the entries that lack a tag of a second, third... ?tag= (Consul
 * returns only instances with every tag asked for); the first was given
 * to the query. The raw query was checked at the edge (api_input.c). */
static void more_tags(struct httpd_req *req, struct cat_entry *es, size_t *n)
{
    size_t qlen;
    const char *q = httpd_req_query_raw(req, &qlen), *end = q ? q + qlen : NULL;
    int seen = 0;

    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        char tag[CAT_TAG_MAX + 2];
        size_t t = 0, kept = 0;

        if (stop - q > 4 && memcmp(q, "tag=", 4) == 0 && seen++) {
            for (const char *p = q + 4; p < stop && t < sizeof(tag) - 1; p++) {
                int hi, lo;
                if (*p == '%' && p + 2 < stop && (hi = hexval(p[1])) >= 0 &&
                    (lo = hexval(p[2])) >= 0) {
                    tag[t++] = (char)(hi * 16 + lo);
                    p += 2;
                } else {
                    tag[t++] = *p == '+' ? ' ' : *p;
                }
            }
            tag[t] = '\0';
            for (size_t i = 0; i < *n; i++) {
                if (has_tag(&es[i].inst, tag))
                    es[kept++] = es[i];
                else
                    free(es[i].checks);
            }
            *n = kept;
        }
        q = stop + 1;
    }
}

/* The instances of NAME (every ?tag); 0, or answered an error. */
static int entries(struct agent *a, struct httpd_req *req, const char *prefix, uint8_t max,
                   int only_serving, struct cat_entry **es, size_t *n)
{
    const char *name = httpd_req_path(req) + strlen(prefix);
    char tag[CAT_TAG_MAX + 2];
    struct cat_view v;
    struct err e;
    int rc = httpd_req_query(req, "tag", tag, sizeof(tag));

    *es = NULL;
    *n = 0;
    if (rc == -2) /* longer than any tag: no instance has it */
        return 0;
    if (!name[0] || strchr(name, '/')) {
        consul_reply_error(a, req, 400, "Missing service name");
        return -1;
    }
    catalog_view(a, &v);
    if (cat_service_entries(&v, name, rc >= 0 ? tag : NULL, max, only_serving, es, n, &e) < 0)
        *n = 0; /* a name troupe cannot hold has no instances */
    else if (rc >= 0 && *n)
        more_tags(req, *es, n);
    return 0;
}

static void service(struct agent *a, struct httpd_req *req)
{
    struct cat_entry *es;
    struct consul_filter *f;
    struct node_buf *b;
    uint64_t idx = consul_index(a);
    size_t n;
    json_t *arr;

    if (filter_param(a, req, &f) < 0)
        return;
    if (entries(a, req, "/v1/catalog/service/", CAT_CRITICAL, 0, &es, &n) < 0) {
        consul_filter_free(f);
        return;
    }
    b = xmalloc(sizeof(*b));
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        node_of(a, es[i].inst.node, b);
        if (node_meta_ok(req, &b->meta))
            add_filtered(arr, consul_catalog_service_json(&b->n, &es[i].inst, idx), f);
    }
    free(b);
    cat_entries_free(es, n);
    consul_filter_free(f);
    consul_reply_json(a, req, 200, arr);
}

/* ---- health ---- */

/* Without ?filter the entries are written straight to text (consul_write.c):
 * the read Consul's tools repeat most. */
static void health_text(struct agent *a, struct httpd_req *req, const struct cat_entry *es,
                        size_t n, uint64_t idx)
{
    struct node_buf *b = xmalloc(sizeof(*b));
    struct consul_buf out = {0};
    int first = 1;

    consul_buf_add(&out, "[", 1);
    for (size_t i = 0; i < n; i++) {
        node_of(a, es[i].inst.node, b);
        if (!node_meta_ok(req, &b->meta))
            continue;
        if (!first)
            consul_buf_add(&out, ",", 1);
        first = 0;
        consul_health_entry_write(&out, &b->n, &es[i], idx);
    }
    consul_buf_add(&out, "]", 1);
    free(b);
    consul_reply_bytes(a, req, 200, "application/json", out.p, out.len);
    consul_buf_release(&out);
}

static void health_service(struct agent *a, struct httpd_req *req)
{
    int passing = api_query_has(req, "passing");
    struct cat_entry *es;
    struct consul_filter *f;
    struct node_buf *b;
    uint64_t idx = consul_index(a);
    size_t n;
    json_t *arr;

    if (filter_param(a, req, &f) < 0)
        return;
    if (entries(a, req, "/v1/health/service/", passing ? CAT_PASSING : CAT_CRITICAL, passing, &es,
                &n) < 0) {
        consul_filter_free(f);
        return;
    }
    if (!f) {
        health_text(a, req, es, n, idx);
        cat_entries_free(es, n);
        return;
    }
    b = xmalloc(sizeof(*b));
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        node_of(a, es[i].inst.node, b);
        if (!node_meta_ok(req, &b->meta))
            continue;
        add_filtered(arr, consul_health_entry_json(&b->n, &es[i], idx), f);
    }
    free(b);
    cat_entries_free(es, n);
    consul_filter_free(f);
    consul_reply_json(a, req, 200, arr);
}

static void health_checks(struct agent *a, struct httpd_req *req)
{
    struct cat_entry *es;
    uint64_t idx = consul_index(a);
    size_t n;
    json_t *arr;

    if (entries(a, req, "/v1/health/checks/", CAT_CRITICAL, 0, &es, &n) < 0)
        return;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < es[i].n_checks; k++)
            json_array_append_new(
                arr, consul_check_json(es[i].inst.node, &es[i].checks[k], &es[i].inst, idx));
    cat_entries_free(es, n);
    consul_reply_json(a, req, 200, arr);
}

/* Every check of the replica (state: CAT_* or -1 for any), of one node or all. */
struct check_scan {
    json_t *arr;
    const char *node; /* NULL: every node */
    int state;
    uint64_t index;
    struct cat_check ck;
    struct cat_instance in;
    struct agent *a;
};

static int check_cb(void *ud, const struct crdt_rec *r)
{
    struct check_scan *cs = ud;
    const struct crdt_rec *ir;
    int have;

    if (r->deleted || (cs->node && strcmp(r->origin, cs->node) != 0) ||
        cat_check_decode(&cs->ck, r->val, r->len, NULL) < 0)
        return 0;
    if (!consul_serving(cs->a, r->origin))
        cs->ck.status = CAT_CRITICAL;
    if (cs->state >= 0 && cs->ck.status != cs->state)
        return 0;
    ir = crdt_get(cs->a->catalog->crdt, r->origin, CRDT_INSTANCE, cs->ck.instance);
    have = ir && !ir->deleted && cat_instance_decode(&cs->in, ir->val, ir->len, NULL) == 0;
    json_array_append_new(cs->arr,
                          consul_check_json(r->origin, &cs->ck, have ? &cs->in : NULL, cs->index));
    return 0;
}

static void serf_checks(struct agent *a, struct check_scan *cs)
{
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        int serving = m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT;
        if (m->state == SWIM_LEFT || (cs->node && strcmp(cs->node, m->name) != 0))
            continue;
        if (cs->state >= 0 && cs->state != (serving ? CAT_PASSING : CAT_CRITICAL))
            continue;
        json_array_append_new(cs->arr, consul_serf_check_json(m->name, serving, cs->index));
    }
}

static void scan_checks(struct agent *a, struct httpd_req *req, const char *node, int state)
{
    struct check_scan *cs = xcalloc(1, sizeof(*cs));

    cs->arr = json_array();
    cs->node = node;
    cs->state = state;
    cs->index = consul_index(a);
    cs->a = a;
    serf_checks(a, cs);
    crdt_scan(a->catalog->crdt, CRDT_CHECK, NULL, 0, check_cb, cs);
    consul_reply_json(a, req, 200, cs->arr);
    free(cs);
}

static void health_node(struct agent *a, struct httpd_req *req)
{
    scan_checks(a, req, httpd_req_path(req) + strlen("/v1/health/node/"), -1);
}

static void health_state(struct agent *a, struct httpd_req *req)
{
    const char *state = httpd_req_path(req) + strlen("/v1/health/state/");
    uint8_t st;

    if (strcmp(state, "any") == 0) {
        scan_checks(a, req, NULL, -1);
        return;
    }
    if (cat_status_parse(state, &st) < 0) {
        consul_reply_error(a, req, 400, "Invalid check state: any, passing, warning or critical");
        return;
    }
    scan_checks(a, req, NULL, st);
}

/* ---- routes ---- */

/* Every read of this file blocks with ?index=&wait= (consul_block). */
static void read_nodes(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, nodes);
}

static void read_node(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, node);
}

static void read_services(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, services);
}

static void read_service(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, service);
}

static void read_health_service(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, health_service);
}

static void read_health_checks(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, health_checks);
}

static void read_health_node(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, health_node);
}

static void read_health_state(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, health_state);
}

const struct api_route consul_catalog_routes[] = {
    {"GET", "/v1/catalog/datacenters", get_datacenters},
    {"GET", "/v1/catalog/nodes", read_nodes},
    {"GET", "/v1/catalog/node/*", read_node},
    {"GET", "/v1/catalog/services", read_services},
    {"GET", "/v1/catalog/service/*", read_service},
    {"GET", "/v1/health/service/*", read_health_service},
    {"GET", "/v1/health/checks/*", read_health_checks},
    {"GET", "/v1/health/node/*", read_health_node},
    {"GET", "/v1/health/state/*", read_health_state},
};
const size_t consul_catalog_n_routes =
    sizeof(consul_catalog_routes) / sizeof(consul_catalog_routes[0]);
