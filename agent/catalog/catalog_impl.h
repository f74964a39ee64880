/* catalog_impl: the catalog's state inside the agent, shared by the files
 * that wire it: catalog.c (registrations, saving, the index), repl_drive.c
 * (gossip and anti-entropy), checks.c (probes), services_dir.c (service
 * files), history.c (the event history). Other folders read the catalog
 * through it too, today: agent.c (drive and stop), the api/ endpoints,
 * dns/dnsd.c (answers from the replica), super/super_catalog.c and
 * trust/bundle.c (history events). Narrowing them to catalog.h is open
 * work (docs/architecture.md). Not for core/ or cli/. */
#ifndef TROUPE_CATALOG_IMPL_H
#define TROUPE_CATALOG_IMPL_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "agent/catalog/catalog.h"
#include "agent/metrics.h"
#include "core/crdt.h"
#include "core/repl.h"
#include "core/swim.h"

struct check_run; /* checks.c */
struct api_wait;  /* api_block.c */
struct hist_item; /* history.c */

/* One instance of ours. Its value lives in the CRDT store (our record under
 * its id); this keeps what only the owner needs: who registered it and its
 * running checks. */
struct svc_local {
    struct svc_local *next;
    char id[CAT_ID_MAX + 1];
    uint8_t source; /* enum catalog_source */
    char *file;     /* CATALOG_SRC_FILE: the file it came from (heap) */
    size_t n_checks;
    struct check_run *checks[CATALOG_CHECKS_MAX];
};

#define CATALOG_HISTORY_QUEUE_MAX 10000

struct catalog {
    struct agent *a;
    struct crdt *crdt;
    struct repl *repl;
    struct svc_local *svcs;
    size_t n_svcs;

    uv_timer_t sync_timer;  /* anti-entropy with a random live peer */
    uv_timer_t gc_timer;    /* tombstone collection, old user events */
    uv_timer_t save_timer;  /* merged records and history go to disk in batches */
    uv_timer_t later_timer; /* deregistrations decided inside a check's callback */

    struct crdt_digest saved; /* origin -> highest version the records table holds */
    uint64_t saved_index;     /* crdt_index when last saved */
    uint64_t saved_self;      /* our own version when last saved (saved may lack us) */
    uint64_t members_index;   /* membership changes that change what queries return */
    uint64_t notified_index;  /* the index blocking queries last saw */

    struct {
        catalog_check_fn fn;
        void *ud;
    } hooks[CATALOG_HOOKS_MAX];
    size_t n_hooks;

    struct api_wait *waiters; /* parked blocking queries */
    size_t n_waiters;

    char (*dereg_later)[CAT_ID_MAX + 1]; /* heap array of ids */
    size_t n_dereg_later;

    uint64_t event_seq; /* our last user event */
    int opening;        /* restoring at start: one save at the end, not one per instance */

    /* reaped members: records of theirs that peers still send are dropped
     * again, until they come back or the entry expires */
    struct catalog_forgotten {
        char name[SWIM_NAME_MAX + 1];
        uint64_t until_ms;
    } * forgotten;
    size_t n_forgotten;
    /* origins we hold records of that the membership does not list (reaped
     * while we were away): since when; forgotten after --reap-after-s */
    struct catalog_unlisted {
        char name[SWIM_NAME_MAX + 1];
        uint64_t since_ms;
    } * unlisted;
    size_t n_unlisted;

    struct hist_item *hist_head, *hist_tail; /* history not yet on disk */
    size_t hist_n;
    uint64_t hist_dropped;
    uint64_t hist_count; /* events recorded since start: part of the index */
    uint64_t hist_since_trim;
    uint64_t save_errors;
    uint64_t last_sync_ms; /* wall: the last sync reply of ours merged; 0 none */

    /* checks.c: troupe_checks_* */
    uint64_t check_runs, check_flaps;
    struct metrics_hist check_duration;
};

/* catalog.c */
int catalog_open(struct agent *a, struct err *e);
void catalog_close(struct agent *a); /* closes the handles; frees in catalog_free */
void catalog_free(struct agent *a);
uint64_t catalog_index(struct agent *a);
void catalog_view(struct agent *a, struct cat_view *v);
/* After every input: schedule a save, wake the blocking queries. */
void catalog_changed(struct agent *a);
/* Writes what changed to disk now (an API write is answered after this). */
int catalog_save(struct agent *a, struct err *e);
/* A tombstone for key of a last-writer-wins kind whoever wrote it (ours,
 * with a newer stamp, wins); when we hold no live record of it, stub is
 * written first so that we have one to delete. Not saved: the caller
 * calls catalog_save. 1 when it was deleted, 0 when there was no live
 * record, or a negative code. */
int catalog_lww_del(struct agent *a, uint8_t kind, const char *key, const void *stub,
                    size_t stub_len, struct err *e);
struct svc_local *catalog_find(struct agent *a, const char *id);
/* Called by checks.c after a check's status changed and was written. */
void catalog_check_changed(struct agent *a, const char *instance, const char *check, uint8_t from,
                           uint8_t to);
/* Deregisters id from the loop, outside of the caller's stack. */
void catalog_deregister_later(struct agent *a, const char *id);
/* Every registration of source `src` whose id is not in keep (n ids) goes. */
void catalog_drop_others(struct agent *a, uint8_t src, const char (*keep)[CAT_ID_MAX + 1],
                         size_t n);

/* Prometheus lines of the catalog and replication counters. */
void catalog_write_metrics(struct agent *a, FILE *f);
/* checks.c: of the checks of our instances. */
void checks_write_metrics(struct agent *a, FILE *f);

/* repl_drive.c */
void repl_drive_start(struct agent *a);
void repl_drive_flush(struct agent *a); /* repl outputs -> gossip and streams */
void repl_drive_event(struct agent *a, const struct swim_event *ev);
/* A stream message that is a repl frame; returns 1 when it was one. */
int repl_drive_stream(struct agent *a, const struct node_addr *from, const uint8_t *buf, size_t len,
                      uint8_t **reply, size_t *reply_len, int *rc);
int repl_drive_stream_reply(struct agent *a, const struct node_addr *to, const uint8_t *buf,
                            size_t len);
int repl_drive_serving(void *ud, const char *node); /* cat_serving_fn over swim */
/* Our stream to `to` failed: a sync with it is given up. */
void repl_drive_failed(struct agent *a, const struct node_addr *to);

/* checks.c */
struct check_run *checks_start(struct agent *a, const char *instance,
                               const struct catalog_check_def *def, const struct cat_check *prev);
void checks_stop(struct check_run *r); /* frees once its handles are closed */
const char *checks_id(const struct check_run *r);
/* The definition it runs (the run's own; valid while it runs). */
const struct catalog_check_def *checks_def(const struct check_run *r);
uint8_t checks_status(const struct check_run *r);
/* A TTL check's report (pass/warn/fail). -EINVAL when not a ttl check. */
int checks_report(struct check_run *r, uint8_t status, const char *output, size_t len,
                  struct err *e);

/* services_dir.c: (re)reads the service files of --config-dir. */
void services_dir_load(struct agent *a);

/* history.c */
void history_add(struct agent *a, const char *kind, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int history_flush(struct agent *a, struct err *e);
void history_free(struct agent *a);

#endif
