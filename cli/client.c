/* client: blocking HTTP/1.1 calls to the agent (see client.h), over TLS
 * (agent/api/tls) for an https:// address. */
#include "cli/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/api/tls.h"
#include "core/acl.h"
#include "core/http1.h"
#include "core/mem.h"

/* the token every call sends (client_token_set, or the management token file) */
static struct {
    char secret[ACL_SECRET_MAX + 1];
    int given;      /* --token or $TROUPE_TOKEN: never replaced */
    int tried_file; /* the management token file was looked for */
    char hint[PATH_MAX + 128];
} tok;

void client_token_set(const char *secret)
{
    if (!secret || !secret[0] || strlen(secret) > ACL_SECRET_MAX)
        return;
    snprintf(tok.secret, sizeof(tok.secret), "%s", secret);
    tok.given = 1;
}

const char *client_token_hint(void)
{
    return tok.hint[0] ? tok.hint : NULL;
}

/* set by client_addr_parse for an https:// address */
static struct {
    int on;
    const char *ca_file;
} tls;

/* The connection to the agent: plain, or TLS when tc is set. */
struct link {
    int fd;
    struct tls_client *tc;
};

int client_addr_parse(struct node_addr *out, const char *text, const char *ca_file, struct err *e)
{
    if (strncmp(text, "https://", 8) == 0) {
        tls.on = 1;
        tls.ca_file = ca_file;
        text += 8;
    } else if (strncmp(text, "http://", 7) == 0) {
        text += 7;
    }
    return node_addr_parse(out, text, 7421, e);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_fd(int fd, short events, long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    long left = deadline - now_ms();
    int rc;

    if (left <= 0)
        return -ETIMEDOUT;
    do {
        rc = poll(&p, 1, (int)left);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return -ETIMEDOUT;
    return rc < 0 ? -errno : 0;
}

static int io_err(struct err *e, int rc, const char *a)
{
    if (rc == -EPROTO) /* TLS: the session's own words are in e */
        return err_wrap(e, "talking to the agent at %s", a);
    return err_set(e, rc, "talking to the agent at %s: %s", a,
                   rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
}

/* What send(2) and recv(2) return (-errno on errors), plain or TLS, after
 * waiting for the socket as long as the deadline lets. */
static ssize_t link_send(struct link *l, const void *buf, size_t len, long deadline, struct err *e)
{
    for (;;) {
        short want = POLLOUT;
        ssize_t n = l->tc ? tls_client_write(l->tc, buf, len, &want, e)
                          : send(l->fd, buf, len, MSG_NOSIGNAL);
        int rc;
        if (!l->tc && n < 0)
            n = -errno;
        if (n != -EAGAIN)
            return n;
        if ((rc = wait_fd(l->fd, want, deadline)) < 0)
            return rc;
    }
}

static ssize_t link_recv(struct link *l, void *buf, size_t cap, long deadline, struct err *e)
{
    for (;;) {
        short want = POLLIN;
        ssize_t n = l->tc ? tls_client_read(l->tc, buf, cap, &want, e) : recv(l->fd, buf, cap, 0);
        int rc;
        if (!l->tc && n < 0)
            n = -errno;
        if (n != -EAGAIN)
            return n;
        if ((rc = wait_fd(l->fd, want, deadline)) < 0)
            return rc;
    }
}

/* TLS: the handshake over l->fd; the agent's certificate must name its IP. */
static int link_tls(struct link *l, const struct node_addr *addr, const char *a, long deadline,
                    struct err *e)
{
    char ip[INET6_ADDRSTRLEN];
    int rc;

    inet_ntop(addr->family == 4 ? AF_INET : AF_INET6, addr->ip, ip, sizeof(ip));
    if ((rc = tls_client_new(&l->tc, l->fd, tls.ca_file, ip, e)) < 0)
        return err_wrap(e, "the agent at https://%s", a);
    for (;;) {
        short want = POLLIN;
        if ((rc = tls_client_handshake(l->tc, &want, e)) == 0)
            return 0;
        if (rc == -EAGAIN && (rc = wait_fd(l->fd, want, deadline)) == 0)
            continue;
        if (rc == -EPROTO)
            return err_wrap(e, "the agent at https://%s", a);
        return err_set(e, rc, "the agent at https://%s: TLS handshake: %s", a,
                       rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
    }
}

/* A connected non-blocking socket to the agent at addr (a: its text). */
static int connect_agent(const struct node_addr *addr, const char *a, long deadline, struct err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl = (socklen_t)node_addr_to_sockaddr(addr, &ss), el = sizeof(int);
    int fd, rc, soerr = 0;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        rc = err_set(e, -errno, "cannot reach the agent at %s: %s", a, strerror(errno));
        close(fd);
        return rc;
    }
    if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0 ||
        (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) == 0 && soerr)) {
        rc = rc < 0 ? rc : -soerr;
        err_set(e, rc, "cannot reach the agent at %s: %s", a, strerror(-rc));
        close(fd);
        return rc;
    }
    return fd;
}

/* All of buf, waiting whenever the socket is full. */
static int send_all(struct link *l, const char *buf, size_t len, long deadline, struct err *e)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = link_send(l, buf + off, len - off, deadline, e);
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

static int send_request(struct link *l, const char *a, const char *method, const char *path,
                        const char *body, size_t body_len, long deadline, struct err *e)
{
    char head[4096], auth[ACL_SECRET_MAX + 32] = "";
    int hl, rc;

    if (tok.secret[0])
        snprintf(auth, sizeof(auth), "X-Troupe-Token: %s\r\n", tok.secret);
    hl = snprintf(head, sizeof(head),
                  "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: troupe-cli\r\n%s"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                  method, path, a, auth, body_len);

    if (hl < 0 || (size_t)hl >= sizeof(head))
        return err_set(e, -ENAMETOOLONG, "request path too long: %.64s...", path);
    if ((rc = send_all(l, head, (size_t)hl, deadline, e)) < 0 ||
        (rc = send_all(l, body, body_len, deadline, e)) < 0)
        return io_err(e, rc, a);
    return 0;
}

/* A complete answer (r points into the bytes read) into resp. */
static void take_answer(const struct http1_resp *r, struct client_resp *resp)
{
    size_t ix_len;
    const char *ix = http1_header(r->h, r->n_headers, "X-Troupe-Index", &ix_len);

    resp->status = r->status;
    for (size_t k = 0; ix && k < ix_len && ix[k] >= '0' && ix[k] <= '9'; k++)
        resp->index = resp->index * 10 + (uint64_t)(ix[k] - '0');
    resp->body = xmalloc(r->body_len + 1);
    memcpy(resp->body, r->body, r->body_len);
    resp->body[r->body_len] = '\0';
    resp->len = r->body_len;
}

/* Reads until the answer is complete (at most 8 MiB), the agent closes
 * the connection, or the deadline passes. */
static int read_response(struct link *l, const char *a, long deadline, struct client_resp *resp,
                         struct err *e)
{
    uint8_t *in = NULL;
    size_t in_len = 0, in_cap = 0;
    int rc;

    for (;;) {
        struct http1_resp r;
        ssize_t n;
        long used;

        if (in_cap - in_len < 4096) {
            in_cap = in_cap ? in_cap * 2 : 16384;
            if (in_cap > (8u << 20)) {
                rc = err_set(e, -EPROTO, "answer from %s is too large", a);
                break;
            }
            in = xrealloc(in, in_cap);
        }
        n = link_recv(l, in + in_len, in_cap - in_len - 1, deadline, e);
        if (n < 0) {
            rc = io_err(e, (int)n, a);
            break;
        }
        in_len += (size_t)n;
        used = http1_parse_response(&r, in, in_len, n == 0, NULL);
        if (used < 0) {
            rc = err_set(e, -EPROTO, "garbled answer from %s: %s", a, r.error);
            break;
        }
        if (used > 0) {
            take_answer(&r, resp);
            rc = 0;
            break;
        }
        if (n == 0) {
            rc = err_set(e, -EPROTO, "the agent at %s closed the connection early", a);
            break;
        }
    }
    free(in);
    return rc;
}

static int call_once(const struct node_addr *addr, const char *method, const char *path,
                     const char *body, size_t body_len, int timeout_ms, struct client_resp *resp,
                     struct err *e)
{
    long deadline = now_ms() + timeout_ms;
    struct link l = {.fd = -1, .tc = NULL};
    char a[64];
    int rc;

    memset(resp, 0, sizeof(*resp));
    node_addr_str(addr, a, sizeof(a));
    if ((l.fd = connect_agent(addr, a, deadline, e)) < 0)
        return l.fd;
    rc = tls.on ? link_tls(&l, addr, a, deadline, e) : 0;
    if (rc == 0)
        rc = send_request(&l, a, method, path, body, body_len, deadline, e);
    if (rc == 0)
        rc = read_response(&l, a, deadline, resp, e);
    tls_client_free(l.tc);
    close(l.fd);
    return rc;
}

/* Reads the management token of the agent at addr from the file it names
 * in /v1/acl/self. 0 when tok.secret was set. */
static int token_from_file(const struct node_addr *addr, int timeout_ms)
{
    struct client_resp r;
    json_t *j;
    const char *path;
    char buf[ACL_SECRET_MAX + 2];
    FILE *f;
    size_t n;
    int rc = -ENOENT;

    if (call_once(addr, "GET", "/v1/acl/self", NULL, 0, timeout_ms, &r, NULL) < 0)
        return -ENOENT;
    j = r.status == 200 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    free(r.body);
    path = json_string_value(json_object_get(j, "token_file"));
    if (!path || !path[0])
        goto out;
    if (!(f = fopen(path, "re"))) {
        snprintf(tok.hint, sizeof(tok.hint),
                 "the agent's management token %s is not readable by this user (%s): give a "
                 "token with --token or $TROUPE_TOKEN",
                 path, strerror(errno));
        goto out;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n) {
        memcpy(tok.secret, buf, n + 1);
        rc = 0;
    }
out:
    json_decref(j);
    return rc;
}

int client_call(const struct node_addr *addr, const char *method, const char *path,
                const char *body, size_t body_len, int timeout_ms, struct client_resp *resp,
                struct err *e)
{
    int rc;

    /* a write needs a token whatever the policy: look for it first, so
     * that the agent's audit does not record a refused try before it */
    if (!tok.given && !tok.tried_file && strcmp(method, "GET") != 0) {
        tok.tried_file = 1;
        token_from_file(addr, timeout_ms);
    }
    rc = call_once(addr, method, path, body, body_len, timeout_ms, resp, e);
    if (rc == 0 && (resp->status == 401 || resp->status == 403) && !tok.given && !tok.tried_file) {
        tok.tried_file = 1;
        if (token_from_file(addr, timeout_ms) == 0) {
            free(resp->body);
            rc = call_once(addr, method, path, body, body_len, timeout_ms, resp, e);
        }
    }
    return rc;
}
