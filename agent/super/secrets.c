/* secrets: the secrets of the supervisor. A secret is stored in the
 * supervisor's table sealed with libsodium's secretbox (XSalsa20-Poly1305)
 * under the agent's key, DATA/secret.key (32 random bytes, mode 0600,
 * made on first use). An instance gets the secrets its spec lists as
 * files, mode 0400, owned by the service user, in a directory of its own on
 * a tmpfs (/run/troupe/secrets-ID, mounted by the agent when root, ID that
 * of the data dir; /dev/shm/troupe-UID-ID otherwise),
 * never in its environment, command line or logs. The values never leave
 * this file except into those files. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static int load_key(struct super *s, struct err *e)
{
    char path[PATH_MAX + 16];
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/secret.key", s->data_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, s->key, sizeof(s->key));
        close(fd);
        if (n != (ssize_t)sizeof(s->key))
            return err_set(e, -EINVAL, "%s: not a 32-byte key", path);
        return 0;
    }
    if (errno != ENOENT)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    randombytes_buf(s->key, sizeof(s->key));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    n = write(fd, s->key, sizeof(s->key));
    if (n != (ssize_t)sizeof(s->key) || fsync(fd) < 0) {
        close(fd);
        unlink(path);
        return err_set(e, -EIO, "%s: cannot write the key", path);
    }
    close(fd);
    log_info("secrets", "made a new secrets key in %s", path);
    return 0;
}

static const char schema[] = "CREATE TABLE IF NOT EXISTS sup_secrets ("
                             "  name TEXT PRIMARY KEY, nonce BLOB NOT NULL, box BLOB NOT NULL,"
                             "  updated_ms INTEGER NOT NULL);";

static int is_tmpfs(const char *path)
{
    struct statfs f;
    return statfs(path, &f) == 0 && f.f_type == TMPFS_MAGIC;
}

int secrets_open(struct super *s, struct err *e)
{
    int rc;
    struct stat st;

    if ((rc = load_key(s, e)) < 0)
        return rc;
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return err_set(e, -EIO, "secrets table: %s", sqlite3_errmsg(s->db));
    /* Outside the data dir, which only the agent may enter; one per data
     * dir, so that several agents on one machine keep theirs apart. Made
     * when an instance first needs it (secrets_root_ready). */
    if (stat(s->data_dir, &st) < 0)
        return err_set(e, -errno, "%s: %s", s->data_dir, strerror(errno));
    if (s->root)
        snprintf(s->secrets_root, sizeof(s->secrets_root), "/run/troupe/secrets-%llx",
                 (unsigned long long)st.st_ino);
    else
        snprintf(s->secrets_root, sizeof(s->secrets_root), "/dev/shm/troupe-%u-%llx",
                 (unsigned)getuid(), (unsigned long long)st.st_ino);
    return 0;
}

int secrets_exists(struct super *s, const char *name)
{
    sqlite3_stmt *q = NULL;
    int found = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sup_secrets WHERE name = ?1", -1, &q, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

/* Makes the secrets root: a directory on a tmpfs (mounted there as root
 * when /run is not one). */
static int secrets_root_ready(struct super *s, struct err *e)
{
    if (s->root && mkdir("/run/troupe", 0711) < 0 && errno != EEXIST)
        return err_set(e, -errno, "/run/troupe: %s", strerror(errno));
    if (mkdir(s->secrets_root, s->root ? 0711 : 0700) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", s->secrets_root, strerror(errno));
    if (is_tmpfs(s->secrets_root))
        return 0;
    if (!s->root) {
        log_warn("secrets", "%s is not a tmpfs: secrets given to services touch the disk",
                 s->secrets_root);
        return 0;
    }
    if (mount("troupe-secrets", s->secrets_root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0711,size=16m") < 0)
        return err_set(e, -errno, "mounting a tmpfs on %s: %s", s->secrets_root, strerror(errno));
    return 0;
}

int super_secret_put(struct super *s, const char *name, const void *val, size_t len, struct err *e)
{
    unsigned char nonce[crypto_secretbox_NONCEBYTES];
    unsigned char *box;
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (!sup_secret_name_ok(name))
        return err_set(e, -EINVAL,
                       "secret name \"%s\": 1-63 of [a-z0-9._-], starting with a letter or digit",
                       name);
    if (len > SUPER_SECRET_MAX)
        return err_set(e, -EMSGSIZE, "secret %s: larger than %u bytes", name, SUPER_SECRET_MAX);
    box = xmalloc(len + crypto_secretbox_MACBYTES);
    randombytes_buf(nonce, sizeof(nonce));
    crypto_secretbox_easy(box, val, len, nonce, s->key);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO sup_secrets(name, nonce, box, updated_ms) "
                           "VALUES (?1, ?2, ?3, strftime('%s','now') * 1000) "
                           "ON CONFLICT(name) DO UPDATE SET nonce = ?2, box = ?3, "
                           "updated_ms = strftime('%s','now') * 1000",
                           -1, &q, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC),
         sqlite3_bind_blob(q, 2, nonce, sizeof(nonce), SQLITE_STATIC),
         sqlite3_bind_blob(q, 3, box, (int)(len + crypto_secretbox_MACBYTES), SQLITE_STATIC),
         sqlite3_step(q)) != SQLITE_DONE)
        rc = err_set(e, -EIO, "saving secret %s: %s", name, sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    free(box);
    return rc;
}

int super_secret_rm(struct super *s, const char *name, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(s->db, "DELETE FROM sup_secrets WHERE name = ?1", -1, &q, NULL) !=
            SQLITE_OK ||
        (sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC), sqlite3_step(q)) != SQLITE_DONE)
        rc = err_set(e, -EIO, "removing secret %s: %s", name, sqlite3_errmsg(s->db));
    else if (sqlite3_changes(s->db) == 0)
        rc = err_set(e, -ENOENT, "no secret named \"%s\"", name);
    sqlite3_finalize(q);
    return rc;
}

json_t *super_secret_list(struct super *s, struct err *e)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();

    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, length(box), updated_ms FROM sup_secrets ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK) {
        json_decref(arr);
        err_set(e, -EIO, "listing secrets: %s", sqlite3_errmsg(s->db));
        return NULL;
    }
    while (sqlite3_step(q) == SQLITE_ROW)
        json_array_append_new(
            arr,
            json_pack("{s:s, s:I, s:I}", "name", (const char *)sqlite3_column_text(q, 0), "bytes",
                      (json_int_t)(sqlite3_column_int64(q, 1) - crypto_secretbox_MACBYTES),
                      "updated_ms", (json_int_t)sqlite3_column_int64(q, 2)));
    sqlite3_finalize(q);
    return arr;
}

/* Opens one secret into a heap buffer (*val, *len); the caller wipes and frees it. */
static int secret_open(struct super *s, const char *name, unsigned char **val, size_t *len,
                       struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    *val = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT nonce, box FROM sup_secrets WHERE name = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return err_set(e, -EIO, "reading secret %s: %s", name, sqlite3_errmsg(s->db));
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = err_set(e, -ENOENT, "secrets: no secret named \"%s\" (troupe secret put %s)", name,
                     name);
    } else {
        const void *nonce = sqlite3_column_blob(q, 0), *box = sqlite3_column_blob(q, 1);
        int nl = sqlite3_column_bytes(q, 0), bl = sqlite3_column_bytes(q, 1);
        if (nl != crypto_secretbox_NONCEBYTES || bl < (int)crypto_secretbox_MACBYTES) {
            rc = err_set(e, -EBADMSG, "secret %s: damaged record", name);
        } else {
            *len = (size_t)bl - crypto_secretbox_MACBYTES;
            *val = xmalloc(*len + 1);
            if (crypto_secretbox_open_easy(*val, box, (unsigned long long)bl, nonce, s->key) != 0) {
                free(*val);
                *val = NULL;
                rc = err_set(e, -EBADMSG,
                             "secret %s: does not open with this agent's key (secret.key)", name);
            }
        }
    }
    sqlite3_finalize(q);
    return rc;
}

/* Removes an instance's secrets (it stopped, or is about to get fresh ones). */
void secrets_clear(const char *dir)
{
    char path[PATH_MAX + 264];
    struct dirent *de;
    DIR *d;

    if (!dir[0] || !(d = opendir(dir)))
        return;
    chmod(dir, 0700);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int secrets_materialize(struct super *s, const struct sup_spec *spec, const char *dir, uid_t uid,
                        gid_t gid, struct err *e)
{
    char path[PATH_MAX + 80];
    int rc;

    if ((rc = secrets_root_ready(s, e)) < 0)
        return rc;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set(e, -errno, "secrets dir %s: %s", dir, strerror(errno));
    for (size_t i = 0; i < spec->n_secrets && rc == 0; i++) {
        unsigned char *val;
        size_t len = 0;
        int fd;

        if ((rc = secret_open(s, spec->secrets[i], &val, &len, e)) < 0)
            break;
        snprintf(path, sizeof(path), "%s/%s", dir, spec->secrets[i]);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (fd < 0 || write(fd, val, len) != (ssize_t)len || (s->root && fchown(fd, uid, gid) < 0))
            rc = err_set(e, -errno, "secret %s: writing %s: %s", spec->secrets[i], path,
                         strerror(errno));
        if (fd >= 0)
            close(fd);
        sodium_memzero(val, len);
        free(val);
    }
    if (rc == 0 && s->root && chown(dir, uid, gid) < 0)
        rc = err_set(e, -errno, "secrets dir %s: %s", dir, strerror(errno));
    if (rc == 0)
        chmod(dir, 0500);
    return rc;
}
