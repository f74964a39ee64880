/* Fuzz target: the service spec parser (core/sup_spec) on arbitrary bytes.
 * It must never crash, leak or read out of bounds; a spec it accepts must
 * parse again from its own canonical JSON to the same canonical JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sup_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sup_spec s, again;
    struct err e;

    if (sup_spec_parse(&s, (const char *)data, size, &e) < 0)
        return 0;
    if (sup_spec_parse(&again, s.json, strlen(s.json), &e) < 0 || strcmp(again.json, s.json) != 0)
        abort();
    sup_spec_release(&again);
    sup_spec_release(&s);
    return 0;
}
