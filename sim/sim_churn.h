/* sim_churn: catalog churn and faults for troupe-sim, and the check that
 * nothing deleted comes back. Every node that runs writes and deletes
 * records of every kind (its own ones; KV, specs, routes and tokens
 * shared, last writer wins) at a steady rate and collects tombstones every gc period as the
 * agent does; faults are drawn from the seed: partitions of a random group
 * of nodes, freezes (a node neither runs nor talks), restarts of a node
 * from a snapshot of its replica taken earlier. All faults are over by
 * 65% of the run, operations stop at 80%. At the end every running node must hold the same live
 * records; each origin's records as the origin itself holds them; and each
 * multi-writer key must read as its newest write or delete (an operation a
 * restart lost may read either way).
 *
 * Owns the plan, the operation log and the snapshots; the driver
 * (sim_swim) owns the nodes and is called back to freeze, thaw and
 * restart them. */
#ifndef TROUPE_SIM_CHURN_H
#define TROUPE_SIM_CHURN_H

#include <stddef.h>
#include <stdint.h>

#include "core/crdt.h"
#include "core/swim.h"
#include "sim/sim_net.h"
#include "sim/sim_repl.h"

struct sim_churn_config {
    uint32_t per_min; /* operations per node per minute */
    uint32_t faults;  /* partitions, freezes and restarts in all */
    uint64_t gc_ms;   /* tombstone collection period */
    uint64_t duration_ms;
    uint64_t seed;
    int gc_serving;       /* collect as if only live members counted (the old rule) */
    unsigned fault_kinds; /* bits 1 << SIM_FAULT_*; 0: all */
};

enum sim_fault { SIM_FAULT_PARTITION, SIM_FAULT_FREEZE, SIM_FAULT_RESTART, SIM_FAULT_KINDS };

struct sim_churn_result {
    uint32_t per_min, faults; /* 0: not run */
    uint64_t ops, writes, deletes, kv_writes, kv_deletes;
    uint64_t partitions, freezes, restarts;
    uint64_t gc_collected, census_sent, census_bytes, census_dropped;
    uint32_t nodes_checked, diverged; /* nodes whose live records differ from most others' */
    uint32_t unseen_pairs; /* (viewer, running node) pairs where the viewer does not see it alive */
    uint64_t resurrected;  /* records or keys that live again after their delete */
    uint64_t lost;         /* live records or newest writes missing somewhere */
    uint64_t healed_ms;    /* when the last fault ended */
    uint64_t agree_ms;     /* first time after it that every running node held the same */
};

/* What the driver does for the faults. */
struct sim_churn_hooks {
    void *ud;
    struct swim *(*swim_of)(void *ud, uint32_t i); /* NULL: not running */
    void (*freeze)(void *ud, uint32_t i, int frozen);
    /* stop node i and start it again with these records as its replica */
    void (*restart)(void *ud, uint32_t i, const struct crdt_rec *recs, size_t n);
    void (*poke)(void *ud, uint32_t i); /* node i has outputs: drive it */
};

struct sim_churn;

/* For `total` nodes over replication s (not owned). Partitions are added to
 * net at once. Free with sim_churn_free. */
struct sim_churn *sim_churn_new(const struct sim_churn_config *c, uint32_t total,
                                struct sim_repl *s, struct sim_net *net);
void sim_churn_free(struct sim_churn *ch); /* NULL is a no-op */

/* When sim_churn_step wants to run next (absolute ms). */
uint64_t sim_churn_next(const struct sim_churn *ch);
/* Runs what is due at now: operations, collection, snapshots, faults. */
void sim_churn_step(struct sim_churn *ch, uint64_t now, const struct sim_churn_hooks *h);
/* The check at the end of the run. */
void sim_churn_finish(struct sim_churn *ch, const struct sim_churn_hooks *h,
                      struct sim_churn_result *r);

#endif
