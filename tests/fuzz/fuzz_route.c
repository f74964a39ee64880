/* Fuzz target: the route parser (core/route) on arbitrary bytes. It must
 * never crash, leak or read out of bounds; a route it accepts must parse
 * again from its own canonical JSON to the same canonical JSON. The same
 * bytes are also a Cookie header for the balancer's cookie reader
 * (core/balance): a value it finds lies inside the bytes it was given. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/balance.h"
#include "core/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct text {
    const char *p;
    size_t n;
};

static const char *as_cookie(void *ud, const char *name, size_t *len)
{
    const struct text *t = ud;

    (void)name;
    *len = t->n;
    return t->p;
}

static void cookie(const uint8_t *data, size_t size, const char *name)
{
    size_t n = 0;
    const char *v = bal_cookie((const char *)data, size, name, &n);

    if (v && (v < (const char *)data || n > size || v + n > (const char *)data + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct route r, again;
    struct err e;
    char *j, *k;
    struct text t = {(const char *)data, size};
    uint64_t key;

    /* a copy of exactly size bytes: a read past the end is ASan's */
    {
        uint8_t *copy = malloc(size ? size : 1);
        memcpy(copy, data, size);
        cookie(copy, size, "session");
        cookie(copy, size, "a");
        free(copy);
    }
    if (route_parse(&r, (const char *)data, size, &e) < 0)
        return 0;
    j = route_json(&r);
    if (!j || route_parse(&again, j, strlen(j), &e) < 0)
        abort();
    k = route_json(&again);
    if (!k || strcmp(j, k) != 0)
        abort();
    if (r.sticky)
        (void)bal_sticky_key(&r, as_cookie, &t, &key);
    free(j);
    free(k);
    return 0;
}
