/* Tests of core/swim_rejoin: the join policy over real swim machines whose
 * push-pulls are carried by hand, with explicit time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/swim.h"
#include "core/swim_rejoin.h"

static struct node_addr addr_of(int i)
{
    struct node_addr a = {.family = 4, .port = 7420};
    a.ip[0] = 10;
    a.ip[3] = (uint8_t)(i + 1);
    return a;
}

static struct swim *node(int i)
{
    struct swim_config c;
    struct swim *s;

    swim_config_default(&c, SWIM_PROFILE_FAST);
    c.name[0] = 'n';
    c.name[1] = (char)('0' + i);
    c.addr = addr_of(i);
    c.seed = (uint64_t)i + 1;
    s = swim_new(&c, 0, NULL);
    assert_non_null(s);
    return s;
}

static void drain(struct swim *s)
{
    struct swim_out o;
    struct swim_event ev;
    while (swim_poll_out(s, &o))
        free(o.data);
    while (swim_poll_event(s, &ev))
        free(ev.data);
}

/* a joins through b: the push-pull and its answer, carried at once */
static void join_by_hand(struct swim *a, int ai, struct swim *b, int bi, uint64_t now)
{
    struct node_addr to = addr_of(bi), from = addr_of(ai);
    struct swim_out o;
    uint8_t *reply = NULL;
    size_t reply_len = 0;

    swim_join(a, now, &to);
    while (swim_poll_out(a, &o)) {
        if (o.kind == SWIM_OUT_TCP && node_addr_eq(&o.to, &to)) {
            assert_int_equal(
                swim_recv_stream(b, now, &from, o.data, o.len, &reply, &reply_len, NULL), 0);
            assert_non_null(reply);
            assert_int_equal(swim_recv_stream(a, now, &to, reply, reply_len, NULL, NULL, NULL), 0);
            free(reply);
        }
        free(o.data);
    }
    drain(a);
    drain(b);
}

static void rejoin_init(struct swim_rejoin *r, uint64_t now)
{
    struct swim_rejoin_config c;
    swim_rejoin_config_default(&c);
    swim_rejoin_init(r, &c, now);
}

static void test_own_address_is_never_a_target(void **st)
{
    struct swim_rejoin r;
    struct node_addr a0 = addr_of(0), a1 = addr_of(1), a2 = addr_of(2);

    (void)st;
    rejoin_init(&r, 0);
    assert_int_equal(swim_rejoin_add_own(&r, &a0), 0);
    assert_int_equal(swim_rejoin_add_target(&r, &a0), SWIM_REJOIN_OWN);
    assert_int_equal(swim_rejoin_add_target(&r, &a1), SWIM_REJOIN_ADDED);
    assert_int_equal(swim_rejoin_add_target(&r, &a1), SWIM_REJOIN_DUPLICATE);
    assert_int_equal(swim_rejoin_add_target(&r, &a2), SWIM_REJOIN_ADDED);
    /* an address learned to be ours later is dropped from the targets */
    assert_int_equal(swim_rejoin_add_own(&r, &a2), 0);
    assert_int_equal(r.n_target, 1);
    assert_true(node_addr_eq(&r.target[0], &a1));
}

static void test_only_own_address_means_no_round(void **st)
{
    struct swim *s = node(0);
    struct swim_rejoin r;
    struct node_addr a0 = addr_of(0), out[4];

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_own(&r, &a0);
    swim_rejoin_add_target(&r, &a0);
    assert_int_equal(swim_rejoin_round(&r, 0, s, out, 4), 0);
    assert_int_equal(swim_rejoin_next(&r), UINT64_MAX);
    swim_free(s);
}

static void test_alone_retries_every_target_with_backoff(void **st)
{
    struct swim *s = node(0);
    struct swim_rejoin r;
    struct node_addr a1 = addr_of(1), a2 = addr_of(2), out[4];
    uint64_t now = 0, waits[8];

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_target(&r, &a1);
    swim_rejoin_add_target(&r, &a2);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(swim_rejoin_round(&r, now, s, out, 4), 2);
        assert_int_equal(r.attempts, i + 1);
        assert_int_equal(swim_rejoin_round(&r, now, s, out, 4), 0); /* not again at once */
        waits[i] = swim_rejoin_next(&r) - now;
        now = swim_rejoin_next(&r);
    }
    assert_int_equal(waits[0], 1000);
    assert_int_equal(waits[1], 2000);
    assert_int_equal(waits[5], 32000);
    assert_int_equal(waits[6], 60000); /* capped */
    assert_int_equal(waits[7], 60000);
    swim_free(s);
}

static void test_joined_refreshes_only_targets_no_live_member_has(void **st)
{
    struct swim *s0 = node(0), *s1 = node(1);
    struct swim_rejoin r;
    struct node_addr a1 = addr_of(1), a5 = addr_of(5), out[4];

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_target(&r, &a1);
    swim_rejoin_add_target(&r, &a5);
    assert_int_equal(swim_rejoin_round(&r, 0, s0, out, 4), 2);
    join_by_hand(s0, 0, s1, 1, 10);
    swim_rejoin_joined(&r, 10);
    /* no longer alone: nothing until the refresh, then only the target
     * that is no live member's address */
    assert_int_equal(swim_rejoin_round(&r, 1000, s0, out, 4), 0);
    assert_int_equal(swim_rejoin_next(&r), 1000 + 60000);
    assert_int_equal(swim_rejoin_round(&r, 30000, s0, out, 4), 0);
    assert_int_equal(swim_rejoin_round(&r, 61000, s0, out, 4), 1);
    assert_true(node_addr_eq(&out[0], &a5));
    swim_free(s0);
    swim_free(s1);
}

static void test_healthy_cluster_refresh_sends_nothing(void **st)
{
    struct swim *s0 = node(0), *s1 = node(1);
    struct swim_rejoin r;
    struct node_addr a1 = addr_of(1), out[4];

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_target(&r, &a1);
    join_by_hand(s0, 0, s1, 1, 0);
    for (uint64_t t = 0; t < 600000; t += 1000)
        assert_int_equal(swim_rejoin_round(&r, t, s0, out, 4), 0);
    swim_free(s0);
    swim_free(s1);
}

static void test_left_alone_again_retries_at_once(void **st)
{
    struct swim *s0 = node(0), *s1 = node(1);
    struct swim_rejoin r;
    struct node_addr a1 = addr_of(1), out[4];
    uint64_t now = 0;

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_target(&r, &a1);
    join_by_hand(s0, 0, s1, 1, 0);
    assert_int_equal(swim_rejoin_round(&r, 0, s0, out, 4), 0);
    /* s1 leaves: s0 hears it and is alone */
    swim_leave(s1, 100);
    for (now = 100; now < 2000 && swim_member_find(s0, "n1")->state != SWIM_LEFT; now += 10) {
        struct swim_out o;
        struct node_addr from = addr_of(1);
        swim_tick(s1, now);
        while (swim_poll_out(s1, &o)) {
            if (o.kind == SWIM_OUT_UDP)
                swim_recv_packet(s0, now, &from, o.data, o.len, NULL);
            free(o.data);
        }
        swim_tick(s0, now);
        drain(s0);
    }
    assert_int_equal(swim_member_find(s0, "n1")->state, SWIM_LEFT);
    assert_true(swim_rejoin_alone(s0));
    assert_int_equal(swim_rejoin_round(&r, now, s0, out, 4), 1);
    assert_int_equal(swim_rejoin_next(&r), now + 1000);
    swim_free(s0);
    swim_free(s1);
}

static void test_leaving_member_joins_nothing(void **st)
{
    struct swim *s = node(0);
    struct swim_rejoin r;
    struct node_addr a1 = addr_of(1), out[4];

    (void)st;
    rejoin_init(&r, 0);
    swim_rejoin_add_target(&r, &a1);
    swim_leave(s, 0);
    drain(s);
    assert_int_equal(swim_rejoin_round(&r, 0, s, out, 4), 0);
    swim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_address_is_never_a_target),
        cmocka_unit_test(test_only_own_address_means_no_round),
        cmocka_unit_test(test_alone_retries_every_target_with_backoff),
        cmocka_unit_test(test_joined_refreshes_only_targets_no_live_member_has),
        cmocka_unit_test(test_healthy_cluster_refresh_sends_nothing),
        cmocka_unit_test(test_left_alone_again_retries_at_once),
        cmocka_unit_test(test_leaving_member_joins_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
