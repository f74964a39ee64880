/* retry_budget: how many retries a route may make, as linkerd's budget:
 * within a sliding window of RBUDGET_WINDOW_S seconds, retries are at most
 * percent % of the first tries plus per_s retries per second of the
 * window. A failing endpoint then costs at most that much extra load,
 * however many callers retry. Pure: time comes in as an argument. */
#ifndef TROUPE_RETRY_BUDGET_H
#define TROUPE_RETRY_BUDGET_H

#include <stdint.h>

#define RBUDGET_WINDOW_S 10 /* seconds, one bucket each */

struct rbudget {
    uint32_t percent;                   /* of first tries */
    uint32_t per_s;                     /* retries per second allowed anyway */
    uint64_t second[RBUDGET_WINDOW_S];  /* which second (now_ms / 1000) each bucket holds */
    uint32_t tries[RBUDGET_WINDOW_S];   /* first tries in that second */
    uint32_t retries[RBUDGET_WINDOW_S]; /* retries in that second */
};

void rbudget_init(struct rbudget *b, uint32_t percent, uint32_t per_s);
/* A first try (a request) at now_ms: adds to the budget. */
void rbudget_request(struct rbudget *b, uint64_t now_ms);
/* A retry wanted at now_ms: 1 and spent when the budget allows it, else 0. */
int rbudget_retry(struct rbudget *b, uint64_t now_ms);
/* Retries the budget allows at now_ms (for the API and tests). */
uint64_t rbudget_left(struct rbudget *b, uint64_t now_ms);

#endif
