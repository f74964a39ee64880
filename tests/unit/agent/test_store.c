/* Tests of agent/store: known peers survive a reopen, the data dir lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/store/store.h"
#include "tests/unit/tmpdir.h"

static void addr(struct node_addr *a, const char *s)
{
    assert_int_equal(node_addr_parse(a, s, 0, NULL), 0);
}

static void test_peers_survive_reopen_newest_first(void **state)
{
    struct store *st;
    struct err e;
    struct store_peer p[2] = {{.name = "a"}, {.name = "b"}};
    struct node_addr out[4];
    size_t n;
    char buf[64];

    addr(&p[0].addr, "10.0.0.1:7420");
    addr(&p[1].addr, "10.0.0.2:7420");
    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_peers_seen(st, &p[0], 1, 100, &e), 0);
    assert_int_equal(store_peers_seen(st, &p[1], 1, 200, &e), 0);
    store_close(st);

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_peers_load(st, out, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(node_addr_str(&out[0], buf, sizeof(buf)), "10.0.0.2:7420");
    assert_string_equal(node_addr_str(&out[1], buf, sizeof(buf)), "10.0.0.1:7420");
    store_close(st);
}

static void test_peer_seen_again_updates_address(void **state)
{
    struct store *st;
    struct err e;
    struct store_peer p = {.name = "a"};
    struct node_addr out[4];
    size_t n;
    char buf[64];

    assert_int_equal(store_open(&st, *state, &e), 0);
    addr(&p.addr, "10.0.0.1:7420");
    assert_int_equal(store_peers_seen(st, &p, 1, 1, &e), 0);
    addr(&p.addr, "10.0.0.9:7421");
    assert_int_equal(store_peers_seen(st, &p, 1, 2, &e), 0);
    assert_int_equal(store_peers_load(st, out, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(node_addr_str(&out[0], buf, sizeof(buf)), "10.0.0.9:7421");
    store_close(st);
}

static void test_forgotten_peer_is_not_loaded(void **state)
{
    struct store *st;
    struct err e;
    struct store_peer p = {.name = "a"};
    struct node_addr out[4];
    size_t n = 9;

    assert_int_equal(store_open(&st, *state, &e), 0);
    addr(&p.addr, "10.0.0.1:7420");
    assert_int_equal(store_peers_seen(st, &p, 1, 1, &e), 0);
    assert_int_equal(store_peer_forget(st, "a", &e), 0);
    assert_int_equal(store_peers_load(st, out, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    store_close(st);
}

static void test_second_open_of_same_dir_is_refused(void **state)
{
    struct store *a, *b;
    struct err e;

    assert_int_equal(store_open(&a, *state, &e), 0);
    assert_int_equal(store_open(&b, *state, &e), -EBUSY);
    assert_non_null(strstr(e.msg, "in use"));
    assert_null(b);
    store_close(a);
}

static void test_load_is_capped(void **state)
{
    struct store *st;
    struct err e;
    struct store_peer p[3] = {{.name = "a"}, {.name = "b"}, {.name = "c"}};
    struct node_addr out[2];
    size_t n;

    for (int i = 0; i < 3; i++)
        addr(&p[i].addr, "10.0.0.1:7420");
    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_peers_seen(st, p, 3, 5, &e), 0);
    assert_int_equal(store_peers_load(st, out, 2, &n, &e), 0);
    assert_int_equal(n, 2);
    store_close(st);
}

static void test_unwritable_dir_names_the_dir(void **state)
{
    struct store *st;
    struct err e;

    assert_true(store_open(&st, "/proc/troupe-nope", &e) < 0);
    assert_non_null(strstr(e.msg, "/proc/troupe-nope"));
}

static void test_trust_versions_survive_reopen_per_pin(void **state)
{
    struct store *st;
    struct err e;
    struct trust_saved in = {.st = {1, 7, 6, 5}}, out;

    in.root = strdup("{\"root\": 2}");
    in.root_len = strlen(in.root);
    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_trust_load(st, "aaaa", &out, &e), 0);
    assert_int_equal(out.st.timestamp, 0); /* nothing accepted yet */
    assert_null(out.root);
    assert_int_equal(store_trust_save(st, "aaaa", &in, &e), 0);
    in.st.timestamp = 8;
    assert_int_equal(store_trust_save(st, "aaaa", &in, &e), 0);
    store_close(st);

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_trust_load(st, "aaaa", &out, &e), 0);
    assert_int_equal(out.st.timestamp, 8);
    assert_int_equal(out.st.snapshot, 6);
    assert_int_equal(out.st.targets, 5);
    assert_string_equal(out.root, "{\"root\": 2}");
    trust_saved_release(&out);
    assert_int_equal(store_trust_load(st, "bbbb", &out, &e), 0);
    assert_int_equal(out.st.targets, 0); /* another pinned root starts afresh */
    store_close(st);
    trust_saved_release(&in);
}

static void test_incarnation_survives_reopen_and_never_goes_down(void **state)
{
    struct store *st;
    struct err e;
    uint32_t inc;

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_incarnation_load(st, "h1", &inc, &e), 0);
    assert_int_equal(inc, 0);
    assert_int_equal(store_incarnation_save(st, "h1", 7, &e), 0);
    assert_int_equal(store_incarnation_save(st, "h1", 3, &e), 0); /* lower: kept at 7 */
    store_close(st);

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_incarnation_load(st, "h1", &inc, &e), 0);
    assert_int_equal(inc, 7);
    assert_int_equal(store_incarnation_load(st, "h2", &inc, &e), 0);
    assert_int_equal(inc, 0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peers_survive_reopen_newest_first, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_peer_seen_again_updates_address, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_forgotten_peer_is_not_loaded, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_second_open_of_same_dir_is_refused, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_load_is_capped, tmpdir_make, tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_trust_versions_survive_reopen_per_pin, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_unwritable_dir_names_the_dir, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_incarnation_survives_reopen_and_never_goes_down,
                                        tmpdir_make, tmpdir_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
