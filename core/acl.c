/* acl: rules, the policy decision and token records (see acl.h).
 *
 * The decision over a list of rules: among the rules for the resource (or
 * "*") whose prefix starts the name, the longest prefix decides; when
 * several share that length, one deny among them wins, else the highest
 * access. A token's rules go first; when none of them matches, the default
 * policy's rules decide as if they were the token's. Nothing matching at
 * all is a deny: the check fails closed. */
#include "core/acl.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"

#define ACL_FORMAT 1 /* first byte of a token record's value */

static const char *const res_names[] = {"*",   "node",   "service", "kv",  "event",
                                        "run", "secret", "trust",   "acl", "agent"};

/* The default policies as rules, prefix "" each. */
static const struct acl_rule default_read[] = {
    {ACL_RES_NODE, ACL_READ, 0, ""},  {ACL_RES_SERVICE, ACL_READ, 0, ""},
    {ACL_RES_KV, ACL_READ, 0, ""},    {ACL_RES_EVENT, ACL_READ, 0, ""},
    {ACL_RES_TRUST, ACL_READ, 0, ""}, {ACL_RES_AGENT, ACL_READ, 0, ""},
};

const char *acl_resource_name(uint8_t res)
{
    return res <= ACL_RES_MAX ? res_names[res] : "?";
}

const char *acl_access_name(uint8_t access)
{
    switch (access) {
    case ACL_DENY:
        return "deny";
    case ACL_READ:
        return "read";
    case ACL_WRITE:
        return "write";
    default:
        return "none";
    }
}

static const struct acl_rule default_off[] = {{ACL_RES_ALL, ACL_WRITE, 0, ""}};

const char *acl_default_name(uint8_t def)
{
    return def == ACL_DEFAULT_DENY ? "deny" : def == ACL_DEFAULT_OFF ? "off" : "read";
}

int acl_default_parse(const char *s, uint8_t *def)
{
    if (strcmp(s, "read") == 0)
        *def = ACL_DEFAULT_READ;
    else if (strcmp(s, "deny") == 0)
        *def = ACL_DEFAULT_DENY;
    else if (strcmp(s, "off") == 0)
        *def = ACL_DEFAULT_OFF;
    else
        return -EINVAL;
    return 0;
}

static int resource_parse(const char *s, size_t n, uint8_t *out)
{
    for (uint8_t i = 0; i <= ACL_RES_MAX; i++) {
        if (strlen(res_names[i]) == n && memcmp(res_names[i], s, n) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

static int access_parse(const char *s, size_t n, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t access;
    } names[] = {{"read", ACL_READ}, {"write", ACL_WRITE}, {"deny", ACL_DENY}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0) {
            *out = names[i].access;
            return 0;
        }
    }
    return -EINVAL;
}

/* A prefix may hold any byte but NUL and control characters. */
static int prefix_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    return 1;
}

int acl_rule_parse(struct acl_rule *r, const char *text, struct err *e)
{
    const char *c1 = strchr(text, ':'), *c2, *prefix = "";
    size_t alen, plen;

    memset(r, 0, sizeof(*r));
    if (!c1)
        return err_set(e, -EINVAL,
                       "rule \"%.*s\": expected RESOURCE:ACCESS[:PREFIX], e.g. kv:write:app/",
                       ACL_RULE_TEXT_MAX, text);
    if (resource_parse(text, (size_t)(c1 - text), &r->resource) < 0)
        return err_set(e, -EINVAL,
                       "rule \"%.*s\": resource \"%.*s\" is not one of node, service, kv, "
                       "event, run, secret, trust, acl, agent or *",
                       ACL_RULE_TEXT_MAX, text, (int)(c1 - text > 32 ? 32 : c1 - text), text);
    c2 = strchr(c1 + 1, ':');
    alen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (access_parse(c1 + 1, alen, &r->access) < 0)
        return err_set(e, -EINVAL, "rule \"%.*s\": access \"%.*s\" is not read, write or deny",
                       ACL_RULE_TEXT_MAX, text, (int)(alen > 32 ? 32 : alen), c1 + 1);
    if (c2)
        prefix = c2 + 1;
    plen = strlen(prefix);
    if (plen > ACL_PREFIX_MAX)
        return err_set(e, -EINVAL, "rule \"%.40s...\": prefix longer than %d bytes", text,
                       ACL_PREFIX_MAX);
    if (!prefix_valid(prefix, plen))
        return err_set(e, -EINVAL, "rule \"%.*s\": prefix holds a control character",
                       ACL_RULE_TEXT_MAX, text);
    memcpy(r->prefix, prefix, plen + 1);
    r->prefix_len = (uint8_t)plen;
    return 0;
}

char *acl_rule_format(const struct acl_rule *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s:%s%s%s", acl_resource_name(r->resource), acl_access_name(r->access),
             r->prefix_len ? ":" : "", r->prefix);
    return buf;
}

int acl_name_check(const char *name, struct err *e)
{
    size_t n = strnlen(name, ACL_NAME_MAX + 1);

    if (n == 0 || n > ACL_NAME_MAX)
        return err_set(e, -EINVAL, "name: expected 1 to %d characters", ACL_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return err_set(e, -EINVAL, "name \"%s\": only [A-Za-z0-9._-] are allowed", name);
    }
    return 0;
}

int acl_token_check(const struct acl_token *t, struct err *e)
{
    int rc;

    if ((rc = acl_name_check(t->name, e)) < 0)
        return rc;
    if (t->created_by[0] && (rc = acl_name_check(t->created_by, e)) < 0)
        return err_wrap(e, "created_by");
    if (t->n_rules == 0)
        return err_set(e, -EINVAL, "rules: a token needs at least one rule");
    if (t->n_rules > ACL_RULES_MAX)
        return err_set(e, -EINVAL, "rules: at most %d", ACL_RULES_MAX);
    for (size_t i = 0; i < t->n_rules; i++) {
        const struct acl_rule *r = &t->rules[i];
        if (r->resource > ACL_RES_MAX)
            return err_set(e, -EINVAL, "rules[%zu]: resource %u is unknown", i, r->resource);
        if (r->access != ACL_DENY && r->access != ACL_READ && r->access != ACL_WRITE)
            return err_set(e, -EINVAL, "rules[%zu]: access %u is unknown", i, r->access);
        if (r->prefix_len > ACL_PREFIX_MAX || strlen(r->prefix) != r->prefix_len ||
            !prefix_valid(r->prefix, r->prefix_len))
            return err_set(e, -EINVAL, "rules[%zu]: bad prefix", i);
    }
    return 0;
}

void acl_secret_hash(const char *secret, size_t len, uint8_t out[ACL_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)secret, len);
}

/* Value: [format u8][hash 32][created_ms u64][len u8, created_by]
 *        [n u8] n x [resource u8][access u8][len u8, prefix] */
int acl_token_encode(const struct acl_token *t, uint8_t *buf, size_t cap, struct err *e)
{
    struct wr w;
    size_t cl = strlen(t->created_by);

    wr_init(&w, buf, cap);
    wr_u8(&w, ACL_FORMAT);
    wr_bytes(&w, t->hash, ACL_HASH_LEN);
    wr_u64(&w, t->created_ms);
    wr_u8(&w, (uint8_t)cl);
    wr_bytes(&w, t->created_by, cl);
    wr_u8(&w, (uint8_t)t->n_rules);
    for (size_t i = 0; i < t->n_rules; i++) {
        wr_u8(&w, t->rules[i].resource);
        wr_u8(&w, t->rules[i].access);
        wr_u8(&w, t->rules[i].prefix_len);
        wr_bytes(&w, t->rules[i].prefix, t->rules[i].prefix_len);
    }
    if (w.overflow)
        return err_set(e, -EMSGSIZE, "token record: more than %zu bytes", cap);
    return (int)w.len;
}

int acl_token_decode(struct acl_token *t, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint8_t fmt, cl, n;
    struct err sub;

    memset(t->hash, 0, sizeof(*t) - offsetof(struct acl_token, hash));
    rd_init(&r, buf, len);
    if (rd_u8(&r, &fmt) < 0)
        goto short_;
    if (fmt != ACL_FORMAT)
        return err_set(e, -EBADMSG, "token record: format %u is not %d", fmt, ACL_FORMAT);
    if (rd_bytes(&r, t->hash, ACL_HASH_LEN) < 0 || rd_u64(&r, &t->created_ms) < 0 ||
        rd_u8(&r, &cl) < 0)
        goto short_;
    if (cl > ACL_NAME_MAX)
        return err_set(e, -EBADMSG, "token record: created_by is %u bytes", cl);
    if (rd_bytes(&r, t->created_by, cl) < 0 || rd_u8(&r, &n) < 0)
        goto short_;
    t->created_by[cl] = '\0';
    if (cl && (memchr(t->created_by, 0, cl) || acl_name_check(t->created_by, NULL) < 0))
        return err_set(e, -EBADMSG, "token record: created_by is not a token name");
    if (n == 0 || n > ACL_RULES_MAX)
        return err_set(e, -EBADMSG, "token record: %u rules (1 to %d)", n, ACL_RULES_MAX);
    for (size_t i = 0; i < n; i++) {
        struct acl_rule *ru = &t->rules[i];
        if (rd_u8(&r, &ru->resource) < 0 || rd_u8(&r, &ru->access) < 0 ||
            rd_u8(&r, &ru->prefix_len) < 0)
            goto short_;
        if (ru->prefix_len > ACL_PREFIX_MAX)
            return err_set(e, -EBADMSG, "token record: rule %zu: prefix of %u bytes", i,
                           ru->prefix_len);
        if (rd_bytes(&r, ru->prefix, ru->prefix_len) < 0)
            goto short_;
        ru->prefix[ru->prefix_len] = '\0';
        if (memchr(ru->prefix, 0, ru->prefix_len))
            return err_set(e, -EBADMSG, "token record: rule %zu: NUL in the prefix", i);
    }
    t->n_rules = n;
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "token record: %zu bytes after the rules", rd_left(&r));
    /* the checks of a new token, except the name (the key, checked by the caller) */
    for (size_t i = 0; i < n; i++) {
        const struct acl_rule *ru = &t->rules[i];
        if (ru->resource > ACL_RES_MAX ||
            (ru->access != ACL_DENY && ru->access != ACL_READ && ru->access != ACL_WRITE) ||
            !prefix_valid(ru->prefix, ru->prefix_len)) {
            err_set(&sub, -EBADMSG, "rule %zu is not valid", i);
            return err_set(e, -EBADMSG, "token record: %s", sub.msg);
        }
    }
    return 0;
short_:
    return err_set(e, -EBADMSG, "token record: cut short");
}

/* The decision of one rule list; d->access stays ACL_NONE when no rule
 * matches. */
static void decide_rules(const struct acl_rule *rules, size_t n, uint8_t res, const char *name,
                         size_t name_len, struct acl_decision *d)
{
    int best = -1;

    d->access = ACL_NONE;
    d->rule = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct acl_rule *r = &rules[i];
        if (r->resource != res && r->resource != ACL_RES_ALL)
            continue;
        if (r->prefix_len > name_len || memcmp(r->prefix, name, r->prefix_len) != 0)
            continue;
        if ((int)r->prefix_len > best) {
            best = r->prefix_len;
            d->access = r->access;
            d->rule = r;
        } else if ((int)r->prefix_len == best && d->access != ACL_DENY &&
                   (r->access == ACL_DENY || r->access > d->access)) {
            d->access = r->access;
            d->rule = r;
        }
    }
}

void acl_decide(const struct acl_token *t, uint8_t def, uint8_t res, const char *name,
                struct acl_decision *d)
{
    size_t len = strlen(name);

    d->by_default = 0;
    if (t) {
        decide_rules(t->rules, t->n_rules, res, name, len, d);
        if (d->access != ACL_NONE)
            return;
    }
    d->by_default = 1;
    if (def == ACL_DEFAULT_READ)
        decide_rules(default_read, sizeof(default_read) / sizeof(default_read[0]), res, name, len,
                     d);
    else if (def == ACL_DEFAULT_OFF)
        decide_rules(default_off, 1, res, name, len, d);
    else
        d->access = ACL_NONE, d->rule = NULL;
    if (d->access == ACL_NONE)
        d->access = ACL_DENY;
}

int acl_allows(const struct acl_token *t, uint8_t def, uint8_t res, uint8_t want, const char *name,
               int subtree, struct acl_decision *d)
{
    size_t len = strlen(name);

    acl_decide(t, def, res, name, d);
    if (d->access == ACL_DENY || d->access < want)
        return 0;
    if (!subtree || !t)
        return 1; /* the default policy's prefixes are all "": none is below name */
    /* a longer rule under name (kv:deny:app/secret/ below app/) must allow it too */
    for (size_t i = 0; i < t->n_rules; i++) {
        const struct acl_rule *r = &t->rules[i];
        struct acl_decision below;
        if ((r->resource != res && r->resource != ACL_RES_ALL) || r->prefix_len <= len ||
            memcmp(r->prefix, name, len) != 0)
            continue;
        acl_decide(t, def, res, r->prefix, &below);
        if (below.access == ACL_DENY || below.access < want) {
            *d = below;
            return 0;
        }
    }
    return 1;
}

void acl_denial_text(const struct acl_token *t, uint8_t res, uint8_t want, const char *name,
                     int subtree, const struct acl_decision *d, char *buf, size_t cap)
{
    char what[ACL_PREFIX_MAX + 64], why[ACL_RULE_TEXT_MAX + ACL_NAME_MAX + 64];
    char rule[ACL_RULE_TEXT_MAX];

    if (subtree)
        snprintf(what, sizeof(what), " on every name under \"%.*s\"", ACL_PREFIX_MAX, name);
    else if (name[0])
        snprintf(what, sizeof(what), " on \"%.*s\"", ACL_PREFIX_MAX, name);
    else
        what[0] = '\0';
    if (!t && !d->rule)
        snprintf(why, sizeof(why), "no token given; the default policy allows nothing here");
    else if (!t)
        snprintf(why, sizeof(why), "no token given; the default policy has %s",
                 acl_rule_format(d->rule, rule, sizeof(rule)));
    else if (!d->rule)
        snprintf(why, sizeof(why), "token \"%s\" has no rule for it", t->name);
    else
        snprintf(why, sizeof(why), "token \"%s\": %s%s decides", t->name,
                 d->by_default ? "the default policy's " : "rule ",
                 acl_rule_format(d->rule, rule, sizeof(rule)));
    snprintf(buf, cap, "permission denied: needs %s:%s%s (%s)", acl_resource_name(res),
             acl_access_name(want), what, why);
}
