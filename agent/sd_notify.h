/* sd_notify: tells systemd (Type=notify units) that the agent is ready,
 * that its loop still turns (WatchdogSec=) and that it is stopping, over
 * the datagram socket named by $NOTIFY_SOCKET. A few lines of the protocol
 * instead of libsystemd, which would add a library and its memory to every
 * agent. Outside systemd ($NOTIFY_SOCKET unset) every call does nothing. */
#ifndef TROUPE_SD_NOTIFY_H
#define TROUPE_SD_NOTIFY_H

#include <stdint.h>
#include <uv.h>

struct notify {
    char path[108];   /* the socket's address; "" when not under systemd */
    uint64_t ping_ms; /* half of $WATCHDOG_USEC in ms; 0: no watchdog */
    uv_timer_t timer; /* sends WATCHDOG=1 every ping_ms from the loop */
    int timer_started;
};

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, then removes them
 * from the environment so the supervised services do not inherit them (a
 * service's own READY=1 must not reach the agent's unit). */
void notify_init(struct notify *n);
/* Sends one message ("READY=1", "STOPPING=1"...). Returns 0, also when
 * there is no socket, or -errno. */
int notify_send(const struct notify *n, const char *msg);
/* Sends READY=1 and, when systemd asked for a watchdog, starts pinging it
 * from loop. The timer does not keep the loop running. */
void notify_ready(struct notify *n, uv_loop_t *loop);
/* Sends STOPPING=1 and closes the watchdog timer (memory stays n's). */
void notify_stopping(struct notify *n);

#endif
