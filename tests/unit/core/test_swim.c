/* Tests of core/swim: a few machines on a tiny in-test network that
 * delivers UDP after 1 ms (unless a node is down or cut off) and runs TCP
 * exchanges at once. Time is explicit, so every test is deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/mem.h"
#include "core/swim.h"
#include "core/tags.h"

#define NMAX 8
#define QMAX 4096

struct pkt {
    uint64_t at;
    int from, to;
    uint8_t *data;
    size_t len;
};

struct net {
    struct swim *node[NMAX];
    int n;
    int down[NMAX];      /* killed: neither sends nor receives */
    int cut[NMAX][NMAX]; /* link cut between two nodes */
    struct pkt q[QMAX];
    int qn;
    uint64_t now;
    uint64_t udp_sent[NMAX];
    int record; /* keep a copy of every output for the determinism test */
    /* until miss_until, datagrams to miss_to that tell miss_name is alive
     * are lost: a member that misses a refutation */
    int miss_to;
    const char *miss_name;
    uint64_t miss_until;
    uint8_t *trace;
    size_t trace_len;
};

static struct node_addr addr_of(int i)
{
    struct node_addr a = {.family = 4, .port = 7420};
    a.ip[0] = 10;
    a.ip[3] = (uint8_t)(i + 1);
    return a;
}

static int index_of(const struct node_addr *a)
{
    return a->ip[3] - 1;
}

static void cfg_for(struct swim_config *c, int i, uint64_t seed)
{
    swim_config_default(c, SWIM_PROFILE_FAST);
    snprintf(c->name, sizeof(c->name), "n%d", i);
    c->addr = addr_of(i);
    c->seed = seed * 100 + (uint64_t)i;
}

static void net_init(struct net *n, int count, uint64_t seed)
{
    memset(n, 0, sizeof(*n));
    n->n = count;
    n->now = 1000;
    for (int i = 0; i < count; i++) {
        struct swim_config c;
        cfg_for(&c, i, seed);
        n->node[i] = swim_new(&c, n->now, NULL);
        assert_non_null(n->node[i]);
    }
}

static void net_free(struct net *n)
{
    for (int i = 0; i < n->qn; i++)
        free(n->q[i].data);
    for (int i = 0; i < n->n; i++)
        swim_free(n->node[i]);
    free(n->trace);
}

static int blocked(struct net *n, int a, int b)
{
    return b < 0 || b >= n->n || n->down[a] || n->down[b] || n->cut[a][b];
}

static void drain_events(struct net *n, int i)
{
    struct swim_event ev;
    while (swim_poll_event(n->node[i], &ev))
        free(ev.data);
}

static void drain(struct net *n, int i)
{
    struct swim_out o;

    while (swim_poll_out(n->node[i], &o)) {
        int to = index_of(&o.to);
        if (n->record) {
            n->trace = xrealloc(n->trace, n->trace_len + o.len);
            memcpy(n->trace + n->trace_len, o.data, o.len);
            n->trace_len += o.len;
        }
        if (o.kind == SWIM_OUT_UDP) {
            n->udp_sent[i]++;
            if (!blocked(n, i, to) && n->qn < QMAX) {
                n->q[n->qn++] = (struct pkt){n->now + 1, i, to, o.data, o.len};
                continue;
            }
        } else if (blocked(n, i, to)) {
            swim_stream_failed(n->node[i], n->now, &o.to);
        } else {
            uint8_t *reply = NULL;
            size_t rlen = 0;
            struct node_addr from = addr_of(i);
            swim_recv_stream(n->node[to], n->now, &from, o.data, o.len, &reply, &rlen, NULL);
            if (reply)
                swim_recv_stream(n->node[i], n->now, &o.to, reply, rlen, NULL, NULL, NULL);
            free(reply);
            drain(n, to);
        }
        free(o.data);
    }
}

/* Does the datagram tell that `name` is alive, alone or in a compound? */
static int tells_alive(const uint8_t *data, size_t len, const char *name)
{
    struct msg m, part;
    int found = 0;

    if (codec_decode(&m, data, len, NULL) < 0)
        return 0;
    if (m.type == MSG_ALIVE)
        found = strcmp(m.u.alive.node, name) == 0;
    for (unsigned i = 0; m.type == MSG_COMPOUND && i < m.u.compound.n && !found; i++) {
        if (codec_decode(&part, m.u.compound.part[i], m.u.compound.part_len[i], NULL) < 0)
            continue;
        found = part.type == MSG_ALIVE && strcmp(part.u.alive.node, name) == 0;
        msg_release(&part);
    }
    msg_release(&m);
    return found;
}

static int missed(struct net *n, const struct pkt *p)
{
    return n->miss_name && p->to == n->miss_to && n->now < n->miss_until &&
           tells_alive(p->data, p->len, n->miss_name);
}

/* Runs the network until `until` (absolute ms), 1 ms at a time. */
static void run_until(struct net *n, uint64_t until)
{
    for (; n->now <= until; n->now++) {
        for (int k = 0; k < n->qn;) {
            struct pkt p = n->q[k];
            if (p.at > n->now) {
                k++;
                continue;
            }
            n->q[k] = n->q[--n->qn];
            if (!blocked(n, p.from, p.to) && !missed(n, &p)) {
                struct node_addr from = addr_of(p.from);
                swim_recv_packet(n->node[p.to], n->now, &from, p.data, p.len, NULL);
                drain(n, p.to);
            }
            free(p.data);
        }
        for (int i = 0; i < n->n; i++) {
            if (n->down[i])
                continue;
            swim_tick(n->node[i], n->now);
            drain(n, i);
            drain_events(n, i);
        }
    }
}

static void run_for(struct net *n, uint64_t ms)
{
    run_until(n, n->now + ms);
}

static void join_all(struct net *n)
{
    struct node_addr a0 = addr_of(0);
    for (int i = 1; i < n->n; i++) {
        swim_join(n->node[i], n->now, &a0);
        drain(n, i);
    }
}

static int state_of(struct net *n, int viewer, int subject)
{
    char name[16];
    const struct swim_member *m;
    snprintf(name, sizeof(name), "n%d", subject);
    m = swim_member_find(n->node[viewer], name);
    return m ? m->state : -1;
}

static void assert_all_see(struct net *n, int subject, int state)
{
    for (int i = 0; i < n->n; i++) {
        if (i == subject || n->down[i])
            continue;
        assert_int_equal(state_of(n, i, subject), state);
    }
}

static void test_join_through_pushpull_makes_both_know_each_other(void **st)
{
    struct net n;
    struct node_addr a0 = addr_of(0);
    struct swim_event ev;
    int joined = 0;

    net_init(&n, 2, 1);
    swim_join(n.node[1], n.now, &a0);
    drain(&n, 1);
    while (swim_poll_event(n.node[1], &ev)) {
        joined |= ev.kind == SWIM_EV_JOINED && ev.addr.ip[3] == 1;
        free(ev.data);
    }
    assert_true(joined);
    assert_int_equal(state_of(&n, 0, 1), SWIM_ALIVE);
    assert_int_equal(state_of(&n, 1, 0), SWIM_ALIVE);
    net_free(&n);
}

static void test_join_to_unreachable_address_fails(void **st)
{
    struct net n;
    struct node_addr nowhere = addr_of(5);
    struct swim_event ev;
    int failed = 0;

    net_init(&n, 2, 1);
    swim_join(n.node[1], n.now, &nowhere);
    drain(&n, 1);
    while (swim_poll_event(n.node[1], &ev)) {
        failed |= ev.kind == SWIM_EV_JOIN_FAILED;
        free(ev.data);
    }
    assert_true(failed);
    net_free(&n);
}

static void test_five_nodes_converge_through_one_seed(void **st)
{
    struct net n;

    net_init(&n, 5, 2);
    join_all(&n);
    run_for(&n, 3000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(swim_member_count(n.node[i]), 5);
        assert_int_equal(swim_count_state(n.node[i], SWIM_ALIVE), 5);
    }
    net_free(&n);
}

static void test_killed_node_is_suspected_then_dead_everywhere(void **st)
{
    struct net n;

    net_init(&n, 5, 3);
    join_all(&n);
    run_for(&n, 2000);
    n.down[4] = 1;
    run_for(&n, 10000);
    assert_all_see(&n, 4, SWIM_DEAD);
    for (int i = 0; i < 4; i++)
        assert_int_equal(swim_count_state(n.node[i], SWIM_ALIVE), 4);
    net_free(&n);
}

static void test_lossy_link_alone_does_not_kill_thanks_to_indirect_probes(void **st)
{
    struct net n;

    net_init(&n, 5, 4);
    join_all(&n);
    run_for(&n, 2000);
    /* n0 cannot reach n1 directly, but everyone else can */
    n.cut[0][1] = n.cut[1][0] = 1;
    run_for(&n, 20000);
    assert_int_equal(state_of(&n, 0, 1), SWIM_ALIVE);
    assert_int_equal(state_of(&n, 1, 0), SWIM_ALIVE);
    assert_true(swim_stats(n.node[0])->indirect_probes > 0);
    net_free(&n);
}

static uint64_t sum_kinds(const uint64_t *v)
{
    uint64_t t = 0;
    for (int k = 0; k < SWIM_MSG_KINDS; k++)
        t += v[k];
    return t;
}

static void test_ping_in_and_its_ack_out_count_under_their_kinds(void **st)
{
    struct net n;
    struct msg m;
    uint8_t buf[256];
    struct node_addr a1 = addr_of(1);
    const struct swim_stats *ss;
    struct swim_out o;
    int len;

    net_init(&n, 1, 11);
    memset(&m, 0, sizeof(m));
    m.type = MSG_PING;
    m.u.ping.seq = 7;
    strcpy(m.u.ping.target, "n0");
    strcpy(m.u.ping.source, "n1");
    m.u.ping.source_addr = a1;
    len = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_true(len > 0);

    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, (size_t)len, NULL), 0);

    ss = swim_stats(n.node[0]);
    assert_int_equal(ss->msgs_in[MSG_PING], 1);
    assert_int_equal(ss->msg_bytes_in[MSG_PING], len);
    assert_int_equal(sum_kinds(ss->msgs_in), 1);
    assert_int_equal(ss->msgs_out[MSG_ACK], 1);
    assert_int_equal(sum_kinds(ss->msg_bytes_out), ss->bytes_out);
    assert_int_equal(swim_poll_out(n.node[0], &o), 1);
    assert_int_equal(ss->msg_bytes_out[MSG_ACK], o.len);
    free(o.data);
    net_free(&n);
}

static void test_pings_sent_count_under_ping_inside_compounds(void **st)
{
    struct net n;
    const struct swim_stats *s0, *s1;

    net_init(&n, 3, 12);
    join_all(&n);
    run_for(&n, 3000);

    s0 = swim_stats(n.node[0]);
    s1 = swim_stats(n.node[1]);
    /* every probe is a ping, alone or with gossip piggybacked */
    assert_true(s0->probes > 0);
    assert_true(s0->msgs_out[MSG_PING] >= s0->probes);
    assert_true(s1->msgs_in[MSG_PING] > 0);
    assert_true(s0->msgs_out[MSG_ACK] > 0);
    assert_true(s0->msgs_out[MSG_PUSHPULL] > 0 || s0->msgs_in[MSG_PUSHPULL] > 0);
    /* the kinds account for every byte, out and (nothing malformed) in */
    for (int i = 0; i < 3; i++) {
        const struct swim_stats *ss = swim_stats(n.node[i]);
        assert_int_equal(ss->decode_errors, 0);
        assert_int_equal(sum_kinds(ss->msg_bytes_out), ss->bytes_out);
        assert_int_equal(sum_kinds(ss->msg_bytes_in), ss->bytes_in);
        assert_int_equal(ss->msgs_out[0] + ss->msgs_in[0], 0);
    }
    net_free(&n);
}

static void test_killed_node_counts_raised_suspicion_and_late_acks_stay_zero(void **st)
{
    struct net n;
    uint64_t raised = 0;

    net_init(&n, 4, 13);
    join_all(&n);
    run_for(&n, 2000);
    n.down[3] = 1;
    run_for(&n, 10000);
    for (int i = 0; i < 3; i++) {
        raised += swim_stats(n.node[i])->suspicions_raised;
        assert_int_equal(swim_stats(n.node[i])->acks_late, 0);
        assert_int_equal(swim_stats(n.node[i])->suspicions_refuted, 0);
    }
    assert_true(raised >= 1);
    net_free(&n);
}

/* Encodes "FROM suspects NODE at incarnation INC" into buf; returns its length. */
static size_t suspect_msg(uint8_t *buf, size_t cap, const char *node, const char *from,
                          uint32_t inc)
{
    struct msg m;
    int len;

    memset(&m, 0, sizeof(m));
    m.type = MSG_SUSPECT;
    m.u.suspect.incarnation = inc;
    strcpy(m.u.suspect.node, node);
    strcpy(m.u.suspect.from, from);
    len = codec_encode(&m, buf, cap, NULL);
    assert_true(len > 0);
    return (size_t)len;
}

static void test_suspected_node_refutes_with_higher_incarnation(void **st)
{
    struct net n;
    uint8_t buf[256];
    struct node_addr a1 = addr_of(1);
    uint32_t before;
    size_t len;

    net_init(&n, 3, 5);
    join_all(&n);
    run_for(&n, 2000);
    before = swim_self(n.node[2])->incarnation;
    len = suspect_msg(buf, sizeof(buf), "n2", "n1", before);
    assert_int_equal(swim_recv_packet(n.node[2], n.now, &a1, buf, len, NULL), 0);
    assert_true(swim_self(n.node[2])->incarnation > before);
    assert_int_equal(swim_stats(n.node[2])->refutes, 1);
    run_for(&n, 2000);
    assert_all_see(&n, 2, SWIM_ALIVE);
    net_free(&n);
}

static void test_short_partition_of_one_node_does_not_kill_it(void **st)
{
    struct net n;

    net_init(&n, 5, 6);
    join_all(&n);
    run_for(&n, 2000);
    for (int i = 0; i < 5; i++)
        n.cut[i][3] = n.cut[3][i] = i != 3;
    run_for(&n, 300); /* well under the suspicion timeout */
    memset(n.cut, 0, sizeof(n.cut));
    run_for(&n, 5000);
    assert_all_see(&n, 3, SWIM_ALIVE);
    net_free(&n);
}

static void test_graceful_leave_shows_left_not_dead(void **st)
{
    struct net n;

    net_init(&n, 4, 7);
    join_all(&n);
    run_for(&n, 2000);
    swim_leave(n.node[3], n.now);
    run_for(&n, 500);
    n.down[3] = 1;
    run_for(&n, 10000);
    assert_all_see(&n, 3, SWIM_LEFT);
    net_free(&n);
}

/* n`i` stops and starts again with `incarnation` (0: a fresh one), as an
 * agent restarted with its data dir does; it joins through `via` (-1: no
 * join at all). */
static void restart(struct net *n, int i, uint32_t incarnation, int via, uint64_t seed)
{
    struct swim_config c;

    swim_free(n->node[i]);
    cfg_for(&c, i, seed);
    c.incarnation = incarnation;
    n->node[i] = swim_new(&c, n->now, NULL);
    assert_non_null(n->node[i]);
    n->down[i] = 0;
    if (via >= 0) {
        struct node_addr a = addr_of(via);
        swim_join(n->node[i], n->now, &a);
        drain(n, i);
    }
}

static void test_join_through_own_address_is_no_join(void **st)
{
    struct net n;
    struct node_addr self = addr_of(0);
    struct swim_event ev;
    int joined = 0, failed = 0;

    net_init(&n, 1, 1);
    swim_join(n.node[0], n.now, &self);
    drain(&n, 0);
    while (swim_poll_event(n.node[0], &ev)) {
        joined |= ev.kind == SWIM_EV_JOINED;
        failed |= ev.kind == SWIM_EV_JOIN_FAILED;
        free(ev.data);
    }
    assert_false(joined);
    assert_true(failed);
    net_free(&n);
}

/* A member that left and comes back with one incarnation above its last
 * is alive to the member it joins through as soon as its join arrives, and
 * to the others through gossip, with nothing to refute. */
static void test_restart_with_kept_incarnation_is_alive_at_once(void **st)
{
    struct net n;
    uint32_t last;

    net_init(&n, 3, 21);
    join_all(&n);
    run_for(&n, 2000);
    last = swim_self(n.node[2])->incarnation;
    swim_leave(n.node[2], n.now);
    run_for(&n, 500);
    n.down[2] = 1;
    run_for(&n, 2000);
    assert_all_see(&n, 2, SWIM_LEFT);
    restart(&n, 2, last + 1, 0, 21);
    assert_int_equal(state_of(&n, 0, 2), SWIM_ALIVE);
    assert_int_equal(swim_stats(n.node[2])->refutes, 0);
    run_for(&n, 1000);
    assert_all_see(&n, 2, SWIM_ALIVE);
    assert_int_equal(swim_count_state(n.node[2], SWIM_ALIVE), 3);
    net_free(&n);
}

/* With its data dir lost, a member that left restarts at incarnation 1:
 * the answer to its join says it left, and it refutes that above it. */
static void test_restart_without_incarnation_refutes_its_left_record(void **st)
{
    struct net n;
    uint32_t left_at;

    net_init(&n, 3, 22);
    join_all(&n);
    run_for(&n, 2000);
    swim_leave(n.node[2], n.now);
    left_at = swim_self(n.node[2])->incarnation;
    run_for(&n, 500);
    n.down[2] = 1;
    run_for(&n, 2000);
    restart(&n, 2, 0, 0, 22);
    run_for(&n, 1000);
    assert_true(swim_self(n.node[2])->incarnation > left_at);
    assert_all_see(&n, 2, SWIM_ALIVE);
    assert_int_equal(swim_count_state(n.node[2], SWIM_ALIVE), 3);
    net_free(&n);
}

/* A member that left restarts and joins nobody (it joined only itself):
 * the others keep trying the member they hold left, at the reconnect
 * interval, and the two sides merge. */
static void test_member_held_left_is_reconnected_until_it_is_back(void **st)
{
    struct net n;

    net_init(&n, 3, 23);
    join_all(&n);
    run_for(&n, 2000);
    swim_leave(n.node[2], n.now);
    run_for(&n, 500);
    n.down[2] = 1;
    run_for(&n, 2000);
    restart(&n, 2, 0, -1, 23);
    assert_int_equal(swim_member_count(n.node[2]), 1);
    run_for(&n, 3 * swim_config(n.node[0])->reconnect_interval_ms);
    assert_all_see(&n, 2, SWIM_ALIVE);
    assert_int_equal(swim_count_state(n.node[2], SWIM_ALIVE), 3);
    net_free(&n);
}

static void test_dead_member_is_reaped_after_reap_time(void **st)
{
    struct net n;

    net_init(&n, 3, 8);
    join_all(&n);
    run_for(&n, 2000);
    n.down[2] = 1;
    run_for(&n, 10000);
    assert_int_equal(state_of(&n, 0, 2), SWIM_DEAD);
    run_for(&n, 10000);
    assert_int_equal(state_of(&n, 0, 2), SWIM_DEAD); /* default reap is 72 h */
    net_free(&n);

    /* with a short reap time the member goes away */
    net_init(&n, 3, 8);
    for (int i = 0; i < 3; i++) {
        swim_free(n.node[i]);
        struct swim_config c;
        cfg_for(&c, i, 8);
        c.reap_after_ms = 5000;
        n.node[i] = swim_new(&c, n.now, NULL);
    }
    join_all(&n);
    run_for(&n, 2000);
    n.down[2] = 1;
    run_for(&n, 15000);
    assert_int_equal(state_of(&n, 0, 2), -1);
    assert_int_equal(swim_member_count(n.node[0]), 2);
    net_free(&n);
}

static void test_partitioned_halves_heal_into_one_cluster(void **st)
{
    struct net n;

    net_init(&n, 5, 9);
    join_all(&n);
    run_for(&n, 2000);
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            n.cut[a][b] = (a < 2) != (b < 2);
    run_for(&n, 10000);
    assert_int_equal(state_of(&n, 0, 4), SWIM_DEAD);
    assert_int_equal(state_of(&n, 4, 0), SWIM_DEAD);
    memset(n.cut, 0, sizeof(n.cut));
    run_for(&n, 30000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(swim_count_state(n.node[i], SWIM_ALIVE), 5);
    net_free(&n);
}

static void test_returning_node_with_new_address_is_accepted_once_dead(void **st)
{
    struct net n;
    struct swim_config c;
    struct node_addr a0 = addr_of(0);
    const struct swim_member *m;

    net_init(&n, 4, 10);
    join_all(&n);
    run_for(&n, 2000);
    n.down[3] = 1;
    run_for(&n, 10000);
    assert_int_equal(state_of(&n, 0, 3), SWIM_DEAD);
    /* n3 comes back at slot 5's address, with a fresh incarnation */
    swim_free(n.node[3]);
    cfg_for(&c, 3, 10);
    c.addr = addr_of(5);
    n.node[5] = swim_new(&c, n.now, NULL);
    n.node[3] = NULL;
    n.n = 6;
    n.down[3] = 1;
    n.down[4] = 1;
    swim_join(n.node[5], n.now, &a0);
    drain(&n, 5);
    run_for(&n, 5000);
    m = swim_member_find(n.node[1], "n3");
    assert_non_null(m);
    assert_int_equal(m->state, SWIM_ALIVE);
    assert_int_equal(m->addr.ip[3], 6);
    n.down[3] = 0;
    n.node[3] = swim_new(&c, n.now, NULL); /* placeholder so net_free frees something */
    n.down[3] = 1;
    net_free(&n);
}

static void test_isolated_node_raises_its_awareness_and_recovers(void **st)
{
    struct net n;

    net_init(&n, 4, 11);
    join_all(&n);
    run_for(&n, 2000);
    assert_int_equal(swim_awareness(n.node[0]), 0);
    for (int i = 1; i < 4; i++)
        n.cut[0][i] = n.cut[i][0] = 1;
    run_for(&n, 2000);
    assert_true(swim_awareness(n.node[0]) > 0);
    memset(n.cut, 0, sizeof(n.cut));
    run_for(&n, 30000);
    assert_int_equal(swim_awareness(n.node[0]), 0);
    net_free(&n);
}

static void test_tags_change_reaches_everyone(void **st)
{
    struct net n;
    struct tags t = {0};
    uint8_t enc[SWIM_TAGS_MAX];
    int len;
    const struct swim_member *m;

    net_init(&n, 4, 12);
    join_all(&n);
    run_for(&n, 2000);
    assert_int_equal(tags_set_kv(&t, "role=web", NULL), 0);
    len = tags_encode(&t, enc, sizeof(enc), NULL);
    assert_int_equal(swim_set_tags(n.node[2], n.now, enc, (size_t)len, NULL), 0);
    run_for(&n, 2000);
    m = swim_member_find(n.node[0], "n2");
    assert_int_equal(m->tags_len, len);
    assert_memory_equal(m->tags, enc, (size_t)len);
    net_free(&n);
}

static void test_user_broadcast_is_delivered_to_others(void **st)
{
    struct net n;
    struct swim_event ev;
    int got = 0;

    net_init(&n, 3, 13);
    join_all(&n);
    run_for(&n, 2000);
    assert_int_equal(swim_broadcast_user(n.node[0], (const uint8_t *)"hello", 5, NULL), 0);
    for (int step = 0; step < 1000 && !got; step++) {
        n.now++;
        for (int k = 0; k < n.qn;) {
            struct pkt p = n.q[k];
            if (p.at > n.now) {
                k++;
                continue;
            }
            n.q[k] = n.q[--n.qn];
            struct node_addr from = addr_of(p.from);
            swim_recv_packet(n.node[p.to], n.now, &from, p.data, p.len, NULL);
            drain(&n, p.to);
            free(p.data);
        }
        for (int i = 0; i < 3; i++) {
            swim_tick(n.node[i], n.now);
            drain(&n, i);
        }
        while (swim_poll_event(n.node[1], &ev)) {
            got |= ev.kind == SWIM_EV_USER && ev.len == 5 && memcmp(ev.data, "hello", 5) == 0;
            free(ev.data);
        }
        drain_events(&n, 0);
        drain_events(&n, 2);
    }
    assert_true(got);
    net_free(&n);
}

static void test_broadcast_is_retransmitted_a_bounded_number_of_times(void **st)
{
    struct net n;
    uint64_t sent;

    net_init(&n, 3, 14);
    join_all(&n);
    run_for(&n, 3000);
    sent = n.udp_sent[0];
    /* quiet cluster: only probes and acks remain, no gossip packets */
    run_for(&n, 2000);
    assert_true(n.udp_sent[0] - sent <= 2 * (2000 / 200) + 2);
    net_free(&n);
}

static void test_malformed_packet_is_counted_and_changes_nothing(void **st)
{
    struct net n;
    struct node_addr a1 = addr_of(1);
    uint8_t junk[] = {1, 6, 0, 0, 0, 1, 200};
    struct err e;

    net_init(&n, 2, 15);
    assert_true(swim_recv_packet(n.node[0], n.now, &a1, junk, sizeof(junk), &e) < 0);
    assert_int_equal(swim_stats(n.node[0])->decode_errors, 1);
    assert_int_equal(swim_member_count(n.node[0]), 1);
    assert_true(swim_recv_stream(n.node[0], n.now, &a1, junk, 1, NULL, NULL, &e) < 0);
    net_free(&n);
}

static void test_ping_for_another_name_gets_no_ack(void **st)
{
    struct net n;
    struct node_addr a1 = addr_of(1);
    struct swim_out o;
    uint8_t buf[256];
    struct msg m;
    int len;

    net_init(&n, 2, 16);
    memset(&m, 0, sizeof(m));
    m.type = MSG_PING;
    m.u.ping.seq = 7;
    strcpy(m.u.ping.target, "someone-else");
    strcpy(m.u.ping.source, "n1");
    m.u.ping.source_addr = a1;
    len = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, (size_t)len, NULL), 0);
    assert_int_equal(swim_poll_out(n.node[0], &o), 0);
    strcpy(m.u.ping.target, "n0");
    len = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, (size_t)len, NULL), 0);
    assert_int_equal(swim_poll_out(n.node[0], &o), 1);
    free(o.data);
    net_free(&n);
}

static void test_same_seed_gives_same_outputs(void **st)
{
    struct net a, b;

    net_init(&a, 4, 17);
    net_init(&b, 4, 17);
    a.record = b.record = 1;
    join_all(&a);
    join_all(&b);
    run_for(&a, 3000);
    run_for(&b, 3000);
    assert_int_equal(a.trace_len, b.trace_len);
    assert_memory_equal(a.trace, b.trace, a.trace_len);
    net_free(&a);
    net_free(&b);
}

static void test_invalid_config_is_refused_with_a_message(void **st)
{
    struct swim_config c;
    struct err e;

    cfg_for(&c, 0, 1);
    c.probe_timeout_ms = c.probe_interval_ms;
    assert_null(swim_new(&c, 0, &e));
    assert_non_null(strstr(e.msg, "probe timeout"));
    cfg_for(&c, 0, 1);
    c.name[0] = '\0';
    assert_null(swim_new(&c, 0, &e));
    assert_non_null(strstr(e.msg, "name"));
}

/* Lifeguard: members that suspect a dead node on their own confirm one
 * another's suspicion, which brings the timeout down from its maximum,
 * suspicion_mult x log10(N+1) x probe interval (800 ms here), toward the
 * minimum, half of that, and never below. */
static void test_confirmed_suspicion_runs_out_sooner_but_not_below_the_minimum(void **st)
{
    struct net n;
    uint64_t suspected = 0, dead = 0;

    net_init(&n, 8, 12);
    join_all(&n);
    run_for(&n, 3000);
    n.down[7] = 1;
    while (!dead && n.now < 20000) {
        run_for(&n, 0);
        for (int i = 0; i < 7; i++) {
            int now_st = state_of(&n, i, 7);
            if (!suspected && now_st == SWIM_SUSPECT)
                suspected = n.now;
            if (!dead && now_st == SWIM_DEAD)
                dead = n.now;
        }
    }
    assert_true(suspected && dead);
    assert_true(dead - suspected >= 400);
    assert_true(dead - suspected < 800);
    net_free(&n);
}

/* A member that gossips a suspicion older than a refutation it missed is
 * answered at once with the newer alive, instead of keeping its stale view
 * until its suspicion timer declares a live member dead. */
static void test_stale_suspicion_is_answered_with_the_newer_alive(void **st)
{
    struct net n;
    uint8_t buf[256];
    struct node_addr a0 = addr_of(0), a1 = addr_of(1);
    uint32_t inc;
    size_t len;

    net_init(&n, 3, 13);
    join_all(&n);
    run_for(&n, 2000);
    inc = swim_self(n.node[2])->incarnation;
    /* n0, cut off, hears that n2 is suspect; n2 refutes, and only n1 hears it */
    n.cut[0][1] = n.cut[1][0] = n.cut[0][2] = n.cut[2][0] = 1;
    len = suspect_msg(buf, sizeof(buf), "n2", "n1", inc);
    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, len, NULL), 0);
    assert_int_equal(swim_recv_packet(n.node[2], n.now, &a1, buf, len, NULL), 0);
    drain(&n, 0);
    drain(&n, 2);
    run_for(&n, 50);
    assert_int_equal(state_of(&n, 0, 2), SWIM_SUSPECT);
    assert_int_equal(swim_member_find(n.node[1], "n2")->incarnation, inc + 1);
    memset(n.cut, 0, sizeof(n.cut));
    /* n0 passes its stale suspicion on to n1, which sets it right */
    assert_int_equal(swim_recv_packet(n.node[1], n.now, &a0, buf, len, NULL), 0);
    assert_int_equal(swim_stats(n.node[1])->stale_corrected, 1);
    drain(&n, 1);
    run_for(&n, 2);
    assert_int_equal(state_of(&n, 0, 2), SWIM_ALIVE);
    assert_int_equal(swim_member_find(n.node[0], "n2")->incarnation, inc + 1);
    net_free(&n);
}

/* n0 hears that n2 is suspect (n1 suspects it, and `confirmers` more on
 * their own); n2 refutes at once, but n0 misses every alive about n2 for
 * miss_ms. Returns the incarnation n2 refuted. */
static uint32_t n0_misses_refutation(struct net *n, int confirmers, uint64_t miss_ms)
{
    uint8_t buf[256];
    struct node_addr a1 = addr_of(1);
    uint32_t inc = swim_self(n->node[2])->incarnation;
    size_t len = suspect_msg(buf, sizeof(buf), "n2", "n1", inc);

    n->miss_to = 0;
    n->miss_name = "n2";
    n->miss_until = n->now + miss_ms;
    assert_int_equal(swim_recv_packet(n->node[0], n->now, &a1, buf, len, NULL), 0);
    assert_int_equal(swim_recv_packet(n->node[2], n->now, &a1, buf, len, NULL), 0);
    for (int i = 0; i < confirmers; i++) {
        char from[16];
        snprintf(from, sizeof(from), "n%d", 3 + i);
        len = suspect_msg(buf, sizeof(buf), "n2", from, inc);
        assert_int_equal(swim_recv_packet(n->node[0], n->now, &a1, buf, len, NULL), 0);
    }
    drain(n, 0);
    drain(n, 2);
    return inc + 1;
}

/* The answers to n0's stale suspicion, gossiped again halfway through its
 * 800 ms, are all lost: n0 gossips it again halfway through what is left
 * (at 600 ms), and this time it is set right before the suspicion runs out. */
static void test_suspicion_is_gossiped_again_while_time_is_left(void **st)
{
    struct net n;
    uint32_t inc;

    net_init(&n, 8, 15);
    join_all(&n);
    run_for(&n, 3000);
    inc = n0_misses_refutation(&n, 0, 500);
    run_for(&n, 500);
    assert_int_equal(state_of(&n, 0, 2), SWIM_SUSPECT);
    assert_int_equal(swim_member_find(n.node[1], "n2")->incarnation, inc);
    run_for(&n, 250);
    assert_int_equal(state_of(&n, 0, 2), SWIM_ALIVE);
    assert_int_equal(swim_member_find(n.node[0], "n2")->incarnation, inc);
    run_for(&n, 2000);
    assert_int_equal(swim_stats(n.node[0])->deaths, 0);
    net_free(&n);
}

/* Three members confirm n0's suspicion on their own, which takes its
 * timeout down to the minimum (400 ms), where the suspicion was first due
 * to be gossiped again: that gossip comes sooner, halfway through the
 * shorter time, and n0 is set right instead of declaring n2 dead. */
static void test_confirmed_suspicion_is_gossiped_again_before_it_runs_out(void **st)
{
    struct net n;
    uint32_t inc;

    net_init(&n, 8, 16);
    join_all(&n);
    run_for(&n, 3000);
    inc = n0_misses_refutation(&n, 3, 190);
    run_for(&n, 190);
    assert_int_equal(state_of(&n, 0, 2), SWIM_SUSPECT);
    run_for(&n, 150);
    assert_int_equal(state_of(&n, 0, 2), SWIM_ALIVE);
    assert_int_equal(swim_member_find(n.node[0], "n2")->incarnation, inc);
    run_for(&n, 2000);
    assert_int_equal(swim_stats(n.node[0])->deaths, 0);
    net_free(&n);
}

/* A suspicion at a newer incarnation than the one n0 suspects means that n2
 * refuted n0's suspicion (n0 missed it) and was suspected again since: it
 * replaces n0's stale suspicion with a full timeout of its own (800 ms from
 * when it came), rather than confirming it and cutting it short (600 ms from
 * the first). Left alone, the new suspicion runs out too. */
static void test_suspicion_at_a_newer_incarnation_replaces_ours(void **st)
{
    struct net n;
    uint8_t buf[256];
    struct node_addr a1 = addr_of(1);
    const struct swim_member *m;
    uint32_t inc;
    size_t len;

    net_init(&n, 8, 17);
    join_all(&n);
    run_for(&n, 3000);
    inc = swim_self(n.node[2])->incarnation;
    for (int i = 1; i < 8; i++)
        n.cut[0][i] = n.cut[i][0] = 1;
    len = suspect_msg(buf, sizeof(buf), "n2", "n1", inc);
    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, len, NULL), 0);
    drain(&n, 0);
    run_for(&n, 100);
    len = suspect_msg(buf, sizeof(buf), "n2", "n3", inc + 1);
    assert_int_equal(swim_recv_packet(n.node[0], n.now, &a1, buf, len, NULL), 0);
    drain(&n, 0);
    m = swim_member_find(n.node[0], "n2");
    assert_int_equal(m->state, SWIM_SUSPECT);
    assert_int_equal(m->incarnation, inc + 1);
    run_for(&n, 550);
    assert_int_equal(state_of(&n, 0, 2), SWIM_SUSPECT);
    run_for(&n, 400);
    assert_int_equal(state_of(&n, 0, 2), SWIM_DEAD);
    net_free(&n);
}

/* A new member tells every member its join brought it, one datagram each:
 * all know it one network hop later, not after rounds of gossip. */
static void test_joiner_announces_itself_to_every_member_at_once(void **st)
{
    struct net n;
    struct node_addr a0 = addr_of(0);

    net_init(&n, 6, 14);
    n.down[5] = 1;
    join_all(&n);
    run_for(&n, 3000);
    n.down[5] = 0;
    swim_join(n.node[5], n.now, &a0);
    drain(&n, 5);
    assert_int_equal(n.udp_sent[5], 5); /* before any timer ran */
    run_for(&n, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(state_of(&n, i, 5), SWIM_ALIVE);
    net_free(&n);
}

/* Sends the answer to n's join through `seed`: a cluster of `count`
 * members, the seed first. */
static void answer_join(struct swim *s, uint64_t now, const struct node_addr *seed, int count)
{
    struct pp_member *pm = xcalloc((size_t)count, sizeof(*pm));
    struct msg m;
    uint8_t *buf;
    int len;

    for (int i = 0; i < count; i++) {
        snprintf(pm[i].name, sizeof(pm[i].name), "m%d", i);
        pm[i].addr = *seed;
        pm[i].addr.ip[2] = (uint8_t)(i >> 8);
        pm[i].addr.ip[3] = (uint8_t)i;
        pm[i].incarnation = 1;
        pm[i].state = SWIM_ALIVE;
    }
    memset(&m, 0, sizeof(m));
    m.type = MSG_PUSHPULL;
    m.u.pushpull.n_members = (uint32_t)count;
    m.u.pushpull.members = pm;
    len = codec_size(&m, NULL);
    assert_true(len > 0);
    buf = xmalloc((size_t)len);
    assert_int_equal(codec_encode(&m, buf, (size_t)len, NULL), len);
    assert_int_equal(swim_recv_stream(s, now, seed, buf, (size_t)len, NULL, NULL, NULL), 0);
    free(buf);
    free(pm);
}

/* Datagrams that carry our alive and nothing else; fails on any other
 * member's news (none of what the join taught us is gossiped again). */
static int count_announces(struct swim *s)
{
    struct swim_out o;
    int got = 0;

    while (swim_poll_out(s, &o)) {
        struct msg m;
        if (o.kind == SWIM_OUT_UDP) {
            assert_int_equal(codec_decode(&m, o.data, o.len, NULL), 0);
            assert_int_not_equal(m.type, MSG_COMPOUND);
            if (m.type == MSG_ALIVE) {
                assert_string_equal(m.u.alive.node, "n0");
                got++;
            }
            msg_release(&m);
        }
        free(o.data);
    }
    return got;
}

/* A new member of a cluster of 300 tells each member of its join in a
 * datagram that carries nothing else: it gossips none of the 300 members it
 * learned, which all the others know already. */
static void test_joiner_gossips_none_of_the_members_its_join_taught_it(void **st)
{
    struct swim_config c;
    struct swim *s;
    struct node_addr seed = addr_of(1);
    uint64_t now = 1000;
    struct swim_out o;
    int told;

    swim_config_default(&c, SWIM_PROFILE_LAN);
    snprintf(c.name, sizeof(c.name), "n0");
    c.addr = addr_of(0);
    c.seed = 15;
    s = swim_new(&c, now, NULL);
    assert_non_null(s);
    swim_join(s, now, &seed);
    while (swim_poll_out(s, &o))
        free(o.data);
    answer_join(s, now, &seed, 300);
    assert_int_equal(swim_member_count(s), 301);
    told = count_announces(s);
    assert_int_equal(told, 300);
    now += c.gossip_interval_ms;
    swim_tick(s, now);
    assert_int_equal(count_announces(s), 0);
    swim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_through_pushpull_makes_both_know_each_other),
        cmocka_unit_test(test_join_to_unreachable_address_fails),
        cmocka_unit_test(test_five_nodes_converge_through_one_seed),
        cmocka_unit_test(test_killed_node_is_suspected_then_dead_everywhere),
        cmocka_unit_test(test_lossy_link_alone_does_not_kill_thanks_to_indirect_probes),
        cmocka_unit_test(test_ping_in_and_its_ack_out_count_under_their_kinds),
        cmocka_unit_test(test_pings_sent_count_under_ping_inside_compounds),
        cmocka_unit_test(test_killed_node_counts_raised_suspicion_and_late_acks_stay_zero),
        cmocka_unit_test(test_suspected_node_refutes_with_higher_incarnation),
        cmocka_unit_test(test_short_partition_of_one_node_does_not_kill_it),
        cmocka_unit_test(test_graceful_leave_shows_left_not_dead),
        cmocka_unit_test(test_join_through_own_address_is_no_join),
        cmocka_unit_test(test_restart_with_kept_incarnation_is_alive_at_once),
        cmocka_unit_test(test_restart_without_incarnation_refutes_its_left_record),
        cmocka_unit_test(test_member_held_left_is_reconnected_until_it_is_back),
        cmocka_unit_test(test_dead_member_is_reaped_after_reap_time),
        cmocka_unit_test(test_partitioned_halves_heal_into_one_cluster),
        cmocka_unit_test(test_returning_node_with_new_address_is_accepted_once_dead),
        cmocka_unit_test(test_isolated_node_raises_its_awareness_and_recovers),
        cmocka_unit_test(test_tags_change_reaches_everyone),
        cmocka_unit_test(test_user_broadcast_is_delivered_to_others),
        cmocka_unit_test(test_broadcast_is_retransmitted_a_bounded_number_of_times),
        cmocka_unit_test(test_malformed_packet_is_counted_and_changes_nothing),
        cmocka_unit_test(test_ping_for_another_name_gets_no_ack),
        cmocka_unit_test(test_same_seed_gives_same_outputs),
        cmocka_unit_test(test_invalid_config_is_refused_with_a_message),
        cmocka_unit_test(test_confirmed_suspicion_runs_out_sooner_but_not_below_the_minimum),
        cmocka_unit_test(test_stale_suspicion_is_answered_with_the_newer_alive),
        cmocka_unit_test(test_suspicion_is_gossiped_again_while_time_is_left),
        cmocka_unit_test(test_confirmed_suspicion_is_gossiped_again_before_it_runs_out),
        cmocka_unit_test(test_suspicion_at_a_newer_incarnation_replaces_ours),
        cmocka_unit_test(test_joiner_announces_itself_to_every_member_at_once),
        cmocka_unit_test(test_joiner_gossips_none_of_the_members_its_join_taught_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
