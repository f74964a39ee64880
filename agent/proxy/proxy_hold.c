/* proxy_hold: connections held while their service starts from zero.
 * When the balancer has no endpoint for a route whose service has a
 * cluster spec with "scale", the connection is not answered 503: it waits
 * here while agent/place starts an instance on this node (or one starts
 * elsewhere). A timer every PHOLD_POLL_MS reads the route's endpoints
 * again whenever the catalog moved (the new instance registers in the
 * local catalog, its checks probed every few ms until they pass) and
 * hands the connections back to proxy_conn.c as soon as one can be
 * chosen. Up to scale.queue_limit connections per route wait; the next one
 * gets 503 cold-start-queue-full, and one that waited scale.start_timeout_ms
 * gets 503 cold-start-timeout. Also: troupe_cold_start_seconds and
 * troupe_cold_start_queue_depth.
 *
 * In a worker thread the connection waits in the worker's own hold: the
 * snapshot says whether the service scales from zero, the worker asks the
 * main loop for the cold start (pworker_cold_start), and the main loop
 * keeps the route in its list of remote holds, reading the catalog every
 * PHOLD_POLL_MS and publishing the endpoints as soon as they move; the
 * worker's poll sees them in its own balancer. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/place/place_drive.h"
#include "agent/proxy/proxy.h"
#include "agent/proxy/proxy_impl.h"
#include "core/mem.h"

#define PHOLD_POLL_MS 1     /* how often held routes look for their endpoint */
#define PHOLD_MAX     65536 /* held connections of the whole proxy */

struct held {
    struct pconn *c;
    struct proxy_route *rt;
    uint64_t since_ms, deadline_ms;
};

/* Main loop: a route a worker holds connections for. */
struct remote {
    char route[ROUTE_NAME_MAX + 1];
    uint64_t deadline_ms;
};
#define PHOLD_REMOTE_MAX 256

struct proxy_hold {
    uv_timer_t timer; /* runs while something is held; freed in its close callback */
    struct proxy *p;
    struct held *h;
    size_t n, cap;
    struct remote remote[PHOLD_REMOTE_MAX];
    size_t n_remote;
    uint32_t *held_w; /* heap, p->n_workers: held in each worker at its last report */
    uint64_t seen;    /* catalog index + membership generation last read */
    struct metrics_hist wait;
    uint64_t queue_full, timeouts, released;
};

static size_t held_of(const struct proxy_hold *ph, const struct proxy_route *rt)
{
    size_t k = 0;

    for (size_t i = 0; i < ph->n; i++)
        k += ph->h[i].rt == rt;
    return k;
}

static void drop(struct proxy_hold *ph, size_t i)
{
    if (ph->p->w)
        pworker_hold_give(ph->p, ph->h[i].rt->r.name);
    ph->h[i] = ph->h[--ph->n];
    if (ph->n == 0 && ph->n_remote == 0)
        uv_timer_stop(&ph->timer);
}

/* Whether the route has an endpoint a new request can be sent to: any,
 * since the balancer picks among ejected ones when all are (panic). Not
 * bal_pick itself, which would take a round-robin turn at every poll. */
static int can_pick(const struct proxy_route *rt)
{
    return rt->bal.n > 0;
}

/* Main loop: the routes workers hold connections for, read again when
 * the catalog moved and published; a route whose endpoint came, or whose
 * wait is over, is no longer watched. */
static void poll_remote(struct proxy_hold *ph, uint64_t now, int moved)
{
    struct proxy *p = ph->p;

    if (moved) {
        for (size_t i = 0; i < ph->n_remote; i++) {
            struct proxy_route *rt = proxy_route_find(p, ph->remote[i].route);
            if (rt)
                proxy_route_refresh(p, rt);
        }
        pworkers_publish(p);
    }
    for (size_t i = 0; i < ph->n_remote;) {
        struct proxy_route *rt = proxy_route_find(p, ph->remote[i].route);
        if (rt)
            place_act_used(p->a, rt->r.service);
        if (!rt || can_pick(rt) || now >= ph->remote[i].deadline_ms) {
            ph->remote[i] = ph->remote[--ph->n_remote];
            continue;
        }
        i++;
    }
    if (ph->n == 0 && ph->n_remote == 0)
        uv_timer_stop(&ph->timer);
}

static void on_poll(uv_timer_t *t)
{
    struct proxy_hold *ph = t->data;
    struct proxy *p = ph->p;
    struct agent *a = p->a;
    uint64_t now = proxy_now(p), seen = a ? catalog_index(a) + a->member_gen : 0;
    struct held *go;
    const char **reason;
    size_t n_go = 0;

    if (a && seen != ph->seen) {
        ph->seen = seen;
        for (size_t i = 0; i < ph->n; i++) {
            int done = 0;
            for (size_t k = 0; k < i && !done; k++)
                done = ph->h[k].rt == ph->h[i].rt;
            if (!done)
                proxy_route_refresh(p, ph->h[i].rt);
        }
        poll_remote(ph, now, 1);
    } else if (a) {
        poll_remote(ph, now, 0);
    }
    /* what goes on, taken out first: handing a connection back may hold it again */
    go = xcalloc(ph->n + 1, sizeof(*go));
    reason = xcalloc(ph->n + 1, sizeof(*reason));
    for (size_t i = 0; i < ph->n;) {
        struct held *x = &ph->h[i];
        if (a)
            place_act_used(a, x->rt->r.service);
        if (can_pick(x->rt)) {
            reason[n_go] = NULL;
        } else if (now >= x->deadline_ms) {
            reason[n_go] = "cold-start-timeout";
            ph->timeouts++;
        } else {
            i++;
            continue;
        }
        go[n_go++] = *x;
        drop(ph, i);
    }
    for (size_t i = 0; i < n_go; i++) {
        if (!reason[i]) {
            log_debug("proxy", "route %s: held %llu ms, an endpoint is ready", go[i].rt->r.name,
                      (unsigned long long)(now - go[i].since_ms));
            ph->released++;
            metrics_hist_observe(&ph->wait, (double)(now - go[i].since_ms) / 1000.0);
        }
        pconn_hold_end(go[i].c, reason[i]);
    }
    free(go);
    free(reason);
}

int phold_hold(struct proxy_route *rt, struct pconn *c)
{
    struct proxy *p = rt->p;
    struct proxy_hold *ph = p->hold;
    struct place_scale sc;
    uint64_t now = proxy_now(p);
    int rc;

    if (!ph || p->closing || rt->gone)
        return 0;
    if (p->w) {
        if (!rt->scales)
            return 0; /* the snapshot says: not a service that scales from zero */
        sc = rt->sc;
    } else {
        rc = place_act_request(p->a, rt->r.service, &sc);
        if (rc < 0)
            return 0; /* not a service that scales from zero: no-endpoints, as before */
    }
    /* a worker counts its holds with the other workers': the limit is the node's */
    if (ph->n >= PHOLD_MAX || (p->w ? !pworker_hold_take(p, rt->r.name, sc.queue_limit)
                                    : held_of(ph, rt) >= sc.queue_limit)) {
        ph->queue_full++;
        pconn_hold_end(c, "cold-start-queue-full");
        return 1;
    }
    if (ph->n == ph->cap) {
        ph->cap = ph->cap ? ph->cap * 2 : 16;
        ph->h = xrealloc(ph->h, ph->cap * sizeof(*ph->h));
    }
    ph->h[ph->n++] = (struct held){c, rt, now, now + sc.start_timeout_ms};
    pconn_hold_begin(c);
    if (p->w)
        pworker_cold_start(p, rt); /* the main loop starts it */
    if (!uv_is_active((uv_handle_t *)&ph->timer)) {
        ph->seen = 0; /* read the endpoints at the first poll */
        uv_timer_start(&ph->timer, on_poll, PHOLD_POLL_MS, PHOLD_POLL_MS);
    }
    return 1;
}

void phold_forget(struct proxy *p, struct pconn *c)
{
    struct proxy_hold *ph = p->hold;

    for (size_t i = 0; ph && i < ph->n; i++) {
        if (ph->h[i].c == c) {
            drop(ph, i);
            return;
        }
    }
}

void phold_remote(struct proxy *p, const char *route)
{
    struct proxy_hold *ph = p->hold;
    struct proxy_route *rt = proxy_route_find(p, route);
    struct place_scale sc;
    uint64_t now = proxy_now(p);
    size_t i;

    if (!ph || p->closing || !rt || place_act_request(p->a, rt->r.service, &sc) < 0)
        return;
    for (i = 0; i < ph->n_remote; i++)
        if (strcmp(ph->remote[i].route, route) == 0)
            break;
    if (i == ph->n_remote) {
        if (ph->n_remote == PHOLD_REMOTE_MAX)
            return; /* the worker's own wait ends it */
        snprintf(ph->remote[ph->n_remote++].route, sizeof(ph->remote[0].route), "%s", route);
    }
    ph->remote[i].deadline_ms = now + sc.start_timeout_ms;
    if (!uv_is_active((uv_handle_t *)&ph->timer)) {
        ph->seen = 0; /* read the endpoints at the first poll */
        uv_timer_start(&ph->timer, on_poll, PHOLD_POLL_MS, PHOLD_POLL_MS);
    }
}

void phold_report_take(struct proxy *p, struct phold_rep *r)
{
    struct proxy_hold *ph = p->hold;

    memset(r, 0, sizeof(*r));
    if (!ph)
        return;
    r->queue_full = ph->queue_full;
    r->timeouts = ph->timeouts;
    r->released = ph->released;
    r->held = (uint32_t)ph->n;
    r->wait = ph->wait;
    ph->queue_full = ph->timeouts = ph->released = 0;
    memset(&ph->wait, 0, sizeof(ph->wait));
}

void phold_report_add(struct proxy *p, uint32_t worker, const struct phold_rep *r)
{
    struct proxy_hold *ph = p->hold;

    if (!ph || worker >= p->n_workers)
        return;
    ph->queue_full += r->queue_full;
    ph->timeouts += r->timeouts;
    ph->released += r->released;
    metrics_hist_add(&ph->wait, &r->wait);
    ph->held_w[worker] = r->held;
}

void phold_open(struct proxy *p)
{
    struct proxy_hold *ph = xcalloc(1, sizeof(*ph));

    ph->p = p;
    if (p->n_workers)
        ph->held_w = xcalloc(p->n_workers, sizeof(*ph->held_w));
    uv_timer_init(p->loop, &ph->timer);
    ph->timer.data = ph;
    p->hold = ph;
}

static void hold_closed(uv_handle_t *h)
{
    struct proxy_hold *ph = h->data;

    free(ph->h);
    free(ph->held_w);
    free(ph);
}

void phold_close(struct proxy *p)
{
    struct proxy_hold *ph = p->hold;

    if (!ph)
        return;
    p->hold = NULL;
    uv_close((uv_handle_t *)&ph->timer, hold_closed);
}

void proxy_hold_write_metrics(struct agent *a, FILE *f)
{
    const struct proxy_hold *ph = a->proxy ? a->proxy->hold : NULL;
    uint64_t held;

    if (!ph)
        return;
    held = ph->n;
    for (uint32_t w = 0; ph->held_w && w < a->proxy->n_workers; w++)
        held += ph->held_w[w];
    metrics_head(f, "troupe_cold_start_seconds", "histogram",
                 "How long a connection held for a service at zero instances waited for an "
                 "instance to be ready.");
    metrics_hist_write(f, "troupe_cold_start_seconds", "", &ph->wait);
    metrics_one(f, "troupe_cold_start_queue_depth", "gauge",
                "Connections held now while their service starts from zero.", held);
    metrics_head(f, "troupe_cold_start_refused_total", "counter",
                 "Held connections answered 503, by x-troupe-reason.");
    fprintf(f, "troupe_cold_start_refused_total{reason=\"cold-start-queue-full\"} %llu\n",
            (unsigned long long)ph->queue_full);
    fprintf(f, "troupe_cold_start_refused_total{reason=\"cold-start-timeout\"} %llu\n",
            (unsigned long long)ph->timeouts);
}
