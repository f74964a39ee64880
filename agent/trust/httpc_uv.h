/* httpc_uv: troupe's small HTTP client on libuv, for fetching trust metadata
 * and bundles from a mirror. One GET per connection (HTTP/1.0, so bodies
 * are never chunked), the response parsed by core/httpc, the body streamed
 * to a sink and capped by the caller. A connection that stays silent for
 * HTTPC_IDLE_MS, or a server slower than HTTPC_MIN_RATE bytes a second
 * over the whole transfer, is timed out. Blocking: it runs a private loop,
 * so call it from a worker thread (the agent) or the CLI. */
#ifndef TROUPE_AGENT_HTTPC_H
#define TROUPE_AGENT_HTTPC_H

#include <stdint.h>

#include "core/err.h"
#include "core/httpc.h"

#define HTTPC_IDLE_MS  10000
#define HTTPC_MIN_RATE (64u << 10) /* bytes per second, on average */
#define HTTPC_URL_MAX  2048

struct httpc_opts {
    unsigned idle_ms; /* 0: HTTPC_IDLE_MS */
};

/* GET url ("http://HOST[:PORT]/PATH"); body bytes go to sink, at most
 * max_body of them. Returns 0, -ENOENT for 404, -ETIMEDOUT, -EFBIG (endless
 * data), or another negative code; e names the URL and what went wrong. */
int httpc_get(const char *url, uint64_t max_body, const struct httpc_opts *o, httpc_sink sink,
              void *ud, struct err *e);

#endif
