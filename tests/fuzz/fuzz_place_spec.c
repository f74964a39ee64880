/* Fuzz target: the cluster spec parser (core/place_spec: count,
 * constraints, spread, resources, update, scale, and the supervisor spec
 * inside) on arbitrary bytes. It must never crash, leak or read out of
 * bounds; an accepted spec's scale keeps min <= max, and its placed count
 * is scale.min when it has "scale". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/place.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct place_spec p;
    struct err e;

    if (place_spec_check((const char *)data, size, &p, &e) < 0)
        return 0;
    if (p.scale.min > p.scale.max || (p.scale.set && p.count != p.scale.min) ||
        p.count > PLACE_COUNT_MAX)
        abort();
    return 0;
}
