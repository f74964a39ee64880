/* place: where the slots of the cluster's service specs run, computed by
 * every agent from the same inputs with no leader and no lock. A spec
 * wants `count` slots (service, 0..count-1); each slot goes to the member
 * that ranks first for it by rendezvous hashing of (service, slot, member)
 * among the members that are eligible (constraints on tags), have room
 * left (declared capacity against the resources of what they were given
 * already), hold no other slot of the service when distinct_hosts is set,
 * and carry the slot's share of a spread tag. A member that joins takes
 * the slots it now ranks first for (about 1/N of them); a member that goes
 * away gives up exactly its own. Slots are placed in a fixed order (specs
 * by name, then slot number), so capacity is spent the same way on every
 * node.
 *
 * Owns the placement function and the parsing of a cluster spec's own
 * fields (place_spec.c, jansson): count, constraints, spread, resources,
 * update, scale, exclusive. What runs in a slot (the supervisor spec) is
 * core/sup_spec's; running it is agent/place's. Pure and deterministic. */
#ifndef TROUPE_PLACE_H
#define TROUPE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/autoscale.h"
#include "core/err.h"
#include "core/tags.h"

#define PLACE_COUNT_MAX  64  /* slots of one spec: the supervisor's instance limit */
#define PLACE_SPECS_MAX  256 /* specs the agent places */
#define PLACE_REASON_MAX 160

/* A member's declared capacity and a slot's request; 0 in a capacity means
 * "not declared": no limit on that resource. */
struct place_res {
    uint32_t cpu_millis;
    uint32_t memory_mb;
};

struct place_update {
    uint32_t max_parallel;        /* 1 */
    uint32_t min_healthy_ms;      /* 10000 */
    uint32_t healthy_deadline_ms; /* 300000 */
    uint32_t canary;              /* 0 */
    uint8_t auto_revert;          /* 0 */
};

/* "scale": how many instances run by traffic. The autoscaler (core/autoscale,
 * its own fields in struct as_cfg) moves the placed count between min and
 * max; up to max more start where connections arrive for a service at
 * zero (agent/proxy holds them, agent/place activates), and stop after
 * idle_after_ms without a request. */
struct place_scale {
    uint8_t set;               /* the spec has "scale" */
    uint32_t min;              /* 1 */
    uint32_t max;              /* 10, at least min */
    uint32_t idle_after_ms;    /* 300000 */
    uint32_t queue_limit;      /* 100: connections held per route and node during a cold start */
    uint32_t start_timeout_ms; /* 30000: a held connection gets 503 after this */
};

struct place_spec {
    char name[64];                /* a service name (DNS label) */
    uint32_t count;               /* 0..PLACE_COUNT_MAX */
    struct tags constraints;      /* a member must carry every key=value */
    uint8_t distinct_hosts;       /* at most one slot per member */
    char spread[TAG_KEY_MAX + 1]; /* "" or a tag key: even shares over its values */
    struct place_res res;         /* what one slot takes */
    struct place_update update;
    struct place_scale scale;
    struct as_cfg autoscale; /* the autoscaler's fields of "scale" (min, max copied in) */
    uint64_t version;        /* place_spec_check: of the supervisor spec inside
                                (pu_version of its canonical JSON), 0 otherwise */
};

struct place_member {
    const char *name;        /* unique; the hash input */
    const struct tags *tags; /* NULL: none */
    struct place_res cap;
};

/* Where one slot goes: member is an index into the members given, or -1
 * when the slot cannot be placed, and then reason says why. */
struct place_slot {
    uint32_t spec; /* index into the specs given */
    uint32_t slot;
    int member;
    char reason[PLACE_REASON_MAX];
};

struct place_result {
    struct place_slot *s; /* heap, sum of counts, in (spec name, slot) order */
    size_t n;
};

/* Places every slot of specs over members (the caller gives the alive and
 * suspect ones: a suspect keeps its slots until it is declared dead). The order
 * of specs and members does not matter: the answer is the same. Fills out
 * (release with place_result_release). -EINVAL on duplicate names or a
 * count over PLACE_COUNT_MAX. */
int place_compute(const struct place_spec *specs, size_t n_specs,
                  const struct place_member *members, size_t n_members, struct place_result *out,
                  struct err *e);
void place_result_release(struct place_result *r);

/* The slots of spec index `spec` that member index `member` runs, as a bit
 * mask (bit k: slot k). */
uint64_t place_mine(const struct place_result *r, uint32_t spec, int member);

/* The rank of member for (service, slot): higher ranks first. Exposed for
 * tests and tools; the same on every host and build. */
uint64_t place_score(const char *service, uint32_t slot, const char *member);

/* ---- place_spec.c: the cluster spec's own fields ---- */

/* The fields a cluster spec adds to a supervisor spec. */
int place_spec_field(const char *key);

/* Reads the cluster fields of a spec (a JSON object in text) into p, with
 * defaults for what is missing; the supervisor's fields are left for
 * core/sup_spec. "exclusive": true is refused (-ENOTSUP): at-most-once
 * needs a linearizable lease, which troupe does not have. An error names
 * the field ("constraints.role: ..."). */
int place_spec_parse(struct place_spec *p, const char *text, size_t len, struct err *e);

/* The supervisor spec inside a cluster spec: the text without the cluster
 * fields, "instances" set to 1 (the slots decide how many run), as
 * compact JSON with sorted keys (heap, caller frees), or NULL with e set. */
char *place_spec_sup_json(const char *text, size_t len, struct err *e);

/* Parses a cluster spec whole: its own fields and the supervisor spec
 * inside (core/sup_spec), plus what only the two together can say (a
 * fixed port needs distinct_hosts when count > 1). 0 or an error naming
 * the field. */
int place_spec_check(const char *text, size_t len, struct place_spec *p, struct err *e);

/* "cpu_millis=N,memory_mb=N" (either may be missing) into r. */
int place_res_parse(struct place_res *r, const char *text, struct err *e);

#endif
