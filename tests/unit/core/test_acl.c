/* Tests of core/acl: the rule language and its errors, the policy decision
 * (longest prefix, deny at equal prefix, the default policy as fallback,
 * subtrees), the refusal text, and token records (round trip, every
 * truncation and corruption refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/acl.h"

/* A token named name with the rules given as text, NULL-terminated. */
static void token(struct acl_token *t, const char *name, ...)
{
    va_list ap;
    const char *r;
    struct err e;

    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    va_start(ap, name);
    while ((r = va_arg(ap, const char *))) {
        assert_int_equal(acl_rule_parse(&t->rules[t->n_rules++], r, &e), 0);
    }
    va_end(ap);
}

static int allows(const struct acl_token *t, uint8_t def, uint8_t res, uint8_t want,
                  const char *name)
{
    struct acl_decision d;
    return acl_allows(t, def, res, want, name, 0, &d);
}

static void test_rule_with_prefix_parses_and_formats_back(void **state)
{
    struct acl_rule r;
    struct err e;
    char buf[ACL_RULE_TEXT_MAX];

    assert_int_equal(acl_rule_parse(&r, "kv:write:app/x:y", &e), 0);
    assert_int_equal(r.resource, ACL_RES_KV);
    assert_int_equal(r.access, ACL_WRITE);
    assert_string_equal(r.prefix, "app/x:y"); /* the prefix is the rest, colons and all */
    assert_string_equal(acl_rule_format(&r, buf, sizeof(buf)), "kv:write:app/x:y");
    assert_int_equal(acl_rule_parse(&r, "secret:deny", &e), 0);
    assert_int_equal(r.prefix_len, 0);
    assert_string_equal(acl_rule_format(&r, buf, sizeof(buf)), "secret:deny");
    assert_int_equal(acl_rule_parse(&r, "*:write", &e), 0);
    assert_int_equal(r.resource, ACL_RES_ALL);
}

static void test_rule_errors_name_the_wrong_part(void **state)
{
    struct acl_rule r;
    struct err e;
    char long_rule[ACL_PREFIX_MAX + 32];

    assert_int_equal(acl_rule_parse(&r, "kv", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "expected RESOURCE:ACCESS[:PREFIX]"));
    assert_int_equal(acl_rule_parse(&r, "keyvalue:write", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "resource \"keyvalue\" is not one of"));
    assert_int_equal(acl_rule_parse(&r, "kv:wrte:app/", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "access \"wrte\" is not read, write or deny"));
    assert_int_equal(acl_rule_parse(&r, "kv:", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "access \"\""));
    assert_int_equal(acl_rule_parse(&r, "kv:read:a\nb", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "control character"));
    snprintf(long_rule, sizeof(long_rule), "kv:read:%0*d", ACL_PREFIX_MAX + 1, 0);
    assert_int_equal(acl_rule_parse(&r, long_rule, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "prefix longer than"));
}

static void test_longest_prefix_wins(void **state)
{
    struct acl_token t;

    token(&t, "t", "kv:write:app/", "kv:read:app/ro/", NULL);
    assert_true(allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "app/x"));
    assert_false(allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "app/ro/x"));
    assert_true(allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_READ, "app/ro/x"));
    assert_false(allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "other/x"));
}

static void test_deny_beats_allow_at_equal_prefix(void **state)
{
    struct acl_token t;
    struct acl_decision d;

    token(&t, "t", "kv:write:app/", "kv:deny:app/", "*:write:app/", NULL);
    assert_int_equal(acl_allows(&t, ACL_DEFAULT_READ, ACL_RES_KV, ACL_READ, "app/x", 0, &d), 0);
    assert_int_equal(d.access, ACL_DENY);
    assert_int_equal(d.rule->access, ACL_DENY);
    /* a longer allow still wins over a shorter deny */
    token(&t, "t", "kv:deny:", "kv:read:pub/", NULL);
    assert_true(allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_READ, "pub/a"));
    assert_false(allows(&t, ACL_DEFAULT_READ, ACL_RES_KV, ACL_READ, "priv/a"));
}

static void test_write_implies_read_and_star_means_every_resource(void **state)
{
    struct acl_token t;

    token(&t, "management", "*:write", NULL);
    for (uint8_t res = 1; res <= ACL_RES_MAX; res++) {
        assert_true(allows(&t, ACL_DEFAULT_DENY, res, ACL_READ, "x"));
        assert_true(allows(&t, ACL_DEFAULT_DENY, res, ACL_WRITE, ""));
    }
    token(&t, "most", "*:write", "secret:deny", NULL);
    assert_false(allows(&t, ACL_DEFAULT_READ, ACL_RES_SECRET, ACL_READ, "db"));
    assert_true(allows(&t, ACL_DEFAULT_READ, ACL_RES_RUN, ACL_WRITE, "web"));
}

static void test_default_read_lets_anonymous_read_the_catalog_not_secrets(void **state)
{
    assert_true(allows(NULL, ACL_DEFAULT_READ, ACL_RES_KV, ACL_READ, "app/x"));
    assert_true(allows(NULL, ACL_DEFAULT_READ, ACL_RES_SERVICE, ACL_READ, "web"));
    assert_true(allows(NULL, ACL_DEFAULT_READ, ACL_RES_NODE, ACL_READ, ""));
    assert_false(allows(NULL, ACL_DEFAULT_READ, ACL_RES_KV, ACL_WRITE, "app/x"));
    assert_false(allows(NULL, ACL_DEFAULT_READ, ACL_RES_SECRET, ACL_READ, "db"));
    assert_false(allows(NULL, ACL_DEFAULT_READ, ACL_RES_RUN, ACL_READ, "web"));
    assert_false(allows(NULL, ACL_DEFAULT_READ, ACL_RES_ACL, ACL_READ, ""));
    assert_false(allows(NULL, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_READ, "app/x"));
    assert_false(allows(NULL, ACL_DEFAULT_DENY, ACL_RES_NODE, ACL_READ, ""));
}

static void test_token_falls_back_to_the_default_where_no_rule_matches(void **state)
{
    struct acl_token t;
    struct acl_decision d;

    token(&t, "ci", "kv:write:app/", NULL);
    assert_true(acl_allows(&t, ACL_DEFAULT_READ, ACL_RES_SERVICE, ACL_READ, "web", 0, &d));
    assert_true(d.by_default);
    assert_false(allows(&t, ACL_DEFAULT_DENY, ACL_RES_SERVICE, ACL_READ, "web"));
    assert_false(allows(&t, ACL_DEFAULT_READ, ACL_RES_KV, ACL_WRITE, "other/x"));
    assert_false(allows(&t, ACL_DEFAULT_READ, ACL_RES_SECRET, ACL_WRITE, "app/x"));
    assert_false(allows(&t, ACL_DEFAULT_READ, ACL_RES_RUN, ACL_WRITE, "app"));
}

static void test_subtree_needs_every_longer_rule_to_allow(void **state)
{
    struct acl_token t;
    struct acl_decision d;

    token(&t, "t", "kv:write:app/", "kv:deny:app/secret/", NULL);
    assert_true(acl_allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "app/a/", 1, &d));
    assert_false(acl_allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "app/", 1, &d));
    assert_string_equal(d.rule->prefix, "app/secret/");
    /* without subtree only the name itself counts */
    assert_true(acl_allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_WRITE, "app/", 0, &d));
}

static void test_denial_text_names_the_missing_rule(void **state)
{
    struct acl_token t;
    struct acl_decision d;
    char buf[512];

    acl_allows(NULL, ACL_DEFAULT_READ, ACL_RES_KV, ACL_WRITE, "app/x", 0, &d);
    acl_denial_text(NULL, ACL_RES_KV, ACL_WRITE, "app/x", 0, &d, buf, sizeof(buf));
    assert_non_null(strstr(buf, "permission denied: needs kv:write on \"app/x\" (no token given"));
    token(&t, "ci", "kv:write:app/", NULL);
    acl_allows(&t, ACL_DEFAULT_DENY, ACL_RES_SECRET, ACL_READ, "", 0, &d);
    acl_denial_text(&t, ACL_RES_SECRET, ACL_READ, "", 0, &d, buf, sizeof(buf));
    assert_string_equal(buf, "permission denied: needs secret:read (token \"ci\" has no rule "
                             "for it)");
    token(&t, "ci", "kv:deny:app/", NULL);
    acl_allows(&t, ACL_DEFAULT_DENY, ACL_RES_KV, ACL_READ, "app/x", 0, &d);
    acl_denial_text(&t, ACL_RES_KV, ACL_READ, "app/x", 0, &d, buf, sizeof(buf));
    assert_non_null(strstr(buf, "rule kv:deny:app/ decides"));
}

static void test_names_are_checked(void **state)
{
    struct err e;
    char long_name[ACL_NAME_MAX + 2];

    assert_int_equal(acl_name_check("ci-deploy.2", &e), 0);
    assert_int_equal(acl_name_check("", &e), -EINVAL);
    assert_int_equal(acl_name_check("a b", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "[A-Za-z0-9._-]"));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(acl_name_check(long_name, &e), -EINVAL);
}

static void test_token_record_round_trips_without_the_secret(void **state)
{
    struct acl_token t, back;
    uint8_t buf[ACL_VALUE_MAX];
    struct err e;
    int n;

    token(&t, "ci", "kv:write:app/", "run:read", "*:deny:x", NULL);
    acl_secret_hash("s3cret", 6, t.hash);
    t.created_ms = 1234567;
    snprintf(t.created_by, sizeof(t.created_by), "management");
    assert_int_equal(acl_token_check(&t, &e), 0);
    n = acl_token_encode(&t, buf, sizeof(buf), &e);
    assert_true(n > 0);
    assert_null(memmem(buf, (size_t)n, "s3cret", 6));
    memset(&back, 0, sizeof(back));
    assert_int_equal(acl_token_decode(&back, buf, (size_t)n, &e), 0);
    assert_memory_equal(back.hash, t.hash, ACL_HASH_LEN);
    assert_int_equal(back.created_ms, 1234567);
    assert_string_equal(back.created_by, "management");
    assert_int_equal(back.n_rules, 3);
    assert_string_equal(back.rules[0].prefix, "app/");
    assert_int_equal(back.rules[1].resource, ACL_RES_RUN);
    assert_int_equal(back.rules[2].resource, ACL_RES_ALL);
    assert_int_equal(back.rules[2].access, ACL_DENY);
}

static void test_every_truncation_of_a_token_record_is_refused(void **state)
{
    struct acl_token t, back;
    uint8_t buf[ACL_VALUE_MAX];
    struct err e;
    int n;

    token(&t, "ci", "kv:write:app/", "event:read", NULL);
    n = acl_token_encode(&t, buf, sizeof(buf), &e);
    for (int i = 0; i < n; i++)
        assert_int_equal(acl_token_decode(&back, buf, (size_t)i, &e), -EBADMSG);
    buf[n] = 0;
    assert_int_equal(acl_token_decode(&back, buf, (size_t)n + 1, &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "after the rules"));
}

static void test_corrupt_token_records_are_refused(void **state)
{
    struct acl_token t, back;
    uint8_t buf[ACL_VALUE_MAX], bad[ACL_VALUE_MAX];
    struct err e;
    int n;
    size_t rule0 = 1 + ACL_HASH_LEN + 8 + 1 + 1; /* no created_by */

    token(&t, "ci", "kv:write:app/", NULL);
    n = acl_token_encode(&t, buf, sizeof(buf), &e);
    memcpy(bad, buf, (size_t)n);
    bad[0] = 9; /* format */
    assert_int_equal(acl_token_decode(&back, bad, (size_t)n, &e), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[rule0] = ACL_RES_MAX + 1; /* resource */
    assert_int_equal(acl_token_decode(&back, bad, (size_t)n, &e), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[rule0 + 1] = ACL_NONE; /* access */
    assert_int_equal(acl_token_decode(&back, bad, (size_t)n, &e), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[rule0 + 3] = '\0'; /* NUL inside the prefix */
    assert_int_equal(acl_token_decode(&back, bad, (size_t)n, &e), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[rule0 - 1] = 0; /* no rules */
    assert_int_equal(acl_token_decode(&back, bad, rule0, &e), -EBADMSG);
}

static void test_token_without_rules_or_with_a_bad_name_fails_the_check(void **state)
{
    struct acl_token t;
    struct err e;

    token(&t, "ci", NULL);
    assert_int_equal(acl_token_check(&t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "at least one rule"));
    token(&t, "c i", "kv:read", NULL);
    assert_int_equal(acl_token_check(&t, &e), -EINVAL);
}

static void test_default_policy_names_parse(void **state)
{
    uint8_t d;

    assert_int_equal(acl_default_parse("read", &d), 0);
    assert_int_equal(d, ACL_DEFAULT_READ);
    assert_int_equal(acl_default_parse("deny", &d), 0);
    assert_int_equal(d, ACL_DEFAULT_DENY);
    assert_int_equal(acl_default_parse("off", &d), 0);
    assert_int_equal(d, ACL_DEFAULT_OFF);
    assert_int_equal(acl_default_parse("allow", &d), -EINVAL);
    assert_true(allows(NULL, ACL_DEFAULT_OFF, ACL_RES_SECRET, ACL_WRITE, "db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_with_prefix_parses_and_formats_back),
        cmocka_unit_test(test_rule_errors_name_the_wrong_part),
        cmocka_unit_test(test_longest_prefix_wins),
        cmocka_unit_test(test_deny_beats_allow_at_equal_prefix),
        cmocka_unit_test(test_write_implies_read_and_star_means_every_resource),
        cmocka_unit_test(test_default_read_lets_anonymous_read_the_catalog_not_secrets),
        cmocka_unit_test(test_token_falls_back_to_the_default_where_no_rule_matches),
        cmocka_unit_test(test_subtree_needs_every_longer_rule_to_allow),
        cmocka_unit_test(test_denial_text_names_the_missing_rule),
        cmocka_unit_test(test_names_are_checked),
        cmocka_unit_test(test_token_record_round_trips_without_the_secret),
        cmocka_unit_test(test_every_truncation_of_a_token_record_is_refused),
        cmocka_unit_test(test_corrupt_token_records_are_refused),
        cmocka_unit_test(test_token_without_rules_or_with_a_bad_name_fails_the_check),
        cmocka_unit_test(test_default_policy_names_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
