/* sim_churn: catalog churn, faults, and the no-resurrection check (see
 * sim_churn.h). Operations and faults are drawn from one generator seeded
 * by the scenario, so a run is a pure function of its flags. */
#include "sim/sim_churn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/repl.h"

#define NEVER          UINT64_MAX
#define KEYS           8    /* own keys per node and kind; shared keys per kind */
#define SNAP_EVERY_MS  5000 /* a snapshot of one random node's replica */
#define AGREE_EVERY_MS 1000 /* after the last fault: do all nodes agree yet? */
#define FAULT_MIN_MS   10000
#define FAULT_SPAN_MS  50000

struct fault {
    uint64_t start_ms, end_ms;
    uint32_t node;
    uint8_t kind, started, ended;
};

/* A multi-writer operation that took effect. */
struct op {
    uint32_t node;
    uint8_t kind, deleted, lost; /* lost: its node restarted from an older snapshot */
    char key[16];
    uint64_t hlc, at_ms;
};

struct snap {
    uint64_t at_ms; /* NEVER: none */
    size_t n;
    struct crdt_rec *r; /* origin, key, val: heap */
};

struct sim_churn {
    struct sim_churn_config cfg;
    uint32_t total;
    struct sim_repl *s;
    uint64_t rng, op_every_ms;
    uint64_t next_op, next_gc, next_snap, next_agree;
    struct fault *faults;
    size_t n_faults;
    uint8_t *frozen;
    struct snap *snaps;
    struct op *ops;
    size_t n_ops;
    struct sim_churn_result r;
    uint64_t carried[4]; /* stats of replicas a restart replaced */
};

static uint64_t rnd(struct sim_churn *ch, uint64_t n)
{
    uint64_t z = (ch->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return n ? z % n : 0;
}

/* Multi-writer kinds, as the store orders them (last writer wins): the
 * one list the simulator keeps of them. */
static int multi_writer(uint8_t kind)
{
    return kind == CRDT_KV || kind == CRDT_SPEC || kind == CRDT_ROUTE || kind == CRDT_TOKEN;
}

static void plan(struct sim_churn *ch, struct sim_net *net)
{
    uint64_t from = ch->cfg.duration_ms / 10, last = ch->cfg.duration_ms * 65 / 100;
    uint16_t *group = xcalloc(ch->total, sizeof(*group));

    ch->faults = xcalloc(ch->cfg.faults ? ch->cfg.faults : 1, sizeof(*ch->faults));
    for (uint32_t k = 0; k < ch->cfg.faults; k++) {
        struct fault *f = &ch->faults[ch->n_faults++];
        do
            f->kind = (uint8_t)rnd(ch, SIM_FAULT_KINDS);
        while (!(ch->cfg.fault_kinds & (1u << f->kind)));
        f->node = (uint32_t)rnd(ch, ch->total);
        f->start_ms = from + rnd(ch, last > from ? (last - from) * 3 / 4 : 1);
        f->end_ms = f->start_ms + FAULT_MIN_MS + rnd(ch, FAULT_SPAN_MS);
        if (f->end_ms > last)
            f->end_ms = last;
        if (f->kind == SIM_FAULT_RESTART)
            f->end_ms = f->start_ms;
        if (f->kind == SIM_FAULT_PARTITION) {
            /* a random group of up to half the nodes, cut off both ways */
            uint32_t size = 1 + (uint32_t)rnd(ch, ch->total / 2 ? ch->total / 2 : 1);
            for (uint32_t i = 0; i < ch->total; i++)
                group[i] = 2;
            for (uint32_t j = 0; j < size; j++)
                group[(f->node + j) % ch->total] = 1;
            sim_net_partition(net, group, f->start_ms, f->end_ms);
        }
        if (f->end_ms > ch->r.healed_ms)
            ch->r.healed_ms = f->end_ms;
    }
    free(group);
}

struct sim_churn *sim_churn_new(const struct sim_churn_config *c, uint32_t total,
                                struct sim_repl *s, struct sim_net *net)
{
    struct sim_churn *ch = xcalloc(1, sizeof(*ch));
    uint64_t per_min = (uint64_t)c->per_min * total;

    ch->cfg = *c;
    if (!(ch->cfg.fault_kinds & ((1u << SIM_FAULT_KINDS) - 1)))
        ch->cfg.fault_kinds = (1u << SIM_FAULT_KINDS) - 1;
    if (!ch->cfg.gc_ms)
        ch->cfg.gc_ms = 30000;
    ch->total = total;
    ch->s = s;
    ch->rng = c->seed ^ 0xc4a05ull;
    ch->op_every_ms = per_min ? 60000 / per_min : NEVER;
    if (!ch->op_every_ms)
        ch->op_every_ms = 1;
    ch->next_op = per_min ? 1000 : NEVER;
    ch->next_gc = ch->cfg.gc_ms;
    ch->next_snap = SNAP_EVERY_MS;
    ch->frozen = xcalloc(total, 1);
    ch->snaps = xcalloc(total, sizeof(*ch->snaps));
    for (uint32_t i = 0; i < total; i++)
        ch->snaps[i].at_ms = NEVER;
    ch->r.per_min = c->per_min;
    ch->r.faults = c->faults;
    ch->r.agree_ms = NEVER;
    plan(ch, net);
    ch->next_agree = ch->r.healed_ms;
    return ch;
}

static void snap_release(struct snap *sn)
{
    for (size_t i = 0; i < sn->n; i++) {
        free((char *)sn->r[i].origin);
        free((char *)sn->r[i].key);
        free((uint8_t *)sn->r[i].val);
    }
    free(sn->r);
    sn->r = NULL;
    sn->n = 0;
    sn->at_ms = NEVER;
}

void sim_churn_free(struct sim_churn *ch)
{
    if (!ch)
        return;
    for (uint32_t i = 0; i < ch->total; i++)
        snap_release(&ch->snaps[i]);
    free(ch->snaps);
    free(ch->frozen);
    free(ch->faults);
    free(ch->ops);
    free(ch);
}

uint64_t sim_churn_next(const struct sim_churn *ch)
{
    uint64_t t = ch->next_op;

    if (ch->next_gc < t)
        t = ch->next_gc;
    if (ch->next_snap < t)
        t = ch->next_snap;
    if (ch->r.agree_ms == NEVER && ch->next_agree < t)
        t = ch->next_agree;
    for (size_t k = 0; k < ch->n_faults; k++) {
        const struct fault *f = &ch->faults[k];
        if (!f->started && f->start_ms < t)
            t = f->start_ms;
        if (f->started && !f->ended && f->end_ms < t)
            t = f->end_ms;
    }
    return t;
}

/* ---- operations ---- */

static int usable(const struct sim_churn *ch, uint32_t i)
{
    return !ch->frozen[i] && sim_repl_repl(ch->s, i);
}

static void log_op(struct sim_churn *ch, uint32_t i, uint8_t kind, const char *key, uint64_t now)
{
    const struct crdt *c = sim_repl_crdt(ch->s, i);
    const struct crdt_rec *r = crdt_get(c, crdt_self(c), kind, key);
    struct op *o;

    if (!r)
        return;
    ch->ops = xrealloc(ch->ops, (ch->n_ops + 1) * sizeof(*ch->ops));
    o = &ch->ops[ch->n_ops++];
    memset(o, 0, sizeof(*o));
    o->node = i;
    o->kind = kind;
    o->deleted = r->deleted;
    o->hlc = r->hlc;
    o->at_ms = now;
    snprintf(o->key, sizeof(o->key), "%s", key);
}

static void one_op(struct sim_churn *ch, uint64_t now, const struct sim_churn_hooks *h)
{
    uint32_t i = (uint32_t)rnd(ch, ch->total);
    uint8_t kind = (uint8_t)(1 + rnd(ch, CRDT_KIND_MAX));
    int del = rnd(ch, 3) == 0, rc;
    struct repl *r = sim_repl_repl(ch->s, i);
    char key[16], val[24];

    if (!usable(ch, i))
        return;
    snprintf(key, sizeof(key), "%s%u", multi_writer(kind) ? "shared" : "own",
             (unsigned)rnd(ch, KEYS));
    snprintf(val, sizeof(val), "v%llu", (unsigned long long)ch->r.ops);
    rc = del ? repl_del(r, now, kind, key, NULL)
             : repl_put(r, now, kind, key, val, (uint32_t)strlen(val), NULL);
    if (rc != 1)
        return;
    ch->r.ops++;
    if (multi_writer(kind)) {
        (*(del ? &ch->r.kv_deletes : &ch->r.kv_writes))++;
        log_op(ch, i, kind, key, now);
    } else {
        (*(del ? &ch->r.deletes : &ch->r.writes))++;
    }
    h->poke(h->ud, i);
}

/* ---- collection, as the agent counts members ---- */

struct gc_view {
    const char **names;
    size_t n;
};

static const char *gc_at(void *ud, size_t i)
{
    return ((const struct gc_view *)ud)->names[i];
}

/* Every member not yet reaped counts; with gc_serving only live ones. */
static void gc_all(struct sim_churn *ch, const struct sim_churn_hooks *h)
{
    for (uint32_t i = 0; i < ch->total; i++) {
        struct swim *sw = h->swim_of(h->ud, i);
        struct gc_view v = {NULL, 0};
        struct repl_peers p = {0, gc_at, &v};
        size_t n;
        if (!usable(ch, i) || !sw)
            continue;
        n = swim_member_count(sw);
        v.names = xcalloc(n ? n : 1, sizeof(*v.names));
        for (size_t k = 0; k < n; k++) {
            const struct swim_member *m = swim_member_at(sw, k);
            if (!ch->cfg.gc_serving || m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT)
                v.names[v.n++] = m->name;
        }
        p.n = v.n;
        repl_gc(sim_repl_repl(ch->s, i), &p);
        free(v.names);
    }
}

/* ---- snapshots and faults ---- */

static int snap_cb(void *ud, const struct crdt_rec *r)
{
    struct snap *sn = ud;
    struct crdt_rec *x;

    sn->r = xrealloc(sn->r, (sn->n + 1) * sizeof(*sn->r));
    x = &sn->r[sn->n++];
    *x = *r;
    x->origin = xstrdup(r->origin);
    x->key = xstrdup(r->key);
    x->val = r->len ? xmemdup(r->val, r->len) : NULL;
    return 0;
}

static void snap_take(struct sim_churn *ch, uint32_t i, uint64_t now)
{
    struct snap *sn = &ch->snaps[i];
    const struct crdt *c = sim_repl_crdt(ch->s, i);

    snap_release(sn);
    sn->at_ms = now;
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(c, k, NULL, 1, snap_cb, sn);
}

static void carry_stats(struct sim_churn *ch, uint32_t i)
{
    const struct repl_stats *st = repl_stats(sim_repl_repl(ch->s, i));
    ch->carried[0] += st->gc_collected;
    ch->carried[1] += st->census_out;
    ch->carried[2] += st->census_bytes_out;
    ch->carried[3] += st->census_dropped;
}

static void fault_start(struct sim_churn *ch, struct fault *f, const struct sim_churn_hooks *h)
{
    struct snap *sn = &ch->snaps[f->node];

    f->started = 1;
    if (f->kind == SIM_FAULT_PARTITION) {
        ch->r.partitions++;
    } else if (f->kind == SIM_FAULT_FREEZE) {
        if (ch->frozen[f->node] || !sim_repl_repl(ch->s, f->node)) {
            f->ended = 1;
            return;
        }
        ch->frozen[f->node] = 1;
        ch->r.freezes++;
        h->freeze(h->ud, f->node, 1);
    } else if (usable(ch, f->node) && sn->at_ms != NEVER) {
        /* its operations since the snapshot are lost with its disk */
        for (size_t k = 0; k < ch->n_ops; k++)
            if (ch->ops[k].node == f->node && ch->ops[k].at_ms > sn->at_ms)
                ch->ops[k].lost = 1;
        ch->r.restarts++;
        carry_stats(ch, f->node);
        h->restart(h->ud, f->node, sn->r, sn->n);
    }
}

static void fault_end(struct sim_churn *ch, struct fault *f, const struct sim_churn_hooks *h)
{
    f->ended = 1;
    if (f->kind == SIM_FAULT_FREEZE && ch->frozen[f->node]) {
        ch->frozen[f->node] = 0;
        h->freeze(h->ud, f->node, 0);
    }
}

/* A hash of node i's live records. */
static int live_cb(void *ud, const struct crdt_rec *r)
{
    uint64_t *h = ud;
    const char *parts[2] = {r->origin, r->key};

    if (r->deleted)
        return 0;
    for (int p = 0; p < 2; p++)
        for (const char *s = parts[p]; *s; s++)
            *h = (*h ^ (uint8_t)*s) * 1099511628211ull;
    *h = (*h ^ r->kind ^ (r->version << 8)) * 1099511628211ull;
    return 0;
}

static uint64_t live_hash(const struct sim_churn *ch, uint32_t i)
{
    uint64_t h = 1469598103934665603ull;
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(sim_repl_crdt(ch->s, i), k, NULL, 0, live_cb, &h);
    return h;
}

static int all_agree(const struct sim_churn *ch)
{
    uint64_t ref = 0;
    int any = 0;

    for (uint32_t i = 0; i < ch->total; i++) {
        uint64_t x;
        if (!usable(ch, i))
            continue;
        x = live_hash(ch, i);
        if (any && x != ref)
            return 0;
        ref = x;
        any = 1;
    }
    return 1;
}

void sim_churn_step(struct sim_churn *ch, uint64_t now, const struct sim_churn_hooks *h)
{
    for (size_t k = 0; k < ch->n_faults; k++) {
        struct fault *f = &ch->faults[k];
        if (!f->started && f->start_ms <= now)
            fault_start(ch, f, h);
        if (f->started && !f->ended && f->end_ms <= now)
            fault_end(ch, f, h);
    }
    while (ch->next_op <= now) {
        one_op(ch, now, h);
        ch->next_op += ch->op_every_ms;
        if (ch->next_op >= ch->cfg.duration_ms * 80 / 100)
            ch->next_op = NEVER; /* the last fifth settles */
    }
    if (ch->next_gc <= now) {
        gc_all(ch, h);
        ch->next_gc = now + ch->cfg.gc_ms;
    }
    if (ch->next_snap <= now) {
        uint32_t i = (uint32_t)rnd(ch, ch->total);
        if (usable(ch, i))
            snap_take(ch, i, now);
        ch->next_snap = now + SNAP_EVERY_MS;
    }
    if (ch->r.agree_ms == NEVER && now >= ch->r.healed_ms && ch->next_agree <= now) {
        if (all_agree(ch))
            ch->r.agree_ms = now;
        ch->next_agree = now + AGREE_EVERY_MS;
    }
}

/* ---- the check ---- */

static uint32_t node_of(const struct sim_churn *ch, const char *name)
{
    unsigned long i;
    char tail;
    if (sscanf(name, "n%lu%c", &i, &tail) != 1 || i >= ch->total)
        return UINT32_MAX;
    return (uint32_t)i;
}

struct truth {
    struct sim_churn *ch;
    const struct crdt *at; /* the node checked */
};

/* A live record of the checked node whose origin holds it no more. */
static int resurrected_cb(void *ud, const struct crdt_rec *r)
{
    struct truth *t = ud;
    uint32_t o = node_of(t->ch, r->origin);
    const struct crdt_rec *own;

    if (o == UINT32_MAX || !usable(t->ch, o))
        return 0;
    own = crdt_get(sim_repl_crdt(t->ch->s, o), r->origin, r->kind, r->key);
    if (!own || own->deleted)
        t->ch->r.resurrected++;
    return 0;
}

/* A live record of its origin that the checked node lacks at that version. */
static int lost_cb(void *ud, const struct crdt_rec *r)
{
    struct truth *t = ud;
    const struct crdt_rec *x = crdt_get(t->at, r->origin, r->kind, r->key);

    if (!r->deleted && (!x || x->deleted || x->version != r->version))
        t->ch->r.lost++;
    return 0;
}

/* 1 when op k is the first on its key (each key is checked once). */
static int first_of_key(const struct sim_churn *ch, size_t k)
{
    for (size_t m = 0; m < k; m++)
        if (ch->ops[m].kind == ch->ops[k].kind && strcmp(ch->ops[m].key, ch->ops[k].key) == 0)
            return 0;
    return 1;
}

/* Each multi-writer key reads as its newest operation; when that one was
 * lost by a restart, as the newest one that was not, or as deleted. */
static void check_keys(struct sim_churn *ch, const struct crdt *c)
{
    for (size_t k = 0; k < ch->n_ops; k++) {
        const struct op *w = &ch->ops[k], *kept = NULL;
        const struct crdt_rec *r;
        int reads, ok;
        if (!first_of_key(ch, k))
            continue;
        for (size_t m = k; m < ch->n_ops; m++) {
            const struct op *x = &ch->ops[m];
            if (x->kind != w->kind || strcmp(x->key, w->key) != 0)
                continue;
            if (x->hlc > w->hlc)
                w = x;
            if (!x->lost && (!kept || x->hlc > kept->hlc))
                kept = x;
        }
        r = crdt_lww(c, w->kind, w->key);
        reads = r && !r->deleted;
        ok = reads ? (!w->deleted && r->hlc == w->hlc) ||
                         (w->lost && kept && !kept->deleted && r->hlc == kept->hlc)
                   : w->deleted || w->lost;
        if (!ok && reads && (w->lost ? !kept || kept->deleted : w->deleted))
            ch->r.resurrected++;
        else if (!ok)
            ch->r.lost++;
    }
}

void sim_churn_finish(struct sim_churn *ch, const struct sim_churn_hooks *h,
                      struct sim_churn_result *out)
{
    uint64_t *hash = xcalloc(ch->total, sizeof(*hash));
    uint32_t best = 0;

    for (uint32_t i = 0; i < ch->total; i++) {
        struct swim *sw = h->swim_of(h->ud, i);
        if (!usable(ch, i) || !sw)
            continue;
        hash[i] = live_hash(ch, i);
        ch->r.nodes_checked++;
        for (uint32_t j = 0; j < ch->total; j++) {
            char name[16];
            const struct swim_member *m;
            snprintf(name, sizeof(name), "n%u", j);
            m = swim_member_find(sw, name);
            if (j != i && usable(ch, j) && (!m || m->state != SWIM_ALIVE))
                ch->r.unseen_pairs++;
        }
    }
    for (uint32_t i = 0; i < ch->total; i++) { /* the most common state */
        uint32_t same = 0;
        if (!usable(ch, i))
            continue;
        for (uint32_t j = 0; j < ch->total; j++)
            same += usable(ch, j) && hash[j] == hash[i];
        if (same > best)
            best = same;
    }
    ch->r.diverged = ch->r.nodes_checked - best;
    for (uint32_t i = 0; i < ch->total; i++) {
        struct truth t = {ch, sim_repl_crdt(ch->s, i)};
        const struct repl_stats *st;
        if (!usable(ch, i))
            continue;
        for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
            crdt_scan(t.at, k, NULL, 0, resurrected_cb, &t);
        for (uint32_t o = 0; o < ch->total; o++) {
            const struct crdt *oc = sim_repl_crdt(ch->s, o);
            if (usable(ch, o))
                crdt_scan_origin(oc, crdt_self(oc), lost_cb, &t);
        }
        check_keys(ch, t.at);
        st = repl_stats(sim_repl_repl(ch->s, i));
        ch->r.gc_collected += st->gc_collected;
        ch->r.census_sent += st->census_out;
        ch->r.census_bytes += st->census_bytes_out;
        ch->r.census_dropped += st->census_dropped;
    }
    ch->r.gc_collected += ch->carried[0];
    ch->r.census_sent += ch->carried[1];
    ch->r.census_bytes += ch->carried[2];
    ch->r.census_dropped += ch->carried[3];
    free(hash);
    *out = ch->r;
}
