/* sim_report: writes the result of a swim scenario, as text for people or
 * as one JSON object for scripts. Everything printed is a function of the
 * scenario and its seed (the wall-clock time is main's, on stderr). */
#include <inttypes.h>

#include "sim/sim_swim.h"

static void text_ms(FILE *f, uint64_t ms)
{
    if (ms == UINT64_MAX)
        fprintf(f, "never");
    else
        fprintf(f, "%" PRIu64 ".%03" PRIu64 " s", ms / 1000, ms % 1000);
}

static void text_dist(FILE *f, const char *what, const struct sim_dist *d)
{
    fprintf(f, "%-22s", what);
    if (d->n == 0) {
        fprintf(f, "none\n");
        return;
    }
    if (d->n > d->never) {
        fprintf(f, "p50 ");
        text_ms(f, d->p50);
        fprintf(f, ", p90 ");
        text_ms(f, d->p90);
        fprintf(f, ", p99 ");
        text_ms(f, d->p99);
        fprintf(f, ", max ");
        text_ms(f, d->max);
        fprintf(f, " (%zu", d->n - d->never);
    } else {
        fprintf(f, "(0");
    }
    fprintf(f, " of %zu", d->n);
    if (d->never)
        fprintf(f, "; %zu never", d->never);
    fprintf(f, ")\n");
}

static void json_ms(FILE *f, uint64_t ms)
{
    if (ms == UINT64_MAX)
        fprintf(f, "null");
    else
        fprintf(f, "%" PRIu64, ms);
}

static void json_dist(FILE *f, const char *what, const struct sim_dist *d)
{
    fprintf(f, "\"%s\":{\"n\":%zu,\"never\":%zu", what, d->n, d->never);
    if (d->n > d->never)
        fprintf(f,
                ",\"p50_ms\":%" PRIu64 ",\"p90_ms\":%" PRIu64 ",\"p99_ms\":%" PRIu64
                ",\"max_ms\":%" PRIu64,
                d->p50, d->p90, d->p99, d->max);
    fprintf(f, "},");
}

static const char *profile_name(enum swim_profile p)
{
    return p == SWIM_PROFILE_FAST ? "fast" : "lan";
}

static void json_repl(FILE *f, const struct sim_repl_result *c)
{
    fprintf(f,
            "\"services\":{\"per_node\":%u,\"instances\":%" PRIu64 ",\"held_by_all\":{\"n\":%zu,"
            "\"never\":%zu",
            c->services, c->instances, c->held_n + c->never, c->never);
    if (c->held_n)
        fprintf(f,
                ",\"p50_ms\":%" PRIu64 ",\"p90_ms\":%" PRIu64 ",\"p99_ms\":%" PRIu64
                ",\"max_ms\":%" PRIu64,
                c->p50, c->p90, c->p99, c->max);
    fprintf(f, "}");
    if (c->held_n)
        fprintf(f,
                ",\"held_by_all_since_join\":{\"p50_ms\":%" PRIu64 ",\"p90_ms\":%" PRIu64
                ",\"p99_ms\":%" PRIu64 ",\"max_ms\":%" PRIu64 "}",
                c->j50, c->j90, c->j99, c->jmax);
    fprintf(f, ",\"all_held_ms\":");
    json_ms(f, c->all_held_ms);
    fprintf(f,
            ",\"bytes_per_node_s\":%.1f,\"steady_bytes_per_node_s\":%.1f,"
            "\"sync_bytes_per_node_s\":%.1f,\"syncs\":%" PRIu64 ",\"sync_records\":%" PRIu64
            ",\"broadcasts_out\":%" PRIu64 ",\"notices\":%" PRIu64 ",\"dropped\":%" PRIu64
            ",\"stale\":%" PRIu64 ",\"payloads_out\":%" PRIu64 ",\"syncs_equal\":%" PRIu64
            ",\"syncs_fast\":%" PRIu64 ",\"sync_timeouts\":%" PRIu64 "},",
            c->bytes_per_node_s, c->steady_bytes_per_node_s, c->sync_bytes_per_node_s, c->syncs,
            c->sync_records, c->broadcasts_out, c->notices, c->dropped, c->stale, c->payloads_out,
            c->syncs_equal, c->syncs_fast, c->sync_timeouts);
}

static void text_repl(FILE *f, const struct sim_repl_result *c)
{
    struct sim_dist d = {c->held_n + c->never, c->never, c->p50, c->p90, c->p99, c->max};

    fprintf(f, "services              %u per node, %" PRIu64 " instances\n", c->services,
            c->instances);
    text_dist(f, "instance held by all", &d);
    if (c->held_n) {
        struct sim_dist jd = {c->held_n, 0, c->j50, c->j90, c->j99, c->jmax};
        text_dist(f, "held after its join", &jd);
    }
    fprintf(f, "all held by all       ");
    text_ms(f, c->all_held_ms);
    fprintf(f,
            "\ncatalog traffic       %.0f bytes/s per node in all (%.0f after all held), "
            "%.0f bytes/s of syncs\n",
            c->bytes_per_node_s, c->steady_bytes_per_node_s, c->sync_bytes_per_node_s);
    fprintf(f,
            "catalog counters      %" PRIu64 " syncs (%" PRIu64 " fast, %" PRIu64 " equal, %" PRIu64
            " given up), %" PRIu64 " records by sync, %" PRIu64 " broadcasts in %" PRIu64
            " payloads, %" PRIu64 " stale copies, %" PRIu64 " dropped\n",
            c->syncs, c->syncs_fast, c->syncs_equal, c->sync_timeouts, c->sync_records,
            c->broadcasts_out, c->payloads_out, c->stale, c->dropped);
}

static void json_churn(FILE *f, const struct sim_churn_result *c)
{
    fprintf(f,
            "\"churn\":{\"per_node_min\":%u,\"ops\":%" PRIu64 ",\"writes\":%" PRIu64
            ",\"deletes\":%" PRIu64 ",\"kv_writes\":%" PRIu64 ",\"kv_deletes\":%" PRIu64
            ",\"faults\":{\"partitions\":%" PRIu64 ",\"freezes\":%" PRIu64 ",\"restarts\":%" PRIu64
            "},\"gc_collected\":%" PRIu64 ",\"census_sent\":%" PRIu64 ",\"census_bytes\":%" PRIu64
            ",\"census_dropped\":%" PRIu64
            ",\"nodes_checked\":%u,\"unseen_pairs\":%u,\"diverged\":%u,\"resurrected\":%" PRIu64
            ",\"lost\":%" PRIu64 ",\"healed_ms\":",
            c->per_min, c->ops, c->writes, c->deletes, c->kv_writes, c->kv_deletes, c->partitions,
            c->freezes, c->restarts, c->gc_collected, c->census_sent, c->census_bytes,
            c->census_dropped, c->nodes_checked, c->unseen_pairs, c->diverged, c->resurrected,
            c->lost);
    json_ms(f, c->healed_ms);
    fprintf(f, ",\"agree_after_heal_ms\":");
    json_ms(f, c->agree_ms == UINT64_MAX ? UINT64_MAX : c->agree_ms - c->healed_ms);
    fprintf(f, "},");
}

static void text_churn(FILE *f, const struct sim_churn_result *c)
{
    fprintf(f,
            "churn                 %u ops per node a minute: %" PRIu64 " done (%" PRIu64
            " writes, %" PRIu64 " deletes, KV %" PRIu64 " writes, %" PRIu64 " deletes)\n",
            c->per_min, c->ops, c->writes, c->deletes, c->kv_writes, c->kv_deletes);
    fprintf(f,
            "faults                %" PRIu64 " partitions, %" PRIu64 " freezes, %" PRIu64
            " restarts from a snapshot; last over at ",
            c->partitions, c->freezes, c->restarts);
    text_ms(f, c->healed_ms);
    fprintf(f,
            "\ntombstones            %" PRIu64 " collected; %" PRIu64 " censuses (%" PRIu64
            " bytes) dropped %" PRIu64 " records\n",
            c->gc_collected, c->census_sent, c->census_bytes, c->census_dropped);
    fprintf(
        f,
        "at the end            %u nodes checked (%u pairs not seen alive), %u diverged, %" PRIu64
        " resurrected, %" PRIu64 " lost; all agreed ",
        c->nodes_checked, c->unseen_pairs, c->diverged, c->resurrected, c->lost);
    text_ms(f, c->agree_ms == UINT64_MAX ? UINT64_MAX : c->agree_ms - c->healed_ms);
    fprintf(f, " after the last fault\n");
}

static void print_json(FILE *f, const struct sim_scenario *sc, const struct sim_result *r)
{
    fprintf(f,
            "{\"nodes\":%u,\"late_joiners\":%u,\"kills\":%zu,\"partitions\":%zu,"
            "\"seconds\":%.3f,\"profile\":\"%s\",\"seed\":%" PRIu64 ","
            "\"latency_ms\":[%u,%u],\"jitter_ms\":%u,\"loss\":%g,",
            sc->nodes, sim_scenario_total(sc) - sc->nodes, r->death.n, sc->n_part,
            (double)sc->duration_ms / 1000.0, profile_name(sc->profile), sc->seed,
            sc->net.latency_min_ms, sc->net.latency_max_ms, sc->net.jitter_ms, sc->net.loss);
    if (sc->services)
        json_repl(f, &r->repl);
    if (sc->churn)
        json_churn(f, &r->churn);
    if (sc->place_slots)
        sim_place_print(f, &r->place, sc->nodes, 1);
    fprintf(f, "\"formed_ms\":");
    json_ms(f, r->formed_ms);
    fprintf(f, ",\"whole_since_ms\":");
    json_ms(f, r->whole_ms);
    fprintf(f, ",\"missing_pairs\":%" PRIu64 ",", r->missing_pairs);
    json_dist(f, "join_seen_by_all", &r->join);
    json_dist(f, "late_join_seen_by_all", &r->join_late);
    json_dist(f, "death_seen_by_all", &r->death);
    if (sc->n_restart || sc->n_leave)
        json_dist(f, "rejoin_seen_by_all", &r->rejoin);
    fprintf(f,
            "\"false_suspicions\":%" PRIu64 ",\"false_deaths\":%" PRIu64
            ",\"partition_suspicions\":%" PRIu64 ",\"partition_deaths\":%" PRIu64
            ",\"refutes\":%" PRIu64 ",\"broadcasts_dropped\":%" PRIu64 ",",
            r->false_suspicions, r->false_deaths, r->partition_suspicions, r->partition_deaths,
            r->refutes, r->broadcasts_dropped);
    fprintf(f,
            "\"packets_per_node_s\":%.2f,\"packets_per_node_s_max\":%.2f,"
            "\"bytes_per_node_s\":%.1f,\"bytes_per_node_s_max\":%.1f,"
            "\"streams_per_node_s\":%.3f,",
            r->pkts_per_node_s, r->pkts_per_node_s_max, r->bytes_per_node_s,
            r->bytes_per_node_s_max, r->streams_per_node_s);
    fprintf(f,
            "\"datagrams_lost\":%" PRIu64 ",\"datagrams_unreachable\":%" PRIu64
            ",\"streams_failed\":%" PRIu64 ",\"events\":%" PRIu64 ",\"trace\":\"%016" PRIx64
            "\"}\n",
            r->dgrams_lost, r->dgrams_unreachable, r->streams_failed, r->events, r->trace);
}

void sim_swim_print(FILE *f, const struct sim_scenario *sc, const struct sim_result *r, int json)
{
    uint32_t late = sim_scenario_total(sc) - sc->nodes;

    if (json) {
        print_json(f, sc, r);
        return;
    }
    fprintf(f, "scenario              %u nodes", sc->nodes);
    if (late)
        fprintf(f, " + %u late", late);
    fprintf(f, ", %s profile, ", profile_name(sc->profile));
    text_ms(f, sc->duration_ms);
    fprintf(f, " simulated, seed %" PRIu64 "\n", sc->seed);
    fprintf(f, "network               latency %u-%u ms per link, jitter %u ms, loss %.1f%%",
            sc->net.latency_min_ms, sc->net.latency_max_ms, sc->net.jitter_ms,
            sc->net.loss * 100.0);
    if (sc->n_part)
        fprintf(f, ", %zu partition%s", sc->n_part, sc->n_part > 1 ? "s" : "");
    fprintf(f, "\nformed                ");
    text_ms(f, r->formed_ms);
    fprintf(f, "\nwhole since           ");
    text_ms(f, r->whole_ms);
    if (r->missing_pairs)
        fprintf(f, " (%" PRIu64 " pairs do not see each other at the end)", r->missing_pairs);
    fprintf(f, "\n");
    text_dist(f, "join seen by all", &r->join);
    if (late)
        text_dist(f, "late join seen by all", &r->join_late);
    text_dist(f, "death seen by all", &r->death);
    if (sc->n_restart || sc->n_leave)
        text_dist(f, "restart back in all", &r->rejoin);
    fprintf(f, "false suspicions      %" PRIu64, r->false_suspicions);
    if (sc->n_part)
        fprintf(f, " (and %" PRIu64 " across partitions)", r->partition_suspicions);
    fprintf(f, "\nfalse deaths          %" PRIu64, r->false_deaths);
    if (sc->n_part)
        fprintf(f, " (and %" PRIu64 " across partitions)", r->partition_deaths);
    fprintf(f, "\nrefutes               %" PRIu64 "\n", r->refutes);
    fprintf(f,
            "traffic per node      %.1f packets/s (max %.1f), %.0f bytes/s (max %.0f), "
            "%.3f streams/s\n",
            r->pkts_per_node_s, r->pkts_per_node_s_max, r->bytes_per_node_s,
            r->bytes_per_node_s_max, r->streams_per_node_s);
    fprintf(f,
            "network drops         %" PRIu64 " lost, %" PRIu64 " unreachable, %" PRIu64
            " streams failed\n",
            r->dgrams_lost, r->dgrams_unreachable, r->streams_failed);
    fprintf(f, "broadcasts dropped    %" PRIu64 "\n", r->broadcasts_dropped);
    fprintf(f, "events                %" PRIu64 "\n", r->events);
    if (sc->services)
        text_repl(f, &r->repl);
    if (sc->churn)
        text_churn(f, &r->churn);
    if (sc->place_slots)
        sim_place_print(f, &r->place, sc->nodes, 0);
    fprintf(f, "trace                 %016" PRIx64 "\n", r->trace);
}
