/* swim_broadcast: the bounded queue of messages that piggyback on every
 * packet (membership changes and user payloads). Each broadcast is kept
 * encoded once, in a bucket of its transmit count; packing takes the least
 * sent first and, within a count, the newest first. A newer broadcast about a
 * member replaces the older one. User payloads keep a share of every packet
 * so membership chatter cannot starve them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/swim_internal.h"

#define USER_SHARE_DIV 4 /* user payloads may take at least 1/4 of a packet first */

uint32_t bcast_limit(const struct swim *s)
{
    double n = (double)swim_live_count(s) + 1.0;
    uint32_t lim = s->cfg.retransmit_mult * (uint32_t)ceil(log10(n));
    if (lim < 1)
        lim = 1;
    if (lim >= SWIM_BCAST_BUCKETS)
        lim = SWIM_BCAST_BUCKETS - 1;
    return lim;
}

static void unlink_b(struct swim *s, struct bcast *b)
{
    uint32_t k = b->transmits < SWIM_BCAST_BUCKETS ? b->transmits : SWIM_BCAST_BUCKETS - 1;
    if (b->prev)
        b->prev->next = b->next;
    else
        s->bucket[k] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        s->bucket_tail[k] = b->prev;
    b->prev = b->next = NULL;
}

static void push_b(struct swim *s, struct bcast *b)
{
    uint32_t k = b->transmits < SWIM_BCAST_BUCKETS ? b->transmits : SWIM_BCAST_BUCKETS - 1;
    b->prev = NULL;
    b->next = s->bucket[k];
    if (b->next)
        b->next->prev = b;
    else
        s->bucket_tail[k] = b;
    s->bucket[k] = b;
}

/* Frees a broadcast that is in no bucket, and counts it out of the queue. */
static void free_b(struct swim *s, struct bcast *b)
{
    if (b->member == UINT32_MAX)
        s->n_user_bcast--;
    else
        s->members[b->member].bcast = NULL;
    s->n_bcast--;
    s->bcast_len_count[b->len]--;
    free(b);
}

static void drop_b(struct swim *s, struct bcast *b)
{
    unlink_b(s, b);
    free_b(s, b);
}

/* The length of the shortest queued broadcast; 0 when none is queued. */
static size_t min_len(const struct swim *s)
{
    for (size_t l = 0; l <= CODEC_PACKET_MAX; l++)
        if (s->bcast_len_count[l])
            return l;
    return 0;
}

/* Queue full: drop the most-sent, oldest broadcast. */
static void make_room(struct swim *s)
{
    while (s->n_bcast >= s->cfg.broadcast_queue_max) {
        struct bcast *victim = NULL;
        for (int k = SWIM_BCAST_BUCKETS - 1; k >= 0 && !victim; k--)
            victim = s->bucket_tail[k];
        if (!victim)
            return;
        drop_b(s, victim);
        s->stats.broadcasts_dropped++;
    }
}

static struct bcast *new_b(struct swim *s, const uint8_t *data, size_t len, uint32_t member)
{
    struct bcast *b = xcalloc(1, sizeof(*b) + len);
    s->bcast_len_count[len]++;
    b->member = member;
    b->len = (uint16_t)len;
    memcpy(b->data, data, len);
    return b;
}

void bcast_member(struct swim *s, uint32_t member, const struct msg *m)
{
    uint8_t buf[CODEC_PACKET_MAX];
    int len = codec_encode(m, buf, sizeof(buf), NULL);
    struct bcast *b;

    if (len < 0)
        return;
    bcast_forget_member(s, member);
    make_room(s);
    b = new_b(s, buf, (size_t)len, member);
    s->members[member].bcast = b;
    push_b(s, b);
    s->n_bcast++;
}

int bcast_user(struct swim *s, const uint8_t *data, size_t len)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct msg m = {.type = MSG_USER};
    struct bcast *b;
    int n;

    m.u.user.len = (uint16_t)len;
    m.u.user.data = data;
    n = codec_encode(&m, buf, sizeof(buf), NULL);
    if (n < 0)
        return n;
    make_room(s);
    b = new_b(s, buf, (size_t)n, UINT32_MAX);
    push_b(s, b);
    s->n_bcast++;
    s->n_user_bcast++;
    return 0;
}

void bcast_forget_member(struct swim *s, uint32_t member)
{
    if (s->members[member].bcast)
        drop_b(s, s->members[member].bcast);
}

void bcast_renumber(struct swim *s, uint32_t to)
{
    struct bcast *b = s->members[to].bcast;
    if (b)
        b->member = to;
}

/* While a packet is packed from a long queue: how many queued broadcasts
 * not looked at yet would still fit. Packing stops when none would, which
 * gives the same packet as walking the rest of the queue. */
#define FIT_TRACK_MIN 128 /* shorter queues are simply walked */

struct fit {
    size_t avail;     /* bytes left for parts, each with its 2-byte length */
    size_t remaining; /* broadcasts not looked at yet that fit in avail */
    uint32_t seen[CODEC_PACKET_MAX + 1]; /* looked at, per length */
};

static void fit_init(const struct swim *s, struct fit *f, size_t avail)
{
    f->avail = avail;
    f->remaining = 0;
    for (size_t l = 0; l + 2 <= avail && l <= CODEC_PACKET_MAX; l++)
        f->remaining += s->bcast_len_count[l];
    memset(f->seen, 0, sizeof(f->seen));
}

static void fit_seen(struct fit *f, size_t len)
{
    f->seen[len]++;
    if (len + 2 <= f->avail)
        f->remaining--;
}

/* avail fell: broadcasts not looked at yet that no longer fit drop out. */
static void fit_shrink(const struct swim *s, struct fit *f, size_t avail)
{
    for (size_t l = avail >= 1 ? avail - 1 : 0; l + 2 <= f->avail && l <= CODEC_PACKET_MAX; l++)
        f->remaining -= s->bcast_len_count[l] - f->seen[l];
    f->avail = avail;
}

/* Takes broadcasts of one kind (user or not) while they fit and space used
 * stays under budget. Sent ones move to the next bucket, or go at the limit. */
static void fill_kind(struct swim *s, struct compound_wr *c, int user, size_t budget)
{
    uint32_t limit = bcast_limit(s);
    struct bcast *moved = NULL; /* collected, re-bucketed after the scan */
    size_t start = c->len, least = codec_compound_cost(min_len(s));
    struct fit *f = NULL, fit;

    if (s->n_bcast >= FIT_TRACK_MIN) {
        size_t room = c->cap - c->len;
        f = &fit;
        fit_init(s, f, room < budget ? room : budget);
    }
    for (uint32_t k = 0; k < SWIM_BCAST_BUCKETS; k++) {
        struct bcast *b = s->bucket[k], *next;
        for (; b; b = next) {
            size_t room = c->cap - c->len, left = budget - (c->len - start);
            next = b->next;
            /* full: no queued broadcast could be added any more */
            if (c->n >= CODEC_COMPOUND_MAX || (room < left ? room : left) < least ||
                (f && f->remaining == 0))
                goto full;
            if (f)
                fit_seen(f, b->len);
            if ((b->member == UINT32_MAX) != user || b->sent_in == s->packet_id)
                continue;
            if (c->len - start + codec_compound_cost(b->len) > budget)
                continue;
            if (codec_compound_add(c, b->data, b->len) < 0)
                continue;
            if (f) {
                room = c->cap - c->len;
                left = budget - (c->len - start);
                fit_shrink(s, f, room < left ? room : left);
            }
            unlink_b(s, b);
            b->sent_in = s->packet_id;
            b->transmits++;
            b->next = moved;
            moved = b;
        }
    }
full:
    while (moved) {
        struct bcast *b = moved;
        moved = b->next;
        b->next = NULL;
        if (b->transmits >= limit)
            free_b(s, b); /* not in any bucket now */
        else
            push_b(s, b);
    }
}

void bcast_fill(struct swim *s, struct compound_wr *c)
{
    if (!s->n_bcast)
        return;
    s->packet_id++;
    if (s->n_user_bcast)
        fill_kind(s, c, 1, (c->cap - c->len) / USER_SHARE_DIV);
    fill_kind(s, c, 0, SIZE_MAX);
    if (s->n_user_bcast)
        fill_kind(s, c, 1, SIZE_MAX);
}

void bcast_free_all(struct swim *s)
{
    for (int k = 0; k < SWIM_BCAST_BUCKETS; k++) {
        while (s->bucket[k]) {
            struct bcast *b = s->bucket[k];
            s->bucket[k] = b->next;
            s->bcast_len_count[b->len]--;
            free(b);
        }
        s->bucket_tail[k] = NULL;
    }
    s->n_bcast = s->n_user_bcast = 0;
}
