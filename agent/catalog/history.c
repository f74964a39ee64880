/* history: what this agent saw and did (members joining, suspected, dead,
 * leaving; registrations; check transitions; config reloads; user events),
 * kept in the data dir's SQLite with time, kind, subject and detail. Items
 * queue in memory (bounded; drops are counted) and reach the disk with the
 * next catalog save, one transaction for a batch. The newest
 * HISTORY_KEEP events are kept. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/store/store_catalog.h"
#include "core/mem.h"

#define HISTORY_KEEP       100000
#define HISTORY_DETAIL_MAX 1024

struct hist_item {
    struct hist_item *next;
    int64_t time_ms;
    char kind[16];
    char *subject, *detail; /* heap */
};

void history_add(struct agent *a, const char *kind, const char *subject, const char *fmt, ...)
{
    struct catalog *c = a->catalog;
    struct hist_item *it;
    char detail[HISTORY_DETAIL_MAX];
    va_list ap;

    if (!c)
        return;
    if (c->hist_n >= CATALOG_HISTORY_QUEUE_MAX) {
        c->hist_dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    it = xcalloc(1, sizeof(*it));
    it->time_ms = (int64_t)agent_wall_ms();
    snprintf(it->kind, sizeof(it->kind), "%s", kind);
    it->subject = xstrdup(subject);
    it->detail = xstrdup(detail);
    if (c->hist_tail)
        c->hist_tail->next = it;
    else
        c->hist_head = it;
    c->hist_tail = it;
    c->hist_n++;
    c->hist_count++;
}

static void item_free(struct hist_item *it)
{
    free(it->subject);
    free(it->detail);
    free(it);
}

/* Inside the caller's transaction. */
int history_flush(struct agent *a, struct err *e)
{
    struct catalog *c = a->catalog;
    int rc;

    while (c->hist_head) {
        struct hist_item *it = c->hist_head;
        if ((rc = store_event_add(a->store, it->time_ms, it->kind, it->subject, it->detail, e)) < 0)
            return rc;
        c->hist_head = it->next;
        if (!c->hist_head)
            c->hist_tail = NULL;
        c->hist_n--;
        item_free(it);
        c->hist_since_trim++;
    }
    if (c->hist_since_trim >= 1000) {
        c->hist_since_trim = 0;
        if ((rc = store_events_trim(a->store, HISTORY_KEEP, e)) < 0)
            return rc;
    }
    return 0;
}

void history_free(struct agent *a)
{
    struct catalog *c = a->catalog;

    while (c->hist_head) {
        struct hist_item *it = c->hist_head;
        c->hist_head = it->next;
        item_free(it);
    }
    c->hist_tail = NULL;
    c->hist_n = 0;
}
