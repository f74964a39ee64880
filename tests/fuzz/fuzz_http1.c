/* fuzz_http1: bytes from an HTTP client (and, for the CLI, from a server).
 * Parsing must not crash or read past the input; a complete request must
 * lie within the bytes received and its slices within the buffer, and cut
 * short it must ask for more bytes rather than be refused; parsing goes on
 * over pipelined requests the way the server does. The proxy's side of
 * an upstream response too: its head, and its chunked body followed as
 * it streams, which must end at the same byte however TCP splits it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INSIDE(p, n, buf, len)                                                                     \
    ((n) == 0 || ((const uint8_t *)(p) >= (buf) && (const uint8_t *)(p) + (n) <= (buf) + (len)))

static void check_requests(uint8_t *buf, size_t len)
{
    static struct http1_req r;
    struct http1_limits lim = {1024, 4096}; /* small limits, so the fuzzer reaches them */
    size_t off = 0;

    while (off < len) {
        uint8_t *b = buf + off;
        size_t left = len - off;
        long n = http1_parse_request(&r, b, left, off ? &lim : NULL);
        char out[64];

        if (n < 0) {
            if (!r.error || r.status < 400 || r.status > 505)
                abort();
            return;
        }
        if (n == 0)
            return;
        if ((size_t)n > left || !INSIDE(r.method, r.method_len, b, left) ||
            !INSIDE(r.target, r.target_len, b, left) || !INSIDE(r.body, r.body_len, b, left) ||
            strlen(r.path) > HTTP1_PATH_MAX || r.n_headers > HTTP1_HEADERS_MAX)
            abort();
        for (size_t i = 0; i < r.n_headers; i++)
            if (!INSIDE(r.h[i].name, r.h[i].name_len, b, left) ||
                !INSIDE(r.h[i].value, r.h[i].value_len, b, left))
                abort();
        if (r.query)
            http1_query_get(r.query, r.query_len, "wait", out, sizeof(out));
        http1_header(r.h, r.n_headers, "content-type", NULL);
        off += (size_t)n;
    }
}

/* A request that parses whole must, cut short, ask for more bytes: whether
 * it is refused cannot depend on how TCP split it. A few cuts per input. */
static void check_cuts(const uint8_t *data, size_t size)
{
    static struct http1_req r;
    uint8_t *buf = malloc(size ? size : 1);
    long whole;

    memcpy(buf, data, size);
    whole = http1_parse_request(&r, buf, size, NULL);
    if (whole > 0) {
        size_t n = (size_t)whole;
        size_t cuts[4] = {n - 1, n / 2, data[0] % n, data[n - 1] % n};
        for (int i = 0; i < 4; i++) {
            memcpy(buf, data, cuts[i]);
            if (http1_parse_request(&r, buf, cuts[i], NULL) != 0)
                abort();
        }
    }
    free(buf);
}

/* The head alone (as the proxy reads it): within the bytes, and, when the
 * whole request parses, no longer than it. */
static void check_head(const uint8_t *data, size_t size, long whole)
{
    static struct http1_req r;
    struct http1_framing f;
    struct http1_limits big = {HTTP1_HEADER_BYTES, (size_t)1 << 40};
    long n = http1_parse_request_head(&r, data, size, &big, &f);

    if (n < 0 && (!r.error || r.status < 400 || r.status > 505))
        abort();
    if (n > 0 && ((size_t)n > size || (f.chunked && f.has_length)))
        abort();
    if (whole > 0 && (n <= 0 || n > whole))
        abort();
}

static void check_response(uint8_t *buf, size_t len, int eof)
{
    static struct http1_resp r;
    long n = http1_parse_response(&r, buf, len, eof, NULL);

    if (n < 0 && !r.error)
        abort();
    if (n > 0 && ((size_t)n > len || !INSIDE(r.body, r.body_len, buf, len)))
        abort();
}

/* The head of an upstream response, as the proxy reads it: within the
 * bytes, framed one way at most, and cut short it asks for more. */
static void check_response_head(const uint8_t *data, size_t size)
{
    static struct http1_resp r;
    struct http1_framing f;
    struct http1_limits big = {HTTP1_HEADER_BYTES, (size_t)1 << 40};
    long n = http1_parse_response_head(&r, data, size, 0, &big, &f);

    if (n < 0 && !r.error)
        abort();
    if (n > 0 && ((size_t)n > size || (f.chunked && f.has_length)))
        abort();
    if (n > 1 && http1_parse_response_head(&r, data, (size_t)n - 1, 0, &big, &f) != 0)
        abort();
}

/* Feeds data to a chunked-body follower in pieces cut at `cut`, then
 * whole: -1 when refused, else the bytes of the body (and done or not). */
static long chunks_in(const uint8_t *data, size_t size, size_t cut, int *done)
{
    struct http1_chunks st = {0};
    long a = http1_chunks_feed(&st, data, cut), b;

    if (a < 0)
        return -1;
    if ((size_t)a < cut || http1_chunks_done(&st)) {
        *done = http1_chunks_done(&st);
        return a;
    }
    b = http1_chunks_feed(&st, data + cut, size - cut);
    if (b < 0)
        return -1;
    if ((size_t)b > size - cut)
        abort();
    *done = http1_chunks_done(&st);
    return a + b;
}

static void check_chunks(const uint8_t *data, size_t size)
{
    int d1 = 0, d2 = 0;
    long whole, split;

    if (size == 0)
        return;
    whole = chunks_in(data, size, size, &d1);
    split = chunks_in(data, size, data[0] % size, &d2);
    if (whole > (long)size || (whole >= 0 && (size_t)whole < size && !d1))
        abort(); /* less than all, yet not at the end */
    if (whole >= 0 && (whole != split || d1 != d2))
        abort(); /* the end depends on the cut */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size copies: the parser decodes chunked bodies in place */
    uint8_t *copy = malloc(size ? size : 1);

    check_cuts(data, size);
    memcpy(copy, data, size);
    check_head(data, size, http1_parse_request(&(struct http1_req){0}, copy, size, NULL));
    memcpy(copy, data, size);
    check_requests(copy, size);
    memcpy(copy, data, size);
    check_response(copy, size, 0);
    memcpy(copy, data, size);
    check_response(copy, size, 1);
    check_response_head(data, size);
    check_chunks(data, size);
    free(copy);
    return 0;
}
