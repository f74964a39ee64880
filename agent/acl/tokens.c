/* tokens: the management token file and the token cache (see tokens.h).
 *
 * The cache is an array of decoded tokens and an open-addressing index
 * over it keyed by the secret's hash. It is rebuilt from the replica when
 * crdt_kind_index(CRDT_TOKEN) moved since the last build: a creation or a
 * revocation merged from gossip takes effect at the next request. */
#include "agent/acl/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "core/mem.h"

struct tokens {
    char file[PATH_MAX];
    struct acl_token management;

    uint64_t gen; /* crdt_kind_index(CRDT_TOKEN) at the last build */
    int built;
    struct tok {
        struct acl_token t;
        char origin[SWIM_NAME_MAX + 1];
    } * v;
    size_t n, cap;
    uint32_t *index; /* slot -> 1 + position in v, 0 empty; a power of two */
    size_t index_cap;
    struct tokens_stats stats;
};

/* ---- the management token file ---- */

static int read_secret(int fd, char *out, size_t cap, const char *path, struct err *e)
{
    ssize_t n = read(fd, out, cap - 1);

    if (n < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (n == 0)
        return err_set(e, -EINVAL, "%s: empty (remove it and restart to make a new one)", path);
    return 0;
}

/* The secret of $TOKENS_INITIAL_ENV when it is set: 0, 1 when unset, or
 * -EINVAL when it is too short or not printable. */
static int initial_secret(char *secret, size_t cap, struct err *e)
{
    const char *v = getenv(TOKENS_INITIAL_ENV);
    size_t n;

    if (!v || !v[0])
        return 1;
    n = strlen(v);
    if (n < 32 || n > ACL_SECRET_MAX || n >= cap)
        return err_set(e, -EINVAL, "$%s: expected 32 to %d characters, not %zu", TOKENS_INITIAL_ENV,
                       ACL_SECRET_MAX, n);
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~')
            return err_set(e, -EINVAL, "$%s: only printable characters, no spaces",
                           TOKENS_INITIAL_ENV);
    memcpy(secret, v, n + 1);
    return 0;
}

/* Writes a new secret to path through a temporary file, 0600: the one of
 * $TOKENS_INITIAL_ENV, else 32 random bytes as hex. */
static int make_secret(const char *path, char *secret, size_t cap, struct err *e)
{
    uint8_t raw[32];
    char tmp[PATH_MAX + 8];
    int fd, rc;
    size_t len;

    if ((rc = initial_secret(secret, cap, e)) < 0)
        return rc;
    if (rc == 1) {
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(secret, cap, raw, sizeof(raw));
        sodium_memzero(raw, sizeof(raw));
    }
    rc = 0;
    len = strlen(secret);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    secret[len] = '\n';
    if (write(fd, secret, len + 1) != (ssize_t)(len + 1) || fsync(fd) < 0)
        rc = err_set(e, -EIO, "%s: %s", tmp, strerror(errno));
    secret[len] = '\0';
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int management_open(struct tokens *tk, const char *data_dir, struct err *e)
{
    char dir[PATH_MAX], abs[PATH_MAX], secret[ACL_SECRET_MAX + 2];
    struct acl_token *m = &tk->management;
    struct stat st;
    int fd, rc;

    if ((size_t)snprintf(dir, sizeof(dir), "%s/acl", data_dir) >= sizeof(dir) ||
        (size_t)snprintf(tk->file, sizeof(tk->file), "%s/management-token", dir) >=
            sizeof(tk->file))
        return err_set(e, -ENAMETOOLONG, "%s: data directory path too long", data_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    /* the path the CLI is told (/v1/acl/self): absolute, whatever its working directory */
    if (realpath(dir, abs) && (size_t)snprintf(tk->file, sizeof(tk->file), "%s/management-token",
                                               abs) >= sizeof(tk->file))
        return err_set(e, -ENAMETOOLONG, "%s: data directory path too long", abs);
    fd = open(tk->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        return err_set(e, -errno, "%s: %s", tk->file, strerror(errno));
    if (fd < 0) {
        if ((rc = make_secret(tk->file, secret, sizeof(secret), e)) < 0)
            return rc;
        log_info("acl",
                 "made the management token: %s (readable by this user only; the "
                 "troupe command reads it)",
                 tk->file);
    } else {
        if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
            log_warn("acl", "%s was readable by others: made it 0600", tk->file);
            if (fchmod(fd, 0600) < 0)
                log_warn("acl", "%s: chmod: %s", tk->file, strerror(errno));
        }
        rc = read_secret(fd, secret, ACL_SECRET_MAX + 1, tk->file, e);
        close(fd);
        if (rc < 0)
            return rc;
    }
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", TOKENS_MANAGEMENT);
    acl_secret_hash(secret, strlen(secret), m->hash);
    sodium_memzero(secret, sizeof(secret));
    acl_rule_parse(&m->rules[0], "*:write", NULL);
    m->n_rules = 1;
    return 0;
}

int tokens_open(struct agent *a, struct err *e)
{
    struct tokens *tk = xcalloc(1, sizeof(*tk));
    int rc;

    if ((rc = management_open(tk, a->cfg.data_dir, e)) < 0) {
        free(tk);
        return err_wrap(e, "management token");
    }
    a->tokens = tk;
    return 0;
}

void tokens_free(struct agent *a)
{
    struct tokens *tk = a->tokens;

    if (!tk)
        return;
    free(tk->v);
    free(tk->index);
    sodium_memzero(tk, sizeof(*tk));
    free(tk);
    a->tokens = NULL;
}

/* ---- the cache ---- */

static size_t slot_of(const uint8_t *hash, size_t cap)
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h)); /* a SHA-256: any 8 bytes are uniform */
    return (size_t)h & (cap - 1);
}

static int add_rec(void *ud, const struct crdt_rec *r)
{
    struct agent *a = ud;
    struct tokens *tk = a->tokens;
    struct tok *t;
    struct err e;

    if (crdt_lww(a->catalog->crdt, CRDT_TOKEN, r->key) != r)
        return 0; /* a newer write of the name wins: a revocation, or another token */
    if (tk->n == tk->cap) {
        tk->cap = tk->cap ? tk->cap * 2 : 16;
        tk->v = xrealloc(tk->v, tk->cap * sizeof(*tk->v));
    }
    t = &tk->v[tk->n];
    memset(t, 0, sizeof(*t));
    if (acl_name_check(r->key, NULL) < 0 || acl_token_decode(&t->t, r->val, r->len, &e) < 0) {
        tk->stats.bad_records++;
        log_warn("acl", "token record \"%.64s\" of %s is not valid; ignored", r->key, r->origin);
        return 0;
    }
    snprintf(t->t.name, sizeof(t->t.name), "%s", r->key);
    snprintf(t->origin, sizeof(t->origin), "%s", r->origin);
    tk->n++;
    return 0;
}

static void rebuild(struct agent *a)
{
    struct tokens *tk = a->tokens;
    uint64_t gen = crdt_kind_index(a->catalog->crdt, CRDT_TOKEN);

    if (tk->built && gen == tk->gen)
        return;
    tk->n = 0;
    crdt_scan(a->catalog->crdt, CRDT_TOKEN, NULL, 0, add_rec, a);
    tk->index_cap = 16;
    while (tk->index_cap < tk->n * 2)
        tk->index_cap *= 2;
    free(tk->index);
    tk->index = xcalloc(tk->index_cap, sizeof(*tk->index));
    for (size_t i = 0; i < tk->n; i++) {
        size_t s = slot_of(tk->v[i].t.hash, tk->index_cap);
        while (tk->index[s])
            s = (s + 1) & (tk->index_cap - 1);
        tk->index[s] = (uint32_t)(i + 1);
    }
    tk->gen = gen;
    tk->built = 1;
    tk->stats.rebuilds++;
}

const struct acl_token *tokens_find(struct agent *a, const char *secret, size_t len)
{
    struct tokens *tk = a->tokens;
    uint8_t hash[ACL_HASH_LEN];
    size_t s;

    if (!tk || !a->catalog)
        return NULL;
    tk->stats.lookups++;
    acl_secret_hash(secret, len, hash);
    if (sodium_memcmp(hash, tk->management.hash, ACL_HASH_LEN) == 0)
        return &tk->management;
    rebuild(a);
    for (s = slot_of(hash, tk->index_cap); tk->index[s]; s = (s + 1) & (tk->index_cap - 1)) {
        const struct acl_token *t = &tk->v[tk->index[s] - 1].t;
        if (sodium_memcmp(hash, t->hash, ACL_HASH_LEN) == 0)
            return t;
    }
    tk->stats.unknown++;
    return NULL;
}

int tokens_get(struct agent *a, const char *name, struct acl_token *out, const char **origin)
{
    struct tokens *tk = a->tokens;

    rebuild(a);
    for (size_t i = 0; i < tk->n; i++) {
        if (strcmp(tk->v[i].t.name, name) == 0) {
            *out = tk->v[i].t;
            if (origin)
                *origin = tk->v[i].origin;
            return 0;
        }
    }
    return -ENOENT;
}

void tokens_each(struct agent *a,
                 void (*cb)(void *ud, const struct acl_token *t, const char *origin), void *ud)
{
    struct tokens *tk = a->tokens;

    rebuild(a);
    /* the scan went in (key, origin) order and one origin wins per key */
    for (size_t i = 0; i < tk->n; i++)
        cb(ud, &tk->v[i].t, tk->v[i].origin);
}

/* ---- writes ---- */

int tokens_create(struct agent *a, struct acl_token *t, char secret[65], struct err *e)
{
    uint8_t raw[32], val[ACL_VALUE_MAX];
    struct acl_token old;
    int n, rc;

    if ((rc = acl_token_check(t, e)) < 0)
        return rc;
    if (strcmp(t->name, TOKENS_MANAGEMENT) == 0)
        return err_set(e, -EEXIST, "name \"%s\" is every agent's own token", t->name);
    if (tokens_get(a, t->name, &old, NULL) == 0)
        return err_set(e, -EEXIST, "a token named \"%s\" exists (revoke it first)", t->name);
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(secret, 65, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    acl_secret_hash(secret, 64, t->hash);
    t->created_ms = agent_wall_ms();
    if ((n = acl_token_encode(t, val, sizeof(val), e)) < 0)
        return n;
    rc = repl_put(a->catalog->repl, agent_wall_ms(), CRDT_TOKEN, t->name, val, (uint32_t)n, e);
    if (rc >= 0)
        rc = catalog_save(a, e);
    if (rc < 0)
        return rc;
    log_info("acl", "token \"%s\" created by %s", t->name, t->created_by[0] ? t->created_by : "?");
    agent_drive(a);
    return 0;
}

int tokens_revoke(struct agent *a, const char *name, struct err *e)
{
    const struct crdt_rec *r = crdt_lww(a->catalog->crdt, CRDT_TOKEN, name);
    uint8_t *val;
    int rc;

    if (strcmp(name, TOKENS_MANAGEMENT) == 0)
        return err_set(e, -EPERM,
                       "the management token is not a replicated token: remove its file and "
                       "restart the agent to change it");
    if (!r || r->deleted)
        return err_set(e, -ENOENT, "no token named \"%s\"", name);
    /* when we hold no record of it, a copy is ours to delete */
    val = xmemdup(r->val, r->len);
    rc = catalog_lww_del(a, CRDT_TOKEN, name, val, r->len, e);
    free(val);
    if (rc >= 0)
        rc = catalog_save(a, e);
    if (rc < 0)
        return rc;
    log_info("acl", "token \"%s\" revoked", name);
    agent_drive(a);
    return 0;
}

const char *tokens_file(struct agent *a)
{
    return a->tokens ? a->tokens->file : "";
}

const struct acl_token *tokens_management(struct agent *a)
{
    return &a->tokens->management;
}

const struct tokens_stats *tokens_stats(struct agent *a)
{
    return &a->tokens->stats;
}

void tokens_write_metrics(struct agent *a, FILE *f)
{
    struct tokens *tk = a->tokens;

    if (!tk)
        return;
    fprintf(f,
            "# HELP troupe_acl_tokens Replicated API tokens in the cache.\n"
            "# TYPE troupe_acl_tokens gauge\ntroupe_acl_tokens %zu\n"
            "# HELP troupe_acl_token_lookups_total Requests that carried a token.\n"
            "# TYPE troupe_acl_token_lookups_total counter\n"
            "troupe_acl_token_lookups_total %llu\n"
            "# HELP troupe_acl_unknown_tokens_total Requests whose token is unknown (401).\n"
            "# TYPE troupe_acl_unknown_tokens_total counter\n"
            "troupe_acl_unknown_tokens_total %llu\n"
            "# HELP troupe_acl_cache_rebuilds_total Token cache rebuilds after a change.\n"
            "# TYPE troupe_acl_cache_rebuilds_total counter\n"
            "troupe_acl_cache_rebuilds_total %llu\n"
            "# HELP troupe_acl_bad_records_total Token records that did not decode.\n"
            "# TYPE troupe_acl_bad_records_total counter\ntroupe_acl_bad_records_total %llu\n",
            tk->n, (unsigned long long)tk->stats.lookups, (unsigned long long)tk->stats.unknown,
            (unsigned long long)tk->stats.rebuilds, (unsigned long long)tk->stats.bad_records);
}
