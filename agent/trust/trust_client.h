/* trust_client: the client walk of content trust, with I/O. It fetches a
 * repository's metadata from a directory or an HTTP mirror ("DIR" or
 * "http://HOST[:PORT]/PATH"), has core/trust verify every step, and
 * downloads bundles through the streaming check. Each fetch is capped by
 * what the metadata before it records. The versions accepted last and the
 * newest root are the caller's to keep (agent/store for the agent, files
 * under --state for the CLI): they come in and go out in struct
 * trust_saved. HTTP options (o, may be NULL) set the silence timeout.
 * Blocking: the agent calls it from its thread pool.
 *
 * Repository layout (made by `troupe trust init`):
 *   root.json, N.root.json (every root version), timestamp.json,
 *   snapshot.json, targets.json, targets/NAME@VERSION.tar.zst */
#ifndef TROUPE_TRUST_CLIENT_H
#define TROUPE_TRUST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/trust/httpc_uv.h"
#include "core/err.h"
#include "core/trust.h"

#define TRUST_ROOT_ROTATIONS_MAX 1024

struct trust_saved {
    struct trust_state st;
    char *root; /* newest root.json accepted (heap), NULL when none yet */
    size_t root_len;
};
void trust_saved_release(struct trust_saved *s);

/* The repository a user named: DIR/repository when DIR is a trust
 * repository made by `troupe trust init`, else what was given. */
void trust_client_resolve(const char *given, char *out, size_t cap);
/* A short id of a pinned root.json (16 hex digits of its sha256): the key
 * under which a client keeps the versions it accepted. */
void trust_client_pin_id(const void *pinned, size_t len, char out[17]);

/* Reads the file at path (at most max bytes) into *out (heap, NUL-terminated). */
int trust_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);

/* Starting from the pinned root (or the saved one, when newer), follows
 * root rotations, then checks timestamp -> snapshot -> targets at time
 * now. saved is updated after each step that verified, even when a later
 * one fails; persist it either way. On success out holds the targets
 * (trust_targets_release). */
int trust_client_refresh(const char *repo, const struct httpc_opts *o, const void *pinned,
                         size_t pinned_len, int64_t now, struct trust_saved *saved,
                         struct trust_targets *out, struct err *e);
/* Downloads bundle t into path (written to path.part, renamed when every
 * byte checked out). */
int trust_client_download(const char *repo, const struct httpc_opts *o,
                          const struct trust_target *t, const char *path, struct err *e);
/* Checks a local bundle file against t. */
int trust_client_check_file(const struct trust_target *t, const char *path, struct err *e);

#endif
