/* httpc: streaming HTTP response parser (see httpc.h). */
#include "core/httpc.h"

#include <string.h>

void httpc_parser_init(struct httpc_parser *p, uint64_t max_body, httpc_sink sink, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->state = HTTPC_HEAD;
    p->max_body = max_body;
    p->sink = sink;
    p->ud = ud;
}

static int fail(struct httpc_parser *p, int code)
{
    p->state = HTTPC_FAILED;
    return code;
}

static int endless(struct httpc_parser *p, uint64_t n, struct err *e)
{
    return fail(p,
                err_set(e, -EFBIG,
                        "endless data attack: the server sends %s%llu bytes, at most %llu "
                        "expected",
                        n > p->max_body && !p->f.has_length ? "more than " : "",
                        (unsigned long long)(n > p->max_body && !p->f.has_length ? p->max_body : n),
                        (unsigned long long)p->max_body));
}

static int body(struct httpc_parser *p, const uint8_t *data, size_t n, int eof, struct err *e)
{
    int rc;

    if (p->f.has_length) {
        uint64_t left = p->f.content_length - p->got;
        if (n > left)
            n = (size_t)left; /* bytes past the announced length are not ours */
    } else if (n > p->max_body - p->got) {
        return endless(p, p->got + n, e);
    }
    if (n && (rc = p->sink(p->ud, data, n, e)) < 0)
        return fail(p, rc);
    p->got += n;
    if (p->f.has_length && p->got == p->f.content_length) {
        p->state = HTTPC_DONE;
        return 1;
    }
    if (eof) {
        if (p->f.has_length)
            return fail(p, err_set(e, -EPROTO, "the server closed after %llu of %llu bytes",
                                   (unsigned long long)p->got,
                                   (unsigned long long)p->f.content_length));
        p->state = HTTPC_DONE;
        return 1;
    }
    return 0;
}

int httpc_parser_feed(struct httpc_parser *p, const uint8_t *data, size_t n, int eof, struct err *e)
{
    struct http1_limits lim = {HTTPC_HEAD_MAX, SIZE_MAX};
    struct http1_resp r;
    size_t take, old;
    long hend;

    if (p->state == HTTPC_DONE)
        return 1;
    if (p->state == HTTPC_FAILED)
        return err_set(e, -EPROTO, "response already refused");
    if (p->state == HTTPC_BODY)
        return body(p, data, n, eof, e);

    old = p->head_len;
    take = n < sizeof(p->head) - old ? n : sizeof(p->head) - old;
    memcpy(p->head + old, data, take);
    p->head_len += take;
    hend = http1_parse_response_head(&r, p->head, p->head_len, eof && take == n, &lim, &p->f);
    if (hend < 0)
        return fail(p, err_set(e, -EPROTO, "bad HTTP response: %s", r.error));
    if (hend == 0) {
        if (p->head_len == sizeof(p->head))
            return fail(
                p, err_set(e, -EPROTO, "bad HTTP response: head over %u bytes", HTTPC_HEAD_MAX));
        if (eof)
            return fail(p, err_set(e, -EPROTO, "bad HTTP response: closed in the head"));
        return 0;
    }
    p->status = r.status;
    if (r.status == 404)
        return fail(p, err_set(e, -ENOENT, "not found (HTTP 404)"));
    if (r.status != 200)
        return fail(p, err_set(e, -EPROTO, "the server answered HTTP %d", r.status));
    if (p->f.chunked)
        return fail(p, err_set(e, -EPROTO, "bad HTTP response: chunked answer to HTTP/1.0"));
    if (p->f.has_length && p->f.content_length > p->max_body)
        return endless(p, p->f.content_length, e);
    p->state = HTTPC_BODY;
    /* the body bytes that came with the head: those of this call past hend */
    if ((size_t)hend < old)
        return fail(p, err_set(e, -EPROTO, "bad HTTP response"));
    return body(p, data + ((size_t)hend - old), n - ((size_t)hend - old), eof, e);
}
