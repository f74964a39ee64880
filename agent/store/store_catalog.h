/* store_catalog: the catalog's tables in the agent's database (see
 * store.h for the database itself): the replicated records (every record
 * this agent holds, so a restart starts from where it stopped), our own
 * registrations as the JSON they were given in, and the event history.
 *
 * Durability: the database runs in WAL mode with synchronous=FULL, so a
 * transaction is on disk when store_commit returns, even across kill -9 or
 * a power cut. Callers batch many writes into one transaction. */
#ifndef TROUPE_STORE_CATALOG_H
#define TROUPE_STORE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "agent/store/store.h"
#include "core/crdt.h"

int store_begin(struct store *st, struct err *e);
int store_commit(struct store *st, struct err *e); /* durable on return */
void store_rollback(struct store *st);

/* Inside a transaction: upsert or remove records. */
int store_record_put(struct store *st, const struct crdt_rec *r, struct err *e);
int store_records_drop_origin(struct store *st, const char *origin, struct err *e);
/* Removes tombstone rows for which held(ud, origin, kind, key) says 0 (the
 * store collected them). */
int store_tombstones_prune(struct store *st,
                           int (*held)(void *ud, const char *origin, uint8_t kind, const char *key),
                           void *ud, struct err *e);
/* Calls cb for every stored record (records point into SQLite's memory,
 * valid during the call). A negative cb return stops and is returned. */
int store_records_load(struct store *st, int (*cb)(void *ud, const struct crdt_rec *r), void *ud,
                       struct err *e);

/* Our registrations: id -> (source, definition as JSON text). */
int store_service_save(struct store *st, const char *id, int source, const char *def,
                       struct err *e);
int store_service_forget(struct store *st, const char *id, struct err *e);
int store_services_load(struct store *st,
                        void (*cb)(void *ud, const char *id, int source, const char *def), void *ud,
                        struct err *e);

/* The event history. */
struct store_event {
    int64_t seq;
    int64_t time_ms;
    const char *kind, *subject, *detail;
};
/* Inside a transaction. */
int store_event_add(struct store *st, int64_t time_ms, const char *kind, const char *subject,
                    const char *detail, struct err *e);
/* Events with seq > since, of kind (NULL: any), oldest first, at most
 * limit; since < 0: the newest limit events (oldest first too). */
int store_events_query(struct store *st, int64_t since, const char *kind, int64_t limit,
                       void (*cb)(void *ud, const struct store_event *ev), void *ud, struct err *e);
/* The highest seq stored (0: none). */
int64_t store_events_last(struct store *st);
/* Keeps the newest keep events. */
int store_events_trim(struct store *st, int64_t keep, struct err *e);

#endif
