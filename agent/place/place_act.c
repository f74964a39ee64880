/* place_act: cold starts on this node (see place_drive.h). A cluster spec
 * with "scale" places scale.min slots as any spec; when a route of its
 * service gets a connection and no instance serves it, the proxy holds the
 * connection and asks here: this node runs one more instance of the spec
 * (slot PLACE_ACT_SLOT, beside the placed ones), its checks probed every
 * few ms until they pass. Every request through this node's proxy for the
 * service marks it used; after scale.idle_after_ms without one, the
 * instance leaves the catalog (proxies stop choosing it, what it serves
 * finishes) and PLACE_ACT_DRAIN_MS later (at most idle_after_ms) it stops. Not here: holding the
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

#define PLACE_ACT_DRAIN_MS                                                                         \
    2000 /* out of the catalog this long before the stop: gossip                                   \
            reaches the other proxies, what they sent finishes */
#define PLACE_ACT_MAX PLACE_SPECS_MAX

/* One cold-started instance of a spec on this node. */
struct act {
    char name[64];
    uint32_t idle_after_ms;
    uint64_t started_ms, used_ms; /* loop clock */
    uint64_t drain_ms;            /* 0: serving; else when it left the catalog */
};

struct place_act {
    struct act *a;
    size_t n;
    uint64_t starts, idle_stops, refused;
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

/* This node carries every tag the spec's constraints ask for. */
static int eligible_here(struct agent *a, const struct place_spec *p)
{
    const struct swim_member *self = swim_self(a->swim);
    struct tags t;

    memset(&t, 0, sizeof(t));
    if (self->tags_len && tags_decode(&t, self->tags, self->tags_len, NULL) < 0)
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
            if (super_drain(a->super, service, PLACE_ACT_SLOT, 0, &e) < 0)
                log_warn("place", "%s: %s", service, e.msg);
        }
        return 1;
    }
    if (!eligible_here(a, &p) || instances(a, service) >= p.scale.max || pa->n == PLACE_ACT_MAX) {
        pa->refused++;
        return 0; /* an instance starts or runs elsewhere: wait for its endpoint */
    }
    pa->a = xrealloc(pa->a, (pa->n + 1) * sizeof(*pa->a));
    x = &pa->a[pa->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "%s", service);
    x->idle_after_ms = p.scale.idle_after_ms;
    x->started_ms = x->used_ms = now;
    pa->starts++;
    log_info("place", "%s: cold start: a connection waits, starting an instance here", service);
    history_add(a, "cold-start", service, "a connection waits: instance %u starts on this node",
                PLACE_ACT_SLOT);
    place_drive_now(a);
    return 1;
}

void place_act_used(struct agent *a, const char *service)
{
    struct act *x = act_find(a->place_act, service);

    if (x && !x->drain_ms)
        x->used_ms = uv_now(&a->loop);
}

void place_act_tick(struct agent *a)
{
    struct place_act *pa = a->place_act;
    uint64_t now = uv_now(&a->loop);
    int changed = 0;
    struct err e;

    for (size_t i = 0; pa && i < pa->n;) {
        struct act *x = &pa->a[i];
        if (!x->drain_ms && now - x->used_ms >= x->idle_after_ms) {
            x->drain_ms = now;
            log_info("place", "%s: idle for %u ms: draining the cold-started instance", x->name,
                     x->idle_after_ms);
            if (super_drain(a->super, x->name, PLACE_ACT_SLOT, 1, &e) < 0)
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
    metrics_one(f, "troupe_place_cold_start_instances", "gauge",
                "Cold-started instances on this node (draining ones too).", pa->n);
}
