/* api_lww: what the endpoints of a last-writer-wins record kind share
 * (routes, specs, KV): listing the live records of a kind, finding one,
 * storing one durably, and the answer to a write. Deleting one whoever
 * wrote it is catalog_lww_del's (catalog/), which acl/ shares. Each caller
 * keeps its own checks, stored form and JSON shape. */
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"

struct list {
    struct crdt *crdt;
    uint8_t kind;
    api_lww_json_fn fn;
    void *ud;
    json_t *arr;
    const char *last; /* keys come in (key, origin) order */
};

static int list_cb(void *ud, const struct crdt_rec *r)
{
    struct list *l = ud;
    const struct crdt_rec *w;
    json_t *j;

    if (l->last && strcmp(l->last, r->key) == 0)
        return 0;
    l->last = r->key;
    w = crdt_lww(l->crdt, l->kind, r->key);
    if (w && !w->deleted && (j = l->fn(w, l->ud)))
        json_array_append_new(l->arr, j);
    return 0;
}

void api_lww_list(struct agent *a, struct httpd_req *req, uint8_t kind, const char *prefix,
                  api_lww_json_fn fn, void *ud)
{
    struct list l = {
        .crdt = a->catalog->crdt, .kind = kind, .fn = fn, .ud = ud, .arr = json_array()};

    crdt_scan(a->catalog->crdt, kind, prefix, 0, list_cb, &l);
    api_set_index(a, req);
    api_reply_json(req, 200, l.arr); /* [] when there is none */
}

const struct crdt_rec *api_lww_find(struct agent *a, struct httpd_req *req, uint8_t kind,
                                    const char *key, const char *what)
{
    const struct crdt_rec *r = crdt_lww(a->catalog->crdt, kind, key);

    api_set_index(a, req);
    if (!r || r->deleted) {
        api_reply_error(req, 404, "no %s \"%s\"", what, key);
        return NULL;
    }
    return r;
}

int api_lww_put(struct agent *a, uint8_t kind, const char *key, const void *val, size_t len,
                struct err *e)
{
    int rc = repl_put(a->catalog->repl, agent_wall_ms(), kind, key, val, (uint32_t)len, e);

    if (rc >= 0)
        rc = catalog_save(a, e);
    return rc < 0 ? rc : 0;
}

void api_lww_reply(struct agent *a, struct httpd_req *req, int rc, const struct err *e, json_t *j)
{
    if (rc < 0) {
        json_decref(j);
        api_reply_error(req, api_status(rc), "%s", e->msg);
        return;
    }
    api_set_index(a, req);
    api_reply_json(req, 200, j);
    agent_drive(a);
}
