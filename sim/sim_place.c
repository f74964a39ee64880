/* sim_place: core/place over the simulated nodes' own views (see
 * sim_place.h). Each tick hashes every running node's view (the set of
 * members it holds alive or suspect), places once per distinct view (a
 * small cache keeps the views of the last ticks), then counts for every
 * slot how many running nodes run it: node o runs slot s when the
 * placement of o's own view gives s to o.
 *
 * The simulated specs have no constraints, spread, capacity or
 * distinct_hosts, so core/place gives slot k to the member of the view
 * that ranks first by place_score. The ranking of every node for every
 * slot is computed once (slots x nodes), and placing a view is a walk
 * down each slot's ranking to the first member the view holds: a few
 * steps, where place_compute scores every member. That makes a partition
 * at 1,000 nodes, when every node may have its own view for a while,
 * cheap enough to simulate. The first views are also placed with
 * place_compute and compared (check_views, check_mismatch). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/place.h"
#include "core/place_update.h"
#include "sim/sim_place.h"

#define VIEWS_KEEP  64 /* views kept from earlier ticks */
#define CHECK_VIEWS 4  /* views placed both ways and compared */
#define NEVER       UINT64_MAX

enum {
    RO_OLD = 0,
    RO_DOWN,
    RO_NEW
}; /* a slot in a rollout: passing on the old
      version, replaced, passing on the new */

struct view {
    uint64_t hash;
    int32_t *owner; /* per slot: node index, -1 unplaceable */
    uint64_t used;  /* tick number of its last use, 0: empty */
};

struct sim_place {
    uint32_t slots, total;
    struct place_spec *specs;
    size_t n_specs;
    struct view *cache; /* heap: n_cache; grows to the distinct views of one tick */
    size_t n_cache;
    size_t *used;       /* this tick's views (indexes into cache: it may move as it grows) */
    uint64_t *vh;       /* per node: the hash of its view this tick */
    uint32_t *nlive;    /* per node: members it holds alive or suspect */
    uint32_t *copies;   /* per slot, this tick */
    int32_t *runner;    /* per slot: a node that runs it this tick */
    uint8_t *placeable; /* per slot: some view places it */
    int32_t *once;      /* the last exactly-once assignment */
    int have_once;
    int32_t *pre[SIM_PLACE_EVENTS_MAX]; /* per event: `once` when it happened */
    uint8_t started[SIM_PLACE_EVENTS_MAX];
    struct place_member *m;
    int32_t *rank;            /* slots x total: slot k's nodes, best first */
    uint8_t *ro_st, *ro_prev; /* rollout, per slot: RO_* now and before its last change */
    uint64_t *ro_chg;         /* rollout, per slot: when it last changed */
    uint8_t *inview;          /* per node: held alive or suspect by the view being placed */
    uint64_t tick;
    struct sim_place_result r;
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int live_state(uint8_t st)
{
    return st == SWIM_ALIVE || st == SWIM_SUSPECT;
}

static uint32_t node_of(const char *name)
{
    return (uint32_t)strtoul(name + 1, NULL, 10); /* "n<i>" */
}

struct ranked {
    uint64_t score;
    char name[16];
    int32_t node;
};

/* Best first: core/place's order (a higher score, then a higher name). */
static int by_rank(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return -strcmp(x->name, y->name);
}

static void rank_all(struct sim_place *p)
{
    struct ranked *r = xcalloc(p->total + 1, sizeof(*r));

    p->rank = xcalloc((size_t)p->slots * p->total + 1, sizeof(*p->rank));
    for (uint32_t k = 0; k < p->slots; k++) {
        const struct place_spec *sp = &p->specs[k / PLACE_COUNT_MAX];
        for (uint32_t n = 0; n < p->total; n++) {
            snprintf(r[n].name, sizeof(r[n].name), "n%u", n);
            r[n].node = (int32_t)n;
            r[n].score = place_score(sp->name, k % PLACE_COUNT_MAX, r[n].name);
        }
        qsort(r, p->total, sizeof(*r), by_rank);
        for (uint32_t n = 0; n < p->total; n++)
            p->rank[(size_t)k * p->total + n] = r[n].node;
    }
    free(r);
}

struct sim_place *sim_place_new(uint32_t slots, uint32_t total_nodes)
{
    struct sim_place *p = xcalloc(1, sizeof(*p));

    p->slots = slots;
    p->total = total_nodes;
    p->n_specs = (slots + PLACE_COUNT_MAX - 1) / PLACE_COUNT_MAX;
    p->specs = xcalloc(p->n_specs ? p->n_specs : 1, sizeof(*p->specs));
    for (size_t i = 0; i < p->n_specs; i++) {
        snprintf(p->specs[i].name, sizeof(p->specs[i].name), "s%04zu", i);
        p->specs[i].count =
            i + 1 < p->n_specs ? PLACE_COUNT_MAX : slots - (uint32_t)i * PLACE_COUNT_MAX;
        p->specs[i].update.max_parallel = 1;
    }
    p->vh = xcalloc(total_nodes, sizeof(*p->vh));
    p->nlive = xcalloc(total_nodes, sizeof(*p->nlive));
    p->copies = xcalloc(slots + 1, sizeof(*p->copies));
    p->runner = xcalloc(slots + 1, sizeof(*p->runner));
    p->placeable = xcalloc(slots + 1, 1);
    p->once = xcalloc(slots + 1, sizeof(*p->once));
    p->m = xcalloc(total_nodes, sizeof(*p->m));
    p->used = xcalloc(total_nodes, sizeof(*p->used));
    p->r.slots = slots;
    p->r.specs = (uint32_t)p->n_specs;
    p->inview = xcalloc(total_nodes + 1, 1);
    rank_all(p);
    return p;
}

void sim_place_free(struct sim_place *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_cache; i++)
        free(p->cache[i].owner);
    free(p->cache);
    free(p->used);
    for (size_t i = 0; i < p->r.n_ev; i++)
        free(p->pre[i]);
    free(p->specs);
    free(p->vh);
    free(p->nlive);
    free(p->copies);
    free(p->runner);
    free(p->placeable);
    free(p->once);
    free(p->m);
    free(p->rank);
    free(p->inview);
    free(p->ro_st);
    free(p->ro_prev);
    free(p->ro_chg);
    free(p);
}

void sim_place_expect(struct sim_place *p, uint8_t kind, uint32_t first, uint32_t count,
                      uint64_t at_ms)
{
    struct sim_place_event *ev;

    if (p->r.n_ev == SIM_PLACE_EVENTS_MAX)
        return;
    ev = &p->r.ev[p->r.n_ev++];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->first = first;
    ev->count = count;
    ev->at_ms = at_ms;
    ev->known_ms = ev->converged_ms = NEVER;
}

static uint64_t view_hash(const struct swim *s, uint32_t *nlive)
{
    uint64_t h = 0;
    uint32_t n = 0;

    for (size_t i = 0; i < swim_member_count(s); i++) {
        const struct swim_member *m = swim_member_at(s, i);
        if (!live_state(m->state))
            continue;
        h ^= mix64(node_of(m->name) + 1);
        n++;
    }
    *nlive = n;
    return mix64(h ^ n);
}

/* The cached placement of view hash h, computed from s's view on a miss. */
static struct view *view_get(struct sim_place *p, uint64_t h, const struct swim *s)
{
    struct view *v = NULL;
    struct place_result res;
    size_t n = 0;

    for (size_t i = 0; i < p->n_cache; i++) {
        if (p->cache[i].used && p->cache[i].hash == h) {
            v = &p->cache[i];
            v->used = p->tick;
            return v;
        }
        /* the oldest view not used in this tick makes room */
        if (p->n_cache >= VIEWS_KEEP && p->cache[i].used < p->tick &&
            (!v || p->cache[i].used < v->used))
            v = &p->cache[i];
    }
    if (!v) {
        /* every kept view is in use this tick: grow (the views of this
         * tick are referred to by index, see sim_place_tick) */
        p->cache = xrealloc(p->cache, (p->n_cache + 1) * sizeof(*p->cache));
        v = &p->cache[p->n_cache++];
        memset(v, 0, sizeof(*v));
    }
    memset(p->inview, 0, p->total);
    for (size_t i = 0; i < swim_member_count(s); i++) {
        const struct swim_member *m = swim_member_at(s, i);
        uint32_t x = node_of(m->name);
        if (!live_state(m->state))
            continue;
        if (x < p->total)
            p->inview[x] = 1;
        p->m[n].name = m->name;
        p->m[n].tags = NULL;
        memset(&p->m[n].cap, 0, sizeof(p->m[n].cap));
        n++;
    }
    if (!v->owner)
        v->owner = xcalloc(p->slots + 1, sizeof(*v->owner));
    for (uint32_t k = 0; k < p->slots; k++) {
        const int32_t *r = &p->rank[(size_t)k * p->total];
        uint32_t j = 0;
        while (j < p->total && !p->inview[r[j]])
            j++;
        v->owner[k] = j < p->total ? r[j] : -1;
    }
    if (p->r.check_views < CHECK_VIEWS) {
        /* the walk must give what core/place gives */
        p->r.check_views++;
        if (place_compute(p->specs, p->n_specs, p->m, n, &res, NULL) < 0)
            memset(&res, 0, sizeof(res));
        for (uint32_t k = 0; k < p->slots; k++)
            p->r.check_mismatch +=
                v->owner[k] != (k < res.n && res.s[k].member >= 0
                                    ? (int32_t)node_of(p->m[res.s[k].member].name)
                                    : -1);
        place_result_release(&res);
    }
    v->hash = h;
    v->used = p->tick;
    p->r.computes++;
    return v;
}

static int view_has(const struct swim *s, uint32_t node)
{
    for (size_t i = 0; i < swim_member_count(s); i++) {
        const struct swim_member *m = swim_member_at(s, i);
        if (node_of(m->name) == node)
            return live_state(m->state);
    }
    return 0;
}

/* Every running node's view agrees with the event: the dead are out of
 * it, the joiners in it, every running node in it after a heal. */
static int known(const struct sim_place *p, const struct sim_place_event *ev,
                 struct swim *const *swims, uint32_t running)
{
    for (uint32_t v = 0; v < p->total; v++) {
        if (!swims[v])
            continue;
        if (ev->kind == SIM_PLACE_HEAL) {
            if (p->nlive[v] != running)
                return 0;
            continue;
        }
        for (uint32_t x = ev->first; x < ev->first + ev->count; x++) {
            int has = view_has(swims[v], x);
            if ((ev->kind == SIM_PLACE_DEATH) == has)
                return 0;
            if (ev->kind == SIM_PLACE_JOIN && !swims[x])
                return 0;
        }
    }
    return 1;
}

/* Hashes every running node's view; returns how many nodes run. */
static uint32_t hash_views(struct sim_place *p, struct swim *const *swims)
{
    uint32_t running = 0;

    for (uint32_t v = 0; v < p->total; v++) {
        if (!swims[v])
            continue;
        running++;
        p->vh[v] = view_hash(swims[v], &p->nlive[v]);
    }
    return running;
}

/* Computes (or finds in the cache) each distinct view once, into p->used;
 * returns how many there are. */
static size_t distinct_views(struct sim_place *p, struct swim *const *swims)
{
    size_t *used = p->used;
    size_t n_used = 0;

    for (uint32_t v = 0; v < p->total; v++) {
        struct view *w;
        int seen = 0;
        if (!swims[v])
            continue;
        for (size_t i = 0; i < n_used && !seen; i++)
            seen = p->cache[used[i]].hash == p->vh[v];
        if (seen)
            continue;
        w = view_get(p, p->vh[v], swims[v]);
        used[n_used++] = (size_t)(w - p->cache);
    }
    return n_used;
}

/* A slot runs on its owner when the owner's own view says so: counts the
 * copies of each slot and notes which slots some view can place. */
static void count_copies(struct sim_place *p, size_t n_used, struct swim *const *swims)
{
    memset(p->copies, 0, p->slots * sizeof(*p->copies));
    memset(p->placeable, 0, p->slots);
    for (size_t i = 0; i < n_used; i++) {
        const struct view *w = &p->cache[p->used[i]];
        for (uint32_t k = 0; k < p->slots; k++) {
            int32_t o = w->owner[k];
            if (o < 0)
                continue;
            p->placeable[k] = 1;
            if (swims[o] && p->vh[o] == w->hash) {
                p->copies[k]++;
                p->runner[k] = o;
            }
        }
    }
}

/* Adds this tick's double and missing slot-seconds; returns how many slots
 * do not run exactly once. */
static uint32_t score_slots(struct sim_place *p)
{
    const double dt = SIM_PLACE_TICK_MS / 1000.0;
    uint32_t bad = 0;

    for (uint32_t k = 0; k < p->slots; k++) {
        if (p->copies[k] > p->r.max_copies)
            p->r.max_copies = p->copies[k];
        if (p->copies[k] > 1)
            p->r.double_slot_s += (p->copies[k] - 1) * dt;
        if (!p->copies[k] && p->placeable[k])
            p->r.missing_slot_s += dt;
        bad += p->copies[k] != 1;
    }
    return bad;
}

/* Events: the exactly-once state before, when all know, the one after. */
static void track_events(struct sim_place *p, uint64_t now_ms, struct swim *const *swims,
                         uint32_t running, uint32_t bad)
{
    for (size_t i = 0; i < p->r.n_ev; i++) {
        struct sim_place_event *ev = &p->r.ev[i];
        if (ev->at_ms > now_ms || ev->converged_ms != NEVER)
            continue;
        if (!p->started[i]) {
            p->started[i] = 1;
            if (p->have_once) {
                p->pre[i] = xcalloc(p->slots + 1, sizeof(*p->pre[i]));
                memcpy(p->pre[i], p->once, p->slots * sizeof(*p->once));
                for (uint32_t k = 0; ev->kind == SIM_PLACE_DEATH && k < p->slots; k++)
                    ev->owned += (uint32_t)p->pre[i][k] >= ev->first &&
                                 (uint32_t)p->pre[i][k] < ev->first + ev->count;
            }
        }
        if (ev->known_ms == NEVER && known(p, ev, swims, running))
            ev->known_ms = now_ms;
        if (ev->known_ms != NEVER && !bad) {
            ev->converged_ms = now_ms;
            for (uint32_t k = 0; p->pre[i] && k < p->slots; k++)
                ev->moved += p->pre[i][k] != p->runner[k];
        }
    }
}

void sim_place_rollout(struct sim_place *p, uint64_t at_ms, uint32_t max_parallel, uint64_t lag_ms)
{
    p->r.rollout.at_ms = at_ms;
    p->r.rollout.lag_ms = lag_ms;
    p->r.rollout.max_parallel = max_parallel ? max_parallel : 1;
    p->r.rollout.done_ms = NEVER;
    p->ro_st = xcalloc(p->slots + 1, 1);
    p->ro_prev = xcalloc(p->slots + 1, 1);
    p->ro_chg = xcalloc(p->slots + 1, sizeof(*p->ro_chg));
}

/* What the rule sees of spec i's slots, lag ms late, into sl. */
static void rollout_seen(const struct sim_place *p, size_t i, uint64_t now, uint64_t lag,
                         struct pu_slot *sl)
{
    uint32_t base = (uint32_t)i * PLACE_COUNT_MAX;

    for (uint32_t j = 0; j < p->specs[i].count; j++) {
        uint32_t k = base + j;
        uint8_t vis = now >= p->ro_chg[k] + lag ? p->ro_st[k] : p->ro_prev[k];
        sl[j].ver = vis == RO_OLD ? 1 : vis == RO_NEW ? 2 : 0;
        sl[j].passing = vis != RO_DOWN;
        sl[j].passing_ms = vis == RO_NEW ? p->ro_chg[k] + lag : 0;
    }
}

/* One tick of the rolling update: replaced instances that started pass;
 * then, for every slot still on the old version, the node that runs it
 * applies the rule to what it sees (each node its own delay, drawn
 * evenly from 0 to lag_ms by its number) and replaces it when the rule
 * says so. */
static void rollout_tick(struct sim_place *p, uint64_t now)
{
    struct place_update u = {.max_parallel = p->r.rollout.max_parallel,
                             .min_healthy_ms = SIM_ROLLOUT_HEALTHY,
                             .healthy_deadline_ms = UINT32_MAX};
    struct pu_slot sl[PLACE_COUNT_MAX];
    struct pu_plan plan;
    int done = 1;

    if (!p->ro_st || !p->r.rollout.at_ms || now < p->r.rollout.at_ms ||
        p->r.rollout.done_ms != NEVER)
        return;
    for (uint32_t k = 0; k < p->slots; k++) {
        if (p->ro_st[k] == RO_DOWN && now >= p->ro_chg[k] + SIM_ROLLOUT_START_MS) {
            p->ro_prev[k] = RO_DOWN;
            p->ro_st[k] = RO_NEW;
            p->ro_chg[k] += SIM_ROLLOUT_START_MS;
        }
    }
    for (size_t i = 0; i < p->n_specs; i++) {
        uint32_t base = (uint32_t)i * PLACE_COUNT_MAX, count = p->specs[i].count, down = 0;
        uint8_t go[PLACE_COUNT_MAX] = {0};
        for (uint32_t j = 0; j < count; j++) {
            uint32_t k = base + j;
            uint64_t lag;
            if (p->ro_st[k] != RO_OLD || !p->copies[k])
                continue;
            lag = p->r.rollout.lag_ms * (mix64((uint64_t)p->runner[k]) % 1001) / 1000;
            rollout_seen(p, i, now, lag, sl);
            pu_plan(&u, 2, sl, count, now, &plan);
            go[j] = plan.may_update >> j & 1;
        }
        for (uint32_t j = 0; j < count; j++) {
            uint32_t k = base + j;
            if (go[j]) {
                p->ro_prev[k] = RO_OLD;
                p->ro_st[k] = RO_DOWN;
                p->ro_chg[k] = now;
                p->r.rollout.replaced++;
            }
            down += p->ro_st[k] == RO_DOWN;
        }
        if (down > p->r.rollout.max_down)
            p->r.rollout.max_down = down;
        rollout_seen(p, i, now, 0, sl);
        pu_plan(&u, 2, sl, count, now, &plan);
        done &= plan.settled == count;
    }
    if (done)
        p->r.rollout.done_ms = now;
}

void sim_place_tick(struct sim_place *p, uint64_t now_ms, struct swim *const *swims, int formed)
{
    uint32_t running, bad;
    size_t n_used;

    if (!formed)
        return;
    p->tick++;
    p->r.ticks++;
    running = hash_views(p, swims);
    n_used = distinct_views(p, swims);
    if (n_used > p->r.max_views)
        p->r.max_views = (uint32_t)n_used;
    count_copies(p, n_used, swims);
    rollout_tick(p, now_ms);
    bad = score_slots(p);
    if (!bad)
        p->r.ticks_once++;
    track_events(p, now_ms, swims, running, bad);
    if (!bad) {
        memcpy(p->once, p->runner, p->slots * sizeof(*p->once));
        p->have_once = 1;
    }
}

void sim_place_result(const struct sim_place *p, struct sim_place_result *r)
{
    *r = p->r;
}

static const char *kind_name(uint8_t k)
{
    return k == SIM_PLACE_DEATH ? "death" : k == SIM_PLACE_JOIN ? "join" : "heal";
}

static void json_ms(FILE *f, uint64_t ms)
{
    if (ms == NEVER)
        fprintf(f, "null");
    else
        fprintf(f, "%" PRIu64, ms);
}

static uint64_t since(uint64_t a, uint64_t b)
{
    return a == NEVER || b == NEVER ? NEVER : a - b;
}

void sim_place_print(FILE *f, const struct sim_place_result *r, uint32_t nodes, int json)
{
    double per_node = nodes ? (double)r->slots / nodes : 0;

    if (json) {
        fprintf(f,
                "\"place\":{\"slots\":%u,\"specs\":%u,\"computes\":%" PRIu64 ",\"ticks\":%" PRIu64
                ",\"ticks_once\":%" PRIu64
                ",\"double_slot_s\":%.2f,\"missing_slot_s\":%.2f,\"max_copies\":%u,"
                "\"max_views\":%u,\"slots_per_node\":%.2f,\"check_views\":%u,"
                "\"check_mismatch\":%u,\"events\":[",
                r->slots, r->specs, r->computes, r->ticks, r->ticks_once, r->double_slot_s,
                r->missing_slot_s, r->max_copies, r->max_views, per_node, r->check_views,
                r->check_mismatch);
        for (size_t i = 0; i < r->n_ev; i++) {
            const struct sim_place_event *ev = &r->ev[i];
            fprintf(f, "%s{\"kind\":\"%s\",\"first\":%u,\"count\":%u,\"at_ms\":%" PRIu64,
                    i ? "," : "", kind_name(ev->kind), ev->first, ev->count, ev->at_ms);
            fprintf(f, ",\"known_after_ms\":");
            json_ms(f, since(ev->known_ms, ev->at_ms));
            fprintf(f, ",\"converged_after_known_ms\":");
            json_ms(f, since(ev->converged_ms, ev->known_ms));
            fprintf(f, ",\"moved\":%u,\"owned\":%u}", ev->moved, ev->owned);
        }
        fprintf(f, "]");
        if (r->rollout.at_ms) {
            fprintf(f,
                    ",\"rollout\":{\"at_ms\":%" PRIu64 ",\"lag_ms\":%" PRIu64
                    ",\"max_parallel\":%u,\"max_down\":%u,\"replaced\":%" PRIu64
                    ",\"done_after_ms\":",
                    r->rollout.at_ms, r->rollout.lag_ms, r->rollout.max_parallel,
                    r->rollout.max_down, r->rollout.replaced);
            json_ms(f, since(r->rollout.done_ms, r->rollout.at_ms));
            fprintf(f, "}");
        }
        fprintf(f, "},");
        return;
    }
    fprintf(f,
            "place                 %u slots in %u specs, %.2f per node; %" PRIu64
            " placements computed (at most %u views in one tick)\n",
            r->slots, r->specs, per_node, r->computes, r->max_views);
    fprintf(f,
            "place exactly once    %" PRIu64 " of %" PRIu64 " ticks; double %.2f slot-s,"
            " missing %.2f slot-s, at most %u copies\n",
            r->ticks_once, r->ticks, r->double_slot_s, r->missing_slot_s, r->max_copies);
    fprintf(f, "place check           %u views also placed by core/place: %u slots differed\n",
            r->check_views, r->check_mismatch);
    for (size_t i = 0; i < r->n_ev; i++) {
        const struct sim_place_event *ev = &r->ev[i];
        uint64_t k = since(ev->known_ms, ev->at_ms), c = since(ev->converged_ms, ev->known_ms);
        fprintf(f, "place %-5s at %6.3f s", kind_name(ev->kind), (double)ev->at_ms / 1000.0);
        if (ev->count)
            fprintf(f, " nodes %u-%u", ev->first, ev->first + ev->count - 1);
        fprintf(f, ": known by all after ");
        if (k == NEVER)
            fprintf(f, "never");
        else
            fprintf(f, "%.3f s", (double)k / 1000.0);
        fprintf(f, ", exactly once %s", c == NEVER ? "never" : "");
        if (c != NEVER)
            fprintf(f, "%.3f s later", (double)c / 1000.0);
        fprintf(f, "; %u slots moved", ev->moved);
        if (ev->kind == SIM_PLACE_DEATH)
            fprintf(f, " (the dead held %u)", ev->owned);
        fprintf(f, "\n");
    }
    if (r->rollout.at_ms) {
        uint64_t d = since(r->rollout.done_ms, r->rollout.at_ms);
        fprintf(f,
                "place rollout at %6.3f s, max_parallel %u, catalog seen %" PRIu64
                " ms late: at most %u slots of one spec down at once; %" PRIu64
                " replaced; every slot settled ",
                (double)r->rollout.at_ms / 1000.0, r->rollout.max_parallel, r->rollout.lag_ms,
                r->rollout.max_down, r->rollout.replaced);
        if (d == NEVER)
            fprintf(f, "never\n");
        else
            fprintf(f, "%.3f s later\n", (double)d / 1000.0);
    }
}
