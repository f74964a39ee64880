/* api_metrics: the API's requests by route and status code, and their
 * durations (troupe_api_*). A request's route is the pattern it matched
 * in a fixed table, so the label set stays bounded whatever paths clients
 * send; httpd's own counters (connections, timeouts) are in httpd.c. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api.h"
#include "agent/api/api_impl.h"
#include "agent/metrics.h"
#include "core/mem.h"

/* A pattern ending with '/' matches every path under it, labelled with a
 * '*' after the slash; others match exactly. The longest match wins. */
static const char *const route_paths[] = {
    "/metrics",
    "/ui",
    "/ui/",
    "/v1/members",
    "/v1/self",
    "/v1/health",
    "/v1/join",
    "/v1/leave",
    "/v1/bundle/fetch",
    "/v1/dns/stats",
    "/v1/agent/run",
    "/v1/agent/run/",
    "/v1/agent/ps",
    "/v1/agent/spec/",
    "/v1/agent/stop/",
    "/v1/agent/start/",
    "/v1/agent/restart/",
    "/v1/agent/scale/",
    "/v1/agent/logs/",
    "/v1/agent/secrets",
    "/v1/agent/secret/",
    "/v1/agent/check/",
    "/v1/agent/service/register",
    "/v1/agent/service/deregister/",
    "/v1/agent/services",
    "/v1/catalog/digest",
    "/v1/catalog/services",
    "/v1/catalog/service/",
    "/v1/health/service/",
    "/v1/event/fire/",
    "/v1/events",
    "/v1/kv/",
    "/v1/place",
    "/v1/place/",
    "/v1/routes",
    "/v1/routes/",
    "/v1/acl/tokens",
    "/v1/acl/token/",
    "/v1/acl/self",
    "/v1/specs",
    "/v1/specs/",
};
#define ROUTES      (sizeof(route_paths) / sizeof(route_paths[0]))
#define ROUTE_OTHER ROUTES /* no pattern matched: the label "other" */
#define CODES_MAX   8      /* distinct codes counted per route; more go to "other" */

struct api_route_stats {
    struct {
        uint16_t code; /* 0: the slot of every code past CODES_MAX */
        uint64_t n;
    } codes[CODES_MAX + 1];
    size_t n_codes;
    struct metrics_hist dur;
};

struct api_metrics {
    struct api_route_stats r[ROUTES + 1];
};

int api_metrics_route(const char *path)
{
    size_t best_len = 0;
    int best = (int)ROUTE_OTHER;

    for (size_t i = 0; i < ROUTES; i++) {
        const char *p = route_paths[i];
        size_t n = strlen(p);
        int match =
            p[n - 1] == '/' ? strncmp(path, p, n) == 0 && path[n] != '\0' : strcmp(path, p) == 0;
        if (match && n > best_len) {
            best_len = n;
            best = (int)i;
        }
    }
    return best;
}

static void observe(void *ud, int tag, int status, double seconds)
{
    struct api_metrics *m = ud;
    struct api_route_stats *r;
    size_t i;

    if (tag < 0 || (size_t)tag > ROUTE_OTHER)
        tag = (int)ROUTE_OTHER;
    r = &m->r[tag];
    metrics_hist_observe(&r->dur, seconds);
    for (i = 0; i < r->n_codes; i++)
        if (r->codes[i].code == (uint16_t)status)
            break;
    if (i == r->n_codes) {
        if (r->n_codes < CODES_MAX)
            r->codes[r->n_codes++].code = (uint16_t)status;
        else
            i = CODES_MAX; /* code 0: "other" */
    }
    r->codes[i].n++;
}

void api_metrics_open(struct agent *a)
{
    if (!a->api_metrics)
        a->api_metrics = xcalloc(1, sizeof(*a->api_metrics));
    httpd_set_observer(a->httpd, observe, a->api_metrics);
}

void api_metrics_free(struct agent *a)
{
    free(a->api_metrics);
    a->api_metrics = NULL;
}

static void route_label(size_t i, char *buf, size_t cap)
{
    const char *p = i < ROUTES ? route_paths[i] : "other";
    size_t n = strlen(p);

    snprintf(buf, cap, "%s%s", p, i < ROUTES && p[n - 1] == '/' ? "*" : "");
}

void api_write_metrics(struct agent *a, FILE *f)
{
    struct api_metrics *m = a->api_metrics;
    char label[64], labels[96];

    if (!m)
        return;
    metrics_head(f, "troupe_api_requests_total", "counter",
                 "HTTP API requests answered, by route and status code.");
    for (size_t i = 0; i <= ROUTES; i++) {
        const struct api_route_stats *r = &m->r[i];
        route_label(i, label, sizeof(label));
        for (size_t j = 0; j < r->n_codes; j++)
            fprintf(f, "troupe_api_requests_total{route=\"%s\",code=\"%u\"} %llu\n", label,
                    r->codes[j].code, (unsigned long long)r->codes[j].n);
        if (r->codes[CODES_MAX].n)
            fprintf(f, "troupe_api_requests_total{route=\"%s\",code=\"other\"} %llu\n", label,
                    (unsigned long long)r->codes[CODES_MAX].n);
    }
    metrics_head(f, "troupe_api_request_duration_seconds", "histogram",
                 "Time from a request parsed to its answer, by route, in seconds (blocking "
                 "queries include their wait).");
    for (size_t i = 0; i <= ROUTES; i++) {
        if (!m->r[i].dur.count)
            continue;
        route_label(i, label, sizeof(label));
        snprintf(labels, sizeof(labels), "route=\"%s\"", label);
        metrics_hist_write(f, "troupe_api_request_duration_seconds", labels, &m->r[i].dur);
    }
}
