/* Tests of agent/api/api_input: the text of a request checked at the edge
 * of the API. Every path segment and query parameter (name and value) must
 * be UTF-8 without NUL and within its limit; a refusal names the part. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/api/api_input.h"

static char msg[256];

/* Checks a path given as bytes (it may hold NUL) and a query as sent. */
static int check(const char *path, size_t path_len, const char *query)
{
    msg[0] = '\0';
    return api_input_check(path, path_len, query, query ? strlen(query) : 0, msg, sizeof(msg));
}

static int check_path(const char *path)
{
    return check(path, strlen(path), NULL);
}

static int check_query(const char *query)
{
    return check("/v1/agent/ps", 12, query);
}

static void test_ordinary_requests_pass(void **state)
{
    (void)state;
    assert_int_equal(check_path("/v1/members"), 0);
    assert_int_equal(check_path("/"), 0);
    assert_int_equal(check_path("/v1/kv/a//b/"), 0);
    assert_int_equal(check_path("/v1/kv/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80"), 0);
    assert_int_equal(check_query("service=web&passing&tag=a%20b&note=x+y&&"), 0);
    assert_int_equal(check_query(""), 0);
    assert_int_equal(check_query("service=caf%C3%A9"), 0);
}

static void test_path_segment_not_utf8_is_named(void **state)
{
    (void)state;
    assert_int_equal(check_path("/v1/agent/stop/\xff"), -EINVAL);
    assert_string_equal(msg, "path segment 4: not valid UTF-8");
    assert_int_equal(check_path("/v1/\xc3/x"), -EINVAL); /* cut short */
    assert_string_equal(msg, "path segment 2: not valid UTF-8");
}

static void test_path_segment_with_nul_is_named(void **state)
{
    (void)state;
    assert_int_equal(check("/v1/agent/a\0b", 13, NULL), -EINVAL);
    assert_string_equal(msg, "path segment 3: contains NUL");
}

static void test_overlong_and_surrogate_utf8_are_refused(void **state)
{
    (void)state;
    assert_int_equal(check_path("/v1/kv/\xc0\xaf"), -EINVAL);         /* overlong '/' */
    assert_int_equal(check_path("/v1/kv/\xe0\x80\xaf"), -EINVAL);     /* overlong '/' */
    assert_int_equal(check_path("/v1/kv/\xed\xa0\x80"), -EINVAL);     /* U+D800 */
    assert_int_equal(check_path("/v1/kv/\xf4\x90\x80\x80"), -EINVAL); /* past U+10FFFF */
    assert_int_equal(check_path("/v1/kv/\xf8\x88\x80\x80\x80"), -EINVAL);
    assert_string_equal(msg, "path segment 3: not valid UTF-8");
}

static void test_path_segment_over_the_limit_is_refused(void **state)
{
    char path[16 + API_INPUT_SEGMENT_MAX + 2];

    (void)state;
    snprintf(path, sizeof(path), "/v1/kv/");
    memset(path + 7, 'a', API_INPUT_SEGMENT_MAX);
    path[7 + API_INPUT_SEGMENT_MAX] = '\0';
    assert_int_equal(check_path(path), 0);
    strcat(path, "a");
    assert_int_equal(check_path(path), -EINVAL);
    assert_string_equal(msg, "path segment 3: longer than 512 bytes");
}

static void test_query_value_not_utf8_names_the_parameter(void **state)
{
    (void)state;
    assert_int_equal(check_query("service=%ff"), -EINVAL);
    assert_string_equal(msg, "query parameter \"service\": not valid UTF-8");
}

static void test_query_value_with_nul_names_the_parameter(void **state)
{
    (void)state;
    assert_int_equal(check_query("a=1&cursor=x%00y"), -EINVAL);
    assert_string_equal(msg, "query parameter \"cursor\": contains NUL");
}

static void test_query_bad_escape_names_the_parameter(void **state)
{
    (void)state;
    assert_int_equal(check_query("index=%zz"), -EINVAL);
    assert_string_equal(msg, "query parameter \"index\": bad percent-encoding");
    assert_int_equal(check_query("index=%4"), -EINVAL);
    assert_string_equal(msg, "query parameter \"index\": bad percent-encoding");
}

static void test_query_name_that_is_not_text_is_named_by_position(void **state)
{
    (void)state;
    assert_int_equal(check_query("a=1&%00=x"), -EINVAL);
    assert_string_equal(msg, "query parameter 2: name contains NUL");
    assert_int_equal(check_query("%ff"), -EINVAL);
    assert_string_equal(msg, "query parameter 1: name not valid UTF-8");
    assert_int_equal(check_query("%zz=1"), -EINVAL);
    assert_string_equal(msg, "query parameter 1: bad percent-encoding in its name");
    /* a name with a quote is valid but is not quoted back */
    assert_int_equal(check_query("a%22b=%ff"), -EINVAL);
    assert_string_equal(msg, "query parameter 1: not valid UTF-8");
}

static void test_query_value_over_the_limit_is_refused(void **state)
{
    char q[16 + 3 * API_INPUT_VALUE_MAX];
    size_t n = (size_t)snprintf(q, sizeof(q), "cursor=");

    (void)state;
    memset(q + n, 'a', API_INPUT_VALUE_MAX);
    q[n + API_INPUT_VALUE_MAX] = '\0';
    assert_int_equal(check_query(q), 0);
    strcat(q, "a");
    assert_int_equal(check_query(q), -EINVAL);
    assert_string_equal(msg, "query parameter \"cursor\": longer than 2048 bytes");
    /* the limit is on the decoded text: escapes count once */
    n = (size_t)snprintf(q, sizeof(q), "cursor=");
    for (size_t i = 0; i < API_INPUT_VALUE_MAX; i++, n += 3)
        memcpy(q + n, "%41", 3);
    q[n] = '\0';
    assert_int_equal(check_query(q), 0);
}

static void test_path_is_checked_before_the_query(void **state)
{
    (void)state;
    assert_int_equal(check("/v1/\xff", 5, "service=%ff"), -EINVAL);
    assert_string_equal(msg, "path segment 2: not valid UTF-8");
}

static void test_utf8_validity(void **state)
{
    (void)state;
    assert_true(api_input_utf8_valid("", 0));
    assert_true(api_input_utf8_valid("\xc3\xa9", 2));
    assert_false(api_input_utf8_valid("\xc3\xa9", 1));
    assert_false(api_input_utf8_valid("\x80", 1));
    assert_int_equal(api_input_utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordinary_requests_pass),
        cmocka_unit_test(test_path_segment_not_utf8_is_named),
        cmocka_unit_test(test_path_segment_with_nul_is_named),
        cmocka_unit_test(test_overlong_and_surrogate_utf8_are_refused),
        cmocka_unit_test(test_path_segment_over_the_limit_is_refused),
        cmocka_unit_test(test_query_value_not_utf8_names_the_parameter),
        cmocka_unit_test(test_query_value_with_nul_names_the_parameter),
        cmocka_unit_test(test_query_bad_escape_names_the_parameter),
        cmocka_unit_test(test_query_name_that_is_not_text_is_named_by_position),
        cmocka_unit_test(test_query_value_over_the_limit_is_refused),
        cmocka_unit_test(test_path_is_checked_before_the_query),
        cmocka_unit_test(test_utf8_validity),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
