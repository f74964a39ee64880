/* tokens: the agent's API tokens. Owns the management token file
 * (DATA/acl/management-token, 0600, made at the first start) and the cache
 * that finds a token by the hash of its secret among the token records of
 * the replica (CRDT_TOKEN), rebuilt only when records of that kind change,
 * so a check costs one SHA-256 and one table probe. Creating and revoking
 * tokens write records through the replication layer, so every agent
 * learns of them by gossip.
 *
 * The management token is not a record: every agent has its own, held in
 * memory from its file, with the one rule "*:write". Not here: the rule
 * language and decision (core/acl), which route needs what (api/api_acl.c). */
#ifndef TROUPE_TOKENS_H
#define TROUPE_TOKENS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/acl.h"
#include "core/err.h"

struct agent;

#define TOKENS_MANAGEMENT "management" /* the name of every agent's own token */
/* When set at an agent's first start, the management token file gets this
 * secret instead of a random one: one management token for every agent a
 * provisioning tool starts (kept out of argv, which every user can read). */
#define TOKENS_INITIAL_ENV "TROUPE_INITIAL_MANAGEMENT_TOKEN"

struct tokens_stats {
    uint64_t lookups, unknown, rebuilds, bad_records;
};

/* Reads DATA/acl/management-token, or makes it (32 random bytes as hex)
 * when absent. Call after the store and the catalog are open. */
int tokens_open(struct agent *a, struct err *e);
void tokens_free(struct agent *a); /* no-op when not open */

/* The token whose secret is `secret` (len bytes), or NULL when none is:
 * the management token or a live replicated one. The pointer is valid
 * until the next change of the replica. */
const struct acl_token *tokens_find(struct agent *a, const char *secret, size_t len);

/* The live replicated token named name (decoded into *out): 0, -ENOENT. */
int tokens_get(struct agent *a, const char *name, struct acl_token *out, const char **origin);
/* Calls cb for every live replicated token, in name order. */
void tokens_each(struct agent *a,
                 void (*cb)(void *ud, const struct acl_token *t, const char *origin), void *ud);

/* A new token from t's name and rules (t->hash, created_* are filled
 * here); its secret (64 hex characters) goes to secret. -EEXIST when a
 * live token has that name, -EINVAL for a bad name or rules. Durable and
 * queued for gossip on return. */
int tokens_create(struct agent *a, struct acl_token *t, char secret[65], struct err *e);
/* Revokes (tombstones) the token named name: 0, -ENOENT, -EPERM for the
 * management token. */
int tokens_revoke(struct agent *a, const char *name, struct err *e);

const char *tokens_file(struct agent *a); /* the management token file */
const struct acl_token *tokens_management(struct agent *a);
const struct tokens_stats *tokens_stats(struct agent *a);
void tokens_write_metrics(struct agent *a, FILE *f);

#endif
