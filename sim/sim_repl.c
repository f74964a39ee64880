/* sim_repl: the catalog's replication on every simulated node (see
 * sim_repl.h). Per instance, a bit per node says who holds it; an instance
 * is held by all when its holders reach the running node count. */
#include "sim/sim_repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cat.h"
#include "core/crdt_codec.h"
#include "core/mem.h"
#include "core/repl.h"

#define NEVER       UINT64_MAX
#define PENDING_MAX 16

struct rnode {
    struct crdt *c;
    struct repl *r;
    uint64_t rng;
    uint32_t pending[PENDING_MAX]; /* peers of our open streams */
    size_t n_pending;
    uint8_t running, joined;
};

struct sim_repl {
    uint32_t total, services, running;
    uint8_t active; /* replicate: services, or churn */
    struct rnode *n;
    uint64_t *reg_ms, *all_ms; /* per instance */
    uint64_t *join_lag;        /* per instance: the longest wait of a node past its join */
    uint64_t *joined_ms;       /* per node */
    uint32_t *holders;
    uint64_t *held; /* bit (instance * total + node) */
    uint64_t complete, registered, all_held_ms;
    uint64_t bytes_at_all_held;
    struct sim_net *net_seen;
    uint64_t sync_bytes;
};

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct sim_repl *sim_repl_new(uint32_t total, uint32_t services, uint64_t seed)
{
    struct sim_repl *s = xcalloc(1, sizeof(*s));
    uint64_t inst = (uint64_t)total * services;

    s->total = total;
    s->services = services;
    s->active = services > 0;
    s->n = xcalloc(total, sizeof(*s->n));
    for (uint32_t i = 0; i < total; i++)
        s->n[i].rng = mix(seed ^ (0x5eedull << 32) ^ i);
    s->reg_ms = xcalloc(inst + 1, sizeof(*s->reg_ms));
    s->all_ms = xcalloc(inst + 1, sizeof(*s->all_ms));
    s->holders = xcalloc(inst + 1, sizeof(*s->holders));
    s->join_lag = xcalloc(inst + 1, sizeof(*s->join_lag));
    s->joined_ms = xcalloc(total + 1, sizeof(*s->joined_ms));
    for (uint32_t i = 0; i < total; i++)
        s->joined_ms[i] = NEVER;
    s->held = xcalloc((inst * total + 63) / 64 + 1, sizeof(*s->held));
    for (uint64_t k = 0; k < inst; k++)
        s->reg_ms[k] = s->all_ms[k] = NEVER;
    s->all_held_ms = NEVER;
    return s;
}

void sim_repl_free(struct sim_repl *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->total; i++) {
        repl_free(s->n[i].r);
        crdt_free(s->n[i].c);
    }
    free(s->n);
    free(s->reg_ms);
    free(s->all_ms);
    free(s->holders);
    free(s->join_lag);
    free(s->joined_ms);
    free(s->held);
    free(s);
}

/* ---- who holds what ---- */

/* The instance number of a record key "n<node>-<k>", or -1. */
static int64_t instance_of(const struct sim_repl *s, const char *key)
{
    unsigned long node, k;
    char tail;
    if (sscanf(key, "n%lu-%lu%c", &node, &k, &tail) != 2 || node >= s->total || k >= s->services)
        return -1;
    return (int64_t)(node * s->services + k);
}

static int bit(const struct sim_repl *s, uint64_t inst, uint32_t i)
{
    uint64_t b = inst * s->total + i;
    return (s->held[b >> 6] >> (b & 63)) & 1;
}

static void check_all(struct sim_repl *s, uint64_t inst, uint64_t now)
{
    if (s->all_ms[inst] == NEVER && s->reg_ms[inst] != NEVER && s->holders[inst] >= s->running) {
        s->all_ms[inst] = now;
        s->complete++;
        if (s->complete == (uint64_t)s->total * s->services && s->all_held_ms == NEVER) {
            s->all_held_ms = now;
            s->bytes_at_all_held = 0;
            if (s->net_seen) {
                for (uint32_t j = 0; j < s->total; j++) {
                    const struct sim_net_node_stats *st = sim_net_node_stats(s->net_seen, j);
                    s->bytes_at_all_held += st->dgram_bytes + st->stream_bytes;
                }
            }
        }
    }
}

/* After node i merged something: does it hold the instance of `key` now? */
static void note(struct sim_repl *s, uint32_t i, const char *origin, const char *key, uint64_t now)
{
    int64_t inst = instance_of(s, key);
    const struct crdt_rec *r;
    uint64_t b;

    if (inst < 0 || bit(s, (uint64_t)inst, i))
        return;
    r = crdt_get(s->n[i].c, origin, CRDT_INSTANCE, key);
    if (!r || r->deleted)
        return;
    b = (uint64_t)inst * s->total + i;
    s->held[b >> 6] |= 1ull << (b & 63);
    s->holders[inst]++;
    {
        uint64_t from = s->reg_ms[inst];
        if (s->joined_ms[i] != NEVER && s->joined_ms[i] > from)
            from = s->joined_ms[i];
        if (from != NEVER && now > from && now - from > s->join_lag[inst])
            s->join_lag[inst] = now - from;
    }
    check_all(s, (uint64_t)inst, now);
}

/* ---- driving ---- */

void sim_repl_start(struct sim_repl *s, uint32_t i, uint64_t now)
{
    struct rnode *n = &s->n[i];
    char name[16];

    struct repl_config cfg;

    snprintf(name, sizeof(name), "n%u", i);
    repl_config_default(&cfg); /* as the agent */
    n->rng = mix(n->rng);
    cfg.seed = n->rng;
    n->c = crdt_new(name);
    n->r = repl_new(n->c, &cfg);
    n->joined = 0;
    n->running = 1;
    s->running++;
}

void sim_repl_kill(struct sim_repl *s, uint32_t i)
{
    struct rnode *n = &s->n[i];
    uint64_t inst = (uint64_t)s->total * s->services;

    if (!n->running)
        return;
    for (uint64_t k = 0; k < inst; k++) {
        if (bit(s, k, i)) {
            uint64_t b = k * s->total + i;
            s->held[b >> 6] &= ~(1ull << (b & 63));
            s->holders[k]--;
        }
    }
    repl_free(n->r);
    crdt_free(n->c);
    n->r = NULL;
    n->c = NULL;
    n->running = 0;
    n->n_pending = 0;
    s->joined_ms[i] = NEVER;
    s->running--;
}

/* The live members of a node's swim other than itself, for repl_tick. */
struct live_view {
    struct swim *sw;
    const struct swim_member **m;
};

static const char *live_at(void *ud, size_t i)
{
    const struct live_view *v = ud;
    return v->m[i]->name;
}

void sim_repl_joined(struct sim_repl *s, uint32_t i, uint64_t now, struct swim *sw)
{
    struct rnode *n = &s->n[i];
    struct cat_instance in;
    uint8_t buf[1024];

    if (!n->running || !s->active || n->joined)
        return;
    n->joined = 1;
    s->joined_ms[i] = now;
    for (uint32_t k = 0; k < s->services; k++) {
        uint64_t inst = (uint64_t)i * s->services + k;
        int len;
        memset(&in, 0, sizeof(in));
        snprintf(in.id, sizeof(in.id), "n%u-%u", i, k);
        snprintf(in.service, sizeof(in.service), "svc%u", k);
        snprintf(in.address, sizeof(in.address), "10.%u.%u.%u", (i + 1) >> 16 & 255,
                 (i + 1) >> 8 & 255, (i + 1) & 255);
        in.port = (uint16_t)(8000 + k);
        in.weight = 1;
        len = cat_instance_encode(&in, buf, sizeof(buf), NULL);
        if (len < 0 || repl_put(n->r, now, CRDT_INSTANCE, in.id, buf, (uint32_t)len, NULL) < 0)
            continue;
        if (s->reg_ms[inst] == NEVER) {
            s->reg_ms[inst] = now;
            s->registered++;
        }
        note(s, i, crdt_self(n->c), in.id, now);
    }
    repl_sync_soon(n->r, NULL); /* reconcile with a member now */
}

/* The records of a delta or a packed broadcast. */
static void note_recs(struct sim_repl *s, uint32_t i, const struct repl_msg *m, uint64_t now)
{
    struct crdt_wire_rec w;
    struct rd rd;

    if (m->type != REPL_S_DELTA && m->type != REPL_B_RECS)
        return;
    rd_init(&rd, m->recs, m->recs_len);
    for (uint32_t k = 0; k < m->n_recs; k++) {
        if (crdt_codec_get_rec(&rd, &w, NULL) < 0)
            break;
        if (w.r.kind == CRDT_INSTANCE)
            note(s, i, w.origin, w.key, now);
    }
}

void sim_repl_member_joined(struct sim_repl *s, uint32_t i, const char *name)
{
    (void)name;
    if (s->n[i].running && s->n[i].joined)
        repl_sync_soon(s->n[i].r, NULL);
}

void sim_repl_user(struct sim_repl *s, uint32_t i, uint64_t now, const uint8_t *data, size_t len)
{
    struct rnode *n = &s->n[i];
    struct repl_msg m;

    if (!n->running)
        return;
    repl_recv_broadcast(n->r, now, NULL, data, len, NULL);
    if (repl_msg_decode_bcast(&m, data, len, NULL) == 0) {
        if (m.type == REPL_B_REC && m.rec.r.kind == CRDT_INSTANCE)
            note(s, i, m.rec.origin, m.rec.key, now);
        note_recs(s, i, &m, now);
        repl_msg_release(&m);
    }
}

static void note_delta(struct sim_repl *s, uint32_t i, const uint8_t *data, size_t len,
                       uint64_t now)
{
    struct repl_msg m;

    if (repl_msg_decode_stream(&m, data, len, NULL) < 0)
        return;
    note_recs(s, i, &m, now);
    repl_msg_release(&m);
}

static void unpend(struct rnode *n, uint32_t peer, int *found)
{
    *found = 0;
    for (size_t k = 0; k < n->n_pending; k++) {
        if (n->pending[k] == peer) {
            n->pending[k] = n->pending[--n->n_pending];
            *found = 1;
            return;
        }
    }
}

void sim_repl_stream(struct sim_repl *s, uint32_t i, uint32_t from, uint64_t now,
                     const uint8_t *data, size_t len, uint8_t **reply, size_t *reply_len)
{
    struct rnode *n = &s->n[i];
    char name[16];
    int found;

    if (reply)
        *reply = NULL;
    if (!n->running)
        return;
    if (!reply)
        unpend(n, from, &found);
    snprintf(name, sizeof(name), "n%u", from);
    repl_recv_stream(n->r, now, name, data, len, reply, reply_len, NULL);
    note_delta(s, i, data, len, now);
    if (reply && *reply)
        s->sync_bytes += *reply_len;
}

int sim_repl_failed(struct sim_repl *s, uint32_t i, uint32_t peer)
{
    int found;
    char name[16];

    unpend(&s->n[i], peer, &found);
    if (found && s->n[i].running) {
        snprintf(name, sizeof(name), "n%u", peer);
        repl_stream_failed(s->n[i].r, name);
    }
    return found;
}

uint64_t sim_repl_drive(struct sim_repl *s, uint32_t i, uint64_t now, struct swim *sw,
                        struct sim_net *net)
{
    struct rnode *n = &s->n[i];
    size_t count = swim_member_count(sw), k = 0;
    const struct swim_member *self = swim_self(sw);
    struct live_view v = {sw, NULL};
    struct repl_peers p = {0, live_at, &v};
    struct repl_out o;
    uint64_t next = NEVER;

    s->net_seen = net;
    if (!n->running)
        return NEVER;
    if (n->joined && s->active) {
        v.m = xmalloc((count ? count : 1) * sizeof(*v.m));
        for (size_t j = 0; j < count; j++) {
            const struct swim_member *m = swim_member_at(sw, j);
            if (m != self && m->state == SWIM_ALIVE)
                v.m[k++] = m;
        }
        p.n = k;
        next = repl_tick(n->r, now, &p);
        free(v.m);
    }
    while (repl_poll_out(n->r, &o)) {
        if (o.kind == REPL_OUT_BROADCAST) {
            swim_broadcast_user(sw, o.data, o.len, NULL);
            free(o.data);
        } else {
            unsigned long to;
            if (sscanf(o.to, "n%lu", &to) != 1 || to >= s->total) {
                free(o.data);
                continue;
            }
            if (n->n_pending < PENDING_MAX)
                n->pending[n->n_pending++] = (uint32_t)to;
            s->sync_bytes += o.len;
            sim_net_stream(net, i, (uint32_t)to, o.data, o.len);
        }
    }
    return next;
}

void sim_repl_set_active(struct sim_repl *s)
{
    s->active = 1;
}

struct crdt *sim_repl_crdt(struct sim_repl *s, uint32_t i)
{
    return i < s->total && s->n[i].running ? s->n[i].c : NULL;
}

struct repl *sim_repl_repl(struct sim_repl *s, uint32_t i)
{
    return i < s->total && s->n[i].running ? s->n[i].r : NULL;
}

void sim_repl_load(struct sim_repl *s, uint32_t i, const struct crdt_rec *recs, size_t n)
{
    for (size_t k = 0; i < s->total && s->n[i].running && k < n; k++)
        crdt_load(s->n[i].c, &recs[k], NULL);
}

void sim_repl_boot(struct sim_repl *s, uint32_t i, uint64_t now)
{
    if (i < s->total && s->n[i].running)
        crdt_boot(s->n[i].c, now / 1000 + 1);
}

void sim_repl_forget(struct sim_repl *s, uint32_t i, const char *name)
{
    if (s->n[i].running)
        repl_forget(s->n[i].r, name);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void sim_repl_collect(struct sim_repl *s, struct sim_net *net, const uint64_t *start_ms,
                      const uint64_t *until_ms, struct sim_repl_result *r)
{
    uint64_t inst = (uint64_t)s->total * s->services, n = 0, bytes = 0, end = 0;
    uint64_t *v = xcalloc(inst + 1, sizeof(*v)), *j = xcalloc(inst + 1, sizeof(*j));
    double node_s = 0, steady_s = 0;

    memset(r, 0, sizeof(*r));
    r->services = s->services;
    r->instances = s->registered;
    for (uint64_t k = 0; k < inst; k++) {
        if (s->reg_ms[k] == NEVER)
            continue;
        if (s->all_ms[k] == NEVER)
            r->never++;
        else {
            j[n] = s->join_lag[k];
            v[n++] = s->all_ms[k] - s->reg_ms[k];
        }
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    qsort(j, n, sizeof(*j), cmp_u64);
    r->held_n = n;
    if (n) {
        r->p50 = v[(n - 1) * 50 / 100];
        r->p90 = v[(n - 1) * 90 / 100];
        r->p99 = v[(n - 1) * 99 / 100];
        r->max = v[n - 1];
        r->j50 = j[(n - 1) * 50 / 100];
        r->j90 = j[(n - 1) * 90 / 100];
        r->j99 = j[(n - 1) * 99 / 100];
        r->jmax = j[n - 1];
    }
    r->all_held_ms = s->all_held_ms;
    for (uint32_t i = 0; i < s->total; i++) {
        const struct sim_net_node_stats *st = sim_net_node_stats(net, i);
        if (start_ms[i] == NEVER || until_ms[i] <= start_ms[i])
            continue;
        bytes += st->dgram_bytes + st->stream_bytes;
        node_s += (double)(until_ms[i] - start_ms[i]) / 1000.0;
        if (until_ms[i] > end)
            end = until_ms[i];
        if (s->all_held_ms != NEVER && until_ms[i] > s->all_held_ms)
            steady_s += (double)(until_ms[i] - s->all_held_ms) / 1000.0;
        if (s->n[i].running) {
            const struct repl_stats *rs = repl_stats(s->n[i].r);
            r->syncs += rs->syncs;
            r->sync_records += rs->sync_records_in;
            r->broadcasts_out += rs->broadcasts_out;
            r->notices += rs->notices;
            r->dropped += rs->dropped;
            r->stale += rs->records_stale;
            r->payloads_out += rs->payloads_out;
            r->syncs_equal += rs->syncs_equal;
            r->syncs_fast += rs->syncs_fast;
            r->sync_timeouts += rs->sync_timeouts;
        }
    }
    if (node_s > 0) {
        r->bytes_per_node_s = (double)bytes / node_s;
        r->sync_bytes_per_node_s = (double)s->sync_bytes / node_s;
    }
    if (steady_s > 0)
        r->steady_bytes_per_node_s = (double)(bytes - s->bytes_at_all_held) / steady_s;
    free(v);
    free(j);
}
