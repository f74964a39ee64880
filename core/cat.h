/* cat: the service catalog on top of the CRDT store. Owns what a catalog
 * value means: a service instance, a health check's status, a user event,
 * their validation, their binary encoding inside a record's value (checked
 * at every read, fuzzed), and the queries the API and DNS answer from the
 * local replica: services, instances of a service with their health, nodes.
 *
 * An instance's health is the worst status of its checks (no check:
 * passing). Instances of an origin the membership layer does not serve
 * (dead, left) are not returned by queries that ask for serving instances.
 * Pure: membership comes in through a callback. */
#ifndef TROUPE_CAT_H
#define TROUPE_CAT_H

#include <stddef.h>
#include <stdint.h>

#include "core/crdt.h"
#include "core/err.h"
#include "core/tags.h"

#define CAT_NAME_MAX          63   /* service name: a DNS label, [a-z0-9-], case-folded */
#define CAT_ID_MAX            128  /* instance and check ids: [A-Za-z0-9._:-] */
#define CAT_ADDR_MAX          46   /* an IPv4 or IPv6 address in text */
#define CAT_TAGS_MAX          32   /* tags of an instance */
#define CAT_TAG_MAX           255  /* bytes of one tag: printable ASCII (u8 length) */
#define CAT_VERSION_MAX       64   /* the version label of an instance */
#define CAT_OUTPUT_MAX        4096 /* bytes of check output kept and gossiped */
#define CAT_EVENT_NAME_MAX    128
#define CAT_EVENT_PAYLOAD_MAX 512

enum cat_status { CAT_PASSING = 0, CAT_WARNING = 1, CAT_CRITICAL = 2 };

struct cat_instance {
    char id[CAT_ID_MAX + 1];
    char service[CAT_NAME_MAX + 1];
    char node[SWIM_NAME_MAX + 1];   /* the origin; filled on reads, not encoded */
    char address[CAT_ADDR_MAX + 1]; /* empty: the node's address */
    uint16_t port;
    uint8_t n_tags;
    char tags[CAT_TAGS_MAX][CAT_TAG_MAX + 1];
    struct tags meta; /* key=value pairs */
    char version[CAT_VERSION_MAX + 1];
    uint32_t weight; /* 1..65535, default 1 */
};

struct cat_check {
    char id[CAT_ID_MAX + 1];
    char instance[CAT_ID_MAX + 1]; /* the instance it judges, same origin */
    char name[CAT_ID_MAX + 1];
    char type[8];   /* http, tcp, exec, ttl */
    uint8_t status; /* enum cat_status */
    uint16_t output_len;
    char output[CAT_OUTPUT_MAX + 1];
};

struct cat_event {
    char name[CAT_EVENT_NAME_MAX + 1];
    uint64_t seq; /* per origin, from 1 */
    uint16_t payload_len;
    uint8_t payload[CAT_EVENT_PAYLOAD_MAX];
};

/* Validation: 0, or -EINVAL with a message naming the field. Service names
 * are folded to lower case in place. */
int cat_instance_check(struct cat_instance *in, struct err *e);
/* 1 when tag is a DNS label (what DNS can ask for, TAG.NAME.service...):
 * a tag may be any printable text (Consul's tools put rules and key=value
 * pairs in tags), but only a label is ever matched by a DNS name. */
int cat_tag_is_label(const char *tag);
int cat_check_check(struct cat_check *ck, struct err *e);

/* Value encodings. Encode returns the length or -EMSGSIZE; decode returns 0
 * or -EBADMSG/-EMSGSIZE with a message, and never reads past len. */
int cat_instance_encode(const struct cat_instance *in, uint8_t *buf, size_t cap, struct err *e);
int cat_instance_decode(struct cat_instance *in, const uint8_t *buf, size_t len, struct err *e);
int cat_check_encode(const struct cat_check *ck, uint8_t *buf, size_t cap, struct err *e);
int cat_check_decode(struct cat_check *ck, const uint8_t *buf, size_t len, struct err *e);
int cat_event_encode(const struct cat_event *ev, uint8_t *buf, size_t cap, struct err *e);
int cat_event_decode(struct cat_event *ev, const uint8_t *buf, size_t len, struct err *e);

const char *cat_status_name(uint8_t status); /* "passing", "warning", "critical" */
int cat_status_parse(const char *s, uint8_t *status);

/* Membership as the catalog needs it: 1 when node's records are served
 * (alive or suspect), 0 when not (dead, left, unknown). */
typedef int (*cat_serving_fn)(void *ud, const char *node);

struct cat_view {
    const struct crdt *c;
    cat_serving_fn serving;
    void *ud;
};

/* One instance with its health, as queries return it. */
struct cat_entry {
    struct cat_instance inst;
    uint8_t status;  /* worst of its checks */
    uint8_t serving; /* its node is served (see cat_serving_fn) */
    uint16_t n_checks;
    struct cat_check *checks; /* heap, n_checks; freed by cat_entries_free */
};

/* Instances of service (case-insensitive), optionally with tag (NULL: any),
 * whose status is at most max_status (CAT_CRITICAL: all) and, when
 * only_serving, whose node is served. Sorted by (node, id). *out is a heap
 * array of *n entries; free it with cat_entries_free. Returns 0 or <0. */
int cat_service_entries(const struct cat_view *v, const char *service, const char *tag,
                        uint8_t max_status, int only_serving, struct cat_entry **out, size_t *n,
                        struct err *e);
void cat_entries_free(struct cat_entry *es, size_t n);

/* One service as the services list shows it. */
struct cat_service {
    char name[CAT_NAME_MAX + 1];
    uint32_t instances; /* of serving nodes */
    uint32_t passing, warning, critical;
    uint8_t n_tags; /* the union of the instances' tags, sorted */
    char tags[CAT_TAGS_MAX][CAT_TAG_MAX + 1];
};

/* Every service with at least one instance, sorted by name. *out is a heap
 * array freed with free(). */
int cat_services(const struct cat_view *v, struct cat_service **out, size_t *n, struct err *e);

/* The record key of an event (zero-padded seq, so keys sort by seq). */
void cat_event_key(uint64_t seq, char buf[24]);

#endif
