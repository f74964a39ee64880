/* dnsd: the DNS server of the agent, UDP and TCP on --dns, over
 * core/dns. UDP is read and answered in batches (recvmmsg/sendmmsg) so that
 * a busy server spends its time answering rather than in syscalls; TCP
 * carries length-prefixed messages, pipelined, on at most
 * --dns-tcp-max-conns connections (more are closed at once, counted and
 * logged once per burst), each closed when no whole message came in
 * DNSD_IDLE_MS (silence, or bytes that trickle in). Names outside the zone
 * go to agent/dns_forward. Nothing on the query path blocks: answers come
 * from the local replica through the view callback. */
#ifndef TROUPE_AGENT_DNS_H
#define TROUPE_AGENT_DNS_H

#include <jansson.h>
#include <stdio.h>
#include <uv.h>

#include "agent/config.h"
#include "core/dns.h"
#include "core/err.h"

#define DNSD_CONNS_MAX 256 /* when the config says 0 */
#define DNSD_IDLE_MS   10000
#define DNSD_BATCH     64 /* datagrams per recvmmsg/sendmmsg */

struct dnsd;

/* Fills v with the current view of the replica (called per batch). */
typedef void (*dnsd_view_fn)(void *ud, struct dns_view *v);

/* Listens on cfg->dns with the zone and TTLs of cfg, forwarding to
 * cfg->dns_upstreams (or resolv.conf's nameservers). self: our node name.
 * Returns 0 or a negative code with a message (e.g. the port is taken:
 * -EADDRINUSE). Free with dnsd_close. */
int dnsd_open(struct dnsd **out, uv_loop_t *loop, const struct config *cfg, const char *self,
              dnsd_view_fn view, void *ud, struct err *e);
/* Closes the sockets and connections; the memory goes once they are closed.
 * NULL is a no-op. */
void dnsd_close(struct dnsd *d);
/* Counters and settings as JSON (GET /v1/dns/stats). Caller decrefs. */
json_t *dnsd_stats_json(const struct dnsd *d);
/* The same counters in Prometheus text (GET /metrics). */
void dnsd_write_metrics(const struct dnsd *d, FILE *f);

struct agent;
/* The agent's DNS server on --dns, answering from its member table and
 * catalog. When the default address is taken (another agent on this
 * machine) the agent runs without DNS and logs why; an address given with
 * --dns must work. */
int agent_dns_start(struct agent *a, struct err *e);
void agent_dns_stop(struct agent *a);

#endif
