/* Tests of core/codec: every message type round-trips; every truncation of
 * every message is refused with -EBADMSG; fields over their limits give
 * -EMSGSIZE; unknown versions and types -EPROTO; compound packets; address
 * parsing and printing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/codec.h"
#include "core/tags.h"

static const uint8_t all_types[] = {MSG_PING,     MSG_ACK,      MSG_NACK, MSG_PING_REQ,
                                    MSG_SUSPECT,  MSG_ALIVE,    MSG_DEAD, MSG_LEAVE,
                                    MSG_PUSHPULL, MSG_COMPOUND, MSG_USER};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* Backing storage for the slices that sample messages point at. */
struct sample {
    struct msg m;
    struct pp_member members[3];
    uint8_t tags[SWIM_TAGS_MAX];
    uint8_t user[64];
    uint8_t parts[2][64];
};

static void addr(struct node_addr *a, const char *s)
{
    assert_int_equal(node_addr_parse(a, s, 0, NULL), 0);
}

static uint16_t some_tags(uint8_t *buf)
{
    struct tags t = {0};
    int n;

    assert_int_equal(tags_set_kv(&t, "role=web", NULL), 0);
    assert_int_equal(tags_set_kv(&t, "zone=eu-1", NULL), 0);
    n = tags_encode(&t, buf, SWIM_TAGS_MAX, NULL);
    assert_true(n > 0);
    return (uint16_t)n;
}

static int encode_simple(uint8_t type, uint8_t *buf, size_t cap);

/* Fills s->m with a message of the given type whose every field is set. */
static void sample(struct sample *s, uint8_t type)
{
    struct msg *m = &s->m;

    memset(s, 0, sizeof(*s));
    m->type = type;
    switch (type) {
    case MSG_PING:
        m->u.ping.seq = 0x01020304;
        strcpy(m->u.ping.target, "node-b");
        strcpy(m->u.ping.source, "node-a");
        addr(&m->u.ping.source_addr, "10.0.0.1:7420");
        break;
    case MSG_ACK:
    case MSG_NACK:
        m->u.ack.seq = 0xfffffffe;
        break;
    case MSG_PING_REQ:
        m->u.ping_req.seq = 42;
        strcpy(m->u.ping_req.target, "c");
        addr(&m->u.ping_req.target_addr, "[fd00::3]:7420");
        strcpy(m->u.ping_req.source, "a");
        addr(&m->u.ping_req.source_addr, "10.0.0.1:7420");
        m->u.ping_req.want_nack = 1;
        break;
    case MSG_SUSPECT:
    case MSG_DEAD:
        m->u.suspect.incarnation = 7;
        strcpy(m->u.suspect.node, "victim");
        strcpy(m->u.suspect.from, "accuser");
        break;
    case MSG_ALIVE:
        m->u.alive.incarnation = 9;
        strcpy(m->u.alive.node, "web1");
        addr(&m->u.alive.addr, "192.168.1.20:7420");
        m->u.alive.proto_min = 1;
        m->u.alive.proto_max = 1;
        m->u.alive.tags_len = some_tags(m->u.alive.tags);
        break;
    case MSG_LEAVE:
        m->u.leave.incarnation = 3;
        strcpy(m->u.leave.node, "leaver");
        break;
    case MSG_PUSHPULL: {
        uint16_t tl = some_tags(s->tags);
        const char *names[3] = {"a", "bb", "ccc"};
        const char *addrs[3] = {"10.0.0.1:7420", "[::1]:7421", "10.0.0.3:1"};
        for (int i = 0; i < 3; i++) {
            strcpy(s->members[i].name, names[i]);
            addr(&s->members[i].addr, addrs[i]);
            s->members[i].incarnation = (uint32_t)(100 + i);
            s->members[i].state = (uint8_t)i;
            s->members[i].tags = i == 1 ? s->tags : NULL;
            s->members[i].tags_len = i == 1 ? tl : 0;
        }
        m->u.pushpull.join = 1;
        m->u.pushpull.n_members = 3;
        m->u.pushpull.members = s->members;
        memcpy(s->user, "upper layer state", 17);
        m->u.pushpull.user = s->user;
        m->u.pushpull.user_len = 17;
        break;
    }
    case MSG_USER:
        memcpy(s->user, "crdt delta", 10);
        m->u.user.data = s->user;
        m->u.user.len = 10;
        break;
    case MSG_COMPOUND: {
        int n0 = encode_simple(MSG_ACK, s->parts[0], sizeof(s->parts[0]));
        int n1 = encode_simple(MSG_LEAVE, s->parts[1], sizeof(s->parts[1]));
        m->u.compound.n = 2;
        m->u.compound.part[0] = s->parts[0];
        m->u.compound.part_len[0] = (uint16_t)n0;
        m->u.compound.part[1] = s->parts[1];
        m->u.compound.part_len[1] = (uint16_t)n1;
        break;
    }
    default:
        fail_msg("no sample for type %u", type);
    }
}

static int encode_simple(uint8_t type, uint8_t *buf, size_t cap)
{
    struct sample *s = calloc(1, sizeof(*s));
    int n;

    sample(s, type);
    n = codec_encode(&s->m, buf, cap, NULL);
    assert_true(n > 0);
    free(s);
    return n;
}

/* Encodes the sample of a type into buf (CODEC_PACKET_MAX bytes). */
static int encode_sample(uint8_t type, uint8_t *buf)
{
    return encode_simple(type, buf, CODEC_PACKET_MAX);
}

static void assert_same_msg(const struct msg *a, const struct msg *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case MSG_PING:
        assert_int_equal(a->u.ping.seq, b->u.ping.seq);
        assert_string_equal(a->u.ping.target, b->u.ping.target);
        assert_string_equal(a->u.ping.source, b->u.ping.source);
        assert_true(node_addr_eq(&a->u.ping.source_addr, &b->u.ping.source_addr));
        break;
    case MSG_ACK:
    case MSG_NACK:
        assert_int_equal(a->u.ack.seq, b->u.ack.seq);
        break;
    case MSG_PING_REQ:
        assert_int_equal(a->u.ping_req.seq, b->u.ping_req.seq);
        assert_string_equal(a->u.ping_req.target, b->u.ping_req.target);
        assert_true(node_addr_eq(&a->u.ping_req.target_addr, &b->u.ping_req.target_addr));
        assert_string_equal(a->u.ping_req.source, b->u.ping_req.source);
        assert_true(node_addr_eq(&a->u.ping_req.source_addr, &b->u.ping_req.source_addr));
        assert_int_equal(a->u.ping_req.want_nack, b->u.ping_req.want_nack);
        break;
    case MSG_SUSPECT:
    case MSG_DEAD:
        assert_int_equal(a->u.suspect.incarnation, b->u.suspect.incarnation);
        assert_string_equal(a->u.suspect.node, b->u.suspect.node);
        assert_string_equal(a->u.suspect.from, b->u.suspect.from);
        break;
    case MSG_ALIVE:
        assert_int_equal(a->u.alive.incarnation, b->u.alive.incarnation);
        assert_string_equal(a->u.alive.node, b->u.alive.node);
        assert_true(node_addr_eq(&a->u.alive.addr, &b->u.alive.addr));
        assert_int_equal(a->u.alive.proto_min, b->u.alive.proto_min);
        assert_int_equal(a->u.alive.proto_max, b->u.alive.proto_max);
        assert_int_equal(a->u.alive.tags_len, b->u.alive.tags_len);
        assert_memory_equal(a->u.alive.tags, b->u.alive.tags, a->u.alive.tags_len);
        break;
    case MSG_LEAVE:
        assert_int_equal(a->u.leave.incarnation, b->u.leave.incarnation);
        assert_string_equal(a->u.leave.node, b->u.leave.node);
        break;
    case MSG_PUSHPULL:
        assert_int_equal(a->u.pushpull.join, b->u.pushpull.join);
        assert_int_equal(a->u.pushpull.n_members, b->u.pushpull.n_members);
        for (uint32_t i = 0; i < a->u.pushpull.n_members; i++) {
            const struct pp_member *x = &a->u.pushpull.members[i];
            const struct pp_member *y = &b->u.pushpull.members[i];
            assert_string_equal(x->name, y->name);
            assert_true(node_addr_eq(&x->addr, &y->addr));
            assert_int_equal(x->incarnation, y->incarnation);
            assert_int_equal(x->state, y->state);
            assert_int_equal(x->tags_len, y->tags_len);
            if (x->tags_len)
                assert_memory_equal(x->tags, y->tags, x->tags_len);
        }
        assert_int_equal(a->u.pushpull.user_len, b->u.pushpull.user_len);
        assert_memory_equal(a->u.pushpull.user, b->u.pushpull.user, a->u.pushpull.user_len);
        break;
    case MSG_USER:
        assert_int_equal(a->u.user.len, b->u.user.len);
        assert_memory_equal(a->u.user.data, b->u.user.data, a->u.user.len);
        break;
    case MSG_COMPOUND:
        assert_int_equal(a->u.compound.n, b->u.compound.n);
        for (unsigned i = 0; i < a->u.compound.n; i++) {
            assert_int_equal(a->u.compound.part_len[i], b->u.compound.part_len[i]);
            assert_memory_equal(a->u.compound.part[i], b->u.compound.part[i],
                                a->u.compound.part_len[i]);
        }
        break;
    }
}

static void test_every_message_type_round_trips(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    struct msg *d = calloc(1, sizeof(*d));
    uint8_t buf[CODEC_PACKET_MAX];
    struct err e;

    for (size_t i = 0; i < N_TYPES; i++) {
        int n;
        sample(s, all_types[i]);
        n = codec_encode(&s->m, buf, sizeof(buf), &e);
        assert_true(n > 2);
        assert_int_equal(buf[0], CODEC_VERSION);
        assert_int_equal(buf[1], all_types[i]);
        assert_int_equal(codec_size(&s->m, &e), n);
        assert_int_equal(codec_decode(d, buf, (size_t)n, &e), 0);
        assert_same_msg(&s->m, d);
        msg_release(d);
    }
    free(d);
    free(s);
}

static void test_every_truncation_of_every_message_is_refused(void **state)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;

    for (size_t i = 0; i < N_TYPES; i++) {
        int n = encode_sample(all_types[i], buf);
        for (int len = 0; len < n; len++) {
            /* a copy of exactly len bytes, so reading past it is caught */
            uint8_t *cut = malloc((size_t)len + 1);
            int rc;
            memcpy(cut, buf, (size_t)len);
            rc = codec_decode(d, cut, (size_t)len, &e);
            if (rc != -EBADMSG)
                fail_msg("type %u cut to %d of %d bytes: %d (%s)", all_types[i], len, n, rc, e.msg);
            assert_non_null(strstr(e.msg, "malformed"));
            free(cut);
        }
    }
    free(d);
}

static void test_trailing_bytes_after_a_message_are_refused(void **state)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg d;
    struct err e;

    for (size_t i = 0; i < N_TYPES; i++) {
        int n = encode_sample(all_types[i], buf);
        buf[n] = 0;
        assert_int_equal(codec_decode(&d, buf, (size_t)n + 1, &e), -EBADMSG);
        assert_non_null(strstr(e.msg, "trailing"));
    }
}

static void test_truncated_ping_is_refused(void **state)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg d;
    struct err e;
    int n = encode_sample(MSG_PING, buf);

    assert_int_equal(codec_decode(&d, buf, (size_t)n - 1, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "address truncated"));
}

static void test_unknown_version_is_refused_as_protocol_error(void **state)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg d;
    struct err e;
    int n = encode_sample(MSG_ACK, buf);

    buf[0] = CODEC_VERSION + 1;
    assert_int_equal(codec_decode(&d, buf, (size_t)n, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "version 2"));
    buf[0] = 0;
    assert_int_equal(codec_decode(&d, buf, (size_t)n, &e), -EPROTO);
}

static void test_unknown_type_is_refused_as_protocol_error(void **state)
{
    const uint8_t zero[] = {CODEC_VERSION, 0, 0, 0, 0, 0};
    const uint8_t high[] = {CODEC_VERSION, 200, 0, 0, 0, 0};
    struct msg d;
    struct err e;

    assert_int_equal(codec_decode(&d, zero, sizeof(zero), &e), -EPROTO);
    assert_int_equal(codec_decode(&d, high, sizeof(high), &e), -EPROTO);
    assert_non_null(strstr(e.msg, "type 200"));
}

static void test_encoding_an_unknown_type_is_invalid(void **state)
{
    struct msg m = {.type = 99};
    uint8_t buf[64];
    struct err e;

    assert_int_equal(codec_encode(&m, buf, sizeof(buf), &e), -EINVAL);
    assert_int_equal(codec_size(&m, &e), -EINVAL);
}

static void test_oversized_name_is_refused_both_ways(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg d;
    struct err e;
    int n;

    /* encoding: a name filling its whole array, with no room for the NUL */
    sample(s, MSG_LEAVE);
    memset(s->m.u.leave.node, 'n', SWIM_NAME_MAX + 1);
    assert_int_equal(codec_encode(&s->m, buf, sizeof(buf), &e), -EMSGSIZE);
    assert_non_null(strstr(e.msg, "name"));

    /* decoding: a name length byte of 65 with 65 bytes behind it */
    buf[0] = CODEC_VERSION;
    buf[1] = MSG_LEAVE;
    memset(buf + 2, 0, 4);
    buf[6] = SWIM_NAME_MAX + 1;
    memset(buf + 7, 'n', SWIM_NAME_MAX + 1);
    n = 7 + SWIM_NAME_MAX + 1;
    assert_int_equal(codec_decode(&d, buf, (size_t)n, &e), -EMSGSIZE);
    /* exactly the limit is fine */
    buf[6] = SWIM_NAME_MAX;
    assert_int_equal(codec_decode(&d, buf, (size_t)n - 1, &e), 0);
    assert_int_equal(strlen(d.u.leave.node), SWIM_NAME_MAX);
    free(s);
}

static void test_empty_name_or_name_with_nul_is_refused(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    const uint8_t empty[] = {CODEC_VERSION, MSG_LEAVE, 0, 0, 0, 1, 0};
    const uint8_t nul[] = {CODEC_VERSION, MSG_LEAVE, 0, 0, 0, 1, 2, 'a', 0};
    struct msg d;
    struct err e;

    sample(s, MSG_LEAVE);
    s->m.u.leave.node[0] = '\0';
    assert_int_equal(codec_encode(&s->m, buf, sizeof(buf), &e), -EINVAL);
    assert_int_equal(codec_decode(&d, empty, sizeof(empty), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(codec_decode(&d, nul, sizeof(nul), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "NUL"));
    free(s);
}

static void test_oversized_tags_are_refused_both_ways(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[2048];
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;
    int n;

    sample(s, MSG_ALIVE);
    s->m.u.alive.tags_len = SWIM_TAGS_MAX + 1;
    assert_int_equal(codec_encode(&s->m, buf, sizeof(buf), &e), -EMSGSIZE);
    assert_non_null(strstr(e.msg, "tags"));

    /* decoding: patch the tags length of a valid alive to 513 and pad */
    sample(s, MSG_ALIVE);
    n = codec_encode(&s->m, buf, sizeof(buf), &e);
    {
        size_t at = (size_t)n - s->m.u.alive.tags_len - 2;
        buf[at] = (uint8_t)((SWIM_TAGS_MAX + 1) >> 8);
        buf[at + 1] = (uint8_t)(SWIM_TAGS_MAX + 1);
        memset(buf + at + 2, 0, SWIM_TAGS_MAX + 1);
        n = (int)(at + 2 + SWIM_TAGS_MAX + 1);
    }
    assert_int_equal(codec_decode(d, buf, (size_t)n, &e), -EMSGSIZE);
    free(d);
    free(s);
}

static void test_malformed_tags_inside_alive_are_refused(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;
    int n;

    sample(s, MSG_ALIVE);
    s->m.u.alive.tags_len = 3;
    memcpy(s->m.u.alive.tags, "\x00\x00\x00", 3); /* empty key */
    n = codec_encode(&s->m, buf, sizeof(buf), &e);
    assert_int_equal(codec_decode(d, buf, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "tags"));
    free(d);
    free(s);
}

static void test_oversized_user_payload_is_refused_both_ways(void **state)
{
    static uint8_t big[CODEC_USER_MAX + 8];
    uint8_t buf[CODEC_USER_MAX + 16];
    struct msg m = {.type = MSG_USER}, d;
    struct err e;

    m.u.user.data = big;
    m.u.user.len = CODEC_USER_MAX + 1;
    assert_int_equal(codec_encode(&m, buf, sizeof(buf), &e), -EMSGSIZE);
    m.u.user.len = CODEC_USER_MAX;
    assert_int_equal(codec_encode(&m, buf, sizeof(buf), &e), CODEC_USER_MAX + 4);
    assert_int_equal(codec_decode(&d, buf, CODEC_USER_MAX + 4, &e), 0);
    buf[2] = (uint8_t)((CODEC_USER_MAX + 1) >> 8);
    buf[3] = (uint8_t)(CODEC_USER_MAX + 1);
    buf[CODEC_USER_MAX + 4] = 0;
    assert_int_equal(codec_decode(&d, buf, CODEC_USER_MAX + 5, &e), -EMSGSIZE);
}

static void test_message_larger_than_the_buffer_is_refused(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct err e;
    int n;

    for (size_t i = 0; i < N_TYPES; i++) {
        sample(s, all_types[i]);
        n = codec_size(&s->m, &e);
        assert_true(n > 0);
        assert_int_equal(codec_encode(&s->m, buf, (size_t)n - 1, &e), -EMSGSIZE);
        assert_int_equal(codec_encode(&s->m, buf, (size_t)n, &e), n);
    }
    free(s);
}

static void test_bad_address_family_is_refused_both_ways(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg d;
    struct err e;
    int n;

    sample(s, MSG_PING);
    n = codec_encode(&s->m, buf, sizeof(buf), &e);
    buf[n - 7] = 5; /* the family byte of the IPv4 source address */
    assert_int_equal(codec_decode(&d, buf, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "family 5"));
    s->m.u.ping.source_addr.family = 0;
    assert_int_equal(codec_encode(&s->m, buf, sizeof(buf), &e), -EINVAL);
    free(s);
}

static void test_flags_other_than_zero_or_one_are_refused(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;
    int n;

    n = encode_sample(MSG_PING_REQ, buf);
    buf[n - 1] = 2; /* want_nack */
    assert_int_equal(codec_decode(d, buf, (size_t)n, &e), -EBADMSG);
    n = encode_sample(MSG_PUSHPULL, buf);
    buf[2] = 2; /* join */
    assert_int_equal(codec_decode(d, buf, (size_t)n, &e), -EBADMSG);
    free(d);
    free(s);
}

static void test_pushpull_member_with_bad_state_is_refused(void **state)
{
    struct sample *s = calloc(1, sizeof(*s));
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;
    int n;

    sample(s, MSG_PUSHPULL);
    s->members[0].state = SWIM_LEFT + 1;
    assert_int_equal(codec_encode(&s->m, buf, sizeof(buf), &e), -EINVAL);
    s->members[0].state = SWIM_ALIVE;
    n = codec_encode(&s->m, buf, sizeof(buf), &e);
    /* first member: join(1) count(4) name(2) addr(7) incarnation(4), then state */
    buf[2 + 1 + 4 + 2 + 7 + 4] = SWIM_LEFT + 1;
    assert_int_equal(codec_decode(d, buf, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "state"));
    free(d);
    free(s);
}

static void test_pushpull_claiming_more_members_than_bytes_is_refused(void **state)
{
    /* 4 billion members in 20 bytes must not allocate anything */
    uint8_t buf[2 + 1 + 4 + 20] = {CODEC_VERSION, MSG_PUSHPULL, 0, 0xff, 0xff, 0xff, 0xff};
    struct msg *d = calloc(1, sizeof(*d));
    struct err e;

    assert_int_equal(codec_decode(d, buf, sizeof(buf), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "claims"));
    assert_null(d->u.pushpull.members);
    free(d);
}

static void test_empty_pushpull_round_trips(void **state)
{
    struct msg m = {.type = MSG_PUSHPULL}, *d = calloc(1, sizeof(*d));
    uint8_t buf[64];
    int n;

    n = codec_encode(&m, buf, sizeof(buf), NULL);
    assert_int_equal(n, 2 + 1 + 4 + 4);
    assert_int_equal(codec_decode(d, buf, (size_t)n, NULL), 0);
    assert_int_equal(d->u.pushpull.n_members, 0);
    assert_null(d->u.pushpull.members);
    msg_release(d);
    free(d);
}

static void test_compound_builder_packs_parts_that_decode_one_by_one(void **state)
{
    uint8_t parts[3][CODEC_PACKET_MAX], pkt[CODEC_PACKET_MAX];
    int len[3];
    const uint8_t types[3] = {MSG_PING, MSG_ALIVE, MSG_SUSPECT};
    struct compound_wr c;
    struct msg *d = calloc(1, sizeof(*d)), *p = calloc(1, sizeof(*p));
    size_t n;

    codec_compound_begin(&c, pkt, sizeof(pkt));
    for (int i = 0; i < 3; i++) {
        len[i] = encode_sample(types[i], parts[i]);
        assert_int_equal(codec_compound_add(&c, parts[i], (size_t)len[i]), 0);
    }
    n = codec_compound_finish(&c);
    assert_int_equal(n, 3 + codec_compound_cost((size_t)len[0]) +
                            codec_compound_cost((size_t)len[1]) +
                            codec_compound_cost((size_t)len[2]));
    assert_int_equal(codec_decode(d, pkt, n, NULL), 0);
    assert_int_equal(d->type, MSG_COMPOUND);
    assert_int_equal(d->u.compound.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d->u.compound.part_len[i], len[i]);
        assert_int_equal(codec_decode(p, d->u.compound.part[i], d->u.compound.part_len[i], NULL),
                         0);
        assert_int_equal(p->type, types[i]);
        msg_release(p);
    }
    free(p);
    free(d);
}

static void test_compound_of_one_part_is_the_part_alone(void **state)
{
    uint8_t part[CODEC_PACKET_MAX], pkt[CODEC_PACKET_MAX];
    struct compound_wr c;
    int len = encode_sample(MSG_ACK, part);

    codec_compound_begin(&c, pkt, sizeof(pkt));
    assert_int_equal(codec_compound_add(&c, part, (size_t)len), 0);
    assert_int_equal(codec_compound_finish(&c), len);
    assert_memory_equal(pkt, part, (size_t)len);
}

static void test_compound_with_no_parts_is_empty(void **state)
{
    uint8_t pkt[16];
    struct compound_wr c;

    codec_compound_begin(&c, pkt, sizeof(pkt));
    assert_int_equal(codec_compound_finish(&c), 0);
}

static void test_compound_builder_refuses_what_does_not_fit(void **state)
{
    uint8_t part[CODEC_PACKET_MAX], pkt[40];
    struct compound_wr c;
    int len = encode_sample(MSG_ACK, part); /* 6 bytes, 8 in a compound */
    int added = 0;

    codec_compound_begin(&c, pkt, sizeof(pkt));
    while (codec_compound_add(&c, part, (size_t)len) == 0)
        added++;
    assert_int_equal(added, (40 - 3) / 8);
    assert_int_equal(codec_compound_add(&c, part, (size_t)len), -EMSGSIZE);
    assert_int_equal(codec_compound_finish(&c), 3 + added * 8);
}

static void test_compound_builder_stops_at_the_part_limit(void **state)
{
    static uint8_t pkt[CODEC_STREAM_MAX / 64];
    uint8_t part[CODEC_PACKET_MAX];
    struct compound_wr c;
    int len = encode_sample(MSG_ACK, part);

    codec_compound_begin(&c, pkt, sizeof(pkt));
    for (int i = 0; i < CODEC_COMPOUND_MAX; i++)
        assert_int_equal(codec_compound_add(&c, part, (size_t)len), 0);
    assert_int_equal(codec_compound_add(&c, part, (size_t)len), -EMSGSIZE);
}

static void test_compound_inside_a_compound_is_refused(void **state)
{
    uint8_t inner[CODEC_PACKET_MAX], outer[CODEC_PACKET_MAX];
    struct msg m = {.type = MSG_COMPOUND}, *d = calloc(1, sizeof(*d));
    struct err e;
    int ni = encode_sample(MSG_COMPOUND, inner), n;

    m.u.compound.n = 1;
    m.u.compound.part[0] = inner;
    m.u.compound.part_len[0] = (uint16_t)ni;
    n = codec_encode(&m, outer, sizeof(outer), &e);
    assert_true(n > 0);
    assert_int_equal(codec_decode(d, outer, (size_t)n, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "compound inside a compound"));
    free(d);
}

static void test_compound_with_zero_or_too_many_parts_is_refused(void **state)
{
    const uint8_t zero[] = {CODEC_VERSION, MSG_COMPOUND, 0};
    uint8_t many[3 + 65 * 4] = {CODEC_VERSION, MSG_COMPOUND, CODEC_COMPOUND_MAX + 1};
    struct msg m = {.type = MSG_COMPOUND}, *d = calloc(1, sizeof(*d));
    uint8_t buf[64];
    struct err e;

    assert_int_equal(codec_decode(d, zero, sizeof(zero), &e), -EBADMSG);
    for (int i = 0; i < 65; i++) {
        many[3 + i * 4 + 1] = 2;
        many[3 + i * 4 + 2] = CODEC_VERSION;
        many[3 + i * 4 + 3] = MSG_ACK;
    }
    assert_int_equal(codec_decode(d, many, sizeof(many), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "65 parts"));
    m.u.compound.n = CODEC_COMPOUND_MAX + 1;
    assert_int_equal(codec_encode(&m, buf, sizeof(buf), &e), -EMSGSIZE);
    free(d);
}

static void test_compound_part_shorter_than_a_header_is_refused(void **state)
{
    const uint8_t pkt[] = {CODEC_VERSION, MSG_COMPOUND, 1, 0, 1, CODEC_VERSION};
    struct msg d;
    struct err e;

    assert_int_equal(codec_decode(&d, pkt, sizeof(pkt), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "too short"));
}

static void test_ipv4_address_parses_and_prints(void **state)
{
    struct node_addr a;
    char buf[64];

    assert_int_equal(node_addr_parse(&a, "10.1.2.3:7420", 0, NULL), 0);
    assert_int_equal(a.family, 4);
    assert_int_equal(a.port, 7420);
    assert_memory_equal(a.ip, "\x0a\x01\x02\x03", 4);
    assert_string_equal(node_addr_str(&a, buf, sizeof(buf)), "10.1.2.3:7420");
}

static void test_ipv6_address_parses_in_brackets_and_prints_in_brackets(void **state)
{
    struct node_addr a;
    char buf[64];

    assert_int_equal(node_addr_parse(&a, "[fd00::1]:80", 0, NULL), 0);
    assert_int_equal(a.family, 6);
    assert_int_equal(a.port, 80);
    assert_string_equal(node_addr_str(&a, buf, sizeof(buf)), "[fd00::1]:80");
    assert_int_equal(
        node_addr_parse(&a, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 0, NULL), 0);
    assert_string_equal(node_addr_str(&a, buf, sizeof(buf)),
                        "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_address_without_port_takes_the_default_port(void **state)
{
    struct node_addr a;
    char buf[64];

    assert_int_equal(node_addr_parse(&a, "10.0.0.1", 7420, NULL), 0);
    assert_int_equal(a.port, 7420);
    assert_int_equal(node_addr_parse(&a, "[::1]", 7420, NULL), 0);
    assert_string_equal(node_addr_str(&a, buf, sizeof(buf)), "[::1]:7420");
    assert_int_equal(node_addr_parse(&a, "fd00::2", 7420, NULL), 0); /* bare IPv6 */
    assert_int_equal(a.family, 6);
    assert_int_equal(a.port, 7420);
}

static void test_address_without_port_and_no_default_is_refused(void **state)
{
    struct node_addr a;
    struct err e;

    assert_int_equal(node_addr_parse(&a, "10.0.0.1", 0, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "missing :PORT"));
    assert_non_null(strstr(e.msg, "10.0.0.1"));
}

static void test_bad_addresses_are_refused_naming_the_text(void **state)
{
    static const char *const bad[] = {
        "",
        ":7420",
        "10.0.0.1:",
        "10.0.0.1:99999",
        "10.0.0.1:-1",
        "10.0.0.1:+1",
        "10.0.0.1:80x",
        "10.0.0.1:0x10",
        "host.example:80",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[]:80",
        "[10.0.0.1]x:1",
        "1.2.3:80",
        "256.0.0.1:1",
        "10.0.0.1 :80",
    };
    struct node_addr a;
    struct err e;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = node_addr_parse(&a, bad[i], 7420, &e);
        if (rc != -EINVAL)
            fail_msg("\"%s\" parsed (rc %d)", bad[i], rc);
        if (!strstr(e.msg, "address \"") || (bad[i][0] && !strstr(e.msg, bad[i])))
            fail_msg("the message for \"%s\" does not name it: %s", bad[i], e.msg);
    }
}

static void test_address_equality_compares_family_ip_and_port(void **state)
{
    struct node_addr a, b;

    addr(&a, "10.0.0.1:1");
    addr(&b, "10.0.0.1:1");
    assert_true(node_addr_eq(&a, &b));
    addr(&b, "10.0.0.1:2");
    assert_false(node_addr_eq(&a, &b));
    addr(&b, "10.0.0.2:1");
    assert_false(node_addr_eq(&a, &b));
    addr(&b, "[::ffff:10.0.0.1]:1");
    assert_false(node_addr_eq(&a, &b));
}

static void test_address_to_sockaddr_and_back_keeps_family_ip_and_port(void **state)
{
    const char *texts[] = {"10.1.2.3:7420", "[fd00::1]:53"};
    struct sockaddr_storage ss;
    struct node_addr a, b;

    for (size_t i = 0; i < 2; i++) {
        addr(&a, texts[i]);
        size_t len = node_addr_to_sockaddr(&a, &ss);
        assert_int_equal(ss.ss_family, a.family == 4 ? AF_INET : AF_INET6);
        assert_int_equal(len,
                         a.family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        node_addr_from_sockaddr((struct sockaddr *)&ss, &b);
        assert_true(node_addr_eq(&a, &b));
    }
    ss.ss_family = AF_UNIX;
    node_addr_from_sockaddr((struct sockaddr *)&ss, &b);
    assert_int_equal(b.family, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_message_type_round_trips),
        cmocka_unit_test(test_every_truncation_of_every_message_is_refused),
        cmocka_unit_test(test_trailing_bytes_after_a_message_are_refused),
        cmocka_unit_test(test_truncated_ping_is_refused),
        cmocka_unit_test(test_unknown_version_is_refused_as_protocol_error),
        cmocka_unit_test(test_unknown_type_is_refused_as_protocol_error),
        cmocka_unit_test(test_encoding_an_unknown_type_is_invalid),
        cmocka_unit_test(test_oversized_name_is_refused_both_ways),
        cmocka_unit_test(test_empty_name_or_name_with_nul_is_refused),
        cmocka_unit_test(test_oversized_tags_are_refused_both_ways),
        cmocka_unit_test(test_malformed_tags_inside_alive_are_refused),
        cmocka_unit_test(test_oversized_user_payload_is_refused_both_ways),
        cmocka_unit_test(test_message_larger_than_the_buffer_is_refused),
        cmocka_unit_test(test_bad_address_family_is_refused_both_ways),
        cmocka_unit_test(test_flags_other_than_zero_or_one_are_refused),
        cmocka_unit_test(test_pushpull_member_with_bad_state_is_refused),
        cmocka_unit_test(test_pushpull_claiming_more_members_than_bytes_is_refused),
        cmocka_unit_test(test_empty_pushpull_round_trips),
        cmocka_unit_test(test_compound_builder_packs_parts_that_decode_one_by_one),
        cmocka_unit_test(test_compound_of_one_part_is_the_part_alone),
        cmocka_unit_test(test_compound_with_no_parts_is_empty),
        cmocka_unit_test(test_compound_builder_refuses_what_does_not_fit),
        cmocka_unit_test(test_compound_builder_stops_at_the_part_limit),
        cmocka_unit_test(test_compound_inside_a_compound_is_refused),
        cmocka_unit_test(test_compound_with_zero_or_too_many_parts_is_refused),
        cmocka_unit_test(test_compound_part_shorter_than_a_header_is_refused),
        cmocka_unit_test(test_ipv4_address_parses_and_prints),
        cmocka_unit_test(test_ipv6_address_parses_in_brackets_and_prints_in_brackets),
        cmocka_unit_test(test_address_without_port_takes_the_default_port),
        cmocka_unit_test(test_address_without_port_and_no_default_is_refused),
        cmocka_unit_test(test_bad_addresses_are_refused_naming_the_text),
        cmocka_unit_test(test_address_equality_compares_family_ip_and_port),
        cmocka_unit_test(test_address_to_sockaddr_and_back_keeps_family_ip_and_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
