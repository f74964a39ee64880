/* swim_suspicion: Lifeguard suspicion timers. A suspicion runs for a time
 * that scales with the cluster's size and shrinks on a log scale as other
 * members confirm it on their own; one still standing halfway through is
 * gossiped again, so that a member that missed the refutation is set right
 * before it declares a live member dead. What starts a suspicion and what
 * a refutation does are in swim.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/swim_internal.h"

/* The longest a suspicion runs, with no confirmation: suspicion_mult x
 * log10(N+1) x probe interval (N live members, the factor at least 1). The
 * shortest, once k members confirmed it on their own, is that divided by
 * suspicion_max_mult. */
static uint64_t suspicion_max_ms(const struct swim *s)
{
    double f = log10((double)swim_live_count(s) + 1.0);
    if (f < 1)
        f = 1;
    return (uint64_t)(s->cfg.suspicion_mult * f * s->cfg.probe_interval_ms);
}

static void suspicion_update_deadline(const struct swim *s, struct suspicion *su)
{
    uint64_t max = suspicion_max_ms(s), min = max / s->cfg.suspicion_max_mult;
    size_t live = swim_live_count(s);
    uint32_t k = s->cfg.indirect_checks;
    double t;

    if (live < 2 + (size_t)k)
        k = live > 2 ? (uint32_t)(live - 2) : 0;
    if (k < 1) {
        su->deadline_ms = su->start_ms + max;
        return;
    }
    /* each independent confirmation takes the timeout down on a log scale,
     * reaching the minimum at k */
    t = (double)max - (double)(max - min) * log((double)su->n_confirm + 1.0) / log(k + 1.0);
    if (t < (double)min)
        t = (double)min;
    su->deadline_ms = su->start_ms + (uint64_t)t;
}

/* Halfway between now and the suspicion's deadline: when a suspicion still
 * standing is gossiped again (see suspicion_tick). */
static uint64_t suspicion_halfway(const struct suspicion *su, uint64_t now)
{
    return su->deadline_ms > now ? now + (su->deadline_ms - now) / 2 : now;
}

static void suspicion_arm(struct swim *s, const struct suspicion *su)
{
    uint64_t due = su->recheck_ms ? min64(su->recheck_ms, su->deadline_ms) : su->deadline_ms;
    s->next_suspicion_ms = min64(s->next_suspicion_ms, due);
}

struct suspicion *suspicion_new(struct swim *s, uint64_t now, const char *origin)
{
    struct suspicion *su = xcalloc(1, sizeof(*su));

    su->start_ms = now;
    memcpy(su->origin, origin, strnlen(origin, SWIM_NAME_MAX));
    suspicion_update_deadline(s, su);
    su->recheck_ms = suspicion_halfway(su, now);
    suspicion_arm(s, su);
    return su;
}

/* Counts `from` as one more member that suspects m on its own. Returns 1 when
 * it is new: the caller passes the confirmation on. A shorter timeout brings
 * the next gossip of the suspicion forward too: three confirmations take the
 * deadline down to where that gossip was due, and a member that missed the
 * refutation would have declared a live member dead without asking again. */
int suspicion_confirm(struct swim *s, uint64_t now, struct member *m, const char *from)
{
    struct suspicion *su = m->susp;

    if (!su || strcmp(from, m->m.name) == 0 || strcmp(from, su->origin) == 0 ||
        su->n_confirm >= SWIM_CONFIRM_MAX)
        return 0;
    for (uint32_t i = 0; i < su->n_confirm; i++) {
        if (strcmp(su->confirm[i], from) == 0)
            return 0;
    }
    memcpy(su->confirm[su->n_confirm], from, strnlen(from, SWIM_NAME_MAX) + 1);
    su->n_confirm++;
    suspicion_update_deadline(s, su);
    if (su->recheck_ms)
        su->recheck_ms = min64(su->recheck_ms, suspicion_halfway(su, now));
    suspicion_arm(s, su);
    return 1;
}

/* Suspicions that ran out, or are halfway: one still standing then is
 * gossiped again, so that if the member refuted it and the refutation
 * missed us, whoever hears our stale suspicion sets us right (see
 * correct_stale in swim.c) before we declare a live member dead. Every copy
 * of that gossip, and every answer, may be lost too, so it is gossiped again
 * halfway through what is left, while that leaves a probe interval or
 * more: each time a fresh chance (3 times in all at 100 members, 4 at
 * 10,000). The scan runs only when one is due. */
void suspicion_tick(struct swim *s, uint64_t now)
{
    if (now < s->next_suspicion_ms)
        return;
    s->next_suspicion_ms = UINT64_MAX;
    for (size_t i = 1; i < s->n && s->count[SWIM_SUSPECT]; i++) {
        struct member *m = &s->members[i];
        if (m->m.state != SWIM_SUSPECT || !m->susp)
            continue;
        if (now >= m->susp->deadline_ms) {
            swim_declare(s, now, (uint32_t)i, MSG_DEAD, m->m.incarnation, s->members[0].m.name);
            continue;
        }
        if (m->susp->recheck_ms && now >= m->susp->recheck_ms) {
            m->susp->recheck_ms = 0;
            /* news about it still queued (a confirmation) goes out anyway */
            if (!m->bcast)
                swim_broadcast_suspect(s, MSG_SUSPECT, (uint32_t)i, m->m.incarnation,
                                       m->susp->origin);
            if (m->susp->deadline_ms - now >= 2ull * s->cfg.probe_interval_ms)
                m->susp->recheck_ms = suspicion_halfway(m->susp, now);
        }
        suspicion_arm(s, m->susp);
    }
}
