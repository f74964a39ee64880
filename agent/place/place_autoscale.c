/* place_autoscale: runs core/autoscale for every cluster spec with "scale".
 * Every PLACE_AUTOSCALE_MS it sums the CRDT_LOAD records the proxies publish
 * for the service (agent/proxy/proxy_load.c), counting only members that
 * are alive or suspect (a dead or departed node's last load does not
 * count), and decides the count placement runs. Every agent does the same
 * over the same records, so all of them arrive at the same count without
 * a leader; they may differ for a decision or two while the records
 * travel, and then a slot runs twice or starts a little late, as any
 * placement disagreement does (docs/scaling.md). A change of the count is
 * an event in the history; the last decisions are kept for troupe status. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/place/place_autoscale.h"
#include "core/crdt.h"
#include "core/mem.h"

#define SCALE_DECISIONS 8 /* changes of the count kept for status */

struct decision {
    int64_t wall_ms;
    uint32_t from, to;
    char reason[AS_REASON_MAX];
};

struct scaler {
    char name[64];
    struct as_cfg cfg;
    struct as_state st;
    struct as_decision last; /* the last decision, a change or not */
    int decided;             /* last holds one */
    double concurrency;      /* in flight over the live members, last summed */
    double rate;             /* their requests per second */
    double metric;           /* their reported metric (sum, or mean for latency) */
    uint32_t reporters;      /* live members whose record counted */
    struct decision dec[SCALE_DECISIONS];
    size_t n_dec; /* the newest is dec[(n_dec - 1) % SCALE_DECISIONS] */
    int live;
};

struct place_autoscale {
    struct scaler *s; /* heap */
    size_t n;
    uint64_t last_ms;
};

struct place_autoscale *place_autoscale_new(void)
{
    return xcalloc(1, sizeof(struct place_autoscale));
}

void place_autoscale_free(struct place_autoscale *ps)
{
    if (!ps)
        return;
    free(ps->s);
    free(ps);
}

static struct scaler *find(const struct place_autoscale *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->s[i].name, name) == 0)
            return &ps->s[i];
    return NULL;
}

void place_autoscale_specs(struct place_autoscale *ps, struct place_spec *specs, size_t n,
                           int prune)
{
    for (size_t i = 0; i < ps->n; i++)
        ps->s[i].live = 0;
    for (size_t i = 0; i < n; i++) {
        struct place_spec *p = &specs[i];
        struct scaler *s;
        if (!p->scale.set)
            continue;
        if (!(s = find(ps, p->name))) {
            ps->s = xrealloc(ps->s, (ps->n + 1) * sizeof(*ps->s));
            s = &ps->s[ps->n++];
            memset(s, 0, sizeof(*s));
            snprintf(s->name, sizeof(s->name), "%s", p->name);
            s->cfg = p->autoscale;
            as_init(&s->st, &s->cfg, p->autoscale.min);
        } else if (memcmp(&s->cfg, &p->autoscale, sizeof(s->cfg)) != 0) {
            /* a new "scale": start over from the count running now */
            uint32_t cur = s->st.desired;
            s->cfg = p->autoscale;
            as_init(&s->st, &s->cfg, cur);
        }
        s->live = 1;
        p->count = s->st.desired;
    }
    if (!prune)
        return;
    for (size_t i = 0; i < ps->n;) {
        if (!ps->s[i].live)
            ps->s[i] = ps->s[--ps->n];
        else
            i++;
    }
}

/* The load of s over the live members' records. */
static void sum(struct agent *a, struct scaler *s)
{
    uint32_t with_metric = 0;

    s->concurrency = 0;
    s->rate = 0;
    s->metric = 0;
    s->reporters = 0;
    for (size_t i = 0; i < swim_member_count(a->swim); i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        const struct crdt_rec *r;
        struct as_load l;
        if (m->state != SWIM_ALIVE && m->state != SWIM_SUSPECT)
            continue;
        r = crdt_get(a->catalog->crdt, m->name, CRDT_LOAD, s->name);
        if (!r || r->deleted || as_load_decode(&l, r->val, r->len, NULL) < 0)
            continue;
        s->reporters++;
        s->concurrency += l.inflight_milli / 1000.0;
        s->rate += l.rate_milli / 1000.0;
        if (l.has_metric) {
            s->metric += (double)l.metric_milli / 1000.0;
            with_metric++;
        }
    }
    if (s->cfg.on == AS_ON_LATENCY && with_metric)
        s->metric /= with_metric;
}

int place_autoscale_tick(struct agent *a, struct place_autoscale *ps, uint64_t now_ms)
{
    int changed = 0;

    if (ps->last_ms && now_ms < ps->last_ms + PLACE_AUTOSCALE_MS)
        return 0;
    ps->last_ms = now_ms;
    for (size_t i = 0; i < ps->n; i++) {
        struct scaler *s = &ps->s[i];
        struct decision *d;
        sum(a, s);
        s->decided = 1;
        if (s->rate > 0 || (s->cfg.on != AS_ON_CONCURRENCY && s->metric > 0))
            as_note_busy(&s->st, now_ms);
        if (!as_decide(&s->st, &s->cfg, now_ms,
                       s->cfg.on == AS_ON_CONCURRENCY ? s->concurrency : s->metric, &s->last))
            continue;
        changed = 1;
        d = &s->dec[s->n_dec++ % SCALE_DECISIONS];
        d->wall_ms = (int64_t)agent_wall_ms();
        d->from = s->last.previous;
        d->to = s->last.desired;
        snprintf(d->reason, sizeof(d->reason), "%s", s->last.reason);
        log_info("place", "%s: scale %u -> %u: %s", s->name, d->from, d->to, d->reason);
        history_add(a, "scale", s->name, "%u -> %u: %s", d->from, d->to, d->reason);
    }
    return changed;
}

json_t *place_autoscale_status(const struct place_autoscale *ps, const char *name)
{
    const struct scaler *s = ps ? find(ps, name) : NULL;
    json_t *o, *decs;

    if (!s)
        return NULL;
    decs = json_array();
    for (size_t k = 0; k < SCALE_DECISIONS && k < s->n_dec; k++) {
        const struct decision *d = &s->dec[(s->n_dec - 1 - k) % SCALE_DECISIONS];
        json_array_append_new(decs, json_pack("{s:I, s:i, s:i, s:s}", "time_ms",
                                              (json_int_t)d->wall_ms, "from", (int)d->from, "to",
                                              (int)d->to, "reason", d->reason));
    }
    o = json_pack("{s:i, s:i, s:i, s:s, s:f, s:i, s:b, s:o}", "desired", (int)s->st.desired, "min",
                  (int)s->cfg.min, "max", (int)s->cfg.max, "on", as_on_name(s->cfg.on),
                  "observed_concurrency", s->concurrency, "reporters", (int)s->reporters,
                  "panicking", s->st.panicking, "decisions", decs);
    if (s->cfg.on != AS_ON_CONCURRENCY)
        json_object_set_new(o, "observed_metric", json_real(s->metric));
    if (s->decided)
        json_object_set_new(o, "last_reason", json_string(s->last.reason));
    return o;
}

void place_autoscale_write_metrics(const struct place_autoscale *ps, FILE *f)
{
    if (!ps || !ps->n)
        return;
    metrics_head(f, "troupe_autoscale_desired_instances", "gauge",
                 "Instances the autoscaler asks of a scaled cluster spec, as this node decides.");
    for (size_t i = 0; i < ps->n; i++)
        fprintf(f, "troupe_autoscale_desired_instances{service=\"%s\"} %u\n", ps->s[i].name,
                ps->s[i].st.desired);
    metrics_head(f, "troupe_autoscale_observed_concurrency", "gauge",
                 "Requests in flight to a scaled service through every live node's proxy, "
                 "averaged over the last load records.");
    for (size_t i = 0; i < ps->n; i++)
        fprintf(f, "troupe_autoscale_observed_concurrency{service=\"%s\"} %.3f\n", ps->s[i].name,
                ps->s[i].concurrency);
}
