/* metrics: Prometheus text helpers, the latency histogram, and the
 * process's own metrics (see metrics.h). Reads /proc for the process; owns
 * no subsystem's numbers. */
#include "agent/metrics.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LAG_INTERVAL_MS 500

static const double bounds[METRICS_HIST_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60,
};

void metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    metrics_head(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

void metrics_hist_observe(struct metrics_hist *h, double seconds)
{
    int i = 0;

    if (seconds < 0)
        seconds = 0;
    while (i < METRICS_HIST_BUCKETS && seconds > bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += seconds;
}

double metrics_hist_quantile(const struct metrics_hist *h, double q)
{
    double want = q * (double)h->count, cum = 0, lo = 0;

    if (!h->count)
        return 0;
    for (int i = 0; i < METRICS_HIST_BUCKETS; i++) {
        double n = (double)h->bucket[i];
        if (n > 0 && cum + n >= want)
            return lo + (bounds[i] - lo) * ((want - cum) / n);
        cum += n;
        lo = bounds[i];
    }
    return bounds[METRICS_HIST_BUCKETS - 1];
}

void metrics_hist_add(struct metrics_hist *a, const struct metrics_hist *b)
{
    for (int i = 0; i <= METRICS_HIST_BUCKETS; i++)
        a->bucket[i] += b->bucket[i];
    a->count += b->count;
    a->sum += b->sum;
}

void metrics_hist_write(FILE *f, const char *name, const char *labels, const struct metrics_hist *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;

    for (int i = 0; i < METRICS_HIST_BUCKETS; i++) {
        cum += h->bucket[i];
        fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                (unsigned long long)cum);
    }
    fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
            (unsigned long long)h->count);
    if (labels[0]) {
        fprintf(f, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, h->sum, name, labels,
                (unsigned long long)h->count);
    } else {
        fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
                (unsigned long long)h->count);
    }
}

uint64_t metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the loop's lag ---- */

static void lag_cb(uv_timer_t *t)
{
    struct metrics_lag *l = t->data;
    uint64_t now = metrics_now_ns();

    metrics_hist_observe(&l->hist, now > l->due_ns ? (double)(now - l->due_ns) / 1e9 : 0);
    l->due_ns = now + (uint64_t)LAG_INTERVAL_MS * 1000000u;
}

void metrics_lag_start(struct metrics_lag *l, uv_loop_t *loop)
{
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->due_ns = metrics_now_ns() + (uint64_t)LAG_INTERVAL_MS * 1000000u;
    uv_timer_start(&l->timer, lag_cb, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
    uv_unref((uv_handle_t *)&l->timer);
}

void metrics_lag_close(struct metrics_lag *l)
{
    if (l->timer.loop && !uv_is_closing((uv_handle_t *)&l->timer))
        uv_close((uv_handle_t *)&l->timer, NULL);
}

/* ---- the process ---- */

static uint64_t rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    uint64_t n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
}

void metrics_process_write(FILE *f, const struct metrics_lag *l)
{
    struct rusage ru;
    struct rlimit rl;
    double cpu = 0;

    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    metrics_head(f, "troupe_process_cpu_seconds_total", "counter",
                 "User and system CPU time of the agent, in seconds.");
    fprintf(f, "troupe_process_cpu_seconds_total %.6f\n", cpu);
    metrics_one(f, "troupe_process_resident_memory_bytes", "gauge",
                "Resident memory of the agent, in bytes.", rss_bytes());
    metrics_one(f, "troupe_process_open_fds", "gauge", "File descriptors the agent holds open.",
                open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_one(f, "troupe_process_max_fds", "gauge",
                    "The agent's limit of open file descriptors.",
                    rl.rlim_cur == RLIM_INFINITY ? 0 : (uint64_t)rl.rlim_cur);
    if (l) {
        metrics_head(f, "troupe_process_event_loop_lag_seconds", "histogram",
                     "How late the event loop ran a timer due every 500 ms, in seconds.");
        metrics_hist_write(f, "troupe_process_event_loop_lag_seconds", "", &l->hist);
    }
}
