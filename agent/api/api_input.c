/* api_input: checks the text of a request at the edge (see api_input.h).
 * It decodes every query parameter itself, so that it can say what is
 * wrong (a NUL, bad UTF-8, a bad escape) rather than only that a value
 * could not be read. */
#include "agent/api/api_input.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t api_input_utf8_char(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int api_input_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < len;) {
        size_t n = api_input_utf8_char(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* What is wrong with decoded text, NULL when nothing. */
static const char *text_problem(const char *s, size_t len, size_t max, char *buf, size_t cap)
{
    if (memchr(s, '\0', len))
        return "contains NUL";
    if (!api_input_utf8_valid(s, len))
        return "not valid UTF-8";
    if (len > max) {
        snprintf(buf, cap, "longer than %zu bytes", max);
        return buf;
    }
    return NULL;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes src ('+' is a space) into out (cap bytes); NUL stays in,
 * counted in *out_len. -1 on a bad escape, -2 when it does not fit. */
static int decode(const char *src, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 1 < len ? hexval((unsigned char)src[i + 1]) : -1;
            int lo = i + 2 < len ? hexval((unsigned char)src[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o == cap)
            return -2;
        out[o++] = (char)c;
    }
    *out_len = o;
    return 0;
}

static int check_path(const char *path, size_t len, char *msg, size_t cap)
{
    char why[64];
    size_t start = 0, seg = 0;

    if (len && path[0] == '/')
        start = 1;
    while (start <= len) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - path) : len;
        const char *bad =
            text_problem(path + start, end - start, API_INPUT_SEGMENT_MAX, why, sizeof(why));
        seg++;
        if (bad) {
            snprintf(msg, cap, "path segment %zu: %s", seg, bad);
            return -EINVAL;
        }
        if (!slash)
            break;
        start = end + 1;
    }
    return 0;
}

/* "query parameter \"NAME\"" when the name is short, printable and valid
 * text, else "query parameter N" (its position). */
static void param_label(const char *name, size_t len, size_t nth, char *out, size_t cap)
{
    int printable = len > 0 && len <= 64 && api_input_utf8_valid(name, len);

    for (size_t i = 0; printable && i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == '"' || name[i] == '\\')
            printable = 0;
    if (printable)
        snprintf(out, cap, "query parameter \"%.*s\"", (int)len, name);
    else
        snprintf(out, cap, "query parameter %zu", nth);
}

static int check_query(const char *q, size_t qlen, char *msg, size_t cap)
{
    /* one byte over the limit is enough to know a text is too long */
    char name[API_INPUT_SEGMENT_MAX + 1], value[API_INPUT_VALUE_MAX + 1], label[96], why[64];
    size_t i = 0, nth = 0;

    while (i < qlen) {
        size_t start = i, eq, end, nlen, vlen;
        const char *bad;
        int rc;
        while (i < qlen && q[i] != '&')
            i++;
        end = i++;
        if (end == start)
            continue; /* "a&&b" */
        nth++;
        for (eq = start; eq < end && q[eq] != '='; eq++)
            ;
        rc = decode(q + start, eq - start, name, sizeof(name), &nlen);
        if (rc < 0) {
            if (rc == -1)
                snprintf(msg, cap, "query parameter %zu: bad percent-encoding in its name", nth);
            else
                snprintf(msg, cap, "query parameter %zu: name longer than %d bytes", nth,
                         API_INPUT_SEGMENT_MAX);
            return -EINVAL;
        }
        if ((bad = text_problem(name, nlen, API_INPUT_SEGMENT_MAX, why, sizeof(why)))) {
            snprintf(msg, cap, "query parameter %zu: name %s", nth, bad);
            return -EINVAL;
        }
        param_label(name, nlen, nth, label, sizeof(label));
        if (eq >= end)
            continue; /* "?passing": no value */
        rc = decode(q + eq + 1, end - eq - 1, value, sizeof(value), &vlen);
        if (rc < 0) {
            if (rc == -1)
                snprintf(msg, cap, "%s: bad percent-encoding", label);
            else
                snprintf(msg, cap, "%s: longer than %d bytes", label, API_INPUT_VALUE_MAX);
            return -EINVAL;
        }
        if ((bad = text_problem(value, vlen, API_INPUT_VALUE_MAX, why, sizeof(why)))) {
            snprintf(msg, cap, "%s: %s", label, bad);
            return -EINVAL;
        }
    }
    return 0;
}

int api_input_check(const char *path, size_t path_len, const char *query, size_t query_len,
                    char *msg, size_t cap)
{
    if (check_path(path, path_len, msg, cap) < 0)
        return -EINVAL;
    if (query && check_query(query, query_len, msg, cap) < 0)
        return -EINVAL;
    return 0;
}
