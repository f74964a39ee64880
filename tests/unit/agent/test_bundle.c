/* Tests of agent/bundle_archive: packing is reproducible, a bundle unpacks
 * to its files, and every path-escaping or device entry is refused before
 * anything lands outside the destination. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/trust/bundle_archive.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
    free(p);
}

static int make_dir(void **state)
{
    char *d = strdup("/tmp/troupe-bundle-XXXXXX");
    assert_non_null(mkdtemp(d));
    *state = d;
    return 0;
}

static int remove_dir(void **state)
{
    assert_int_equal(bundle_rmtree(*state), 0);
    free(*state);
    return 0;
}

static void app_dir(const char *root)
{
    char *p = path_in(root, "app");
    char *q = path_in(root, "app/bin");
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(mkdir(q, 0755), 0);
    put(p, "run", "#!/bin/sh\necho hello\n", 04755); /* setuid bit must not survive */
    put(q, "data.txt", "some data\n", 0644);
    free(q);
    q = path_in(p, "latest");
    assert_int_equal(symlink("bin/data.txt", q), 0);
    free(p);
    free(q);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_pack_is_reproducible(void **state)
{
    const char *root = *state;
    struct bundle_manifest m, got;
    struct err e;
    char *app = path_in(root, "app"), *a = path_in(root, "a.tar.zst"),
         *b = path_in(root, "b.tar.zst");
    void *x, *y;
    size_t xl, yl;

    app_dir(root);
    assert_int_equal(bundle_manifest_set(&m, "web", "1.0", "./run", "process", &e), 0);
    assert_int_equal(bundle_pack(app, &m, a, &e), 0);
    /* touching a file's time changes nothing in the bundle */
    sleep(1);
    put(app, "run", "#!/bin/sh\necho hello\n", 04755);
    assert_int_equal(bundle_pack(app, &m, b, &e), 0);
    x = slurp(a, &xl);
    y = slurp(b, &yl);
    assert_int_equal(xl, yl);
    assert_memory_equal(x, y, xl);
    assert_int_equal(bundle_read_manifest(a, &got, &e), 0);
    assert_string_equal(got.name, "web");
    assert_string_equal(got.version, "1.0");
    assert_string_equal(got.entrypoint, "./run");
    assert_string_equal(got.runtime, "process");
    free(x);
    free(y);
    free(app);
    free(a);
    free(b);
}

static void test_unpack_restores_files_without_setuid(void **state)
{
    const char *root = *state;
    struct bundle_manifest m;
    struct err e;
    char *app = path_in(root, "app"), *a = path_in(root, "a.tar.zst"), *out = path_in(root, "out");
    char *run = path_in(out, "run"), *lnk = path_in(out, "latest"), target[64];
    struct stat st;
    ssize_t n;

    app_dir(root);
    assert_int_equal(bundle_manifest_set(&m, "web", "1.0", "./run", "process", &e), 0);
    assert_int_equal(bundle_pack(app, &m, a, &e), 0);
    assert_int_equal(bundle_unpack(a, out, &m, &e), 0);
    assert_int_equal(stat(run, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    n = readlink(lnk, target, sizeof(target) - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "bin/data.txt");
    assert_int_equal(bundle_unpack(a, out, &m, &e), -EEXIST);
    free(app);
    free(a);
    free(out);
    free(run);
    free(lnk);
}

/* A tarball as an attacker would make it: a valid manifest first, then one
 * crafted entry. */
static void *evil(const char *name, mode_t type, const char *link, int hard, size_t *len)
{
    static const char mf[] =
        "{\"entrypoint\":\"./run\",\"name\":\"x\",\"runtime\":\"process\",\"version\":\"1\"}";
    struct archive *a = archive_write_new();
    struct archive_entry *en = archive_entry_new();
    size_t cap = 1 << 20;
    char *buf = malloc(cap);

    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    archive_entry_set_pathname(en, BUNDLE_MANIFEST);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, sizeof(mf) - 1);
    archive_write_header(a, en);
    archive_write_data(a, mf, sizeof(mf) - 1);
    archive_entry_clear(en);
    archive_entry_set_pathname(en, name);
    archive_entry_set_filetype(en, type);
    archive_entry_set_perm(en, 0644);
    if (link && hard)
        archive_entry_set_hardlink(en, link);
    else if (link)
        archive_entry_set_symlink(en, link);
    if (type == AE_IFCHR)
        archive_entry_set_rdev(en, makedev(1, 3));
    archive_entry_set_size(en, type == AE_IFREG && !hard ? 4 : 0);
    archive_write_header(a, en);
    if (type == AE_IFREG && !hard)
        archive_write_data(a, "evil", 4);
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(en);
    return buf;
}

static void refused(const char *root, const char *name, mode_t type, const char *link, int hard,
                    const char *words)
{
    struct err e;
    size_t len;
    void *buf = evil(name, type, link, hard, &len);
    char *out = path_in(root, "out"), *tmp = path_in(root, ".out.tmp");
    struct stat st;

    err_clear(&e);
    assert_true(bundle_unpack_mem(buf, len, out, NULL, &e) < 0);
    if (!strstr(e.msg, words))
        fail_msg("entry \"%s\": message \"%s\" lacks \"%s\"", name, e.msg, words);
    assert_int_equal(lstat(out, &st), -1); /* nothing left behind */
    assert_int_equal(lstat(tmp, &st), -1);
    free(buf);
    free(out);
    free(tmp);
}

static void test_path_escaping_entries_refused(void **state)
{
    const char *root = *state;
    char *outside = path_in(root, "evil");
    struct stat st;

    refused(root, "../evil", AE_IFREG, NULL, 0, "path-escaping tarball");
    refused(root, "a/../../evil", AE_IFREG, NULL, 0, "path-escaping tarball");
    refused(root, "/tmp/troupe-evil-abs", AE_IFREG, NULL, 0, "path-escaping tarball: absolute");
    refused(root, "link", AE_IFLNK, "../..", 0, "points outside the bundle");
    refused(root, "link", AE_IFLNK, "/etc", 0, "is absolute");
    refused(root, "hard", AE_IFREG, "../evil", 1, "hard link target");
    refused(root, "dev/null", AE_IFCHR, NULL, 0, "device file in bundle");
    refused(root, "fifo", AE_IFIFO, NULL, 0, "not a file, directory or link");
    assert_int_equal(lstat(outside, &st), -1);
    free(outside);
}

static void test_garbage_is_not_a_bundle(void **state)
{
    const char *root = *state;
    char *out = path_in(root, "out");
    struct err e;

    assert_true(bundle_unpack_mem("hello, world", 12, out, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "bundle"));
    free(out);
}

static void test_manifest_fields_checked(void **state)
{
    struct bundle_manifest m;
    struct err e;

    (void)state;
    assert_int_equal(bundle_manifest_set(&m, "web@x", "1", "./run", "process", &e), -EINVAL);
    assert_int_equal(bundle_manifest_set(&m, "web", "../1", "./run", "process", &e), -EINVAL);
    assert_int_equal(bundle_manifest_set(&m, "web", "1", "", "process", &e), -EINVAL);
    assert_int_equal(bundle_manifest_set(&m, "web", "1", "./run", "vm", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "runtime"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pack_is_reproducible),          T(test_unpack_restores_files_without_setuid),
        T(test_path_escaping_entries_refused), T(test_garbage_is_not_a_bundle),
        T(test_manifest_fields_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
