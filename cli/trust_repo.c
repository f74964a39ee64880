/* trust_repo: creating, filling, signing and rotating a trust repository
 * (see trust_repo.h). The metadata's JSON, canonical form and signatures
 * are core/trust's; this file owns the key store and the files. */
#include "cli/trust_repo.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/trust/bundle_archive.h"
#include "agent/trust/trust_client.h"
#include "core/mem.h"
#include "core/trust.h"

#define DAY 86400

struct signers {
    struct trust_signer s[TRUST_KEYS_MAX];
    size_t n;
};

void trust_repo_opts_default(struct trust_repo_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->root_keys = 1;
    o->root_threshold = 1;
    o->root_expires_s = 365 * DAY;
    o->targets_expires_s = 90 * DAY;
    o->snapshot_expires_s = 7 * DAY;
    o->timestamp_expires_s = 1 * DAY;
}

static int path_of(char *out, const char *dir, const char *a, const char *b, struct err *e)
{
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s%s%s", dir, a, b ? "/" : "", b ? b : "") >=
        PATH_MAX - 8)
        return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
    return 0;
}

/* Writes path.tmp, fsyncs, renames: readers see the old file or the new one. */
static int write_atomic(const char *path, const void *p, size_t n, mode_t mode, struct err *e)
{
    char tmp[PATH_MAX + 8];
    int fd, rc = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
            break;
        }
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int write_json(const char *path, json_t *j, mode_t mode, struct err *e)
{
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    int rc;

    if (!s)
        return err_set(e, -EINVAL, "%s: cannot encode", path);
    rc = write_atomic(path, s, strlen(s), mode, e);
    free(s);
    return rc;
}

static json_t *read_json(const char *path, size_t max, struct err *e)
{
    char *buf;
    size_t len;
    json_error_t jerr;
    json_t *j;

    if (trust_read_file(path, max, &buf, &len, e) < 0)
        return NULL;
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!j)
        err_set(e, -EBADMSG, "%s: line %d: %s", path, jerr.line, jerr.text);
    return j;
}

/* ---- keys ---- */

static int key_save(const char *dir, const struct trust_signer *s, const char *pass, struct err *e)
{
    char path[PATH_MAX], id[TRUST_KEYID_LEN + 1], pub[65], hex[257];
    json_t *j;
    int rc;

    trust_keyid(s->pub, id);
    snprintf(path, sizeof(path), "%s/keystore/%s.key", dir, id);
    sodium_bin2hex(pub, sizeof(pub), s->pub, 32);
    if (pass) {
        uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], key[32];
        uint8_t box[64 + crypto_secretbox_MACBYTES];
        char shex[2 * sizeof(salt) + 1], nhex[2 * sizeof(nonce) + 1], bhex[2 * sizeof(box) + 1];
        randombytes_buf(salt, sizeof(salt));
        randombytes_buf(nonce, sizeof(nonce));
        if (crypto_pwhash(key, sizeof(key), pass, strlen(pass), salt,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                          crypto_pwhash_ALG_ARGON2ID13) != 0)
            return err_set(e, -ENOMEM, "deriving a key from the passphrase: out of memory");
        crypto_secretbox_easy(box, s->sk, 64, nonce, key);
        sodium_memzero(key, sizeof(key));
        sodium_bin2hex(shex, sizeof(shex), salt, sizeof(salt));
        sodium_bin2hex(nhex, sizeof(nhex), nonce, sizeof(nonce));
        sodium_bin2hex(bhex, sizeof(bhex), box, sizeof(box));
        j = json_pack("{s:s, s:s, s:{s:s, s:I, s:I, s:s, s:s, s:s}}", "keytype", "ed25519",
                      "public", pub, "sealed", "kdf", "argon2id13", "opslimit",
                      (json_int_t)crypto_pwhash_OPSLIMIT_INTERACTIVE, "memlimit",
                      (json_int_t)crypto_pwhash_MEMLIMIT_INTERACTIVE, "salt", shex, "nonce", nhex,
                      "secretbox", bhex);
    } else {
        sodium_bin2hex(hex, sizeof(hex), s->sk, 64);
        j = json_pack("{s:s, s:s, s:s}", "keytype", "ed25519", "public", pub, "secret", hex);
        sodium_memzero(hex, sizeof(hex));
    }
    rc = write_json(path, j, 0600, e);
    json_decref(j);
    return rc;
}

static int hex_field(json_t *o, const char *k, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));
    size_t got = 0;
    return s && strlen(s) == 2 * n && sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) == 0 &&
                   got == n
               ? 0
               : -1;
}

/* Loads the key with this id from the key store; 0, -ENOENT when not
 * there, or another error (wrong passphrase, damaged file). */
static int key_load(const char *dir, const char *id, const char *pass, struct trust_signer *s,
                    struct err *e)
{
    char path[PATH_MAX], got_id[TRUST_KEYID_LEN + 1];
    json_t *j, *sealed;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/keystore/%s.key", dir, id);
    if (access(path, F_OK) < 0)
        return -ENOENT;
    if (!(j = read_json(path, 16384, e)))
        return e->code;
    sealed = json_object_get(j, "sealed");
    if (hex_field(j, "public", s->pub, 32) < 0) {
        rc = err_set(e, -EBADMSG, "%s: damaged key file", path);
    } else if (json_is_object(sealed)) {
        uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], key[32];
        uint8_t box[64 + crypto_secretbox_MACBYTES];
        json_int_t ops = json_integer_value(json_object_get(sealed, "opslimit"));
        json_int_t mem = json_integer_value(json_object_get(sealed, "memlimit"));
        if (!pass)
            rc = err_set(e, -EACCES, "%s is sealed: a passphrase is needed", path);
        else if (hex_field(sealed, "salt", salt, sizeof(salt)) < 0 ||
                 hex_field(sealed, "nonce", nonce, sizeof(nonce)) < 0 ||
                 hex_field(sealed, "secretbox", box, sizeof(box)) < 0 || ops <= 0 || mem <= 0 ||
                 ops > 64 || mem > (json_int_t)(4ull << 30))
            rc = err_set(e, -EBADMSG, "%s: damaged sealed key", path);
        else if (crypto_pwhash(key, sizeof(key), pass, strlen(pass), salt, (unsigned long long)ops,
                               (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
            rc = err_set(e, -ENOMEM, "deriving a key from the passphrase: out of memory");
        else if (crypto_secretbox_open_easy(s->sk, box, sizeof(box), nonce, key) != 0)
            rc = err_set(e, -EACCES, "%s: wrong passphrase", path);
        sodium_memzero(key, sizeof(key));
    } else if (hex_field(j, "secret", s->sk, 64) < 0) {
        rc = err_set(e, -EBADMSG, "%s: damaged key file", path);
    }
    json_decref(j);
    if (rc == 0) {
        trust_keyid(s->pub, got_id);
        if (strcmp(got_id, id) != 0 || memcmp(s->sk + 32, s->pub, 32) != 0)
            rc = err_set(e, -EBADMSG, "%s: key does not match its name", path);
    }
    return rc;
}

/* The signers of a role: the keys root.json names for it that the key store holds. */
static int role_signers(const char *dir, const struct trust_root *r, enum trust_role role,
                        const char *pass, struct signers *out, struct err *e)
{
    const struct trust_rolekeys *rk = &r->roles[role];
    int rc;

    out->n = 0;
    for (size_t i = 0; i < rk->n; i++) {
        rc = key_load(dir, rk->ids[i], pass, &out->s[out->n], e);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        out->n++;
    }
    if (out->n < rk->threshold)
        return err_set(e, -ENOKEY, "the key store holds %zu of the %u %s keys needed to sign",
                       out->n, rk->threshold, trust_role_name(role));
    return 0;
}

static void grant_new(const char *dir, struct trust_root *r, enum trust_role role,
                      struct trust_signer *s)
{
    struct trust_key *k = &r->keys[r->n_keys++];
    crypto_sign_keypair(s->pub, s->sk);
    trust_keyid(s->pub, k->id);
    memcpy(k->pub, s->pub, 32);
    memcpy(r->roles[role].ids[r->roles[role].n++], k->id, sizeof(k->id));
    (void)dir;
}

/* Drops keys no role uses any more. */
static void prune_keys(struct trust_root *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_keys; i++) {
        int used = 0;
        for (int ro = 0; ro < TRUST_ROLES && !used; ro++)
            for (size_t j = 0; j < r->roles[ro].n && !used; j++)
                used = strcmp(r->roles[ro].ids[j], r->keys[i].id) == 0;
        if (used)
            r->keys[k++] = r->keys[i];
    }
    r->n_keys = k;
}

static int write_root(const char *dir, const struct trust_root *r, const struct trust_signer *s,
                      size_t n, struct err *e)
{
    char path[PATH_MAX], name[48];
    json_t *env = trust_envelope(trust_root_to_json(r), s, n);
    int rc;

    if (!env)
        return err_set(e, -EINVAL, "cannot sign root.json");
    snprintf(name, sizeof(name), "%llu.root.json", (unsigned long long)r->version);
    if ((rc = path_of(path, dir, "repository", name, e)) == 0 &&
        (rc = write_json(path, env, 0644, e)) == 0 &&
        (rc = path_of(path, dir, "repository", "root.json", e)) == 0)
        rc = write_json(path, env, 0644, e);
    json_decref(env);
    return rc;
}

static int load_root(const char *dir, struct trust_root *r, struct err *e)
{
    char path[PATH_MAX], *buf;
    size_t len;
    int rc;

    if ((rc = path_of(path, dir, "repository", "root.json", e)) < 0 ||
        (rc = trust_read_file(path, TRUST_ROOT_MAX, &buf, &len, e)) < 0)
        return rc == -ENOENT
                   ? err_set(e, -ENOENT, "%s is not a trust repository (no %s)", dir, path)
                   : rc;
    rc = trust_root_load(r, buf, len, e);
    free(buf);
    return rc < 0 ? err_wrap(e, "%s", path) : 0;
}

int trust_repo_needs_passphrase(const char *dir)
{
    struct trust_root r;
    char path[PATH_MAX];
    json_t *j;
    int sealed = 0;

    if (load_root(dir, &r, NULL) < 0 || r.roles[TRUST_ROOT].n == 0)
        return 0;
    snprintf(path, sizeof(path), "%s/keystore/%s.key", dir, r.roles[TRUST_ROOT].ids[0]);
    if ((j = read_json(path, 16384, NULL))) {
        sealed = json_is_object(json_object_get(j, "sealed"));
        json_decref(j);
    }
    return sealed;
}

/* ---- publish ---- */

/* The "signed" object of a published file, or NULL (e set) when absent. */
static json_t *published(const char *dir, const char *file, json_t **doc, struct err *e)
{
    char path[PATH_MAX];

    *doc = NULL;
    if (path_of(path, dir, "repository", file, e) < 0 ||
        !(*doc = read_json(path, TRUST_META_MAX, e)))
        return NULL;
    return json_object_get(*doc, "signed");
}

static uint64_t published_version(const char *dir, const char *file)
{
    json_t *doc, *s = published(dir, file, &doc, NULL);
    json_int_t v = s ? json_integer_value(json_object_get(s, "version")) : 0;
    json_decref(doc);
    return v > 0 ? (uint64_t)v : 0;
}

static int sign_write(const char *dir, const char *file, json_t *signed_, const struct signers *s,
                      struct trust_metafile *m, uint64_t version, struct err *e)
{
    char path[PATH_MAX], *text;
    json_t *env = trust_envelope(signed_, s->s, s->n);
    int rc;

    if (!env)
        return err_set(e, -EINVAL, "cannot sign %s", file);
    text = json_dumps(env, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(env);
    if ((rc = path_of(path, dir, "repository", file, e)) == 0)
        rc = write_atomic(path, text, strlen(text), 0644, e);
    if (rc == 0 && m) {
        m->version = version;
        m->length = strlen(text);
        trust_sha256(text, m->length, m->sha256);
    }
    free(text);
    return rc;
}

/* What timestamp.json records of the snapshot.json on disk. */
static int current_snapshot(const char *dir, struct trust_metafile *m, struct err *e)
{
    char path[PATH_MAX], *buf;
    size_t len;
    int rc;

    if ((rc = path_of(path, dir, "repository", "snapshot.json", e)) < 0 ||
        (rc = trust_read_file(path, TRUST_META_MAX, &buf, &len, e)) < 0)
        return rc;
    m->version = published_version(dir, "snapshot.json");
    m->length = len;
    trust_sha256(buf, len, m->sha256);
    free(buf);
    return 0;
}

static int publish(const char *dir, const struct trust_root *root, const struct trust_repo_opts *o,
                   int64_t now, struct err *e)
{
    struct signers sg;
    struct trust_targets tg = {0};
    struct trust_snapshot sn = {0};
    struct trust_timestamp ts = {0};
    char staged[PATH_MAX];
    json_t *doc = NULL, *s;
    int rc;

    ts.version = published_version(dir, "timestamp.json") + 1;
    ts.expires = now + o->timestamp_expires_s;
    if (o->timestamp_only) {
        if ((rc = current_snapshot(dir, &ts.snapshot, e)) < 0 ||
            (rc = role_signers(dir, root, TRUST_TIMESTAMP, NULL, &sg, e)) < 0)
            return rc;
        return sign_write(dir, "timestamp.json", trust_timestamp_to_json(&ts), &sg, NULL, 0, e);
    }
    if ((rc = path_of(staged, dir, "staged-targets.json", NULL, e)) < 0)
        return rc;
    if (access(staged, F_OK) == 0) {
        s = doc = read_json(staged, TRUST_META_MAX, e);
    } else {
        s = published(dir, "targets.json", &doc, e);
        if (!s && e->code == -ENOENT) {
            json_decref(doc);
            s = doc = json_pack("{s:s, s:i, s:s, s:{}}", "_type", "targets", "version", 1,
                                "expires", "2000-01-01T00:00:00Z", "targets");
        }
    }
    if (!s || (rc = trust_targets_from_json(&tg, s, e)) < 0) {
        json_decref(doc);
        return err_wrap(e, "reading the targets to publish");
    }
    json_decref(doc);
    tg.version = published_version(dir, "targets.json") + 1;
    tg.expires = now + o->targets_expires_s;
    sn.version = published_version(dir, "snapshot.json") + 1;
    sn.expires = now + o->snapshot_expires_s;
    if ((rc = role_signers(dir, root, TRUST_TARGETS, NULL, &sg, e)) < 0 ||
        (rc = sign_write(dir, "targets.json", trust_targets_to_json(&tg), &sg, &sn.targets,
                         tg.version, e)) < 0 ||
        (rc = role_signers(dir, root, TRUST_SNAPSHOT, NULL, &sg, e)) < 0 ||
        (rc = sign_write(dir, "snapshot.json", trust_snapshot_to_json(&sn), &sg, &ts.snapshot,
                         sn.version, e)) < 0 ||
        (rc = role_signers(dir, root, TRUST_TIMESTAMP, NULL, &sg, e)) < 0 ||
        (rc = sign_write(dir, "timestamp.json", trust_timestamp_to_json(&ts), &sg, NULL, 0, e)) < 0)
        goto out;
    unlink(staged);
out:
    sodium_memzero(&sg, sizeof(sg));
    trust_targets_release(&tg);
    return rc;
}

int trust_repo_publish(const char *dir, const struct trust_repo_opts *o, int64_t now, struct err *e)
{
    struct trust_root root;
    int rc = load_root(dir, &root, e);
    return rc < 0 ? rc : publish(dir, &root, o, now, e);
}

/* ---- init, add, rotate ---- */

int trust_repo_init(const char *dir, const struct trust_repo_opts *o, int64_t now, struct err *e)
{
    struct trust_root r = {.version = 1};
    struct trust_signer s[TRUST_KEYS_MAX], other;
    char path[PATH_MAX];
    DIR *d;
    int rc = 0;

    if (o->root_keys < 1 || o->root_keys > 8 || o->root_threshold < 1 ||
        o->root_threshold > o->root_keys)
        return err_set(e, -EINVAL,
                       "--root-threshold %u of --root-keys %u: need 1 <= threshold "
                       "<= keys <= 8",
                       o->root_threshold, o->root_keys);
    if ((d = opendir(dir))) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                rc = -ENOTEMPTY;
        closedir(d);
        if (rc < 0)
            return err_set(e, rc, "%s exists and is not empty", dir);
    } else if (mkdir(dir, 0755) < 0) {
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    }
    {
        static const char *const sub[] = {"keystore", "repository", "repository/targets"};
        for (int i = 0; i < 3; i++)
            if ((rc = path_of(path, dir, sub[i], NULL, e)) < 0 ||
                mkdir(path, i == 0 ? 0700 : 0755) < 0)
                return rc < 0 ? rc : err_set(e, -errno, "%s: %s", path, strerror(errno));
    }
    r.expires = now + o->root_expires_s;
    for (unsigned i = 0; i < o->root_keys; i++) {
        grant_new(dir, &r, TRUST_ROOT, &s[i]);
        if ((rc = key_save(dir, &s[i], o->passphrase, e)) < 0)
            goto out;
    }
    r.roles[TRUST_ROOT].threshold = o->root_threshold;
    for (int role = TRUST_TARGETS; role < TRUST_ROLES; role++) {
        grant_new(dir, &r, (enum trust_role)role, &other);
        r.roles[role].threshold = 1;
        rc = key_save(dir, &other, NULL, e);
        sodium_memzero(&other, sizeof(other));
        if (rc < 0)
            goto out;
    }
    if ((rc = write_root(dir, &r, s, o->root_keys, e)) < 0)
        goto out;
    rc = publish(dir, &r, o, now, e);
out:
    sodium_memzero(s, sizeof(s));
    return rc;
}

static int copy_file(const char *from, const char *to, uint64_t *len, uint8_t sha[32],
                     struct err *e)
{
    char tmp[PATH_MAX + 8], buf[65536];
    struct trust_target any = {.length = UINT64_MAX};
    struct trust_check c;
    int in, out, rc = 0;
    ssize_t n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
        return err_set(e, -errno, "%s: %s", from, strerror(errno));
    if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
        close(in);
        return rc;
    }
    trust_check_init(&c, &any); /* only to hash on the way */
    while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            rc = err_set(e, -errno, "copying %s: %s", from, strerror(errno));
        else
            trust_check_update(&c, buf, (size_t)n, NULL);
    }
    *len = c.got;
    trust_check_digest(&c, sha);
    close(in);
    if (rc == 0 && fsync(out) < 0)
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    close(out);
    if (rc == 0 && rename(tmp, to) < 0)
        rc = err_set(e, -errno, "%s: %s", to, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int trust_repo_add(const char *dir, const char *file, char *name, size_t cap, struct err *e)
{
    struct bundle_manifest m;
    struct trust_targets tg = {0};
    struct trust_target t = {0};
    char path[PATH_MAX], staged[PATH_MAX];
    json_t *doc = NULL, *s, *out;
    struct trust_root root;
    int rc;

    if ((rc = load_root(dir, &root, e)) < 0 || (rc = bundle_read_manifest(file, &m, e)) < 0)
        return rc;
    /* bundle_manifest_set checked that NAME@VERSION fits a target name */
    if ((size_t)snprintf(t.name, sizeof(t.name), "%s@%s", m.name, m.version) >= sizeof(t.name))
        return err_set(e, -ENAMETOOLONG, "%s@%s: name too long", m.name, m.version);
    snprintf(name, cap, "%s", t.name);
    if ((size_t)snprintf(path, sizeof(path), "%s/repository/targets/%s.tar.zst", dir, t.name) >=
            sizeof(path) - 8 ||
        (rc = path_of(staged, dir, "staged-targets.json", NULL, e)) < 0)
        return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
    if (access(staged, F_OK) == 0)
        s = doc = read_json(staged, TRUST_META_MAX, e);
    else
        s = published(dir, "targets.json", &doc, e);
    if (!s || (rc = trust_targets_from_json(&tg, s, e)) < 0) {
        json_decref(doc);
        return err_wrap(e, "reading targets.json");
    }
    json_decref(doc);
    if ((rc = copy_file(file, path, &t.length, t.sha256, e)) < 0 ||
        (rc = trust_targets_put(&tg, &t, e)) < 0)
        goto out;
    out = trust_targets_to_json(&tg);
    rc = write_json(staged, out, 0644, e);
    json_decref(out);
out:
    trust_targets_release(&tg);
    return rc;
}

int trust_repo_rotate(const char *dir, const char *role, const struct trust_repo_opts *o,
                      int64_t now, struct err *e)
{
    struct trust_root old, r;
    struct signers oldroot;
    struct trust_signer s[2 * TRUST_KEYS_MAX];
    size_t n = 0;
    int which = -1, rc;

    for (int i = 0; i < TRUST_ROLES; i++)
        if (strcmp(role, trust_role_name((enum trust_role)i)) == 0)
            which = i;
    if (which < 0)
        return err_set(e, -EINVAL, "--role \"%s\" is not root, targets, snapshot or timestamp",
                       role);
    if ((rc = load_root(dir, &old, e)) < 0 ||
        (rc = role_signers(dir, &old, TRUST_ROOT, o->passphrase, &oldroot, e)) < 0)
        return rc;
    r = old;
    r.version = old.version + 1;
    r.expires = now + o->root_expires_s;
    for (size_t i = 0; i < oldroot.n; i++)
        s[n++] = oldroot.s[i];
    {
        size_t count = old.roles[which].n;
        r.roles[which].n = 0;
        for (size_t i = 0; i < count; i++) {
            struct trust_signer k;
            grant_new(dir, &r, (enum trust_role)which, &k);
            if ((rc = key_save(dir, &k, which == TRUST_ROOT ? o->passphrase : NULL, e)) < 0)
                goto out;
            if (which == TRUST_ROOT)
                s[n++] = k;
            sodium_memzero(&k, sizeof(k));
        }
    }
    prune_keys(&r);
    if ((rc = write_root(dir, &r, s, n, e)) < 0)
        goto out;
    rc = publish(dir, &r, o, now, e);
out:
    sodium_memzero(s, sizeof(s));
    sodium_memzero(&oldroot, sizeof(oldroot));
    return rc;
}
