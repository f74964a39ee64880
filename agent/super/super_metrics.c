/* super_metrics: the supervisor's /metrics lines (troupe_supervisor_*):
 * instances by state, starts, restarts, exits by reason, kills after the
 * grace, start-limit failures. Counted here from the notes of core/sup;
 * the bundles' fetches and refusals are trust/bundle.c's. */
#include <stdio.h>

#include "agent/metrics.h"
#include "agent/super/super_impl.h"

enum { EXIT_SUCCESS_, EXIT_FAILURE_, EXIT_SIGNAL_, EXIT_UNKNOWN_ };

void super_metrics_note(struct super *s, const struct sup_out *out, const struct sup_exit *last)
{
    if (out->notes & SUP_NOTE_EXITED) {
        int why = last->signal      ? EXIT_SIGNAL_
                  : last->code == 0 ? EXIT_SUCCESS_
                  : last->code > 0  ? EXIT_FAILURE_
                                    : EXIT_UNKNOWN_;
        s->stats.exits[why]++;
    }
    if (out->notes & SUP_NOTE_KILLED)
        s->stats.kills++;
    if (out->notes & SUP_NOTE_GAVE_UP)
        s->stats.gave_up++;
}

void super_write_metrics(const struct super *s, FILE *f)
{
    static const char *const states[] = {"down",   "running", "stopping", "backoff",
                                         "exited", "failed",  "fetching"};
    static const char *const reasons[] = {"success", "failure", "signal", "unknown"};
    enum { N_STATES = sizeof(states) / sizeof(states[0]) };
    size_t by[N_STATES] = {0};

    for (size_t i = 0; i < s->n_svc; i++) {
        const struct svc *v = s->svc[i];
        for (uint32_t j = 0; j < v->n_inst; j++)
            if (v->inst[j] && v->inst[j]->sm.state < N_STATES)
                by[v->inst[j]->sm.state]++;
    }
    metrics_one(f, "troupe_supervisor_services", "gauge", "Services the supervisor holds.",
                s->n_svc);
    metrics_head(f, "troupe_supervisor_instances", "gauge",
                 "Instances of the supervised services, by state.");
    for (int i = 0; i < N_STATES; i++)
        fprintf(f, "troupe_supervisor_instances{state=\"%s\"} %zu\n", states[i], by[i]);
    metrics_one(f, "troupe_supervisor_starts_total", "counter",
                "Processes started (first starts and restarts).", s->stats.starts);
    metrics_one(f, "troupe_supervisor_restarts_total", "counter",
                "Processes started again after an exit or a liveness failure.", s->stats.restarts);
    metrics_one(f, "troupe_supervisor_spawn_failures_total", "counter",
                "Starts that failed before the process ran (user, ports, secrets, exec).",
                s->stats.spawn_failures);
    metrics_head(f, "troupe_supervisor_exits_total", "counter",
                 "Process exits, by reason: exit code 0, another code, a signal, unknown "
                 "(an adopted process).");
    for (int i = 0; i < 4; i++)
        fprintf(f, "troupe_supervisor_exits_total{reason=\"%s\"} %llu\n", reasons[i],
                (unsigned long long)s->stats.exits[i]);
    metrics_one(f, "troupe_supervisor_kills_total", "counter",
                "Processes killed with SIGKILL after the stop grace ran out.", s->stats.kills);
    metrics_one(f, "troupe_supervisor_start_limit_failures_total", "counter",
                "Instances failed: too many starts within the start interval.", s->stats.gave_up);
}
