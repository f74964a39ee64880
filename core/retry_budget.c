/* retry_budget: the sliding-window retry budget (see retry_budget.h). One
 * bucket per second of the window; a bucket whose second has passed out of
 * the window is emptied when it is next used. */
#include "core/retry_budget.h"

#include <string.h>

void rbudget_init(struct rbudget *b, uint32_t percent, uint32_t per_s)
{
    memset(b, 0, sizeof(*b));
    b->percent = percent;
    b->per_s = per_s;
}

/* The bucket of now's second, emptied if it held an older second. */
static unsigned bucket(struct rbudget *b, uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000;
    unsigned i = (unsigned)(sec % RBUDGET_WINDOW_S);

    if (b->second[i] != sec) {
        b->second[i] = sec;
        b->tries[i] = 0;
        b->retries[i] = 0;
    }
    return i;
}

void rbudget_request(struct rbudget *b, uint64_t now_ms)
{
    unsigned i = bucket(b, now_ms);

    if (b->tries[i] < UINT32_MAX)
        b->tries[i]++;
}

uint64_t rbudget_left(struct rbudget *b, uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000, tries = 0, retries = 0, allowed;

    (void)bucket(b, now_ms);
    for (unsigned i = 0; i < RBUDGET_WINDOW_S; i++) {
        if (b->second[i] + RBUDGET_WINDOW_S <= sec || b->second[i] > sec)
            continue; /* out of the window */
        tries += b->tries[i];
        retries += b->retries[i];
    }
    allowed = tries * b->percent / 100 + (uint64_t)b->per_s * RBUDGET_WINDOW_S;
    return allowed > retries ? allowed - retries : 0;
}

int rbudget_retry(struct rbudget *b, uint64_t now_ms)
{
    unsigned i;

    if (rbudget_left(b, now_ms) == 0)
        return 0;
    i = bucket(b, now_ms);
    if (b->retries[i] < UINT32_MAX)
        b->retries[i]++;
    return 1;
}
