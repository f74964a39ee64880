/* buf: bounds-checked big-endian reader and writer (see buf.h). */
#include "core/buf.h"

#include <errno.h>
#include <string.h>

void rd_init(struct rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

size_t rd_left(const struct rd *r)
{
    return r->len - r->off;
}

int rd_ptr(struct rd *r, size_t n, const uint8_t **out)
{
    if (n > rd_left(r))
        return -EBADMSG;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int rd_bytes(struct rd *r, void *dst, size_t n)
{
    const uint8_t *p;
    int rc = rd_ptr(r, n, &p);
    if (rc == 0 && n)
        memcpy(dst, p, n);
    return rc;
}

int rd_u8(struct rd *r, uint8_t *v)
{
    const uint8_t *p;
    int rc = rd_ptr(r, 1, &p);
    if (rc == 0)
        *v = p[0];
    return rc;
}

int rd_u16(struct rd *r, uint16_t *v)
{
    const uint8_t *p;
    int rc = rd_ptr(r, 2, &p);
    if (rc == 0)
        *v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return rc;
}

int rd_u32(struct rd *r, uint32_t *v)
{
    const uint8_t *p;
    int rc = rd_ptr(r, 4, &p);
    if (rc == 0)
        *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return rc;
}

int rd_u64(struct rd *r, uint64_t *v)
{
    uint32_t hi, lo;
    int rc = rd_u32(r, &hi);
    if (rc == 0)
        rc = rd_u32(r, &lo);
    if (rc == 0)
        *v = (uint64_t)hi << 32 | lo;
    return rc;
}

void wr_init(struct wr *w, void *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void wr_bytes(struct wr *w, const void *src, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n && w->p) /* a writer without a buffer only counts */
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

void wr_u8(struct wr *w, uint8_t v)
{
    wr_bytes(w, &v, 1);
}

void wr_u16(struct wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 2);
}

void wr_u32(struct wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 4);
}

void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}
