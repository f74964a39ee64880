/* health: one check's status with hysteresis, TTL expiry, output
 * rate-limiting and deregistration of instances critical for too long
 * (see health.h). Pure: the driver runs the probes and passes the time. */
#include "core/health.h"

#include <string.h>

#define TTL_EXPIRED "TTL expired: no status report in time"

void health_cfg_default(struct health_cfg *c, uint8_t type)
{
    memset(c, 0, sizeof(*c));
    c->type = type;
    c->interval_ms = 10000;
    c->timeout_ms = 2000;
    c->ttl_ms = type == HEALTH_TTL ? 30000 : 0;
    c->successes_before_passing = 1;
    c->failures_before_critical = 1;
}

int health_cfg_check(const struct health_cfg *c, struct err *e)
{
    if (c->type < HEALTH_HTTP || c->type > HEALTH_TTL)
        return err_set(e, -EINVAL, "check type %u is not http, tcp, exec or ttl", c->type);
    if (c->type == HEALTH_TTL) {
        if (c->ttl_ms < 100)
            return err_set(e, -EINVAL, "ttl: %u ms, at least 100 ms", c->ttl_ms);
    } else {
        if (c->interval_ms < 100)
            return err_set(e, -EINVAL, "interval: %u ms, at least 100 ms", c->interval_ms);
        if (c->timeout_ms == 0 || c->timeout_ms >= c->interval_ms)
            return err_set(e, -EINVAL,
                           "timeout: %u ms, must be above 0 and below the interval (%u ms)",
                           c->timeout_ms, c->interval_ms);
    }
    if (c->successes_before_passing < 1 || c->successes_before_passing > 100)
        return err_set(e, -EINVAL, "successes_before_passing: %u, must be 1..100",
                       c->successes_before_passing);
    if (c->failures_before_critical < 1 || c->failures_before_critical > 100)
        return err_set(e, -EINVAL, "failures_before_critical: %u, must be 1..100",
                       c->failures_before_critical);
    if (c->deregister_critical_after_ms && c->deregister_critical_after_ms < 1000)
        return err_set(e, -EINVAL, "deregister_critical_after: %llu ms, at least 1 s (or 0: never)",
                       (unsigned long long)c->deregister_critical_after_ms);
    return 0;
}

void health_init(struct health *h, const struct health_cfg *c, uint64_t now_ms)
{
    memset(h, 0, sizeof(*h));
    h->status = CAT_CRITICAL;
    h->critical_since_ms = now_ms;
    h->output_sent_ms = now_ms;
    h->ttl_deadline_ms = c->type == HEALTH_TTL ? now_ms + c->ttl_ms : UINT64_MAX;
}

static void set_output(struct health *h, const char *output, size_t len)
{
    if (len > CAT_OUTPUT_MAX)
        len = CAT_OUTPUT_MAX;
    if (!output)
        len = 0;
    if (len == h->output_len && (len == 0 || memcmp(h->output, output, len) == 0))
        return;
    if (len)
        memcpy(h->output, output, len);
    h->output[len] = '\0';
    h->output_len = (uint16_t)len;
    h->output_dirty = 1;
}

static int set_status(struct health *h, uint64_t now_ms, uint8_t status)
{
    if (status == h->status)
        return 0;
    h->status = status;
    if (status == CAT_CRITICAL)
        h->critical_since_ms = now_ms;
    /* the status goes out now, with the output of the moment */
    h->output_dirty = 0;
    h->output_sent_ms = now_ms;
    return 1;
}

static int deregister_due(const struct health *h, const struct health_cfg *c, uint64_t now_ms)
{
    return h->status == CAT_CRITICAL && c->deregister_critical_after_ms &&
           now_ms >= h->critical_since_ms + c->deregister_critical_after_ms;
}

static int output_due(struct health *h, uint64_t now_ms)
{
    if (!h->output_dirty || now_ms < h->output_sent_ms + HEALTH_OUTPUT_EVERY_MS)
        return 0;
    h->output_dirty = 0;
    h->output_sent_ms = now_ms;
    return 1;
}

int health_result(struct health *h, const struct health_cfg *c, uint64_t now_ms, uint8_t result,
                  const char *output, size_t len)
{
    uint8_t next = h->status;

    if (result > CAT_CRITICAL)
        result = CAT_CRITICAL;
    set_output(h, output, len);
    if (c->type == HEALTH_TTL)
        h->ttl_deadline_ms = now_ms + c->ttl_ms;
    if (result == CAT_PASSING) {
        h->fail_run = 0;
        if (h->ok_run < UINT32_MAX)
            h->ok_run++;
        if (h->ok_run >= c->successes_before_passing)
            next = CAT_PASSING;
    } else {
        h->ok_run = 0;
        if (h->fail_run < UINT32_MAX)
            h->fail_run++;
        if (h->fail_run >= c->failures_before_critical)
            next = result;
    }
    if (set_status(h, now_ms, next))
        return HEALTH_CHANGED;
    if (deregister_due(h, c, now_ms))
        return HEALTH_DEREGISTER;
    return output_due(h, now_ms) ? HEALTH_OUTPUT : HEALTH_SAME;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int health_tick(struct health *h, const struct health_cfg *c, uint64_t now_ms, uint64_t *next_ms)
{
    int verdict = HEALTH_SAME;
    uint64_t next = UINT64_MAX;

    if (c->type == HEALTH_TTL && h->status != CAT_CRITICAL && now_ms >= h->ttl_deadline_ms) {
        h->ok_run = 0;
        set_output(h, TTL_EXPIRED, strlen(TTL_EXPIRED));
        set_status(h, now_ms, CAT_CRITICAL);
        verdict = HEALTH_CHANGED;
    } else if (deregister_due(h, c, now_ms)) {
        verdict = HEALTH_DEREGISTER;
    } else if (output_due(h, now_ms)) {
        verdict = HEALTH_OUTPUT;
    }
    if (c->type == HEALTH_TTL && h->status != CAT_CRITICAL)
        next = min_u64(next, h->ttl_deadline_ms);
    if (h->status == CAT_CRITICAL && c->deregister_critical_after_ms &&
        verdict != HEALTH_DEREGISTER)
        next = min_u64(next, h->critical_since_ms + c->deregister_critical_after_ms);
    if (h->output_dirty)
        next = min_u64(next, h->output_sent_ms + HEALTH_OUTPUT_EVERY_MS);
    if (next_ms)
        *next_ms = next;
    return verdict;
}

uint8_t health_from_http(int status_code)
{
    if (status_code >= 200 && status_code < 300)
        return CAT_PASSING;
    return status_code == 429 ? CAT_WARNING : CAT_CRITICAL;
}

uint8_t health_from_exit(int exit_code)
{
    if (exit_code == 0)
        return CAT_PASSING;
    return exit_code == 1 ? CAT_WARNING : CAT_CRITICAL;
}
