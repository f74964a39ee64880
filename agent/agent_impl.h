/* agent_impl: struct agent, the daemon's state: the loop, the config, and a
 * handle for each subsystem. agent.c owns it (start, drive, stop); the
 * subsystems that hang their state on it or reach another through it
 * include it: the API (api/), the catalog (catalog/), the supervisor
 * (super/), the DNS server (dns/dnsd.c) and bundles (trust/bundle.c).
 * Not for core/ or cli/. */
#ifndef TROUPE_AGENT_IMPL_H
#define TROUPE_AGENT_IMPL_H

#include <sodium.h>
#include <stdint.h>
#include <uv.h>

#include "agent/config.h"
#include "agent/metrics.h"
#include "agent/api/httpd.h"
#include "agent/net/net.h"
#include "agent/net/net_keyring.h"
#include "agent/sd_notify.h"
#include "agent/store/store.h"
#include "core/swim.h"
#include "core/swim_rejoin.h"

#define AGENT_JOIN_MAX 64

struct api_join;    /* a PUT /v1/join waiting for its outcomes (api.c) */
struct bundles;     /* bundle jobs and their counters (bundle.c) */
struct dnsd;        /* the DNS server (dns/dnsd.c) */
struct consul;      /* Consul's HTTP API (consul/consul_http.c) */
struct proxy;       /* the traffic proxy (proxy/proxy.c) */
struct super;       /* the supervisor (super.c) */
struct place_drive; /* this node's share of the cluster specs (place/place_drive.c) */
struct place_act;   /* cold starts on this node (place/place_act.c) */
struct tls_server;  /* the API's certificate (api/tls.c) */
struct tokens;      /* API tokens: the management token, the cache (acl/tokens.c) */

struct agent {
    uv_loop_t loop;
    struct config cfg;
    int argc;
    char **argv; /* kept for SIGHUP: the config is parsed again from them */

    struct swim *swim;
    struct keyring *kr;
    struct net *net;
    struct httpd *httpd;
    struct tls_server *api_tls; /* NULL: the API speaks plain HTTP */
    struct store *store;
    struct dnsd *dnsd;     /* NULL when DNS is off */
    struct consul *consul; /* NULL when Consul's HTTP API is off */
    /* Consul's lines of /metrics, set by consul/ while its listener is open
     * (a callback, so that api/ need not include consul/, which includes it) */
    void (*consul_write_metrics)(struct agent *a, FILE *f);
    uint64_t member_gen; /* bumped by every membership event: DNS answers depend on it */
    struct super *super;
    struct catalog *catalog;     /* the service catalog (agent/catalog_impl.h) */
    struct place_drive *place;   /* NULL until the supervisor is open */
    struct place_act *place_act; /* with place */
    struct proxy *proxy;         /* listeners of the routes (proxy/proxy_impl.h) */
    struct tokens *tokens;       /* API tokens (agent/acl/tokens.h) */

    uv_timer_t swim_timer;  /* fires at the machine's next deadline */
    uv_timer_t join_timer;  /* the next join round (core/swim_rejoin) */
    uv_timer_t peers_timer; /* known peers are saved shortly after a change */
    uv_timer_t leave_timer; /* lingering after a leave so it is gossiped */
    uv_timer_t trim_timer;  /* gives freed heap memory back to the system */
    uv_signal_t sig_term, sig_int, sig_hup;
    struct notify notify; /* systemd: READY=1, watchdog pings, STOPPING=1 */

    /* join targets (--join and the peers the data dir remembers) and when
     * to join through them: while alone, with backoff; once joined, now and
     * then through those that are no live member's address */
    struct swim_rejoin rejoin;
    struct node_addr join[AGENT_JOIN_MAX]; /* --join, parsed */
    size_t n_join;
    int join_logged;            /* the skipped own addresses were logged */
    uint32_t saved_incarnation; /* ours, as the data dir holds it */

    struct api_join *api_joins;      /* pending PUT /v1/join calls */
    struct api_metrics *api_metrics; /* requests by route (api/api_metrics.c); heap */
    struct metrics_lag loop_lag;     /* the event loop's lag (metrics.h) */
    struct bundles *bundles;         /* fetch, verify, unpack jobs */
    uint64_t started_wall_ms;
    int stopping; /* leaving: lingering until leave_timer fires */
    int closed;   /* handles are closing */
};

uint64_t agent_now(struct agent *a);
uint64_t agent_wall_ms(void);
void agent_drive(struct agent *a);
void agent_leave(struct agent *a);
void agent_join_outcome(struct agent *a, const struct node_addr *addr, int ok);
/* The gossip address of the member named node (without case) into *out:
 * 1 while it is alive or suspect, 0 when it is not, or not known. */
int agent_member_addr(struct agent *a, const char *node, struct node_addr *out);
void agent_peers_save_cb(uv_timer_t *t);
/* troupe_membership_* lines for GET /metrics (membership_metrics.c). */
void membership_write_metrics(struct agent *a, FILE *f);

#endif
