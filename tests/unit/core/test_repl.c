/* Tests of core/repl: a small in-test network of repl + crdt nodes.
 * Broadcasts reach every node that is not cut off (gossip is modelled as
 * reliable flooding; loss is the simulator's business), streams run at
 * once with their reply. Time is explicit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/crdt_codec.h"
#include "core/mem.h"
#include "core/repl.h"

#define N 5

struct net {
    struct crdt *c[N];
    struct repl *r[N];
    int cut[N][N];
    int down[N];
    uint64_t now;
    uint64_t bcasts, streams, stream_bytes;
};

static void name_of(int i, char *buf)
{
    snprintf(buf, 8, "n%d", i);
}

static int index_of(const char *name)
{
    return atoi(name + 1);
}

static void node_start(struct net *n, int i)
{
    char name[8];
    name_of(i, name);
    n->c[i] = crdt_new(name);
    n->r[i] = repl_new(n->c[i], NULL);
}

static void node_stop(struct net *n, int i)
{
    repl_free(n->r[i]);
    crdt_free(n->c[i]);
}

static void net_init(struct net *n)
{
    memset(n, 0, sizeof(*n));
    n->now = 1000000;
    for (int i = 0; i < N; i++)
        node_start(n, i);
}

static void net_free(struct net *n)
{
    for (int i = 0; i < N; i++)
        node_stop(n, i);
}

static int blocked(const struct net *n, int a, int b)
{
    return a == b || n->down[a] || n->down[b] || n->cut[a][b];
}

/* Delivers outputs until every node is quiet. */
static void pump(struct net *n)
{
    int busy = 1;

    while (busy) {
        busy = 0;
        for (int i = 0; i < N; i++) {
            struct repl_out o;
            char me[8];
            name_of(i, me);
            while (repl_poll_out(n->r[i], &o)) {
                busy = 1;
                if (o.kind == REPL_OUT_BROADCAST) {
                    n->bcasts++;
                    for (int j = 0; j < N; j++) {
                        if (!blocked(n, i, j))
                            assert_int_equal(
                                repl_recv_broadcast(n->r[j], n->now, NULL, o.data, o.len, NULL), 0);
                    }
                } else {
                    int to = index_of(o.to);
                    uint8_t *reply = NULL;
                    size_t rl = 0;
                    n->streams++;
                    n->stream_bytes += o.len;
                    assert_true(repl_is_stream(o.data, o.len));
                    if (!blocked(n, i, to)) {
                        assert_int_equal(repl_recv_stream(n->r[to], n->now, me, o.data, o.len,
                                                          &reply, &rl, NULL),
                                         0);
                        if (reply) {
                            n->stream_bytes += rl;
                            assert_int_equal(repl_recv_stream(n->r[i], n->now, o.to, reply, rl,
                                                              NULL, NULL, NULL),
                                             0);
                            free(reply);
                        }
                    }
                }
                free(o.data);
            }
        }
        n->now += 10;
    }
}

/* Every node syncs with every other it can reach, `rounds` times. */
static void sync_all(struct net *n, int rounds)
{
    for (int k = 0; k < rounds; k++) {
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                char peer[8];
                if (blocked(n, i, j))
                    continue;
                name_of(j, peer);
                repl_sync(n->r[i], peer);
                pump(n);
            }
        }
    }
}

static int dump_cb(void *ud, const struct crdt_rec *r)
{
    char **s = ud;
    char line[256];
    snprintf(line, sizeof(line), "%s|%u|%s|%llu|%u|%u\n", r->origin, r->kind, r->key,
             (unsigned long long)r->version, r->deleted, r->len);
    size_t a = strlen(*s), b = strlen(line);
    *s = xrealloc(*s, a + b + 1);
    memcpy(*s + a, line, b + 1);
    return 0;
}

static char *dump(const struct crdt *c)
{
    char *s = xstrdup("");
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(c, k, NULL, 1, dump_cb, &s);
    return s;
}

static void assert_converged(struct net *n)
{
    char *ref = dump(n->c[0]);
    for (int i = 1; i < N; i++) {
        char *s = dump(n->c[i]);
        assert_string_equal(s, ref);
        free(s);
    }
    free(ref);
}

static void put(struct net *n, int i, uint8_t kind, const char *key, const char *val)
{
    assert_int_equal(repl_put(n->r[i], n->now, kind, key, val, (uint32_t)strlen(val), NULL), 1);
}

static void test_broadcasts_converge_and_each_record_is_relayed_once(void **state)
{
    struct net n;
    char key[16];

    net_init(&n);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 3; k++) {
            snprintf(key, sizeof(key), "svc-%d-%d", i, k);
            put(&n, i, CRDT_INSTANCE, key, "value");
        }
    }
    pump(&n);
    for (int i = 0; i < N; i++)
        assert_int_equal(crdt_count(n.c[i]), N * 3);
    assert_converged(&n);
    /* the writer and each node it was new to send each record once: N
     * sends per record, packed: a node's records of a moment share a payload */
    uint64_t recs = 0, payloads = 0;
    for (int i = 0; i < N; i++) {
        recs += repl_stats(n.r[i])->broadcasts_out;
        payloads += repl_stats(n.r[i])->payloads_out;
    }
    assert_int_equal(recs, (uint64_t)N * 3 * N);
    assert_int_equal(payloads, n.bcasts);
    assert_true(payloads < recs / 2);
    assert_int_equal(n.streams, 0);
    assert_int_equal(repl_stats(n.r[1])->records_merged, (N - 1) * 3);
    net_free(&n);
}

static void test_partition_heals_through_sync(void **state)
{
    struct net n;

    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "before", "x");
    pump(&n);
    for (int a = 0; a < N; a++) {
        for (int b = 0; b < N; b++)
            n.cut[a][b] = (a < 2) != (b < 2);
    }
    put(&n, 0, CRDT_INSTANCE, "left", "x");
    put(&n, 3, CRDT_INSTANCE, "right", "x");
    assert_int_equal(repl_del(n.r[4], n.now, CRDT_INSTANCE, "nothing", NULL), 0);
    put(&n, 4, CRDT_KV, "cfg", "R");
    pump(&n);
    assert_null(crdt_get(n.c[1], "n3", CRDT_INSTANCE, "right"));
    assert_null(crdt_get(n.c[3], "n0", CRDT_INSTANCE, "left"));
    /* heal: one sync across is enough to carry each side's changes over */
    memset(n.cut, 0, sizeof(n.cut));
    repl_sync(n.r[1], "n2");
    pump(&n);
    assert_converged(&n);
    assert_non_null(crdt_get(n.c[0], "n3", CRDT_INSTANCE, "right"));
    assert_non_null(crdt_get(n.c[4], "n0", CRDT_INSTANCE, "left"));
    assert_true(repl_stats(n.r[1])->sync_records_in >= 2);
    net_free(&n);
}

static void test_lost_broadcast_is_repaired_by_sync_and_only_missing_records_move(void **state)
{
    struct net n;
    char key[16];

    net_init(&n);
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "k%d", k);
        put(&n, 0, CRDT_INSTANCE, key, "v");
    }
    pump(&n);
    n.down[4] = 1;
    put(&n, 0, CRDT_INSTANCE, "missed", "v");
    pump(&n);
    n.down[4] = 0;
    uint64_t out_before = repl_stats(n.r[0])->sync_records_out;
    repl_sync(n.r[4], "n0");
    pump(&n);
    assert_non_null(crdt_get(n.c[4], "n0", CRDT_INSTANCE, "missed"));
    assert_int_equal(repl_stats(n.r[0])->sync_records_out - out_before, 1);
    assert_converged(&n);
    net_free(&n);
}

static void test_big_record_goes_by_notice_and_sync(void **state)
{
    struct net n;
    uint32_t len = 100 * 1024;
    uint8_t *big = xmalloc(len);

    memset(big, 'b', len);
    net_init(&n);
    assert_int_equal(repl_put(n.r[2], n.now, CRDT_KV, "blob", big, len, NULL), 1);
    pump(&n);
    for (int i = 0; i < N; i++) {
        const struct crdt_rec *r = crdt_lww(n.c[i], CRDT_KV, "blob");
        assert_non_null(r);
        assert_int_equal(r->len, len);
    }
    assert_true(repl_stats(n.r[2])->notices >= 1);
    assert_true(n.streams >= N - 1);
    assert_converged(&n);
    free(big);
    net_free(&n);
}

/* The members a node counts for collection, as repl_gc takes them. */
struct members {
    char name[N][8];
    size_t n;
};

static const char *members_at(void *ud, size_t i)
{
    return ((const struct members *)ud)->name[i];
}

/* Node i's list: every node (as the agent: none is reaped here), or with
 * up_only the ones that are not down, or with reach_only the ones i reaches
 * (the old rule: only members it serves). */
static struct repl_peers members_of(struct members *m, const struct net *n, int i, int up_only,
                                    int reach_only)
{
    m->n = 0;
    for (int j = 0; j < N; j++) {
        if ((up_only && n->down[j]) || (reach_only && j != i && blocked(n, i, j)))
            continue;
        name_of(j, m->name[m->n++]);
    }
    return (struct repl_peers){m->n, members_at, m};
}

/* repl_gc on node i counting the members that are not down. */
static size_t gc_up(struct net *n, int i)
{
    struct members m;
    struct repl_peers p = members_of(&m, n, i, 1, 0);
    return repl_gc(n->r[i], &p);
}

static void test_tombstone_collected_once_every_live_member_has_it(void **state)
{
    struct net n;

    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "gone", "v");
    for (int i = 1; i < N; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(&n, i, CRDT_INSTANCE, key, "v"); /* every node is an origin */
    }
    pump(&n);
    assert_int_equal(repl_del(n.r[0], n.now, CRDT_INSTANCE, "gone", NULL), 1);
    pump(&n);
    /* no digests yet: nothing may go */
    assert_int_equal(gc_up(&n, 0), 0);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(gc_up(&n, i), 1);
        assert_null(crdt_get(n.c[i], "n0", CRDT_INSTANCE, "gone"));
        assert_int_equal(repl_stats(n.r[i])->gc_collected, 1);
    }
    /* a late copy of the old live record does not come back */
    assert_int_equal(repl_put(n.r[0], n.now, CRDT_INSTANCE, "after", "v", 1, NULL), 1);
    pump(&n);
    assert_converged(&n);
    net_free(&n);
}

static void test_member_without_digest_blocks_collection(void **state)
{
    struct net n;

    net_init(&n);
    for (int i = 0; i < N; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(&n, i, CRDT_INSTANCE, key, "v");
    }
    pump(&n);
    repl_del(n.r[0], n.now, CRDT_INSTANCE, "k0", NULL);
    pump(&n);
    /* n0 asks n1 for its own records, as it does after a start */
    for (int k = 0; k < CRDT_SELF_ASKS; k++) {
        repl_sync(n.r[0], "n1");
        pump(&n);
    }
    /* n0 hears digests from n1..n3 only */
    for (int j = 1; j < 4; j++) {
        char peer[8];
        name_of(j, peer);
        for (int k = 0; k < CRDT_SELF_ASKS + 1; k++) {
            repl_sync(n.r[j], "n0");
            pump(&n);
        }
    }
    assert_int_equal(gc_up(&n, 0), 0);
    /* down, n4 is not listed (as by a membership not whole yet after a
     * start), but we hold its records: it counts until it is reaped */
    n.down[4] = 1;
    assert_int_equal(gc_up(&n, 0), 0);
    repl_forget(n.r[0], "n4");
    assert_int_equal(gc_up(&n, 0), 1);
    net_free(&n);
}

/* A member cut off since it joined holds a write nobody has seen: while
 * it is listed it blocks collection, though nobody holds a record of it,
 * so the later delete of the key reaches it and its write does not come
 * back. */
static void test_member_never_heard_from_blocks_collection(void **state)
{
    struct net n;

    (void)state;
    net_init(&n);
    for (int j = 0; j < N; j++) /* n4 is alone from the start */
        n.cut[4][j] = n.cut[j][4] = 1;
    put(&n, 4, CRDT_KV, "k", "early");
    pump(&n);
    n.now += 1000;
    put(&n, 0, CRDT_KV, "k", "later");
    pump(&n);
    n.now += 1000;
    assert_int_equal(repl_del(n.r[1], n.now, CRDT_KV, "k", NULL), 1);
    pump(&n);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    for (int i = 0; i < N - 1; i++) {
        struct members m;
        struct repl_peers all = members_of(&m, &n, i, 0, 0);
        assert_int_equal(repl_gc(n.r[i], &all), 0);
    }
    memset(n.cut, 0, sizeof(n.cut));
    sync_all(&n, CRDT_SELF_ASKS + 1);
    for (int i = 0; i < N; i++)
        assert_true(crdt_lww(n.c[i], CRDT_KV, "k")->deleted);
    assert_converged(&n);
    net_free(&n);
}

/* Restarted from an empty data dir, n0 has not asked n1 for its records:
 * a delta it sends n1 leaves its own coverage out, or n1 would cover the
 * version of n0's record it holds and never learn it is gone. Once asked,
 * n0 says what it holds (nothing: a tombstone) and n1 covers it. */
static void test_restarted_node_gives_coverage_of_itself_only_once_asked(void **state)
{
    struct net n;
    uint64_t before;

    (void)state;
    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "old", "v");
    pump(&n);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    before = crdt_covered(n.c[1], "n0");
    node_stop(&n, 0);
    node_start(&n, 0);
    crdt_boot(n.c[0], 20);
    for (int j = 2; j < N; j++) { /* it asks everyone but n1 */
        char peer[8];
        name_of(j, peer);
        repl_sync(n.r[0], peer);
        pump(&n);
    }
    put(&n, 0, CRDT_INSTANCE, "new", "v");
    n.cut[0][1] = n.cut[1][0] = 1;
    pump(&n);
    n.cut[0][1] = n.cut[1][0] = 0;
    repl_sync(n.r[1], "n0"); /* n1 starts: n0 answers but was not asked */
    pump(&n);
    assert_non_null(crdt_get(n.c[1], "n0", CRDT_INSTANCE, "new"));
    assert_int_equal(crdt_covered(n.c[1], "n0"), before);
    repl_sync(n.r[0], "n1");
    pump(&n);
    assert_true(crdt_get(n.c[1], "n0", CRDT_INSTANCE, "old")->deleted);
    sync_all(&n, 2);
    assert_true(crdt_covered(n.c[1], "n0") > (20ull << CRDT_EPOCH_SHIFT));
    assert_converged(&n);
    net_free(&n);
}

static void test_restarted_node_reasserts_through_sync(void **state)
{
    struct net n;

    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "old-1", "v");
    put(&n, 0, CRDT_INSTANCE, "old-2", "v");
    pump(&n);
    /* kill -9 with the data dir lost: n0 comes back empty */
    node_stop(&n, 0);
    node_start(&n, 0);
    put(&n, 0, CRDT_INSTANCE, "new", "v");
    pump(&n);
    repl_sync(n.r[0], "n1");
    pump(&n);
    sync_all(&n, 1);
    for (int i = 0; i < N; i++) {
        assert_true(crdt_get(n.c[i], "n0", CRDT_INSTANCE, "old-1")->deleted);
        assert_true(crdt_get(n.c[i], "n0", CRDT_INSTANCE, "old-2")->deleted);
        assert_false(crdt_get(n.c[i], "n0", CRDT_INSTANCE, "new")->deleted);
    }
    assert_converged(&n);
    net_free(&n);
}

static void test_kv_last_writer_wins_everywhere(void **state)
{
    struct net n;

    net_init(&n);
    put(&n, 1, CRDT_KV, "cfg", "first");
    pump(&n);
    n.now += 5;
    put(&n, 3, CRDT_KV, "cfg", "second");
    pump(&n);
    for (int i = 0; i < N; i++) {
        const struct crdt_rec *r = crdt_lww(n.c[i], CRDT_KV, "cfg");
        assert_string_equal(r->origin, "n3");
        assert_memory_equal(r->val, "second", 6);
        assert_true(crdt_get(n.c[i], "n1", CRDT_KV, "cfg")->deleted);
    }
    assert_int_equal(repl_del(n.r[2], n.now, CRDT_KV, "cfg", NULL), 1);
    pump(&n);
    for (int i = 0; i < N; i++)
        assert_true(crdt_lww(n.c[i], CRDT_KV, "cfg")->deleted);
    net_free(&n);
}

static void test_malformed_input_is_counted_and_refused(void **state)
{
    struct net n;
    struct err e;
    uint8_t junk[] = {1, 3, 'a', 'b', 'c', 9};
    uint8_t frame[] = {CODEC_VERSION, MSG_REPL, 7};
    uint8_t *reply = (uint8_t *)&n;
    size_t rl = 9;

    net_init(&n);
    assert_true(repl_recv_broadcast(n.r[0], n.now, NULL, junk, sizeof(junk), &e) < 0);
    assert_true(repl_recv_broadcast(n.r[0], n.now, NULL, junk, 0, &e) < 0);
    assert_int_equal(repl_recv_stream(n.r[0], n.now, "n1", frame, sizeof(frame), &reply, &rl, &e),
                     -EPROTO);
    assert_null(reply);
    assert_non_null(strstr(e.msg, "type"));
    assert_int_equal(repl_stats(n.r[0])->decode_errors, 3);
    assert_int_equal(crdt_count(n.c[0]), 0);
    assert_false(repl_is_stream(junk, sizeof(junk)));
    net_free(&n);
}

static void test_outputs_are_bounded(void **state)
{
    struct crdt *c = crdt_new("solo");
    struct repl_config cfg;
    struct repl *r;
    struct repl_out o;
    char key[16];
    int got = 0;

    char val[400];
    struct repl_msg m;
    int newest = 0;

    memset(val, 'v', sizeof(val));
    repl_config_default(&cfg);
    cfg.out_max = 10;
    r = repl_new(c, &cfg);
    for (int k = 0; k < 25; k++) { /* each too big to share a payload */
        snprintf(key, sizeof(key), "k%d", k);
        repl_put(r, 1000, CRDT_INSTANCE, key, val, sizeof(val), NULL);
    }
    while (repl_poll_out(r, &o)) {
        assert_int_equal(repl_msg_decode_bcast(&m, o.data, o.len, NULL), 0);
        assert_int_equal(m.n_recs, 1);
        newest |= memmem(o.data, o.len, "k24", 3) != NULL;
        repl_msg_release(&m);
        free(o.data);
        got++;
    }
    /* the oldest went: the freshest changes are kept */
    assert_int_equal(repl_stats(r)->dropped, 15);
    assert_int_equal(got, 10);
    assert_true(newest);
    repl_free(r);
    crdt_free(c);
}

/* Every node holds one record of each of n_origins other origins. */
static void many_origins(struct net *n, int n_origins)
{
    for (int k = 0; k < n_origins; k++) {
        char origin[16];
        struct crdt_rec rec = {.kind = CRDT_INSTANCE,
                               .key = "x",
                               .version = 1,
                               .hlc = 1,
                               .val = (const uint8_t *)"v",
                               .len = 1};
        snprintf(origin, sizeof(origin), "o%03d", k);
        rec.origin = origin;
        for (int i = 0; i < N; i++)
            assert_int_equal(crdt_merge(n->c[i], &rec, NULL, NULL), 1);
    }
}

static void test_sync_of_equal_digests_is_two_small_messages(void **state)
{
    struct net n;

    net_init(&n);
    many_origins(&n, 200);
    put(&n, 0, CRDT_INSTANCE, "a", "v");
    pump(&n);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    uint64_t equal = repl_stats(n.r[1])->syncs_equal;
    n.streams = n.stream_bytes = 0;
    repl_sync(n.r[1], "n2");
    pump(&n);
    /* a summary of 16 buckets and an empty answer: no digest, no record */
    assert_int_equal(n.streams, 1);
    assert_true(n.stream_bytes < 200);
    assert_int_equal(repl_stats(n.r[1])->syncs_equal, equal + 1);
    net_free(&n);
}

static void test_sync_sends_only_the_buckets_that_differ(void **state)
{
    struct net n;
    struct crdt_digest d;
    size_t full;

    net_init(&n);
    many_origins(&n, 200);
    pump(&n);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    n.down[4] = 1;
    put(&n, 0, CRDT_INSTANCE, "missed", "v");
    pump(&n);
    n.down[4] = 0;
    crdt_digest(n.c[4], &d);
    full = crdt_codec_digest_size(&d);
    crdt_digest_release(&d);
    n.streams = n.stream_bytes = 0;
    repl_sync(n.r[4], "n1");
    pump(&n);
    assert_non_null(crdt_get(n.c[4], "n0", CRDT_INSTANCE, "missed"));
    /* summary, the differing bucket, the record: well under one full digest */
    assert_int_equal(n.streams, 2);
    assert_true(n.stream_bytes < full / 2);
    assert_converged(&n);
    net_free(&n);
}

static const char *name_at(void *ud, size_t i)
{
    return ((const char **)ud)[i];
}

static void test_one_sync_in_flight_per_peer_and_unanswered_ones_are_given_up(void **state)
{
    struct net n;
    struct repl_out o;
    const char *names[] = {"n1"};
    struct repl_peers p = {1, name_at, names};
    int streams = 0;

    net_init(&n);
    repl_sync(n.r[0], "n1");
    repl_sync(n.r[0], "n1"); /* the first is unanswered: this one waits */
    while (repl_poll_out(n.r[0], &o)) {
        streams += o.kind == REPL_OUT_STREAM;
        free(o.data); /* lost */
    }
    assert_int_equal(streams, 1);
    assert_int_equal(repl_stats(n.r[0])->syncs_busy, 1);
    /* past the timeout the sync is given up and the waiting one goes */
    repl_tick(n.r[0], n.now + 15000, &p);
    assert_int_equal(repl_stats(n.r[0])->sync_timeouts, 1);
    assert_int_equal(repl_stats(n.r[0])->syncs, 2);
    while (repl_poll_out(n.r[0], &o)) {
        assert_string_equal(o.to, "n1");
        free(o.data);
    }
    net_free(&n);
}

/* Runs node i's schedule at its deadline and the exchanges it starts;
 * returns how far ahead it scheduled the next run. */
static uint64_t tick_and_pump(struct net *n, int i, const struct repl_peers *p)
{
    uint64_t t = n->now, next = repl_tick(n->r[i], t, p);

    pump(n);
    if (next > n->now)
        n->now = next;
    return next - t;
}

static void test_syncs_that_find_nothing_return_to_the_slow_period(void **state)
{
    struct net n;
    const char *names[] = {"n1"};
    struct repl_peers p = {1, name_at, names};
    struct repl_config cfg;
    uint64_t ahead[8];

    repl_config_default(&cfg);
    net_init(&n);
    put(&n, 1, CRDT_INSTANCE, "a", "v");
    pump(&n);
    /* a new node syncs fast, until syncs bring nothing */
    for (int k = 0; k < 8; k++)
        ahead[k] = tick_and_pump(&n, 0, &p);
    assert_true(ahead[1] <= cfg.sync_fast_ms * 5 / 4);
    assert_non_null(crdt_get(n.c[0], "n1", CRDT_INSTANCE, "a"));
    assert_true(ahead[7] >= cfg.sync_interval_ms * 3 / 4);
    assert_true(repl_stats(n.r[0])->syncs_equal >= 2);
    assert_int_equal(repl_sync_interval(&cfg, 10), 10000);
    assert_int_equal(repl_sync_interval(&cfg, 500), 15000);
    assert_int_equal(repl_sync_interval(&cfg, 5000), 20000);
    net_free(&n);
}

static void test_gap_in_versions_brings_the_next_sync_forward(void **state)
{
    struct net n;
    const char *names[] = {"n1"};
    struct repl_peers p = {1, name_at, names};
    struct repl_out o;
    size_t len;
    uint8_t *second;
    uint64_t ahead = 0;

    net_init(&n);
    for (int k = 0; k < 8; k++) /* n0 settles into the slow period */
        ahead = tick_and_pump(&n, 0, &p);
    assert_true(ahead > 5000);
    /* n2 writes twice; n0 hears only of the second */
    put(&n, 2, CRDT_INSTANCE, "first", "v");
    put(&n, 2, CRDT_INSTANCE, "second", "v");
    while (repl_poll_out(n.r[2], &o))
        free(o.data);
    second = repl_msg_encode_rec(crdt_get(n.c[2], "n2", CRDT_INSTANCE, "second"), &len, NULL);
    assert_int_equal(repl_recv_broadcast(n.r[0], n.now, NULL, second, len, NULL), 0);
    free(second);
    assert_int_equal(repl_stats(n.r[0])->gaps, 1);
    assert_true(repl_next_due(n.r[0]) <= n.now + 500);
    net_free(&n);
}

static void test_summary_from_an_unknown_sender_is_answered(void **state)
{
    struct net n;
    struct crdt_digest d;
    uint8_t *msg, *reply = NULL;
    size_t len, rl = 0;

    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "a", "v");
    pump(&n);
    crdt_digest(n.c[1], &d);
    msg = repl_msg_encode_summary(&d, 1, &len);
    crdt_digest_release(&d);
    /* the agent could not name the sender: "" */
    assert_int_equal(repl_recv_stream(n.r[0], n.now, "", msg, len, &reply, &rl, NULL), 0);
    assert_non_null(reply);
    assert_true(repl_is_stream(reply, rl));
    free(reply);
    free(msg);
    net_free(&n);
}

/* ---- a property: nothing deleted comes back ----
 * Random runs over the N nodes: writes and deletes of every kind (one
 * writer, or last writer wins for KV, specs, routes and tokens), partitions, nodes that
 * freeze and return, restarts from an old snapshot of the replica, syncs
 * and tombstone collection as each node sees its live peers. After the
 * heal every node must hold the same live records; each origin's records
 * as the origin itself holds them (nothing it deleted is back, nothing it
 * holds is lost); and every multi-writer key must read as its newest
 * write or delete. An operation of a node restarted from a snapshot taken
 * before it may have reached others or not: then the key reads as it, as
 * deleted (its writer re-asserts what it holds: nothing), or as the newest
 * operation that was not lost. */

#define PROP_STEPS 300
#define PROP_KEYS  3
#define PROP_SEEDS 500 /* seeds a plain run (make test) tries: about a second */

struct op {
    int node, step;
    uint8_t kind, deleted;
    uint8_t lost; /* its node restarted from a snapshot taken before it */
    char key[16];
    uint64_t hlc;
};

struct snap {
    size_t n;
    struct crdt_rec *r; /* origin, key and val on the heap */
    int step;
};

struct prop {
    struct net n;
    uint64_t rng;
    struct op *ops; /* multi-writer operations that took effect */
    size_t n_ops;
    struct snap snaps[N];
    char why[256];
};

/* The store's last-writer-wins kinds (core/crdt.h): shared keys, written
 * and deleted by any node, checked as registers. */
static int is_multi_writer(uint8_t kind)
{
    return kind == CRDT_KV || kind == CRDT_SPEC || kind == CRDT_ROUTE || kind == CRDT_TOKEN;
}

static uint64_t prop_rand(struct prop *p, uint64_t n)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return p->rng % n;
}

static void op_log(struct prop *p, int i, int step, uint8_t kind, const char *key)
{
    char me[8];
    const struct crdt_rec *r;
    struct op *o;

    name_of(i, me);
    r = crdt_get(p->n.c[i], me, kind, key);
    p->ops = xrealloc(p->ops, (p->n_ops + 1) * sizeof(*p->ops));
    o = &p->ops[p->n_ops++];
    memset(o, 0, sizeof(*o));
    o->node = i;
    o->step = step;
    o->kind = kind;
    o->deleted = r->deleted;
    o->hlc = r->hlc;
    snprintf(o->key, sizeof(o->key), "%s", key);
}

static int snap_cb(void *ud, const struct crdt_rec *r)
{
    struct snap *s = ud;
    struct crdt_rec *x;

    s->r = xrealloc(s->r, (s->n + 1) * sizeof(*s->r));
    x = &s->r[s->n++];
    *x = *r;
    x->origin = xstrdup(r->origin);
    x->key = xstrdup(r->key);
    x->val = r->len ? xmemdup(r->val, r->len) : NULL;
    return 0;
}

static void snap_release(struct snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free((char *)s->r[i].origin);
        free((char *)s->r[i].key);
        free((uint8_t *)s->r[i].val);
    }
    free(s->r);
    memset(s, 0, sizeof(*s));
}

static void snap_take(struct prop *p, int i, int step)
{
    snap_release(&p->snaps[i]);
    p->snaps[i].step = step;
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(p->n.c[i], k, NULL, 1, snap_cb, &p->snaps[i]);
}

/* The agent restarted from an old data dir: the replica as it was then. */
static void restart_from_snap(struct prop *p, int i, int j_peer)
{
    for (size_t j = 0; j < p->n_ops; j++) /* its operations since were lost with its disk */
        if (p->ops[j].node == i && p->ops[j].step > p->snaps[i].step)
            p->ops[j].lost = 1;
    node_stop(&p->n, i);
    node_start(&p->n, i);
    for (size_t j = 0; j < p->snaps[i].n; j++)
        assert_true(crdt_load(p->n.c[i], &p->snaps[i].r[j], NULL) >= 0);
    if (!getenv("TROUPE_PROP_NO_EPOCH")) /* as the agent; unset: the counter alone */
        crdt_boot(p->n.c[i], p->n.now / 1000);
    /* as the agent at start: it asks a member for its own records before it
     * writes anew (a restart cut off from everyone reuses versions, which
     * is not what this property is about) */
    for (int ask = 0; ask < CRDT_SELF_ASKS; ask++) {
        for (int j = 0; j < N; j++) {
            char peer[8];
            if (blocked(&p->n, i, j) && j != j_peer)
                continue;
            name_of(j, peer);
            repl_sync(p->n.r[i], peer);
            pump(&p->n);
        }
    }
}

/* What counts for node i's collection. As the agent: every member that is
 * not reaped, dead or cut off included (nobody is reaped here). With
 * TROUPE_PROP_GC=serving, only the members it reaches (the old rule). */
static void gc_all(struct net *n)
{
    const char *gc = getenv("TROUPE_PROP_GC");
    int serving = gc && strcmp(gc, "serving") == 0;

    for (int i = 0; i < N; i++) {
        struct members m;
        struct repl_peers p = members_of(&m, n, i, 0, serving);
        if (!n->down[i])
            repl_gc(n->r[i], &p);
    }
}

static int reachable_peer(struct prop *p, int i)
{
    int j = (int)prop_rand(p, N);
    return blocked(&p->n, i, j) ? -1 : j;
}

static void prop_step(struct prop *p, int step)
{
    struct net *n = &p->n;
    int i = (int)prop_rand(p, N), op = (int)prop_rand(p, 100), j, down = 0;
    char key[16], val[16];
    uint8_t kind;

    for (int k = 0; k < N; k++)
        down += n->down[k];
    snprintf(val, sizeof(val), "v%d", step);
    do
        kind = (uint8_t)(1 + prop_rand(p, CRDT_KIND_MAX));
    while ((op < 45) == is_multi_writer(kind));
    snprintf(key, sizeof(key), "%s%d", is_multi_writer(kind) ? "shared" : "own",
             (int)prop_rand(p, PROP_KEYS));
    if (op < 30 || (op >= 45 && op < 60)) {
        if (!n->down[i] &&
            repl_put(n->r[i], n->now, kind, key, val, (uint32_t)strlen(val), NULL) == 1 &&
            is_multi_writer(kind))
            op_log(p, i, step, kind, key);
    } else if (op < 45 || op < 68) {
        if (!n->down[i] && repl_del(n->r[i], n->now, kind, key, NULL) == 1 && is_multi_writer(kind))
            op_log(p, i, step, kind, key);
    } else if (op < 74) {
        for (j = 0; j < N; j++) /* i is cut off from everyone, both ways */
            n->cut[i][j] = n->cut[j][i] = 1;
    } else if (op < 77) {
        j = (int)prop_rand(p, N);
        n->cut[i][j] = n->cut[j][i] = 1;
    } else if (op < 82) {
        memset(n->cut, 0, sizeof(n->cut));
    } else if (op < 86) {
        if (down < 2)
            n->down[i] = 1; /* frozen (SIGSTOP) or killed: its state stays */
    } else if (op < 90) {
        n->down[i] = 0;
    } else if (op < 93) {
        if (!n->down[i])
            snap_take(p, i, step);
    } else if (op < 95) {
        /* it comes back where it can reach everyone: one that restarts cut
         * off may give again versions of its own that others hold, which
         * only a later sync repairs (not this property) */
        int alone = 0;
        for (j = 0; j < N; j++)
            alone |= j != i && blocked(n, i, j);
        if (!alone)
            restart_from_snap(p, i, (i + 1) % N);
    } else {
        gc_all(n);
    }
    /* anti-entropy: a few syncs between members that reach each other */
    for (int k = 0; k < 2; k++) {
        i = (int)prop_rand(p, N);
        if ((j = reachable_peer(p, i)) >= 0) {
            char peer[8];
            name_of(j, peer);
            repl_sync(n->r[i], peer);
        }
    }
    pump(n);
    n->now += 1000;
}

static int live_dump_cb(void *ud, const struct crdt_rec *r)
{
    return r->deleted ? 0 : dump_cb(ud, r);
}

static char *dump_live(const struct crdt *c)
{
    char *s = xstrdup("");
    for (uint8_t k = 1; k <= CRDT_KIND_MAX; k++)
        crdt_scan(c, k, NULL, 0, live_dump_cb, &s);
    return s;
}

/* Node 0 against each origin's own records: same live ones, same versions. */
struct truth {
    struct prop *p;
    const struct crdt *c; /* the one read */
    const struct crdt *o; /* the origin's own store */
};

static int truth_cb(void *ud, const struct crdt_rec *r)
{
    struct truth *t = ud;
    const struct crdt_rec *x = crdt_get(t->o, r->origin, r->kind, r->key);

    if (!r->deleted && (!x || x->deleted || x->version != r->version)) {
        snprintf(t->p->why, sizeof(t->p->why), "%s/%u/%s v%llu lives, its origin holds %s",
                 r->origin, r->kind, r->key, (unsigned long long)r->version,
                 !x           ? "nothing"
                 : x->deleted ? "a delete"
                              : "another version");
        return 1;
    }
    return 0;
}

static int own_cb(void *ud, const struct crdt_rec *r)
{
    struct truth *t = ud;
    const struct crdt_rec *x = crdt_get(t->c, r->origin, r->kind, r->key);

    if (!r->deleted && (!x || x->version != r->version)) {
        snprintf(t->p->why, sizeof(t->p->why), "%s/%u/%s v%llu of its origin is lost", r->origin,
                 r->kind, r->key, (unsigned long long)r->version);
        return 1;
    }
    return 0;
}

/* 0 when the healed cluster holds exactly the newest writes; else p->why. */
static int prop_check(struct prop *p)
{
    struct net *n = &p->n;
    char *ref = dump_live(n->c[0]);
    int bad = 0;

    for (int i = 1; i < N && !bad; i++) {
        char *s = dump_live(n->c[i]);
        if (strcmp(s, ref) != 0) {
            if (getenv("TROUPE_PROP_DEBUG"))
                fprintf(stderr, "n0:\n%s\nn%d:\n%s\n", ref, i, s);
            snprintf(p->why, sizeof(p->why), "n%d and n0 differ", i);
            bad = 1;
        }
        free(s);
    }
    free(ref);
    for (int i = 0; i < N && !bad; i++) {
        struct truth t = {p, n->c[0], n->c[i]};
        for (uint8_t k = 1; k <= CRDT_KIND_MAX && !bad; k++)
            bad = crdt_scan(n->c[0], k, NULL, 0, truth_cb, &t) != 0;
    }
    for (int i = 0; i < N && !bad; i++) {
        struct truth t = {p, n->c[0], n->c[i]};
        bad = crdt_scan_origin(n->c[i], crdt_self(n->c[i]), own_cb, &t) != 0;
    }
    for (size_t k = 0; k < p->n_ops && !bad; k++) {
        /* the newest operation on the key, across its writers, is what reads */
        const struct op *w = &p->ops[k], *kept = NULL;
        const struct crdt_rec *r;
        int reads;
        for (size_t m = 0; m < p->n_ops; m++) {
            const struct op *x = &p->ops[m];
            if (x->kind != w->kind || strcmp(x->key, w->key) != 0)
                continue;
            if (x->hlc > w->hlc)
                w = x;
            if (!x->lost && (!kept || x->hlc > kept->hlc))
                kept = x;
        }
        r = crdt_lww(n->c[0], w->kind, w->key);
        reads = r && !r->deleted;
        if (reads ? (w->deleted || r->hlc != w->hlc) &&
                        (!w->lost || !kept || kept->deleted || r->hlc != kept->hlc)
                  : !w->deleted && !w->lost) {
            snprintf(p->why, sizeof(p->why), "key %u/%s reads %s, its newest operation is n%d's %s",
                     w->kind, w->key, reads ? "a value" : "nothing", w->node,
                     w->deleted ? "delete" : "write");
            bad = 1;
        }
    }
    return bad;
}

static int prop_run(uint64_t seed, char *why, size_t why_len)
{
    struct prop p;
    int bad;

    memset(&p, 0, sizeof(p));
    for (int i = 0; i < N; i++)
        p.snaps[i].step = -1; /* none taken: a restart starts from an empty data dir */
    net_init(&p.n);
    for (int i = 0; i < N && !getenv("TROUPE_PROP_NO_EPOCH"); i++)
        crdt_boot(p.n.c[i], p.n.now / 1000 - 1); /* as the agent: started before */
    p.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int step = 0; step < PROP_STEPS; step++)
        prop_step(&p, step);
    /* heal: everyone up and reachable, syncs until nothing moves, collect */
    memset(p.n.cut, 0, sizeof(p.n.cut));
    memset(p.n.down, 0, sizeof(p.n.down));
    sync_all(&p.n, CRDT_SELF_ASKS + 1);
    gc_all(&p.n);
    sync_all(&p.n, 2);
    bad = prop_check(&p);
    snprintf(why, why_len, "%s", p.why);
    for (int i = 0; i < N; i++)
        snap_release(&p.snaps[i]);
    free(p.ops);
    net_free(&p.n);
    return bad;
}

/* n0 restored from a backup: only n2 holds the newer value n0 gave a
 * record after the backup, and n2 is away while n0 asks the others, who
 * then cover n0's versions from its digest. Once back, n2 is asked too
 * (once per peer and boot): n0 learns of the newer value and says again
 * what it holds, and everyone agrees. A census cannot tell this: n0 holds
 * the key. */
static void test_restored_node_asks_every_peer_once_for_its_records(void **state)
{
    struct net n;
    struct snap backup = {0};
    uint64_t sent;

    (void)state;
    net_init(&n);
    crdt_boot(n.c[0], 10);
    put(&n, 0, CRDT_INSTANCE, "kept", "v1");
    pump(&n);
    crdt_scan(n.c[0], CRDT_INSTANCE, NULL, 1, snap_cb, &backup);
    for (int i = 0; i < N; i++) /* only n2 hears of the next write */
        for (int j = 0; j < N; j++)
            n.cut[i][j] = !((i == 0 && j == 2) || (i == 2 && j == 0));
    put(&n, 0, CRDT_INSTANCE, "kept", "v2");
    pump(&n);
    memset(n.cut, 0, sizeof(n.cut));
    n.down[2] = 1;
    node_stop(&n, 0);
    node_start(&n, 0);
    for (size_t j = 0; j < backup.n; j++)
        assert_int_equal(crdt_load(n.c[0], &backup.r[j], NULL), 1);
    crdt_boot(n.c[0], 20);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    n.down[2] = 0;
    sent = repl_stats(n.r[2])->sync_records_out;
    repl_sync(n.r[0], "n2");
    pump(&n);
    assert_true(repl_stats(n.r[2])->sync_records_out > sent);
    sync_all(&n, 2);
    for (int i = 0; i < N; i++) {
        const struct crdt_rec *r = crdt_get(n.c[i], "n0", CRDT_INSTANCE, "kept");
        assert_memory_equal(r->val, "v1", 2);
        assert_true(r->version > (20ull << CRDT_EPOCH_SHIFT));
    }
    assert_converged(&n);
    /* asked once: the next sync with n2 sends nothing of n0 back */
    sent = repl_stats(n.r[2])->sync_records_out;
    repl_sync(n.r[0], "n2");
    pump(&n);
    assert_int_equal(repl_stats(n.r[2])->sync_records_out, sent);
    snap_release(&backup);
    net_free(&n);
}

/* A reaped member's delete that hides an older write of another origin is
 * written again by the adopter, so the write does not come back. */
static void test_adopted_delete_of_a_reaped_member_keeps_the_key_deleted(void **state)
{
    struct net n;

    (void)state;
    net_init(&n);
    put(&n, 1, CRDT_KV, "k", "old");
    pump(&n);
    n.now += 5;
    for (int j = 0; j < N; j++) /* n1 is away when n4 deletes */
        n.cut[1][j] = n.cut[j][1] = 1;
    assert_int_equal(repl_del(n.r[4], n.now, CRDT_KV, "k", NULL), 1);
    pump(&n);
    n.down[4] = 1; /* and n4 goes for good */
    memset(n.cut, 0, sizeof(n.cut));
    assert_int_equal(repl_adopt(n.r[0], "n4", CRDT_KV, 100), 1);
    pump(&n);
    for (int i = 0; i < N - 1; i++)
        repl_forget(n.r[i], "n4");
    sync_all(&n, 2);
    for (int i = 0; i < N - 1; i++)
        assert_true(crdt_lww(n.c[i], CRDT_KV, "k")->deleted);
    net_free(&n);
}

static void test_nothing_deleted_comes_back_after_partitions_and_restarts(void **state)
{
    const char *env_seed = getenv("TROUPE_PROP_SEED"), *env_runs = getenv("TROUPE_PROP_RUNS");
    uint64_t first = env_seed ? strtoull(env_seed, NULL, 10) : 1;
    uint64_t runs = env_runs ? strtoull(env_runs, NULL, 10) : PROP_SEEDS;
    unsigned failed = 0;
    char why[256];

    (void)state;
    for (uint64_t seed = first; seed < first + runs; seed++) {
        if (prop_run(seed, why, sizeof(why))) {
            if (failed++ < 10)
                print_message("seed %llu: %s\n", (unsigned long long)seed, why);
        }
    }
    print_message("no resurrection: %u of %llu seeds failed (seeds %llu..%llu)\n", failed,
                  (unsigned long long)runs, (unsigned long long)first,
                  (unsigned long long)(first + runs - 1));
    assert_int_equal(failed, 0);
}

static void test_member_away_drops_what_was_deleted_and_collected_meanwhile(void **state)
{
    struct net n;
    const struct repl_stats *st;

    net_init(&n);
    put(&n, 0, CRDT_INSTANCE, "ghost-1", "v");
    put(&n, 0, CRDT_KV, "ghost/key", "v");
    for (int i = 1; i < N; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(&n, i, CRDT_CHECK, key, "passing");
    }
    pump(&n);
    sync_all(&n, CRDT_SELF_ASKS + 1);
    /* n4 is cut off; the deletes happen without it, and it is reaped (away
     * past --reap-after-s) before they are collected */
    n.down[4] = 1;
    assert_int_equal(repl_del(n.r[0], n.now, CRDT_INSTANCE, "ghost-1", NULL), 1);
    assert_int_equal(repl_del(n.r[0], n.now, CRDT_KV, "ghost/key", NULL), 1);
    pump(&n);
    sync_all(&n, 2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(gc_up(&n, i), 0); /* it still counts: its records are held */
        repl_forget(n.r[i], "n4");
        assert_int_equal(gc_up(&n, i), 2);
    }
    /* n4 returns: one sync with anyone, and what was deleted is gone */
    n.down[4] = 0;
    assert_false(crdt_get(n.c[4], "n0", CRDT_INSTANCE, "ghost-1")->deleted);
    repl_sync(n.r[4], "n2");
    pump(&n);
    assert_null(crdt_get(n.c[4], "n0", CRDT_INSTANCE, "ghost-1"));
    assert_null(crdt_lww(n.c[4], CRDT_KV, "ghost/key"));
    st = repl_stats(n.r[4]);
    assert_int_equal(st->census_dropped, 2);
    assert_int_equal(repl_stats(n.r[2])->census_out, 1);
    sync_all(&n, 1);
    assert_converged(&n);
    /* in steady state no census is sent */
    assert_int_equal(repl_stats(n.r[2])->census_out, 1);
    net_free(&n);
}

static void test_census_message_round_trips_and_bad_ones_are_refused(void **state)
{
    struct crdt *c = crdt_new("p");
    struct crdt_rec a1 = {.origin = "a",
                          .key = "x",
                          .kind = CRDT_INSTANCE,
                          .version = 1,
                          .hlc = 1,
                          .len = 1,
                          .val = (const uint8_t *)"v"};
    struct crdt_rec a2 = {
        .origin = "a", .key = "y", .kind = CRDT_KV, .version = 2, .hlc = 2, .deleted = 1};
    struct crdt_digest peer = {0};
    struct repl_msg m;
    struct err e;
    uint32_t n_origins;
    size_t len;
    uint8_t *buf;

    crdt_merge(c, &a1, NULL, NULL);
    crdt_merge(c, &a2, NULL, NULL);
    crdt_cover(c, "a", 5);
    /* a peer that knows nothing of a needs it, a itself included (what it
     * read back from an old data dir of its own multi-writer records) */
    buf = repl_msg_encode_census(c, &peer, "a", CODEC_STREAM_MAX, &len, &n_origins);
    assert_non_null(buf);
    free(buf);
    buf = repl_msg_encode_census(c, &peer, "q", CODEC_STREAM_MAX, &len, &n_origins);
    assert_non_null(buf);
    assert_int_equal(n_origins, 1);
    assert_int_equal(repl_msg_decode_stream(&m, buf, len, &e), 0);
    assert_int_equal(m.type, REPL_S_CENSUS);
    assert_int_equal(m.n_census, 1);
    assert_string_equal(m.census[0].origin, "a");
    assert_int_equal(m.census[0].covered, 5);
    assert_int_equal(m.census[0].n, 2);
    assert_true(m.census[0].hashes[0] <= m.census[0].hashes[1]);
    repl_msg_release(&m);
    /* too small a budget: nothing fits, nothing is sent */
    assert_null(repl_msg_encode_census(c, &peer, "q", 10, &len, &n_origins));
    /* truncated anywhere, or keys out of order: refused */
    for (size_t cut = 3; cut < len; cut++)
        assert_true(repl_msg_decode_stream(&m, buf, cut, &e) < 0);
    {
        uint64_t h0, h1;
        size_t at = len - 16;
        memcpy(&h0, buf + at, 8);
        memcpy(&h1, buf + at + 8, 8);
        memcpy(buf + at, &h1, 8);
        memcpy(buf + at + 8, &h0, 8);
        if (h0 != h1)
            assert_int_equal(repl_msg_decode_stream(&m, buf, len, &e), -EBADMSG);
    }
    free(buf);
    crdt_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcasts_converge_and_each_record_is_relayed_once),
        cmocka_unit_test(test_partition_heals_through_sync),
        cmocka_unit_test(test_lost_broadcast_is_repaired_by_sync_and_only_missing_records_move),
        cmocka_unit_test(test_big_record_goes_by_notice_and_sync),
        cmocka_unit_test(test_tombstone_collected_once_every_live_member_has_it),
        cmocka_unit_test(test_member_without_digest_blocks_collection),
        cmocka_unit_test(test_member_never_heard_from_blocks_collection),
        cmocka_unit_test(test_restarted_node_gives_coverage_of_itself_only_once_asked),
        cmocka_unit_test(test_restarted_node_reasserts_through_sync),
        cmocka_unit_test(test_kv_last_writer_wins_everywhere),
        cmocka_unit_test(test_malformed_input_is_counted_and_refused),
        cmocka_unit_test(test_outputs_are_bounded),
        cmocka_unit_test(test_sync_of_equal_digests_is_two_small_messages),
        cmocka_unit_test(test_sync_sends_only_the_buckets_that_differ),
        cmocka_unit_test(test_one_sync_in_flight_per_peer_and_unanswered_ones_are_given_up),
        cmocka_unit_test(test_syncs_that_find_nothing_return_to_the_slow_period),
        cmocka_unit_test(test_gap_in_versions_brings_the_next_sync_forward),
        cmocka_unit_test(test_summary_from_an_unknown_sender_is_answered),
        cmocka_unit_test(test_member_away_drops_what_was_deleted_and_collected_meanwhile),
        cmocka_unit_test(test_census_message_round_trips_and_bad_ones_are_refused),
        cmocka_unit_test(test_restored_node_asks_every_peer_once_for_its_records),
        cmocka_unit_test(test_adopted_delete_of_a_reaped_member_keeps_the_key_deleted),
        cmocka_unit_test(test_nothing_deleted_comes_back_after_partitions_and_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
