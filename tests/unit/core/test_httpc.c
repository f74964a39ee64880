/* Tests of core/httpc: a streamed response fed in pieces, and the answers
 * a hostile or broken server can give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/httpc.h"

struct sink {
    char buf[256];
    size_t len;
};

static int collect(void *ud, const uint8_t *p, size_t n, struct err *e)
{
    struct sink *s = ud;
    (void)e;
    assert_true(s->len + n <= sizeof(s->buf));
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* Feeds text in pieces of `step` bytes; returns the last result. */
static int feed(const char *text, size_t step, int eof, uint64_t max, struct sink *s, struct err *e)
{
    static struct httpc_parser p;
    size_t n = strlen(text), off = 0;
    int rc = 0;

    memset(s, 0, sizeof(*s));
    httpc_parser_init(&p, max, collect, s);
    while (off < n && rc == 0) {
        size_t k = n - off < step ? n - off : step;
        rc = httpc_parser_feed(&p, (const uint8_t *)text + off, k, eof && off + k == n, e);
        off += k;
    }
    return rc;
}

static void test_body_with_length_in_any_pieces(void **state)
{
    static const char r[] = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    struct sink s;
    struct err e;

    (void)state;
    for (size_t step = 1; step <= sizeof(r); step++) {
        assert_int_equal(feed(r, step, 0, 100, &s, &e), 1);
        assert_int_equal(s.len, 5);
        assert_memory_equal(s.buf, "hello", 5);
    }
}

static void test_body_until_close(void **state)
{
    struct sink s;
    struct err e;

    (void)state;
    assert_int_equal(feed("HTTP/1.0 200 OK\r\n\r\nabc", 4, 1, 100, &s, &e), 1);
    assert_int_equal(s.len, 3);
}

static void test_not_found_told_apart(void **state)
{
    struct sink s;
    struct err e;

    (void)state;
    assert_int_equal(
        feed("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nno!", 7, 0, 100, &s, &e), -ENOENT);
    assert_int_equal(feed("HTTP/1.0 500 Oops\r\n\r\n", 7, 0, 100, &s, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "500"));
}

static void test_endless_data_announced(void **state)
{
    struct sink s;
    struct err e;

    (void)state;
    assert_int_equal(feed("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n", 100, 0, 10, &s, &e),
                     -EFBIG);
    assert_non_null(strstr(e.msg, "endless data attack"));
    assert_int_equal(s.len, 0);
}

static void test_endless_data_streamed(void **state)
{
    struct sink s;
    struct err e;

    (void)state;
    assert_int_equal(feed("HTTP/1.0 200 OK\r\n\r\n0123456789ABC", 3, 0, 10, &s, &e), -EFBIG);
    assert_non_null(strstr(e.msg, "endless data attack"));
    assert_true(s.len <= 10);
}

static void test_truncated_and_garbled(void **state)
{
    struct sink s;
    struct err e;

    (void)state;
    assert_int_equal(feed("HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nabc", 5, 1, 100, &s, &e),
                     -EPROTO);
    assert_int_equal(feed("SSH-2.0-OpenSSH\r\n\r\n", 5, 0, 100, &s, &e), -EPROTO);
    assert_int_equal(
        feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 5, 0, 100, &s, &e), -EPROTO);
    assert_int_equal(feed("HTTP/1.0 200 OK\r\nX: y", 5, 1, 100, &s, &e), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_with_length_in_any_pieces),
        cmocka_unit_test(test_body_until_close),
        cmocka_unit_test(test_not_found_told_apart),
        cmocka_unit_test(test_endless_data_announced),
        cmocka_unit_test(test_endless_data_streamed),
        cmocka_unit_test(test_truncated_and_garbled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
