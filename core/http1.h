/* http1: the project's own HTTP/1.1 parser, sans-I/O. It parses a request
 * (or, for the CLI's client, a response) from the bytes received so far:
 * "need more", "complete" (with the bytes it used, so pipelined requests
 * follow), or an error with the status to answer. Slices point into the
 * caller's buffer; a chunked body is decoded in place. No allocation. */
#ifndef TROUPE_HTTP1_H
#define TROUPE_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#define HTTP1_HEADERS_MAX  100
#define HTTP1_HEADER_BYTES (16u << 10)
#define HTTP1_BODY_MAX     (1u << 20)
#define HTTP1_PATH_MAX     2048

struct http1_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct http1_limits {
    size_t header_bytes; /* request line + headers */
    size_t body_bytes;
};

struct http1_req {
    const char *method;
    size_t method_len;
    const char *target; /* as sent: path?query */
    size_t target_len;
    char path[HTTP1_PATH_MAX + 1]; /* percent-decoded path, NUL-terminated */
    size_t path_len;               /* its bytes: more than strlen(path) when it holds %00,
                                    * which the parser leaves to the server to refuse */
    const char *query;             /* after '?', not decoded; NULL when none */
    size_t query_len;
    int minor; /* HTTP/1.<minor> */
    struct http1_header h[HTTP1_HEADERS_MAX];
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    int keep_alive;
    int status;        /* on error: the status to answer (400, 413, 414, 431, 501, 505) */
    const char *error; /* on error: what is wrong */
};

/* Parses one request from buf (len bytes received so far). Returns the bytes
 * the request takes (> 0) when complete, 0 when more bytes are needed, or
 * -1 with req->status and req->error set. A chunked body is decoded in place
 * inside buf, which is why buf is not const. lim may be NULL (defaults). */
long http1_parse_request(struct http1_req *req, uint8_t *buf, size_t len,
                         const struct http1_limits *lim);

struct http1_framing;

/* Parses a request's line and headers only, for a proxy that streams the
 * body: returns the bytes of the head (> 0), 0 for more, or -1 with
 * req->status and req->error. f says how the body that follows is framed
 * (chunked, or content_length bytes; neither: no body); a content-length
 * over lim->body_bytes is refused with 413. lim may be NULL (defaults). */
long http1_parse_request_head(struct http1_req *req, const uint8_t *buf, size_t len,
                              const struct http1_limits *lim, struct http1_framing *f);

/* Case-insensitive header lookup; returns the value slice or NULL. */
const char *http1_header(const struct http1_header *h, size_t n, const char *name,
                         size_t *value_len);

/* Copies the percent-decoded value of query parameter `name` into out (NUL
 * terminated). Returns its length, -1 when absent, -2 when it does not fit
 * or is malformed. A parameter without '=' has the empty value. */
int http1_query_get(const char *query, size_t query_len, const char *name, char *out, size_t cap);

/* Percent-decodes src into out (cap bytes, NUL-terminated); -1 when
 * malformed, holds a NUL, or does not fit. */
int http1_pct_decode(const char *src, size_t len, char *out, size_t cap);

struct http1_resp {
    int status;
    int minor;
    struct http1_header h[HTTP1_HEADERS_MAX];
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    const char *error;
};

/* How a response's body is framed, from its headers. */
struct http1_framing {
    int chunked;
    int has_length;
    size_t content_length;
    int no_body; /* 1xx, 204, 304 */
};

/* Parses a response's status line and headers only (for a client that
 * streams the body): returns the bytes of the head (> 0), 0 for more, -1
 * with resp->error. A Content-Length over lim->body_bytes is an error. */
long http1_parse_response_head(struct http1_resp *resp, const uint8_t *buf, size_t len, int eof,
                               const struct http1_limits *lim, struct http1_framing *f);

/* Parses a response; eof says the peer closed (ends a body without length).
 * Returns bytes used (> 0), 0 for more, -1 with resp->error. */
long http1_parse_response(struct http1_resp *resp, uint8_t *buf, size_t len, int eof,
                          const struct http1_limits *lim);

/* Follows a chunked body as it streams by, to find where it ends, without
 * decoding or holding it (a proxy passes the bytes on as they are). Zero
 * it to start. */
struct http1_chunks {
    int state;
    uint64_t left;   /* bytes of the current chunk still to come */
    unsigned digits; /* of the size being read */
    size_t extra;    /* bytes of extensions and trailers so far (bounded) */
};

/* Feeds n bytes: returns how many of them belong to the body (n, or less
 * when the body ended inside them), or -1 when they are not a chunked
 * body. http1_chunks_done says whether the body ended. */
long http1_chunks_feed(struct http1_chunks *st, const uint8_t *p, size_t n);
int http1_chunks_done(const struct http1_chunks *st);

#endif
