/* place_autoscale: the autoscaler of every cluster spec with "scale", as this
 * node runs it (see place_autoscale.c). For place_drive.c only. */
#ifndef TROUPE_PLACE_AUTOSCALE_H
#define TROUPE_PLACE_AUTOSCALE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/autoscale.h"
#include "core/place.h"

struct agent;
struct place_autoscale;

#define PLACE_AUTOSCALE_MS 2000 /* one decision per spec this often (the load records' period) */

struct place_autoscale *place_autoscale_new(void);
void place_autoscale_free(struct place_autoscale *ps); /* NULL is a no-op */

/* Takes the specs of a placement: a spec with "scale" gets (or keeps) its
 * autoscaler and its count becomes the autoscaler's; the autoscalers of
 * specs that went are dropped when prune is set. */
void place_autoscale_specs(struct place_autoscale *ps, struct place_spec *specs, size_t n,
                           int prune);

/* When PLACE_AUTOSCALE_MS passed: sums the live members' load records of each
 * scaled spec, decides, and puts every change in the history. Returns 1
 * when a count changed (place again). */
int place_autoscale_tick(struct agent *a, struct place_autoscale *ps, uint64_t now_ms);

/* The "scale" object of troupe status for spec name, or NULL (new ref). */
json_t *place_autoscale_status(const struct place_autoscale *ps, const char *name);
/* troupe_autoscale_* lines of /metrics. */
void place_autoscale_write_metrics(const struct place_autoscale *ps, FILE *f);

#endif
