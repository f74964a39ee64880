/* Tests of core/tags: "key=value" parsing, limits, and the encoded run
 * (sorted, unique keys, every length checked on decode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/codec.h"
#include "core/tags.h"

static void test_key_value_text_sets_a_tag(void **state)
{
    struct tags t = {0};
    struct err e;

    assert_int_equal(tags_set_kv(&t, "role=web", &e), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.t[0].key, "role");
    assert_string_equal(t.t[0].val, "web");
}

static void test_value_may_be_empty_or_hold_an_equals_sign(void **state)
{
    struct tags t = {0};
    struct err e;

    assert_int_equal(tags_set_kv(&t, "empty=", &e), 0);
    assert_int_equal(tags_set_kv(&t, "expr=a=b", &e), 0);
    assert_string_equal(t.t[0].val, "");
    assert_string_equal(t.t[1].val, "a=b");
}

static void test_setting_a_key_again_replaces_its_value(void **state)
{
    struct tags t = {0};
    struct err e;

    assert_int_equal(tags_set_kv(&t, "zone=a", &e), 0);
    assert_int_equal(tags_set_kv(&t, "zone=b", &e), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.t[0].val, "b");
}

static void test_text_without_equals_is_refused_naming_it(void **state)
{
    struct tags t = {0};
    struct err e;

    assert_int_equal(tags_set_kv(&t, "novalue", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "novalue"));
    assert_non_null(strstr(e.msg, "key=value"));
    assert_int_equal(t.n, 0);
}

static void test_empty_or_long_key_is_refused(void **state)
{
    struct tags t = {0};
    struct err e;
    char kv[TAG_KEY_MAX + 8];

    assert_int_equal(tags_set_kv(&t, "=v", &e), -EINVAL);
    memset(kv, 'k', TAG_KEY_MAX + 1);
    strcpy(kv + TAG_KEY_MAX + 1, "=v");
    assert_int_equal(tags_set_kv(&t, kv, &e), -EINVAL);
    kv[TAG_KEY_MAX] = '=';
    kv[TAG_KEY_MAX + 1] = 'v';
    kv[TAG_KEY_MAX + 2] = '\0';
    assert_int_equal(tags_set_kv(&t, kv, &e), 0); /* exactly the limit */
    assert_int_equal(t.n, 1);
}

static void test_long_value_is_refused(void **state)
{
    struct tags t = {0};
    struct err e;
    char v[TAG_VAL_MAX + 2];

    memset(v, 'v', TAG_VAL_MAX + 1);
    v[TAG_VAL_MAX + 1] = '\0';
    assert_int_equal(tags_set(&t, "k", v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "value longer"));
    v[TAG_VAL_MAX] = '\0';
    assert_int_equal(tags_set(&t, "k", v, &e), 0);
}

static void test_control_characters_are_refused(void **state)
{
    struct tags t = {0};
    struct err e;

    assert_int_equal(tags_set(&t, "a\nb", "v", &e), -EINVAL);
    assert_int_equal(tags_set(&t, "k", "line\r\n", &e), -EINVAL);
    assert_int_equal(tags_set(&t, "k", "del\x7f", &e), -EINVAL);
    assert_int_equal(tags_set(&t, "a=b", "v", &e), -EINVAL);
    assert_int_equal(t.n, 0);
}

static void test_more_than_the_tag_limit_is_refused(void **state)
{
    struct tags t = {0};
    struct err e;
    char k[16];

    for (int i = 0; i < TAGS_N_MAX; i++) {
        snprintf(k, sizeof(k), "k%02d", i);
        assert_int_equal(tags_set(&t, k, "", &e), 0);
    }
    assert_int_equal(tags_set(&t, "one-more", "", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "more than"));
    assert_int_equal(tags_set(&t, "k00", "replacing is fine", &e), 0);
}

static void test_encoding_sorts_by_key_and_decodes_back(void **state)
{
    struct tags t = {0}, d;
    struct err e;
    uint8_t buf[SWIM_TAGS_MAX];
    int n;

    assert_int_equal(tags_set_kv(&t, "zone=b", &e), 0);
    assert_int_equal(tags_set_kv(&t, "app=x", &e), 0);
    assert_int_equal(tags_set_kv(&t, "role=web", &e), 0);
    n = tags_encode(&t, buf, sizeof(buf), &e);
    assert_int_equal(n, (1 + 3 + 1 + 1) + (1 + 4 + 1 + 3) + (1 + 4 + 1 + 1));
    assert_int_equal(buf[0], 3);
    assert_memory_equal(buf + 1, "app", 3);
    assert_int_equal(tags_decode(&d, buf, (size_t)n, &e), 0);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.t[0].key, "app");
    assert_string_equal(d.t[1].key, "role");
    assert_string_equal(d.t[1].val, "web");
    assert_string_equal(d.t[2].key, "zone");
}

static void test_no_tags_encode_to_nothing(void **state)
{
    struct tags t = {0}, d;
    uint8_t buf[8];

    assert_int_equal(tags_encode(&t, buf, sizeof(buf), NULL), 0);
    assert_int_equal(tags_decode(&d, buf, 0, NULL), 0);
    assert_int_equal(d.n, 0);
}

static void test_tags_over_the_wire_limit_do_not_encode(void **state)
{
    struct tags t = {0};
    struct err e;
    char k[16], v[TAG_VAL_MAX + 1];
    uint8_t buf[4096];

    memset(v, 'v', TAG_VAL_MAX);
    v[TAG_VAL_MAX] = '\0';
    for (int i = 0; i < 5; i++) { /* 5 x 134 bytes > 512 */
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(tags_set(&t, k, v, &e), 0);
    }
    assert_int_equal(tags_encode(&t, buf, sizeof(buf), &e), -EMSGSIZE);
    assert_non_null(strstr(e.msg, "512"));
}

static void test_encoding_into_a_small_buffer_is_refused(void **state)
{
    struct tags t = {0};
    uint8_t buf[4];

    assert_int_equal(tags_set_kv(&t, "role=web", NULL), 0);
    assert_int_equal(tags_encode(&t, buf, sizeof(buf), NULL), -EMSGSIZE);
}

static void test_every_truncation_of_an_encoded_run_is_refused(void **state)
{
    struct tags t = {0}, d;
    struct err e;
    uint8_t buf[SWIM_TAGS_MAX];
    int n;

    assert_int_equal(tags_set_kv(&t, "role=web", &e), 0);
    assert_int_equal(tags_set_kv(&t, "zone=a", &e), 0);
    n = tags_encode(&t, buf, sizeof(buf), &e);
    assert_true(n > 0);
    for (int len = 1; len < n; len++) {
        int rc = tags_decode(&d, buf, (size_t)len, &e);
        if (len == 1 + 4 + 1 + 3) /* ends exactly after the first tag: valid */
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, -EBADMSG);
    }
}

static void test_decoding_refuses_unsorted_or_repeated_keys(void **state)
{
    const uint8_t unsorted[] = {1, 'b', 0, 1, 'a', 0};
    const uint8_t repeated[] = {1, 'a', 0, 1, 'a', 0};
    struct tags d;
    struct err e;

    assert_int_equal(tags_decode(&d, unsorted, sizeof(unsorted), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "sorted"));
    assert_int_equal(tags_decode(&d, repeated, sizeof(repeated), &e), -EBADMSG);
}

static void test_decoding_refuses_bad_lengths_and_characters(void **state)
{
    const uint8_t empty_key[] = {0, 1, 'v'};
    const uint8_t eq_key[] = {3, 'a', '=', 'b', 0};
    const uint8_t ctl_val[] = {1, 'a', 1, '\n'};
    uint8_t long_key[2 + TAG_KEY_MAX + 1] = {TAG_KEY_MAX + 1};
    struct tags d;
    struct err e;

    memset(long_key + 1, 'k', TAG_KEY_MAX + 1);
    long_key[TAG_KEY_MAX + 2 - 1] = 0;
    assert_int_equal(tags_decode(&d, empty_key, sizeof(empty_key), &e), -EBADMSG);
    assert_int_equal(tags_decode(&d, eq_key, sizeof(eq_key), &e), -EBADMSG);
    assert_int_equal(tags_decode(&d, ctl_val, sizeof(ctl_val), &e), -EBADMSG);
    assert_int_equal(tags_decode(&d, long_key, sizeof(long_key), &e), -EBADMSG);
}

static void test_decoding_an_oversized_run_is_refused(void **state)
{
    uint8_t big[SWIM_TAGS_MAX + 1] = {0};
    struct tags d;
    struct err e;

    assert_int_equal(tags_decode(&d, big, sizeof(big), &e), -EMSGSIZE);
}

static void test_decoding_more_than_the_tag_limit_is_refused(void **state)
{
    uint8_t buf[(TAGS_N_MAX + 1) * 3];
    struct tags d;
    struct err e;
    size_t o = 0;

    for (int i = 0; i <= TAGS_N_MAX; i++) { /* keys "A".."a", sorted, empty values */
        buf[o++] = 1;
        buf[o++] = (uint8_t)('A' + i);
        buf[o++] = 0;
    }
    assert_int_equal(tags_decode(&d, buf, o, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "more than"));
    assert_int_equal(tags_decode(&d, buf, o - 3, &e), 0);
    assert_int_equal(d.n, TAGS_N_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_value_text_sets_a_tag),
        cmocka_unit_test(test_value_may_be_empty_or_hold_an_equals_sign),
        cmocka_unit_test(test_setting_a_key_again_replaces_its_value),
        cmocka_unit_test(test_text_without_equals_is_refused_naming_it),
        cmocka_unit_test(test_empty_or_long_key_is_refused),
        cmocka_unit_test(test_long_value_is_refused),
        cmocka_unit_test(test_control_characters_are_refused),
        cmocka_unit_test(test_more_than_the_tag_limit_is_refused),
        cmocka_unit_test(test_encoding_sorts_by_key_and_decodes_back),
        cmocka_unit_test(test_no_tags_encode_to_nothing),
        cmocka_unit_test(test_tags_over_the_wire_limit_do_not_encode),
        cmocka_unit_test(test_encoding_into_a_small_buffer_is_refused),
        cmocka_unit_test(test_every_truncation_of_an_encoded_run_is_refused),
        cmocka_unit_test(test_decoding_refuses_unsorted_or_repeated_keys),
        cmocka_unit_test(test_decoding_refuses_bad_lengths_and_characters),
        cmocka_unit_test(test_decoding_an_oversized_run_is_refused),
        cmocka_unit_test(test_decoding_more_than_the_tag_limit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
