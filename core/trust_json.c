/* trust_json: the JSON side of trust metadata (see trust.h): canonical form,
 * signing, hashes, key ids, times, and each role's "signed" object to and
 * from its struct. Verification lives in trust.c. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/trust.h"
#include "core/trust_internal.h"

static const char *const role_names[TRUST_ROLES] = {"root", "targets", "snapshot", "timestamp"};

const char *trust_role_name(enum trust_role r)
{
    return (unsigned)r < TRUST_ROLES ? role_names[r] : "?";
}

const char *trust_attack_name(int code)
{
    switch (code) {
    case TRUST_OK:
        return "";
    case TRUST_FORGED:
        return "forged metadata";
    case TRUST_THRESHOLD:
        return "signature threshold not met";
    case TRUST_ROLLBACK:
        return "rollback attack";
    case TRUST_FREEZE:
        return "freeze attack";
    case TRUST_MIX_AND_MATCH:
        return "mix-and-match attack";
    case TRUST_ARBITRARY:
        return "arbitrary bundle";
    case TRUST_ENDLESS:
        return "endless data attack";
    case TRUST_UNKNOWN:
        return "unknown bundle";
    default:
        return "malformed metadata";
    }
}

void trust_sha256(const void *p, size_t n, uint8_t out[32])
{
    crypto_hash_sha256(out, p, n);
}

void trust_keyid(const uint8_t pub[32], char out[TRUST_KEYID_LEN + 1])
{
    uint8_t h[32];
    trust_sha256(pub, 32, h);
    sodium_bin2hex(out, TRUST_KEYID_LEN + 1, h, sizeof(h));
}

/* days_from_civil (Howard Hinnant's algorithm): no libc time zone state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int trust_time_parse(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned v[6];
    static const int pos[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};

    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < width[i]; k++) {
            char c = s[pos[i] + k];
            if (c < '0' || c > '9')
                return -EINVAL;
            v[i] = v[i] * 10 + (unsigned)(c - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] || v[3] > 23 || v[4] > 59 ||
        v[5] > 59)
        return -EINVAL;
    if (v[1] == 2 && v[2] == 29 && (v[0] % 4 != 0 || (v[0] % 100 == 0 && v[0] % 400 != 0)))
        return -EINVAL;
    *out = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    return 0;
}

void trust_time_format(int64_t t, char out[32])
{
    /* civil_from_days, the inverse of days_from_civil */
    int64_t z = (t >= 0 ? t : t - 86399) / 86400, secs = t - z * 86400;
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999) /* metadata times are 4-digit years */
        y = y < 0 ? 0 : 9999;
    snprintf(out, 32, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y, m % 13, d % 32,
             (unsigned)(secs / 3600) % 24, (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

static int has_real(const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;

    if (json_is_real(v))
        return 1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x) if (has_real(x)) return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) if (has_real(x)) return 1;
    }
    return 0;
}

char *trust_canonical(const json_t *v, size_t *len)
{
    char *s;

    if (has_real(v))
        return NULL;
    s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

json_t *trust_envelope(json_t *signed_, const struct trust_signer *s, size_t n)
{
    size_t len;
    char *canon = trust_canonical(signed_, &len);
    json_t *sigs;

    if (!canon) {
        json_decref(signed_);
        return NULL;
    }
    sigs = json_array();
    for (size_t i = 0; i < n; i++) {
        uint8_t sig[64];
        char hex[129], id[TRUST_KEYID_LEN + 1];
        crypto_sign_detached(sig, NULL, (const uint8_t *)canon, len, s[i].sk);
        sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
        trust_keyid(s[i].pub, id);
        json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid", id, "sig", hex));
    }
    free(canon);
    return json_pack("{s:o, s:o}", "signed", signed_, "signatures", sigs);
}

/* ---- struct -> JSON ---- */

static json_t *hashes_json(const uint8_t h[32])
{
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), h, 32);
    return json_pack("{s:s}", "sha256", hex);
}

static json_t *header(const char *type, uint64_t version, int64_t expires)
{
    char when[32];
    trust_time_format(expires, when);
    return json_pack("{s:s, s:I, s:s, s:i}", "_type", type, "version", (json_int_t)version,
                     "expires", when, "spec_version", 1);
}

json_t *trust_root_to_json(const struct trust_root *r)
{
    json_t *o = header("root", r->version, r->expires), *keys = json_object(),
           *roles = json_object();
    char hex[65];

    for (size_t i = 0; i < r->n_keys; i++) {
        sodium_bin2hex(hex, sizeof(hex), r->keys[i].pub, 32);
        json_object_set_new(keys, r->keys[i].id,
                            json_pack("{s:s, s:s}", "keytype", "ed25519", "public", hex));
    }
    for (int k = 0; k < TRUST_ROLES; k++) {
        json_t *ids = json_array();
        for (size_t i = 0; i < r->roles[k].n; i++)
            json_array_append_new(ids, json_string(r->roles[k].ids[i]));
        json_object_set_new(
            roles, role_names[k],
            json_pack("{s:o, s:i}", "keyids", ids, "threshold", (int)r->roles[k].threshold));
    }
    json_object_set_new(o, "keys", keys);
    json_object_set_new(o, "roles", roles);
    return o;
}

static json_t *metafile_json(const struct trust_metafile *m)
{
    return json_pack("{s:I, s:I, s:o}", "version", (json_int_t)m->version, "length",
                     (json_int_t)m->length, "hashes", hashes_json(m->sha256));
}

json_t *trust_timestamp_to_json(const struct trust_timestamp *t)
{
    json_t *o = header("timestamp", t->version, t->expires);
    json_object_set_new(o, "meta",
                        json_pack("{s:o}", "snapshot.json", metafile_json(&t->snapshot)));
    return o;
}

json_t *trust_snapshot_to_json(const struct trust_snapshot *s)
{
    json_t *o = header("snapshot", s->version, s->expires);
    json_object_set_new(o, "meta", json_pack("{s:o}", "targets.json", metafile_json(&s->targets)));
    return o;
}

json_t *trust_targets_to_json(const struct trust_targets *t)
{
    json_t *o = header("targets", t->version, t->expires), *all = json_object();

    for (size_t i = 0; i < t->n; i++)
        json_object_set_new(all, t->t[i].name,
                            json_pack("{s:I, s:o}", "length", (json_int_t)t->t[i].length, "hashes",
                                      hashes_json(t->t[i].sha256)));
    json_object_set_new(o, "targets", all);
    return o;
}

int trust_targets_put(struct trust_targets *t, const struct trust_target *x, struct err *e)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->t[i].name, x->name) == 0) {
            t->t[i] = *x;
            return 0;
        }
    }
    if (t->n >= TRUST_TARGETS_MAX)
        return err_set(e, -ENOSPC, "targets.json: more than %d bundles", TRUST_TARGETS_MAX);
    t->t = xrealloc(t->t, (t->n + 1) * sizeof(*t->t));
    t->t[t->n++] = *x;
    return 0;
}

/* ---- JSON -> struct (every field checked) ---- */

#define BAD(...) err_set(e, TRUST_MALFORMED, "malformed metadata: " __VA_ARGS__)

static int get_uint(const json_t *o, const char *key, uint64_t *out, const char *where,
                    struct err *e)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return BAD("%s: \"%s\" is not a non-negative integer", where, key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hex(const json_t *v, uint8_t *out, size_t n, const char *what, const char *where,
                   struct err *e)
{
    const char *s = json_string_value(v);
    size_t got = 0;

    if (!s || strlen(s) != n * 2 || sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) != 0 ||
        got != n)
        return BAD("%s: %s is not %zu hex bytes", where, what, n);
    return 0;
}

static int get_sha256(const json_t *o, uint8_t out[32], const char *where, struct err *e)
{
    json_t *h = json_object_get(o, "hashes");
    if (!json_is_object(h))
        return BAD("%s: no \"hashes\" object", where);
    return get_hex(json_object_get(h, "sha256"), out, 32, "hashes.sha256", where, e);
}

/* Common header: _type, version, expires. */
int trust_header_from_json(const json_t *s, const char *type, uint64_t *version, int64_t *expires,
                           struct err *e)
{
    const char *t = json_string_value(json_object_get(s, "_type"));
    const char *x = json_string_value(json_object_get(s, "expires"));

    if (!json_is_object(s))
        return BAD("\"signed\" is not an object");
    if (!t || strcmp(t, type) != 0)
        return BAD("_type is \"%s\", expected \"%s\"", t ? t : "(none)", type);
    if (get_uint(s, "version", version, type, e) < 0)
        return e ? e->code : TRUST_MALFORMED;
    if (*version == 0)
        return BAD("%s: version 0 (versions start at 1)", type);
    if (!x || trust_time_parse(x, expires) < 0)
        return BAD("%s: \"expires\" is not a time like 2030-01-01T00:00:00Z", type);
    return 0;
}

int trust_metafile_from_json(const json_t *s, const char *file, struct trust_metafile *m,
                             struct err *e)
{
    json_t *meta = json_object_get(s, "meta"), *f;

    if (!json_is_object(meta) || !json_is_object(f = json_object_get(meta, file)))
        return BAD("no \"meta\" entry for %s", file);
    if (get_uint(f, "version", &m->version, file, e) < 0 ||
        get_uint(f, "length", &m->length, file, e) < 0 || get_sha256(f, m->sha256, file, e) < 0)
        return e ? e->code : TRUST_MALFORMED;
    return 0;
}

int trust_root_from_json(struct trust_root *r, const json_t *s, struct err *e)
{
    json_t *keys = json_object_get(s, "keys"), *roles = json_object_get(s, "roles"), *v;
    const char *id;
    int rc;

    memset(r, 0, sizeof(*r));
    if ((rc = trust_header_from_json(s, "root", &r->version, &r->expires, e)) < 0)
        return rc;
    if (!json_is_object(keys) || !json_is_object(roles))
        return BAD("root: \"keys\" and \"roles\" must be objects");
    json_object_foreach(keys, id, v)
    {
        struct trust_key *k = &r->keys[r->n_keys];
        const char *type = json_string_value(json_object_get(v, "keytype"));
        if (r->n_keys == TRUST_KEYS_MAX)
            return BAD("root: more than %d keys", TRUST_KEYS_MAX);
        if (!type || strcmp(type, "ed25519") != 0)
            return BAD("root: key %.16s is not of keytype ed25519", id);
        if (get_hex(json_object_get(v, "public"), k->pub, 32, "public", "root key", e) < 0)
            return e ? e->code : TRUST_MALFORMED;
        trust_keyid(k->pub, k->id);
        if (strcmp(k->id, id) != 0)
            return BAD("root: key id %.16s is not the sha256 of its public key", id);
        r->n_keys++;
    }
    for (int k = 0; k < TRUST_ROLES; k++) {
        json_t *role = json_object_get(roles, role_names[k]), *ids, *x;
        uint64_t th;
        size_t i;
        if (!json_is_object(role) || !json_is_array(ids = json_object_get(role, "keyids")))
            return BAD("root: no role \"%s\" with a \"keyids\" array", role_names[k]);
        if (get_uint(role, "threshold", &th, role_names[k], e) < 0)
            return e ? e->code : TRUST_MALFORMED;
        if (th < 1 || th > TRUST_KEYS_MAX || json_array_size(ids) > TRUST_KEYS_MAX ||
            th > json_array_size(ids))
            return BAD("root: role %s has threshold %llu for %zu keys", role_names[k],
                       (unsigned long long)th, json_array_size(ids));
        r->roles[k].threshold = (unsigned)th;
        json_array_foreach(ids, i, x)
        {
            const char *kid = json_string_value(x);
            size_t j;
            for (j = 0; kid && j < r->n_keys && strcmp(r->keys[j].id, kid) != 0; j++)
                ;
            if (!kid || j == r->n_keys)
                return BAD("root: role %s names a key not in \"keys\"", role_names[k]);
            for (j = 0; j < r->roles[k].n; j++)
                if (strcmp(r->roles[k].ids[j], kid) == 0)
                    return BAD("root: role %s lists key %.16s twice", role_names[k], kid);
            memcpy(r->roles[k].ids[r->roles[k].n++], kid, TRUST_KEYID_LEN + 1);
        }
    }
    return 0;
}

static int valid_target_name(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');

    if (n == 0 || n > TRUST_NAME_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-' || *s == '@' || *s == '+'))
            return 0;
    return strstr(at, "..") == NULL && at[1] != '.';
}

int trust_target_name_valid(const char *s)
{
    return valid_target_name(s);
}

int trust_targets_from_json(struct trust_targets *t, const json_t *s, struct err *e)
{
    json_t *all = json_object_get(s, "targets"), *v;
    const char *name;
    int rc;

    memset(t, 0, sizeof(*t));
    if ((rc = trust_header_from_json(s, "targets", &t->version, &t->expires, e)) < 0)
        return rc;
    if (!json_is_object(all))
        return BAD("targets: \"targets\" is not an object");
    if (json_object_size(all) > TRUST_TARGETS_MAX)
        return BAD("targets: more than %d bundles", TRUST_TARGETS_MAX);
    t->t = xcalloc(json_object_size(all) ? json_object_size(all) : 1, sizeof(*t->t));
    json_object_foreach(all, name, v)
    {
        struct trust_target *x = &t->t[t->n];
        if (!valid_target_name(name)) {
            rc = BAD("targets: bundle name \"%.64s\" is not NAME@VERSION", name);
            goto fail;
        }
        memcpy(x->name, name, strlen(name) + 1);
        if ((rc = get_uint(v, "length", &x->length, name, e)) < 0 ||
            (rc = get_sha256(v, x->sha256, name, e)) < 0)
            goto fail;
        t->n++;
    }
    return 0;
fail:
    trust_targets_release(t);
    return rc;
}

void trust_targets_release(struct trust_targets *t)
{
    free(t->t);
    t->t = NULL;
    t->n = 0;
}
