/* codec: encoding and decoding of the gossip messages declared in codec.h.
 * Every read is bounds-checked through core/buf; every count is checked
 * against the bytes left before anything is allocated. Sealing, framing
 * and sockets are not here. */
#include "core/codec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/tags.h"

/* Smallest encoding of one push-pull member: name(1+1) addr(1+4+2) inc(4)
 * state(1) tags(2). Used to bound the member count before allocating. */
#define PP_MEMBER_MIN 16

/* ---- writing ---- */

static int put_name(struct wr *w, const char *name, const char *field, struct err *e)
{
    size_t n = strnlen(name, SWIM_NAME_MAX + 1);
    if (n == 0 || n > SWIM_NAME_MAX)
        return err_set(e, n ? -EMSGSIZE : -EINVAL, "%s: name must be 1..%d bytes", field,
                       SWIM_NAME_MAX);
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, name, n);
    return 0;
}

static int put_addr(struct wr *w, const struct node_addr *a, struct err *e)
{
    if (a->family != 4 && a->family != 6)
        return err_set(e, -EINVAL, "address family %u is not 4 or 6", a->family);
    wr_u8(w, a->family);
    wr_bytes(w, a->ip, a->family == 4 ? 4 : 16);
    wr_u16(w, a->port);
    return 0;
}

static int put_tags(struct wr *w, const uint8_t *tags, size_t len, struct err *e)
{
    if (len > SWIM_TAGS_MAX)
        return err_set(e, -EMSGSIZE, "tags: %zu bytes, at most %d", len, SWIM_TAGS_MAX);
    wr_u16(w, (uint16_t)len);
    wr_bytes(w, tags, len);
    return 0;
}

static int put_pushpull(struct wr *w, const struct msg_pushpull *p, struct err *e)
{
    int rc;

    wr_u8(w, p->join ? 1 : 0);
    wr_u32(w, p->n_members);
    for (uint32_t i = 0; i < p->n_members; i++) {
        const struct pp_member *pm = &p->members[i];
        if (pm->state > SWIM_LEFT)
            return err_set(e, -EINVAL, "push-pull member %u: bad state %u", i, pm->state);
        if ((rc = put_name(w, pm->name, "push-pull member", e)) < 0 ||
            (rc = put_addr(w, &pm->addr, e)) < 0)
            return rc;
        wr_u32(w, pm->incarnation);
        wr_u8(w, pm->state);
        if ((rc = put_tags(w, pm->tags, pm->tags_len, e)) < 0)
            return rc;
    }
    wr_u32(w, p->user_len);
    wr_bytes(w, p->user, p->user_len);
    return 0;
}

static int put_compound(struct wr *w, const struct msg_compound *c, struct err *e)
{
    if (c->n > CODEC_COMPOUND_MAX)
        return err_set(e, -EMSGSIZE, "compound: %u parts, at most %d", c->n, CODEC_COMPOUND_MAX);
    wr_u8(w, c->n);
    for (unsigned i = 0; i < c->n; i++) {
        wr_u16(w, c->part_len[i]);
        wr_bytes(w, c->part[i], c->part_len[i]);
    }
    return 0;
}

/* The body of message m, after the header codec_encode wrote. */
static int put_body(struct wr *w, const struct msg *m, struct err *e)
{
    int rc = 0;

    switch (m->type) {
    case MSG_PING: {
        const struct msg_ping *p = &m->u.ping;
        wr_u32(w, p->seq);
        if ((rc = put_name(w, p->target, "ping target", e)) < 0 ||
            (rc = put_name(w, p->source, "ping source", e)) < 0)
            return rc;
        return put_addr(w, &p->source_addr, e);
    }
    case MSG_ACK:
    case MSG_NACK:
        wr_u32(w, m->u.ack.seq);
        return 0;
    case MSG_PING_REQ: {
        const struct msg_ping_req *p = &m->u.ping_req;
        wr_u32(w, p->seq);
        if ((rc = put_name(w, p->target, "ping-req target", e)) < 0 ||
            (rc = put_addr(w, &p->target_addr, e)) < 0 ||
            (rc = put_name(w, p->source, "ping-req source", e)) < 0 ||
            (rc = put_addr(w, &p->source_addr, e)) < 0)
            return rc;
        wr_u8(w, p->want_nack ? 1 : 0);
        return 0;
    }
    case MSG_SUSPECT:
    case MSG_DEAD: {
        const struct msg_suspect *p = &m->u.suspect;
        wr_u32(w, p->incarnation);
        if ((rc = put_name(w, p->node, "node", e)) < 0)
            return rc;
        return put_name(w, p->from, "from", e);
    }
    case MSG_ALIVE: {
        const struct msg_alive *p = &m->u.alive;
        wr_u32(w, p->incarnation);
        if ((rc = put_name(w, p->node, "node", e)) < 0 || (rc = put_addr(w, &p->addr, e)) < 0)
            return rc;
        wr_u8(w, p->proto_min);
        wr_u8(w, p->proto_max);
        return put_tags(w, p->tags, p->tags_len, e);
    }
    case MSG_LEAVE:
        wr_u32(w, m->u.leave.incarnation);
        return put_name(w, m->u.leave.node, "node", e);
    case MSG_PUSHPULL:
        return put_pushpull(w, &m->u.pushpull, e);
    case MSG_USER:
        if (m->u.user.len > CODEC_USER_MAX)
            return err_set(e, -EMSGSIZE, "user payload: %u bytes, at most %d", m->u.user.len,
                           CODEC_USER_MAX);
        wr_u16(w, m->u.user.len);
        wr_bytes(w, m->u.user.data, m->u.user.len);
        return 0;
    case MSG_COMPOUND:
        return put_compound(w, &m->u.compound, e);
    default:
        return err_set(e, -EINVAL, "unknown message type %u", m->type);
    }
}

int codec_encode(const struct msg *m, uint8_t *buf, size_t cap, struct err *e)
{
    struct wr w;
    int rc;

    wr_init(&w, buf, cap);
    wr_u8(&w, CODEC_VERSION);
    wr_u8(&w, m->type);
    if ((rc = put_body(&w, m, e)) < 0)
        return rc;
    if (w.overflow)
        return err_set(e, -EMSGSIZE, "message type %u does not fit in %zu bytes", m->type, cap);
    if (w.len > (size_t)INT32_MAX)
        return err_set(e, -EMSGSIZE, "message too large");
    return (int)w.len;
}

int codec_size(const struct msg *m, struct err *e)
{
    struct wr w;
    int rc;

    wr_init(&w, NULL, (size_t)INT32_MAX); /* no buffer: the writer only counts */
    wr_u8(&w, CODEC_VERSION);
    wr_u8(&w, m->type);
    if ((rc = put_body(&w, m, e)) < 0)
        return rc;
    if (w.overflow)
        return err_set(e, -EMSGSIZE, "message too large");
    return (int)w.len;
}

/* ---- reading ---- */

static int bad(struct err *e, const char *what)
{
    return err_set(e, -EBADMSG, "malformed message: %s", what);
}

static int get_name(struct rd *r, char *out, const char *field, struct err *e)
{
    uint8_t n;
    const uint8_t *p;

    if (rd_u8(r, &n) < 0 || rd_ptr(r, n, &p) < 0)
        return err_set(e, -EBADMSG, "malformed message: %s truncated", field);
    if (n == 0)
        return err_set(e, -EBADMSG, "malformed message: %s is empty", field);
    if (n > SWIM_NAME_MAX)
        return err_set(e, -EMSGSIZE, "malformed message: %s of %u bytes, at most %d", field, n,
                       SWIM_NAME_MAX);
    if (memchr(p, '\0', n))
        return err_set(e, -EBADMSG, "malformed message: %s contains NUL", field);
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int get_addr(struct rd *r, struct node_addr *a, struct err *e)
{
    memset(a, 0, sizeof(*a));
    if (rd_u8(r, &a->family) < 0)
        return bad(e, "address truncated");
    if (a->family != 4 && a->family != 6)
        return err_set(e, -EBADMSG, "malformed message: address family %u", a->family);
    if (rd_bytes(r, a->ip, a->family == 4 ? 4 : 16) < 0 || rd_u16(r, &a->port) < 0)
        return bad(e, "address truncated");
    return 0;
}

static int get_tags(struct rd *r, uint16_t *len, const uint8_t **p, struct err *e)
{
    struct tags t;

    if (rd_u16(r, len) < 0)
        return bad(e, "tags truncated");
    if (*len > SWIM_TAGS_MAX)
        return err_set(e, -EMSGSIZE, "malformed message: tags of %u bytes, at most %d", *len,
                       SWIM_TAGS_MAX);
    if (rd_ptr(r, *len, p) < 0)
        return bad(e, "tags truncated");
    if (*len && tags_decode(&t, *p, *len, e) < 0)
        return err_wrap(e, "malformed message: tags");
    return 0;
}

static int get_ping_req(struct rd *r, struct msg_ping_req *p, struct err *e)
{
    int rc;

    if (rd_u32(r, &p->seq) < 0)
        return bad(e, "ping-req truncated");
    if ((rc = get_name(r, p->target, "ping-req target", e)) < 0 ||
        (rc = get_addr(r, &p->target_addr, e)) < 0 ||
        (rc = get_name(r, p->source, "ping-req source", e)) < 0 ||
        (rc = get_addr(r, &p->source_addr, e)) < 0)
        return rc;
    if (rd_u8(r, &p->want_nack) < 0)
        return bad(e, "ping-req truncated");
    if (p->want_nack > 1)
        return bad(e, "ping-req nack flag");
    return 0;
}

static int get_alive(struct rd *r, struct msg_alive *p, struct err *e)
{
    const uint8_t *tags;
    int rc;

    if (rd_u32(r, &p->incarnation) < 0)
        return bad(e, "alive truncated");
    if ((rc = get_name(r, p->node, "node", e)) < 0 || (rc = get_addr(r, &p->addr, e)) < 0)
        return rc;
    if (rd_u8(r, &p->proto_min) < 0 || rd_u8(r, &p->proto_max) < 0)
        return bad(e, "alive truncated");
    if ((rc = get_tags(r, &p->tags_len, &tags, e)) < 0)
        return rc;
    memcpy(p->tags, tags, p->tags_len);
    return 0;
}

/* The members array is on the heap: msg_release frees it (codec_decode
 * calls it on error too). The count is checked against the bytes left
 * before anything is allocated. */
static int get_pushpull(struct rd *r, struct msg_pushpull *p, struct err *e)
{
    int rc;

    if (rd_u8(r, &p->join) < 0 || rd_u32(r, &p->n_members) < 0)
        return bad(e, "push-pull truncated");
    if (p->join > 1)
        return bad(e, "push-pull join flag");
    if (p->n_members > rd_left(r) / PP_MEMBER_MIN)
        return err_set(e, -EBADMSG, "malformed message: push-pull claims %u members in %zu bytes",
                       p->n_members, rd_left(r));
    p->members = p->n_members ? xcalloc(p->n_members, sizeof(*p->members)) : NULL;
    for (uint32_t i = 0; i < p->n_members; i++) {
        struct pp_member *pm = &p->members[i];
        if ((rc = get_name(r, pm->name, "push-pull member", e)) < 0 ||
            (rc = get_addr(r, &pm->addr, e)) < 0)
            return rc;
        if (rd_u32(r, &pm->incarnation) < 0 || rd_u8(r, &pm->state) < 0)
            return bad(e, "push-pull member truncated");
        if (pm->state > SWIM_LEFT)
            return err_set(e, -EBADMSG, "malformed message: member state %u", pm->state);
        if ((rc = get_tags(r, &pm->tags_len, &pm->tags, e)) < 0)
            return rc;
    }
    if (rd_u32(r, &p->user_len) < 0 || rd_ptr(r, p->user_len, &p->user) < 0)
        return bad(e, "push-pull user state truncated");
    return 0;
}

/* The parts stay encoded, pointing into the buffer; one level deep only. */
static int get_compound(struct rd *r, struct msg_compound *c, struct err *e)
{
    if (rd_u8(r, &c->n) < 0)
        return bad(e, "compound truncated");
    if (c->n == 0 || c->n > CODEC_COMPOUND_MAX)
        return err_set(e, -EBADMSG, "malformed message: compound of %u parts", c->n);
    for (unsigned i = 0; i < c->n; i++) {
        if (rd_u16(r, &c->part_len[i]) < 0 || rd_ptr(r, c->part_len[i], &c->part[i]) < 0)
            return bad(e, "compound part truncated");
        if (c->part_len[i] < 2)
            return bad(e, "compound part too short");
        if (c->part[i][1] == MSG_COMPOUND)
            return bad(e, "compound inside a compound");
    }
    return 0;
}

/* The body of a message whose header set m->type. */
static int get_body(struct rd *r, struct msg *m, struct err *e)
{
    int rc;

    switch (m->type) {
    case MSG_PING: {
        struct msg_ping *p = &m->u.ping;
        if (rd_u32(r, &p->seq) < 0)
            return bad(e, "ping truncated");
        if ((rc = get_name(r, p->target, "ping target", e)) < 0 ||
            (rc = get_name(r, p->source, "ping source", e)) < 0)
            return rc;
        return get_addr(r, &p->source_addr, e);
    }
    case MSG_ACK:
    case MSG_NACK:
        return rd_u32(r, &m->u.ack.seq) < 0 ? bad(e, "ack truncated") : 0;
    case MSG_PING_REQ:
        return get_ping_req(r, &m->u.ping_req, e);
    case MSG_SUSPECT:
    case MSG_DEAD: {
        struct msg_suspect *p = &m->u.suspect;
        if (rd_u32(r, &p->incarnation) < 0)
            return bad(e, "suspect/dead truncated");
        if ((rc = get_name(r, p->node, "node", e)) < 0)
            return rc;
        return get_name(r, p->from, "from", e);
    }
    case MSG_ALIVE:
        return get_alive(r, &m->u.alive, e);
    case MSG_LEAVE:
        if (rd_u32(r, &m->u.leave.incarnation) < 0)
            return bad(e, "leave truncated");
        return get_name(r, m->u.leave.node, "node", e);
    case MSG_PUSHPULL:
        return get_pushpull(r, &m->u.pushpull, e);
    case MSG_USER:
        if (rd_u16(r, &m->u.user.len) < 0)
            return bad(e, "user payload truncated");
        if (m->u.user.len > CODEC_USER_MAX)
            return err_set(e, -EMSGSIZE, "malformed message: user payload of %u bytes",
                           m->u.user.len);
        return rd_ptr(r, m->u.user.len, &m->u.user.data) < 0 ? bad(e, "user payload truncated") : 0;
    case MSG_COMPOUND:
        return get_compound(r, &m->u.compound, e);
    default:
        return err_set(e, -EPROTO, "unknown message type %u", m->type);
    }
}

int codec_decode(struct msg *m, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint8_t version;
    int rc;

    memset(m, 0, sizeof(*m));
    rd_init(&r, buf, len);
    if (rd_u8(&r, &version) < 0 || rd_u8(&r, &m->type) < 0)
        return bad(e, "shorter than a header");
    if (version != CODEC_VERSION)
        return err_set(e, -EPROTO, "protocol version %u, this agent speaks %d", version,
                       CODEC_VERSION);
    rc = get_body(&r, m, e);
    if (rc == 0 && rd_left(&r) != 0)
        rc = err_set(e, -EBADMSG, "malformed message: %zu trailing bytes", rd_left(&r));
    if (rc < 0)
        msg_release(m);
    return rc;
}

void msg_release(struct msg *m)
{
    if (m->type == MSG_PUSHPULL) {
        free(m->u.pushpull.members);
        m->u.pushpull.members = NULL;
        m->u.pushpull.n_members = 0;
    }
}

/* ---- compound builder ---- */

void codec_compound_begin(struct compound_wr *c, uint8_t *buf, size_t cap)
{
    c->buf = buf;
    c->cap = cap;
    c->len = 3; /* version, type, count: written by finish */
    c->n = 0;
}

size_t codec_compound_cost(size_t len)
{
    return len + 2;
}

int codec_compound_add(struct compound_wr *c, const uint8_t *part, size_t len)
{
    if (c->n >= CODEC_COMPOUND_MAX || len > UINT16_MAX || c->len + 2 + len > c->cap)
        return -EMSGSIZE;
    c->buf[c->len] = (uint8_t)(len >> 8);
    c->buf[c->len + 1] = (uint8_t)len;
    memcpy(c->buf + c->len + 2, part, len);
    c->len += 2 + len;
    c->n++;
    return 0;
}

size_t codec_compound_finish(struct compound_wr *c)
{
    if (c->n == 0)
        return 0;
    if (c->n == 1) {
        size_t len = c->len - 5;
        memmove(c->buf, c->buf + 5, len);
        return len;
    }
    c->buf[0] = CODEC_VERSION;
    c->buf[1] = MSG_COMPOUND;
    c->buf[2] = c->n;
    return c->len;
}

/* ---- addresses ---- */

int node_addr_eq(const struct node_addr *a, const struct node_addr *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

const char *node_addr_str(const struct node_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (a->family == 4)
        inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(buf, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, a->port);
    return buf;
}

size_t node_addr_to_sockaddr(const struct node_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        return sizeof(*s4);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    memcpy(&s6->sin6_addr, a->ip, 16);
    return sizeof(*s6);
}

void node_addr_from_sockaddr(const struct sockaddr *sa, struct node_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a->family = 4;
        a->port = ntohs(s4->sin_port);
        memcpy(a->ip, &s4->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a->family = 6;
        a->port = ntohs(s6->sin6_port);
        memcpy(a->ip, &s6->sin6_addr, 16);
    }
}

int node_addr_parse(struct node_addr *a, const char *text, uint16_t default_port, struct err *e)
{
    const char *s = text;
    char host[INET6_ADDRSTRLEN + 2];
    const char *port = NULL, *end;
    size_t hlen;
    unsigned long p;
    char *pend;

    memset(a, 0, sizeof(*a));
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end)
            return err_set(e, -EINVAL, "address \"%s\": missing ]", text);
        hlen = (size_t)(end - s - 1);
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return err_set(e, -EINVAL, "address \"%s\": expected :PORT after ]", text);
        s++;
    } else {
        end = strrchr(s, ':');
        if (end && strchr(s, ':') != end) /* bare IPv6 without brackets */
            end = NULL;
        hlen = end ? (size_t)(end - s) : strlen(s);
        if (end)
            port = end + 1;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return err_set(e, -EINVAL, "address \"%s\": bad IP", text);
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, a->ip) == 1)
        a->family = 4;
    else if (inet_pton(AF_INET6, host, a->ip) == 1)
        a->family = 6;
    else
        return err_set(e, -EINVAL, "address \"%s\": \"%s\" is not an IP address", text, host);
    if (!port) {
        if (!default_port)
            return err_set(e, -EINVAL, "address \"%s\": missing :PORT", text);
        a->port = default_port;
        return 0;
    }
    errno = 0;
    p = strtoul(port, &pend, 10);
    if (*port == '\0' || *pend != '\0' || errno || p > 65535 || *port == '-' || *port == '+')
        return err_set(e, -EINVAL, "address \"%s\": bad port \"%s\"", text, port);
    a->port = (uint16_t)p;
    return 0;
}
