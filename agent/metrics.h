/* metrics: the pieces every subsystem's /metrics lines are made of (a
 * family's HELP and TYPE lines, a latency histogram with fixed buckets),
 * and the process's own metrics: RSS, open files, CPU seconds and the
 * event loop's lag. Each subsystem writes its own lines
 * (*_write_metrics(FILE *)) from its own folder; api.c's get_metrics calls
 * them in turn. Names: troupe_<subsystem>_<what>_<unit>, _total for
 * counters (docs/metrics.md). */
#ifndef TROUPE_METRICS_H
#define TROUPE_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

/* Upper bounds in seconds, 100 us .. 60 s; +Inf is implicit. */
#define METRICS_HIST_BUCKETS 18

/* A latency histogram: per-bucket counts (not cumulative), sum in seconds. */
struct metrics_hist {
    uint64_t bucket[METRICS_HIST_BUCKETS + 1]; /* the last one: above every bound */
    uint64_t count;
    double sum;
};

/* "# HELP name help" and "# TYPE name type". */
void metrics_head(FILE *f, const char *name, const char *type, const char *help);
/* A whole family of one unlabelled sample. */
void metrics_one(FILE *f, const char *name, const char *type, const char *help, uint64_t v);

void metrics_hist_observe(struct metrics_hist *h, double seconds);
/* The _bucket, _sum and _count lines of h; labels is "" or `k="v",...`
 * without braces. The family's head is the caller's. */
void metrics_hist_write(FILE *f, const char *name, const char *labels,
                        const struct metrics_hist *h);

/* The q-quantile (0..1) of h in seconds, interpolated within its bucket
 * (above the last bound: the last bound); 0 when h is empty. */
double metrics_hist_quantile(const struct metrics_hist *h, double q);
/* Adds the counts of b to a. */
void metrics_hist_add(struct metrics_hist *a, const struct metrics_hist *b);

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
uint64_t metrics_now_ns(void);

/* The event loop's lag: a timer that expects to fire every interval and
 * observes how late it did. Embedded in struct agent; the timer does not
 * keep the loop alive. */
struct metrics_lag {
    uv_timer_t timer;
    uint64_t due_ns;
    struct metrics_hist hist;
};
void metrics_lag_start(struct metrics_lag *l, uv_loop_t *loop);
void metrics_lag_close(struct metrics_lag *l);

/* troupe_process_*: resident memory, open files, CPU seconds, start time,
 * and the loop's lag. */
void metrics_process_write(FILE *f, const struct metrics_lag *l);

#endif
