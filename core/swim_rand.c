/* swim_rand: the seeded generator behind every random choice of core/swim
 * (probe order, where a new member joins it, whom to gossip to, which dead
 * member to retry). The caller seeds it through swim_config.seed, so the
 * same inputs give the same outputs. Nothing else in core/ shares it. */
#include "core/swim_internal.h"

uint64_t swim_rand_next(struct swim *s)
{
    /* splitmix64: tiny, fast, good enough to shuffle and pick members */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t swim_rand_below(struct swim *s, size_t n)
{
    return n ? (size_t)(swim_rand_next(s) % n) : 0;
}
