/* Fuzz target: the load record reader (core/autoscale's as_load_decode)
 * on arbitrary bytes, as they come from gossip. It must never crash or
 * read out of bounds; a record it accepts must encode back to the same
 * bytes. The decision is fed the decoded load too, a few times over, and
 * its count must stay within min and max. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/autoscale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct as_state s;
    uint64_t now = 0;
    struct as_load l;
    struct as_cfg c;
    struct as_decision d;
    uint8_t back[AS_LOAD_BYTES_MAX];
    size_t n;

    if (as_load_decode(&l, data, size, NULL) < 0)
        return 0;
    n = as_load_encode(&l, back, sizeof(back));
    if (n != size || memcmp(back, data, n) != 0)
        abort();
    as_cfg_default(&c);
    c.min = 1;
    c.max = 20;
    as_init(&s, &c, 1 + l.metric_milli % 30);
    for (int k = 0; k < 8; k++) {
        now += 1000 + l.rate_milli % 5000;
        as_decide(&s, &c, now, (k & 1 ? l.inflight_milli : l.metric_milli) / 1000.0, &d);
        if (d.desired < c.min || d.desired > c.max)
            abort();
    }
    return 0;
}
