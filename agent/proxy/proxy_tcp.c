/* proxy_tcp: tcp mode of a proxied connection: one endpoint per client
 * connection, chosen by the route's split and the balancer, and the bytes
 * passed both ways as they come, with half-close (an end of one side is
 * passed to the other, which may still send). Not here: connecting and
 * backpressure (proxy_conn.c). */
#include <stdio.h>
#include <stdlib.h>

#include "agent/proxy/pconn.h"
#include "core/mem.h"

/* The client is read once the endpoint is connected (pconn_resume_down). */
void ptcp_start(struct pconn *c)
{
    struct proxy_route *rt = c->rt;
    const char *v = bal_version(&rt->bal, &rt->r, NULL, NULL);

    /* one version per connection */
    c->any_version = v == NULL;
    snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    pconn_start_attempt(c);
}

void ptcp_up_failed(struct pconn *c, ssize_t err)
{
    struct pup *u = c->up;

    c->up_eof = 1;
    if (u)
        uv_read_stop((uv_stream_t *)&u->h);
    if (err == UV_EOF && !c->down_eof) {
        /* half-close: the client gets our end once its queue is written */
        uv_shutdown_t *sr = xmalloc(sizeof(*sr));
        if (uv_shutdown(sr, (uv_stream_t *)&c->down, pconn_shutdown_cb) == 0)
            return;
        free(sr);
    }
    pconn_close(c);
}

/* The client ended its side: the endpoint gets our end once its queue is
 * written, and may still answer. */
void ptcp_down_eof(struct pconn *c)
{
    uv_shutdown_t *sr;

    if (c->up_eof || c->state != PS_STREAM || !c->up) {
        pconn_close(c);
        return;
    }
    sr = xmalloc(sizeof(*sr));
    if (uv_shutdown(sr, (uv_stream_t *)&c->up->h, pconn_shutdown_cb) < 0) {
        free(sr);
        pconn_close(c);
    }
}
