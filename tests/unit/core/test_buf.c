/* Tests of core/buf: the bounds-checked big-endian reader and writer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"

static void test_reader_decodes_big_endian_integers(void **state)
{
    const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                          0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    struct rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    rd_init(&r, in, sizeof(in));
    assert_int_equal(rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0x01);
    assert_int_equal(rd_u16(&r, &u16), 0);
    assert_int_equal(u16, 0x0203);
    assert_int_equal(rd_u32(&r, &u32), 0);
    assert_int_equal(u32, 0x04050607);
    assert_int_equal(rd_u64(&r, &u64), 0);
    assert_true(u64 == 0x08090a0b0c0d0e0fULL);
    assert_int_equal(rd_left(&r), 0);
}

static void test_read_past_the_end_is_refused_and_consumes_nothing(void **state)
{
    const uint8_t in[] = {1, 2, 3};
    struct rd r;
    uint32_t u32 = 77;
    uint64_t u64 = 77;
    uint16_t u16;

    rd_init(&r, in, sizeof(in));
    assert_int_equal(rd_u32(&r, &u32), -EBADMSG);
    assert_int_equal(u32, 77);
    assert_int_equal(rd_left(&r), 3);
    assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
    assert_int_equal(rd_u16(&r, &u16), 0);
    assert_int_equal(rd_u16(&r, &u16), -EBADMSG);
    assert_int_equal(rd_left(&r), 1);
}

static void test_every_reader_refuses_an_empty_input(void **state)
{
    struct rd r;
    uint8_t u8, b[1];
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;

    rd_init(&r, NULL, 0);
    assert_int_equal(rd_u8(&r, &u8), -EBADMSG);
    assert_int_equal(rd_u16(&r, &u16), -EBADMSG);
    assert_int_equal(rd_u32(&r, &u32), -EBADMSG);
    assert_int_equal(rd_u64(&r, &u64), -EBADMSG);
    assert_int_equal(rd_bytes(&r, b, 1), -EBADMSG);
    assert_int_equal(rd_ptr(&r, 1, &p), -EBADMSG);
    assert_int_equal(rd_ptr(&r, 0, &p), 0);
}

static void test_ptr_points_into_the_input_without_copying(void **state)
{
    const uint8_t in[] = {9, 8, 7, 6};
    struct rd r;
    const uint8_t *p;

    rd_init(&r, in, sizeof(in));
    assert_int_equal(rd_ptr(&r, 1, &p), 0);
    assert_ptr_equal(p, in);
    assert_int_equal(rd_ptr(&r, 3, &p), 0);
    assert_ptr_equal(p, in + 1);
    assert_int_equal(rd_left(&r), 0);
}

static void test_huge_length_does_not_wrap_around(void **state)
{
    const uint8_t in[] = {1, 2, 3, 4};
    struct rd r;
    const uint8_t *p;

    rd_init(&r, in, sizeof(in));
    assert_int_equal(rd_ptr(&r, 2, &p), 0);
    assert_int_equal(rd_ptr(&r, SIZE_MAX, &p), -EBADMSG);
    assert_int_equal(rd_ptr(&r, SIZE_MAX - 1, &p), -EBADMSG);
    assert_int_equal(rd_left(&r), 2);
}

static void test_writer_encodes_big_endian_and_reads_back(void **state)
{
    uint8_t buf[32];
    struct wr w;
    struct rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    char s[4];

    wr_init(&w, buf, sizeof(buf));
    wr_u8(&w, 0xab);
    wr_u16(&w, 0xbeef);
    wr_u32(&w, 0xdeadbeef);
    wr_u64(&w, 0x0123456789abcdefULL);
    wr_bytes(&w, "xyz", 3);
    assert_false(w.overflow);
    assert_int_equal(w.len, 1 + 2 + 4 + 8 + 3);
    assert_int_equal(buf[1], 0xbe);
    assert_int_equal(buf[2], 0xef);

    rd_init(&r, buf, w.len);
    assert_int_equal(rd_u8(&r, &u8), 0);
    assert_int_equal(rd_u16(&r, &u16), 0);
    assert_int_equal(rd_u32(&r, &u32), 0);
    assert_int_equal(rd_u64(&r, &u64), 0);
    assert_int_equal(rd_bytes(&r, s, 3), 0);
    assert_int_equal(u8, 0xab);
    assert_int_equal(u16, 0xbeef);
    assert_int_equal(u32, 0xdeadbeef);
    assert_true(u64 == 0x0123456789abcdefULL);
    assert_memory_equal(s, "xyz", 3);
}

static void test_writer_overflow_is_sticky_and_never_writes_past_the_end(void **state)
{
    uint8_t buf[8];
    struct wr w;

    memset(buf, 0x55, sizeof(buf));
    wr_init(&w, buf, 5);
    wr_u32(&w, 0x01020304);
    wr_u16(&w, 0x0506); /* does not fit */
    assert_true(w.overflow);
    assert_int_equal(w.len, 4);
    wr_u8(&w, 7); /* would fit, but the writer already overflowed */
    assert_int_equal(w.len, 4);
    assert_int_equal(buf[4], 0x55);
    assert_int_equal(buf[5], 0x55);
}

static void test_writer_without_buffer_only_counts(void **state)
{
    struct wr w;

    wr_init(&w, NULL, 100);
    wr_u64(&w, 1);
    wr_bytes(&w, "abcdef", 6);
    assert_false(w.overflow);
    assert_int_equal(w.len, 14);
    wr_bytes(&w, NULL, 100);
    assert_true(w.overflow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_decodes_big_endian_integers),
        cmocka_unit_test(test_read_past_the_end_is_refused_and_consumes_nothing),
        cmocka_unit_test(test_every_reader_refuses_an_empty_input),
        cmocka_unit_test(test_ptr_points_into_the_input_without_copying),
        cmocka_unit_test(test_huge_length_does_not_wrap_around),
        cmocka_unit_test(test_writer_encodes_big_endian_and_reads_back),
        cmocka_unit_test(test_writer_overflow_is_sticky_and_never_writes_past_the_end),
        cmocka_unit_test(test_writer_without_buffer_only_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
