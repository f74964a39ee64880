/* Tests of core/trust: a repository built in the test (keys, the four
 * roles, a bundle), then one test per attack the client must refuse, each
 * refused with the code and a message that names it. Time is explicit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/trust.h"

#define NOW  1700000000LL
#define DAY  86400LL
#define NKEY 6 /* root0, root1, targets, snapshot, timestamp, spare */

struct blob {
    char *p;
    size_t len;
};

struct repo {
    struct trust_signer k[NKEY];
    struct trust_root root;
    struct trust_timestamp ts;
    struct trust_snapshot sn;
    struct trust_targets tg;
    struct blob root_b, ts_b, sn_b, tg_b;
    uint8_t bundle[1000];
};

enum { K_ROOT0, K_ROOT1, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_SPARE };

static void keygen(struct trust_signer *s)
{
    crypto_sign_keypair(s->pub, s->sk);
}

static void add_key(struct trust_root *r, const struct trust_signer *s)
{
    char id[TRUST_KEYID_LEN + 1];
    trust_keyid(s->pub, id);
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i].id, id) == 0)
            return;
    memcpy(r->keys[r->n_keys].id, id, sizeof(id));
    memcpy(r->keys[r->n_keys].pub, s->pub, 32);
    r->n_keys++;
}

static void grant(struct trust_root *r, enum trust_role ro, const struct trust_signer *s)
{
    add_key(r, s);
    trust_keyid(s->pub, r->roles[ro].ids[r->roles[ro].n++]);
}

static void blob_set(struct blob *b, json_t *env)
{
    free(b->p);
    assert_non_null(env);
    b->p = json_dumps(env, JSON_COMPACT);
    b->len = strlen(b->p);
    json_decref(env);
}

static void sign_root(struct repo *r, const struct trust_signer *s, size_t n)
{
    blob_set(&r->root_b, trust_envelope(trust_root_to_json(&r->root), s, n));
}

/* Re-signs targets, then snapshot and timestamp over them, as publish does. */
static void publish(struct repo *r)
{
    blob_set(&r->tg_b, trust_envelope(trust_targets_to_json(&r->tg), &r->k[K_TARGETS], 1));
    r->sn.targets.version = r->tg.version;
    r->sn.targets.length = r->tg_b.len;
    trust_sha256(r->tg_b.p, r->tg_b.len, r->sn.targets.sha256);
    blob_set(&r->sn_b, trust_envelope(trust_snapshot_to_json(&r->sn), &r->k[K_SNAPSHOT], 1));
    r->ts.snapshot.version = r->sn.version;
    r->ts.snapshot.length = r->sn_b.len;
    trust_sha256(r->sn_b.p, r->sn_b.len, r->ts.snapshot.sha256);
    blob_set(&r->ts_b, trust_envelope(trust_timestamp_to_json(&r->ts), &r->k[K_TIMESTAMP], 1));
}

static int setup(void **state)
{
    struct repo *r = calloc(1, sizeof(*r));
    struct trust_target t = {.name = "web@1.0", .length = sizeof(r->bundle)};

    assert_true(sodium_init() >= 0);
    for (int i = 0; i < NKEY; i++)
        keygen(&r->k[i]);
    r->root.version = 1;
    r->root.expires = NOW + 365 * DAY;
    grant(&r->root, TRUST_ROOT, &r->k[K_ROOT0]);
    grant(&r->root, TRUST_ROOT, &r->k[K_ROOT1]);
    r->root.roles[TRUST_ROOT].threshold = 2;
    grant(&r->root, TRUST_TARGETS, &r->k[K_TARGETS]);
    grant(&r->root, TRUST_SNAPSHOT, &r->k[K_SNAPSHOT]);
    grant(&r->root, TRUST_TIMESTAMP, &r->k[K_TIMESTAMP]);
    for (int k = 1; k < TRUST_ROLES; k++)
        r->root.roles[k].threshold = 1;
    sign_root(r, &r->k[K_ROOT0], 2);

    memset(r->bundle, 'b', sizeof(r->bundle));
    trust_sha256(r->bundle, sizeof(r->bundle), t.sha256);
    r->tg.version = 1;
    r->tg.expires = NOW + 90 * DAY;
    assert_int_equal(trust_targets_put(&r->tg, &t, NULL), 0);
    r->sn.version = 1;
    r->sn.expires = NOW + 7 * DAY;
    r->ts.version = 1;
    r->ts.expires = NOW + DAY;
    publish(r);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct repo *r = *state;
    trust_targets_release(&r->tg);
    free(r->root_b.p);
    free(r->ts_b.p);
    free(r->sn_b.p);
    free(r->tg_b.p);
    free(r);
    return 0;
}

/* The client walk: pinned root, timestamp, snapshot, targets, bundle. On
 * success st holds the new versions. Returns the first refusal. */
static int client(struct repo *r, struct trust_state *st, int64_t now, const void *bundle,
                  size_t blen, struct err *e)
{
    struct trust_root root;
    struct trust_timestamp ts;
    struct trust_snapshot sn;
    struct trust_targets tg;
    const struct trust_target *t;
    struct trust_check c;
    int rc;

    err_clear(e);
    if ((rc = trust_root_load(&root, r->root_b.p, r->root_b.len, e)) < 0 ||
        (rc = trust_root_fresh(&root, now, e)) < 0 ||
        (rc = trust_timestamp_verify(&root, st, now, r->ts_b.p, r->ts_b.len, &ts, e)) < 0 ||
        (rc = trust_snapshot_verify(&root, st, now, &ts, r->sn_b.p, r->sn_b.len, &sn, e)) < 0 ||
        (rc = trust_targets_verify(&root, st, now, &sn, r->tg_b.p, r->tg_b.len, &tg, e)) < 0)
        return rc;
    st->timestamp = ts.version;
    st->snapshot = sn.version;
    st->targets = tg.version;
    t = trust_targets_find(&tg, "web@1.0", e);
    if (!t) {
        trust_targets_release(&tg);
        return e->code;
    }
    trust_check_init(&c, t);
    trust_targets_release(&tg);
    /* fed in two pieces, as a download would */
    if ((rc = trust_check_update(&c, bundle, blen / 2, e)) < 0 ||
        (rc = trust_check_update(&c, (const uint8_t *)bundle + blen / 2, blen - blen / 2, e)) < 0) {
        trust_check_release(&c);
        return rc;
    }
    return trust_check_final(&c, e);
}

#define REFUSED(rc, code, words)                                                                   \
    do {                                                                                           \
        assert_int_equal((rc), (code));                                                            \
        if (!strstr(e.msg, (words)))                                                               \
            fail_msg("message \"%s\" does not name \"%s\"", e.msg, (words));                       \
    } while (0)

static void test_valid_repository_is_accepted_and_versions_recorded(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    assert_int_equal(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), 0);
    assert_int_equal(st.timestamp, 1);
    assert_int_equal(st.snapshot, 1);
    assert_int_equal(st.targets, 1);
}

static void test_arbitrary_bundle_hash_mismatch(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;
    uint8_t evil[sizeof(r->bundle)];

    memcpy(evil, r->bundle, sizeof(evil));
    evil[500] ^= 1;
    REFUSED(client(r, &st, NOW, evil, sizeof(evil), &e), TRUST_ARBITRARY, "arbitrary bundle");
    assert_non_null(strstr(e.msg, "sha256"));
}

static void test_arbitrary_bundle_short(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle) - 1, &e), TRUST_ARBITRARY,
            "arbitrary bundle");
    assert_non_null(strstr(e.msg, "999 bytes"));
}

static void test_endless_data_refused_at_first_extra_byte(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;
    uint8_t big[sizeof(r->bundle) + 1];

    memcpy(big, r->bundle, sizeof(r->bundle));
    big[sizeof(r->bundle)] = 'x';
    REFUSED(client(r, &st, NOW, big, sizeof(big), &e), TRUST_ENDLESS, "endless data attack");
}

static void test_endless_snapshot_recorded_by_timestamp_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    /* a signed timestamp that promises a snapshot.json of 4 GiB */
    publish(r);
    r->ts.snapshot.length = 4ull << 30;
    blob_set(&r->ts_b, trust_envelope(trust_timestamp_to_json(&r->ts), &r->k[K_TIMESTAMP], 1));
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_ENDLESS,
            "endless data attack: timestamp.json records a 4294967296 byte snapshot.json");
}

static void test_endless_targets_recorded_by_snapshot_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    /* a signed snapshot that promises a targets.json of 4 GiB */
    publish(r);
    r->sn.targets.length = 4ull << 30;
    blob_set(&r->sn_b, trust_envelope(trust_snapshot_to_json(&r->sn), &r->k[K_SNAPSHOT], 1));
    r->ts.snapshot.length = r->sn_b.len;
    trust_sha256(r->sn_b.p, r->sn_b.len, r->ts.snapshot.sha256);
    blob_set(&r->ts_b, trust_envelope(trust_timestamp_to_json(&r->ts), &r->k[K_TIMESTAMP], 1));
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_ENDLESS,
            "endless data attack: snapshot.json records a 4294967296 byte targets.json");
}

static void test_forged_targets_signature(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;
    char *p;

    /* flip one hex digit of the targets signature, then re-publish the
     * snapshot and timestamp over the changed bytes so only the signature is wrong */
    p = strstr(r->tg_b.p, "\"sig\":\"") + 7;
    *p = *p == '0' ? '1' : '0';
    r->sn.targets.length = r->tg_b.len;
    trust_sha256(r->tg_b.p, r->tg_b.len, r->sn.targets.sha256);
    blob_set(&r->sn_b, trust_envelope(trust_snapshot_to_json(&r->sn), &r->k[K_SNAPSHOT], 1));
    r->ts.snapshot.length = r->sn_b.len;
    trust_sha256(r->sn_b.p, r->sn_b.len, r->ts.snapshot.sha256);
    blob_set(&r->ts_b, trust_envelope(trust_timestamp_to_json(&r->ts), &r->k[K_TIMESTAMP], 1));
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_FORGED,
            "forged metadata: targets.json");
}

static void test_forged_content_under_valid_signature(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;
    char *p = strstr(r->ts_b.p, "\"expires\":\"2023");

    /* the timestamp's expiry pushed out after signing, to keep it fresh */
    assert_non_null(p);
    p[14] = '9';
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_FORGED,
            "forged metadata: timestamp.json");
}

static void test_root_threshold_not_met(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    sign_root(r, &r->k[K_ROOT0], 1); /* 1 of the 2 needed */
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_THRESHOLD,
            "signature threshold not met: root.json has 1 valid signature");
}

static void test_targets_threshold_not_met(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    grant(&r->root, TRUST_TARGETS, &r->k[K_SPARE]);
    r->root.roles[TRUST_TARGETS].threshold = 2;
    sign_root(r, &r->k[K_ROOT0], 2);
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_THRESHOLD,
            "signature threshold not met: targets.json");
}

static void test_duplicate_signature_counts_once(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct trust_signer twice[2];
    struct err e;

    twice[0] = twice[1] = r->k[K_ROOT0];
    sign_root(r, twice, 2);
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_THRESHOLD,
            "threshold not met");
}

static void test_rollback_of_targets_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    r->tg.version = 5;
    r->sn.version = 5;
    r->ts.version = 5;
    publish(r);
    assert_int_equal(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), 0);
    /* a mirror serves a newer timestamp and snapshot over an older targets.json */
    r->tg.version = 3;
    r->sn.version = 6;
    r->ts.version = 6;
    publish(r);
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_ROLLBACK,
            "rollback attack: targets.json");
}

static void test_rollback_of_snapshot_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    r->sn.version = 4;
    r->ts.version = 4;
    publish(r);
    assert_int_equal(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), 0);
    r->sn.version = 2;
    r->ts.version = 5;
    publish(r);
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_ROLLBACK,
            "rollback attack: snapshot.json");
}

static void test_replayed_old_repository_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {.timestamp = 9, .snapshot = 9, .targets = 9};
    struct err e;

    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_ROLLBACK,
            "rollback attack: timestamp.json version 1 is older than version 9");
}

static void test_freeze_expired_timestamp(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    REFUSED(client(r, &st, NOW + DAY + 1, r->bundle, sizeof(r->bundle), &e), TRUST_FREEZE,
            "freeze attack: timestamp.json expired at 2023-11-15T22:13:20Z");
}

static void test_freeze_expired_snapshot_under_fresh_timestamp(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    r->ts.expires = NOW + 30 * DAY;
    publish(r);
    REFUSED(client(r, &st, NOW + 8 * DAY, r->bundle, sizeof(r->bundle), &e), TRUST_FREEZE,
            "freeze attack: snapshot.json");
}

static void test_expired_root_refused(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    r->root.expires = NOW - 1;
    sign_root(r, &r->k[K_ROOT0], 2);
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_FREEZE,
            "freeze attack: root.json");
}

static void test_mix_and_match_targets_not_in_snapshot(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct blob old = {0};
    struct err e;

    /* keep version 1 of targets.json, publish version 2 everywhere, then
     * serve the old targets.json beside the new snapshot */
    old.p = strdup(r->tg_b.p);
    old.len = r->tg_b.len;
    r->tg.version = 2;
    r->sn.version = 2;
    r->ts.version = 2;
    publish(r);
    free(r->tg_b.p);
    r->tg_b = old;
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_MIX_AND_MATCH,
            "mix-and-match attack: targets.json");
}

static void test_mix_and_match_snapshot_version(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct err e;

    /* a validly signed snapshot whose version is not the one timestamp names */
    publish(r);
    r->sn.version = 7;
    blob_set(&r->sn_b, trust_envelope(trust_snapshot_to_json(&r->sn), &r->k[K_SNAPSHOT], 1));
    r->ts.snapshot.length = r->sn_b.len;
    trust_sha256(r->sn_b.p, r->sn_b.len, r->ts.snapshot.sha256);
    blob_set(&r->ts_b, trust_envelope(trust_timestamp_to_json(&r->ts), &r->k[K_TIMESTAMP], 1));
    REFUSED(client(r, &st, NOW, r->bundle, sizeof(r->bundle), &e), TRUST_MIX_AND_MATCH,
            "mix-and-match attack: snapshot.json version 7");
}

static void test_compromised_timestamp_key_cannot_trust_a_new_bundle(void **state)
{
    struct repo *r = *state;
    struct trust_state st = {0};
    struct trust_target evil = {.name = "web@1.0", .length = sizeof(r->bundle)};
    struct trust_signer attacker;
    uint8_t bytes[sizeof(r->bundle)];
    struct err e;

    /* The attacker holds the timestamp key only: it makes targets and
     * snapshot with a key of its own and signs the timestamp properly. */
    memset(bytes, 'e', sizeof(bytes));
    trust_sha256(bytes, sizeof(bytes), evil.sha256);
    assert_int_equal(trust_targets_put(&r->tg, &evil, NULL), 0);
    keygen(&attacker);
    r->k[K_TARGETS] = attacker;
    r->k[K_SNAPSHOT] = attacker;
    r->tg.version = r->sn.version = r->ts.version = 2;
    publish(r);
    REFUSED(client(r, &st, NOW, bytes, sizeof(bytes), &e), TRUST_THRESHOLD,
            "signature threshold not met: snapshot.json");
}

static void test_unknown_bundle_refused(void **state)
{
    struct repo *r = *state;
    struct trust_targets tg = {0};
    struct trust_target t = {.name = "api@2.0"};
    struct err e;

    assert_int_equal(trust_targets_put(&tg, &t, NULL), 0);
    assert_null(trust_targets_find(&tg, "web@1.0", &e));
    assert_int_equal(e.code, TRUST_UNKNOWN);
    assert_non_null(strstr(e.msg, "unknown bundle: web@1.0"));
    trust_targets_release(&tg);
    (void)r;
}

/* ---- root rotation ---- */

static struct blob rotated(struct repo *r, const struct trust_signer *signers, size_t n)
{
    struct blob b = {0};
    blob_set(&b, trust_envelope(trust_root_to_json(&r->root), signers, n));
    return b;
}

static void test_root_rotation_signed_by_old_and_new_is_accepted(void **state)
{
    struct repo *r = *state;
    struct trust_root cur;
    struct trust_state st = {.root = 1, .timestamp = 4, .snapshot = 4, .targets = 4};
    struct trust_signer s[4];
    struct blob b;
    struct err e;

    assert_int_equal(trust_root_load(&cur, r->root_b.p, r->root_b.len, &e), 0);
    /* version 2 replaces root1 by spare and rotates the timestamp key */
    r->root.version = 2;
    memset(&r->root.roles[TRUST_ROOT], 0, sizeof(r->root.roles[0]));
    grant(&r->root, TRUST_ROOT, &r->k[K_ROOT0]);
    grant(&r->root, TRUST_ROOT, &r->k[K_SPARE]);
    r->root.roles[TRUST_ROOT].threshold = 2;
    memset(&r->root.roles[TRUST_TIMESTAMP], 0, sizeof(r->root.roles[0]));
    grant(&r->root, TRUST_TIMESTAMP, &r->k[K_SPARE]);
    r->root.roles[TRUST_TIMESTAMP].threshold = 1;
    s[0] = r->k[K_ROOT0];
    s[1] = r->k[K_ROOT1];
    s[2] = r->k[K_SPARE];
    b = rotated(r, s, 3);
    assert_int_equal(trust_root_update(&cur, &st, b.p, b.len, &e), 0);
    assert_int_equal(cur.version, 2);
    assert_int_equal(st.root, 2);
    assert_int_equal(st.timestamp, 0); /* timestamp key rotated: its versions restart */
    assert_int_equal(st.targets, 4);
    free(b.p);
}

static void test_root_rotation_without_old_keys_refused(void **state)
{
    struct repo *r = *state;
    struct trust_root cur;
    struct trust_signer s[2];
    struct blob b;
    struct err e;

    assert_int_equal(trust_root_load(&cur, r->root_b.p, r->root_b.len, &e), 0);
    r->root.version = 2;
    memset(&r->root.roles[TRUST_ROOT], 0, sizeof(r->root.roles[0]));
    grant(&r->root, TRUST_ROOT, &r->k[K_SPARE]);
    r->root.roles[TRUST_ROOT].threshold = 1;
    s[0] = r->k[K_SPARE];
    s[1] = r->k[K_ROOT0]; /* one old key of the two needed */
    b = rotated(r, s, 2);
    REFUSED(trust_root_update(&cur, NULL, b.p, b.len, &e), TRUST_THRESHOLD,
            "the old root's root keys");
    assert_int_equal(cur.version, 1);
    free(b.p);
}

static void test_root_rotation_without_new_keys_refused(void **state)
{
    struct repo *r = *state;
    struct trust_root cur;
    struct blob b;
    struct err e;

    assert_int_equal(trust_root_load(&cur, r->root_b.p, r->root_b.len, &e), 0);
    r->root.version = 2;
    memset(&r->root.roles[TRUST_ROOT], 0, sizeof(r->root.roles[0]));
    grant(&r->root, TRUST_ROOT, &r->k[K_SPARE]);
    r->root.roles[TRUST_ROOT].threshold = 1;
    b = rotated(r, &r->k[K_ROOT0], 2); /* the old keys only */
    REFUSED(trust_root_update(&cur, NULL, b.p, b.len, &e), TRUST_THRESHOLD,
            "the new root's root keys");
    free(b.p);
}

static void test_root_rotation_must_be_next_version(void **state)
{
    struct repo *r = *state;
    struct trust_root cur;
    struct blob b;
    struct err e;

    assert_int_equal(trust_root_load(&cur, r->root_b.p, r->root_b.len, &e), 0);
    b = rotated(r, &r->k[K_ROOT0], 2); /* version 1 again */
    REFUSED(trust_root_update(&cur, NULL, b.p, b.len, &e), TRUST_ROLLBACK, "rollback attack");
    free(b.p);
}

/* ---- parsing ---- */

static void test_malformed_metadata_named(void **state)
{
    struct trust_root root;
    struct err e;
    static const char *bad[] = {
        "",
        "[]",
        "{\"signed\": 1, \"signatures\": []}",
        "{\"signed\": {\"_type\": \"targets\"}, \"signatures\": []}",
        "{\"signed\": {\"_type\": \"root\", \"version\": 1, \"expires\": \"2030-13-01T00:00:00Z\"},"
        " \"signatures\": []}",
        "{\"signed\": {}, \"signed\": {}, \"signatures\": []}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(trust_root_load(&root, bad[i], strlen(bad[i]), &e), TRUST_MALFORMED);
        assert_non_null(strstr(e.msg, "malformed metadata"));
    }
}

static void test_time_round_trips(void **state)
{
    int64_t t;
    char s[32];

    (void)state;
    assert_int_equal(trust_time_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(trust_time_parse("2024-02-29T12:34:56Z", &t), 0);
    trust_time_format(t, s);
    assert_string_equal(s, "2024-02-29T12:34:56Z");
    assert_int_equal(trust_time_parse("2023-02-29T00:00:00Z", &t), -EINVAL);
    assert_int_equal(trust_time_parse("2024-01-01 00:00:00Z", &t), -EINVAL);
}

static void test_canonical_form_sorts_keys_without_spaces(void **state)
{
    json_t *v = json_pack("{s:i, s:[i,i], s:s}", "b", 1, "a", 2, 3, "c", "x y");
    char *s = trust_canonical(v, NULL);

    (void)state;
    assert_string_equal(s, "{\"a\":[2,3],\"b\":1,\"c\":\"x y\"}");
    free(s);
    json_decref(v);
    v = json_pack("{s:f}", "x", 1.5);
    assert_null(trust_canonical(v, NULL));
    json_decref(v);
}

static void test_target_names(void **state)
{
    (void)state;
    assert_true(trust_target_name_valid("web@1.0.2"));
    assert_true(trust_target_name_valid("my_app@2024-01+b7"));
    assert_false(trust_target_name_valid("web"));
    assert_false(trust_target_name_valid("@1"));
    assert_false(trust_target_name_valid("web@"));
    assert_false(trust_target_name_valid("../x@1"));
    assert_false(trust_target_name_valid("web@1/../../x"));
    assert_false(trust_target_name_valid("web@1@2"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_valid_repository_is_accepted_and_versions_recorded),
        T(test_arbitrary_bundle_hash_mismatch),
        T(test_arbitrary_bundle_short),
        T(test_endless_data_refused_at_first_extra_byte),
        T(test_endless_snapshot_recorded_by_timestamp_refused),
        T(test_endless_targets_recorded_by_snapshot_refused),
        T(test_forged_targets_signature),
        T(test_forged_content_under_valid_signature),
        T(test_root_threshold_not_met),
        T(test_targets_threshold_not_met),
        T(test_duplicate_signature_counts_once),
        T(test_rollback_of_targets_refused),
        T(test_rollback_of_snapshot_refused),
        T(test_replayed_old_repository_refused),
        T(test_freeze_expired_timestamp),
        T(test_freeze_expired_snapshot_under_fresh_timestamp),
        T(test_expired_root_refused),
        T(test_mix_and_match_targets_not_in_snapshot),
        T(test_mix_and_match_snapshot_version),
        T(test_compromised_timestamp_key_cannot_trust_a_new_bundle),
        T(test_unknown_bundle_refused),
        T(test_root_rotation_signed_by_old_and_new_is_accepted),
        T(test_root_rotation_without_old_keys_refused),
        T(test_root_rotation_without_new_keys_refused),
        T(test_root_rotation_must_be_next_version),
        T(test_malformed_metadata_named),
        T(test_time_round_trips),
        T(test_canonical_form_sorts_keys_without_spaces),
        T(test_target_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
