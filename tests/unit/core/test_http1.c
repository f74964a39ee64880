/* Tests of core/http1: requests and responses, keep-alive and pipelining,
 * chunked bodies, limits, malformed requests, and requests split at every
 * byte boundary. Inputs are copied into buffers of their exact size so that
 * the sanitizer build catches any read past the bytes received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/http1.h"

struct parsed {
    struct http1_req r;
    uint8_t *buf;
    long rc;
};

/* Parses the first len bytes of text in an exact-size copy; free with done(). */
static struct parsed *parse_n(const char *text, size_t len, const struct http1_limits *lim)
{
    struct parsed *p = calloc(1, sizeof(*p));

    p->buf = malloc(len ? len : 1);
    memcpy(p->buf, text, len);
    p->rc = http1_parse_request(&p->r, p->buf, len, lim);
    return p;
}

static struct parsed *parse(const char *text)
{
    return parse_n(text, strlen(text), NULL);
}

static void done(struct parsed *p)
{
    free(p->buf);
    free(p);
}

static void expect_error(const char *text, int status, const char *why)
{
    struct parsed *p = parse(text);

    if (p->rc != -1 || p->r.status != status || !p->r.error || !strstr(p->r.error, why))
        fail_msg("%s: rc %ld status %d error \"%s\", expected %d \"%s\"", text, p->rc, p->r.status,
                 p->r.error ? p->r.error : "", status, why);
    done(p);
}

static void test_simple_get_is_parsed(void **state)
{
    const char *req = "GET /v1/members?status=alive&x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    struct parsed *p = parse(req);
    size_t vl;
    const char *v;

    assert_int_equal(p->rc, strlen(req));
    assert_int_equal(p->r.method_len, 3);
    assert_memory_equal(p->r.method, "GET", 3);
    assert_string_equal(p->r.path, "/v1/members");
    assert_int_equal(p->r.query_len, strlen("status=alive&x=1"));
    assert_memory_equal(p->r.query, "status=alive&x=1", p->r.query_len);
    assert_int_equal(p->r.minor, 1);
    assert_int_equal(p->r.n_headers, 2);
    v = http1_header(p->r.h, p->r.n_headers, "accept", &vl);
    assert_non_null(v);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "*/*", 3);
    assert_true(p->r.keep_alive);
    assert_int_equal(p->r.body_len, 0);
    done(p);
}

static void test_bare_line_feeds_are_accepted(void **state)
{
    const char *req = "GET / HTTP/1.1\nHost: a\n\n";
    struct parsed *p = parse(req);

    assert_int_equal(p->rc, strlen(req));
    assert_int_equal(p->r.n_headers, 1);
    done(p);
}

static void test_header_value_whitespace_is_trimmed(void **state)
{
    struct parsed *p = parse("GET / HTTP/1.1\r\nX-A: \t spaced out \t\r\nX-B:\r\n\r\n");
    size_t vl;
    const char *v;

    assert_true(p->rc > 0);
    v = http1_header(p->r.h, p->r.n_headers, "X-A", &vl);
    assert_int_equal(vl, strlen("spaced out"));
    assert_memory_equal(v, "spaced out", vl);
    assert_non_null(http1_header(p->r.h, p->r.n_headers, "x-b", &vl));
    assert_int_equal(vl, 0);
    assert_null(http1_header(p->r.h, p->r.n_headers, "x-c", &vl));
    done(p);
}

static void test_path_is_percent_decoded_but_plus_stays(void **state)
{
    struct parsed *p = parse("GET /a%20b/c+d%2F HTTP/1.1\r\n\r\n");

    assert_true(p->rc > 0);
    assert_string_equal(p->r.path, "/a b/c+d/");
    assert_null(p->r.query);
    done(p);
}

/* The parser decodes; the server decides what a path may hold (agent/api
 * refuses a NUL naming the segment), so path_len counts the decoded NUL. */
static void test_path_with_an_encoded_nul_keeps_its_length(void **state)
{
    struct parsed *p = parse("GET /a%00b HTTP/1.1\r\n\r\n");

    assert_true(p->rc > 0);
    assert_int_equal(p->r.path_len, 4);
    assert_memory_equal(p->r.path, "/a\0b", 4);
    done(p);
}

static void test_keep_alive_follows_version_and_connection_header(void **state)
{
    struct parsed *p;

    p = parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_false(p->r.keep_alive);
    done(p);
    p = parse("GET / HTTP/1.1\r\nConnection: upgrade, Close\r\n\r\n");
    assert_false(p->r.keep_alive);
    done(p);
    p = parse("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(p->r.minor, 0);
    assert_false(p->r.keep_alive);
    done(p);
    p = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert_true(p->r.keep_alive);
    done(p);
}

static void test_pipelined_requests_parse_one_after_another(void **state)
{
    const char *text = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                       "PUT /two HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                       "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                       "GET /four HTTP/1.1\r\nConnection: close\r\n\r\n";
    const char *paths[] = {"/one", "/two", "/three", "/four"};
    const char *bodies[] = {"", "hello", "abcde", ""};
    size_t len = strlen(text), off = 0;
    uint8_t *buf = malloc(len);
    struct http1_req r;

    memcpy(buf, text, len);
    for (int i = 0; i < 4; i++) {
        long n = http1_parse_request(&r, buf + off, len - off, NULL);
        assert_true(n > 0);
        assert_string_equal(r.path, paths[i]);
        assert_int_equal(r.body_len, strlen(bodies[i]));
        if (r.body_len)
            assert_memory_equal(r.body, bodies[i], r.body_len);
        assert_int_equal(r.keep_alive, i < 3);
        off += (size_t)n;
    }
    assert_int_equal(off, len);
    free(buf);
}

static void test_content_length_body_is_returned(void **state)
{
    const char *req = "PUT /v1/join HTTP/1.1\r\nContent-Length: 13\r\n\r\n{\"addrs\": []}";
    struct parsed *p = parse(req);

    assert_int_equal(p->rc, strlen(req));
    assert_int_equal(p->r.body_len, 13);
    assert_memory_equal(p->r.body, "{\"addrs\": []}", 13);
    done(p);
}

static void test_body_waits_for_all_its_bytes(void **state)
{
    struct parsed *p = parse("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");

    assert_int_equal(p->rc, 0);
    done(p);
}

static void test_chunked_body_is_decoded_in_place(void **state)
{
    const char *req = "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                      "5;name=value\r\nhello\r\n"
                      "6\r\n world\r\n"
                      "A\r\n0123456789\r\n"
                      "0\r\nX-Trailer: yes\r\n\r\n";
    struct parsed *p = parse(req);

    assert_int_equal(p->rc, strlen(req));
    assert_int_equal(p->r.body_len, 21);
    assert_memory_equal(p->r.body, "hello world0123456789", 21);
    done(p);
}

static void test_empty_chunked_body_is_complete(void **state)
{
    const char *req = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    struct parsed *p = parse(req);

    assert_int_equal(p->rc, strlen(req));
    assert_int_equal(p->r.body_len, 0);
    done(p);
}

static void test_malformed_chunks_are_refused(void **state)
{
    const char *head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *bodies[] = {"g\r\nx\r\n0\r\n\r\n", "\r\n", "3x\r\nabc\r\n0\r\n\r\n",
                            "3\r\nabcX\r\n0\r\n\r\n"};
    char req[256];

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        snprintf(req, sizeof(req), "%s%s", head, bodies[i]);
        expect_error(req, 400, "chunk");
    }
    snprintf(req, sizeof(req), "%s%s", head, "1000000000000000\r\n");
    expect_error(req, 413, "chunk too large");
}

static void test_chunk_size_line_without_end_is_refused(void **state)
{
    char req[512];

    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%0100d", 1);
    expect_error(req, 400, "chunk size line");
}

/* Whether a request is refused must not depend on how TCP cut it. */
static void test_long_chunk_extension_is_refused_whole_or_cut(void **state)
{
    char req[512];
    size_t len, head;
    struct parsed *p;

    head =
        (size_t)snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    len = head +
          (size_t)snprintf(req + head, sizeof(req) - head, "1;ext=%0100d\r\na\r\n0\r\n\r\n", 0);
    p = parse_n(req, len, NULL);
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 400);
    done(p);
    for (size_t cut = head; cut < len; cut++) {
        p = parse_n(req, cut, NULL);
        if (p->rc != 0 && !(p->rc == -1 && p->r.status == 400))
            fail_msg("cut at %zu: rc %ld status %d", cut, p->rc, p->r.status);
        done(p);
    }
}

static void test_trailers_over_the_limit_are_refused_whole_or_cut(void **state)
{
    struct http1_limits lim = {256, HTTP1_BODY_MAX};
    char req[1024];
    size_t len, head;
    struct parsed *p;

    head = (size_t)snprintf(req, sizeof(req),
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    len = head + (size_t)snprintf(req + head, sizeof(req) - head, "X-T: %0300d\r\n\r\n", 0);
    p = parse_n(req, len, &lim);
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 431);
    done(p);
    p = parse_n(req, len - 10, &lim);
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 431);
    done(p);
}

static void test_chunked_body_over_the_limit_is_refused(void **state)
{
    const char *req = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n";
    struct http1_limits lim = {HTTP1_HEADER_BYTES, 10};
    struct parsed *p = parse_n(req, strlen(req), &lim);

    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 413);
    done(p);
}

static void test_content_length_over_the_limit_is_refused_before_the_body(void **state)
{
    struct http1_limits lim = {HTTP1_HEADER_BYTES, 100};
    const char *req = "PUT / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
    struct parsed *p = parse_n(req, strlen(req), &lim);

    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 413);
    done(p);
    expect_error("PUT / HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n", 413,
                 "content-length");
    expect_error("PUT / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, "body too large");
}

static void test_bad_content_length_is_refused(void **state)
{
    expect_error("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "content-length");
    expect_error("PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, "content-length");
    expect_error("PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "content-length");
    expect_error("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
                 "disagree");
}

static void test_repeated_equal_content_length_is_accepted(void **state)
{
    struct parsed *p = parse("PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");

    assert_true(p->rc > 0);
    assert_int_equal(p->r.body_len, 2);
    done(p);
}

static void test_request_smuggling_framing_is_refused(void **state)
{
    expect_error("PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                 "both");
    expect_error("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                 "transfer-encoding");
    expect_error("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 501, "transfer-encoding");
}

static void test_headers_over_the_byte_limit_are_refused(void **state)
{
    struct http1_limits lim = {256, HTTP1_BODY_MAX};
    char req[1024];
    struct parsed *p;

    /* complete but too large */
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %0300d\r\n\r\n", 0);
    p = parse_n(req, strlen(req), &lim);
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 431);
    done(p);
    /* still arriving and already too large */
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %0300d", 0);
    p = parse_n(req, strlen(req), &lim);
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->r.status, 431);
    done(p);
}

static void test_more_headers_than_the_limit_are_refused(void **state)
{
    size_t cap = 64 + (HTTP1_HEADERS_MAX + 1) * 16, o;
    char *req = malloc(cap);

    o = (size_t)snprintf(req, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP1_HEADERS_MAX; i++)
        o += (size_t)snprintf(req + o, cap - o, "X-%d: v\r\n", i);
    snprintf(req + o, cap - o, "\r\n");
    {
        struct parsed *p = parse(req);
        assert_true(p->rc > 0); /* exactly the limit */
        assert_int_equal(p->r.n_headers, HTTP1_HEADERS_MAX);
        done(p);
    }
    snprintf(req + o, cap - o, "X-last: v\r\n\r\n");
    expect_error(req, 431, "too many headers");
    free(req);
}

static void test_long_request_line_and_target_are_refused(void **state)
{
    size_t cap = HTTP1_PATH_MAX + 128;
    char *req = malloc(cap);

    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', cap - 6);
    req[cap - 1] = '\0';
    expect_error(req, 414, "request line too long"); /* no line end yet */
    memset(req + 5, 'a', HTTP1_PATH_MAX);
    snprintf(req + 5 + HTTP1_PATH_MAX, cap - 5 - HTTP1_PATH_MAX, " HTTP/1.1\r\n\r\n");
    expect_error(req, 414, "request target too long");
    snprintf(req + 4 + HTTP1_PATH_MAX, cap - 4 - HTTP1_PATH_MAX, " HTTP/1.1\r\n\r\n");
    {
        struct parsed *p = parse(req); /* exactly the limit */
        assert_true(p->rc > 0);
        assert_int_equal(strlen(p->r.path), HTTP1_PATH_MAX);
        done(p);
    }
    free(req);
}

static void test_malformed_request_lines_are_refused(void **state)
{
    expect_error("\r\n", 400, "empty request line");
    expect_error("GET\r\n\r\n", 400, "malformed request line");
    expect_error("GET /\r\n\r\n", 400, "malformed request line");
    expect_error("GET  / HTTP/1.1\r\n\r\n", 400, "malformed request line");
    expect_error("G(T / HTTP/1.1\r\n\r\n", 400, "malformed request line");
    expect_error("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", 400, "malformed request line");
    expect_error("GET / FTP/1.1\r\n\r\n", 400, "malformed request line");
    expect_error("GET http://x/ HTTP/1.1\r\n\r\n", 400, "must start with /");
    expect_error("GET /a\x01 HTTP/1.1\r\n\r\n", 400, "control character");
    expect_error("GET /a\x7f HTTP/1.1\r\n\r\n", 400, "control character");
}

static void test_other_http_versions_are_refused_with_505(void **state)
{
    expect_error("GET / HTTP/2.0\r\n\r\n", 505, "version");
    expect_error("GET / HTTP/1.2\r\n\r\n", 505, "version");
    expect_error("GET / HTTP/0.9\r\n\r\n", 505, "version");
}

static void test_bad_percent_encoding_in_the_path_is_refused(void **state)
{
    expect_error("GET /a%2 HTTP/1.1\r\n\r\n", 400, "percent");
    expect_error("GET /a%zz HTTP/1.1\r\n\r\n", 400, "percent");
    expect_error("GET /a% HTTP/1.1\r\n\r\n", 400, "percent");
    expect_error("GET /a%4?x=1 HTTP/1.1\r\n\r\n", 400, "percent");
}

static void test_malformed_header_lines_are_refused(void **state)
{
    expect_error("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "malformed header");
    expect_error("GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400, "malformed header");
    expect_error("GET / HTTP/1.1\r\nName : space before colon\r\n\r\n", 400, "malformed header");
    expect_error("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400, "folding");
    expect_error("GET / HTTP/1.1\r\nA: b\x01 c\r\n\r\n", 400, "control character");
    expect_error("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, "control character");
}

/* Each request, cut at every byte, needs more bytes and leaves the buffer
 * untouched; whole, it parses to the same result as in one piece. */
static void test_requests_split_at_every_byte_boundary_need_more_then_parse(void **state)
{
    const char *reqs[] = {
        "GET /v1/members?status=alive HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
        "PUT /v1/join HTTP/1.1\r\nContent-Length: 13\r\n\r\n{\"addrs\": []}",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n"
        "0\r\nT: 1\r\n\r\n",
        "GET / HTTP/1.0\nConnection: keep-alive\n\n",
    };

    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        size_t len = strlen(reqs[i]);
        struct parsed *whole = parse(reqs[i]);
        assert_int_equal(whole->rc, len);
        for (size_t cut = 0; cut < len; cut++) {
            struct parsed *p = parse_n(reqs[i], cut, NULL);
            if (p->rc != 0)
                fail_msg("request %zu cut at %zu of %zu: rc %ld (%s)", i, cut, len, p->rc,
                         p->r.error ? p->r.error : "");
            assert_memory_equal(p->buf, reqs[i], cut);
            done(p);
        }
        done(whole);
    }
}

static void test_query_parameters_are_found_and_decoded(void **state)
{
    const char *q = "a=1&wait=30s&name=web%201&flag&plus=a+b&bad=%zz";
    size_t ql = strlen(q);
    char out[16];

    assert_int_equal(http1_query_get(q, ql, "wait", out, sizeof(out)), 3);
    assert_string_equal(out, "30s");
    assert_int_equal(http1_query_get(q, ql, "name", out, sizeof(out)), 5);
    assert_string_equal(out, "web 1");
    assert_int_equal(http1_query_get(q, ql, "flag", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(http1_query_get(q, ql, "plus", out, sizeof(out)), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(http1_query_get(q, ql, "missing", out, sizeof(out)), -1);
    assert_int_equal(http1_query_get(q, ql, "wai", out, sizeof(out)), -1);
    assert_int_equal(http1_query_get(q, ql, "bad", out, sizeof(out)), -2);
    assert_int_equal(http1_query_get(q, ql, "name", out, 3), -2);
    assert_int_equal(http1_query_get(NULL, 0, "a", out, sizeof(out)), -1);
}

static void test_percent_decoding_refuses_nul_truncation_and_overflow(void **state)
{
    char out[4];

    assert_int_equal(http1_pct_decode("%41b", 4, out, sizeof(out)), 2);
    assert_string_equal(out, "Ab");
    assert_int_equal(http1_pct_decode("%00", 3, out, sizeof(out)), -1);
    assert_int_equal(http1_pct_decode("%4", 2, out, sizeof(out)), -1);
    assert_int_equal(http1_pct_decode("abcd", 4, out, sizeof(out)), -1);
    assert_int_equal(http1_pct_decode("", 0, out, 0), -1);
}

static long parse_resp(const char *text, int eof, struct http1_resp *r, uint8_t **buf)
{
    size_t len = strlen(text);

    *buf = malloc(len ? len : 1);
    memcpy(*buf, text, len);
    return http1_parse_response(r, *buf, len, eof, NULL);
}

static void test_response_with_length_chunks_or_eof_is_parsed(void **state)
{
    struct http1_resp r;
    uint8_t *b;
    const char *t1 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    const char *t2 =
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    const char *t3 = "HTTP/1.0 200 OK\r\n\r\nuntil the end";

    assert_int_equal(parse_resp(t1, 0, &r, &b), strlen(t1));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 2);
    free(b);
    assert_int_equal(parse_resp(t2, 0, &r, &b), strlen(t2));
    assert_int_equal(r.status, 404);
    assert_memory_equal(r.body, "{}", 2);
    free(b);
    assert_int_equal(parse_resp(t3, 0, &r, &b), 0);
    free(b);
    assert_int_equal(parse_resp(t3, 1, &r, &b), strlen(t3));
    assert_int_equal(r.body_len, strlen("until the end"));
    free(b);
}

static void test_truncated_or_malformed_responses_are_refused(void **state)
{
    const char *bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
                         "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1 600 No\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nBad\r\n\r\n"};
    struct http1_resp r;
    uint8_t *b;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_resp(bad[i], 0, &r, &b), -1);
        assert_non_null(r.error);
        free(b);
    }
    assert_int_equal(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 1, &r, &b), -1);
    assert_non_null(strstr(r.error, "truncated"));
    free(b);
    assert_int_equal(parse_resp("HTTP/1.1 200 OK\r\nContent-Le", 1, &r, &b), -1);
    free(b);
    assert_int_equal(parse_resp("HTTP/1.1 200", 1, &r, &b), -1);
    free(b);
}

static void test_chunks_find_the_end_of_a_streamed_body(void **state)
{
    const char *body = "5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\nNEXT";
    size_t len = strlen(body);

    (void)state;
    /* whole, and byte by byte: the end is found at the same place */
    for (size_t step = len; step >= 1; step = step == len ? 1 : 0) {
        struct http1_chunks st;
        size_t used = 0;
        memset(&st, 0, sizeof(st));
        while (used < len && !http1_chunks_done(&st)) {
            size_t n = len - used < step ? len - used : step;
            long k = http1_chunks_feed(&st, (const uint8_t *)body + used, n);
            assert_true(k >= 0);
            used += (size_t)k;
            if ((size_t)k < n)
                break;
        }
        assert_true(http1_chunks_done(&st));
        assert_int_equal(used, len - 4);
    }
}

static void test_chunks_refuse_what_is_not_chunked(void **state)
{
    struct http1_chunks st;

    (void)state;
    memset(&st, 0, sizeof(st));
    assert_int_equal(http1_chunks_feed(&st, (const uint8_t *)"zz\r\n", 4), -1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(http1_chunks_feed(&st, (const uint8_t *)"2\r\nabX", 7), -1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(http1_chunks_feed(&st, (const uint8_t *)"1234567890abcdef0\r\n", 19), -1);
}

static void test_request_head_gives_the_framing_without_the_body(void **state)
{
    static struct http1_req r;
    struct http1_framing f;
    struct http1_limits big = {HTTP1_HEADER_BYTES, (size_t)1 << 40};
    const char *a = "PUT /up HTTP/1.1\r\ncontent-length: 52428800\r\n\r\nxx";
    const char *b = "POST /up HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\n";
    const char *c = "GET / HTTP/1.1\r\nhost: a\r\n\r\nGET / HTTP/1.1\r\n";
    const char *d = "GET / HTTP/1.1\r\nhost: a\r\n";

    (void)state;
    assert_int_equal(http1_parse_request_head(&r, (const uint8_t *)a, strlen(a), &big, &f),
                     (long)strlen(a) - 2);
    assert_true(f.has_length);
    assert_false(f.chunked);
    assert_int_equal(f.content_length, 52428800);
    /* the default limit still refuses a large body at the head */
    assert_int_equal(http1_parse_request_head(&r, (const uint8_t *)a, strlen(a), NULL, &f), -1);
    assert_int_equal(r.status, 413);
    assert_int_equal(http1_parse_request_head(&r, (const uint8_t *)b, strlen(b), &big, &f),
                     (long)strlen(b) - 3);
    assert_true(f.chunked);
    assert_false(f.has_length);
    assert_int_equal(http1_parse_request_head(&r, (const uint8_t *)c, strlen(c), NULL, &f),
                     (long)strlen(c) - 16);
    assert_false(f.chunked || f.has_length);
    assert_int_equal(http1_parse_request_head(&r, (const uint8_t *)d, strlen(d), NULL, &f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_find_the_end_of_a_streamed_body),
        cmocka_unit_test(test_chunks_refuse_what_is_not_chunked),
        cmocka_unit_test(test_simple_get_is_parsed),
        cmocka_unit_test(test_bare_line_feeds_are_accepted),
        cmocka_unit_test(test_header_value_whitespace_is_trimmed),
        cmocka_unit_test(test_path_is_percent_decoded_but_plus_stays),
        cmocka_unit_test(test_path_with_an_encoded_nul_keeps_its_length),
        cmocka_unit_test(test_keep_alive_follows_version_and_connection_header),
        cmocka_unit_test(test_pipelined_requests_parse_one_after_another),
        cmocka_unit_test(test_content_length_body_is_returned),
        cmocka_unit_test(test_body_waits_for_all_its_bytes),
        cmocka_unit_test(test_chunked_body_is_decoded_in_place),
        cmocka_unit_test(test_empty_chunked_body_is_complete),
        cmocka_unit_test(test_malformed_chunks_are_refused),
        cmocka_unit_test(test_chunk_size_line_without_end_is_refused),
        cmocka_unit_test(test_long_chunk_extension_is_refused_whole_or_cut),
        cmocka_unit_test(test_trailers_over_the_limit_are_refused_whole_or_cut),
        cmocka_unit_test(test_chunked_body_over_the_limit_is_refused),
        cmocka_unit_test(test_content_length_over_the_limit_is_refused_before_the_body),
        cmocka_unit_test(test_bad_content_length_is_refused),
        cmocka_unit_test(test_repeated_equal_content_length_is_accepted),
        cmocka_unit_test(test_request_smuggling_framing_is_refused),
        cmocka_unit_test(test_headers_over_the_byte_limit_are_refused),
        cmocka_unit_test(test_more_headers_than_the_limit_are_refused),
        cmocka_unit_test(test_long_request_line_and_target_are_refused),
        cmocka_unit_test(test_malformed_request_lines_are_refused),
        cmocka_unit_test(test_other_http_versions_are_refused_with_505),
        cmocka_unit_test(test_bad_percent_encoding_in_the_path_is_refused),
        cmocka_unit_test(test_malformed_header_lines_are_refused),
        cmocka_unit_test(test_requests_split_at_every_byte_boundary_need_more_then_parse),
        cmocka_unit_test(test_query_parameters_are_found_and_decoded),
        cmocka_unit_test(test_percent_decoding_refuses_nul_truncation_and_overflow),
        cmocka_unit_test(test_response_with_length_chunks_or_eof_is_parsed),
        cmocka_unit_test(test_truncated_or_malformed_responses_are_refused),
        cmocka_unit_test(test_request_head_gives_the_framing_without_the_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
