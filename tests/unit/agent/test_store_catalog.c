/* Tests of agent/store_catalog: replicated records survive a reopen, a
 * reaped origin's rows go, collected tombstones are pruned, registrations
 * round-trip, and the history answers since/kind/limit and newest-first
 * windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/store/store_catalog.h"
#include "tests/unit/tmpdir.h"

static struct crdt_rec rec(const char *origin, uint8_t kind, const char *key, uint64_t version,
                           int deleted, const char *val)
{
    struct crdt_rec r = {.origin = origin,
                         .kind = kind,
                         .key = key,
                         .version = version,
                         .hlc = version << 16,
                         .deleted = (uint8_t)deleted,
                         .val = (const uint8_t *)val,
                         .len = (uint32_t)strlen(val)};
    return r;
}

struct seen {
    int n;
    char line[8][96];
};

static int collect_rec(void *ud, const struct crdt_rec *r)
{
    struct seen *s = ud;
    if (s->n < 8)
        snprintf(s->line[s->n++], 96, "%s/%d/%s/%llu/%d/%.*s", r->origin, r->kind, r->key,
                 (unsigned long long)r->version, r->deleted, (int)r->len, (const char *)r->val);
    return 0;
}

static void test_records_survive_reopen_and_upsert(void **state)
{
    struct store *st;
    struct err e;
    struct crdt_rec a = rec("n1", CRDT_KV, "k", 1, 0, "one");
    struct crdt_rec b = rec("n1", CRDT_KV, "k", 2, 0, "two");
    struct crdt_rec c = rec("n2", CRDT_INSTANCE, "web-1", 5, 0, "\x01\x02");
    struct seen s = {0};

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(store_record_put(st, &a, &e), 0);
    assert_int_equal(store_record_put(st, &b, &e), 0);
    assert_int_equal(store_record_put(st, &c, &e), 0);
    assert_int_equal(store_commit(st, &e), 0);
    store_close(st);

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_records_load(st, collect_rec, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.line[0], "n1/3/k/2/0/two");
    assert_int_equal(strncmp(s.line[1], "n2/1/web-1/5/0/", 15), 0);
    store_close(st);
}

static void test_drop_origin_removes_only_its_rows(void **state)
{
    struct store *st;
    struct err e;
    struct crdt_rec a = rec("n1", CRDT_KV, "k", 1, 0, "x");
    struct crdt_rec b = rec("n2", CRDT_KV, "k", 1, 0, "y");
    struct seen s = {0};

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(store_record_put(st, &a, &e), 0);
    assert_int_equal(store_record_put(st, &b, &e), 0);
    assert_int_equal(store_records_drop_origin(st, "n1", &e), 0);
    assert_int_equal(store_commit(st, &e), 0);
    assert_int_equal(store_records_load(st, collect_rec, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.line[0], "n2/3/k/1/0/y");
    store_close(st);
}

static int held_only_keep(void *ud, const char *origin, uint8_t kind, const char *key)
{
    (void)ud;
    (void)origin;
    (void)kind;
    return strcmp(key, "keep") == 0;
}

static void test_prune_removes_collected_tombstones_only(void **state)
{
    struct store *st;
    struct err e;
    struct crdt_rec gone = rec("n1", CRDT_KV, "gone", 1, 1, "");
    struct crdt_rec keep = rec("n1", CRDT_KV, "keep", 2, 1, "");
    struct crdt_rec live = rec("n1", CRDT_KV, "live", 3, 0, "v");
    struct seen s = {0};

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(store_record_put(st, &gone, &e), 0);
    assert_int_equal(store_record_put(st, &keep, &e), 0);
    assert_int_equal(store_record_put(st, &live, &e), 0);
    assert_int_equal(store_tombstones_prune(st, held_only_keep, NULL, &e), 0);
    assert_int_equal(store_commit(st, &e), 0);
    assert_int_equal(store_records_load(st, collect_rec, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.line[0], "n1/3/keep/2/1/");
    assert_string_equal(s.line[1], "n1/3/live/3/0/v");
    store_close(st);
}

struct svcs {
    int n;
    char id[4][32];
    int source[4];
};

static void collect_svc(void *ud, const char *id, int source, const char *def)
{
    struct svcs *s = ud;
    (void)def;
    snprintf(s->id[s->n], 32, "%s", id);
    s->source[s->n++] = source;
}

static void test_registrations_round_trip(void **state)
{
    struct store *st;
    struct err e;
    struct svcs s = {0};

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_service_save(st, "b", 1, "{\"name\": \"b\"}", &e), 0);
    assert_int_equal(store_service_save(st, "a", 3, "{\"name\": \"a\"}", &e), 0);
    assert_int_equal(store_service_save(st, "b", 1, "{\"name\": \"b\", \"port\": 1}", &e), 0);
    assert_int_equal(store_service_forget(st, "nope", &e), 0);
    store_close(st);
    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_services_load(st, collect_svc, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.id[0], "a");
    assert_int_equal(s.source[0], 3);
    assert_int_equal(store_service_forget(st, "a", &e), 0);
    s.n = 0;
    assert_int_equal(store_services_load(st, collect_svc, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "b");
    store_close(st);
}

struct evs {
    int n;
    int64_t seq[16];
    char subject[16][16];
};

static void collect_ev(void *ud, const struct store_event *ev)
{
    struct evs *s = ud;
    if (s->n < 16) {
        s->seq[s->n] = ev->seq;
        snprintf(s->subject[s->n++], 16, "%s", ev->subject);
    }
}

static void test_history_since_kind_and_newest(void **state)
{
    struct store *st;
    struct err e;
    struct evs s = {0};
    char subj[8];

    assert_int_equal(store_open(&st, *state, &e), 0);
    assert_int_equal(store_begin(st, &e), 0);
    for (int i = 1; i <= 6; i++) {
        snprintf(subj, sizeof(subj), "s%d", i);
        assert_int_equal(store_event_add(st, i, i % 2 ? "member" : "user", subj, "d", &e), 0);
    }
    assert_int_equal(store_commit(st, &e), 0);
    assert_int_equal(store_events_last(st), 6);

    assert_int_equal(store_events_query(st, 2, NULL, 2, collect_ev, &s, &e), 0);
    assert_int_equal(s.n, 2); /* after seq 2, oldest first */
    assert_string_equal(s.subject[0], "s3");
    assert_string_equal(s.subject[1], "s4");

    s.n = 0;
    assert_int_equal(store_events_query(st, -1, "user", 2, collect_ev, &s, &e), 0);
    assert_int_equal(s.n, 2); /* the newest two user events, oldest first */
    assert_string_equal(s.subject[0], "s4");
    assert_string_equal(s.subject[1], "s6");

    assert_int_equal(store_events_trim(st, 3, &e), 0);
    s.n = 0;
    assert_int_equal(store_events_query(st, 0, NULL, 100, collect_ev, &s, &e), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seq[0], 4);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_survive_reopen_and_upsert, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_drop_origin_removes_only_its_rows, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_prune_removes_collected_tombstones_only, tmpdir_make,
                                        tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_registrations_round_trip, tmpdir_make, tmpdir_remove),
        cmocka_unit_test_setup_teardown(test_history_since_kind_and_newest, tmpdir_make,
                                        tmpdir_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
