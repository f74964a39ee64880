/* swim_awareness: Lifeguard's local health awareness. A node that misses
 * acks it should have had (its own probes fail, the indirect probers it
 * asked do not even answer nack) or that has to refute suspicions of itself
 * is likely the slow one; its score rises, 0 (healthy) up to awareness_max
 * (8 by default), and stretches its probe interval and timeout by score + 1
 * so that it does not accuse healthy members. Each ack it gets brings the
 * score down by one. The probes themselves are in swim.c. */
#include "core/swim_internal.h"

uint32_t awareness_scale(const struct swim *s, uint32_t ms)
{
    return ms * (s->awareness + 1);
}

void awareness_probe_failed(struct swim *s, uint32_t nacks_expected, uint32_t nacks_got)
{
    /* missing nacks mean our own network may be the problem */
    if (nacks_expected && nacks_got < nacks_expected)
        s->awareness += nacks_expected - nacks_got;
    else
        s->awareness++;
    if (s->awareness > s->cfg.awareness_max)
        s->awareness = s->cfg.awareness_max;
}

void awareness_probe_acked(struct swim *s)
{
    if (s->awareness)
        s->awareness--;
}

void awareness_refuted(struct swim *s)
{
    if (s->awareness < s->cfg.awareness_max)
        s->awareness++;
}

uint32_t swim_awareness(const struct swim *s)
{
    return s->awareness;
}
