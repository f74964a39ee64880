/* dns: the DNS side of service discovery as a sans-I/O answer machine. The
 * driver hands it one request (the bytes of a UDP datagram or of one TCP
 * message) and a view of the local replica; it says what to do: send this
 * response, forward the request to an upstream resolver, or drop it.
 *
 * Names under the zone (default "troupe."):
 *   NAME.service.Z        A/AAAA of the passing (and warning) instances
 *   TAG.NAME.service.Z    the same, only instances carrying TAG
 *   _NAME._tcp.service.Z  SRV (port, weight, target) + A/AAAA as additionals
 *   _NAME._TAG.service.Z  SRV of the instances carrying TAG
 *   NODE.node.Z           A/AAAA of a member
 *   HEX.addr.Z            A/AAAA of an address written in hex (SRV targets of
 *                         instances with their own address)
 *   Z                     SOA, NS
 * NAME.service.Z and TAG.NAME.service.Z also answer SRV (as Consul does).
 *
 * A second zone (alt_domain, "consul." in the agent) answers the same
 * names, and also with the datacenter as the label next to the zone
 * (NAME.service.DC.A, NODE.node.DC.A), as Consul's DNS interface does; a
 * datacenter other than ours is NXDOMAIN. SRV targets and the NS name in
 * that zone carry the datacenter (NODE.node.DC.A).
 * Wire format: core/dns_wire. Answers are cached per (name, type) and
 * valid while view->index is unchanged, so the hot path is a lookup, a copy
 * and a shuffle of the A/AAAA records.
 *
 * Owns its cache, counters and one scratch arena reused per request. Knows
 * nothing of sockets, of the catalog's storage (instances come through a
 * callback, see core/dns_cat.h) or of the upstream exchange. */
#ifndef TROUPE_DNS_H
#define TROUPE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"

#define DNS_UDP_PAYLOAD    1232  /* EDNS payload we advertise and answer up to */
#define DNS_UDP_MIN        512   /* without EDNS */
#define DNS_MSG_MAX        65535 /* one message over TCP */
#define DNS_DOMAIN_MAX     200   /* bytes of the zone name in text */
#define DNS_DC_MAX         63    /* bytes of a datacenter name: one DNS label */
#define DNS_INSTANCES_MAX  4096  /* instances of one service considered per answer */
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_REFUSED  5

struct dns_config {
    char domain[DNS_DOMAIN_MAX + 1];     /* "troupe." */
    char alt_domain[DNS_DOMAIN_MAX + 1]; /* "": no second zone; the agent's is "consul." */
    char datacenter[DNS_DC_MAX + 1];     /* "dc1": the DC label the second zone answers */
    char self[SWIM_NAME_MAX + 1];        /* our node name: SELF.node.Z is the zone's NS */
    uint32_t service_ttl_s;              /* 5 */
    uint32_t node_ttl_s;                 /* 30 */
    uint32_t negative_ttl_s;             /* 5: NXDOMAIN/NODATA, the SOA minimum */
    int only_passing;                    /* 0: warning instances are served too */
    int upstreams;                       /* 1 when the driver can forward */
    uint32_t cache_slots;                /* answers cached: 4096 */
};

void dns_config_default(struct dns_config *c);

/* One instance of a service as the answers need it. */
struct dns_inst {
    char node[SWIM_NAME_MAX + 1];
    uint8_t family; /* 4 or 6; 0: the instance uses its node's address */
    uint8_t ip[16];
    uint16_t port;
    uint16_t weight; /* SRV weight */
    uint8_t status;  /* 0 passing, 1 warning, 2 critical (enum cat_status) */
    uint8_t serving; /* its node's records are served (alive or suspect) */
};

/* Instances of service (lower case) carrying tag (NULL: any), whatever their
 * health. Fills at most cap of them into out and returns how many exist, or
 * a negative code. */
typedef int (*dns_instances_fn)(void *ud, const char *service, const char *tag,
                                struct dns_inst *out, size_t cap);
/* 1 with *out set when node (compared case-insensitively) is a member whose
 * records are served; 0 when not. */
typedef int (*dns_node_fn)(void *ud, const char *node, struct node_addr *out);

struct dns_view {
    dns_instances_fn instances; /* NULL: no catalog, no services */
    dns_node_fn node;
    void *ud;
    uint64_t index; /* changes whenever anything the answers depend on changes; 0: no caching */
};

enum dns_action {
    DNS_DROP = 0,    /* say nothing (not a request, or too short to answer) */
    DNS_REPLY = 1,   /* send out[0..len) back */
    DNS_FORWARD = 2, /* a name outside the zone: the driver forwards the request */
};

/* Counters, per query type and response code, kept for /v1/dns/stats and
 * /metrics. */
#define DNS_QTYPE_SLOTS 12
#define DNS_RCODE_SLOTS 8
struct dns_stats {
    uint64_t requests, dropped, forwarded, truncated, cache_hits, cache_misses;
    uint64_t by_qtype[DNS_QTYPE_SLOTS]; /* see dns_qtype_slot_name */
    uint64_t by_rcode[DNS_RCODE_SLOTS]; /* see dns_rcode_slot_name */
};

struct dns;

/* Checks a zone name as dns_new would take it: 0, with its wire form in
 * zone (DNSW_NAME_MAX bytes) and its canonical text (lower case, ending
 * with a dot) in canon (DNS_DOMAIN_MAX + 1 bytes); or a negative code with
 * a message. Allocates nothing. */
int dns_domain_check(const char *domain, uint8_t *zone, char *canon, struct err *e);
/* Checks a datacenter name: one DNS label of letters, digits, '-' and '_'
 * (not "service", "node" or "addr", which would read as a name's kind).
 * Returns 0 or a negative code with a message. */
int dns_datacenter_check(const char *dc, struct err *e);
/* Returns NULL with a message when the config is invalid (domains,
 * datacenter). seed
 * drives the shuffles. Free with dns_free. */
struct dns *dns_new(const struct dns_config *c, uint64_t seed, struct err *e);
void dns_free(struct dns *d); /* NULL is a no-op */
const struct dns_config *dns_config(const struct dns *d);
/* The driver gained or lost its upstream resolvers. */
void dns_set_upstreams(struct dns *d, int upstreams);

/* Answers one request of len bytes. tcp says how it came (no size limit
 * but DNS_MSG_MAX). On DNS_REPLY the response is in out (cap must be at
 * least DNS_MSG_MAX) and *out_len is its length. Never reads past len. */
enum dns_action dns_handle(struct dns *d, const struct dns_view *v, const uint8_t *req, size_t len,
                           int tcp, uint8_t *out, size_t cap, size_t *out_len);

/* The response to send when forwarding failed (no answer in time, no
 * upstream): req's header and question with rcode (SERVFAIL, REFUSED).
 * Returns the length, or 0 when req is not a request that can be answered. */
size_t dns_error_reply(struct dns *d, const uint8_t *req, size_t len, int tcp, uint8_t rcode,
                       uint8_t *out, size_t cap);
/* Counts a response relayed from upstream (its rcode is read from it). */
void dns_count_forwarded(struct dns *d, const uint8_t *resp, size_t len);

const struct dns_stats *dns_stats(const struct dns *d);
const char *dns_qtype_slot_name(int slot); /* "A", "AAAA", ..., "other" */
const char *dns_rcode_slot_name(int slot); /* "NOERROR", ..., "other" */

#endif
