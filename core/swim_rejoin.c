/* swim_rejoin: the join policy of a member (see swim_rejoin.h): own
 * addresses skipped, every target retried with backoff while alone, targets
 * that are no live member's address refreshed now and then once joined.
 * Pure: no clock, no socket; it reads the member table, never changes it. */
#include "core/swim_rejoin.h"

#include <errno.h>
#include <string.h>

void swim_rejoin_config_default(struct swim_rejoin_config *c)
{
    c->backoff_min_ms = 1000;
    c->backoff_max_ms = 60000;
    c->refresh_interval_ms = 60000;
}

void swim_rejoin_init(struct swim_rejoin *r, const struct swim_rejoin_config *c, uint64_t now_ms)
{
    memset(r, 0, sizeof(*r));
    r->cfg = *c;
    if (!r->cfg.backoff_min_ms)
        r->cfg.backoff_min_ms = 1;
    if (r->cfg.backoff_max_ms < r->cfg.backoff_min_ms)
        r->cfg.backoff_max_ms = r->cfg.backoff_min_ms;
    if (!r->cfg.refresh_interval_ms)
        r->cfg.refresh_interval_ms = r->cfg.backoff_max_ms;
    r->backoff_ms = r->cfg.backoff_min_ms;
    r->next_ms = now_ms;
    r->alone = 1;
}

int swim_rejoin_is_own(const struct swim_rejoin *r, const struct node_addr *a)
{
    for (size_t i = 0; i < r->n_own; i++)
        if (node_addr_eq(&r->own[i], a))
            return 1;
    return 0;
}

int swim_rejoin_add_own(struct swim_rejoin *r, const struct node_addr *a)
{
    if (swim_rejoin_is_own(r, a))
        return 0;
    if (r->n_own == SWIM_REJOIN_OWN_MAX)
        return -ENOSPC;
    r->own[r->n_own++] = *a;
    for (size_t i = 0; i < r->n_target;) {
        if (node_addr_eq(&r->target[i], a))
            r->target[i] = r->target[--r->n_target];
        else
            i++;
    }
    return 0;
}

enum swim_rejoin_add swim_rejoin_add_target(struct swim_rejoin *r, const struct node_addr *a)
{
    if (swim_rejoin_is_own(r, a))
        return SWIM_REJOIN_OWN;
    for (size_t i = 0; i < r->n_target; i++)
        if (node_addr_eq(&r->target[i], a))
            return SWIM_REJOIN_DUPLICATE;
    if (r->n_target == SWIM_REJOIN_TARGETS_MAX)
        return SWIM_REJOIN_FULL;
    r->target[r->n_target++] = *a;
    return SWIM_REJOIN_ADDED;
}

void swim_rejoin_clear_targets(struct swim_rejoin *r)
{
    r->n_target = 0;
}

int swim_rejoin_alone(const struct swim *s)
{
    const struct swim_member *self = swim_self(s);
    size_t live = swim_count_state(s, SWIM_ALIVE) + swim_count_state(s, SWIM_SUSPECT);

    if (self->state == SWIM_LEFT)
        return 1;
    return live <= 1;
}

/* The address of a member we see alive or suspect (ourselves aside)? */
static int live_address(const struct swim *s, const struct node_addr *a)
{
    size_t n = swim_member_count(s);

    for (size_t i = 1; i < n; i++) {
        const struct swim_member *m = swim_member_at(s, i);
        if ((m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT) && node_addr_eq(&m->addr, a))
            return 1;
    }
    return 0;
}

int swim_rejoin_due(struct swim_rejoin *r, uint64_t now_ms, const struct swim *s)
{
    int alone = swim_rejoin_alone(s);

    if (swim_self(s)->state == SWIM_LEFT)
        return 0; /* leaving: nothing to join */
    if (alone && !r->alone) {
        /* everyone else just died or left: try at once, then back off */
        r->alone = 1;
        r->attempts = 0;
        r->backoff_ms = r->cfg.backoff_min_ms;
        if (r->next_ms > now_ms)
            r->next_ms = now_ms;
    } else if (!alone && r->alone) {
        r->alone = 0;
        r->attempts = 0;
        r->backoff_ms = r->cfg.backoff_min_ms;
        r->next_ms = now_ms + r->cfg.refresh_interval_ms;
    }
    return now_ms >= r->next_ms && r->n_target > 0;
}

size_t swim_rejoin_round(struct swim_rejoin *r, uint64_t now_ms, const struct swim *s,
                         struct node_addr *out, size_t cap)
{
    size_t n = 0;

    if (!swim_rejoin_due(r, now_ms, s))
        return 0;
    if (r->alone) {
        for (size_t i = 0; i < r->n_target && n < cap; i++)
            out[n++] = r->target[i];
        r->attempts++;
        r->next_ms = now_ms + r->backoff_ms;
        r->backoff_ms =
            r->backoff_ms > r->cfg.backoff_max_ms / 2 ? r->cfg.backoff_max_ms : r->backoff_ms * 2;
        return n;
    }
    for (size_t i = 0; i < r->n_target && n < cap; i++)
        if (!live_address(s, &r->target[i]))
            out[n++] = r->target[i];
    r->next_ms = now_ms + r->cfg.refresh_interval_ms;
    return n;
}

void swim_rejoin_joined(struct swim_rejoin *r, uint64_t now_ms)
{
    r->backoff_ms = r->cfg.backoff_min_ms;
    if (!r->alone)
        return;
    /* the member table says whether we are still alone at the next check;
     * until then the next round waits the shortest backoff */
    if (r->next_ms > now_ms + r->backoff_ms)
        r->next_ms = now_ms + r->backoff_ms;
}

uint64_t swim_rejoin_next(const struct swim_rejoin *r)
{
    return r->n_target ? r->next_ms : UINT64_MAX;
}
