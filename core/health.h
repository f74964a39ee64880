/* health: the state machine of one health check, pure. It turns probe
 * results (from the driver's http, tcp, exec probes, or a TTL report) into
 * a status with hysteresis: successes_before_passing results in a row to
 * pass, failures_before_critical in a row to go critical. A check starts
 * critical. It says when the status must be gossiped (at once, on a change)
 * and when only the output changed (at most once a minute), when a TTL ran
 * out, and when an instance critical for too long must be deregistered.
 * Running the probes is the driver's (agent/). */
#ifndef TROUPE_HEALTH_H
#define TROUPE_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/cat.h"
#include "core/err.h"

#define HEALTH_OUTPUT_EVERY_MS (60u * 1000u)

enum health_type { HEALTH_HTTP = 1, HEALTH_TCP, HEALTH_EXEC, HEALTH_TTL };

struct health_cfg {
    uint8_t type;                          /* enum health_type */
    uint32_t interval_ms;                  /* 10000; ttl checks: unused */
    uint32_t timeout_ms;                   /* 2000, below interval */
    uint32_t ttl_ms;                       /* ttl checks: no report within it -> critical */
    uint32_t successes_before_passing;     /* 1 */
    uint32_t failures_before_critical;     /* 1 */
    uint64_t deregister_critical_after_ms; /* 0: never */
};

void health_cfg_default(struct health_cfg *c, uint8_t type);
/* 0, or -EINVAL with a message naming the field. */
int health_cfg_check(const struct health_cfg *c, struct err *e);

struct health {
    uint8_t status; /* enum cat_status; starts CAT_CRITICAL */
    uint32_t ok_run, fail_run;
    uint64_t critical_since_ms;
    uint64_t output_sent_ms; /* when the output was last due for gossip */
    uint64_t ttl_deadline_ms;
    uint8_t output_dirty; /* output changed since it was last gossiped */
    uint16_t output_len;
    char output[CAT_OUTPUT_MAX + 1]; /* capped, NUL-terminated */
};

enum health_verdict {
    HEALTH_SAME = 0,       /* nothing to gossip */
    HEALTH_CHANGED = 1,    /* the status changed: gossip now */
    HEALTH_OUTPUT = 2,     /* only the output changed, and it is due */
    HEALTH_DEREGISTER = 3, /* critical longer than deregister_critical_after */
};

void health_init(struct health *h, const struct health_cfg *c, uint64_t now_ms);

/* One result (CAT_PASSING, CAT_WARNING, CAT_CRITICAL) with its output,
 * which is capped at CAT_OUTPUT_MAX bytes. Returns a verdict. */
int health_result(struct health *h, const struct health_cfg *c, uint64_t now_ms, uint8_t result,
                  const char *output, size_t len);

/* Timers: TTL expiry, output due, deregistration. Returns a verdict and,
 * in *next_ms, the next time it needs to run (UINT64_MAX: none). */
int health_tick(struct health *h, const struct health_cfg *c, uint64_t now_ms, uint64_t *next_ms);

/* Result mappings of the probes. */
uint8_t health_from_http(int status_code); /* 2xx passing, 429 warning, else critical */
uint8_t health_from_exit(int exit_code);   /* 0 passing, 1 warning, else critical */

#endif
