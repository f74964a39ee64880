/* Tests of core/crdt: local writes, merge, digests and deltas, coverage,
 * tombstone collection, multi-writer registers, and a restarted origin.
 * The property tests build random states from a seed: several origins
 * write a random history, and each replica holds a random part of it,
 * merged in a random order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/crdt.h"
#include "core/mem.h"

/* ---- helpers ---- */

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A record with its own copies of the strings and value. */
struct hrec {
    struct crdt_rec r;
    char origin[SWIM_NAME_MAX + 1];
    char key[CRDT_KEY_MAX + 1];
    uint8_t val[32];
};

static void hrec_set(struct hrec *h, const struct crdt_rec *r)
{
    memset(h, 0, sizeof(*h));
    h->r = *r;
    snprintf(h->origin, sizeof(h->origin), "%s", r->origin);
    snprintf(h->key, sizeof(h->key), "%s", r->key);
    assert_true(r->len <= sizeof(h->val));
    memcpy(h->val, r->val, r->len);
    h->r.origin = h->origin;
    h->r.key = h->key;
    h->r.val = h->val;
}

#define HIST_MAX 512

struct history {
    struct hrec rec[HIST_MAX];
    size_t n;
};

/* Origins o0..o(n_origins-1) make n_ops random writes: puts, deletes and
 * multi-writer KV writes; every record they produce goes into h. */
static void make_history(struct history *h, uint64_t seed, int n_origins, int n_ops)
{
    struct crdt *o[8];
    uint64_t s = seed;
    char name[16], key[16];

    h->n = 0;
    for (int i = 0; i < n_origins; i++) {
        snprintf(name, sizeof(name), "o%d", i);
        o[i] = crdt_new(name);
    }
    for (int op = 0; op < n_ops && h->n < HIST_MAX; op++) {
        int who = (int)(rng(&s) % (uint64_t)n_origins), what = (int)(rng(&s) % 4);
        const struct crdt_rec *out = NULL;
        uint8_t kind = what == 3 ? CRDT_KV : CRDT_INSTANCE;
        uint32_t v = (uint32_t)(rng(&s) % 1000);
        snprintf(key, sizeof(key), "k%d", (int)(rng(&s) % 6));
        if (what == 2)
            crdt_del(o[who], kind, key, (uint64_t)op + 1, &out, NULL);
        else
            crdt_put(o[who], kind, key, &v, sizeof(v), (uint64_t)op + 1, &out, NULL);
        if (out)
            hrec_set(&h->rec[h->n++], out);
    }
    for (int i = 0; i < n_origins; i++)
        crdt_free(o[i]);
}

/* A replica (self "x", never writing) holding a random part of h. */
static struct crdt *random_state(const struct history *h, uint64_t *s, int percent)
{
    struct crdt *c = crdt_new("x");
    size_t idx[HIST_MAX], n = 0;

    for (size_t i = 0; i < h->n; i++) {
        if ((int)(rng(s) % 100) < percent)
            idx[n++] = i;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = rng(s) % i, t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        assert_true(crdt_merge(c, &h->rec[idx[i]].r, NULL, NULL) >= 0);
    return c;
}

static int merge_cb(void *ud, const struct crdt_rec *r)
{
    return crdt_merge(ud, r, NULL, NULL) < 0;
}

/* dst ⊔= src: every record of src, as a full delta would carry it. */
static void join(struct crdt *dst, const struct crdt *src)
{
    struct crdt_digest none = {0};
    assert_int_equal(crdt_delta(src, &none, merge_cb, dst), 0);
}

static struct crdt *clone(const struct crdt *src)
{
    struct crdt *c = crdt_new("x");
    join(c, src);
    return c;
}

struct dump {
    char *s;
    size_t len, cap;
};

static int dump_cb(void *ud, const struct crdt_rec *r)
{
    struct dump *d = ud;
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s|%u|%s|%llu|%u|%llu|", r->origin, r->kind, r->key,
                     (unsigned long long)r->version, r->deleted, (unsigned long long)r->hlc);
    for (uint32_t i = 0; i < r->len && n < (int)sizeof(line) - 3; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", r->val[i]);
    line[n++] = '\n';
    if (d->len + (size_t)n + 1 > d->cap) {
        d->cap = (d->len + (size_t)n + 1) * 2;
        d->s = xrealloc(d->s, d->cap);
    }
    memcpy(d->s + d->len, line, (size_t)n);
    d->len += (size_t)n;
    d->s[d->len] = '\0';
    return 0;
}

/* Every record of c, in one canonical text (caller frees). */
static char *dump(const struct crdt *c)
{
    struct dump d = {xstrdup(""), 0, 1};
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(c, k, NULL, 1, dump_cb, &d);
    return d.s;
}

static void assert_same(const struct crdt *a, const struct crdt *b)
{
    char *x = dump(a), *y = dump(b);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

static struct crdt_rec rec(const char *origin, uint8_t kind, const char *key, uint64_t version,
                           int deleted, uint64_t hlc, const char *val)
{
    struct crdt_rec r = {.origin = origin,
                         .key = key,
                         .kind = kind,
                         .deleted = (uint8_t)deleted,
                         .version = version,
                         .hlc = hlc,
                         .len = val ? (uint32_t)strlen(val) : 0,
                         .val = (const uint8_t *)val};
    return r;
}

/* ---- local writes ---- */

static void test_put_gives_new_versions_and_same_value_is_no_change(void **state)
{
    struct crdt *c = crdt_new("a");
    const struct crdt_rec *r;

    assert_int_equal(crdt_put(c, CRDT_INSTANCE, "web-1", "v1", 2, 1, &r, NULL), 1);
    assert_int_equal(r->version, 1);
    assert_string_equal(r->origin, "a");
    assert_int_equal(crdt_put(c, CRDT_INSTANCE, "web-1", "v1", 2, 2, &r, NULL), 0);
    assert_int_equal(crdt_self_version(c), 1);
    assert_int_equal(crdt_put(c, CRDT_INSTANCE, "web-1", "v2", 2, 3, &r, NULL), 1);
    assert_int_equal(r->version, 2);
    assert_int_equal(crdt_count(c), 1);
    assert_int_equal(crdt_index(c), 2);
    crdt_free(c);
}

static void test_del_writes_a_tombstone_once(void **state)
{
    struct crdt *c = crdt_new("a");
    const struct crdt_rec *r;

    assert_int_equal(crdt_del(c, CRDT_INSTANCE, "web-1", 1, NULL, NULL), 0);
    crdt_put(c, CRDT_INSTANCE, "web-1", "v", 1, 1, NULL, NULL);
    assert_int_equal(crdt_del(c, CRDT_INSTANCE, "web-1", 2, &r, NULL), 1);
    assert_true(r->deleted);
    assert_int_equal(r->len, 0);
    assert_int_equal(r->version, 2);
    assert_int_equal(crdt_del(c, CRDT_INSTANCE, "web-1", 3, NULL, NULL), 0);
    assert_int_equal(crdt_count(c), 1);
    crdt_free(c);
}

static void test_bad_kind_key_or_size_is_refused_with_a_message(void **state)
{
    struct crdt *c = crdt_new("a");
    struct err e;
    char big[CRDT_KEY_MAX + 2];

    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(crdt_put(c, 9, "k", "v", 1, 1, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "kind"));
    assert_int_equal(crdt_put(c, CRDT_KV, "", "v", 1, 1, NULL, &e), -EINVAL);
    assert_int_equal(crdt_put(c, CRDT_KV, big, "v", 1, 1, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "key"));
    assert_int_equal(crdt_put(c, CRDT_KV, "k", "v", CRDT_VAL_MAX + 1, 1, NULL, &e), -EMSGSIZE);
    struct crdt_rec r = rec("b", CRDT_KV, "k", 0, 0, 1, "v");
    assert_int_equal(crdt_merge(c, &r, NULL, &e), -EINVAL);
    r = rec("b", CRDT_KV, "k", 1, 1, 1, "v");
    assert_int_equal(crdt_merge(c, &r, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "tombstone"));
    assert_int_equal(crdt_count(c), 0);
    crdt_free(c);
}

/* ---- merge ---- */

static void test_merge_keeps_the_higher_version(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec r1 = rec("a", CRDT_INSTANCE, "k", 1, 0, 1, "one");
    struct crdt_rec r2 = rec("a", CRDT_INSTANCE, "k", 2, 0, 2, "two");

    assert_int_equal(crdt_merge(c, &r2, NULL, NULL), 1);
    assert_int_equal(crdt_merge(c, &r1, NULL, NULL), 0);
    assert_int_equal(crdt_merge(c, &r2, NULL, NULL), 0);
    assert_memory_equal(crdt_get(c, "a", CRDT_INSTANCE, "k")->val, "two", 3);
    crdt_free(c);
}

static void test_coverage_waits_for_the_gap_to_fill(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec r1 = rec("a", CRDT_INSTANCE, "k1", 1, 0, 1, "1");
    struct crdt_rec r2 = rec("a", CRDT_INSTANCE, "k2", 2, 0, 2, "2");
    struct crdt_rec r3 = rec("a", CRDT_INSTANCE, "k3", 3, 0, 3, "3");

    crdt_merge(c, &r3, NULL, NULL);
    crdt_merge(c, &r2, NULL, NULL);
    assert_int_equal(crdt_covered(c, "a"), 0);
    crdt_merge(c, &r1, NULL, NULL);
    assert_int_equal(crdt_covered(c, "a"), 3);
    crdt_free(c);
}

static void test_merge_is_associative_commutative_idempotent(void **state)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct history *h = xmalloc(sizeof(*h));
        uint64_t s = seed * 7919;
        make_history(h, seed, 4, 120);
        struct crdt *a = random_state(h, &s, 50), *b = random_state(h, &s, 50),
                    *c = random_state(h, &s, 50);

        /* (a ⊔ b) ⊔ c == a ⊔ (b ⊔ c) */
        struct crdt *ab_c = clone(a), *bc = clone(b), *a_bc = clone(a);
        join(ab_c, b);
        join(ab_c, c);
        join(bc, c);
        join(a_bc, bc);
        assert_same(ab_c, a_bc);
        /* a ⊔ b == b ⊔ a */
        struct crdt *ab = clone(a), *ba = clone(b);
        join(ab, b);
        join(ba, a);
        assert_same(ab, ba);
        /* a ⊔ a == a */
        struct crdt *aa = clone(a);
        join(aa, a);
        assert_same(aa, a);

        crdt_free(a), crdt_free(b), crdt_free(c), crdt_free(ab_c), crdt_free(bc);
        crdt_free(a_bc), crdt_free(ab), crdt_free(ba), crdt_free(aa);
        free(h);
    }
}

static void test_any_delivery_order_of_deltas_gives_the_same_state(void **state)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct history *h = xmalloc(sizeof(*h));
        uint64_t s = seed * 104729;
        make_history(h, seed, 5, 200);
        struct crdt *ref = crdt_new("x");
        for (size_t i = 0; i < h->n; i++)
            crdt_merge(ref, &h->rec[i].r, NULL, NULL);
        for (int k = 0; k < 5; k++) {
            /* everything, shuffled, some of it twice */
            struct crdt *c = random_state(h, &s, 100);
            for (size_t i = 0; i < h->n / 3; i++)
                crdt_merge(c, &h->rec[rng(&s) % h->n].r, NULL, NULL);
            assert_same(c, ref);
            for (int o = 0; o < 5; o++) {
                char name[8];
                snprintf(name, sizeof(name), "o%d", o);
                assert_int_equal(crdt_covered(c, name), crdt_covered(ref, name));
            }
            crdt_free(c);
        }
        crdt_free(ref);
        free(h);
    }
}

/* ---- digests and deltas ---- */

struct collect {
    struct hrec *r;
    size_t n;
};

static int collect_cb(void *ud, const struct crdt_rec *r)
{
    struct collect *c = ud;
    hrec_set(&c->r[c->n++], r);
    return 0;
}

static int cover_cb(void *ud, const struct crdt_rec *r)
{
    struct collect *c = ud;
    if (crdt_digest_get((const struct crdt_digest *)c->r, r->origin) < r->version)
        c->n++;
    return 0;
}

static void test_delta_is_exactly_what_the_peer_lacks(void **state)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct history *h = xmalloc(sizeof(*h));
        uint64_t s = seed * 31337;
        make_history(h, seed, 4, 150);
        struct crdt *a = random_state(h, &s, 80), *b = random_state(h, &s, 40);
        struct crdt_digest db, da;
        struct collect got = {xcalloc(HIST_MAX, sizeof(struct hrec)), 0};
        struct collect want = {(struct hrec *)&db, 0};

        crdt_digest(b, &db);
        crdt_delta(a, &db, collect_cb, &got);
        /* every record of a above b's coverage, nothing else, in order */
        for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
            crdt_scan(a, k, NULL, 1, cover_cb, &want);
        assert_int_equal(got.n, want.n);
        for (size_t i = 0; i < got.n; i++) {
            assert_true(got.r[i].r.version > crdt_digest_get(&db, got.r[i].origin));
            if (i) {
                int d = strcmp(got.r[i - 1].origin, got.r[i].origin);
                assert_true(d < 0 || (d == 0 && got.r[i - 1].r.version < got.r[i].r.version));
            }
        }
        /* b merges it and takes a's coverage: b now has all of a */
        for (size_t i = 0; i < got.n; i++)
            crdt_merge(b, &got.r[i].r, NULL, NULL);
        crdt_digest(a, &da);
        for (size_t i = 0; i < da.n; i++)
            crdt_cover(b, da.e[i].origin, da.e[i].version);
        struct crdt *ab = clone(a);
        join(ab, b);
        assert_same(ab, b);
        for (size_t i = 0; i < da.n; i++)
            assert_true(crdt_covered(b, da.e[i].origin) >= da.e[i].version);

        crdt_free(ab);
        crdt_digest_release(&da);
        crdt_digest_release(&db);
        free(got.r);
        crdt_free(a);
        crdt_free(b);
        free(h);
    }
}

static void test_digest_is_sorted_and_counts_coverage(void **state)
{
    struct crdt *c = crdt_new("m");
    struct crdt_rec r1 = rec("z", CRDT_INSTANCE, "k", 1, 0, 1, "v");
    struct crdt_rec r2 = rec("b", CRDT_INSTANCE, "k", 1, 0, 1, "v");
    struct crdt_digest d;

    crdt_put(c, CRDT_INSTANCE, "k", "v", 1, 1, NULL, NULL);
    crdt_merge(c, &r1, NULL, NULL);
    crdt_merge(c, &r2, NULL, NULL);
    /* our own origin is left out until a few syncs asked for it */
    crdt_digest(c, &d);
    assert_int_equal(d.n, 2);
    crdt_digest_release(&d);
    for (int i = 0; i < CRDT_SELF_ASKS; i++)
        crdt_cover(c, "m", 0);
    crdt_digest(c, &d);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.e[0].origin, "b");
    assert_string_equal(d.e[1].origin, "m");
    assert_string_equal(d.e[2].origin, "z");
    assert_int_equal(crdt_digest_get(&d, "m"), 1);
    assert_int_equal(crdt_digest_get(&d, "q"), 0);
    crdt_digest_release(&d);
    crdt_free(c);
}

/* ---- tombstone collection ---- */

static void digest_of(struct crdt_digest *d, const char *origin, uint64_t v)
{
    d->n = 1;
    d->e = xcalloc(1, sizeof(*d->e));
    snprintf(d->e[0].origin, sizeof(d->e[0].origin), "%s", origin);
    d->e[0].version = v;
}

/* The syncs that asked peers for every record of ours: before them our own
 * tombstones are not collected (crdt_gc). */
static void asked_peers(struct crdt *c)
{
    for (int i = 0; i < CRDT_SELF_ASKS; i++)
        crdt_cover(c, crdt_self(c), 0);
}

static void test_tombstone_collected_only_when_every_digest_covers_it(void **state)
{
    struct crdt *c = crdt_new("a");
    struct crdt_digest d1, d2, d3;
    const struct crdt_digest *peers[2];

    crdt_put(c, CRDT_INSTANCE, "k", "v", 1, 1, NULL, NULL);
    crdt_del(c, CRDT_INSTANCE, "k", 2, NULL, NULL);
    asked_peers(c);
    digest_of(&d1, "a", 2);
    digest_of(&d2, "a", 1);
    digest_of(&d3, "other", 9);
    peers[0] = &d1;
    peers[1] = &d2;
    assert_int_equal(crdt_gc(c, peers, 2), 0);
    peers[1] = &d3; /* a live member that has nothing of a */
    assert_int_equal(crdt_gc(c, peers, 2), 0);
    d2.e[0].version = 2;
    peers[1] = &d2;
    assert_int_equal(crdt_gc(c, peers, 2), 1);
    assert_null(crdt_get(c, "a", CRDT_INSTANCE, "k"));
    assert_int_equal(crdt_count(c), 0);
    crdt_digest_release(&d1);
    crdt_digest_release(&d2);
    crdt_digest_release(&d3);
    crdt_free(c);
}

static void test_collected_tombstone_is_not_resurrected_by_a_late_copy(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec live = rec("a", CRDT_INSTANCE, "k", 1, 0, 1, "v");
    struct crdt_rec dead = rec("a", CRDT_INSTANCE, "k", 2, 1, 2, NULL);
    struct crdt_digest d;
    const struct crdt_digest *peers[1] = {&d};

    digest_of(&d, "a", 2);
    crdt_merge(c, &dead, NULL, NULL);
    /* not covered by ourselves yet (version 1 never arrived): kept */
    assert_int_equal(crdt_gc(c, peers, 1), 0);
    crdt_cover(c, "a", 2);
    assert_int_equal(crdt_gc(c, peers, 1), 1);
    assert_int_equal(crdt_merge(c, &live, NULL, NULL), 0);
    assert_null(crdt_get(c, "a", CRDT_INSTANCE, "k"));
    crdt_digest_release(&d);
    crdt_free(c);
}

/* ---- multi-writer registers ---- */

static void test_lww_takes_highest_stamp_then_origin(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec a = rec("a", CRDT_KV, "cfg", 1, 0, 100, "A");
    struct crdt_rec b = rec("b", CRDT_KV, "cfg", 1, 0, 90, "B");
    struct crdt_rec z = rec("z", CRDT_KV, "cfg", 1, 0, 100, "Z");

    assert_null(crdt_lww(c, CRDT_KV, "cfg"));
    crdt_merge(c, &b, NULL, NULL);
    crdt_merge(c, &a, NULL, NULL);
    assert_string_equal(crdt_lww(c, CRDT_KV, "cfg")->origin, "a");
    crdt_merge(c, &z, NULL, NULL);
    assert_string_equal(crdt_lww(c, CRDT_KV, "cfg")->origin, "z");
    crdt_free(c);
}

static void test_lww_delete_hides_older_writes_and_is_kept_while_they_live(void **state)
{
    struct crdt *a = crdt_new("a"), *b = crdt_new("b"), *x = crdt_new("x");
    const struct crdt_rec *out;
    struct crdt_digest d;
    const struct crdt_digest *peers[1] = {&d};

    crdt_put(a, CRDT_KV, "cfg", "A", 1, 100, NULL, NULL);
    join(b, a);
    assert_int_equal(crdt_del(b, CRDT_KV, "cfg", 200, &out, NULL), 1);
    join(x, a);
    join(x, b);
    assert_true(crdt_lww(x, CRDT_KV, "cfg")->deleted);
    /* everyone covers everything, but a's write still lives: keep b's tombstone */
    crdt_digest(x, &d);
    assert_int_equal(crdt_gc(x, peers, 1), 0);
    /* a learns it lost: its own write turns into a tombstone */
    join(a, b);
    assert_true(crdt_get(a, "a", CRDT_KV, "cfg")->deleted);
    assert_int_equal(crdt_get(a, "a", CRDT_KV, "cfg")->hlc, 100);
    join(x, a);
    crdt_digest_release(&d);
    crdt_digest(x, &d);
    assert_int_equal(crdt_gc(x, peers, 1), 2);
    assert_null(crdt_lww(x, CRDT_KV, "cfg"));
    crdt_digest_release(&d);
    crdt_free(a), crdt_free(b), crdt_free(x);
}

static int count_cb(void *ud, const struct crdt_rec *r)
{
    (*(int *)ud)++;
    return 0;
}

static void test_scan_by_prefix_in_key_order(void **state)
{
    struct crdt *c = crdt_new("a");
    struct hrec got[8];
    struct collect col = {got, 0};
    int n = 0;

    crdt_put(c, CRDT_KV, "app/b", "1", 1, 1, NULL, NULL);
    crdt_put(c, CRDT_KV, "app/a", "1", 1, 2, NULL, NULL);
    crdt_put(c, CRDT_KV, "other", "1", 1, 3, NULL, NULL);
    crdt_put(c, CRDT_KV, "app/c", "1", 1, 4, NULL, NULL);
    crdt_del(c, CRDT_KV, "app/c", 5, NULL, NULL);
    crdt_scan(c, CRDT_KV, "app/", 0, collect_cb, &col);
    assert_int_equal(col.n, 2);
    assert_string_equal(got[0].key, "app/a");
    assert_string_equal(got[1].key, "app/b");
    crdt_scan(c, CRDT_KV, "app/", 1, count_cb, &n);
    assert_int_equal(n, 3);
    n = 0;
    crdt_scan(c, CRDT_INSTANCE, NULL, 1, count_cb, &n);
    assert_int_equal(n, 0);
    crdt_free(c);
}

/* ---- restarts ---- */

static void test_restarted_origin_that_lost_its_state_reasserts(void **state)
{
    struct crdt *old = crdt_new("a"), *x = crdt_new("x"), *a = crdt_new("a");
    struct crdt_digest d;

    crdt_put(old, CRDT_INSTANCE, "k1", "1", 1, 1, NULL, NULL);
    crdt_put(old, CRDT_INSTANCE, "k2", "2", 1, 2, NULL, NULL);
    crdt_del(old, CRDT_INSTANCE, "k2", 3, NULL, NULL);
    join(x, old);
    /* a restarts with nothing and registers k3 at version 1 */
    crdt_put(a, CRDT_INSTANCE, "k3", "3", 1, 4, NULL, NULL);
    /* x ignores it: it covers a up to 3 already */
    join(x, a);
    assert_null(crdt_get(x, "a", CRDT_INSTANCE, "k3"));
    /* a hears of its old records through a sync */
    crdt_digest(a, &d);
    crdt_delta(x, &d, merge_cb, a);
    crdt_digest_release(&d);
    assert_true(crdt_self_version(a) > 3);
    assert_true(crdt_get(a, "a", CRDT_INSTANCE, "k1")->deleted);
    assert_true(crdt_get(a, "a", CRDT_INSTANCE, "k2")->deleted);
    assert_false(crdt_get(a, "a", CRDT_INSTANCE, "k3")->deleted);
    /* and x, synced from a, now sees exactly what a holds */
    crdt_digest(x, &d);
    crdt_delta(a, &d, merge_cb, x);
    crdt_digest_release(&d);
    assert_true(crdt_get(x, "a", CRDT_INSTANCE, "k1")->deleted);
    assert_false(crdt_get(x, "a", CRDT_INSTANCE, "k3")->deleted);
    assert_int_equal(crdt_get(x, "a", CRDT_INSTANCE, "k3")->version,
                     crdt_get(a, "a", CRDT_INSTANCE, "k3")->version);
    crdt_free(old), crdt_free(x), crdt_free(a);
}

static void test_load_restores_own_records_and_counter(void **state)
{
    struct crdt *c = crdt_new("a");
    struct crdt_rec mine = rec("a", CRDT_INSTANCE, "k", 7, 0, 1, "v");
    struct crdt_rec theirs = rec("b", CRDT_INSTANCE, "k", 3, 0, 1, "v");
    const struct crdt_rec *r;

    assert_int_equal(crdt_load(c, &mine, NULL), 1);
    assert_int_equal(crdt_load(c, &theirs, NULL), 1);
    assert_int_equal(crdt_self_version(c), 7);
    crdt_put(c, CRDT_INSTANCE, "k2", "v", 1, 2, &r, NULL);
    assert_int_equal(r->version, 8);
    assert_int_equal(crdt_count(c), 3);
    crdt_free(c);
}

static void test_drop_origin_removes_its_records(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec r1 = rec("a", CRDT_INSTANCE, "k1", 1, 0, 1, "v");
    struct crdt_rec r2 = rec("a", CRDT_CHECK, "c1", 2, 0, 1, "v");
    struct crdt_rec r3 = rec("b", CRDT_INSTANCE, "k1", 1, 0, 1, "v");

    crdt_merge(c, &r1, NULL, NULL);
    crdt_merge(c, &r2, NULL, NULL);
    crdt_merge(c, &r3, NULL, NULL);
    assert_int_equal(crdt_drop_origin(c, "a"), 2);
    assert_int_equal(crdt_count(c), 1);
    assert_null(crdt_get(c, "a", CRDT_INSTANCE, "k1"));
    assert_non_null(crdt_get(c, "b", CRDT_INSTANCE, "k1"));
    assert_int_equal(crdt_covered(c, "a"), 0);
    crdt_free(c);
}

static void test_many_records_survive_table_growth_and_removal(void **state)
{
    struct crdt *c = crdt_new("a");
    char key[32];

    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        crdt_put(c, CRDT_INSTANCE, key, &i, sizeof(i), (uint64_t)i, NULL, NULL);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        crdt_del(c, CRDT_INSTANCE, key, 9000, NULL, NULL);
    }
    asked_peers(c);
    assert_int_equal(crdt_gc(c, NULL, 0), 2500);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        const struct crdt_rec *r = crdt_get(c, "a", CRDT_INSTANCE, key);
        if (i % 2)
            assert_memory_equal(r->val, &i, sizeof(i));
        else
            assert_null(r);
    }
    crdt_free(c);
}

/* ---- census: what was deleted and collected while a member was away ---- */

static void test_census_drops_what_the_peer_no_longer_holds_of_every_kind(void **state)
{
    struct crdt *peer = crdt_new("p"), *away = crdt_new("x");
    uint64_t covered, *h;
    size_t n;

    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++) {
        struct crdt_rec gone = rec("a", k, "gone", 2u * k - 1, 0, 1, "v");
        struct crdt_rec kept = rec("a", k, "kept", 2u * k, 0, 1, "v");
        assert_int_equal(crdt_merge(away, &gone, NULL, NULL), 1);
        assert_int_equal(crdt_merge(away, &kept, NULL, NULL), 1);
        assert_int_equal(crdt_merge(peer, &kept, NULL, NULL), 1);
    }
    crdt_cover(peer, "a", 2 * CRDT_KIND_MAX + 1); /* the deletes were collected */
    n = crdt_census(peer, "a", &covered, &h);
    assert_int_equal(n, CRDT_KIND_MAX);
    assert_int_equal(covered, 2 * CRDT_KIND_MAX + 1);
    assert_int_equal(crdt_census_apply(away, "a", covered, h, n), CRDT_KIND_MAX);
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++) {
        assert_null(crdt_get(away, "a", k, "gone"));
        assert_non_null(crdt_get(away, "a", k, "kept"));
    }
    /* again: nothing more goes */
    assert_int_equal(crdt_census_apply(away, "a", covered, h, n), 0);
    free(h);
    crdt_free(peer);
    crdt_free(away);
}

static void test_census_keeps_records_newer_than_its_coverage_and_our_own(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec newer = rec("a", CRDT_INSTANCE, "new", 7, 0, 1, "v");
    uint64_t none = 0;

    crdt_put(c, CRDT_INSTANCE, "mine", "v", 1, 1, NULL, NULL);
    crdt_merge(c, &newer, NULL, NULL);
    /* the peer covers a up to 6 only: version 7 is news it has not seen */
    assert_int_equal(crdt_census_apply(c, "a", 6, &none, 0), 0);
    assert_non_null(crdt_get(c, "a", CRDT_INSTANCE, "new"));
    /* our own records are ours to say */
    assert_int_equal(crdt_census_apply(c, "x", 100, &none, 0), 0);
    assert_non_null(crdt_get(c, "x", CRDT_INSTANCE, "mine"));
    crdt_free(c);
}

static void test_census_keeps_a_multi_writer_delete_that_hides_an_older_write(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec w = rec("a", CRDT_KV, "cfg", 1, 0, 100, "A");
    struct crdt_rec d = rec("b", CRDT_KV, "cfg", 1, 1, 200, NULL);
    uint64_t none = 0;

    crdt_merge(c, &w, NULL, NULL);
    crdt_merge(c, &d, NULL, NULL);
    assert_int_equal(crdt_census_apply(c, "b", 5, &none, 0), 0);
    assert_true(crdt_lww(c, CRDT_KV, "cfg")->deleted);
    crdt_free(c);
}

static void test_own_tombstones_wait_until_peers_were_asked_for_ours(void **state)
{
    struct crdt *c = crdt_new("a");

    crdt_put(c, CRDT_INSTANCE, "k", "v", 1, 1, NULL, NULL);
    crdt_del(c, CRDT_INSTANCE, "k", 2, NULL, NULL);
    /* a restart from older state may have given version 2 again: peers
     * covering it may hold another record under it, and only this
     * tombstone, stamped again once they tell us, deletes k for them */
    assert_int_equal(crdt_gc(c, NULL, 0), 0);
    asked_peers(c);
    assert_int_equal(crdt_gc(c, NULL, 0), 1);
    crdt_free(c);
}

static void test_a_version_given_again_replaces_an_older_one_of_its_key(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec old = rec("a", CRDT_INSTANCE, "k", 1, 0, 1, "old");
    struct crdt_rec other = rec("a", CRDT_INSTANCE, "j", 2, 0, 2, "v");
    struct crdt_rec again = rec("a", CRDT_INSTANCE, "k", 2, 0, 3, "new");

    crdt_merge(c, &old, NULL, NULL);
    crdt_merge(c, &other, NULL, NULL);
    assert_int_equal(crdt_covered(c, "a"), 2);
    /* a restarted `a` gave version 2 again, to k: newer than what we hold */
    assert_int_equal(crdt_merge(c, &again, NULL, NULL), 1);
    assert_memory_equal(crdt_get(c, "a", CRDT_INSTANCE, "k")->val, "new", 3);
    crdt_free(c);
}

static void test_census_is_wanted_only_when_versions_in_between_may_be_gone(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec v1 = rec("a", CRDT_INSTANCE, "k", 1, 0, 1, "v");
    struct crdt_rec v2 = rec("a", CRDT_INSTANCE, "k", 2, 1, 2, NULL);
    struct crdt_digest d;
    const struct crdt_digest *peers[1] = {&d};

    crdt_merge(c, &v1, NULL, NULL);
    crdt_merge(c, &v2, NULL, NULL);
    /* every version arrived and nothing was collected: a delta says it all */
    assert_false(crdt_census_wanted(c, "a", 0));
    digest_of(&d, "a", 2);
    assert_int_equal(crdt_gc(c, peers, 1), 1);
    assert_true(crdt_census_wanted(c, "a", 1));
    assert_false(crdt_census_wanted(c, "a", 2)); /* it covers as much as we do */
    assert_false(crdt_census_wanted(c, "unknown", 0));
    /* coverage taken from a peer: what it collected in between is unknown */
    crdt_cover(c, "b", 9);
    assert_true(crdt_census_wanted(c, "b", 3));
    crdt_digest_release(&d);
    crdt_free(c);
}

/* ---- boots: versions above any an old data dir gave ---- */

static int save_cb(void *ud, const struct crdt_rec *r)
{
    struct history *h = ud;
    if (h->n < HIST_MAX)
        hrec_set(&h->rec[h->n++], r);
    return 0;
}

/* The records of c's own origin as its store holds them, copied out: a
 * data dir, or a backup of one. */
static size_t save_own(const struct crdt *c, struct hrec *out, size_t max)
{
    static struct history h;
    h.n = 0;
    crdt_scan_origin(c, crdt_self(c), save_cb, &h);
    for (size_t i = 0; i < h.n && i < max; i++)
        hrec_set(&out[i], &h.rec[i].r);
    return h.n < max ? h.n : max;
}

static void test_boot_versions_are_above_those_an_old_data_dir_gave(void **state)
{
    struct crdt *a = crdt_new("a"), *peer = crdt_new("p");
    const struct crdt_rec *w;
    struct hrec dir[4];
    size_t n;
    uint64_t last;

    crdt_boot(a, 100);
    crdt_put(a, CRDT_INSTANCE, "i1", "v", 1, 1, &w, NULL);
    assert_int_equal(w->version, (100ull << CRDT_EPOCH_SHIFT) + 1);
    crdt_merge(peer, w, NULL, NULL);
    n = save_own(a, dir, 4); /* the backup */
    crdt_put(a, CRDT_INSTANCE, "i2", "v", 1, 2, &w, NULL);
    crdt_merge(peer, w, NULL, NULL);
    last = w->version;
    crdt_free(a);

    /* restored from the backup, later: the counter alone would give i2's
     * version again, to another record, and the peer would ignore it */
    a = crdt_new("a");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(crdt_load(a, &dir[i].r, NULL), 1);
    crdt_boot(a, 160);
    crdt_put(a, CRDT_INSTANCE, "i3", "v", 1, 3, &w, NULL);
    assert_true(w->version > last);
    assert_int_equal(w->version, (160ull << CRDT_EPOCH_SHIFT) + 1);
    assert_int_equal(crdt_merge(peer, w, NULL, NULL), 1);
    assert_non_null(crdt_get(peer, "a", CRDT_INSTANCE, "i3"));
    crdt_free(a);

    /* a clock set back: the epoch after the one read back */
    a = crdt_new("a");
    for (size_t i = 0; i < n; i++)
        crdt_load(a, &dir[i].r, NULL);
    crdt_boot(a, 50);
    crdt_put(a, CRDT_INSTANCE, "i4", "v", 1, 4, &w, NULL);
    assert_int_equal(w->version, (101ull << CRDT_EPOCH_SHIFT) + 1);
    crdt_free(a);
    crdt_free(peer);
}

static void test_own_kv_write_from_an_old_data_dir_defers_to_the_peers_newer_one(void **state)
{
    struct crdt *a = crdt_new("a");
    struct crdt_rec old = rec("a", CRDT_KV, "k", 5, 0, 50, "old");
    struct crdt_rec del = rec("a", CRDT_KV, "k", 9, 1, 90, NULL);
    struct crdt_rec inst = rec("a", CRDT_INSTANCE, "i", 6, 0, 60, "run");
    struct crdt_rec inst_del = rec("a", CRDT_INSTANCE, "i", 10, 1, 100, NULL);
    const struct crdt_rec *got;

    assert_int_equal(crdt_load(a, &old, NULL), 1);
    assert_int_equal(crdt_load(a, &inst, NULL), 1);
    crdt_boot(a, 7);
    /* a peer holds our delete of k, made after the backup: it is the key's
     * truth, taken with its stamp (the old write does not return) and
     * written again under a new version, above the coverage of us that
     * peers took from our digest before we knew of it */
    assert_int_equal(crdt_merge(a, &del, NULL, NULL), 1);
    got = crdt_get(a, "a", CRDT_KV, "k");
    assert_true(got->deleted);
    assert_int_equal(got->hlc, 90);
    assert_int_equal(got->version, (7ull << CRDT_EPOCH_SHIFT) + 1);
    assert_int_equal(crdt_self_version(a), (7ull << CRDT_EPOCH_SHIFT) + 1);
    /* a one-writer record is ours to say: what we hold is said again */
    assert_int_equal(crdt_merge(a, &inst_del, NULL, NULL), 1);
    got = crdt_get(a, "a", CRDT_INSTANCE, "i");
    assert_false(got->deleted);
    assert_true(got->version > (7ull << CRDT_EPOCH_SHIFT));
    crdt_free(a);
}

static void test_census_drops_own_kv_write_read_back_from_disk_only(void **state)
{
    struct crdt *a = crdt_new("a");
    struct crdt_rec old = rec("a", CRDT_KV, "k", 5, 0, 50, "old");
    struct crdt_rec inst = rec("a", CRDT_INSTANCE, "i", 6, 0, 60, "run");
    uint64_t none = 0;

    crdt_load(a, &old, NULL);
    crdt_load(a, &inst, NULL);
    /* before the boot, our own records are ours to say */
    assert_int_equal(crdt_census_apply(a, "a", 9, &none, 0), 0);
    crdt_boot(a, 7);
    crdt_put(a, CRDT_KV, "new", "v", 1, 70, NULL, NULL);
    /* a peer covers our versions to 9 and holds no k: the write was deleted
     * since and the delete collected. The instance and this boot's write
     * stay (we are their writer; the peer has not seen the latter) */
    assert_int_equal(crdt_census_apply(a, "a", UINT64_MAX, &none, 0), 1);
    assert_null(crdt_get(a, "a", CRDT_KV, "k"));
    assert_non_null(crdt_get(a, "a", CRDT_INSTANCE, "i"));
    assert_non_null(crdt_get(a, "a", CRDT_KV, "new"));
    crdt_free(a);
}

/* A write of ours from a previous start that our data dir lacks, held by
 * a peer: written again with its old stamp it could come back over a
 * later delete whose tombstone was collected where no copy of the write
 * was held. It is withdrawn: a tombstone under a new version with the
 * stamp of what the data dir held, so it hides nothing newer. */
static void test_own_kv_write_of_a_previous_start_is_withdrawn(void **state)
{
    struct crdt *a = crdt_new("a");
    struct crdt_rec old = rec("a", CRDT_KV, "k", 5, 0, 50, "old");
    struct crdt_rec lost = rec("a", CRDT_KV, "k", 9, 0, 90, "lost");
    struct crdt_rec lost2 = rec("a", CRDT_SPEC, "s", 8, 0, 80, "lost");
    struct crdt_rec other = rec("b", CRDT_KV, "k", 3, 0, 60, "b");
    const struct crdt_rec *got;

    assert_int_equal(crdt_load(a, &old, NULL), 1);
    crdt_boot(a, 7);
    assert_int_equal(crdt_merge(a, &lost, NULL, NULL), 1);
    got = crdt_get(a, "a", CRDT_KV, "k");
    assert_true(got->deleted);
    assert_int_equal(got->hlc, 50);
    assert_true(got->version > (7ull << CRDT_EPOCH_SHIFT));
    /* b's write (60), older than the withdrawn one but newer than what
     * our data dir held, reads */
    assert_int_equal(crdt_merge(a, &other, NULL, NULL), 1);
    assert_string_equal(crdt_lww(a, CRDT_KV, "k")->origin, "b");
    /* nothing held under the key: the tombstone hides nothing at all */
    assert_int_equal(crdt_merge(a, &lost2, NULL, NULL), 1);
    got = crdt_get(a, "a", CRDT_SPEC, "s");
    assert_true(got->deleted);
    assert_int_equal(got->hlc, 0);
    crdt_free(a);
}

/* Restored with none of its own records, an agent may have given and
 * seen collected any version below its new epoch: a peer that covers
 * less of it than that gets its census (once peers were asked). */
static void test_boot_without_own_records_sends_census_of_itself(void **state)
{
    struct crdt *a = crdt_new("a");

    crdt_boot(a, 7);
    for (int i = 0; i < CRDT_SELF_ASKS; i++)
        crdt_cover(a, "a", 0);
    assert_true(crdt_census_wanted(a, "a", 5));
    assert_false(crdt_census_wanted(a, "a", 7ull << CRDT_EPOCH_SHIFT));
    crdt_free(a);
}

/* ---- adoption: a reaped member's multi-writer records ---- */

static void test_adoption_keeps_a_reaped_members_winning_writes_and_deletes(void **state)
{
    struct crdt *c = crdt_new("x");
    struct crdt_rec b_old = rec("b", CRDT_KV, "deleted", 1, 0, 10, "old");
    struct crdt_rec m_del = rec("m", CRDT_KV, "deleted", 1, 1, 20, NULL);
    struct crdt_rec m_put = rec("m", CRDT_KV, "written", 2, 0, 30, "m");
    struct crdt_rec m_lone = rec("m", CRDT_KV, "lone", 3, 1, 40, NULL);
    struct crdt_rec m_lost = rec("m", CRDT_KV, "lost", 4, 0, 50, "m");
    struct crdt_rec b_new = rec("b", CRDT_KV, "lost", 2, 0, 60, "b");
    struct crdt_rec m_inst = rec("m", CRDT_INSTANCE, "i", 5, 0, 70, "run");
    const struct crdt_rec *r;

    crdt_merge(c, &b_old, NULL, NULL);
    crdt_merge(c, &m_del, NULL, NULL);
    crdt_merge(c, &m_put, NULL, NULL);
    crdt_merge(c, &m_lone, NULL, NULL);
    crdt_merge(c, &m_lost, NULL, NULL);
    crdt_merge(c, &b_new, NULL, NULL);
    crdt_merge(c, &m_inst, NULL, NULL);
    /* its delete that hides b's write and its winning write are taken; a
     * delete hiding nothing, a write that loses, and one-writer records not */
    assert_int_equal(crdt_adopt_origin(c, "m", CRDT_KV, 100), 2);
    crdt_drop_origin(c, "m");
    r = crdt_lww(c, CRDT_KV, "deleted");
    assert_true(r->deleted);
    assert_int_equal(r->hlc, 20);
    assert_string_equal(r->origin, "x");
    r = crdt_lww(c, CRDT_KV, "written");
    assert_false(r->deleted);
    assert_int_equal(r->hlc, 30);
    assert_memory_equal(r->val, "m", 1);
    assert_null(crdt_get(c, "x", CRDT_KV, "lone"));
    assert_string_equal(crdt_lww(c, CRDT_KV, "lost")->origin, "b");
    assert_null(crdt_get(c, "x", CRDT_INSTANCE, "i"));
    crdt_free(c);
    /* bounded: at most max records */
    c = crdt_new("x");
    crdt_merge(c, &b_old, NULL, NULL);
    crdt_merge(c, &m_del, NULL, NULL);
    crdt_merge(c, &m_put, NULL, NULL);
    assert_int_equal(crdt_adopt_origin(c, "m", CRDT_KV, 1), 1);
    crdt_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_gives_new_versions_and_same_value_is_no_change),
        cmocka_unit_test(test_del_writes_a_tombstone_once),
        cmocka_unit_test(test_bad_kind_key_or_size_is_refused_with_a_message),
        cmocka_unit_test(test_merge_keeps_the_higher_version),
        cmocka_unit_test(test_coverage_waits_for_the_gap_to_fill),
        cmocka_unit_test(test_merge_is_associative_commutative_idempotent),
        cmocka_unit_test(test_any_delivery_order_of_deltas_gives_the_same_state),
        cmocka_unit_test(test_delta_is_exactly_what_the_peer_lacks),
        cmocka_unit_test(test_digest_is_sorted_and_counts_coverage),
        cmocka_unit_test(test_tombstone_collected_only_when_every_digest_covers_it),
        cmocka_unit_test(test_collected_tombstone_is_not_resurrected_by_a_late_copy),
        cmocka_unit_test(test_lww_takes_highest_stamp_then_origin),
        cmocka_unit_test(test_lww_delete_hides_older_writes_and_is_kept_while_they_live),
        cmocka_unit_test(test_scan_by_prefix_in_key_order),
        cmocka_unit_test(test_restarted_origin_that_lost_its_state_reasserts),
        cmocka_unit_test(test_load_restores_own_records_and_counter),
        cmocka_unit_test(test_drop_origin_removes_its_records),
        cmocka_unit_test(test_many_records_survive_table_growth_and_removal),
        cmocka_unit_test(test_census_drops_what_the_peer_no_longer_holds_of_every_kind),
        cmocka_unit_test(test_census_keeps_records_newer_than_its_coverage_and_our_own),
        cmocka_unit_test(test_census_keeps_a_multi_writer_delete_that_hides_an_older_write),
        cmocka_unit_test(test_census_is_wanted_only_when_versions_in_between_may_be_gone),
        cmocka_unit_test(test_own_tombstones_wait_until_peers_were_asked_for_ours),
        cmocka_unit_test(test_a_version_given_again_replaces_an_older_one_of_its_key),
        cmocka_unit_test(test_boot_versions_are_above_those_an_old_data_dir_gave),
        cmocka_unit_test(test_own_kv_write_from_an_old_data_dir_defers_to_the_peers_newer_one),
        cmocka_unit_test(test_census_drops_own_kv_write_read_back_from_disk_only),
        cmocka_unit_test(test_own_kv_write_of_a_previous_start_is_withdrawn),
        cmocka_unit_test(test_boot_without_own_records_sends_census_of_itself),
        cmocka_unit_test(test_adoption_keeps_a_reaped_members_winning_writes_and_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
