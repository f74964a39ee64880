/* consul_filter: the common expressions of Consul's ?filter= over an
 * answer's JSON objects. A clause is `Sel == "v"`, `Sel != "v"`,
 * `"v" in Sel`, `"v" not in Sel`, `Sel contains "v"`, `Sel not contains
 * "v"`, `Sel is empty`, `Sel is not empty`; clauses are joined by `and`
 * (tighter) and `or`, without parentheses. A selector is field names
 * joined by dots (`Service.Tags`, `ServiceMeta.version`); a value is
 * quoted ("..." or `...`) or a bare word or number. Anything else
 * (matches, parentheses, not before a clause) is refused with a message.
 * Pure: parses untrusted text (fuzzed by the API's route fuzzer). */
#ifndef TROUPE_CONSUL_FILTER_H
#define TROUPE_CONSUL_FILTER_H

#include <jansson.h>

#include "core/err.h"

#define CONSUL_FILTER_CLAUSES_MAX 16

struct consul_filter;

/* Parses expr into *out (heap; consul_filter_free). 0, or -EINVAL with a
 * message. */
int consul_filter_parse(const char *expr, struct consul_filter **out, struct err *e);
/* 1 when the object o satisfies the filter. */
int consul_filter_match(const struct consul_filter *f, json_t *o);
void consul_filter_free(struct consul_filter *f); /* NULL is a no-op */

#endif
