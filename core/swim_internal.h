/* swim_internal: the state shared by the files of core/swim: swim.c for
 * the member table, probes and messages, swim_broadcast.c for the piggyback
 * queue, swim_suspicion.c for Lifeguard suspicion timers, swim_awareness.c
 * for local health awareness, swim_rand.c for the seeded generator. Not a
 * public interface: nothing outside core/swim*.c includes it. */
#ifndef TROUPE_SWIM_INTERNAL_H
#define TROUPE_SWIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/swim.h"

#define SWIM_RELAYS_MAX    64 /* indirect probes we run for others at once */
#define SWIM_JOINS_MAX     64 /* joins in flight */
#define SWIM_CONFIRM_MAX   8  /* distinct confirmations of one suspicion kept */
#define SWIM_EVENTS_MAX    65536
#define SWIM_BCAST_BUCKETS 64       /* broadcasts are bucketed by times sent */
#define SWIM_MEMBERS_MAX   0xfffffe /* the member index keeps 24 bits per entry */

struct bcast {
    struct bcast *prev, *next; /* in its list (kind, bucket, length), newest first */
    uint64_t stamp;            /* when it entered its bucket: higher is newer */
    uint32_t member;           /* index of the member it is about, UINT32_MAX: user */
    uint32_t transmits;
    uint32_t sent_in; /* packet id it last went out in */
    uint16_t len;
    uint8_t data[]; /* one encoded message */
};

/* The queued broadcasts of one kind (user or membership), one transmit
 * bucket and one encoded length, newest first. Packing merges the lists of
 * a bucket by stamp and leaves out whole lists too long for the room left,
 * so it never walks broadcasts it cannot send. */
struct blist {
    struct bcast *head, *tail; /* newest, oldest; both NULL once emptied */
    uint32_t key;              /* user << 24 | bucket << 16 | length: the sort order */
};

struct bpick; /* swim_broadcast.c */

struct suspicion {
    uint64_t start_ms;
    uint64_t deadline_ms;
    uint64_t recheck_ms;            /* halfway to the deadline: gossip it again; 0: no more */
    char origin[SWIM_NAME_MAX + 1]; /* who suspected first: not a confirmation */
    uint32_t n_confirm;             /* others who suspected it on their own since */
    char confirm[SWIM_CONFIRM_MAX][SWIM_NAME_MAX + 1];
};

struct member {
    struct swim_member m;   /* the public view: swim_member_at returns &m */
    struct bcast *bcast;    /* the queued broadcast about this member, if any */
    struct suspicion *susp; /* while suspect */
};

struct relay {
    uint32_t our_seq;   /* seq of the ping we sent to the target */
    uint32_t their_seq; /* seq the requester waits for */
    struct node_addr requester;
    uint64_t deadline_ms;
    uint8_t want_nack;
    uint8_t used;
};

struct probe {
    int active;
    uint32_t seq;
    uint32_t target; /* member index */
    char target_name[SWIM_NAME_MAX + 1];
    uint64_t timeout_ms; /* no ack by then: indirect probes */
    uint64_t end_ms;     /* no ack by then: suspect */
    int indirect_sent;
    int acked;
    int late_counted; /* an ack after the probe ended was counted (stats only) */
    uint32_t nacks_expected, nacks_got;
};

struct swim {
    struct swim_config cfg;
    uint64_t rng;

    struct member *members; /* members[0] is ourselves */
    size_t n, cap;
    /* the members' names, NUL-terminated one after the other; compacted when
     * reaped members leave more than half of it unused */
    char *names;
    size_t names_len, names_cap, names_unused;
    uint32_t *hash; /* open addressing: tag << 24 | member index + 1, 0 = empty */
    size_t hash_cap;
    size_t count[4]; /* members per state */

    uint32_t *order; /* probe order: member indexes */
    size_t order_n, order_pos;

    struct probe probe;
    uint64_t next_probe_ms;
    uint64_t next_gossip_ms;
    uint64_t next_pushpull_ms;
    uint64_t next_reconnect_ms;
    uint64_t next_reap_ms;
    uint64_t next_suspicion_ms; /* earliest suspicion deadline, UINT64_MAX: none */
    uint32_t seq;
    uint32_t awareness;
    int leaving;

    const struct node_addr *packet_from; /* source of the datagram being handled, else NULL */
    int join_merge; /* merging the state our first join brought: nothing to gossip */

    struct relay relays[SWIM_RELAYS_MAX];
    struct node_addr joins[SWIM_JOINS_MAX];
    size_t n_joins;

    /* broadcast queue: lists sorted by key (kind, transmit bucket, length) */
    struct blist *blists;
    size_t n_blists, blists_cap, n_blists_empty;
    struct bpick *pick; /* packing's scratch: one entry per list of a bucket */
    size_t pick_cap;
    size_t n_bcast, n_user_bcast;
    uint64_t bcast_stamp;
    uint32_t packet_id;

    struct swim_out *out;
    size_t out_n, out_cap, out_pos;
    struct swim_event *ev;
    size_t ev_n, ev_cap, ev_pos;

    struct swim_stats stats;
};

static inline uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* swim_broadcast.c */
void bcast_member(struct swim *s, uint32_t member, const struct msg *m);
int bcast_user(struct swim *s, const uint8_t *data, size_t len);
void bcast_forget_member(struct swim *s, uint32_t member);
void bcast_renumber(struct swim *s, uint32_t to);
/* Appends queued broadcasts to c while they fit; counts a transmission each. */
void bcast_fill(struct swim *s, struct compound_wr *c);
void bcast_free_all(struct swim *s);
uint32_t bcast_limit(const struct swim *s);

/* swim_suspicion.c */
/* A suspicion started now by `origin`, its timers armed; the caller stores
 * it in the member (freed with it, or when the member leaves suspect). */
struct suspicion *suspicion_new(struct swim *s, uint64_t now, const char *origin);
/* Counts `from` as one more member that suspects m on its own; 1 if new. */
int suspicion_confirm(struct swim *s, uint64_t now, struct member *m, const char *from);
/* Declares dead the suspects whose time ran out, gossips again those due. */
void suspicion_tick(struct swim *s, uint64_t now);

/* swim_awareness.c: the Lifeguard score, 0 (healthy) .. awareness_max */
/* ms stretched by the score: what a probe interval or timeout takes now. */
uint32_t awareness_scale(const struct swim *s, uint32_t ms);
void awareness_probe_failed(struct swim *s, uint32_t nacks_expected, uint32_t nacks_got);
void awareness_probe_acked(struct swim *s);
void awareness_refuted(struct swim *s);

/* swim_rand.c: splitmix64 seeded with swim_config.seed */
uint64_t swim_rand_next(struct swim *s);
/* 0 .. n - 1, 0 when n is 0. */
size_t swim_rand_below(struct swim *s, size_t n);

/* swim.c */
size_t swim_live_count(const struct swim *s);
/* Queues a MSG_SUSPECT or MSG_DEAD about member idx, as `from` said it. */
void swim_broadcast_suspect(struct swim *s, uint8_t type, uint32_t idx, uint32_t inc,
                            const char *from);
/* Marks member idx dead (MSG_DEAD) or left (MSG_LEAVE) at incarnation inc,
 * gossips it and tells the caller; no-op if it already is. */
void swim_declare(struct swim *s, uint64_t now, uint32_t idx, uint8_t type, uint32_t inc,
                  const char *from);

#endif
