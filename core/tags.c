/* tags: a member's tags, parsed from "k=v" text and kept in a compact
 * encoded run (see tags.h). Decoding checks every length. */
#include "core/tags.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"

static int valid_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int tags_set(struct tags *t, const char *key, const char *val, struct err *e)
{
    size_t kl = strlen(key), vl = strlen(val), i;

    if (kl == 0 || kl > TAG_KEY_MAX)
        return err_set(e, -EINVAL, "tag key \"%s\": must be 1..%d bytes", key, TAG_KEY_MAX);
    if (vl > TAG_VAL_MAX)
        return err_set(e, -EINVAL, "tag %s: value longer than %d bytes", key, TAG_VAL_MAX);
    if (!valid_text(key, kl) || strchr(key, '=') || !valid_text(val, vl))
        return err_set(e, -EINVAL, "tag %s: control characters or '=' in the key", key);
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->t[i].key, key) == 0)
            break;
    }
    if (i == t->n) {
        if (t->n == TAGS_N_MAX)
            return err_set(e, -EINVAL, "tag %s: more than %d tags", key, TAGS_N_MAX);
        t->n++;
    }
    memcpy(t->t[i].key, key, kl + 1);
    memcpy(t->t[i].val, val, vl + 1);
    return 0;
}

int tags_set_kv(struct tags *t, const char *kv, struct err *e)
{
    char key[TAG_KEY_MAX + 1];
    const char *eq = strchr(kv, '=');
    size_t kl;

    if (!eq)
        return err_set(e, -EINVAL, "tag \"%s\": expected key=value", kv);
    kl = (size_t)(eq - kv);
    if (kl == 0 || kl > TAG_KEY_MAX)
        return err_set(e, -EINVAL, "tag \"%s\": key must be 1..%d bytes", kv, TAG_KEY_MAX);
    memcpy(key, kv, kl);
    key[kl] = '\0';
    return tags_set(t, key, eq + 1, e);
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const struct tag *)a)->key, ((const struct tag *)b)->key);
}

int tags_encode(const struct tags *t, uint8_t *buf, size_t cap, struct err *e)
{
    struct tag sorted[TAGS_N_MAX];
    struct wr w;

    memcpy(sorted, t->t, t->n * sizeof(sorted[0]));
    qsort(sorted, t->n, sizeof(sorted[0]), cmp_tag);
    wr_init(&w, buf, cap < SWIM_TAGS_MAX ? cap : SWIM_TAGS_MAX);
    for (size_t i = 0; i < t->n; i++) {
        size_t kl = strlen(sorted[i].key), vl = strlen(sorted[i].val);
        wr_u8(&w, (uint8_t)kl);
        wr_bytes(&w, sorted[i].key, kl);
        wr_u8(&w, (uint8_t)vl);
        wr_bytes(&w, sorted[i].val, vl);
    }
    if (w.overflow)
        return err_set(e, -EMSGSIZE, "tags take more than %d bytes", SWIM_TAGS_MAX);
    return (int)w.len;
}

int tags_decode(struct tags *t, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint8_t kl, vl;
    const uint8_t *k, *v;

    t->n = 0;
    if (len > SWIM_TAGS_MAX)
        return err_set(e, -EMSGSIZE, "tags of %zu bytes, at most %d", len, SWIM_TAGS_MAX);
    rd_init(&r, buf, len);
    while (rd_left(&r)) {
        if (t->n == TAGS_N_MAX)
            return err_set(e, -EBADMSG, "more than %d tags", TAGS_N_MAX);
        if (rd_u8(&r, &kl) < 0 || rd_ptr(&r, kl, &k) < 0 || rd_u8(&r, &vl) < 0 ||
            rd_ptr(&r, vl, &v) < 0)
            return err_set(e, -EBADMSG, "tags truncated");
        if (kl == 0 || kl > TAG_KEY_MAX || vl > TAG_VAL_MAX)
            return err_set(e, -EBADMSG, "tag key or value length out of range");
        if (!valid_text((const char *)k, kl) || memchr(k, '=', kl) ||
            !valid_text((const char *)v, vl))
            return err_set(e, -EBADMSG, "tag with control characters");
        memcpy(t->t[t->n].key, k, kl);
        t->t[t->n].key[kl] = '\0';
        memcpy(t->t[t->n].val, v, vl);
        t->t[t->n].val[vl] = '\0';
        if (t->n && strcmp(t->t[t->n - 1].key, t->t[t->n].key) >= 0)
            return err_set(e, -EBADMSG, "tags not sorted or keys repeated");
        t->n++;
    }
    return 0;
}
