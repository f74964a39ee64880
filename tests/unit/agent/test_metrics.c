/* Tests of agent/metrics (the histogram's Prometheus lines) and of the
 * API's route labels (agent/api/api_metrics.c): cumulative buckets, sum
 * and count, labels, and a label set bounded whatever path arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/api/api_impl.h"
#include "agent/metrics.h"

/* The lines hist_write produces, in a heap string the caller frees. */
static char *written(const char *labels, const struct metrics_hist *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    metrics_hist_write(f, "x_seconds", labels, h);
    fclose(f);
    return buf;
}

static void test_hist_buckets_are_cumulative(void **state)
{
    struct metrics_hist h;
    char *out;

    (void)state;
    memset(&h, 0, sizeof(h));
    metrics_hist_observe(&h, 0.00005); /* first bucket */
    metrics_hist_observe(&h, 0.001);   /* le="0.001": bounds are inclusive */
    metrics_hist_observe(&h, 0.3);
    metrics_hist_observe(&h, 120); /* past every bound: only +Inf */
    out = written("", &h);
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"0.0001\"} 1\n"));
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"0.001\"} 2\n"));
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"0.25\"} 2\n"));
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"0.5\"} 3\n"));
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"60\"} 3\n"));
    assert_non_null(strstr(out, "x_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(out, "x_seconds_count 4\n"));
    assert_non_null(strstr(out, "x_seconds_sum 120.301050\n"));
    free(out);
}

static void test_hist_with_labels(void **state)
{
    struct metrics_hist h;
    char *out;

    (void)state;
    memset(&h, 0, sizeof(h));
    metrics_hist_observe(&h, -1); /* a clock step back counts as 0 */
    out = written("route=\"/v1/kv/*\"", &h);
    assert_non_null(strstr(out, "x_seconds_bucket{route=\"/v1/kv/*\",le=\"0.0001\"} 1\n"));
    assert_non_null(strstr(out, "x_seconds_sum{route=\"/v1/kv/*\"} 0.000000\n"));
    assert_non_null(strstr(out, "x_seconds_count{route=\"/v1/kv/*\"} 1\n"));
    free(out);
}

static void test_route_labels_are_bounded(void **state)
{
    int other = api_metrics_route("/no/such/path");

    (void)state;
    assert_int_equal(api_metrics_route("/v1/kv/a"), api_metrics_route("/v1/kv/b/c/d"));
    assert_int_not_equal(api_metrics_route("/v1/kv/a"), other);
    assert_int_equal(api_metrics_route("/v1/kv/"), other); /* a prefix needs something after */
    assert_int_equal(api_metrics_route("/v1/membersX"), other);
    assert_int_not_equal(api_metrics_route("/v1/agent/run"), api_metrics_route("/v1/agent/run/x"));
    assert_int_not_equal(api_metrics_route("/v1/place"), api_metrics_route("/v1/place/x"));
    assert_int_equal(api_metrics_route("/ui/ui.js"), api_metrics_route("/ui/index.html"));
    assert_int_not_equal(api_metrics_route("/metrics"), other);
}

static void test_hist_quantile_interpolates_within_a_bucket(void **state)
{
    struct metrics_hist h, sum;

    (void)state;
    memset(&h, 0, sizeof(h));
    assert_true(metrics_hist_quantile(&h, 0.99) == 0);
    for (int i = 0; i < 99; i++)
        metrics_hist_observe(&h, 0.0002); /* in (0.0001, 0.00025] */
    metrics_hist_observe(&h, 0.2);        /* in (0.1, 0.25] */
    /* the 99th of 100 is the last of the first bucket's: its upper bound */
    assert_true(metrics_hist_quantile(&h, 0.99) > 0.00024 &&
                metrics_hist_quantile(&h, 0.99) <= 0.00025);
    assert_true(metrics_hist_quantile(&h, 1.0) > 0.1 && metrics_hist_quantile(&h, 1.0) <= 0.25);
    metrics_hist_observe(&h, 120); /* above every bound: the last bound */
    assert_true(metrics_hist_quantile(&h, 1.0) == 60);
    memset(&sum, 0, sizeof(sum));
    metrics_hist_add(&sum, &h);
    metrics_hist_add(&sum, &h);
    assert_int_equal(sum.count, 2 * h.count);
    assert_int_equal(sum.bucket[1], 2 * h.bucket[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets_are_cumulative),
        cmocka_unit_test(test_hist_with_labels),
        cmocka_unit_test(test_route_labels_are_bounded),
        cmocka_unit_test(test_hist_quantile_interpolates_within_a_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
