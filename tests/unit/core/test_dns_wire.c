/* Tests of core/dns_wire: names in text and wire form, which requests are
 * well-formed, and how responses compress their names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/dns_wire.h"

/* A query for "web.service.troupe." A with ID 0x1234; returns its length. */
static size_t query(uint8_t *m, uint16_t arcount)
{
    static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,   0,
                                3,    'W',  'e',  'b',  7,   's', 'e', 'r', 'v', 'i', 'c', 'e',
                                6,    't',  'r',  'o',  'u', 'p', 'e', 0,   0,   1,   0,   1};
    memcpy(m, q, sizeof(q));
    dnsw_put16(m + DNSW_ARCOUNT, arcount);
    return sizeof(q);
}

/* Appends an OPT record: owner (1 byte), payload, version, rdata. */
static size_t opt(uint8_t *m, size_t len, uint8_t owner, uint16_t payload, uint8_t version,
                  const uint8_t *rdata, uint16_t rdlen)
{
    uint8_t rr[11] = {owner,   0, 41, (uint8_t)(payload >> 8), (uint8_t)payload, 0,
                      version, 0, 0,  (uint8_t)(rdlen >> 8),   (uint8_t)rdlen};
    memcpy(m + len, rr, sizeof(rr));
    if (rdlen) /* rdata may be NULL then, which memcpy must not see */
        memcpy(m + len + sizeof(rr), rdata, rdlen);
    return len + sizeof(rr) + rdlen;
}

static void test_names_from_and_to_text(void **state)
{
    uint8_t n[DNSW_NAME_MAX];
    char text[DNSW_TEXT_MAX + 1];
    char long_label[70];

    (void)state;
    assert_int_equal(dnsw_name_from_text(n, "a.Bc."), 6);
    assert_memory_equal(n, "\1a\2Bc\0", 6);
    assert_int_equal(dnsw_name_from_text(n, "a.Bc"), 6); /* the last dot is optional */
    assert_int_equal(dnsw_name_from_text(n, "."), 1);
    assert_int_equal(dnsw_name_from_text(n, "a..b"), 0);
    assert_int_equal(dnsw_name_from_text(n, ".a"), 0);
    assert_int_equal(dnsw_name_from_text(n, ""), 0);
    memset(long_label, 'x', 64);
    long_label[64] = '\0';
    assert_int_equal(dnsw_name_from_text(n, long_label), 0);
    long_label[63] = '\0';
    assert_int_equal(dnsw_name_from_text(n, long_label), 65);
    dnsw_name_from_text(n, "My Zone.troupe");
    dnsw_name_lower(n);
    dnsw_name_to_text(n, text);
    assert_string_equal(text, "my\\032zone.troupe.");
}

static void test_depth_below_the_zone(void **state)
{
    uint8_t zone[DNSW_NAME_MAX], n[DNSW_NAME_MAX];

    (void)state;
    dnsw_name_from_text(zone, "troupe.");
    dnsw_name_from_text(n, "web.service.troupe.");
    assert_int_equal(dnsw_name_depth(n, zone), 2);
    assert_int_equal(dnsw_name_depth(zone, zone), 0);
    dnsw_name_from_text(n, "web.service.troupe.example.");
    assert_int_equal(dnsw_name_depth(n, zone), -1);
    dnsw_name_from_text(n, "xtroupe.");
    assert_int_equal(dnsw_name_depth(n, zone), -1);
}

static void test_query_with_edns_parses(void **state)
{
    uint8_t m[128];
    const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    struct dnsw_query q;
    size_t len = opt(m, query(m, 1), 0, 4096, 0, cookie, sizeof(cookie));

    (void)state;
    assert_int_equal(dnsw_parse_query(m, len, &q), 0);
    assert_memory_equal(q.qname, "\3web\7service\6troupe\0", 20); /* lower case */
    assert_int_equal(q.qsize, 20 + 4);
    assert_int_equal(q.qtype, DNSW_A);
    assert_int_equal(q.qclass, DNSW_CLASS_IN);
    assert_true(q.has_opt);
    assert_int_equal(q.opt_payload, 4096);
    assert_int_equal(q.opt_version, 0);
}

static void test_malformed_queries_are_refused(void **state)
{
    uint8_t m[160];
    const uint8_t bad_option[] = {0, 10, 0, 9, 1, 2, 3};
    struct dnsw_query q;
    size_t len;

    (void)state;
    /* truncated anywhere: the question, the OPT record */
    len = query(m, 0);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(dnsw_parse_query(m, cut, &q), -EBADMSG);
    len = opt(m, query(m, 1), 0, 1232, 0, NULL, 0);
    assert_int_equal(dnsw_parse_query(m, len - 1, &q), -EBADMSG);
    /* a byte after the last record */
    len = query(m, 0);
    m[len] = 0;
    assert_int_equal(dnsw_parse_query(m, len + 1, &q), -EBADMSG);
    /* two questions */
    len = query(m, 0);
    dnsw_put16(m + DNSW_QDCOUNT, 2);
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    /* two OPT records */
    len = opt(m, opt(m, query(m, 2), 0, 1232, 0, NULL, 0), 0, 1232, 0, NULL, 0);
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    /* OPT in the answer section */
    len = opt(m, query(m, 0), 0, 1232, 0, NULL, 0);
    dnsw_put16(m + DNSW_ANCOUNT, 1);
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    /* OPT not owned by the root: a pointer to the question name */
    len = query(m, 1);
    m[len++] = 0xc0;
    len = opt(m, len, 0x0c, 1232, 0, NULL, 0);
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    /* an option longer than the rdata */
    len = opt(m, query(m, 1), 0, 1232, 0, bad_option, sizeof(bad_option));
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    /* a compressed question name */
    len = query(m, 0);
    m[12] = 0xc0;
    m[13] = 0x00;
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
}

static void test_record_names_may_point_back_only(void **state)
{
    uint8_t m[160];
    struct dnsw_query q;
    size_t len, rr;

    (void)state;
    /* an additional A record owned by a pointer to the question name */
    len = query(m, 1);
    rr = len;
    memcpy(m + len, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01", 16);
    len += 16;
    assert_int_equal(dnsw_parse_query(m, len, &q), 0);
    assert_false(q.has_opt);
    /* a pointer to itself, and one forward, would loop or read ahead */
    m[rr + 1] = (uint8_t)rr;
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
    m[rr + 1] = (uint8_t)(rr + 4);
    assert_int_equal(dnsw_parse_query(m, len, &q), -EBADMSG);
}

static void test_response_names_compress_against_the_question(void **state)
{
    uint8_t req[64], buf[512], owner[DNSW_NAME_MAX], soa[2 * DNSW_NAME_MAX + 20], srv[64];
    struct dnsw_query q;
    struct dnsw_msg m;
    size_t n1, n2, at;

    (void)state;
    assert_int_equal(dnsw_parse_query(req, query(req, 0), &q), 0);
    dnsw_msg_init(&m, buf, sizeof(buf), &q);
    assert_int_equal(m.len, 12 + 20 + 4);

    /* owner = the question: the pointer to offset 12 */
    dnsw_name_from_text(owner, "WEB.service.troupe.");
    assert_int_equal(
        dnsw_put_rr(&m, DNSW_ANSWER, owner, DNSW_A, 5, (const uint8_t *)"\x0a\0\0\1", 4), 0);
    assert_memory_equal(buf + 36,
                        "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x0a\x00\x00\x01", 16);

    /* SOA: owner and both names point at "troupe." in the question */
    dnsw_name_from_text(owner, "troupe.");
    n1 = dnsw_name_from_text(soa, "h1.node.troupe.");
    n2 = dnsw_name_from_text(soa + n1, "hostmaster.troupe.");
    memset(soa + n1 + n2, 7, 20);
    at = m.len;
    assert_int_equal(dnsw_put_rr(&m, DNSW_AUTHORITY, owner, DNSW_SOA, 5, soa, n1 + n2 + 20), 0);
    assert_memory_equal(buf + at, "\xc0\x18\x00\x06", 4);
    assert_int_equal(dnsw_get16(buf + at + 10), 3 + 5 + 2 + 11 + 2 + 20);
    assert_memory_equal(buf + at + 12, "\x02h1\x04node\xc0\x18\x0ahostmaster\xc0\x18", 23);

    /* SRV targets stay whole (RFC 2782) */
    memcpy(srv, "\0\1\0\1\x1f\x90", 6);
    n1 = dnsw_name_from_text(srv + 6, "h1.node.troupe.");
    at = m.len;
    assert_int_equal(dnsw_put_rr(&m, DNSW_ANSWER, q.qname, DNSW_SRV, 5, srv, 6 + n1), 0);
    assert_memory_equal(buf + at + 12 + 6, srv + 6, n1);
    assert_int_equal(dnsw_get16(buf + DNSW_ANCOUNT), 2);
    assert_int_equal(dnsw_get16(buf + DNSW_NSCOUNT), 1);
}

static void test_record_that_does_not_fit_is_left_out(void **state)
{
    uint8_t req[64], buf[64];
    uint8_t big[40] = {0};
    struct dnsw_query q;
    struct dnsw_msg m;

    (void)state;
    assert_int_equal(dnsw_parse_query(req, query(req, 0), &q), 0);
    dnsw_msg_init(&m, buf, sizeof(buf), &q);
    assert_int_equal(dnsw_put_rr(&m, DNSW_ANSWER, q.qname, DNSW_TXT, 5, big, sizeof(big)),
                     -EMSGSIZE);
    assert_int_equal(m.len, 36);
    assert_int_equal(dnsw_get16(buf + DNSW_ANCOUNT), 0);
    assert_int_equal(dnsw_put_rr(&m, DNSW_ANSWER, q.qname, DNSW_TXT, 5, big, 10), 0);
    assert_int_equal(m.len, 36 + 12 + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_from_and_to_text),
        cmocka_unit_test(test_depth_below_the_zone),
        cmocka_unit_test(test_query_with_edns_parses),
        cmocka_unit_test(test_malformed_queries_are_refused),
        cmocka_unit_test(test_record_names_may_point_back_only),
        cmocka_unit_test(test_response_names_compress_against_the_question),
        cmocka_unit_test(test_record_that_does_not_fit_is_left_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
