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

struct agent;

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

#endif
