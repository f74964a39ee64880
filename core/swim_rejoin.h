/* swim_rejoin: when, and through which addresses, a member joins the
 * cluster, as a pure policy the agent and the simulator share. It holds the
 * join targets (the configured join list and the peers a data directory
 * remembers) and the member's own addresses, which are never targets: a
 * join through one of them would only reach this member itself.
 *
 * - While the member sees no live member but itself, it joins through every
 *   target, again and again, with a backoff from backoff_min_ms doubling to
 *   backoff_max_ms, for as long as that lasts.
 * - Once it sees another member alive, it joins every refresh_interval_ms
 *   through the targets that are not the address of a member it sees alive
 *   (so in a healthy cluster it sends nothing): two groups that each took
 *   the other for left or dead and have stopped talking meet again.
 * Time comes in as an argument; the caller sends the joins (swim_join). */
#ifndef TROUPE_SWIM_REJOIN_H
#define TROUPE_SWIM_REJOIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/swim.h"

#define SWIM_REJOIN_TARGETS_MAX 128
#define SWIM_REJOIN_OWN_MAX     32

struct swim_rejoin_config {
    uint32_t backoff_min_ms;      /* 1000 */
    uint32_t backoff_max_ms;      /* 60000 */
    uint32_t refresh_interval_ms; /* 60000 */
};

enum swim_rejoin_add {
    SWIM_REJOIN_ADDED = 0,
    SWIM_REJOIN_DUPLICATE, /* already a target */
    SWIM_REJOIN_OWN,       /* one of our own addresses: skipped */
    SWIM_REJOIN_FULL,      /* SWIM_REJOIN_TARGETS_MAX reached: dropped */
};

struct swim_rejoin {
    struct swim_rejoin_config cfg;
    struct node_addr own[SWIM_REJOIN_OWN_MAX];
    size_t n_own;
    struct node_addr target[SWIM_REJOIN_TARGETS_MAX];
    size_t n_target;
    uint64_t next_ms;    /* when the next round is due */
    uint32_t backoff_ms; /* the wait after the next round while alone */
    uint32_t attempts;   /* rounds since we last saw no live member but us */
    int alone;           /* at the last round or check: no live member but us */
};

/* Fills c with the defaults: 1 s to 60 s of backoff, a refresh a minute. */
void swim_rejoin_config_default(struct swim_rejoin_config *c);

/* Starts with no target, alone, a first round due at now_ms. */
void swim_rejoin_init(struct swim_rejoin *r, const struct swim_rejoin_config *c, uint64_t now_ms);

/* Adds one of our own addresses (bind, advertise, a local address with the
 * gossip port); returns 0, or -ENOSPC past SWIM_REJOIN_OWN_MAX. Targets
 * already added that match it are removed. */
int swim_rejoin_add_own(struct swim_rejoin *r, const struct node_addr *a);
int swim_rejoin_is_own(const struct swim_rejoin *r, const struct node_addr *a);

/* Adds a join target unless it is ours or already there. */
enum swim_rejoin_add swim_rejoin_add_target(struct swim_rejoin *r, const struct node_addr *a);
void swim_rejoin_clear_targets(struct swim_rejoin *r);

/* Whether a round is due at now_ms: the caller may refresh the targets
 * (remembered peers change) before calling swim_rejoin_round. Also notices
 * that the member just found itself alone and brings the round forward. */
int swim_rejoin_due(struct swim_rejoin *r, uint64_t now_ms, const struct swim *s);

/* Runs the round due at now_ms: writes to out (up to cap) the addresses to
 * join through now and schedules the next round. Returns how many. */
size_t swim_rejoin_round(struct swim_rejoin *r, uint64_t now_ms, const struct swim *s,
                         struct node_addr *out, size_t cap);

/* A join worked (SWIM_EV_JOINED): the backoff starts over. */
void swim_rejoin_joined(struct swim_rejoin *r, uint64_t now_ms);

/* When the next round is due (absolute ms). */
uint64_t swim_rejoin_next(const struct swim_rejoin *r);

/* No live member but ourselves in s (a member that is leaving counts as
 * alone too: it joins nothing). */
int swim_rejoin_alone(const struct swim *s);

#endif
