/* services: service definitions as JSON, in and out. The same shape is the
 * body of PUT /v1/agent/service/register and the content of a service file
 * in --config-dir (a file may also hold {"service": {...}} or
 * {"services": [...]}). Every error names the field, e.g.
 * `checks[0].interval: "10" has no unit (10s, 500ms, 1m)`. Pure (jansson
 * only): no agent state, so the fuzz target drives it directly. */
#ifndef TROUPE_SERVICES_H
#define TROUPE_SERVICES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/catalog/catalog.h"

/* One definition object into d (zeroed first; release with
 * catalog_def_release, also after an error). Validates every field. */
int services_parse(json_t *j, struct catalog_def *d, struct err *e);

/* One check object into c (where: the field path for messages). */
int services_parse_check(json_t *j, const char *where, struct catalog_check_def *c, struct err *e);

/* The text of a service file or request body: calls cb for every
 * definition (d is the parser's; cb copies what it keeps). Returns the
 * number of definitions, or the first error (nothing after it is called). */
int services_parse_text(const char *text, size_t len,
                        int (*cb)(void *ud, const struct catalog_def *d, struct err *e), void *ud,
                        struct err *e);
/* The same for text already parsed (root is borrowed). */
int services_parse_root(json_t *root,
                        int (*cb)(void *ud, const struct catalog_def *d, struct err *e), void *ud,
                        struct err *e);

/* The definition as JSON (what services_parse reads back). Caller decrefs. */
json_t *services_to_json(const struct catalog_def *d);

/* "10s", "500ms", "1m", "2h" -> milliseconds. */
int services_duration(const char *s, uint64_t *ms);

/* "HOST:PORT" / "[V6]:PORT" and "http://HOST[:PORT][/PATH]". host gets the
 * name or address without brackets; path starts with '/'. */
int services_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port);
int services_parse_url(const char *url, char *host, size_t cap, uint16_t *port, char *path,
                       size_t path_cap);

#endif
