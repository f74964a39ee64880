/* buf: bounds-checked reading and writing of big-endian wire data. Every
 * read checks the length first and returns -EBADMSG past the end; a writer
 * over a fixed buffer records overflow instead of writing past its end.
 * Owns no memory: both work over caller buffers. */
#ifndef TROUPE_BUF_H
#define TROUPE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

void rd_init(struct rd *r, const void *p, size_t len);
size_t rd_left(const struct rd *r);
int rd_u8(struct rd *r, uint8_t *v);
int rd_u16(struct rd *r, uint16_t *v);
int rd_u32(struct rd *r, uint32_t *v);
int rd_u64(struct rd *r, uint64_t *v);
/* Copies n bytes into dst. */
int rd_bytes(struct rd *r, void *dst, size_t n);
/* Points *out at the next n bytes of the input (no copy). */
int rd_ptr(struct rd *r, size_t n, const uint8_t **out);

struct wr {
    uint8_t *p;
    size_t cap;
    size_t len;
    int overflow; /* set once a write did not fit; later writes are dropped */
};

/* With p NULL the writer only counts the bytes (to size a message). */
void wr_init(struct wr *w, void *p, size_t cap);
void wr_u8(struct wr *w, uint8_t v);
void wr_u16(struct wr *w, uint16_t v);
void wr_u32(struct wr *w, uint32_t v);
void wr_u64(struct wr *w, uint64_t v);
void wr_bytes(struct wr *w, const void *src, size_t n);

#endif
