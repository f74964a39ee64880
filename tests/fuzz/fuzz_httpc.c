/* Fuzz target: the HTTP client's response parser (core/httpc), fed what a
 * hostile mirror sends, in pieces whose sizes the input picks. The body
 * handed on never exceeds the cap. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/httpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t got;

static int sink(void *ud, const uint8_t *p, size_t n, struct err *e)
{
    (void)ud;
    (void)p;
    (void)e;
    got += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct httpc_parser p;
    struct err e;
    size_t off, step;
    uint64_t cap;
    int rc = 0;

    if (size < 2)
        return 0;
    cap = data[0] * 16u;
    step = (size_t)data[1] % 64 + 1;
    got = 0;
    httpc_parser_init(&p, cap, sink, NULL);
    for (off = 2; off < size && rc == 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        rc = httpc_parser_feed(&p, data + off, n, off + n == size, &e);
    }
    if (got > cap)
        abort();
    return 0;
}
