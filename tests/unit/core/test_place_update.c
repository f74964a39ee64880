/* Tests of core/place_update: the rolling update rule. At most
 * max_parallel slots are down or settling at once; the free places go to
 * the lowest slots first, so agents that see the same catalog agree; a
 * slot that is down anyway takes the new version at once; a version that
 * does not settle everywhere within its deadline has failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/place_update.h"

#define OLD 11
#define NEW 22

static struct place_update cfg(uint32_t max_parallel)
{
    struct place_update u = {.max_parallel = max_parallel,
                             .min_healthy_ms = 1000,
                             .healthy_deadline_ms = 10000,
                             .auto_revert = 1};
    return u;
}

static void all(struct pu_slot *s, uint32_t n, uint64_t ver)
{
    for (uint32_t k = 0; k < n; k++)
        s[k] = (struct pu_slot){.ver = ver, .passing = 1, .passing_ms = 0};
}

static void test_all_old_passing_gives_first_max_parallel_slots(void **st)
{
    struct place_update u = cfg(2);
    struct pu_slot s[6];
    struct pu_plan p;

    (void)st;
    all(s, 6, OLD);
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.may_update, 0x3);
    assert_int_equal(p.busy, 0);
    assert_int_equal(p.old, 6);
}

static void test_settling_new_slots_use_the_budget(void **st)
{
    struct place_update u = cfg(2);
    struct pu_slot s[6];
    struct pu_plan p;

    (void)st;
    all(s, 6, OLD);
    s[0] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = 4500}; /* settling */
    s[1] = (struct pu_slot){.ver = 0};                                     /* restarting */
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.busy, 2);
    assert_int_equal(p.may_update, 0x3); /* only the busy ones */
}

static void test_settled_slot_frees_its_place_for_the_next_in_order(void **st)
{
    struct place_update u = cfg(2);
    struct pu_slot s[6];
    struct pu_plan p;

    (void)st;
    all(s, 6, OLD);
    s[0] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = 1000}; /* settled */
    s[1] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = 4800}; /* settling */
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.settled, 1);
    assert_int_equal(p.busy, 1);
    assert_int_equal(p.may_update, 0x7); /* 0, 1, and slot 2 next */
}

static void test_down_old_slot_takes_new_version_without_budget(void **st)
{
    struct place_update u = cfg(1);
    struct pu_slot s[4];
    struct pu_plan p;

    (void)st;
    all(s, 4, OLD);
    s[3] = (struct pu_slot){.ver = OLD, .passing = 0};
    s[2] = (struct pu_slot){.ver = 0};
    pu_plan(&u, NEW, s, 4, 5000, &p);
    assert_int_equal(p.busy, 2);
    assert_int_equal(p.may_update, 0xc); /* no budget for 0 and 1 */
}

static void test_never_more_than_max_parallel_down_over_a_rollout(void **st)
{
    /* Every agent runs the rule on the same catalog; a slot it may update
     * goes down for 300 ms, then passes on NEW. At no step are more than
     * max_parallel slots busy, and the rollout ends with all settled. */
    struct place_update u = cfg(2);
    struct pu_slot s[6];
    uint64_t down_until[6] = {0};
    struct pu_plan p;
    uint64_t now;

    (void)st;
    all(s, 6, OLD);
    for (now = 0; now < 60000; now += 100) {
        uint32_t busy = 0;
        for (uint32_t k = 0; k < 6; k++) {
            if (s[k].ver == 0 && now >= down_until[k])
                s[k] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = now};
        }
        pu_plan(&u, NEW, s, 6, now, &p);
        for (uint32_t k = 0; k < 6; k++) {
            if ((p.may_update >> k & 1) && s[k].ver == OLD) {
                s[k] = (struct pu_slot){.ver = 0};
                down_until[k] = now + 300;
            }
            busy += pu_slot_state(&s[k], NEW, u.min_healthy_ms, now) == PU_BUSY;
        }
        assert_true(busy <= 2);
        if (p.settled == 6)
            break;
    }
    assert_int_equal(p.settled, 6);
    assert_true(now >= 3 * 1300); /* three waves of two */
}

static void test_same_catalog_same_answer_on_every_agent(void **st)
{
    struct place_update u = cfg(3);
    struct pu_slot s[10];
    struct pu_plan a, b;

    (void)st;
    all(s, 10, OLD);
    s[4] = (struct pu_slot){.ver = NEW, .passing = 0};
    pu_plan(&u, NEW, s, 10, 777, &a);
    pu_plan(&u, NEW, s, 10, 777, &b);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(a.may_update, 0x13); /* 0, 1 and the busy 4 */
}

static void test_failed_after_deadline_unless_all_settled(void **st)
{
    struct place_update u = cfg(2);
    struct pu_plan p = {.settled = 5};

    (void)st;
    assert_false(pu_failed(&u, &p, 6, 1000, 10999));
    assert_true(pu_failed(&u, &p, 6, 1000, 11000));
    p.settled = 6;
    assert_false(pu_failed(&u, &p, 6, 1000, 99999));
}

static void test_canary_stops_after_n_slots_on_the_new_version(void **st)
{
    struct place_update u = cfg(2);
    struct pu_slot s[6];
    struct pu_plan p;

    (void)st;
    u.canary = 1;
    all(s, 6, OLD);
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.may_update, 0x1);
    s[0] = (struct pu_slot){.ver = 0}; /* being replaced: out of the catalog */
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.may_update, 0x1); /* not slot 1 in its place */
    s[0] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = 0}; /* settled */
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.may_update, 0x1); /* waits for troupe promote */
    assert_false(pu_failed(&u, &p, 6, 0, 99999));
    u.canary = 0; /* promoted: the same version, the rest rolls */
    pu_plan(&u, NEW, s, 6, 5000, &p);
    assert_int_equal(p.may_update, 0x7);
}

static void test_canary_beside_keeps_old_slots_and_runs_extras_new(void **st)
{
    struct place_update u = cfg(2);
    struct pu_slot s[8];
    struct pu_plan p;

    (void)st;
    u.canary = 2;
    all(s, 6, OLD);
    s[6] = s[7] = (struct pu_slot){.ver = 0}; /* the extras: not started yet */
    pu_plan_canary(&u, NEW, s, 6, 2, 5000, &p);
    assert_int_equal(p.may_update, 0xc0); /* only the extras, every old slot stays */
    assert_int_equal(p.old, 6);
    assert_int_equal(p.busy, 2);
    s[6] = s[7] = (struct pu_slot){.ver = NEW, .passing = 1, .passing_ms = 0};
    pu_plan_canary(&u, NEW, s, 6, 2, 5000, &p);
    assert_int_equal(p.may_update, 0xc0); /* settled: still nothing old replaced */
    assert_int_equal(p.settled, 2);
    u.canary = 2;
    assert_false(pu_failed(&u, &p, 8, 0, 99999)); /* its 2 extras settled */
    s[2] = (struct pu_slot){.ver = 0};            /* an old slot went down: it takes the new one */
    pu_plan_canary(&u, NEW, s, 6, 2, 5000, &p);
    assert_int_equal(p.may_update, 0xc4);
}

static void test_canary_beside_fails_when_extras_do_not_settle(void **st)
{
    struct place_update u = cfg(1);
    struct pu_slot s[7];
    struct pu_plan p;

    (void)st;
    all(s, 6, OLD);
    s[6] = (struct pu_slot){.ver = NEW, .passing = 0};
    pu_plan_canary(&u, NEW, s, 6, 1, 5000, &p);
    u.canary = 1;
    assert_false(pu_failed(&u, &p, 7, 1000, 10999));
    assert_true(pu_failed(&u, &p, 7, 1000, 11000));
}

static void test_version_is_stable_and_never_zero(void **st)
{
    (void)st;
    assert_true(pu_version("{\"a\":1}") == pu_version("{\"a\":1}"));
    assert_true(pu_version("{\"a\":1}") != pu_version("{\"a\":2}"));
    assert_true(pu_version("") != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_old_passing_gives_first_max_parallel_slots),
        cmocka_unit_test(test_settling_new_slots_use_the_budget),
        cmocka_unit_test(test_settled_slot_frees_its_place_for_the_next_in_order),
        cmocka_unit_test(test_down_old_slot_takes_new_version_without_budget),
        cmocka_unit_test(test_never_more_than_max_parallel_down_over_a_rollout),
        cmocka_unit_test(test_same_catalog_same_answer_on_every_agent),
        cmocka_unit_test(test_failed_after_deadline_unless_all_settled),
        cmocka_unit_test(test_canary_stops_after_n_slots_on_the_new_version),
        cmocka_unit_test(test_canary_beside_keeps_old_slots_and_runs_extras_new),
        cmocka_unit_test(test_canary_beside_fails_when_extras_do_not_settle),
        cmocka_unit_test(test_version_is_stable_and_never_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
