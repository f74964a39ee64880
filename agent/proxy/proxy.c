/* proxy: routes and their listeners, and the endpoints of each route from
 * the local catalog replica (see proxy.h). A timer compares the catalog's
 * index and the membership generation with what was applied last and, when
 * either moved, reads the routes again (new ones start listening, removed
 * ones stop, changed ones take their new fields) and each route's
 * endpoints: the passing instances of its service on serving nodes. Open
 * connections are not touched: they hold their route and the address they
 * connected to. Connections themselves, and the pool of idle upstream
 * connections, are proxy_conn.c's.
 *
 * The same struct proxy runs on the agent's loop and in each worker
 * thread (proxy_worker.c): on the agent's loop it follows the catalog
 * and, with workers, listens on nothing and publishes its routes and
 * endpoints to them; a worker applies each published snapshot to its own
 * routes with proxy_routes_apply and proxy_route_set_eps, and listens
 * with SO_REUSEPORT beside the other workers. */
#include "agent/proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/place/place_drive.h"
#include "agent/proxy/proxy_impl.h"
#include "core/cat.h"
#include "core/mem.h"
#include "core/swim.h"
#include "core/tags.h"

#define PROXY_TICK_MS       200  /* how soon a catalog change is in force */
#define PROXY_FULL_MS       5000 /* a full pass anyway: ejections end, failed binds retry */
#define PROXY_ENDPOINTS_MAX 1024 /* endpoints of one route */

uint64_t proxy_now(struct proxy *p)
{
    return uv_now(p->loop);
}

void proxy_route_unref(struct proxy_route *rt)
{
    if (--rt->refs > 0)
        return;
    pconn_route_release(rt);
    for (uint32_t w = 0; rt->wseen && w < rt->p->n_workers; w++)
        free(rt->wseen[w].ep);
    free(rt->wseen);
    bal_release(&rt->bal);
    free(rt->addrs);
    free(rt);
}

/* ---- listeners ---- */

static void on_listener_closed(uv_handle_t *h)
{
    proxy_route_unref(h->data);
}

static void on_connection(uv_stream_t *s, int status)
{
    struct proxy_route *rt = s->data;

    if (status < 0) {
        log_warn("proxy", "route %s: accept: %s", rt->r.name, uv_strerror(status));
        return;
    }
    pconn_accept(rt);
}

/* A worker's listener: its own socket with SO_REUSEPORT, so that every
 * worker listens on the route's port and the kernel spreads the
 * connections over them (libuv 1.44 cannot set it before its bind). */
static int bind_reuseport(uv_tcp_t *h, const struct sockaddr_storage *ss)
{
    int one = 1, rc;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)ss, len) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if ((rc = uv_tcp_open(h, fd)) < 0)
        close(fd);
    return rc;
}

static void listen_route(struct proxy_route *rt)
{
    struct proxy *p = rt->p;
    struct sockaddr_storage ss = p->bind;
    char ip[INET6_ADDRSTRLEN] = "?";
    int rc;

    if (p->n_workers)
        return; /* the workers listen */
    if (rt->handle_init || rt->gone || proxy_now(p) < rt->bind_retry_ms)
        return;
    if (ss.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(rt->r.port);
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
    } else {
        ((struct sockaddr_in *)&ss)->sin_port = htons(rt->r.port);
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
    }
    uv_tcp_init(p->loop, &rt->listener);
    rt->listener.data = rt;
    rt->handle_init = 1;
    rt->refs++; /* the listener's, dropped in its close callback */
    if (p->w)
        rc = bind_reuseport(&rt->listener, &ss);
    else
        rc = uv_tcp_bind(&rt->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&rt->listener, 511, on_connection);
    if (rc < 0) {
        /* another process has the port: say so, and try again later */
        log_warn("proxy", "route %s: cannot listen on %s:%u: %s (retrying every %d s)", rt->r.name,
                 ip, rt->r.port, uv_strerror(rc), PROXY_FULL_MS / 1000);
        rt->bind_retry_ms = proxy_now(p) + PROXY_FULL_MS;
        uv_close((uv_handle_t *)&rt->listener, on_listener_closed);
        rt->handle_init = 0;
        return;
    }
    rt->listening = 1;
    if (p->w)
        return; /* the main loop said it when the route came */
    log_info("proxy", "route %s: %s on %s:%u -> service %s", rt->r.name,
             route_protocol_name(rt->r.protocol), ip, rt->r.port, rt->r.service);
}

static void unlisten_route(struct proxy_route *rt)
{
    if (rt->handle_init && !uv_is_closing((uv_handle_t *)&rt->listener))
        uv_close((uv_handle_t *)&rt->listener, on_listener_closed);
    rt->handle_init = 0;
    rt->listening = 0;
}

/* ---- routes from the replicated state ---- */

struct want {
    struct route *r; /* heap array */
    size_t n;
    const char *last;
    const struct crdt *c;
};

static int collect_route(void *ud, const struct crdt_rec *rec)
{
    struct want *w = ud;
    const struct crdt_rec *win;
    struct route r;
    struct err e;

    if (w->last && strcmp(w->last, rec->key) == 0)
        return 0;
    w->last = rec->key;
    win = crdt_lww(w->c, CRDT_ROUTE, rec->key);
    if (!win || win->deleted)
        return 0;
    if (route_parse(&r, (const char *)win->val, win->len, &e) < 0) {
        log_debug("proxy", "route %s from %s is not valid: %s", win->key, win->origin, e.msg);
        return 0;
    }
    snprintf(r.name, sizeof(r.name), "%s", win->key);
    w->r = xrealloc(w->r, (w->n + 1) * sizeof(*w->r));
    w->r[w->n++] = r;
    return 0;
}

struct proxy_route *proxy_route_find(struct proxy *p, const char *name)
{
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        if (strcmp(rt->r.name, name) == 0)
            return rt;
    return NULL;
}

static void drop_route(struct proxy *p, struct proxy_route *rt)
{
    struct proxy_route **pp = &p->routes;

    while (*pp != rt)
        pp = &(*pp)->next;
    *pp = rt->next;
    rt->gone = 1;
    unlisten_route(rt);
    pconn_pool_close(rt);
    pconn_route_gone(rt);
    if (!p->w)
        log_info("proxy", "route %s: removed", rt->r.name);
    proxy_route_unref(rt);
}

static struct proxy_route *add_route(struct proxy *p, const struct route *r)
{
    struct proxy_route *rt = xcalloc(1, sizeof(*rt));
    struct bal_cfg bc;

    rt->p = p;
    rt->r = *r;
    rt->refs = 1;
    bal_cfg_route(&bc, r);
    bal_init(&rt->bal, &bc, randombytes_random() | (uint64_t)randombytes_random() << 32);
    pconn_route_init(rt);
    if (p->n_workers) {
        rt->wseen = xcalloc(p->n_workers, sizeof(*rt->wseen));
        log_info("proxy", "route %s: %s on port %u -> service %s, served by %u workers", r->name,
                 route_protocol_name(r->protocol), r->port, r->service, p->n_workers);
    }
    rt->next = p->routes;
    p->routes = rt;
    return rt;
}

void proxy_routes_apply(struct proxy *p, const struct route *rs, size_t n)
{
    struct proxy_route *rt, *next;

    for (rt = p->routes; rt; rt = next) {
        size_t i;
        next = rt->next;
        for (i = 0; i < n; i++)
            if (strcmp(rs[i].name, rt->r.name) == 0 && rs[i].port == rt->r.port)
                break;
        if (i == n)
            drop_route(p, rt); /* gone, or moved to another port: a new listener */
    }
    for (size_t i = 0; i < n; i++) {
        rt = proxy_route_find(p, rs[i].name);
        if (!rt) {
            rt = add_route(p, &rs[i]);
        } else if (memcmp(&rt->r, &rs[i], sizeof(rt->r)) != 0) {
            struct bal_cfg bc;
            rt->r = rs[i]; /* connections read the fields at each request */
            bal_cfg_route(&bc, &rt->r);
            rt->bal.cfg = bc;
            pconn_route_changed(rt);
            if (!p->w)
                log_info("proxy", "route %s: changed", rt->r.name);
        }
        listen_route(rt);
    }
}

static void sync_routes(struct proxy *p)
{
    struct want w = {.c = p->a->catalog->crdt};

    crdt_scan(w.c, CRDT_ROUTE, NULL, 0, collect_route, &w);
    proxy_routes_apply(p, w.r, w.n);
    free(w.r);
}

/* ---- endpoints from the catalog ---- */

/* The address of a node's gossip (its instances without an address of
 * their own listen there): 1 when known and served. */
static int node_ip(struct agent *a, const char *node, struct node_addr *out)
{
    if (agent_member_addr(a, node, out))
        return 1;
    if (strcasecmp(node, swim_self(a->swim)->name) == 0) {
        *out = swim_self(a->swim)->addr;
        return 1;
    }
    return 0;
}

/* A member's zone: its tag "zone" (--tag zone=a), the tag placement
 * spreads over; "" when it has none or is not a member. */
static void node_zone(struct agent *a, const char *node, char *out, size_t cap)
{
    const struct swim_member *sm = swim_member_find(a->swim, node);
    struct tags t;

    out[0] = '\0';
    if (!sm || !sm->tags_len || tags_decode(&t, sm->tags, sm->tags_len, NULL) < 0)
        return;
    for (size_t i = 0; i < t.n; i++)
        if (strcmp(t.t[i].key, "zone") == 0)
            snprintf(out, cap, "%s", t.t[i].val);
}

void proxy_route_refresh(struct proxy *p, struct proxy_route *rt)
{
    struct agent *a = p->a;
    struct cat_view cv;
    struct cat_entry *es = NULL;
    struct bal_ep *eps;
    struct sockaddr_storage *addrs;
    size_t n = 0, k = 0;
    char zone[TAG_VAL_MAX + 1], ez[TAG_VAL_MAX + 1];

    node_zone(a, swim_self(a->swim)->name, zone, sizeof(zone));
    catalog_view(a, &cv);
    if (cat_service_entries(&cv, rt->r.service, NULL, CAT_PASSING, 1, &es, &n, NULL) < 0)
        n = 0;
    if (n > PROXY_ENDPOINTS_MAX)
        n = PROXY_ENDPOINTS_MAX;
    eps = n ? xcalloc(n, sizeof(*eps)) : NULL;
    addrs = n ? xcalloc(n, sizeof(*addrs)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const struct cat_instance *in = &es[i].inst;
        struct node_addr na;

        memset(&na, 0, sizeof(na));
        if (in->address[0]) {
            if (inet_pton(AF_INET, in->address, na.ip) == 1)
                na.family = 4;
            else if (inet_pton(AF_INET6, in->address, na.ip) == 1)
                na.family = 6;
        } else if (!node_ip(a, in->node, &na)) {
            continue;
        }
        if (!na.family || !in->port)
            continue;
        na.port = in->port;
        node_addr_to_sockaddr(&na, &addrs[k]);
        snprintf(eps[k].key, sizeof(eps[k].key), "%s/%s", in->node, in->id);
        snprintf(eps[k].version, sizeof(eps[k].version), "%s", in->version);
        eps[k].local = strcasecmp(in->node, a->cfg.node) == 0;
        if (zone[0] && !eps[k].local) {
            node_zone(a, in->node, ez, sizeof(ez));
            eps[k].zone = strcmp(ez, zone) == 0;
        }
        k++;
    }
    cat_entries_free(es, n);
    proxy_route_set_eps(rt, eps, addrs, k);
    free(addrs);
    free(eps);
}

void proxy_route_set_eps(struct proxy_route *rt, const struct bal_ep *eps,
                         const struct sockaddr_storage *addrs, size_t n)
{
    struct sockaddr_storage *own = n ? xcalloc(n, sizeof(*own)) : NULL;

    if (n)
        memcpy(own, addrs, n * sizeof(*own));
    bal_set(&rt->bal, eps, n);
    free(rt->addrs);
    rt->addrs = own;
    pconn_pool_prune(rt);
}

/* Requests of each route since the last tick (and what is in flight)
 * keep a cold-started instance of its service from going idle. */
static void note_use(struct proxy *p)
{
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        uint64_t busy = 0, mark = rt->requests + rt->conns;
        for (size_t k = 0; k < rt->bal.n; k++) {
            struct bal_ep ep;
            proxy_obs_ep(rt, k, &ep);
            busy += ep.outstanding;
        }
        if (busy || mark != rt->used_mark)
            place_act_used(p->a, rt->r.service);
        rt->used_mark = mark;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct proxy *p = t->data;
    struct agent *a = p->a;
    uint64_t seen = catalog_index(a) + a->member_gen, now = proxy_now(p);

    note_use(p);
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        pconn_pool_sweep(rt, now);
    proxy_obs_tick(p, now);
    proxy_load_tick(p);
    if (seen == p->seen && now < p->last_full_ms + PROXY_FULL_MS)
        return;
    p->seen = seen;
    p->last_full_ms = now;
    sync_routes(p);
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        proxy_route_refresh(p, rt);
    pworkers_publish(p);
}

/* ---- lifecycle ---- */

int proxy_open(struct agent *a, struct err *e)
{
    struct proxy *p = xcalloc(1, sizeof(*p));
    struct node_addr bind;

    memset(&bind, 0, sizeof(bind));
    bind.family = 4;
    bind.ip[0] = 127;
    bind.ip[3] = 1;
    if (a->cfg.n_proxy_bind &&
        node_addr_parse(&bind, a->cfg.proxy_bind[0], CONFIG_PROXY_NO_PORT, e) < 0) {
        free(p);
        return err_wrap(e, "--proxy-bind");
    }
    bind.port = 0;
    node_addr_to_sockaddr(&bind, &p->bind);
    p->a = a;
    p->loop = &a->loop;
    if (proxy_ingress_open(p, &a->cfg.ingress, e) < 0) {
        free(p);
        return e->code;
    }
    if (a->cfg.proxy_workers && pworkers_start(p, a->cfg.proxy_workers, e) < 0) {
        proxy_ingress_close(p);
        free(p);
        return e->code;
    }
    uv_timer_init(&a->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_tick, 0, PROXY_TICK_MS);
    phold_open(p);
    a->proxy = p;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void proxy_shut(struct proxy *p)
{
    p->closing = 1;
    proxy_ingress_close(p);
    while (p->routes)
        drop_route(p, p->routes);
    while (p->conns)
        pconn_abort(p->conns); /* unlinks itself */
    phold_close(p);
}

void proxy_close(struct agent *a)
{
    struct proxy *p = a->proxy;

    if (!p)
        return;
    a->proxy = NULL;
    p->closing = 1;
    pworkers_stop(p); /* joined: nothing of theirs runs any more */
    proxy_shut(p);
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}
