/* place_act: cold starts on this node (see place_drive.h). A cluster spec
 * with "scale" places scale.min slots as any spec; when a route of its
 * service gets a connection and no instance serves it, the proxy holds the
 * connection and asks here: this node runs one more instance of the spec
 * (slot PLACE_ACT_SLOT, beside the placed ones), its checks probed every
 * few ms until they pass. Every request through this node's proxy for the
 * service marks it used; after scale.idle_after_ms without one, the
 * instance leaves the catalog (proxies stop choosing it, what it serves
 * finishes) and PLACE_ACT_DRAIN_MS later (at most idle_after_ms) it stops.
 *
 * A node that may not run the spec (it lacks a tag its constraints ask
 * for) writes a demand record instead, the replicated KV entry
 * PLACE_DEMAND_PREFIX + NAME ("NODE WALL_MS"), and writes it again while
 * its proxy keeps sending requests to the service (every half
 * idle_after_ms). Every agent reads the demands: the eligible member that
 * ranks first for (NAME, PLACE_ACT_SLOT) by rendezvous hashing starts the
 * instance and counts a fresh demand as a use. Not here: holding the
 * connections (agent/proxy/proxy_hold.c), running the slots
 * (place_drive.c, the supervisor). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/place/place_drive.h"
#include "agent/super/super.h"
#include "core/cat.h"
#include "core/mem.h"
#include "core/place.h"
#include "core/repl.h"

/* out of the catalog this long (at most idle_after_ms) before the stop:
 * gossip reaches the other proxies, what they sent finishes */
#define PLACE_ACT_DRAIN_MS  2000
#define PLACE_ACT_MAX       PLACE_SPECS_MAX
#define PLACE_DEMAND_PREFIX "troupe/cold-start/"
#define PLACE_DEMAND_MIN_MS 1000 /* a demand is written again at most this often */

/* One cold-started instance of a spec on this node. */
struct act {
    char name[64];
    uint32_t idle_after_ms;
    uint64_t started_ms, used_ms; /* loop clock */
    uint64_t drain_ms;            /* 0: serving; else when it left the catalog */
    uint64_t demand_wall;         /* the newest demand record counted as a use */
};

/* A service this node may not run but sends requests to: its demand record. */
struct demand {
    char name[64];
    uint32_t idle_after_ms;
    uint64_t written_ms, used_ms; /* loop clock */
};

struct place_act {
    struct act *a;
    size_t n;
    struct demand *d;
    size_t n_d;
    uint64_t starts, idle_stops, refused, demands;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static struct act *act_find(struct place_act *pa, const char *name)
{
    for (size_t i = 0; pa && i < pa->n; i++)
        if (strcmp(pa->a[i].name, name) == 0)
            return &pa->a[i];
    return NULL;
}

void place_act_open(struct agent *a)
{
    a->place_act = xcalloc(1, sizeof(*a->place_act));
}

void place_act_close(struct agent *a)
{
    if (!a->place_act)
        return;
    free(a->place_act->a);
    free(a->place_act->d);
    free(a->place_act);
    a->place_act = NULL;
}

uint64_t place_act_slots(struct agent *a, const char *name)
{
    return act_find(a->place_act, name) ? 1ull << PLACE_ACT_SLOT : 0;
}

/* The spec of service from the replica, when it has "scale": 1, else 0. */
static int scale_spec(struct agent *a, const char *service, struct place_spec *p)
{
    const struct crdt_rec *w = crdt_lww(a->catalog->crdt, CRDT_SPEC, service);
    struct err e;

    if (!w || w->deleted || place_spec_check((const char *)w->val, w->len, p, &e) < 0)
        return 0;
    return p->scale.set && strcmp(p->name, service) == 0;
}

/* The member carries every tag the spec's constraints ask for. */
static int eligible(const struct swim_member *m, const struct place_spec *p)
{
    struct tags t;

    memset(&t, 0, sizeof(t));
    if (m->tags_len && tags_decode(&t, m->tags, m->tags_len, NULL) < 0)
        return 0;
    for (size_t i = 0; i < p->constraints.n; i++) {
        int ok = 0;
        for (size_t k = 0; k < t.n && !ok; k++)
            ok = strcmp(t.t[k].key, p->constraints.t[i].key) == 0 &&
                 strcmp(t.t[k].val, p->constraints.t[i].val) == 0;
        if (!ok)
            return 0;
    }
    return 1;
}

static int eligible_here(struct agent *a, const struct place_spec *p)
{
    return eligible(swim_self(a->swim), p);
}

/* This node is the eligible alive member that ranks first for the spec's
 * cold-start slot: the one that answers a demand record. */
static int first_eligible(struct agent *a, const struct place_spec *p)
{
    const struct swim_member *best = NULL;
    uint64_t best_score = 0;

    for (size_t i = 0; i < swim_member_count(a->swim); i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        uint64_t sc;
        if (m->state != SWIM_ALIVE || !eligible(m, p))
            continue;
        sc = place_score(p->name, PLACE_ACT_SLOT, m->name);
        if (!best || sc > best_score) {
            best = m;
            best_score = sc;
        }
    }
    return best && best == swim_self(a->swim);
}

static struct demand *demand_find(struct place_act *pa, const char *name)
{
    for (size_t i = 0; pa && i < pa->n_d; i++)
        if (strcmp(pa->d[i].name, name) == 0)
            return &pa->d[i];
    return NULL;
}

/* Writes the demand record of name now (throttled). */
static void demand_write(struct agent *a, struct demand *d, uint64_t now)
{
    char key[96], val[96];
    struct err e;
    int n;

    if (d->written_ms && now - d->written_ms < PLACE_DEMAND_MIN_MS)
        return;
    d->written_ms = now;
    snprintf(key, sizeof(key), "%s%s", PLACE_DEMAND_PREFIX, d->name);
    n = snprintf(val, sizeof(val), "%s %llu", swim_self(a->swim)->name,
                 (unsigned long long)agent_wall_ms());
    if (repl_put(a->catalog->repl, agent_wall_ms(), CRDT_KV, key, val, (uint32_t)n, &e) < 0) {
        log_warn("place", "%s: demand not written: %s", d->name, e.msg);
        return;
    }
    a->place_act->demands++;
    catalog_changed(a);
    agent_drive(a);
}

/* A connection waits here for a service this node may not run: ask. */
static void demand(struct agent *a, const struct place_spec *p)
{
    struct place_act *pa = a->place_act;
    struct demand *d = demand_find(pa, p->name);
    uint64_t now = uv_now(&a->loop);

    if (!d) {
        if (pa->n_d == PLACE_ACT_MAX)
            return;
        pa->d = xrealloc(pa->d, (pa->n_d + 1) * sizeof(*pa->d));
        d = &pa->d[pa->n_d++];
        memset(d, 0, sizeof(*d));
        snprintf(d->name, sizeof(d->name), "%s", p->name);
        log_info("place", "%s: cold start: this node may not run it, asking the cluster", p->name);
    }
    d->idle_after_ms = p->scale.idle_after_ms;
    d->used_ms = now;
    demand_write(a, d, now);
}

/* Instances of service in the catalog, on serving nodes, whatever their health. */
static size_t instances(struct agent *a, const char *service)
{
    struct cat_view v;
    struct cat_entry *es = NULL;
    size_t n = 0;

    catalog_view(a, &v);
    if (cat_service_entries(&v, service, NULL, CAT_CRITICAL, 1, &es, &n, NULL) < 0)
        return 0;
    cat_entries_free(es, n);
    return n;
}

/* One more instance of p here, slot PLACE_ACT_SLOT (the caller checked there is room). */
static void act_start(struct agent *a, const struct place_spec *p, const char *why)
{
    struct place_act *pa = a->place_act;
    struct act *x;

    pa->a = xrealloc(pa->a, (pa->n + 1) * sizeof(*pa->a));
    x = &pa->a[pa->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "%s", p->name);
    x->idle_after_ms = p->scale.idle_after_ms;
    x->started_ms = x->used_ms = uv_now(&a->loop);
    pa->starts++;
    log_info("place", "%s: cold start (%s): starting an instance here", p->name, why);
    history_add(a, "cold-start", p->name, "%s: instance %u starts on this node", why,
                PLACE_ACT_SLOT);
    place_drive_now(a);
}

int place_act_request(struct agent *a, const char *service, struct place_scale *sc)
{
    struct place_act *pa = a->place_act;
    struct place_spec p;
    struct act *x;
    struct err e;
    uint64_t now = uv_now(&a->loop);

    if (!pa || !a->super || !scale_spec(a, service, &p))
        return -ENOENT;
    *sc = p.scale;
    if ((x = act_find(pa, service))) {
        x->used_ms = now;
        x->idle_after_ms = p.scale.idle_after_ms;
        if (x->drain_ms) {
            /* a request while it drained: back in the catalog at once */
            x->drain_ms = 0;
            if (super_drain(a->super, service, PLACE_ACT_SLOT, 0, "a request came", &e) < 0)
                log_warn("place", "%s: %s", service, e.msg);
        }
        return 1;
    }
    if (!eligible_here(a, &p)) {
        demand(a, &p); /* the first eligible member starts it */
        return 0;
    }
    if (instances(a, service) >= p.scale.max || pa->n == PLACE_ACT_MAX) {
        pa->refused++;
        return 0; /* an instance starts or runs elsewhere: wait for its endpoint */
    }
    act_start(a, &p, "a connection waits");
    return 1;
}

int place_act_scale(struct agent *a, const char *service, struct place_scale *sc)
{
    struct place_spec p;

    if (!a->place_act || !a->super || !scale_spec(a, service, &p))
        return -ENOENT;
    *sc = p.scale;
    return 0;
}

void place_act_used(struct agent *a, const char *service)
{
    struct act *x = act_find(a->place_act, service);
    struct demand *d = demand_find(a->place_act, service);
    uint64_t now = uv_now(&a->loop);

    if (x && !x->drain_ms)
        x->used_ms = now;
    if (d) {
        /* requests go to an instance elsewhere: keep it from going idle */
        d->used_ms = now;
        if (now - d->written_ms >= d->idle_after_ms / 2)
            demand_write(a, d, now);
    }
}

struct demand_scan {
    const struct crdt *c;
    const char *last;
    struct {
        char service[64];
        unsigned long long wall;
    } * want; /* heap */
    size_t n;
};

/* The live demand records, collected first: answering one writes to the
 * replica, which a scan must not see change under it. */
static int demand_cb(void *ud, const struct crdt_rec *r)
{
    struct demand_scan *ds = ud;
    char val[96], node[72];
    unsigned long long wall;

    const struct crdt_rec *w;

    if (ds->last && strcmp(ds->last, r->key) == 0)
        return 0;
    ds->last = r->key;
    w = crdt_lww(ds->c, CRDT_KV, r->key); /* the key's value: the last write */
    if (!w || w->deleted || w->len >= sizeof(val))
        return 0;
    memcpy(val, w->val, w->len);
    val[w->len] = '\0';
    if (sscanf(val, "%71s %llu", node, &wall) != 2 ||
        strlen(r->key) - strlen(PLACE_DEMAND_PREFIX) >= sizeof(ds->want->service))
        return 0;
    ds->want = xrealloc(ds->want, (ds->n + 1) * sizeof(*ds->want));
    snprintf(ds->want[ds->n].service, sizeof(ds->want->service), "%s",
             r->key + strlen(PLACE_DEMAND_PREFIX));
    ds->want[ds->n++].wall = wall;
    return 0;
}

/* A fresh demand: the first eligible member starts the instance, or counts
 * it as a use of the one it runs. */
static void demand_answer(struct agent *a, const char *service, unsigned long long wall)
{
    struct place_spec p;
    struct act *x;

    if (!scale_spec(a, service, &p) || wall + p.scale.idle_after_ms < agent_wall_ms() ||
        !first_eligible(a, &p))
        return; /* old, or another member's to answer */
    if ((x = act_find(a->place_act, service))) {
        if (!x->drain_ms && wall > x->demand_wall) {
            x->demand_wall = wall;
            x->used_ms = uv_now(&a->loop);
        }
        return;
    }
    if (instances(a, service) >= p.scale.max || a->place_act->n == PLACE_ACT_MAX)
        return;
    act_start(a, &p, "another node asks");
    if ((x = act_find(a->place_act, service)))
        x->demand_wall = wall;
}

static void demands_read(struct agent *a)
{
    struct demand_scan ds;

    memset(&ds, 0, sizeof(ds));
    ds.c = a->catalog->crdt;
    crdt_scan(a->catalog->crdt, CRDT_KV, PLACE_DEMAND_PREFIX, 0, demand_cb, &ds);
    for (size_t i = 0; i < ds.n; i++)
        demand_answer(a, ds.want[i].service, ds.want[i].wall);
    free(ds.want);
}

void place_act_tick(struct agent *a)
{
    struct place_act *pa = a->place_act;
    uint64_t now = uv_now(&a->loop);
    int changed = 0;
    struct err e;

    if (!pa)
        return;
    demands_read(a);
    for (size_t i = 0; i < pa->n_d;) {
        if (now - pa->d[i].used_ms >= pa->d[i].idle_after_ms)
            pa->d[i] = pa->d[--pa->n_d]; /* no more requests here: no more demand */
        else
            i++;
    }
    for (size_t i = 0; i < pa->n;) {
        struct act *x = &pa->a[i];
        if (!x->drain_ms && now - x->used_ms >= x->idle_after_ms) {
            x->drain_ms = now;
            log_info("place", "%s: idle for %u ms: draining the cold-started instance", x->name,
                     x->idle_after_ms);
            if (super_drain(a->super, x->name, PLACE_ACT_SLOT, 1,
                            "idle, stops once what it serves ends", &e) < 0)
                log_debug("place", "%s: %s", x->name, e.msg);
        }
        if (x->drain_ms && now - x->drain_ms >= min_u64(PLACE_ACT_DRAIN_MS, x->idle_after_ms)) {
            pa->idle_stops++;
            history_add(a, "idle-stop", x->name,
                        "no request for %u ms: instance %u stopped, back to scale.min",
                        x->idle_after_ms, PLACE_ACT_SLOT);
            *x = pa->a[--pa->n];
            changed = 1;
            continue;
        }
        i++;
    }
    if (changed)
        place_drive_now(a);
}

void place_act_write_metrics(struct agent *a, FILE *f)
{
    const struct place_act *pa = a->place_act;

    if (!pa)
        return;
    metrics_one(f, "troupe_place_cold_starts_total", "counter",
                "Instances this node started for a connection held at zero instances.", pa->starts);
    metrics_one(f, "troupe_place_idle_stops_total", "counter",
                "Cold-started instances this node stopped after scale.idle_after_ms idle.",
                pa->idle_stops);
    metrics_one(f, "troupe_place_cold_start_demands_total", "counter",
                "Demand records written for a service this node may not run.", pa->demands);
    metrics_one(f, "troupe_place_cold_start_instances", "gauge",
                "Cold-started instances on this node (draining ones too).", pa->n);
}
