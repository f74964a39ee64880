/* repl_drive: wires core/repl to the agent. Deltas ride on gossip as user
 * broadcasts (swim_broadcast_user out, SWIM_EV_USER in); anti-entropy runs
 * over the gossip transport's streams, told apart from membership streams
 * by repl_is_stream; a sync timer picks a random live peer, a GC timer
 * collects tombstones that every live member holds. Membership events
 * become history, wake blocking queries (a dead node's instances stop being
 * served), start a sync with a member that (re)appears, and a reaped
 * member's records are forgotten. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog_impl.h"
#include "agent/log.h"
#include "agent/store_catalog.h"

#define GC_INTERVAL_MS   30000
#define EVENTS_KEEP_MS   (3600u * 1000u) /* our user events are deleted after an hour */

int repl_drive_serving(void *ud, const char *node)
{
    struct agent *a = ud;
    const struct swim_member *m;

    if (!a->swim || strcmp(node, a->cfg.node) == 0)
        return 1;
    m = swim_member_find(a->swim, node);
    return m && (m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT);
}

static int live(void *ud, const char *node)
{
    return repl_drive_serving(ud, node);
}

/* The member at addr; ip_only for inbound streams, which come from an
 * ephemeral port. NULL when none or when several share the IP. */
static const char *name_by_addr(struct agent *a, const struct node_addr *addr, int ip_only)
{
    const char *found = NULL;
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (node_addr_eq(&m->addr, addr))
            return m->name;
        if (ip_only && m->addr.family == addr->family && memcmp(m->addr.ip, addr->ip, 16) == 0) {
            if (found)
                return NULL;
            found = m->name;
        }
    }
    return found;
}

void repl_drive_flush(struct agent *a)
{
    struct repl_out o;
    struct err e;

    if (!a->catalog)
        return;
    while (repl_poll_out(a->catalog->repl, &o)) {
        if (o.kind == REPL_OUT_BROADCAST) {
            if (swim_broadcast_user(a->swim, o.data, o.len, &e) < 0)
                log_warn("repl", "broadcast dropped: %s", e.msg);
        } else {
            const struct swim_member *m = swim_member_find(a->swim, o.to);
            if (m && a->net)
                net_send_stream(a->net, &m->addr, o.data, o.len);
        }
        free(o.data);
    }
}

static void sync_with(struct agent *a, const char *name)
{
    if (strcmp(name, a->cfg.node) != 0)
        repl_sync(a->catalog->repl, name);
}

void repl_drive_event(struct agent *a, const struct swim_event *ev)
{
    struct catalog *c = a->catalog;
    char addr[64];
    struct err e;

    if (!c)
        return;
    node_addr_str(&ev->addr, addr, sizeof(addr));
    switch (ev->kind) {
    case SWIM_EV_USER:
        if (repl_recv_broadcast(c->repl, agent_wall_ms(), NULL, ev->data, ev->len, &e) < 0)
            log_debug("repl", "dropped a delta: %s", e.msg);
        break;
    case SWIM_EV_JOIN:
        c->members_index++;
        history_add(a, "member", ev->name, "joined at %s (incarnation %u)", addr,
                    ev->incarnation);
        sync_with(a, ev->name); /* a new or returning member: reconcile now */
        break;
    case SWIM_EV_UPDATE:
        history_add(a, "member", ev->name, "updated: %s, incarnation %u", addr, ev->incarnation);
        break;
    case SWIM_EV_SUSPECT:
        history_add(a, "member", ev->name, "suspect (incarnation %u)", ev->incarnation);
        break;
    case SWIM_EV_DEAD:
        c->members_index++;
        history_add(a, "member", ev->name, "dead (incarnation %u)", ev->incarnation);
        break;
    case SWIM_EV_LEFT:
        c->members_index++;
        history_add(a, "member", ev->name, "left the cluster");
        break;
    case SWIM_EV_REAP:
        c->members_index++;
        if (catalog_save(a, &e) < 0) /* what is pending goes first: saved is reset below */
            log_warn("store", "saving the catalog: %s", e.msg);
        repl_forget(c->repl, ev->name);
        if (store_begin(a->store, &e) < 0 ||
            store_records_drop_origin(a->store, ev->name, &e) < 0 ||
            store_commit(a->store, &e) < 0) {
            store_rollback(a->store);
            log_warn("store", "forgetting the records of %s: %s", ev->name, e.msg);
        }
        crdt_digest_release(&c->saved);
        crdt_digest(c->crdt, &c->saved);
        history_add(a, "member", ev->name, "reaped: its instances and records are forgotten");
        break;
    case SWIM_EV_JOINED:
        {
            /* our own join: reconcile with a member now rather than at the next tick */
            const char *n = name_by_addr(a, &ev->addr, 0);
            if (n)
                sync_with(a, n);
        }
        break;
    default:
        break;
    }
}

int repl_drive_stream(struct agent *a, const struct node_addr *from, const uint8_t *buf,
                      size_t len, uint8_t **reply, size_t *reply_len, int *rc)
{
    struct err e;
    const char *name;

    if (!a->catalog || !repl_is_stream(buf, len))
        return 0;
    name = name_by_addr(a, from, 1);
    *rc = repl_recv_stream(a->catalog->repl, agent_wall_ms(), name ? name : "", buf, len, reply,
                           reply_len, &e);
    if (*rc < 0)
        log_debug("repl", "dropped a sync stream: %s", e.msg);
    return 1;
}

int repl_drive_stream_reply(struct agent *a, const struct node_addr *to, const uint8_t *buf,
                            size_t len)
{
    struct err e;
    const char *name;

    if (!a->catalog || !repl_is_stream(buf, len))
        return 0;
    name = name_by_addr(a, to, 0);
    if (repl_recv_stream(a->catalog->repl, agent_wall_ms(), name ? name : "", buf, len, NULL,
                         NULL, &e) < 0)
        log_debug("repl", "dropped a sync reply: %s", e.msg);
    return 1;
}

/* ---- timers ---- */

static uint32_t sync_interval(struct agent *a)
{
    uint32_t base = a->cfg.profile == SWIM_PROFILE_FAST ? 2000 : 10000;
    return base - base / 4 + randombytes_uniform(base / 2); /* +-25%: peers do not align */
}

static void sync_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    size_t n = swim_member_count(a->swim), k = 0;
    const char **live_names = calloc(n ? n : 1, sizeof(*live_names));

    for (size_t i = 0; live_names && i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (m->state == SWIM_ALIVE && strcmp(m->name, a->cfg.node) != 0)
            live_names[k++] = m->name;
    }
    if (k)
        repl_sync(a->catalog->repl, live_names[randombytes_uniform((uint32_t)k)]);
    free(live_names);
    uv_timer_start(t, sync_cb, sync_interval(a), 0);
    agent_drive(a);
}

static int held(void *ud, const char *origin, uint8_t kind, const char *key)
{
    struct agent *a = ud;
    return crdt_get(a->catalog->crdt, origin, kind, key) != NULL;
}

struct old_events {
    uint64_t before;
    size_t n;
    char keys[64][24];
};

static int find_old_event(void *ud, const struct crdt_rec *r)
{
    struct old_events *o = ud;

    if (r->kind == CRDT_EVENT && !r->deleted && hlc_wall_ms(r->hlc) < o->before && o->n < 64)
        snprintf(o->keys[o->n++], sizeof(o->keys[0]), "%s", r->key);
    return 0;
}

static void gc_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    struct catalog *c = a->catalog;
    struct old_events old = {.before = agent_wall_ms() - EVENTS_KEEP_MS};
    struct err e;
    size_t n = repl_gc(c->repl, live, a);

    if (n) {
        log_debug("repl", "collected %zu tombstones", n);
        if (store_begin(a->store, &e) < 0 || store_tombstones_prune(a->store, held, a, &e) < 0 ||
            store_commit(a->store, &e) < 0) {
            store_rollback(a->store);
            log_warn("store", "pruning tombstones: %s", e.msg);
        }
    }
    crdt_scan_origin(c->crdt, crdt_self(c->crdt), find_old_event, &old);
    for (size_t i = 0; i < old.n; i++)
        repl_del(c->repl, agent_wall_ms(), CRDT_EVENT, old.keys[i], NULL);
    agent_drive(a);
}

void repl_drive_start(struct agent *a)
{
    struct catalog *c = a->catalog;

    uv_timer_start(&c->sync_timer, sync_cb, sync_interval(a), 0);
    uv_timer_start(&c->gc_timer, gc_cb, GC_INTERVAL_MS, GC_INTERVAL_MS);
}
