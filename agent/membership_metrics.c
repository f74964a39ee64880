/* membership_metrics: /metrics lines of the gossip membership
 * (troupe_membership_*), read from core/swim's counters and table. The
 * transport's own counters (datagrams, streams, refusals) are net's. */
#include <stdio.h>

#include "agent/agent_impl.h"
#include "agent/metrics.h"

/* One line per direction and message kind of a counter indexed by kind.
 * Kinds swim never handles (index 0, MSG_REPL on its own streams) are left
 * out; every other kind is written, zero included, so that a rate over it
 * exists from the first scrape. */
static void write_kinds(FILE *f, const char *name, const uint64_t *in, const uint64_t *out)
{
    for (int d = 0; d < 2; d++)
        for (unsigned k = MSG_PING; k <= MSG_USER; k++)
            fprintf(f, "%s{dir=\"%s\",kind=\"%s\"} %llu\n", name, d ? "out" : "in",
                    swim_msg_kind_name(k), (unsigned long long)(d ? out[k] : in[k]));
}

void membership_write_metrics(struct agent *a, FILE *f)
{
    const struct swim_stats *s = swim_stats(a->swim);
    static const char *const states[] = {"alive", "suspect", "dead", "left"};
    size_t user, queued = swim_broadcasts_queued(a->swim, &user);

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
    metrics_one(f, "troupe_membership_acks_late_total", "counter",
                "Acks of this agent's probes that came after the probe timeout.", s->acks_late);
    metrics_one(f, "troupe_membership_suspicions_total", "counter",
                "Members that became suspect in this agent's table, from its probes or gossip.",
                s->suspicions);
    metrics_one(f, "troupe_membership_suspicions_raised_total", "counter",
                "Alive members this agent suspected after its own probe failed.",
                s->suspicions_raised);
    metrics_one(f, "troupe_membership_suspicions_refuted_total", "counter",
                "Members this agent held suspect that refuted it (alive again, newer incarnation).",
                s->suspicions_refuted);
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
    metrics_head(f, "troupe_membership_messages_total", "counter",
                 "Gossip messages decoded in and sent out, by direction and kind; a compound "
                 "packet's parts count under their own kinds, kind compound counts the envelopes.");
    write_kinds(f, "troupe_membership_messages_total", s->msgs_in, s->msgs_out);
    metrics_head(f, "troupe_membership_message_bytes_total", "counter",
                 "Bytes of gossip messages, by direction and kind; kind compound counts the "
                 "framing of compound packets.");
    write_kinds(f, "troupe_membership_message_bytes_total", s->msg_bytes_in, s->msg_bytes_out);
    metrics_one(f, "troupe_membership_decode_errors_total", "counter",
                "Malformed gossip messages dropped.", s->decode_errors);
    metrics_head(f, "troupe_membership_broadcasts_queued", "gauge",
                 "Broadcasts waiting to be gossiped, by kind (membership news, user payloads).");
    fprintf(f,
            "troupe_membership_broadcasts_queued{kind=\"membership\"} %zu\n"
            "troupe_membership_broadcasts_queued{kind=\"user\"} %zu\n",
            queued - user, user);
    metrics_one(f, "troupe_membership_broadcasts_dropped_total", "counter",
                "Broadcasts dropped: the queue was full.", s->broadcasts_dropped);
    metrics_one(f, "troupe_membership_pushpulls_total", "counter",
                "Push-pull exchanges of the whole member table.", s->pushpulls);
}
