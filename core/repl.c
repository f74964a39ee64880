/* repl: dissemination of the CRDT store (see repl.h). Small records ride
 * gossip broadcasts and every node relays a record the first time it is
 * new to it; big ones go as a notice that makes receivers sync. Anti-
 * entropy exchanges digests and then only the missing records. The peers'
 * digests are kept to know which tombstones every counted member has, and
 * a peer behind on an origin whose versions may have been collected gets
 * a census of it with the delta. */
#include "core/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crdt_codec.h"
#include "core/mem.h"

#define RELAY_FROM_SYNC    16  /* records of one sync that are also relayed by gossip */
#define WANT_MAX           64  /* notices acted on, remembered to ask only once */
#define PEND_MAX           16  /* syncs of ours in flight, at most */
#define QUIET_IDLE         2   /* syncs in a row that bring nothing: back to the slow period */
#define BATCH_SHARE        320 /* bytes of a packed payload: it fits the user share of a packet */
#define SUMMARY_PER_BUCKET 16  /* origins per bucket of a summary */

struct peer_dg {
    char name[SWIM_NAME_MAX + 1];
    struct crdt_digest d;
    uint8_t asked; /* it sent us every record of ours it holds, in this boot */
};

struct want {
    char origin[SWIM_NAME_MAX + 1];
    uint64_t version;
};

/* A sync of ours in flight: the digest we summarized, to read the answer. */
struct pend {
    char peer[SWIM_NAME_MAX + 1];
    uint64_t sent_ms;
    struct crdt_digest snap;
    uint8_t used, got_new;
    uint8_t ask_self; /* snap leaves our own origin out: the peer sends all of ours */
};

struct repl {
    struct crdt *c;
    struct repl_config cfg;
    struct hlc hlc;
    struct repl_out *q; /* FIFO ring */
    size_t q_head, q_n, q_cap;
    struct peer_dg *peers; /* sorted by name */
    size_t n_peers, cap_peers;
    struct want want[WANT_MAX];
    size_t want_next;
    /* the sync schedule */
    uint64_t now, rng, next_sync_ms, last_sync_ms;
    unsigned quiet;               /* our syncs in a row that brought nothing new */
    char soon[SWIM_NAME_MAX + 1]; /* a peer asked for, "" for none */
    struct pend pend[PEND_MAX];
    /* records waiting to be packed into one broadcast */
    uint8_t batch[CODEC_USER_MAX];
    size_t batch_len;
    struct repl_stats st;
};

void repl_config_default(struct repl_config *c)
{
    c->sync_interval_ms = 10000;
    c->sync_fast_ms = 500;
    c->sync_timeout_ms = 15000;
    c->syncs_max = 4;
    c->out_max = 4096;
    c->seed = 1;
}

uint32_t repl_sync_interval(const struct repl_config *c, size_t n)
{
    uint32_t digits = 0;
    for (size_t x = n + 1; x > 1; x = (x + 9) / 10)
        digits++; /* ceil(log10(n + 1)) */
    return c->sync_interval_ms / 2 * (digits < 2 ? 2 : digits);
}

static uint64_t next_rand(struct repl *r)
{
    return repl_mix64(r->rng += 0x9e3779b97f4a7c15ull);
}

/* ms +-25%, so that peers do not sync in lockstep. */
static uint64_t jitter(struct repl *r, uint32_t ms)
{
    return ms - ms / 4 + (ms / 2 ? next_rand(r) % (ms / 2) : 0);
}

struct repl *repl_new(struct crdt *c, const struct repl_config *cfg)
{
    struct repl *r = xcalloc(1, sizeof(*r));
    const char *self = crdt_self(c);

    r->c = c;
    if (cfg)
        r->cfg = *cfg;
    else
        repl_config_default(&r->cfg);
    if (!r->cfg.out_max)
        r->cfg.out_max = 4096;
    if (!r->cfg.syncs_max || r->cfg.syncs_max > PEND_MAX)
        r->cfg.syncs_max = r->cfg.syncs_max ? PEND_MAX : 4;
    if (!r->cfg.sync_fast_ms)
        r->cfg.sync_fast_ms = 500;
    if (!r->cfg.sync_interval_ms)
        r->cfg.sync_interval_ms = 10000;
    if (!r->cfg.sync_timeout_ms)
        r->cfg.sync_timeout_ms = 15000;
    r->rng = r->cfg.seed;
    r->next_sync_ms = UINT64_MAX; /* the first tick schedules */
    for (; *self; self++)
        r->rng = (r->rng ^ (uint8_t)*self) * 0x100000001b3ull;
    return r;
}

void repl_free(struct repl *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->q_n; i++)
        free(r->q[(r->q_head + i) % r->q_cap].data);
    free(r->q);
    for (size_t i = 0; i < r->n_peers; i++)
        crdt_digest_release(&r->peers[i].d);
    free(r->peers);
    for (size_t i = 0; i < PEND_MAX; i++)
        crdt_digest_release(&r->pend[i].snap);
    free(r);
}

/* ---- outputs ---- */

/* Queues data (heap, taken over). Over out_max the oldest output goes
 * (counted): fresh changes matter more, and a sync whose request is lost
 * times out. */
static void emit(struct repl *r, uint8_t kind, const char *to, uint8_t *data, size_t len)
{
    struct repl_out *o;

    if (!data)
        return;
    if (r->q_n && r->q_n >= r->cfg.out_max) {
        r->st.dropped++;
        free(r->q[r->q_head].data);
        r->q_head = (r->q_head + 1) % r->q_cap;
        r->q_n--;
    }
    if (r->q_n == r->q_cap) {
        size_t cap = r->q_cap ? r->q_cap * 2 : 64;
        struct repl_out *q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < r->q_n; i++)
            q[i] = r->q[(r->q_head + i) % r->q_cap];
        free(r->q);
        r->q = q;
        r->q_cap = cap;
        r->q_head = 0;
    }
    o = &r->q[(r->q_head + r->q_n) % r->q_cap];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    if (to)
        snprintf(o->to, sizeof(o->to), "%s", to);
    o->data = data;
    o->len = len;
    r->q_n++;
}

static void flush_batch(struct repl *r)
{
    if (!r->batch_len)
        return;
    r->st.payloads_out++;
    emit(r, REPL_OUT_BROADCAST, NULL, xmemdup(r->batch, r->batch_len), r->batch_len);
    r->batch_len = 0;
}

int repl_poll_out(struct repl *r, struct repl_out *o)
{
    flush_batch(r);
    if (!r->q_n)
        return 0;
    *o = r->q[r->q_head];
    r->q_head = (r->q_head + 1) % r->q_cap;
    r->q_n--;
    return 1;
}

/* Sends a record by gossip: packed with the others of the moment in a
 * payload that fits the user share of a packet (alone in a bigger one when
 * it is bigger), or as a notice that we hold it when it fits no packet. */
static void disseminate(struct repl *r, const struct crdt_rec *rec)
{
    size_t sz = crdt_codec_rec_size(rec);
    size_t cap = 2 + sz > BATCH_SHARE ? CODEC_USER_MAX : BATCH_SHARE;

    r->st.broadcasts_out++;
    if (2 + sz > CODEC_USER_MAX) {
        size_t len;
        uint8_t *data =
            repl_msg_encode_notice(rec->origin, rec->version, crdt_self(r->c), &len, NULL);
        r->st.notices++;
        r->st.payloads_out++;
        emit(r, REPL_OUT_BROADCAST, NULL, data, len);
        return;
    }
    if (r->batch_len && cap == BATCH_SHARE &&
        repl_batch_add(r->batch, &r->batch_len, cap, rec) == 0)
        return;
    flush_batch(r);
    r->batch_len = repl_batch_init(r->batch);
    if (repl_batch_add(r->batch, &r->batch_len, cap, rec) < 0)
        r->batch_len = 0; /* cannot be: it fits CODEC_USER_MAX */
    if (cap > BATCH_SHARE)
        flush_batch(r); /* alone: the next ones start a payload of their own */
}

struct own_acc {
    struct repl *r;
    uint64_t above;
};

static int own_cb(void *ud, const struct crdt_rec *rec)
{
    struct own_acc *a = ud;
    if (rec->version > a->above)
        disseminate(a->r, rec);
    return 0;
}

/* A merge made us write (a restart re-asserted, a multi-writer key lost):
 * our records above `before` go out too. */
static void own_changes(struct repl *r, uint64_t before)
{
    struct own_acc a = {r, before};
    if (crdt_self_version(r->c) > before)
        crdt_scan_origin(r->c, crdt_self(r->c), own_cb, &a);
}

/* ---- the sync schedule ---- */

static struct pend *pend_find(struct repl *r, const char *peer)
{
    for (size_t i = 0; i < PEND_MAX; i++) {
        if (r->pend[i].used && strcmp(r->pend[i].peer, peer) == 0)
            return &r->pend[i];
    }
    return NULL;
}

static size_t pend_count(const struct repl *r)
{
    size_t n = 0;
    for (size_t i = 0; i < PEND_MAX; i++)
        n += r->pend[i].used;
    return n;
}

/* A sync of ours ended; whether it brought anything new sets the pace. */
static void pend_done(struct repl *r, struct pend *p)
{
    if (p->got_new)
        r->quiet = 0;
    else if (r->quiet < QUIET_IDLE)
        r->quiet++;
    crdt_digest_release(&p->snap);
    p->used = 0;
}

/* We are behind: the next sync comes at the next fast slot. */
static void pull_in(struct repl *r)
{
    uint64_t t = r->last_sync_ms + r->cfg.sync_fast_ms;

    r->quiet = 0;
    if (t < r->now)
        t = r->now + next_rand(r) % (r->cfg.sync_fast_ms / 4 + 1);
    if (t < r->next_sync_ms)
        r->next_sync_ms = t;
}

/* Summary buckets for a digest of n origins: a power of two, about
 * SUMMARY_PER_BUCKET origins each. */
static uint32_t summary_buckets(size_t n)
{
    uint32_t b = 1;
    while (b < REPL_BUCKETS_MAX && (size_t)b * SUMMARY_PER_BUCKET < n)
        b *= 2;
    return b;
}

/* Starts a sync with peer; -EBUSY when one is in flight with it or
 * syncs_max are. */
static struct peer_dg *peer_find(struct repl *r, const char *name, int create);

/* Sets origin's entry of d to v, adding it when absent. */
static void digest_set(struct crdt_digest *d, const char *origin, uint64_t v)
{
    size_t i = 0;

    while (i < d->n && strcmp(d->e[i].origin, origin) < 0)
        i++;
    if (i < d->n && strcmp(d->e[i].origin, origin) == 0) {
        d->e[i].version = v;
        return;
    }
    d->e = xrealloc(d->e, (d->n + 1) * sizeof(*d->e));
    memmove(d->e + i + 1, d->e + i, (d->n - i) * sizeof(*d->e));
    snprintf(d->e[i].origin, sizeof(d->e[i].origin), "%s", origin);
    d->e[i].version = v;
    d->n++;
}

/* The digest of a sync that asks the peer for every record of ours it
 * holds: our entry at an explicit 0 (rather than none), so the summary
 * differs even from a peer that holds records of ours above a gap and so
 * has no entry for us either. */
static void digest_zero(struct crdt_digest *d, const char *origin)
{
    digest_set(d, origin, 0);
}

static void digest_copy(struct crdt_digest *to, const struct crdt_digest *from)
{
    to->n = from->n;
    to->e = xmalloc((from->n ? from->n : 1) * sizeof(*to->e));
    if (from->n)
        memcpy(to->e, from->e, from->n * sizeof(*to->e));
}

static int start_sync(struct repl *r, const char *peer)
{
    struct pend *p = NULL;
    const struct peer_dg *pd;
    size_t len;
    uint8_t *data;

    if (!peer || !peer[0] || strlen(peer) > SWIM_NAME_MAX || strcmp(peer, crdt_self(r->c)) == 0)
        return -EINVAL;
    if (pend_find(r, peer) || pend_count(r) >= r->cfg.syncs_max)
        return -EBUSY;
    pd = peer_find(r, peer, 0);
    for (size_t i = 0; i < PEND_MAX && !p; i++)
        p = r->pend[i].used ? NULL : &r->pend[i];
    memset(p, 0, sizeof(*p));
    p->used = 1;
    p->sent_ms = r->now;
    snprintf(p->peer, sizeof(p->peer), "%s", peer);
    crdt_digest(r->c, &p->snap);
    /* once per boot and peer, we ask for every record of ours it holds:
     * our data dir may be older than what some peer holds of ours, and
     * only that peer can tell us (others covered those versions from us) */
    if (crdt_booted(r->c) && !(pd && pd->asked)) {
        p->ask_self = 1;
        digest_zero(&p->snap, crdt_self(r->c));
    }
    data = repl_msg_encode_summary(&p->snap, summary_buckets(p->snap.n), &len);
    r->st.syncs++;
    r->last_sync_ms = r->now;
    emit(r, REPL_OUT_STREAM, peer, data, len);
    return 0;
}

void repl_sync(struct repl *r, const char *peer)
{
    if (start_sync(r, peer) == -EBUSY) {
        r->st.syncs_busy++;
        repl_sync_soon(r, peer);
    }
}

void repl_sync_soon(struct repl *r, const char *peer)
{
    if (peer && strcmp(peer, crdt_self(r->c)) == 0)
        return;
    snprintf(r->soon, sizeof(r->soon), "%s", peer ? peer : "");
    pull_in(r);
}

void repl_stream_failed(struct repl *r, const char *peer)
{
    struct pend *p = peer ? pend_find(r, peer) : NULL;

    if (!p)
        return;
    r->st.sync_timeouts++;
    crdt_digest_release(&p->snap);
    p->used = 0;
}

/* A random peer of p with no sync of ours in flight, or NULL. */
static const char *pick_peer(struct repl *r, const struct repl_peers *p)
{
    for (int tries = 0; p && p->n && tries < 4; tries++) {
        const char *name = p->at(p->ud, (size_t)(next_rand(r) % p->n));
        if (name && !pend_find(r, name) && strcmp(name, crdt_self(r->c)) != 0)
            return name;
    }
    return NULL;
}

uint64_t repl_next_due(const struct repl *r)
{
    uint64_t next = r->next_sync_ms;
    for (size_t i = 0; i < PEND_MAX; i++) {
        uint64_t t = r->pend[i].sent_ms + r->cfg.sync_timeout_ms;
        if (r->pend[i].used && t < next)
            next = t;
    }
    return next;
}

uint64_t repl_tick(struct repl *r, uint64_t now_ms, const struct repl_peers *p)
{
    uint64_t next;

    r->now = now_ms;
    for (size_t i = 0; i < PEND_MAX; i++) {
        if (r->pend[i].used && now_ms >= r->pend[i].sent_ms + r->cfg.sync_timeout_ms)
            repl_stream_failed(r, r->pend[i].peer);
    }
    if (r->next_sync_ms == UINT64_MAX) /* first tick: a new node has all to learn */
        r->next_sync_ms = now_ms + jitter(r, r->cfg.sync_fast_ms);
    if (now_ms >= r->next_sync_ms) {
        const char *peer = r->soon[0] && !pend_find(r, r->soon) ? r->soon : pick_peer(r, p);
        int fast = r->quiet < QUIET_IDLE;
        if (peer && pend_count(r) < r->cfg.syncs_max && start_sync(r, peer) == 0) {
            r->st.syncs_fast += fast;
            if (peer == r->soon)
                r->soon[0] = '\0';
        }
        /* alone, nothing to catch up with: a member that joins asks for a
         * sync itself (repl_sync_soon) */
        r->next_sync_ms =
            now_ms + jitter(r, fast && p && p->n ? r->cfg.sync_fast_ms
                                                 : repl_sync_interval(&r->cfg, p ? p->n : 0));
    }
    next = repl_next_due(r);
    return next > now_ms ? next : now_ms + 1;
}

/* ---- local writes ---- */

int repl_put(struct repl *r, uint64_t wall_ms, uint8_t kind, const char *key, const void *val,
             uint32_t len, struct err *e)
{
    const struct crdt_rec *out = NULL;

    r->now = wall_ms > r->now ? wall_ms : r->now;
    int rc = crdt_put(r->c, kind, key, val, len, hlc_now(&r->hlc, wall_ms), &out, e);
    if (rc == 1)
        disseminate(r, out);
    return rc;
}

int repl_del(struct repl *r, uint64_t wall_ms, uint8_t kind, const char *key, struct err *e)
{
    const struct crdt_rec *out = NULL;
    int rc = crdt_del(r->c, kind, key, hlc_now(&r->hlc, wall_ms), &out, e);
    if (rc == 1)
        disseminate(r, out);
    return rc;
}

size_t repl_adopt(struct repl *r, const char *origin, uint8_t kind, size_t max)
{
    uint64_t before = crdt_self_version(r->c);
    size_t n = crdt_adopt_origin(r->c, origin, kind, max);

    own_changes(r, before);
    return n;
}

/* ---- merging ---- */

/* Merges one remote record; 1 when it was new to us. */
static int merge_one(struct repl *r, uint64_t wall_ms, const struct crdt_rec *rec, struct err *e)
{
    int rc = crdt_merge(r->c, rec, NULL, e);

    if (rc < 0) {
        r->st.decode_errors++;
        return rc;
    }
    hlc_observe(&r->hlc, rec->hlc, wall_ms); /* a stamp too far ahead is not adopted */
    if (rc == 1)
        r->st.records_merged++;
    else
        r->st.records_stale++;
    return rc;
}

static int wanted(struct repl *r, const char *origin, uint64_t version)
{
    for (size_t i = 0; i < WANT_MAX; i++) {
        if (r->want[i].version >= version && strcmp(r->want[i].origin, origin) == 0)
            return 1;
    }
    snprintf(r->want[r->want_next].origin, sizeof(r->want[0].origin), "%s", origin);
    r->want[r->want_next].version = version;
    r->want_next = (r->want_next + 1) % WANT_MAX;
    return 0;
}

/* A gossip record: merged, relayed once when new, and a gap in its
 * origin's versions says we are behind. */
static int bcast_rec(struct repl *r, uint64_t wall_ms, const struct crdt_rec *rec, struct err *e)
{
    int rc = merge_one(r, wall_ms, rec, e);

    if (rc == 1 && strcmp(rec->origin, crdt_self(r->c)) != 0) {
        disseminate(r, rec); /* relayed once: the next copy is stale here */
        if (crdt_covered(r->c, rec->origin) < rec->version) {
            r->st.gaps++;
            pull_in(r);
        }
    }
    return rc;
}

int repl_recv_broadcast(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                        size_t len, struct err *e)
{
    struct repl_msg m;
    uint64_t before = crdt_self_version(r->c);
    int rc = repl_msg_decode_bcast(&m, buf, len, e);

    r->now = wall_ms > r->now ? wall_ms : r->now;
    if (rc < 0) {
        r->st.decode_errors++;
        return rc;
    }
    r->st.broadcasts_in++;
    if (m.type == REPL_B_REC) {
        rc = bcast_rec(r, wall_ms, &m.rec.r, e);
    } else if (m.type == REPL_B_RECS) {
        struct crdt_wire_rec w;
        struct rd rd;
        rd_init(&rd, m.recs, m.recs_len);
        for (uint32_t i = 0; i < m.n_recs && rc >= 0; i++) {
            if ((rc = crdt_codec_get_rec(&rd, &w, e)) == 0) /* checked at decode */
                rc = bcast_rec(r, wall_ms, &w.r, e);
        }
    } else if (m.type == REPL_B_NOTICE) {
        /* A big record exists. Unless we cover it, ask its holder for a sync. */
        const char *holder = from ? from : m.holder;
        if (strcmp(m.origin, crdt_self(r->c)) != 0 && crdt_covered(r->c, m.origin) < m.version &&
            strcmp(holder, crdt_self(r->c)) != 0 && !wanted(r, m.origin, m.version))
            repl_sync(r, holder);
    }
    own_changes(r, before);
    repl_msg_release(&m);
    return rc < 0 ? rc : 0;
}

/* ---- anti-entropy ---- */

static struct peer_dg *peer_find(struct repl *r, const char *name, int create)
{
    size_t lo = 0, hi = r->n_peers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(r->peers[mid].name, name);
        if (d == 0)
            return &r->peers[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create)
        return NULL;
    if (r->n_peers == r->cap_peers) {
        r->cap_peers = r->cap_peers ? r->cap_peers * 2 : 16;
        r->peers = xrealloc(r->peers, r->cap_peers * sizeof(*r->peers));
    }
    memmove(r->peers + lo + 1, r->peers + lo, (r->n_peers - lo) * sizeof(*r->peers));
    memset(&r->peers[lo], 0, sizeof(r->peers[lo]));
    snprintf(r->peers[lo].name, sizeof(r->peers[lo].name), "%s", name);
    r->n_peers++;
    return &r->peers[lo];
}

/* out = the entries of base outside the buckets of set, and those of part
 * (which all lie inside them). Both sorted; out is sorted. Heap: release. */
static void digest_patch(const struct crdt_digest *base, const struct crdt_digest *part,
                         const struct repl_buckets *set, struct crdt_digest *out)
{
    size_t i = 0, j = 0;

    out->n = 0;
    out->e = xmalloc((base->n + part->n + 1) * sizeof(*out->e));
    while (i < base->n || j < part->n) {
        if (i < base->n && repl_buckets_covers(set, base->e[i].origin)) {
            i++;
            continue;
        }
        if (j == part->n || (i < base->n && strcmp(base->e[i].origin, part->e[j].origin) < 0))
            out->e[out->n++] = base->e[i++];
        else
            out->e[out->n++] = part->e[j++];
    }
}

static int valid_peer(const struct repl *r, const char *from)
{
    return from && from[0] && strlen(from) <= SWIM_NAME_MAX && strcmp(from, crdt_self(r->c)) != 0;
}

/* Keeps a copy of a peer's digest (for tombstone collection); d is taken
 * over. With set, d holds only those buckets: the others stay as kept. */
static void keep_digest(struct repl *r, const char *from, struct crdt_digest *d,
                        const struct repl_buckets *set)
{
    struct peer_dg *p;

    if (!valid_peer(r, from)) {
        crdt_digest_release(d);
        return;
    }
    p = peer_find(r, from, 1);
    if (set) {
        struct crdt_digest x;
        digest_patch(&p->d, d, set, &x);
        crdt_digest_release(d);
        *d = x;
    }
    crdt_digest_release(&p->d);
    p->d = *d;
    d->n = 0;
    d->e = NULL;
    /* it covers more of ours than we wrote, or than our data dir held: we
     * restarted from older state; say our records again (crdt_self_floor) */
    {
        uint64_t before = crdt_self_version(r->c);
        crdt_self_floor(r->c, crdt_digest_get(&p->d, crdt_self(r->c)));
        if (crdt_self_version(r->c) != before)
            own_changes(r, before);
    }
}

/* Merges the records of a delta and what its digest covers. 1 when any
 * record was new to us. `asked`: it answers a sync of ours, whose digest
 * left our own origin out while we ask peers for all they hold of ours. */
static int merge_delta(struct repl *r, uint64_t wall_ms, struct repl_msg *m, int asked,
                       struct err *e)
{
    uint64_t before = crdt_self_version(r->c);
    unsigned relayed = 0;
    struct crdt_wire_rec w;
    struct rd rd;
    int rc, got = 0;

    /* first what the sender knows of us: a restart that lost our state
     * shows here, and our counter must move before we merge. Only the
     * answer to our own sync counts as having asked for all of ours: a
     * sync the peer started compared our whole digest. */
    if (asked)
        crdt_cover(r->c, crdt_self(r->c), crdt_digest_get(&m->digest, crdt_self(r->c)));
    else
        crdt_self_floor(r->c, crdt_digest_get(&m->digest, crdt_self(r->c)));
    rd_init(&rd, m->recs, m->recs_len);
    for (uint32_t i = 0; i < m->n_recs; i++) {
        if ((rc = crdt_codec_get_rec(&rd, &w, e)) < 0) /* checked at decode: cannot fail */
            return rc;
        r->st.sync_records_in++;
        rc = merge_one(r, wall_ms, &w.r, e);
        if (rc < 0)
            return rc;
        if (rc == 1 && strcmp(w.r.origin, crdt_self(r->c)) != 0) {
            got = 1;
            if (relayed++ < RELAY_FROM_SYNC)
                disseminate(r, &w.r);
        }
    }
    /* everything the sender covered below the cut is ours now */
    for (size_t i = 0; i < m->digest.n; i++) {
        uint64_t v;
        if (strcmp(m->digest.e[i].origin, crdt_self(r->c)) != 0 && repl_msg_covers(m, i, &v))
            crdt_cover(r->c, m->digest.e[i].origin, v);
    }
    own_changes(r, before);
    return got;
}

/* With a delta for peer `to` whose digest is d: the census of every origin
 * it covers less of than we do and whose missing versions may have been
 * collected, on a stream of its own. It drops what was deleted while the
 * peer was away; a delta cannot say it, the tombstones are gone. */
static void send_census(struct repl *r, const char *to, const struct crdt_digest *d)
{
    uint32_t n = 0;
    size_t len = 0;
    uint8_t *data;

    if (!valid_peer(r, to))
        return;
    if (crdt_booted(r->c)) {
        /* our census of ourselves only once we asked this peer for every
         * record of ours it holds: before, a write of ours it holds that
         * our data dir lacks would go instead of coming back to us */
        const struct peer_dg *pd = peer_find(r, to, 0);
        if (!pd || !pd->asked) {
            struct crdt_digest x;
            digest_copy(&x, d);
            digest_set(&x, crdt_self(r->c), crdt_self_version(r->c));
            data = repl_msg_encode_census(r->c, &x, to, CODEC_STREAM_MAX, &len, &n);
            crdt_digest_release(&x);
            goto sent;
        }
    }
    data = repl_msg_encode_census(r->c, d, to, CODEC_STREAM_MAX, &len, &n);
sent:
    if (!data)
        return;
    r->st.census_out++;
    r->st.census_origins_out += n;
    r->st.census_bytes_out += len;
    emit(r, REPL_OUT_STREAM, to, data, len);
}

/* A peer's census: our records it shows were deleted and collected go. */
static void on_census(struct repl *r, const struct repl_msg *m)
{
    r->st.census_in++;
    for (uint32_t i = 0; i < m->n_census; i++) {
        const struct repl_census *x = &m->census[i];
        r->st.census_dropped += crdt_census_apply(r->c, x->origin, x->covered, x->hashes, x->n);
    }
}

/* 1 when we started from a data dir and have not yet asked peer `to` for
 * every record of ours it holds. */
static int not_asked(struct repl *r, const char *to)
{
    const struct peer_dg *pd = peer_find(r, to, 0);
    return crdt_booted(r->c) && !(pd && pd->asked);
}

/* The digest that goes with a delta for peer `to` (heap: release). Until
 * we asked it for our records, our own entry is left out: the peer would
 * cover our versions from it, among them ones of a previous start that we
 * no longer know of, while our census of ourselves, which says which of
 * them are gone, waits for the ask (send_census). */
static void digest_for(struct repl *r, const char *to, struct crdt_digest *mine)
{
    crdt_digest(r->c, mine);
    if (!not_asked(r, to))
        return;
    for (size_t i = 0; i < mine->n; i++) {
        if (strcmp(mine->e[i].origin, crdt_self(r->c)) == 0) {
            memmove(mine->e + i, mine->e + i + 1, (mine->n - i - 1) * sizeof(*mine->e));
            mine->n--;
            break;
        }
    }
}

/* The records a peer lacks, as a delta: against its digest d, or, with
 * set, against its entries of those buckets and ours elsewhere. Heap. */
static uint8_t *delta_for(struct repl *r, const char *to, const struct crdt_digest *d,
                          const struct repl_buckets *set, int reply, size_t *len)
{
    struct crdt_digest mine, peer, send;
    uint32_t n = 0;
    uint8_t *data;

    digest_for(r, to, &send);
    if (!set) {
        data = repl_msg_encode_delta_as(r->c, &send, d, reply, NULL, CODEC_STREAM_MAX, len, &n);
        crdt_digest_release(&send);
        r->st.sync_records_out += n;
        send_census(r, to, d);
        return data;
    }
    crdt_digest_all(r->c, &mine);
    digest_patch(&mine, d, set, &peer);
    data = repl_msg_encode_delta_as(r->c, &send, &peer, reply, set, CODEC_STREAM_MAX, len, &n);
    send_census(r, to, &peer);
    crdt_digest_release(&send);
    crdt_digest_release(&peer);
    crdt_digest_release(&mine);
    r->st.sync_records_out += n;
    return data;
}

/* A summary from a peer that syncs with us: answer with our entries of the
 * buckets that differ. Its digest equals ours in the others. */
static uint8_t *on_summary(struct repl *r, const char *from, const struct repl_msg *m, size_t *len)
{
    struct crdt_digest mine, none = {0}, kept;
    struct repl_buckets set = {.n = m->n_hashes};
    uint64_t *h = xmalloc(m->n_hashes * sizeof(*h));
    uint8_t *data;

    crdt_digest_all(r->c, &mine);
    crdt_digest_summary(&mine, m->n_hashes, h);
    for (uint32_t b = 0; b < m->n_hashes; b++) {
        if (h[b] != m->hashes[b])
            set.bits[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    data = repl_msg_encode_partial(&mine, &set, len);
    digest_patch(&mine, &none, &set, &kept); /* what we know of it for now */
    keep_digest(r, from, &kept, NULL);
    if (valid_peer(r, from) && not_asked(r, from))
        repl_sync_soon(r, from); /* ask it for our records: until then it cannot cover us */
    crdt_digest_release(&mine);
    free(h);
    return data;
}

/* The answer to our summary: the peer's digest is our snapshot outside
 * the buckets it lists. Equal: done. Else we send what it lacks, with our
 * entries of those buckets, and it answers with what we lack. */
static void on_partial(struct repl *r, const char *from, struct repl_msg *m)
{
    struct pend *p = valid_peer(r, from) ? pend_find(r, from) : NULL;
    struct crdt_digest peer;
    int differ = 0;
    uint32_t n = 0;
    size_t len;
    uint8_t *data;

    if (!p || m->set.n != summary_buckets(p->snap.n))
        return; /* not an answer to a summary of ours: nothing to read it with */
    for (size_t i = 0; i < sizeof(m->set.bits); i++)
        differ |= m->set.bits[i];
    digest_patch(&p->snap, &m->digest, &m->set, &peer);
    if (!differ) {
        r->st.syncs_equal++;
        keep_digest(r, from, &peer, NULL);
        if (p->ask_self)
            peer_find(r, from, 1)->asked = 1; /* it holds nothing of ours */
        pend_done(r, p);
        return;
    }
    if (p->ask_self) { /* our entries with us at 0, as in our summary */
        struct crdt_digest mine;
        crdt_digest(r->c, &mine);
        digest_zero(&mine, crdt_self(r->c));
        data = repl_msg_encode_delta_as(r->c, &mine, &peer, 1, &m->set, CODEC_STREAM_MAX, &len, &n);
        crdt_digest_release(&mine);
    } else {
        struct crdt_digest send;
        digest_for(r, from, &send);
        data = repl_msg_encode_delta_as(r->c, &send, &peer, 1, &m->set, CODEC_STREAM_MAX, &len, &n);
        crdt_digest_release(&send);
    }
    r->st.sync_records_out += n;
    send_census(r, from, &peer);
    keep_digest(r, from, &peer, NULL);
    p->sent_ms = r->now;
    emit(r, REPL_OUT_STREAM, from, data, len);
}

static int on_delta(struct repl *r, uint64_t wall_ms, const char *from, struct repl_msg *m,
                    uint8_t **reply, size_t *reply_len, struct err *e)
{
    const struct repl_buckets *set = m->partial ? &m->set : NULL;
    struct pend *p = !reply && valid_peer(r, from) ? pend_find(r, from) : NULL;
    int got = merge_delta(r, wall_ms, m, p != NULL, e);

    if (got < 0)
        return got;
    if (got)
        pull_in(r); /* a peer had what we lacked: others may too */
    if (m->has_cut && valid_peer(r, from))
        repl_sync_soon(r, from); /* the rest comes with the next sync */
    if (m->reply && valid_peer(r, from)) {
        /* push back what the sender lacks: on the same stream when it is a
         * request, else (an answer to a full-digest sync) on a new one */
        size_t len;
        uint8_t *data = delta_for(r, from, &m->digest, set, 0, &len);
        if (reply) {
            *reply = data;
            *reply_len = len;
        } else {
            emit(r, REPL_OUT_STREAM, from, data, len);
        }
    }
    if (p) {
        int asked = p->ask_self;
        p->got_new |= (uint8_t)got;
        pend_done(r, p);
        keep_digest(r, from, &m->digest, set);
        if (asked && valid_peer(r, from))
            peer_find(r, from, 1)->asked = 1;
        return 0;
    }
    keep_digest(r, from, &m->digest, set);
    return 0;
}

int repl_recv_stream(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                     size_t len, uint8_t **reply, size_t *reply_len, struct err *e)
{
    struct repl_msg m;
    int rc;

    if (reply)
        *reply = NULL;
    if (reply_len)
        *reply_len = 0;
    r->now = wall_ms > r->now ? wall_ms : r->now;
    if ((rc = repl_msg_decode_stream(&m, buf, len, e)) < 0) {
        r->st.decode_errors++;
        return rc;
    }
    switch (m.type) {
    case REPL_S_SYNC: {
        /* a full digest (older agents): the records it lacks, and ours */
        uint8_t *data = delta_for(r, from, &m.digest, NULL, 1, &len);
        if (reply) {
            *reply = data;
            *reply_len = len;
        } else {
            free(data);
        }
        keep_digest(r, from, &m.digest, NULL);
    } break;
    case REPL_S_SUMMARY:
        if (reply) {
            *reply = on_summary(r, from, &m, &len);
            *reply_len = len;
        }
        break;
    case REPL_S_PARTIAL:
        if (!reply)
            on_partial(r, from, &m);
        break;
    case REPL_S_CENSUS:
        on_census(r, &m);
        break;
    default:
        rc = on_delta(r, wall_ms, from, &m, reply, reply_len, e);
        break;
    }
    repl_msg_release(&m);
    return rc;
}

/* ---- tombstones and reaping ---- */

struct gc_acc {
    struct repl *r;
    const struct crdt_digest **dg;
    size_t n, cap;
    int blocked;
};

/* A member that counts: its digest goes in, or collection waits for it. */
static int gc_count(void *ud, const char *name)
{
    struct gc_acc *a = ud;
    const struct peer_dg *p;

    if (!name || strcmp(name, crdt_self(a->r->c)) == 0)
        return 0;
    if (!(p = peer_find(a->r, name, 0))) {
        a->blocked = 1; /* a member we never heard a digest from */
        return 1;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->dg = xrealloc(a->dg, a->cap * sizeof(*a->dg));
    }
    a->dg[a->n++] = &p->d;
    return 0;
}

size_t repl_gc(struct repl *r, const struct repl_peers *members)
{
    struct gc_acc a = {r, NULL, 0, 0, 0};
    size_t n = 0;

    /* Every member listed counts, whether or not we hold records of it:
     * one cut off since it joined may hold writes nobody has seen, and a
     * multi-writer delete collected before it returns would let its older
     * write of the key read again. So does every origin we hold records
     * of, listed or not: a member list that is not whole yet (a restart
     * before the first push-pull) must not let us collect, since peers
     * take our coverage and would never get the tombstone. */
    for (size_t i = 0; members && i < members->n && !a.blocked; i++)
        gc_count(&a, members->at(members->ud, i));
    if (!a.blocked)
        crdt_each_origin(r->c, gc_count, &a);
    if (!a.blocked)
        n = crdt_gc(r->c, a.dg, a.n);
    free(a.dg);
    r->st.gc_collected += n;
    return n;
}

void repl_forget(struct repl *r, const char *node)
{
    struct peer_dg *p = peer_find(r, node, 0);

    crdt_drop_origin(r->c, node);
    if (p) {
        size_t i = (size_t)(p - r->peers);
        crdt_digest_release(&p->d);
        if (p->asked)
            return; /* asked once per start: if it returns, not again (an empty digest
                     * holds collection back as no digest would) */
        memmove(r->peers + i, r->peers + i + 1, (r->n_peers - i - 1) * sizeof(*r->peers));
        r->n_peers--;
    }
}

const struct repl_stats *repl_stats(const struct repl *r)
{
    return &r->st;
}

int repl_is_stream(const uint8_t *buf, size_t len)
{
    return len >= 2 && buf[0] == CODEC_VERSION && buf[1] == MSG_REPL;
}
