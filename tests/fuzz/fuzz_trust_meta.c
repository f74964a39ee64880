/* Fuzz target: trust metadata parsing and verification (core/trust), the
 * bytes a mirror sends. The first byte picks the file: a pinned root, a
 * root rotation, timestamp, snapshot or targets, each checked against a
 * small fixed root; nothing may crash, leak or accept unsigned input. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct trust_root root;
static int ready;

/* A root whose every role has one key (all-zero public key, never signs). */
static void setup(void)
{
    memset(&root, 0, sizeof(root));
    root.version = 1;
    root.expires = 4102444800; /* 2100 */
    trust_keyid(root.keys[0].pub, root.keys[0].id);
    root.n_keys = 1;
    for (int r = 0; r < TRUST_ROLES; r++) {
        memcpy(root.roles[r].ids[0], root.keys[0].id, sizeof(root.keys[0].id));
        root.roles[r].n = 1;
        root.roles[r].threshold = 1;
    }
    ready = sodium_init() >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trust_state st = {0};
    struct trust_timestamp ts = {.snapshot = {.version = 1}};
    struct trust_snapshot sn = {.targets = {.version = 1}};
    struct trust_targets tg = {0};
    struct trust_root r;
    struct err e;
    int rc = -1;

    if (!ready)
        setup();
    if (size < 1)
        return 0;
    ts.snapshot.length = sn.targets.length = size - 1;
    trust_sha256(data + 1, size - 1, ts.snapshot.sha256);
    memcpy(sn.targets.sha256, ts.snapshot.sha256, 32);
    switch (data[0] % 5) {
    case 0:
        rc = trust_root_load(&r, data + 1, size - 1, &e);
        break;
    case 1:
        r = root;
        rc = trust_root_update(&r, &st, data + 1, size - 1, &e);
        break;
    case 2:
        rc = trust_timestamp_verify(&root, &st, 0, data + 1, size - 1, &ts, &e);
        break;
    case 3:
        rc = trust_snapshot_verify(&root, &st, 0, &ts, data + 1, size - 1, &sn, &e);
        break;
    case 4:
        rc = trust_targets_verify(&root, &st, 0, &sn, data + 1, size - 1, &tg, &e);
        trust_targets_release(&tg);
        break;
    }
    /* the zero key never signed anything: nothing may verify */
    if (rc == 0 && data[0] % 5 != 0)
        abort();
    return 0;
}
