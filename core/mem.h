/* mem: the out-of-memory policy, decided once. xmalloc and friends abort
 * with a message when memory runs out; callers never check for NULL. Use
 * plain malloc only where recovery is real. */
#ifndef TROUPE_MEM_H
#define TROUPE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);            /* caller frees with free() */
void *xcalloc(size_t n, size_t sz); /* caller frees with free() */
void *xrealloc(void *p, size_t n);  /* caller frees with free() */
char *xstrdup(const char *s);       /* caller frees with free() */
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif
