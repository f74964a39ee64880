/* dns_internal: what core/dns.c (requests, cache, EDNS, truncation,
 * counters) and core/dns_zone.c (what a name in the zone answers) share.
 * Not for use outside core/dns*.c. */
#ifndef TROUPE_DNS_INTERNAL_H
#define TROUPE_DNS_INTERNAL_H

#include "core/dns.h"
#include "core/dns_wire.h"

#define DNS_ARENA_SIZE (4u << 20) /* scratch memory of one request */
#define DNS_OPT_SIZE   11         /* an OPT RR without options */

/* A response as built for the cache: header (ID and flags are set per
 * request), question, sections, without OPT. */
struct dns_built {
    uint8_t *wire; /* in the arena, or heap in a cache entry */
    size_t len;
    size_t an_off;     /* where the answer section starts (after the question) */
    size_t an_end;     /* where it ends */
    uint16_t an_count; /* records in the answer section */
    uint8_t rcode;
    uint8_t shuffle; /* answer records may be permuted (see dns.c) */
};

struct dns {
    struct dns_config cfg;
    uint8_t zone[DNSW_NAME_MAX];     /* the domain, lower case, wire form */
    uint8_t alt_zone[DNSW_NAME_MAX]; /* the alt domain, the same; used when has_alt */
    int has_alt;
    uint64_t rng; /* xorshift64* state */

    /* one request's scratch: a bump arena, dropped whole when it ends */
    uint8_t *arena;
    size_t arena_used;

    struct dns_inst *insts; /* DNS_INSTANCES_MAX, reused per answer */
    uint8_t *build;         /* DNS_MSG_MAX: where responses are built */

    struct dns_cache_ent *cache; /* cfg.cache_slots, direct-mapped */
    struct dns_stats st;
};

/* Decides and builds the answer to query (parsed, qdcount 1, class IN,
 * name inside the zone nested `depth` labels; alt: the zone is the alt
 * domain) into out (DNS_MSG_MAX in d->build). Returns 0, or a negative
 * code when the arena ran out. */
int dns_zone_answer(struct dns *d, const struct dns_view *v, const struct dnsw_query *q, int depth,
                    int alt, struct dns_built *out);

uint64_t dns_rand(struct dns *d);
void *dns_alloc(struct dns *d, size_t n); /* from the arena; NULL when full */

#endif
