/* api_block: blocking queries. A read with ?index=N waits until the
 * catalog index (records, membership changes that alter what is served,
 * history) moves past N, or until ?wait runs out, then answers as a plain
 * read would, with the index in X-Troupe-Index. A client loops on
 * index=<the last X-Troupe-Index> to see every change. Parked reads are
 * bounded; past the bound they are answered at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/catalog/services.h"
#include "core/mem.h"

#define WAIT_DEFAULT_MS (5u * 60u * 1000u)
#define WAIT_MAX_MS     (10u * 60u * 1000u)
#define WAITERS_MAX     4096

struct api_wait {
    struct api_wait *next;
    struct agent *a;
    struct httpd_req *req;
    api_read_fn fn;
    uint64_t index;
    uv_timer_t timer;
};

void api_set_index(struct agent *a, struct httpd_req *req)
{
    char v[32];

    snprintf(v, sizeof(v), "%llu", (unsigned long long)catalog_index(a));
    httpd_add_header(req, "X-Troupe-Index", v);
}

static void wait_closed(uv_handle_t *h)
{
    free(h->data);
}

static void unpark(struct api_wait *w)
{
    struct catalog *c = w->a->catalog;

    for (struct api_wait **p = &c->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            c->n_waiters--;
            break;
        }
    }
    uv_close((uv_handle_t *)&w->timer, wait_closed);
}

static void answer(struct api_wait *w)
{
    struct agent *a = w->a;
    struct httpd_req *req = w->req;
    api_read_fn fn = w->fn;

    unpark(w);
    fn(a, req);
}

static void wait_timeout(uv_timer_t *t)
{
    answer(t->data);
}

void api_park(struct agent *a, struct httpd_req *req, api_read_fn fn, uint64_t index,
              uint64_t wait_ms)
{
    struct catalog *c = a->catalog;
    struct api_wait *w;

    if (catalog_index(a) > index || wait_ms == 0 || c->n_waiters >= WAITERS_MAX || a->closed) {
        fn(a, req);
        return;
    }
    w = xcalloc(1, sizeof(*w));
    w->a = a;
    w->req = req;
    w->fn = fn;
    w->index = index;
    uv_timer_init(&a->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, wait_timeout, wait_ms, 0);
    w->next = c->waiters;
    c->waiters = w;
    c->n_waiters++;
}

int api_wait_param(struct httpd_req *req, uint64_t *wait_ms)
{
    char v[32];
    int rc = httpd_req_query(req, "wait", v, sizeof(v));

    *wait_ms = WAIT_DEFAULT_MS;
    if (rc == -1)
        return 0;
    if (rc < 0 || services_duration(v, wait_ms) < 0)
        return -1;
    if (*wait_ms > WAIT_MAX_MS)
        *wait_ms = WAIT_MAX_MS;
    return 0;
}

void api_block(struct agent *a, struct httpd_req *req, api_read_fn fn)
{
    uint64_t index = 0, wait_ms;
    int rc = api_query_uint(req, "index", &index);

    if (rc == 0) {
        fn(a, req);
        return;
    }
    if (rc < 0) {
        api_reply_error(req, 400, "index: expected a whole number (an X-Troupe-Index)");
        return;
    }
    if (api_wait_param(req, &wait_ms) < 0) {
        api_reply_error(req, 400, "wait: expected a duration such as \"30s\" or \"5m\"");
        return;
    }
    api_park(a, req, fn, index, wait_ms);
}

void api_block_notify(struct agent *a)
{
    struct catalog *c = a->catalog;
    uint64_t idx = catalog_index(a);
    struct api_wait *w;

again:
    /* an answer may touch the list (a read that saves): start over after each */
    for (w = c->waiters; w; w = w->next) {
        if (idx > w->index) {
            answer(w);
            goto again;
        }
    }
}

void api_block_close(struct agent *a)
{
    while (a->catalog->waiters)
        answer(a->catalog->waiters);
}
