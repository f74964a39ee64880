/* api_kv: the KV store's HTTP endpoints. A key is a last-writer-wins
 * register ordered by HLC (then node name); there is no compare-and-set,
 * because there is no consensus: two agents on either side of a partition
 * both accept writes, and the later stamp wins when it heals.
 *   GET    /v1/kv/KEY        {"key", "value" (base64), "origin", "hlc", ...}; ?raw: the bytes
 *   GET    /v1/kv/PREFIX?recurse   every live key under PREFIX ([] when none); ?keys: names
 *   PUT    /v1/kv/KEY        the body is the value (at most 512 KiB); durable on answer
 *   DELETE /v1/kv/KEY        a tombstone; ?recurse: every key under KEY */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "core/mem.h"

static json_t *entry_json(const struct crdt_rec *r, int with_value)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "key", r->key, "origin", r->origin, "hlc",
                          (json_int_t)r->hlc, "time_ms", (json_int_t)hlc_wall_ms(r->hlc), "size",
                          (json_int_t)r->len);
    if (with_value) {
        size_t cap = sodium_base64_ENCODED_LEN(r->len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = xmalloc(cap);
        sodium_bin2base64(b64, cap, r->len ? r->val : (const uint8_t *)"", r->len,
                          sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(o, "value", json_string(b64));
        free(b64);
    }
    return o;
}

static json_t *list_entry(const struct crdt_rec *r, void *keys_only)
{
    return *(int *)keys_only ? json_string(r->key) : entry_json(r, 1);
}

static void get_kv(struct agent *a, struct httpd_req *req)
{
    const char *key = httpd_req_path(req) + strlen("/v1/kv/");
    int keys_only = api_query_has(req, "keys");
    const struct crdt_rec *r;

    if (api_query_has(req, "recurse") || keys_only) {
        api_lww_list(a, req, CRDT_KV, key[0] ? key : NULL, list_entry, &keys_only);
        return;
    }
    if (!key[0]) {
        api_reply_error(req, 400, "expected /v1/kv/KEY (or ?recurse to list)");
        return;
    }
    if (!(r = api_lww_find(a, req, CRDT_KV, key, "key")))
        return;
    if (api_query_has(req, "raw")) {
        httpd_respond(req, 200, "application/octet-stream", r->val, r->len);
        return;
    }
    api_reply_json(req, 200, entry_json(r, 1));
}

static int check_key(struct httpd_req *req, const char *key)
{
    if (!key[0]) {
        api_reply_error(req, 400, "key: missing (expected /v1/kv/KEY)");
        return -1;
    }
    if (strlen(key) > CRDT_KEY_MAX) {
        api_reply_error(req, 400, "key: longer than %d bytes", CRDT_KEY_MAX);
        return -1;
    }
    return 0;
}

int api_kv_put(struct agent *a, const char *key, const void *val, size_t len, struct err *e)
{
    if (len > CRDT_VAL_MAX)
        return err_set(e, -E2BIG, "value: %zu bytes, at most %u", len, CRDT_VAL_MAX);
    return api_lww_put(a, CRDT_KV, key, val, len, e);
}

static void put_kv(struct agent *a, struct httpd_req *req, const char *key)
{
    size_t len;
    const char *body = httpd_req_body(req, &len);
    struct err e;
    int rc;

    if (check_key(req, key) < 0)
        return;
    if ((rc = api_kv_put(a, key, body, len, &e)) == -E2BIG) {
        api_reply_error(req, 413, "%s", e.msg);
        return;
    }
    api_lww_reply(a, req, rc, &e, json_pack("{s:b}", "stored", 1));
}

struct keys {
    char **k;
    size_t n;
};

static int collect(void *ud, const struct crdt_rec *r)
{
    struct keys *ks = ud;

    if (ks->n && strcmp(ks->k[ks->n - 1], r->key) == 0)
        return 0;
    ks->k = xrealloc(ks->k, (ks->n + 1) * sizeof(*ks->k));
    ks->k[ks->n++] = xstrdup(r->key);
    return 0;
}

int api_kv_delete(struct agent *a, const char *key, int recurse, struct err *e)
{
    struct keys ks = {0};
    int rc = 0, deleted = 0;

    if (recurse)
        crdt_scan(a->catalog->crdt, CRDT_KV, key[0] ? key : NULL, 0, collect, &ks);
    else
        collect(&ks, &(struct crdt_rec){.key = key});
    for (size_t i = 0; i < ks.n; i++) {
        if (rc >= 0) {
            rc = catalog_lww_del(a, CRDT_KV, ks.k[i], "", 0, e);
            deleted += rc > 0;
        }
        free(ks.k[i]);
    }
    free(ks.k);
    if (rc >= 0)
        rc = catalog_save(a, e);
    return rc < 0 ? rc : deleted;
}

static void delete_kv(struct agent *a, struct httpd_req *req, const char *key)
{
    int recurse = api_query_has(req, "recurse"), rc;
    struct err e;

    if (!recurse && check_key(req, key) < 0)
        return;
    rc = api_kv_delete(a, key, recurse, &e);
    api_lww_reply(a, req, rc, &e, json_pack("{s:i}", "deleted", rc));
}

static void read_kv(struct agent *a, struct httpd_req *req, const char *rest)
{
    api_block(a, req, get_kv);
}

const struct api_route api_kv_routes[] = {
    {"GET", "/v1/kv/*", read_kv},
    {"PUT", "/v1/kv/*", put_kv},
    {"DELETE", "/v1/kv/*", delete_kv},
};
const size_t api_kv_n_routes = sizeof(api_kv_routes) / sizeof(api_kv_routes[0]);

int api_kv_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const struct api_route *r;
    const char *key;
    int known = 0;

    if ((r = api_route_find(api_kv_routes, api_kv_n_routes, method, path, &key, &known))) {
        r->fn(a, req, key);
        return 1;
    }
    if (!known)
        return 0;
    api_reply_error(req, 405, "method %s not allowed on /v1/kv/ (GET, PUT, DELETE)", method);
    return 1;
}
