/* json_field: the field checks that core's JSON document parsers share
 * (service specs, cluster specs, proxy routes): unknown keys refused, strings
 * and integers within bounds, names of the one shape specs use. Every error
 * names its field. Pure: jansson and libc. */
#ifndef TROUPE_JSON_FIELD_H
#define TROUPE_JSON_FIELD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Fails on the first key of obj not in allowed (NULL-terminated), naming it
 * as "where.key" (or "key" when where is ""). */
int jfield_only_keys(json_t *obj, const char *where, const char *const *allowed, struct err *e);

/* A string field: a string of 1..max bytes without NUL; *out points into v. */
int jfield_str(json_t *v, const char *field, size_t max, const char **out, struct err *e);

/* The same, copied into dst of cap bytes (the NUL included). */
int jfield_copy(json_t *v, const char *field, char *dst, size_t cap, struct err *e);

/* An integer field within [lo, hi]. */
int jfield_u64(json_t *v, const char *field, uint64_t lo, uint64_t hi, uint64_t *out,
               struct err *e);
int jfield_u32(json_t *v, const char *field, uint32_t lo, uint32_t hi, uint32_t *out,
               struct err *e);

/* 1..max lowercase letters, digits and '-', no '-' at either end: the names
 * of services and routes (they become DNS labels). */
int jfield_name_ok(const char *s, size_t max);

#endif
