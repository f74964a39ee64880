/* sup_spec: the service spec of the supervisor, a JSON document (troupe
 * run FILE, PUT /v1/agent/run, or a *.json file in the config dir). Owns
 * its parsing and validation (jansson): every field is checked, unknown
 * fields are refused, and an error names the field ("ports.http: ...").
 * Applying a spec (processes, users, containers) is agent/super's. */
#ifndef TROUPE_SUP_SPEC_H
#define TROUPE_SUP_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sup.h"

#define SUP_SPEC_TEXT_MAX   (64u << 10) /* bytes of JSON */
#define SUP_NAME_MAX        63          /* a DNS label */
#define SUP_ARGS_MAX        256
#define SUP_ENV_MAX         128
#define SUP_STR_MAX         4096 /* any one string */
#define SUP_INSTANCES_MAX   64
#define SUP_PORTS_MAX       8
#define SUP_PORT_NAME_MAX   31
#define SUP_CHECKS_MAX      8
#define SUP_SECRETS_MAX     32
#define SUP_SECRET_NAME_MAX 63
#define SUP_CAPS_MAX        41
#define SUP_TAGS_MAX        16
#define SUP_TAG_MAX         63
#define SUP_USER_MAX        32

enum sup_runtime { SUP_RUNTIME_PROCESS = 0, SUP_RUNTIME_CRUN };
enum sup_check_role { SUP_CHECK_READINESS = 0, SUP_CHECK_LIVENESS };
enum sup_check_type { SUP_CHECK_HTTP = 1, SUP_CHECK_TCP, SUP_CHECK_EXEC, SUP_CHECK_TTL };

struct sup_port {
    char name[SUP_PORT_NAME_MAX + 1];
    uint16_t port; /* 0: auto, the agent picks a free port per instance */
};

struct sup_check {
    char name[64];
    uint8_t role; /* enum sup_check_role */
    uint8_t type; /* enum sup_check_type */
    char *target; /* heap: URL, HOST:PORT, or command line for sh -c; ${PORT}
                   * and ${PORT_name} are replaced per instance. NULL for ttl */
    uint32_t interval_ms, timeout_ms, ttl_ms;
    uint32_t successes_before_passing, failures_before_critical;
};

struct sup_limits {
    uint64_t memory_bytes; /* 0: none */
    uint32_t cpu_percent;  /* of one CPU, 1..(100 x CPUs); 0: none */
    uint32_t pids;         /* 0: none */
    uint32_t nofile;       /* 0: inherit */
};

struct sup_spec {
    char name[SUP_NAME_MAX + 1];
    char *command; /* heap; NULL when the spec names a bundle */
    char *bundle;  /* heap "NAME@VERSION", or NULL: what runs is a signed bundle's
                    * entrypoint (agent/super/super_bundle.c) */
    char **args;   /* heap array of heap strings, n_args */
    size_t n_args;
    char *dir;  /* heap or NULL */
    char **env; /* heap "KEY=VALUE" strings, n_env */
    size_t n_env;
    char user[SUP_USER_MAX + 1];  /* "" : the default (the troupe user when root) */
    char group[SUP_USER_MAX + 1]; /* "" : the user's group */
    uint32_t instances;
    struct sup_port ports[SUP_PORTS_MAX];
    size_t n_ports;
    struct sup_cfg sup; /* restart, backoff, start limit, stop grace */
    int stop_signal;
    struct sup_check checks[SUP_CHECKS_MAX];
    size_t n_checks;
    char secrets[SUP_SECRETS_MAX][SUP_SECRET_NAME_MAX + 1];
    size_t n_secrets;
    uint8_t runtime;     /* enum sup_runtime */
    uint8_t runtime_set; /* the spec names it (else a bundle's manifest decides) */
    char *rootfs;        /* heap; crun: a directory or a tarball */
    char caps[SUP_CAPS_MAX][32];
    size_t n_caps;
    uint8_t own_network;       /* crun: a network namespace of its own (loopback only) */
    uint8_t socket_activation; /* the agent binds the first port and passes it as fd 3 */
    struct sup_limits limits;
    char tags[SUP_TAGS_MAX][SUP_TAG_MAX + 1];
    size_t n_tags;
    char *json; /* heap: the spec as canonical JSON (sorted, compact) */
};

/* Parses and validates text into s (which it initializes). On error s
 * holds nothing to free and e names the field. Free with sup_spec_release. */
int sup_spec_parse(struct sup_spec *s, const char *text, size_t len, struct err *e);
void sup_spec_release(struct sup_spec *s);

/* Secret names and service names share a rule: 1-63 of [a-z0-9-_.],
 * starting with a letter or digit. Returns 1 when valid. */
int sup_secret_name_ok(const char *s);
/* A service name: a DNS label, [a-z0-9-], 1-63, not starting or ending with '-'. */
int sup_name_ok(const char *s);

/* Root on the host, asked for by a spec: "user" or "group" root (by name
 * or as 0), added "capabilities", or a fixed port below 1024 on the host's
 * network ("network": "host", which every process has). No user is never
 * root: the supervisor then runs the unprivileged troupe user. Returns 0
 * when the spec asks for none of it or allow_root is set (the agent was
 * started with --allow-root-services); else -EPERM with e naming the first
 * such field and what it needs. A name that is uid 0 under another name is
 * the agent's to check (it reads the user database). */
int sup_spec_check_privilege(const struct sup_spec *s, int allow_root, struct err *e);
/* The error of sup_spec_check_privilege for a field and what it asks for
 * ("\"root\"", "CAP_NET_ADMIN"): one wording wherever it is found. */
int sup_spec_privilege_err(struct err *e, const char *service, const char *field, const char *what);

#endif
