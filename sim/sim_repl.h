/* sim_repl: drives core/repl + core/crdt on every simulated node, next to
 * core/swim (sim_swim.c calls in at the points the agent would): repl's
 * broadcasts ride swim's user broadcasts, its syncs go over sim_net
 * streams to a random live member every sync interval and on join. With
 * `services` > 0 every node registers that many service instances once it
 * has joined, and the run measures, per instance, the time from its
 * registration until every running node holds it, and the traffic. */
#ifndef TROUPE_SIM_REPL_H
#define TROUPE_SIM_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/crdt.h"
#include "core/repl.h"
#include "core/swim.h"
#include "sim/sim_net.h"

struct sim_repl_result {
    uint32_t services;           /* per node; 0: the catalog was not simulated */
    uint64_t instances;          /* registered in all */
    size_t held_n, never;        /* instances held by all at some point / never */
    uint64_t p50, p90, p99, max; /* registration -> held by every running node (ms) */
    /* the same, each node counted from when it had joined (when later than
     * the registration): the catalog's own delay, without membership's */
    uint64_t j50, j90, j99, jmax;
    uint64_t all_held_ms;           /* when every running node first held every instance */
    double bytes_per_node_s;        /* everything sent (membership + catalog), whole run */
    double steady_bytes_per_node_s; /* the same after all_held_ms */
    double sync_bytes_per_node_s;   /* catalog syncs over streams, whole run */
    uint64_t syncs, sync_records, broadcasts_out, notices, dropped, stale;
    uint64_t payloads_out, syncs_equal, syncs_fast, sync_timeouts;
};

struct sim_repl;

/* For `total` nodes, each registering `services` instances. */
struct sim_repl *sim_repl_new(uint32_t total, uint32_t services, uint64_t seed);
void sim_repl_free(struct sim_repl *s); /* NULL is a no-op */

void sim_repl_start(struct sim_repl *s, uint32_t i, uint64_t now);
void sim_repl_kill(struct sim_repl *s, uint32_t i);
/* Node i has joined (or is the first seed): it registers its instances and
 * syncs with a member at once. */
void sim_repl_joined(struct sim_repl *s, uint32_t i, uint64_t now, struct swim *sw);
/* Node i saw `name` join (or come back): as the agent, it asks for a sync
 * soon (with any member). */
void sim_repl_member_joined(struct sim_repl *s, uint32_t i, const char *name);
/* A user broadcast arrived at node i. */
void sim_repl_user(struct sim_repl *s, uint32_t i, uint64_t now, const uint8_t *data, size_t len);
/* A repl stream message for node i from node `from` (a request, or the
 * reply to one of i's streams when reply is NULL). */
void sim_repl_stream(struct sim_repl *s, uint32_t i, uint32_t from, uint64_t now,
                     const uint8_t *data, size_t len, uint8_t **reply, size_t *reply_len);
/* A stream node i opened to `peer` failed: 1 when it was one of repl's. */
int sim_repl_failed(struct sim_repl *s, uint32_t i, uint32_t peer);
/* Runs node i's sync timer and sends its outputs; returns its next deadline. */
uint64_t sim_repl_drive(struct sim_repl *s, uint32_t i, uint64_t now, struct swim *sw,
                        struct sim_net *net);
/* A member was reaped by node i. */
void sim_repl_forget(struct sim_repl *s, uint32_t i, const char *name);

/* Replicates and syncs even with no services (the churn of sim_churn). */
void sim_repl_set_active(struct sim_repl *s);
/* Node i's store and replication while it runs, else NULL. */
struct crdt *sim_repl_crdt(struct sim_repl *s, uint32_t i);
struct repl *sim_repl_repl(struct sim_repl *s, uint32_t i);
/* Loads records into node i's store, as an agent reads its data dir. */
void sim_repl_load(struct sim_repl *s, uint32_t i, const struct crdt_rec *recs, size_t n);
/* As the agent once its data dir is read: this boot's versions start
 * above any an older boot gave (crdt_boot, seconds of simulated time). */
void sim_repl_boot(struct sim_repl *s, uint32_t i, uint64_t now);

void sim_repl_collect(struct sim_repl *s, struct sim_net *net, const uint64_t *start_ms,
                      const uint64_t *until_ms, struct sim_repl_result *r);

#endif
