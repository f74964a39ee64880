/* autoscale: how many instances a service wants, from the load the
 * cluster's proxies report. Every agent sums the same replicated load
 * records and runs the same function, so no leader decides.
 *
 *   desired = ceil(observed / (target x utilization))
 *
 * over two windows, as Knative's autoscaler: the stable window (60 s) is
 * the usual answer; the panic window (6 s) takes over when its load needs
 * twice the instances running, scales up at once and never down until the
 * load stayed below that for a stable window. Going down is delayed as
 * Kubernetes' HPA does: the answer is the highest recommendation of the
 * last scale_down_delay_ms (5 min), then at most a 1/scale_down_rate part
 * of the count goes in one decision. min and max are always held. A
 * service without a request for idle_after_ms goes down to min at once
 * (scale to zero: no delay keeps what nothing uses).
 *
 * Also owns the load record a node publishes for a service (CRDT_LOAD):
 * its small binary form and the reader of it, which takes bytes from the
 * network. Not here: the spec's fields (core/place_spec), publishing and
 * summing (agent/place). Pure and deterministic: time is an argument. */
#ifndef TROUPE_AUTOSCALE_H
#define TROUPE_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define AS_COUNT_MAX   64  /* instances of one service (PLACE_COUNT_MAX) */
#define AS_WINDOW_SECS 600 /* one-second buckets: the longest stable window */
#define AS_REASON_MAX  160

enum as_on {
    AS_ON_CONCURRENCY = 0, /* requests in flight through the proxies */
    AS_ON_QUEUE = 1,       /* a backlog the service reports, summed over nodes */
    AS_ON_LATENCY = 2,     /* a latency the service reports (ms), averaged over nodes */
};

/* A spec's "scale" object (defaults in docs/scaling.md). */
struct as_cfg {
    uint32_t min, max;                 /* 0..AS_COUNT_MAX, min <= max */
    uint32_t target_concurrency;       /* 10: requests in flight one instance should hold */
    uint32_t utilization_permille;     /* 700: aim at 70% of the target */
    uint8_t on;                        /* enum as_on */
    uint32_t target;                   /* on queue/latency: per-instance backlog, or ms */
    uint32_t stable_window_ms;         /* 60000 */
    uint32_t panic_window_ms;          /* 6000 */
    uint32_t scale_down_delay_ms;      /* 300000 */
    uint32_t scale_down_rate_permille; /* 2000: at most halve in one decision */
    uint32_t idle_after_ms; /* 0: never; else no request for this long: down to min at once
                               (the spec's scale.idle_after_ms, scale to zero) */
};

/* The defaults, min 0 and max AS_COUNT_MAX. */
void as_cfg_default(struct as_cfg *c);
/* Checks what only the fields together say (min <= max, the panic window
 * inside the stable one). 0 or -EINVAL naming the field. */
int as_cfg_check(const struct as_cfg *c, struct err *e);
const char *as_on_name(uint8_t on); /* "concurrency", "queue", "latency" */
int as_on_parse(const char *s);     /* enum as_on, or -1 */

/* One second of observed load: the sum of what was fed in it. */
struct as_bucket {
    uint64_t sec; /* now_ms / 1000 of the samples; 0: empty */
    double sum;
    uint32_t n;
};

/* A recommendation kept for the scale-down delay. Recommendations are
 * counts 0..AS_COUNT_MAX, so the deque of decreasing maxima holds at most
 * AS_COUNT_MAX + 1 of them. */
struct as_rec {
    uint64_t t_ms;
    uint32_t count;
};

/* The autoscaler of one service: embedded (as_init, no heap). */
struct as_state {
    uint32_t desired; /* the last answer: the count placement runs */
    int panicking;
    uint64_t panic_ms;  /* when the panic condition last held */
    uint32_t panic_max; /* the highest count asked while panicking */
    uint64_t busy_ms;   /* the last decision that saw a request (as_note_busy) */
    int busy_seen;      /* busy_ms holds a time */
    struct as_bucket b[AS_WINDOW_SECS];
    struct as_rec recs[AS_COUNT_MAX + 1];
    size_t n_recs;
};

/* What one decision says. */
struct as_decision {
    uint32_t desired;     /* the count to run now */
    uint32_t previous;    /* the count before */
    double stable, panic; /* the load averaged over each window */
    uint32_t want;        /* what the load asks before delay, rate and bounds */
    int panicking;
    char reason[AS_REASON_MAX];
};

/* Starts at `initial` (clamped to min..max). */
void as_init(struct as_state *s, const struct as_cfg *c, uint32_t initial);

/* Feeds the observed load at now_ms (total concurrency, total backlog, or
 * the mean latency) and decides. Call it at a steady pace (every 2 s in
 * the agent); time must not go back. d->desired is s->desired afterwards.
 * Returns 1 when the count changed, 0 when not. */
int as_decide(struct as_state *s, const struct as_cfg *c, uint64_t now_ms, double observed,
              struct as_decision *d);

/* Requests were seen at now_ms even if the load rounds to 0 (a rate):
 * the service is not idle. as_decide notes it itself for a load above 0. */
void as_note_busy(struct as_state *s, uint64_t now_ms);

/* ---- the load record a node publishes for one service (CRDT_LOAD) ---- */

#define AS_LOAD_BYTES_MAX 32

struct as_load {
    uint32_t inflight_milli; /* requests in flight, averaged over the period, x1000 */
    uint32_t rate_milli;     /* requests (http) or connections (tcp) per second, x1000 */
    uint8_t has_metric;      /* the service reported a metric here */
    uint64_t metric_milli;   /* the reported queue length or latency (ms), x1000 */
};

/* Writes l into buf (cap >= AS_LOAD_BYTES_MAX); returns the length. */
size_t as_load_encode(const struct as_load *l, uint8_t *buf, size_t cap);
/* Reads a record's value (bytes from the network): 0, or -EINVAL on a
 * short, long or unknown value. */
int as_load_decode(struct as_load *l, const uint8_t *buf, size_t len, struct err *e);

#endif
