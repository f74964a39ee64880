/* services_dir: the service files of --config-dir (every *.json in it, in
 * name order), read at start and on SIGHUP. A file's definitions are
 * registered as ours; an instance whose file or definition is gone is
 * deregistered; a file that does not parse is reported (log and history)
 * and what it registered before stays as it was. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/catalog/services.h"
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
            return err_set(e, -EEXIST, "id \"%s\" is defined by another service file",
                           d->inst.id);
    if ((rc = catalog_register_file(l->a, d, l->path, e)) < 0)
        return rc;
    keep(l, d->inst.id);
    return 0;
}

static int read_file(const char *path, char **out, size_t *len, struct err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return err_set(e, -errno, "%s", strerror(errno));
    buf = xmalloc(FILE_MAX + 1);
    n = fread(buf, 1, FILE_MAX + 1, f);
    fclose(f);
    if (n > FILE_MAX) {
        free(buf);
        return err_set(e, -EFBIG, "larger than 1 MiB");
    }
    *out = buf;
    *len = n;
    return 0;
}

static void load_file(struct load *l, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    struct err e;
    int rc;

    l->path = path;
    rc = read_file(path, &text, &len, &e);
    if (rc == 0)
        rc = services_parse_text(text, len, register_one, l, &e);
    free(text);
    if (rc >= 0) {
        l->ok++;
        return;
    }
    l->failed++;
    log_error("config", "service file %s: %s", path, e.msg);
    history_add(l->a, "config", path, "service file refused: %s", e.msg);
    /* what this file registered before stays */
    for (struct svc_local *s = l->a->catalog->svcs; s; s = s->next)
        if (s->source == CATALOG_SRC_FILE && s->file && strcmp(s->file, path) == 0)
            keep(l, s->id);
}

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

void services_dir_load(struct agent *a)
{
    struct load l = {.a = a};
    struct dirent **names = NULL;
    const char *dir = a->cfg.config_dir;
    int n = 0;

    if (dir[0]) {
        n = scandir(dir, &names, json_name, alphasort);
        if (n < 0) {
            log_error("config", "--config-dir %s: %s", dir, strerror(errno));
            history_add(a, "config", dir, "service directory unreadable: %s", strerror(errno));
            /* keep every file registration as it was */
            for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
                if (s->source == CATALOG_SRC_FILE)
                    keep(&l, s->id);
            n = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0)
            load_file(&l, path);
        free(path);
        free(names[i]);
    }
    free(names);
    catalog_drop_others(a, CATALOG_SRC_FILE, (const char (*)[CAT_ID_MAX + 1])l.ids, l.n);
    if (dir[0])
        log_info("config", "service files: %zu read, %zu refused, %zu instances", l.ok,
                 l.failed, l.n);
    free(l.ids);
}
