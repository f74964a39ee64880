/* Tests of core/balance: the version split and header matches, power of
 * two choices over load with this node then this zone preferred, round
 * robin, sticky keys by rendezvous hashing and the Cookie header, outlier
 * ejection and its limits, and that state survives a refresh of the
 * endpoints. Time is an argument and the
 * generator is seeded, so every run makes the same choices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "core/balance.h"

static struct bal_cfg cfg = {
    .failures = 3, .base_ms = 1000, .max_ms = 2500, .max_percent = 50, .decay_ms = 10000};

static void set_eps(struct bal *b, size_t n, const char *const *versions)
{
    struct bal_ep eps[16];

    memset(eps, 0, sizeof(eps));
    for (size_t i = 0; i < n; i++) {
        snprintf(eps[i].key, sizeof(eps[i].key), "node%zu/web", i);
        snprintf(eps[i].version, sizeof(eps[i].version), "%s", versions ? versions[i] : "v1");
    }
    bal_set(b, eps, n);
}

static const char *hdr_value(void *ud, const char *name, size_t *len)
{
    if (strcasecmp(name, "x-user") != 0)
        return NULL;
    *len = strlen(ud);
    return ud;
}

static struct route canary(void)
{
    struct route r;
    struct err e;
    const char *t = "{\"service\":\"web\",\"port\":9001,\"split\":{\"v1\":90,\"v2\":10},"
                    "\"match\":[{\"header\":\"x-canary\",\"value\":\"1\",\"version\":\"v2\"}]}";

    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    return r;
}

static const char *hdr_canary(void *ud, const char *name, size_t *len)
{
    (void)ud;
    if (strcasecmp(name, "x-canary") != 0)
        return NULL;
    *len = 1;
    return "1";
}

static void test_split_90_10_within_2_percent_over_10000(void **state)
{
    const char *vs[] = {"v1", "v1", "v2"};
    struct route r = canary();
    struct bal b;
    int v2 = 0;

    (void)state;
    bal_init(&b, &cfg, 42);
    set_eps(&b, 3, vs);
    for (int i = 0; i < 10000; i++)
        v2 += strcmp(bal_version(&b, &r, NULL, NULL), "v2") == 0;
    assert_in_range(v2, 800, 1200);
    bal_release(&b);
}

static void test_header_match_pins_the_version(void **state)
{
    const char *vs[] = {"v1", "v2"};
    struct route r = canary();
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 1);
    set_eps(&b, 2, vs);
    for (int i = 0; i < 1000; i++)
        assert_string_equal(bal_version(&b, &r, hdr_canary, NULL), "v2");
    bal_release(&b);
}

static void test_split_skips_versions_without_endpoints(void **state)
{
    struct route r = canary();
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 7);
    set_eps(&b, 2, NULL); /* only v1 */
    for (int i = 0; i < 1000; i++)
        assert_string_equal(bal_version(&b, &r, NULL, NULL), "v1");
    set_eps(&b, 0, NULL);
    assert_null(bal_version(&b, &r, NULL, NULL));
    assert_int_equal(bal_pick(&b, NULL, -1, 0), -1);
    bal_release(&b);
}

static void test_pick_keeps_to_the_version_and_skips(void **state)
{
    const char *vs[] = {"v1", "v2", "v1"};
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 3);
    set_eps(&b, 3, vs);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(bal_pick(&b, "v2", -1, 0), 1);
        assert_int_equal(bal_pick(&b, "v1", 0, 0), 2);
    }
    assert_int_equal(bal_pick(&b, "v2", 1, 0), -1);
    assert_int_equal(bal_pick(&b, "v3", -1, 0), -1);
    bal_release(&b);
}

static void test_two_choices_avoid_the_busier_endpoint(void **state)
{
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 5);
    set_eps(&b, 2, NULL);
    for (int i = 0; i < 10; i++)
        bal_begin(&b, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(bal_pick(&b, NULL, -1, 0), 1);
    bal_release(&b);
}

static void test_slow_endpoint_gets_a_smaller_share(void **state)
{
    struct bal b;
    int count[3] = {0};
    uint64_t now = 0;

    (void)state;
    bal_init(&b, &cfg, 11);
    set_eps(&b, 3, NULL);
    /* endpoint 2 answers in 100 ms, the others in 1 ms; 4 requests in flight */
    int inflight[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 3000; i++) {
        int slot = i % 4;
        if (inflight[slot] >= 0)
            bal_end(&b, inflight[slot], 1, inflight[slot] == 2 ? 100 : 1, now);
        inflight[slot] = bal_pick(&b, NULL, -1, now);
        bal_begin(&b, inflight[slot]);
        count[inflight[slot]]++;
        now += 1;
    }
    assert_true(count[2] * 4 < count[0]);
    assert_true(count[2] * 4 < count[1]);
    bal_release(&b);
}

static void test_one_ms_apart_is_a_tie_not_a_winner(void **state)
{
    struct bal b;
    int count[2] = {0};

    (void)state;
    bal_init(&b, &cfg, 5);
    set_eps(&b, 2, NULL);
    /* one sample each, 1 ms and 2 ms (whole ms: the measure's resolution);
     * then sequential requests that take 1 ms wherever they go */
    bal_begin(&b, 0);
    bal_end(&b, 0, 1, 1, 0);
    bal_begin(&b, 1);
    bal_end(&b, 1, 1, 2, 0);
    for (int i = 0; i < 1000; i++) {
        int k = bal_pick(&b, NULL, -1, 1);
        bal_begin(&b, k);
        bal_end(&b, k, 1, 1, 1);
        count[k]++;
    }
    /* before, loads 2 against 3 were 50% apart: endpoint 1 got nothing */
    assert_true(count[0] > 300 && count[1] > 300);
    bal_release(&b);
}

static void test_equal_loads_prefer_this_node(void **state)
{
    struct bal_ep eps[2];
    struct bal b;

    (void)state;
    memset(eps, 0, sizeof(eps));
    strcpy(eps[0].key, "a/web");
    strcpy(eps[1].key, "b/web");
    eps[1].local = 1;
    bal_init(&b, &cfg, 9);
    bal_set(&b, eps, 2);
    for (int i = 0; i < 100; i++)
        assert_int_equal(bal_pick(&b, NULL, -1, 0), 1);
    bal_release(&b);
}

static void test_equal_loads_prefer_this_zone_over_others(void **state)
{
    struct bal_ep eps[3];
    struct bal b;
    int count[3] = {0, 0, 0};

    (void)state;
    memset(eps, 0, sizeof(eps));
    strcpy(eps[0].key, "a/web"); /* another zone */
    strcpy(eps[1].key, "b/web");
    strcpy(eps[2].key, "c/web");
    eps[1].zone = 1;
    eps[2].zone = 1;
    bal_init(&b, &cfg, 9);
    bal_set(&b, eps, 3);
    for (int i = 0; i < 1000; i++)
        count[bal_pick(&b, NULL, -1, 0)]++;
    assert_int_equal(count[0], 0);
    /* between the two of this zone, a coin */
    assert_in_range(count[1], 400, 600);
    bal_release(&b);
}

static void test_this_node_before_this_zone(void **state)
{
    struct bal_ep eps[3];
    struct bal b;

    (void)state;
    memset(eps, 0, sizeof(eps));
    strcpy(eps[0].key, "a/web");
    strcpy(eps[1].key, "b/web");
    strcpy(eps[2].key, "c/web");
    eps[1].zone = 1;
    eps[2].local = 1;
    bal_init(&b, &cfg, 10);
    bal_set(&b, eps, 3);
    for (int i = 0; i < 300; i++) {
        int k = bal_pick(&b, NULL, -1, 0);
        /* c whenever the pair holds it; b over a otherwise */
        assert_true(k == 2 || k == 1);
    }
    bal_release(&b);
}

static void test_zone_loses_to_a_lighter_load_elsewhere(void **state)
{
    struct bal_ep eps[2];
    struct bal b;

    (void)state;
    memset(eps, 0, sizeof(eps));
    strcpy(eps[0].key, "a/web");
    strcpy(eps[1].key, "b/web");
    eps[1].zone = 1;
    bal_init(&b, &cfg, 11);
    bal_set(&b, eps, 2);
    for (int i = 0; i < 4; i++)
        bal_begin(&b, 1); /* 4 in flight on the zone's endpoint */
    bal_end(&b, 1, 1, 20, 1);
    bal_begin(&b, 1);
    assert_int_equal(bal_pick(&b, NULL, -1, 1), 0);
    bal_release(&b);
}

static struct bal_cfg rr_cfg(void)
{
    struct bal_cfg c = cfg;

    c.balance = ROUTE_ROUND_ROBIN;
    return c;
}

static void test_round_robin_takes_turns_evenly(void **state)
{
    struct bal_cfg c = rr_cfg();
    struct bal b;
    int count[3] = {0, 0, 0}, last = -1;

    (void)state;
    bal_init(&b, &c, 3);
    set_eps(&b, 3, NULL);
    for (int i = 0; i < 300; i++) {
        int k = bal_pick(&b, NULL, -1, 0);
        assert_true(k != last);
        last = k;
        count[k]++;
        /* load does not count: endpoint 0 stays busy and slow */
        if (k == 0) {
            bal_begin(&b, 0);
            bal_end(&b, 0, 1, 500, 0);
            bal_begin(&b, 0);
        }
    }
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 100);
    assert_int_equal(count[2], 100);
    bal_release(&b);
}

static void test_round_robin_within_a_version_and_skips_ejected(void **state)
{
    const char *vs[] = {"v1", "v2", "v1", "v2", "v1"};
    struct bal_cfg c = rr_cfg();
    struct bal b;
    int count[5] = {0, 0, 0, 0, 0};

    (void)state;
    bal_init(&b, &c, 4);
    set_eps(&b, 5, vs);
    /* picks of v2 between those of v1 do not take v1's turns */
    for (int i = 0; i < 300; i++) {
        count[bal_pick(&b, "v1", -1, 0)]++;
        count[bal_pick(&b, "v2", -1, 0)]++;
    }
    assert_int_equal(count[0], 100);
    assert_int_equal(count[2], 100);
    assert_int_equal(count[4], 100);
    assert_int_equal(count[1], 150);
    assert_int_equal(count[3], 150);
    /* eject endpoint 2: v1 alternates between 0 and 4 */
    for (int i = 0; i < 3; i++)
        bal_end(&b, 2, 0, 1, 10);
    assert_true(bal_is_ejected(&b, 2, 10));
    for (int i = 0; i < 10; i++) {
        int k = bal_pick(&b, "v1", -1, 10);
        assert_true(k == 0 || k == 4);
    }
    /* a retry skips the endpoint it tried */
    assert_int_not_equal(bal_pick(&b, "v1", 0, 10), 0);
    bal_release(&b);
}

static void test_round_robin_panics_over_all_when_all_ejected(void **state)
{
    struct bal_cfg c = rr_cfg();
    struct bal b;

    (void)state;
    c.max_percent = 100;
    bal_init(&b, &c, 5);
    set_eps(&b, 2, NULL);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
            bal_end(&b, k, 0, 1, 10);
    assert_true(bal_is_ejected(&b, 0, 10) && bal_is_ejected(&b, 1, 10));
    assert_int_not_equal(bal_pick(&b, NULL, -1, 10), bal_pick(&b, NULL, -1, 10));
    bal_release(&b);
}

static void set_many(struct bal *b, size_t n, size_t gone)
{
    static struct bal_ep eps[64];
    size_t k = 0;

    memset(eps, 0, sizeof(eps));
    for (size_t i = 0; i < n; i++) {
        if (i == gone)
            continue;
        snprintf(eps[k].key, sizeof(eps[k].key), "node%zu/web-%zu", i, i * 7);
        snprintf(eps[k].version, sizeof(eps[k].version), "v1");
        k++;
    }
    bal_set(b, eps, k);
}

static uint64_t key_of(int i)
{
    char v[32];
    struct route r;
    struct err e;
    const char *t = "{\"service\":\"web\",\"port\":1,\"sticky\":{\"header\":\"x-user\"}}";
    uint64_t key = 0;

    snprintf(v, sizeof(v), "user-%d", i);
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(bal_sticky_key(&r, hdr_value, v, &key), 1);
    return key;
}

static void test_sticky_same_key_same_endpoint_and_keys_spread(void **state)
{
    struct bal b, other;
    int count[8] = {0};

    (void)state;
    bal_init(&b, &cfg, 6);
    bal_init(&other, &cfg, 999); /* another agent: another seed, same endpoints */
    set_many(&b, 8, 99);
    set_many(&other, 8, 99);
    for (int i = 0; i < 8000; i++) {
        uint64_t k = key_of(i);
        int x = bal_pick_key(&b, NULL, -1, k, 0);
        assert_int_equal(bal_pick_key(&b, NULL, -1, k, 0), x);
        assert_int_equal(bal_pick_key(&other, NULL, -1, k, 0), x);
        count[x]++;
    }
    for (int i = 0; i < 8; i++)
        assert_in_range(count[i], 800, 1200);
    bal_release(&b);
    bal_release(&other);
}

static void test_sticky_endpoint_leaving_moves_only_its_keys(void **state)
{
    struct bal all, less;
    int moved = 0, had = 0;

    (void)state;
    bal_init(&all, &cfg, 7);
    bal_init(&less, &cfg, 7);
    set_many(&all, 8, 99);
    set_many(&less, 8, 3); /* endpoint 3 left */
    for (int i = 0; i < 8000; i++) {
        uint64_t k = key_of(i);
        const char *before = all.ep[bal_pick_key(&all, NULL, -1, k, 0)].key;
        const char *after = less.ep[bal_pick_key(&less, NULL, -1, k, 0)].key;
        if (strcmp(before, "node3/web-21") == 0)
            had++;
        else if (strcmp(before, after) != 0)
            moved++;
    }
    assert_int_equal(moved, 0);      /* nobody else's key moved */
    assert_in_range(had, 800, 1200); /* about 1/8 had to */
    bal_release(&all);
    bal_release(&less);
}

static void test_sticky_skips_ejected_then_comes_back(void **state)
{
    struct bal b;
    uint64_t k = key_of(1);
    int x, y;

    (void)state;
    bal_init(&b, &cfg, 8);
    set_many(&b, 4, 99);
    x = bal_pick_key(&b, NULL, -1, k, 0);
    for (int i = 0; i < 3; i++)
        bal_end(&b, x, 0, 1, 10);
    assert_true(bal_is_ejected(&b, x, 10));
    y = bal_pick_key(&b, NULL, -1, k, 10);
    assert_int_not_equal(y, x);
    /* the retry's skip gives the same second choice */
    assert_int_equal(bal_pick_key(&b, NULL, x, k, 0), y);
    /* the ejection over (1 s), the key is back on its endpoint */
    assert_int_equal(bal_pick_key(&b, NULL, -1, k, 10 + 1000), x);
    bal_release(&b);
}

static void test_sticky_keeps_to_the_version(void **state)
{
    const char *vs[] = {"v1", "v2", "v1", "v2"};
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 12);
    set_eps(&b, 4, vs);
    for (int i = 0; i < 200; i++) {
        int k = bal_pick_key(&b, "v2", -1, key_of(i), 0);
        assert_string_equal(b.ep[k].version, "v2");
    }
    bal_release(&b);
}

static const char *hdr_cookie(void *ud, const char *name, size_t *len)
{
    if (strcasecmp(name, "cookie") != 0)
        return NULL;
    *len = strlen(ud);
    return ud;
}

static void test_sticky_cookie_from_the_cookie_header(void **state)
{
    const char *t = "{\"service\":\"web\",\"port\":1,\"sticky\":{\"cookie\":\"session\"}}";
    struct route r;
    struct err e;
    uint64_t a = 0, c = 0, h = 0;

    (void)state;
    assert_int_equal(route_parse(&r, t, strlen(t), &e), 0);
    assert_int_equal(bal_sticky_key(&r, hdr_cookie, "theme=dark; session=abc; lang=fr", &a), 1);
    assert_int_equal(bal_sticky_key(&r, hdr_cookie, "session=\"abc\"", &c), 1);
    assert_true(a == c);
    assert_int_equal(bal_sticky_key(&r, hdr_value, "abc", &h), 0); /* no Cookie header */
    assert_int_equal(bal_sticky_key(&r, hdr_cookie, "sessionid=abc", &h), 0);
    assert_int_equal(bal_sticky_key(&r, hdr_cookie, "session=", &h), 0);
    assert_int_equal(bal_sticky_key(&r, NULL, NULL, &h), 0); /* TCP */
}

static void test_cookie_parser_reads_pairs(void **state)
{
    const char *c = " a=1;b = 2 ;\tsess=\"x y\"; ;=z; noeq; last=9";
    size_t n = 0;
    const char *v;

    (void)state;
    v = bal_cookie(c, strlen(c), "a", &n);
    assert_true(v && n == 1 && v[0] == '1');
    v = bal_cookie(c, strlen(c), "b", &n);
    assert_true(v && n == 1 && v[0] == '2');
    v = bal_cookie(c, strlen(c), "sess", &n);
    assert_true(v && n == 3 && memcmp(v, "x y", 3) == 0);
    v = bal_cookie(c, strlen(c), "last", &n);
    assert_true(v && n == 1 && v[0] == '9');
    assert_null(bal_cookie(c, strlen(c), "noeq", &n));
    assert_null(bal_cookie(c, strlen(c), "A", &n)); /* names are case-sensitive */
    /* the length bounds the read: "last" cut off */
    assert_null(bal_cookie(c, strlen(c) - 6, "last", &n));
    v = bal_cookie("q=\"", 3, "q", &n); /* a lone quote is the value */
    assert_true(v && n == 1);
    assert_null(bal_cookie(NULL, 0, "a", &n));
    assert_null(bal_cookie("", 0, "a", &n));
}

static void test_consecutive_failures_eject_for_a_growing_backoff(void **state)
{
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 13);
    set_eps(&b, 4, NULL);
    assert_int_equal(bal_end(&b, 0, 0, 1, 100), 0);
    assert_int_equal(bal_end(&b, 0, 1, 1, 100), 0); /* a success resets the count */
    assert_int_equal(bal_end(&b, 0, 0, 1, 100), 0);
    assert_int_equal(bal_end(&b, 0, 0, 1, 100), 0);
    assert_int_equal(bal_end(&b, 0, 0, 1, 100), 1);
    assert_true(bal_is_ejected(&b, 0, 100));
    for (int i = 0; i < 200; i++)
        assert_int_not_equal(bal_pick(&b, NULL, -1, 500), 0);
    assert_false(bal_is_ejected(&b, 0, 1100)); /* 1 x base */
    for (int i = 0; i < 3; i++)
        bal_end(&b, 0, 0, 1, 1100);
    assert_true(bal_is_ejected(&b, 0, 3099)); /* 2 x base */
    assert_false(bal_is_ejected(&b, 0, 3100));
    for (int i = 0; i < 3; i++)
        bal_end(&b, 0, 0, 1, 4000);
    assert_true(bal_is_ejected(&b, 0, 6499)); /* 3 x base, capped at 2500 */
    assert_false(bal_is_ejected(&b, 0, 6500));
    assert_int_equal(b.ejections_total, 3);
    bal_release(&b);
}

static void test_never_more_than_max_percent_ejected(void **state)
{
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 17);
    set_eps(&b, 4, NULL);
    for (int ep = 0; ep < 4; ep++)
        for (int i = 0; i < 3; i++)
            bal_end(&b, ep, 0, 1, 10);
    assert_true(bal_is_ejected(&b, 0, 10));
    assert_true(bal_is_ejected(&b, 1, 10));
    assert_false(bal_is_ejected(&b, 2, 10));
    assert_false(bal_is_ejected(&b, 3, 10));
    bal_release(&b);
}

static void test_all_ejected_spreads_over_all_panic(void **state)
{
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 19);
    set_eps(&b, 1, NULL); /* one endpoint: at least one may be ejected */
    for (int i = 0; i < 3; i++)
        bal_end(&b, 0, 0, 1, 10);
    assert_true(bal_is_ejected(&b, 0, 10));
    assert_int_equal(bal_pick(&b, NULL, -1, 10), 0);
    bal_release(&b);
}

static void test_refresh_keeps_the_state_of_endpoints_that_stay(void **state)
{
    struct bal b;

    (void)state;
    bal_init(&b, &cfg, 23);
    set_eps(&b, 3, NULL);
    bal_begin(&b, 2);
    for (int i = 0; i < 3; i++)
        bal_end(&b, 1, 0, 1, 10);
    b.ep[1].told_ejections = 1; /* the caller's note survives a refresh */
    b.ep[1].told_ejected = 1;
    set_eps(&b, 2, NULL); /* node2 leaves */
    assert_int_equal(b.n, 2);
    assert_int_equal(b.ep[1].told_ejections, 1);
    assert_int_equal(b.ep[1].told_ejected, 1);
    assert_true(bal_is_ejected(&b, 1, 10));
    assert_int_equal(bal_find(&b, "node2/web"), -1);
    set_eps(&b, 3, NULL); /* and comes back fresh */
    assert_int_equal(b.ep[2].outstanding, 0);
    bal_release(&b);
}

static void test_same_seed_same_choices(void **state)
{
    struct route r = canary();
    const char *vs[] = {"v1", "v1", "v2", "v2"};
    struct bal a, b;

    (void)state;
    bal_init(&a, &cfg, 99);
    bal_init(&b, &cfg, 99);
    set_eps(&a, 4, vs);
    set_eps(&b, 4, vs);
    for (int i = 0; i < 1000; i++) {
        const char *va = bal_version(&a, &r, NULL, NULL), *vb = bal_version(&b, &r, NULL, NULL);
        assert_string_equal(va, vb);
        assert_int_equal(bal_pick(&a, va, -1, (uint64_t)i), bal_pick(&b, vb, -1, (uint64_t)i));
    }
    bal_release(&a);
    bal_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_90_10_within_2_percent_over_10000),
        cmocka_unit_test(test_header_match_pins_the_version),
        cmocka_unit_test(test_split_skips_versions_without_endpoints),
        cmocka_unit_test(test_pick_keeps_to_the_version_and_skips),
        cmocka_unit_test(test_two_choices_avoid_the_busier_endpoint),
        cmocka_unit_test(test_slow_endpoint_gets_a_smaller_share),
        cmocka_unit_test(test_one_ms_apart_is_a_tie_not_a_winner),
        cmocka_unit_test(test_equal_loads_prefer_this_node),
        cmocka_unit_test(test_equal_loads_prefer_this_zone_over_others),
        cmocka_unit_test(test_this_node_before_this_zone),
        cmocka_unit_test(test_zone_loses_to_a_lighter_load_elsewhere),
        cmocka_unit_test(test_round_robin_takes_turns_evenly),
        cmocka_unit_test(test_round_robin_within_a_version_and_skips_ejected),
        cmocka_unit_test(test_round_robin_panics_over_all_when_all_ejected),
        cmocka_unit_test(test_sticky_same_key_same_endpoint_and_keys_spread),
        cmocka_unit_test(test_sticky_endpoint_leaving_moves_only_its_keys),
        cmocka_unit_test(test_sticky_skips_ejected_then_comes_back),
        cmocka_unit_test(test_sticky_keeps_to_the_version),
        cmocka_unit_test(test_sticky_cookie_from_the_cookie_header),
        cmocka_unit_test(test_cookie_parser_reads_pairs),
        cmocka_unit_test(test_consecutive_failures_eject_for_a_growing_backoff),
        cmocka_unit_test(test_never_more_than_max_percent_ejected),
        cmocka_unit_test(test_all_ejected_spreads_over_all_panic),
        cmocka_unit_test(test_refresh_keeps_the_state_of_endpoints_that_stay),
        cmocka_unit_test(test_same_seed_same_choices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
