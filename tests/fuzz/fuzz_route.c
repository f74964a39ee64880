/* Fuzz target: the route parser (core/route) on arbitrary bytes. It must
 * never crash, leak or read out of bounds; a route it accepts must parse
 * again from its own canonical JSON to the same canonical JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct route r, again;
    struct err e;
    char *j, *k;

    if (route_parse(&r, (const char *)data, size, &e) < 0)
        return 0;
    j = route_json(&r);
    if (!j || route_parse(&again, j, strlen(j), &e) < 0)
        abort();
    k = route_json(&again);
    if (!k || strcmp(j, k) != 0)
        abort();
    free(j);
    free(k);
    return 0;
}
