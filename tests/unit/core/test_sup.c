/* Tests of core/sup: the supervision state machine, driven by hand with
 * explicit time: restart policies, backoff growth and reset, the start
 * limit, stop grace and SIGKILL, liveness restarts, adoption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/sup.h"

static struct sup s;
static struct sup_cfg c;
static struct sup_out o;

static int setup(void **state)
{
    sup_cfg_default(&c);
    sup_init(&s);
    return 0;
}

static void ev(uint64_t now, enum sup_event e)
{
    sup_event(&s, &c, now, e, NULL, &o);
}

static void crash(uint64_t now, int code)
{
    struct sup_exit x = {.code = code, .signal = 0};
    sup_event(&s, &c, now, SUP_EV_EXIT, &x, &o);
}

static void test_start_spawns_and_runs(void **state)
{
    ev(1000, SUP_EV_START);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_true(o.notes & SUP_NOTE_STARTED);
    assert_int_equal(s.state, SUP_RUNNING);
    assert_int_equal(s.restarts, 0);
    assert_int_equal(sup_deadline(&s), SUP_NEVER);
}

static void test_quick_crashes_back_off_doubling(void **state)
{
    uint64_t t = 1000, want = 100;

    c.start_burst = 0; /* no start limit here */
    ev(t, SUP_EV_START);
    for (int i = 0; i < 12; i++) {
        crash(t + 10, 1);
        assert_int_equal(o.act, SUP_ACT_NONE);
        assert_true(o.notes & SUP_NOTE_EXITED);
        assert_true(o.notes & SUP_NOTE_RESTART);
        assert_int_equal(o.delay_ms, want);
        assert_int_equal(s.state, SUP_BACKOFF);
        assert_int_equal(sup_deadline(&s), t + 10 + want);
        /* early timer: nothing */
        ev(t + 10 + want - 1, SUP_EV_TIMER);
        assert_int_equal(o.act, SUP_ACT_NONE);
        t = t + 10 + want;
        ev(t, SUP_EV_TIMER);
        assert_int_equal(o.act, SUP_ACT_SPAWN);
        assert_int_equal(s.restarts, (uint32_t)i + 1);
        want = want * 2 > 300000 ? 300000 : want * 2;
    }
    assert_int_equal(sup_backoff_ms(&s, &c), 300000);
}

static void test_long_run_restarts_at_once(void **state)
{
    ev(0, SUP_EV_START);
    crash(2500, 1);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_true(o.notes & SUP_NOTE_RESTART);
    assert_int_equal(o.delay_ms, 0);
    assert_int_equal(o.ran_ms, 2500);
    assert_int_equal(s.state, SUP_RUNNING);
    assert_int_equal(s.started_ms, 2500);
}

static void test_ten_minutes_healthy_resets_backoff(void **state)
{
    c.start_burst = 0;
    ev(0, SUP_EV_START);
    crash(10, 1);
    ev(110, SUP_EV_TIMER);
    crash(120, 1);
    assert_int_equal(o.delay_ms, 200);
    ev(320, SUP_EV_TIMER);
    crash(320 + 600000, 1); /* ran 10 min: restarted at once, level forgotten */
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    crash(320 + 600000 + 5, 1);
    assert_int_equal(o.delay_ms, 100);
}

static void test_start_limit_fails_crash_loop(void **state)
{
    uint64_t t = 0;
    int spawns = 1;

    ev(t, SUP_EV_START);
    for (int i = 0; i < 10 && s.state != SUP_FAILED; i++) {
        crash(t + 5, 1);
        if (s.state == SUP_FAILED)
            break;
        t = sup_deadline(&s);
        ev(t, SUP_EV_TIMER);
        if (o.act == SUP_ACT_SPAWN)
            spawns++;
    }
    assert_int_equal(s.state, SUP_FAILED);
    assert_true(o.notes & SUP_NOTE_GAVE_UP);
    assert_int_equal(spawns, 5);
    assert_int_equal(sup_deadline(&s), SUP_NEVER);
    /* failed stays failed: timers and exits do nothing */
    ev(t + 100000, SUP_EV_TIMER);
    assert_int_equal(o.act, SUP_ACT_NONE);
    /* troupe restart brings it back, with a fresh window */
    ev(t + 200000, SUP_EV_RESTART);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_int_equal(s.state, SUP_RUNNING);
    crash(t + 200005, 1);
    assert_int_equal(s.state, SUP_BACKOFF);
    assert_int_equal(o.delay_ms, 100);
}

static void test_start_limit_spares_spaced_crashes(void **state)
{
    uint64_t t = 0;

    ev(t, SUP_EV_START);
    for (int i = 0; i < 50; i++) {
        t += 2100;
        crash(t, 139);
        assert_int_equal(o.act, SUP_ACT_SPAWN);
    }
    assert_int_equal(s.restarts, 50);
}

static void test_policy_never_and_on_failure(void **state)
{
    c.restart = SUP_RESTART_NEVER;
    ev(0, SUP_EV_START);
    crash(5000, 1);
    assert_int_equal(s.state, SUP_EXITED);
    assert_int_equal(o.act, SUP_ACT_NONE);

    c.restart = SUP_RESTART_ON_FAILURE;
    ev(6000, SUP_EV_START);
    crash(9000, 0);
    assert_int_equal(s.state, SUP_EXITED);
    ev(10000, SUP_EV_START);
    struct sup_exit x = {.code = -1, .signal = 11};
    sup_event(&s, &c, 13000, SUP_EV_EXIT, &x, &o);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_int_equal(s.last.signal, 11);
}

static void test_stop_signals_then_kills_after_grace(void **state)
{
    ev(0, SUP_EV_START);
    ev(5000, SUP_EV_STOP);
    assert_int_equal(o.act, SUP_ACT_SIGNAL);
    assert_int_equal(s.state, SUP_STOPPING);
    assert_int_equal(sup_deadline(&s), 15000);
    ev(14999, SUP_EV_TIMER);
    assert_int_equal(o.act, SUP_ACT_NONE);
    ev(15000, SUP_EV_TIMER);
    assert_int_equal(o.act, SUP_ACT_KILL);
    assert_true(o.notes & SUP_NOTE_KILLED);
    struct sup_exit x = {.code = -1, .signal = 9};
    sup_event(&s, &c, 15001, SUP_EV_EXIT, &x, &o);
    assert_int_equal(s.state, SUP_DOWN);
    assert_true(o.notes & SUP_NOTE_STOPPED);
    assert_int_equal(o.act, SUP_ACT_NONE);
}

static void test_stop_during_backoff_cancels_restart(void **state)
{
    ev(0, SUP_EV_START);
    crash(5, 1);
    ev(50, SUP_EV_STOP);
    assert_int_equal(s.state, SUP_DOWN);
    assert_int_equal(sup_deadline(&s), SUP_NEVER);
    ev(1000, SUP_EV_TIMER);
    assert_int_equal(o.act, SUP_ACT_NONE);
}

static void test_restart_stops_then_starts(void **state)
{
    ev(0, SUP_EV_START);
    ev(3000, SUP_EV_RESTART);
    assert_int_equal(o.act, SUP_ACT_SIGNAL);
    crash(3100, 0);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_true(o.notes & SUP_NOTE_RESTART);
    assert_int_equal(s.restarts, 1);
}

static void test_unhealthy_restarts_instance(void **state)
{
    ev(0, SUP_EV_START);
    ev(20000, SUP_EV_UNHEALTHY);
    assert_int_equal(o.act, SUP_ACT_SIGNAL);
    assert_true(o.notes & SUP_NOTE_UNHEALTHY);
    struct sup_exit x = {.code = -1, .signal = 15};
    sup_event(&s, &c, 20050, SUP_EV_EXIT, &x, &o);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_int_equal(s.state, SUP_RUNNING);
    /* unhealthy again: one stop signal, and nothing more while stopping */
    ev(20060, SUP_EV_UNHEALTHY);
    assert_int_equal(o.act, SUP_ACT_SIGNAL);
    ev(20070, SUP_EV_UNHEALTHY);
    assert_int_equal(o.act, SUP_ACT_NONE);
}

static void test_adopted_instance_is_watched(void **state)
{
    sup_adopt(&s, 1000, 3, 2);
    assert_int_equal(s.state, SUP_RUNNING);
    struct sup_exit x = {.code = -1, .signal = 0};
    sup_event(&s, &c, 1200, SUP_EV_EXIT, &x, &o);
    assert_int_equal(s.state, SUP_BACKOFF);
    assert_int_equal(o.delay_ms, 400);
    assert_int_equal(s.restarts, 3);
}

static void test_held_start_waits_fetching_then_spawns(void **state)
{
    sup_hold(&s, 1);
    ev(1000, SUP_EV_START);
    assert_int_equal(o.act, SUP_ACT_NONE);
    assert_int_equal(s.state, SUP_FETCHING);
    assert_int_equal(s.n_starts, 0);
    assert_int_equal(sup_deadline(&s), SUP_NEVER);
    /* exits and timers mean nothing while it waits */
    crash(1100, 1);
    ev(1200, SUP_EV_TIMER);
    assert_int_equal(s.state, SUP_FETCHING);
    sup_hold(&s, 0);
    ev(1300, SUP_EV_START);
    assert_int_equal(o.act, SUP_ACT_SPAWN);
    assert_int_equal(s.state, SUP_RUNNING);
    assert_int_equal(s.restarts, 0);
    assert_int_equal(s.n_starts, 1);
}

static void test_held_crash_waits_instead_of_restarting(void **state)
{
    ev(1000, SUP_EV_START);
    sup_hold(&s, 1);
    crash(5000, 1); /* a long run: restarted at once, were it not held */
    assert_true(o.notes & SUP_NOTE_EXITED);
    assert_int_equal(o.act, SUP_ACT_NONE);
    assert_int_equal(s.state, SUP_FETCHING);
    assert_int_equal(s.n_starts, 1);
}

static void test_refused_while_fetching_fails(void **state)
{
    sup_hold(&s, 1);
    ev(1000, SUP_EV_START);
    ev(1100, SUP_EV_REFUSED);
    assert_int_equal(s.state, SUP_FAILED);
    assert_int_equal(o.act, SUP_ACT_NONE);
    /* a refusal does not touch a running instance (the version before) */
    sup_init(&s);
    ev(2000, SUP_EV_START);
    ev(2100, SUP_EV_REFUSED);
    assert_int_equal(s.state, SUP_RUNNING);
    /* stop while fetching: down */
    sup_init(&s);
    sup_hold(&s, 1);
    ev(3000, SUP_EV_START);
    ev(3100, SUP_EV_STOP);
    assert_int_equal(s.state, SUP_DOWN);
    assert_true(o.notes & SUP_NOTE_STOPPED);
}

static void test_names(void **state)
{
    char buf[64];
    struct sup_exit x = {.code = 3, .signal = 0};
    assert_string_equal(sup_state_name(SUP_FAILED), "failed");
    assert_string_equal(sup_state_name(SUP_FETCHING), "fetching");
    assert_string_equal(sup_event_name(SUP_EV_REFUSED), "refused");
    assert_string_equal(sup_exit_str(&x, buf, sizeof(buf)), "exit 3");
    x.signal = 9;
    assert_string_equal(sup_exit_str(&x, buf, sizeof(buf)), "signal 9 (SIGKILL)");
    assert_int_equal(sup_signal_parse("SIGTERM"), 15);
    assert_int_equal(sup_signal_parse("HUP"), 1);
    assert_int_equal(sup_signal_parse("2"), 2);
    assert_int_equal(sup_signal_parse("SIGNOPE"), -1);
    assert_int_equal(sup_signal_parse("99"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_start_spawns_and_runs, setup),
        cmocka_unit_test_setup(test_quick_crashes_back_off_doubling, setup),
        cmocka_unit_test_setup(test_long_run_restarts_at_once, setup),
        cmocka_unit_test_setup(test_ten_minutes_healthy_resets_backoff, setup),
        cmocka_unit_test_setup(test_start_limit_fails_crash_loop, setup),
        cmocka_unit_test_setup(test_start_limit_spares_spaced_crashes, setup),
        cmocka_unit_test_setup(test_policy_never_and_on_failure, setup),
        cmocka_unit_test_setup(test_stop_signals_then_kills_after_grace, setup),
        cmocka_unit_test_setup(test_stop_during_backoff_cancels_restart, setup),
        cmocka_unit_test_setup(test_restart_stops_then_starts, setup),
        cmocka_unit_test_setup(test_unhealthy_restarts_instance, setup),
        cmocka_unit_test_setup(test_adopted_instance_is_watched, setup),
        cmocka_unit_test_setup(test_held_start_waits_fetching_then_spawns, setup),
        cmocka_unit_test_setup(test_held_crash_waits_instead_of_restarting, setup),
        cmocka_unit_test_setup(test_refused_while_fetching_fails, setup),
        cmocka_unit_test_setup(test_names, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
