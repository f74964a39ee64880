/* catalog: our registrations, the replicated store's life in the agent
 * (opening it from disk, saving it back in batches), the index of blocking
 * queries, and the check hooks (see catalog.h and catalog_impl.h). Gossip
 * is repl_drive.c's, probes are checks.c's, JSON is services.c's. */
#include "agent/catalog/catalog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/api/api_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/catalog/services.h"
#include "agent/store/store_catalog.h"
#include "core/mem.h"

#define SAVE_DELAY_MS 200 /* merged records reach the disk in batches this far apart */
#define ENC_MAX       (16u << 10)

static const char *const source_names[] = {"", "api", "file", "supervisor"};

/* ---- the index and saving ---- */

uint64_t catalog_index(struct agent *a)
{
    struct catalog *c = a->catalog;
    return crdt_index(c->crdt) + c->members_index + c->hist_count;
}

void catalog_view(struct agent *a, struct cat_view *v)
{
    v->c = a->catalog->crdt;
    v->serving = repl_drive_serving;
    v->ud = a;
}

static int save_rec(void *ud, const struct crdt_rec *r)
{
    struct agent *a = ud;
    struct err e;
    int own = strcmp(r->origin, crdt_self(a->catalog->crdt)) == 0, rc;

    /* the digest leaves us out for a while after a start (crdt_digest): our
     * own records of this boot already on disk are not written again (one
     * from before it may be a peer's newer copy of ours, taken as it is) */
    if (own && r->version <= a->catalog->saved_self &&
        r->version > crdt_boot_floor(a->catalog->crdt))
        return 0;
    if ((rc = store_record_put(a->store, r, &e)) < 0) {
        log_warn("store", "%s", e.msg);
        return rc;
    }
    if (r->kind == CRDT_EVENT && !r->deleted && !own) {
        struct cat_event ev;
        if (cat_event_decode(&ev, r->val, r->len, NULL) == 0)
            history_add(a, "user", ev.name, "from %s: %.*s", r->origin, (int)ev.payload_len,
                        (const char *)ev.payload);
    }
    return 0;
}

int catalog_save(struct agent *a, struct err *e)
{
    struct catalog *c = a->catalog;
    int rc;

    if (crdt_index(c->crdt) == c->saved_index && !c->hist_head)
        return 0;
    if ((rc = store_begin(a->store, e)) < 0)
        goto fail;
    if (crdt_index(c->crdt) != c->saved_index) {
        if ((rc = crdt_delta(c->crdt, &c->saved, save_rec, a)) < 0) {
            err_set(e, rc, "saving the catalog: see the log");
            goto fail;
        }
    }
    if ((rc = history_flush(a, e)) < 0 || (rc = store_commit(a->store, e)) < 0)
        goto fail;
    crdt_digest_release(&c->saved);
    crdt_digest(c->crdt, &c->saved);
    c->saved_index = crdt_index(c->crdt);
    c->saved_self = crdt_self_version(c->crdt);
    return 0;
fail:
    store_rollback(a->store);
    c->save_errors++;
    return rc;
}

int catalog_lww_del(struct agent *a, uint8_t kind, const char *key, const void *stub,
                    size_t stub_len, struct err *e)
{
    const struct crdt_rec *r = crdt_lww(a->catalog->crdt, kind, key);
    uint64_t now = agent_wall_ms();
    int rc;

    if (!r || r->deleted)
        return 0;
    rc = repl_del(a->catalog->repl, now, kind, key, e);
    if (rc == 0) {
        /* we hold no live record of it: write one, so that we have one to delete */
        if ((rc = repl_put(a->catalog->repl, now, kind, key, stub, (uint32_t)stub_len, e)) < 0)
            return rc;
        rc = repl_del(a->catalog->repl, now, kind, key, e);
    }
    return rc < 0 ? rc : 1;
}

static void save_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    struct err e;

    if (catalog_save(a, &e) < 0)
        log_warn("store", "saving the catalog: %s", e.msg);
    catalog_changed(a); /* user events merged in became history: wake readers */
}

void catalog_changed(struct agent *a)
{
    struct catalog *c = a->catalog;
    uint64_t idx;

    if (!c)
        return;
    if ((crdt_index(c->crdt) != c->saved_index || c->hist_head) &&
        !uv_is_active((uv_handle_t *)&c->save_timer) && !a->closed)
        uv_timer_start(&c->save_timer, save_cb, SAVE_DELAY_MS, 0);
    idx = catalog_index(a);
    if (idx != c->notified_index) {
        c->notified_index = idx;
        api_block_notify(a);
    }
}

/* ---- registrations ---- */

struct svc_local *catalog_find(struct agent *a, const char *id)
{
    for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static struct svc_local *check_owner(struct agent *a, const char *check_id)
{
    for (struct svc_local *s = a->catalog->svcs; s; s = s->next)
        for (size_t i = 0; i < s->n_checks; i++)
            if (strcmp(checks_id(s->checks[i]), check_id) == 0)
                return s;
    return NULL;
}

static void kick(struct agent *a)
{
    if (a->swim && !a->closed)
        agent_drive(a);
    else
        catalog_changed(a);
}

/* The check record of ours under id, when it judges instance. */
static int prev_check(struct agent *a, const char *id, const char *instance, struct cat_check *out)
{
    const struct crdt_rec *r =
        crdt_get(a->catalog->crdt, crdt_self(a->catalog->crdt), CRDT_CHECK, id);

    if (!r || r->deleted || cat_check_decode(out, r->val, r->len, NULL) < 0)
        return 0;
    return strcmp(out->instance, instance) == 0;
}

static int validate(struct agent *a, const struct catalog_def *d, struct cat_instance *in,
                    struct err *e)
{
    int rc;

    *in = d->inst;
    if ((rc = cat_instance_check(in, e)) < 0)
        return rc;
    if (d->n_checks > CATALOG_CHECKS_MAX)
        return err_set(e, -EINVAL, "checks: at most %d", CATALOG_CHECKS_MAX);
    for (size_t i = 0; i < d->n_checks; i++) {
        const struct catalog_check_def *ck = &d->checks[i];
        struct svc_local *owner;
        if ((rc = health_cfg_check(&ck->cfg, e)) < 0)
            return err_wrap(e, "checks[%zu]", i);
        if (!ck->id[0])
            return err_set(e, -EINVAL, "checks[%zu].id: missing", i);
        if (ck->cfg.type == HEALTH_EXEC && !a->cfg.exec_checks)
            return err_set(e, -EPERM,
                           "checks[%zu]: exec checks are disabled on this agent "
                           "(start it with --enable-exec-checks)",
                           i);
        if (ck->cfg.type == HEALTH_EXEC && ck->argc == 0)
            return err_set(e, -EINVAL, "checks[%zu].args: missing", i);
        owner = check_owner(a, ck->id);
        if (owner && strcmp(owner->id, in->id) != 0)
            return err_set(e, -EEXIST, "checks[%zu].id: \"%s\" belongs to instance \"%s\"", i,
                           ck->id, owner->id);
        for (size_t k = 0; k < i; k++)
            if (strcmp(d->checks[k].id, ck->id) == 0)
                return err_set(e, -EINVAL, "checks[%zu].id: \"%s\" is used twice", i, ck->id);
    }
    return 0;
}

static void stop_checks(struct svc_local *s)
{
    for (size_t i = 0; i < s->n_checks; i++)
        checks_stop(s->checks[i]);
    s->n_checks = 0;
}

static int do_register(struct agent *a, const struct catalog_def *d, enum catalog_source src,
                       const char *file, int save_def, struct err *e)
{
    struct catalog *c = a->catalog;
    struct cat_instance *in = xmalloc(sizeof(*in));
    uint8_t *buf = xmalloc(ENC_MAX);
    struct svc_local *s;
    struct cat_check *prev = xmalloc(sizeof(*prev));
    uint64_t now = agent_wall_ms();
    int rc, len, fresh = 0;
    char old_checks[CATALOG_CHECKS_MAX][CAT_ID_MAX + 1];
    size_t n_old = 0;

    if ((rc = validate(a, d, in, e)) < 0)
        goto out;
    if ((len = cat_instance_encode(in, buf, ENC_MAX, e)) < 0) {
        rc = len;
        goto out;
    }
    if (save_def) {
        json_t *j = services_to_json(d);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        rc = store_service_save(a->store, in->id, (int)src, text, e);
        free(text);
        if (rc < 0)
            goto out;
    }
    if ((rc = repl_put(c->repl, now, CRDT_INSTANCE, in->id, buf, (uint32_t)len, e)) < 0)
        goto out;
    s = catalog_find(a, in->id);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "%s", in->id);
        s->next = c->svcs;
        c->svcs = s;
        c->n_svcs++;
        fresh = 1;
    } else {
        for (size_t i = 0; i < s->n_checks; i++)
            snprintf(old_checks[n_old++], CAT_ID_MAX + 1, "%s", checks_id(s->checks[i]));
        stop_checks(s);
    }
    s->source = (uint8_t)src;
    free(s->file);
    s->file = file ? xstrdup(file) : NULL;
    for (size_t i = 0; i < d->n_checks; i++) {
        int had = prev_check(a, d->checks[i].id, in->id, prev);
        s->checks[s->n_checks++] = checks_start(a, in->id, &d->checks[i], had ? prev : NULL);
    }
    /* checks the new definition dropped */
    for (size_t k = 0; k < n_old; k++) {
        int kept = 0;
        for (size_t i = 0; i < d->n_checks; i++)
            kept |= strcmp(d->checks[i].id, old_checks[k]) == 0;
        if (!kept)
            repl_del(c->repl, now, CRDT_CHECK, old_checks[k], NULL);
    }
    if (d->save_later)
        catalog_changed(a);
    else if (!c->opening && (rc = catalog_save(a, e)) < 0)
        goto out;
    history_add(a, "service", in->id, "%s %s (service %s, port %u, %zu checks, by %s)",
                fresh ? "registered" : "updated", in->id, in->service, in->port, d->n_checks,
                source_names[src]);
    log_info("catalog", "%s instance %s of service %s (%s)", fresh ? "registered" : "updated",
             in->id, in->service, source_names[src]);
    kick(a);
out:
    free(in);
    free(buf);
    free(prev);
    return rc;
}

int catalog_register(struct agent *a, const struct catalog_def *d, enum catalog_source src,
                     struct err *e)
{
    if (src < CATALOG_SRC_API || src > CATALOG_SRC_SUPERVISOR)
        return err_set(e, -EINVAL, "unknown registration source %d", (int)src);
    return do_register(a, d, src, NULL, src != CATALOG_SRC_FILE, e);
}

/* services_dir.c registers file definitions through here. */
int catalog_register_file(struct agent *a, const struct catalog_def *d, const char *file,
                          struct err *e);
int catalog_register_file(struct agent *a, const struct catalog_def *d, const char *file,
                          struct err *e)
{
    return do_register(a, d, CATALOG_SRC_FILE, file, 0, e);
}

static void unlink_svc(struct agent *a, struct svc_local *s)
{
    for (struct svc_local **p = &a->catalog->svcs; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            a->catalog->n_svcs--;
            return;
        }
    }
}

int catalog_deregister(struct agent *a, const char *id, struct err *e)
{
    struct catalog *c = a->catalog;
    struct svc_local *s = catalog_find(a, id);
    uint64_t now = agent_wall_ms();
    int rc;

    if (!s)
        return err_set(e, -ENOENT, "no instance of this agent has id \"%s\"", id);
    for (size_t i = 0; i < s->n_checks; i++)
        repl_del(c->repl, now, CRDT_CHECK, checks_id(s->checks[i]), NULL);
    stop_checks(s);
    repl_del(c->repl, now, CRDT_INSTANCE, s->id, NULL);
    unlink_svc(a, s);
    if ((rc = store_service_forget(a->store, s->id, e)) == 0)
        rc = catalog_save(a, e);
    history_add(a, "service", s->id, "deregistered %s", s->id);
    log_info("catalog", "deregistered instance %s", s->id);
    free(s->file);
    free(s);
    kick(a);
    return rc;
}

int catalog_on_check_change(struct agent *a, catalog_check_fn fn, void *ud)
{
    struct catalog *c = a->catalog;

    if (!c || c->n_hooks == CATALOG_HOOKS_MAX)
        return -ENOSPC;
    c->hooks[c->n_hooks].fn = fn;
    c->hooks[c->n_hooks].ud = ud;
    c->n_hooks++;
    return 0;
}

void catalog_check_changed(struct agent *a, const char *instance, const char *check, uint8_t from,
                           uint8_t to)
{
    struct catalog *c = a->catalog;
    char inst[CAT_ID_MAX + 1], ck[CAT_ID_MAX + 1];

    /* copies: a hook may deregister the instance, which frees the strings */
    snprintf(inst, sizeof(inst), "%s", instance);
    snprintf(ck, sizeof(ck), "%s", check);
    history_add(a, "check", ck, "%s -> %s (instance %s)", cat_status_name(from),
                cat_status_name(to), inst);
    log_info("check", "%s of %s: %s -> %s", ck, inst, cat_status_name(from), cat_status_name(to));
    for (size_t i = 0; i < c->n_hooks; i++)
        c->hooks[i].fn(c->hooks[i].ud, inst, ck, from, to);
}

static void later_cb(uv_timer_t *t)
{
    struct agent *a = t->data;
    struct catalog *c = a->catalog;
    struct err e;

    while (c->n_dereg_later) {
        char id[CAT_ID_MAX + 1];
        memcpy(id, c->dereg_later[--c->n_dereg_later], sizeof(id));
        if (catalog_find(a, id) && catalog_deregister(a, id, &e) < 0)
            log_warn("catalog", "deregistering %s: %s", id, e.msg);
    }
}

void catalog_deregister_later(struct agent *a, const char *id)
{
    struct catalog *c = a->catalog;

    c->dereg_later = xrealloc(c->dereg_later, (c->n_dereg_later + 1) * sizeof(*c->dereg_later));
    snprintf(c->dereg_later[c->n_dereg_later++], CAT_ID_MAX + 1, "%s", id);
    if (!a->closed)
        uv_timer_start(&c->later_timer, later_cb, 0, 0);
}

void catalog_drop_others(struct agent *a, uint8_t src, const char (*keep)[CAT_ID_MAX + 1], size_t n)
{
    struct svc_local *s, *next;
    struct err e;

    for (s = a->catalog->svcs; s; s = next) {
        int kept = 0;
        next = s->next;
        if (s->source != src)
            continue;
        for (size_t i = 0; i < n && !kept; i++)
            kept = strcmp(keep[i], s->id) == 0;
        if (!kept && catalog_deregister(a, s->id, &e) < 0)
            log_warn("catalog", "%s", e.msg);
    }
}

/* ---- opening: records from disk, registrations again, stale ones out ---- */

static int load_rec(void *ud, const struct crdt_rec *r)
{
    struct agent *a = ud;
    struct err e;

    if (crdt_load(a->catalog->crdt, r, &e) < 0)
        log_warn("store", "skipping a stored record %s/%s: %s", r->origin, r->key, e.msg);
    if (r->kind == CRDT_EVENT && strcmp(r->origin, a->cfg.node) == 0) {
        uint64_t seq = strtoull(r->key, NULL, 10);
        if (seq > a->catalog->event_seq)
            a->catalog->event_seq = seq;
    }
    return 0;
}

struct restore {
    struct agent *a;
    int source;
};

static int restore_def(void *ud, const struct catalog_def *d, struct err *e)
{
    struct restore *r = ud;
    return do_register(r->a, d, (enum catalog_source)r->source, NULL, 0, e);
}

static void restore_cb(void *ud, const char *id, int source, const char *def)
{
    struct restore r = {.a = ud, .source = source};
    struct err e;

    if (source != CATALOG_SRC_API && source != CATALOG_SRC_SUPERVISOR) {
        log_warn("catalog", "stored registration %s has an unknown source %d", id, source);
        return;
    }
    if (services_parse_text(def, strlen(def), restore_def, &r, &e) < 0)
        log_warn("catalog", "stored registration %s no longer applies: %s", id, e.msg);
}

struct stale {
    struct agent *a;
    size_t n;
    char (*ids)[CAT_ID_MAX + 1];
    uint8_t *kinds;
};

static int find_stale(void *ud, const struct crdt_rec *r)
{
    struct stale *st = ud;

    if (r->deleted || (r->kind != CRDT_INSTANCE && r->kind != CRDT_CHECK))
        return 0;
    if (r->kind == CRDT_INSTANCE ? catalog_find(st->a, r->key) != NULL
                                 : check_owner(st->a, r->key) != NULL)
        return 0;
    st->ids = xrealloc(st->ids, (st->n + 1) * sizeof(*st->ids));
    st->kinds = xrealloc(st->kinds, st->n + 1);
    snprintf(st->ids[st->n], CAT_ID_MAX + 1, "%s", r->key);
    st->kinds[st->n++] = r->kind;
    return 0;
}

/* Our records of instances and checks nobody registers any more (removed
 * while we were down, or a service file that is gone) are deleted. */
static void drop_stale(struct agent *a)
{
    struct stale st = {.a = a};
    uint64_t now = agent_wall_ms();

    crdt_scan_origin(a->catalog->crdt, crdt_self(a->catalog->crdt), find_stale, &st);
    for (size_t i = 0; i < st.n; i++) {
        log_info("catalog", "removing %s %s: no longer registered",
                 st.kinds[i] == CRDT_INSTANCE ? "instance" : "check", st.ids[i]);
        repl_del(a->catalog->repl, now, st.kinds[i], st.ids[i], NULL);
    }
    free(st.ids);
    free(st.kinds);
}

static void init_timer(struct agent *a, uv_timer_t *t)
{
    uv_timer_init(&a->loop, t);
    t->data = a;
}

/* The epoch of this boot's versions (crdt_boot): seconds since 2024, so
 * that (epoch << 32 | counter) stays below 2^63 (SQLite's integers) until
 * 2092. */
static uint64_t catalog_epoch(uint64_t wall_ms)
{
    const uint64_t since_s = 1704067200; /* 2024-01-01T00:00:00Z */
    uint64_t s = wall_ms / 1000;
    return s > since_s ? s - since_s : 1;
}

int catalog_open(struct agent *a, struct err *e)
{
    struct catalog *c = xcalloc(1, sizeof(*c));
    struct repl_config rc;
    int r;

    a->catalog = c;
    c->a = a;
    c->crdt = crdt_new(a->cfg.node);
    repl_config_default(&rc);
    if (a->cfg.profile == SWIM_PROFILE_FAST) {
        rc.sync_interval_ms = 2000;
        rc.sync_fast_ms = 200;
    }
    randombytes_buf(&rc.seed, sizeof(rc.seed));
    c->repl = repl_new(c->crdt, &rc);
    init_timer(a, &c->sync_timer);
    init_timer(a, &c->gc_timer);
    init_timer(a, &c->save_timer);
    init_timer(a, &c->later_timer);
    if ((r = store_records_load(a->store, load_rec, a, e)) < 0)
        return r;
    /* versions of this boot above any an older copy of the data dir gave */
    crdt_boot(c->crdt, catalog_epoch(agent_wall_ms()));
    crdt_digest(c->crdt, &c->saved);
    c->saved_index = crdt_index(c->crdt);
    c->saved_self = crdt_self_version(c->crdt);
    if (crdt_count(c->crdt))
        log_info("catalog", "restored %zu records from the data dir", crdt_count(c->crdt));
    c->opening = 1;
    r = store_services_load(a->store, restore_cb, a, e);
    if (r == 0)
        services_dir_load(a);
    c->opening = 0;
    if (r < 0)
        return r;
    drop_stale(a);
    history_add(a, "agent", a->cfg.node, "started (version %s, %zu own instances)", TROUPE_VERSION,
                c->n_svcs);
    return catalog_save(a, e);
}

static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

void catalog_close(struct agent *a)
{
    struct catalog *c = a->catalog;
    struct err e;

    if (!c)
        return;
    api_block_close(a);
    history_add(a, "agent", a->cfg.node, "stopped");
    if (catalog_save(a, &e) < 0)
        log_warn("store", "saving the catalog: %s", e.msg);
    for (struct svc_local *s = c->svcs; s; s = s->next)
        stop_checks(s);
    close_handle((uv_handle_t *)&c->sync_timer);
    close_handle((uv_handle_t *)&c->gc_timer);
    close_handle((uv_handle_t *)&c->save_timer);
    close_handle((uv_handle_t *)&c->later_timer);
}

void catalog_free(struct agent *a)
{
    struct catalog *c = a->catalog;
    struct svc_local *s, *next;

    if (!c)
        return;
    for (s = c->svcs; s; s = next) {
        next = s->next;
        free(s->file);
        free(s);
    }
    history_free(a);
    crdt_digest_release(&c->saved);
    repl_free(c->repl);
    crdt_free(c->crdt);
    free(c->dereg_later);
    free(c->forgotten);
    free(c->unlisted);
    free(c);
    a->catalog = NULL;
}

/* ---- /metrics ---- */

struct kind_count {
    size_t live[CRDT_KIND_MAX + 1], dead;
};

static int count_rec(void *ud, const struct crdt_rec *r)
{
    struct kind_count *k = ud;

    if (r->deleted)
        k->dead++;
    else if (r->kind <= CRDT_KIND_MAX)
        k->live[r->kind]++;
    return 0;
}

void catalog_write_metrics(struct agent *a, FILE *f)
{
    static const char *const kinds[CRDT_KIND_MAX + 1] = {
        NULL, "instance", "check", "kv", "event", "spec", "route", "token", "load",
    };
    struct catalog *c = a->catalog;
    const struct repl_stats *s;
    struct kind_count k;

    if (!c)
        return;
    s = repl_stats(c->repl);
    memset(&k, 0, sizeof(k));
    for (int i = 1; i <= CRDT_KIND_MAX; i++)
        crdt_scan(c->crdt, (uint8_t)i, NULL, 1, count_rec, &k);
    metrics_head(f, "troupe_catalog_records", "gauge",
                 "Records in the local replica, by kind, tombstones left out.");
    for (int i = 1; i <= CRDT_KIND_MAX; i++)
        fprintf(f, "troupe_catalog_records{kind=\"%s\"} %zu\n", kinds[i], k.live[i]);
    metrics_one(f, "troupe_catalog_tombstones", "gauge",
                "Tombstones in the local replica, not collected yet.", k.dead);
    metrics_one(f, "troupe_catalog_local_instances", "gauge", "Instances registered on this agent.",
                c->n_svcs);
    metrics_one(f, "troupe_catalog_index", "gauge", "The index of blocking queries.",
                catalog_index(a));
    metrics_one(f, "troupe_catalog_blocking_queries", "gauge", "Blocking queries parked.",
                c->n_waiters);
    if (c->last_sync_ms)
        metrics_one(f, "troupe_catalog_last_sync_age_seconds", "gauge",
                    "Seconds since the last anti-entropy exchange this agent completed.",
                    (agent_wall_ms() - c->last_sync_ms) / 1000);
#define COUNTER(name, value, help) metrics_one(f, "troupe_catalog_" name, "counter", help, value)
    COUNTER("deltas_out_total", s->broadcasts_out, "Records handed to gossip as deltas.");
    COUNTER("delta_payloads_out_total", s->payloads_out,
            "Gossip payloads the deltas were packed into.");
    COUNTER("deltas_in_total", s->broadcasts_in, "Deltas received from gossip.");
    COUNTER("records_merged_total", s->records_merged, "Remote records that changed the replica.");
    COUNTER("records_stale_total", s->records_stale, "Remote records already held.");
    COUNTER("gaps_total", s->gaps, "Gossip records that showed a gap in their origin's versions.");
    COUNTER("syncs_total", s->syncs, "Anti-entropy exchanges.");
    COUNTER("syncs_equal_total", s->syncs_equal,
            "Anti-entropy exchanges that found both digests equal.");
    COUNTER("syncs_fast_total", s->syncs_fast, "Anti-entropy exchanges started early: behind.");
    COUNTER("syncs_busy_total", s->syncs_busy, "Sync requests postponed: one in flight already.");
    COUNTER("sync_timeouts_total", s->sync_timeouts, "Anti-entropy exchanges given up.");
    COUNTER("census_sent_total", s->census_out,
            "Censuses sent to members behind on an origin whose deletes were collected.");
    COUNTER("census_bytes_total", s->census_bytes_out, "Bytes of the censuses sent.");
    COUNTER("census_dropped_total", s->census_dropped,
            "Records dropped here because a census showed them deleted and collected.");
#undef COUNTER
    metrics_head(f, "troupe_catalog_sync_records_total", "counter",
                 "Records carried by anti-entropy, by direction.");
    fprintf(f,
            "troupe_catalog_sync_records_total{dir=\"in\"} %llu\n"
            "troupe_catalog_sync_records_total{dir=\"out\"} %llu\n",
            (unsigned long long)s->sync_records_in, (unsigned long long)s->sync_records_out);
    metrics_one(f, "troupe_catalog_decode_errors_total", "counter",
                "Malformed replication input dropped.", s->decode_errors);
    metrics_one(f, "troupe_catalog_repl_dropped_total", "counter",
                "Replication outputs dropped: the queue was full.", s->dropped);
    metrics_one(f, "troupe_catalog_tombstones_collected_total", "counter", "Tombstones collected.",
                s->gc_collected);
    metrics_one(f, "troupe_catalog_history_dropped_total", "counter",
                "History events dropped: the queue was full.", c->hist_dropped);
    metrics_one(f, "troupe_catalog_save_errors_total", "counter",
                "Failed writes of the replica to disk.", c->save_errors);
}
