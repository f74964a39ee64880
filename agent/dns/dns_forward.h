/* dns_forward: sends the requests for names outside the zone to upstream
 * resolvers and hands back their answers. Each request goes over UDP from
 * a fresh socket (a random source port) with a random ID; an answer counts
 * only from the upstream's address, with that ID and the same question. A
 * truncated answer to a client that asked over TCP is asked again over TCP.
 * No answer within DNSFW_TIMEOUT_MS: the next upstream is tried once, then
 * the request fails. At most DNSFW_PENDING_MAX requests are in flight.
 *
 * Owns its sockets and timers; knows nothing of the zone or of clients
 * (an origin is opaque to it, agent/dns owns it). */
#ifndef TROUPE_DNS_FORWARD_H
#define TROUPE_DNS_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/codec.h"
#include "core/err.h"

#define DNSFW_TIMEOUT_MS    2000
#define DNSFW_PENDING_MAX   256
#define DNSFW_UPSTREAMS_MAX 8

struct dnsfw;

/* Called once per dnsfw_query that returned 0: resp is the upstream's
 * answer with the client's ID (valid during the call), or NULL when no
 * upstream answered. req is the request as the client sent it. */
typedef void (*dnsfw_done_fn)(void *ud, void *origin, const uint8_t *req, size_t req_len,
                              const uint8_t *resp, size_t len);

struct dnsfw_stats {
    uint64_t sent, answered, failed, tcp_retries, mismatched, dropped;
};

/* Forwards to ups[0..n). Free with dnsfw_close. */
struct dnsfw *dnsfw_new(uv_loop_t *loop, const struct node_addr *ups, size_t n, dnsfw_done_fn done,
                        void *ud);
/* Forwards req (copied). tcp: the client asked over TCP (a truncated UDP
 * answer is retried over TCP). Returns 0, or -ENOSPC when too many are in
 * flight (done is not called then). */
int dnsfw_query(struct dnsfw *f, const uint8_t *req, size_t len, int tcp, void *origin);
/* Fails every request in flight (done with NULL) and frees f once its
 * handles are closed. NULL is a no-op. */
void dnsfw_close(struct dnsfw *f);
size_t dnsfw_upstreams(const struct dnsfw *f);
const struct dnsfw_stats *dnsfw_stats(const struct dnsfw *f);

/* The nameservers of a resolv.conf file, port 53, leaving out `self` (the
 * agent's own DNS address: same port, and same IP or self on any address).
 * Returns how many were put in out (at most cap); 0 when the file is
 * missing. */
size_t dnsfw_resolv_conf(const char *path, const struct node_addr *self, struct node_addr *out,
                         size_t cap);

#endif
