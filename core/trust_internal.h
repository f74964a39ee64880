/* trust_internal: what trust.c and trust_json.c share; not for other files. */
#ifndef TROUPE_TRUST_INTERNAL_H
#define TROUPE_TRUST_INTERNAL_H

#include "core/trust.h"

/* _type, version (>= 1) and expires of a "signed" object. */
int trust_header_from_json(const json_t *s, const char *type, uint64_t *version, int64_t *expires,
                           struct err *e);
/* meta[file]: version, length, hashes.sha256. */
int trust_metafile_from_json(const json_t *s, const char *file, struct trust_metafile *m,
                             struct err *e);

#endif
