/* proxy_pool: each route's pool of idle upstream connections (http), kept
 * alive per endpoint when a response allows it, taken again by the next
 * request to the same endpoint. An idle connection stays read, with the
 * callback it has while in use (starting and stopping reads costs system
 * calls per request); one that speaks or closes while idle is dropped. Not here: when a connection
 * may be reused (proxy_http.c). */
#include <stdlib.h>
#include <string.h>

#include "agent/proxy/pconn.h"

static void pup_closed(uv_handle_t *h)
{
    free(h->data);
}

void ppool_close_up(struct pup *u)
{
    u->c = NULL;
    if (!uv_is_closing((uv_handle_t *)&u->h))
        uv_close((uv_handle_t *)&u->h, pup_closed);
}

static void pool_unlink(struct pup *u)
{
    struct pup **pp = &u->rt->idle;

    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = u->next;
        u->rt->n_idle--;
    }
    u->rt = NULL;
    u->next = NULL;
}

void ppool_idle_read(struct pup *u, ssize_t n)
{
    if (n == 0)
        return;
    if (u->rt)
        pool_unlink(u);
    ppool_close_up(u);
}

struct pup *ppool_take(struct proxy_route *rt, const char *key)
{
    for (struct pup *u = rt->idle; u; u = u->next) {
        if (strcmp(u->key, key) != 0)
            continue;
        pool_unlink(u);
        return u;
    }
    return NULL;
}

void pconn_pool_close(struct proxy_route *rt)
{
    while (rt->idle) {
        struct pup *u = rt->idle;
        pool_unlink(u);
        ppool_close_up(u);
    }
}

/* The connection lets go of its upstream: into the pool when keep and the
 * route has room, else closed. */
void pconn_detach_up(struct pconn *c, int keep)
{
    struct pup *u = c->up;
    struct proxy_route *rt = c->rt;

    if (!u)
        return;
    c->up = NULL;
    u->c = NULL;
    if (keep && c->is_http && u->pending == 0 && u->h.write_queue_size == 0 && !rt->gone &&
        !rt->p->closing && rt->n_idle < PCONN_IDLE_MAX) {
        u->rt = rt;
        u->next = rt->idle;
        rt->idle = u;
        rt->n_idle++;
        /* it goes on being read (most often it already is: no system
         * call), so that an endpoint that closes it is seen */
        pconn_read_up(u);
        return;
    }
    ppool_close_up(u);
}

void pconn_pool_prune(struct proxy_route *rt)
{
    struct pup *u = rt->idle, *next;

    for (; u; u = next) {
        next = u->next;
        if (bal_find(&rt->bal, u->key) < 0) {
            pool_unlink(u);
            ppool_close_up(u);
        }
    }
}
