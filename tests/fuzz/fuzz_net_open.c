/* fuzz_net_open: a gossip packet as it arrives from the network, opened by
 * the key ring the way the agent does, then decoded. The first byte picks
 * the ring: 0 clear, 1 one key, 2 two keys (the fixed keys the seed corpus
 * was sealed with), 3 seal the rest with the ring and check that it opens
 * to the same bytes and that any one flipped byte is refused. The clock is
 * fixed at the time the seeds were sealed. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/net/net_keyring.h"
#include "core/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1700000000000ull
#define CAP    (CODEC_PACKET_MAX + KEYRING_OVERHEAD + 64)

/* base64 of the two fixed keys: "troupe fuzz key one/two", zero padded */
static const char *const key_b64[2] = {"dHJvdXBlIGZ1enoga2V5IG9uZQAAAAAAAAAAAAAAAAA=",
                                       "dHJvdXBlIGZ1enoga2V5IHR3bwAAAAAAAAAAAAAAAAA="};
static struct keyring *rings[3];
static struct keyring_replay *replay;
static struct keyring_sender sender;

static void setup(void)
{
    if (rings[0])
        return;
    if (sodium_init() < 0)
        abort();
    for (int i = 0; i < 3; i++) {
        rings[i] = keyring_new();
        for (int k = 0; k < i; k++)
            if (keyring_add_b64(rings[i], key_b64[k], NULL) < 0)
                abort();
    }
    replay = keyring_replay_new();
    keyring_sender_init(&sender);
}

static void open_and_decode(const struct keyring *kr, const uint8_t *in, size_t len)
{
    uint8_t out[CAP];
    size_t plen = 0;
    enum keyring_refusal why;
    struct err e;
    struct msg m;

    if (len > CAP)
        return; /* the agent's receive buffer bounds a packet */
    if (keyring_open(kr, replay, NOW_MS, in, len, out, sizeof(out), &plen, &why, &e) < 0) {
        if (why == KR_OK || why >= KR_REFUSAL_COUNT || e.msg[0] == '\0')
            abort();
        return;
    }
    if (why != KR_OK || plen > len)
        abort();
    if (codec_decode(&m, out, plen, NULL) == 0)
        msg_release(&m);
}

static void seal_open_flip(const uint8_t *plain, size_t len)
{
    uint8_t pkt[CAP], out[CAP];
    size_t plen;
    enum keyring_refusal why;
    int n;

    if (len == 0 || len > CODEC_PACKET_MAX)
        return;
    n = keyring_seal(rings[2], &sender, NOW_MS, plain, len, pkt, sizeof(pkt));
    if (n < 0 ||
        keyring_open(rings[1], replay, NOW_MS, pkt, (size_t)n, out, sizeof(out), &plen, &why,
                     NULL) < 0 ||
        plen != len || memcmp(out, plain, len) != 0)
        abort(); /* the second key of a ring opens what its first seals */
    n = keyring_seal(rings[2], &sender, NOW_MS, plain, len, pkt, sizeof(pkt));
    pkt[plain[0] % (size_t)n] ^= (uint8_t)(plain[len - 1] | 1);
    if (keyring_open(rings[2], replay, NOW_MS, pkt, (size_t)n, out, sizeof(out), &plen, &why,
                     NULL) == 0)
        abort(); /* a flipped byte anywhere is refused */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    setup();
    if (size < 1)
        return 0;
    copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    if (data[0] % 4 == 3)
        seal_open_flip(copy, size - 1);
    else
        open_and_decode(rings[data[0] % 4], copy, size - 1);
    free(copy);
    return 0;
}
