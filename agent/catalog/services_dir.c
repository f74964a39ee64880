/* services_dir: the service files of --config-dir (every *.json in it, in
 * name order), read at start and on SIGHUP. A file's definitions are
 * registered as ours; an instance whose file or definition is gone is
 * deregistered; a file that does not parse is reported (log and history)
 * and what it registered before stays as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/catalog/services.h"
#include "agent/jsondir.h"
#include "core/mem.h"

#define FILE_MAX (1u << 20)

int catalog_register_file(struct agent *a, const struct catalog_def *d, const char *file,
                          struct err *e);

struct load {
    struct agent *a;
    const char *path;
    char (*ids)[CAT_ID_MAX + 1];
    size_t n, ok, failed;
};

static void keep(struct load *l, const char *id)
{
    l->ids = xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
    snprintf(l->ids[l->n++], CAT_ID_MAX + 1, "%s", id);
}

static int register_one(void *ud, const struct catalog_def *d, struct err *e)
{
    struct load *l = ud;
    int rc;

    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], d->inst.id) == 0)
            return err_set(e, -EEXIST, "id \"%s\" is defined by another service file", d->inst.id);
    if ((rc = catalog_register_file(l->a, d, l->path, e)) < 0)
        return rc;
    keep(l, d->inst.id);
    return 0;
}

static int apply_file(void *ud, const struct jsondir_file *f, struct err *e)
{
    struct load *l = ud;
    int rc;

    l->path = f->path;
    if ((rc = services_parse_root(f->root, register_one, l, e)) < 0)
        return rc;
    l->ok++;
    return 0;
}

static void refuse_file(void *ud, const struct jsondir_file *f, const struct err *e)
{
    struct load *l = ud;

    l->failed++;
    log_error("config", "service file %s: %s", f->path, e->msg);
    history_add(l->a, "config", f->path, "service file refused: %s", e->msg);
    /* what this file registered before stays */
    for (struct svc_local *s = l->a->catalog->svcs; s; s = s->next)
        if (s->source == CATALOG_SRC_FILE && s->file && strcmp(s->file, f->path) == 0)
            keep(l, s->id);
}

void services_dir_load(struct agent *a)
{
    struct load l = {.a = a};
    const char *dir = a->cfg.config_dir;
    struct err e;

    if (dir[0] && jsondir_load(dir, FILE_MAX, apply_file, refuse_file, &l, &e) < 0) {
        log_error("config", "--config-dir %s", e.msg);
        history_add(a, "config", dir, "service directory unreadable: %s", strerror(-e.code));
        /* keep every file registration as it was */
        for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
            if (s->source == CATALOG_SRC_FILE)
                keep(&l, s->id);
    }
    catalog_drop_others(a, CATALOG_SRC_FILE, (const char(*)[CAT_ID_MAX + 1]) l.ids, l.n);
    if (dir[0])
        log_info("config", "service files: %zu read, %zu refused, %zu instances", l.ok, l.failed,
                 l.n);
    free(l.ids);
}
