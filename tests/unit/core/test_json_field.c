/* Tests of core/json_field: each check takes what is in bounds and refuses
 * the rest with an error that names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json_field.h"

static void assert_msg(const struct err *e, const char *want)
{
    if (strcmp(e->msg, want) != 0)
        fail_msg("error \"%s\", wanted \"%s\"", e->msg, want);
}

static void test_unknown_key_is_named_with_its_object(void **state)
{
    static const char *const keys[] = {"a", "b", NULL};
    json_t *ok = json_pack("{s:i, s:i}", "a", 1, "b", 2), *bad = json_pack("{s:i}", "c", 1);
    struct err e;

    (void)state;
    assert_int_equal(jfield_only_keys(ok, "x", keys, &e), 0);
    assert_int_equal(jfield_only_keys(bad, "x", keys, &e), -EINVAL);
    assert_msg(&e, "x.c: unknown field");
    assert_int_equal(jfield_only_keys(bad, "", keys, &e), -EINVAL);
    assert_msg(&e, "c: unknown field");
    json_decref(ok);
    json_decref(bad);
}

static void test_string_is_copied_within_its_capacity(void **state)
{
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s%}", "abc", "abc", "empty", "", "num", 1, "nul",
                            "a\0b", (size_t)3);
    char dst[4];
    struct err e;

    (void)state;
    assert_int_equal(jfield_copy(json_object_get(doc, "abc"), "f", dst, sizeof(dst), &e), 0);
    assert_string_equal(dst, "abc");
    assert_int_equal(jfield_copy(json_object_get(doc, "abc"), "f", dst, 3, &e), -EINVAL);
    assert_msg(&e, "f: longer than 2 bytes");
    assert_int_equal(jfield_copy(json_object_get(doc, "empty"), "f", dst, 4, &e), -EINVAL);
    assert_msg(&e, "f: must not be empty");
    assert_int_equal(jfield_copy(json_object_get(doc, "num"), "f", dst, 4, &e), -EINVAL);
    assert_msg(&e, "f: expected a string");
    assert_int_equal(jfield_copy(json_object_get(doc, "nul"), "f", dst, 4, &e), -EINVAL);
    assert_msg(&e, "f: contains a NUL byte");
    json_decref(doc);
}

static void test_integer_outside_its_range_is_refused(void **state)
{
    json_t *doc = json_pack("{s:i, s:i, s:s}", "five", 5, "neg", -1, "str", "5");
    uint32_t v = 0;
    struct err e;

    (void)state;
    assert_int_equal(jfield_u32(json_object_get(doc, "five"), "n", 1, 5, &v, &e), 0);
    assert_int_equal(v, 5);
    assert_int_equal(jfield_u32(json_object_get(doc, "five"), "n", 6, 9, &v, &e), -EINVAL);
    assert_msg(&e, "n: 5 is out of range 6..9");
    assert_int_equal(jfield_u32(json_object_get(doc, "neg"), "n", 0, 9, &v, &e), -EINVAL);
    assert_msg(&e, "n: -1 is out of range 0..9");
    assert_int_equal(jfield_u32(json_object_get(doc, "str"), "n", 0, 9, &v, &e), -EINVAL);
    assert_msg(&e, "n: expected an integer");
    json_decref(doc);
}

static void test_name_is_lowercase_digits_and_inner_dashes(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {{"web-2", 1}, {"web-22", 0}, {"", 0},   {"-web", 0},
                 {"web-", 0},  {"Web", 0},    {"w_b", 0}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (jfield_name_ok(cases[i].name, 5) != cases[i].ok)
            fail_msg("\"%s\": wanted %d", cases[i].name, cases[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_key_is_named_with_its_object),
        cmocka_unit_test(test_string_is_copied_within_its_capacity),
        cmocka_unit_test(test_integer_outside_its_range_is_refused),
        cmocka_unit_test(test_name_is_lowercase_digits_and_inner_dashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
