/* api_acl: the one authorization check of the HTTP API, and the audit of
 * its writes. Every route is a row of the table below: (method, path
 * pattern) -> (resource, access, where the name the rules' prefixes are
 * matched against comes from). handle() calls api_acl_check before any
 * route runs; a request that matches no row never reaches a route (404, or
 * 405 when the path is known with another method): a route missing from
 * the table is unreachable, not open.
 *
 * The token comes in X-Troupe-Token or Authorization: Bearer; an unknown
 * one is a 401, a token (or its absence) that lacks the rule a 403 naming
 * the rule. Every request that writes (not GET) is an "audit" event of the
 * history once answered: method and path, the token's name (never the
 * secret), the peer and the status. The rule language and the decision are
 * core/acl's; finding tokens is acl/tokens'. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/acl/tokens.h"
#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/catalog/services.h"
#include "core/acl.h"
#include "core/cat.h"
#include "core/mem.h"

/* Where the name matched against rule prefixes comes from. */
enum name_src {
    N_NONE,          /* "": the resource as a whole */
    N_REST,          /* the path after the pattern's '*' */
    N_QUERY_SERVICE, /* ?service=NAME, "" without it */
    N_BODY_SERVICES, /* every service of a registration body */
    N_BODY_NAME,     /* the "name" of a JSON body (a spec, a token) */
    N_BODY_BUNDLE,   /* the "bundle" of a JSON body: NAME@VERSION */
    N_INSTANCE,      /* the service of our instance REST */
    N_CHECK,         /* the service of the instance our check REST/STATUS judges */
    N_CHECK_ID,      /* the service of the instance our check REST judges (Consul's paths) */
    N_BODY_CONSUL,   /* the "Name" of a Consul service registration body */
    N_BODY_SVC_ID,   /* the service of our instance a body's "ServiceID" names */
};

enum {
    F_OPEN = 1,    /* no check at all: health and the ACL self-description */
    F_SUBTREE = 2, /* with ?recurse or ?keys, every name under the prefix */
};

/* The Consul listener's routes (agent/consul/) are kept apart: the same
 * path there takes another body (a registration) or means another thing. */

struct acl_route {
    const char *method; /* "PUT" also takes POST */
    const char *path;   /* exact, or a prefix when it ends in '*' */
    uint8_t resource;   /* enum acl_resource */
    uint8_t access;     /* ACL_READ or ACL_WRITE */
    uint8_t name;       /* enum name_src */
    uint8_t flags;
};

static const struct acl_route table[] = {
    /* membership and the agent (api.c) */
    {"GET", "/v1/members", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/self", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    {"GET", "/v1/health", ACL_RES_AGENT, ACL_READ, N_NONE, F_OPEN},
    {"PUT", "/v1/join", ACL_RES_NODE, ACL_WRITE, N_NONE, 0},
    {"PUT", "/v1/leave", ACL_RES_NODE, ACL_WRITE, N_NONE, 0},
    {"PUT", "/v1/bundle/fetch", ACL_RES_TRUST, ACL_WRITE, N_BODY_BUNDLE, 0},
    {"GET", "/metrics", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    {"GET", "/v1/dns/stats", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    {"PUT", "/v1/agent/metric/*", ACL_RES_SERVICE, ACL_WRITE, N_REST, 0},
    /* the catalog (api_catalog.c) */
    {"GET", "/v1/catalog/services", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/catalog/service/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"GET", "/v1/catalog/digest", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/health/service/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"GET", "/v1/agent/services", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"PUT", "/v1/agent/service/register", ACL_RES_SERVICE, ACL_WRITE, N_BODY_SERVICES, 0},
    {"PUT", "/v1/agent/service/deregister/*", ACL_RES_SERVICE, ACL_WRITE, N_INSTANCE, 0},
    {"PUT", "/v1/agent/check/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK, 0},
    /* KV (api_kv.c) */
    {"GET", "/v1/kv/*", ACL_RES_KV, ACL_READ, N_REST, F_SUBTREE},
    {"PUT", "/v1/kv/*", ACL_RES_KV, ACL_WRITE, N_REST, 0},
    {"DELETE", "/v1/kv/*", ACL_RES_KV, ACL_WRITE, N_REST, F_SUBTREE},
    /* events and the history (api_events.c) */
    {"PUT", "/v1/event/fire/*", ACL_RES_EVENT, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/events", ACL_RES_EVENT, ACL_READ, N_NONE, 0},
    /* the supervisor (api_super.c) */
    {"PUT", "/v1/agent/run", ACL_RES_RUN, ACL_WRITE, N_BODY_NAME, 0},
    {"DELETE", "/v1/agent/run/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/agent/ps", ACL_RES_RUN, ACL_READ, N_QUERY_SERVICE, 0},
    {"GET", "/v1/agent/spec/*", ACL_RES_RUN, ACL_READ, N_REST, 0},
    {"PUT", "/v1/agent/stop/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"PUT", "/v1/agent/start/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"PUT", "/v1/agent/restart/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"PUT", "/v1/agent/scale/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/agent/logs/*", ACL_RES_RUN, ACL_READ, N_REST, 0},
    {"GET", "/v1/agent/secrets", ACL_RES_SECRET, ACL_READ, N_NONE, 0},
    {"PUT", "/v1/agent/secret/*", ACL_RES_SECRET, ACL_WRITE, N_REST, 0},
    {"DELETE", "/v1/agent/secret/*", ACL_RES_SECRET, ACL_WRITE, N_REST, 0},
    /* the cluster's service specs and their placement (api_specs.c) */
    {"GET", "/v1/specs", ACL_RES_RUN, ACL_READ, N_NONE, 0},
    {"GET", "/v1/specs/*", ACL_RES_RUN, ACL_READ, N_REST, 0},
    {"PUT", "/v1/specs/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"DELETE", "/v1/specs/*", ACL_RES_RUN, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/place", ACL_RES_RUN, ACL_READ, N_NONE, 0},
    {"GET", "/v1/place/*", ACL_RES_RUN, ACL_READ, N_REST, 0},
    /* the proxy's routes (api_routes.c): named by the route */
    {"GET", "/v1/routes", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/routes/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"PUT", "/v1/routes", ACL_RES_SERVICE, ACL_WRITE, N_BODY_NAME, 0},
    {"PUT", "/v1/routes/*", ACL_RES_SERVICE, ACL_WRITE, N_REST, 0},
    {"DELETE", "/v1/routes", ACL_RES_SERVICE, ACL_WRITE, N_NONE, 0},
    {"DELETE", "/v1/routes/*", ACL_RES_SERVICE, ACL_WRITE, N_REST, 0},
    /* what this agent's proxy makes of them (api_routes.c) */
    {"GET", "/v1/proxy/routes", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/proxy/endpoints/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    /* the web UI's files (api_ui.c): its data comes from the reads above */
    {"GET", "/ui", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    {"GET", "/ui/*", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    /* tokens (api_tokens.c) */
    {"GET", "/v1/acl/tokens", ACL_RES_ACL, ACL_READ, N_NONE, 0},
    {"PUT", "/v1/acl/tokens", ACL_RES_ACL, ACL_WRITE, N_BODY_NAME, 0},
    {"GET", "/v1/acl/token/*", ACL_RES_ACL, ACL_READ, N_REST, 0},
    {"DELETE", "/v1/acl/token/*", ACL_RES_ACL, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/acl/self", ACL_RES_ACL, ACL_READ, N_NONE, F_OPEN},
};

/* The Consul-compatible API (agent/consul/, docs/consul-compat.md). The
 * rows marked F_OPEN there only answer a refusal (what troupe cannot do
 * without a linearizable store) and change nothing. */
static const struct acl_route consul_table[] = {
    {"GET", "/v1/agent/self", ACL_RES_AGENT, ACL_READ, N_NONE, 0},
    {"GET", "/v1/agent/members", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/agent/services", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    /* writes that Consul before 1.0 took as GET, and Debian's python3-consul
     * still sends so: before the GET read of /v1/agent/service/ */
    {"GET", "/v1/agent/service/deregister/*", ACL_RES_SERVICE, ACL_WRITE, N_INSTANCE, 0},
    {"GET", "/v1/agent/check/pass/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"GET", "/v1/agent/check/warn/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"GET", "/v1/agent/check/fail/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"GET", "/v1/agent/check/deregister/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"GET", "/v1/agent/service/*", ACL_RES_SERVICE, ACL_READ, N_INSTANCE, 0},
    {"GET", "/v1/agent/checks", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"PUT", "/v1/agent/service/register", ACL_RES_SERVICE, ACL_WRITE, N_BODY_CONSUL, 0},
    {"PUT", "/v1/agent/service/deregister/*", ACL_RES_SERVICE, ACL_WRITE, N_INSTANCE, 0},
    {"PUT", "/v1/agent/service/maintenance/*", ACL_RES_SERVICE, ACL_WRITE, N_INSTANCE, 0},
    {"PUT", "/v1/agent/check/pass/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"PUT", "/v1/agent/check/warn/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"PUT", "/v1/agent/check/fail/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"PUT", "/v1/agent/check/update/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"PUT", "/v1/agent/check/register", ACL_RES_SERVICE, ACL_WRITE, N_BODY_SVC_ID, 0},
    {"PUT", "/v1/agent/check/deregister/*", ACL_RES_SERVICE, ACL_WRITE, N_CHECK_ID, 0},
    {"GET", "/v1/catalog/datacenters", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/catalog/nodes", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/catalog/node/*", ACL_RES_NODE, ACL_READ, N_REST, 0},
    {"GET", "/v1/catalog/services", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/catalog/service/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"PUT", "/v1/catalog/register", ACL_RES_NODE, ACL_WRITE, N_NONE, F_OPEN},
    {"PUT", "/v1/catalog/deregister", ACL_RES_NODE, ACL_WRITE, N_NONE, F_OPEN},
    {"GET", "/v1/health/service/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"GET", "/v1/health/checks/*", ACL_RES_SERVICE, ACL_READ, N_REST, 0},
    {"GET", "/v1/health/node/*", ACL_RES_NODE, ACL_READ, N_REST, 0},
    {"GET", "/v1/health/state/*", ACL_RES_SERVICE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/kv/*", ACL_RES_KV, ACL_READ, N_REST, F_SUBTREE},
    {"PUT", "/v1/kv/*", ACL_RES_KV, ACL_WRITE, N_REST, 0},
    {"DELETE", "/v1/kv/*", ACL_RES_KV, ACL_WRITE, N_REST, F_SUBTREE},
    {"PUT", "/v1/event/fire/*", ACL_RES_EVENT, ACL_WRITE, N_REST, 0},
    {"GET", "/v1/event/list", ACL_RES_EVENT, ACL_READ, N_NONE, 0},
    /* a liveness probe of Consul's clients: says only where this agent is */
    {"GET", "/v1/status/leader", ACL_RES_AGENT, ACL_READ, N_NONE, F_OPEN},
    {"GET", "/v1/status/peers", ACL_RES_NODE, ACL_READ, N_NONE, 0},
    {"GET", "/v1/session/*", ACL_RES_KV, ACL_READ, N_NONE, F_OPEN},
    {"PUT", "/v1/session/*", ACL_RES_KV, ACL_WRITE, N_NONE, F_OPEN},
};

#define TABLE_N   (sizeof(table) / sizeof(table[0]))
#define CONSUL_N  (sizeof(consul_table) / sizeof(consul_table[0]))
#define NAMES_MAX 64 /* services of one registration body */

/* 1 when path matches the pattern; *rest gets what the '*' covers. */
static int path_matches(const char *pattern, const char *path, const char **rest)
{
    size_t n = strlen(pattern);

    if (pattern[n - 1] == '*') {
        if (strncmp(path, pattern, n - 1) != 0)
            return 0;
        *rest = path + n - 1;
        return 1;
    }
    *rest = "";
    return strcmp(pattern, path) == 0;
}

static int method_matches(const char *want, const char *method)
{
    return strcmp(want, method) == 0 || (strcmp(want, "PUT") == 0 && strcmp(method, "POST") == 0);
}

/* ---- names ---- */

struct names {
    size_t n;
    char v[NAMES_MAX][ACL_PREFIX_MAX + 2];
};

static int collect_service(void *ud, const struct catalog_def *d, struct err *e)
{
    struct names *ns = ud;

    if (ns->n == NAMES_MAX)
        return err_set(e, -E2BIG, "more than %d services", NAMES_MAX);
    snprintf(ns->v[ns->n++], sizeof(ns->v[0]), "%s", d->inst.service);
    return 0;
}

static void body_field(struct httpd_req *req, const char *field, char *out, size_t cap)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *v = json_string_value(json_object_get(j, field));

    out[0] = '\0';
    if (v && strlen(v) < cap)
        memcpy(out, v, strlen(v) + 1);
    json_decref(j);
}

/* The "Name" of a Consul registration, folded to lower case as troupe's
 * service names are ("" when there is none: write on every service). */
static void consul_body_name(struct httpd_req *req, char *out, size_t cap)
{
    body_field(req, "Name", out, cap);
    if (!out[0])
        body_field(req, "name", out, cap);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

const char *api_acl_consul_service_id(json_t *body)
{
    const char *key, *found = NULL;
    json_t *v;

    /* json_object_foreach walks on from key: read it through k */
    json_object_foreach(body, key, v)
    {
        const char *want = "serviceid", *k = key;
        for (; *k && *want; k++) {
            if (*k == '_')
                continue;
            if ((*k | 0x20) != *want)
                break;
            want++;
        }
        while (*k == '_')
            k++;
        if (*k || *want)
            continue;
        if (found || !json_is_string(v))
            return NULL; /* twice, or not a name: no instance */
        found = json_string_value(v);
    }
    return found;
}

/* The service of our instance id; "" when it is not ours. */
static void instance_service(struct agent *a, const char *id, char *out, size_t cap)
{
    struct crdt *c = a->catalog->crdt;
    const struct crdt_rec *r = crdt_get(c, crdt_self(c), CRDT_INSTANCE, id);
    struct cat_instance *in;

    out[0] = '\0';
    if (!r || r->deleted)
        return;
    in = xmalloc(sizeof(*in));
    if (cat_instance_decode(in, r->val, r->len, NULL) == 0)
        snprintf(out, cap, "%s", in->service);
    free(in);
}

/* The service of the instance our check id judges ("" when none). */
static void check_id_service(struct agent *a, const char *id, char *out, size_t cap)
{
    struct crdt *c = a->catalog->crdt;
    const struct crdt_rec *r;
    struct cat_check *ck;

    out[0] = '\0';
    r = crdt_get(c, crdt_self(c), CRDT_CHECK, id);
    if (!r || r->deleted)
        return;
    ck = xmalloc(sizeof(*ck));
    if (cat_check_decode(ck, r->val, r->len, NULL) == 0)
        instance_service(a, ck->instance, out, cap);
    free(ck);
}

/* REST is CHECK_ID/STATUS: the service of the instance that check judges. */
static void check_service(struct agent *a, const char *rest, char *out, size_t cap)
{
    const char *slash = strrchr(rest, '/');
    char id[CAT_ID_MAX + 1];

    out[0] = '\0';
    if (!slash || (size_t)(slash - rest) > CAT_ID_MAX)
        return;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    check_id_service(a, id, out, cap);
}

/* The names a request acts on (one, or each service of a registration).
 * A name is kept to ACL_PREFIX_MAX + 1 bytes: no rule prefix is longer, so
 * the rest cannot change a decision. */
static void request_names(struct agent *a, struct httpd_req *req, const struct acl_route *rt,
                          const char *rest, struct names *ns)
{
    char *first = ns->v[0];
    size_t cap = sizeof(ns->v[0]);

    ns->n = 1;
    first[0] = '\0';
    switch (rt->name) {
    case N_REST:
        snprintf(first, cap, "%s", rest);
        break;
    case N_QUERY_SERVICE:
        if (httpd_req_query(req, "service", first, cap) < 0)
            first[0] = '\0';
        break;
    case N_BODY_SERVICES: {
        size_t len;
        const char *body = httpd_req_body(req, &len);
        ns->n = 0;
        if (services_parse_text(body, len, collect_service, ns, NULL) <= 0) {
            ns->n = 1; /* not a valid body: it takes write on every service */
            first[0] = '\0';
        }
        break;
    }
    case N_BODY_NAME:
        body_field(req, "name", first, cap);
        break;
    case N_BODY_BUNDLE:
        body_field(req, "bundle", first, cap);
        break;
    case N_INSTANCE:
        instance_service(a, rest, first, cap);
        break;
    case N_CHECK:
        check_service(a, rest, first, cap);
        break;
    case N_CHECK_ID:
        check_id_service(a, rest, first, cap);
        break;
    case N_BODY_CONSUL:
        consul_body_name(req, first, cap);
        break;
    case N_BODY_SVC_ID: {
        size_t len;
        const char *body = httpd_req_body(req, &len), *id;
        json_t *j = json_loadb(body, len, 0, NULL);
        if (j && (id = api_acl_consul_service_id(j)) && id[0])
            instance_service(a, id, first, cap);
        json_decref(j);
        break;
    }
    default:
        break;
    }
}

/* ---- the audit ---- */

struct audit {
    struct agent *a;
    char what[160];                /* METHOD PATH, cut */
    char token[ACL_NAME_MAX + 16]; /* token "NAME", no token, unknown token */
    char peer[64];
};

static void audit_done(void *ud, int status)
{
    struct audit *au = ud;

    history_add(au->a, "audit", au->what, "%s from %s: %d", au->token, au->peer, status);
    free(au);
}

static void audit_start(struct agent *a, struct httpd_req *req, const char *method,
                        const char *path, const struct acl_token *t, int unknown)
{
    struct audit *au = xcalloc(1, sizeof(*au));

    au->a = a;
    snprintf(au->what, sizeof(au->what), "%s %.140s", method, path);
    if (t)
        snprintf(au->token, sizeof(au->token), "token \"%s\"", t->name);
    else
        snprintf(au->token, sizeof(au->token), "%s", unknown ? "unknown token" : "no token");
    httpd_req_peer(req, au->peer, sizeof(au->peer));
    httpd_req_on_respond(req, audit_done, au);
}

/* ---- the check ---- */

/* The secret a request carries: X-Troupe-Token, else Authorization:
 * Bearer. On the Consul listener (qbuf not NULL) X-Consul-Token and
 * ?token= come first, as Consul's clients send them there; ?token= is
 * decoded into qbuf (ACL_SECRET_MAX + 2 bytes). */
static const char *request_secret(struct httpd_req *req, size_t *len, char *qbuf)
{
    const char *v = httpd_req_header(req, "X-Troupe-Token", len);
    int rc;

    if (qbuf && !v)
        v = httpd_req_header(req, "X-Consul-Token", len);
    if (qbuf && !v && (rc = httpd_req_query(req, "token", qbuf, ACL_SECRET_MAX + 2)) != -1) {
        /* too long or malformed: a secret no token has, so an unknown one */
        if (rc < 0)
            snprintf(qbuf, ACL_SECRET_MAX + 2, "?");
        v = qbuf;
        *len = strlen(qbuf);
    }
    if (!v) {
        v = httpd_req_header(req, "Authorization", len);
        if (!v || *len < 7 || strncasecmp(v, "Bearer ", 7) != 0)
            return NULL;
        v += 7, *len -= 7;
    }
    while (*len && (*v == ' ' || *v == '\t'))
        v++, (*len)--;
    while (*len && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
        (*len)--;
    return *len ? v : NULL;
}

const struct acl_token *api_acl_token(struct agent *a, struct httpd_req *req)
{
    size_t len;
    const char *secret = request_secret(req, &len, NULL);

    return secret && len <= ACL_SECRET_MAX ? tokens_find(a, secret, len) : NULL;
}

void api_acl_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud)
{
    for (size_t i = 0; i < TABLE_N; i++)
        fn(ud, table[i].method, table[i].path);
}

void api_acl_consul_each(void (*fn)(void *ud, const char *method, const char *pattern), void *ud)
{
    for (size_t i = 0; i < CONSUL_N; i++)
        fn(ud, consul_table[i].method, consul_table[i].path);
}

/* troupe's answer to a refusal: its JSON error, the status the kind says. */
static void deny_troupe(struct agent *a, struct httpd_req *req, enum api_denial kind,
                        const char *msg)
{
    static const int status[] = {[API_DENY_NO_ROUTE] = 404,
                                 [API_DENY_METHOD] = 405,
                                 [API_DENY_UNKNOWN_TOKEN] = 401,
                                 [API_DENY_FORBIDDEN] = 403};

    api_reply_error(req, status[kind], "%s", msg);
}

static int check_table(struct agent *a, struct httpd_req *req, const struct acl_route *tab,
                       size_t n_tab, int consul, api_deny_fn deny)
{
    const char *method = httpd_req_method(req), *path = httpd_req_path(req), *rest = "";
    const struct acl_route *rt = NULL;
    const struct acl_token *t = NULL;
    const char *secret;
    size_t slen;
    int path_known = 0, subtree;
    struct names *ns;
    struct acl_decision d;
    char msg[512];

    char qbuf[ACL_SECRET_MAX + 2];

    for (size_t i = 0; i < n_tab && !rt; i++) {
        const char *r;
        if (!path_matches(tab[i].path, path, &r))
            continue;
        path_known = 1;
        if (method_matches(tab[i].method, method))
            rt = &tab[i], rest = r;
    }
    if (!rt) {
        if (path_known) {
            snprintf(msg, sizeof(msg), "method %s not allowed on %.200s", method, path);
            deny(a, req, API_DENY_METHOD, msg);
        } else {
            snprintf(msg, sizeof(msg), "no such endpoint: %s %.200s", method, path);
            deny(a, req, API_DENY_NO_ROUTE, msg);
        }
        return 0;
    }
    secret = request_secret(req, &slen, consul ? qbuf : NULL);
    if (secret)
        t = slen <= ACL_SECRET_MAX ? tokens_find(a, secret, slen) : NULL;
    if (rt->flags & F_OPEN)
        return 1;
    if (secret) {
        if (!t) {
            if (rt->access == ACL_WRITE)
                audit_start(a, req, method, path, NULL, 1);
            deny(a, req, API_DENY_UNKNOWN_TOKEN,
                 "unknown token (revoked, or never made on this cluster)");
            return 0;
        }
    }
    if (rt->access == ACL_WRITE)
        audit_start(a, req, method, path, t, 0);
    subtree =
        (rt->flags & F_SUBTREE) && (api_query_has(req, "recurse") || api_query_has(req, "keys"));
    ns = xmalloc(sizeof(*ns));
    request_names(a, req, rt, rest, ns);
    for (size_t i = 0; i < ns->n; i++) {
        if (acl_allows(t, a->cfg.acl_default, rt->resource, rt->access, ns->v[i], subtree, &d))
            continue;
        acl_denial_text(t, rt->resource, rt->access, ns->v[i], subtree, &d, msg, sizeof(msg));
        free(ns);
        deny(a, req, API_DENY_FORBIDDEN, msg);
        return 0;
    }
    free(ns);
    return 1;
}

int api_acl_check(struct agent *a, struct httpd_req *req)
{
    return check_table(a, req, table, TABLE_N, 0, deny_troupe);
}

int api_acl_check_consul(struct agent *a, struct httpd_req *req, api_deny_fn deny)
{
    return check_table(a, req, consul_table, CONSUL_N, 1, deny);
}
