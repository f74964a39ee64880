/* autoscale: the scaling decision and the load record (see autoscale.h).
 * The windows are one-second buckets of what was fed; a window's load is
 * the mean over its buckets that hold samples, so a caller that feeds
 * every 2 s and one that feeds every second see the same mean. The
 * scale-down delay keeps a deque of decreasing recommendations (the
 * sliding-window maximum), bounded because a recommendation is a count. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/autoscale.h"
#include "core/buf.h"

static const char *const on_names[] = {"concurrency", "queue", "latency"};

const char *as_on_name(uint8_t on)
{
    return on <= AS_ON_LATENCY ? on_names[on] : "?";
}

int as_on_parse(const char *s)
{
    for (int i = 0; i <= AS_ON_LATENCY; i++)
        if (strcmp(on_names[i], s) == 0)
            return i;
    return -1;
}

void as_cfg_default(struct as_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->min = 0;
    c->max = AS_COUNT_MAX;
    c->target_concurrency = 10;
    c->utilization_permille = 700;
    c->on = AS_ON_CONCURRENCY;
    c->stable_window_ms = 60000;
    c->panic_window_ms = 6000;
    c->scale_down_delay_ms = 300000;
    c->scale_down_rate_permille = 2000;
}

int as_cfg_check(const struct as_cfg *c, struct err *e)
{
    if (c->max > AS_COUNT_MAX)
        return err_set(e, -EINVAL, "scale.max: at most %d", AS_COUNT_MAX);
    if (c->min > c->max)
        return err_set(e, -EINVAL, "scale.min: %u is above scale.max %u", c->min, c->max);
    if (c->on != AS_ON_CONCURRENCY && !c->target)
        return err_set(e, -EINVAL, "scale.target: needed with \"on\": \"%s\"", as_on_name(c->on));
    if (c->on == AS_ON_CONCURRENCY && c->target)
        return err_set(e, -EINVAL,
                       "scale.target: only with \"on\": \"queue\" or \"latency\" (concurrency "
                       "says target_concurrency)");
    if (c->stable_window_ms < 1000 || c->stable_window_ms > AS_WINDOW_SECS * 1000u)
        return err_set(e, -EINVAL, "scale.stable_window_ms: 1000..%u", AS_WINDOW_SECS * 1000u);
    if (c->panic_window_ms < 1000 || c->panic_window_ms > c->stable_window_ms)
        return err_set(e, -EINVAL, "scale.panic_window_ms: 1000..stable_window_ms (%u)",
                       c->stable_window_ms);
    if (!c->target_concurrency)
        return err_set(e, -EINVAL, "scale.target_concurrency: at least 1");
    if (c->utilization_permille < 10 || c->utilization_permille > 1000)
        return err_set(e, -EINVAL, "scale.utilization: 0.01..1");
    if (c->scale_down_rate_permille <= 1000)
        return err_set(e, -EINVAL, "scale.scale_down_rate: above 1");
    return 0;
}

static uint32_t clamp(const struct as_cfg *c, uint64_t n)
{
    if (n < c->min)
        return c->min;
    if (n > c->max)
        return c->max;
    return (uint32_t)n;
}

void as_init(struct as_state *s, const struct as_cfg *c, uint32_t initial)
{
    memset(s, 0, sizeof(*s));
    s->desired = clamp(c, initial);
}

static void feed(struct as_state *s, uint64_t now_ms, double v)
{
    uint64_t sec = now_ms / 1000 + 1; /* +1: 0 marks an empty bucket */
    struct as_bucket *b = &s->b[sec % AS_WINDOW_SECS];

    if (b->sec != sec) {
        b->sec = sec;
        b->sum = 0;
        b->n = 0;
    }
    b->sum += v;
    b->n++;
}

/* The mean of the buckets of the last window_ms (the current second in). */
static double mean(const struct as_state *s, uint64_t now_ms, uint32_t window_ms)
{
    uint64_t sec = now_ms / 1000 + 1, secs = (window_ms + 999) / 1000;
    double sum = 0;
    uint32_t n = 0;

    if (secs > AS_WINDOW_SECS)
        secs = AS_WINDOW_SECS;
    for (uint64_t k = 0; k < secs && k < sec; k++) {
        const struct as_bucket *b = &s->b[(sec - k) % AS_WINDOW_SECS];
        if (b->sec == sec - k && b->n) {
            sum += b->sum / b->n;
            n++;
        }
    }
    return n ? sum / n : 0;
}

/* The instances a load asks for; capacity is what one instance takes. */
static uint64_t need(const struct as_cfg *c, const struct as_state *s, double load)
{
    double per, n;

    if (load <= 0)
        return 0;
    switch (c->on) {
    case AS_ON_QUEUE:
        per = c->target;
        break;
    case AS_ON_LATENCY:
        /* latency is not additive: scale the count in proportion (HPA) */
        n = ceil((s->desired ? s->desired : 1) * load / c->target - 1e-9);
        return n > AS_COUNT_MAX ? AS_COUNT_MAX : (uint64_t)n;
    default:
        per = c->target_concurrency * (c->utilization_permille / 1000.0);
        break;
    }
    n = ceil(load / per - 1e-9);
    return n > AS_COUNT_MAX ? AS_COUNT_MAX : (uint64_t)n;
}

/* The load at which one more window panics: twice what the running count
 * is meant to hold (twice the target, for latency). */
static double panic_at(const struct as_cfg *c, uint32_t running)
{
    uint32_t n = running ? running : 1;

    switch (c->on) {
    case AS_ON_QUEUE:
        return 2.0 * c->target * n;
    case AS_ON_LATENCY:
        return 2.0 * c->target;
    default:
        return 2.0 * c->target_concurrency * n;
    }
}

/* Keeps the recommendation for the delay window; returns the highest of it. */
static uint32_t delayed(struct as_state *s, const struct as_cfg *c, uint64_t now_ms, uint32_t rec)
{
    size_t k = 0;

    /* drop what left the window (the oldest are first) */
    while (k < s->n_recs && s->recs[k].t_ms + c->scale_down_delay_ms < now_ms)
        k++;
    memmove(s->recs, s->recs + k, (s->n_recs - k) * sizeof(*s->recs));
    s->n_recs -= k;
    /* a newer recommendation at least as high makes the older ones moot */
    while (s->n_recs && s->recs[s->n_recs - 1].count <= rec)
        s->n_recs--;
    /* counts decrease strictly along the deque: at most AS_COUNT_MAX + 1 */
    s->recs[s->n_recs++] = (struct as_rec){.t_ms = now_ms, .count = rec};
    return s->recs[0].count;
}

static const char *what(const struct as_cfg *c)
{
    return c->on == AS_ON_QUEUE ? "queue" : c->on == AS_ON_LATENCY ? "latency" : "concurrency";
}

void as_note_busy(struct as_state *s, uint64_t now_ms)
{
    s->busy_ms = now_ms;
    s->busy_seen = 1;
}

/* No request for idle_after_ms: straight down to min, the windows
 * forgotten (what they hold is the load that went away). */
static int idle(struct as_state *s, const struct as_cfg *c, uint64_t now_ms, struct as_decision *d)
{
    uint32_t cur = s->desired;

    if (!c->idle_after_ms || !s->busy_seen || now_ms - s->busy_ms < c->idle_after_ms ||
        cur <= c->min)
        return 0;
    as_init(s, c, c->min);
    as_note_busy(s, now_ms); /* the next idle period counts from here */
    d->previous = cur;
    d->desired = s->desired;
    snprintf(d->reason, sizeof(d->reason), "idle: no request for %u ms, back to min %u",
             c->idle_after_ms, c->min);
    return 1;
}

int as_decide(struct as_state *s, const struct as_cfg *c, uint64_t now_ms, double observed,
              struct as_decision *d)
{
    uint32_t cur = s->desired, want, out, floor_rate = 0, high = 0;
    uint64_t stable_need, panic_need;
    double limit;

    if (observed < 0 || observed != observed)
        observed = 0;
    memset(d, 0, sizeof(*d));
    if (observed > 0 || !s->busy_seen)
        as_note_busy(s, now_ms);
    if (idle(s, c, now_ms, d))
        return 1;
    feed(s, now_ms, observed);
    d->previous = cur;
    d->stable = mean(s, now_ms, c->stable_window_ms);
    d->panic = mean(s, now_ms, c->panic_window_ms);
    stable_need = need(c, s, d->stable);
    panic_need = need(c, s, d->panic);
    limit = panic_at(c, cur);

    if (d->panic > 0 && d->panic >= limit) {
        if (!s->panicking)
            s->panic_max = 0;
        s->panicking = 1;
        s->panic_ms = now_ms;
    } else if (s->panicking && now_ms - s->panic_ms >= c->stable_window_ms) {
        s->panicking = 0;
        s->panic_max = 0;
    }

    if (s->panicking) {
        /* scale up at once on the short window, never down while it lasts */
        want = (uint32_t)(panic_need > stable_need ? panic_need : stable_need);
        if (want < s->panic_max)
            want = s->panic_max;
        if (want < cur)
            want = cur;
        s->panic_max = want;
    } else {
        want = (uint32_t)stable_need;
    }
    d->want = want;
    d->panicking = s->panicking;

    /* the highest recommendation of the delay window (HPA's stabilization) */
    out = clamp(c, want);
    if (out < cur) {
        high = delayed(s, c, now_ms, out);
        out = high < cur ? high : cur;
        floor_rate = (uint32_t)((uint64_t)cur * 1000 / c->scale_down_rate_permille);
        if (out < floor_rate)
            out = floor_rate;
        out = clamp(c, out);
    } else {
        delayed(s, c, now_ms, out);
    }

    if (s->panicking && d->panic >= limit)
        snprintf(d->reason, sizeof(d->reason), "panic: %s %.0f >= 2 x %.0f", what(c), d->panic,
                 limit / 2);
    else if (s->panicking && out > cur)
        snprintf(d->reason, sizeof(d->reason), "panic: %s %.1f over %u ms needs %u", what(c),
                 d->panic, c->panic_window_ms, want);
    else if (s->panicking)
        snprintf(d->reason, sizeof(d->reason),
                 "panic held: %s %.1f over %u ms, no scale-down until %u ms calm", what(c),
                 d->panic, c->panic_window_ms, c->stable_window_ms);
    else if (out > cur)
        snprintf(d->reason, sizeof(d->reason), "stable: %s %.1f over %u ms needs %u", what(c),
                 d->stable, c->stable_window_ms, want);
    else if (out < cur && want < out && out > c->min && out == floor_rate && floor_rate > high)
        snprintf(d->reason, sizeof(d->reason),
                 "down: %s %.1f needs %u; %u at most (1/%.1f of %u per decision)", what(c),
                 d->stable, want, out, c->scale_down_rate_permille / 1000.0, cur);
    else if (out < cur && want < out && out > c->min)
        snprintf(d->reason, sizeof(d->reason), "down: %s %.1f needs %u; %u was asked within %u ms",
                 what(c), d->stable, want, out, c->scale_down_delay_ms);
    else if (out < cur)
        snprintf(d->reason, sizeof(d->reason), "down: %s %.1f over %u ms needs %u", what(c),
                 d->stable, c->stable_window_ms, want);
    else if (want < cur)
        snprintf(d->reason, sizeof(d->reason),
                 "hold: %s %.1f needs %u; a higher count was asked within %u ms", what(c),
                 d->stable, want, c->scale_down_delay_ms);
    else
        snprintf(d->reason, sizeof(d->reason), "steady: %s %.1f needs %u", what(c), d->stable,
                 want);
    if (out == c->max && want > c->max)
        snprintf(d->reason + strlen(d->reason), sizeof(d->reason) - strlen(d->reason), " (max %u)",
                 c->max);
    else if (out == c->min && want < c->min)
        snprintf(d->reason + strlen(d->reason), sizeof(d->reason) - strlen(d->reason), " (min %u)",
                 c->min);

    s->desired = out;
    d->desired = out;
    return out != cur;
}

/* ---- the load record ---- */

#define LOAD_FORMAT 1
#define LOAD_METRIC 0x01

size_t as_load_encode(const struct as_load *l, uint8_t *buf, size_t cap)
{
    struct wr w;

    wr_init(&w, buf, cap);
    wr_u8(&w, LOAD_FORMAT);
    wr_u8(&w, l->has_metric ? LOAD_METRIC : 0);
    wr_u32(&w, l->inflight_milli);
    wr_u32(&w, l->rate_milli);
    if (l->has_metric)
        wr_u64(&w, l->metric_milli);
    return w.len;
}

int as_load_decode(struct as_load *l, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint8_t fmt, flags;

    memset(l, 0, sizeof(*l));
    rd_init(&r, buf, len);
    if (rd_u8(&r, &fmt) < 0 || rd_u8(&r, &flags) < 0)
        return err_set(e, -EINVAL, "load: %zu bytes, too short", len);
    if (fmt != LOAD_FORMAT)
        return err_set(e, -EINVAL, "load: format %u, expected %u", fmt, LOAD_FORMAT);
    if (flags & ~LOAD_METRIC)
        return err_set(e, -EINVAL, "load: unknown flags 0x%02x", flags);
    if (rd_u32(&r, &l->inflight_milli) < 0 || rd_u32(&r, &l->rate_milli) < 0)
        return err_set(e, -EINVAL, "load: too short");
    if (flags & LOAD_METRIC) {
        l->has_metric = 1;
        if (rd_u64(&r, &l->metric_milli) < 0)
            return err_set(e, -EINVAL, "load: metric cut short");
    }
    if (rd_left(&r))
        return err_set(e, -EINVAL, "load: %zu bytes past the end", rd_left(&r));
    return 0;
}
