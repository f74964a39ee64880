/* hlc: hybrid logical clock timestamps (see hlc.h). The wall part is the
 * highest of the wall clock and every timestamp seen; the logical counter
 * orders events within one millisecond. */
#include "core/hlc.h"

#include <errno.h>

uint64_t hlc_now(struct hlc *h, uint64_t wall_ms)
{
    uint64_t pt = wall_ms << HLC_LOGICAL_BITS;

    if (pt > h->last)
        h->last = pt;
    else
        h->last++; /* same millisecond or the clock went back: count on */
    return h->last;
}

int hlc_observe(struct hlc *h, uint64_t remote, uint64_t wall_ms)
{
    if (hlc_wall_ms(remote) > wall_ms + HLC_MAX_DRIFT_MS)
        return -ERANGE;
    if (remote > h->last)
        h->last = remote;
    return 0;
}
