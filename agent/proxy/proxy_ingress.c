/* proxy_ingress: the optional HTTP ingress (--ingress IP:PORT, off by
 * default). One listener whose connections are the proxy's usual HTTP
 * connections (proxy_conn.c), except that each request picks its route
 * by its Host header and its path: among the http routes that list the
 * host, the one with the longest matching prefix (core/route's
 * route_ingress_match; a tie goes to the route whose name sorts first).
 * A request that matches none is answered 404 with x-troupe-reason:
 * no-route.
 *
 * The listener hangs on a route of its own ("ingress", no service, never
 * in the proxy's list of routes): a connection starts on it and moves to
 * the route of each request it carries. Not here: routes and endpoints
 * (proxy.c), requests and responses (proxy_conn.c). */
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/log.h"
#include "agent/proxy/proxy_impl.h"
#include "core/mem.h"

static void on_ingress_closed(uv_handle_t *h)
{
    proxy_route_unref(h->data);
}

static void on_ingress_connection(uv_stream_t *s, int status)
{
    struct proxy_route *rt = s->data;

    if (status < 0) {
        log_warn("proxy", "ingress: accept: %s", uv_strerror(status));
        return;
    }
    pconn_accept(rt);
}

int proxy_ingress_open(struct proxy *p, const struct node_addr *at, struct err *e)
{
    struct proxy_route *rt;
    struct sockaddr_storage ss;
    struct bal_cfg bc;
    char addr[64];
    int rc;

    if (!at->family)
        return 0;
    rt = xcalloc(1, sizeof(*rt));
    rt->p = p;
    rt->ingress = 1;
    /* every field at a route's default (idle timeout, limits, retry
     * budget: a connection lives on the ingress until its first request
     * picks a route), then the ingress's own */
    static const char defaults[] = "{\"service\":\"ingress\",\"port\":1}";

    if (route_parse(&rt->r, defaults, sizeof(defaults) - 1, e) < 0) {
        free(rt);
        return -EINVAL;
    }
    rt->r.port = 0;
    rt->r.attempts = 1;
    pconn_route_init(rt);
    rt->refs = 2; /* the proxy's, and the listener's (dropped in its close callback) */
    bal_cfg_route(&bc, &rt->r);
    bal_init(&rt->bal, &bc, 1);
    node_addr_to_sockaddr(at, &ss);
    uv_tcp_init(p->loop, &rt->listener);
    rt->listener.data = rt;
    rt->handle_init = 1;
    p->ingress = rt;
    node_addr_str(at, addr, sizeof(addr));
    rc = uv_tcp_bind(&rt->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&rt->listener, 511, on_ingress_connection);
    if (rc < 0) {
        proxy_ingress_close(p);
        return err_set(e, rc, "--ingress %s: cannot listen: %s", addr, uv_strerror(rc));
    }
    rt->listening = 1;
    log_info("proxy", "ingress: http on %s, by Host and path prefix to the routes with hosts",
             addr);
    return 0;
}

void proxy_ingress_close(struct proxy *p)
{
    struct proxy_route *rt = p->ingress;

    if (!rt)
        return;
    p->ingress = NULL;
    rt->gone = 1;
    if (rt->handle_init && !uv_is_closing((uv_handle_t *)&rt->listener))
        uv_close((uv_handle_t *)&rt->listener, on_ingress_closed);
    rt->handle_init = 0;
    rt->listening = 0;
    proxy_route_unref(rt);
}

struct proxy_route *proxy_ingress_pick(struct proxy *p, const char *host, size_t host_len,
                                       const char *target, size_t target_len)
{
    struct proxy_route *best = NULL;
    size_t best_score = 0, path_len = 0;

    if (!host || target_len == 0 || target[0] != '/')
        return NULL; /* no Host, or not origin-form (absolute-form, '*') */
    while (path_len < target_len && target[path_len] != '?')
        path_len++;
    for (struct proxy_route *rt = p->routes; rt; rt = rt->next) {
        size_t s;
        if (rt->gone || rt->r.protocol != ROUTE_HTTP || !rt->r.n_hosts)
            continue;
        s = route_ingress_match(&rt->r, host, host_len, target, path_len);
        if (s > best_score || (s && s == best_score && strcmp(rt->r.name, best->r.name) < 0)) {
            best = rt;
            best_score = s;
        }
    }
    return best;
}
