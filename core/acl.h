/* acl: who may do what through the API, as pure functions. Owns the rule
 * language (RESOURCE:ACCESS[:PREFIX]), the policy decision (longest prefix
 * wins; at equal prefix deny beats allow, and write implies read), the
 * anonymous default policy, the denial text, and the binary value of a
 * token record in the replicated state (CRDT_TOKEN: the key is the token's
 * name, the value holds a SHA-256 of the secret, never the secret).
 *
 * Not here: where tokens are stored or looked up (agent/acl), which route
 * needs what (agent/api/api_acl.c), random secrets (the caller's). */
#ifndef TROUPE_ACL_H
#define TROUPE_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ACL_NAME_MAX      64                    /* token name: 1-64 of [A-Za-z0-9._-] */
#define ACL_PREFIX_MAX    128                   /* bytes of a rule's prefix */
#define ACL_RULES_MAX     16                    /* rules of one token */
#define ACL_HASH_LEN      32                    /* SHA-256 of the secret */
#define ACL_SECRET_MAX    128                   /* bytes of a secret as a client sends it */
#define ACL_RULE_TEXT_MAX (24 + ACL_PREFIX_MAX) /* "RESOURCE:ACCESS:PREFIX" and NUL */
#define ACL_VALUE_MAX                                                                              \
    (1 + ACL_HASH_LEN + 8 + 1 + ACL_NAME_MAX + 1 + ACL_RULES_MAX * (3 + ACL_PREFIX_MAX))

/* What a rule is about. ACL_RES_ALL ("*") stands for every resource. */
enum acl_resource {
    ACL_RES_ALL = 0,
    ACL_RES_NODE = 1,    /* members, joins and leaves of the cluster */
    ACL_RES_SERVICE = 2, /* the catalog: registrations, checks; prefix: service name */
    ACL_RES_KV = 3,      /* the KV store; prefix: the key */
    ACL_RES_EVENT = 4,   /* user events and the history; prefix: event name */
    ACL_RES_RUN = 5,     /* the supervisor: specs, start/stop, logs; prefix: service */
    ACL_RES_SECRET = 6,  /* the supervisor's secrets; prefix: secret name */
    ACL_RES_TRUST = 7,   /* signed bundles; prefix: bundle name */
    ACL_RES_ACL = 8,     /* tokens themselves; prefix: token name */
    ACL_RES_AGENT = 9,   /* the agent: self, metrics, DNS stats */
};
#define ACL_RES_MAX 9

/* Ordered: a higher access includes the lower allowing ones. */
enum acl_access {
    ACL_NONE = 0, /* no rule matched (decisions only, never in a rule) */
    ACL_DENY = 1,
    ACL_READ = 2,
    ACL_WRITE = 3,
};

/* What anonymous requests get, and what a token falls back to where none
 * of its rules match. */
enum acl_default {
    ACL_DEFAULT_READ = 0, /* node, service, kv, event, trust, agent: read */
    ACL_DEFAULT_DENY = 1, /* nothing */
    ACL_DEFAULT_OFF = 2,  /* everything ("*:write"): no authorization, for benchmarks
                             and throwaway clusters */
};

struct acl_rule {
    uint8_t resource; /* enum acl_resource */
    uint8_t access;   /* ACL_DENY, ACL_READ or ACL_WRITE */
    uint8_t prefix_len;
    char prefix[ACL_PREFIX_MAX + 1]; /* NUL-terminated, may be empty */
};

struct acl_token {
    char name[ACL_NAME_MAX + 1];       /* the record's key; not in the value */
    uint8_t hash[ACL_HASH_LEN];        /* acl_secret_hash of the secret */
    uint64_t created_ms;               /* wall clock of the creation */
    char created_by[ACL_NAME_MAX + 1]; /* the token that created it ("" unknown) */
    size_t n_rules;
    struct acl_rule rules[ACL_RULES_MAX];
};

/* The outcome of acl_decide. */
struct acl_decision {
    uint8_t access;              /* ACL_DENY when nothing matched at all */
    const struct acl_rule *rule; /* the deciding rule, NULL when none matched */
    int by_default;              /* the default policy decided, not the token */
};

const char *acl_resource_name(uint8_t res);         /* "kv", "*", ...; "?" when invalid */
const char *acl_access_name(uint8_t access);        /* "read", "write", "deny", "none" */
const char *acl_default_name(uint8_t def);          /* "read", "deny", "off" */
int acl_default_parse(const char *s, uint8_t *def); /* 0 or -EINVAL */

/* Parses "RESOURCE:ACCESS[:PREFIX]" (the prefix is the rest, colons and
 * all). 0, or -EINVAL with a message that names the part that is wrong
 * and what was expected. */
int acl_rule_parse(struct acl_rule *r, const char *text, struct err *e);
/* Writes the rule as text (the parser's input form) into buf; returns buf. */
char *acl_rule_format(const struct acl_rule *r, char *buf, size_t cap);

/* A token name: 1-64 of [A-Za-z0-9._-]. 0 or -EINVAL with a message. */
int acl_name_check(const char *name, struct err *e);
/* Every field of a token (name, rules): 0 or -EINVAL naming the field. */
int acl_token_check(const struct acl_token *t, struct err *e);

/* SHA-256 of the secret as the client sends it (secrets are 32 random
 * bytes: a plain hash is enough, no stretching needed). */
void acl_secret_hash(const char *secret, size_t len, uint8_t out[ACL_HASH_LEN]);

/* The value of a token record: encode returns its length or -EMSGSIZE;
 * decode fills t (not t->name, which is the record's key) and returns 0 or
 * -EBADMSG with a message, never reading past len. */
int acl_token_encode(const struct acl_token *t, uint8_t *buf, size_t cap, struct err *e);
int acl_token_decode(struct acl_token *t, const uint8_t *buf, size_t len, struct err *e);

/* The access token t (NULL: an anonymous request) has to resource res on
 * name (the KV key, the service name...; "" when the resource has no
 * name). t's rules decide; where none of them matches, the default policy
 * does. */
void acl_decide(const struct acl_token *t, uint8_t def, uint8_t res, const char *name,
                struct acl_decision *d);

/* 1 when t may do `want` (ACL_READ or ACL_WRITE) on name; with subtree,
 * on every name that starts with name (a recursive read or delete), so a
 * longer rule below it must allow it too. On 0, *d says what decided. */
int acl_allows(const struct acl_token *t, uint8_t def, uint8_t res, uint8_t want, const char *name,
               int subtree, struct acl_decision *d);

/* The text of a refusal: `needs kv:write on "app/x" (no token given)`,
 * `needs secret:read (token "ci": rule secret:deny: decides)`. */
void acl_denial_text(const struct acl_token *t, uint8_t res, uint8_t want, const char *name,
                     int subtree, const struct acl_decision *d, char *buf, size_t cap);

#endif
