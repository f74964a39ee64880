/* super_dir: the specs in CONFIG_DIR/run (every NAME.json, read through
 * agent/jsondir), applied at start and on SIGHUP. A new or changed spec
 * is applied as `troupe run` would; a refused one is logged with its file
 * and changes nothing, and the version that runs (if any) stays; a
 * service applied from this directory whose file went away is stopped
 * and forgotten, unless a refused file might have been its new version. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/jsondir.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"

struct dir_load {
    struct super *s;
    int unknown; /* files refused that name no service we know */
};

static int apply_file(void *ud, const struct jsondir_file *f, struct err *e)
{
    struct dir_load *l = ud;
    char name[64];
    struct svc *v;
    int rc;

    if ((rc = super_apply(l->s, f->text, f->len, name, e)) < 0)
        return rc;
    if ((v = super_find(l->s, name))) {
        v->from_dir = 1;
        v->seen = 1;
    }
    return 0;
}

static void refuse_file(void *ud, const struct jsondir_file *f, const struct err *e)
{
    struct dir_load *l = ud;
    const char *name = json_string_value(json_object_get(f->root, "name"));
    struct svc *v = name ? super_find(l->s, name) : NULL;

    log_error("super", "%s refused, the running version (if any) stays: %s", f->path, e->msg);
    super_history(l->s, "spec-refused", f->path, e->msg);
    /* the version that runs stays, and so does its service */
    if (v)
        v->seen = 1;
    else
        l->unknown++;
}

/* Stops and forgets what came from the directory and is no longer in it. */
static void forget_gone(struct super *s, const char *dir)
{
    for (size_t i = 0; i < s->n_svc; i++) {
        struct svc *v = s->svc[i];
        struct err e;
        if (!v->from_dir || v->seen || v->removing)
            continue;
        log_info("super", "%s: its file left %s: stopping and forgetting it", v->spec.name, dir);
        if (super_remove(s, v->spec.name, &e) < 0)
            log_warn("super", "%s: %s", v->spec.name, e.msg);
        i = (size_t)-1; /* the list may have changed */
    }
}

void super_dir_load(struct super *s)
{
    const char *cfg = s->a->cfg.config_dir;
    struct dir_load l = {.s = s};
    char dir[PATH_MAX];
    struct err e;
    int n;

    if (!cfg[0])
        return;
    snprintf(dir, sizeof(dir), "%.*s/run", PATH_MAX - 8, cfg);
    for (size_t i = 0; i < s->n_svc; i++)
        s->svc[i]->seen = 0;
    n = jsondir_load(dir, SUP_SPEC_TEXT_MAX, apply_file, refuse_file, &l, &e);
    if (n < 0) {
        if (n != -ENOENT)
            log_error("super", "%s; the services stay as they are", e.msg);
        return;
    }
    if (!l.unknown)
        forget_gone(s, dir);
    log_info("super", "%d spec files in %s", n, dir);
}
