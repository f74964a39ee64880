/* Tests of agent/net_keyring: sealing and opening, key rotation (any key of
 * the ring opens, the first seals), and every refusal with its reason:
 * malformed, clear, no key, foreign key, forged, replayed, clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "agent/net/net_keyring.h"

#define NOW 1700000000000ull /* a wall clock in ms */
#define CAP 2048

static const char msg[] = "alive web1 10.0.0.1:7420";

static struct keyring *ring(int n, ...)
{
    struct keyring *kr = keyring_new();
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(keyring_add(kr, va_arg(ap, const uint8_t *)), 0);
    va_end(ap);
    return kr;
}

static uint8_t k1[KEYRING_KEY_LEN], k2[KEYRING_KEY_LEN], k3[KEYRING_KEY_LEN];

static int seal(const struct keyring *kr, struct keyring_sender *snd, uint64_t now, uint8_t *out)
{
    int n = keyring_seal(kr, snd, now, (const uint8_t *)msg, sizeof(msg), out, CAP);
    assert_true(n > 0);
    return n;
}

/* Opens pkt; returns the refusal (KR_OK on success, then checks the text). */
static enum keyring_refusal open_pkt(const struct keyring *kr, struct keyring_replay *rp,
                                     uint64_t now, const uint8_t *pkt, size_t len, struct err *e)
{
    uint8_t out[CAP];
    size_t plen = 0;
    enum keyring_refusal why = KR_REFUSAL_COUNT;
    int rc = keyring_open(kr, rp, now, pkt, len, out, sizeof(out), &plen, &why, e);

    if (rc == 0) {
        assert_int_equal(why, KR_OK);
        assert_int_equal(plen, sizeof(msg));
        assert_memory_equal(out, msg, sizeof(msg));
    } else {
        assert_true(rc < 0);
        assert_int_not_equal(why, KR_OK);
        assert_true(e->msg[0] != '\0');
    }
    return why;
}

static void test_sealed_packet_opens_to_the_same_plaintext(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(n, sizeof(msg) + KEYRING_OVERHEAD);
    assert_memory_equal(pkt, "TRP\x01", 4);
    assert_null(memmem(pkt, (size_t)n, msg, sizeof(msg))); /* not in the clear */
    assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_empty_ring_frames_in_the_clear(void **state)
{
    struct keyring *kr = keyring_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(n, sizeof(msg) + KEYRING_HEADER);
    assert_memory_equal(pkt + 4, "\0\0\0\0", 4); /* key id 0: clear */
    assert_memory_equal(pkt + KEYRING_HEADER, msg, sizeof(msg));
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(NULL, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    keyring_free(kr);
}

static void test_any_key_of_the_ring_opens_and_the_first_seals(void **state)
{
    struct keyring *old = ring(1, k1);          /* before the rotation */
    struct keyring *adding = ring(2, k1, k2);   /* new key added second */
    struct keyring *switched = ring(2, k2, k1); /* new key made primary */
    struct keyring *done_ = ring(1, k2);        /* old key removed */
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    /* a ring still on the old key is understood by every step but the last */
    n = seal(old, &snd, NOW, pkt);
    assert_int_equal(open_pkt(adding, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(switched, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(done_, NULL, NOW, pkt, (size_t)n, &e), KR_FOREIGN_KEY);
    /* the ring that added k2 second still seals with k1 */
    n = seal(adding, &snd, NOW, pkt);
    assert_int_equal(open_pkt(old, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    /* the ring that made k2 primary seals with k2: the old ring cannot open it */
    n = seal(switched, &snd, NOW, pkt);
    assert_int_equal(open_pkt(old, NULL, NOW, pkt, (size_t)n, &e), KR_FOREIGN_KEY);
    assert_int_equal(open_pkt(adding, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(done_, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    keyring_free(old);
    keyring_free(adding);
    keyring_free(switched);
    keyring_free(done_);
}

static void test_foreign_key_packet_is_refused_naming_the_key_id(void **state)
{
    struct keyring *a = ring(1, k1), *b = ring(2, k2, k3);
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    char id[16];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(a, &snd, NOW, pkt);
    assert_int_equal(open_pkt(b, NULL, NOW, pkt, (size_t)n, &e), KR_FOREIGN_KEY);
    snprintf(id, sizeof(id), "%02x%02x%02x%02x", pkt[4], pkt[5], pkt[6], pkt[7]);
    assert_non_null(strstr(e.msg, id));
    assert_int_equal(e.code, -EKEYREJECTED);
    keyring_free(a);
    keyring_free(b);
}

static void test_forged_packet_is_refused_at_every_flipped_byte(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP], bad[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    /* after the header: the nonce, the ciphertext and the tag */
    for (int i = KEYRING_HEADER; i < n; i++) {
        memcpy(bad, pkt, (size_t)n);
        bad[i] ^= 0x01;
        if (open_pkt(kr, NULL, NOW, bad, (size_t)n, &e) != KR_FORGED)
            fail_msg("byte %d flipped: not refused as forged (%s)", i, e.msg);
    }
    assert_non_null(strstr(e.msg, "forged"));
    keyring_free(kr);
}

static void test_packet_sealed_with_a_different_key_of_the_same_id_is_forged(void **state)
{
    /* An attacker who copies our key id into its header still cannot pass. */
    struct keyring *ours = ring(1, k1), *theirs = ring(1, k2);
    struct keyring_sender snd;
    uint8_t pkt[CAP], ours_pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    seal(ours, &snd, NOW, ours_pkt);
    n = seal(theirs, &snd, NOW, pkt);
    memcpy(pkt + 4, ours_pkt + 4, 4);
    assert_int_equal(open_pkt(ours, NULL, NOW, pkt, (size_t)n, &e), KR_FORGED);
    keyring_free(ours);
    keyring_free(theirs);
}

static void test_header_is_authenticated_and_checked(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP], bad[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    for (int i = 0; i < 3; i++) { /* magic */
        memcpy(bad, pkt, (size_t)n);
        bad[i] ^= 0x20;
        assert_int_equal(open_pkt(kr, NULL, NOW, bad, (size_t)n, &e), KR_MALFORMED);
    }
    memcpy(bad, pkt, (size_t)n);
    bad[3] = 2; /* format version */
    assert_int_equal(open_pkt(kr, NULL, NOW, bad, (size_t)n, &e), KR_MALFORMED);
    assert_non_null(strstr(e.msg, "version 2"));
    memcpy(bad, pkt, (size_t)n);
    bad[7] ^= 1; /* key id */
    assert_int_equal(open_pkt(kr, NULL, NOW, bad, (size_t)n, &e), KR_FOREIGN_KEY);
    keyring_free(kr);
}

static void test_every_truncation_of_a_sealed_packet_is_refused(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    for (int len = 0; len < n; len++) {
        uint8_t *cut = malloc((size_t)len + 1);
        enum keyring_refusal why;
        memcpy(cut, pkt, (size_t)len);
        why = open_pkt(kr, NULL, NOW, cut, (size_t)len, &e);
        if (why != KR_MALFORMED && why != KR_FORGED)
            fail_msg("cut to %d of %d bytes: refusal %s", len, n, keyring_refusal_name(why));
        free(cut);
    }
    keyring_free(kr);
}

static void test_replayed_packet_is_refused_as_replay(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(kr, rp, NOW + 10, pkt, (size_t)n, &e), KR_REPLAY);
    assert_non_null(strstr(e.msg, "replayed"));
    assert_int_equal(e.code, -EALREADY);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_reordered_packets_within_the_window_are_accepted_once(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    static uint8_t pkt[100][CAP];
    int n[100];
    struct err e;

    keyring_sender_init(&snd);
    for (int i = 0; i < 100; i++)
        n[i] = seal(kr, &snd, NOW, pkt[i]);
    /* newest first, then the rest backwards: all within the window */
    for (int i = 99; i >= 0; i--)
        assert_int_equal(open_pkt(kr, rp, NOW, pkt[i], (size_t)n[i], &e), KR_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(open_pkt(kr, rp, NOW, pkt[i], (size_t)n[i], &e), KR_REPLAY);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_packet_older_than_the_replay_window_is_refused(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    uint8_t first[CAP], pkt[CAP];
    struct err e;
    int n0, n;

    keyring_sender_init(&snd);
    n0 = seal(kr, &snd, NOW, first);
    for (int i = 0; i < KEYRING_WINDOW; i++)
        n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    assert_int_equal(open_pkt(kr, rp, NOW, first, (size_t)n0, &e), KR_REPLAY);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_two_senders_have_separate_windows(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender a, b;
    uint8_t pa[CAP], pb[CAP];
    struct err e;
    int na, nb;

    keyring_sender_init(&a);
    keyring_sender_init(&b);
    na = seal(kr, &a, NOW, pa); /* both with counter 1 */
    nb = seal(kr, &b, NOW, pb);
    assert_int_equal(open_pkt(kr, rp, NOW, pa, (size_t)na, &e), KR_OK);
    assert_int_equal(open_pkt(kr, rp, NOW, pb, (size_t)nb, &e), KR_OK);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_restarted_sender_with_a_new_boot_id_is_accepted(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    for (int i = 0; i < 5; i++) {
        n = seal(kr, &snd, NOW, pkt);
        assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    }
    keyring_sender_init(&snd); /* a restart: counter back to 0 */
    n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_packet_with_a_time_far_from_ours_is_refused(void **state)
{
    struct keyring *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW - KEYRING_CLOCK_WINDOW_MS - 1, pkt);
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_CLOCK);
    assert_non_null(strstr(e.msg, "5 minutes"));
    n = seal(kr, &snd, NOW + KEYRING_CLOCK_WINDOW_MS + 1, pkt);
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_CLOCK);
    n = seal(kr, &snd, NOW - KEYRING_CLOCK_WINDOW_MS, pkt); /* at the edge: fine */
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_OK);
    n = seal(kr, &snd, UINT64_MAX - 10, pkt); /* no wrap-around */
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_CLOCK);
    keyring_free(kr);
}

static void test_clear_packet_is_refused_when_the_ring_has_keys(void **state)
{
    struct keyring *clear = keyring_new(), *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(clear, &snd, NOW, pkt);
    assert_int_equal(open_pkt(kr, NULL, NOW, pkt, (size_t)n, &e), KR_CLEAR);
    assert_non_null(strstr(e.msg, "in the clear"));
    keyring_free(clear);
    keyring_free(kr);
}

static void test_sealed_packet_is_refused_without_keys_suggesting_encrypt(void **state)
{
    struct keyring *clear = keyring_new(), *kr = ring(1, k1);
    struct keyring_sender snd;
    uint8_t pkt[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    assert_int_equal(open_pkt(clear, NULL, NOW, pkt, (size_t)n, &e), KR_NO_KEY);
    assert_non_null(strstr(e.msg, "--encrypt"));
    keyring_free(clear);
    keyring_free(kr);
}

static void test_refused_packet_does_not_use_up_its_counter(void **state)
{
    /* a forged copy must not make the genuine packet look like a replay */
    struct keyring *kr = ring(1, k1);
    struct keyring_replay *rp = keyring_replay_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP], bad[CAP];
    struct err e;
    int n;

    keyring_sender_init(&snd);
    n = seal(kr, &snd, NOW, pkt);
    memcpy(bad, pkt, (size_t)n);
    bad[n - 1] ^= 0xff;
    assert_int_equal(open_pkt(kr, rp, NOW, bad, (size_t)n, &e), KR_FORGED);
    assert_int_equal(open_pkt(kr, rp, NOW, pkt, (size_t)n, &e), KR_OK);
    keyring_replay_free(rp);
    keyring_free(kr);
}

static void test_small_buffers_are_refused_not_overrun(void **state)
{
    struct keyring *kr = ring(1, k1), *clear = keyring_new();
    struct keyring_sender snd;
    uint8_t pkt[CAP], out[CAP];
    size_t plen;
    enum keyring_refusal why;
    struct err e;
    int n;

    keyring_sender_init(&snd);
    assert_int_equal(keyring_seal(kr, &snd, NOW, (const uint8_t *)msg, sizeof(msg), pkt,
                                  sizeof(msg) + KEYRING_OVERHEAD - 1),
                     -EMSGSIZE);
    assert_int_equal(keyring_seal(clear, &snd, NOW, (const uint8_t *)msg, sizeof(msg), pkt,
                                  sizeof(msg) + KEYRING_HEADER - 1),
                     -EMSGSIZE);
    n = seal(kr, &snd, NOW, pkt);
    assert_true(keyring_open(kr, NULL, NOW, pkt, (size_t)n, out, 10, &plen, &why, &e) < 0);
    assert_int_equal(why, KR_MALFORMED);
    n = seal(clear, &snd, NOW, pkt);
    assert_true(keyring_open(clear, NULL, NOW, pkt, (size_t)n, out, 10, &plen, &why, &e) < 0);
    assert_int_equal(why, KR_MALFORMED);
    keyring_free(kr);
    keyring_free(clear);
}

static void test_keys_are_base64_of_32_bytes(void **state)
{
    struct keyring *kr = keyring_new();
    char b64[64];
    struct err e;

    assert_int_equal(keyring_generate_b64(b64, sizeof(b64)), 0);
    assert_int_equal(strlen(b64), 44);
    assert_int_equal(keyring_add_b64(kr, b64, &e), 0);
    assert_int_equal(keyring_add_b64(kr, "c2hvcnQ=", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "base64 of 32 bytes"));
    assert_int_equal(keyring_add_b64(kr, "not base64 at all!", &e), -EINVAL);
    assert_int_equal(keyring_add_b64(kr, "", &e), -EINVAL);
    assert_int_equal(keyring_count(kr), 1);
    assert_int_equal(keyring_generate_b64(b64, 10), -ENOSPC);
    keyring_free(kr);
}

static void test_generated_keys_differ(void **state)
{
    char a[64], b[64];

    assert_int_equal(keyring_generate_b64(a, sizeof(a)), 0);
    assert_int_equal(keyring_generate_b64(b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
}

static void test_ring_holds_at_most_sixteen_keys(void **state)
{
    struct keyring *kr = keyring_new();
    char b64[64];
    struct err e;

    for (int i = 0; i < 16; i++) {
        assert_int_equal(keyring_generate_b64(b64, sizeof(b64)), 0);
        assert_int_equal(keyring_add_b64(kr, b64, &e), 0);
    }
    assert_int_equal(keyring_add_b64(kr, b64, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "more than 16 keys"));
    keyring_free(kr);
    keyring_free(NULL);
    keyring_replay_free(NULL);
}

static void test_every_refusal_has_a_name(void **state)
{
    assert_string_equal(keyring_refusal_name(KR_FORGED), "forged");
    assert_string_equal(keyring_refusal_name(KR_REPLAY), "replay");
    assert_string_equal(keyring_refusal_name(KR_FOREIGN_KEY), "foreign_key");
    for (int r = 0; r < KR_REFUSAL_COUNT; r++)
        assert_string_not_equal(keyring_refusal_name((enum keyring_refusal)r), "unknown");
    assert_string_equal(keyring_refusal_name(KR_REFUSAL_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_packet_opens_to_the_same_plaintext),
        cmocka_unit_test(test_empty_ring_frames_in_the_clear),
        cmocka_unit_test(test_any_key_of_the_ring_opens_and_the_first_seals),
        cmocka_unit_test(test_foreign_key_packet_is_refused_naming_the_key_id),
        cmocka_unit_test(test_forged_packet_is_refused_at_every_flipped_byte),
        cmocka_unit_test(test_packet_sealed_with_a_different_key_of_the_same_id_is_forged),
        cmocka_unit_test(test_header_is_authenticated_and_checked),
        cmocka_unit_test(test_every_truncation_of_a_sealed_packet_is_refused),
        cmocka_unit_test(test_replayed_packet_is_refused_as_replay),
        cmocka_unit_test(test_reordered_packets_within_the_window_are_accepted_once),
        cmocka_unit_test(test_packet_older_than_the_replay_window_is_refused),
        cmocka_unit_test(test_two_senders_have_separate_windows),
        cmocka_unit_test(test_restarted_sender_with_a_new_boot_id_is_accepted),
        cmocka_unit_test(test_packet_with_a_time_far_from_ours_is_refused),
        cmocka_unit_test(test_clear_packet_is_refused_when_the_ring_has_keys),
        cmocka_unit_test(test_sealed_packet_is_refused_without_keys_suggesting_encrypt),
        cmocka_unit_test(test_refused_packet_does_not_use_up_its_counter),
        cmocka_unit_test(test_small_buffers_are_refused_not_overrun),
        cmocka_unit_test(test_keys_are_base64_of_32_bytes),
        cmocka_unit_test(test_generated_keys_differ),
        cmocka_unit_test(test_ring_holds_at_most_sixteen_keys),
        cmocka_unit_test(test_every_refusal_has_a_name),
    };

    if (sodium_init() < 0)
        return 1;
    randombytes_buf(k1, sizeof(k1));
    randombytes_buf(k2, sizeof(k2));
    randombytes_buf(k3, sizeof(k3));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
