/* Tests of core/bundle_path: which tarball entries may be unpacked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/bundle_path.h"

static void refused(const char *path, enum bundle_entry t, const char *link, int code,
                    const char *words)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(bundle_path_check(path, t, link, &e), code);
    if (!strstr(e.msg, words))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", path, e.msg, words);
}

static void test_plain_entries_pass(void **state)
{
    (void)state;
    assert_int_equal(bundle_path_check("bin/app", BUNDLE_ENT_FILE, NULL, NULL), 0);
    assert_int_equal(bundle_path_check("./etc/", BUNDLE_ENT_DIR, NULL, NULL), 0);
    assert_int_equal(bundle_path_check("a..b/c..", BUNDLE_ENT_FILE, NULL, NULL), 0);
}

static void test_absolute_path_refused(void **state)
{
    (void)state;
    refused("/etc/passwd", BUNDLE_ENT_FILE, NULL, -EPERM, "path-escaping tarball: absolute");
}

static void test_dotdot_refused_anywhere(void **state)
{
    (void)state;
    refused("../evil", BUNDLE_ENT_FILE, NULL, -EPERM, "climbs out");
    refused("a/../../evil", BUNDLE_ENT_FILE, NULL, -EPERM, "climbs out");
    refused("a/..", BUNDLE_ENT_DIR, NULL, -EPERM, "climbs out");
}

static void test_devices_refused(void **state)
{
    (void)state;
    refused("dev/sda", BUNDLE_ENT_DEVICE, NULL, -EINVAL, "device file in bundle");
    refused("fifo", BUNDLE_ENT_OTHER, NULL, -EINVAL, "not a file, directory or link");
}

static void test_symlinks_inside_pass(void **state)
{
    (void)state;
    assert_int_equal(bundle_path_check("lib/x.so", BUNDLE_ENT_SYMLINK, "x.so.1", NULL), 0);
    assert_int_equal(bundle_path_check("a/b/c", BUNDLE_ENT_SYMLINK, "../../d/e", NULL), 0);
    assert_int_equal(bundle_path_check("self", BUNDLE_ENT_SYMLINK, ".", NULL), 0);
}

static void test_symlinks_escaping_refused(void **state)
{
    (void)state;
    refused("link", BUNDLE_ENT_SYMLINK, "/etc", -EPERM, "is absolute");
    refused("link", BUNDLE_ENT_SYMLINK, "..", -EPERM, "points outside the bundle");
    refused("a/link", BUNDLE_ENT_SYMLINK, "../../etc", -EPERM, "points outside");
    /* "r/.." need not be "." when r is itself a link to "." */
    refused("t", BUNDLE_ENT_SYMLINK, "r/..", -EPERM, "points outside");
}

static void test_hardlink_targets_checked(void **state)
{
    (void)state;
    assert_int_equal(bundle_path_check("b", BUNDLE_ENT_HARDLINK, "a/file", NULL), 0);
    refused("b", BUNDLE_ENT_HARDLINK, "../../etc/shadow", -EPERM, "hard link target");
    refused("b", BUNDLE_ENT_HARDLINK, "/etc/shadow", -EPERM, "absolute hard link target");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_entries_pass),
        cmocka_unit_test(test_absolute_path_refused),
        cmocka_unit_test(test_dotdot_refused_anywhere),
        cmocka_unit_test(test_devices_refused),
        cmocka_unit_test(test_symlinks_inside_pass),
        cmocka_unit_test(test_symlinks_escaping_refused),
        cmocka_unit_test(test_hardlink_targets_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
