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
#include "agent/super/super.h"

#define LOG_LINES_MAX 10000

static void reply(struct httpd_req *req, int status, json_t *j)
{
    char *body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = strlen(body);

    body = realloc(body, len + 2);
    body[len++] = '\n';
    httpd_respond(req, status, "application/json", body, len);
    free(body);
    json_decref(j);
}

static void reply_err(struct httpd_req *req, const struct err *e)
{
    int status = e->code == -ENOENT ? 404 : e->code == -EIO ? 500 : 400;
    reply(req, status, json_pack("{s:s}", "error", e->msg));
}

static int query_u64(struct httpd_req *req, const char *name, uint64_t *v, struct err *e)
{
    char buf[32], *end;
    int rc = httpd_req_query(req, name, buf, sizeof(buf));

    if (rc == -1)
        return 0;
    if (rc < 0 || !buf[0] || (*v = strtoull(buf, &end, 10), *end))
        return err_set(e, -EINVAL, "query %s: expected a number", name);
    return 1;
}

/* Returns 1 when it handled the request. */
int api_super_handle(struct agent *a, struct httpd_req *req)
{
    const char *m = httpd_req_method(req), *p = httpd_req_path(req), *name;
    int put = strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0;
    int get = strcmp(m, "GET") == 0, del = strcmp(m, "DELETE") == 0;
    struct err e;
    json_t *j;
    size_t len;
    const char *body;
    uint64_t n;
    int rc;

    err_clear(&e);
    if (strncmp(p, "/v1/agent/", 10) != 0)
        return 0;
    p += 10;
    if (!a->super)
        return 0;
    if (strcmp(p, "run") == 0 && put) {
        char svc[64];
        body = httpd_req_body(req, &len);
        if (super_apply(a->super, body, len, svc, &e) < 0)
            reply(req, e.code == -EIO ? 500 : 400, json_pack("{s:s}", "error", e.msg));
        else
            reply(req, 200, json_pack("{s:s}", "name", svc));
        return 1;
    }
    if (strncmp(p, "run/", 4) == 0 && del) {
        if (super_remove(a->super, p + 4, &e) < 0)
            reply_err(req, &e);
        else
            reply(req, 200, json_pack("{s:s}", "removed", p + 4));
        return 1;
    }
    if (strcmp(p, "ps") == 0 && get) {
        char svc[64];
        rc = httpd_req_query(req, "service", svc, sizeof(svc));
        if (rc == -2) {
            reply(req, 400, json_pack("{s:s}", "error", "query service: malformed"));
            return 1;
        }
        if (!(j = super_ps_json(a->super, rc == -1 ? NULL : svc, &e)))
            reply_err(req, &e);
        else
            reply(req, 200, j);
        return 1;
    }
    if (strncmp(p, "spec/", 5) == 0 && get) {
        if (!(j = super_spec_json(a->super, p + 5)))
            reply(req, 404, json_pack("{s:s}", "error", "no such service"));
        else
            reply(req, 200, j);
        return 1;
    }
    if (put && (strncmp(p, "stop/", 5) == 0 || strncmp(p, "start/", 6) == 0 ||
                strncmp(p, "restart/", 8) == 0)) {
        name = strchr(p, '/') + 1;
        if (p[2] == 'o')
            rc = super_stop(a->super, name, &e);
        else if (p[0] == 's')
            rc = super_start(a->super, name, &e);
        else
            rc = super_restart(a->super, name, &e);
        if (rc < 0)
            reply_err(req, &e);
        else
            reply(req, 200, super_ps_json(a->super, name, &e));
        return 1;
    }
    if (put && strncmp(p, "scale/", 6) == 0) {
        name = p + 6;
        if ((rc = query_u64(req, "instances", &n, &e)) <= 0) {
            if (rc == 0)
                err_set(&e, -EINVAL, "query instances: missing");
            reply_err(req, &e);
            return 1;
        }
        if (n > 1000 || super_scale(a->super, name, (uint32_t)n, &e) < 0) {
            if (n > 1000)
                err_set(&e, -EINVAL, "instances: %llu is too many", (unsigned long long)n);
            reply_err(req, &e);
        } else {
            reply(req, 200, super_ps_json(a->super, name, &e));
        }
        return 1;
    }
    if (get && strncmp(p, "logs/", 5) == 0) {
        uint64_t inst = 0, since = 0, tail = LOG_LINES_MAX;
        char cursor[2048];
        int has_inst, crc;
        if ((has_inst = query_u64(req, "instance", &inst, &e)) < 0 ||
            query_u64(req, "since", &since, &e) < 0 || query_u64(req, "tail", &tail, &e) < 0) {
            reply_err(req, &e);
            return 1;
        }
        crc = httpd_req_query(req, "cursor", cursor, sizeof(cursor));
        if (tail > LOG_LINES_MAX)
            tail = LOG_LINES_MAX;
        j = super_logs(a->super, p + 5, has_inst ? (int)inst : -1, since,
                                crc >= 0 ? cursor : NULL, (size_t)tail, &e);
        if (!j)
            reply_err(req, &e);
        else
            reply(req, 200, j);
        return 1;
    }
    if (get && strcmp(p, "secrets") == 0) {
        if (!(j = super_secret_list(a->super, &e)))
            reply_err(req, &e);
        else
            reply(req, 200, j);
        return 1;
    }
    if (strncmp(p, "secret/", 7) == 0 && (put || del)) {
        name = p + 7;
        if (put) {
            body = httpd_req_body(req, &len);
            rc = super_secret_put(a->super, name, body, len, &e);
        } else {
            rc = super_secret_rm(a->super, name, &e);
        }
        if (rc < 0)
            reply_err(req, &e);
        else
            reply(req, 200, json_pack("{s:s, s:s}", "secret", name, put ? "stored" : "removed",
                                      "ok"));
        return 1;
    }
    return 0;
}
