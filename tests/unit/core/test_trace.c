/* Tests of core/trace: a valid traceparent reads back, malformed ones are
 * refused, the next hop keeps the trace with a new span id, and a request
 * without one starts a new trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/trace.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int parses(const char *v)
{
    struct trace t;

    return trace_parse(&t, v, strlen(v)) == 0;
}

static void test_valid_traceparent_reads_back(void **state)
{
    struct trace t;
    char out[TRACE_HEADER_LEN + 1], id[33];

    (void)state;
    assert_int_equal(trace_parse(&t, GOOD, strlen(GOOD)), 0);
    assert_int_equal(t.flags, 1);
    trace_format(&t, out);
    assert_string_equal(out, GOOD);
    trace_id_hex(&t, id);
    assert_string_equal(id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

static void test_malformed_traceparents_are_refused(void **state)
{
    (void)state;
    assert_false(parses(""));
    assert_false(parses("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    assert_false(parses("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    assert_false(parses("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    assert_false(parses("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_false(parses("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
    /* a later version may carry more fields */
    assert_true(parses("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what"));
    assert_true(parses(" " GOOD " "));
}

static void test_next_hop_keeps_trace_with_new_span(void **state)
{
    struct trace in, out;
    uint8_t rnd[TRACE_RANDOM];
    char s[TRACE_HEADER_LEN + 1];

    (void)state;
    memset(rnd, 0xab, sizeof(rnd));
    assert_int_equal(trace_parse(&in, GOOD, strlen(GOOD)), 0);
    trace_next(&out, &in, rnd);
    trace_format(&out, s);
    assert_string_equal(s, "00-4bf92f3577b34da6a3ce929d0e0e4736-abababababababab-01");
}

static void test_no_traceparent_starts_a_new_trace(void **state)
{
    struct trace out;
    uint8_t rnd[TRACE_RANDOM];
    char s[TRACE_HEADER_LEN + 1];

    (void)state;
    for (int i = 0; i < TRACE_RANDOM; i++)
        rnd[i] = (uint8_t)i;
    trace_next(&out, NULL, rnd);
    trace_format(&out, s);
    assert_string_equal(s, "00-000102030405060708090a0b0c0d0e0f-1011121314151617-00");
    assert_true(parses(s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_traceparent_reads_back),
        cmocka_unit_test(test_malformed_traceparents_are_refused),
        cmocka_unit_test(test_next_hop_keeps_trace_with_new_span),
        cmocka_unit_test(test_no_traceparent_starts_a_new_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
