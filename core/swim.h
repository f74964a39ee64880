/* swim: gossip membership (SWIM with the Lifeguard extensions) as a sans-I/O
 * state machine. The caller feeds it received bytes and the current time and
 * pulls out what to send, the membership events, and the next deadline. It
 * never touches a socket, a clock or global state; randomness comes from the
 * seed in its config, so the same inputs give the same outputs.
 *
 * Transport model, as the driver (agent/ or sim/) must provide it:
 * - SWIM_OUT_UDP: send `data` as one datagram to `to`.
 * - SWIM_OUT_TCP: open a stream to `to`, send `data` as one framed message,
 *   read at most one framed reply, give it to swim_recv_stream (reply may
 *   never come: TCP ping fallback and push-pull tolerate that). If the
 *   connection fails, call swim_stream_failed (it matters for joins).
 * - An inbound stream message goes to swim_recv_stream, which may produce a
 *   reply to write back on the same stream before closing it.
 * Bytes in and out are plaintext codec messages; sealing is the driver's. */
#ifndef TROUPE_SWIM_H
#define TROUPE_SWIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"

enum swim_profile { SWIM_PROFILE_LAN = 0, SWIM_PROFILE_FAST = 1 };

struct swim_config {
    char name[SWIM_NAME_MAX + 1];
    struct node_addr addr; /* advertised address */
    uint16_t tags_len;
    uint8_t tags[SWIM_TAGS_MAX]; /* encoded, see core/tags.h */

    uint32_t probe_interval_ms;     /* 1000 (fast: 200) */
    uint32_t probe_timeout_ms;      /* 500 (fast: 100) */
    uint32_t indirect_checks;       /* k = 3 */
    uint32_t gossip_interval_ms;    /* 200 (fast: 50) */
    uint32_t gossip_fanout;         /* 3 */
    uint32_t gossip_to_dead_ms;     /* keep gossiping to dead members: 30000 */
    uint32_t suspicion_mult;        /* max timeout = this x log10(N+1) x probe interval: 4 */
    uint32_t suspicion_max_mult;    /* max timeout = min timeout x this: 2 */
    uint32_t retransmit_mult;       /* 4 */
    uint32_t pushpull_interval_ms;  /* 30000, scaled up with cluster size */
    uint32_t awareness_max;         /* 8 */
    uint32_t reconnect_interval_ms; /* retry dead members: 30000 */
    uint64_t reap_after_ms;         /* 72 h */
    uint32_t packet_max;            /* CODEC_PACKET_MAX */
    uint32_t broadcast_queue_max;   /* bounded queue, oldest dropped: 4096 */
    uint64_t seed;                  /* for the PRNG */
    /* Our incarnation at start (0: 1). A member that restarts passes one
     * above the highest it had (kept in its data dir), so that its alive
     * beats the left or dead record the cluster holds of it at once. */
    uint32_t incarnation;
};

/* Fills c with the defaults of profile; name, addr and seed stay zero. */
void swim_config_default(struct swim_config *c, enum swim_profile profile);

/* Kept small: a node holds one per member, and a simulator holds N x N. */
struct swim_member {
    const char *name;         /* 1..SWIM_NAME_MAX bytes, NUL-terminated, owned by swim */
    uint8_t *tags;            /* heap, owned by swim; NULL when empty */
    uint64_t state_change_ms; /* when it entered state */
    struct node_addr addr;
    uint32_t incarnation;
    uint16_t tags_len;
    uint8_t state; /* enum swim_state */
};

enum swim_out_kind { SWIM_OUT_UDP = 1, SWIM_OUT_TCP = 2 };

struct swim_out {
    uint8_t kind; /* enum swim_out_kind */
    struct node_addr to;
    uint8_t *data; /* heap; the caller frees with free() */
    size_t len;
};

enum swim_event_kind {
    SWIM_EV_JOIN = 1, /* a member appeared or came back alive */
    SWIM_EV_UPDATE,   /* address or tags changed */
    SWIM_EV_SUSPECT,
    SWIM_EV_DEAD,
    SWIM_EV_LEFT,
    SWIM_EV_REAP,        /* removed from the table */
    SWIM_EV_JOINED,      /* our own join through `addr` succeeded */
    SWIM_EV_JOIN_FAILED, /* our own join through `addr` failed */
    SWIM_EV_REFUTE,      /* we refuted a suspicion about ourselves */
    SWIM_EV_USER,        /* a user broadcast arrived: data/len */
};

struct swim_event {
    uint8_t kind;                 /* enum swim_event_kind */
    char name[SWIM_NAME_MAX + 1]; /* the member concerned */
    struct node_addr addr;
    uint32_t incarnation;
    uint8_t *data; /* SWIM_EV_USER: heap, caller frees */
    size_t len;
};

/* Message kinds are indexed by enum msg_type; index 0 holds types this
 * version does not know (never counted for decoded input). */
#define SWIM_MSG_KINDS (MSG_REPL + 1)

struct swim_stats {
    uint64_t probes, probe_failures, indirect_probes, tcp_fallbacks;
    uint64_t acks_late;          /* acks of our probe after its timeout */
    uint64_t suspicions;         /* members that became suspect in our table */
    uint64_t suspicions_raised;  /* of those, by our own failed probe */
    uint64_t suspicions_refuted; /* suspects of ours that came back alive, refuting */
    uint64_t refutes, deaths;    /* refutes: suspicions of ourselves we refuted */
    /* Datagrams and stream messages, stream replies included. */
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    /* Decoded messages and their bytes, by kind: each part of a compound
     * counts under its own kind; [MSG_COMPOUND] counts the compound
     * envelopes and their framing bytes, so the bytes of every kind add up
     * to the bytes of the messages that decoded (all of bytes_out). */
    uint64_t msgs_in[SWIM_MSG_KINDS], msgs_out[SWIM_MSG_KINDS];
    uint64_t msg_bytes_in[SWIM_MSG_KINDS], msg_bytes_out[SWIM_MSG_KINDS];
    uint64_t decode_errors;      /* malformed input dropped */
    uint64_t broadcasts_dropped; /* queue over broadcast_queue_max */
    uint64_t pushpulls;
    uint64_t stale_corrected; /* stale suspicions answered with the newer alive */
};

struct swim;

/* Creates a node that knows only itself. Returns NULL with a message in e
 * when the config is invalid. Free with swim_free. */
struct swim *swim_new(const struct swim_config *c, uint64_t now_ms, struct err *e);
void swim_free(struct swim *s); /* NULL is a no-op */

/* Runs the timers due at now_ms (probes, timeouts, gossip, suspicion,
 * push-pull, reaping, reconnects). Returns the next deadline (absolute ms). */
uint64_t swim_tick(struct swim *s, uint64_t now_ms);

/* A datagram arrived from `from`. Malformed input is counted and dropped:
 * returns a negative code with a message, and the state is unchanged. */
int swim_recv_packet(struct swim *s, uint64_t now_ms, const struct node_addr *from,
                     const uint8_t *buf, size_t len, struct err *e);

/* A stream message arrived. When reply is not NULL and the message needs a
 * reply (ping over TCP, push-pull request), *reply gets a heap buffer the
 * caller writes back and frees; otherwise *reply is NULL. */
int swim_recv_stream(struct swim *s, uint64_t now_ms, const struct node_addr *from,
                     const uint8_t *buf, size_t len, uint8_t **reply, size_t *reply_len,
                     struct err *e);

/* A SWIM_OUT_TCP to `to` could not connect or got no reply. */
void swim_stream_failed(struct swim *s, uint64_t now_ms, const struct node_addr *to);

/* Starts a join through addr: a push-pull with join=1. SWIM_EV_JOINED or
 * SWIM_EV_JOIN_FAILED reports the outcome; retrying is the caller's. An
 * answer that comes from ourselves (addr was one of our own addresses) is
 * no join: it fails. */
void swim_join(struct swim *s, uint64_t now_ms, const struct node_addr *addr);

/* Graceful leave: broadcasts that we left. The caller keeps driving the
 * machine for a short while so the broadcast goes out, then frees it. */
void swim_leave(struct swim *s, uint64_t now_ms);

/* Replaces our tags (encoded); bumps our incarnation and broadcasts. */
int swim_set_tags(struct swim *s, uint64_t now_ms, const uint8_t *tags, size_t len, struct err *e);

/* Queues an opaque payload to piggyback on gossip (a user broadcast). */
int swim_broadcast_user(struct swim *s, const uint8_t *data, size_t len, struct err *e);

/* Pops the next output; returns 1 when *o was filled, 0 when none is left. */
int swim_poll_out(struct swim *s, struct swim_out *o);
/* Pops the next event; returns 1 when *ev was filled, 0 when none is left. */
int swim_poll_event(struct swim *s, struct swim_event *ev);

/* The member table (ourselves included). Pointers stay valid until the next
 * call that feeds the machine (tick, recv, join, leave). */
size_t swim_member_count(const struct swim *s);
const struct swim_member *swim_member_at(const struct swim *s, size_t i);
const struct swim_member *swim_member_find(const struct swim *s, const char *name);
const struct swim_member *swim_self(const struct swim *s);
/* Members in state `state`, ourselves included. */
size_t swim_count_state(const struct swim *s, enum swim_state state);

/* Lifeguard local health score: 0 (healthy) .. awareness_max. */
uint32_t swim_awareness(const struct swim *s);
const struct swim_stats *swim_stats(const struct swim *s);
/* Broadcasts waiting in the queue (user: of them, user payloads). */
size_t swim_broadcasts_queued(const struct swim *s, size_t *user);
/* "ping", "ack", ... for an enum msg_type; "other" for index 0 or unknown. */
const char *swim_msg_kind_name(unsigned kind);
const struct swim_config *swim_config(const struct swim *s);

const char *swim_state_name(enum swim_state st); /* "alive", "suspect", ... */

#endif
