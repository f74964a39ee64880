/* cat: catalog values (instances, checks, events): validation, their
 * encoding inside CRDT records, and the queries answered from the local
 * replica (see cat.h). Every decoded value goes through the same
 * validation as a local registration, so a peer cannot slip in what the
 * API would refuse. */
#include "core/cat.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

#define FMT_V1 1 /* first byte of every encoded value */

/* ---- validation ---- */

static int id_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
}

static int valid_id(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!id_char((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* A DNS label: letters, digits, '-', not at either end. */
static int valid_label(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-')
            return 0;
    }
    return 1;
}

static int valid_text(const char *s, size_t max, int allow_space)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
            return 0;
    }
    return 1;
}

/* A tag: 1..CAT_TAG_MAX bytes of printable ASCII, spaces included (tags
 * such as "traefik.http.routers.web.rule=Host(`a`) && PathPrefix(`/b`)" or
 * "urlprefix-/" are how Consul's tools configure themselves). */
static int valid_tag(const char *s)
{
    size_t n = strnlen(s, CAT_TAG_MAX + 1);
    if (n == 0 || n > CAT_TAG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

int cat_tag_is_label(const char *tag)
{
    return valid_label(tag, 63);
}

static int valid_addr(const char *s)
{
    unsigned char buf[16];
    size_t n = strnlen(s, CAT_ADDR_MAX + 1);
    if (n == 0)
        return 1;
    if (n > CAT_ADDR_MAX)
        return 0;
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int cat_instance_check(struct cat_instance *in, struct err *e)
{
    size_t i;

    if (!valid_id(in->id, CAT_ID_MAX))
        return err_set(e, -EINVAL, "instance id \"%.*s\": 1..%d of A-Z a-z 0-9 . _ : -", 64, in->id,
                       CAT_ID_MAX);
    for (i = 0; in->service[i] && i <= CAT_NAME_MAX; i++)
        in->service[i] = (char)tolower((unsigned char)in->service[i]);
    if (!valid_label(in->service, CAT_NAME_MAX))
        return err_set(e, -EINVAL,
                       "instance %s: service \"%.*s\" must be a DNS label (1..%d of a-z 0-9 -)",
                       in->id, 64, in->service, CAT_NAME_MAX);
    if (!valid_addr(in->address))
        return err_set(e, -EINVAL, "instance %s: address \"%.*s\" is not an IPv4 or IPv6 address",
                       in->id, 48, in->address);
    if (in->n_tags > CAT_TAGS_MAX)
        return err_set(e, -EINVAL, "instance %s: %u tags, at most %d", in->id, in->n_tags,
                       CAT_TAGS_MAX);
    for (i = 0; i < in->n_tags; i++) {
        if (!valid_tag(in->tags[i]))
            return err_set(e, -EINVAL,
                           "instance %s: tag \"%.*s\" must be 1..%d bytes of printable ASCII",
                           in->id, 64, in->tags[i], CAT_TAG_MAX);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(in->tags[i], in->tags[j]) == 0)
                return err_set(e, -EINVAL, "instance %s: tag %s given twice", in->id, in->tags[i]);
        }
    }
    if (in->meta.n > TAGS_N_MAX)
        return err_set(e, -EINVAL, "instance %s: more than %d meta entries", in->id, TAGS_N_MAX);
    if (!valid_text(in->version, CAT_VERSION_MAX, 0))
        return err_set(e, -EINVAL, "instance %s: version label must be 0..%d printable bytes",
                       in->id, CAT_VERSION_MAX);
    if (in->weight == 0)
        in->weight = 1;
    if (in->weight > 65535)
        return err_set(e, -EINVAL, "instance %s: weight %u, must be 1..65535", in->id, in->weight);
    return 0;
}

static const char *const check_types[] = {"http", "tcp", "exec", "ttl"};

int cat_check_check(struct cat_check *ck, struct err *e)
{
    int known = 0;

    if (!valid_id(ck->id, CAT_ID_MAX))
        return err_set(e, -EINVAL, "check id \"%.*s\": 1..%d of A-Z a-z 0-9 . _ : -", 64, ck->id,
                       CAT_ID_MAX);
    if (ck->instance[0] && !valid_id(ck->instance, CAT_ID_MAX))
        return err_set(e, -EINVAL, "check %s: instance id \"%.*s\" is not valid", ck->id, 64,
                       ck->instance);
    if (!valid_text(ck->name, CAT_ID_MAX, 1))
        return err_set(e, -EINVAL, "check %s: name must be 0..%d printable bytes", ck->id,
                       CAT_ID_MAX);
    for (size_t i = 0; i < sizeof(check_types) / sizeof(check_types[0]); i++)
        known |= strncmp(ck->type, check_types[i], sizeof(ck->type)) == 0;
    if (!known)
        return err_set(e, -EINVAL, "check %s: type must be http, tcp, exec or ttl", ck->id);
    if (ck->status > CAT_CRITICAL)
        return err_set(e, -EINVAL, "check %s: status %u is not passing, warning or critical",
                       ck->id, ck->status);
    if (ck->output_len > CAT_OUTPUT_MAX)
        return err_set(e, -EINVAL, "check %s: output of %u bytes, at most %d", ck->id,
                       ck->output_len, CAT_OUTPUT_MAX);
    ck->output[ck->output_len] = '\0';
    return 0;
}

/* ---- encoding ---- */

static void put_str(struct wr *w, const char *s)
{
    size_t n = strlen(s);
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, s, n);
}

/* Reads a u8-length string of at most max bytes into out (max + 1). */
static int get_str(struct rd *r, char *out, size_t max, const char *what, struct err *e)
{
    uint8_t n;
    const uint8_t *p;

    if (rd_u8(r, &n) < 0 || rd_ptr(r, n, &p) < 0)
        return err_set(e, -EBADMSG, "%s: truncated", what);
    if (n > max || memchr(p, 0, n))
        return err_set(e, -EBADMSG, "%s: %u bytes, at most %zu, no NUL", what, n, max);
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int begin(struct rd *r, const uint8_t *buf, size_t len, const char *what, struct err *e)
{
    uint8_t fmt;

    rd_init(r, buf, len);
    if (rd_u8(r, &fmt) < 0)
        return err_set(e, -EBADMSG, "%s: empty value", what);
    if (fmt != FMT_V1)
        return err_set(e, -EBADMSG, "%s: unknown format %u", what, fmt);
    return 0;
}

/* A decoded value that validation refused: malformed input, not a bad request. */
static int bad_value(struct err *e, const char *what)
{
    if (e) {
        err_wrap(e, "%s", what);
        e->code = -EBADMSG;
    }
    return -EBADMSG;
}

static int finish_wr(const struct wr *w, const char *what, struct err *e)
{
    if (w->overflow)
        return err_set(e, -EMSGSIZE, "%s: encoding does not fit in %zu bytes", what, w->cap);
    return (int)w->len;
}

int cat_instance_encode(const struct cat_instance *in, uint8_t *buf, size_t cap, struct err *e)
{
    uint8_t meta[SWIM_TAGS_MAX];
    int ml = tags_encode(&in->meta, meta, sizeof(meta), e);
    struct wr w;

    if (ml < 0)
        return ml;
    wr_init(&w, buf, cap);
    wr_u8(&w, FMT_V1);
    put_str(&w, in->id);
    put_str(&w, in->service);
    put_str(&w, in->address);
    wr_u16(&w, in->port);
    wr_u8(&w, in->n_tags);
    for (unsigned i = 0; i < in->n_tags && i < CAT_TAGS_MAX; i++)
        put_str(&w, in->tags[i]);
    wr_u16(&w, (uint16_t)ml);
    wr_bytes(&w, meta, (size_t)ml);
    put_str(&w, in->version);
    wr_u32(&w, in->weight);
    return finish_wr(&w, "instance", e);
}

int cat_instance_decode(struct cat_instance *in, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    uint16_t ml;
    const uint8_t *meta;
    int rc;

    memset(in, 0, sizeof(*in));
    if ((rc = begin(&r, buf, len, "instance", e)) < 0)
        return rc;
    if ((rc = get_str(&r, in->id, CAT_ID_MAX, "instance id", e)) < 0 ||
        (rc = get_str(&r, in->service, CAT_NAME_MAX, "instance service", e)) < 0 ||
        (rc = get_str(&r, in->address, CAT_ADDR_MAX, "instance address", e)) < 0)
        return rc;
    if (rd_u16(&r, &in->port) < 0 || rd_u8(&r, &in->n_tags) < 0)
        return err_set(e, -EBADMSG, "instance %s: truncated", in->id);
    if (in->n_tags > CAT_TAGS_MAX)
        return err_set(e, -EMSGSIZE, "instance %s: %u tags, at most %d", in->id, in->n_tags,
                       CAT_TAGS_MAX);
    for (unsigned i = 0; i < in->n_tags; i++) {
        if ((rc = get_str(&r, in->tags[i], CAT_TAG_MAX, "instance tag", e)) < 0)
            return rc;
    }
    if (rd_u16(&r, &ml) < 0 || rd_ptr(&r, ml, &meta) < 0)
        return err_set(e, -EBADMSG, "instance %s: meta truncated", in->id);
    if ((rc = tags_decode(&in->meta, meta, ml, e)) < 0)
        return err_wrap(e, "instance %s meta", in->id);
    if ((rc = get_str(&r, in->version, CAT_VERSION_MAX, "instance version", e)) < 0)
        return rc;
    if (rd_u32(&r, &in->weight) < 0)
        return err_set(e, -EBADMSG, "instance %s: truncated", in->id);
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "instance %s: %zu bytes after the value", in->id, rd_left(&r));
    if (in->weight == 0)
        return err_set(e, -EBADMSG, "instance %s: weight 0", in->id);
    if (cat_instance_check(in, e) < 0)
        return bad_value(e, "instance value");
    return 0;
}

int cat_check_encode(const struct cat_check *ck, uint8_t *buf, size_t cap, struct err *e)
{
    struct wr w;
    uint16_t ol = ck->output_len > CAT_OUTPUT_MAX ? CAT_OUTPUT_MAX : ck->output_len;

    wr_init(&w, buf, cap);
    wr_u8(&w, FMT_V1);
    put_str(&w, ck->id);
    put_str(&w, ck->instance);
    put_str(&w, ck->name);
    wr_u8(&w, (uint8_t)strnlen(ck->type, sizeof(ck->type) - 1));
    wr_bytes(&w, ck->type, strnlen(ck->type, sizeof(ck->type) - 1));
    wr_u8(&w, ck->status);
    wr_u16(&w, ol);
    wr_bytes(&w, ck->output, ol);
    return finish_wr(&w, "check", e);
}

int cat_check_decode(struct cat_check *ck, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    int rc;

    memset(ck, 0, sizeof(*ck));
    if ((rc = begin(&r, buf, len, "check", e)) < 0)
        return rc;
    if ((rc = get_str(&r, ck->id, CAT_ID_MAX, "check id", e)) < 0 ||
        (rc = get_str(&r, ck->instance, CAT_ID_MAX, "check instance", e)) < 0 ||
        (rc = get_str(&r, ck->name, CAT_ID_MAX, "check name", e)) < 0 ||
        (rc = get_str(&r, ck->type, sizeof(ck->type) - 1, "check type", e)) < 0)
        return rc;
    if (rd_u8(&r, &ck->status) < 0 || rd_u16(&r, &ck->output_len) < 0)
        return err_set(e, -EBADMSG, "check %s: truncated", ck->id);
    if (ck->output_len > CAT_OUTPUT_MAX)
        return err_set(e, -EMSGSIZE, "check %s: output of %u bytes, at most %d", ck->id,
                       ck->output_len, CAT_OUTPUT_MAX);
    if (rd_bytes(&r, ck->output, ck->output_len) < 0)
        return err_set(e, -EBADMSG, "check %s: output truncated", ck->id);
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "check %s: %zu bytes after the value", ck->id, rd_left(&r));
    if (cat_check_check(ck, e) < 0)
        return bad_value(e, "check value");
    return 0;
}

int cat_event_encode(const struct cat_event *ev, uint8_t *buf, size_t cap, struct err *e)
{
    struct wr w;

    if (!valid_text(ev->name, CAT_EVENT_NAME_MAX, 0) || !ev->name[0])
        return err_set(e, -EINVAL, "event name must be 1..%d printable bytes", CAT_EVENT_NAME_MAX);
    if (ev->payload_len > CAT_EVENT_PAYLOAD_MAX)
        return err_set(e, -EMSGSIZE, "event payload of %u bytes, at most %d", ev->payload_len,
                       CAT_EVENT_PAYLOAD_MAX);
    wr_init(&w, buf, cap);
    wr_u8(&w, FMT_V1);
    put_str(&w, ev->name);
    wr_u64(&w, ev->seq);
    wr_u16(&w, ev->payload_len);
    wr_bytes(&w, ev->payload, ev->payload_len);
    return finish_wr(&w, "event", e);
}

int cat_event_decode(struct cat_event *ev, const uint8_t *buf, size_t len, struct err *e)
{
    struct rd r;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if ((rc = begin(&r, buf, len, "event", e)) < 0)
        return rc;
    if ((rc = get_str(&r, ev->name, CAT_EVENT_NAME_MAX, "event name", e)) < 0)
        return rc;
    if (!ev->name[0] || !valid_text(ev->name, CAT_EVENT_NAME_MAX, 0))
        return err_set(e, -EBADMSG, "event name must be 1..%d printable bytes", CAT_EVENT_NAME_MAX);
    if (rd_u64(&r, &ev->seq) < 0 || rd_u16(&r, &ev->payload_len) < 0)
        return err_set(e, -EBADMSG, "event %s: truncated", ev->name);
    if (ev->payload_len > CAT_EVENT_PAYLOAD_MAX)
        return err_set(e, -EMSGSIZE, "event %s: payload of %u bytes, at most %d", ev->name,
                       ev->payload_len, CAT_EVENT_PAYLOAD_MAX);
    if (rd_bytes(&r, ev->payload, ev->payload_len) < 0)
        return err_set(e, -EBADMSG, "event %s: payload truncated", ev->name);
    if (rd_left(&r))
        return err_set(e, -EBADMSG, "event %s: %zu bytes after the value", ev->name, rd_left(&r));
    return 0;
}

static const char *const status_names[] = {"passing", "warning", "critical"};

const char *cat_status_name(uint8_t status)
{
    return status <= CAT_CRITICAL ? status_names[status] : "unknown";
}

int cat_status_parse(const char *s, uint8_t *status)
{
    for (uint8_t i = 0; i <= CAT_CRITICAL; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *status = i;
            return 0;
        }
    }
    return -EINVAL;
}

void cat_event_key(uint64_t seq, char buf[24])
{
    snprintf(buf, 24, "%020llu", (unsigned long long)seq);
}

/* ---- queries ---- */

static int serving(const struct cat_view *v, const char *node)
{
    return v->serving ? v->serving(v->ud, node) != 0 : 1;
}

struct checks_acc {
    const char *instance;
    struct cat_check *checks;
    uint16_t n, cap;
    uint8_t status;
};

static int check_cb(void *ud, const struct crdt_rec *r)
{
    struct checks_acc *a = ud;
    struct cat_check ck;

    if (r->kind != CRDT_CHECK || r->deleted || cat_check_decode(&ck, r->val, r->len, NULL) < 0)
        return 0;
    if (ck.instance[0] && strcmp(ck.instance, a->instance) != 0)
        return 0; /* an empty instance: a check of the whole node */
    if (ck.status > a->status)
        a->status = ck.status;
    if (a->checks) {
        if (a->n == a->cap) {
            a->cap = a->cap ? (uint16_t)(a->cap * 2) : 4;
            a->checks = xrealloc(a->checks, a->cap * sizeof(*a->checks));
        }
        a->checks[a->n] = ck;
    }
    if (a->n < UINT16_MAX)
        a->n++;
    return 0;
}

/* The worst status of the checks of one instance; with want_list, the
 * checks themselves (heap). */
static void instance_health(const struct crdt *c, const char *node, const char *id, int want_list,
                            struct checks_acc *a)
{
    memset(a, 0, sizeof(*a));
    a->instance = id;
    if (want_list)
        a->checks = xmalloc(sizeof(*a->checks));
    a->cap = want_list ? 1 : 0;
    crdt_scan_origin(c, node, check_cb, a);
}

static int has_tag(const struct cat_instance *in, const char *tag)
{
    for (unsigned i = 0; i < in->n_tags; i++) {
        if (strcasecmp(in->tags[i], tag) == 0)
            return 1;
    }
    return 0;
}

struct entries_acc {
    const struct cat_view *v;
    char service[CAT_NAME_MAX + 1];
    const char *tag;
    uint8_t max_status;
    int only_serving;
    struct cat_entry *es;
    size_t n, cap;
};

static int entry_cb(void *ud, const struct crdt_rec *r)
{
    struct entries_acc *a = ud;
    struct cat_instance in;
    struct checks_acc h;
    struct cat_entry *en;
    int srv;

    if (cat_instance_decode(&in, r->val, r->len, NULL) < 0 || strcmp(in.service, a->service))
        return 0;
    if (a->tag && !has_tag(&in, a->tag))
        return 0;
    srv = serving(a->v, r->origin);
    if (a->only_serving && !srv)
        return 0;
    instance_health(a->v->c, r->origin, in.id, 1, &h);
    if (h.status > a->max_status) {
        free(h.checks);
        return 0;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->es = xrealloc(a->es, a->cap * sizeof(*a->es));
    }
    en = &a->es[a->n++];
    en->inst = in;
    snprintf(en->inst.node, sizeof(en->inst.node), "%s", r->origin);
    en->status = h.status;
    en->serving = (uint8_t)srv;
    en->n_checks = h.n;
    en->checks = h.checks;
    return 0;
}

static int cmp_entry(const void *x, const void *y)
{
    const struct cat_entry *a = x, *b = y;
    int d = strcmp(a->inst.node, b->inst.node);
    return d ? d : strcmp(a->inst.id, b->inst.id);
}

int cat_service_entries(const struct cat_view *v, const char *service, const char *tag,
                        uint8_t max_status, int only_serving, struct cat_entry **out, size_t *n,
                        struct err *e)
{
    struct entries_acc a = {
        .v = v, .tag = tag, .max_status = max_status, .only_serving = only_serving};
    size_t i;

    *out = NULL;
    *n = 0;
    for (i = 0; service[i] && i <= CAT_NAME_MAX; i++)
        a.service[i] = (char)tolower((unsigned char)service[i]);
    if (i > CAT_NAME_MAX || !valid_label(a.service, CAT_NAME_MAX))
        return err_set(e, -EINVAL, "service \"%.*s\" must be a DNS label (1..%d of a-z 0-9 -)", 64,
                       service, CAT_NAME_MAX);
    crdt_scan(v->c, CRDT_INSTANCE, NULL, 0, entry_cb, &a);
    if (a.n)
        qsort(a.es, a.n, sizeof(*a.es), cmp_entry);
    *out = a.es;
    *n = a.n;
    return 0;
}

void cat_entries_free(struct cat_entry *es, size_t n)
{
    if (!es)
        return;
    for (size_t i = 0; i < n; i++)
        free(es[i].checks);
    free(es);
}

struct services_acc {
    const struct cat_view *v;
    struct cat_service *s;
    size_t n, cap;
};

static int cmp_tag(const void *x, const void *y)
{
    return strcmp(x, y);
}

static void add_tag(struct cat_service *s, const char *tag)
{
    for (unsigned i = 0; i < s->n_tags; i++) {
        if (strcmp(s->tags[i], tag) == 0)
            return;
    }
    if (s->n_tags < CAT_TAGS_MAX)
        snprintf(s->tags[s->n_tags++], sizeof(s->tags[0]), "%s", tag);
}

static int service_cb(void *ud, const struct crdt_rec *r)
{
    struct services_acc *a = ud;
    struct cat_instance in;
    struct cat_service *s = NULL;
    struct checks_acc h;

    if (cat_instance_decode(&in, r->val, r->len, NULL) < 0)
        return 0;
    for (size_t i = a->n; i > 0; i--) { /* scans go by key: look from the end */
        if (strcmp(a->s[i - 1].name, in.service) == 0) {
            s = &a->s[i - 1];
            break;
        }
    }
    if (!s) {
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 8;
            a->s = xrealloc(a->s, a->cap * sizeof(*a->s));
        }
        s = &a->s[a->n++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", in.service);
    }
    for (unsigned i = 0; i < in.n_tags; i++)
        add_tag(s, in.tags[i]);
    if (!serving(a->v, r->origin))
        return 0;
    instance_health(a->v->c, r->origin, in.id, 0, &h);
    s->instances++;
    if (h.status == CAT_PASSING)
        s->passing++;
    else if (h.status == CAT_WARNING)
        s->warning++;
    else
        s->critical++;
    return 0;
}

static int cmp_service(const void *x, const void *y)
{
    return strcmp(((const struct cat_service *)x)->name, ((const struct cat_service *)y)->name);
}

int cat_services(const struct cat_view *v, struct cat_service **out, size_t *n, struct err *e)
{
    struct services_acc a = {.v = v};

    crdt_scan(v->c, CRDT_INSTANCE, NULL, 0, service_cb, &a);
    if (a.n)
        qsort(a.s, a.n, sizeof(*a.s), cmp_service);
    for (size_t i = 0; i < a.n; i++)
        qsort(a.s[i].tags, a.s[i].n_tags, sizeof(a.s[i].tags[0]), cmp_tag);
    *out = a.s;
    *n = a.n;
    return 0;
}
