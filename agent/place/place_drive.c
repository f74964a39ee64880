/* place_drive: the driver of core/place in the agent (see place_drive.h).
 * A timer looks at the catalog index and the membership generation every
 * PLACE_TICK_MS; when either moved it places again and hands the supervisor
 * the slots of this node, spec by spec, only where they changed. A slot
 * it no longer gives this node drains first: out of the catalog
 * (super_drain), stopped PLACE_DRAIN_MS later unless it came back. Until the
 * node has seen another live member (or PLACE_SETTLE_MS passed since the
 * start), it places nothing: a node that restarts alone in its own view
 * would otherwise start every slot of the cluster. During a rolling
 * update it also places again when time alone moves the rollout (a slot
 * has passed for min_healthy_ms, a deadline is over).
 *
 * The version to go back to (the spec text last settled on every slot) is
 * a record of the replicated state too, CRDT_SPEC under "NAME@stable" (a
 * key no spec can have: names are [a-z0-9-]), written by the spec's first
 * slot's owner when a version settles. Every agent reads it from its
 * replica: an agent restarted in the middle of a rollout still knows what
 * to roll back to, and all agents agree on whether a canary is running
 * (the spec asks for one and its version is not the settled one), which
 * decides the canary's extra slots (count..count+canary-1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/place/place_drive.h"
#include "agent/place/place_autoscale.h"
#include "agent/super/super.h"
#include "core/cat.h"
#include "core/mem.h"
#include "core/place.h"
#include "core/place_update.h"
#include "core/repl.h"

#define PLACE_TICK_MS   250
#define PLACE_SETTLE_MS 5000
#define STABLE_SUFFIX   "@stable"
/* A slot placement takes from this node leaves the catalog this long
 * before it stops: the removal reaches the other agents' proxies (a
 * gossip round or two) and what they sent it finishes. Requests longer
 * than this are cut at the stop. 0: stop at once (no drain). */
#ifndef PLACE_DRAIN_MS
#define PLACE_DRAIN_MS 5000
#endif

/* What the supervisor was last told for one spec. */
struct applied {
    char name[64];
    char *sup;                          /* heap: the supervisor spec given */
    uint64_t slots, update;             /* the draining slots too */
    uint64_t draining;                  /* slots out of the catalog before their stop */
    uint64_t drain_ms[PLACE_COUNT_MAX]; /* loop clock: when each left the catalog */
    char error[256];                    /* the supervisor's refusal, "" none */
};

/* The rolling update of one spec as this node follows it (core/place_update). */
struct track {
    char name[64];
    uint64_t target;     /* the version the spec record asks for */
    uint64_t arrived_ms; /* when this node first saw it (loop clock), or its promote */
    uint32_t canary;     /* update.canary when it arrived: a promote (canary to 0)
                            starts the deadline again */
    uint64_t reverted;   /* the version this node rolled back, 0: none */
    int failed_seen;     /* the target's failure went to the history */
    struct pu_slot obs[PLACE_COUNT_MAX];
    struct pu_plan plan;
    int live; /* seen in this placement */
};

struct place_drive {
    uv_timer_t timer; /* the struct is freed in its close callback */
    struct agent *a;
    uint64_t seen_index, seen_gen;
    uint64_t opened_ms;
    int dirty, settled;
    struct applied *ap;
    size_t n_ap;
    struct track *tr;
    size_t n_tr;
    struct {
        uint64_t placements, failed, rollbacks, drained;
    } stats;
    uint64_t wake_ms;              /* a rollout moves with time alone then (a slot settles, a
                                      deadline passes): place again; UINT64_MAX none */
    struct place_autoscale *scale; /* the autoscalers of specs with "scale" */
};

/* The inputs of one placement: specs and members, and the answer. */
struct gathered {
    struct place_spec *specs;
    char **texts;  /* heap, the cluster spec of each */
    char **stable; /* heap, the text of its NAME@stable record, NULL none */
    uint64_t *stable_ver;
    uint32_t *base;  /* the spec's own count (specs[i].count adds the canary's extra slots) */
    uint32_t *extra; /* the canary's extra slots, 0 when no canary runs */
    size_t n_specs;
    json_t *invalid; /* [{name, error}] of specs that do not parse */
    struct place_member *m;
    struct tags *tags;
    size_t n_m;
    int self; /* index of this node in m, -1 none */
    struct place_result r;
};

static struct place_drive *drive_of(struct agent *a);

struct scan {
    struct agent *a;
    struct gathered *g;
    const char *last;
};

static int spec_cb(void *ud, const struct crdt_rec *r)
{
    struct scan *sc = ud;
    struct gathered *g = sc->g;
    const struct crdt_rec *w;
    struct place_spec p;
    struct err e;

    if (sc->last && strcmp(sc->last, r->key) == 0)
        return 0;
    sc->last = r->key;
    if (strchr(r->key, '@')) /* NAME@stable: see canary_of */
        return 0;
    w = crdt_lww(sc->a->catalog->crdt, CRDT_SPEC, r->key);
    if (!w || w->deleted)
        return 0;
    if (g->n_specs == PLACE_SPECS_MAX ||
        place_spec_check((const char *)w->val, w->len, &p, &e) < 0) {
        if (g->n_specs == PLACE_SPECS_MAX)
            err_set(&e, -ENOSPC, "more than %d specs", PLACE_SPECS_MAX);
        json_array_append_new(g->invalid, json_pack("{s:s, s:s}", "name", w->key, "error", e.msg));
        return 0;
    }
    if (strcmp(p.name, w->key) != 0) {
        json_array_append_new(g->invalid, json_pack("{s:s, s:s}", "name", w->key, "error",
                                                    "name: differs from the key"));
        return 0;
    }
    g->specs = xrealloc(g->specs, (g->n_specs + 1) * sizeof(*g->specs));
    g->texts = xrealloc(g->texts, (g->n_specs + 1) * sizeof(*g->texts));
    g->specs[g->n_specs] = p;
    g->texts[g->n_specs] = xmalloc(w->len + 1);
    memcpy(g->texts[g->n_specs], w->val, w->len);
    g->texts[g->n_specs][w->len] = '\0';
    g->n_specs++;
    return 0;
}

static const char *tag_get(const struct tags *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->t[i].key, key) == 0)
            return t->t[i].val;
    return NULL;
}

/* The NAME@stable record of spec i into g, and the canary's extra slots:
 * a spec that asks for canary N and whose version is not the settled one
 * runs N more slots on the new version beside its own (at most
 * PLACE_COUNT_MAX in all, below PLACE_ACT_SLOT for a spec with "scale"). */
static void canary_of(struct agent *a, struct gathered *g, size_t i)
{
    struct place_spec *p = &g->specs[i], st;
    char key[sizeof(p->name) + sizeof(STABLE_SUFFIX)];
    uint32_t top;
    const struct crdt_rec *w;
    struct err e;

    g->base[i] = p->count;
    g->extra[i] = 0;
    g->stable[i] = NULL;
    g->stable_ver[i] = 0;
    snprintf(key, sizeof(key), "%s%s", p->name, STABLE_SUFFIX);
    w = crdt_lww(a->catalog->crdt, CRDT_SPEC, key);
    if (!w || w->deleted || place_spec_check((const char *)w->val, w->len, &st, &e) < 0)
        return;
    g->stable[i] = xmalloc(w->len + 1);
    memcpy(g->stable[i], w->val, w->len);
    g->stable[i][w->len] = '\0';
    g->stable_ver[i] = st.version;
    /* a spec with "scale" keeps PLACE_ACT_SLOT for its cold starts */
    top = p->scale.set ? PLACE_ACT_SLOT : PLACE_COUNT_MAX;
    if (p->update.canary && st.version != p->version && p->count && p->count < top) {
        g->extra[i] = p->update.canary < top - p->count ? p->update.canary : top - p->count;
        p->count += g->extra[i];
    }
}

/* Fills g from the replica and the member table; release with
 * gathered_release. A scaled spec's count is its autoscaler's; placing
 * (as opposed to answering status) also drops the autoscalers of specs
 * that went. */
static void gather(struct agent *a, struct gathered *g, int placing)
{
    struct scan sc = {.a = a, .g = g};
    size_t n = swim_member_count(a->swim);
    struct err e;

    memset(g, 0, sizeof(*g));
    g->invalid = json_array();
    g->self = -1;
    crdt_scan(a->catalog->crdt, CRDT_SPEC, NULL, 0, spec_cb, &sc);
    if (a->place)
        place_autoscale_specs(a->place->scale, g->specs, g->n_specs, placing);
    g->stable = xcalloc(g->n_specs + 1, sizeof(*g->stable));
    g->stable_ver = xcalloc(g->n_specs + 1, sizeof(*g->stable_ver));
    g->base = xcalloc(g->n_specs + 1, sizeof(*g->base));
    g->extra = xcalloc(g->n_specs + 1, sizeof(*g->extra));
    for (size_t i = 0; i < g->n_specs; i++)
        canary_of(a, g, i);
    g->m = xcalloc(n + 1, sizeof(*g->m));
    g->tags = xcalloc(n + 1, sizeof(*g->tags));
    for (size_t i = 0; i < n; i++) {
        const struct swim_member *sm = swim_member_at(a->swim, i);
        struct place_member *pm = &g->m[g->n_m];
        const char *cap;
        if (sm->state != SWIM_ALIVE && sm->state != SWIM_SUSPECT)
            continue;
        if (sm->tags_len && tags_decode(&g->tags[g->n_m], sm->tags, sm->tags_len, NULL) < 0)
            memset(&g->tags[g->n_m], 0, sizeof(g->tags[g->n_m]));
        pm->name = sm->name;
        pm->tags = &g->tags[g->n_m];
        if ((cap = tag_get(pm->tags, "capacity")) && place_res_parse(&pm->cap, cap, NULL) < 0)
            memset(&pm->cap, 0, sizeof(pm->cap));
        if (sm == swim_self(a->swim))
            g->self = (int)g->n_m;
        g->n_m++;
    }
    if (place_compute(g->specs, g->n_specs, g->m, g->n_m, &g->r, &e) < 0)
        log_warn("place", "placement failed: %s", e.msg);
}

static void gathered_release(struct gathered *g)
{
    for (size_t i = 0; i < g->n_specs; i++) {
        free(g->texts[i]);
        free(g->stable[i]);
    }
    free(g->texts);
    free(g->stable);
    free(g->stable_ver);
    free(g->base);
    free(g->extra);
    free(g->specs);
    free(g->m);
    free(g->tags);
    json_decref(g->invalid);
    place_result_release(&g->r);
}

static struct applied *applied_find(struct place_drive *d, const char *name)
{
    for (size_t i = 0; i < d->n_ap; i++)
        if (strcmp(d->ap[i].name, name) == 0)
            return &d->ap[i];
    return NULL;
}

static void applied_drop(struct place_drive *d, struct applied *ap)
{
    free(ap->sup);
    *ap = d->ap[--d->n_ap];
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Drains what placement takes from this node (slots ran, no longer
 * given; the cold-started slot drains on its own, place_act.c), puts back
 * what it gives again while it drains, and lets go of what drained long
 * enough. What still drains stays in ap->draining. */
static void drain_slots(struct place_drive *d, struct applied *ap, uint64_t slots)
{
    uint64_t now = uv_now(&d->a->loop);
    uint64_t gone = ap->slots & ~slots & ~ap->draining & ~(1ULL << PLACE_ACT_SLOT);
    struct err e;

    for (uint32_t k = 0; k < PLACE_COUNT_MAX; k++) {
        uint64_t bit = 1ULL << k;
        if (ap->draining & bit && slots & bit) {
            ap->draining &= ~bit;
            log_info("place", "%s: slot %u is given back while it drains", ap->name, k);
            if (super_drain(d->a->super, ap->name, k, 0, "placement gives it back", &e) < 0)
                log_debug("place", "%s: %s", ap->name, e.msg);
        } else if (gone & bit && PLACE_DRAIN_MS && super_slot_serving(d->a->super, ap->name, k)) {
            ap->draining |= bit;
            ap->drain_ms[k] = now;
            log_info("place", "%s: slot %u goes elsewhere or away: draining it for %u ms", ap->name,
                     k, PLACE_DRAIN_MS);
            if (super_drain(d->a->super, ap->name, k, 1,
                            "placement took it from this node, stops once drained", &e) < 0)
                log_debug("place", "%s: %s", ap->name, e.msg);
        }
        if (!(ap->draining & bit))
            continue;
        if (now - ap->drain_ms[k] >= PLACE_DRAIN_MS) {
            ap->draining &= ~bit; /* drained: the supervisor stops it now */
            d->stats.drained++;
        } else {
            d->wake_ms = min64(d->wake_ms, ap->drain_ms[k] + PLACE_DRAIN_MS);
        }
    }
}

static void run_spec(struct place_drive *d, const char *name, const char *text, uint64_t slots,
                     uint64_t update)
{
    uint64_t cold = text ? place_act_slots(d->a, name) : 0;
    struct applied *ap = applied_find(d, name);
    char *sup = NULL;
    struct err e;

    slots |= cold;
    update |= cold; /* a cold-started instance follows the spec's version at once */
    err_clear(&e);
    if (ap && text)
        drain_slots(d, ap, slots);
    if (ap && text && ap->draining) {
        slots |= ap->draining;
        update |= ap->update & ap->draining;
    }
    if (text && slots && !(sup = place_spec_sup_json(text, strlen(text), &e))) {
        log_warn("place", "%s: %s", name, e.msg);
        return;
    }
    if (ap && ap->slots == slots && ap->update == update &&
        ((!sup && !ap->sup) || (sup && ap->sup && strcmp(sup, ap->sup) == 0))) {
        free(sup);
        return;
    }
    if (!ap) {
        d->ap = xrealloc(d->ap, (d->n_ap + 1) * sizeof(*d->ap));
        ap = &d->ap[d->n_ap++];
        memset(ap, 0, sizeof(*ap));
        snprintf(ap->name, sizeof(ap->name), "%s", name);
    }
    if (super_place(d->a->super, name, sup, sup ? strlen(sup) : 0, slots, update, cold, &e) < 0) {
        log_warn("place", "%s: the supervisor refused slots 0x%llx: %s", name,
                 (unsigned long long)slots, e.msg);
        snprintf(ap->error, sizeof(ap->error), "%s", e.msg);
    } else {
        ap->error[0] = '\0';
    }
    free(ap->sup);
    ap->sup = sup;
    ap->slots = slots;
    ap->update = update;
    if (!slots && !ap->error[0])
        applied_drop(d, ap);
}

struct stale {
    char (*names)[64];
    size_t n;
};

static void stale_cb(void *ud, const char *name, uint64_t slots)
{
    struct stale *st = ud;

    (void)slots;
    st->names = xrealloc(st->names, (st->n + 1) * sizeof(*st->names));
    snprintf(st->names[st->n++], 64, "%s", name);
}

static struct track *track_of(struct place_drive *d, const char *name)
{
    for (size_t i = 0; i < d->n_tr; i++)
        if (strcmp(d->tr[i].name, name) == 0)
            return &d->tr[i];
    d->tr = xrealloc(d->tr, (d->n_tr + 1) * sizeof(*d->tr));
    memset(&d->tr[d->n_tr], 0, sizeof(*d->tr));
    snprintf(d->tr[d->n_tr].name, sizeof(d->tr[d->n_tr].name), "%s", name);
    return &d->tr[d->n_tr++];
}

/* What the catalog shows of each slot of spec i: the best instance
 * (passing on the target first), and since when this node sees it pass. */
static void observe(struct agent *a, const struct place_spec *p, struct track *tr, uint64_t now)
{
    struct cat_view v;
    struct cat_entry *es = NULL;
    size_t n = 0;
    struct pu_slot best[PLACE_COUNT_MAX];
    int rank[PLACE_COUNT_MAX];

    memset(best, 0, sizeof(best));
    for (size_t k = 0; k < PLACE_COUNT_MAX; k++)
        rank[k] = -1;
    catalog_view(a, &v);
    if (cat_service_entries(&v, p->name, NULL, CAT_CRITICAL, 1, &es, &n, NULL) < 0)
        n = 0;
    for (size_t j = 0; j < n; j++) {
        const char *sl = tag_get(&es[j].inst.meta, "slot"), *ver = tag_get(&es[j].inst.meta, "ver");
        unsigned long k;
        uint64_t vv;
        int passing, r;
        if (!sl || !ver || (k = strtoul(sl, NULL, 10)) >= p->count)
            continue;
        vv = strtoull(ver, NULL, 16);
        passing = es[j].status == CAT_PASSING;
        r = (vv == p->version) * 2 + passing * 3;
        if (r > rank[k]) {
            rank[k] = r;
            best[k].ver = vv;
            best[k].passing = (uint8_t)passing;
        }
    }
    cat_entries_free(es, n);
    for (uint32_t k = 0; k < p->count; k++) {
        struct pu_slot *o = &tr->obs[k];
        if (best[k].passing && o->passing && o->ver == best[k].ver)
            best[k].passing_ms = o->passing_ms;
        else
            best[k].passing_ms = now;
        *o = best[k];
    }
}

/* The member placement gives spec i's first placeable slot: the one writer
 * of what agents write for a spec (its stable record, a rollback). Every
 * agent computes the same one; two writers (members disagreeing for a
 * moment) write the same text, and last-writer-wins keeps either. */
static int writer_of(const struct gathered *g, size_t i)
{
    for (size_t k = 0; k < g->r.n; k++)
        if (g->r.s[k].spec == i && g->r.s[k].member >= 0)
            return g->r.s[k].member;
    return -1;
}

/* Spec i settled on every slot: the writer records its text as
 * NAME@stable, what a later failed version goes back to (also on a change
 * of count alone, so that a rollback does not undo it). */
static void mark_stable(struct agent *a, struct gathered *g, size_t i)
{
    const struct place_spec *p = &g->specs[i];
    char key[sizeof(p->name) + sizeof(STABLE_SUFFIX)];
    struct err e;
    int rc;

    if (g->self < 0 || writer_of(g, i) != g->self)
        return;
    snprintf(key, sizeof(key), "%s%s", p->name, STABLE_SUFFIX);
    rc = repl_put(a->catalog->repl, agent_wall_ms(), CRDT_SPEC, key, g->texts[i],
                  (uint32_t)strlen(g->texts[i]), &e);
    if (rc >= 0)
        rc = catalog_save(a, &e);
    if (rc < 0) {
        log_warn("place", "%s: the settled version not recorded: %s", p->name, e.msg);
        return;
    }
    if (g->stable[i] && g->stable_ver[i] != p->version)
        history_add(a, "update", p->name, "version %016llx runs on all %u slots",
                    (unsigned long long)p->version, p->count);
    agent_drive(a);
}

/* Writes the spec record back to its stable record (the last version that
 * settled everywhere). Only the writer does, and only while the record
 * still asks for the failed version, so a newer apply is not overwritten
 * unless it crosses the rollback on the wire (then the later clock wins,
 * as for any two writes). */
static void roll_back(struct agent *a, struct gathered *g, size_t i, struct track *tr)
{
    const struct place_spec *p = &g->specs[i];
    struct err e;
    int rc;

    if (g->self < 0 || writer_of(g, i) != g->self || tr->reverted == p->version)
        return;
    tr->reverted = p->version;
    rc = repl_put(a->catalog->repl, agent_wall_ms(), CRDT_SPEC, p->name, g->stable[i],
                  (uint32_t)strlen(g->stable[i]), &e);
    if (rc >= 0)
        rc = catalog_save(a, &e);
    if (rc < 0) {
        log_warn("place", "%s: rollback not written: %s", p->name, e.msg);
        return;
    }
    if (a->place)
        a->place->stats.rollbacks++;
    log_warn("place",
             "%s: version %016llx did not become healthy within %u ms: rolled back to %016llx",
             p->name, (unsigned long long)p->version, p->update.healthy_deadline_ms,
             (unsigned long long)g->stable_ver[i]);
    history_add(a, "rollback", p->name,
                "version %016llx did not become healthy within %u ms; back to %016llx",
                (unsigned long long)p->version, p->update.healthy_deadline_ms,
                (unsigned long long)g->stable_ver[i]);
    agent_drive(a);
}

/* The slots of spec i that may run its version now, and what follows from
 * the catalog: a version settled everywhere becomes the one to go back to;
 * a version past its deadline is rolled back (auto_revert). During a
 * canary the spec's own slots keep their version and the extra slots run
 * the new one (core/place_update, pu_plan_canary). */
static uint64_t roll(struct place_drive *d, struct gathered *g, size_t i, uint64_t now)
{
    const struct place_spec *p = &g->specs[i];
    struct track *tr = track_of(d, p->name);
    struct place_update u = p->update;

    tr->live = 1;
    if (tr->target != p->version || tr->canary != p->update.canary) {
        /* a new version, or a promote: the rest of the slots get their
         * own healthy_deadline_ms, however long the canary waited */
        tr->target = p->version;
        tr->canary = p->update.canary;
        tr->arrived_ms = now;
        tr->failed_seen = 0;
    }
    observe(d->a, p, tr, now);
    if (g->extra[i]) {
        pu_plan_canary(&u, p->version, tr->obs, g->base[i], g->extra[i], now, &tr->plan);
        u.canary = g->extra[i]; /* the canary fails when its extra slots do not settle */
    } else {
        pu_plan(&u, p->version, tr->obs, p->count, now, &tr->plan);
    }
    if (!g->extra[i] && tr->plan.settled >= p->count) {
        if (!g->stable[i] || strcmp(g->stable[i], g->texts[i]) != 0)
            mark_stable(d->a, g, i);
        return tr->plan.may_update;
    }
    /* what changes with time alone; the rest comes with the catalog's index */
    for (uint32_t k = 0; k < p->count; k++) {
        const struct pu_slot *o = &tr->obs[k];
        if (o->ver == p->version && o->passing &&
            pu_slot_state(o, p->version, p->update.min_healthy_ms, now) == PU_BUSY)
            d->wake_ms = min64(d->wake_ms, o->passing_ms + p->update.min_healthy_ms);
    }
    if (!tr->failed_seen)
        d->wake_ms = min64(d->wake_ms, tr->arrived_ms + p->update.healthy_deadline_ms);
    if (pu_failed(&u, &tr->plan, p->count, tr->arrived_ms, now)) {
        if (!tr->failed_seen) {
            tr->failed_seen = 1;
            d->stats.failed++;
            log_warn("place", "%s: version %016llx: %u of %u slots settled after %u ms", p->name,
                     (unsigned long long)p->version, tr->plan.settled, p->count,
                     p->update.healthy_deadline_ms);
        }
        if (p->update.auto_revert && g->stable[i] && g->stable_ver[i] != p->version)
            roll_back(d->a, g, i, tr);
    }
    return tr->plan.may_update;
}

static int other_alive(struct agent *a)
{
    for (size_t i = 1; i < swim_member_count(a->swim); i++)
        if (swim_member_at(a->swim, i)->state == SWIM_ALIVE)
            return 1;
    return 0;
}

static void place_now(struct place_drive *d)
{
    struct agent *a = d->a;
    struct gathered g;
    struct stale st = {0};

    gather(a, &g, 1);
    d->stats.placements++;
    d->wake_ms = UINT64_MAX;
    for (size_t i = 0; i < d->n_tr; i++)
        d->tr[i].live = 0;
    for (size_t i = 0; i < g.n_specs; i++) {
        uint64_t mine = g.self >= 0 ? place_mine(&g.r, (uint32_t)i, g.self) : 0;
        uint64_t update = roll(d, &g, i, uv_now(&a->loop));
        run_spec(d, g.specs[i].name, g.texts[i], mine, update);
    }
    for (size_t i = 0; i < d->n_tr;) {
        if (!d->tr[i].live) {
            d->tr[i] = d->tr[--d->n_tr];
        } else {
            i++;
        }
    }
    /* what runs for a spec that is gone (deleted, or refused now) */
    super_placed_each(a->super, stale_cb, &st);
    for (size_t i = 0; i < st.n; i++) {
        int live = 0;
        for (size_t k = 0; k < g.n_specs && !live; k++)
            live = strcmp(g.specs[k].name, st.names[i]) == 0;
        if (!live)
            run_spec(d, st.names[i], NULL, 0, 0);
    }
    for (size_t i = 0; i < d->n_ap;) {
        int live = 0;
        for (size_t k = 0; k < g.n_specs && !live; k++)
            live = strcmp(g.specs[k].name, d->ap[i].name) == 0;
        if (!live)
            applied_drop(d, &d->ap[i]);
        else
            i++;
    }
    free(st.names);
    gathered_release(&g);
}

static void tick(uv_timer_t *t)
{
    struct place_drive *d = t->data;
    struct agent *a = d->a;
    uint64_t index = crdt_index(a->catalog->crdt), gen = a->member_gen;

    if (a->stopping || a->closed || !a->super)
        return;
    place_act_tick(a);
    if (!d->settled) {
        if (!other_alive(a) && uv_now(&a->loop) - d->opened_ms < PLACE_SETTLE_MS)
            return;
        d->settled = 1;
        d->dirty = 1;
    }
    if (place_autoscale_tick(a, d->scale, uv_now(&a->loop)))
        d->dirty = 1;
    if (!d->dirty && uv_now(&a->loop) < d->wake_ms && index == d->seen_index && gen == d->seen_gen)
        return;
    d->dirty = 0;
    d->seen_index = index;
    d->seen_gen = gen;
    place_now(d);
}

static struct place_drive *drive_of(struct agent *a)
{
    return a->place;
}

void place_drive_now(struct agent *a)
{
    struct place_drive *d = drive_of(a);

    if (d && d->settled && !a->stopping && !a->closed)
        place_now(d);
    else if (d)
        d->dirty = 1;
}

int place_drive_open(struct agent *a, struct err *e)
{
    struct place_drive *d = xcalloc(1, sizeof(*d));

    (void)e;
    d->a = a;
    d->opened_ms = uv_now(&a->loop);
    d->wake_ms = UINT64_MAX;
    d->scale = place_autoscale_new();
    uv_timer_init(&a->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, tick, PLACE_TICK_MS, PLACE_TICK_MS);
    a->place = d;
    place_act_open(a);
    return 0;
}

static void closed_cb(uv_handle_t *h)
{
    struct place_drive *d = h->data;

    for (size_t i = 0; i < d->n_ap; i++)
        free(d->ap[i].sup);
    free(d->ap);
    free(d->tr);
    place_autoscale_free(d->scale);
    free(d);
}

void place_drive_close(struct agent *a)
{
    struct place_drive *d = drive_of(a);

    if (!d)
        return;
    a->place = NULL;
    place_act_close(a);
    uv_close((uv_handle_t *)&d->timer, closed_cb);
}

void place_drive_kick(struct agent *a)
{
    struct place_drive *d = drive_of(a);

    if (d)
        d->dirty = 1;
}

/* One spec's slots with where they go and what runs them. */
static json_t *spec_status(struct agent *a, struct gathered *g, size_t i)
{
    const struct place_spec *p = &g->specs[i];
    struct cat_view v;
    struct cat_entry *es = NULL;
    size_t n = 0, running = 0, passing = 0, unplaceable = 0, missing = 0, doubled = 0;
    json_t *slots = json_array(), *o;
    struct applied *ap = a->place ? applied_find(a->place, p->name) : NULL;

    catalog_view(a, &v);
    if (cat_service_entries(&v, p->name, NULL, CAT_CRITICAL, 1, &es, &n, NULL) < 0)
        n = 0;
    for (size_t k = 0; k < g->r.n; k++) {
        const struct place_slot *s = &g->r.s[k];
        json_t *js, *run;
        size_t here = 0;
        if (s->spec != i)
            continue;
        run = json_array();
        for (size_t j = 0; j < n; j++) {
            const char *sl = tag_get(&es[j].inst.meta, "slot");
            if (!sl || strtoul(sl, NULL, 10) != s->slot)
                continue;
            here++;
            passing += es[j].status == CAT_PASSING;
            json_array_append_new(
                run, json_pack("{s:s, s:s, s:s, s:s}", "node", es[j].inst.node, "id", es[j].inst.id,
                               "status", cat_status_name(es[j].status), "version",
                               tag_get(&es[j].inst.meta, "ver") ? tag_get(&es[j].inst.meta, "ver")
                                                                : ""));
        }
        running += here;
        missing += here == 0;
        doubled += here > 1;
        js = json_pack("{s:i, s:o}", "slot", (int)s->slot, "running", run);
        if (s->slot >= g->base[i])
            json_object_set_new(js, "canary", json_true());
        if (s->member >= 0) {
            json_object_set_new(js, "node", json_string(g->m[s->member].name));
        } else {
            unplaceable++;
            json_object_set_new(js, "node", json_null());
            json_object_set_new(js, "unplaceable", json_string(s->reason));
        }
        json_array_append_new(slots, js);
    }
    o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:o}", "name", p->name, "count",
                  (int)g->base[i], "running", (json_int_t)running, "passing", (json_int_t)passing,
                  "unplaceable", (json_int_t)unplaceable, "missing", (json_int_t)missing, "doubled",
                  (json_int_t)doubled, "slots", slots);
    if (ap && ap->error[0])
        json_object_set_new(o, "error", json_string(ap->error));
    if (p->scale.set && a->place) {
        json_t *sc = place_autoscale_status(a->place->scale, p->name);
        if (sc) {
            json_object_set_new(sc, "running", json_integer((json_int_t)running));
            json_object_set_new(o, "scale", sc);
        }
    }
    if (g->extra[i])
        json_object_set_new(o, "canary", json_integer(g->extra[i]));
    {
        char ver[24];
        snprintf(ver, sizeof(ver), "%016llx", (unsigned long long)p->version);
        json_object_set_new(o, "version", json_string(ver));
    }
    for (size_t t = 0; a->place && t < a->place->n_tr; t++) {
        const struct track *tr = &a->place->tr[t];
        if (strcmp(tr->name, p->name) != 0 || tr->target != p->version)
            continue;
        json_object_set_new(o, "update",
                            json_pack("{s:i, s:i, s:i, s:b}", "settled", (int)tr->plan.settled,
                                      "old", (int)tr->plan.old, "busy", (int)tr->plan.busy,
                                      "promote",
                                      g->extra[i] ? tr->plan.settled >= g->extra[i]
                                                  : p->update.canary && tr->plan.old &&
                                                        tr->plan.settled >= p->update.canary));
    }
    cat_entries_free(es, n);
    return o;
}

json_t *place_drive_status(struct agent *a, const char *name)
{
    struct gathered g;
    json_t *specs = json_array(), *o;

    gather(a, &g, 0);
    for (size_t i = 0; i < g.n_specs; i++)
        if (!name || strcmp(g.specs[i].name, name) == 0)
            json_array_append_new(specs, spec_status(a, &g, i));
    o = json_pack("{s:s, s:I, s:o, s:O}", "node", swim_self(a->swim)->name, "members",
                  (json_int_t)g.n_m, "specs", specs, "invalid", g.invalid);
    gathered_release(&g);
    return o;
}

void place_drive_write_metrics(struct agent *a, FILE *f)
{
    const struct place_drive *d = a->place;
    uint64_t slots = 0, draining = 0, settled = 0, old = 0, busy = 0;

    if (!d)
        return;
    for (size_t i = 0; i < d->n_ap; i++) {
        slots += (uint64_t)__builtin_popcountll(d->ap[i].slots & ~d->ap[i].draining);
        draining += (uint64_t)__builtin_popcountll(d->ap[i].draining);
    }
    for (size_t i = 0; i < d->n_tr; i++) {
        settled += d->tr[i].plan.settled;
        old += d->tr[i].plan.old;
        busy += d->tr[i].plan.busy;
    }
    metrics_one(f, "troupe_place_placements_total", "counter",
                "Placements computed (on a change of the specs, the members or the catalog).",
                d->stats.placements);
    metrics_one(f, "troupe_place_slots", "gauge",
                "Slots of cluster specs that placement gives this node.", slots);
    metrics_one(f, "troupe_place_draining_slots", "gauge",
                "Slots placement took from this node that drain before their stop.", draining);
    metrics_one(f, "troupe_place_drained_slots_total", "counter",
                "Slots placement took from this node, stopped after their drain.",
                d->stats.drained);
    metrics_head(f, "troupe_place_update_slots", "gauge",
                 "Slots of every cluster spec as this node sees the rollout: settled on the "
                 "spec's version, passing on an older one, or down or settling.");
    fprintf(f, "troupe_place_update_slots{state=\"settled\"} %llu\n", (unsigned long long)settled);
    fprintf(f, "troupe_place_update_slots{state=\"old\"} %llu\n", (unsigned long long)old);
    fprintf(f, "troupe_place_update_slots{state=\"busy\"} %llu\n", (unsigned long long)busy);
    metrics_one(f, "troupe_place_failed_versions_total", "counter",
                "Versions seen not settled within their healthy_deadline_ms.", d->stats.failed);
    metrics_one(f, "troupe_place_rollbacks_total", "counter",
                "Rollbacks this node wrote (auto_revert; it owns the spec's first slot).",
                d->stats.rollbacks);
    place_act_write_metrics(a, f);
    place_autoscale_write_metrics(d->scale, f);
}
