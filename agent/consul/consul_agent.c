/* consul_agent: Consul's agent endpoints over this agent's own registrations
 * and membership.
 *   GET /v1/agent/self, /v1/agent/members
 *   GET /v1/agent/services, /v1/agent/service/ID, /v1/agent/checks
 *   PUT /v1/agent/service/register        Consul's body, read by consul_shape.c
 *   PUT /v1/agent/service/deregister/ID
 *   PUT /v1/agent/check/pass|warn|fail/ID (?note=), /v1/agent/check/update/ID
 *   PUT /v1/agent/check/register          a check of one of our services
 *   PUT /v1/agent/check/deregister/ID
 *   PUT /v1/agent/service/maintenance/ID?enable=&reason=  Consul's critical
 *                                         check _service_maintenance:ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/catalog/services.h"
#include "agent/consul/consul_impl.h"
#include "core/mem.h"
#include "core/tags.h"

static struct check_run *find_check(struct agent *a, const char *id);

/* Our instance id, decoded from our own record; 0 when not ours. */
static int own_instance(struct agent *a, const char *id, struct cat_instance *in)
{
    struct crdt *c = a->catalog->crdt;
    const struct crdt_rec *r = crdt_get(c, crdt_self(c), CRDT_INSTANCE, id);

    return r && !r->deleted && cat_instance_decode(in, r->val, r->len, NULL) == 0;
}

static int own_check(struct agent *a, const char *id, struct cat_check *ck)
{
    struct crdt *c = a->catalog->crdt;
    const struct crdt_rec *r = crdt_get(c, crdt_self(c), CRDT_CHECK, id);

    return r && !r->deleted && cat_check_decode(ck, r->val, r->len, NULL) == 0;
}

/* /v1/agent/services shows no indexes; /v1/agent/service/ID a hash. */
static json_t *agent_service_json(struct agent *a, const struct cat_instance *in)
{
    json_t *o = consul_service_json(in, a->cfg.datacenter, 0);

    json_object_del(o, "CreateIndex");
    json_object_del(o, "ModifyIndex");
    return o;
}

/* ---- reads ---- */

static json_t *tags_of(const struct swim_member *m, const char *dc)
{
    json_t *o = json_object();
    struct tags t;

    if (m->tags_len && tags_decode(&t, m->tags, m->tags_len, NULL) == 0)
        for (size_t i = 0; i < t.n; i++)
            json_object_set_new(o, t.t[i].key, api_json_text(t.t[i].val, strlen(t.t[i].val)));
    json_object_set_new(o, "dc", json_string(dc));
    json_object_set_new(o, "role", json_string("node"));
    return o;
}

static json_t *member_json(struct agent *a, const struct swim_member *m)
{
    static const int serf_status[] = {
        [SWIM_ALIVE] = 1, [SWIM_SUSPECT] = 1, [SWIM_DEAD] = 4, [SWIM_LEFT] = 3};
    char ip[64];

    consul_member_ip(&m->addr, ip, sizeof(ip));
    return consul_member_json(
        m->name, ip, m->addr.port,
        m->state < sizeof(serf_status) / sizeof(serf_status[0]) ? serf_status[m->state] : 0,
        tags_of(m, a->cfg.datacenter));
}

static void get_self(struct agent *a, struct httpd_req *req, const char *rest)
{
    char id[37];

    consul_node_id(a->cfg.node, id);
    consul_reply_json(
        a, req, 200,
        json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:b, s:s}, s:{}, s:n, s:o, s:{}, s:{}}", "Config",
                  "Datacenter", a->cfg.datacenter, "PrimaryDatacenter", a->cfg.datacenter,
                  "NodeName", a->cfg.node, "NodeID", id, "Revision", "", "Server", 0, "Version",
                  TROUPE_VERSION, "DebugConfig", "Coord", "Member",
                  member_json(a, swim_self(a->swim)), "Meta", "Stats"));
}

static void get_members(struct agent *a, struct httpd_req *req, const char *rest)
{
    json_t *arr = json_array();
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, member_json(a, swim_member_at(a->swim, i)));
    consul_reply_json(a, req, 200, arr);
}

static void services(struct agent *a, struct httpd_req *req)
{
    json_t *o = json_object();
    struct cat_instance *in = xmalloc(sizeof(*in));

    for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
        if (own_instance(a, s->id, in))
            json_object_set_new(o, in->id, agent_service_json(a, in));
    free(in);
    consul_reply_json(a, req, 200, o);
}

static void service(struct agent *a, struct httpd_req *req)
{
    const char *id = httpd_req_path(req) + strlen("/v1/agent/service/");
    struct cat_instance *in = xmalloc(sizeof(*in));
    json_t *o;
    char hash[17];

    if (!own_instance(a, id, in)) {
        free(in);
        consul_reply_error(a, req, 404, "unknown service ID: %.200s", id);
        return;
    }
    o = agent_service_json(a, in);
    /* Consul's clients block on the hash of the definition */
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)consul_index(a));
    json_object_set_new(o, "ContentHash", json_string(hash));
    free(in);
    consul_reply_json(a, req, 200, o);
}

static void checks(struct agent *a, struct httpd_req *req)
{
    json_t *o = json_object();
    struct cat_instance *in = xmalloc(sizeof(*in));
    struct cat_check *ck = xmalloc(sizeof(*ck));

    for (struct svc_local *s = a->catalog->svcs; s; s = s->next) {
        int have = own_instance(a, s->id, in);
        for (size_t i = 0; i < s->n_checks; i++)
            if (own_check(a, checks_id(s->checks[i]), ck))
                json_object_set_new(o, ck->id,
                                    consul_check_json(a->cfg.node, ck, have ? in : NULL, 0));
    }
    free(in);
    free(ck);
    consul_reply_json(a, req, 200, o);
}

static void read_services(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, services);
}

static void read_service(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, service);
}

static void read_checks(struct agent *a, struct httpd_req *req, const char *rest)
{
    consul_block(a, req, checks);
}

/* ---- writes ---- */

static void put_register(struct agent *a, struct httpd_req *req, const char *rest)
{
    size_t len;
    const char *text = httpd_req_body(req, &len);
    json_error_t jerr;
    json_t *body, *def = NULL;
    struct catalog_def *d = xcalloc(1, sizeof(*d));
    struct err e;
    int rc = -EINVAL;

    err_clear(&e);
    if (!(body = json_loadb(text, len, 0, &jerr))) {
        err_set(&e, -EINVAL, "Request decode failed: %s", jerr.text);
        goto out;
    }
    if (!(def = consul_register_body(body, &e)))
        goto out;
    if ((rc = services_parse(def, d, &e)) < 0)
        goto out;
    rc = catalog_register(a, d, CATALOG_SRC_API, &e);
out:
    catalog_def_release(d);
    free(d);
    json_decref(def);
    json_decref(body);
    if (rc < 0) {
        consul_reply_error(a, req, rc == -EPERM ? 403 : rc == -EIO ? 500 : 400, "%s", e.msg);
        return;
    }
    consul_reply_ok(a, req);
    agent_drive(a);
}

static void put_deregister(struct agent *a, struct httpd_req *req, const char *id)
{
    struct err e;
    int rc = catalog_deregister(a, id, &e);

    if (rc < 0) {
        consul_reply_error(a, req, rc == -ENOENT ? 404 : api_status(rc), "%s", e.msg);
        return;
    }
    consul_reply_ok(a, req);
    agent_drive(a);
}

#define MAINT_PREFIX "_service_maintenance:"

/* Consul's id of the maintenance check of instance id; -1 when it would
 * be longer than a check id may be. */
static int maint_id(const char *id, char *out, size_t cap)
{
    int n = snprintf(out, cap, MAINT_PREFIX "%s", id);

    return n < 0 || (size_t)n >= cap || n > CAT_ID_MAX ? -1 : 0;
}

/* Our instance s registered again with its checks, less the one whose id
 * is drop (NULL: none), with add (NULL: none) after them. Checks that stay
 * keep their status. Only instances registered through the API: a service
 * file or the supervisor owns the others' definitions (what: the change,
 * for the message). */
static int reregister(struct agent *a, struct svc_local *s, const char *drop,
                      const struct catalog_check_def *add, const char *what, struct err *e)
{
    struct catalog_def *d = xcalloc(1, sizeof(*d));
    int rc = -EINVAL;

    if (s->source != CATALOG_SRC_API) {
        err_set(e, -EINVAL,
                "service \"%s\" comes from a service file or the supervisor: %s "
                "there (see docs/consul-compat.md)",
                s->id, what);
        goto out;
    }
    if (!own_instance(a, s->id, &d->inst)) {
        err_set(e, -ENOENT, "unknown service ID: %s", s->id);
        goto out;
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        const struct catalog_check_def *c = checks_def(s->checks[i]);
        struct catalog_check_def *to = &d->checks[d->n_checks];
        if (drop && strcmp(c->id, drop) == 0)
            continue;
        *to = *c;
        for (size_t k = 0; k < c->argc; k++)
            to->argv[k] = xstrdup(c->argv[k]);
        d->n_checks++;
    }
    if (add) {
        struct catalog_check_def *to = &d->checks[d->n_checks];
        if (d->n_checks == CATALOG_CHECKS_MAX) {
            err_set(e, -EINVAL, "service \"%s\" has %d checks, no room for another", s->id,
                    CATALOG_CHECKS_MAX);
            goto out;
        }
        *to = *add;
        for (size_t k = 0; k < add->argc; k++)
            to->argv[k] = xstrdup(add->argv[k]);
        d->n_checks++;
    }
    rc = catalog_register(a, d, CATALOG_SRC_API, e);
out:
    catalog_def_release(d);
    free(d);
    return rc;
}

/* Our instance with Consul's maintenance check (a TTL check that never
 * passes) when enable, without it otherwise. */
static int maintenance(struct agent *a, struct svc_local *s, int enable, struct err *e)
{
    struct catalog_check_def *m = xcalloc(1, sizeof(*m));
    char maint[CAT_ID_MAX + 32];
    int rc;

    if (maint_id(s->id, maint, sizeof(maint)) < 0) {
        free(m);
        return err_set(e, -EINVAL, "service id too long for a maintenance check id");
    }
    memcpy(m->id, maint, strlen(maint) + 1); /* maint_id kept it to CAT_ID_MAX */
    snprintf(m->name, sizeof(m->name), "Service Maintenance Mode");
    health_cfg_default(&m->cfg, HEALTH_TTL);
    m->cfg.ttl_ms = 3600000; /* never reported: critical until disabled */
    rc = reregister(a, s, maint, enable ? m : NULL, "put it in maintenance", e);
    free(m);
    return rc;
}

/* ?enable=true|false, ?reason= (the maintenance check's output). */
static void put_maintenance(struct agent *a, struct httpd_req *req, const char *id)
{
    struct svc_local *s = catalog_find(a, id);
    char enable[8], reason[CAT_OUTPUT_MAX + 1], maint[CAT_ID_MAX + 32];
    struct check_run *r;
    struct err e;
    int on, rc, n;

    if (httpd_req_query(req, "enable", enable, sizeof(enable)) < 0 ||
        (strcmp(enable, "true") != 0 && strcmp(enable, "false") != 0)) {
        consul_reply_error(a, req, 400, "Missing value for enable: true or false");
        return;
    }
    if (!s) {
        consul_reply_error(a, req, 404, "Unknown service ID \"%.200s\"", id);
        return;
    }
    on = strcmp(enable, "true") == 0;
    if ((rc = maintenance(a, s, on, &e)) < 0) {
        consul_reply_error(a, req, api_status(rc), "%s", e.msg);
        return;
    }
    maint_id(id, maint, sizeof(maint));
    n = httpd_req_query(req, "reason", reason, sizeof(reason));
    if (on && (r = find_check(a, maint)) &&
        checks_report(r, CAT_CRITICAL,
                      n > 0 ? reason
                            : "Maintenance mode is enabled for this "
                              "service",
                      n > 0 ? (size_t)n : 40, &e) == 0)
        catalog_save(a, &e);
    consul_reply_ok(a, req);
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

static void report(struct agent *a, struct httpd_req *req, const char *id, uint8_t status,
                   const char *out, size_t out_len)
{
    struct check_run *r = find_check(a, id);
    struct err e;

    if (!r) {
        consul_reply_error(a, req, 404, "Unknown check ID \"%.200s\"", id);
        return;
    }
    if (out_len > CAT_OUTPUT_MAX)
        out_len = CAT_OUTPUT_MAX;
    if (checks_report(r, status, out, out_len, &e) < 0) {
        consul_reply_error(a, req, 400, "%s", e.msg);
        return;
    }
    if (catalog_save(a, &e) < 0) {
        consul_reply_error(a, req, 500, "%s", e.msg);
        return;
    }
    consul_reply_ok(a, req);
    agent_drive(a);
}

static void put_ttl(struct agent *a, struct httpd_req *req, const char *id, uint8_t status)
{
    char note[CAT_OUTPUT_MAX + 1];
    int n = httpd_req_query(req, "note", note, sizeof(note));

    report(a, req, id, status, n > 0 ? note : "", n > 0 ? (size_t)n : 0);
}

static void put_pass(struct agent *a, struct httpd_req *req, const char *id)
{
    put_ttl(a, req, id, CAT_PASSING);
}

static void put_warn(struct agent *a, struct httpd_req *req, const char *id)
{
    put_ttl(a, req, id, CAT_WARNING);
}

static void put_fail(struct agent *a, struct httpd_req *req, const char *id)
{
    put_ttl(a, req, id, CAT_CRITICAL);
}

/* {"Status": "passing|warning|critical", "Output": "..."} */
static void put_update(struct agent *a, struct httpd_req *req, const char *id)
{
    size_t len;
    const char *text = httpd_req_body(req, &len);
    json_t *body = json_loadb(text, len, 0, NULL), *out;
    uint8_t status;

    if (!body ||
        consul_status_parse(json_string_value(json_object_get(body, "Status")), &status) < 0) {
        json_decref(body);
        consul_reply_error(a, req, 400,
                           "Request decode failed: expected {\"Status\": \"passing\", "
                           "\"warning\" or \"critical\", \"Output\": TEXT}");
        return;
    }
    out = json_object_get(body, "Output");
    report(a, req, id, status, json_is_string(out) ? json_string_value(out) : "",
           json_is_string(out) ? json_string_length(out) : 0);
    json_decref(body);
}

/* ---- checks of a service ---- */

/* Our service that has check id, NULL when none has. */
static struct svc_local *check_owner(struct agent *a, const char *id)
{
    for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
        for (size_t i = 0; i < s->n_checks; i++)
            if (strcmp(checks_id(s->checks[i]), id) == 0)
                return s;
    return NULL;
}

/* Consul's body (Name, ID, ServiceID, HTTP, TCP, Args, TTL, Interval,
 * Timeout, Notes, Status). troupe's checks each judge one instance: the
 * check joins the checks of the service ServiceID names (registered
 * through the API), replacing one of the same id. Notes is not kept. */
static void put_check_register(struct agent *a, struct httpd_req *req, const char *rest)
{
    size_t len;
    const char *text = httpd_req_body(req, &len), *sid;
    json_error_t jerr;
    json_t *body, *def = NULL;
    struct catalog_check_def *c = xcalloc(1, sizeof(*c));
    struct svc_local *s, *owner;
    struct check_run *r;
    struct err e;
    uint8_t status;
    int rc = -EINVAL;

    err_clear(&e);
    if (!(body = json_loadb(text, len, 0, &jerr))) {
        err_set(&e, -EINVAL, "Request decode failed: %s", jerr.text);
        goto out;
    }
    if (!(def = consul_check_register_body(body, &status, &e)))
        goto out;
    sid = api_acl_consul_service_id(body);
    if (!sid || !*sid) {
        err_set(&e, -EINVAL,
                "troupe's checks each judge a service instance: a check without ServiceID "
                "(a node-level check) cannot be held; give the ServiceID of a service of "
                "this agent (see docs/consul-compat.md)");
        goto out;
    }
    if (!(s = catalog_find(a, sid))) {
        err_set(&e, -EINVAL, "ServiceID \"%.200s\" does not exist", sid);
        goto out;
    }
    if ((rc = services_parse_check(def, "", c, &e)) < 0)
        goto out;
    if ((owner = check_owner(a, c->id)) && owner != s) {
        rc = -EINVAL;
        err_set(&e, -EINVAL, "check ID \"%s\" is a check of service ID \"%s\"", c->id, owner->id);
        goto out;
    }
    /* Consul's Status is where the check starts */
    c->start_passing = status == CAT_PASSING;
    if ((rc = reregister(a, s, c->id, c, "change its checks", &e)) < 0)
        goto out;
    if (status == CAT_WARNING && (r = find_check(a, c->id)) &&
        checks_report(r, CAT_WARNING, "", 0, &e) == 0)
        catalog_save(a, &e);
    rc = 0;
out:
    for (size_t k = 0; k < c->argc; k++)
        free(c->argv[k]);
    free(c);
    json_decref(def);
    json_decref(body);
    if (rc < 0) {
        consul_reply_error(a, req, rc == -EPERM ? 403 : rc == -EIO ? 500 : 400, "%s", e.msg);
        return;
    }
    consul_reply_ok(a, req);
    agent_drive(a);
}

static void put_check_deregister(struct agent *a, struct httpd_req *req, const char *id)
{
    struct svc_local *s = check_owner(a, id);
    struct err e;
    int rc;

    if (!s) {
        consul_reply_error(a, req, 404, "Unknown check ID \"%.200s\"", id);
        return;
    }
    if ((rc = reregister(a, s, id, NULL, "change its checks", &e)) < 0) {
        consul_reply_error(a, req, rc == -ENOENT ? 404 : api_status(rc), "%s", e.msg);
        return;
    }
    consul_reply_ok(a, req);
    agent_drive(a);
}

const struct api_route consul_agent_routes[] = {
    {"GET", "/v1/agent/self", get_self},
    {"GET", "/v1/agent/members", get_members},
    {"GET", "/v1/agent/services", read_services},
    {"GET", "/v1/agent/checks", read_checks},
    {"PUT", "/v1/agent/service/register", put_register},
    {"PUT", "/v1/agent/service/deregister/*", put_deregister},
    {"PUT", "/v1/agent/service/maintenance/*", put_maintenance},
    /* Consul before 1.0 took these as GET; Debian's python3-consul sends GET */
    {"GET", "/v1/agent/service/deregister/*", put_deregister},
    {"GET", "/v1/agent/check/pass/*", put_pass},
    {"GET", "/v1/agent/check/warn/*", put_warn},
    {"GET", "/v1/agent/check/fail/*", put_fail},
    {"GET", "/v1/agent/service/*", read_service},
    {"PUT", "/v1/agent/check/pass/*", put_pass},
    {"PUT", "/v1/agent/check/warn/*", put_warn},
    {"PUT", "/v1/agent/check/fail/*", put_fail},
    {"PUT", "/v1/agent/check/update/*", put_update},
    {"PUT", "/v1/agent/check/register", put_check_register},
    {"PUT", "/v1/agent/check/deregister/*", put_check_deregister},
    {"GET", "/v1/agent/check/deregister/*", put_check_deregister},
};
const size_t consul_agent_n_routes = sizeof(consul_agent_routes) / sizeof(consul_agent_routes[0]);
