/* trust: verification of trust metadata and bundles, the client's side of
 * TUF (see trust.h). Each function checks, in this order: the bytes parse
 * and are the role's file; the signatures meet the role's threshold; the
 * file is the one the step before recorded (length, hash, version); the
 * version does not go back; the file has not expired. The first failure
 * wins and its message names the attack. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/trust.h"
#include "core/trust_internal.h"

/* Parses an envelope; *doc owns the JSON, *signed_ and *sigs point into it. */
static int open_envelope(const void *buf, size_t len, size_t max, const char *file, json_t **doc,
                         json_t **signed_, json_t **sigs, struct err *e)
{
    json_error_t jerr;

    *doc = NULL;
    if (len > max)
        return err_set(e, TRUST_ENDLESS, "endless data attack: %s is %zu bytes, more than %zu",
                       file, len, max);
    *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*doc)
        return err_set(e, TRUST_MALFORMED, "malformed metadata: %s: line %d: %s", file, jerr.line,
                       jerr.text);
    *signed_ = json_object_get(*doc, "signed");
    *sigs = json_object_get(*doc, "signatures");
    if (!json_is_object(*signed_) || !json_is_array(*sigs))
        return err_set(
            e, TRUST_MALFORMED,
            "malformed metadata: %s: expected {\"signed\": {...}, \"signatures\": [...]}", file);
    return 0;
}

static const struct trust_key *find_key(const struct trust_root *r, const char *id)
{
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i].id, id) == 0)
            return &r->keys[i];
    return NULL;
}

static int role_has(const struct trust_rolekeys *rk, const char *id)
{
    for (size_t i = 0; i < rk->n; i++)
        if (strcmp(rk->ids[i], id) == 0)
            return 1;
    return 0;
}

/* Counts distinct keys of `role` in `keys` whose signature over the
 * canonical form of signed_ verifies; refuses below the threshold, naming a
 * forgery when some signature by a role key did not verify. */
static int check_threshold(const struct trust_root *keys, enum trust_role role,
                           const json_t *signed_, const json_t *sigs, const char *file,
                           const char *whose, struct err *e)
{
    const struct trust_rolekeys *rk = &keys->roles[role];
    char seen[TRUST_KEYS_MAX][TRUST_KEYID_LEN + 1];
    size_t n_seen = 0, len, i;
    unsigned bad = 0;
    char *canon = trust_canonical(signed_, &len);
    json_t *s;

    if (!canon)
        return err_set(e, TRUST_MALFORMED, "malformed metadata: %s holds a real number", file);
    json_array_foreach(sigs, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "keyid"));
        const char *hex = json_string_value(json_object_get(s, "sig"));
        const struct trust_key *k;
        uint8_t sig[64];
        size_t got = 0, j;

        if (!id || !hex || !role_has(rk, id) || !(k = find_key(keys, id)))
            continue; /* not a key of this role: ignored, as TUF does */
        for (j = 0; j < n_seen && strcmp(seen[j], id) != 0; j++)
            ;
        if (j < n_seen)
            continue; /* one key counts once */
        if (strlen(hex) != 128 || sodium_hex2bin(sig, 64, hex, 128, NULL, &got, NULL) != 0 ||
            got != 64 ||
            crypto_sign_verify_detached(sig, (const uint8_t *)canon, len, k->pub) != 0) {
            bad++;
            continue;
        }
        memcpy(seen[n_seen++], id, TRUST_KEYID_LEN + 1);
    }
    free(canon);
    if (n_seen >= rk->threshold)
        return 0;
    if (bad)
        return err_set(e, TRUST_FORGED,
                       "forged metadata: %s has %u bad signature%s by %s %s key%s "
                       "(%zu valid of %u needed)",
                       file, bad, bad == 1 ? "" : "s", whose, trust_role_name(role),
                       bad == 1 ? "" : "s", n_seen, rk->threshold);
    return err_set(e, TRUST_THRESHOLD,
                   "signature threshold not met: %s has %zu valid signature%s by %s %s keys, "
                   "%u needed",
                   file, n_seen, n_seen == 1 ? "" : "s", whose, trust_role_name(role),
                   rk->threshold);
}

/* A metadata file that a parent records as longer than any metadata may be
 * is refused before it is fetched (an endless-data attack). */
static int check_meta_length(const char *parent, const char *child, uint64_t length, struct err *e)
{
    if (length > TRUST_META_MAX)
        return err_set(e, TRUST_ENDLESS,
                       "endless data attack: %s records a %llu byte %s, more than %u", parent,
                       (unsigned long long)length, child, TRUST_META_MAX);
    return 0;
}

static int check_fresh(const char *file, int64_t expires, int64_t now, struct err *e)
{
    char when[32];

    if (now < expires)
        return 0;
    trust_time_format(expires, when);
    return err_set(e, TRUST_FREEZE, "freeze attack: %s expired at %s", file, when);
}

static int check_not_older(const char *file, uint64_t version, uint64_t last, struct err *e)
{
    if (version >= last)
        return 0;
    return err_set(e, TRUST_ROLLBACK,
                   "rollback attack: %s version %llu is older than version %llu accepted before",
                   file, (unsigned long long)version, (unsigned long long)last);
}

/* The bytes are the file the step before recorded (length and hash). */
static int check_matches(const char *file, const char *by, const struct trust_metafile *m,
                         const void *buf, size_t len, struct err *e)
{
    uint8_t h[32];

    if (len != m->length)
        return err_set(e, TRUST_MIX_AND_MATCH,
                       "mix-and-match attack: %s is %zu bytes, %s records %llu", file, len, by,
                       (unsigned long long)m->length);
    trust_sha256(buf, len, h);
    if (sodium_memcmp(h, m->sha256, 32) != 0)
        return err_set(e, TRUST_MIX_AND_MATCH,
                       "mix-and-match attack: %s does not have the sha256 %s records", file, by);
    return 0;
}

/* ---- root ---- */

int trust_root_load(struct trust_root *r, const void *buf, size_t len, struct err *e)
{
    json_t *doc, *s, *sigs;
    int rc;

    if ((rc = open_envelope(buf, len, TRUST_ROOT_MAX, "root.json", &doc, &s, &sigs, e)) < 0 ||
        (rc = trust_root_from_json(r, s, e)) < 0 ||
        (rc = check_threshold(r, TRUST_ROOT, s, sigs, "root.json", "its own", e)) < 0)
        goto out;
out:
    json_decref(doc);
    return rc;
}

static int same_role_keys(const struct trust_root *a, const struct trust_root *b,
                          enum trust_role role)
{
    const struct trust_rolekeys *x = &a->roles[role], *y = &b->roles[role];

    if (x->n != y->n || x->threshold != y->threshold)
        return 0;
    for (size_t i = 0; i < x->n; i++)
        if (!role_has(y, x->ids[i]))
            return 0;
    return 1;
}

int trust_root_update(struct trust_root *cur, struct trust_state *st, const void *buf, size_t len,
                      struct err *e)
{
    struct trust_root next;
    json_t *doc, *s, *sigs;
    char file[48];
    int rc;

    snprintf(file, sizeof(file), "%llu.root.json", (unsigned long long)cur->version + 1);
    if ((rc = open_envelope(buf, len, TRUST_ROOT_MAX, file, &doc, &s, &sigs, e)) < 0 ||
        (rc = trust_root_from_json(&next, s, e)) < 0)
        goto out;
    /* both the old keys (continuity) and the new keys (they accept) must sign */
    if ((rc = check_threshold(cur, TRUST_ROOT, s, sigs, file, "the old root's", e)) < 0 ||
        (rc = check_threshold(&next, TRUST_ROOT, s, sigs, file, "the new root's", e)) < 0)
        goto out;
    if (next.version != cur->version + 1) {
        rc = err_set(e, next.version <= cur->version ? TRUST_ROLLBACK : TRUST_MIX_AND_MATCH,
                     "%s: %s has version %llu, expected %llu",
                     next.version <= cur->version ? "rollback attack" : "mix-and-match attack",
                     file, (unsigned long long)next.version, (unsigned long long)cur->version + 1);
        goto out;
    }
    if (st) {
        if (!same_role_keys(cur, &next, TRUST_TIMESTAMP))
            st->timestamp = st->snapshot = 0;
        if (!same_role_keys(cur, &next, TRUST_SNAPSHOT))
            st->snapshot = st->targets = 0;
        st->root = next.version;
    }
    *cur = next;
out:
    json_decref(doc);
    return rc;
}

int trust_root_fresh(const struct trust_root *r, int64_t now, struct err *e)
{
    return check_fresh("root.json", r->expires, now, e);
}

/* ---- timestamp, snapshot, targets ---- */

int trust_timestamp_verify(const struct trust_root *root, const struct trust_state *last,
                           int64_t now, const void *buf, size_t len, struct trust_timestamp *out,
                           struct err *e)
{
    struct trust_timestamp t;
    json_t *doc, *s, *sigs;
    int rc;

    memset(&t, 0, sizeof(t));
    if ((rc = open_envelope(buf, len, TRUST_TIMESTAMP_MAX, "timestamp.json", &doc, &s, &sigs, e)) <
            0 ||
        (rc = trust_header_from_json(s, "timestamp", &t.version, &t.expires, e)) < 0 ||
        (rc = trust_metafile_from_json(s, "snapshot.json", &t.snapshot, e)) < 0 ||
        (rc = check_threshold(root, TRUST_TIMESTAMP, s, sigs, "timestamp.json", "the", e)) < 0 ||
        (rc = check_not_older("timestamp.json", t.version, last->timestamp, e)) < 0 ||
        (rc = check_not_older("snapshot.json (as timestamp.json records it)", t.snapshot.version,
                              last->snapshot, e)) < 0 ||
        (rc = check_fresh("timestamp.json", t.expires, now, e)) < 0 ||
        (rc = check_meta_length("timestamp.json", "snapshot.json", t.snapshot.length, e)) < 0)
        goto out;
    *out = t;
out:
    json_decref(doc);
    return rc;
}

int trust_snapshot_verify(const struct trust_root *root, const struct trust_state *last,
                          int64_t now, const struct trust_timestamp *ts, const void *buf,
                          size_t len, struct trust_snapshot *out, struct err *e)
{
    struct trust_snapshot sn;
    json_t *doc = NULL, *s, *sigs;
    int rc;

    memset(&sn, 0, sizeof(sn));
    if ((rc = check_matches("snapshot.json", "timestamp.json", &ts->snapshot, buf, len, e)) < 0 ||
        (rc = open_envelope(buf, len, TRUST_META_MAX, "snapshot.json", &doc, &s, &sigs, e)) < 0 ||
        (rc = trust_header_from_json(s, "snapshot", &sn.version, &sn.expires, e)) < 0 ||
        (rc = trust_metafile_from_json(s, "targets.json", &sn.targets, e)) < 0 ||
        (rc = check_threshold(root, TRUST_SNAPSHOT, s, sigs, "snapshot.json", "the", e)) < 0)
        goto out;
    if (sn.version != ts->snapshot.version) {
        rc = err_set(e, TRUST_MIX_AND_MATCH,
                     "mix-and-match attack: snapshot.json version %llu is not the version %llu "
                     "timestamp.json records",
                     (unsigned long long)sn.version, (unsigned long long)ts->snapshot.version);
        goto out;
    }
    if ((rc = check_not_older("snapshot.json", sn.version, last->snapshot, e)) < 0 ||
        (rc = check_not_older("targets.json (as snapshot.json records it)", sn.targets.version,
                              last->targets, e)) < 0 ||
        (rc = check_fresh("snapshot.json", sn.expires, now, e)) < 0 ||
        (rc = check_meta_length("snapshot.json", "targets.json", sn.targets.length, e)) < 0)
        goto out;
    *out = sn;
out:
    json_decref(doc);
    return rc;
}

int trust_targets_verify(const struct trust_root *root, const struct trust_state *last, int64_t now,
                         const struct trust_snapshot *snap, const void *buf, size_t len,
                         struct trust_targets *out, struct err *e)
{
    struct trust_targets t = {0};
    json_t *doc = NULL, *s, *sigs;
    int rc;

    if ((rc = check_matches("targets.json", "snapshot.json", &snap->targets, buf, len, e)) < 0 ||
        (rc = open_envelope(buf, len, TRUST_META_MAX, "targets.json", &doc, &s, &sigs, e)) < 0 ||
        (rc = check_threshold(root, TRUST_TARGETS, s, sigs, "targets.json", "the", e)) < 0 ||
        (rc = trust_targets_from_json(&t, s, e)) < 0)
        goto out;
    if (t.version != snap->targets.version) {
        rc = err_set(e, TRUST_MIX_AND_MATCH,
                     "mix-and-match attack: targets.json version %llu is not the version %llu "
                     "snapshot.json records",
                     (unsigned long long)t.version, (unsigned long long)snap->targets.version);
        goto out;
    }
    if ((rc = check_not_older("targets.json", t.version, last->targets, e)) < 0 ||
        (rc = check_fresh("targets.json", t.expires, now, e)) < 0)
        goto out;
    *out = t;
    t.t = NULL;
out:
    trust_targets_release(&t);
    json_decref(doc);
    return rc;
}

const struct trust_target *trust_targets_find(const struct trust_targets *t, const char *name,
                                              struct err *e)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->t[i].name, name) == 0)
            return &t->t[i];
    err_set(e, TRUST_UNKNOWN, "unknown bundle: %s is not in targets.json (version %llu)", name,
            (unsigned long long)t->version);
    return NULL;
}

/* ---- bundle bytes ---- */

void trust_check_init(struct trust_check *c, const struct trust_target *t)
{
    c->want = *t;
    c->got = 0;
    c->md = xmalloc(sizeof(crypto_hash_sha256_state));
    crypto_hash_sha256_init(c->md);
}

int trust_check_update(struct trust_check *c, const void *p, size_t n, struct err *e)
{
    if (n > c->want.length - c->got)
        return err_set(e, TRUST_ENDLESS,
                       "endless data attack: %s goes on past the %llu bytes targets.json records",
                       c->want.name, (unsigned long long)c->want.length);
    c->got += n;
    crypto_hash_sha256_update(c->md, p, n);
    return 0;
}

int trust_check_final(struct trust_check *c, struct err *e)
{
    uint8_t h[32];
    int rc = 0;

    if (!c->md)
        return err_set(e, -EINVAL, "bundle check already finished");
    crypto_hash_sha256_final(c->md, h);
    trust_check_release(c);
    if (c->got != c->want.length)
        rc = err_set(e, TRUST_ARBITRARY,
                     "arbitrary bundle: %s is %llu bytes, targets.json records %llu", c->want.name,
                     (unsigned long long)c->got, (unsigned long long)c->want.length);
    else if (sodium_memcmp(h, c->want.sha256, 32) != 0)
        rc = err_set(e, TRUST_ARBITRARY,
                     "arbitrary bundle: %s does not have the sha256 targets.json records",
                     c->want.name);
    return rc;
}

void trust_check_digest(struct trust_check *c, uint8_t out[32])
{
    if (c->md)
        crypto_hash_sha256_final(c->md, out);
    trust_check_release(c);
}

void trust_check_release(struct trust_check *c)
{
    free(c->md);
    c->md = NULL;
}
