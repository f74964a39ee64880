/* Tests of agent/super/secrets: values are stored sealed and never listed,
 * an instance gets them as read-only files, names and sizes are checked,
 * and a secret does not open under another agent's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "agent/super/super_impl.h"

struct fixture {
    char dir[64];
    struct super *s;
};

static struct super *open_super(const char *dir)
{
    struct super *s = calloc(1, sizeof(*s));
    char db[128];
    struct err e;

    assert_non_null(s);
    snprintf(s->data_dir, sizeof(s->data_dir), "%s", dir);
    snprintf(db, sizeof(db), "%s/troupe.db", dir);
    assert_int_equal(sqlite3_open(db, &s->db), SQLITE_OK);
    /* as a user, even when the test runs as root: no tmpfs is mounted */
    s->root = 0;
    assert_int_equal(secrets_open(s, &e), 0);
    return s;
}

static void close_super(struct super *s)
{
    sqlite3_close(s->db);
    free(s);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(sodium_init() >= 0, 1);
    snprintf(f->dir, sizeof(f->dir), "/tmp/troupe-secrets-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->s = open_super(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    rmdir(f->s->secrets_root);
    close_super(f->s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void spec_with(struct sup_spec *sp, const char *name)
{
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->secrets[0], sizeof(sp->secrets[0]), "%s", name);
    sp->n_secrets = 1;
}

static void read_file(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "r");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

static void test_instance_gets_value_as_read_only_file(void **state)
{
    struct fixture *f = *state;
    struct sup_spec sp;
    struct stat st;
    struct err e;
    char dir[2200], path[2300], got[64];

    assert_int_equal(super_secret_put(f->s, "db-password", "hunter2", 7, &e), 0);
    spec_with(&sp, "db-password");
    snprintf(dir, sizeof(dir), "%s/inst", f->s->secrets_root);
    assert_int_equal(secrets_materialize(f->s, &sp, dir, getuid(), getgid(), &e), 0);

    snprintf(path, sizeof(path), "%s/db-password", dir);
    read_file(path, got, sizeof(got));
    assert_string_equal(got, "hunter2");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0400);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0500);

    secrets_clear(dir);
    assert_int_equal(stat(dir, &st), -1);
}

static void test_list_names_sizes_never_values(void **state)
{
    struct fixture *f = *state;
    json_t *list;
    char *text;
    struct err e;

    assert_int_equal(super_secret_put(f->s, "api-key", "s3cr3t-value", 12, &e), 0);
    list = super_secret_list(f->s, &e);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "api-key");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "bytes")), 12);
    text = json_dumps(list, 0);
    assert_null(strstr(text, "s3cr3t"));
    free(text);
    json_decref(list);
}

static void test_value_is_sealed_in_the_database(void **state)
{
    struct fixture *f = *state;
    sqlite3_stmt *q;
    struct err e;

    assert_int_equal(super_secret_put(f->s, "token", "plain-text-here", 15, &e), 0);
    assert_int_equal(sqlite3_prepare_v2(f->s->db,
                                        "SELECT box FROM sup_secrets WHERE name = 'token'", -1, &q,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_null(
        memmem(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0), "plain-text", 10));
    sqlite3_finalize(q);
    assert_int_equal(secrets_exists(f->s, "token"), 1);
    assert_int_equal(secrets_exists(f->s, "other"), 0);
}

static void test_bad_name_and_size_refused_naming_them(void **state)
{
    struct fixture *f = *state;
    static char big[SUPER_SECRET_MAX + 1];
    struct err e;

    assert_int_equal(super_secret_put(f->s, "../etc", "x", 1, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"../etc\""));
    assert_int_equal(super_secret_put(f->s, "big", big, sizeof(big), &e), -EMSGSIZE);
    assert_non_null(strstr(e.msg, "big"));
    assert_int_equal(secrets_exists(f->s, "big"), 0);
}

static void test_remove_then_missing(void **state)
{
    struct fixture *f = *state;
    struct sup_spec sp;
    struct err e;
    char dir[2200];

    assert_int_equal(super_secret_put(f->s, "gone", "v", 1, &e), 0);
    assert_int_equal(super_secret_rm(f->s, "gone", &e), 0);
    assert_int_equal(super_secret_rm(f->s, "gone", &e), -ENOENT);
    assert_non_null(strstr(e.msg, "\"gone\""));
    spec_with(&sp, "gone");
    snprintf(dir, sizeof(dir), "%s/inst2", f->s->secrets_root);
    assert_int_equal(secrets_materialize(f->s, &sp, dir, getuid(), getgid(), &e), -ENOENT);
    secrets_clear(dir);
}

static void test_reopen_keeps_key_other_key_refused(void **state)
{
    struct fixture *f = *state;
    struct sup_spec sp;
    struct err e;
    char dir[2200], path[2300], got[16];

    assert_int_equal(super_secret_put(f->s, "kept", "abc", 3, &e), 0);
    close_super(f->s);
    f->s = open_super(f->dir); /* the same secret.key is read back */
    spec_with(&sp, "kept");
    snprintf(dir, sizeof(dir), "%s/inst3", f->s->secrets_root);
    assert_int_equal(secrets_materialize(f->s, &sp, dir, getuid(), getgid(), &e), 0);
    snprintf(path, sizeof(path), "%s/kept", dir);
    read_file(path, got, sizeof(got));
    assert_string_equal(got, "abc");
    secrets_clear(dir);

    f->s->key[0] ^= 1; /* another agent's key */
    assert_int_equal(secrets_materialize(f->s, &sp, dir, getuid(), getgid(), &e), -EBADMSG);
    assert_non_null(strstr(e.msg, "secret.key"));
    secrets_clear(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instance_gets_value_as_read_only_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_names_sizes_never_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_is_sealed_in_the_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_name_and_size_refused_naming_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remove_then_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_key_other_key_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
