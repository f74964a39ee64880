/* place_update: rolling updates of a cluster spec without a leader. When
 * a spec changes, every agent looks at the same catalog (the instances of
 * the service with their slot, the version they run and their health) and
 * decides by itself which of its own slots may be replaced by the new
 * version now. The rule needs no coordination: all agents order the slots
 * the same way (by slot number, the slot's rank), count the same "busy"
 * slots, and so hand the same free places to the same slots.
 *
 *   busy  = slots with no passing instance, plus slots on the new version
 *           that have not passed for min_healthy_ms yet;
 *   free  = max_parallel - busy (none when busy >= max_parallel);
 *   a slot passing on an older version is a candidate; the first `free`
 *   candidates in slot order may be replaced now;
 *   a slot that is not passing anyway (down, failing, starting) may always
 *   take the new version: replacing it takes nothing away;
 *   with update.canary N, no candidate is taken once N slots run the new
 *   version: the rest waits until the spec is written again with canary
 *   0 (troupe promote), which leaves the version as it is.
 *
 * Owns that rule and the one that says when a version has failed (not all
 * slots settled on it within healthy_deadline_ms of its arrival). Which
 * observations go in (the catalog, the local clock) is agent/place's.
 * Pure and deterministic. */
#ifndef TROUPE_PLACE_UPDATE_H
#define TROUPE_PLACE_UPDATE_H

#include <stdint.h>

#include "core/place.h"

/* What the catalog says of one slot, as this agent sees it. */
struct pu_slot {
    uint64_t ver;        /* version of the best instance seen, 0: none runs */
    uint8_t passing;     /* that instance passes its checks */
    uint64_t passing_ms; /* since when this agent has seen it passing (its clock) */
};

enum pu_state {
    PU_SETTLED = 0, /* passing on the target version for min_healthy_ms */
    PU_OLD,         /* passing on an older version: a candidate */
    PU_BUSY,        /* down, failing, or on the target version and not settled yet */
};

/* The state of one slot against target at now_ms. */
enum pu_state pu_slot_state(const struct pu_slot *s, uint64_t target, uint32_t min_healthy_ms,
                            uint64_t now_ms);

/* The outcome for one spec of `count` slots (count <= PLACE_COUNT_MAX). */
struct pu_plan {
    uint64_t may_update; /* bit k: slot k may run the target version now */
    uint32_t busy, old, settled;
};

/* Decides, from the slots seen (slots[0..count-1]), which slots may take
 * the target version now. Every agent that sees the same catalog gets the
 * same answer; each then acts only on the slots it owns. */
void pu_plan(const struct place_update *u, uint64_t target, const struct pu_slot *slots,
             uint32_t count, uint64_t now_ms, struct pu_plan *out);

/* A canary beside the old slots: slots[0..count-1] are the spec's own
 * slots, which keep their version (only one that is down anyway may take
 * the target), and slots[count..count+extra-1] are the canary's extra
 * slots, which run the target. The canary has failed (pu_failed with
 * canary = extra) when its extra slots do not settle in time. */
void pu_plan_canary(const struct place_update *u, uint64_t target, const struct pu_slot *slots,
                    uint32_t count, uint32_t extra, uint64_t now_ms, struct pu_plan *out);

/* The target version, which arrived at arrived_ms (this agent's clock),
 * has failed: not every slot (a canary: not its N slots) settled on it
 * within healthy_deadline_ms. */
int pu_failed(const struct place_update *u, const struct pu_plan *p, uint32_t count,
              uint64_t arrived_ms, uint64_t now_ms);

/* The version of a supervisor spec: a 64-bit hash of its canonical JSON,
 * never 0 (0 means "none" in pu_slot). Shown as 16 hex digits. */
uint64_t pu_version(const char *canonical_json);

#endif
