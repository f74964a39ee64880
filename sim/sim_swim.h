/* sim_swim: drives core/swim for every node of a scenario over sim_net and
 * measures what membership does: how long a join and a death take to be
 * seen by every node, false suspicions and deaths, traffic per node. It
 * drives each node as the agent does (after every input: tick, flush the
 * outputs, read the events, arm the timer for the next deadline).
 *
 * Node i is named "n<i>" and has the address 10.x.y.z:7420 with x.y.z = i+1.
 * Nodes 0..nodes-1 start at time 0; node 0 is the first seed, and node
 * i > 0 joins through one of the first `seeds` nodes at i * ramp_ms / nodes.
 * Late joiners are numbered after them and join through a running seed.
 * A node that leaves (--leave) gossips its leave for 600 ms, as the agent
 * lingers, then stops. A node restarted (--restart) after a kill or a leave
 * comes back as an agent with its data dir does: same name and address,
 * one incarnation above its last, and it joins as core/swim_rejoin says,
 * through the seeds (its own address skipped) and the members it saw alive
 * when it stopped. */
#ifndef TROUPE_SIM_SWIM_H
#define TROUPE_SIM_SWIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/swim.h"
#include "sim/sim_net.h"
#include "sim/sim_churn.h"
#include "sim/sim_place.h"
#include "sim/sim_repl.h"

#define SIM_ACTIONS_MAX 64

struct sim_action {
    uint64_t at_ms;
    uint32_t first, count; /* nodes first..first+count-1 */
};

struct sim_partition {
    uint64_t start_ms, end_ms;
    uint16_t *group; /* per node of the whole scenario (late joiners included); heap */
};

struct sim_scenario {
    uint32_t nodes; /* started at time 0 */
    uint64_t duration_ms;
    enum swim_profile profile;
    uint64_t seed;
    uint32_t seeds;            /* join targets: the first `seeds` nodes */
    uint64_t ramp_ms;          /* initial joins are spread over this */
    struct sim_net_config net; /* nodes and seed are filled by sim_swim_run */
    uint64_t progress_ms;      /* when not 0: a line on `progress` every that much simulated time */
    FILE *progress;
    uint32_t services;      /* catalog: instances each node registers (0: none) */
    uint32_t churn;         /* catalog operations per node per minute (0: none; see sim_churn.h) */
    uint32_t faults;        /* with churn: partitions, freezes and restarts drawn from the seed */
    uint64_t gc_ms;         /* with churn: tombstone collection period (0: 30 s, as the agent) */
    int gc_serving;         /* with churn: collection counts only live members (the old rule) */
    unsigned fault_kinds;   /* with churn: bits 1 << SIM_FAULT_* (0: all) */
    uint64_t reap_after_ms; /* 0: the profile's */
    uint32_t place_slots;   /* placement (sim_place): slots of the cluster's specs (0: none) */
    uint64_t place_update_ms; /* with place_slots: a rolling update of every spec then (0: none) */
    uint32_t place_parallel;  /* its max_parallel (0: 2) */
    uint64_t place_lag_ms;    /* how late nodes see the slots' state in the rollout */

    struct sim_action kill[SIM_ACTIONS_MAX];
    size_t n_kill;
    struct sim_action leave[SIM_ACTIONS_MAX];
    size_t n_leave;
    struct sim_action restart[SIM_ACTIONS_MAX];
    size_t n_restart;
    struct sim_action join_late[SIM_ACTIONS_MAX]; /* first is assigned by the parser */
    size_t n_join_late;
    struct sim_partition part[SIM_ACTIONS_MAX];
    size_t n_part;
};

/* Total nodes: the initial ones plus every late joiner. */
uint32_t sim_scenario_total(const struct sim_scenario *sc);
void sim_scenario_release(struct sim_scenario *sc); /* frees the partition groups */

/* Percentiles of a set of durations (ms); `never` counts those that did
 * not complete before the end of the run. */
struct sim_dist {
    size_t n, never;
    uint64_t p50, p90, p99, max;
};

struct sim_result {
    uint64_t formed_ms;        /* every initial node saw every other, UINT64_MAX: never */
    uint64_t whole_ms;         /* at the end, every running node has seen every other alive
                                * since then; UINT64_MAX: not at the end */
    uint64_t missing_pairs;    /* at the end: (viewer, running node) pairs not seen alive */
    struct sim_dist join;      /* initial joins: from swim_join to seen alive by all */
    struct sim_dist join_late; /* late joins, the same way */
    struct sim_dist death;     /* kills: from the kill to seen dead by all */
    struct sim_dist rejoin;    /* restarts: from the restart to seen alive by all */
    uint64_t false_suspicions; /* of running nodes, by nodes that could reach them */
    uint64_t false_deaths;
    uint64_t partition_suspicions; /* of running nodes, across a partition (expected) */
    uint64_t partition_deaths;
    uint64_t refutes;
    uint64_t broadcasts_dropped;
    double pkts_per_node_s, pkts_per_node_s_max; /* datagrams + streams sent */
    double bytes_per_node_s, bytes_per_node_s_max;
    double streams_per_node_s;
    uint64_t dgrams_lost, dgrams_unreachable, streams_failed, events;
    uint64_t trace;                /* hash of every byte sent, with its time and ends */
    struct sim_repl_result repl;   /* with services > 0 */
    struct sim_churn_result churn; /* with churn > 0 */
    struct sim_place_result place; /* with place_slots > 0 */
};

/* Runs the scenario to its end. Returns 0, or a negative code with a
 * message in e when it cannot start. */
int sim_swim_run(const struct sim_scenario *sc, struct sim_result *r, struct err *e);

/* Writes the result for people (text) or for scripts (one JSON object). */
void sim_swim_print(FILE *f, const struct sim_scenario *sc, const struct sim_result *r, int json);

#endif
