/* super: the supervisor of the agent, as the rest of agent/ uses it. It
 * runs the services of the applied specs (processes, or crun containers),
 * restarts them by core/sup's rules, captures their output into rotated
 * files, hands them their secrets as files, registers every instance in the
 * catalog, and re-adopts running instances after the agent restarts.
 * Leaving the agent (SIGTERM) leaves the instances running. */
#ifndef TROUPE_SUPER_H
#define TROUPE_SUPER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/err.h"

struct agent;
struct super;

/* Opens the supervisor: its tables in the data dir, the secrets key, and
 * every spec applied before, re-adopting the instances still running.
 * Free with super_close. */
int super_open(struct super **out, struct agent *a, struct err *e);
/* Closes handles and files; running instances keep running. NULL: no-op. */
void super_close(struct super *s);
/* troupe_supervisor_* lines for GET /metrics (super_metrics.c). */
void super_write_metrics(const struct super *s, FILE *f);

/* Applies a spec (JSON text): new, or a new version of a running service
 * (its instances are restarted with it). A bad spec changes nothing; e
 * names the field. The name of the service goes to name (64 bytes). */
int super_apply(struct super *s, const char *text, size_t len, char *name, struct err *e);
/* Runs the slots of a cluster spec that placement gave this node (bit k:
 * slot k, as instance k, registered with meta slot=k): new, a new version
 * (what runs restarts with it), or other slots (the ones no longer given
 * stop). On a new version, only the running instances of the slots in
 * `update` are restarted with it (the rolling update of agent/place);
 * the others keep their version until a later call allows them. text
 * NULL or slots 0: stops them all and forgets the spec. A node-local
 * service (troupe run) of that name wins: -EEXIST. The slots in `cold`
 * start for a connection that waits (a cold start): their readiness
 * checks are probed every few ms until they pass. */
int super_place(struct super *s, const char *name, const char *text, size_t len, uint64_t slots,
                uint64_t update, uint64_t cold, struct err *e);
/* Takes slot `slot` of a placed service out of the catalog (on) before it
 * stops, so that proxies stop choosing it while what it serves finishes,
 * or puts it back (off); why goes in its event. -ENOENT when it does not
 * run here. */
int super_drain(struct super *s, const char *name, uint32_t slot, int on, const char *why,
                struct err *e);
/* 1 when slot `slot` of a placed service runs here, is registered and not draining. */
int super_slot_serving(struct super *s, const char *name, uint32_t slot);
/* Calls cb for every service run for a cluster spec, with its slots. */
void super_placed_each(struct super *s, void (*cb)(void *ud, const char *name, uint64_t slots),
                       void *ud);
/* Applies the specs in CONFIG_DIR/run, every NAME.json (at start and on SIGHUP): new
 * and changed ones are applied, a refused one is logged with its file and
 * field and changes nothing, and a service whose file went away since the
 * last load is stopped and forgotten. */
void super_dir_load(struct super *s);
/* By hand: -ENOENT when there is no such service. */
int super_stop(struct super *s, const char *name, struct err *e);
int super_start(struct super *s, const char *name, struct err *e);
int super_restart(struct super *s, const char *name, struct err *e);
int super_scale(struct super *s, const char *name, uint32_t n, struct err *e);
/* Stops the instances and forgets the spec. */
int super_remove(struct super *s, const char *name, struct err *e);

/* The instances (of one service, or all when name is NULL) as JSON. */
json_t *super_ps_json(struct super *s, const char *name, struct err *e);
/* The spec of a service as JSON (new reference), NULL when none. */
json_t *super_spec_json(struct super *s, const char *name);

/* Secrets: stored encrypted in the data dir (see agent/super/secrets.c). */
int super_secret_put(struct super *s, const char *name, const void *val, size_t len, struct err *e);
int super_secret_rm(struct super *s, const char *name, struct err *e);
json_t *super_secret_list(struct super *s, struct err *e);

/* Log records of a service (instance -1: all), newer than since_ms, after
 * cursor (NULL: from the start), the last max_lines: {lines, cursor}. */
json_t *super_logs(struct super *s, const char *name, int instance, uint64_t since_ms,
                   const char *cursor, size_t max_lines, struct err *e);
/* The logger process (`troupe _logger DIR BASENAME`, started by the agent). */
int super_logger_main(int argc, char **argv);
/* The log directory of a service: DATA/logs/NAME. */
int super_log_dir(struct super *s, const char *name, char *out, size_t cap, struct err *e);

#endif
