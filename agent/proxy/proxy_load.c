/* proxy_load: what this node's proxy tells the cluster about the load of
 * each service, for the autoscaler (agent/place sums it, core/autoscale
 * decides). Every PROXY_LOAD_MS it writes one CRDT_LOAD record per service
 * with a route here (a single writer: this node, key: the service): the
 * requests in flight averaged over the period (time-weighted, from the
 * moment a request reaches an endpoint to its response head; a tcp
 * connection's whole life), the requests per second, and the metric the
 * service reported here if any. A record is written only when its bytes
 * change, so an idle cluster gossips nothing; a service with no route and
 * no metric here any more gets a tombstone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/proxy/proxy.h"
#include "agent/proxy/proxy_impl.h"
#include "core/autoscale.h"
#include "core/crdt.h"
#include "core/mem.h"
#include "core/repl.h"

#define PROXY_LOAD_MS 2000 /* the publishing period */
#define LOAD_SVCS_MAX 256  /* services published by one node */

void proxy_route_busy(struct proxy_route *rt, int delta)
{
    uint64_t now = proxy_now(rt->p);

    rt->busy_area_ms += (uint64_t)rt->inflight * (now - rt->busy_at_ms);
    rt->busy_at_ms = now;
    if (delta > 0)
        rt->inflight++;
    else if (delta < 0 && rt->inflight)
        rt->inflight--;
}

struct agg {
    char service[ROUTE_NAME_MAX + 1];
    uint64_t area_ms, requests;
    int has_metric;
    double metric;
};

static struct agg *agg_of(struct agg *g, size_t *n, const char *service)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(g[i].service, service) == 0)
            return &g[i];
    if (*n == LOAD_SVCS_MAX)
        return NULL;
    memset(&g[*n], 0, sizeof(g[*n]));
    snprintf(g[*n].service, sizeof(g[*n].service), "%s", service);
    return &g[(*n)++];
}

struct own {
    struct agg *g;
    size_t n;
    char (*gone)[CRDT_KEY_MAX + 1];
    size_t n_gone;
};

static int own_cb(void *ud, const struct crdt_rec *r)
{
    struct own *o = ud;

    if (r->kind != CRDT_LOAD || r->deleted || o->n_gone == LOAD_SVCS_MAX)
        return 0;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->g[i].service, r->key) == 0)
            return 0;
    snprintf(o->gone[o->n_gone++], CRDT_KEY_MAX + 1, "%s", r->key);
    return 0;
}

static uint32_t milli(double v)
{
    v = v * 1000 + 0.5;
    return v >= 4294967295.0 ? UINT32_MAX : v <= 0 ? 0 : (uint32_t)v;
}

static int publish(struct proxy *p, const struct agg *g, uint64_t period_ms, struct err *e)
{
    struct agent *a = p->a;
    const char *self = swim_self(a->swim)->name;
    const struct crdt_rec *old = crdt_get(a->catalog->crdt, self, CRDT_LOAD, g->service);
    struct as_load l = {0};
    uint8_t buf[AS_LOAD_BYTES_MAX];
    size_t n;
    int rc;

    l.inflight_milli = milli((double)g->area_ms / (double)period_ms);
    l.rate_milli = milli((double)g->requests * 1000.0 / (double)period_ms);
    if (g->has_metric) {
        l.has_metric = 1;
        l.metric_milli = g->metric <= 0 ? 0 : (uint64_t)llround(g->metric * 1000);
    }
    n = as_load_encode(&l, buf, sizeof(buf));
    if (old && !old->deleted && old->len == n && memcmp(old->val, buf, n) == 0)
        return 0;
    if ((rc = repl_put(a->catalog->repl, agent_wall_ms(), CRDT_LOAD, g->service, buf, (uint32_t)n,
                       e)) < 0)
        return rc;
    p->load.puts++;
    p->load.bytes += n + strlen(g->service);
    return 1;
}

void proxy_load_tick(struct proxy *p)
{
    struct agent *a = p->a;
    uint64_t now = proxy_now(p), period;
    struct agg *g;
    size_t n = 0;
    struct own o = {0};
    int changed = 0;
    struct err e;

    if (p->load_pub_ms && now < p->load_pub_ms + PROXY_LOAD_MS)
        return;
    period = p->load_pub_ms ? now - p->load_pub_ms : PROXY_LOAD_MS;
    p->load_pub_ms = now;
    if (!a->catalog || !period)
        return;
    g = xcalloc(LOAD_SVCS_MAX, sizeof(*g));
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        struct agg *x;
        proxy_route_busy(rt, 0); /* the area up to now */
        if (!(x = agg_of(g, &n, rt->r.service)))
            continue;
        x->area_ms += rt->busy_area_ms;
        x->requests += rt->pub_requests;
        rt->busy_area_ms = 0;
        rt->pub_requests = 0;
    }
    for (size_t i = 0; i < p->n_metrics;) {
        struct proxy_metric *m = &p->metrics[i];
        struct agg *x;
        if (now - m->at_ms > PROXY_METRIC_TTL_MS) {
            *m = p->metrics[--p->n_metrics];
            continue;
        }
        if ((x = agg_of(g, &n, m->service))) {
            x->has_metric = 1;
            x->metric = m->value;
        }
        i++;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = publish(p, &g[i], period, &e);
        if (rc < 0)
            log_warn("proxy", "load of %s not published: %s", g[i].service, e.msg);
        changed |= rc > 0;
    }
    o.g = g;
    o.n = n;
    o.gone = xcalloc(LOAD_SVCS_MAX, sizeof(*o.gone));
    crdt_scan_origin(a->catalog->crdt, swim_self(a->swim)->name, own_cb, &o);
    for (size_t i = 0; i < o.n_gone; i++) {
        if (repl_del(a->catalog->repl, agent_wall_ms(), CRDT_LOAD, o.gone[i], &e) < 0) {
            log_warn("proxy", "load of %s not withdrawn: %s", o.gone[i], e.msg);
            continue;
        }
        p->load.dels++;
        changed = 1;
    }
    free(o.gone);
    free(g);
    if (changed) {
        if (catalog_save(a, &e) < 0)
            log_warn("proxy", "load records not saved: %s", e.msg);
        agent_drive(a);
    }
}

int proxy_metric_set(struct agent *a, const char *service, double value, struct err *e)
{
    struct proxy *p = a->proxy;
    struct proxy_metric *m = NULL;

    if (!p)
        return err_set(e, -ENODEV, "the proxy is not running");
    for (size_t i = 0; i < p->n_metrics && !m; i++)
        if (strcmp(p->metrics[i].service, service) == 0)
            m = &p->metrics[i];
    if (!m) {
        if (p->n_metrics == PROXY_METRICS_MAX) {
            p->load.metrics_dropped++;
            return err_set(e, -ENOSPC, "metric: %d services report already", PROXY_METRICS_MAX);
        }
        m = &p->metrics[p->n_metrics++];
        snprintf(m->service, sizeof(m->service), "%s", service);
    }
    m->value = value;
    m->at_ms = proxy_now(p);
    return 0;
}

void proxy_load_write_metrics(struct agent *a, FILE *f)
{
    const struct proxy *p = a->proxy;

    if (!p)
        return;
    metrics_one(f, "troupe_autoscale_load_records_written_total", "counter",
                "Load records this node wrote for the autoscaler (a change of its load).",
                p->load.puts);
    metrics_one(f, "troupe_autoscale_load_record_bytes_total", "counter",
                "Bytes of key and value of those records, before gossip's framing.", p->load.bytes);
    metrics_one(f, "troupe_autoscale_reported_metrics", "gauge",
                "Services whose queue length or latency was reported on this node.", p->n_metrics);
}
