/* fuzz_codec: gossip messages from the network. Whatever the bytes, decoding
 * must not crash, leak or read past the input; a message that decodes must
 * encode back to exactly the same bytes (the format is canonical), and so
 * must every part of a compound. Also fuzzes tags decoding and address
 * parsing, which read the same untrusted text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const uint8_t *data, size_t size, int depth)
{
    static uint8_t out[CODEC_STREAM_MAX];
    struct msg *m = malloc(sizeof(*m));
    struct err e;
    int n;

    if (codec_decode(m, data, size, &e) < 0) {
        if (e.msg[0] == '\0')
            abort(); /* every refusal says why */
        free(m);
        return;
    }
    n = codec_encode(m, out, sizeof(out), &e);
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0 || codec_size(m, &e) != n) {
        fprintf(stderr, "decoded message of type %u does not encode back (%d of %zu bytes)\n",
                m->type, n, size);
        abort();
    }
    if (m->type == MSG_COMPOUND && depth == 0)
        for (unsigned i = 0; i < m->u.compound.n; i++)
            check_round_trip(m->u.compound.part[i], m->u.compound.part_len[i], 1);
    msg_release(m);
    free(m);
}

static void check_tags(const uint8_t *data, size_t size)
{
    struct tags t;
    uint8_t out[SWIM_TAGS_MAX];
    int n;

    if (tags_decode(&t, data, size, NULL) < 0)
        return;
    n = tags_encode(&t, out, sizeof(out), NULL);
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
        abort(); /* decoded tags are sorted and unique: they encode back the same */
}

static void check_addr(const uint8_t *data, size_t size)
{
    char text[128], printed[64];
    struct node_addr a, b;

    if (size >= sizeof(text))
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    if (node_addr_parse(&a, text, 7420, NULL) < 0)
        return;
    node_addr_str(&a, printed, sizeof(printed));
    if (node_addr_parse(&b, printed, 0, NULL) < 0 || !node_addr_eq(&a, &b))
        abort(); /* what we print, we parse back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so any read past the input is caught */
    uint8_t *copy = malloc(size ? size : 1);

    memcpy(copy, data, size);
    check_round_trip(copy, size, 0);
    check_tags(copy, size);
    check_addr(copy, size);
    free(copy);
    return 0;
}
