/* proxy_dir: the routes of CONFIG_DIR/routes (every NAME.json, read
 * through agent/jsondir) at start and on SIGHUP. Each file is one route,
 * as `troupe route set FILE` takes it; a route that differs from the
 * replicated one of its name (or that has none) is written as a record,
 * exactly as PUT /v1/routes does, so every agent has it within about a
 * second. A route already in force is not written again (a restart does
 * not bump every route's stamp). A refused file is logged with its path
 * and the field at fault, and changes nothing.
 *
 * The files are desired state that this agent asserts when it reads them:
 * a `troupe route set` made since wins until the file is read again; a
 * file taken away does not remove its route (`troupe route rm` does). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/jsondir.h"
#include "agent/log.h"
#include "agent/proxy/proxy.h"
#include "core/mem.h"
#include "core/route.h"

#define PROXY_DIR_FILES_MAX 1024 /* route files read at most */

struct dir_load {
    struct agent *a;
    size_t stored, same, refused;
    char (*names)[ROUTE_NAME_MAX + 1]; /* heap, the routes of the files read so far */
    size_t n_names;
};

static int apply_file(void *ud, const struct jsondir_file *f, struct err *e)
{
    struct dir_load *l = ud;
    struct agent *a = l->a;
    const struct crdt_rec *cur;
    struct route r;
    char *json;
    int rc;

    if (l->n_names == PROXY_DIR_FILES_MAX)
        return err_set(e, -ENOSPC, "more than %d route files", PROXY_DIR_FILES_MAX);
    if ((rc = route_parse(&r, f->text, f->len, e)) < 0)
        return rc;
    for (size_t i = 0; i < l->n_names; i++)
        if (strcmp(l->names[i], r.name) == 0)
            return err_set(e, -EEXIST, "name: route \"%s\" is in an earlier file too", r.name);
    l->names = xrealloc(l->names, (l->n_names + 1) * sizeof(*l->names));
    memcpy(l->names[l->n_names++], r.name, sizeof(r.name));
    json = route_json(&r);
    if (!json)
        return err_set(e, -ENOMEM, "out of memory");
    cur = crdt_lww(a->catalog->crdt, CRDT_ROUTE, r.name);
    if (cur && !cur->deleted && cur->len == strlen(json) && memcmp(cur->val, json, cur->len) == 0) {
        l->same++;
        free(json);
        return 0;
    }
    rc = repl_put(a->catalog->repl, agent_wall_ms(), CRDT_ROUTE, r.name, json,
                  (uint32_t)strlen(json), e);
    free(json);
    if (rc >= 0)
        rc = catalog_save(a, e);
    if (rc < 0)
        return rc;
    l->stored++;
    log_info("proxy", "route %s from %s stored", r.name, f->path);
    history_add(a, "route", r.name, "stored from %s", f->path);
    return 0;
}

static void refuse_file(void *ud, const struct jsondir_file *f, const struct err *e)
{
    struct dir_load *l = ud;

    l->refused++;
    log_error("proxy", "route file %s refused: %s", f->path, e->msg);
    history_add(l->a, "route", f->path, "route file refused: %s", e->msg);
}

void proxy_dir_load(struct agent *a)
{
    const char *cfg = a->cfg.config_dir;
    struct dir_load l = {.a = a};
    char dir[PATH_MAX];
    struct err e;
    int n;

    if (!cfg[0])
        return;
    snprintf(dir, sizeof(dir), "%.*s/routes", PATH_MAX - 8, cfg);
    n = jsondir_load(dir, ROUTE_TEXT_MAX, apply_file, refuse_file, &l, &e);
    free(l.names);
    if (n < 0) {
        if (n != -ENOENT)
            log_error("proxy", "%s; the routes stay as they are", e.msg);
        return;
    }
    log_info("proxy", "route files in %s: %d read, %zu stored, %zu unchanged, %zu refused", dir, n,
             l.stored, l.same, l.refused);
}
