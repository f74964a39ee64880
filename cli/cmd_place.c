/* cmd_place: troupe apply, diff, status and promote, the client side of the
 * cluster's service specs (/v1/specs, /v1/place). apply and diff read a
 * directory of NAME.json specs (or one file), and the proxy routes in its
 * subdirectory routes/ (DIR/routes/NAME.json, /v1/routes), and check every
 * spec and route here, with core/place and core/route, before anything is
 * published: a bad file stops the whole apply with its path and field
 * named. diff exits 0 when the agent holds exactly what the directory
 * says and 2 when not, for CI. Routes are managed only when DIR/routes
 * exists: without it, apply --prune leaves the cluster's routes alone. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/place.h"
#include "core/route.h"

#define PLACE_FILES_MAX 256

struct local {
    char name[64];
    char path[1024];
    json_t *spec; /* with its name */
};

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Reads and checks one spec file into l. 0, or an exit code after printing. */
static int load_one(const char *path, struct local *l)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *n;
    struct place_spec p;
    struct err e;
    char *text;
    int rc;

    if (!root || !json_is_object(root)) {
        fprintf(stderr, "troupe: %s: %s\n", path, root ? "expected a JSON object" : je.text);
        json_decref(root);
        return EXIT_API;
    }
    n = json_object_get(root, "name");
    if (!json_is_string(n)) {
        fprintf(stderr, "troupe: %s: name: expected the service name\n", path);
        json_decref(root);
        return EXIT_API;
    }
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        err_set(&e, -ENOMEM, "cannot encode");
    rc = text ? place_spec_check(text, strlen(text), &p, &e) : -ENOMEM;
    free(text);
    if (rc < 0) {
        fprintf(stderr, "troupe: %s: %s\n", path, e.msg);
        json_decref(root);
        return EXIT_API;
    }
    snprintf(l->name, sizeof(l->name), "%s", p.name);
    snprintf(l->path, sizeof(l->path), "%s", path);
    l->spec = root;
    return 0;
}

/* The ne files of directory path that scandir found (ents, freed here),
 * each read by load into *out; "what" names them in messages (specs,
 * routes). Refuses more than PLACE_FILES_MAX files and two files with one
 * name. 0 or an exit code. */
static int load_files(const char *path, struct dirent **ents, int ne, const char *what,
                      int (*load)(const char *, struct local *), struct local **out, size_t *n)
{
    int rc = 0;

    if (ne > PLACE_FILES_MAX) {
        fprintf(stderr, "troupe: %s: %d %s, at most %d\n", path, ne, what, PLACE_FILES_MAX);
        rc = EXIT_API;
    }
    *out = calloc((size_t)ne + 1, sizeof(**out));
    for (int i = 0; i < ne; i++) {
        char file[1024];
        if (rc == 0) {
            snprintf(file, sizeof(file), "%s/%s", path, ents[i]->d_name);
            rc = load(file, &(*out)[*n]);
            for (size_t k = 0; rc == 0 && k < *n; k++) {
                if (strcmp((*out)[k].name, (*out)[*n].name) == 0) {
                    fprintf(stderr, "troupe: %s: name: %s is also the name in %s\n", file,
                            (*out)[*n].name, (*out)[k].path);
                    json_decref((*out)[*n].spec);
                    rc = EXIT_API;
                }
            }
            if (rc == 0)
                (*n)++;
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

/* Every spec of path (a directory or one file) into *out. Refuses two
 * files with one name. 0 or an exit code. */
static int load_specs(const char *path, struct local **out, size_t *n, int *is_dir)
{
    struct stat st;
    struct dirent **ents = NULL;
    int ne, rc = 0;

    *out = NULL;
    *n = 0;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
        return EXIT_API;
    }
    *is_dir = S_ISDIR(st.st_mode);
    if (!*is_dir) {
        *out = calloc(1, sizeof(**out));
        if ((rc = load_one(path, *out)) == 0)
            *n = 1;
        return rc;
    }
    ne = scandir(path, &ents, json_name, alphasort);
    if (ne < 0) {
        fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
        return EXIT_API;
    }
    return load_files(path, ents, ne, "specs", load_one, out, n);
}

/* Reads and checks one route file into l (its canonical form, as the
 * agent stores it, so that defaults compare equal). 0, or an exit code. */
static int load_route(const char *path, struct local *l)
{
    char *buf = malloc(ROUTE_TEXT_MAX + 1), *text = NULL;
    FILE *f = fopen(path, "rb");
    size_t len = 0;
    struct route rt;
    struct err e;
    int rc = EXIT_API;

    if (!f || !buf) {
        fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
        goto out;
    }
    len = fread(buf, 1, ROUTE_TEXT_MAX + 1, f);
    if (len > ROUTE_TEXT_MAX) {
        fprintf(stderr, "troupe: %s: more than %u bytes\n", path, ROUTE_TEXT_MAX);
        goto out;
    }
    if (route_parse(&rt, buf, len, &e) < 0) {
        fprintf(stderr, "troupe: %s: %s\n", path, e.msg);
        goto out;
    }
    if (!(text = route_json(&rt)) || !(l->spec = json_loads(text, 0, NULL))) {
        fprintf(stderr, "troupe: %s: cannot encode\n", path);
        goto out;
    }
    snprintf(l->name, sizeof(l->name), "%s", rt.name);
    snprintf(l->path, sizeof(l->path), "%s", path);
    rc = 0;
out:
    if (f)
        fclose(f);
    free(buf);
    free(text);
    return rc;
}

/* Every route of DIR/routes into *out; *has is 0 when there is no such
 * directory (routes are then not managed). 0 or an exit code. */
static int load_routes(const char *dir, struct local **out, size_t *n, int *has)
{
    char path[512];
    struct dirent **ents = NULL;
    int ne;

    *out = NULL;
    *n = 0;
    *has = 0;
    snprintf(path, sizeof(path), "%s/routes", dir);
    ne = scandir(path, &ents, json_name, alphasort);
    if (ne < 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
        return EXIT_API;
    }
    *has = 1;
    return load_files(path, ents, ne, "routes", load_route, out, n);
}

static void free_specs(struct local *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(l[i].spec);
    free(l);
}

static json_t *remote_find(json_t *remote, const char *name)
{
    size_t i;
    json_t *r;

    json_array_foreach(remote, i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (n && strcmp(n, name) == 0)
            return json_object_get(r, "spec");
    }
    return NULL;
}

/* The agent's route of that name without who wrote it (new reference), NULL none. */
static json_t *remote_route(json_t *remote, const char *name)
{
    size_t i;
    json_t *r, *c;

    json_array_foreach(remote, i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (!n || strcmp(n, name) != 0)
            continue;
        c = json_deep_copy(r);
        json_object_del(c, "origin");
        json_object_del(c, "hlc");
        return c;
    }
    return NULL;
}

static int local_has(const struct local *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return 1;
    return 0;
}

static void print_val(const char *what, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

    printf("%s%s", what, s ? s : "(none)");
    free(s);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Prints field by field what differs between the agent's spec (old, NULL
 * when none) and the file's; returns how many fields differ. kind is ""
 * for a spec, "route " for a route. */
static size_t diff_one(const char *kind, const char *name, json_t *old, json_t *new)
{
    const char *keys[128], *k;
    size_t nk = 0, d = 0;
    json_t *v;

    if (!old) {
        printf("+ %s%s: new %s\n", kind, name, kind[0] ? "route" : "spec");
        return 1;
    }
    json_object_foreach(new, k, v) if (nk < 128) keys[nk++] = k;
    json_object_foreach(old, k, v) if (nk < 128 && !json_object_get(new, k)) keys[nk++] = k;
    qsort(keys, nk, sizeof(*keys), by_str);
    for (size_t i = 0; i < nk; i++) {
        json_t *a = json_object_get(old, keys[i]), *b = json_object_get(new, keys[i]);
        if (a && b && json_equal(a, b))
            continue;
        d++;
        printf("~ %s%s.%s: ", kind, name, keys[i]);
        print_val("", a);
        print_val(" -> ", b);
        printf("\n");
    }
    return d;
}

/* The routes of DIR/routes against the agent's: prints what differs and,
 * when applying, publishes (and with --prune removes). Adds the changes
 * to *changes. 0 or an exit code. */
static int routes_diff_or_apply(struct cli *c, int apply, const struct local *l, size_t n,
                                size_t *changes)
{
    json_t *remote = NULL, *r;
    size_t i;
    int rc;

    if ((rc = call(c, "GET", "/v1/routes", NULL, &remote)) != 0)
        return rc;
    for (i = 0; i < n; i++) {
        json_t *old = remote_route(remote, l[i].name), *res = NULL;
        size_t d = diff_one("route ", l[i].name, old, l[i].spec);
        char path[256], *body;
        json_decref(old);
        *changes += d;
        if (!apply || !d)
            continue;
        snprintf(path, sizeof(path), "/v1/routes/%s", l[i].name);
        body = json_dumps(l[i].spec, JSON_COMPACT | JSON_SORT_KEYS);
        rc = call(c, "PUT", path, body, &res);
        free(body);
        json_decref(res);
        if (rc != 0) {
            fprintf(stderr, "troupe: %s: not published\n", l[i].path);
            goto out;
        }
    }
    json_array_foreach(remote, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        char path[256];
        json_t *res = NULL;
        if (!name || local_has(l, n, name))
            continue;
        (*changes)++;
        printf("- route %s: not in %s/routes%s\n", name, c->args[0],
               apply ? (c->prune ? "; removed" : "; kept (--prune removes it)")
                     : " (apply --prune removes it)");
        if (!apply || !c->prune)
            continue;
        snprintf(path, sizeof(path), "/v1/routes/%s", name);
        if ((rc = call(c, "DELETE", path, NULL, &res)) != 0)
            goto out;
        json_decref(res);
    }
out:
    json_decref(remote);
    return rc;
}

static int cmd_diff_or_apply(struct cli *c, int apply)
{
    struct local *l = NULL, *lr = NULL;
    size_t n = 0, nr = 0, changes = 0;
    int is_dir = 0, has_routes = 0, rc;
    json_t *remote = NULL, *r;

    if (c->nargs != 1)
        return usage_error("%s: expected DIR or FILE", apply ? "apply" : "diff");
    if ((rc = load_specs(c->args[0], &l, &n, &is_dir)) != 0)
        goto out;
    if (is_dir && (rc = load_routes(c->args[0], &lr, &nr, &has_routes)) != 0)
        goto out;
    if (c->prune && !is_dir) {
        rc = usage_error("--prune needs a directory: every spec not in it is removed");
        goto out;
    }
    if ((rc = call(c, "GET", "/v1/specs", NULL, &remote)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *old = remote_find(remote, l[i].name);
        size_t d = diff_one("", l[i].name, old, l[i].spec);
        char path[256], *body;
        json_t *res = NULL;
        changes += d;
        if (!apply || !d)
            continue;
        snprintf(path, sizeof(path), "/v1/specs/%s", l[i].name);
        body = json_dumps(l[i].spec, JSON_COMPACT | JSON_SORT_KEYS);
        rc = call(c, "PUT", path, body, &res);
        free(body);
        json_decref(res);
        if (rc != 0) {
            fprintf(stderr, "troupe: %s: not published\n", l[i].path);
            goto out;
        }
    }
    if (is_dir) {
        size_t i;
        json_array_foreach(remote, i, r)
        {
            const char *name = json_string_value(json_object_get(r, "name"));
            char path[256];
            json_t *res = NULL;
            if (!name || local_has(l, n, name))
                continue;
            changes++;
            printf("- %s: not in %s%s\n", name, c->args[0],
                   apply ? (c->prune ? "; removed" : "; kept (--prune removes it)")
                         : " (apply --prune removes it)");
            if (!apply || !c->prune)
                continue;
            snprintf(path, sizeof(path), "/v1/specs/%s", name);
            if ((rc = call(c, "DELETE", path, NULL, &res)) != 0)
                goto out;
            json_decref(res);
        }
    }
    if (has_routes && (rc = routes_diff_or_apply(c, apply, lr, nr, &changes)) != 0)
        goto out;
    if (!changes)
        printf("%s\n",
               apply ? "nothing to apply: the cluster holds these specs" : "no differences");
    rc = apply ? 0 : (changes ? EXIT_USAGE : 0);
out:
    json_decref(remote);
    free_specs(l, n);
    free_specs(lr, nr);
    return rc;
}

int cmd_apply(struct cli *c)
{
    return cmd_diff_or_apply(c, 1);
}

int cmd_diff(struct cli *c)
{
    return cmd_diff_or_apply(c, 0);
}

/* The autoscaler's part: desired against running, the load it saw, and
 * its last decisions (newest first) with their reasons. */
static void print_scale(json_t *sp, json_t *sc)
{
    size_t i;
    json_t *d;
    const char *last = json_string_value(json_object_get(sc, "last_reason"));

    printf("  scale: desired %lld (min %lld, max %lld), running %lld, on %s, concurrency %.1f "
           "over %lld node(s)%s\n",
           (long long)json_integer_value(json_object_get(sc, "desired")),
           (long long)json_integer_value(json_object_get(sc, "min")),
           (long long)json_integer_value(json_object_get(sc, "max")),
           (long long)json_integer_value(json_object_get(sp, "running")),
           json_string_value(json_object_get(sc, "on")),
           json_number_value(json_object_get(sc, "observed_concurrency")),
           (long long)json_integer_value(json_object_get(sc, "reporters")),
           json_is_true(json_object_get(sc, "panicking")) ? ", panicking" : "");
    if (last)
        printf("  now: %s\n", last);
    json_array_foreach(json_object_get(sc, "decisions"), i, d)
    {
        time_t t = (time_t)(json_integer_value(json_object_get(d, "time_ms")) / 1000);
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("  %s %lld -> %lld: %s\n", when,
               (long long)json_integer_value(json_object_get(d, "from")),
               (long long)json_integer_value(json_object_get(d, "to")),
               json_string_value(json_object_get(d, "reason")));
    }
}

static void print_status(json_t *res)
{
    size_t i, k, j;
    json_t *sp, *sl, *run;

    json_array_foreach(json_object_get(res, "specs"), i, sp)
    {
        const char *err = json_string_value(json_object_get(sp, "error"));
        printf("%s: count %lld, running %lld, passing %lld, missing %lld, doubled %lld, "
               "unplaceable %lld\n",
               json_string_value(json_object_get(sp, "name")),
               (long long)json_integer_value(json_object_get(sp, "count")),
               (long long)json_integer_value(json_object_get(sp, "running")),
               (long long)json_integer_value(json_object_get(sp, "passing")),
               (long long)json_integer_value(json_object_get(sp, "missing")),
               (long long)json_integer_value(json_object_get(sp, "doubled")),
               (long long)json_integer_value(json_object_get(sp, "unplaceable")));
        if (json_integer_value(json_object_get(sp, "canary")))
            printf("  canary: %lld extra slots run the new version beside the %lld\n",
                   (long long)json_integer_value(json_object_get(sp, "canary")),
                   (long long)json_integer_value(json_object_get(sp, "count")));
        if (err)
            printf("  error on %s: %s\n", json_string_value(json_object_get(res, "node")), err);
        if (json_object_get(sp, "update")) {
            json_t *u = json_object_get(sp, "update");
            printf(
                "  version %s: %lld settled, %lld down or settling, %lld on an older version%s\n",
                json_string_value(json_object_get(sp, "version")),
                (long long)json_integer_value(json_object_get(u, "settled")),
                (long long)json_integer_value(json_object_get(u, "busy")),
                (long long)json_integer_value(json_object_get(u, "old")),
                json_is_true(json_object_get(u, "promote"))
                    ? "; the canary waits for troupe promote"
                    : "");
        }
        if (json_object_get(sp, "scale"))
            print_scale(sp, json_object_get(sp, "scale"));
        printf("  %-5s %-20s %s\n", "SLOT", "PLACED ON", "RUNNING (node/status@version)");
        json_array_foreach(json_object_get(sp, "slots"), k, sl)
        {
            const char *node = json_string_value(json_object_get(sl, "node"));
            const char *why = json_string_value(json_object_get(sl, "unplaceable"));
            printf("  %-5lld %-20s", (long long)json_integer_value(json_object_get(sl, "slot")),
                   node ? node : "-");
            json_array_foreach(json_object_get(sl, "running"), j, run)
            {
                const char *ver = json_string_value(json_object_get(run, "version"));
                printf(" %s/%s", json_string_value(json_object_get(run, "node")),
                       json_string_value(json_object_get(run, "status")));
                if (ver && *ver)
                    printf("@%.8s", ver);
            }
            if (!json_array_size(json_object_get(sl, "running")))
                printf(" (none)");
            if (why)
                printf("  unplaceable: %s", why);
            if (json_is_true(json_object_get(sl, "canary")))
                printf("  (canary)");
            printf("\n");
        }
    }
    json_array_foreach(json_object_get(res, "invalid"), i, sp)
        printf("%s: refused: %s\n", json_string_value(json_object_get(sp, "name")),
               json_string_value(json_object_get(sp, "error")));
}

int cmd_status(struct cli *c)
{
    char path[256];

    if (c->nargs)
        snprintf(path, sizeof(path), "/v1/place/%s", c->args[0]);
    else
        snprintf(path, sizeof(path), "/v1/place");
    return cli_show(c, "GET", path, NULL, print_status);
}

int cmd_promote(struct cli *c)
{
    char path[256];
    json_t *res = NULL, *spec, *u, *out = NULL;
    char *body;
    int rc;

    if (c->nargs != 1)
        return usage_error("promote: expected NAME");
    snprintf(path, sizeof(path), "/v1/specs/%s", c->args[0]);
    if ((rc = call(c, "GET", path, NULL, &res)) != 0)
        return rc;
    spec = json_object_get(res, "spec");
    u = json_object_get(spec, "update");
    if (!json_is_object(spec) || !json_integer_value(json_object_get(u, "canary"))) {
        fprintf(stderr, "troupe: %s: no canary to promote (update.canary is 0)\n", c->args[0]);
        json_decref(res);
        return 1;
    }
    json_object_del(u, "canary");
    body = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    rc = call(c, "PUT", path, body, &out);
    free(body);
    json_decref(out);
    json_decref(res);
    if (rc == 0)
        printf("%s: promoted: the new version rolls out to every slot\n", c->args[0]);
    return rc;
}
