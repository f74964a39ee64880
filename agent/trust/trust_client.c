/* trust_client: fetching and verifying trust metadata and bundles (see
 * trust_client.h). Sources are a directory or an HTTP mirror; the
 * decisions are core/trust's. */
#include "agent/trust/trust_client.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/trust/httpc_uv.h"
#include "core/mem.h"

void trust_saved_release(struct trust_saved *s)
{
    free(s->root);
    s->root = NULL;
    s->root_len = 0;
}

static int is_url(const char *repo)
{
    return strncmp(repo, "http://", 7) == 0;
}

void trust_client_resolve(const char *given, char *out, size_t cap)
{
    struct stat st;

    if (!is_url(given) && (size_t)snprintf(out, cap, "%s/repository/root.json", given) < cap &&
        stat(out, &st) == 0) {
        snprintf(out, cap, "%s/repository", given);
        return;
    }
    snprintf(out, cap, "%s", given);
}

void trust_client_pin_id(const void *pinned, size_t len, char out[17])
{
    uint8_t h[32];

    trust_sha256(pinned, len, h);
    sodium_bin2hex(out, 17, h, 8);
}

/* Streams repo/name to sink, refusing past max bytes. -ENOENT when absent. */
static int src_get(const char *repo, const char *name, uint64_t max, const struct httpc_opts *o,
                   httpc_sink sink, void *ud, struct err *e)
{
    char where[PATH_MAX + 64];
    size_t rl = strlen(repo);
    const char *sep = rl && repo[rl - 1] == '/' ? "" : "/";
    uint8_t buf[65536];
    uint64_t total = 0;
    ssize_t n;
    int fd, rc = 0;

    if ((size_t)snprintf(where, sizeof(where), "%s%s%s", repo, sep, name) >= sizeof(where))
        return err_set(e, -ENAMETOOLONG, "%s/%s: too long", repo, name);
    if (is_url(repo))
        return httpc_get(where, max, o, sink, ud, e);
    fd = open(where, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", where, strerror(errno));
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if ((uint64_t)n > max - total) {
            rc = err_set(e, -EFBIG,
                         "endless data attack: %s is larger than the %llu bytes "
                         "expected",
                         where, (unsigned long long)max);
            break;
        }
        total += (uint64_t)n;
        if ((rc = sink(ud, buf, (size_t)n, e)) < 0)
            break;
    }
    if (n < 0)
        rc = err_set(e, -errno, "%s: %s", where, strerror(errno));
    close(fd);
    return rc;
}

struct membuf {
    char *p;
    size_t len, cap;
};

static int mem_sink(void *ud, const uint8_t *p, size_t n, struct err *e)
{
    struct membuf *m = ud;
    (void)e;
    if (m->len + n + 1 > m->cap) {
        m->cap = (m->len + n + 1) * 2;
        m->p = xrealloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
    m->p[m->len] = '\0';
    return 0;
}

static int get_meta(const char *repo, const char *name, uint64_t max, const struct httpc_opts *o,
                    struct membuf *m, struct err *e)
{
    m->len = 0;
    mem_sink(m, (const uint8_t *)"", 0, NULL);
    return src_get(repo, name, max, o, mem_sink, m, e);
}

int trust_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
    struct membuf m = {0};
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int rc;

    /* a file is a source of its own: its directory, its name */
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    rc = get_meta(slash == path ? "/" : dir, slash ? slash + 1 : path, max, NULL, &m, e);
    if (rc < 0) {
        free(m.p);
        return rc;
    }
    *out = m.p;
    *len = m.len;
    return 0;
}

int trust_client_refresh(const char *repo, const struct httpc_opts *o, const void *pinned,
                         size_t pinned_len, int64_t now, struct trust_saved *saved,
                         struct trust_targets *out, struct err *e)
{
    struct trust_root root, newer;
    struct trust_timestamp ts;
    struct trust_snapshot sn;
    struct membuf m = {0};
    int rc;

    if ((rc = trust_root_load(&root, pinned, pinned_len, e)) < 0) {
        err_wrap(e, "pinned root");
        goto out;
    }
    /* the saved root was verified before, by this client: use it when newer */
    if (saved->root && trust_root_load(&newer, saved->root, saved->root_len, NULL) == 0 &&
        newer.version > root.version)
        root = newer;
    if (saved->st.root < root.version)
        saved->st.root = root.version;
    for (int i = 0; i < TRUST_ROOT_ROTATIONS_MAX; i++) {
        char name[48];
        snprintf(name, sizeof(name), "%llu.root.json", (unsigned long long)root.version + 1);
        rc = get_meta(repo, name, TRUST_ROOT_MAX, o, &m, e);
        if (rc == -ENOENT)
            break;
        if (rc < 0 || (rc = trust_root_update(&root, &saved->st, m.p, m.len, e)) < 0)
            goto out;
        free(saved->root);
        saved->root = xmemdup(m.p, m.len + 1);
        saved->root_len = m.len;
    }
    if ((rc = trust_root_fresh(&root, now, e)) < 0)
        goto out;
    if ((rc = get_meta(repo, "timestamp.json", TRUST_TIMESTAMP_MAX, o, &m, e)) < 0 ||
        (rc = trust_timestamp_verify(&root, &saved->st, now, m.p, m.len, &ts, e)) < 0)
        goto out;
    saved->st.timestamp = ts.version;
    if ((rc = get_meta(repo, "snapshot.json", ts.snapshot.length, o, &m, e)) < 0 ||
        (rc = trust_snapshot_verify(&root, &saved->st, now, &ts, m.p, m.len, &sn, e)) < 0)
        goto out;
    saved->st.snapshot = sn.version;
    if ((rc = get_meta(repo, "targets.json", sn.targets.length, o, &m, e)) < 0 ||
        (rc = trust_targets_verify(&root, &saved->st, now, &sn, m.p, m.len, out, e)) < 0)
        goto out;
    saved->st.targets = out->version;
out:
    free(m.p);
    return rc;
}

struct file_sink {
    struct trust_check c;
    int fd;
    const char *path;
};

static int file_sink(void *ud, const uint8_t *p, size_t n, struct err *e)
{
    struct file_sink *f = ud;
    int rc = trust_check_update(&f->c, p, n, e);

    while (rc == 0 && n > 0 && f->fd >= 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0)
            return err_set(e, -errno, "%s: %s", f->path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return rc;
}

static int check_from(const char *repo, const char *name, const struct trust_target *t, int fd,
                      const char *path, const struct httpc_opts *o, struct err *e)
{
    struct file_sink f = {.fd = fd, .path = path};
    int rc;

    trust_check_init(&f.c, t);
    rc = src_get(repo, name, t->length, o, file_sink, &f, e);
    if (rc == 0)
        rc = trust_check_final(&f.c, e);
    trust_check_release(&f.c);
    return rc;
}

int trust_client_download(const char *repo, const struct httpc_opts *o,
                          const struct trust_target *t, const char *path, struct err *e)
{
    char part[PATH_MAX], name[TRUST_NAME_MAX + 32];
    int fd, rc;

    snprintf(name, sizeof(name), "targets/%s.tar.zst", t->name);
    if ((size_t)snprintf(part, sizeof(part), "%s.part", path) >= sizeof(part))
        return err_set(e, -ENAMETOOLONG, "%s: too long", path);
    fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", part, strerror(errno));
    rc = check_from(repo, name, t, fd, part, o, e);
    if (rc == 0 && fsync(fd) < 0)
        rc = err_set(e, -errno, "%s: %s", part, strerror(errno));
    close(fd);
    if (rc == 0 && rename(part, path) < 0)
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(part);
    return rc;
}

int trust_client_check_file(const struct trust_target *t, const char *path, struct err *e)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return check_from(slash == path ? "/" : dir, slash ? slash + 1 : path, t, -1, path, NULL, e);
}
