/* consul_write: Consul's health entries as text, straight into a buffer
 * (see consul_write.h). Strings are written as jansson would write what
 * consul_shape.c builds: valid UTF-8 as it is, escaped; text that is not
 * UTF-8 with every byte past ASCII as '?'. */
#include "agent/consul/consul_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/api/api_input.h"
#include "core/mem.h"

void consul_buf_release(struct consul_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void consul_buf_add(struct consul_buf *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void raw(struct consul_buf *b, const char *s)
{
    consul_buf_add(b, s, strlen(s));
}

static void num(struct consul_buf *b, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%llu", (unsigned long long)v);

    consul_buf_add(b, t, (size_t)n);
}

/* A JSON string of len bytes. */
static void text(struct consul_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int utf8 = api_input_utf8_valid(s, len);
    size_t from = 0;

    consul_buf_add(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t n = 0;

        if (c >= 0x20 && c != '"' && c != '\\' && (utf8 || c < 0x80))
            continue;
        consul_buf_add(b, s + from, i - from);
        from = i + 1;
        if (!utf8 && (c >= 0x80 || c == 0)) {
            esc[n++] = '?';
        } else if (c == '"' || c == '\\') {
            esc[n++] = '\\', esc[n++] = (char)c;
        } else {
            esc[n++] = '\\', esc[n++] = 'u', esc[n++] = '0', esc[n++] = '0';
            esc[n++] = hex[c >> 4], esc[n++] = hex[c & 15];
        }
        consul_buf_add(b, esc, n);
    }
    consul_buf_add(b, s + from, len - from);
    consul_buf_add(b, "\"", 1);
}

static void str(struct consul_buf *b, const char *s)
{
    text(b, s, strlen(s));
}

/* ,"KEY": */
static void key(struct consul_buf *b, const char *k)
{
    if (b->len && b->p[b->len - 1] == '{')
        consul_buf_add(b, "\"", 1);
    else
        consul_buf_add(b, ",\"", 2);
    raw(b, k);
    consul_buf_add(b, "\":", 2);
}

static void meta(struct consul_buf *b, const struct tags *t)
{
    raw(b, "{");
    for (size_t i = 0; t && i < t->n; i++) {
        if (i)
            raw(b, ",");
        str(b, t->t[i].key);
        raw(b, ":");
        str(b, t->t[i].val);
    }
    raw(b, "}");
}

static void tags(struct consul_buf *b, const struct cat_instance *in)
{
    raw(b, "[");
    for (size_t i = 0; in && i < in->n_tags; i++) {
        if (i)
            raw(b, ",");
        str(b, in->tags[i]);
    }
    raw(b, "]");
}

static void indexes(struct consul_buf *b, uint64_t index)
{
    key(b, "CreateIndex");
    num(b, index);
    key(b, "ModifyIndex");
    num(b, index);
}

static void node(struct consul_buf *b, const struct consul_node *n, uint64_t index)
{
    char id[37];

    consul_node_id(n->name, id);
    raw(b, "{");
    key(b, "ID");
    str(b, id);
    key(b, "Node");
    str(b, n->name);
    key(b, "Address");
    str(b, n->address);
    key(b, "Datacenter");
    str(b, n->dc);
    key(b, "TaggedAddresses");
    raw(b, "{\"lan\":");
    str(b, n->address);
    raw(b, ",\"lan_ipv4\":");
    str(b, n->address);
    raw(b, ",\"wan\":");
    str(b, n->address);
    raw(b, ",\"wan_ipv4\":");
    str(b, n->address);
    raw(b, "}");
    key(b, "Meta");
    meta(b, n->meta);
    indexes(b, index);
    raw(b, "}");
}

static void service(struct consul_buf *b, const struct cat_instance *in, uint64_t index)
{
    raw(b, "{");
    key(b, "Kind");
    raw(b, "\"\"");
    key(b, "ID");
    str(b, in->id);
    key(b, "Service");
    str(b, in->service);
    key(b, "Tags");
    tags(b, in);
    key(b, "Meta");
    meta(b, &in->meta);
    key(b, "Port");
    num(b, in->port);
    key(b, "Address");
    str(b, in->address);
    key(b, "TaggedAddresses");
    raw(b, "{}");
    key(b, "Weights");
    raw(b, "{\"Passing\":");
    num(b, in->weight ? in->weight : 1);
    raw(b, ",\"Warning\":1}");
    key(b, "EnableTagOverride");
    raw(b, "false");
    indexes(b, index);
    raw(b, "}");
}

static void check(struct consul_buf *b, const char *node_name, const struct cat_check *ck,
                  const struct cat_instance *in, uint64_t index)
{
    raw(b, "{");
    key(b, "Node");
    str(b, node_name);
    key(b, "CheckID");
    str(b, ck->id);
    key(b, "Name");
    str(b, ck->name);
    key(b, "Status");
    str(b, cat_status_name(ck->status));
    key(b, "Notes");
    raw(b, "\"\"");
    key(b, "Output");
    text(b, ck->output, ck->output_len);
    key(b, "ServiceID");
    str(b, ck->instance);
    key(b, "ServiceName");
    str(b, in ? in->service : "");
    key(b, "ServiceTags");
    tags(b, in);
    key(b, "Type");
    str(b, consul_check_type(ck->type));
    key(b, "Interval");
    raw(b, "\"\"");
    key(b, "Timeout");
    raw(b, "\"\"");
    key(b, "ExposedPort");
    raw(b, "0");
    key(b, "Definition");
    raw(b, "{}");
    indexes(b, index);
    raw(b, "}");
}

void consul_health_entry_write(struct consul_buf *b, const struct consul_node *n,
                               const struct cat_entry *en, uint64_t index)
{
    const char *out = en->serving ? "Agent alive and reachable" : "Agent not live or unreachable";
    struct cat_check serf;

    raw(b, "{\"Node\":");
    node(b, n, index);
    raw(b, ",\"Service\":");
    service(b, &en->inst, index);
    raw(b, ",\"Checks\":[");
    /* serfHealth, as consul_serf_check_json builds it */
    memset(&serf, 0, sizeof(serf));
    snprintf(serf.id, sizeof(serf.id), "serfHealth");
    snprintf(serf.name, sizeof(serf.name), "Serf Health Status");
    serf.status = en->serving ? CAT_PASSING : CAT_CRITICAL;
    serf.output_len = (uint16_t)snprintf(serf.output, sizeof(serf.output), "%s", out);
    check(b, en->inst.node, &serf, NULL, index);
    for (size_t k = 0; k < en->n_checks; k++) {
        raw(b, ",");
        check(b, en->inst.node, &en->checks[k], &en->inst, index);
    }
    raw(b, "]}");
}
