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

int client_call(const struct node_addr *addr, const char *method, const char *path,
                const char *body, size_t body_len, int timeout_ms, struct client_resp *resp,
                struct err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char a[64], head[512];
    uint8_t *in = NULL;
    size_t in_len = 0, in_cap = 0;
    long deadline = now_ms() + timeout_ms;
    int fd, rc, soerr = 0;
    socklen_t el = sizeof(soerr);

    memset(resp, 0, sizeof(*resp));
    node_addr_str(addr, a, sizeof(a));
    sl = (socklen_t)node_addr_to_sockaddr(addr, &ss);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        rc = err_set(e, -errno, "cannot reach the agent at %s: %s", a, strerror(errno));
        goto out;
    }
    if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0 ||
        (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) == 0 && soerr)) {
        rc = rc < 0 ? rc : -soerr;
        err_set(e, rc, "cannot reach the agent at %s: %s", a, strerror(-rc));
        goto out;
    }
    {
        int hl = snprintf(head, sizeof(head),
                          "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: troupe-cli\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          method, path, a, body_len);
        const char *parts[2] = {head, body};
        size_t lens[2] = {(size_t)hl, body_len};
        for (int i = 0; i < 2; i++) {
            size_t off = 0;
            while (off < lens[i]) {
                ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EAGAIN) {
                    if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
                        goto io_err;
                    continue;
                }
                if (n < 0) {
                    rc = -errno;
                    goto io_err;
                }
                off += (size_t)n;
            }
        }
    }
    for (;;) {
        struct http1_resp r;
        ssize_t n;
        long used;

        if (in_cap - in_len < 4096) {
            in_cap = in_cap ? in_cap * 2 : 16384;
            if (in_cap > (8u << 20)) {
                rc = err_set(e, -EPROTO, "answer from %s is too large", a);
                goto out;
            }
            in = xrealloc(in, in_cap);
        }
        n = recv(fd, in + in_len, in_cap - in_len - 1, 0);
        if (n < 0 && errno == EAGAIN) {
            if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
                goto io_err;
            continue;
        }
        if (n < 0) {
            rc = -errno;
            goto io_err;
        }
        in_len += (size_t)n;
        used = http1_parse_response(&r, in, in_len, n == 0, NULL);
        if (used < 0) {
            rc = err_set(e, -EPROTO, "garbled answer from %s: %s", a, r.error);
            goto out;
        }
        if (used > 0) {
            const char *ix;
            size_t ix_len;
            resp->status = r.status;
            ix = http1_header(r.h, r.n_headers, "X-Troupe-Index", &ix_len);
            for (size_t k = 0; ix && k < ix_len && ix[k] >= '0' && ix[k] <= '9'; k++)
                resp->index = resp->index * 10 + (uint64_t)(ix[k] - '0');
            resp->body = xmalloc(r.body_len + 1);
            memcpy(resp->body, r.body, r.body_len);
            resp->body[r.body_len] = '\0';
            resp->len = r.body_len;
            rc = 0;
            goto out;
        }
        if (n == 0) {
            rc = err_set(e, -EPROTO, "the agent at %s closed the connection early", a);
            goto out;
        }
    }
io_err:
    err_set(e, rc, "talking to the agent at %s: %s", a,
            rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
out:
    free(in);
    close(fd);
    return rc;
}
