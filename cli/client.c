/* client: blocking HTTP/1.1 calls to the agent (see client.h). */
#include "cli/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/http1.h"
#include "core/mem.h"

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
    return err_set(e, rc, "talking to the agent at %s: %s", a,
                   rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
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
static int send_all(int fd, const char *buf, size_t len, long deadline)
{
    size_t off = 0;
    int rc;

    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    return 0;
}

static int send_request(int fd, const char *a, const char *method, const char *path,
                        const char *body, size_t body_len, long deadline, struct err *e)
{
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: troupe-cli\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      method, path, a, body_len);
    int rc;

    if (hl < 0 || (size_t)hl >= sizeof(head))
        return err_set(e, -ENAMETOOLONG, "request path too long: %.64s...", path);
    if ((rc = send_all(fd, head, (size_t)hl, deadline)) < 0 ||
        (rc = send_all(fd, body, body_len, deadline)) < 0)
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
static int read_response(int fd, const char *a, long deadline, struct client_resp *resp,
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
        n = recv(fd, in + in_len, in_cap - in_len - 1, 0);
        if (n < 0 && errno == EAGAIN) {
            if ((rc = wait_fd(fd, POLLIN, deadline)) < 0) {
                io_err(e, rc, a);
                break;
            }
            continue;
        }
        if (n < 0) {
            rc = io_err(e, -errno, a);
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

int client_call(const struct node_addr *addr, const char *method, const char *path,
                const char *body, size_t body_len, int timeout_ms, struct client_resp *resp,
                struct err *e)
{
    long deadline = now_ms() + timeout_ms;
    char a[64];
    int fd, rc;

    memset(resp, 0, sizeof(*resp));
    node_addr_str(addr, a, sizeof(a));
    if ((fd = connect_agent(addr, a, deadline, e)) < 0)
        return fd;
    rc = send_request(fd, a, method, path, body, body_len, deadline, e);
    if (rc == 0)
        rc = read_response(fd, a, deadline, resp, e);
    close(fd);
    return rc;
}
