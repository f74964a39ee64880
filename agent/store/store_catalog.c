/* store_catalog: the catalog's tables (see store_catalog.h). Owns their
 * SQL; knows nothing of what a record's value means. */
#include "agent/store/store_catalog.h"

#include <sqlite3.h>
#include <string.h>

#include "agent/store/store_impl.h"

void store_catalog_close(struct store *st)
{
    sqlite3_finalize(st->rec_put);
    sqlite3_finalize(st->ev_add);
    st->rec_put = st->ev_add = NULL;
}

int store_begin(struct store *st, struct err *e)
{
    return store_exec(st, "BEGIN", e);
}

int store_commit(struct store *st, struct err *e)
{
    uint64_t t0 = metrics_now_ns();
    int rc = store_exec(st, "COMMIT", e);

    metrics_hist_observe(&st->commit, (double)(metrics_now_ns() - t0) / 1e9);
    return rc;
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        store_exec(st, "ROLLBACK", NULL);
}

static int prepare(struct store *st, sqlite3_stmt **q, const char *sql, struct err *e)
{
    if (*q) {
        sqlite3_reset(*q);
        sqlite3_clear_bindings(*q);
        return 0;
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "prepare");
    return 0;
}

/* Runs a one-off statement with text parameters (NULL ends the list). */
static int run_text(struct store *st, const char *sql, const char *what, struct err *e,
                    const char *p1, const char *p2)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, what);
    if (p1)
        sqlite3_bind_text(q, 1, p1, -1, SQLITE_STATIC);
    if (p2)
        sqlite3_bind_text(q, 2, p2, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, what);
    sqlite3_finalize(q);
    return rc;
}

int store_record_put(struct store *st, const struct crdt_rec *r, struct err *e)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO records(origin, kind, key, version, hlc, deleted, val) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    int rc;

    if ((rc = prepare(st, &st->rec_put, sql, e)) < 0)
        return rc;
    sqlite3_bind_text(st->rec_put, 1, r->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int(st->rec_put, 2, r->kind);
    sqlite3_bind_text(st->rec_put, 3, r->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->rec_put, 4, (sqlite3_int64)r->version);
    sqlite3_bind_int64(st->rec_put, 5, (sqlite3_int64)r->hlc);
    sqlite3_bind_int(st->rec_put, 6, r->deleted);
    sqlite3_bind_blob(st->rec_put, 7, r->val ? (const void *)r->val : "", (int)r->len,
                      SQLITE_STATIC);
    if (sqlite3_step(st->rec_put) != SQLITE_DONE)
        return store_db_err(e, st->db, "save record");
    sqlite3_reset(st->rec_put);
    return 0;
}

int store_records_drop_origin(struct store *st, const char *origin, struct err *e)
{
    return run_text(st, "DELETE FROM records WHERE origin = ?1", "drop records", e, origin, NULL);
}

int store_tombstones_prune(struct store *st,
                           int (*held)(void *ud, const char *origin, uint8_t kind, const char *key),
                           void *ud, struct err *e)
{
    sqlite3_stmt *q = NULL, *d = NULL;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db, "SELECT origin, kind, key FROM records WHERE deleted = 1", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM records WHERE origin = ?1 AND kind = ?2 AND key = ?3", -1,
                           &d, NULL) != SQLITE_OK) {
        rc = store_db_err(e, st->db, "prune tombstones");
        goto out;
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *origin = (const char *)sqlite3_column_text(q, 0);
        int kind = sqlite3_column_int(q, 1);
        const char *key = (const char *)sqlite3_column_text(q, 2);
        if (!origin || !key || held(ud, origin, (uint8_t)kind, key))
            continue;
        sqlite3_bind_text(d, 1, origin, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(d, 2, kind);
        sqlite3_bind_text(d, 3, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(d) != SQLITE_DONE) {
            rc = store_db_err(e, st->db, "prune tombstones");
            goto out;
        }
        sqlite3_reset(d);
    }
    if (step != SQLITE_DONE)
        rc = store_db_err(e, st->db, "prune tombstones");
out:
    sqlite3_finalize(q);
    sqlite3_finalize(d);
    return rc;
}

int store_records_load(struct store *st, int (*cb)(void *ud, const struct crdt_rec *r), void *ud,
                       struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0, step;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT origin, kind, key, version, hlc, deleted, val FROM records "
                           "ORDER BY origin, version",
                           -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "load records");
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct crdt_rec r;
        memset(&r, 0, sizeof(r));
        r.origin = (const char *)sqlite3_column_text(q, 0);
        r.kind = (uint8_t)sqlite3_column_int(q, 1);
        r.key = (const char *)sqlite3_column_text(q, 2);
        r.version = (uint64_t)sqlite3_column_int64(q, 3);
        r.hlc = (uint64_t)sqlite3_column_int64(q, 4);
        r.deleted = (uint8_t)sqlite3_column_int(q, 5);
        r.val = sqlite3_column_blob(q, 6);
        r.len = (uint32_t)sqlite3_column_bytes(q, 6);
        if (!r.origin || !r.key)
            continue;
        if ((rc = cb(ud, &r)) < 0)
            break;
        rc = 0;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = store_db_err(e, st->db, "load records");
    sqlite3_finalize(q);
    return rc;
}

int store_service_save(struct store *st, const char *id, int source, const char *def, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO services(id, source, def) VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "save registration");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, source);
    sqlite3_bind_text(q, 3, def, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, "save registration");
    sqlite3_finalize(q);
    return rc;
}

int store_service_forget(struct store *st, const char *id, struct err *e)
{
    return run_text(st, "DELETE FROM services WHERE id = ?1", "forget registration", e, id, NULL);
}

int store_services_load(struct store *st,
                        void (*cb)(void *ud, const char *id, int source, const char *def), void *ud,
                        struct err *e)
{
    sqlite3_stmt *q = NULL;
    int step;

    if (sqlite3_prepare_v2(st->db, "SELECT id, source, def FROM services ORDER BY id", -1, &q,
                           NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "load registrations");
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        const char *def = (const char *)sqlite3_column_text(q, 2);
        if (id && def)
            cb(ud, id, sqlite3_column_int(q, 1), def);
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE)
        return store_db_err(e, st->db, "load registrations");
    return 0;
}

int store_event_add(struct store *st, int64_t time_ms, const char *kind, const char *subject,
                    const char *detail, struct err *e)
{
    static const char sql[] =
        "INSERT INTO events(time_ms, kind, subject, detail) VALUES (?1, ?2, ?3, ?4)";
    int rc;

    if ((rc = prepare(st, &st->ev_add, sql, e)) < 0)
        return rc;
    sqlite3_bind_int64(st->ev_add, 1, time_ms);
    sqlite3_bind_text(st->ev_add, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->ev_add, 3, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->ev_add, 4, detail, -1, SQLITE_STATIC);
    if (sqlite3_step(st->ev_add) != SQLITE_DONE)
        return store_db_err(e, st->db, "save event");
    sqlite3_reset(st->ev_add);
    return 0;
}

int store_events_query(struct store *st, int64_t since, const char *kind, int64_t limit,
                       void (*cb)(void *ud, const struct store_event *ev), void *ud, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int step;

    /* since < 0: the newest `limit`, still oldest first */
    if (sqlite3_prepare_v2(st->db,
                           since >= 0 ? "SELECT seq, time_ms, kind, subject, detail FROM events "
                                        "WHERE seq > ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY seq "
                                        "LIMIT ?3"
                                      : "SELECT * FROM (SELECT seq, time_ms, kind, subject, detail "
                                        "FROM events WHERE seq > ?1 AND (?2 IS NULL OR kind = ?2) "
                                        "ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "read events");
    sqlite3_bind_int64(q, 1, since);
    if (kind)
        sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 2);
    sqlite3_bind_int64(q, 3, limit);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_event ev = {
            .seq = sqlite3_column_int64(q, 0),
            .time_ms = sqlite3_column_int64(q, 1),
            .kind = (const char *)sqlite3_column_text(q, 2),
            .subject = (const char *)sqlite3_column_text(q, 3),
            .detail = (const char *)sqlite3_column_text(q, 4),
        };
        if (ev.kind && ev.subject && ev.detail)
            cb(ud, &ev);
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE)
        return store_db_err(e, st->db, "read events");
    return 0;
}

int64_t store_events_last(struct store *st)
{
    sqlite3_stmt *q = NULL;
    int64_t seq = 0;

    if (sqlite3_prepare_v2(st->db, "SELECT max(seq) FROM events", -1, &q, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        seq = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return seq;
}

int store_events_trim(struct store *st, int64_t keep, struct err *e)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(st->db,
                           "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1", -1,
                           &q, NULL) != SQLITE_OK)
        return store_db_err(e, st->db, "trim events");
    sqlite3_bind_int64(q, 1, keep);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_db_err(e, st->db, "trim events");
    sqlite3_finalize(q);
    return rc;
}
