/* store_impl: what the files of the store (store.c, store_catalog.c) share:
 * the handle and two helpers. Not for the rest of agent/. */
#ifndef TROUPE_STORE_IMPL_H
#define TROUPE_STORE_IMPL_H

#include <sqlite3.h>

#include "agent/metrics.h"
#include "agent/store/store.h"

struct store {
    sqlite3 *db;
    int lock_fd;
    sqlite3_stmt *rec_put, *ev_add; /* prepared once, hot paths */
    struct metrics_hist commit;     /* troupe_store_commit_duration_seconds */
};

/* Finalizes the cached statements (store_close). */
void store_catalog_close(struct store *st);

/* Runs SQL text; -EIO with SQLite's message. */
int store_exec(struct store *st, const char *sql, struct err *e);
/* Sets e from the database's last error; returns -EIO. */
int store_db_err(struct err *e, sqlite3 *db, const char *what);

/* Schema version 2: the replicated records, our registrations, the history. */
#define STORE_SCHEMA_CATALOG                                                                       \
    "CREATE TABLE records ("                                                                       \
    "  origin TEXT NOT NULL, kind INTEGER NOT NULL, key TEXT NOT NULL,"                            \
    "  version INTEGER NOT NULL, hlc INTEGER NOT NULL, deleted INTEGER NOT NULL,"                  \
    "  val BLOB, PRIMARY KEY (origin, kind, key)) WITHOUT ROWID;"                                  \
    "CREATE TABLE services ("                                                                      \
    "  id TEXT PRIMARY KEY, source INTEGER NOT NULL, def TEXT NOT NULL);"                          \
    "CREATE TABLE events ("                                                                        \
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"                           \
    "  kind TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);"                          \
    "CREATE INDEX events_kind ON events(kind, seq);"

#endif
