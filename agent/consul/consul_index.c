/* consul_index: X-Consul-Index. Consul's clients loop on it (block with
 * ?index=<the last one>) and start over when it goes backwards, so it must
 * never be 0 and never go down, also when the agent restarts. troupe's
 * catalog index (catalog_index: changes seen since this boot) starts over
 * at every start; the epoch of our CRDT versions (core/crdt.h: it grows
 * from one boot to the next, even when the clock goes back) does not. So:
 *
 *   index = (epoch << 20) + catalog index + 1
 *
 * The epoch is seconds since 2024, and it moves at least by the length of
 * a boot, so an index of a boot stays below the next boot's first unless
 * that boot saw more than 2^20 changes per second it ran. It fits in 53
 * bits (JavaScript clients) until 2150. Two agents give different indexes
 * for the same state: a client keeps to one agent, as Consul's do. */
#include <stdint.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/consul/consul_impl.h"

#define BOOT_SHIFT 20

static uint64_t base(struct agent *a)
{
    uint64_t epoch = crdt_self_version(a->catalog->crdt) >> CRDT_EPOCH_SHIFT;

    return (epoch << BOOT_SHIFT) + 1;
}

uint64_t consul_index(struct agent *a)
{
    return base(a) + catalog_index(a);
}

uint64_t consul_catalog_threshold(struct agent *a, uint64_t idx)
{
    uint64_t b = base(a);

    return idx >= b ? idx - b : 0;
}
