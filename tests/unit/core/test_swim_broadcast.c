/* Tests of core/swim_broadcast: the queue of piggybacked broadcasts. A node
 * learns members from alive messages (each queues a broadcast about that
 * member), then packets of a chosen size are packed straight from its queue
 * and their parts read back. Member names of different lengths give
 * broadcasts of different lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/swim.h"
#include "core/swim_internal.h"

#define PACKED_MAX 64

static struct swim *node_new(uint32_t queue_max)
{
    struct swim_config c;
    struct swim *s;

    swim_config_default(&c, SWIM_PROFILE_LAN);
    strcpy(c.name, "self");
    c.addr.family = 4;
    c.addr.ip[0] = 10;
    c.addr.port = 7420;
    c.seed = 1;
    if (queue_max)
        c.broadcast_queue_max = queue_max;
    s = swim_new(&c, 1000, NULL);
    assert_non_null(s);
    return s;
}

static void alive_of(struct msg *m, const char *name, uint8_t host)
{
    memset(m, 0, sizeof(*m));
    m->type = MSG_ALIVE;
    m->u.alive.incarnation = 1;
    strcpy(m->u.alive.node, name);
    m->u.alive.addr.family = 4;
    m->u.alive.addr.ip[0] = 10;
    m->u.alive.addr.ip[3] = host;
    m->u.alive.addr.port = 7420;
    m->u.alive.proto_min = m->u.alive.proto_max = 1;
}

/* The node hears that `name` is alive; returns the length of the broadcast
 * it queues about it (the same message). */
static size_t learn(struct swim *s, const char *name, uint8_t host)
{
    uint8_t buf[256];
    struct msg m;
    int len;

    alive_of(&m, name, host);
    len = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_true(len > 0);
    assert_int_equal(swim_recv_packet(s, 1000, &m.u.alive.addr, buf, (size_t)len, NULL), 0);
    return (size_t)len;
}

/* Reads back the n parts of a packed compound: the type of each, and the
 * member it is about (empty for a user payload). */
static void read_parts(const uint8_t *pkt, int n, char names[][SWIM_NAME_MAX + 1], uint8_t *types)
{
    size_t off = 3;

    for (int i = 0; i < n; i++) {
        size_t len = (size_t)pkt[off] << 8 | pkt[off + 1];
        struct msg m;
        assert_int_equal(codec_decode(&m, pkt + off + 2, len, NULL), 0);
        types[i] = m.type;
        strcpy(names[i], m.type == MSG_ALIVE  ? m.u.alive.node
                         : m.type == MSG_USER ? ""
                                              : m.u.suspect.node);
        msg_release(&m);
        off += 2 + len;
    }
}

/* Packs one packet with room for `room` bytes of parts; names[] gets the
 * member each part is about, in order. Returns the number of parts. */
static int pack(struct swim *s, size_t room, char names[][SWIM_NAME_MAX + 1])
{
    static uint8_t pkt[70000];
    uint8_t types[PACKED_MAX];
    struct compound_wr c;

    codec_compound_begin(&c, pkt, 3 + room);
    bcast_fill(s, &c);
    read_parts(pkt, c.n, names, types);
    return c.n;
}

static void test_fewest_sent_first_then_newest(void **st)
{
    struct swim *s = node_new(0);
    char got[PACKED_MAX][SWIM_NAME_MAX + 1];
    size_t len = learn(s, "a", 2);

    learn(s, "b", 3);
    learn(s, "c", 4);
    /* room for one part at a time */
    assert_int_equal(pack(s, len + 2, got), 1);
    assert_string_equal(got[0], "c");
    assert_int_equal(pack(s, len + 2, got), 1);
    assert_string_equal(got[0], "b");
    assert_int_equal(pack(s, len + 2, got), 1);
    assert_string_equal(got[0], "a");
    /* all sent once: the one sent last is the newest of its bucket now */
    assert_int_equal(pack(s, 3 * (len + 2), got), 3);
    assert_string_equal(got[0], "a");
    assert_string_equal(got[1], "b");
    assert_string_equal(got[2], "c");
    swim_free(s);
}

static void test_newest_that_fits_is_taken_when_newer_ones_are_too_long(void **st)
{
    struct swim *s = node_new(0);
    char got[PACKED_MAX][SWIM_NAME_MAX + 1];
    size_t short_len = learn(s, "s", 2);
    size_t long_len = 0;

    /* a long queue of longer, newer broadcasts in front of the short one */
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf(name, sizeof(name), "long-member-%03d", i);
        long_len = learn(s, name, (uint8_t)(3 + i % 250));
    }
    assert_true(long_len > short_len);
    assert_int_equal(pack(s, long_len + 1, got), 1);
    assert_string_equal(got[0], "s");
    /* the long ones were not sent: the newest goes first in the next packet */
    assert_int_equal(pack(s, long_len + 2, got), 1);
    assert_string_equal(got[0], "long-member-499");
    swim_free(s);
}

static void test_broadcast_goes_after_the_retransmit_limit(void **st)
{
    struct swim *s = node_new(0);
    char got[PACKED_MAX][SWIM_NAME_MAX + 1];
    uint32_t limit;

    learn(s, "a", 2);
    limit = bcast_limit(s);
    assert_true(limit > 1);
    for (uint32_t i = 0; i < limit; i++) {
        assert_int_equal(pack(s, 1000, got), 1);
        assert_string_equal(got[0], "a");
    }
    assert_int_equal(pack(s, 1000, got), 0);
    swim_free(s);
}

static void test_newer_news_about_a_member_replaces_the_older(void **st)
{
    struct swim *s = node_new(0);
    char got[PACKED_MAX][SWIM_NAME_MAX + 1];
    struct node_addr from = {.family = 4, .ip = {10, 0, 0, 9}, .port = 7420};
    uint8_t buf[256];
    struct msg m;
    int len;

    learn(s, "a", 2);
    learn(s, "b", 3);
    memset(&m, 0, sizeof(m));
    m.type = MSG_SUSPECT;
    m.u.suspect.incarnation = 1;
    strcpy(m.u.suspect.node, "a");
    strcpy(m.u.suspect.from, "b");
    len = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_int_equal(swim_recv_packet(s, 1000, &from, buf, (size_t)len, NULL), 0);
    assert_int_equal(pack(s, 1000, got), 2);
    assert_string_equal(got[0], "a"); /* the suspicion, the newest */
    assert_string_equal(got[1], "b");
    assert_int_equal(swim_member_find(s, "a")->state, SWIM_SUSPECT);
    swim_free(s);
}

static void test_full_queue_drops_the_most_sent_oldest(void **st)
{
    struct swim *s = node_new(3);
    char got[PACKED_MAX][SWIM_NAME_MAX + 1];
    size_t len = learn(s, "a", 2);

    learn(s, "b", 3);
    learn(s, "c", 4);
    assert_int_equal(pack(s, len + 2, got), 1); /* c, sent once */
    assert_int_equal(pack(s, len + 2, got), 1); /* b, sent once */
    learn(s, "d", 5);                           /* full: b and c sent most, c oldest */
    assert_int_equal(swim_stats(s)->broadcasts_dropped, 1);
    assert_int_equal(pack(s, 1000, got), 3);
    assert_string_equal(got[0], "d");
    assert_string_equal(got[1], "a");
    assert_string_equal(got[2], "b");
    swim_free(s);
}

static void test_user_payloads_keep_a_share_of_the_packet(void **st)
{
    struct swim *s = node_new(0);
    static uint8_t pkt[2000];
    char names[PACKED_MAX][SWIM_NAME_MAX + 1];
    uint8_t types[PACKED_MAX];
    struct compound_wr c;
    uint8_t payload[40] = {0};
    int users = 0;

    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof(name), "member-%03d", i);
        learn(s, name, (uint8_t)(2 + i % 250));
    }
    assert_int_equal(swim_broadcast_user(s, payload, sizeof(payload), NULL), 0);
    codec_compound_begin(&c, pkt, 1400);
    bcast_fill(s, &c);
    read_parts(pkt, c.n, names, types);
    for (int i = 0; i < c.n; i++)
        users += types[i] == MSG_USER;
    assert_int_equal(users, 1);
    assert_true(c.n > 20);
    swim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fewest_sent_first_then_newest),
        cmocka_unit_test(test_newest_that_fits_is_taken_when_newer_ones_are_too_long),
        cmocka_unit_test(test_broadcast_goes_after_the_retransmit_limit),
        cmocka_unit_test(test_newer_news_about_a_member_replaces_the_older),
        cmocka_unit_test(test_full_queue_drops_the_most_sent_oldest),
        cmocka_unit_test(test_user_payloads_keep_a_share_of_the_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
