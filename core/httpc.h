/* httpc: the response side of troupe's small HTTP client, sans-I/O. It is
 * fed the bytes a server sends, in whatever pieces they arrive, parses the
 * head with core/http1 and hands the body on to a sink, never more than
 * the caller allows: a server that announces or sends more is refused at
 * once (no endless-data attack), a 404 is told apart from other errors.
 * Bodies are framed by Content-Length or by the end of the connection; the
 * client asks with HTTP/1.0, so a chunked answer is refused. No allocation. */
#ifndef TROUPE_HTTPC_H
#define TROUPE_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/http1.h"

#define HTTPC_HEAD_MAX (16u << 10)

/* Receives body bytes; a negative return (with e set) stops the parse. */
typedef int (*httpc_sink)(void *ud, const uint8_t *p, size_t n, struct err *e);

enum httpc_state { HTTPC_HEAD, HTTPC_BODY, HTTPC_DONE, HTTPC_FAILED };

struct httpc_parser {
    enum httpc_state state;
    uint8_t head[HTTPC_HEAD_MAX];
    size_t head_len;
    int status;
    struct http1_framing f;
    uint64_t max_body; /* bytes the caller accepts */
    uint64_t got;      /* body bytes handed to the sink */
    httpc_sink sink;
    void *ud;
};

void httpc_parser_init(struct httpc_parser *p, uint64_t max_body, httpc_sink sink, void *ud);
/* Feeds n bytes (eof: the server closed after them). Returns 1 when the
 * response is complete, 0 for more, or a negative code with e set:
 * -ENOENT (404), -EFBIG (more than max_body: the message says endless data
 * attack), -EPROTO (anything else), or the sink's code. */
int httpc_parser_feed(struct httpc_parser *p, const uint8_t *data, size_t n, int eof,
                      struct err *e);

#endif
