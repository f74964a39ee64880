/* jsondir: reads the JSON files of one directory for the loaders of
 * --config-dir (catalog/services_dir.c: service files; super/super_dir.c:
 * the specs in run/). It owns listing, reading and parsing, and the
 * policy they share; what a file means, and what a refusal changes, is
 * the caller's.
 *
 * Policy: every NAME.json whose name does not start with '.', in name
 * order (alphasort: byte order, as the agent keeps the C locale); other
 * names are passed over. A symbolic link is followed (a file managed
 * elsewhere and linked in is read); what it points to, like any entry,
 * must be a regular file. A file larger than the caller's limit is
 * refused unread, and one that is not JSON is refused naming its line
 * and column. */
#ifndef TROUPE_JSONDIR_H
#define TROUPE_JSONDIR_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

/* One file of the directory, as given to the callbacks (all borrowed,
 * valid during the call only). */
struct jsondir_file {
    const char *path; /* DIR/NAME.json */
    const char *text; /* the whole file, NUL-terminated; NULL when not read */
    size_t len;
    json_t *root; /* text parsed (duplicate keys refused); NULL when not JSON */
};

/* apply: a file that was read and parsed; 0, or negative with e set to
 * refuse it. refused: a file that could not be read, was too large, was
 * not JSON or was refused by apply; e says why (without the path, which
 * f->path holds). */
typedef int (*jsondir_apply_fn)(void *ud, const struct jsondir_file *f, struct err *e);
typedef void (*jsondir_refused_fn)(void *ud, const struct jsondir_file *f, const struct err *e);

/* Calls apply or refused for every JSON file of dir, in name order.
 * Returns how many files there were, or a negative errno (e set, e.g.
 * -ENOENT) when dir cannot be listed; then no callback ran. */
int jsondir_load(const char *dir, size_t max_bytes, jsondir_apply_fn apply,
                 jsondir_refused_fn refused, void *ud, struct err *e);

#endif
