/* hlc: hybrid logical clocks, the order of multi-writer records (KV, service
 * specs). A timestamp is one u64: the upper 48 bits are wall milliseconds,
 * the lower 16 a logical counter, so timestamps compare as plain integers
 * and stay close to wall time while never going backwards, even when the
 * wall clock does or a peer's clock runs ahead. Ties between writers are
 * broken by node name, outside this file. Pure: the caller passes the wall
 * time in. */
#ifndef TROUPE_HLC_H
#define TROUPE_HLC_H

#include <stdint.h>

#define HLC_LOGICAL_BITS 16
#define HLC_MAX_DRIFT_MS (60u * 1000u) /* a remote stamp further ahead is not adopted */

struct hlc {
    uint64_t last; /* the last timestamp issued or observed */
};

/* A timestamp for a local event at wall time wall_ms, greater than every
 * timestamp issued or observed before. */
uint64_t hlc_now(struct hlc *h, uint64_t wall_ms);

/* Takes a remote timestamp into account (on merging a remote record), so
 * that later local events order after it. Returns 0, or -ERANGE when the
 * remote stamp is more than HLC_MAX_DRIFT_MS ahead of wall_ms: it is then
 * not adopted (the record itself still merges). */
int hlc_observe(struct hlc *h, uint64_t remote, uint64_t wall_ms);

/* The wall-clock milliseconds of a timestamp. */
static inline uint64_t hlc_wall_ms(uint64_t ts)
{
    return ts >> HLC_LOGICAL_BITS;
}

#endif
