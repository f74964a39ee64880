/* Fuzz target: the decoders of replicated records, digests and repl
 * messages, as they arrive in gossip broadcasts and sync streams. The first
 * byte picks broadcast or stream; whatever decodes is merged into a store,
 * and a delta of that store must decode again. The same bytes then go to
 * a repl machine (with a sync of ours in flight, so that an answer to a
 * summary is read too), and everything it answers must decode. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/crdt.h"
#include "core/crdt_codec.h"
#include "core/repl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_decode_stream(const uint8_t *buf, size_t len)
{
    struct repl_msg m;
    if (repl_msg_decode_stream(&m, buf, len, NULL) != 0)
        abort(); /* repl answered with something it cannot read back */
    repl_msg_release(&m);
}

/* Through a repl machine: as a broadcast, or as a request and as an answer
 * to our sync with "peer". */
static void feed_repl(const uint8_t *data, size_t size)
{
    struct crdt *c = crdt_new("fuzz");
    struct repl *r = repl_new(c, NULL);
    struct repl_out o;
    uint8_t *reply = NULL;
    size_t rl = 0;

    repl_put(r, 1000, CRDT_KV, "k", "v", 1, NULL);
    repl_sync(r, "peer");
    if (data[0] & 1) {
        repl_recv_broadcast(r, 2000, "peer", data + 1, size - 1, NULL);
    } else {
        repl_recv_stream(r, 2000, "peer", data + 1, size - 1, &reply, &rl, NULL);
        if (reply)
            must_decode_stream(reply, rl);
        free(reply);
        repl_recv_stream(r, 2000, "peer", data + 1, size - 1, NULL, NULL, NULL);
    }
    while (repl_poll_out(r, &o)) {
        if (o.kind == REPL_OUT_STREAM)
            must_decode_stream(o.data, o.len);
        free(o.data);
    }
    repl_free(r);
    crdt_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct repl_msg m, again;
    struct crdt *c;
    struct err e;
    int rc;

    if (size < 1)
        return 0;
    feed_repl(data, size);
    if (data[0] & 1)
        rc = repl_msg_decode_bcast(&m, data + 1, size - 1, &e);
    else
        rc = repl_msg_decode_stream(&m, data + 1, size - 1, &e);
    if (rc < 0)
        return 0;
    c = crdt_new("fuzz");
    if (m.type == REPL_B_REC && (data[0] & 1)) {
        if (crdt_merge(c, &m.rec.r, NULL, &e) < 0)
            abort(); /* the codec let through a record the store refuses */
    } else if ((m.type == REPL_S_DELTA && !(data[0] & 1)) ||
               (m.type == REPL_B_RECS && (data[0] & 1))) {
        struct rd r;
        struct crdt_wire_rec w;
        rd_init(&r, m.recs, m.recs_len);
        for (uint32_t i = 0; i < m.n_recs; i++) {
            if (crdt_codec_get_rec(&r, &w, &e) < 0 || crdt_merge(c, &w.r, NULL, &e) < 0)
                abort();
        }
        for (size_t i = 0; m.type == REPL_S_DELTA && i < m.digest.n; i++) {
            uint64_t v;
            if (repl_msg_covers(&m, i, &v))
                crdt_cover(c, m.digest.e[i].origin, v);
        }
    }
    {
        struct crdt_digest none = {0};
        size_t len;
        uint8_t *buf = repl_msg_encode_delta(c, &none, 1, NULL, 1u << 22, &len, NULL);
        if (repl_msg_decode_stream(&again, buf, len, &e) != 0)
            abort();
        repl_msg_release(&again);
        free(buf);
    }
    repl_msg_release(&m);
    crdt_free(c);
    return 0;
}
