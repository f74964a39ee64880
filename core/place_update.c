/* place_update: the rolling update rule (see place_update.h). A slot is
 * judged from what the catalog shows of it; the budget is max_parallel
 * minus the slots that are down or still settling (and, for a canary, no
 * more than `canary` slots on the new version); candidates take the
 * budget in slot order, so two agents that see the same catalog never
 * hand one free place to two different slots. */
#include <string.h>

#include "core/place_update.h"

enum pu_state pu_slot_state(const struct pu_slot *s, uint64_t target, uint32_t min_healthy_ms,
                            uint64_t now_ms)
{
    if (!s->ver || !s->passing)
        return PU_BUSY;
    if (s->ver != target)
        return PU_OLD;
    if (now_ms < s->passing_ms || now_ms - s->passing_ms < min_healthy_ms)
        return PU_BUSY;
    return PU_SETTLED;
}

void pu_plan(const struct place_update *u, uint64_t target, const struct pu_slot *slots,
             uint32_t count, uint64_t now_ms, struct pu_plan *out)
{
    uint32_t max = u->max_parallel ? u->max_parallel : 1, room;

    memset(out, 0, sizeof(*out));
    if (count > PLACE_COUNT_MAX)
        count = PLACE_COUNT_MAX;
    for (uint32_t k = 0; k < count; k++) {
        switch (pu_slot_state(&slots[k], target, u->min_healthy_ms, now_ms)) {
        case PU_SETTLED:
            out->settled++;
            out->may_update |= 1ull << k;
            break;
        case PU_OLD:
            out->old++;
            break;
        case PU_BUSY:
            out->busy++;
            out->may_update |= 1ull << k; /* down or new already: nothing to lose */
            break;
        }
    }
    room = out->busy >= max ? 0 : max - out->busy;
    if (u->canary) {
        /* a canary: no more than `canary` slots off the old version until
         * promoted. A canary slot being replaced shows no version at all
         * (it left the catalog), so what counts is every slot that is not
         * old, not only those seen on the target. */
        uint32_t off = count - out->old;
        room = off >= u->canary ? 0 : (u->canary - off < room ? u->canary - off : room);
    }
    for (uint32_t k = 0; k < count && room; k++) {
        if (pu_slot_state(&slots[k], target, u->min_healthy_ms, now_ms) != PU_OLD)
            continue;
        out->may_update |= 1ull << k;
        room--;
    }
}

void pu_plan_canary(const struct place_update *u, uint64_t target, const struct pu_slot *slots,
                    uint32_t count, uint32_t extra, uint64_t now_ms, struct pu_plan *out)
{
    memset(out, 0, sizeof(*out));
    if (count > PLACE_COUNT_MAX)
        count = PLACE_COUNT_MAX;
    if (extra > PLACE_COUNT_MAX - count)
        extra = PLACE_COUNT_MAX - count;
    for (uint32_t k = 0; k < count + extra; k++) {
        switch (pu_slot_state(&slots[k], target, u->min_healthy_ms, now_ms)) {
        case PU_SETTLED:
            out->settled++;
            out->may_update |= 1ull << k;
            break;
        case PU_OLD:
            out->old++;
            if (k >= count) /* an extra slot is the canary's: it runs the target */
                out->may_update |= 1ull << k;
            break;
        case PU_BUSY:
            out->busy++;
            out->may_update |= 1ull << k;
            break;
        }
    }
}

int pu_failed(const struct place_update *u, const struct pu_plan *p, uint32_t count,
              uint64_t arrived_ms, uint64_t now_ms)
{
    uint32_t goal = u->canary && u->canary < count ? u->canary : count;

    if (p->settled >= goal)
        return 0;
    return now_ms >= arrived_ms && now_ms - arrived_ms >= u->healthy_deadline_ms;
}

uint64_t pu_version(const char *canonical_json)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *c = (const unsigned char *)canonical_json; *c; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}
