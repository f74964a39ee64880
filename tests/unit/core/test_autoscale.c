/* Tests of core/autoscale: desired = ceil(load / (target x utilization))
 * over a stable and a panic window, scale-down delayed and rate-limited,
 * min and max held; the load record's form. The trace tests feed a load
 * every 2 s as the agent does: a step is met within the panic window, and
 * a steady noisy load does not make the count flap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/autoscale.h"
#include "core/crdt.h"
#include "core/crdt_codec.h"

#define TICK_MS 2000

static struct as_cfg cfg(uint32_t min, uint32_t max)
{
    struct as_cfg c;

    as_cfg_default(&c);
    c.min = min;
    c.max = max;
    return c;
}

/* Feeds load from t for ms, one sample per tick; returns the count
 * changes and leaves *t at the end. */
static int run(struct as_state *s, const struct as_cfg *c, uint64_t *t, uint64_t ms, double load,
               struct as_decision *d)
{
    int changes = 0;

    for (uint64_t end = *t + ms; *t < end; *t += TICK_MS)
        changes += as_decide(s, c, *t, load, d);
    return changes;
}

static void test_desired_is_load_over_target_times_utilization(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 1000000;

    (void)st;
    as_init(&s, &c, 7);
    run(&s, &c, &t, 120000, 48, &d);
    /* 48 / (10 x 0.7) = 6.86 */
    assert_int_equal(d.desired, 7);
    assert_false(d.panicking);
    assert_string_equal(d.reason, "steady: concurrency 48.0 needs 7");
}

static void test_no_load_holds_min(void **st)
{
    struct as_cfg c = cfg(2, 10);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    as_init(&s, &c, 0);
    assert_int_equal(s.desired, 2);
    assert_int_equal(run(&s, &c, &t, 60000, 0, &d), 0);
    assert_int_equal(d.desired, 2);
}

static void test_max_is_held_and_said(void **st)
{
    struct as_cfg c = cfg(1, 3);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    as_init(&s, &c, 1);
    run(&s, &c, &t, 30000, 500, &d);
    assert_int_equal(d.desired, 3);
    assert_non_null(strstr(d.reason, "(max 3)"));
}

static void test_panic_reason_names_load_and_twice_target(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;

    (void)st;
    c.target_concurrency = 20;
    as_init(&s, &c, 1);
    assert_int_equal(as_decide(&s, &c, 5000, 48, &d), 1);
    assert_true(d.panicking);
    assert_string_equal(d.reason, "panic: concurrency 48 >= 2 x 20");
    /* 48 / (20 x 0.7) = 3.4 */
    assert_int_equal(d.desired, 4);
}

/* The recorded trace of a step: 5 requests in flight for two minutes,
 * then 60 at once. 60 needs ceil(60 / 7) = 9; the panic window gets there
 * within its 6 s, the stable window alone would take most of a minute. */
static void test_step_reaches_needed_count_within_panic_window(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0, step;

    (void)st;
    as_init(&s, &c, 1);
    run(&s, &c, &t, 120000, 5, &d);
    assert_int_equal(d.desired, 1);
    step = t;
    while (t <= step + c.panic_window_ms) {
        as_decide(&s, &c, t, 60, &d);
        t += TICK_MS;
        if (d.desired >= 9)
            break;
    }
    assert_int_equal(d.desired, 9);
    assert_true(t - TICK_MS - step <= c.panic_window_ms);
    assert_true(d.panicking);
    /* the stable window alone: still short of it after the panic window */
    {
        struct as_cfg calm = c;
        struct as_state s2;
        struct as_decision d2;
        uint64_t t2 = 0;
        calm.panic_window_ms = calm.stable_window_ms; /* panics only on the long mean */
        as_init(&s2, &calm, 1);
        run(&s2, &calm, &t2, 120000, 5, &d2);
        run(&s2, &calm, &t2, 6000, 60, &d2);
        assert_true(d2.desired < 9);
    }
}

static void test_never_down_while_panicking(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    c.scale_down_delay_ms = 0; /* only the panic holds it */
    as_init(&s, &c, 1);
    run(&s, &c, &t, 10000, 100, &d);
    assert_true(d.panicking);
    assert_int_equal(d.desired, 15);
    /* the load falls: no scale-down until a stable window without panic */
    run(&s, &c, &t, 30000, 7, &d);
    assert_true(d.panicking);
    assert_int_equal(d.desired, 15);
    assert_non_null(strstr(d.reason, "panic held"));
    run(&s, &c, &t, 120000, 7, &d);
    assert_false(d.panicking);
    assert_int_equal(d.desired, 1);
}

/* The load goes away: the count stays for the scale-down delay (the
 * highest recommendation of the last 5 minutes), then falls to min, by
 * at most half in one decision. The stable window is short here so that
 * the recommendation falls at once and the rate limit shows. */
static void test_scale_down_waits_for_delay_then_halves(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0, gone;
    uint32_t last;
    int steps = 0;

    (void)st;
    c.stable_window_ms = c.panic_window_ms = 2000;
    as_init(&s, &c, 16);
    run(&s, &c, &t, 120000, 112, &d); /* 112 / 7 = 16 */
    assert_int_equal(d.desired, 16);
    gone = t;
    run(&s, &c, &t, c.scale_down_delay_ms - 2 * TICK_MS, 0, &d);
    assert_int_equal(d.desired, 16);
    assert_non_null(strstr(d.reason, "hold:"));
    last = d.desired;
    while (t < gone + c.scale_down_delay_ms + 60000) {
        as_decide(&s, &c, t, 0, &d);
        t += TICK_MS;
        if (d.desired != last) {
            assert_true(d.desired >= last / 2);
            if (!steps)
                assert_string_equal(d.reason, "down: concurrency 0.0 needs 0; 8 at most "
                                              "(1/2.0 of 16 per decision)");
            last = d.desired;
            steps++;
        }
    }
    assert_int_equal(d.desired, 1);
    assert_int_equal(steps, 4); /* 16, 8, 4, 2, 1 */
}

/* With the default windows the stable mean decays over a minute, so the
 * recommendations of the delay window fall one by one: the count reaches
 * min within the delay plus a stable window, never before the delay. */
static void test_scale_down_with_default_windows(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0, gone;

    (void)st;
    as_init(&s, &c, 16);
    run(&s, &c, &t, 120000, 112, &d);
    assert_int_equal(d.desired, 16);
    gone = t;
    run(&s, &c, &t, c.scale_down_delay_ms - 2 * TICK_MS, 0, &d);
    assert_int_equal(d.desired, 16);
    while (!as_decide(&s, &c, t, 0, &d))
        t += TICK_MS;
    t += TICK_MS;
    assert_int_equal(d.desired, 15); /* one by one, as the recommendations age out */
    assert_non_null(strstr(d.reason, "15 was asked within 300000 ms"));
    run(&s, &c, &t, c.stable_window_ms, 0, &d);
    assert_int_equal(d.desired, 1);
    assert_true(t - gone <= c.scale_down_delay_ms + c.stable_window_ms + 4 * TICK_MS);
}

/* Deterministic noise: the same numbers on every run. */
static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return *x >> 8;
}

/* The recorded trace of a steady load: 35 in flight +/- 30%, drawn every
 * 2 s, for 10 simulated minutes. 35 needs 5; the count may rise to reach
 * it and to cover the noise, and must then stay. */
static void test_steady_noisy_load_does_not_flap(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint32_t x = 42, last;
    int changes = 0, after_first_minute = 0;

    (void)st;
    as_init(&s, &c, 1);
    last = s.desired;
    for (uint64_t t = 0; t < 600000; t += TICK_MS) {
        double load = 35.0 * (0.7 + 0.6 * (lcg(&x) % 1000) / 1000.0);
        as_decide(&s, &c, t, load, &d);
        if (d.desired != last) {
            changes++;
            after_first_minute += t >= 60000;
            last = d.desired;
        }
    }
    print_message("steady noisy load: %d count changes in 10 min, %d after the first minute, "
                  "ends at %u\n",
                  changes, after_first_minute, d.desired);
    assert_true(changes <= 3);
    assert_true(after_first_minute <= 1);
    assert_true(d.desired >= 5 && d.desired <= 7);
}

/* The same trace with a noisier load (+/- 60%) and spikes of twice the
 * mean one tick in twenty: still no flapping. */
static void test_spiky_load_does_not_flap(void **st)
{
    struct as_cfg c = cfg(1, 64);
    struct as_state s;
    struct as_decision d;
    uint32_t x = 7, last;
    int changes = 0;

    (void)st;
    as_init(&s, &c, 5);
    last = s.desired;
    for (uint64_t t = 0; t < 600000; t += TICK_MS) {
        double load = 35.0 * (0.4 + 1.2 * (lcg(&x) % 1000) / 1000.0);
        if (lcg(&x) % 20 == 0)
            load = 70;
        as_decide(&s, &c, t, load, &d);
        if (d.desired != last) {
            changes++;
            last = d.desired;
        }
    }
    print_message("spiky load: %d count changes in 10 min, ends at %u\n", changes, d.desired);
    assert_true(changes <= 4);
}

static void test_queue_scales_on_backlog_per_instance(void **st)
{
    struct as_cfg c = cfg(0, 20);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    c.on = AS_ON_QUEUE;
    c.target = 100;
    assert_int_equal(as_cfg_check(&c, NULL), 0);
    as_init(&s, &c, 1);
    run(&s, &c, &t, 120000, 450, &d);
    assert_int_equal(d.desired, 5);
    assert_non_null(strstr(d.reason, "queue"));
}

static void test_latency_scales_in_proportion(void **st)
{
    struct as_cfg c = cfg(1, 20);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    c.on = AS_ON_LATENCY;
    c.target = 100;
    c.panic_window_ms = c.stable_window_ms;
    as_init(&s, &c, 2);
    as_decide(&s, &c, t, 150, &d); /* 2 x 150 / 100 = 3 */
    assert_int_equal(d.desired, 3);
}

/* Scale to zero: no request for idle_after_ms and the count goes to min
 * at once, whatever the delay window holds; a rate alone (requests too
 * short to show in the mean in flight) keeps it. */
static void test_idle_goes_to_min_at_once(void **st)
{
    struct as_cfg c = cfg(0, 64);
    struct as_state s;
    struct as_decision d;
    uint64_t t = 0;

    (void)st;
    c.idle_after_ms = 30000;
    as_init(&s, &c, 0);
    run(&s, &c, &t, 60000, 35, &d);
    assert_int_equal(d.desired, 5);
    run(&s, &c, &t, 28000, 0, &d);
    assert_int_equal(d.desired, 5); /* the delay holds it */
    for (int k = 0; k < 10; k++, t += TICK_MS) {
        as_note_busy(&s, t); /* requests go on, too short to count */
        as_decide(&s, &c, t, 0, &d);
    }
    assert_int_equal(d.desired, 5);
    while (!as_decide(&s, &c, t, 0, &d))
        t += TICK_MS;
    assert_int_equal(d.desired, 0);
    assert_string_equal(d.reason, "idle: no request for 30000 ms, back to min 0");
    t += TICK_MS;
    assert_int_equal(run(&s, &c, &t, 60000, 0, &d), 0);
    /* a request again: up at once (the windows forgot the old load) */
    as_decide(&s, &c, t, 3, &d);
    assert_int_equal(d.desired, 1);
}

static void test_cfg_check_names_the_field(void **st)
{
    struct as_cfg c = cfg(5, 3);
    struct err e;

    (void)st;
    assert_int_equal(as_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "scale.min"));
    c = cfg(0, 3);
    c.on = AS_ON_QUEUE;
    assert_int_equal(as_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "scale.target"));
    c = cfg(0, 3);
    c.panic_window_ms = c.stable_window_ms + 1000;
    assert_int_equal(as_cfg_check(&c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "scale.panic_window_ms"));
    c = cfg(0, 3);
    c.scale_down_rate_permille = 1000;
    assert_int_equal(as_cfg_check(&c, &e), -EINVAL);
    assert_int_equal(as_on_parse("queue"), AS_ON_QUEUE);
    assert_int_equal(as_on_parse("rps"), -1);
}

static void test_load_record_round_trips_and_is_small(void **st)
{
    struct as_load l = {.inflight_milli = 12500, .rate_milli = 340000}, back;
    uint8_t buf[AS_LOAD_BYTES_MAX];
    size_t n;

    (void)st;
    n = as_load_encode(&l, buf, sizeof(buf));
    assert_int_equal(n, 10);
    assert_int_equal(as_load_decode(&back, buf, n, NULL), 0);
    assert_int_equal(back.inflight_milli, 12500);
    assert_int_equal(back.rate_milli, 340000);
    assert_false(back.has_metric);
    l.has_metric = 1;
    l.metric_milli = 100000;
    n = as_load_encode(&l, buf, sizeof(buf));
    assert_int_equal(n, 18);
    assert_int_equal(as_load_decode(&back, buf, n, NULL), 0);
    assert_int_equal(back.metric_milli, 100000);
}

static void test_load_record_refuses_bad_bytes(void **st)
{
    struct as_load l = {.inflight_milli = 1}, back;
    uint8_t buf[AS_LOAD_BYTES_MAX];
    size_t n;
    struct err e;

    (void)st;
    n = as_load_encode(&l, buf, sizeof(buf));
    assert_int_equal(as_load_decode(&back, buf, n - 1, &e), -EINVAL);
    assert_int_equal(as_load_decode(&back, buf, n + 1, &e), -EINVAL); /* a byte too many */
    buf[0] = 9;
    assert_int_equal(as_load_decode(&back, buf, n, &e), -EINVAL);
    buf[0] = 1;
    buf[1] = 0x80;
    assert_int_equal(as_load_decode(&back, buf, n, &e), -EINVAL);
    buf[1] = 0x01; /* says a metric follows, none does */
    assert_int_equal(as_load_decode(&back, buf, n, &e), -EINVAL);
    assert_int_equal(as_load_decode(&back, buf, 0, &e), -EINVAL);
}

/* What one load record costs on the wire: the broadcast that carries it
 * (each node retransmits it retransmit_mult x ceil(log10(N + 1)) times,
 * docs/scaling.md multiplies it out). A node name of 16 bytes and a
 * service name of 8, a version and a clock of today's size. */
static void test_load_record_broadcast_size(void **st)
{
    struct as_load l = {.inflight_milli = 12500, .rate_milli = 340000};
    uint8_t val[AS_LOAD_BYTES_MAX];
    struct crdt_rec r = {.origin = "node-0042.dc1.ex",
                         .key = "checkout",
                         .kind = CRDT_LOAD,
                         .version = (1000ull << CRDT_EPOCH_SHIFT) | 123456,
                         .hlc = 1796432700405ull << 16};
    uint8_t *msg;
    size_t n;

    (void)st;
    r.len = (uint32_t)as_load_encode(&l, val, sizeof(val));
    r.val = val;
    msg = repl_msg_encode_rec(&r, &n, NULL);
    assert_non_null(msg);
    print_message("a load record: %u bytes of value, %zu bytes as a broadcast\n", r.len, n);
    assert_true(n < 80);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desired_is_load_over_target_times_utilization),
        cmocka_unit_test(test_no_load_holds_min),
        cmocka_unit_test(test_max_is_held_and_said),
        cmocka_unit_test(test_panic_reason_names_load_and_twice_target),
        cmocka_unit_test(test_step_reaches_needed_count_within_panic_window),
        cmocka_unit_test(test_never_down_while_panicking),
        cmocka_unit_test(test_scale_down_waits_for_delay_then_halves),
        cmocka_unit_test(test_scale_down_with_default_windows),
        cmocka_unit_test(test_steady_noisy_load_does_not_flap),
        cmocka_unit_test(test_spiky_load_does_not_flap),
        cmocka_unit_test(test_queue_scales_on_backlog_per_instance),
        cmocka_unit_test(test_latency_scales_in_proportion),
        cmocka_unit_test(test_idle_goes_to_min_at_once),
        cmocka_unit_test(test_cfg_check_names_the_field),
        cmocka_unit_test(test_load_record_round_trips_and_is_small),
        cmocka_unit_test(test_load_record_refuses_bad_bytes),
        cmocka_unit_test(test_load_record_broadcast_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
