/* place_drive: runs this node's share of the cluster's service specs. On
 * every change of the replicated specs or of membership (checked a few
 * times a second, acted on once it settled), it computes core/place over
 * the live members and tells the supervisor (super_place) which slots of
 * each spec run here; slots it no longer owns stop. It also answers what
 * placement says, for GET /v1/place and troupe status. */
#ifndef TROUPE_PLACE_DRIVE_H
#define TROUPE_PLACE_DRIVE_H

#include <jansson.h>
#include <stdio.h>

#include "core/err.h"
#include "core/place.h"

struct agent;

/* The slot a cold-started instance runs as, beside the placed ones. */
#define PLACE_ACT_SLOT (PLACE_COUNT_MAX - 1)

/* Starts the driver (after the supervisor is open). Stop with place_drive_close. */
int place_drive_open(struct agent *a, struct err *e);
void place_drive_close(struct agent *a);
/* Something changed (a spec was written here): look again soon. */
void place_drive_kick(struct agent *a);
/* Desired against running, per spec (NULL: all): count, the slots with the
 * member placement gives each or the reason it cannot, and the instances
 * of the catalog that run it with their node and health (new reference). */
json_t *place_drive_status(struct agent *a, const char *name);
/* troupe_place_* lines of /metrics. */
void place_drive_write_metrics(struct agent *a, FILE *f);
/* Places again now (once the driver has settled), for a cold start. */
void place_drive_now(struct agent *a);

/* ---- place_act.c: cold starts on this node ---- */

/* A connection for service waits and no instance serves it (the proxy
 * holds it). 1: an instance starts (or runs, or is back from draining)
 * here; 0: it is to come from elsewhere (this node lacks a constraint's
 * tag, or scale.max instances exist already): wait for an endpoint;
 * -ENOENT: the service has no cluster spec with "scale" (answer as
 * today). sc gets the spec's scale fields when it has them. */
int place_act_request(struct agent *a, const char *service, struct place_scale *sc);
/* Whether service scales from zero (0, sc gets its scale fields) or not
 * (-ENOENT), starting nothing: what the proxy's threads are told. */
int place_act_scale(struct agent *a, const char *service, struct place_scale *sc);
/* A request for service went through this node's proxy (idle time restarts). */
void place_act_used(struct agent *a, const char *service);
/* The cold-started slot of name, as a mask for the supervisor (0: none). */
uint64_t place_act_slots(struct agent *a, const char *name);
/* Drains idle instances and stops drained ones (from the driver's timer). */
void place_act_tick(struct agent *a);
void place_act_open(struct agent *a);
void place_act_close(struct agent *a);
void place_act_write_metrics(struct agent *a, FILE *f);

#endif
