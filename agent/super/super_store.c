/* super_store: the supervisor's tables in the data dir's troupe.db, on a
 * connection of its own: the applied specs (with the wanted instance count
 * and whether they were stopped by hand), the instances' pids and start
 * times (so a restarted agent re-adopts them). The secrets' table is
 * secrets.c's, on the same connection.
 * Every write is durable on return (WAL, synchronous=FULL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/store/store.h"
#include "agent/super/super_impl.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS sup_specs ("
    "  name TEXT PRIMARY KEY, json TEXT NOT NULL,"
    "  want INTEGER NOT NULL, stopped INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sup_instances ("
    "  service TEXT NOT NULL, idx INTEGER NOT NULL, pid INTEGER NOT NULL,"
    "  pid_start INTEGER NOT NULL, started_mono_ms INTEGER NOT NULL,"
    "  started_wall_ms INTEGER NOT NULL, restarts INTEGER NOT NULL, level INTEGER NOT NULL,"
    "  ports TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (service, idx));"
    "CREATE TABLE IF NOT EXISTS sup_placed ("
    "  name TEXT PRIMARY KEY, slots INTEGER NOT NULL);";

static int db_err(struct super *s, struct err *e, const char *what)
{
    return err_set(e, -EIO, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "no database");
}

int super_store_open(struct super *s, struct err *e)
{
    char path[PATH_MAX + 16];
    char *msg = NULL;

    snprintf(path, sizeof(path), "%s/troupe.db", s->data_dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        return db_err(s, e, path);
    sqlite3_busy_timeout(s->db, 2000);
    if (sqlite3_exec(s->db, STORE_PRAGMAS, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, -EIO, "supervisor tables: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

void super_store_close(struct super *s)
{
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

static int run(struct super *s, sqlite3_stmt *q, const char *what, struct err *e)
{
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_err(s, e, what);
    sqlite3_finalize(q);
    return rc;
}

static sqlite3_stmt *prep(struct super *s, const char *sql)
{
    sqlite3_stmt *q = NULL;

    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return NULL;
    return q;
}

int super_store_spec_put(struct super *s, const struct svc *v, struct err *e)
{
    sqlite3_stmt *q = prep(s, "INSERT INTO sup_specs(name, json, want, stopped) "
                              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET "
                              "json = ?2, want = ?3, stopped = ?4");

    if (!q)
        return db_err(s, e, "save spec");
    sqlite3_bind_text(q, 1, v->spec.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, v->spec.json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, v->want);
    sqlite3_bind_int(q, 4, v->stopped);
    if (run(s, q, "save spec", e) < 0)
        return e->code;
    if (!v->placed)
        return 0;
    q = prep(s, "INSERT INTO sup_placed(name, slots) VALUES (?1, ?2) "
                "ON CONFLICT(name) DO UPDATE SET slots = ?2");
    if (!q)
        return db_err(s, e, "save slots");
    sqlite3_bind_text(q, 1, v->spec.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)v->slots);
    return run(s, q, "save slots", e);
}

int super_store_placed_get(struct super *s, const char *name, uint64_t *slots)
{
    sqlite3_stmt *q = prep(s, "SELECT slots FROM sup_placed WHERE name = ?1");
    int found = 0;

    if (!q)
        return 0;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *slots = (uint64_t)sqlite3_column_int64(q, 0);
        found = 1;
    }
    sqlite3_finalize(q);
    return found;
}

int super_store_spec_del(struct super *s, const char *name, struct err *e)
{
    sqlite3_stmt *q = prep(s, "DELETE FROM sup_specs WHERE name = ?1");

    if (!q)
        return db_err(s, e, "forget spec");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (run(s, q, "forget spec", e) < 0)
        return e->code;
    if (!(q = prep(s, "DELETE FROM sup_placed WHERE name = ?1")))
        return db_err(s, e, "forget slots");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (run(s, q, "forget slots", e) < 0)
        return e->code;
    if (!(q = prep(s, "DELETE FROM sup_instances WHERE service = ?1")))
        return db_err(s, e, "forget instances");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    return run(s, q, "forget instances", e);
}

static void ports_text(const uint16_t *ports, char *buf, size_t cap)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < SUP_PORTS_MAX && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%u", i ? "," : "", ports[i]);
}

int super_store_inst_put(struct super *s, const struct inst *in, struct err *e)
{
    sqlite3_stmt *q = prep(
        s,
        "INSERT INTO sup_instances(service, idx, pid, pid_start, started_mono_ms, "
        "started_wall_ms, restarts, level, ports, state) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
        "ON CONFLICT(service, idx) DO UPDATE SET pid = ?3, pid_start = ?4, "
        "started_mono_ms = ?5, started_wall_ms = ?6, restarts = ?7, level = ?8, ports = ?9, "
        "state = ?10");
    char ports[SUP_PORTS_MAX * 8];

    if (!q)
        return db_err(s, e, "save instance");
    ports_text(in->ports, ports, sizeof(ports));
    sqlite3_bind_text(q, 1, in->svc->spec.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, in->idx);
    sqlite3_bind_int64(q, 3, in->pid);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)in->pid_start);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)in->sm.started_ms);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)in->started_wall_ms);
    sqlite3_bind_int64(q, 7, in->sm.restarts);
    sqlite3_bind_int64(q, 8, in->sm.level);
    sqlite3_bind_text(q, 9, ports, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 10, sup_state_name(in->sm.state), -1, SQLITE_STATIC);
    return run(s, q, "save instance", e);
}

int super_store_inst_del(struct super *s, const char *name, uint32_t idx, struct err *e)
{
    sqlite3_stmt *q = prep(s, "DELETE FROM sup_instances WHERE service = ?1 AND idx = ?2");

    if (!q)
        return db_err(s, e, "forget instance");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, idx);
    return run(s, q, "forget instance", e);
}

int super_store_inst_get(struct super *s, const char *name, uint32_t idx, struct inst_row *r,
                         struct err *e)
{
    sqlite3_stmt *q = prep(s, "SELECT pid, pid_start, started_mono_ms, started_wall_ms, "
                              "restarts, level, ports, state FROM sup_instances "
                              "WHERE service = ?1 AND idx = ?2");
    int rc;

    memset(r, 0, sizeof(*r));
    if (!q)
        return db_err(s, e, "load instance");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, idx);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(q, 6);
        r->pid = (pid_t)sqlite3_column_int64(q, 0);
        r->pid_start = (uint64_t)sqlite3_column_int64(q, 1);
        r->started_mono_ms = (uint64_t)sqlite3_column_int64(q, 2);
        r->started_wall_ms = (uint64_t)sqlite3_column_int64(q, 3);
        r->restarts = (uint32_t)sqlite3_column_int64(q, 4);
        r->level = (uint32_t)sqlite3_column_int64(q, 5);
        for (size_t i = 0; p && *p && i < SUP_PORTS_MAX; i++) {
            r->ports[i] = (uint16_t)strtoul(p, (char **)&p, 10);
            if (*p == ',')
                p++;
        }
        snprintf(r->state, sizeof(r->state), "%s", (const char *)sqlite3_column_text(q, 7) ?: "");
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : db_err(s, e, "load instance");
    }
    sqlite3_finalize(q);
    return rc;
}

int super_store_specs(struct super *s,
                      int (*fn)(struct super *s, const char *json, uint32_t want, int stopped),
                      struct err *e)
{
    sqlite3_stmt *q = prep(s, "SELECT json, want, stopped FROM sup_specs ORDER BY name");
    int rc;

    if (!q)
        return db_err(s, e, "load specs");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        fn(s, (const char *)sqlite3_column_text(q, 0), (uint32_t)sqlite3_column_int64(q, 1),
           sqlite3_column_int(q, 2));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "load specs");
}
