/* proxy_worker: the proxy's threads (--proxy-workers N). Each worker has
 * its own uv loop, its own struct proxy (routes, listeners bound with
 * SO_REUSEPORT so the kernel spreads connections over the workers,
 * balancer state, upstream pools, retry budgets, counters) and reads
 * nothing of the agent: what it knows of the cluster comes in an
 * immutable snapshot (routes, endpoints, whether a service starts from
 * zero) that the main loop publishes after each change (a pointer swapped
 * under a mutex, a reference count, uv_async_send to every worker).
 * What a worker did goes back the other way: every PW_REPORT_MS a report
 * per route (counter deltas, responses by version and latency, balancer
 * state of each endpoint, pooled connections) and at once a cold start
 * asked for, on one queue under the same mutex with a uv_async on the
 * main loop, which adds them to its own routes: /metrics, the API views,
 * the load records and the history read only the main loop's routes.
 *
 * A route's limits hold for the node: a route with max_requests below N
 * is served by max_requests workers only, and each serving worker takes
 * its share of max_requests and max_pending (the shares add up to the
 * route's numbers). Not here: the catalog (proxy.c), the connections
 * (proxy_conn.c), what the views show (proxy_obs.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/log.h"
#include "agent/place/place_drive.h"
#include "agent/proxy/pconn.h"
#include "agent/proxy/proxy_impl.h"
#include "core/mem.h"

#define PW_REPORT_MS 100  /* how often a worker reports; the views lag by this */
#define PW_QUEUE_MAX 4096 /* reports and requests waiting for the main loop */
#define PW_COUNTS    16   /* the counters a report carries, as struct proxy_route.sent */

/* ---- the snapshot: what the main loop publishes ---- */

struct psnap_route {
    struct route r;
    struct bal_ep *eps; /* heap, n: key, version, local (the state is each worker's) */
    struct sockaddr_storage *addrs;
    size_t n;
    int scales; /* the service starts from zero: sc holds its scale fields */
    struct place_scale sc;
};

struct psnap {
    int refs; /* under pworkers.mu */
    uint64_t gen;
    struct psnap_route *rt; /* heap, n */
    size_t n;
};

/* ---- what a worker reports ---- */

struct pw_rroute {
    char name[ROUTE_NAME_MAX + 1];
    uint16_t port;
    int tcp;
    uint64_t d[PW_COUNTS]; /* counter deltas since the last report */
    struct proxy_vstat v[PROXY_VERSIONS_MAX];
    size_t n_v;
    struct metrics_hist dur; /* latencies since the last report */
    struct pw_seen seen;     /* seen.ep: heap, handed to the main loop */
};

enum pw_kind { PW_REPORT, PW_COLD };

struct pw_msg {
    struct pw_msg *next;
    enum pw_kind kind;
    uint32_t worker;
    char route[ROUTE_NAME_MAX + 1]; /* PW_COLD */
    struct pw_rroute *r;            /* PW_REPORT: heap, n */
    size_t n;
    struct phold_rep hold;
};

struct pworker {
    struct pworkers *ws;
    uint32_t idx;
    uv_thread_t tid;
    uv_loop_t loop;
    uv_async_t wake;  /* a snapshot, or stop */
    uv_timer_t timer; /* reports */
    struct proxy p;   /* p.w = this */
    struct psnap *snap;
    int started;
};

/* Connections the workers hold for a cold start of one route: the
 * route's queue_limit is the node's, whichever worker holds them. */
#define PW_HELD_ROUTES 256
struct pw_held {
    char route[ROUTE_NAME_MAX + 1];
    uint32_t n;
};

struct pworkers {
    struct proxy *main;
    uv_mutex_t mu; /* snap, its refs, the queue, held, stop */
    struct pw_held held[PW_HELD_ROUTES];
    size_t n_held;
    struct psnap *snap;
    uint64_t gen;
    struct pw_msg *q_head, *q_tail;
    size_t q_len;
    uint64_t q_dropped;
    int stop;
    uv_async_t wake;   /* main loop: reports came */
    struct pworker *w; /* heap, n */
    uint32_t n;
    uint64_t *requests; /* heap, n: what each worker served (main loop) */
};

static void snap_unref(struct pworkers *ws, struct psnap *s)
{
    int last;

    if (!s)
        return;
    uv_mutex_lock(&ws->mu);
    last = --s->refs == 0;
    uv_mutex_unlock(&ws->mu);
    if (!last)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->rt[i].eps);
        free(s->rt[i].addrs);
    }
    free(s->rt);
    free(s);
}

static void msg_free(struct pw_msg *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->r[i].seen.ep);
    free(m->r);
    free(m);
}

/* ---- in a worker ---- */

/* The counters of a route, in the order of a report's d[]. */
static void counts_of(struct proxy_route *rt, uint64_t *c)
{
    uint64_t v[PW_COUNTS] = {rt->conns,
                             rt->requests,
                             rt->no_endpoints,
                             rt->connect_failures,
                             rt->retries,
                             rt->timeouts,
                             rt->budget_exhausted,
                             rt->overloaded,
                             rt->idle_closed,
                             rt->resp_2xx,
                             rt->resp_3xx,
                             rt->resp_4xx,
                             rt->resp_5xx,
                             rt->bal.ejections_total,
                             rt->pub_requests,
                             rt->busy_area_ms};
    memcpy(c, v, sizeof(v));
}

static void counts_add(struct proxy_route *rt, const uint64_t *d)
{
    rt->conns += d[0];
    rt->requests += d[1];
    rt->no_endpoints += d[2];
    rt->connect_failures += d[3];
    rt->retries += d[4];
    rt->timeouts += d[5];
    rt->budget_exhausted += d[6];
    rt->overloaded += d[7];
    rt->idle_closed += d[8];
    rt->resp_2xx += d[9];
    rt->resp_3xx += d[10];
    rt->resp_4xx += d[11];
    rt->resp_5xx += d[12];
    rt->bal.ejections_total += d[13];
    rt->pub_requests += d[14];
    rt->busy_area_ms += d[15];
}

static void push(struct pworkers *ws, struct pw_msg *m)
{
    int dropped = 0;

    uv_mutex_lock(&ws->mu);
    if (ws->stop || ws->q_len >= PW_QUEUE_MAX) {
        ws->q_dropped++;
        dropped = 1;
    } else {
        if (ws->q_tail)
            ws->q_tail->next = m;
        else
            ws->q_head = m;
        ws->q_tail = m;
        ws->q_len++;
    }
    uv_mutex_unlock(&ws->mu);
    if (dropped)
        msg_free(m);
    else
        uv_async_send(&ws->wake);
}

static void report(struct pworker *w)
{
    struct proxy *p = &w->p;
    struct pw_msg *m = xcalloc(1, sizeof(*m));
    size_t n = 0, k = 0;

    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        n++;
    m->kind = PW_REPORT;
    m->worker = w->idx;
    m->r = n ? xcalloc(n, sizeof(*m->r)) : NULL;
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next, k++) {
        struct pw_rroute *x = &m->r[k];
        uint64_t cur[PW_COUNTS];

        proxy_route_busy(rt, 0); /* the area up to now */
        counts_of(rt, cur);
        for (int i = 0; i < PW_COUNTS; i++)
            x->d[i] = cur[i] - rt->sent[i];
        memcpy(rt->sent, cur, sizeof(cur));
        snprintf(x->name, sizeof(x->name), "%s", rt->r.name);
        x->port = rt->r.port;
        x->tcp = rt->r.protocol == ROUTE_TCP;
        /* responses and latencies: taken, the worker keeps none */
        memcpy(x->v, rt->st.v, sizeof(x->v));
        x->n_v = rt->st.n_v;
        x->dur = rt->st.dur;
        memset(&rt->st, 0, sizeof(rt->st));
        x->seen.n = rt->bal.n;
        x->seen.ep = rt->bal.n ? xcalloc(rt->bal.n, sizeof(*x->seen.ep)) : NULL;
        for (size_t i = 0; i < rt->bal.n; i++) {
            const struct bal_ep *ep = &rt->bal.ep[i];
            struct pw_ep *o = &x->seen.ep[i];
            snprintf(o->key, sizeof(o->key), "%s", ep->key);
            o->outstanding = ep->outstanding;
            o->failures = ep->failures;
            o->ejections = ep->ejections;
            o->cost_ms = ep->cost_ms;
            o->ejected_until = ep->ejected_until;
        }
        x->seen.n_idle = (uint32_t)rt->n_idle;
        x->seen.listening = rt->listening;
    }
    m->n = n;
    for (struct pconn *c = p->conns; c; c = pconn_next(c)) {
        if (!pconn_has_upstream(c))
            continue;
        for (k = 0; k < n; k++)
            if (strcmp(m->r[k].name, c->rt->r.name) == 0)
                break;
        if (k < n)
            m->r[k].seen.busy_up++;
    }
    phold_report_take(p, &m->hold);
    push(w->ws, m);
}

int pworker_hold_take(struct proxy *p, const char *route, uint32_t limit)
{
    struct pworkers *ws = p->w->ws;
    struct pw_held *h = NULL;
    int ok = 1;

    uv_mutex_lock(&ws->mu);
    for (size_t i = 0; i < ws->n_held && !h; i++)
        if (strcmp(ws->held[i].route, route) == 0)
            h = &ws->held[i];
    if (!h && ws->n_held < PW_HELD_ROUTES) {
        h = &ws->held[ws->n_held++];
        snprintf(h->route, sizeof(h->route), "%s", route);
        h->n = 0;
    }
    if (h && h->n >= limit)
        ok = 0;
    else if (h)
        h->n++;
    uv_mutex_unlock(&ws->mu);
    return ok;
}

void pworker_hold_give(struct proxy *p, const char *route)
{
    struct pworkers *ws = p->w->ws;

    uv_mutex_lock(&ws->mu);
    for (size_t i = 0; i < ws->n_held; i++) {
        if (strcmp(ws->held[i].route, route) != 0)
            continue;
        if (ws->held[i].n && --ws->held[i].n == 0)
            ws->held[i] = ws->held[--ws->n_held];
        break;
    }
    uv_mutex_unlock(&ws->mu);
}

void pworker_cold_start(struct proxy *p, struct proxy_route *rt)
{
    struct pw_msg *m = xcalloc(1, sizeof(*m));

    m->kind = PW_COLD;
    m->worker = p->w->idx;
    snprintf(m->route, sizeof(m->route), "%s", rt->r.name);
    push(p->w->ws, m);
}

static void on_report(uv_timer_t *t)
{
    struct pworker *w = t->data;
    uint64_t now = uv_now(&w->loop);

    for (struct proxy_route *rt = w->p.routes; rt; rt = rt->next)
        pconn_pool_sweep(rt, now); /* idle upstream connections past their time */
    report(w);
}

/* Worker idx of n serves a route with this many slots: the first
 * max_requests workers when there are fewer slots than workers. Its share
 * of a count split over the k serving workers. */
static uint32_t share(uint32_t total, uint32_t k, uint32_t idx)
{
    return total / k + (idx < total % k ? 1 : 0);
}

/* The newest snapshot, applied to this worker's routes. */
static void take_snapshot(struct pworker *w)
{
    struct pworkers *ws = w->ws;
    struct psnap *s;
    struct route *rs;
    size_t n = 0;

    uv_mutex_lock(&ws->mu);
    s = ws->snap;
    if (s == w->snap)
        s = NULL;
    else if (s)
        s->refs++;
    uv_mutex_unlock(&ws->mu);
    if (!s)
        return;
    rs = s->n ? xcalloc(s->n, sizeof(*rs)) : NULL;
    for (size_t i = 0; i < s->n; i++) {
        struct route r = s->rt[i].r;
        uint32_t k = r.max_requests < ws->n ? r.max_requests : ws->n;
        if (k == 0)
            k = 1;
        if (w->idx >= k)
            continue; /* too few slots for every worker: the first k serve it */
        r.max_requests = share(r.max_requests, k, w->idx);
        r.max_pending = share(r.max_pending, k, w->idx);
        rs[n++] = r;
    }
    proxy_routes_apply(&w->p, rs, n);
    for (size_t i = 0; i < s->n; i++) {
        struct proxy_route *rt = proxy_route_find(&w->p, s->rt[i].r.name);
        if (!rt)
            continue;
        rt->scales = s->rt[i].scales;
        rt->sc = s->rt[i].sc;
        proxy_route_set_eps(rt, s->rt[i].eps, s->rt[i].addrs, s->rt[i].n);
    }
    free(rs);
    snap_unref(ws, w->snap); /* the old one: this worker is done with it */
    w->snap = s;
}

static void on_worker_closed(uv_handle_t *h)
{
    (void)h; /* the memory is the worker's, freed once joined */
}

static void on_wake(uv_async_t *a)
{
    struct pworker *w = a->data;
    int stop;

    uv_mutex_lock(&w->ws->mu);
    stop = w->ws->stop;
    uv_mutex_unlock(&w->ws->mu);
    if (!stop) {
        take_snapshot(w);
        return;
    }
    proxy_shut(&w->p);
    uv_close((uv_handle_t *)&w->timer, on_worker_closed);
    uv_close((uv_handle_t *)&w->wake, on_worker_closed);
}

static void worker_main(void *arg)
{
    struct pworker *w = arg;
    char name[16];

    /* "proxy-N" in top -H, ps -L and /proc/PID/task/TID/comm */
    snprintf(name, sizeof(name), "proxy-%u", w->idx);
    pthread_setname_np(pthread_self(), name);

    take_snapshot(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* ---- on the main loop ---- */

static void apply_report(struct proxy *p, struct pw_msg *m)
{
    struct pworkers *ws = p->ws;

    phold_report_add(p, m->worker, &m->hold);
    for (size_t i = 0; i < m->n; i++) {
        struct pw_rroute *x = &m->r[i];
        struct proxy_route *rt = proxy_route_find(p, x->name);
        struct pw_seen *seen;

        ws->requests[m->worker] += x->tcp ? x->d[0] : x->d[1];
        if (!rt || rt->r.port != x->port || !rt->wseen)
            continue; /* gone since: its counts go with it */
        counts_add(rt, x->d);
        for (size_t k = 0; k < x->n_v; k++)
            proxy_obs_add(rt, &x->v[k]);
        metrics_hist_add(&rt->st.dur, &x->dur);
        metrics_hist_add(&rt->st.win[0], &x->dur);
        seen = &rt->wseen[m->worker];
        free(seen->ep);
        *seen = x->seen;
        x->seen.ep = NULL; /* the route's now */
    }
}

static void on_main_wake(uv_async_t *a)
{
    struct proxy *p = a->data;
    struct pworkers *ws = p->ws;
    struct pw_msg *m;

    uv_mutex_lock(&ws->mu);
    m = ws->q_head;
    ws->q_head = ws->q_tail = NULL;
    ws->q_len = 0;
    uv_mutex_unlock(&ws->mu);
    while (m) {
        struct pw_msg *next = m->next;
        if (m->kind == PW_REPORT)
            apply_report(p, m);
        else
            phold_remote(p, m->route);
        msg_free(m);
        m = next;
    }
}

void pworkers_publish(struct proxy *p)
{
    struct pworkers *ws = p->ws;
    struct psnap *s, *old;
    size_t n = 0, k = 0;

    if (!ws)
        return;
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next)
        n++;
    s = xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->rt = n ? xcalloc(n, sizeof(*s->rt)) : NULL;
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next, k++) {
        struct psnap_route *x = &s->rt[k];
        x->r = rt->r;
        x->n = rt->bal.n;
        if (x->n) {
            x->eps = xcalloc(x->n, sizeof(*x->eps));
            x->addrs = xcalloc(x->n, sizeof(*x->addrs));
            for (size_t i = 0; i < x->n; i++) {
                x->eps[i] = rt->bal.ep[i]; /* key, version, local: the rest is reset by bal_set */
                x->eps[i].ud = NULL;
            }
            memcpy(x->addrs, rt->addrs, x->n * sizeof(*x->addrs));
        }
        x->scales = place_act_scale(p->a, rt->r.service, &x->sc) == 0;
    }
    s->n = n;
    uv_mutex_lock(&ws->mu);
    old = ws->snap;
    s->gen = ++ws->gen;
    ws->snap = s;
    uv_mutex_unlock(&ws->mu);
    snap_unref(ws, old); /* the publisher's reference; workers hold their own */
    for (uint32_t i = 0; i < ws->n; i++)
        uv_async_send(&ws->w[i].wake);
}

uint64_t pworkers_requests(const struct proxy *p, uint32_t i)
{
    return p->ws && i < p->ws->n ? p->ws->requests[i] : 0;
}

uint64_t pworkers_dropped(const struct proxy *p)
{
    uint64_t n;

    if (!p->ws)
        return 0;
    uv_mutex_lock(&p->ws->mu);
    n = p->ws->q_dropped;
    uv_mutex_unlock(&p->ws->mu);
    return n;
}

int pworkers_start(struct proxy *p, uint32_t n, struct err *e)
{
    struct pworkers *ws = xcalloc(1, sizeof(*ws));
    int rc;

    ws->main = p;
    ws->n = n;
    ws->w = xcalloc(n, sizeof(*ws->w));
    ws->requests = xcalloc(n, sizeof(*ws->requests));
    uv_mutex_init(&ws->mu);
    uv_async_init(p->loop, &ws->wake, on_main_wake);
    ws->wake.data = p;
    p->ws = ws;
    p->n_workers = n;
    for (uint32_t i = 0; i < n; i++) {
        struct pworker *w = &ws->w[i];
        w->ws = ws;
        w->idx = i;
        uv_loop_init(&w->loop);
        w->p.loop = &w->loop;
        w->p.w = w;
        w->p.bind = p->bind;
        uv_async_init(&w->loop, &w->wake, on_wake);
        w->wake.data = w;
        uv_timer_init(&w->loop, &w->timer);
        w->timer.data = w;
        uv_timer_start(&w->timer, on_report, PW_REPORT_MS, PW_REPORT_MS);
        phold_open(&w->p);
        if ((rc = uv_thread_create(&w->tid, worker_main, w)) < 0) {
            err_set(e, rc, "proxy worker %u: %s", i, uv_strerror(rc));
            pworkers_stop(p);
            return rc;
        }
        w->started = 1;
    }
    log_info("proxy", "%u worker threads serve the route listeners", n);
    return 0;
}

static void on_main_wake_closed(uv_handle_t *h)
{
    struct pworkers *ws = h->data;

    free(ws->requests);
    free(ws);
}

void pworkers_stop(struct proxy *p)
{
    struct pworkers *ws = p->ws;
    struct pw_msg *m;

    if (!ws)
        return;
    uv_mutex_lock(&ws->mu);
    ws->stop = 1;
    uv_mutex_unlock(&ws->mu);
    for (uint32_t i = 0; i < ws->n; i++) {
        struct pworker *w = &ws->w[i];
        if (!w->started) {
            /* never ran: its handles close on its own loop here */
            phold_close(&w->p);
            uv_close((uv_handle_t *)&w->timer, on_worker_closed);
            uv_close((uv_handle_t *)&w->wake, on_worker_closed);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        } else {
            uv_async_send(&w->wake);
            uv_thread_join(&w->tid);
        }
        if (uv_loop_close(&w->loop) != 0)
            log_warn("proxy", "worker %u: its loop still had handles at stop", i);
        snap_unref(ws, w->snap);
        w->snap = NULL;
    }
    snap_unref(ws, ws->snap);
    ws->snap = NULL;
    for (m = ws->q_head; m;) {
        struct pw_msg *next = m->next;
        msg_free(m);
        m = next;
    }
    ws->q_head = ws->q_tail = NULL;
    uv_mutex_destroy(&ws->mu);
    free(ws->w);
    ws->w = NULL;
    p->ws = NULL;
    ws->wake.data = ws;
    uv_close((uv_handle_t *)&ws->wake, on_main_wake_closed);
}
