/* sim_swim: the scenario driver for core/swim over sim_net. Owns one swim
 * machine per running node, starts, joins and kills nodes on schedule, and
 * keeps the bookkeeping the figures need: which node sees which as a live
 * member (a bit per pair), when a join is seen by all and a death by all,
 * and the suspicions and deaths of nodes that were running. Printing is in
 * sim_report.c. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/repl.h"
#include "core/swim_rejoin.h"
#include "sim/sim_swim.h"

#define JOIN_RETRY_MS   1000
#define LEAVE_LINGER_MS 600 /* as the agent: its leave is gossiped, then it stops */
#define PEERS_MAX       64  /* members a stopped node remembers, as the agent's data dir */
#define NEVER           UINT64_MAX

struct node {
    struct swim *swim; /* NULL before start and after a kill */
    uint64_t start_ms, join_ms;
    uint64_t seen_all_ms; /* its join seen alive by every running node */
    uint64_t kill_ms, dead_all_ms;
    uint64_t join_retry_ms;
    uint32_t live_viewers; /* running nodes that see it alive or suspect */
    uint32_t join_tries;
    uint8_t late, killed; /* killed: stopped, by a kill or after a leave */
    uint8_t left;         /* its last stop followed a leave */
    /* restarts: what its data dir keeps, and how it joins again */
    uint32_t incarnation;
    struct node_addr *peers;
    size_t n_peers;
    struct swim_rejoin *rj;
    uint64_t restart_ms, back_all_ms; /* back: sees and is seen by every running node */
};

enum act_kind { ACT_START = 1, ACT_KILL = 2, ACT_LEAVE = 3, ACT_STOP = 4, ACT_RESTART = 5 };

struct act {
    uint64_t at_ms;
    uint32_t node;
    uint8_t kind;
};

struct drv {
    const struct sim_scenario *sc;
    struct sim_net *net;
    struct node *nodes;
    uint32_t total, running;
    uint32_t started, initial_started;
    uint64_t *live; /* bit (viewer * total + subject): viewer sees subject live */
    uint64_t live_pairs;
    uint64_t formed_ms;
    uint64_t whole_ms; /* since when every running node sees every other, NEVER: not now */
    uint64_t grace_ms; /* a partition's effects may last this long after it heals */
    uint64_t trace;
    struct sim_result *r;
    struct sim_repl *rp;           /* the catalog, when the scenario has services or churn */
    struct sim_churn *ch;          /* with churn */
    uint64_t *rejoin_v;            /* restarts back in the cluster: how long it took */
    size_t n_rejoin, n_rejoin_cut; /* and those stopped again before they were */
    struct sim_place *pl;          /* with --place */
    struct swim **sw;              /* with --place: each node's swim, handed to every tick */
    uint64_t place_at;             /* with --place: the next tick */
};

/* ---- names and addresses ---- */

static struct node_addr addr_of(uint32_t i)
{
    struct node_addr a = {.family = 4, .port = 7420};
    uint32_t v = i + 1;
    a.ip[0] = 10;
    a.ip[1] = (uint8_t)(v >> 16);
    a.ip[2] = (uint8_t)(v >> 8);
    a.ip[3] = (uint8_t)v;
    return a;
}

/* The node at addr, or UINT32_MAX when it is no node of the scenario. */
static uint32_t node_at(const struct drv *d, const struct node_addr *a)
{
    uint32_t v = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
    if (a->family != 4 || a->ip[0] != 10 || a->port != 7420 || v == 0 || v > d->total)
        return UINT32_MAX;
    return v - 1;
}

static uint32_t node_named(const struct drv *d, const char *name)
{
    uint32_t v = 0;
    if (name[0] != 'n' || !name[1])
        return UINT32_MAX;
    for (const char *p = name + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > d->total)
            return UINT32_MAX;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    return v < d->total ? v : UINT32_MAX;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Folds one output into the run's trace: time, ends, kind and bytes. */
static void trace_out(struct drv *d, uint32_t from, const struct swim_out *o)
{
    uint64_t h = d->trace, w;
    size_t i = 0;

    h = mix64(h ^ sim_net_now(d->net));
    h = mix64(h ^ ((uint64_t)from << 32) ^ ((uint64_t)o->kind << 24) ^ o->len);
    for (; i + 8 <= o->len; i += 8) {
        memcpy(&w, o->data + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < o->len; i++)
        h = (h ^ o->data[i]) * 0x100000001b3ull;
    d->trace = mix64(h);
}

/* ---- who sees whom ---- */

static void live_put(struct drv *d, uint32_t v, uint32_t x, int on)
{
    uint64_t bit = (uint64_t)v * d->total + x;
    uint64_t mask = 1ull << (bit & 63);
    if (!!(d->live[bit >> 6] & mask) == on)
        return;
    d->live[bit >> 6] ^= mask;
    if (on) {
        d->nodes[x].live_viewers++;
        d->live_pairs++;
    } else {
        d->nodes[x].live_viewers--;
        if (d->nodes[x].swim) /* pairs about a killed node left the count at its kill */
            d->live_pairs--;
    }
}

/* Keeps whole_ms: the time since which the view is complete everywhere. */
static void check_whole(struct drv *d)
{
    int whole = d->live_pairs == (uint64_t)d->running * (d->running ? d->running - 1 : 0);
    if (!whole)
        d->whole_ms = NEVER;
    else if (d->whole_ms == NEVER)
        d->whole_ms = sim_net_now(d->net);
}

/* A restarted node is back once it sees every running node and every
 * running node sees it. */
static void check_back(struct drv *d, uint32_t x)
{
    struct node *n = &d->nodes[x];

    if (!n->swim || n->restart_ms == NEVER || n->back_all_ms != NEVER ||
        n->live_viewers + 1 != d->running)
        return;
    for (uint32_t y = 0; y < d->total; y++) {
        uint64_t bit = (uint64_t)x * d->total + y;
        if (y != x && d->nodes[y].swim && !(d->live[bit >> 6] & (1ull << (bit & 63))))
            return;
    }
    n->back_all_ms = sim_net_now(d->net);
    d->rejoin_v[d->n_rejoin++] = n->back_all_ms - n->restart_ms;
}

static void check_seen(struct drv *d, uint32_t x)
{
    struct node *n = &d->nodes[x];
    uint64_t now = sim_net_now(d->net);

    check_whole(d);
    if (d->rejoin_v)
        check_back(d, x);
    if (n->swim && n->seen_all_ms == NEVER && n->join_ms != NEVER &&
        n->live_viewers + 1 == d->running)
        n->seen_all_ms = now;
    if (n->killed && n->dead_all_ms == NEVER && n->live_viewers == 0)
        n->dead_all_ms = now;
    /* formed: every initial node started, none killed, no late joiner yet,
     * and each sees all the others */
    if (d->formed_ms == NEVER && d->started == d->sc->nodes && d->initial_started == d->sc->nodes &&
        d->running == d->sc->nodes && d->live_pairs == (uint64_t)d->running * (d->running - 1))
        d->formed_ms = now;
}

/* Was a partition in force, or did one heal less than grace_ms ago? Then
 * suspicions and deaths are what a partition should cause. */
static int partition_window(const struct drv *d)
{
    uint64_t now = sim_net_now(d->net);
    for (size_t i = 0; i < d->sc->n_part; i++) {
        const struct sim_partition *p = &d->sc->part[i];
        if (p->start_ms <= now && now < p->end_ms + d->grace_ms)
            return 1;
    }
    return 0;
}

static void count_false(struct drv *d, uint32_t x, uint64_t *plain, uint64_t *partition)
{
    if (x == UINT32_MAX || !d->nodes[x].swim)
        return; /* about a node that was killed: a true report */
    if (partition_window(d))
        (*partition)++;
    else
        (*plain)++;
}

/* ---- driving one node ---- */

static uint32_t pick_seed(struct drv *d, uint32_t i)
{
    struct node *n = &d->nodes[i];
    uint32_t seeds = d->sc->seeds < d->total ? d->sc->seeds : d->total;

    for (uint32_t k = 0; k < seeds; k++) {
        uint32_t s = (i + n->join_tries + k) % seeds;
        if (s != i && d->nodes[s].swim)
            return s;
    }
    return UINT32_MAX;
}

static void join(struct drv *d, uint32_t i)
{
    struct node *n = &d->nodes[i];
    uint32_t s = pick_seed(d, i);
    struct node_addr a;

    n->join_retry_ms = NEVER;
    if (s == UINT32_MAX) {
        n->join_retry_ms = sim_net_now(d->net) + JOIN_RETRY_MS;
        return;
    }
    a = addr_of(s);
    n->join_tries++;
    swim_join(n->swim, sim_net_now(d->net), &a);
}

static void flush(struct drv *d, uint32_t i)
{
    struct swim_out o;

    while (swim_poll_out(d->nodes[i].swim, &o)) {
        uint32_t to = node_at(d, &o.to);
        trace_out(d, i, &o);
        if (to == UINT32_MAX) {
            free(o.data);
            if (o.kind == SWIM_OUT_TCP)
                swim_stream_failed(d->nodes[i].swim, sim_net_now(d->net), &o.to);
        } else if (o.kind == SWIM_OUT_UDP) {
            sim_net_send(d->net, i, to, o.data, o.len);
        } else {
            sim_net_stream(d->net, i, to, o.data, o.len);
        }
    }
}

static void events(struct drv *d, uint32_t i)
{
    struct node *n = &d->nodes[i];
    struct swim_event ev;

    while (swim_poll_event(n->swim, &ev)) {
        uint32_t x = node_named(d, ev.name);
        switch (ev.kind) {
        case SWIM_EV_JOIN:
            if (d->rp)
                sim_repl_member_joined(d->rp, i, ev.name);
            if (x != UINT32_MAX && d->nodes[x].swim) {
                live_put(d, i, x, 1);
                check_seen(d, x);
            }
            break;
        case SWIM_EV_SUSPECT:
            count_false(d, x, &d->r->false_suspicions, &d->r->partition_suspicions);
            break;
        case SWIM_EV_DEAD:
            count_false(d, x, &d->r->false_deaths, &d->r->partition_deaths);
            /* fall through */
        case SWIM_EV_LEFT:
        case SWIM_EV_REAP:
            if (d->rp && ev.kind == SWIM_EV_REAP)
                sim_repl_forget(d->rp, i, ev.name);
            if (x != UINT32_MAX) {
                live_put(d, i, x, 0);
                check_seen(d, x);
            }
            break;
        case SWIM_EV_JOIN_FAILED:
            n->join_retry_ms = sim_net_now(d->net) + JOIN_RETRY_MS;
            break;
        case SWIM_EV_JOINED:
            if (n->rj)
                swim_rejoin_joined(n->rj, sim_net_now(d->net));
            if (d->rp)
                sim_repl_joined(d->rp, i, sim_net_now(d->net), n->swim);
            break;
        case SWIM_EV_USER:
            if (d->rp)
                sim_repl_user(d->rp, i, sim_net_now(d->net), ev.data, ev.len);
            break;
        default:
            break;
        }
        free(ev.data);
    }
    if (n->rj)
        check_back(d, i);
}

/* As the agent does after every input: run due timers, send, read events,
 * arm the timer. */
static void drive(struct drv *d, uint32_t i)
{
    struct node *n = &d->nodes[i];
    uint64_t now = sim_net_now(d->net), next;

    if (n->join_retry_ms <= now)
        join(d, i);
    if (n->rj && swim_rejoin_due(n->rj, now, n->swim)) {
        struct node_addr to[SWIM_REJOIN_TARGETS_MAX];
        size_t k = swim_rejoin_round(n->rj, now, n->swim, to, SWIM_REJOIN_TARGETS_MAX);
        for (size_t j = 0; j < k; j++)
            swim_join(n->swim, now, &to[j]);
    }
    next = swim_tick(n->swim, now);
    flush(d, i);
    events(d, i);
    if (d->rp) {
        uint64_t rnext = sim_repl_drive(d->rp, i, now, n->swim, d->net);
        next = rnext < next ? rnext : next;
    }
    flush(d, i);
    if (n->rj && swim_rejoin_next(n->rj) < next)
        next = swim_rejoin_next(n->rj);
    sim_net_timer(d->net, i, next < n->join_retry_ms ? next : n->join_retry_ms);
}

static void deliver(struct drv *d, const struct sim_ev *ev)
{
    struct node *n = &d->nodes[ev->to];
    struct node_addr from = addr_of(ev->from);
    uint8_t *reply = NULL;
    size_t reply_len = 0;

    if (!n->swim) {
        if (ev->kind == SIM_EV_STREAM)
            sim_net_reply(d->net, ev, NULL, 0);
        return;
    }
    switch (ev->kind) {
    case SIM_EV_DGRAM:
        swim_recv_packet(n->swim, ev->at_ms, &from, ev->data, ev->len, NULL);
        break;
    case SIM_EV_STREAM:
        if (d->rp && repl_is_stream(ev->data, ev->len))
            sim_repl_stream(d->rp, ev->to, ev->from, ev->at_ms, ev->data, ev->len, &reply,
                            &reply_len);
        else
            swim_recv_stream(n->swim, ev->at_ms, &from, ev->data, ev->len, &reply, &reply_len,
                             NULL);
        sim_net_reply(d->net, ev, reply, reply_len);
        break;
    case SIM_EV_REPLY:
        if (d->rp && repl_is_stream(ev->data, ev->len))
            sim_repl_stream(d->rp, ev->to, ev->from, ev->at_ms, ev->data, ev->len, NULL, NULL);
        else
            swim_recv_stream(n->swim, ev->at_ms, &from, ev->data, ev->len, NULL, NULL, NULL);
        break;
    case SIM_EV_STREAM_FAILED:
        if (!d->rp || !sim_repl_failed(d->rp, ev->to, ev->from))
            swim_stream_failed(n->swim, ev->at_ms, &from);
        break;
    default:
        break;
    }
    drive(d, ev->to);
}

/* One line on how far the run got, for long runs (not part of the report). */
static void progress(const struct drv *d, FILE *f)
{
    uint64_t pairs = (uint64_t)d->running * (d->running ? d->running - 1 : 0);
    uint64_t now = sim_net_now(d->net);

    fprintf(f,
            "troupe-sim: at %" PRIu64 ".%03" PRIu64
            " s: %u running, %.2f%% of pairs see each other, %" PRIu64 " events\n",
            now / 1000, now % 1000, d->running,
            pairs ? 100.0 * (double)d->live_pairs / (double)pairs : 100.0,
            sim_net_stats(d->net)->events);
    fflush(f);
}

/* ---- the scenario ---- */

static int start(struct drv *d, uint32_t i, struct err *e)
{
    struct node *n = &d->nodes[i];
    struct swim_config c;
    uint64_t now = sim_net_now(d->net);

    swim_config_default(&c, d->sc->profile);
    if (d->sc->reap_after_ms)
        c.reap_after_ms = d->sc->reap_after_ms;
    snprintf(c.name, sizeof(c.name), "n%u", i);
    c.addr = addr_of(i);
    c.seed = mix64(d->sc->seed ^ mix64(i));
    n->swim = swim_new(&c, now, e);
    if (!n->swim)
        return e ? e->code : -EINVAL;
    n->start_ms = now;
    if (d->rp) {
        sim_repl_start(d->rp, i, now);
        sim_repl_boot(d->rp, i, now);
    }
    d->running++;
    d->started++;
    if (!n->late)
        d->initial_started++;
    if (i > 0 || n->late) {
        n->join_ms = now;
        join(d, i);
    } else {
        n->join_ms = now; /* the first seed: its own start is its join */
        if (d->rp)
            sim_repl_joined(d->rp, i, now, n->swim);
    }
    drive(d, i);
    check_seen(d, i);
    return 0;
}

static void kill_node(struct drv *d, uint32_t i, int left)
{
    struct node *n = &d->nodes[i];

    if (!n->swim)
        return;
    /* what its data dir would keep: its incarnation, the members it saw */
    n->incarnation = swim_self(n->swim)->incarnation;
    n->left = (uint8_t)left;
    if (d->sc->n_restart) {
        size_t count = swim_member_count(n->swim);
        free(n->peers);
        n->peers = xcalloc(PEERS_MAX, sizeof(*n->peers));
        n->n_peers = 0;
        for (size_t k = 1; k < count && n->n_peers < PEERS_MAX; k++) {
            const struct swim_member *m = swim_member_at(n->swim, k);
            if (m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT)
                n->peers[n->n_peers++] = m->addr;
        }
    }
    if (n->restart_ms != NEVER && n->back_all_ms == NEVER)
        d->n_rejoin_cut++;
    n->restart_ms = NEVER;
    sim_net_set_up(d->net, i, 0);
    for (uint32_t x = 0; x < d->total; x++)
        live_put(d, i, x, 0);
    swim_free(n->swim);
    n->swim = NULL;
    /* live_pairs counts pairs about running nodes only */
    d->live_pairs -= n->live_viewers;
    if (d->rp)
        sim_repl_kill(d->rp, i);
    n->killed = 1;
    n->kill_ms = sim_net_now(d->net);
    n->dead_all_ms = NEVER;
    d->running--;
    for (uint32_t x = 0; x < d->total; x++)
        check_seen(d, x);
}

static void leave_node(struct drv *d, uint32_t i)
{
    struct node *n = &d->nodes[i];

    if (!n->swim)
        return;
    swim_leave(n->swim, sim_net_now(d->net));
    drive(d, i);
}

/* Starts a stopped node again as an agent restarted with its data dir. */
static int restart_node(struct drv *d, uint32_t i, struct err *e)
{
    struct node *n = &d->nodes[i];
    struct swim_config c;
    struct swim_rejoin_config rc;
    uint64_t now = sim_net_now(d->net);
    uint32_t seeds = d->sc->seeds < d->total ? d->sc->seeds : d->total;
    struct node_addr self = addr_of(i);

    if (n->swim || !n->killed)
        return 0; /* running, or never started */
    swim_config_default(&c, d->sc->profile);
    snprintf(c.name, sizeof(c.name), "n%u", i);
    c.addr = self;
    c.seed = mix64(d->sc->seed ^ mix64(i) ^ mix64(now));
    c.incarnation = n->incarnation + 1;
    n->swim = swim_new(&c, now, e);
    if (!n->swim)
        return e ? e->code : -EINVAL;
    sim_net_new_life(d->net, i);
    sim_net_set_up(d->net, i, 1);
    d->live_pairs += n->live_viewers; /* left out of the count while it was stopped */
    d->running++;
    n->killed = 0;
    n->restart_ms = now;
    n->back_all_ms = NEVER;
    if (!n->rj)
        n->rj = xcalloc(1, sizeof(*n->rj));
    swim_rejoin_config_default(&rc);
    rc.refresh_interval_ms = 2 * c.pushpull_interval_ms;
    swim_rejoin_init(n->rj, &rc, now);
    swim_rejoin_add_own(n->rj, &self);
    for (uint32_t k = 0; k < seeds; k++) {
        struct node_addr a = addr_of(k);
        swim_rejoin_add_target(n->rj, &a);
    }
    for (size_t k = 0; k < n->n_peers; k++)
        swim_rejoin_add_target(n->rj, &n->peers[k]);
    drive(d, i);
    check_seen(d, i);
    return 0;
}

/* ---- hooks of the churn's faults ---- */

static struct swim *hook_swim(void *ud, uint32_t i)
{
    struct drv *d = ud;
    return d->nodes[i].swim;
}

static void hook_freeze(void *ud, uint32_t i, int frozen)
{
    struct drv *d = ud;

    sim_net_set_up(d->net, i, !frozen); /* no timer, no packet while frozen */
    if (!frozen && d->nodes[i].swim)
        drive(d, i);
}

/* The agent on node i stops and starts again from an older data dir: it
 * rejoins as a restarted agent does, its replica read back from recs. */
static void hook_restart(void *ud, uint32_t i, const struct crdt_rec *recs, size_t n)
{
    struct drv *d = ud;

    if (!d->nodes[i].swim)
        return;
    kill_node(d, i, 0);
    if (restart_node(d, i, NULL) < 0)
        return;
    sim_repl_start(d->rp, i, sim_net_now(d->net));
    sim_repl_load(d->rp, i, recs, n);
    sim_repl_boot(d->rp, i, sim_net_now(d->net));
    /* as the agent, whose sync timer runs from its start: a restart that
     * rejoins without a join event of its own still syncs */
    sim_repl_joined(d->rp, i, sim_net_now(d->net), d->nodes[i].swim);
    drive(d, i);
}

static void hook_poke(void *ud, uint32_t i)
{
    struct drv *d = ud;
    if (d->nodes[i].swim)
        drive(d, i);
}

static int act_cmp(const void *a, const void *b)
{
    const struct act *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static struct act *plan(const struct sim_scenario *sc, uint32_t total, size_t *n_out)
{
    size_t n = total, k = 0;
    struct act *a;

    for (size_t i = 0; i < sc->n_kill; i++)
        n += sc->kill[i].count;
    for (size_t i = 0; i < sc->n_leave; i++)
        n += 2 * (size_t)sc->leave[i].count;
    for (size_t i = 0; i < sc->n_restart; i++)
        n += sc->restart[i].count;
    a = xcalloc(n, sizeof(*a));
    for (uint32_t i = 0; i < sc->nodes; i++)
        a[k++] = (struct act){sc->ramp_ms * i / sc->nodes, i, ACT_START};
    for (size_t j = 0; j < sc->n_join_late; j++)
        for (uint32_t i = 0; i < sc->join_late[j].count; i++)
            a[k++] = (struct act){sc->join_late[j].at_ms, sc->join_late[j].first + i, ACT_START};
    for (size_t j = 0; j < sc->n_kill; j++)
        for (uint32_t i = 0; i < sc->kill[j].count; i++)
            a[k++] = (struct act){sc->kill[j].at_ms, sc->kill[j].first + i, ACT_KILL};
    for (size_t j = 0; j < sc->n_leave; j++) {
        for (uint32_t i = 0; i < sc->leave[j].count; i++) {
            a[k++] = (struct act){sc->leave[j].at_ms, sc->leave[j].first + i, ACT_LEAVE};
            a[k++] = (struct act){sc->leave[j].at_ms + LEAVE_LINGER_MS, sc->leave[j].first + i,
                                  ACT_STOP};
        }
    }
    for (size_t j = 0; j < sc->n_restart; j++)
        for (uint32_t i = 0; i < sc->restart[j].count; i++)
            a[k++] = (struct act){sc->restart[j].at_ms, sc->restart[j].first + i, ACT_RESTART};
    qsort(a, k, sizeof(*a), act_cmp);
    *n_out = k;
    return a;
}

/* How long after a partition heals its effects may still show: the longest
 * suspicion plus two push-pull rounds, as core/swim computes them. */
static uint64_t partition_grace(const struct sim_scenario *sc, uint32_t total)
{
    struct swim_config c;
    double lg = total > 1 ? log10((double)total) : 1.0;
    double pp_mult = total > 32 ? ceil(log2((double)total) - 5.0) + 1.0 : 1.0;

    swim_config_default(&c, sc->profile);
    if (lg < 1)
        lg = 1;
    return (uint64_t)(c.suspicion_mult * lg * c.probe_interval_ms * c.suspicion_max_mult +
                      2.0 * pp_mult * c.pushpull_interval_ms);
}

/* v: the n durations that completed, sorted. */
static void dist(struct sim_dist *out, const uint64_t *v, size_t n, size_t never)
{
    memset(out, 0, sizeof(*out));
    out->n = n + never;
    out->never = never;
    if (!n)
        return;
    out->p50 = v[(n - 1) * 50 / 100];
    out->p90 = v[(n - 1) * 90 / 100];
    out->p99 = v[(n - 1) * 99 / 100];
    out->max = v[n - 1];
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* How long joins took to reach every node: the initial nodes (late 0) or the
 * late joiners (late 1). v has room for every node. */
static void collect_joins(struct drv *d, int late, uint64_t *v, struct sim_dist *out)
{
    size_t n = 0, never = 0;

    for (uint32_t i = 0; i < d->total; i++) {
        const struct node *x = &d->nodes[i];
        if (x->late != late || x->join_ms == NEVER || (x->killed && x->seen_all_ms == NEVER))
            continue;
        if (x->seen_all_ms == NEVER)
            never++;
        else
            v[n++] = x->seen_all_ms - x->join_ms;
    }
    qsort(v, n, sizeof(*v), u64_cmp);
    dist(out, v, n, never);
}

/* How long deaths took to reach every node: kills (not leaves); a node
 * restarted before all saw it dead is not counted. */
static void collect_deaths(struct drv *d, uint64_t *v, struct sim_dist *out)
{
    size_t n = 0, never = 0;

    for (uint32_t i = 0; i < d->total; i++) {
        const struct node *x = &d->nodes[i];
        if (x->kill_ms == NEVER || x->left || (x->swim && x->dead_all_ms == NEVER))
            continue;
        if (x->dead_all_ms == NEVER)
            never++;
        else
            v[n++] = x->dead_all_ms - x->kill_ms;
    }
    qsort(v, n, sizeof(*v), u64_cmp);
    dist(out, v, n, never);
}

static void collect_rejoins(struct drv *d, struct sim_dist *out)
{
    size_t never = 0;

    for (uint32_t i = 0; i < d->total; i++)
        never +=
            d->nodes[i].swim && d->nodes[i].restart_ms != NEVER && d->nodes[i].back_all_ms == NEVER;
    qsort(d->rejoin_v, d->n_rejoin, sizeof(*d->rejoin_v), u64_cmp);
    dist(out, d->rejoin_v, d->n_rejoin, never);
}

/* Packets, bytes and streams per node-second (mean and busiest node), and
 * the swim counters summed over the nodes still running. */
static void collect_traffic(struct drv *d, struct sim_result *r)
{
    uint64_t end = d->sc->duration_ms, pkts = 0, bytes = 0, streams = 0;
    double node_s = 0;

    for (uint32_t i = 0; i < d->total; i++) {
        const struct node *x = &d->nodes[i];
        const struct sim_net_node_stats *st = sim_net_node_stats(d->net, i);
        uint64_t until = x->killed ? x->kill_ms : end;
        double secs;
        uint64_t p = st->dgrams + st->streams, b = st->dgram_bytes + st->stream_bytes;
        if (x->join_ms == NEVER || until <= x->start_ms)
            continue;
        secs = (double)(until - x->start_ms) / 1000.0;
        node_s += secs;
        pkts += p;
        bytes += b;
        streams += st->streams;
        if (secs >= 1.0) {
            if (p / secs > r->pkts_per_node_s_max)
                r->pkts_per_node_s_max = p / secs;
            if (b / secs > r->bytes_per_node_s_max)
                r->bytes_per_node_s_max = b / secs;
        }
        if (x->swim) {
            const struct swim_stats *ss = swim_stats(x->swim);
            r->refutes += ss->refutes;
            r->broadcasts_dropped += ss->broadcasts_dropped;
        }
    }
    if (node_s > 0) {
        r->pkts_per_node_s = (double)pkts / node_s;
        r->bytes_per_node_s = (double)bytes / node_s;
        r->streams_per_node_s = (double)streams / node_s;
    }
}

/* The catalog's figures, over the time each node ran. */
static void collect_repl(struct drv *d, struct sim_result *r)
{
    uint64_t end = d->sc->duration_ms;
    uint64_t *from = xcalloc(d->total, sizeof(*from)), *until = xcalloc(d->total, sizeof(*until));

    for (uint32_t i = 0; i < d->total; i++) {
        from[i] = d->nodes[i].join_ms == NEVER ? NEVER : d->nodes[i].start_ms;
        until[i] = d->nodes[i].killed ? d->nodes[i].kill_ms : end;
    }
    sim_repl_collect(d->rp, d->net, from, until, &r->repl);
    free(from);
    free(until);
}

static void collect(struct drv *d)
{
    struct sim_result *r = d->r;
    uint64_t *v = xcalloc(d->total + 1, sizeof(*v));
    const struct sim_net_stats *ns = sim_net_stats(d->net);

    r->formed_ms = d->formed_ms;
    check_whole(d);
    r->whole_ms = d->whole_ms;
    r->missing_pairs = (uint64_t)d->running * (d->running ? d->running - 1 : 0) - d->live_pairs;
    collect_joins(d, 0, v, &r->join);
    collect_joins(d, 1, v, &r->join_late);
    collect_deaths(d, v, &r->death);
    if (d->rejoin_v)
        collect_rejoins(d, &r->rejoin);
    collect_traffic(d, r);
    r->dgrams_lost = ns->dgrams_lost;
    r->dgrams_unreachable = ns->dgrams_unreachable;
    r->streams_failed = ns->streams_failed;
    r->events = ns->events;
    r->trace = d->trace;
    if (d->rp)
        collect_repl(d, r);
    free(v);
}

uint32_t sim_scenario_total(const struct sim_scenario *sc)
{
    uint32_t t = sc->nodes;
    for (size_t i = 0; i < sc->n_join_late; i++)
        t += sc->join_late[i].count;
    return t;
}

void sim_scenario_release(struct sim_scenario *sc)
{
    for (size_t i = 0; i < sc->n_part; i++) {
        free(sc->part[i].group);
        sc->part[i].group = NULL;
    }
}

/* Every node not started yet, its figures NEVER; room for the rejoin
 * times; the catalog and churn when the scenario asks for them. */
static void drv_setup(struct drv *d, const struct sim_scenario *sc)
{
    for (uint32_t i = 0; i < d->total; i++) {
        struct node *x = &d->nodes[i];
        x->join_ms = x->seen_all_ms = x->kill_ms = x->dead_all_ms = x->join_retry_ms = NEVER;
        x->late = i >= sc->nodes;
        x->restart_ms = x->back_all_ms = NEVER;
    }
    if (sc->n_restart || (sc->churn && sc->faults)) {
        size_t restarts = sc->churn ? sc->faults : 0; /* the churn's restarts count too */
        for (size_t i = 0; i < sc->n_restart; i++)
            restarts += sc->restart[i].count;
        d->rejoin_v = xcalloc(restarts + 1, sizeof(*d->rejoin_v));
    }
    d->live = xcalloc(((uint64_t)d->total * d->total + 63) / 64, sizeof(*d->live));
    d->formed_ms = d->whole_ms = NEVER;
    d->grace_ms = partition_grace(sc, d->total);
    d->trace = mix64(sc->seed);
    if (sc->services || sc->churn)
        d->rp = sim_repl_new(d->total, sc->services, sc->seed);
    if (sc->churn) {
        struct sim_churn_config cc = {sc->churn, sc->faults,     sc->gc_ms,      sc->duration_ms,
                                      sc->seed,  sc->gc_serving, sc->fault_kinds};
        sim_repl_set_active(d->rp);
        d->ch = sim_churn_new(&cc, d->total, d->rp, d->net);
    }
}

/* With --place: the placement and the events it times moves against. */
static void place_setup(struct drv *d, const struct sim_scenario *sc)
{
    d->place_at = SIM_PLACE_TICK_MS;
    if (!sc->place_slots)
        return;
    d->pl = sim_place_new(sc->place_slots, d->total);
    d->sw = xcalloc(d->total, sizeof(*d->sw));
    for (size_t i = 0; i < sc->n_kill; i++)
        sim_place_expect(d->pl, SIM_PLACE_DEATH, sc->kill[i].first, sc->kill[i].count,
                         sc->kill[i].at_ms);
    for (size_t i = 0; i < sc->n_join_late; i++)
        sim_place_expect(d->pl, SIM_PLACE_JOIN, sc->join_late[i].first, sc->join_late[i].count,
                         sc->join_late[i].at_ms);
    for (size_t i = 0; i < sc->n_part; i++)
        if (sc->part[i].end_ms < sc->duration_ms)
            sim_place_expect(d->pl, SIM_PLACE_HEAL, 0, 0, sc->part[i].end_ms);
    if (sc->place_update_ms)
        sim_place_rollout(d->pl, sc->place_update_ms, sc->place_parallel ? sc->place_parallel : 2,
                          sc->place_lag_ms);
}

static void place_tick(struct drv *d, uint64_t now)
{
    for (uint32_t i = 0; i < d->total; i++)
        d->sw[i] = d->nodes[i].swim;
    sim_place_tick(d->pl, now, d->sw, d->formed_ms != NEVER);
    d->place_at += SIM_PLACE_TICK_MS;
}

/* The scenario's action a, due now. */
static int act_do(struct drv *d, const struct act *a, struct err *e)
{
    switch (a->kind) {
    case ACT_KILL:
        kill_node(d, a->node, 0);
        return 0;
    case ACT_LEAVE:
        leave_node(d, a->node);
        return 0;
    case ACT_STOP:
        kill_node(d, a->node, 1);
        return 0;
    case ACT_RESTART:
        return restart_node(d, a->node, e);
    default:
        if (!d->nodes[a->node].swim && !d->nodes[a->node].killed)
            return start(d, a->node, e);
        return 0;
    }
}

static void drv_release(struct drv *d)
{
    sim_place_free(d->pl);
    free(d->sw);
    for (uint32_t i = 0; i < d->total; i++) {
        swim_free(d->nodes[i].swim);
        free(d->nodes[i].peers);
        free(d->nodes[i].rj);
    }
    free(d->rejoin_v);
    sim_churn_free(d->ch);
    sim_repl_free(d->rp);
    free(d->nodes);
    free(d->live);
    sim_net_free(d->net);
}

int sim_swim_run(const struct sim_scenario *sc, struct sim_result *r, struct err *e)
{
    struct drv d;
    struct sim_net_config nc = sc->net;
    struct act *acts;
    size_t n_acts, next = 0;
    uint64_t progress_at = sc->progress_ms;
    struct sim_churn_hooks hooks = {&d, hook_swim, hook_freeze, hook_restart, hook_poke};
    int rc = 0;

    memset(r, 0, sizeof(*r));
    memset(&d, 0, sizeof(d));
    d.sc = sc;
    d.r = r;
    d.total = sim_scenario_total(sc);
    if (sc->nodes == 0 || d.total > 0xfffffe)
        return err_set(e, -EINVAL, "node count must be 1..%u", 0xfffffe);
    if (sc->services && sc->n_restart)
        return err_set(e, -EINVAL, "--restart does not go with --services yet");
    nc.nodes = d.total;
    nc.seed = mix64(sc->seed);
    if (!(d.net = sim_net_new(&nc, e)))
        return e ? e->code : -EINVAL;
    for (size_t i = 0; i < sc->n_part; i++)
        sim_net_partition(d.net, sc->part[i].group, sc->part[i].start_ms, sc->part[i].end_ms);
    d.nodes = xcalloc(d.total, sizeof(*d.nodes));
    drv_setup(&d, sc);
    acts = plan(sc, d.total, &n_acts);
    place_setup(&d, sc);

    for (;;) {
        uint64_t until = next < n_acts && acts[next].at_ms < sc->duration_ms ? acts[next].at_ms
                                                                             : sc->duration_ms;
        struct sim_ev ev;
        if (sc->progress_ms && progress_at < until)
            until = progress_at;
        if (d.ch && sim_churn_next(d.ch) < until)
            until = sim_churn_next(d.ch);
        if (d.pl && d.place_at < until)
            until = d.place_at;
        while (sim_net_next(d.net, until, &ev))
            deliver(&d, &ev);
        if (sc->progress_ms && until == progress_at) {
            progress(&d, sc->progress);
            progress_at += sc->progress_ms;
        }
        if (d.pl && until == d.place_at)
            place_tick(&d, until);
        if (until >= sc->duration_ms)
            break;
        if (d.ch && sim_churn_next(d.ch) <= until)
            sim_churn_step(d.ch, until, &hooks);
        for (; next < n_acts && acts[next].at_ms == until; next++)
            if ((rc = act_do(&d, &acts[next], e)) < 0)
                goto out;
    }
    if (d.ch)
        sim_churn_finish(d.ch, &hooks, &r->churn);
    collect(&d);
    if (d.pl)
        sim_place_result(d.pl, &r->place);
out:
    drv_release(&d);
    free(acts);
    return rc;
}
