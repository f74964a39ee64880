/* tags: a member's tags (role=web, zone=a) in their encoded form, a run of
 * (u8 key length, key, u8 value length, value) entries, sorted by key, keys
 * unique, at most SWIM_TAGS_MAX bytes in all. Parsing checks every length. */
#ifndef TROUPE_TAGS_H
#define TROUPE_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TAG_KEY_MAX 64
#define TAG_VAL_MAX 128
#define TAGS_N_MAX  32

struct tag {
    char key[TAG_KEY_MAX + 1];
    char val[TAG_VAL_MAX + 1];
};

struct tags {
    size_t n;
    struct tag t[TAGS_N_MAX];
};

/* Adds or replaces "key=value" text (from --tag). -EINVAL with a message
 * naming the text when it is malformed or over a limit. */
int tags_set_kv(struct tags *t, const char *kv, struct err *e);
int tags_set(struct tags *t, const char *key, const char *val, struct err *e);
/* Encodes t sorted by key into buf; returns length or -EMSGSIZE. */
int tags_encode(const struct tags *t, uint8_t *buf, size_t cap, struct err *e);
/* Decodes an encoded run; -EBADMSG with a message for malformed input. */
int tags_decode(struct tags *t, const uint8_t *buf, size_t len, struct err *e);

#endif
