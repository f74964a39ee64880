/* http1: HTTP/1.1 request and response parsing over caller buffers (see
 * http1.h). Every index is checked against the bytes received; limits on
 * header bytes, header count and body size turn into the status to answer. */
#include "core/http1.h"

#include <stddef.h>
#include <string.h>

#define CHUNK_LINE_MAX 64 /* bytes of a chunk size line with its extensions */

static const struct http1_limits default_limits = {HTTP1_HEADER_BYTES, HTTP1_BODY_MAX};

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

const char *http1_header(const struct http1_header *h, size_t n, const char *name,
                         size_t *value_len)
{
    for (size_t i = 0; i < n; i++) {
        if (ieq(h[i].name, h[i].name_len, name)) {
            if (value_len)
                *value_len = h[i].value_len;
            return h[i].value;
        }
    }
    return NULL;
}

/* Does a comma-separated header value hold token (case-insensitive)? */
static int has_token(const char *v, size_t len, const char *token)
{
    size_t i = 0;
    while (i < len) {
        size_t start, end;
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        start = i;
        while (i < len && v[i] != ',')
            i++;
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start && ieq(v + start, end - start, token))
            return 1;
    }
    return 0;
}

/* Finds the end of the line starting at pos: returns the index of '\n' and
 * the line length without CR, or -1 when no '\n' within len. */
static long line_end(const uint8_t *buf, size_t pos, size_t len, size_t *line_len)
{
    const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
    size_t end;

    if (!nl)
        return -1;
    end = (size_t)(nl - buf);
    *line_len = end - pos;
    if (*line_len && buf[end - 1] == '\r')
        (*line_len)--;
    return (long)end;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http1_pct_decode(const char *src, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = hexval((unsigned char)src[i + 1]);
            lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (cap == 0)
        return -1;
    out[o] = '\0';
    return (int)o;
}

int http1_query_get(const char *query, size_t query_len, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name), i = 0;

    if (!query)
        return -1;
    while (i < query_len) {
        size_t start = i, eq, end;
        while (i < query_len && query[i] != '&')
            i++;
        end = i++;
        for (eq = start; eq < end && query[eq] != '='; eq++)
            ;
        if (eq - start == nlen && memcmp(query + start, name, nlen) == 0) {
            int n = eq < end ? http1_pct_decode(query + eq + 1, end - eq - 1, out, cap)
                             : http1_pct_decode("", 0, out, cap);
            return n < 0 ? -2 : n;
        }
    }
    return -1;
}

/* Parses header lines from pos up to the empty line. Returns the index just
 * past the empty line, 0 for more, -1 on error (status and why set). */
static long parse_headers(const uint8_t *buf, size_t len, size_t pos, size_t max_bytes,
                          struct http1_header *h, size_t *n, int *status, const char **why)
{
    *n = 0;
    for (;;) {
        size_t ll;
        long end = line_end(buf, pos, len, &ll);
        const char *line = (const char *)buf + pos;
        size_t colon, vs, ve;

        if (end < 0) {
            if (len > max_bytes) {
                *status = 431;
                *why = "request headers too large";
                return -1;
            }
            return 0;
        }
        if ((size_t)end >= max_bytes) {
            *status = 431;
            *why = "request headers too large";
            return -1;
        }
        if (ll == 0)
            return end + 1;
        if (line[0] == ' ' || line[0] == '\t') {
            *status = 400;
            *why = "obsolete header line folding";
            return -1;
        }
        for (colon = 0; colon < ll && is_tchar((unsigned char)line[colon]); colon++)
            ;
        if (colon == 0 || colon >= ll || line[colon] != ':') {
            *status = 400;
            *why = "malformed header line";
            return -1;
        }
        vs = colon + 1;
        while (vs < ll && (line[vs] == ' ' || line[vs] == '\t'))
            vs++;
        ve = ll;
        while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
            ve--;
        for (size_t i = vs; i < ve; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *status = 400;
                *why = "control character in a header value";
                return -1;
            }
        }
        if (*n == HTTP1_HEADERS_MAX) {
            *status = 431;
            *why = "too many headers";
            return -1;
        }
        h[*n].name = line;
        h[*n].name_len = colon;
        h[*n].value = line + vs;
        h[*n].value_len = ve - vs;
        (*n)++;
        pos = (size_t)end + 1;
    }
}

/* Body framing shared by requests and responses: sets *chunked and *clen.
 * Returns 0, or -1 with status and why. */
static int body_framing(const struct http1_header *h, size_t n, size_t body_max, int *chunked,
                        size_t *clen, int *has_clen, int *status, const char **why)
{
    int te = 0;

    *chunked = 0;
    *clen = 0;
    *has_clen = 0;
    for (size_t i = 0; i < n; i++) {
        if (ieq(h[i].name, h[i].name_len, "transfer-encoding")) {
            if (te || !ieq(h[i].value, h[i].value_len, "chunked")) {
                *status = 501;
                *why = "unsupported transfer-encoding";
                return -1;
            }
            te = 1;
        } else if (ieq(h[i].name, h[i].name_len, "content-length")) {
            size_t v = 0;
            if (h[i].value_len == 0 || h[i].value_len > 15) {
                *status = h[i].value_len > 15 ? 413 : 400;
                *why = "bad content-length";
                return -1;
            }
            for (size_t k = 0; k < h[i].value_len; k++) {
                char c = h[i].value[k];
                if (c < '0' || c > '9') {
                    *status = 400;
                    *why = "bad content-length";
                    return -1;
                }
                v = v * 10 + (size_t)(c - '0');
            }
            if (*has_clen && v != *clen) {
                *status = 400;
                *why = "content-length headers disagree";
                return -1;
            }
            *has_clen = 1;
            *clen = v;
        }
    }
    if (te && *has_clen) {
        *status = 400;
        *why = "both content-length and chunked";
        return -1;
    }
    if (*clen > body_max) {
        *status = 413;
        *why = "body too large";
        return -1;
    }
    *chunked = te;
    return 0;
}

/* Decodes a chunked body starting at pos. Returns the index past the whole
 * body (trailers included), 0 for more, -1 on error. With decode set, moves
 * the data together at buf+pos and sets *body_len. */
static long chunked(uint8_t *buf, size_t len, size_t pos, size_t body_max, size_t trailer_max,
                    int decode, size_t *body_len, int *status, const char **why)
{
    size_t out = pos, total = 0;

    for (;;) {
        size_t ll, size = 0, digits = 0;
        long end = line_end(buf, pos, len, &ll);
        /* refused the same whether the line came whole or is still arriving
         * (then one more byte may be its CR) */
        if (end < 0 ? len - pos > CHUNK_LINE_MAX + 1 : ll > CHUNK_LINE_MAX) {
            *status = 400;
            *why = "bad chunk size line";
            return -1;
        }
        if (end < 0)
            return 0;
        for (; digits < ll; digits++) {
            int v = hexval(buf[pos + digits]);
            if (v < 0)
                break;
            if (digits >= 15) {
                *status = 413;
                *why = "chunk too large";
                return -1;
            }
            size = size * 16 + (size_t)v;
        }
        if (digits == 0 || (digits < ll && buf[pos + digits] != ';' && buf[pos + digits] != ' ')) {
            *status = 400;
            *why = "bad chunk size";
            return -1;
        }
        pos = (size_t)end + 1;
        if (size == 0)
            break;
        if (total + size > body_max) {
            *status = 413;
            *why = "body too large";
            return -1;
        }
        if (len - pos < size + 1)
            return 0;
        if (decode)
            memmove(buf + out, buf + pos, size);
        out += size;
        total += size;
        pos += size;
        if (buf[pos] == '\r') {
            if (len - pos < 2)
                return 0;
            pos++;
        }
        if (buf[pos] != '\n') {
            *status = 400;
            *why = "chunk not followed by a line end";
            return -1;
        }
        pos++;
    }
    /* trailers: skipped, bounded */
    for (size_t start = pos;;) {
        size_t ll;
        long end = line_end(buf, pos, len, &ll);
        if ((end < 0 ? len : (size_t)end + 1) - start > trailer_max) {
            *status = 431;
            *why = "trailers too large";
            return -1;
        }
        if (end < 0)
            return 0;
        pos = (size_t)end + 1;
        if (ll == 0)
            break;
    }
    *body_len = total;
    return (long)pos;
}

/* Sets the answer to a request that cannot be served; returns -1. */
static int req_fail(struct http1_req *r, int status, const char *why)
{
    r->status = status;
    r->error = why;
    return -1;
}

/* "METHOD SP target SP HTTP/1.x", ll bytes at line: sets method, target and
 * minor, or fails the request. */
static int parse_request_line(struct http1_req *r, const char *line, size_t ll)
{
    size_t sp1, sp2;

    if (ll == 0)
        return req_fail(r, 400, "empty request line");
    for (sp1 = 0; sp1 < ll && is_tchar((unsigned char)line[sp1]); sp1++)
        ;
    if (sp1 == 0 || sp1 > 16 || sp1 >= ll || line[sp1] != ' ')
        return req_fail(r, 400, "malformed request line");
    for (sp2 = sp1 + 1; sp2 < ll && line[sp2] != ' '; sp2++) {
        unsigned char c = (unsigned char)line[sp2];
        if (c <= 0x20 || c == 0x7f)
            return req_fail(r, 400, "control character in the request target");
    }
    if (sp2 >= ll || sp2 == sp1 + 1)
        return req_fail(r, 400, "malformed request line");
    if (sp2 - sp1 - 1 > HTTP1_PATH_MAX)
        return req_fail(r, 414, "request target too long");
    if (ll - sp2 - 1 != 8 || memcmp(line + sp2 + 1, "HTTP/1.", 7) != 0) {
        if (ll - sp2 - 1 >= 5 && memcmp(line + sp2 + 1, "HTTP/", 5) == 0)
            return req_fail(r, 505, "HTTP version not supported");
        return req_fail(r, 400, "malformed request line");
    }
    if (line[sp2 + 8] != '0' && line[sp2 + 8] != '1')
        return req_fail(r, 505, "HTTP version not supported");
    r->minor = line[sp2 + 8] - '0';
    r->method = line;
    r->method_len = sp1;
    r->target = line + sp1 + 1;
    r->target_len = sp2 - sp1 - 1;
    return 0;
}

/* Splits the target at '?' into path and query; the path is percent-decoded
 * into r->path, but '+' stays '+'. */
static int split_target(struct http1_req *r)
{
    size_t qpos, o = 0;

    if (r->target[0] != '/')
        return req_fail(r, 400, "request target must start with /");
    for (qpos = 0; qpos < r->target_len && r->target[qpos] != '?'; qpos++)
        ;
    if (qpos < r->target_len) {
        r->query = r->target + qpos + 1;
        r->query_len = r->target_len - qpos - 1;
    }
    for (size_t i = 0; i < qpos; i++) {
        int c = (unsigned char)r->target[i];
        if (c == '%') {
            int hi = i + 1 < qpos ? hexval((unsigned char)r->target[i + 1]) : -1;
            int lo = i + 2 < qpos ? hexval((unsigned char)r->target[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return req_fail(r, 400, "bad percent-encoding in the path");
            c = hi * 16 + lo;
            i += 2;
        }
        r->path[o++] = (char)c;
    }
    r->path[o] = '\0';
    r->path_len = o;
    return 0;
}

/* HTTP/1.1 keeps the connection unless told to close; 1.0 closes it unless
 * told to keep it. */
static void set_keep_alive(struct http1_req *r)
{
    size_t cv;
    const char *c = http1_header(r->h, r->n_headers, "connection", &cv);

    if (r->minor == 1)
        r->keep_alive = !(c && has_token(c, cv, "close"));
    else
        r->keep_alive = c && has_token(c, cv, "keep-alive");
}

/* The body that starts at hend: chunked (decoded in place) or clen bytes.
 * Returns the bytes the whole request takes, 0 when more are needed, -1. */
static long read_body(struct http1_req *r, uint8_t *buf, size_t len, size_t hend, int chunk,
                      size_t clen, const struct http1_limits *lim)
{
    if (chunk) {
        size_t blen = 0;
        long total = chunked(buf, len, hend, lim->body_bytes, lim->header_bytes, 0, &blen,
                             &r->status, &r->error);
        if (total <= 0)
            return total;
        chunked(buf, len, hend, lim->body_bytes, lim->header_bytes, 1, &blen, &r->status,
                &r->error);
        r->body = buf + hend;
        r->body_len = blen;
        return total;
    }
    if (len - hend < clen)
        return 0;
    r->body = buf + hend;
    r->body_len = clen;
    return (long)(hend + clen);
}

/* The request line and headers: the bytes of the head (> 0), 0 for more,
 * or -1 with the status; *chunk, *clen say how the body is framed. */
static long request_head(struct http1_req *r, const uint8_t *buf, size_t len,
                         const struct http1_limits *lim, int *chunk, size_t *clen)
{
    size_t ll;
    long end, hend;
    int has_clen;

    memset(r, 0, offsetof(struct http1_req, h));
    r->n_headers = 0;
    r->body = NULL;
    r->body_len = 0;
    r->status = 0;
    r->error = NULL;
    end = line_end(buf, 0, len, &ll);
    if (end < 0) {
        if (len > HTTP1_PATH_MAX + 64)
            return req_fail(r, 414, "request line too long");
        return 0;
    }
    if (parse_request_line(r, (const char *)buf, ll) < 0 || split_target(r) < 0)
        return -1;
    hend = parse_headers(buf, len, (size_t)end + 1, lim->header_bytes, r->h, &r->n_headers,
                         &r->status, &r->error);
    if (hend <= 0)
        return hend;
    if (body_framing(r->h, r->n_headers, lim->body_bytes, chunk, clen, &has_clen, &r->status,
                     &r->error) < 0)
        return -1;
    set_keep_alive(r);
    return hend;
}

long http1_parse_request(struct http1_req *r, uint8_t *buf, size_t len,
                         const struct http1_limits *lim)
{
    size_t clen;
    long hend;
    int chunk;

    if (!lim)
        lim = &default_limits;
    hend = request_head(r, buf, len, lim, &chunk, &clen);
    if (hend <= 0)
        return hend;
    return read_body(r, buf, len, (size_t)hend, chunk, clen, lim);
}

long http1_parse_request_head(struct http1_req *r, const uint8_t *buf, size_t len,
                              const struct http1_limits *lim, struct http1_framing *f)
{
    long hend;

    if (!lim)
        lim = &default_limits;
    memset(f, 0, sizeof(*f));
    hend = request_head(r, buf, len, lim, &f->chunked, &f->content_length);
    if (hend > 0)
        f->has_length = !f->chunked && http1_header(r->h, r->n_headers, "content-length", NULL);
    return hend;
}

long http1_parse_response_head(struct http1_resp *r, const uint8_t *buf, size_t len, int eof,
                               const struct http1_limits *lim, struct http1_framing *f)
{
    size_t ll;
    long end, hend;
    const char *line = (const char *)buf;
    int status;

    if (!lim)
        lim = &default_limits;
    memset(r, 0, sizeof(*r));
    memset(f, 0, sizeof(*f));
    end = line_end(buf, 0, len, &ll);
    if (end < 0) {
        if (len > 1024 || eof) {
            r->error = "malformed status line";
            return -1;
        }
        return 0;
    }
    if (ll < 12 || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
        line[11] < '0' || line[11] > '9' || (ll > 12 && line[12] != ' ')) {
        r->error = "malformed status line";
        return -1;
    }
    r->minor = line[7] - '0';
    r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    hend = parse_headers(buf, len, (size_t)end + 1, lim->header_bytes, r->h, &r->n_headers, &status,
                         &r->error);
    if (hend == 0 && eof) {
        r->error = "response headers truncated";
        return -1;
    }
    if (hend <= 0)
        return hend;
    if (body_framing(r->h, r->n_headers, lim->body_bytes, &f->chunked, &f->content_length,
                     &f->has_length, &status, &r->error) < 0)
        return -1;
    f->no_body = r->status == 204 || r->status == 304 || r->status < 200;
    return hend;
}

long http1_parse_response(struct http1_resp *r, uint8_t *buf, size_t len, int eof,
                          const struct http1_limits *lim)
{
    struct http1_framing f;
    size_t clen;
    long hend;
    int status;

    if (!lim)
        lim = &default_limits;
    hend = http1_parse_response_head(r, buf, len, eof, lim, &f);
    if (hend <= 0)
        return hend;
    clen = f.content_length;
    if (f.no_body)
        return hend;
    if (f.chunked) {
        size_t blen = 0;
        long total = chunked(buf, len, (size_t)hend, lim->body_bytes, lim->header_bytes, 0, &blen,
                             &status, &r->error);
        if (total == 0 && eof) {
            r->error = "response body truncated";
            return -1;
        }
        if (total <= 0)
            return total;
        chunked(buf, len, (size_t)hend, lim->body_bytes, lim->header_bytes, 1, &blen, &status,
                &r->error);
        r->body = buf + hend;
        r->body_len = blen;
        return total;
    }
    if (!f.has_length) {
        if (len - (size_t)hend > lim->body_bytes) {
            r->error = "response body too large";
            return -1;
        }
        if (!eof)
            return 0;
        r->body = buf + hend;
        r->body_len = len - (size_t)hend;
        return (long)len;
    }
    if (len - (size_t)hend < clen) {
        if (eof) {
            r->error = "response body truncated";
            return -1;
        }
        return 0;
    }
    r->body = buf + hend;
    r->body_len = clen;
    return hend + (long)clen;
}

/* ---- following a chunked body ---- */

enum {
    CH_SIZE = 0,
    CH_EXT,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_LINE,
    CH_END_LF,
    CH_DONE
};

#define CH_EXTRA_MAX (16u << 10) /* bytes of chunk extensions and trailers */

int http1_chunks_done(const struct http1_chunks *st)
{
    return st->state == CH_DONE;
}

long http1_chunks_feed(struct http1_chunks *st, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && st->state != CH_DONE) {
        uint8_t c = p[i];
        switch (st->state) {
        case CH_SIZE:
            if (hexval(c) >= 0) {
                if (++st->digits > 15)
                    return -1;
                st->left = st->left * 16 + (uint64_t)hexval(c);
            } else if (st->digits && (c == ';' || c == ' ' || c == '\t')) {
                st->state = CH_EXT;
            } else if (st->digits && c == '\r') {
                st->state = CH_SIZE_LF;
            } else {
                return -1;
            }
            i++;
            break;
        case CH_EXT: /* chunk extensions: skipped to the line end */
            if (++st->extra > CH_EXTRA_MAX)
                return -1;
            if (c == '\r')
                st->state = CH_SIZE_LF;
            i++;
            break;
        case CH_TRAILER_LINE: /* a trailer field: skipped to the line end */
            if (++st->extra > CH_EXTRA_MAX)
                return -1;
            if (c == '\n')
                st->state = CH_TRAILER_START;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return -1;
            st->state = st->left ? CH_DATA : CH_TRAILER_START;
            st->digits = 0;
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i < st->left ? n - i : (size_t)st->left;
            st->left -= take;
            i += take;
            if (st->left == 0)
                st->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return -1;
            st->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return -1;
            st->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER_START:
            st->state = c == '\r' ? CH_END_LF : CH_TRAILER_LINE;
            if (st->state == CH_TRAILER_LINE)
                continue; /* the byte is the line's first */
            i++;
            break;
        case CH_END_LF:
            if (c != '\n')
                return -1;
            st->state = CH_DONE;
            i++;
            break;
        default:
            return -1;
        }
    }
    return (long)i;
}
