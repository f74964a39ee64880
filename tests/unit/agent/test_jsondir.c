/* Tests of agent/jsondir: which files of a directory are read, in what
 * order, and how each kind of bad file is refused. Each test works in a
 * directory of its own under /tmp. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/jsondir.h"

#define MAX_BYTES 256

/* What the callbacks saw, a line each, in order: "+NAME" applied,
 * "-NAME: why" refused. */
struct seen {
    char dir[64];
    char log[4096];
    const char *refuse; /* apply refuses the file with this name */
};

static void note(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct seen *s, const char *fmt, ...)
{
    size_t used = strlen(s->log);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->log + used, sizeof(s->log) - used, fmt, ap);
    va_end(ap);
}

static const char *base(const struct seen *s, const char *path)
{
    size_t n = strlen(s->dir);
    assert_memory_equal(path, s->dir, n); /* every path names its directory */
    assert_int_equal(path[n], '/');
    return path + n + 1;
}

static int apply(void *ud, const struct jsondir_file *f, struct err *e)
{
    struct seen *s = ud;
    const char *name = base(s, f->path);

    assert_non_null(f->root);
    assert_int_equal(f->text[f->len], '\0');
    if (s->refuse && strcmp(name, s->refuse) == 0)
        return err_set(e, -EINVAL, "name: refused by the caller");
    note(s, "+%s\n", name);
    return 0;
}

static void refused(void *ud, const struct jsondir_file *f, const struct err *e)
{
    struct seen *s = ud;

    assert_true(e->code < 0);
    note(s, "-%s: %s\n", base(s, f->path), e->msg);
}

static int setup(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));

    snprintf(s->dir, sizeof(s->dir), "/tmp/troupe-jsondir-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    *state = s;
    return 0;
}

static int unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct seen *s = *state;

    assert_int_equal(nftw(s->dir, unlink_one, 8, FTW_DEPTH | FTW_PHYS), 0);
    free(s);
    return 0;
}

static void put(const struct seen *s, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void link_to(const struct seen *s, const char *name, const char *target)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    assert_int_equal(symlink(target, path), 0);
}

/* Loads the directory: n files, and the callbacks saw calls. */
static void load_expect(struct seen *s, int n, const char *calls)
{
    struct err e;

    assert_int_equal(jsondir_load(s->dir, MAX_BYTES, apply, refused, s, &e), n);
    assert_string_equal(s->log, calls);
}

static void test_json_files_are_applied_in_name_order(void **state)
{
    struct seen *s = *state;

    put(s, "b.json", "{\"b\": 1}");
    put(s, "a.json", "[1, 2]");
    put(s, "c.json", "{\"c\": \"text\"}");
    load_expect(s, 3, "+a.json\n+b.json\n+c.json\n");
}

static void test_other_names_and_dot_files_are_passed_over(void **state)
{
    const char *others[] = {"notes.txt", "a.json.bak", "a.json~", ".hidden.json", "JSON"};
    struct seen *s = *state;

    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        put(s, others[i], "not json");
    put(s, "a.json", "{}");
    load_expect(s, 1, "+a.json\n");
}

static void test_bad_json_is_refused_naming_the_file_line_and_column(void **state)
{
    struct seen *s = *state;

    put(s, "bad.json", "{\n  \"name\": \"x\",\n  \"port\": ,\n}");
    put(s, "good.json", "{}");
    load_expect(s, 2,
                "-bad.json: not JSON: line 3, column 11: unexpected token near ','\n"
                "+good.json\n");
}

static void test_duplicate_keys_are_not_json(void **state)
{
    struct seen *s = *state;

    put(s, "dup.json", "{\"a\": 1, \"a\": 2}");
    load_expect(s, 1,
                "-dup.json: not JSON: line 1, column 12: duplicate object key near '\"a\"'\n");
}

static void test_a_file_above_the_limit_is_refused_and_one_at_it_read(void **state)
{
    struct seen *s = *state;
    char text[MAX_BYTES + 2];

    memset(text, ' ', sizeof(text));
    text[0] = '[';
    text[1] = ']';
    text[MAX_BYTES] = '\0'; /* exactly the limit */
    put(s, "at.json", text);
    text[MAX_BYTES] = ' ';
    text[MAX_BYTES + 1] = '\0'; /* one byte more */
    put(s, "over.json", text);
    load_expect(s, 2, "+at.json\n-over.json: larger than 256 bytes\n");
}

static void test_what_apply_refuses_goes_to_refused_with_its_reason(void **state)
{
    struct seen *s = *state;

    put(s, "a.json", "{}");
    put(s, "b.json", "{}");
    s->refuse = "a.json";
    load_expect(s, 2, "-a.json: name: refused by the caller\n+b.json\n");
}

static void test_a_link_to_a_file_is_followed(void **state)
{
    struct seen *s = *state;
    char target[PATH_MAX];

    put(s, "real.txt", "{\"linked\": true}");
    snprintf(target, sizeof(target), "%s/real.txt", s->dir);
    link_to(s, "linked.json", target);
    load_expect(s, 1, "+linked.json\n");
}

static void test_a_dangling_link_and_a_directory_are_refused(void **state)
{
    struct seen *s = *state;
    char path[PATH_MAX];

    link_to(s, "dangling.json", "/nonexistent/troupe-jsondir");
    snprintf(path, sizeof(path), "%s/dir.json", s->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    load_expect(s, 2, "-dangling.json: No such file or directory\n-dir.json: not a regular file\n");
}

static void test_a_missing_directory_is_an_error_and_calls_nothing(void **state)
{
    struct seen *s = *state;
    char dir[PATH_MAX];
    struct err e;

    snprintf(dir, sizeof(dir), "%s/missing", s->dir);
    assert_int_equal(jsondir_load(dir, MAX_BYTES, apply, refused, s, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "missing"));
    assert_string_equal(s->log, "");
}

static void test_an_empty_directory_has_no_files(void **state)
{
    struct seen *s = *state;

    load_expect(s, 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_json_files_are_applied_in_name_order),
        T(test_other_names_and_dot_files_are_passed_over),
        T(test_bad_json_is_refused_naming_the_file_line_and_column),
        T(test_duplicate_keys_are_not_json),
        T(test_a_file_above_the_limit_is_refused_and_one_at_it_read),
        T(test_what_apply_refuses_goes_to_refused_with_its_reason),
        T(test_a_link_to_a_file_is_followed),
        T(test_a_dangling_link_and_a_directory_are_refused),
        T(test_a_missing_directory_is_an_error_and_calls_nothing),
        T(test_an_empty_directory_has_no_files),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
