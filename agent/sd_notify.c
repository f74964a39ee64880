/* sd_notify: the notify-socket protocol of systemd, written out: one
 * datagram of newline-separated KEY=VALUE lines to the AF_UNIX socket in
 * $NOTIFY_SOCKET ("/path", or "@name" for the abstract namespace). Owns
 * the watchdog timer; what the agent does when it is ready or stops stays
 * in agent.c. */
#include "agent/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/log.h"

void notify_init(struct notify *n)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");

    memset(n, 0, sizeof(*n));
    if (sock && (sock[0] == '/' || sock[0] == '@') && strlen(sock) < sizeof(n->path))
        snprintf(n->path, sizeof(n->path), "%s", sock);
    else if (sock)
        log_warn("systemd", "ignoring NOTIFY_SOCKET \"%s\": not a socket path", sock);
    /* WATCHDOG_PID names the process the watchdog is for; another one's
     * (the agent started by a script under the unit) is not ours */
    if (n->path[0] && usec && (!pid || !*pid || strtol(pid, NULL, 10) == (long)getpid())) {
        char *end;
        unsigned long long us = strtoull(usec, &end, 10);
        if (*end == '\0' && us >= 2000)
            n->ping_ms = us / 2000; /* half the interval, as sd_watchdog_enabled advises */
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

int notify_send(const struct notify *n, const char *msg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(n->path);
    socklen_t salen;
    int fd, rc = 0;

    if (!len)
        return 0;
    memcpy(sa.sun_path, n->path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the name is the bytes that follow, unterminated */
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (sa.sun_path[0] ? 1 : 0));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static void ping_cb(uv_timer_t *t)
{
    struct notify *n = t->data;
    int rc = notify_send(n, "WATCHDOG=1");

    if (rc < 0)
        log_warn("systemd", "watchdog ping to %s: %s", n->path, strerror(-rc));
}

void notify_ready(struct notify *n, uv_loop_t *loop)
{
    int rc = notify_send(n, "READY=1");

    if (rc < 0)
        log_warn("systemd", "READY=1 to %s: %s", n->path, strerror(-rc));
    else if (n->path[0])
        log_info("systemd", "told systemd the agent is ready%s",
                 n->ping_ms ? "; pinging its watchdog" : "");
    if (!n->ping_ms)
        return;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_timer_start(&n->timer, ping_cb, n->ping_ms, n->ping_ms);
    uv_unref((uv_handle_t *)&n->timer);
    n->timer_started = 1;
}

void notify_stopping(struct notify *n)
{
    notify_send(n, "STOPPING=1");
    if (n->timer_started && !uv_is_closing((uv_handle_t *)&n->timer))
        uv_close((uv_handle_t *)&n->timer, NULL);
}
