/* api_tokens: API tokens over HTTP (who may call them is api_acl.c's table).
 *   GET    /v1/acl/tokens        every token: name, rules, created_ms, created_by, origin
 *   PUT    /v1/acl/tokens        {"name": "ci", "rules": ["kv:write:app/"]} -> the secret,
 *                                shown this once (only its hash is kept and gossiped)
 *   GET    /v1/acl/token/NAME    one token
 *   DELETE /v1/acl/token/NAME    revokes it on every agent (a tombstone, gossiped)
 *   GET    /v1/acl/self          open: the token this request carries (or none), the
 *                                default policy, and where the management token file is */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/acl/tokens.h"
#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "core/acl.h"
#include "core/mem.h"

static json_t *rules_json(const struct acl_token *t)
{
    json_t *arr = json_array();
    char buf[ACL_RULE_TEXT_MAX];

    for (size_t i = 0; i < t->n_rules; i++) {
        acl_rule_format(&t->rules[i], buf, sizeof(buf));
        json_array_append_new(arr, api_json_text(buf, strlen(buf)));
    }
    return arr;
}

static json_t *token_json(const struct acl_token *t, const char *origin)
{
    json_t *o = json_pack("{s:s, s:o, s:I, s:s}", "name", t->name, "rules", rules_json(t),
                          "created_ms", (json_int_t)t->created_ms, "created_by", t->created_by);

    if (origin)
        json_object_set_new(o, "origin", json_string(origin));
    if (strcmp(t->name, TOKENS_MANAGEMENT) == 0)
        json_object_set_new(o, "local", json_true()); /* this agent's own, not replicated */
    return o;
}

static void list_cb(void *ud, const struct acl_token *t, const char *origin)
{
    json_array_append_new(ud, token_json(t, origin));
}

static void get_tokens(struct agent *a, struct httpd_req *req)
{
    json_t *arr = json_array();

    json_array_append_new(arr, token_json(tokens_management(a), NULL));
    tokens_each(a, list_cb, arr);
    api_reply_json(req, 200, arr);
}

static void put_token(struct agent *a, struct httpd_req *req, const struct acl_token *by)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr), *rules, *v;
    struct acl_token *t = xcalloc(1, sizeof(*t));
    const char *name;
    char secret[65];
    struct err e;
    size_t i;
    int rc;

    if (!j || !json_is_object(j)) {
        api_reply_error(req, 400, "body: expected {\"name\": NAME, \"rules\": [RULE...]}%s%s",
                        j ? "" : ": ", j ? "" : jerr.text);
        goto out;
    }
    name = json_string_value(json_object_get(j, "name"));
    if (!name || acl_name_check(name, &e) < 0) {
        api_reply_error(req, 400, "%s", name ? e.msg : "name: missing");
        goto out;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    rules = json_object_get(j, "rules");
    if (!json_is_array(rules) || json_array_size(rules) == 0 ||
        json_array_size(rules) > ACL_RULES_MAX) {
        api_reply_error(req, 400, "rules: expected 1 to %d rules RESOURCE:ACCESS[:PREFIX]",
                        ACL_RULES_MAX);
        goto out;
    }
    json_array_foreach(rules, i, v)
    {
        if (!json_is_string(v)) {
            api_reply_error(req, 400, "rules[%zu]: expected a string", i);
            goto out;
        }
        if (acl_rule_parse(&t->rules[i], json_string_value(v), &e) < 0) {
            api_reply_error(req, 400, "rules[%zu]: %s", i, e.msg);
            goto out;
        }
    }
    t->n_rules = json_array_size(rules);
    if (by)
        snprintf(t->created_by, sizeof(t->created_by), "%s", by->name);
    if ((rc = tokens_create(a, t, secret, &e)) < 0) {
        api_reply_error(req, rc == -EEXIST ? 409 : rc == -EINVAL ? 400 : 500, "%s", e.msg);
        goto out;
    }
    api_set_index(a, req);
    api_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:o}", "name", t->name, "secret", secret, "rules", rules_json(t)));
    memset(secret, 0, sizeof(secret));
out:
    json_decref(j);
    free(t);
}

static void get_token(struct agent *a, struct httpd_req *req, const char *name)
{
    struct acl_token *t;
    const char *origin;

    if (strcmp(name, TOKENS_MANAGEMENT) == 0) {
        api_reply_json(req, 200, token_json(tokens_management(a), NULL));
        return;
    }
    t = xmalloc(sizeof(*t));
    if (tokens_get(a, name, t, &origin) < 0)
        api_reply_error(req, 404, "no token named \"%s\"", name);
    else
        api_reply_json(req, 200, token_json(t, origin));
    free(t);
}

static void delete_token(struct agent *a, struct httpd_req *req, const char *name)
{
    struct err e;
    int rc = tokens_revoke(a, name, &e);

    if (rc < 0) {
        api_reply_error(req, rc == -ENOENT ? 404 : rc == -EPERM ? 400 : 500, "%s", e.msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200, json_pack("{s:s}", "revoked", name));
}

static void get_self(struct agent *a, struct httpd_req *req, const struct acl_token *t)
{
    json_t *o = json_pack("{s:s, s:s}", "default", acl_default_name(a->cfg.acl_default),
                          "token_file", tokens_file(a));

    const char *origin = NULL;
    struct acl_token *copy = xmalloc(sizeof(*copy));

    if (t && strcmp(t->name, TOKENS_MANAGEMENT) != 0)
        tokens_get(a, t->name, copy, &origin);
    json_object_set_new(o, "token", t ? token_json(t, origin) : json_null());
    free(copy);
    api_reply_json(req, 200, o);
}

static void route_list(struct agent *a, struct httpd_req *req, const char *rest)
{
    get_tokens(a, req);
}

static void route_create(struct agent *a, struct httpd_req *req, const char *rest)
{
    put_token(a, req, api_acl_token(a, req));
}

static void route_show(struct agent *a, struct httpd_req *req, const char *rest)
{
    get_token(a, req, rest);
}

static void route_revoke(struct agent *a, struct httpd_req *req, const char *rest)
{
    delete_token(a, req, rest);
}

static void route_self(struct agent *a, struct httpd_req *req, const char *rest)
{
    get_self(a, req, api_acl_token(a, req));
}

const struct api_route api_tokens_routes[] = {
    {"GET", "/v1/acl/tokens", route_list},  {"PUT", "/v1/acl/tokens", route_create},
    {"GET", "/v1/acl/token/*", route_show}, {"DELETE", "/v1/acl/token/*", route_revoke},
    {"GET", "/v1/acl/self", route_self},
};
const size_t api_tokens_n_routes = sizeof(api_tokens_routes) / sizeof(api_tokens_routes[0]);

int api_tokens_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const struct api_route *r;
    const char *rest;
    int known = 0;

    if ((r = api_route_find(api_tokens_routes, api_tokens_n_routes, method, path, &rest, &known))) {
        r->fn(a, req, rest);
        return 1;
    }
    if (!known)
        return 0;
    api_reply_error(req, 405, "method %s not allowed on %s", method, path);
    return 1;
}
