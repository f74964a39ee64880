/* sim_place: core/place in the simulator. Every place tick (250 ms, as the
 * agent's driver) each running node computes the placement over the
 * members its own swim table holds alive or suspect, and runs the slots it
 * gives itself (starting and stopping at once: what is measured is where
 * the nodes' views lead, not how fast a process starts). Nodes that see
 * the same members share one computation, so 1,000 nodes that agree cost
 * one place_compute per change.
 *
 * Measures, per kill, late join and partition heal: when every running
 * node's view knows it, when every slot runs exactly once again, and how
 * many slots changed owner between the exactly-once states before and
 * after; and over the run, the slot-seconds a slot ran more than once
 * (double) or not at all (missing).
 *
 * A rolling update (sim_place_rollout): at a given time every spec gets a
 * new version, and every node runs core/place_update's rule for the slots
 * it runs, as the agent does, over what it sees of the slots: the true
 * state `lag_ms` ago (the catalog's gossip delay; 0: at once). A replaced
 * instance is down for SIM_ROLLOUT_START_MS, then passes. Each node has
 * its own delay, from 0 to lag_ms. Measures the
 * most slots of one spec down at once (the rule's bound is max_parallel
 * when every node sees every change before it acts again) and when every
 * slot settled on the new version. */
#ifndef TROUPE_SIM_PLACE_H
#define TROUPE_SIM_PLACE_H

#include <stdint.h>
#include <stdio.h>

#include "core/swim.h"

#define SIM_PLACE_TICK_MS    250
#define SIM_ROLLOUT_START_MS 1000 /* a replaced instance passes its checks after that */
#define SIM_ROLLOUT_HEALTHY  2000 /* min_healthy_ms of the simulated specs */
#define SIM_PLACE_EVENTS_MAX 200

enum sim_place_kind { SIM_PLACE_DEATH = 1, SIM_PLACE_JOIN, SIM_PLACE_HEAL };

struct sim_place_event {
    uint8_t kind;
    uint32_t first, count; /* nodes (a heal: none) */
    uint64_t at_ms;
    uint64_t known_ms;     /* every running node's view has it; UINT64_MAX: never */
    uint64_t converged_ms; /* every slot runs exactly once again, at or after known */
    uint32_t moved;        /* slots whose node changed, before -> after */
    uint32_t owned;        /* death: slots the dead nodes held before */
};

struct sim_place_result {
    uint32_t slots, specs;
    uint64_t computes;          /* distinct views placed */
    uint64_t ticks, ticks_once; /* ticks placed; ticks every slot ran exactly once */
    double double_slot_s;       /* sum over slots of (copies - 1) x time, copies > 1 */
    double missing_slot_s;      /* slots placeable in some view that ran nowhere */
    uint32_t max_copies;
    uint32_t max_views;                   /* distinct views in one tick */
    uint32_t check_views, check_mismatch; /* views also placed by place_compute; slots
                                             that differed (must be 0) */
    struct sim_place_event ev[SIM_PLACE_EVENTS_MAX];
    size_t n_ev;
    struct {
        uint64_t at_ms, lag_ms; /* at_ms 0: no rolling update */
        uint32_t max_parallel;
        uint64_t done_ms;  /* every slot settled on the new version; UINT64_MAX: never */
        uint32_t max_down; /* most slots of one spec down at once */
        uint64_t replaced; /* instances replaced */
    } rollout;
};

struct sim_place;

/* slots spread over specs of at most 64 (PLACE_COUNT_MAX) slots each. */
struct sim_place *sim_place_new(uint32_t slots, uint32_t total_nodes);
void sim_place_free(struct sim_place *p);
/* An event to follow (before the run, in time order or not). */
void sim_place_expect(struct sim_place *p, uint8_t kind, uint32_t first, uint32_t count,
                      uint64_t at_ms);
/* A rolling update of every spec at at_ms (see above). */
void sim_place_rollout(struct sim_place *p, uint64_t at_ms, uint32_t max_parallel, uint64_t lag_ms);
/* One tick at now_ms: swims[i] is node i's membership, NULL when it does
 * not run; formed: the initial nodes all saw each other (placement starts
 * then, as an agent waits to see its peers). */
void sim_place_tick(struct sim_place *p, uint64_t now_ms, struct swim *const *swims, int formed);
void sim_place_result(const struct sim_place *p, struct sim_place_result *r);

void sim_place_print(FILE *f, const struct sim_place_result *r, uint32_t nodes, int json);

#endif
