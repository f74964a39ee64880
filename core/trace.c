/* trace: W3C traceparent parsing and formatting (see trace.h). */
#include "core/trace.h"

#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not allowed */
}

/* n bytes from 2n lowercase hex digits; -1 when one is not. */
static int unhex(uint8_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int trace_parse(struct trace *t, const char *v, size_t len)
{
    uint8_t version;

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    while (len && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }
    if (len < TRACE_HEADER_LEN || v[2] != '-' || v[35] != '-' || v[52] != '-')
        return -1;
    if (unhex(&version, v, 1) < 0 || version == 0xff)
        return -1;
    if (version == 0 && len != TRACE_HEADER_LEN)
        return -1;
    if (version != 0 && len > TRACE_HEADER_LEN && v[TRACE_HEADER_LEN] != '-')
        return -1;
    if (unhex(t->trace_id, v + 3, 16) < 0 || unhex(t->span_id, v + 36, 8) < 0 ||
        unhex(&t->flags, v + 53, 1) < 0)
        return -1;
    if (all_zero(t->trace_id, 16) || all_zero(t->span_id, 8))
        return -1;
    return 0;
}

void trace_next(struct trace *out, const struct trace *in, const uint8_t rnd[TRACE_RANDOM])
{
    if (in) {
        memcpy(out->trace_id, in->trace_id, sizeof(out->trace_id));
        out->flags = in->flags & 0x01; /* version 00 defines the sampled bit only */
    } else {
        memcpy(out->trace_id, rnd, sizeof(out->trace_id));
        if (all_zero(out->trace_id, 16))
            out->trace_id[15] = 1;
        out->flags = 0;
    }
    memcpy(out->span_id, rnd + 16, sizeof(out->span_id));
    if (all_zero(out->span_id, 8))
        out->span_id[7] = 1;
}

static char *put_hex(char *o, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        *o++ = digits[p[i] >> 4];
        *o++ = digits[p[i] & 15];
    }
    return o;
}

void trace_format(const struct trace *t, char out[TRACE_HEADER_LEN + 1])
{
    char *o = out;

    memcpy(o, "00-", 3);
    o = put_hex(o + 3, t->trace_id, 16);
    *o++ = '-';
    o = put_hex(o, t->span_id, 8);
    *o++ = '-';
    o = put_hex(o, &t->flags, 1);
    *o = '\0';
}

void trace_id_hex(const struct trace *t, char out[33])
{
    *put_hex(out, t->trace_id, 16) = '\0';
}
