/* catalog: the agent's side of the replicated service catalog, as the rest
 * of agent/ uses it (the HTTP API, service files, the supervisor). The
 * instances registered here are owned by this agent: it is their only
 * writer, it runs their health checks, and it gossips both to every other
 * agent through core/repl. A registration is durable (in the data dir's
 * SQLite) when catalog_register returns.
 *
 * Not here: what a catalog value means (core/cat), the check state machine
 * (core/health), running the probes (agent/checks), JSON (agent/services). */
#ifndef TROUPE_CATALOG_H
#define TROUPE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/cat.h"
#include "core/err.h"
#include "core/health.h"

struct agent;

#define CATALOG_CHECKS_MAX 8  /* checks of one instance */
#define CATALOG_ARGS_MAX   32 /* argv of an exec check */
#define CATALOG_TARGET_MAX 512

/* Who registered an instance. A reload of the service files only touches
 * CATALOG_SRC_FILE registrations; the supervisor's stay its own. */
enum catalog_source {
    CATALOG_SRC_API = 1,        /* PUT /v1/agent/service/register */
    CATALOG_SRC_FILE = 2,       /* a JSON file in --config-dir */
    CATALOG_SRC_SUPERVISOR = 3, /* a supervised instance, registered from C */
};

struct catalog_check_def {
    char id[CAT_ID_MAX + 1];   /* empty: "<instance id>:<index>" */
    char name[CAT_ID_MAX + 1]; /* empty: the check's type */
    struct health_cfg cfg;     /* type, interval, timeout, ttl, thresholds */
    /* http: a URL http://HOST[:PORT]/PATH; tcp: HOST:PORT; exec, ttl: empty */
    char target[CATALOG_TARGET_MAX];
    size_t argc;                  /* exec: the command and its arguments */
    char *argv[CATALOG_ARGS_MAX]; /* heap strings; catalog_def_release frees */
    /* > 0: until the check first passes (for at most fast_for_ms), probe
     * every fast_probe_ms instead of the interval: an instance that starts
     * cold while the proxy holds its first connections */
    uint32_t fast_probe_ms, fast_for_ms;
    uint8_t start_passing; /* passing until a probe says otherwise (socket activation:
                              the agent's socket accepts from the start) */
};

/* One instance and its checks, as a caller hands it in. */
struct catalog_def {
    struct cat_instance inst; /* inst.node is ignored: the instance is ours */
    size_t n_checks;
    struct catalog_check_def checks[CATALOG_CHECKS_MAX];
    /* 1: saved with the next batch (within SAVE_DELAY_MS) instead of
     * before catalog_register returns; for a registration its owner makes
     * again after a restart anyway (a cold start's instance, whose held
     * connection should not wait for a disk sync) */
    uint8_t save_later;
};

/* Frees the argv strings of every check (the struct itself is the
 * caller's). Safe on a zeroed def. */
void catalog_def_release(struct catalog_def *d);

/* Registers (or replaces, same inst.id) an instance of ours with its checks
 * and starts the checks (status critical until they pass). Validates every
 * field (-EINVAL with a message naming it), refuses exec checks unless the
 * agent enables them (-EPERM), and returns once the registration is
 * durable and queued for gossip. The def is copied. */
int catalog_register(struct agent *a, const struct catalog_def *d, enum catalog_source src,
                     struct err *e);

/* Removes an instance of ours and its checks (tombstones, gossiped).
 * -ENOENT when no instance of ours has that id. Durable on return. */
int catalog_deregister(struct agent *a, const char *id, struct err *e);

/* Called when a check of one of our instances changes status (after the
 * change is gossiped), e.g. so that the supervisor restarts an instance
 * whose liveness check went critical. from == to never happens. */
typedef void (*catalog_check_fn)(void *ud, const char *instance_id, const char *check_id,
                                 uint8_t from, uint8_t to);

#define CATALOG_HOOKS_MAX 8

/* Adds a hook (at most CATALOG_HOOKS_MAX); -ENOSPC when full. Hooks run on
 * the agent's loop and must not block; they may call catalog_* functions. */
int catalog_on_check_change(struct agent *a, catalog_check_fn fn, void *ud);

#endif
