/* agent: `troupe agent`. Owns the one libuv loop and wires core/swim to the
 * world: the gossip transport (agent/net), the HTTP API (agent/api over
 * agent/httpd), the data directory (agent/store), signals and joins with
 * backoff. Protocol decisions stay in core/; this file only moves bytes,
 * time and events between them. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <uv.h>

#include "agent/acl/tokens.h"
#include "agent/agent_impl.h"
#include "agent/api/api.h"
#include "agent/consul/consul.h"
#include "agent/trust/bundle.h"
#include "agent/dns/dnsd.h"
#include "agent/proxy/proxy.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/place/place_drive.h"
#include "agent/super/super.h"
#include "core/mem.h"
#include "core/tags.h"

#define JOIN_BACKOFF_MIN_MS 1000
#define JOIN_BACKOFF_MAX_MS 60000
#define PEERS_SAVE_DELAY_MS 2000
#define LEAVE_LINGER_MS     600 /* time for the leave broadcast to go out */
#define STOP_DEADLINE_MS    1500
#define TRIM_INTERVAL_MS    10000

uint64_t agent_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

uint64_t agent_now(struct agent *a)
{
    uv_update_time(&a->loop);
    return uv_now(&a->loop);
}

/* ---- moving bytes between swim and the network ---- */

static void flush_outputs(struct agent *a)
{
    struct swim_out o;

    while (swim_poll_out(a->swim, &o)) {
        if (o.kind == SWIM_OUT_UDP)
            net_send_udp(a->net, &o.to, o.data, o.len);
        else
            net_send_stream(a->net, &o.to, o.data, o.len);
        free(o.data);
    }
}

static void schedule_peers_save(struct agent *a)
{
    if (!uv_is_active((uv_handle_t *)&a->peers_timer))
        uv_timer_start(&a->peers_timer, agent_peers_save_cb, PEERS_SAVE_DELAY_MS, 0);
}

static void handle_events(struct agent *a)
{
    struct swim_event ev;
    char addr[64];

    while (swim_poll_event(a->swim, &ev)) {
        a->member_gen++;
        node_addr_str(&ev.addr, addr, sizeof(addr));
        repl_drive_event(a, &ev); /* deltas, history, reaped members' records */
        switch (ev.kind) {
        case SWIM_EV_JOIN:
            log_info("member", "%s joined at %s (incarnation %u)", ev.name, addr, ev.incarnation);
            schedule_peers_save(a);
            break;
        case SWIM_EV_UPDATE:
            log_info("member", "%s updated: %s, incarnation %u", ev.name, addr, ev.incarnation);
            schedule_peers_save(a);
            break;
        case SWIM_EV_SUSPECT:
            log_info("member", "%s is suspect (incarnation %u)", ev.name, ev.incarnation);
            break;
        case SWIM_EV_DEAD:
            log_warn("member", "%s is dead (incarnation %u)", ev.name, ev.incarnation);
            break;
        case SWIM_EV_LEFT:
            log_info("member", "%s left the cluster", ev.name);
            break;
        case SWIM_EV_REAP: {
            struct err e;
            log_info("member", "%s reaped from the member table", ev.name);
            if (store_peer_forget(a->store, ev.name, &e) < 0)
                log_warn("store", "%s", e.msg);
            break;
        }
        case SWIM_EV_JOINED:
            log_info("join", "joined the cluster through %s", addr);
            agent_join_outcome(a, &ev.addr, 1);
            break;
        case SWIM_EV_JOIN_FAILED:
            log_warn("join", "join through %s failed", addr);
            agent_join_outcome(a, &ev.addr, 0);
            break;
        case SWIM_EV_REFUTE:
            log_info("member", "refuted a suspicion about ourselves (incarnation now %u)",
                     ev.incarnation);
            break;
        default:
            break;
        }
        free(ev.data);
    }
}

/* Our incarnation went up (a refutation, new tags): the data dir keeps the
 * highest, so that a restart begins above it. */
static void save_incarnation(struct agent *a)
{
    const struct swim_member *self = swim_self(a->swim);
    struct err e;

    if (self->incarnation <= a->saved_incarnation)
        return;
    if (store_incarnation_save(a->store, self->name, self->incarnation, &e) < 0) {
        log_warn("store", "saving our incarnation: %s", e.msg);
        return;
    }
    a->saved_incarnation = self->incarnation;
}

static void swim_timer_cb(uv_timer_t *t)
{
    agent_drive(t->data);
}

/* Runs the machine's due timers, sends what it produced, handles its events,
 * and arms the timer for its next deadline. Called after every input. */
static void rejoin_step(struct agent *a, uint64_t now);

void agent_drive(struct agent *a)
{
    uint64_t now = agent_now(a);
    uint64_t next;

    if (!a->stopping && !a->closed)
        rejoin_step(a, now);
    next = swim_tick(a->swim, now);

    flush_outputs(a);
    handle_events(a);
    save_incarnation(a);
    repl_drive_flush(a);
    flush_outputs(a);
    catalog_changed(a);
    if (a->closed)
        return;
    uv_timer_start(&a->swim_timer, swim_timer_cb, next > now ? next - now : 1, 0);
}

static void on_packet(void *ud, const struct node_addr *from, const uint8_t *buf, size_t len)
{
    struct agent *a = ud;
    struct err e;
    char addr[64];

    if (swim_recv_packet(a->swim, agent_now(a), from, buf, len, &e) < 0)
        log_debug("gossip", "dropped packet from %s: %s", node_addr_str(from, addr, 64), e.msg);
    agent_drive(a);
}

static int on_stream(void *ud, const struct node_addr *from, const uint8_t *buf, size_t len,
                     uint8_t **reply, size_t *reply_len)
{
    struct agent *a = ud;
    struct err e;
    char addr[64];
    int rc;

    if (repl_drive_stream(a, from, buf, len, reply, reply_len, &rc)) {
        agent_drive(a);
        return rc;
    }
    rc = swim_recv_stream(a->swim, agent_now(a), from, buf, len, reply, reply_len, &e);
    if (rc < 0)
        log_debug("gossip", "dropped stream from %s: %s", node_addr_str(from, addr, 64), e.msg);
    agent_drive(a);
    return rc;
}

static void on_stream_reply(void *ud, const struct node_addr *to, const uint8_t *buf, size_t len)
{
    struct agent *a = ud;
    struct err e;
    char addr[64];

    if (repl_drive_stream_reply(a, to, buf, len)) {
        agent_drive(a);
        return;
    }
    if (swim_recv_stream(a->swim, agent_now(a), to, buf, len, NULL, NULL, &e) < 0)
        log_debug("gossip", "dropped stream reply from %s: %s", node_addr_str(to, addr, 64), e.msg);
    agent_drive(a);
}

static void on_stream_failed(void *ud, const struct node_addr *to)
{
    struct agent *a = ud;

    swim_stream_failed(a->swim, agent_now(a), to);
    repl_drive_failed(a, to);
    agent_drive(a);
}

/* ---- known peers ---- */

void agent_peers_save_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    size_t n = swim_member_count(a->swim), k = 0;
    struct store_peer *p = xcalloc(n ? n : 1, sizeof(*p));
    const struct swim_member *self = swim_self(a->swim);
    struct err e;

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (m == self || m->state != SWIM_ALIVE)
            continue;
        p[k].name = m->name;
        p[k].addr = m->addr;
        k++;
    }
    if (k && store_peers_seen(a->store, p, k, agent_wall_ms(), &e) < 0)
        log_warn("store", "saving known peers: %s", e.msg);
    free(p);
}

/* ---- joins (policy in core/swim_rejoin) ---- */

static void join_timer_cb(uv_timer_t *t)
{
    agent_drive(t->data);
}

/* The targets of a round: --join and the peers the data dir remembers now
 * (they change while the agent runs), our own addresses left out. */
static void rejoin_targets(struct agent *a)
{
    struct node_addr peers[STORE_PEERS_MAX];
    size_t n = 0;
    struct err e;
    char addr[64];

    swim_rejoin_clear_targets(&a->rejoin);
    for (size_t i = 0; i < a->n_join; i++) {
        if (swim_rejoin_add_target(&a->rejoin, &a->join[i]) == SWIM_REJOIN_OWN && !a->join_logged)
            log_info("join", "skipping %s: it is this agent's own address",
                     node_addr_str(&a->join[i], addr, sizeof(addr)));
    }
    if (store_peers_load(a->store, peers, STORE_PEERS_MAX, &n, &e) < 0)
        log_warn("store", "%s", e.msg);
    for (size_t i = 0; i < n; i++)
        swim_rejoin_add_target(&a->rejoin, &peers[i]);
    if (!a->join_logged && n)
        log_info("join", "rejoining %zu known peers from the data dir", n);
    a->join_logged = 1;
}

/* Joins through the targets when a round is due, and arms the join timer
 * for the next one. */
static void rejoin_step(struct agent *a, uint64_t now)
{
    struct node_addr to[SWIM_REJOIN_TARGETS_MAX];
    uint64_t next;
    size_t n;
    char addr[64];

    if (swim_rejoin_due(&a->rejoin, now, a->swim) || !a->join_logged) {
        int alone;
        rejoin_targets(a);
        alone = a->rejoin.alone;
        n = swim_rejoin_round(&a->rejoin, now, a->swim, to, SWIM_REJOIN_TARGETS_MAX);
        if (n && alone && a->rejoin.attempts > 1)
            log_warn("join",
                     "no live member but this one: joining through %zu addresses "
                     "(attempt %u), next in %llu ms",
                     n, a->rejoin.attempts,
                     (unsigned long long)(swim_rejoin_next(&a->rejoin) - now));
        for (size_t i = 0; i < n; i++) {
            log_info("join", "joining through %s%s", node_addr_str(&to[i], addr, sizeof(addr)),
                     alone ? "" : " (no live member has that address)");
            swim_join(a->swim, now, &to[i]);
        }
    }
    next = swim_rejoin_next(&a->rejoin);
    if (next == UINT64_MAX)
        uv_timer_stop(&a->join_timer);
    else
        uv_timer_start(&a->join_timer, join_timer_cb, next > now ? next - now : 1, 0);
}

int agent_member_addr(struct agent *a, const char *node, struct node_addr *out)
{
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (strcasecmp(m->name, node) != 0)
            continue;
        if (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT)
            return 0;
        *out = m->addr;
        return 1;
    }
    return 0;
}

void agent_join_outcome(struct agent *a, const struct node_addr *addr, int ok)
{
    api_join_outcome(a, addr, ok);
    if (ok)
        swim_rejoin_joined(&a->rejoin, agent_now(a));
}

/* --join parsed once; own addresses are skipped at each round. */
static int join_targets(struct agent *a, struct err *e)
{
    a->n_join = 0;
    for (size_t i = 0; i < a->cfg.n_join && a->n_join < AGENT_JOIN_MAX; i++) {
        if (node_addr_parse(&a->join[a->n_join], a->cfg.join[i], 7420, e) < 0)
            return err_wrap(e, "--join");
        a->n_join++;
    }
    return 0;
}

/* Our own gossip addresses: a join through one only reaches ourselves. The
 * bind and advertised addresses, and when bound to every interface, each
 * local address (loopback included) with the gossip port. */
static void own_addresses(struct agent *a, const struct node_addr *advertised)
{
    static const uint8_t any[16];
    uv_interface_address_t *ifs;
    int n;

    swim_rejoin_add_own(&a->rejoin, &a->cfg.bind);
    swim_rejoin_add_own(&a->rejoin, advertised);
    if (memcmp(a->cfg.bind.ip, any, 16) != 0 || uv_interface_addresses(&ifs, &n) != 0)
        return;
    for (int i = 0; i < n; i++) {
        struct node_addr o = {.port = a->cfg.bind.port};
        if (ifs[i].address.address4.sin_family == AF_INET) {
            o.family = 4;
            memcpy(o.ip, &ifs[i].address.address4.sin_addr, 4);
        } else if (ifs[i].address.address6.sin6_family == AF_INET6) {
            o.family = 6;
            memcpy(o.ip, &ifs[i].address.address6.sin6_addr, 16);
        } else {
            continue;
        }
        if (swim_rejoin_add_own(&a->rejoin, &o) < 0)
            break;
    }
    uv_free_interface_addresses(ifs, n);
}

/* ---- addresses ---- */

/* The address others reach us at: --advertise, else the bind address, else
 * (bound to 0.0.0.0) the first non-loopback IPv4 address of the machine. */
static int pick_advertise(struct agent *a, struct node_addr *out, struct err *e)
{
    static const uint8_t any[16];
    uv_interface_address_t *ifs;
    int n;

    if (a->cfg.advertise.family) {
        *out = a->cfg.advertise;
        return 0;
    }
    *out = a->cfg.bind;
    if (memcmp(out->ip, any, 16) != 0)
        return 0;
    if (uv_interface_addresses(&ifs, &n) != 0)
        return err_set(e, -EADDRNOTAVAIL, "cannot list network interfaces; set --advertise");
    for (int i = 0; i < n; i++) {
        if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
            continue;
        out->family = 4;
        memset(out->ip, 0, sizeof(out->ip));
        memcpy(out->ip, &ifs[i].address.address4.sin_addr, 4);
        break;
    }
    uv_free_interface_addresses(ifs, n);
    if (memcmp(out->ip, any, 16) == 0)
        return err_set(e, -EADDRNOTAVAIL,
                       "no non-loopback IPv4 address to advertise; set --advertise");
    return 0;
}

/* ---- keys and tags (start and SIGHUP) ---- */

static int build_keyring(const struct config *c, struct keyring **out, struct err *e)
{
    struct keyring *kr = keyring_new();
    int rc;

    for (size_t i = 0; i < c->n_keys; i++) {
        if ((rc = keyring_add_b64(kr, c->keys[i], e)) < 0) {
            keyring_free(kr);
            return err_wrap(e, "--encrypt key %zu", i + 1);
        }
    }
    *out = kr;
    return 0;
}

static void reload(struct agent *a)
{
    struct config c;
    struct keyring *kr = NULL;
    uint8_t tags[SWIM_TAGS_MAX];
    struct err e;
    int len;

    config_init(&c);
    if (config_parse(&c, a->argc, a->argv, &e) != 0) {
        log_error("config", "reload refused, keeping the running config: %s", e.msg);
        return;
    }
    if (build_keyring(&c, &kr, &e) < 0) {
        log_error("config", "reload refused, keeping the running config: %s", e.msg);
        return;
    }
    if ((len = tags_encode(&c.tags, tags, sizeof(tags), &e)) < 0 ||
        swim_set_tags(a->swim, agent_now(a), tags, (size_t)len, &e) < 0) {
        log_error("config", "reload refused, keeping the running config: %s", e.msg);
        keyring_free(kr);
        return;
    }
    net_set_keyring(a->net, kr);
    keyring_free(a->kr);
    a->kr = kr;
    a->cfg.tags = c.tags;
    memcpy(a->cfg.keys, c.keys, sizeof(c.keys));
    a->cfg.n_keys = c.n_keys;
    memcpy(a->cfg.config_dir, c.config_dir, sizeof(c.config_dir));
    a->cfg.exec_checks = c.exec_checks;
    log_info("config", "reloaded: %zu tags, %zu keys", c.tags.n, c.n_keys);
    history_add(a, "config", a->cfg.node, "reloaded: %zu tags, %zu keys", c.tags.n, c.n_keys);
    services_dir_load(a);
    proxy_dir_load(a);
    api_tls_reload(a);
    if (a->super)
        super_dir_load(a->super);
    agent_drive(a);
}

/* ---- memory ----
 * glibc keeps what the agent frees for later mallocs; after a burst (a
 * thousand registrations, a push-pull with a large peer, a bundle) that is
 * hundreds of KB that stay resident while the agent idles for hours, in
 * holes of the heap that M_TRIM_THRESHOLD, which only cuts its top, never
 * reaches. malloc_trim(0) gives the free pages of every hole back; at this
 * interval it costs a walk over the free lists now and then. One arena:
 * the loop thread allocates nearly everything, the thread pool rarely
 * (file work, name lookups), and a second arena would keep its own free
 * memory out of the loop thread's reach. */
static void trim_timer_cb(uv_timer_t *t)
{
    (void)t;
    malloc_trim(0);
}

static void memory_policy(struct agent *a)
{
    mallopt(M_ARENA_MAX, 1);
    uv_timer_start(&a->trim_timer, trim_timer_cb, TRIM_INTERVAL_MS, TRIM_INTERVAL_MS);
    uv_unref((uv_handle_t *)&a->trim_timer); /* never keeps the agent running */
}

/* ---- stopping ---- */

static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void net_closed(void *ud)
{
    struct agent *a = ud;
    a->net = NULL;
}

static void stop_now(struct agent *a)
{
    if (a->closed)
        return;
    a->closed = 1;
    api_close(a);
    consul_close(a);
    agent_dns_stop(a);
    place_drive_close(a);
    proxy_close(a);
    super_close(a->super); /* the instances keep running */
    a->super = NULL;
    catalog_close(a);
    if (a->net)
        net_close(a->net, net_closed, a);
    close_handle((uv_handle_t *)&a->swim_timer);
    close_handle((uv_handle_t *)&a->join_timer);
    close_handle((uv_handle_t *)&a->peers_timer);
    close_handle((uv_handle_t *)&a->leave_timer);
    close_handle((uv_handle_t *)&a->trim_timer);
    metrics_lag_close(&a->loop_lag);
    close_handle((uv_handle_t *)&a->sig_term);
    close_handle((uv_handle_t *)&a->sig_int);
    close_handle((uv_handle_t *)&a->sig_hup);
    notify_stopping(&a->notify);
}

static void leave_timer_cb(uv_timer_t *t)
{
    stop_now(t->data);
}

/* Graceful leave: tell the cluster, give the broadcast time to go out, stop. */
void agent_leave(struct agent *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    log_info("agent", "leaving the cluster");
    swim_leave(a->swim, agent_now(a));
    /* The leave goes out now; the swim timer keeps gossiping it while we linger. */
    agent_drive(a);
    uv_timer_stop(&a->join_timer);
    uv_timer_start(&a->leave_timer, leave_timer_cb,
                   swim_member_count(a->swim) > 1 ? LEAVE_LINGER_MS : 0, 0);
    agent_peers_save_cb(&a->peers_timer);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct agent *a = s->data;

    if (signum == SIGHUP) {
        log_info("agent", "SIGHUP: reloading tags, keys, service files and the API's certificate");
        reload(a);
        return;
    }
    if (a->stopping) {
        log_warn("agent", "second signal: stopping at once");
        stop_now(a);
        return;
    }
    log_info("agent", "%s: leaving", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    agent_leave(a);
}

/* ---- start ---- */

/* The soft limit of open files up to the hard one, so that the connection
 * limits, not a default of 1024 descriptors, decide who is refused (a
 * listener out of descriptors still answers: libuv accepts and closes). */
static void raise_nofile(const struct config *c)
{
    struct rlimit rl;
    unsigned long long want = (unsigned long long)c->http_max_conns + c->dns_tcp_max_conns +
                              c->gossip_tcp_max_conns + NET_STREAMS_MAX + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        log_warn("agent",
                 "%llu open files allowed, fewer than the connection limits need (%llu): "
                 "connections over it are refused early (raise LimitNOFILE or ulimit -n)",
                 (unsigned long long)rl.rlim_cur, want);
}

static void init_timer(struct agent *a, uv_timer_t *t)
{
    uv_timer_init(&a->loop, t);
    t->data = a;
}

static void init_signal(struct agent *a, uv_signal_t *s, int signum)
{
    uv_signal_init(&a->loop, s);
    s->data = a;
    uv_signal_start(s, signal_cb, signum);
    uv_unref((uv_handle_t *)s);
}

static int agent_start(struct agent *a, struct err *e)
{
    struct swim_config sc;
    struct net_callbacks cb = {
        .on_packet = on_packet,
        .on_stream = on_stream,
        .on_stream_reply = on_stream_reply,
        .on_stream_failed = on_stream_failed,
    };
    struct swim_rejoin_config rejoin_cfg = {
        .backoff_min_ms = JOIN_BACKOFF_MIN_MS,
        .backoff_max_ms = JOIN_BACKOFF_MAX_MS,
    };
    char addr[64];
    int rc;

    /* A write to a peer that went away (a gossip stream, an API or DNS
     * client, a mirror) must fail with EPIPE on that connection, not kill
     * the agent. Supervised processes and check commands get the default
     * back before exec (super_spawn.c's child, libuv's uv_spawn). */
    signal(SIGPIPE, SIG_IGN);
    init_timer(a, &a->trim_timer);
    memory_policy(a);
    metrics_lag_start(&a->loop_lag, &a->loop);
    if ((rc = store_open(&a->store, a->cfg.data_dir, e)) < 0 || (rc = bundle_open(a, e)) < 0)
        return rc;
    if ((rc = catalog_open(a, e)) < 0 || (rc = tokens_open(a, e)) < 0)
        return rc;
    if ((rc = build_keyring(&a->cfg, &a->kr, e)) < 0)
        return rc;
    if (a->cfg.n_keys == 0)
        log_warn("agent", "gossip is NOT encrypted (no --encrypt key): anyone on the network "
                          "can read and forge it; use this for development only");

    config_swim(&a->cfg, &sc);
    if ((rc = pick_advertise(a, &sc.addr, e)) < 0)
        return rc;
    randombytes_buf(&sc.seed, sizeof(sc.seed));
    /* one above the highest incarnation we had: alive beats whatever left
     * or dead record of us the cluster holds, at once */
    if ((rc = store_incarnation_load(a->store, sc.name, &a->saved_incarnation, e)) < 0)
        return rc;
    sc.incarnation = a->saved_incarnation < UINT32_MAX ? a->saved_incarnation + 1 : UINT32_MAX;
    /* once joined, targets no live member has are tried every two push-pulls */
    rejoin_cfg.refresh_interval_ms = 2 * sc.pushpull_interval_ms;
    a->swim = swim_new(&sc, agent_now(a), e);
    if (!a->swim)
        return e->code ? e->code : -EINVAL;
    if ((rc = join_targets(a, e)) < 0)
        return rc;
    swim_rejoin_init(&a->rejoin, &rejoin_cfg, agent_now(a));
    own_addresses(a, &sc.addr);

    raise_nofile(&a->cfg);
    if ((rc = net_open(&a->net, &a->loop, &a->cfg.bind, a->kr, &cb, a, e)) < 0)
        return rc;
    net_set_max_inbound(a->net, a->cfg.gossip_tcp_max_conns);
    if ((rc = api_open(a, e)) < 0)
        return rc;
    if ((rc = consul_open(a, e)) < 0)
        return rc;
    if ((rc = agent_dns_start(a, e)) < 0)
        return rc;
    if ((rc = proxy_open(a, e)) < 0)
        return rc;
    proxy_dir_load(a);
    repl_drive_start(a);

    init_timer(a, &a->swim_timer);
    init_timer(a, &a->join_timer);
    init_timer(a, &a->peers_timer);
    init_timer(a, &a->leave_timer);
    init_signal(a, &a->sig_term, SIGTERM);
    init_signal(a, &a->sig_int, SIGINT);
    init_signal(a, &a->sig_hup, SIGHUP);

    log_info("agent", "node %s, gossip on %s (advertised %s), profile %s", sc.name,
             node_addr_str(&a->cfg.bind, addr, sizeof(addr)),
             node_addr_str(&sc.addr, addr + 32, 32),
             a->cfg.profile == SWIM_PROFILE_FAST ? "fast" : "lan");

    if ((rc = super_open(&a->super, a, e)) < 0)
        return rc;
    if ((rc = place_drive_open(a, e)) < 0)
        return rc;
    agent_drive(a); /* the first join round */
    return 0;
}

int agent_open(struct agent **out, int argc, char **argv, struct err *e)
{
    struct agent *a = xcalloc(1, sizeof(*a));
    int rc;

    *out = NULL;
    a->argc = argc;
    a->argv = argv;
    config_init(&a->cfg);
    rc = config_parse(&a->cfg, argc, argv, e);
    if (rc == CONFIG_HELP || rc < 0) {
        free(a);
        return rc;
    }
    log_set_level(a->cfg.log_level);
    notify_init(&a->notify);
    if (sodium_init() < 0) {
        free(a);
        return err_set(e, -EIO, "libsodium failed to initialise");
    }
    uv_loop_init(&a->loop);
    *out = a;
    rc = agent_start(a, e);
    if (rc < 0)
        stop_now(a);
    return rc;
}

void agent_stop(struct agent *a)
{
    stop_now(a);
}

void agent_free(struct agent *a)
{
    if (!a)
        return;
    tokens_free(a);
    catalog_free(a);
    swim_free(a->swim);
    keyring_free(a->kr);
    store_close(a->store);
    bundle_release(a);
    api_metrics_free(a);
    free(a);
}

static void print_route(void *ud, const char *method, const char *pattern)
{
    fprintf(ud, "%s %s\n", method, pattern);
}

int agent_routes_main(void)
{
    api_routes_each(print_route, stdout);
    return 0;
}

int agent_main(int argc, char **argv)
{
    struct agent *a;
    struct err e;
    int rc, code = 0;

    err_clear(&e);
    if (sodium_init() < 0) {
        fprintf(stderr, "troupe agent: libsodium failed to initialise\n");
        return 1;
    }
    rc = agent_open(&a, argc, argv, &e);
    if (rc == CONFIG_HELP)
        return 0;
    if (!a) {
        fprintf(stderr, "troupe agent: %s\n", e.msg);
        fprintf(stderr, "Try 'troupe agent --help'.\n");
        return 2;
    }
    if (rc < 0) {
        log_error("agent", "%s", e.msg);
        code = 1;
    } else {
        notify_ready(&a->notify, &a->loop); /* API, DNS and gossip listen */
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&a->loop) != 0)
        log_warn("agent", "event loop closed with handles still open");
    if (code == 0)
        log_info("agent", "stopped");
    agent_free(a);
    return code;
}

void agent_print_flags(FILE *f)
{
    config_print_flags(f);
}
