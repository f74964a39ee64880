/* store: the agent's SQLite database in its data directory (WAL mode):
 * opening it, transactions, the directory lock (two agents never share one
 * data dir), and the known peers, so that a restarted agent rejoins by
 * itself. The tables of the catalog are in store_catalog.h, those of the
 * supervisor in super/super_store.c; the trust versions this agent
 * accepted last are here (store_trust_load, store_trust_save). */
#ifndef TROUPE_STORE_H
#define TROUPE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/codec.h"
#include "agent/trust/trust_client.h"
#include "core/err.h"

#define STORE_PEERS_MAX 64

/* How every connection to troupe.db is set up. WAL + synchronous=FULL: a
 * write that returned is on disk, even after kill -9 or a power cut; the
 * agent writes rarely enough for this to be cheap. A page cache of 128 KiB
 * instead of SQLite's 2 MB: the agent serves reads from its replica in
 * memory and only writes through SQLite, so a larger cache would hold a
 * second copy of the catalog (with 1,000 instances it cost 240 KB of
 * resident memory); pages it misses come from the kernel's page cache. */
#define STORE_PRAGMAS "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-128;"

struct store;

/* Creates dir when missing (mode 0700), takes its lock, opens or creates
 * troupe.db and upgrades its schema. Free with store_close. */
int store_open(struct store **out, const char *dir, struct err *e);
void store_close(struct store *st); /* NULL is a no-op */
/* troupe_store_* lines for GET /metrics; NULL writes nothing. */
void store_write_metrics(const struct store *st, FILE *f);

struct store_peer {
    const char *name;
    struct node_addr addr;
};

/* Records, in one transaction, that these peers were seen alive at now_ms.
 * Durable on return. */
int store_peers_seen(struct store *st, const struct store_peer *peers, size_t n, uint64_t now_ms,
                     struct err *e);
/* Forgets a peer (reaped, or left the cluster for good). */
int store_peer_forget(struct store *st, const char *name, struct err *e);
/* Fills out with up to cap addresses of peers, most recently seen first. */
int store_peers_load(struct store *st, struct node_addr *out, size_t cap, size_t *n, struct err *e);

/* The highest incarnation node `name` had (0 when none yet). Saving keeps
 * the higher of the saved and the given one; durable on return. A restart
 * begins one above it, so its alive beats any left or dead record of it. */
int store_incarnation_load(struct store *st, const char *name, uint32_t *out, struct err *e);
int store_incarnation_save(struct store *st, const char *name, uint32_t inc, struct err *e);

/* The trust versions accepted last for the pinned root `pin`, and the
 * newest root (out->root is heap; trust_saved_release frees). All zero when
 * none yet. Saving is durable on return: a restarted agent still refuses a
 * rollback. */
int store_trust_load(struct store *st, const char *pin, struct trust_saved *out, struct err *e);
int store_trust_save(struct store *st, const char *pin, const struct trust_saved *s, struct err *e);

#endif
