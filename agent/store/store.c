/* store: SQLite persistence of the agent (see store.h). Owns the database
 * handle, the schema and the data directory lock; knows nothing of the loop. */
#include "agent/store/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/store/store_impl.h"
#include "core/mem.h"

static const char *const schema[] = {
    /* version 1 */
    "CREATE TABLE peers ("
    "  name TEXT PRIMARY KEY,"
    "  addr TEXT NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL);",
    /* version 2: the trust metadata versions this agent accepted last, per
     * pinned root (pin: a hash of the pinned root.json), and the newest root */
    "CREATE TABLE trust_state ("
    "  pin TEXT PRIMARY KEY,"
    "  root INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
    "  snapshot INTEGER NOT NULL, targets INTEGER NOT NULL,"
    "  root_json BLOB);",
    /* version 3: the catalog (agent/store/store_catalog.c) */
    STORE_SCHEMA_CATALOG,
    /* version 4: the highest incarnation this agent had, per node name: a
     * restart begins above it (see store_incarnation_load) */
    "CREATE TABLE incarnation ("
    "  name TEXT PRIMARY KEY,"
    "  incarnation INTEGER NOT NULL);",
};

int store_db_err(struct err *e, sqlite3 *db, const char *what)
{
    return err_set(e, -EIO, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

int store_exec(struct store *st, const char *sql, struct err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, -EIO, "database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int migrate(struct store *st, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int version = 0, rc;
    const int latest = (int)(sizeof(schema) / sizeof(schema[0]));

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "read schema version");
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version > latest)
        return err_set(e, -EPROTO,
                       "database schema version %d is newer than this troupe knows (%d)", version,
                       latest);
    for (; version < latest; version++) {
        char bump[64];
        if ((rc = store_exec(st, "BEGIN", e)) < 0)
            return rc;
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version + 1);
        if ((rc = store_exec(st, schema[version], e)) < 0 || (rc = store_exec(st, bump, e)) < 0) {
            store_exec(st, "ROLLBACK", NULL);
            return rc;
        }
        if ((rc = store_exec(st, "COMMIT", e)) < 0)
            return rc;
    }
    return 0;
}

int store_open(struct store **out, const char *dir, struct err *e)
{
    char path[4096];
    struct store *st;
    int rc;

    *out = NULL;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set(e, -errno, "data dir %s: %s", dir, strerror(errno));
    st = xcalloc(1, sizeof(*st));
    st->lock_fd = -1;
    if ((size_t)snprintf(path, sizeof(path), "%s/lock", dir) >= sizeof(path)) {
        rc = err_set(e, -ENAMETOOLONG, "data dir path too long: %s", dir);
        goto fail;
    }
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0) {
        rc = err_set(e, -errno, "data dir %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = err_set(e, -EBUSY, "data dir %s is in use by another troupe agent", dir);
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/troupe.db", dir);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = store_db_err(e, st->db, path);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 2000);
    if ((rc = store_exec(st, STORE_PRAGMAS, e)) < 0 || (rc = migrate(st, e)) < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    store_catalog_close(st);
    if (st->db)
        sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st);
}

int store_peers_seen(struct store *st, const struct store_peer *peers, size_t n, uint64_t now_ms,
                     struct err *e)
{
    static const char sql[] = "INSERT INTO peers(name, addr, last_seen_ms) VALUES (?1, ?2, ?3) "
                              "ON CONFLICT(name) DO UPDATE SET addr = ?2, last_seen_ms = ?3";
    sqlite3_stmt *q = NULL;
    char a[64];
    int rc;

    if ((rc = store_exec(st, "BEGIN", e)) < 0)
        return rc;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = store_db_err(e, st->db, "save peers");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        node_addr_str(&peers[i].addr, a, sizeof(a));
        sqlite3_bind_text(q, 1, peers[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, a, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)now_ms);
        if (sqlite3_step(q) != SQLITE_DONE) {
            rc = store_db_err(e, st->db, "save peers");
            goto out;
        }
        sqlite3_reset(q);
    }
    rc = store_exec(st, "COMMIT", e);
out:
    sqlite3_finalize(q);
    if (rc < 0)
        store_exec(st, "ROLLBACK", NULL);
    return rc;
}

int store_peer_forget(struct store *st, const char *name, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db, "DELETE FROM peers WHERE name = ?1", -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "forget peer");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, "forget peer");
    sqlite3_finalize(q);
    return rc;
}

int store_peers_load(struct store *st, struct node_addr *out, size_t cap, size_t *n, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc;

    *n = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT addr FROM peers ORDER BY last_seen_ms DESC LIMIT ?1", -1,
                           &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "load peers");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)cap);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < cap) {
        const char *a = (const char *)sqlite3_column_text(q, 0);
        /* A row that no longer parses is skipped, not fatal: it only costs a rejoin hint. */
        if (a && node_addr_parse(&out[*n], a, 0, NULL) == 0)
            (*n)++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_err(e, st->db, "load peers");
    return 0;
}

int store_incarnation_load(struct store *st, const char *name, uint32_t *out, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc;

    *out = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT incarnation FROM incarnation WHERE name = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "load incarnation");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(q, 0);
        *out = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_err(e, st->db, "load incarnation");
    return 0;
}

int store_incarnation_save(struct store *st, const char *name, uint32_t inc, struct err *e)
{
    static const char sql[] = "INSERT INTO incarnation(name, incarnation) VALUES (?1, ?2) "
                              "ON CONFLICT(name) DO UPDATE SET incarnation = "
                              "max(incarnation, ?2)";
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "save incarnation");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)inc);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, "save incarnation");
    sqlite3_finalize(q);
    return rc;
}

int store_trust_load(struct store *st, const char *pin, struct trust_saved *out, struct err *e)
{
    static const char sql[] = "SELECT root, timestamp, snapshot, targets, root_json "
                              "FROM trust_state WHERE pin = ?1";
    sqlite3_stmt *q = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "load trust state");
    sqlite3_bind_text(q, 1, pin, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q, 4);
        int n = sqlite3_column_bytes(q, 4);
        out->st.root = (uint64_t)sqlite3_column_int64(q, 0);
        out->st.timestamp = (uint64_t)sqlite3_column_int64(q, 1);
        out->st.snapshot = (uint64_t)sqlite3_column_int64(q, 2);
        out->st.targets = (uint64_t)sqlite3_column_int64(q, 3);
        if (blob && n > 0) {
            out->root = xmalloc((size_t)n + 1);
            memcpy(out->root, blob, (size_t)n);
            out->root[n] = '\0';
            out->root_len = (size_t)n;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_err(e, st->db, "load trust state");
    return 0;
}

int store_trust_save(struct store *st, const char *pin, const struct trust_saved *s, struct err *e)
{
    static const char sql[] =
        "INSERT INTO trust_state(pin, root, timestamp, snapshot, targets, root_json) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(pin) DO UPDATE SET root = ?2, "
        "timestamp = ?3, snapshot = ?4, targets = ?5, root_json = ?6";
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "save trust state");
    sqlite3_bind_text(q, 1, pin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)s->st.root);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)s->st.timestamp);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)s->st.snapshot);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)s->st.targets);
    if (s->root)
        sqlite3_bind_blob(q, 6, s->root, (int)s->root_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 6);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, "save trust state");
    sqlite3_finalize(q);
    return rc;
}

void store_write_metrics(const struct store *st, FILE *f)
{
    if (!st)
        return;
    metrics_head(f, "troupe_store_commit_duration_seconds", "histogram",
                 "How long a commit of the catalog's writes to SQLite took (WAL, synced), in "
                 "seconds.");
    metrics_hist_write(f, "troupe_store_commit_duration_seconds", "", &st->commit);
}
