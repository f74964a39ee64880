/* bundle: what the agent does with "NAME@VERSION": fetch it from the trust
 * repository (--trust-repo), verify it against the pinned root
 * (--trust-root) and the versions this agent accepted before (kept in its
 * store), unpack it into DATA_DIR/bundles/NAME@VERSION, and say where, or
 * refuse with an error that names the attack. Used by PUT /v1/bundle/fetch
 * and meant for the supervisor: a service spec that names a bundle instead
 * of a command calls bundle_prepare, then runs the manifest's entrypoint
 * (relative to the path) with its runtime.
 *
 * The work runs in libuv's thread pool, one bundle at a time (others wait
 * in a queue); callbacks run on the loop. A bundle already unpacked is
 * reused once the fresh metadata still records its hash. */
#ifndef TROUPE_BUNDLE_H
#define TROUPE_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "agent/trust/bundle_archive.h"
#include "core/err.h"

struct agent;

struct bundle_result {
    const char *name;                       /* "NAME@VERSION" */
    const char *path;                       /* the unpacked bundle; NULL on error */
    const struct bundle_manifest *manifest; /* NULL on error */
    int reused;                             /* already unpacked and still trusted */
    /* on error: e.code is one of enum trust_attack (core/trust.h) when the
     * bundle or the metadata was refused, or another negative code (no
     * repository configured, cannot reach the mirror, disk) */
    const struct err *e;
};

/* Called once, on the loop, with everything valid only during the call. */
typedef void (*bundle_done_cb)(void *ud, const struct bundle_result *r);

/* Fetches, verifies and unpacks name ("NAME@VERSION"). cb is always called
 * exactly once: later, from the loop, or before bundle_prepare returns when
 * the request is refused at once (bad name, no --trust-repo). */
void bundle_prepare(struct agent *a, const char *name, bundle_done_cb cb, void *ud);

/* Prometheus lines: bundles prepared and refused (by attack). */
void bundle_write_metrics(struct agent *a, FILE *f);

/* At start: checks the pinned root (--trust-root) when one is configured. */
int bundle_open(struct agent *a, struct err *e);
/* Frees the queue's state once the loop has ended (agent_main). */
void bundle_release(struct agent *a);

/* A signed bundle whose tarball is unsafe (path-escaping entries, device
 * files) or broken: refused at unpack. */
#define BUNDLE_UNSAFE (-EPERM)

/* What a refusal code means ("rollback attack", "unsafe bundle contents"),
 * or NULL when the code is not a refusal (I/O, configuration). */
const char *bundle_refusal(int code);

/* The HTTP status that fits a refusal: 403 for an attack, 404 for an
 * unknown bundle, 502 for a mirror that cannot be reached, 503 without a
 * repository, 500 else. */
int bundle_http_status(int code);

#endif
