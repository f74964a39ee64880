/* err: how troupe carries an error. A function returns 0 or a negative
 * errno-style code; when it fails it may also fill a struct err with a
 * message built where the failure happened. The message is printed once, at
 * the edge (main, the API handler, the log). Owns nothing else. */
#ifndef TROUPE_ERR_H
#define TROUPE_ERR_H

#include <errno.h>

struct err {
    int code;      /* negative errno-style code, 0 when clear */
    char msg[256]; /* human text naming what is wrong */
};

/* Clears e (e may be NULL). */
void err_clear(struct err *e);

/* Records code and a printf-style message in e (e may be NULL) and returns
 * code, so callers write `return err_set(e, -EINVAL, "bad port %s", s);`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in e with "what: " (e may be NULL); returns e->code. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
