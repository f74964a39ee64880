/* codec: the versioned binary format of every gossip message, in plaintext
 * (sealing and the packet header live in agent/net_keyring). Encoding writes
 * into caller buffers; decoding checks every length and returns -EBADMSG
 * (truncated, malformed), -EMSGSIZE (a field over its limit) or -EPROTO
 * (unknown version or type) with a message in struct err. Decoded messages
 * point into the input buffer where noted, so the input must outlive them.
 *
 * Wire layout of one message: u8 version (CODEC_VERSION), u8 type, body.
 * Integers are big-endian. A name is u8 length + bytes (1..SWIM_NAME_MAX,
 * no NUL inside). An address is u8 family (4|6) + 4|16 bytes + u16 port.
 * Tags are u16 length + bytes (see core/tags.h for their inner format). */
#ifndef TROUPE_CODEC_H
#define TROUPE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CODEC_VERSION      1
#define CODEC_PACKET_MAX   1400        /* bytes of plaintext in one UDP packet */
#define CODEC_STREAM_MAX   (16u << 20) /* bytes of one TCP message (push-pull) */
#define SWIM_NAME_MAX      64          /* bytes of a node name, without NUL */
#define SWIM_TAGS_MAX      512         /* bytes of a member's encoded tags */
#define CODEC_USER_MAX     1200        /* bytes of a user broadcast payload */
#define CODEC_COMPOUND_MAX 64          /* messages in one compound packet */

enum msg_type {
    MSG_PING = 1,
    MSG_ACK = 2,
    MSG_NACK = 3,
    MSG_PING_REQ = 4,
    MSG_SUSPECT = 5,
    MSG_ALIVE = 6,
    MSG_DEAD = 7,
    MSG_LEAVE = 8,
    MSG_PUSHPULL = 9,
    MSG_COMPOUND = 10,
    MSG_USER = 11, /* opaque payload for layers above membership (CRDT deltas) */
    MSG_REPL = 12, /* stream only: replication of the CRDT store (core/repl.h); not decoded here */
};

/* Member states, as carried in push-pull and in struct swim_member. */
enum swim_state {
    SWIM_ALIVE = 0,
    SWIM_SUSPECT = 1,
    SWIM_DEAD = 2,
    SWIM_LEFT = 3,
};

struct node_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t ip[16]; /* IPv4 in the first 4 bytes */
    uint16_t port;
};

struct msg_ping {
    uint32_t seq;
    char target[SWIM_NAME_MAX + 1]; /* whom the sender means to ping */
    char source[SWIM_NAME_MAX + 1];
    struct node_addr source_addr; /* where to send the ack */
};

struct msg_ack { /* also MSG_NACK */
    uint32_t seq;
};

struct msg_ping_req {
    uint32_t seq;
    char target[SWIM_NAME_MAX + 1];
    struct node_addr target_addr;
    char source[SWIM_NAME_MAX + 1];
    struct node_addr source_addr;
    uint8_t want_nack;
};

struct msg_suspect { /* also MSG_DEAD */
    uint32_t incarnation;
    char node[SWIM_NAME_MAX + 1];
    char from[SWIM_NAME_MAX + 1];
};

struct msg_alive {
    uint32_t incarnation;
    char node[SWIM_NAME_MAX + 1];
    struct node_addr addr;
    uint8_t proto_min, proto_max; /* protocol versions the node speaks */
    uint16_t tags_len;
    uint8_t tags[SWIM_TAGS_MAX];
};

struct msg_leave {
    uint32_t incarnation;
    char node[SWIM_NAME_MAX + 1];
};

/* One member in a push-pull state exchange. */
struct pp_member {
    char name[SWIM_NAME_MAX + 1];
    struct node_addr addr;
    uint32_t incarnation;
    uint8_t state; /* enum swim_state */
    uint16_t tags_len;
    const uint8_t *tags; /* points into the decoded buffer */
};

struct msg_pushpull {
    uint8_t join; /* 1: the sender is joining */
    uint32_t n_members;
    struct pp_member *members; /* decode: heap array, freed by msg_release */
    uint32_t user_len;         /* opaque state of upper layers */
    const uint8_t *user;       /* points into the decoded buffer */
};

struct msg_user {
    uint16_t len;
    const uint8_t *data; /* points into the decoded buffer */
};

/* A compound packet: several messages, each u16 length + message bytes.
 * Decoding yields the parts as raw slices; decode each with codec_decode.
 * A compound inside a compound is refused. */
struct msg_compound {
    uint8_t n;
    const uint8_t *part[CODEC_COMPOUND_MAX];
    uint16_t part_len[CODEC_COMPOUND_MAX];
};

struct msg {
    uint8_t type; /* enum msg_type */
    union {
        struct msg_ping ping;
        struct msg_ack ack;
        struct msg_ping_req ping_req;
        struct msg_suspect suspect;
        struct msg_suspect dead;
        struct msg_alive alive;
        struct msg_leave leave;
        struct msg_pushpull pushpull;
        struct msg_user user;
        struct msg_compound compound;
    } u;
};

/* Encodes m into buf (cap bytes). Returns the length written, or -EMSGSIZE
 * when it does not fit or a field is over its limit, -EINVAL for a message
 * that cannot be valid (empty name, bad family, unknown type). */
int codec_encode(const struct msg *m, uint8_t *buf, size_t cap, struct err *e);

/* Encoded size of m, or a negative code as codec_encode. */
int codec_size(const struct msg *m, struct err *e);

/* Decodes one message from buf. Returns 0 or a negative code. A decoded
 * push-pull owns a heap array: call msg_release(m) after every successful
 * decode (harmless for other types). */
int codec_decode(struct msg *m, const uint8_t *buf, size_t len, struct err *e);

/* Frees what codec_decode allocated inside m; m itself is the caller's. */
void msg_release(struct msg *m);

/* Compound builder: start with codec_compound_begin, add already-encoded
 * messages while they fit, finish. Used to pack piggybacked broadcasts. */
struct compound_wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint8_t n;
};
void codec_compound_begin(struct compound_wr *c, uint8_t *buf, size_t cap);
/* Returns 0, or -EMSGSIZE when the part does not fit (nothing is written). */
int codec_compound_add(struct compound_wr *c, const uint8_t *part, size_t len);
/* Bytes that one more part of len bytes would cost. */
size_t codec_compound_cost(size_t len);
/* Returns the packet length; with one part, the part alone (no wrapper). */
size_t codec_compound_finish(struct compound_wr *c);

/* Address helpers. */
int node_addr_eq(const struct node_addr *a, const struct node_addr *b);
/* "1.2.3.4:7420" or "[::1]:7420" into buf (at least 48 bytes). */
const char *node_addr_str(const struct node_addr *a, char *buf, size_t cap);
/* Parses "IP:PORT", "[IP6]:PORT" (and "IP" with default_port when
 * default_port != 0). Returns 0 or -EINVAL with a message naming the text. */
int node_addr_parse(struct node_addr *a, const char *s, uint16_t default_port, struct err *e);
/* Conversions to and from the socket API's addresses (plain struct
 * copies, no system call). to_sockaddr returns the length that bind,
 * connect and sendto want; from_sockaddr leaves a zeroed (family 0) for a
 * family other than AF_INET and AF_INET6. */
struct sockaddr;
struct sockaddr_storage;
size_t node_addr_to_sockaddr(const struct node_addr *a, struct sockaddr_storage *ss);
void node_addr_from_sockaddr(const struct sockaddr *sa, struct node_addr *a);

#endif
