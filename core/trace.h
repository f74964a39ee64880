/* trace: W3C Trace Context (traceparent) for the proxy: read a request's
 * traceparent, and write the one the next hop gets: the same trace with a
 * new span id (the proxy's hop), or a new trace when the request had none
 * or a malformed one. Pure: the random bytes come from the caller. */
#ifndef TROUPE_TRACE_H
#define TROUPE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_HEADER_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TRACE_RANDOM     24 /* random bytes trace_next needs */

struct trace {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
};

/* Parses a traceparent value: 0, or -1 when it is not one (bad length,
 * uppercase or non-hex digits, version ff, an all-zero id). A version
 * above 00 is read for its first four fields, as the spec asks. */
int trace_parse(struct trace *t, const char *v, size_t len);

/* The next hop's context: in's trace (or, when in is NULL, a new one from
 * rnd[0..16) with flags 00) with a new span id from rnd[16..24). */
void trace_next(struct trace *out, const struct trace *in, const uint8_t rnd[TRACE_RANDOM]);

/* Writes t as a version-00 traceparent: TRACE_HEADER_LEN chars and a NUL. */
void trace_format(const struct trace *t, char out[TRACE_HEADER_LEN + 1]);
/* The trace id as 32 lowercase hex digits and a NUL. */
void trace_id_hex(const struct trace *t, char out[33]);

#endif
