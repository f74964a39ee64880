/* swim_broadcast: the bounded queue of messages that piggyback on every
 * packet (membership changes and user payloads). Each broadcast is kept
 * encoded once, in a bucket of its transmit count; packing takes the least
 * sent first and, within a count, the newest first, up to a retransmit
 * limit. A newer broadcast about a member replaces the older one. User
 * payloads keep a share of every packet so membership chatter cannot starve
 * them. A bucket is kept as one list per encoded length, so that packing
 * skips at once what no longer fits: thousands of queued broadcasts cost a
 * packet no more than the few it carries. */
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

/* Lists are keyed and sorted by (kind, transmit bucket, length). */
#define KEY(user, bucket, len) ((uint32_t)(user) << 24 | (uint32_t)(bucket) << 16 | (uint32_t)(len))
#define KEY_USER(k)            ((k) >> 24)
#define KEY_BUCKET(k)          (((k) >> 16) & 0xff)
#define KEY_LEN(k)             ((size_t)((k)&0xffff))

struct bpick {
    uint64_t stamp;  /* b's, kept here so that the heap stays in cache */
    struct bcast *b; /* the newest broadcast of its list not looked at yet */
    size_t list;     /* index of that list */
};

static uint32_t key_of(const struct bcast *b)
{
    uint32_t k = b->transmits < SWIM_BCAST_BUCKETS ? b->transmits : SWIM_BCAST_BUCKETS - 1;
    return KEY(b->member == UINT32_MAX, k, b->len);
}

/* Index of the first list whose key is key or above. */
static size_t lower_bound(const struct swim *s, uint32_t key)
{
    size_t lo = 0, hi = s->n_blists;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->blists[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the list of key, created empty when there is none. */
static size_t list_get(struct swim *s, uint32_t key)
{
    size_t i = lower_bound(s, key);

    if (i < s->n_blists && s->blists[i].key == key)
        return i;
    if (s->n_blists == s->blists_cap) {
        s->blists_cap = s->blists_cap ? s->blists_cap * 2 : 16;
        s->blists = xrealloc(s->blists, s->blists_cap * sizeof(*s->blists));
    }
    memmove(&s->blists[i + 1], &s->blists[i], (s->n_blists - i) * sizeof(*s->blists));
    s->blists[i] = (struct blist){.key = key};
    s->n_blists++;
    s->n_blists_empty++;
    return i;
}

/* Drops the emptied lists. Not while packing: it moves lists. */
static void lists_sweep(struct swim *s)
{
    size_t w = 0;

    for (size_t i = 0; i < s->n_blists; i++)
        if (s->blists[i].head)
            s->blists[w++] = s->blists[i];
    s->n_blists = w;
    s->n_blists_empty = 0;
}

/* Puts b at the head of its list, as the newest of its bucket. */
static void push_b(struct swim *s, struct bcast *b)
{
    size_t i = list_get(s, key_of(b)); /* may move the lists */
    struct blist *l = &s->blists[i];

    b->stamp = ++s->bcast_stamp;
    b->prev = NULL;
    b->next = l->head;
    if (l->head) {
        l->head->prev = b;
    } else {
        l->tail = b;
        s->n_blists_empty--;
    }
    l->head = b;
}

static void unlink_at(struct swim *s, size_t list, struct bcast *b)
{
    struct blist *l = &s->blists[list];

    if (b->prev)
        b->prev->next = b->next;
    else
        l->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        l->tail = b->prev;
    b->prev = b->next = NULL;
    if (!l->head)
        s->n_blists_empty++;
}

/* Frees a broadcast that is in no list, and counts it out of the queue. */
static void free_b(struct swim *s, struct bcast *b)
{
    if (b->member == UINT32_MAX)
        s->n_user_bcast--;
    else
        s->members[b->member].bcast = NULL;
    s->n_bcast--;
    free(b);
}

static void drop_b(struct swim *s, struct bcast *b)
{
    unlink_at(s, lower_bound(s, key_of(b)), b);
    free_b(s, b);
    if (s->n_blists_empty * 2 > s->n_blists)
        lists_sweep(s);
}

/* The length of the shortest queued broadcast; 0 when none is queued. */
static size_t min_len(const struct swim *s)
{
    size_t least = 0;

    for (size_t i = 0; i < s->n_blists; i++)
        if (s->blists[i].head && (!least || KEY_LEN(s->blists[i].key) < least))
            least = KEY_LEN(s->blists[i].key);
    return least;
}

/* The oldest broadcast of the highest bucket among lists [from, to) (one
 * kind); *bucket gets its bucket. NULL when they are all empty. */
static struct bcast *oldest_most_sent(const struct swim *s, size_t from, size_t to,
                                      uint32_t *bucket)
{
    struct bcast *oldest = NULL;

    for (size_t i = to; i-- > from;) {
        const struct blist *l = &s->blists[i];
        if (!l->head)
            continue;
        if (oldest && KEY_BUCKET(l->key) != *bucket)
            break;
        *bucket = KEY_BUCKET(l->key);
        if (!oldest || l->tail->stamp < oldest->stamp)
            oldest = l->tail;
    }
    return oldest;
}

/* Queue full: drop the most-sent, oldest broadcast. */
static void make_room(struct swim *s)
{
    while (s->n_bcast >= s->cfg.broadcast_queue_max) {
        size_t users = lower_bound(s, KEY(1, 0, 0));
        uint32_t bm = 0, bu = 0;
        struct bcast *m = oldest_most_sent(s, 0, users, &bm);
        struct bcast *u = oldest_most_sent(s, users, s->n_blists, &bu);
        struct bcast *victim = m;

        if (u && (!m || bu > bm || (bu == bm && u->stamp < m->stamp)))
            victim = u;
        if (!victim)
            return;
        drop_b(s, victim);
        s->stats.broadcasts_dropped++;
    }
}

static struct bcast *new_b(const uint8_t *data, size_t len, uint32_t member)
{
    struct bcast *b = xcalloc(1, sizeof(*b) + len);
    b->member = member;
    b->len = (uint16_t)len;
    memcpy(b->data, data, len);
    return b;
}

void bcast_member(struct swim *s, uint32_t member, const struct msg *m)
{
    uint8_t buf[CODEC_PACKET_MAX];
    struct bcast *b;
    int len;

    if (s->join_merge && member != 0)
        return;
    len = codec_encode(m, buf, sizeof(buf), NULL);
    if (len < 0)
        return;
    bcast_forget_member(s, member);
    make_room(s);
    b = new_b(buf, (size_t)len, member);
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
    b = new_b(buf, (size_t)n, UINT32_MAX);
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

/* Packing's max-heap of list heads, newest (highest stamp) on top. */
static void pick_down(struct bpick *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct bpick t;

        if (l < n && h[l].stamp > h[m].stamp)
            m = l;
        if (r < n && h[r].stamp > h[m].stamp)
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Room for parts: what is left of the packet and of the budget. */
static size_t room_left(const struct compound_wr *c, size_t start, size_t budget)
{
    size_t room = c->cap - c->len, left = budget - (c->len - start);
    return room < left ? room : left;
}

/* Takes broadcasts of one kind (user or not) while they fit and space used
 * stays under budget: bucket by bucket, fewest transmits first, and within
 * a bucket the newest that fits, merging the bucket's lists (one per
 * length) by stamp. A list whose length no longer fits is left out whole,
 * and the room only shrinks, so no broadcast is looked at twice: the cost
 * is that of what is sent, not the length of the queue. Sent ones move to
 * the next bucket, or go at the limit. */
static void fill_kind(struct swim *s, struct compound_wr *c, int user, size_t budget)
{
    uint32_t limit = bcast_limit(s);
    struct bcast *moved = NULL; /* collected, re-bucketed after the scan */
    size_t start = c->len, least = codec_compound_cost(min_len(s));
    size_t i = lower_bound(s, KEY(user, 0, 0));

    if (s->pick_cap < s->n_blists) {
        s->pick_cap = s->n_blists;
        s->pick = xrealloc(s->pick, s->pick_cap * sizeof(*s->pick));
    }
    while (i < s->n_blists && KEY_USER(s->blists[i].key) == (uint32_t)user) {
        uint32_t seg = s->blists[i].key >> 16; /* kind and bucket */
        size_t n = 0, room = room_left(c, start, budget);

        if (c->n >= CODEC_COMPOUND_MAX || room < least)
            break;
        for (; i < s->n_blists && s->blists[i].key >> 16 == seg; i++)
            if (s->blists[i].head && codec_compound_cost(KEY_LEN(s->blists[i].key)) <= room)
                s->pick[n++] = (struct bpick){s->blists[i].head->stamp, s->blists[i].head, i};
        for (size_t h = n / 2; h-- > 0;)
            pick_down(s->pick, n, h);
        while (n) {
            struct bpick *top = &s->pick[0];
            struct bcast *b = top->b;

            room = room_left(c, start, budget);
            if (c->n >= CODEC_COMPOUND_MAX || room < least)
                goto full;
            if (codec_compound_cost(b->len) > room) {
                s->pick[0] = s->pick[--n]; /* its whole list is too long now */
                pick_down(s->pick, n, 0);
                continue;
            }
            top->b = b->next;
            if (b->sent_in != s->packet_id && codec_compound_add(c, b->data, b->len) == 0) {
                unlink_at(s, top->list, b);
                b->sent_in = s->packet_id;
                b->transmits++;
                b->next = moved;
                moved = b;
            }
            if (top->b)
                top->stamp = top->b->stamp;
            else
                s->pick[0] = s->pick[--n];
            pick_down(s->pick, n, 0);
        }
    }
full:
    while (moved) {
        struct bcast *b = moved;
        moved = b->next;
        b->next = NULL;
        if (b->transmits >= limit)
            free_b(s, b); /* not in any list now */
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
    if (s->n_blists_empty)
        lists_sweep(s);
}

void bcast_free_all(struct swim *s)
{
    for (size_t i = 0; i < s->n_blists; i++) {
        while (s->blists[i].head) {
            struct bcast *b = s->blists[i].head;
            s->blists[i].head = b->next;
            free(b);
        }
    }
    free(s->blists);
    free(s->pick);
    s->blists = NULL;
    s->pick = NULL;
    s->n_blists = s->blists_cap = s->n_blists_empty = s->pick_cap = 0;
    s->n_bcast = s->n_user_bcast = 0;
}
