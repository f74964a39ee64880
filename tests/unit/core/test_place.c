/* Tests of core/place: every node computes the same placement from the
 * same inputs, whatever their order; a join moves about 1/N of the slots
 * and a death only the dead member's; constraints, spread, distinct_hosts
 * and capacity hold, and what cannot be placed says why. And the cluster
 * spec's fields: defaults, errors naming the field, exclusive refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/place.h"

#define NM 64

struct world {
    char names[NM][16];
    struct tags tags[NM];
    struct place_member m[NM];
    size_t n;
    struct place_spec s[16];
    size_t ns;
};

static void add_member(struct world *w, const char *name, const char *tag, uint32_t cpu)
{
    size_t i = w->n++;
    snprintf(w->names[i], sizeof(w->names[i]), "%s", name);
    memset(&w->tags[i], 0, sizeof(w->tags[i]));
    if (tag)
        assert_int_equal(tags_set_kv(&w->tags[i], tag, NULL), 0);
    w->m[i].name = w->names[i];
    w->m[i].tags = &w->tags[i];
    w->m[i].cap.cpu_millis = cpu;
    w->m[i].cap.memory_mb = 0;
}

static struct place_spec *add_spec(struct world *w, const char *name, uint32_t count)
{
    struct place_spec *p = &w->s[w->ns++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->count = count;
    return p;
}

static void members(struct world *w, size_t n)
{
    w->n = 0;
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "node-%02zu", i);
        add_member(w, name, NULL, 0);
    }
}

/* Where each slot went, as member names, in (spec name, slot) order. */
static void run(const struct world *w, const char *out[], size_t *n)
{
    struct place_result r;

    assert_int_equal(place_compute(w->s, w->ns, w->m, w->n, &r, NULL), 0);
    for (size_t i = 0; i < r.n; i++)
        out[i] = r.s[i].member < 0 ? NULL : w->m[r.s[i].member].name;
    *n = r.n;
    place_result_release(&r);
}

static size_t moved(const char **a, const char **b, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!a[i] || !b[i] || strcmp(a[i], b[i]) != 0)
            m++;
    return m;
}

static void test_same_inputs_same_answer_in_any_order(void **state)
{
    static struct world w, rev;
    const char *a[1024], *b[1024];
    size_t na, nb;

    (void)state;
    members(&w, 7);
    add_spec(&w, "web", 20);
    add_spec(&w, "api", 6)->distinct_hosts = 1;
    add_spec(&w, "db", 3);
    run(&w, a, &na);
    /* the same inputs, reversed, as another node may hold them */
    memset(&rev, 0, sizeof(rev));
    for (size_t i = w.n; i-- > 0;)
        add_member(&rev, w.names[i], NULL, 0);
    for (size_t i = w.ns; i-- > 0;) {
        rev.s[rev.ns++] = w.s[i];
    }
    run(&rev, b, &nb);
    assert_int_equal(na, 29);
    assert_int_equal(nb, na);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
    assert_true(place_score("web", 3, "node-01") == place_score("web", 3, "node-01"));
    assert_true(place_score("web", 3, "node-01") != place_score("web", 4, "node-01"));
}

static void test_join_moves_about_one_nth_of_the_slots(void **state)
{
    static struct world w;
    const char *before[1024], *after[1024];
    size_t n, n2, to_new = 0, m;

    (void)state;
    members(&w, 10);
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof(name), "svc%d", i);
        add_spec(&w, name, 64);
    }
    run(&w, before, &n);
    add_member(&w, "node-new", NULL, 0);
    run(&w, after, &n2);
    assert_int_equal(n, n2);
    m = moved(before, after, n);
    for (size_t i = 0; i < n; i++)
        to_new += strcmp(after[i], "node-new") == 0;
    /* every slot that moved went to the new member, and not too many */
    assert_int_equal(m, to_new);
    assert_true(m > 0);
    if (m * 11 * 2 > 3 * n)
        fail_msg("%zu of %zu slots moved on a join to 11 members (limit %zu)", m, n, 3 * n / 22);
}

static void test_death_moves_only_the_dead_members_slots(void **state)
{
    static struct world w;
    const char *before[1024], *after[1024];
    size_t n, n2;

    (void)state;
    members(&w, 9);
    add_spec(&w, "web", 64);
    add_spec(&w, "api", 40);
    run(&w, before, &n);
    /* node-04 dies: the caller leaves it out */
    w.m[4] = w.m[--w.n];
    run(&w, after, &n2);
    assert_int_equal(n, n2);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(after[i]);
        if (strcmp(before[i], "node-04") != 0)
            assert_string_equal(before[i], after[i]);
        else
            assert_string_not_equal(after[i], "node-04");
    }
}

static void test_constraints_keep_slots_on_matching_members(void **state)
{
    static struct world w;
    struct place_result r;
    struct place_spec *p;

    (void)state;
    add_member(&w, "a", "role=web", 0);
    add_member(&w, "b", "role=db", 0);
    add_member(&w, "c", "role=web", 0);
    p = add_spec(&w, "front", 10);
    tags_set(&p->constraints, "role", "web", NULL);
    p = add_spec(&w, "cache", 2);
    tags_set(&p->constraints, "role", "edge", NULL);
    assert_int_equal(place_compute(w.s, w.ns, w.m, w.n, &r, NULL), 0);
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(w.s[r.s[i].spec].name, "front") == 0) {
            assert_true(r.s[i].member == 0 || r.s[i].member == 2);
        } else {
            assert_int_equal(r.s[i].member, -1);
            assert_non_null(strstr(r.s[i].reason, "constraints"));
            assert_non_null(strstr(r.s[i].reason, "role=edge"));
        }
    }
    assert_int_equal(place_mine(&r, 0, 1), 0);
    assert_true((place_mine(&r, 0, 0) | place_mine(&r, 0, 2)) == 0x3ff);
    place_result_release(&r);
}

static void test_spread_gives_even_shares_over_a_tag(void **state)
{
    static struct world w;
    struct place_result r;
    int per_zone[2] = {0, 0};

    (void)state;
    add_member(&w, "a1", "zone=a", 0);
    add_member(&w, "a2", "zone=a", 0);
    add_member(&w, "a3", "zone=a", 0);
    add_member(&w, "b1", "zone=b", 0);
    snprintf(add_spec(&w, "web", 8)->spread, TAG_KEY_MAX, "zone");
    assert_int_equal(place_compute(w.s, w.ns, w.m, w.n, &r, NULL), 0);
    for (size_t i = 0; i < r.n; i++)
        per_zone[r.s[i].member == 3]++;
    assert_int_equal(per_zone[0], 4);
    assert_int_equal(per_zone[1], 4);
    place_result_release(&r);
}

static void test_distinct_hosts_leaves_the_rest_unplaceable_with_a_reason(void **state)
{
    static struct world w;
    struct place_result r;
    size_t placed = 0;
    int seen[3] = {0, 0, 0};

    (void)state;
    members(&w, 3);
    add_spec(&w, "web", 5)->distinct_hosts = 1;
    assert_int_equal(place_compute(w.s, w.ns, w.m, w.n, &r, NULL), 0);
    for (size_t i = 0; i < r.n; i++) {
        if (r.s[i].member >= 0) {
            placed++;
            assert_int_equal(seen[r.s[i].member]++, 0);
        } else {
            assert_non_null(strstr(r.s[i].reason, "distinct_hosts"));
        }
    }
    assert_int_equal(placed, 3);
    place_result_release(&r);
}

static void test_capacity_full_members_are_skipped(void **state)
{
    static struct world w;
    struct place_result r;
    struct place_spec *p;
    uint32_t on[2] = {0, 0};
    size_t unplaced = 0;

    (void)state;
    add_member(&w, "small", NULL, 1000);
    add_member(&w, "big", NULL, 3000);
    p = add_spec(&w, "web", 6);
    p->res.cpu_millis = 500;
    assert_int_equal(place_compute(w.s, w.ns, w.m, w.n, &r, NULL), 0);
    for (size_t i = 0; i < r.n; i++) {
        if (r.s[i].member < 0) {
            unplaced++;
            continue;
        }
        on[r.s[i].member]++;
    }
    assert_true(on[0] <= 2);
    assert_true(on[1] <= 6);
    assert_int_equal(on[0] + on[1], 6);
    assert_int_equal(unplaced, 0);
    place_result_release(&r);
    /* two more than fit: reported, with the resources named */
    p->count = 10;
    assert_int_equal(place_compute(w.s, w.ns, w.m, w.n, &r, NULL), 0);
    unplaced = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.s[i].member >= 0)
            continue;
        unplaced++;
        assert_non_null(strstr(r.s[i].reason, "cpu_millis=500"));
    }
    assert_int_equal(unplaced, 2);
    place_result_release(&r);
}

static void test_no_members_no_placement(void **state)
{
    static struct world w;
    struct place_result r;

    (void)state;
    add_spec(&w, "web", 2);
    assert_int_equal(place_compute(w.s, w.ns, w.m, 0, &r, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.s[0].member, -1);
    assert_non_null(strstr(r.s[0].reason, "no live members"));
    place_result_release(&r);
}

static void refused(const char *text, const char *field)
{
    struct place_spec p;
    struct err e;

    err_clear(&e);
    assert_true(place_spec_check(text, strlen(text), &p, &e) < 0);
    if (!strstr(e.msg, field))
        fail_msg("error \"%s\" does not name \"%s\"", e.msg, field);
}

static void test_cluster_spec_parses_with_defaults(void **state)
{
    const char *t = "{\"name\":\"web\",\"command\":\"/bin/sleep\",\"args\":[\"9\"],"
                    "\"count\":7,\"constraints\":{\"role\":\"web\",\"distinct_hosts\":true},"
                    "\"spread\":\"zone\",\"resources\":{\"cpu_millis\":250,\"memory_mb\":64},"
                    "\"update\":{\"max_parallel\":2}}";
    struct place_spec p;
    struct err e;
    char *sup;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_string_equal(p.name, "web");
    assert_int_equal(p.count, 7);
    assert_int_equal(p.distinct_hosts, 1);
    assert_int_equal(p.constraints.n, 1);
    assert_string_equal(p.spread, "zone");
    assert_int_equal(p.res.cpu_millis, 250);
    assert_int_equal(p.update.max_parallel, 2);
    assert_int_equal(p.update.min_healthy_ms, 10000);
    sup = place_spec_sup_json(t, strlen(t), &e);
    assert_non_null(sup);
    assert_string_equal(sup, "{\"args\":[\"9\"],\"command\":\"/bin/sleep\",\"instances\":1,"
                             "\"name\":\"web\"}");
    free(sup);
}

static void test_exclusive_is_refused_for_want_of_a_lease(void **state)
{
    const char *t = "{\"name\":\"cron\",\"command\":\"/bin/true\",\"exclusive\":true}";
    struct place_spec p;
    struct err e;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "exclusive"));
    assert_non_null(strstr(e.msg, "linearizable lease"));
}

static void test_bad_cluster_specs_name_the_field(void **state)
{
    (void)state;
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"count\":65}", "count");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"colour\":1}", "colour");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"instances\":2}", "instances");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"constraints\":{\"role\":1}}",
            "constraints.role");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"resources\":{\"gpu\":1}}",
            "resources.gpu");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"update\":{\"max_parallel\":0}}",
            "update.max_parallel");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"spread\":\"\"}", "spread");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"count\":3,\"ports\":{\"http\":8080}}",
            "ports.http");
    refused("{\"name\":\"W!\",\"command\":\"/bin/true\"}", "name");
}

static void test_scale_places_min_with_defaults_for_the_rest(void **state)
{
    const char *t = "{\"name\":\"fn\",\"command\":\"/bin/sleep\",\"args\":[\"9\"],"
                    "\"scale\":{\"min\":0,\"max\":4}}";
    struct place_spec p;
    struct err e;
    char *sup;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.scale.set, 1);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.scale.min, 0);
    assert_int_equal(p.scale.max, 4);
    assert_int_equal(p.scale.idle_after_ms, 300000);
    assert_int_equal(p.scale.queue_limit, 100);
    assert_int_equal(p.scale.start_timeout_ms, 30000);
    sup = place_spec_sup_json(t, strlen(t), &e);
    assert_non_null(sup);
    assert_null(strstr(sup, "scale")); /* the supervisor never sees it */
    free(sup);
}

static void test_scale_fields_land(void **state)
{
    const char *t = "{\"name\":\"fn\",\"command\":\"/bin/true\",\"scale\":{\"min\":2,"
                    "\"idle_after_ms\":1500,\"queue_limit\":7,\"start_timeout_ms\":900}}";
    struct place_spec p;
    struct err e;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.scale.max, 10);
    assert_int_equal(p.scale.idle_after_ms, 1500);
    assert_int_equal(p.scale.queue_limit, 7);
    assert_int_equal(p.scale.start_timeout_ms, 900);
}

static void test_a_spec_without_scale_has_none(void **state)
{
    const char *t = "{\"name\":\"w\",\"command\":\"/bin/true\",\"count\":3}";
    struct place_spec p;
    struct err e;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.scale.set, 0);
    assert_int_equal(p.count, 3);
}

static void test_bad_scale_fields_name_the_field(void **state)
{
    (void)state;
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":1}", "scale");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"count\":1,\"scale\":{}}", "count");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"min\":64}}", "scale.min");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"max\":0}}", "scale.max");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"min\":5,\"max\":2}}",
            "scale.max");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"idle_after_ms\":5}}",
            "scale.idle_after_ms");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"queue_limit\":-1}}",
            "scale.queue_limit");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"start_timeout_ms\":\"1s\"}}",
            "scale.start_timeout_ms");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"speed\":1}}", "scale.speed");
}

static void test_scale_parses_with_defaults_and_starts_at_min(void **state)
{
    const char *t = "{\"name\":\"web\",\"command\":\"/bin/sleep\",\"args\":[\"9\"],"
                    "\"scale\":{\"min\":2,\"max\":6,\"target_concurrency\":4,"
                    "\"utilization\":0.5,\"stable_window_ms\":20000}}";
    struct place_spec p;
    struct err e;
    char *sup;

    (void)state;
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.scale.set, 1);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.scale.min, 2);
    assert_int_equal(p.scale.max, 6);
    assert_int_equal(p.autoscale.min, 2);
    assert_int_equal(p.autoscale.max, 6);
    assert_int_equal(p.autoscale.target_concurrency, 4);
    assert_int_equal(p.autoscale.utilization_permille, 500);
    assert_int_equal(p.autoscale.stable_window_ms, 20000);
    assert_int_equal(p.autoscale.panic_window_ms, 6000);
    assert_int_equal(p.autoscale.scale_down_delay_ms, 300000);
    assert_int_equal(p.autoscale.scale_down_rate_permille, 2000);
    assert_int_equal(p.autoscale.on, AS_ON_CONCURRENCY);
    sup = place_spec_sup_json(t, strlen(t), &e);
    assert_non_null(sup);
    assert_null(strstr(sup, "scale"));
    free(sup);
    t = "{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{}}";
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.autoscale.min, 1);
    assert_int_equal(p.autoscale.max, 10);
    assert_int_equal(p.autoscale.target_concurrency, 10);
    t = "{\"name\":\"w\",\"command\":\"/bin/true\"}";
    assert_int_equal(place_spec_check(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.scale.set, 0);
}

static void test_bad_scale_names_the_field(void **state)
{
    (void)state;
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":3}", "scale");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"rps\":1}}", "scale.rps");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"min\":4,\"max\":2}}",
            "scale.max");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"max\":64}}", "scale.max");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"utilization\":1.5}}",
            "scale.utilization");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"on\":\"rps\"}}", "scale.on");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"on\":\"queue\"}}",
            "scale.target");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"panic_window_ms\":"
            "90000}}",
            "scale.panic_window_ms");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"scale\":{\"scale_down_rate\":1}}",
            "scale.scale_down_rate");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"count\":2,\"scale\":{}}", "count");
    refused("{\"name\":\"w\",\"command\":\"/bin/true\",\"ports\":{\"http\":8080},"
            "\"scale\":{\"max\":3}}",
            "ports.http");
}

static void test_capacity_option_parses(void **state)
{
    struct place_res r;
    struct err e;

    (void)state;
    assert_int_equal(place_res_parse(&r, "cpu_millis=2000,memory_mb=512", &e), 0);
    assert_int_equal(r.cpu_millis, 2000);
    assert_int_equal(r.memory_mb, 512);
    assert_true(place_res_parse(&r, "cpu=2", &e) < 0);
    assert_non_null(strstr(e.msg, "cpu"));
    assert_true(place_res_parse(&r, "memory_mb=x", &e) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_inputs_same_answer_in_any_order),
        cmocka_unit_test(test_join_moves_about_one_nth_of_the_slots),
        cmocka_unit_test(test_death_moves_only_the_dead_members_slots),
        cmocka_unit_test(test_constraints_keep_slots_on_matching_members),
        cmocka_unit_test(test_spread_gives_even_shares_over_a_tag),
        cmocka_unit_test(test_distinct_hosts_leaves_the_rest_unplaceable_with_a_reason),
        cmocka_unit_test(test_capacity_full_members_are_skipped),
        cmocka_unit_test(test_no_members_no_placement),
        cmocka_unit_test(test_cluster_spec_parses_with_defaults),
        cmocka_unit_test(test_exclusive_is_refused_for_want_of_a_lease),
        cmocka_unit_test(test_bad_cluster_specs_name_the_field),
        cmocka_unit_test(test_scale_places_min_with_defaults_for_the_rest),
        cmocka_unit_test(test_scale_fields_land),
        cmocka_unit_test(test_a_spec_without_scale_has_none),
        cmocka_unit_test(test_bad_scale_fields_name_the_field),
        cmocka_unit_test(test_scale_parses_with_defaults_and_starts_at_min),
        cmocka_unit_test(test_bad_scale_names_the_field),
        cmocka_unit_test(test_capacity_option_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
