/* api_input: the text of a request, checked at the edge of the API before
 * any handler runs. Every path segment and every query parameter (name and
 * value), once percent-decoded, must be UTF-8, hold no NUL and fit its
 * limit; a refusal names the part, so handlers and the JSON they build only
 * ever see valid text. Pure: no I/O, no allocation. */
#ifndef TROUPE_API_INPUT_H
#define TROUPE_API_INPUT_H

#include <stddef.h>

/* The longest name a route takes is a KV key (512 bytes); a log cursor is
 * the longest query value, bounded by the request target (2 KiB) anyway. */
#define API_INPUT_SEGMENT_MAX 512
#define API_INPUT_VALUE_MAX   2048

/* Bytes of the UTF-8 character at p (n bytes left, n > 0); 0 when p does
 * not start a valid one (overlong, surrogate, past U+10FFFF, cut short). */
size_t api_input_utf8_char(const unsigned char *p, size_t n);
/* 1 when s[0..len) is valid UTF-8. */
int api_input_utf8_valid(const char *s, size_t len);

/* Checks the decoded path (path_len bytes, may hold NUL) and the raw query
 * (after '?', not decoded; NULL when none). Returns 0, or -EINVAL with what
 * is wrong in msg (cap bytes), e.g. "path segment 3: contains NUL" or
 * "query parameter \"service\": not valid UTF-8". */
int api_input_check(const char *path, size_t path_len, const char *query, size_t query_len,
                    char *msg, size_t cap);

#endif
