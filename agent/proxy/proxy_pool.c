/* proxy_pool: each route's pool of idle upstream connections (http), kept
 * alive per endpoint when a response allows it, taken again by the next
 * request to the same endpoint. An idle connection stays read, with the
 * callback it has while in use (starting and stopping reads costs system
 * calls per request); one that speaks or closes while idle is dropped, and
 * one idle past the route's timeouts.upstream_idle_ms is closed, before
 * the endpoint's own keep-alive timeout closes it under a request. Not
 * here: when a connection may be reused (proxy_http.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

/* 1 when the endpoint has closed u (or spoken on it) and the loop has not
 * read that yet: a peek at the socket, no bytes taken. */
static int closed_unseen(struct pup *u)
{
    uv_os_fd_t fd;
    char b;
    ssize_t n;

    if (uv_fileno((uv_handle_t *)&u->h, &fd) < 0)
        return 1;
    n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

struct pup *ppool_take(struct proxy_route *rt, const char *key, int idempotent)
{
    uint64_t now = proxy_now(rt->p);
    struct pup *u = rt->idle, *next;

    for (; u; u = next) {
        next = u->next;
        if (strcmp(u->key, key) != 0)
            continue;
        pool_unlink(u);
        /* one idle too long is closed (the tick would close it soon); a
         * request that must not go twice gets no connection the endpoint
         * is closing: sent there it could be applied with no answer, and
         * it would not be sent again */
        if (now - u->idle_since >= rt->r.upstream_idle_ms || (!idempotent && closed_unseen(u))) {
            ppool_close_up(u);
            continue;
        }
        return u;
    }
    return NULL;
}

void pconn_pool_sweep(struct proxy_route *rt, uint64_t now_ms)
{
    uint64_t limit = rt->r.upstream_idle_ms;
    struct pup *u = rt->idle, *next;

    for (; u; u = next) {
        next = u->next;
        if (now_ms - u->idle_since < limit)
            continue;
        pool_unlink(u);
        ppool_close_up(u);
    }
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
        !rt->p->closing && rt->n_idle < PCONN_IDLE_MAX && rt->r.upstream_idle_ms > 0) {
        u->rt = rt;
        u->idle_since = proxy_now(rt->p);
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
