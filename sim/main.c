/* main: the troupe-sim command. Parses a scenario from flags, runs it
 * (sim_swim over sim_net) and prints the figures. Stdout is a pure function
 * of the flags; the wall-clock time of the run goes to stderr. Exit codes:
 * 0 done, 1 a check of the catalog under churn failed (the figures are
 * printed all the same), 2 usage error. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "sim/sim_swim.h"

#define EXIT_CHECKS 1
#define EXIT_USAGE  2

/* With --churn: 1 when the run broke a promise of the catalog (the
 * figures say which): a node that does not see a running one, records
 * that differ, a delete undone, a write lost, or no agreement by the end. */
static int churn_failed(const struct sim_result *r)
{
    const struct sim_churn_result *c = &r->churn;

    if (!c->per_min)
        return 0;
    return c->unseen_pairs || c->diverged || c->resurrected || c->lost || c->agree_ms == UINT64_MAX;
}

static const char usage[] =
    "Usage: troupe-sim [OPTIONS]\n"
    "Runs troupe's membership protocol for many nodes in one process over a\n"
    "simulated network, and reports how fast joins and deaths spread.\n"
    "\n"
    "  --nodes N              nodes started at time 0 (default 10)\n"
    "  --seconds T            simulated time (default 60; units ms, s, m)\n"
    "  --profile lan|fast     swim timing profile (default lan)\n"
    "  --seed N               seeds every random choice (default 1)\n"
    "  --loss P               datagram loss on every link, 0..1 or N% (default 0)\n"
    "  --latency-ms A-B       one-way latency of a link, drawn per link (default 1-5)\n"
    "  --jitter-ms J          added to each packet: 0..J ms (default 1)\n"
    "  --kill NODES@T         kill nodes at time T (repeatable), e.g. 3@20s, 10-19@30s\n"
    "  --leave NODES@T        nodes leave gracefully at time T and stop (repeatable)\n"
    "  --restart NODES@T      stopped nodes start again at T with their incarnation\n"
    "                         and join as the agent does (repeatable)\n"
    "  --partition G|G..@T1-T2  split the network in groups from T1 to T2, e.g.\n"
    "                         0-39|40-99@30s-90s; unlisted nodes form one more group\n"
    "  --join-late N@T        start N more nodes at time T that join (repeatable)\n"
    "  --seeds K              nodes join through one of the first K (default 3)\n"
    "  --ramp-ms MS           initial joins are spread over MS (default: 1 per node)\n"
    "  --stream-timeout-ms MS a TCP exchange gives up after MS (default 5000)\n"
    "  --services N           each node registers N service instances once joined;\n"
    "                         reports when every node holds them all (default 0)\n"
    "  --churn N              each node writes and deletes N catalog records a minute\n"
    "                         (every kind; KV, specs, routes and tokens shared); at\n"
    "                         the end every node must hold the same, nothing deleted\n"
    "                         back (default 0)\n"
    "  --faults N             with --churn: N partitions, freezes and restarts from an\n"
    "                         old snapshot, drawn from the seed, over by 65%% of the run\n"
    "  --fault-kinds K,...    with --faults: of partition, freeze, restart (default all)\n"
    "  --gc T                 with --churn: tombstone collection period (default 30s)\n"
    "  --gc-rule agent|serving  with --churn: collection waits for every member not\n"
    "                         reaped (agent, default), or only live ones (the old rule)\n"
    "  --reap-after T         forget dead members after T (default: the profile's)\n"
    "  --place SLOTS          cluster specs with SLOTS slots in all (64 per spec):\n"
    "                         every node places over its own view; reports moves\n"
    "                         per join and death, and double-running slot-seconds\n"
    "  --place-update T       with --place: every spec gets a new version at T and\n"
    "                         rolls (core/place_update); reports the most slots of\n"
    "                         one spec down at once and when all settled\n"
    "  --place-parallel N     the rolling update's max_parallel (default 2)\n"
    "  --place-lag T          nodes see the slots' state T late in the rolling update\n"
    "                         (the catalog's gossip delay; default 0)\n"
    "  --progress T           say on stderr how far the run got every T simulated\n"
    "  --json                 one JSON object instead of text\n"
    "  --help                 this text\n"
    "NODES is a list of numbers and ranges: 3 or 0-39 or 1,5,9-12.\n"
    "Times take a unit: 500ms, 20s, 2m (a bare number is seconds).\n";

enum opt {
    O_NODES = 256,
    O_SECONDS,
    O_PROFILE,
    O_SEED,
    O_LOSS,
    O_LATENCY,
    O_JITTER,
    O_KILL,
    O_LEAVE,
    O_RESTART,
    O_PARTITION,
    O_JOIN_LATE,
    O_SEEDS,
    O_SERVICES,
    O_PLACE,
    O_PLACE_UPDATE,
    O_PLACE_PARALLEL,
    O_PLACE_LAG,
    O_RAMP,
    O_STREAM_TIMEOUT,
    O_PROGRESS,
    O_CHURN,
    O_FAULTS,
    O_GC,
    O_GC_RULE,
    O_FAULT_KINDS,
    O_REAP,
    O_JSON,
    O_HELP,
};

static const struct option opts[] = {
    {"nodes", required_argument, NULL, O_NODES},
    {"seconds", required_argument, NULL, O_SECONDS},
    {"profile", required_argument, NULL, O_PROFILE},
    {"seed", required_argument, NULL, O_SEED},
    {"loss", required_argument, NULL, O_LOSS},
    {"latency-ms", required_argument, NULL, O_LATENCY},
    {"jitter-ms", required_argument, NULL, O_JITTER},
    {"kill", required_argument, NULL, O_KILL},
    {"leave", required_argument, NULL, O_LEAVE},
    {"restart", required_argument, NULL, O_RESTART},
    {"partition", required_argument, NULL, O_PARTITION},
    {"join-late", required_argument, NULL, O_JOIN_LATE},
    {"seeds", required_argument, NULL, O_SEEDS},
    {"services", required_argument, NULL, O_SERVICES},
    {"place", required_argument, NULL, O_PLACE},
    {"place-update", required_argument, NULL, O_PLACE_UPDATE},
    {"place-parallel", required_argument, NULL, O_PLACE_PARALLEL},
    {"place-lag", required_argument, NULL, O_PLACE_LAG},
    {"ramp-ms", required_argument, NULL, O_RAMP},
    {"stream-timeout-ms", required_argument, NULL, O_STREAM_TIMEOUT},
    {"progress", required_argument, NULL, O_PROGRESS},
    {"churn", required_argument, NULL, O_CHURN},
    {"faults", required_argument, NULL, O_FAULTS},
    {"gc", required_argument, NULL, O_GC},
    {"gc-rule", required_argument, NULL, O_GC_RULE},
    {"fault-kinds", required_argument, NULL, O_FAULT_KINDS},
    {"reap-after", required_argument, NULL, O_REAP},
    {"json", no_argument, NULL, O_JSON},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* ---- small parsers; each names the flag and the text it refuses ---- */

static int parse_u64(const char *s, uint64_t max, uint64_t *v, const char *flag, struct err *e)
{
    char *end;
    unsigned long long x;

    if (!*s || *s == '-' || *s == '+')
        return err_set(e, -EINVAL, "%s: '%s' is not a number", flag, s);
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end || x > max)
        return err_set(e, -EINVAL, "%s: '%s' is not a number in 0..%llu", flag, s,
                       (unsigned long long)max);
    *v = x;
    return 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *v, const char *flag, struct err *e)
{
    uint64_t x;
    int rc = parse_u64(s, max, &x, flag, e);
    if (rc == 0)
        *v = (uint32_t)x;
    return rc;
}

/* "500ms", "20s", "2m", "1.5s" or "20" (seconds) into milliseconds. */
static int parse_time(const char *s, uint64_t *ms, const char *flag, struct err *e)
{
    char *end;
    double x;
    double unit = 1000;

    errno = 0;
    x = strtod(s, &end);
    if (end == s || errno || !(x >= 0))
        return err_set(e, -EINVAL, "%s: '%s' is not a time (e.g. 500ms, 20s, 2m)", flag, s);
    if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0 || !*end)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else
        return err_set(e, -EINVAL, "%s: '%s' has an unknown unit (ms, s or m)", flag, s);
    if (x * unit > 1e12)
        return err_set(e, -EINVAL, "%s: '%s' is too long", flag, s);
    *ms = (uint64_t)(x * unit + 0.5);
    return 0;
}

/* Splits s at the first `sep` into a heap copy of the part before it (*head)
 * and a pointer to the part after (*tail), or fails naming the flag. */
static int split(const char *s, char sep, char **head, const char **tail, const char *flag,
                 struct err *e)
{
    const char *p = strchr(s, sep);
    if (!p)
        return err_set(e, -EINVAL, "%s: '%s' lacks '%c'", flag, s, sep);
    *head = xstrndup(s, (size_t)(p - s));
    *tail = p + 1;
    return 0;
}

/* Calls each(lo, hi) for every "A" or "A-B" item of a comma list. */
static int parse_ranges(const char *s, uint32_t total, const char *flag, struct err *e,
                        int (*each)(void *ctx, uint32_t lo, uint32_t hi, struct err *e), void *ctx)
{
    char *copy = xstrdup(s), *save = NULL, *item;
    int rc = 0;

    if (!*s)
        rc = err_set(e, -EINVAL, "%s: empty node list", flag);
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(item, '-');
        uint32_t lo = 0, hi = 0;
        if (dash)
            *dash = '\0';
        if ((rc = parse_u32(item, UINT32_MAX, &lo, flag, e)) < 0)
            break;
        hi = lo;
        if (dash && (rc = parse_u32(dash + 1, UINT32_MAX, &hi, flag, e)) < 0)
            break;
        if (hi < lo || hi >= total) {
            rc =
                err_set(e, -EINVAL, "%s: nodes %u-%u are not within 0-%u", flag, lo, hi, total - 1);
            break;
        }
        rc = each(ctx, lo, hi, e);
    }
    free(copy);
    return rc;
}

/* ---- scenario flags, resolved once the node count is known ---- */

/* The flags kept as text until every flag is read, in the order they are
 * resolved. */
enum pending_kind { PD_KILL, PD_LEAVE, PD_RESTART, PD_PARTITION, PD_KINDS };

struct pending {
    char *arg[PD_KINDS][SIM_ACTIONS_MAX];
    size_t n[PD_KINDS];
};

/* --kill, --leave and --restart: NODES@T into the scenario's list */
struct nodes_ctx {
    struct sim_action *list;
    size_t *n;
    const char *flag;
    uint64_t at;
};

static int add_nodes(void *ctx, uint32_t lo, uint32_t hi, struct err *e)
{
    struct nodes_ctx *k = ctx;
    if (*k->n == SIM_ACTIONS_MAX)
        return err_set(e, -EINVAL, "%s: more than %d ranges", k->flag, SIM_ACTIONS_MAX);
    k->list[(*k->n)++] = (struct sim_action){k->at, lo, hi - lo + 1};
    return 0;
}

static int resolve_nodes(struct sim_scenario *sc, const char *s, const char *flag,
                         struct sim_action *list, size_t *n, struct err *e)
{
    struct nodes_ctx k = {list, n, flag, 0};
    const char *t = NULL;
    char *nodes = NULL;
    int rc;

    if ((rc = split(s, '@', &nodes, &t, flag, e)) < 0)
        return rc;
    if ((rc = parse_time(t, &k.at, flag, e)) == 0)
        rc = parse_ranges(nodes, sim_scenario_total(sc), flag, e, add_nodes, &k);
    free(nodes);
    return rc;
}

struct group_ctx {
    uint16_t *group;
    uint16_t id;
};

static int add_group(void *ctx, uint32_t lo, uint32_t hi, struct err *e)
{
    struct group_ctx *g = ctx;
    for (uint32_t i = lo; i <= hi; i++) {
        if (g->group[i])
            return err_set(e, -EINVAL, "--partition: node %u is in two groups", i);
        g->group[i] = g->id;
    }
    return 0;
}

static int resolve_partition(struct sim_scenario *sc, const char *s, struct err *e)
{
    struct sim_partition *p = &sc->part[sc->n_part];
    struct group_ctx g = {NULL, 0};
    const char *t = NULL;
    char *groups = NULL, *save = NULL, *item, *end_s;
    int rc;

    if ((rc = split(s, '@', &groups, &t, "--partition", e)) < 0)
        return rc;
    g.group = xcalloc(sim_scenario_total(sc), sizeof(*g.group));
    p->end_ms = UINT64_MAX;
    end_s = strchr(t, '-');
    if (end_s) {
        char *start_s = xstrndup(t, (size_t)(end_s - t));
        rc = parse_time(start_s, &p->start_ms, "--partition", e);
        free(start_s);
        if (rc == 0)
            rc = parse_time(end_s + 1, &p->end_ms, "--partition", e);
        if (rc == 0 && p->end_ms <= p->start_ms)
            rc = err_set(e, -EINVAL, "--partition: '%s' ends before it starts", t);
    } else {
        rc = parse_time(t, &p->start_ms, "--partition", e);
    }
    if (rc == 0 && !strchr(groups, '|'))
        rc = err_set(e, -EINVAL, "--partition: '%s' has one group; separate groups with '|'",
                     groups);
    for (item = strtok_r(groups, "|", &save); item && rc == 0; item = strtok_r(NULL, "|", &save)) {
        g.id++;
        rc = parse_ranges(item, sim_scenario_total(sc), "--partition", e, add_group, &g);
    }
    free(groups);
    if (rc < 0) {
        free(g.group);
        return rc;
    }
    p->group = g.group;
    sc->n_part++;
    return 0;
}

static int add_join_late(struct sim_scenario *sc, const char *s, struct err *e)
{
    struct sim_action *a = &sc->join_late[sc->n_join_late];
    const char *t = NULL;
    char *count = NULL;
    int rc;

    if (sc->n_join_late == SIM_ACTIONS_MAX)
        return err_set(e, -EINVAL, "--join-late: more than %d", SIM_ACTIONS_MAX);
    if ((rc = split(s, '@', &count, &t, "--join-late", e)) < 0)
        return rc;
    rc = parse_u32(count, 100000, &a->count, "--join-late", e);
    free(count);
    if (rc == 0)
        rc = parse_time(t, &a->at_ms, "--join-late", e);
    if (rc == 0)
        sc->n_join_late++;
    return rc;
}

static int parse_loss(const char *s, double *v, struct err *e)
{
    char *end;
    double x = strtod(s, &end);

    if (end == s)
        return err_set(e, -EINVAL, "--loss: '%s' is not a number", s);
    if (strcmp(end, "%") == 0)
        x /= 100.0;
    else if (*end)
        return err_set(e, -EINVAL, "--loss: '%s' is not a number or a percentage", s);
    if (!(x >= 0 && x < 1))
        return err_set(e, -EINVAL, "--loss: '%s' is outside 0..1 (1 excluded)", s);
    *v = x;
    return 0;
}

static int parse_latency(const char *s, struct sim_net_config *nc, struct err *e)
{
    const char *dash = strchr(s, '-');
    char *lo;
    int rc;

    if (!dash) {
        rc = parse_u32(s, 60000, &nc->latency_min_ms, "--latency-ms", e);
        nc->latency_max_ms = nc->latency_min_ms;
        return rc;
    }
    lo = xstrndup(s, (size_t)(dash - s));
    rc = parse_u32(lo, 60000, &nc->latency_min_ms, "--latency-ms", e);
    free(lo);
    if (rc == 0)
        rc = parse_u32(dash + 1, 60000, &nc->latency_max_ms, "--latency-ms", e);
    if (rc == 0 && nc->latency_max_ms < nc->latency_min_ms)
        rc = err_set(e, -EINVAL, "--latency-ms: '%s' is an empty range", s);
    return rc;
}

/* "partition,freeze,restart" into bits 1 << SIM_FAULT_*. */
static int parse_fault_kinds(const char *s, unsigned *kinds, struct err *e)
{
    static const char *const names[SIM_FAULT_KINDS] = {"partition", "freeze", "restart"};
    char *copy = xstrdup(s), *save = NULL, *item;
    int rc = 0;

    *kinds = 0;
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        unsigned k = 0;
        while (k < SIM_FAULT_KINDS && strcmp(item, names[k]) != 0)
            k++;
        if (k == SIM_FAULT_KINDS)
            rc = err_set(e, -EINVAL, "--fault-kinds: '%s' is not partition, freeze or restart",
                         item);
        else
            *kinds |= 1u << k;
    }
    if (rc == 0 && !*kinds)
        rc = err_set(e, -EINVAL, "--fault-kinds: empty list");
    free(copy);
    return rc;
}

/* ---- the table of flags that set one number of the scenario ---- */

enum num_kind { NUM_U32, NUM_TIME };

struct num_opt {
    int id;
    const char *flag;
    enum num_kind kind;
    uint32_t max;        /* NUM_U32: the largest value taken */
    size_t off;          /* of the field in struct sim_scenario */
    const char *if_zero; /* the complaint when 0 is refused, or NULL */
};

#define SC_FIELD(f) offsetof(struct sim_scenario, f)

static const struct num_opt num_opts[] = {
    {O_NODES, "--nodes", NUM_U32, 1000000, SC_FIELD(nodes), "at least 1"},
    {O_SECONDS, "--seconds", NUM_TIME, 0, SC_FIELD(duration_ms), NULL},
    {O_JITTER, "--jitter-ms", NUM_U32, 60000, SC_FIELD(net.jitter_ms), NULL},
    {O_SERVICES, "--services", NUM_U32, 100, SC_FIELD(services), NULL},
    {O_PLACE, "--place", NUM_U32, 1000000, SC_FIELD(place_slots), "at least 1 slot"},
    {O_PLACE_UPDATE, "--place-update", NUM_TIME, 0, SC_FIELD(place_update_ms), "must be positive"},
    {O_PLACE_PARALLEL, "--place-parallel", NUM_U32, 64, SC_FIELD(place_parallel), "at least 1"},
    {O_PLACE_LAG, "--place-lag", NUM_TIME, 0, SC_FIELD(place_lag_ms), NULL},
    {O_SEEDS, "--seeds", NUM_U32, 1000, SC_FIELD(seeds), "at least 1"},
    {O_STREAM_TIMEOUT, "--stream-timeout-ms", NUM_U32, 600000, SC_FIELD(net.stream_timeout_ms),
     "must be positive"},
    {O_PROGRESS, "--progress", NUM_TIME, 0, SC_FIELD(progress_ms), "must be positive"},
    {O_CHURN, "--churn", NUM_U32, 6000, SC_FIELD(churn), NULL},
    {O_FAULTS, "--faults", NUM_U32, 1000, SC_FIELD(faults), NULL},
    {O_GC, "--gc", NUM_TIME, 0, SC_FIELD(gc_ms), "must be positive"},
    {O_REAP, "--reap-after", NUM_TIME, 0, SC_FIELD(reap_after_ms), "must be positive"},
};

#undef SC_FIELD

static const struct num_opt *num_opt_find(int id)
{
    for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++)
        if (num_opts[i].id == id)
            return &num_opts[i];
    return NULL;
}

static int parse_num_opt(const struct num_opt *o, const char *s, struct sim_scenario *sc,
                         struct err *e)
{
    char *field = (char *)sc + o->off;
    int rc, zero;

    if (o->kind == NUM_U32) {
        uint32_t *v = (uint32_t *)(void *)field;
        rc = parse_u32(s, o->max, v, o->flag, e);
        zero = rc == 0 && *v == 0;
    } else {
        uint64_t *v = (uint64_t *)(void *)field;
        rc = parse_time(s, v, o->flag, e);
        zero = rc == 0 && *v == 0;
    }
    if (zero && o->if_zero)
        rc = err_set(e, -EINVAL, "%s: %s", o->flag, o->if_zero);
    return rc;
}

/* --kill, --leave, --restart and --partition: kept as text for now. */
static int keep_pending(struct pending *pd, enum pending_kind k, const char *s, struct err *e)
{
    if (pd->n[k] == SIM_ACTIONS_MAX)
        return err_set(e, -EINVAL,
                       "at most %d of each of --kill, --leave, --restart and --partition",
                       SIM_ACTIONS_MAX);
    pd->arg[k][pd->n[k]++] = xstrdup(s);
    return 0;
}

static void scenario_defaults(struct sim_scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->nodes = 10;
    sc->duration_ms = 60000;
    sc->profile = SWIM_PROFILE_LAN;
    sc->seed = 1;
    sc->seeds = 3;
    sc->net.latency_min_ms = 1;
    sc->net.latency_max_ms = 5;
    sc->net.jitter_ms = 1;
    sc->net.stream_timeout_ms = 5000;
}

/* s is one of two words: *second says whether it is the second. */
static int pick(const char *s, const char *first, const char *second_word, const char *flag,
                int *second, struct err *e)
{
    if (strcmp(s, first) != 0 && strcmp(s, second_word) != 0)
        return err_set(e, -EINVAL, "%s: '%s' is not %s or %s", flag, s, first, second_word);
    *second = strcmp(s, second_word) == 0;
    return 0;
}

/* One flag that is not in num_opts. */
static int parse_other_opt(int c, struct sim_scenario *sc, struct pending *pd, uint64_t *ramp,
                           int *ramp_set, int *json, char **argv, struct err *e)
{
    int rc, second = 0;

    switch (c) {
    case O_PROFILE:
        if ((rc = pick(optarg, "lan", "fast", "--profile", &second, e)) == 0)
            sc->profile = second ? SWIM_PROFILE_FAST : SWIM_PROFILE_LAN;
        return rc;
    case O_SEED:
        return parse_u64(optarg, UINT64_MAX, &sc->seed, "--seed", e);
    case O_LOSS:
        return parse_loss(optarg, &sc->net.loss, e);
    case O_LATENCY:
        return parse_latency(optarg, &sc->net, e);
    case O_KILL:
        return keep_pending(pd, PD_KILL, optarg, e);
    case O_LEAVE:
        return keep_pending(pd, PD_LEAVE, optarg, e);
    case O_RESTART:
        return keep_pending(pd, PD_RESTART, optarg, e);
    case O_PARTITION:
        return keep_pending(pd, PD_PARTITION, optarg, e);
    case O_JOIN_LATE:
        return add_join_late(sc, optarg, e);
    case O_RAMP:
        *ramp_set = 1;
        return parse_u64(optarg, 3600000, ramp, "--ramp-ms", e);
    case O_GC_RULE:
        if ((rc = pick(optarg, "agent", "serving", "--gc-rule", &second, e)) == 0)
            sc->gc_serving = second;
        return rc;
    case O_FAULT_KINDS:
        return parse_fault_kinds(optarg, &sc->fault_kinds, e);
    case O_JSON:
        *json = 1;
        return 0;
    case O_HELP:
        fputs(usage, stdout);
        exit(0);
    default:
        return err_set(e, -EINVAL, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
}

/* Once every flag is read: numbers the late joiners, then resolves the
 * kept flags against the node count. Frees what pd holds. */
static int resolve_pending(struct sim_scenario *sc, struct pending *pd, int rc, struct err *e)
{
    static const char *const flags[PD_KINDS] = {"--kill", "--leave", "--restart", NULL};
    struct sim_action *lists[PD_KINDS] = {sc->kill, sc->leave, sc->restart, NULL};
    size_t *counts[PD_KINDS] = {&sc->n_kill, &sc->n_leave, &sc->n_restart, NULL};

    if (rc == 0) {
        uint32_t first = sc->nodes;
        for (size_t i = 0; i < sc->n_join_late; i++) {
            sc->join_late[i].first = first;
            first += sc->join_late[i].count;
        }
    }
    for (int k = 0; k < PD_KINDS; k++) {
        for (size_t i = 0; i < pd->n[k]; i++) {
            if (rc == 0 && k == PD_PARTITION)
                rc = resolve_partition(sc, pd->arg[k][i], e);
            else if (rc == 0)
                rc = resolve_nodes(sc, pd->arg[k][i], flags[k], lists[k], counts[k], e);
            free(pd->arg[k][i]);
        }
    }
    return rc;
}

static int parse_args(int argc, char **argv, struct sim_scenario *sc, int *json, struct err *e)
{
    struct pending pd = {0};
    int c, rc = 0, ramp_set = 0;
    uint64_t ramp = 0;

    scenario_defaults(sc);
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const struct num_opt *o = num_opt_find(c);
        if (o)
            rc = parse_num_opt(o, optarg, sc, e);
        else
            rc = parse_other_opt(c, sc, &pd, &ramp, &ramp_set, json, argv, e);
        if (c == O_PROGRESS)
            sc->progress = stderr;
    }
    if (rc == 0 && optind < argc)
        rc = err_set(e, -EINVAL, "unexpected argument '%s' (see --help)", argv[optind]);
    if (rc == 0 && (uint64_t)sim_scenario_total(sc) > 1000000)
        rc = err_set(e, -EINVAL, "more than 1000000 nodes with the late joiners");
    if (rc == 0)
        sc->ramp_ms = ramp_set ? ramp : sc->nodes;
    return resolve_pending(sc, &pd, rc, e);
}

int main(int argc, char **argv)
{
    struct sim_scenario sc;
    struct sim_result r;
    struct err e = {0};
    struct timespec t0, t1;
    int json = 0;
    double wall;

    if (parse_args(argc, argv, &sc, &json, &e) < 0) {
        fprintf(stderr, "troupe-sim: %s\n", e.msg);
        sim_scenario_release(&sc);
        return EXIT_USAGE;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sim_swim_run(&sc, &r, &e) < 0) {
        fprintf(stderr, "troupe-sim: %s\n", e.msg);
        sim_scenario_release(&sc);
        return EXIT_USAGE;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    sim_swim_print(stdout, &sc, &r, json);
    fprintf(stderr, "troupe-sim: %u nodes, %.1f simulated seconds in %.2f s of wall-clock time\n",
            sim_scenario_total(&sc), (double)sc.duration_ms / 1000.0, wall);
    sim_scenario_release(&sc);
    if (churn_failed(&r)) {
        fprintf(stderr, "troupe-sim: the catalog's checks failed under churn (see the figures)\n");
        return EXIT_CHECKS;
    }
    return 0;
}
