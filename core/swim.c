/* swim: the membership table and the SWIM + Lifeguard protocol around it:
 * probing, indirect probes, suspecting, refutation, push-pull and reaping.
 * Pure: time comes in as arguments, randomness from the seeded generator,
 * bytes in and out through queues the caller drains. The piggyback queue is
 * in swim_broadcast.c, suspicion timers in swim_suspicion.c, local health
 * awareness in swim_awareness.c, the generator in swim_rand.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/swim_internal.h"
#include "core/tags.h"

#define PROTO_VERSION 1
#define REAP_CHECK_MS 1000

/* ---- small helpers ---- */

static uint32_t hash_name(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h;
}

/* Copies a member's name into a message field of SWIM_NAME_MAX + 1 bytes. */
static void name_cpy(char *dst, const char *name)
{
    size_t len = strnlen(name, SWIM_NAME_MAX);
    memcpy(dst, name, len);
    dst[len] = '\0';
}

size_t swim_live_count(const struct swim *s)
{
    return s->count[SWIM_ALIVE] + s->count[SWIM_SUSPECT];
}

/* ---- counters ---- */

/* Counts the messages of one encoded buffer, by kind, into msgs/bytes: a
 * compound's parts under their own kinds, its envelope and framing under
 * MSG_COMPOUND. Reads only what the codec wrote or already checked, but
 * stays within len whatever the bytes say. */
static void count_kinds(uint64_t *msgs, uint64_t *bytes, const uint8_t *buf, size_t len)
{
    size_t pos = 3, parts = 0;
    unsigned kind;

    if (len < 2)
        return;
    kind = buf[1] < SWIM_MSG_KINDS ? buf[1] : 0;
    if (kind != MSG_COMPOUND || len < 3) {
        msgs[kind]++;
        bytes[kind] += len;
        return;
    }
    for (unsigned i = 0; i < buf[2] && pos + 2 <= len; i++) {
        size_t plen = (size_t)buf[pos] << 8 | buf[pos + 1];
        unsigned pk;
        if (plen < 2 || pos + 2 + plen > len)
            break;
        pk = buf[pos + 3] < SWIM_MSG_KINDS ? buf[pos + 3] : 0;
        msgs[pk]++;
        bytes[pk] += plen;
        parts += plen;
        pos += 2 + plen;
    }
    msgs[MSG_COMPOUND]++;
    bytes[MSG_COMPOUND] += len - parts;
}

static void count_out(struct swim *s, const uint8_t *data, size_t len)
{
    s->stats.packets_out++;
    s->stats.bytes_out += len;
    count_kinds(s->stats.msgs_out, s->stats.msg_bytes_out, data, len);
}

/* ---- outputs and events ---- */

static void out_push(struct swim *s, uint8_t kind, const struct node_addr *to, const uint8_t *data,
                     size_t len)
{
    struct swim_out *o;

    if (s->out_n == s->out_cap) {
        s->out_cap = s->out_cap ? s->out_cap * 2 : 16;
        s->out = xrealloc(s->out, s->out_cap * sizeof(*s->out));
    }
    o = &s->out[s->out_n++];
    o->kind = kind;
    o->to = *to;
    o->data = xmemdup(data, len);
    o->len = len;
    count_out(s, data, len);
}

static struct swim_event *event(struct swim *s, uint8_t kind, const struct swim_member *m)
{
    struct swim_event *ev;

    if (s->ev_n - s->ev_pos >= SWIM_EVENTS_MAX)
        return NULL; /* the caller stopped draining; membership itself is unaffected */
    if (s->ev_n == s->ev_cap) {
        s->ev_cap = s->ev_cap ? s->ev_cap * 2 : 16;
        s->ev = xrealloc(s->ev, s->ev_cap * sizeof(*s->ev));
    }
    ev = &s->ev[s->ev_n++];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    if (m) {
        name_cpy(ev->name, m->name);
        ev->addr = m->addr;
        ev->incarnation = m->incarnation;
    }
    return ev;
}

static void event_addr(struct swim *s, uint8_t kind, const struct node_addr *addr)
{
    struct swim_event *ev = event(s, kind, NULL);
    if (ev)
        ev->addr = *addr;
}

/* Queues drained: a queue that a burst grew (a join that tells thousands of
 * members at once) gives its memory back instead of keeping it for good. */
#define QUEUE_KEEP 64

int swim_poll_out(struct swim *s, struct swim_out *o)
{
    if (s->out_pos == s->out_n) {
        s->out_pos = s->out_n = 0;
        if (s->out_cap > QUEUE_KEEP) {
            free(s->out);
            s->out = NULL;
            s->out_cap = 0;
        }
        return 0;
    }
    *o = s->out[s->out_pos++];
    return 1;
}

int swim_poll_event(struct swim *s, struct swim_event *ev)
{
    if (s->ev_pos == s->ev_n) {
        s->ev_pos = s->ev_n = 0;
        if (s->ev_cap > QUEUE_KEEP) {
            free(s->ev);
            s->ev = NULL;
            s->ev_cap = 0;
        }
        return 0;
    }
    *ev = s->ev[s->ev_pos++];
    return 1;
}

/* Sends msg with as many broadcasts as fit, as one UDP packet. */
static void send_udp(struct swim *s, const struct node_addr *to, const struct msg *m)
{
    uint8_t part[CODEC_PACKET_MAX], pkt[CODEC_PACKET_MAX];
    struct compound_wr c;
    int len = 0;
    size_t n;

    codec_compound_begin(&c, pkt, s->cfg.packet_max);
    if (m) {
        len = codec_encode(m, part, sizeof(part), NULL);
        if (len < 0 || codec_compound_add(&c, part, (size_t)len) < 0)
            return;
    }
    bcast_fill(s, &c);
    n = codec_compound_finish(&c);
    if (n)
        out_push(s, SWIM_OUT_UDP, to, pkt, n);
}

static void send_tcp(struct swim *s, const struct node_addr *to, const struct msg *m)
{
    struct err e;
    int len = codec_size(m, &e);
    uint8_t *buf;

    if (len < 0)
        return;
    buf = xmalloc((size_t)len);
    if (codec_encode(m, buf, (size_t)len, &e) == len)
        out_push(s, SWIM_OUT_TCP, to, buf, (size_t)len);
    free(buf);
}

/* ---- the member table ---- */

/* The member index is open addressing over uint32 slots: the low 24 bits
 * hold index + 1 (0: empty), the high 8 bits a tag from the name's hash, so
 * that probing past other names rarely has to read them. Load stays at most
 * 3/4. */
#define HASH_IDX_MASK 0xffffffu

static uint32_t hash_slot(uint32_t h, uint32_t idx)
{
    return (h & ~HASH_IDX_MASK) | (idx + 1);
}

static void hash_put(struct swim *s, uint32_t idx)
{
    uint32_t h = hash_name(s->members[idx].m.name);
    size_t i = h & (s->hash_cap - 1);

    while (s->hash[i])
        i = (i + 1) & (s->hash_cap - 1);
    s->hash[i] = hash_slot(h, idx);
}

static void hash_rebuild(struct swim *s)
{
    size_t cap = 64;
    while (cap * 3 < s->n * 4)
        cap *= 2;
    free(s->hash);
    s->hash = xcalloc(cap, sizeof(*s->hash));
    s->hash_cap = cap;
    for (size_t i = 0; i < s->n; i++)
        hash_put(s, (uint32_t)i);
}

static struct member *find(const struct swim *s, const char *name, uint32_t *idx)
{
    uint32_t h = hash_name(name), tag = h & ~HASH_IDX_MASK;
    size_t i = h & (s->hash_cap - 1);

    for (; s->hash[i]; i = (i + 1) & (s->hash_cap - 1)) {
        uint32_t slot = s->hash[i];
        struct member *m;
        if ((slot & ~HASH_IDX_MASK) != tag)
            continue;
        m = &s->members[(slot & HASH_IDX_MASK) - 1];
        if (strcmp(m->m.name, name) == 0) {
            if (idx)
                *idx = (slot & HASH_IDX_MASK) - 1;
            return m;
        }
    }
    return NULL;
}

static void set_state(struct swim *s, struct member *m, uint8_t st, uint64_t now)
{
    s->count[m->m.state]--;
    m->m.state = st;
    m->m.state_change_ms = now;
    s->count[st]++;
    if (st != SWIM_SUSPECT) {
        free(m->susp);
        m->susp = NULL;
    }
}

static void set_tags(struct member *m, const uint8_t *tags, uint16_t len)
{
    free(m->m.tags);
    m->m.tags = len ? xmemdup(tags, len) : NULL;
    m->m.tags_len = len;
}

static int tags_differ(const struct member *m, const uint8_t *tags, uint16_t len)
{
    return m->m.tags_len != len || (len && memcmp(m->m.tags, tags, len) != 0);
}

/* Moves the names into a buffer of cap bytes, dropping those of reaped
 * members, and points every member at its name there. */
static void names_repack(struct swim *s, size_t cap)
{
    char *buf = xmalloc(cap);
    size_t len = 0;

    for (size_t i = 0; i < s->n; i++) {
        size_t l = strlen(s->members[i].m.name) + 1;
        memcpy(buf + len, s->members[i].m.name, l);
        s->members[i].m.name = buf + len;
        len += l;
    }
    free(s->names);
    s->names = buf;
    s->names_len = len;
    s->names_cap = cap;
    s->names_unused = 0;
}

/* Stores a copy of name for a member about to be added (s->n not counting it). */
static const char *names_add(struct swim *s, const char *name)
{
    size_t l = strnlen(name, SWIM_NAME_MAX);
    char *p;

    if (s->names_len + l + 1 > s->names_cap) {
        size_t cap = s->names_cap ? s->names_cap : 256;
        while (cap < (s->names_len - s->names_unused + l + 1) * 2)
            cap *= 2;
        names_repack(s, cap);
    }
    p = s->names + s->names_len;
    memcpy(p, name, l);
    p[l] = '\0';
    s->names_len += l + 1;
    return p;
}

static uint32_t add_member(struct swim *s, const char *name, const struct node_addr *addr,
                           uint32_t inc, uint64_t now)
{
    struct member *m;
    const char *stored = names_add(s, name);
    uint32_t idx;

    if (s->n == s->cap) {
        /* grow by half: at thousands of members, doubling wastes too much */
        s->cap = s->cap ? s->cap + s->cap / 2 : 16;
        s->members = xrealloc(s->members, s->cap * sizeof(*s->members));
        s->order = xrealloc(s->order, s->cap * sizeof(*s->order));
    }
    idx = (uint32_t)s->n++;
    m = &s->members[idx];
    memset(m, 0, sizeof(*m));
    m->m.name = stored;
    m->m.addr = *addr;
    m->m.incarnation = inc;
    m->m.state = SWIM_ALIVE;
    m->m.state_change_ms = now;
    s->count[SWIM_ALIVE]++;
    if (s->n * 4 > s->hash_cap * 3)
        hash_rebuild(s);
    else
        hash_put(s, idx);
    /* A new member goes to a random place among those not yet probed this
     * round; the member that was there moves to the end of the round (a
     * swap, not a shift: joins stay O(1) at thousands of members). */
    if (idx > 0) {
        size_t pos = s->order_pos + swim_rand_below(s, s->order_n - s->order_pos + 1);
        s->order[s->order_n] = pos < s->order_n ? s->order[pos] : idx;
        s->order[pos] = idx;
        s->order_n++;
    }
    return idx;
}

static void shuffle_order(struct swim *s)
{
    s->order_n = 0;
    for (size_t i = 1; i < s->n; i++)
        s->order[s->order_n++] = (uint32_t)i;
    for (size_t i = s->order_n; i > 1; i--) {
        size_t j = swim_rand_below(s, i);
        uint32_t t = s->order[i - 1];
        s->order[i - 1] = s->order[j];
        s->order[j] = t;
    }
    s->order_pos = 0;
}

static void remove_member(struct swim *s, uint32_t idx)
{
    struct member *m = &s->members[idx];
    uint32_t last = (uint32_t)s->n - 1;

    bcast_forget_member(s, idx);
    s->count[m->m.state]--;
    s->names_unused += strlen(m->m.name) + 1;
    free(m->m.tags);
    free(m->susp);
    if (idx != last) {
        s->members[idx] = s->members[last];
        bcast_renumber(s, idx);
    }
    s->n--;
    if (s->probe.active && s->probe.target == last)
        s->probe.target = idx;
    else if (s->probe.active && s->probe.target == idx)
        s->probe.active = 0;
    if (s->names_unused > s->names_len / 2)
        names_repack(s, s->names_cap);
    hash_rebuild(s);
    shuffle_order(s);
}

static const struct member *self_m(const struct swim *s)
{
    return &s->members[0];
}

/* ---- broadcasting our view ---- */

static void fill_alive(const struct member *m, struct msg *out)
{
    memset(out, 0, sizeof(*out));
    out->type = MSG_ALIVE;
    out->u.alive.incarnation = m->m.incarnation;
    name_cpy(out->u.alive.node, m->m.name);
    out->u.alive.addr = m->m.addr;
    out->u.alive.proto_min = PROTO_VERSION;
    out->u.alive.proto_max = PROTO_VERSION;
    out->u.alive.tags_len = m->m.tags_len;
    if (m->m.tags_len)
        memcpy(out->u.alive.tags, m->m.tags, m->m.tags_len);
}

static void broadcast_alive(struct swim *s, uint32_t idx)
{
    struct msg m;
    fill_alive(&s->members[idx], &m);
    bcast_member(s, idx, &m);
}

void swim_broadcast_suspect(struct swim *s, uint8_t type, uint32_t idx, uint32_t inc,
                            const char *from)
{
    struct msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.u.suspect.incarnation = inc;
    name_cpy(m.u.suspect.node, s->members[idx].m.name);
    memcpy(m.u.suspect.from, from, strnlen(from, SWIM_NAME_MAX));
    bcast_member(s, idx, &m);
}

/* Someone says we are suspect, dead or gone: say louder that we are alive. */
static void refute(struct swim *s, uint32_t inc)
{
    struct member *me = &s->members[0];

    if (s->leaving)
        return;
    me->m.incarnation = (inc > me->m.incarnation ? inc : me->m.incarnation) + 1;
    awareness_refuted(s);
    s->stats.refutes++;
    broadcast_alive(s, 0);
    event(s, SWIM_EV_REFUTE, &me->m);
}

/* ---- applying what others say ---- */

static void on_alive(struct swim *s, uint64_t now, const struct msg_alive *a)
{
    uint32_t idx;
    struct member *m = find(s, a->node, &idx);

    if (!m) {
        if (s->leaving || s->n >= SWIM_MEMBERS_MAX)
            return;
        idx = add_member(s, a->node, &a->addr, a->incarnation, now);
        m = &s->members[idx];
        set_tags(m, a->tags, a->tags_len);
        broadcast_alive(s, idx);
        event(s, SWIM_EV_JOIN, &m->m);
        return;
    }
    if (idx == 0) {
        /* about ourselves: only an alive that is not ours needs an answer */
        if (a->incarnation >= m->m.incarnation &&
            (!node_addr_eq(&a->addr, &m->m.addr) || tags_differ(m, a->tags, a->tags_len)))
            refute(s, a->incarnation);
        return;
    }
    /* Only a newer incarnation changes a member; that is also how a machine
     * that came back under the same name at a new address is accepted. */
    if (a->incarnation <= m->m.incarnation)
        return;
    {
        int was_down = m->m.state == SWIM_DEAD || m->m.state == SWIM_LEFT;
        int changed = !node_addr_eq(&a->addr, &m->m.addr) || tags_differ(m, a->tags, a->tags_len);
        m->m.incarnation = a->incarnation;
        m->m.addr = a->addr;
        set_tags(m, a->tags, a->tags_len);
        if (m->m.state == SWIM_SUSPECT)
            s->stats.suspicions_refuted++;
        if (m->m.state != SWIM_ALIVE)
            set_state(s, m, SWIM_ALIVE, now);
        broadcast_alive(s, idx);
        if (was_down)
            event(s, SWIM_EV_JOIN, &m->m);
        else if (changed)
            event(s, SWIM_EV_UPDATE, &m->m);
    }
}

/* A suspicion or death at an incarnation older than the one we know alive
 * (ourselves included) means the sender missed the refutation; it would
 * otherwise keep its stale view until its suspicion timer runs out. Tell
 * it, in a datagram of its own. Only the member's latest news is ever
 * gossiped, so a sender relaying a stale message still believes it. */
static void correct_stale(struct swim *s, const struct member *m)
{
    struct msg a;

    if (!s->packet_from || m->m.state != SWIM_ALIVE || s->leaving)
        return;
    fill_alive(m, &a);
    send_udp(s, s->packet_from, &a);
    s->stats.stale_corrected++;
}

static void on_suspect(struct swim *s, uint64_t now, const struct msg_suspect *p)
{
    uint32_t idx;
    struct member *m = find(s, p->node, &idx);
    int was_suspect;

    if (!m)
        return;
    if (p->incarnation < m->m.incarnation) {
        correct_stale(s, m);
        return;
    }
    if (idx == 0) {
        refute(s, p->incarnation);
        return;
    }
    if (m->m.state == SWIM_DEAD || m->m.state == SWIM_LEFT)
        return;
    if (m->m.state == SWIM_SUSPECT && p->incarnation == m->m.incarnation) {
        /* a new confirmation is gossiped too, so that every member's timer
         * shrinks with it, not only ours */
        if (suspicion_confirm(s, now, m, p->from))
            swim_broadcast_suspect(s, MSG_SUSPECT, idx, p->incarnation, p->from);
        return;
    }
    /* Alive, or suspect at an older incarnation: then the member refuted our
     * suspicion (the refutation missed us) and was suspected again since.
     * Ours is stale; the new one replaces it, with a timer of its own. As a
     * confirmation it would have shortened the stale timer instead, and the
     * members we would ask again hold the newer suspicion, not an alive to
     * set us right with. */
    was_suspect = m->m.state == SWIM_SUSPECT;
    free(m->susp);
    m->m.incarnation = p->incarnation;
    set_state(s, m, SWIM_SUSPECT, now);
    m->susp = suspicion_new(s, now, p->from);
    s->stats.suspicions++;
    swim_broadcast_suspect(s, MSG_SUSPECT, idx, p->incarnation, p->from);
    if (!was_suspect)
        event(s, SWIM_EV_SUSPECT, &m->m);
}

void swim_declare(struct swim *s, uint64_t now, uint32_t idx, uint8_t type, uint32_t inc,
                  const char *from)
{
    struct member *m = &s->members[idx];
    uint8_t st = type == MSG_LEAVE ? SWIM_LEFT : SWIM_DEAD;

    if (m->m.state == st || (m->m.state == SWIM_LEFT && st == SWIM_DEAD))
        return;
    m->m.incarnation = inc;
    set_state(s, m, st, now);
    if (type == MSG_LEAVE) {
        struct msg lm;
        memset(&lm, 0, sizeof(lm));
        lm.type = MSG_LEAVE;
        lm.u.leave.incarnation = inc;
        name_cpy(lm.u.leave.node, m->m.name);
        bcast_member(s, idx, &lm);
        event(s, SWIM_EV_LEFT, &m->m);
    } else {
        s->stats.deaths++;
        swim_broadcast_suspect(s, MSG_DEAD, idx, inc, from);
        event(s, SWIM_EV_DEAD, &m->m);
    }
}

static void on_dead(struct swim *s, uint64_t now, const struct msg_suspect *p)
{
    uint32_t idx;
    struct member *m = find(s, p->node, &idx);

    if (!m)
        return;
    if (p->incarnation < m->m.incarnation) {
        correct_stale(s, m);
        return;
    }
    if (idx == 0) {
        refute(s, p->incarnation);
        return;
    }
    swim_declare(s, now, idx, MSG_DEAD, p->incarnation, p->from);
}

static void on_leave(struct swim *s, uint64_t now, const struct msg_leave *p)
{
    uint32_t idx;
    struct member *m = find(s, p->node, &idx);

    if (!m || p->incarnation < m->m.incarnation)
        return;
    if (idx == 0) {
        if (!s->leaving)
            refute(s, p->incarnation);
        return;
    }
    swim_declare(s, now, idx, MSG_LEAVE, p->incarnation, p->node);
}

/* ---- probes ---- */

static void fill_ping(struct swim *s, struct msg *m, uint32_t seq, const char *target)
{
    memset(m, 0, sizeof(*m));
    m->type = MSG_PING;
    m->u.ping.seq = seq;
    memcpy(m->u.ping.target, target, strnlen(target, SWIM_NAME_MAX));
    name_cpy(m->u.ping.source, self_m(s)->m.name);
    m->u.ping.source_addr = self_m(s)->m.addr;
}

static void send_ack(struct swim *s, uint8_t type, const struct node_addr *to, uint32_t seq)
{
    struct msg m = {.type = type};
    m.u.ack.seq = seq;
    send_udp(s, to, &m);
}

/* The next member to probe, in shuffled round-robin order; -1 if none. */
static int next_target(struct swim *s, uint32_t *idx)
{
    for (int round = 0; round < 2; round++) {
        while (s->order_pos < s->order_n) {
            uint32_t i = s->order[s->order_pos++];
            if (i < s->n &&
                (s->members[i].m.state == SWIM_ALIVE || s->members[i].m.state == SWIM_SUSPECT)) {
                *idx = i;
                return 0;
            }
        }
        shuffle_order(s);
    }
    return -1;
}

static void probe_start(struct swim *s, uint64_t now)
{
    struct probe *p = &s->probe;
    struct member *t;
    uint8_t part[CODEC_PACKET_MAX], pkt[CODEC_PACKET_MAX];
    struct compound_wr c;
    struct msg m;
    uint32_t idx;
    int len;

    s->next_probe_ms = now + awareness_scale(s, s->cfg.probe_interval_ms);
    if (s->leaving || next_target(s, &idx) < 0)
        return;
    t = &s->members[idx];
    memset(p, 0, sizeof(*p));
    p->active = 1;
    p->seq = ++s->seq;
    p->target = idx;
    name_cpy(p->target_name, t->m.name);
    p->timeout_ms = now + awareness_scale(s, s->cfg.probe_timeout_ms);
    p->end_ms = s->next_probe_ms;
    s->stats.probes++;

    /* buddy system: a suspect hears of its suspicion in the ping itself */
    codec_compound_begin(&c, pkt, s->cfg.packet_max);
    fill_ping(s, &m, p->seq, t->m.name);
    if ((len = codec_encode(&m, part, sizeof(part), NULL)) < 0)
        return;
    codec_compound_add(&c, part, (size_t)len);
    if (t->m.state == SWIM_SUSPECT) {
        struct msg sm;
        memset(&sm, 0, sizeof(sm));
        sm.type = MSG_SUSPECT;
        sm.u.suspect.incarnation = t->m.incarnation;
        name_cpy(sm.u.suspect.node, t->m.name);
        name_cpy(sm.u.suspect.from, self_m(s)->m.name);
        if ((len = codec_encode(&sm, part, sizeof(part), NULL)) > 0)
            codec_compound_add(&c, part, (size_t)len);
    }
    bcast_fill(s, &c);
    out_push(s, SWIM_OUT_UDP, &t->m.addr, pkt, codec_compound_finish(&c));
}

/* Picks up to k random live members other than ourselves and `not`. */
static size_t pick_members(struct swim *s, uint32_t *out, size_t k, uint32_t not, int with_dead,
                           uint64_t now)
{
    size_t got = 0, tries = k * 4 + 8;

    if (s->n <= 1)
        return 0;
    while (got < k && tries--) {
        uint32_t i = (uint32_t)(1 + swim_rand_below(s, s->n - 1));
        const struct swim_member *m = &s->members[i].m;
        int ok = m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT ||
                 (with_dead && m->state == SWIM_DEAD &&
                  now - m->state_change_ms < s->cfg.gossip_to_dead_ms);
        if (!ok || i == not )
            continue;
        for (size_t j = 0; j < got; j++)
            ok &= out[j] != i;
        if (ok)
            out[got++] = i;
    }
    return got;
}

static void probe_indirect(struct swim *s)
{
    struct probe *p = &s->probe;
    struct member *t = &s->members[p->target];
    uint32_t via[16];
    size_t k = s->cfg.indirect_checks < 16 ? s->cfg.indirect_checks : 16;
    struct msg m;

    p->indirect_sent = 1;
    k = pick_members(s, via, k, p->target, 0, 0);
    memset(&m, 0, sizeof(m));
    m.type = MSG_PING_REQ;
    m.u.ping_req.seq = p->seq;
    name_cpy(m.u.ping_req.target, t->m.name);
    m.u.ping_req.target_addr = t->m.addr;
    name_cpy(m.u.ping_req.source, self_m(s)->m.name);
    m.u.ping_req.source_addr = self_m(s)->m.addr;
    m.u.ping_req.want_nack = 1;
    for (size_t i = 0; i < k; i++)
        send_udp(s, &s->members[via[i]].m.addr, &m);
    p->nacks_expected = (uint32_t)k;
    s->stats.indirect_probes += k;

    /* TCP gets through where UDP is dropped; the ack comes back on the stream */
    fill_ping(s, &m, p->seq, t->m.name);
    send_tcp(s, &t->m.addr, &m);
    s->stats.tcp_fallbacks++;
}

static void probe_end(struct swim *s, uint64_t now)
{
    struct probe *p = &s->probe;
    struct member *t;

    p->active = 0;
    if (p->acked || p->target >= s->n || strcmp(s->members[p->target].m.name, p->target_name))
        return;
    t = &s->members[p->target];
    s->stats.probe_failures++;
    if (t->m.state == SWIM_ALIVE)
        s->stats.suspicions_raised++;
    /* Lifeguard: a failed probe may be our own fault (swim_awareness.c) */
    awareness_probe_failed(s, p->nacks_expected, p->nacks_got);
    /* Alive: we suspect it. Already suspect: our failed probe is one more
     * independent confirmation (Lifeguard), which shortens the timeout. */
    if (t->m.state == SWIM_ALIVE || t->m.state == SWIM_SUSPECT) {
        struct msg_suspect sp;
        memset(&sp, 0, sizeof(sp));
        sp.incarnation = t->m.incarnation;
        name_cpy(sp.node, t->m.name);
        name_cpy(sp.from, self_m(s)->m.name);
        on_suspect(s, now, &sp);
    }
}

static void on_ack(struct swim *s, uint64_t now, uint32_t seq)
{
    struct probe *p = &s->probe;

    if (p->active && seq == p->seq && !p->acked) {
        if (p->indirect_sent || now > p->timeout_ms)
            s->stats.acks_late++;
        p->acked = 1;
        awareness_probe_acked(s);
        return;
    }
    if (!p->active && seq == p->seq && p->seq && !p->acked && !p->late_counted) {
        /* the member answered after we gave up on it: too late to count */
        s->stats.acks_late++;
        p->late_counted = 1;
    }
    for (int i = 0; i < SWIM_RELAYS_MAX; i++) {
        struct relay *r = &s->relays[i];
        if (r->used && r->our_seq == seq) {
            send_ack(s, MSG_ACK, &r->requester, r->their_seq);
            r->used = 0;
            return;
        }
    }
}

static void on_ping_req(struct swim *s, uint64_t now, const struct msg_ping_req *p)
{
    struct relay *r = NULL;
    struct msg m;

    for (int i = 0; i < SWIM_RELAYS_MAX && !r; i++)
        if (!s->relays[i].used)
            r = &s->relays[i];
    if (!r)
        return; /* bounded: the requester falls back on its other probers */
    r->used = 1;
    r->our_seq = ++s->seq;
    r->their_seq = p->seq;
    r->requester = p->source_addr;
    r->want_nack = p->want_nack;
    r->deadline_ms = now + s->cfg.probe_timeout_ms;
    fill_ping(s, &m, r->our_seq, p->target);
    send_udp(s, &p->target_addr, &m);
}

/* ---- push-pull ---- */

static uint8_t *encode_state(struct swim *s, int join, size_t *len)
{
    struct msg m;
    struct pp_member *pm = xcalloc(s->n, sizeof(*pm));
    uint8_t *buf = NULL;
    int n;

    memset(&m, 0, sizeof(m));
    m.type = MSG_PUSHPULL;
    m.u.pushpull.join = (uint8_t)join;
    m.u.pushpull.n_members = (uint32_t)s->n;
    m.u.pushpull.members = pm;
    for (size_t i = 0; i < s->n; i++) {
        const struct swim_member *sm = &s->members[i].m;
        name_cpy(pm[i].name, sm->name);
        pm[i].addr = sm->addr;
        pm[i].incarnation = sm->incarnation;
        pm[i].state = sm->state;
        pm[i].tags_len = sm->tags_len;
        pm[i].tags = sm->tags;
    }
    n = codec_size(&m, NULL);
    if (n > 0) {
        buf = xmalloc((size_t)n);
        if (codec_encode(&m, buf, (size_t)n, NULL) != n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    free(pm);
    return buf;
}

static void send_pushpull(struct swim *s, const struct node_addr *to, int join)
{
    size_t len;
    uint8_t *buf = encode_state(s, join, &len);

    if (!buf)
        return;
    out_push(s, SWIM_OUT_TCP, to, buf, len);
    free(buf);
    s->stats.pushpulls++;
}

/* Just joined: tell every member we now know that we are here, one
 * datagram each, rather than leave it to gossip alone, whose bounded
 * retransmissions fall behind when many join at once. The datagrams carry
 * our alive and little else: what the join taught us is not gossiped (see
 * join_merge). Telling a large cluster over several gossip intervals
 * instead was tried and left joins unseen: a member told late could answer
 * a join meanwhile without us. Members that joined at the same moment
 * through another seed know neither us nor we them: the next push-pull,
 * brought forward to two probe intervals from now, reconciles those. */
static void announce(struct swim *s, uint64_t now)
{
    struct msg m;

    s->next_pushpull_ms = min64(s->next_pushpull_ms, now + 2ull * s->cfg.probe_interval_ms);
    fill_alive(self_m(s), &m);
    for (size_t i = 1; i < s->n; i++) {
        uint8_t st = s->members[i].m.state;
        if (st == SWIM_ALIVE || st == SWIM_SUSPECT)
            send_udp(s, &s->members[i].m.addr, &m);
    }
}

static void merge_state(struct swim *s, uint64_t now, const struct msg_pushpull *pp)
{
    const char *from = pp->n_members ? pp->members[0].name : "?";

    for (uint32_t i = 0; i < pp->n_members; i++) {
        const struct pp_member *pm = &pp->members[i];
        switch (pm->state) {
        case SWIM_ALIVE: {
            struct msg_alive a;
            memset(&a, 0, sizeof(a));
            a.incarnation = pm->incarnation;
            memcpy(a.node, pm->name, sizeof(a.node));
            a.addr = pm->addr;
            a.tags_len = pm->tags_len;
            if (pm->tags_len)
                memcpy(a.tags, pm->tags, pm->tags_len);
            on_alive(s, now, &a);
            break;
        }
        case SWIM_LEFT: {
            struct msg_leave l;
            memset(&l, 0, sizeof(l));
            l.incarnation = pm->incarnation;
            memcpy(l.node, pm->name, sizeof(l.node));
            if (find(s, pm->name, NULL))
                on_leave(s, now, &l);
            break;
        }
        default: {
            /* Suspect or dead elsewhere: we only suspect it, so it can refute. An
             * unknown member is learned as alive first, then suspected. */
            struct msg_suspect sp;
            memset(&sp, 0, sizeof(sp));
            if (!find(s, pm->name, NULL)) {
                struct msg_alive a;
                memset(&a, 0, sizeof(a));
                a.incarnation = pm->incarnation;
                memcpy(a.node, pm->name, sizeof(a.node));
                a.addr = pm->addr;
                on_alive(s, now, &a);
            }
            sp.incarnation = pm->incarnation;
            memcpy(sp.node, pm->name, sizeof(sp.node));
            memcpy(sp.from, from, strnlen(from, SWIM_NAME_MAX));
            on_suspect(s, now, &sp);
            break;
        }
        }
    }
}

/* ---- dispatch ---- */

static int handle(struct swim *s, uint64_t now, const struct msg *m, int depth)
{
    switch (m->type) {
    case MSG_PING:
        if (strcmp(m->u.ping.target, self_m(s)->m.name) != 0)
            return 0; /* meant for someone who had our address before */
        send_ack(s, MSG_ACK, &m->u.ping.source_addr, m->u.ping.seq);
        return 0;
    case MSG_ACK:
        on_ack(s, now, m->u.ack.seq);
        return 0;
    case MSG_NACK:
        if (s->probe.active && m->u.ack.seq == s->probe.seq)
            s->probe.nacks_got++;
        return 0;
    case MSG_PING_REQ:
        on_ping_req(s, now, &m->u.ping_req);
        return 0;
    case MSG_ALIVE:
        on_alive(s, now, &m->u.alive);
        return 0;
    case MSG_SUSPECT:
        on_suspect(s, now, &m->u.suspect);
        return 0;
    case MSG_DEAD:
        on_dead(s, now, &m->u.dead);
        return 0;
    case MSG_LEAVE:
        on_leave(s, now, &m->u.leave);
        return 0;
    case MSG_USER: {
        struct swim_event *ev = event(s, SWIM_EV_USER, NULL);
        if (ev) {
            ev->data = xmemdup(m->u.user.data, m->u.user.len);
            ev->len = m->u.user.len;
        }
        return 0;
    }
    case MSG_COMPOUND: {
        int bad = 0;
        if (depth > 0)
            return -EBADMSG;
        for (unsigned i = 0; i < m->u.compound.n; i++) {
            struct msg part;
            if (codec_decode(&part, m->u.compound.part[i], m->u.compound.part_len[i], NULL) < 0) {
                bad++;
                continue;
            }
            if (handle(s, now, &part, depth + 1) < 0)
                bad++;
            msg_release(&part);
        }
        return bad ? -EBADMSG : 0;
    }
    default:
        return -EPROTO; /* push-pull over UDP and the like */
    }
}

int swim_recv_packet(struct swim *s, uint64_t now_ms, const struct node_addr *from,
                     const uint8_t *buf, size_t len, struct err *e)
{
    struct msg m;
    int rc;

    s->stats.packets_in++;
    s->stats.bytes_in += len;
    if ((rc = codec_decode(&m, buf, len, e)) < 0) {
        s->stats.decode_errors++;
        return rc;
    }
    count_kinds(s->stats.msgs_in, s->stats.msg_bytes_in, buf, len);
    s->packet_from = from;
    rc = handle(s, now_ms, &m, 0);
    s->packet_from = NULL;
    msg_release(&m);
    if (rc < 0) {
        s->stats.decode_errors++;
        return err_set(e, rc, "packet with a malformed or unexpected message");
    }
    return 0;
}

static int joining(const struct swim *s, const struct node_addr *through)
{
    for (size_t i = 0; i < s->n_joins; i++)
        if (node_addr_eq(&s->joins[i], through))
            return 1;
    return 0;
}

/* A join through `to` did not work: said once, forgotten. */
static void join_failed(struct swim *s, const struct node_addr *to)
{
    for (size_t i = 0; i < s->n_joins; i++) {
        if (node_addr_eq(&s->joins[i], to)) {
            event_addr(s, SWIM_EV_JOIN_FAILED, to);
            s->joins[i] = s->joins[--s->n_joins];
            return;
        }
    }
}

int swim_recv_stream(struct swim *s, uint64_t now_ms, const struct node_addr *from,
                     const uint8_t *buf, size_t len, uint8_t **reply, size_t *reply_len,
                     struct err *e)
{
    struct msg m;
    int rc = 0;

    if (reply)
        *reply = NULL;
    s->stats.packets_in++;
    s->stats.bytes_in += len;
    if ((rc = codec_decode(&m, buf, len, e)) < 0) {
        s->stats.decode_errors++;
        return rc;
    }
    count_kinds(s->stats.msgs_in, s->stats.msg_bytes_in, buf, len);
    switch (m.type) {
    case MSG_PING:
        if (reply && strcmp(m.u.ping.target, self_m(s)->m.name) == 0) {
            struct msg ack = {.type = MSG_ACK};
            ack.u.ack.seq = m.u.ping.seq;
            *reply = xmalloc(16);
            *reply_len = (size_t)codec_encode(&ack, *reply, 16, NULL);
        }
        break;
    case MSG_ACK:
        on_ack(s, now_ms, m.u.ack.seq);
        break;
    case MSG_PUSHPULL:
        /* Our own state: a join through one of our own addresses. Nothing
         * to merge; the request gets our state back as any would, and its
         * answer, from nobody but ourselves, is no join. */
        if (m.u.pushpull.n_members &&
            strcmp(m.u.pushpull.members[0].name, self_m(s)->m.name) == 0) {
            if (reply)
                *reply = encode_state(s, 0, reply_len);
            else
                join_failed(s, from);
            break;
        }
        /* The answer to our first join tells us the cluster as its members
         * know it: old news to them, so none of it is gossiped (only a
         * refutation, if the cluster thinks we are dead). */
        s->join_merge = !reply && s->n == 1 && joining(s, from);
        merge_state(s, now_ms, &m.u.pushpull);
        s->join_merge = 0;
        if (reply) {
            *reply = encode_state(s, 0, reply_len);
            s->stats.pushpulls++;
        } else {
            /* the answer to our own push-pull: a join through `from` worked */
            for (size_t i = 0; i < s->n_joins; i++) {
                if (node_addr_eq(&s->joins[i], from)) {
                    event_addr(s, SWIM_EV_JOINED, from);
                    s->joins[i] = s->joins[--s->n_joins];
                    announce(s, now_ms);
                    break;
                }
            }
        }
        break;
    default:
        s->stats.decode_errors++;
        rc = err_set(e, -EPROTO, "unexpected message type %u on a stream", m.type);
    }
    msg_release(&m);
    if (reply && *reply)
        count_out(s, *reply, *reply_len);
    return rc;
}

void swim_stream_failed(struct swim *s, uint64_t now_ms, const struct node_addr *to)
{
    (void)now_ms;
    join_failed(s, to);
}

void swim_join(struct swim *s, uint64_t now_ms, const struct node_addr *addr)
{
    size_t i;

    for (i = 0; i < s->n_joins; i++)
        if (node_addr_eq(&s->joins[i], addr))
            break;
    if (i == s->n_joins) {
        if (s->n_joins == SWIM_JOINS_MAX) {
            event_addr(s, SWIM_EV_JOIN_FAILED, addr);
            return;
        }
        s->joins[s->n_joins++] = *addr;
    }
    send_pushpull(s, addr, 1);
}

void swim_leave(struct swim *s, uint64_t now_ms)
{
    struct member *me = &s->members[0];
    struct msg m;

    if (s->leaving)
        return;
    s->leaving = 1;
    set_state(s, me, SWIM_LEFT, now_ms);
    memset(&m, 0, sizeof(m));
    m.type = MSG_LEAVE;
    m.u.leave.incarnation = me->m.incarnation;
    name_cpy(m.u.leave.node, me->m.name);
    bcast_member(s, 0, &m);
    /* gossip it now rather than at the next gossip tick */
    s->next_gossip_ms = now_ms;
}

int swim_set_tags(struct swim *s, uint64_t now_ms, const uint8_t *tags, size_t len, struct err *e)
{
    struct member *me = &s->members[0];
    struct tags t;

    if (len > SWIM_TAGS_MAX)
        return err_set(e, -EMSGSIZE, "tags take %zu bytes, at most %d", len, SWIM_TAGS_MAX);
    if (len && tags_decode(&t, tags, len, e) < 0)
        return e ? e->code : -EINVAL;
    if (!tags_differ(me, tags, (uint16_t)len))
        return 0;
    set_tags(me, tags, (uint16_t)len);
    me->m.incarnation++;
    broadcast_alive(s, 0);
    return 0;
}

int swim_broadcast_user(struct swim *s, const uint8_t *data, size_t len, struct err *e)
{
    if (len > CODEC_USER_MAX)
        return err_set(e, -EMSGSIZE, "user broadcast of %zu bytes, at most %d", len,
                       CODEC_USER_MAX);
    return bcast_user(s, data, len);
}

/* ---- timers ---- */

static uint32_t pushpull_interval(const struct swim *s)
{
    size_t n = swim_live_count(s);
    uint32_t mult = 1;
    if (n > 32)
        mult = (uint32_t)ceil(log2((double)n) - log2(32.0)) + 1;
    return s->cfg.pushpull_interval_ms * mult;
}

static void gossip(struct swim *s, uint64_t now)
{
    uint32_t to[16];
    size_t k = s->cfg.gossip_fanout < 16 ? s->cfg.gossip_fanout : 16;

    if (!s->n_bcast)
        return;
    k = pick_members(s, to, k, UINT32_MAX, 1, now);
    for (size_t i = 0; i < k && s->n_bcast; i++)
        send_udp(s, &s->members[to[i]].m.addr, NULL);
}

static void reap(struct swim *s, uint64_t now)
{
    for (size_t i = 1; i < s->n;) {
        struct member *m = &s->members[i];
        if ((m->m.state == SWIM_DEAD || m->m.state == SWIM_LEFT) &&
            now - m->m.state_change_ms >= s->cfg.reap_after_ms) {
            event(s, SWIM_EV_REAP, &m->m);
            remove_member(s, (uint32_t)i);
            continue;
        }
        i++;
    }
}

/* Every reconnect interval, a push-pull with one member we hold dead or
 * left, until it is reaped. If it runs, it learns what we think of it and
 * refutes it in its answer; if it is in a group that took us for dead or
 * gone, both groups learn each other and merge. Without it, two groups that
 * each hold the other left would never talk again (a restarted member that
 * joined only itself, a partition that outlived the suspicions). */
static void reconnect(struct swim *s)
{
    uint32_t cand[8];
    size_t n = 0;

    if (!s->count[SWIM_DEAD] && !s->count[SWIM_LEFT])
        return;
    for (size_t tries = 0; tries < 32 && n < 1 && s->n > 1; tries++) {
        uint32_t i = (uint32_t)(1 + swim_rand_below(s, s->n - 1));
        if (s->members[i].m.state == SWIM_DEAD || s->members[i].m.state == SWIM_LEFT)
            cand[n++] = i;
    }
    if (n)
        send_pushpull(s, &s->members[cand[0]].m.addr, 0);
}

uint64_t swim_tick(struct swim *s, uint64_t now)
{
    uint64_t next;

    /* probe timeline */
    if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent && now >= s->probe.timeout_ms)
        probe_indirect(s);
    if (s->probe.active && now >= s->probe.end_ms)
        probe_end(s, now);
    if (now >= s->next_probe_ms)
        probe_start(s, now);

    /* indirect probes we run for others */
    for (int i = 0; i < SWIM_RELAYS_MAX; i++) {
        struct relay *r = &s->relays[i];
        if (r->used && now >= r->deadline_ms) {
            if (r->want_nack)
                send_ack(s, MSG_NACK, &r->requester, r->their_seq);
            r->used = 0;
        }
    }

    suspicion_tick(s, now);

    if (now >= s->next_gossip_ms) {
        gossip(s, now);
        s->next_gossip_ms = now + s->cfg.gossip_interval_ms;
    }
    if (now >= s->next_pushpull_ms) {
        uint32_t to;
        if (!s->leaving && pick_members(s, &to, 1, UINT32_MAX, 0, now) == 1)
            send_pushpull(s, &s->members[to].m.addr, 0);
        s->next_pushpull_ms = now + pushpull_interval(s);
    }
    if (now >= s->next_reconnect_ms) {
        if (!s->leaving)
            reconnect(s);
        s->next_reconnect_ms = now + s->cfg.reconnect_interval_ms;
    }
    if (now >= s->next_reap_ms) {
        if (s->count[SWIM_DEAD] + s->count[SWIM_LEFT] > (s->leaving ? 1u : 0u))
            reap(s, now);
        s->next_reap_ms = now + REAP_CHECK_MS;
    }

    next = min64(s->next_probe_ms, s->next_gossip_ms);
    next = min64(next, s->next_pushpull_ms);
    next = min64(next, s->next_reconnect_ms);
    next = min64(next, s->next_reap_ms);
    if (s->probe.active) {
        next = min64(next, s->probe.end_ms);
        if (!s->probe.indirect_sent && !s->probe.acked)
            next = min64(next, s->probe.timeout_ms);
    }
    for (int i = 0; i < SWIM_RELAYS_MAX; i++)
        if (s->relays[i].used)
            next = min64(next, s->relays[i].deadline_ms);
    next = min64(next, s->next_suspicion_ms);
    return next > now ? next : now + 1;
}

/* ---- life cycle and accessors ---- */

void swim_config_default(struct swim_config *c, enum swim_profile profile)
{
    memset(c, 0, sizeof(*c));
    c->probe_interval_ms = 1000;
    c->probe_timeout_ms = 500;
    c->indirect_checks = 3;
    c->gossip_interval_ms = 200;
    c->gossip_fanout = 3;
    c->gossip_to_dead_ms = 30000;
    c->suspicion_mult = 4;
    c->suspicion_max_mult = 2;
    c->retransmit_mult = 4;
    c->pushpull_interval_ms = 30000;
    c->awareness_max = 8;
    c->reconnect_interval_ms = 30000;
    c->reap_after_ms = 72ull * 3600 * 1000;
    c->packet_max = CODEC_PACKET_MAX;
    c->broadcast_queue_max = 4096;
    if (profile == SWIM_PROFILE_FAST) {
        c->probe_interval_ms = 200;
        c->probe_timeout_ms = 100;
        c->gossip_interval_ms = 50;
        c->pushpull_interval_ms = 15000;
        c->reconnect_interval_ms = 5000;
    }
}

struct swim *swim_new(const struct swim_config *c, uint64_t now_ms, struct err *e)
{
    struct swim *s;
    size_t nl = strnlen(c->name, sizeof(c->name));
    struct tags t;

    if (nl == 0 || nl > SWIM_NAME_MAX) {
        err_set(e, -EINVAL, "node name must be 1..%d bytes", SWIM_NAME_MAX);
        return NULL;
    }
    if (c->addr.family != 4 && c->addr.family != 6) {
        err_set(e, -EINVAL, "node %s: no address to advertise", c->name);
        return NULL;
    }
    if (!c->probe_interval_ms || !c->probe_timeout_ms ||
        c->probe_timeout_ms >= c->probe_interval_ms) {
        err_set(e, -EINVAL, "probe timeout must be positive and below the probe interval");
        return NULL;
    }
    if (!c->gossip_interval_ms || !c->pushpull_interval_ms || !c->reconnect_interval_ms ||
        !c->suspicion_mult || !c->suspicion_max_mult || !c->retransmit_mult ||
        !c->broadcast_queue_max) {
        err_set(e, -EINVAL, "intervals and multipliers must be positive");
        return NULL;
    }
    if (c->packet_max < 256 || c->packet_max > CODEC_PACKET_MAX) {
        err_set(e, -EINVAL, "packet_max must be 256..%d bytes", CODEC_PACKET_MAX);
        return NULL;
    }
    if (c->tags_len && tags_decode(&t, c->tags, c->tags_len, e) < 0)
        return NULL;
    s = xcalloc(1, sizeof(*s));
    s->cfg = *c;
    s->rng = c->seed;
    hash_rebuild(s);
    add_member(s, c->name, &c->addr, c->incarnation ? c->incarnation : 1, now_ms);
    set_tags(&s->members[0], c->tags, c->tags_len);
    s->next_probe_ms = now_ms + swim_rand_below(s, c->probe_interval_ms);
    s->next_gossip_ms = now_ms + c->gossip_interval_ms;
    s->next_pushpull_ms = now_ms + c->pushpull_interval_ms;
    s->next_reconnect_ms = now_ms + c->reconnect_interval_ms;
    s->next_reap_ms = now_ms + REAP_CHECK_MS;
    s->next_suspicion_ms = UINT64_MAX;
    return s;
}

void swim_free(struct swim *s)
{
    if (!s)
        return;
    bcast_free_all(s);
    for (size_t i = 0; i < s->n; i++) {
        free(s->members[i].m.tags);
        free(s->members[i].susp);
    }
    for (size_t i = s->out_pos; i < s->out_n; i++)
        free(s->out[i].data);
    for (size_t i = s->ev_pos; i < s->ev_n; i++)
        free(s->ev[i].data);
    free(s->members);
    free(s->names);
    free(s->order);
    free(s->hash);
    free(s->out);
    free(s->ev);
    free(s);
}

size_t swim_member_count(const struct swim *s)
{
    return s->n;
}

const struct swim_member *swim_member_at(const struct swim *s, size_t i)
{
    return i < s->n ? &s->members[i].m : NULL;
}

const struct swim_member *swim_member_find(const struct swim *s, const char *name)
{
    struct member *m = find(s, name, NULL);
    return m ? &m->m : NULL;
}

const struct swim_member *swim_self(const struct swim *s)
{
    return &s->members[0].m;
}

size_t swim_count_state(const struct swim *s, enum swim_state st)
{
    return (unsigned)st < 4 ? s->count[st] : 0;
}

const struct swim_stats *swim_stats(const struct swim *s)
{
    return &s->stats;
}

size_t swim_broadcasts_queued(const struct swim *s, size_t *user)
{
    if (user)
        *user = s->n_user_bcast;
    return s->n_bcast;
}

const char *swim_msg_kind_name(unsigned kind)
{
    static const char *const names[SWIM_MSG_KINDS] = {
        [MSG_PING] = "ping",         [MSG_ACK] = "ack",         [MSG_NACK] = "nack",
        [MSG_PING_REQ] = "ping_req", [MSG_SUSPECT] = "suspect", [MSG_ALIVE] = "alive",
        [MSG_DEAD] = "dead",         [MSG_LEAVE] = "leave",     [MSG_PUSHPULL] = "push_pull",
        [MSG_COMPOUND] = "compound", [MSG_USER] = "user",       [MSG_REPL] = "repl",
    };
    return kind < SWIM_MSG_KINDS && names[kind] ? names[kind] : "other";
}

const struct swim_config *swim_config(const struct swim *s)
{
    return &s->cfg;
}

const char *swim_state_name(enum swim_state st)
{
    static const char *const names[] = {"alive", "suspect", "dead", "left"};
    return (unsigned)st < 4 ? names[st] : "unknown";
}
