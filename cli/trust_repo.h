/* trust_repo: the publisher's side of content trust, for `troupe trust
 * init|add|publish|rotate`. A trust repository is a directory:
 *   keystore/KEYID.key   private keys (0600, in a 0700 directory); root
 *                        keys are sealed with a passphrase (Argon2id +
 *                        XSalsa20-Poly1305 secretbox), online keys
 *                        (targets, snapshot, timestamp) are not
 *   repository/          what mirrors serve and agents fetch (see
 *                        agent/trust/trust_client.h); keep keystore/ off mirrors
 *   staged-targets.json  bundles added since the last publish
 * Which key signs for which role is read from root.json. */
#ifndef TROUPE_CLI_TRUST_REPO_H
#define TROUPE_CLI_TRUST_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TRUST_PASSPHRASE_MAX 1024

struct trust_repo_opts {
    unsigned root_keys;      /* init: how many root keys (default 1) */
    unsigned root_threshold; /* init: how many must sign (default 1) */
    int64_t root_expires_s;  /* default 365 days */
    int64_t targets_expires_s, snapshot_expires_s, timestamp_expires_s; /* 90, 7, 1 days */
    int timestamp_only;     /* publish: re-sign timestamp.json only */
    const char *passphrase; /* for root keys; NULL when not needed */
};

void trust_repo_opts_default(struct trust_repo_opts *o);

/* Creates the repository in dir (absent or empty), publishes empty targets. */
int trust_repo_init(const char *dir, const struct trust_repo_opts *o, int64_t now, struct err *e);
/* Copies bundle file into repository/targets/ and stages it; *name gets
 * "NAME@VERSION" (cap bytes). */
int trust_repo_add(const char *dir, const char *file, char *name, size_t cap, struct err *e);
/* Signs targets (with what is staged), snapshot and timestamp anew, each
 * version one up. */
int trust_repo_publish(const char *dir, const struct trust_repo_opts *o, int64_t now,
                       struct err *e);
/* New keys for a role ("root", "targets", "snapshot", "timestamp"): a new
 * root version signed by the old and the new root keys, then a publish. */
int trust_repo_rotate(const char *dir, const char *role, const struct trust_repo_opts *o,
                      int64_t now, struct err *e);
/* 1 when the repository's root keys are sealed (rotate needs a passphrase). */
int trust_repo_needs_passphrase(const char *dir);

#endif
