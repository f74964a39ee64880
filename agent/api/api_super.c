/* api_super: the supervisor's HTTP endpoints, served by agent/api:
 *   PUT    /v1/agent/run                 body: a spec; applies it
 *   DELETE /v1/agent/run/NAME            stops the instances, forgets the spec
 *   GET    /v1/agent/ps[?service=NAME]   instances with state, pid, uptime, restarts
 *   GET    /v1/agent/spec/NAME           the applied spec
 *   PUT    /v1/agent/stop|start|restart/NAME
 *   PUT    /v1/agent/scale/NAME?instances=N
 *   GET    /v1/agent/logs/NAME?instance=&since=&cursor=&tail=
 *   GET    /v1/agent/secrets             names and sizes, never values
 *   PUT    /v1/agent/secret/NAME         body: the value
 *   DELETE /v1/agent/secret/NAME */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api.h"
#include "agent/api/api_impl.h"
#include "agent/super/super.h"

#define LOG_LINES_MAX 10000

static int query_u64(struct httpd_req *req, const char *name, uint64_t *v, struct err *e)
{
    int rc = api_query_uint(req, name, v);

    if (rc < 0)
        return err_set(e, -EINVAL, "query %s: expected a number", name);
    return rc;
}

/* Answers j (a JSON builder's result: NULL with e set when it failed, and
 * NULL without when jansson refused a value, which api_reply_json says). */
static void reply_or_err(struct httpd_req *req, json_t *j, const struct err *e)
{
    if (j || !e->code)
        api_reply_json(req, 200, j);
    else
        api_reply_err(req, e);
}

static void run_apply(struct agent *a, struct httpd_req *req, const char *rest)
{
    char svc[64];
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct err e;

    err_clear(&e);
    if (super_apply(a->super, body, len, svc, &e) < 0)
        api_reply_error(req, api_status_of_body(e.code), "%s", e.msg);
    else
        api_reply_json(req, 200, json_pack("{s:s}", "name", svc));
}

static void run_remove(struct agent *a, struct httpd_req *req, const char *name)
{
    struct err e;

    err_clear(&e);
    if (super_remove(a->super, name, &e) < 0)
        api_reply_err(req, &e);
    else
        api_reply_json(req, 200, json_pack("{s:s}", "removed", name));
}

static void ps(struct agent *a, struct httpd_req *req, const char *rest)
{
    char svc[64];
    struct err e;
    int rc = httpd_req_query(req, "service", svc, sizeof(svc));

    err_clear(&e);
    if (rc == -2) {
        api_reply_error(req, 400, "query service: malformed");
        return;
    }
    reply_or_err(req, super_ps_json(a->super, rc == -1 ? NULL : svc, &e), &e);
}

static void spec(struct agent *a, struct httpd_req *req, const char *name)
{
    json_t *j = super_spec_json(a->super, name);

    if (!j)
        api_reply_error(req, 404, "no such service");
    else
        api_reply_json(req, 200, j);
}

/* stop, start, restart: the instances once done */
static void by_hand(struct agent *a, struct httpd_req *req, const char *name,
                    int (*fn)(struct super *, const char *, struct err *))
{
    struct err e;

    err_clear(&e);
    if (fn(a->super, name, &e) < 0)
        api_reply_err(req, &e);
    else
        reply_or_err(req, super_ps_json(a->super, name, &e), &e);
}

static void stop(struct agent *a, struct httpd_req *req, const char *name)
{
    by_hand(a, req, name, super_stop);
}

static void start(struct agent *a, struct httpd_req *req, const char *name)
{
    by_hand(a, req, name, super_start);
}

static void restart(struct agent *a, struct httpd_req *req, const char *name)
{
    by_hand(a, req, name, super_restart);
}

static void scale(struct agent *a, struct httpd_req *req, const char *name)
{
    struct err e;
    uint64_t n;
    int rc;

    err_clear(&e);
    if ((rc = query_u64(req, "instances", &n, &e)) <= 0) {
        if (rc == 0)
            err_set(&e, -EINVAL, "query instances: missing");
        api_reply_err(req, &e);
        return;
    }
    if (n > 1000) {
        api_reply_error(req, 400, "instances: %llu is too many", (unsigned long long)n);
        return;
    }
    if (super_scale(a->super, name, (uint32_t)n, &e) < 0)
        api_reply_err(req, &e);
    else
        reply_or_err(req, super_ps_json(a->super, name, &e), &e);
}

static void logs(struct agent *a, struct httpd_req *req, const char *name)
{
    uint64_t inst = 0, since = 0, tail = LOG_LINES_MAX;
    char cursor[2048];
    int has_inst, crc;
    struct err e;

    err_clear(&e);
    if ((has_inst = query_u64(req, "instance", &inst, &e)) < 0 ||
        query_u64(req, "since", &since, &e) < 0 || query_u64(req, "tail", &tail, &e) < 0) {
        api_reply_err(req, &e);
        return;
    }
    if (inst > INT32_MAX) { /* not an instance: no wrap to -1 (all of them) */
        api_reply_error(req, 400, "query instance: expected a number");
        return;
    }
    crc = httpd_req_query(req, "cursor", cursor, sizeof(cursor));
    if (tail > LOG_LINES_MAX)
        tail = LOG_LINES_MAX;
    reply_or_err(req,
                 super_logs(a->super, name, has_inst ? (int)inst : -1, since,
                            crc >= 0 ? cursor : NULL, (size_t)tail, &e),
                 &e);
}

static void secrets(struct agent *a, struct httpd_req *req, const char *rest)
{
    struct err e;

    err_clear(&e);
    reply_or_err(req, super_secret_list(a->super, &e), &e);
}

static void secret_put(struct agent *a, struct httpd_req *req, const char *name)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct err e;

    err_clear(&e);
    if (super_secret_put(a->super, name, body, len, &e) < 0)
        api_reply_err(req, &e);
    else
        api_reply_json(req, 200, json_pack("{s:s, s:s}", "secret", name, "stored", "ok"));
}

static void secret_rm(struct agent *a, struct httpd_req *req, const char *name)
{
    struct err e;

    err_clear(&e);
    if (super_secret_rm(a->super, name, &e) < 0)
        api_reply_err(req, &e);
    else
        api_reply_json(req, 200, json_pack("{s:s, s:s}", "secret", name, "removed", "ok"));
}

const struct api_route api_super_routes[] = {
    {"PUT", "/v1/agent/run", run_apply},
    {"DELETE", "/v1/agent/run/*", run_remove},
    {"GET", "/v1/agent/ps", ps},
    {"GET", "/v1/agent/spec/*", spec},
    {"PUT", "/v1/agent/stop/*", stop},
    {"PUT", "/v1/agent/start/*", start},
    {"PUT", "/v1/agent/restart/*", restart},
    {"PUT", "/v1/agent/scale/*", scale},
    {"GET", "/v1/agent/logs/*", logs},
    {"GET", "/v1/agent/secrets", secrets},
    {"PUT", "/v1/agent/secret/*", secret_put},
    {"DELETE", "/v1/agent/secret/*", secret_rm},
};
const size_t api_super_n_routes = sizeof(api_super_routes) / sizeof(api_super_routes[0]);

/* Returns 1 when it handled the request: another method on one of these
 * paths is left to the rest of the API (which answers 404). */
int api_super_handle(struct agent *a, struct httpd_req *req)
{
    const struct api_route *r;
    const char *rest;

    if (!a->super)
        return 0;
    r = api_route_find(api_super_routes, api_super_n_routes, httpd_req_method(req),
                       httpd_req_path(req), &rest, NULL);
    if (!r)
        return 0;
    r->fn(a, req, rest);
    return 1;
}
