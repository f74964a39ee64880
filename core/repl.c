/* repl: dissemination of the CRDT store (see repl.h). Small records ride
 * gossip broadcasts and every node relays a record the first time it is
 * new to it; big ones go as a notice that makes receivers sync. Anti-
 * entropy exchanges digests and then only the missing records. The peers'
 * digests are kept to know which tombstones every live member has. */
#include "core/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crdt_codec.h"
#include "core/mem.h"

#define RELAY_FROM_SYNC 16 /* records of one sync that are also relayed by gossip */
#define WANT_MAX 64        /* notices acted on, remembered to ask only once */

struct peer_dg {
    char name[SWIM_NAME_MAX + 1];
    struct crdt_digest d;
};

struct want {
    char origin[SWIM_NAME_MAX + 1];
    uint64_t version;
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
    struct repl_stats st;
};

void repl_config_default(struct repl_config *c)
{
    c->sync_interval_ms = 10000;
    c->out_max = 4096;
}

struct repl *repl_new(struct crdt *c, const struct repl_config *cfg)
{
    struct repl *r = xcalloc(1, sizeof(*r));
    r->c = c;
    if (cfg)
        r->cfg = *cfg;
    else
        repl_config_default(&r->cfg);
    if (!r->cfg.out_max)
        r->cfg.out_max = 4096;
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
    free(r);
}

/* ---- outputs ---- */

/* Queues data (heap, taken over). Over out_max it is dropped and counted. */
static void emit(struct repl *r, uint8_t kind, const char *to, uint8_t *data, size_t len)
{
    struct repl_out *o;

    if (!data)
        return;
    if (r->q_n >= r->cfg.out_max) {
        r->st.dropped++;
        free(data);
        return;
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

int repl_poll_out(struct repl *r, struct repl_out *o)
{
    if (!r->q_n)
        return 0;
    *o = r->q[r->q_head];
    r->q_head = (r->q_head + 1) % r->q_cap;
    r->q_n--;
    return 1;
}

/* Sends a record by gossip: whole when it fits a user broadcast, else a
 * notice that we hold it. */
static void disseminate(struct repl *r, const struct crdt_rec *rec)
{
    uint8_t *data;
    size_t len;

    if (1 + crdt_codec_rec_size(rec) <= CODEC_USER_MAX) {
        data = repl_msg_encode_rec(rec, &len, NULL);
    } else {
        data = repl_msg_encode_notice(rec->origin, rec->version, crdt_self(r->c), &len, NULL);
        r->st.notices++;
    }
    if (data)
        r->st.broadcasts_out++;
    emit(r, REPL_OUT_BROADCAST, NULL, data, len);
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

/* ---- local writes ---- */

int repl_put(struct repl *r, uint64_t wall_ms, uint8_t kind, const char *key, const void *val,
             uint32_t len, struct err *e)
{
    const struct crdt_rec *out = NULL;
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

/* ---- merging ---- */

/* Merges one remote record; 1 when it was new to us. */
static int merge_one(struct repl *r, uint64_t wall_ms, const struct crdt_rec *rec,
                     struct err *e)
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

int repl_recv_broadcast(struct repl *r, uint64_t wall_ms, const char *from, const uint8_t *buf,
                        size_t len, struct err *e)
{
    struct repl_msg m;
    uint64_t before = crdt_self_version(r->c);
    int rc = repl_msg_decode_bcast(&m, buf, len, e);

    if (rc < 0) {
        r->st.decode_errors++;
        return rc;
    }
    r->st.broadcasts_in++;
    if (m.type == REPL_B_REC) {
        rc = merge_one(r, wall_ms, &m.rec.r, e);
        if (rc == 1 && strcmp(m.rec.r.origin, crdt_self(r->c)) != 0)
            disseminate(r, &m.rec.r); /* relayed once: the next copy is stale here */
        own_changes(r, before);
    } else if (m.type == REPL_B_NOTICE) {
        /* A big record exists. Unless we cover it, ask its holder for a sync. */
        const char *holder = from ? from : m.holder;
        if (strcmp(m.origin, crdt_self(r->c)) != 0 &&
            crdt_covered(r->c, m.origin) < m.version && strcmp(holder, crdt_self(r->c)) != 0 &&
            !wanted(r, m.origin, m.version))
            repl_sync(r, holder);
    }
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

/* Keeps a copy of a peer's digest (for tombstone collection). */
static void keep_digest(struct repl *r, const char *from, struct crdt_digest *d)
{
    struct peer_dg *p;

    if (!from || !from[0] || strlen(from) > SWIM_NAME_MAX || strcmp(from, crdt_self(r->c)) == 0)
        return;
    p = peer_find(r, from, 1);
    crdt_digest_release(&p->d);
    p->d = *d; /* taken over */
    d->n = 0;
    d->e = NULL;
}

void repl_sync(struct repl *r, const char *peer)
{
    struct crdt_digest d;
    size_t len;
    uint8_t *data;

    if (!peer || !peer[0] || strcmp(peer, crdt_self(r->c)) == 0)
        return;
    crdt_digest(r->c, &d);
    data = repl_msg_encode_sync(&d, &len);
    crdt_digest_release(&d);
    r->st.syncs++;
    emit(r, REPL_OUT_STREAM, peer, data, len);
}

static int on_delta(struct repl *r, uint64_t wall_ms, const char *from, struct repl_msg *m,
                    struct err *e)
{
    uint64_t before = crdt_self_version(r->c);
    unsigned relayed = 0;
    struct crdt_wire_rec w;
    struct rd rd;
    int rc;

    /* first what the sender knows of us: a restart that lost our state
     * shows here, and our counter must move before we merge */
    crdt_cover(r->c, crdt_self(r->c), crdt_digest_get(&m->digest, crdt_self(r->c)));
    rd_init(&rd, m->recs, m->recs_len);
    for (uint32_t i = 0; i < m->n_recs; i++) {
        if ((rc = crdt_codec_get_rec(&rd, &w, e)) < 0) /* checked at decode: cannot fail */
            return rc;
        r->st.sync_records_in++;
        rc = merge_one(r, wall_ms, &w.r, e);
        if (rc < 0)
            return rc;
        if (rc == 1 && relayed < RELAY_FROM_SYNC && strcmp(w.r.origin, crdt_self(r->c)) != 0) {
            disseminate(r, &w.r);
            relayed++;
        }
    }
    /* everything the sender covered below the cut is ours now */
    for (size_t i = 0; i < m->digest.n; i++) {
        uint64_t v;
        if (strcmp(m->digest.e[i].origin, crdt_self(r->c)) != 0 && repl_msg_covers(m, i, &v))
            crdt_cover(r->c, m->digest.e[i].origin, v);
    }
    own_changes(r, before);
    if (m->reply && from) {
        /* push back what the sender lacks, if anything */
        size_t len;
        uint32_t n = 0;
        uint8_t *data = repl_msg_encode_delta(r->c, &m->digest, 0, CODEC_STREAM_MAX, &len, &n);
        if (n) {
            r->st.sync_records_out += n;
            emit(r, REPL_OUT_STREAM, from, data, len);
        } else {
            free(data);
        }
    }
    keep_digest(r, from, &m->digest);
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
    if ((rc = repl_msg_decode_stream(&m, buf, len, e)) < 0) {
        r->st.decode_errors++;
        return rc;
    }
    if (m.type == REPL_S_SYNC) {
        uint32_t n = 0;
        size_t rl;
        uint8_t *data = repl_msg_encode_delta(r->c, &m.digest, 1, CODEC_STREAM_MAX, &rl, &n);
        r->st.sync_records_out += n;
        if (reply) {
            *reply = data;
            *reply_len = rl;
        } else {
            free(data);
        }
        keep_digest(r, from, &m.digest);
    } else {
        rc = on_delta(r, wall_ms, from, &m, e);
    }
    repl_msg_release(&m);
    return rc;
}

/* ---- tombstones and reaping ---- */

struct gc_acc {
    struct repl *r;
    int (*live)(void *ud, const char *node);
    void *ud;
    const struct crdt_digest **dg;
    size_t n;
    int blocked;
};

static void gc_consider(struct gc_acc *a, const char *name)
{
    struct peer_dg *p;

    if (a->blocked || strcmp(name, crdt_self(a->r->c)) == 0 || !a->live(a->ud, name))
        return;
    p = peer_find(a->r, name, 0);
    if (!p)
        a->blocked = 1; /* a live member we never heard a digest from */
}

size_t repl_gc(struct repl *r, int (*live)(void *ud, const char *node), void *ud)
{
    struct gc_acc a = {r, live, ud, NULL, 0, 0};
    struct crdt_digest mine;
    size_t n = 0;

    /* Members we know of: every origin in the store and every digest sender. */
    crdt_digest(r->c, &mine);
    for (size_t i = 0; i < mine.n; i++)
        gc_consider(&a, mine.e[i].origin);
    crdt_digest_release(&mine);
    if (a.blocked)
        return 0;
    a.dg = xmalloc((r->n_peers ? r->n_peers : 1) * sizeof(*a.dg));
    for (size_t i = 0; i < r->n_peers; i++) {
        if (live(ud, r->peers[i].name))
            a.dg[a.n++] = &r->peers[i].d;
    }
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
        memmove(r->peers + i, r->peers + i + 1, (r->n_peers - i - 1) * sizeof(*r->peers));
        r->n_peers--;
    }
}

const struct repl_stats *repl_stats(const struct repl *r)
{
    return &r->st;
}

struct hlc *repl_hlc(struct repl *r)
{
    return &r->hlc;
}

int repl_is_stream(const uint8_t *buf, size_t len)
{
    return len >= 2 && buf[0] == CODEC_VERSION && buf[1] == MSG_REPL;
}
