/* repl_drive: wires core/repl to the agent. Deltas ride on gossip as user
 * broadcasts (swim_broadcast_user out, SWIM_EV_USER in); anti-entropy runs
 * over the gossip transport's streams, told apart from membership streams
 * by repl_is_stream; a sync timer runs repl_tick over the live members
 * (repl decides when and with whom), a GC timer collects tombstones that
 * every member not yet reaped holds. Membership events become history, wake
 * blocking queries (a dead node's instances stop being served), ask for a
 * sync with a member that (re)appears, and a reaped member's records are
 * forgotten. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/store/store_catalog.h"
#include "core/mem.h"

#define EVENTS_KEEP_MS (3600u * 1000u) /* our user events are deleted after an hour */
#define FORGOTTEN_MAX  1024
#define ADOPT_MAX      100000 /* keys one reaped member can hand over */

int repl_drive_serving(void *ud, const char *node)
{
    struct agent *a = ud;
    const struct swim_member *m;

    if (!a->swim || strcmp(node, a->cfg.node) == 0)
        return 1;
    m = swim_member_find(a->swim, node);
    return m && (m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT);
}

/* Whose digest must cover a tombstone before it is collected: every member
 * not yet reaped, dead and left ones included, and whether or not it wrote
 * a record. A member cut off or frozen gets the tombstone itself when it
 * returns; past --reap-after-s it no longer holds collection back, and if
 * it returns it learns by census (core/crdt.h) what was deleted meanwhile. */
static const char *member_name_at(void *ud, size_t i)
{
    struct agent *a = ud;
    return swim_member_at(a->swim, i)->name;
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

/* Drops every record of origin, from memory and disk. */
static void drop_origin(struct agent *a, const char *origin)
{
    struct catalog *c = a->catalog;
    struct err e;

    if (catalog_save(a, &e) < 0) /* what is pending goes first: saved is reset below */
        log_warn("store", "saving the catalog: %s", e.msg);
    repl_forget(c->repl, origin);
    if (store_begin(a->store, &e) < 0 || store_records_drop_origin(a->store, origin, &e) < 0 ||
        store_commit(a->store, &e) < 0) {
        store_rollback(a->store);
        log_warn("store", "forgetting the records of %s: %s", origin, e.msg);
    }
    crdt_digest_release(&c->saved);
    crdt_digest(c->crdt, &c->saved);
}

static int any_rec(void *ud, const struct crdt_rec *r)
{
    (void)ud;
    (void)r;
    return 1;
}

static void forgotten_del(struct catalog *c, size_t i)
{
    c->forgotten[i] = c->forgotten[--c->n_forgotten];
}

static void forgotten_add(struct agent *a, const char *name)
{
    struct catalog *c = a->catalog;
    uint64_t keep = a->cfg.reap_after_s ? a->cfg.reap_after_s * 1000 : 72ull * 3600 * 1000;

    for (size_t i = 0; i < c->n_forgotten; i++)
        if (strcmp(c->forgotten[i].name, name) == 0)
            forgotten_del(c, i);
    if (c->n_forgotten == FORGOTTEN_MAX)
        forgotten_del(c, 0);
    c->forgotten = xrealloc(c->forgotten, (c->n_forgotten + 1) * sizeof(*c->forgotten));
    snprintf(c->forgotten[c->n_forgotten].name, SWIM_NAME_MAX + 1, "%s", name);
    c->forgotten[c->n_forgotten++].until_ms = agent_wall_ms() + keep;
}

/* Records of a reaped member that a peer which has not reaped it yet sent
 * again are dropped again: the member is gone, so are its records. */
static void prune_forgotten(struct agent *a)
{
    struct catalog *c = a->catalog;
    uint64_t now = agent_wall_ms();

    for (size_t i = 0; i < c->n_forgotten;) {
        const char *name = c->forgotten[i].name;
        if (now > c->forgotten[i].until_ms || swim_member_find(a->swim, name)) {
            forgotten_del(c, i);
            continue;
        }
        if (crdt_scan_origin(c->crdt, name, any_rec, NULL)) {
            log_debug("repl", "dropping records of %s again: it was reaped", name);
            drop_origin(a, name);
        }
        i++;
    }
}

struct unlisted_scan {
    struct agent *a;
    char (*names)[SWIM_NAME_MAX + 1];
    size_t n;
};

static int note_unlisted(void *ud, const char *origin)
{
    struct unlisted_scan *u = ud;

    if (swim_member_find(u->a->swim, origin))
        return 0;
    u->names = xrealloc(u->names, (u->n + 1) * sizeof(*u->names));
    snprintf(u->names[u->n++], SWIM_NAME_MAX + 1, "%s", origin);
    return u->n == FORGOTTEN_MAX; /* the rest at the next round */
}

/* Records of an origin the membership does not list count for collection
 * (core/repl.h: after a start the list may not be whole yet). One that
 * stays unlisted for --reap-after-s was reaped while we were away, and is
 * forgotten as a reaped member is; else its records would hold every
 * tombstone back for good, and go back to peers that forgot it. */
static void prune_unlisted(struct agent *a)
{
    struct catalog *c = a->catalog;
    struct unlisted_scan u = {a, NULL, 0};
    uint64_t now = agent_wall_ms();
    uint64_t keep = a->cfg.reap_after_s ? a->cfg.reap_after_s * 1000 : 72ull * 3600 * 1000;
    struct catalog_unlisted *kept;
    size_t n_kept = 0;

    crdt_each_origin(c->crdt, note_unlisted, &u);
    if (!u.n && !c->n_unlisted)
        return;
    kept = xcalloc(u.n ? u.n : 1, sizeof(*kept));
    for (size_t i = 0; i < u.n; i++) {
        uint64_t since = now;
        for (size_t j = 0; j < c->n_unlisted; j++)
            if (strcmp(c->unlisted[j].name, u.names[i]) == 0)
                since = c->unlisted[j].since_ms;
        if (now - since >= keep) {
            log_info("repl", "forgetting the records of %s: not a member for %llu s", u.names[i],
                     (unsigned long long)(keep / 1000));
            drop_origin(a, u.names[i]);
            forgotten_add(a, u.names[i]);
            continue;
        }
        snprintf(kept[n_kept].name, SWIM_NAME_MAX + 1, "%s", u.names[i]);
        kept[n_kept++].since_ms = since;
    }
    free(c->unlisted);
    c->unlisted = kept;
    c->n_unlisted = n_kept;
    free(u.names);
}

static void rearm(struct agent *a);

void repl_drive_flush(struct agent *a)
{
    struct repl_out o;
    struct err e;

    if (!a->catalog)
        return;
    if (a->catalog->n_forgotten)
        prune_forgotten(a);
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
    rearm(a);
}

static void sync_with(struct agent *a, const char *name)
{
    if (strcmp(name, a->cfg.node) != 0)
        repl_sync_soon(a->catalog->repl, name);
}

/* The lowest-named live member, so that one agent adopts a reaped one's keys. */
static int adopter(struct agent *a)
{
    size_t n = swim_member_count(a->swim);

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (m->state == SWIM_ALIVE && strcmp(m->name, a->cfg.node) < 0)
            return 0;
    }
    return 1;
}

/* KV values, cluster specs, routes and API tokens are multi-writer data
 * (last writer wins): a reaped member's writes and deletes that decide a
 * read are written again by one live agent, with their stamps, before its
 * records are forgotten, so a key, spec, route or token neither vanishes
 * with the agent that last wrote it nor comes back when the agent that
 * deleted (revoked) it goes (core/crdt.h crdt_adopt_origin). */
static void adopt_kind(struct agent *a, const char *origin, uint8_t kind)
{
    static const char *const what[CRDT_KIND_MAX + 1] = {[CRDT_KV] = "keys",
                                                        [CRDT_SPEC] = "specs",
                                                        [CRDT_ROUTE] = "routes",
                                                        [CRDT_TOKEN] = "tokens"};
    size_t n;

    if (!adopter(a))
        return;
    n = repl_adopt(a->catalog->repl, origin, kind, ADOPT_MAX);
    if (n)
        log_info("repl", "adopted %zu %s last written or deleted by %s", n, what[kind], origin);
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
        history_add(a, "member", ev->name, "joined at %s (incarnation %u)", addr, ev->incarnation);
        /* a new or returning member: reconcile soon, with any member (all
         * nodes hear of a join at once: syncing with the joiner itself
         * would pile them onto it) */
        repl_sync_soon(c->repl, NULL);
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
        adopt_kind(a, ev->name, CRDT_KV);
        adopt_kind(a, ev->name, CRDT_SPEC);
        adopt_kind(a, ev->name, CRDT_ROUTE);
        adopt_kind(a, ev->name, CRDT_TOKEN);
        drop_origin(a, ev->name);
        forgotten_add(a, ev->name);
        history_add(a, "member", ev->name, "reaped: its instances and records are forgotten");
        break;
    case SWIM_EV_JOINED: {
        /* our own join: reconcile with a member now rather than at the next tick */
        const char *n = name_by_addr(a, &ev->addr, 0);
        if (n)
            sync_with(a, n);
    } break;
    default:
        break;
    }
}

int repl_drive_stream(struct agent *a, const struct node_addr *from, const uint8_t *buf, size_t len,
                      uint8_t **reply, size_t *reply_len, int *rc)
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
    if (repl_recv_stream(a->catalog->repl, agent_wall_ms(), name ? name : "", buf, len, NULL, NULL,
                         &e) < 0)
        log_debug("repl", "dropped a sync reply: %s", e.msg);
    else
        a->catalog->last_sync_ms = agent_wall_ms(); /* troupe_catalog_last_sync_age_seconds */
    return 1;
}

void repl_drive_failed(struct agent *a, const struct node_addr *to)
{
    const char *name;

    if (!a->catalog)
        return;
    name = name_by_addr(a, to, 0);
    if (name)
        repl_stream_failed(a->catalog->repl, name);
}

/* ---- timers ---- */

static const char *live_at(void *ud, size_t i)
{
    return ((const char **)ud)[i];
}

/* Runs repl's sync schedule over the live members and re-arms the timer
 * at its next deadline. */
static void sync_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    size_t n = swim_member_count(a->swim), k = 0;
    const char **live_names = xcalloc(n ? n : 1, sizeof(*live_names));
    struct repl_peers p = {0, live_at, live_names};
    uint64_t now = agent_wall_ms(), next;

    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(a->swim, i);
        if (m->state == SWIM_ALIVE && strcmp(m->name, a->cfg.node) != 0)
            live_names[k++] = m->name;
    }
    p.n = k;
    next = repl_tick(a->catalog->repl, now, &p);
    free(live_names);
    uv_timer_start(t, sync_cb, next > now ? next - now : 1, 0);
    agent_drive(a);
}

/* A sync asked for soon (a member joined, a gap, a notice) may be due
 * before the timer: it is brought forward. */
static void rearm(struct agent *a)
{
    struct catalog *c = a->catalog;
    uint64_t now = agent_wall_ms(), due = repl_next_due(c->repl);
    uint64_t in = due > now ? due - now : 0;

    if (!a->closed && uv_is_active((uv_handle_t *)&c->sync_timer) &&
        in < uv_timer_get_due_in(&c->sync_timer))
        uv_timer_start(&c->sync_timer, sync_cb, in, 0);
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
    struct repl_peers members = {a->swim ? swim_member_count(a->swim) : 0, member_name_at, a};
    size_t n;

    if (a->swim)
        prune_unlisted(a);
    n = repl_gc(c->repl, &members);

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
    uint64_t gc_ms = a->cfg.gc_interval_ms ? a->cfg.gc_interval_ms : 30000;

    uv_timer_start(&c->sync_timer, sync_cb, 0, 0);
    uv_timer_start(&c->gc_timer, gc_cb, gc_ms, gc_ms);
}
