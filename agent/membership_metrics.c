/* membership_metrics: /metrics lines of the gossip membership
 * (troupe_membership_*), read from core/swim's counters and table. The
 * transport's own counters (datagrams, streams, refusals) are net's. */
#include <stdio.h>

#include "agent/agent_impl.h"
#include "agent/metrics.h"

void membership_write_metrics(struct agent *a, FILE *f)
{
    const struct swim_stats *s = swim_stats(a->swim);
    static const char *const states[] = {"alive", "suspect", "dead", "left"};

    metrics_head(f, "troupe_membership_members", "gauge", "Members in the table, by status.");
    for (int i = 0; i < 4; i++)
        fprintf(f, "troupe_membership_members{status=\"%s\"} %zu\n", states[i],
                swim_count_state(a->swim, (enum swim_state)i));
    metrics_one(f, "troupe_membership_awareness_score", "gauge",
                "Local health score, Lifeguard's awareness (0 is healthy, 8 the worst).",
                swim_awareness(a->swim));
    metrics_one(f, "troupe_membership_probes_total", "counter", "Probes sent.", s->probes);
    metrics_one(f, "troupe_membership_probe_failures_total", "counter",
                "Probes whose ack did not come in time.", s->probe_failures);
    metrics_one(f, "troupe_membership_indirect_probes_total", "counter",
                "Indirect probes asked of other members.", s->indirect_probes);
    metrics_one(f, "troupe_membership_tcp_fallbacks_total", "counter",
                "TCP pings sent after a missed ack.", s->tcp_fallbacks);
    metrics_one(f, "troupe_membership_suspicions_total", "counter", "Members this agent suspected.",
                s->suspicions);
    metrics_one(f, "troupe_membership_refutations_total", "counter",
                "Suspicions of this agent that it refuted (false suspicions of it).", s->refutes);
    metrics_one(f, "troupe_membership_stale_suspicions_corrected_total", "counter",
                "Stale suspicions answered with the newer alive.", s->stale_corrected);
    metrics_one(f, "troupe_membership_deaths_total", "counter", "Members declared dead.",
                s->deaths);
    metrics_head(f, "troupe_membership_packets_total", "counter", "Gossip messages, by direction.");
    fprintf(f,
            "troupe_membership_packets_total{dir=\"in\"} %llu\n"
            "troupe_membership_packets_total{dir=\"out\"} %llu\n",
            (unsigned long long)s->packets_in, (unsigned long long)s->packets_out);
    metrics_head(f, "troupe_membership_bytes_total", "counter", "Gossip bytes, by direction.");
    fprintf(f,
            "troupe_membership_bytes_total{dir=\"in\"} %llu\n"
            "troupe_membership_bytes_total{dir=\"out\"} %llu\n",
            (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
    metrics_one(f, "troupe_membership_decode_errors_total", "counter",
                "Malformed gossip messages dropped.", s->decode_errors);
    metrics_one(f, "troupe_membership_broadcasts_dropped_total", "counter",
                "Broadcasts dropped: the queue was full.", s->broadcasts_dropped);
    metrics_one(f, "troupe_membership_pushpulls_total", "counter",
                "Push-pull exchanges of the whole member table.", s->pushpulls);
}
