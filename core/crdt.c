/* crdt: the per-origin record store (see crdt.h). Records live in one
 * open-addressing hash table keyed by (origin, kind, key), and each origin
 * keeps the list of its records for digests, deltas and scans.
 *
 * What a digest says. An origin's entry is the version up to which this
 * store holds every record of that origin, or a newer record under the same
 * key, or knows the record was collected (`covered`). It is not simply the
 * highest version held: broadcasts arrive out of order and get lost, and a
 * peer that trusted a high-water mark would never send the records in the
 * gap. Coverage advances when the next version arrives, and when a sync
 * delivers everything a peer covered (crdt_cover). Tombstones are collected
 * only below our own coverage and every peer's, so an old copy of a deleted
 * record that arrives late is recognised as stale and not resurrected.
 *
 * A member that was not counted when a tombstone was collected (it was dead,
 * or it came back from an old snapshot) still holds the record the
 * tombstone replaced, and no delta can tell it so: nobody has the tombstone
 * any more. A census can: the keys we hold of an origin and our coverage of
 * it. A record the member holds at a version we cover, under a key we do
 * not hold, was superseded and the superseding tombstone collected. `gone`
 * says when a census is worth sending: the highest version of the origin
 * that we collected, or that we covered without holding (a sync moved our
 * coverage over versions a peer may have collected). */
#include "core/crdt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct rnode {
    struct crdt_rec r;
    struct origin *o;
    size_t oi; /* index in o->recs */
    uint64_t hash;
    char data[]; /* key, NUL, value */
};

struct origin {
    char name[SWIM_NAME_MAX + 1];
    uint64_t covered; /* see the top of this file; for self: our counter */
    uint64_t gone;    /* versions up to here may have been collected (see crdt_census) */
    uint64_t *seen;   /* versions above covered + 1 that arrived, sorted */
    size_t n_seen;
    struct rnode **recs;
    size_t n, cap;
};

struct crdt {
    struct origin *me;
    struct origin **origins; /* sorted by name */
    size_t n_origins, cap_origins;
    struct rnode **tab; /* open addressing, linear probing */
    size_t tab_cap, tab_n;
    uint64_t index;
    uint64_t kind_index[CRDT_KIND_MAX + 1]; /* changes of records of each kind */
    unsigned self_asks;                     /* syncs that asked peers for all our own records */
    uint64_t boot_floor; /* our versions above it were given in this boot (crdt_boot) */
    uint64_t loaded_max; /* our counter as read back from disk, or as a peer showed it since */
};

#define SEEN_MAX 4096 /* versions remembered above a gap; more waits for a sync */

static int is_lww(uint8_t kind)
{
    return kind == CRDT_KV || kind == CRDT_SPEC || kind == CRDT_ROUTE || kind == CRDT_TOKEN;
}

static uint64_t hash_of(const char *origin, uint8_t kind, const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = origin; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    h = (h ^ kind) * 1099511628211ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* ---- origins ---- */

static size_t origin_pos(const struct crdt *c, const char *name, int *found)
{
    size_t lo = 0, hi = c->n_origins;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(c->origins[mid]->name, name);
        if (d == 0) {
            *found = 1;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct origin *origin_find(const struct crdt *c, const char *name)
{
    int found;
    size_t i = origin_pos(c, name, &found);
    return found ? c->origins[i] : NULL;
}

static struct origin *origin_get(struct crdt *c, const char *name)
{
    int found;
    size_t i = origin_pos(c, name, &found);
    struct origin *o;

    if (found)
        return c->origins[i];
    if (c->n_origins == c->cap_origins) {
        c->cap_origins = c->cap_origins ? c->cap_origins * 2 : 16;
        c->origins = xrealloc(c->origins, c->cap_origins * sizeof(*c->origins));
    }
    o = xcalloc(1, sizeof(*o));
    strcpy(o->name, name);
    memmove(c->origins + i + 1, c->origins + i, (c->n_origins - i) * sizeof(*c->origins));
    c->origins[i] = o;
    c->n_origins++;
    return o;
}

static void origin_remove(struct crdt *c, struct origin *o)
{
    int found;
    size_t i = origin_pos(c, o->name, &found);
    if (!found)
        return;
    memmove(c->origins + i, c->origins + i + 1, (c->n_origins - i - 1) * sizeof(*c->origins));
    c->n_origins--;
    free(o->recs);
    free(o->seen);
    free(o);
}

/* ---- the hash table ---- */

static int node_is(const struct rnode *n, const char *origin, uint8_t kind, const char *key,
                   uint64_t h)
{
    return n->hash == h && n->r.kind == kind && strcmp(n->r.key, key) == 0 &&
           strcmp(n->o->name, origin) == 0;
}

static size_t tab_slot(const struct crdt *c, const char *origin, uint8_t kind, const char *key,
                       uint64_t h)
{
    size_t mask = c->tab_cap - 1, i = (size_t)h & mask;
    while (c->tab[i] && !node_is(c->tab[i], origin, kind, key, h))
        i = (i + 1) & mask;
    return i;
}

static struct rnode *tab_get(const struct crdt *c, const char *origin, uint8_t kind,
                             const char *key)
{
    if (!c->tab_n)
        return NULL;
    return c->tab[tab_slot(c, origin, kind, key, hash_of(origin, kind, key))];
}

static void tab_grow(struct crdt *c)
{
    struct rnode **old = c->tab;
    size_t old_cap = c->tab_cap;

    c->tab_cap = old_cap ? old_cap * 2 : 64;
    c->tab = xcalloc(c->tab_cap, sizeof(*c->tab));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i]) {
            size_t j = (size_t)old[i]->hash & (c->tab_cap - 1);
            while (c->tab[j])
                j = (j + 1) & (c->tab_cap - 1);
            c->tab[j] = old[i];
        }
    }
    free(old);
}

/* Deletes slot i, shifting back the entries of its probe run. */
static void tab_del_slot(struct crdt *c, size_t i)
{
    size_t mask = c->tab_cap - 1, j = i;

    c->tab[i] = NULL;
    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        if (!c->tab[j])
            break;
        home = (size_t)c->tab[j]->hash & mask;
        /* move j to i when its home is not in the cyclic range (i, j] */
        if ((i < j) ? (home <= i || home > j) : (home <= i && home > j)) {
            c->tab[i] = c->tab[j];
            c->tab[j] = NULL;
            i = j;
        }
    }
    c->tab_n--;
}

/* ---- records ---- */

static struct rnode *node_new(struct origin *o, const struct crdt_rec *r)
{
    size_t kl = strlen(r->key);
    uint32_t len = r->deleted ? 0 : r->len;
    struct rnode *n = xmalloc(sizeof(*n) + kl + 1 + len);

    memcpy(n->data, r->key, kl + 1);
    if (len)
        memcpy(n->data + kl + 1, r->val, len);
    n->r.origin = o->name;
    n->r.key = n->data;
    n->r.kind = r->kind;
    n->r.deleted = r->deleted ? 1 : 0;
    n->r.version = r->version;
    n->r.hlc = r->hlc;
    n->r.len = len;
    n->r.val = (const uint8_t *)n->data + kl + 1;
    n->o = o;
    n->hash = hash_of(o->name, r->kind, r->key);
    return n;
}

/* Removes the record in table slot i and frees it. */
static void node_remove(struct crdt *c, size_t slot)
{
    struct rnode *n = c->tab[slot];
    struct origin *o = n->o;

    tab_del_slot(c, slot);
    c->kind_index[n->r.kind]++;
    o->recs[n->oi] = o->recs[--o->n];
    o->recs[n->oi]->oi = n->oi;
    free(n);
}

static int cmp_version(const void *a, const void *b)
{
    const struct rnode *x = *(struct rnode *const *)a, *y = *(struct rnode *const *)b;
    return x->r.version < y->r.version ? -1 : x->r.version > y->r.version;
}

/* Version v of o arrived (stored, or already superseded here): coverage
 * moves over it when it fills the gap, else it is remembered. */
static void note_version(struct origin *o, uint64_t v)
{
    size_t i, lo = 0, hi = o->n_seen;

    if (v <= o->covered)
        return;
    if (v > o->covered + 1) {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (o->seen[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < o->n_seen && o->seen[lo] == v)
            return;
        if (o->n_seen == SEEN_MAX)
            return; /* a sync will cover it */
        if (!o->seen)
            o->seen = xmalloc(SEEN_MAX * sizeof(*o->seen));
        memmove(o->seen + lo + 1, o->seen + lo, (o->n_seen - lo) * sizeof(*o->seen));
        o->seen[lo] = v;
        o->n_seen++;
        return;
    }
    o->covered = v;
    for (i = 0; i < o->n_seen && o->seen[i] <= o->covered + 1; i++) {
        if (o->seen[i] == o->covered + 1)
            o->covered = o->seen[i];
    }
    if (i) {
        memmove(o->seen, o->seen + i, (o->n_seen - i) * sizeof(*o->seen));
        o->n_seen -= i;
    }
}

/* Stores r for origin o, replacing the record in slot (when occupied).
 * Returns the stored node. */
static struct rnode *store(struct crdt *c, struct origin *o, const struct crdt_rec *r)
{
    struct rnode *n = node_new(o, r);
    size_t slot;

    if ((c->tab_n + 1) * 4 > c->tab_cap * 3)
        tab_grow(c);
    slot = tab_slot(c, o->name, r->kind, r->key, n->hash);
    if (c->tab[slot]) {
        struct rnode *old = c->tab[slot];
        n->oi = old->oi;
        o->recs[n->oi] = n;
        free(old);
    } else {
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 8;
            o->recs = xrealloc(o->recs, o->cap * sizeof(*o->recs));
        }
        n->oi = o->n;
        o->recs[o->n++] = n;
        c->tab_n++;
    }
    c->tab[slot] = n;
    if (o != c->me)
        note_version(o, r->version);
    c->index++;
    c->kind_index[r->kind]++;
    return n;
}

static int valid_name(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n >= 1 && n <= max;
}

static int check_kind_key(uint8_t kind, const char *key, struct err *e)
{
    if (kind < 1 || kind > CRDT_KIND_MAX)
        return err_set(e, -EINVAL, "record kind %u is not 1..%d", kind, CRDT_KIND_MAX);
    if (!key || !valid_name(key, CRDT_KEY_MAX))
        return err_set(e, -EINVAL, "record key must be 1..%d bytes", CRDT_KEY_MAX);
    return 0;
}

static int check_rec(const struct crdt_rec *r, struct err *e)
{
    int rc = check_kind_key(r->kind, r->key, e);
    if (rc < 0)
        return rc;
    if (!r->origin || !valid_name(r->origin, SWIM_NAME_MAX))
        return err_set(e, -EINVAL, "record origin must be 1..%d bytes", SWIM_NAME_MAX);
    if (r->version == 0)
        return err_set(e, -EINVAL, "record %s/%s: version 0", r->origin, r->key);
    if (r->deleted > 1 || (r->deleted && r->len))
        return err_set(e, -EINVAL, "record %s/%s: a tombstone with a value", r->origin, r->key);
    if (r->len > CRDT_VAL_MAX)
        return err_set(e, -EMSGSIZE, "record %s/%s: value of %u bytes, at most %u", r->origin,
                       r->key, r->len, CRDT_VAL_MAX);
    if (r->len && !r->val)
        return err_set(e, -EINVAL, "record %s/%s: no value", r->origin, r->key);
    return 0;
}

/* ---- public ---- */

struct crdt *crdt_new(const char *self)
{
    struct crdt *c = xcalloc(1, sizeof(*c));
    char name[SWIM_NAME_MAX + 1];

    snprintf(name, sizeof(name), "%s", self);
    c->me = origin_get(c, name);
    return c;
}

void crdt_free(struct crdt *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_origins; i++) {
        struct origin *o = c->origins[i];
        for (size_t j = 0; j < o->n; j++)
            free(o->recs[j]);
        free(o->recs);
        free(o->seen);
        free(o);
    }
    free(c->origins);
    free(c->tab);
    free(c);
}

/* A new version of our own record under (kind, key). */
static const struct crdt_rec *write_own(struct crdt *c, uint8_t kind, const char *key,
                                        const void *val, uint32_t len, int deleted, uint64_t hlc)
{
    struct crdt_rec r = {.origin = c->me->name,
                         .key = key,
                         .kind = kind,
                         .deleted = (uint8_t)deleted,
                         .version = ++c->me->covered,
                         .hlc = hlc,
                         .len = deleted ? 0 : len,
                         .val = val};
    return &store(c, c->me, &r)->r;
}

int crdt_put(struct crdt *c, uint8_t kind, const char *key, const void *val, uint32_t len,
             uint64_t hlc, const struct crdt_rec **out, struct err *e)
{
    const struct rnode *old;
    const struct crdt_rec *r;
    int rc = check_kind_key(kind, key, e);

    if (rc < 0)
        return rc;
    if (len > CRDT_VAL_MAX)
        return err_set(e, -EMSGSIZE, "value of %u bytes for %s, at most %u", len, key,
                       CRDT_VAL_MAX);
    if (len && !val)
        return err_set(e, -EINVAL, "no value for %s", key);
    old = tab_get(c, c->me->name, kind, key);
    /* A multi-writer key is always rewritten: another writer may hold it. */
    if (old && !is_lww(kind) && !old->r.deleted && old->r.len == len &&
        (len == 0 || memcmp(old->r.val, val, len) == 0)) {
        if (out)
            *out = &old->r;
        return 0;
    }
    r = write_own(c, kind, key, val, len, 0, hlc);
    if (out)
        *out = r;
    return 1;
}

int crdt_del(struct crdt *c, uint8_t kind, const char *key, uint64_t hlc,
             const struct crdt_rec **out, struct err *e)
{
    const struct rnode *old;
    const struct crdt_rec *r, *win;
    int rc = check_kind_key(kind, key, e);

    if (rc < 0)
        return rc;
    old = tab_get(c, c->me->name, kind, key);
    if (is_lww(kind)) {
        /* Anyone may delete a multi-writer key: there must be a live winner. */
        win = crdt_lww(c, kind, key);
        if (!win || win->deleted)
            return 0;
    } else if (!old || old->r.deleted) {
        return 0;
    }
    r = write_own(c, kind, key, NULL, 0, 1, hlc);
    if (out)
        *out = r;
    return 1;
}

/* Our counter moves to `floor` (peers know versions of ours up to there
 * from before a restart) and every record we hold is stamped again above
 * it, so that peers covering the old versions take the new ones. */
static void restamp_all(struct crdt *c, uint64_t floor)
{
    struct origin *me = c->me;
    struct rnode **v = xmalloc((me->n ? me->n : 1) * sizeof(*v));
    size_t n = me->n;

    if (n) /* recs is NULL before our first record */
        memcpy(v, me->recs, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_version);
    me->covered = floor;
    for (size_t i = 0; i < n; i++)
        write_own(c, v[i]->r.kind, v[i]->r.key, v[i]->r.val, v[i]->r.len, v[i]->r.deleted,
                  v[i]->r.hlc);
    free(v);
}

static int lww_after(const struct crdt_rec *a, const struct crdt_rec *b)
{
    if (a->hlc != b->hlc)
        return a->hlc > b->hlc;
    return strcmp(a->origin, b->origin) > 0;
}

/* A multi-writer record of ours from before this boot, newer than what our
 * data dir held (`held`, or NULL): peers kept what we wrote or deleted
 * after the snapshot we started from. Since this boot our digest covered
 * that version without our holding it, so peers that took the coverage
 * from us skip it and keep our older copy (or drop the key by our
 * census): what we decide is written again under a new version.
 * - A delete is taken with its stamp: it can only hide older writes,
 *   which it did already.
 * - A write is withdrawn: a tombstone with the stamp of what our data dir
 *   held (0 when nothing), so it hides nothing newer and other writers'
 *   values read as before. Written again with its old stamp, the write
 *   would come back over a later delete whose tombstone was collected
 *   where no copy of it was held; left at its old version, peers that
 *   skip it would disagree. The write is lost with the data dir that
 *   lacked it, as a one-writer record is. */
static const struct crdt_rec *adopt_own(struct crdt *c, const struct crdt_rec *r,
                                        const struct rnode *held)
{
    uint64_t stamp = r->deleted ? r->hlc : held ? held->r.hlc : 0;

    return write_own(c, r->kind, r->key, NULL, 0, 1, stamp);
}

/* A copy of one of our own records that we do not hold at that version or
 * newer: it comes from before a restart that lost our state. When it is
 * beyond our counter, versions we gave out since the restart were already
 * used, and peers that cover them would ignore our records: the counter
 * moves past it and every record we hold is stamped again. Then what we
 * hold under its key is said again, or a tombstone when we hold nothing. */
static const struct crdt_rec *reassert(struct crdt *c, const struct crdt_rec *r, struct rnode *held)
{
    struct origin *me = c->me;
    const struct rnode *now;

    if (r->version > me->covered) {
        restamp_all(c, r->version);
        if (r->deleted && !tab_get(c, me->name, r->kind, r->key))
            return &store(c, me, r)->r;
    } else if (held) {
        write_own(c, held->r.kind, held->r.key, held->r.val, held->r.len, held->r.deleted,
                  held->r.hlc);
    } else if (r->deleted) {
        return NULL; /* a tombstone of ours we collected or lost: nothing to say */
    }
    now = tab_get(c, me->name, r->kind, r->key);
    if (!now)
        return write_own(c, r->kind, r->key, NULL, 0, 1, r->hlc);
    return &now->r;
}

int crdt_merge(struct crdt *c, const struct crdt_rec *r, const struct crdt_rec **out, struct err *e)
{
    struct origin *o;
    struct rnode *held, *mine;
    const struct crdt_rec *stored;
    int rc = check_rec(r, e);

    if (rc < 0)
        return rc;
    o = origin_find(c, r->origin);
    held = o ? tab_get(c, o->name, r->kind, r->key) : NULL;
    if (o == c->me) {
        if (held && held->r.version >= r->version)
            return 0;
        if (is_lww(r->kind) && r->version <= c->boot_floor)
            stored = adopt_own(c, r, held);
        else
            stored = reassert(c, r, held);
        if (!stored)
            return 0;
        if (out)
            *out = stored;
        return 1;
    }
    if (held && held->r.version >= r->version) {
        note_version(o, r->version); /* superseded here, but it fills a gap */
        return 0;
    }
    /* At or below our coverage it is an old copy (superseded or collected)
     * unless we hold an older version of the same key: coverage says we
     * would hold this one or newer, so its origin gave the version again
     * after a restart from older state, and this is its newer record. */
    if (o && r->version <= o->covered && !held)
        return 0;
    if (!o)
        o = origin_get(c, r->origin);
    stored = &store(c, o, r)->r;
    if (out)
        *out = stored;
    /* Our own live write of a multi-writer key that this one beats is
     * replaced by a tombstone with the same stamp, so the loser does not
     * live on and the winner's tombstone can later be collected. */
    if (is_lww(r->kind) && (mine = tab_get(c, c->me->name, r->kind, r->key)) != NULL &&
        !mine->r.deleted && lww_after(stored, &mine->r)) {
        uint64_t stamp = mine->r.hlc;
        write_own(c, r->kind, r->key, NULL, 0, 1, stamp);
        stored = &tab_get(c, o->name, r->kind, r->key)->r;
        if (out)
            *out = stored;
    }
    return 1;
}

int crdt_load(struct crdt *c, const struct crdt_rec *r, struct err *e)
{
    struct rnode *held;
    int rc;

    if (strcmp(r->origin, c->me->name) != 0)
        return crdt_merge(c, r, NULL, e);
    if ((rc = check_rec(r, e)) < 0)
        return rc;
    held = tab_get(c, c->me->name, r->kind, r->key);
    if (held && held->r.version >= r->version)
        return 0;
    store(c, c->me, r);
    if (r->version > c->me->covered)
        c->me->covered = r->version;
    /* tombstones of ours up to here may have been collected before the restart */
    c->me->gone = c->me->covered;
    return 1;
}

const struct crdt_rec *crdt_get(const struct crdt *c, const char *origin, uint8_t kind,
                                const char *key)
{
    const struct rnode *n = tab_get(c, origin, kind, key);
    return n ? &n->r : NULL;
}

const struct crdt_rec *crdt_lww(const struct crdt *c, uint8_t kind, const char *key)
{
    const struct crdt_rec *best = NULL;

    for (size_t i = 0; i < c->n_origins; i++) {
        const struct rnode *n = tab_get(c, c->origins[i]->name, kind, key);
        if (n && (!best || lww_after(&n->r, best)))
            best = &n->r;
    }
    return best;
}

static int cmp_key_origin(const void *a, const void *b)
{
    const struct rnode *x = *(struct rnode *const *)a, *y = *(struct rnode *const *)b;
    int d = strcmp(x->r.key, y->r.key);
    return d ? d : strcmp(x->o->name, y->o->name);
}

int crdt_scan(const struct crdt *c, uint8_t kind, const char *prefix, int with_tombstones,
              int (*cb)(void *ud, const struct crdt_rec *r), void *ud)
{
    size_t pl = prefix ? strlen(prefix) : 0, n = 0;
    struct rnode **v = xmalloc((c->tab_n ? c->tab_n : 1) * sizeof(*v));
    int rc = 0;

    for (size_t i = 0; i < c->n_origins; i++) {
        const struct origin *o = c->origins[i];
        for (size_t j = 0; j < o->n; j++) {
            struct rnode *x = o->recs[j];
            if (x->r.kind != kind || (x->r.deleted && !with_tombstones))
                continue;
            if (pl && strncmp(x->r.key, prefix, pl) != 0)
                continue;
            v[n++] = x;
        }
    }
    qsort(v, n, sizeof(*v), cmp_key_origin);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cb(ud, &v[i]->r);
    free(v);
    return rc;
}

/* Calls cb on the records of o above version `above`, in version order. */
static int scan_above(const struct origin *o, uint64_t above,
                      int (*cb)(void *ud, const struct crdt_rec *r), void *ud)
{
    struct rnode **v = xmalloc((o->n ? o->n : 1) * sizeof(*v));
    size_t n = 0;
    int rc = 0;

    for (size_t j = 0; j < o->n; j++) {
        if (o->recs[j]->r.version > above)
            v[n++] = o->recs[j];
    }
    qsort(v, n, sizeof(*v), cmp_version);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cb(ud, &v[i]->r);
    free(v);
    return rc;
}

int crdt_scan_origin(const struct crdt *c, const char *origin,
                     int (*cb)(void *ud, const struct crdt_rec *r), void *ud)
{
    const struct origin *o = origin_find(c, origin);
    return o ? scan_above(o, 0, cb, ud) : 0;
}

static void digest(const struct crdt *c, struct crdt_digest *d, int with_self)
{
    d->n = 0;
    d->e = xmalloc((c->n_origins ? c->n_origins : 1) * sizeof(*d->e));
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct origin *o = c->origins[i];
        if (!o->covered || (o == c->me && !with_self && c->self_asks < CRDT_SELF_ASKS))
            continue;
        strcpy(d->e[d->n].origin, o->name);
        d->e[d->n].version = o->covered;
        d->n++;
    }
}

void crdt_digest(const struct crdt *c, struct crdt_digest *d)
{
    digest(c, d, 0);
}

void crdt_digest_all(const struct crdt *c, struct crdt_digest *d)
{
    digest(c, d, 1);
}

void crdt_digest_release(struct crdt_digest *d)
{
    if (!d)
        return;
    free(d->e);
    d->e = NULL;
    d->n = 0;
}

uint64_t crdt_digest_get(const struct crdt_digest *d, const char *origin)
{
    size_t lo = 0, hi = d ? d->n : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int x = strcmp(d->e[mid].origin, origin);
        if (x == 0)
            return d->e[mid].version;
        if (x < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int crdt_delta(const struct crdt *c, const struct crdt_digest *peer,
               int (*cb)(void *ud, const struct crdt_rec *r), void *ud)
{
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct origin *o = c->origins[i];
        uint64_t have = crdt_digest_get(peer, o->name);
        int rc;
        if (!o->n)
            continue;
        if ((rc = scan_above(o, have, cb, ud)) != 0)
            return rc;
    }
    return 0;
}

void crdt_boot(struct crdt *c, uint64_t epoch)
{
    uint64_t floor = epoch << CRDT_EPOCH_SHIFT;

    if (epoch >= (UINT64_MAX >> CRDT_EPOCH_SHIFT))
        return;
    /* the data dir is from this epoch or a later one (a clock set back):
     * the next epoch after it, which no boot before ours has used */
    if (floor <= c->me->covered)
        floor = ((c->me->covered >> CRDT_EPOCH_SHIFT) + 1) << CRDT_EPOCH_SHIFT;
    c->loaded_max = c->me->covered;
    c->me->covered = floor;
    c->boot_floor = floor;
    /* any version of ours before this boot may have been deleted and
     * collected, past what our data dir holds too: a peer that covers less
     * of us than the floor gets our census */
    c->me->gone = floor;
}

/* Our one-writer records read back from disk, stamped again in this boot:
 * a peer covers versions of ours that our data dir does not know, so one
 * of them may have superseded such a record (and its tombstone may be
 * collected); said again, the record is news to everyone. */
static void restamp_loaded(struct crdt *c)
{
    struct origin *me = c->me;
    struct rnode **v = xmalloc((me->n ? me->n : 1) * sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; i < me->n; i++)
        if (me->recs[i]->r.version <= c->boot_floor && !is_lww(me->recs[i]->r.kind))
            v[n++] = me->recs[i];
    qsort(v, n, sizeof(*v), cmp_version);
    for (size_t i = 0; i < n; i++)
        write_own(c, v[i]->r.kind, v[i]->r.key, v[i]->r.val, v[i]->r.len, v[i]->r.deleted,
                  v[i]->r.hlc);
    free(v);
}

void crdt_self_floor(struct crdt *c, uint64_t version)
{
    if (version > c->me->covered) {
        restamp_all(c, version); /* a peer covers more of ours than we wrote */
        c->me->gone = version;
        return;
    }
    if (version > c->loaded_max && c->loaded_max < c->boot_floor) {
        /* a peer covers versions of ours from before this boot that our
         * data dir lacks (or this boot's, past them): what we hold from
         * disk is said again */
        restamp_loaded(c);
        c->loaded_max = version < c->boot_floor ? version : c->boot_floor;
    }
}

void crdt_cover(struct crdt *c, const char *origin, uint64_t version)
{
    struct origin *o;

    if (!valid_name(origin, SWIM_NAME_MAX))
        return;
    if (strcmp(origin, c->me->name) == 0) {
        if (c->self_asks < CRDT_SELF_ASKS)
            c->self_asks++;
        crdt_self_floor(c, version);
        return;
    }
    if (!version)
        return;
    o = origin_get(c, origin);
    if (version > o->covered) {
        size_t i = 0;
        if (version > o->gone)
            o->gone = version; /* what the peer collected in between, we cannot tell */
        o->covered = version - 1;
        while (i < o->n_seen && o->seen[i] <= version)
            i++;
        if (i) {
            memmove(o->seen, o->seen + i, (o->n_seen - i) * sizeof(*o->seen));
            o->n_seen -= i;
        }
        note_version(o, version);
        c->index++;
    }
}

int crdt_booted(const struct crdt *c)
{
    return c->boot_floor != 0;
}

uint64_t crdt_boot_floor(const struct crdt *c)
{
    return c->boot_floor;
}

int crdt_each_origin(const struct crdt *c, int (*cb)(void *ud, const char *origin), void *ud)
{
    int rc = 0;

    for (size_t i = 0; i < c->n_origins && rc == 0; i++)
        if (c->origins[i] != c->me && c->origins[i]->n)
            rc = cb(ud, c->origins[i]->name);
    return rc;
}

uint64_t crdt_covered(const struct crdt *c, const char *origin)
{
    const struct origin *o = origin_find(c, origin);
    return o ? o->covered : 0;
}

size_t crdt_drop_origin(struct crdt *c, const char *origin)
{
    struct origin *o = origin_find(c, origin);
    size_t n;

    if (!o || o == c->me)
        return 0;
    n = o->n;
    while (o->n) {
        const struct rnode *x = o->recs[o->n - 1];
        node_remove(c, tab_slot(c, o->name, x->r.kind, x->r.key, x->hash));
    }
    origin_remove(c, o);
    c->index++;
    return n;
}

/* A multi-writer tombstone must stay while it hides an older live write of
 * another origin, or that write would come back. */
static int hides_live(const struct crdt *c, const struct rnode *t)
{
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct rnode *n;
        if (c->origins[i] == t->o)
            continue;
        n = tab_get(c, c->origins[i]->name, t->r.kind, t->r.key);
        if (n && !n->r.deleted && lww_after(&t->r, &n->r))
            return 1;
    }
    return 0;
}

/* Records of origin that crdt_adopt_origin takes over, copied out (the
 * store changes while they are written again). */
struct adoptee {
    uint8_t kind, deleted;
    uint64_t hlc;
    char *key;
    uint8_t *val;
    uint32_t len;
};

size_t crdt_adopt_origin(struct crdt *c, const char *origin, uint8_t kind, size_t max)
{
    struct origin *o = origin_find(c, origin);
    struct adoptee *v;
    size_t n = 0;

    if (!o || o == c->me)
        return 0;
    v = xmalloc((o->n ? o->n : 1) * sizeof(*v));
    for (size_t j = 0; j < o->n && n < max; j++) {
        const struct rnode *x = o->recs[j];
        const struct crdt_rec *win;
        if (x->r.kind != kind || !is_lww(kind))
            continue;
        win = crdt_lww(c, x->r.kind, x->r.key);
        if (win != &x->r)
            continue; /* another write of the key wins anyway */
        if (x->r.deleted && !hides_live(c, x))
            continue; /* a delete that hides nothing: its going changes no read */
        v[n].kind = x->r.kind;
        v[n].deleted = x->r.deleted;
        v[n].hlc = x->r.hlc;
        v[n].key = xstrdup(x->r.key);
        v[n].len = x->r.len;
        v[n].val = x->r.len ? xmemdup(x->r.val, x->r.len) : NULL;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        write_own(c, v[i].kind, v[i].key, v[i].val, v[i].len, v[i].deleted, v[i].hlc);
        free(v[i].key);
        free(v[i].val);
    }
    free(v);
    return n;
}

size_t crdt_gc(struct crdt *c, const struct crdt_digest *const *peers, size_t n_peers)
{
    size_t removed = 0;

    for (size_t i = 0; i < c->n_origins; i++) {
        struct origin *o = c->origins[i];
        uint64_t floor = o->covered;
        /* until peers have told us what they hold of ours, a version of
         * ours they cover may be one we gave again after a restart: our
         * tombstone under it is all that will tell them */
        if (o == c->me && c->self_asks < CRDT_SELF_ASKS)
            continue;
        for (size_t p = 0; p < n_peers && floor; p++) {
            uint64_t v = crdt_digest_get(peers[p], o->name);
            if (v < floor)
                floor = v;
        }
        for (size_t j = 0; j < o->n;) {
            struct rnode *x = o->recs[j];
            if (!x->r.deleted || x->r.version > floor || (is_lww(x->r.kind) && hides_live(c, x))) {
                j++;
                continue;
            }
            if (x->r.version > o->gone)
                o->gone = x->r.version;
            node_remove(c, tab_slot(c, o->name, x->r.kind, x->r.key, x->hash));
            removed++;
        }
    }
    if (removed)
        c->index++;
    return removed;
}

uint64_t crdt_key_hash(uint8_t kind, const char *key)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ kind) * 1099511628211ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h ^ (h >> 31);
}

int crdt_census_wanted(const struct crdt *c, const char *origin, uint64_t peer_covers)
{
    const struct origin *o = origin_find(c, origin);

    /* our own counter is only trusted once peers were asked what they
     * hold of ours: a restart may have lost versions we will give again */
    if (o == c->me && c->self_asks < CRDT_SELF_ASKS)
        return 0;
    return o && o->covered > peer_covers && o->gone > peer_covers;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t crdt_census(const struct crdt *c, const char *origin, uint64_t *covered, uint64_t **hashes)
{
    const struct origin *o = origin_find(c, origin);
    size_t n = o ? o->n : 0;

    *covered = o ? o->covered : 0;
    *hashes = xmalloc((n ? n : 1) * sizeof(**hashes));
    for (size_t i = 0; i < n; i++)
        (*hashes)[i] = crdt_key_hash(o->recs[i]->r.kind, o->recs[i]->r.key);
    qsort(*hashes, n, sizeof(**hashes), cmp_u64);
    return n;
}

static int hash_in(const uint64_t *v, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] == h)
            return 1;
        if (v[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

size_t crdt_census_apply(struct crdt *c, const char *origin, uint64_t covered,
                         const uint64_t *hashes, size_t n)
{
    struct origin *o = origin_find(c, origin);
    size_t dropped = 0;

    if (!o)
        return 0;
    for (size_t j = 0; j < o->n;) {
        struct rnode *x = o->recs[j];
        /* our own records are ours to say, except a multi-writer one read
         * back from disk: the key was written again and deleted since */
        if ((o == c->me && (!is_lww(x->r.kind) || x->r.version > c->boot_floor)) ||
            x->r.version > covered || hash_in(hashes, n, crdt_key_hash(x->r.kind, x->r.key)) ||
            (x->r.deleted && is_lww(x->r.kind) && hides_live(c, x))) {
            j++;
            continue;
        }
        if (x->r.version > o->gone && o != c->me)
            o->gone = x->r.version;
        node_remove(c, tab_slot(c, o->name, x->r.kind, x->r.key, x->hash));
        dropped++;
    }
    if (dropped)
        c->index++;
    return dropped;
}

uint64_t crdt_index(const struct crdt *c)
{
    return c->index;
}

uint64_t crdt_kind_index(const struct crdt *c, uint8_t kind)
{
    return kind <= CRDT_KIND_MAX ? c->kind_index[kind] : 0;
}

uint64_t crdt_self_version(const struct crdt *c)
{
    return c->me->covered;
}

const char *crdt_self(const struct crdt *c)
{
    return c->me->name;
}

size_t crdt_count(const struct crdt *c)
{
    return c->tab_n;
}
