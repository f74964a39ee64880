/* Fuzz target: the catalog value decoders (instance, check, event) that
 * read record values replicated from other nodes. The first byte picks the
 * decoder; a value that decodes must encode again and decode the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[16384];
    struct err e;

    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: {
        struct cat_instance in, again;
        if (cat_instance_decode(&in, data + 1, size - 1, &e) == 0) {
            int n = cat_instance_encode(&in, buf, sizeof(buf), &e);
            if (n < 0 || cat_instance_decode(&again, buf, (size_t)n, &e) != 0 ||
                strcmp(in.id, again.id) || strcmp(in.service, again.service) ||
                in.port != again.port || in.weight != again.weight || in.n_tags != again.n_tags ||
                memcmp(in.tags, again.tags, sizeof(in.tags)))
                abort();
        }
        break;
    }
    case 1: {
        struct cat_check ck, again;
        if (cat_check_decode(&ck, data + 1, size - 1, &e) == 0) {
            int n = cat_check_encode(&ck, buf, sizeof(buf), &e);
            if (n < 0 || cat_check_decode(&again, buf, (size_t)n, &e) != 0 ||
                strcmp(ck.id, again.id) || ck.status != again.status ||
                ck.output_len != again.output_len || memcmp(ck.output, again.output, ck.output_len))
                abort();
        }
        break;
    }
    default: {
        struct cat_event ev, again;
        if (cat_event_decode(&ev, data + 1, size - 1, &e) == 0) {
            int n = cat_event_encode(&ev, buf, sizeof(buf), &e);
            if (n < 0 || cat_event_decode(&again, buf, (size_t)n, &e) != 0 || ev.seq != again.seq ||
                ev.payload_len != again.payload_len)
                abort();
        }
        break;
    }
    }
    return 0;
}
