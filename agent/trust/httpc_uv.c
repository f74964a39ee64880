/* httpc_uv: a GET over libuv on a private loop (see httpc_uv.h). Owns the
 * socket, the timers and the URL parsing; the bytes go through core/httpc. */
#include "agent/trust/httpc_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/mem.h"

struct get {
    uv_loop_t loop;
    uv_tcp_t tcp;
    uv_timer_t idle, deadline;
    uv_connect_t conn;
    uv_write_t wr;
    struct httpc_parser *p;
    char req[HTTPC_URL_MAX + 512];
    char buf[65536];
    unsigned idle_ms;
    int rc; /* 1 while running */
    struct err *e;
    const char *url;
};

static int parse_url(const char *url, char *host, size_t hcap, char *port, const char **path,
                     struct err *e)
{
    const char *h, *end, *colon;
    size_t hl;

    if (strncmp(url, "http://", 7) != 0)
        return err_set(e, -EINVAL, "%s: only http:// URLs are supported", url);
    h = url + 7;
    end = strchr(h, '/');
    if (!end)
        end = h + strlen(h);
    *path = *end ? end : "/";
    if (*h == '[') { /* [IPv6]:port */
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb)
            return err_set(e, -EINVAL, "%s: bad IPv6 host", url);
        hl = (size_t)(rb - h - 1);
        if (hl >= hcap)
            return err_set(e, -EINVAL, "%s: host too long", url);
        memcpy(host, h + 1, hl);
        host[hl] = '\0';
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        hl = (size_t)((colon ? colon : end) - h);
        if (hl == 0 || hl >= hcap)
            return err_set(e, -EINVAL, "%s: bad host", url);
        memcpy(host, h, hl);
        host[hl] = '\0';
    }
    if (colon) {
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl > 5 || strspn(colon + 1, "0123456789") < pl)
            return err_set(e, -EINVAL, "%s: bad port", url);
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
    } else {
        strcpy(port, "80");
    }
    for (const char *c = *path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return err_set(e, -EINVAL, "%s: white space or control character in the path", url);
    return 0;
}

static void finish(struct get *g, int rc)
{
    if (g->rc != 1)
        return;
    g->rc = rc;
    uv_read_stop((uv_stream_t *)&g->tcp);
    uv_close((uv_handle_t *)&g->tcp, NULL);
    uv_close((uv_handle_t *)&g->idle, NULL);
    uv_close((uv_handle_t *)&g->deadline, NULL);
}

static void timeout_cb(uv_timer_t *t)
{
    struct get *g = t->data;
    err_set(g->e, -ETIMEDOUT, "%s: timed out (%s)", g->url,
            t == &g->idle ? "the server went silent" : "the server is too slow");
    finish(g, -ETIMEDOUT);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct get *g = h->data;
    (void)hint;
    *b = uv_buf_init(g->buf, sizeof(g->buf));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct get *g = s->data;
    int rc;

    if (n == 0)
        return;
    if (n < 0 && n != UV_EOF) {
        err_set(g->e, -EIO, "%s: %s", g->url, uv_strerror((int)n));
        finish(g, -EIO);
        return;
    }
    uv_timer_again(&g->idle);
    rc =
        httpc_parser_feed(g->p, (const uint8_t *)b->base, n > 0 ? (size_t)n : 0, n == UV_EOF, g->e);
    if (rc < 0) {
        err_wrap(g->e, "%s", g->url);
        finish(g, rc);
    } else if (rc == 1) {
        finish(g, 0);
    }
}

static void write_cb(uv_write_t *w, int status)
{
    struct get *g = w->data;
    if (status < 0) {
        err_set(g->e, -EIO, "%s: sending the request: %s", g->url, uv_strerror(status));
        finish(g, -EIO);
    }
}

static void connect_cb(uv_connect_t *c, int status)
{
    struct get *g = c->data;
    uv_buf_t b = uv_buf_init(g->req, (unsigned)strlen(g->req));

    if (status < 0) {
        err_set(g->e, -ECONNREFUSED, "%s: cannot connect: %s", g->url, uv_strerror(status));
        finish(g, -ECONNREFUSED);
        return;
    }
    g->wr.data = g;
    uv_read_start((uv_stream_t *)&g->tcp, alloc_cb, read_cb);
    uv_write(&g->wr, (uv_stream_t *)&g->tcp, &b, 1, write_cb);
}

int httpc_get(const char *url, uint64_t max_body, const struct httpc_opts *o, httpc_sink sink,
              void *ud, struct err *e)
{
    struct get *g;
    char host[256], port[8];
    const char *path = "/";
    uv_getaddrinfo_t gai;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    uint64_t slow_ms;
    int rc;

    if (strlen(url) > HTTPC_URL_MAX)
        return err_set(e, -EINVAL, "URL longer than %d bytes", HTTPC_URL_MAX);
    if ((rc = parse_url(url, host, sizeof(host), port, &path, e)) < 0)
        return rc;
    g = xcalloc(1, sizeof(*g));
    g->p = xmalloc(sizeof(*g->p));
    httpc_parser_init(g->p, max_body, sink, ud);
    g->e = e;
    g->url = url;
    g->idle_ms = o && o->idle_ms ? o->idle_ms : HTTPC_IDLE_MS;
    snprintf(g->req, sizeof(g->req),
             "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: troupe/" TROUPE_VERSION
             "\r\nAccept-Encoding: identity\r\n\r\n",
             path, host, port);
    uv_loop_init(&g->loop);
    rc = uv_getaddrinfo(&g->loop, &gai, NULL, host, port, &hints);
    if (rc < 0) {
        rc = err_set(e, -EHOSTUNREACH, "%s: cannot resolve %s: %s", url, host, uv_strerror(rc));
        goto out;
    }
    uv_tcp_init(&g->loop, &g->tcp);
    uv_timer_init(&g->loop, &g->idle);
    uv_timer_init(&g->loop, &g->deadline);
    g->tcp.data = g->idle.data = g->deadline.data = g->conn.data = g;
    g->rc = 1;
    slow_ms = (uint64_t)g->idle_ms + max_body / HTTPC_MIN_RATE * 1000;
    uv_timer_start(&g->idle, timeout_cb, g->idle_ms, g->idle_ms);
    uv_timer_start(&g->deadline, timeout_cb, slow_ms, 0);
    rc = uv_tcp_connect(&g->conn, &g->tcp, gai.addrinfo->ai_addr, connect_cb);
    uv_freeaddrinfo(gai.addrinfo);
    if (rc < 0) {
        err_set(e, -ECONNREFUSED, "%s: cannot connect: %s", url, uv_strerror(rc));
        finish(g, -ECONNREFUSED);
    }
    uv_run(&g->loop, UV_RUN_DEFAULT);
    rc = g->rc;
out:
    if (uv_loop_close(&g->loop) != 0)
        rc = rc < 0 ? rc : err_set(e, -EIO, "%s: handles left open", url);
    free(g->p);
    free(g);
    return rc;
}
