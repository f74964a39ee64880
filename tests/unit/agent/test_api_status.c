/* Tests of the API's one error-to-status table (agent/api/api.c): what a
 * path names that is missing is a 404, what a body names that is missing a
 * 400; permission, conflict, unsupported and disk errors keep their own
 * status; anything else is the client's mistake. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/api/api_impl.h"

static void test_missing_is_404_by_path_400_by_body(void **state)
{
    assert_int_equal(api_status(-ENOENT), 404);
    assert_int_equal(api_status_of_body(-ENOENT), 400);
}

static void test_permission_conflict_unsupported_disk(void **state)
{
    assert_int_equal(api_status(-EPERM), 403);
    assert_int_equal(api_status_of_body(-EPERM), 403);
    assert_int_equal(api_status(-EEXIST), 409);
    assert_int_equal(api_status_of_body(-EEXIST), 409);
    assert_int_equal(api_status(-ENOTSUP), 422);
    assert_int_equal(api_status(-EIO), 500);
    assert_int_equal(api_status_of_body(-EIO), 500);
}

static void test_anything_else_is_the_clients_mistake(void **state)
{
    assert_int_equal(api_status(-EINVAL), 400);
    assert_int_equal(api_status(-EMSGSIZE), 400);
    assert_int_equal(api_status(0), 400);
    assert_int_equal(api_status_of_body(-ERANGE), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_is_404_by_path_400_by_body),
        cmocka_unit_test(test_permission_conflict_unsupported_disk),
        cmocka_unit_test(test_anything_else_is_the_clients_mistake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
