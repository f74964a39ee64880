/* super_watch: learns when a process of the supervisor ends. A pidfd
 * (pidfd_open) in the loop where the kernel has it, else a timer that asks
 * every WATCH_POLL_MS. Our own children are reaped here and their exit
 * status read; a re-adopted process (not our child) is only seen to be
 * gone. An instance's end goes to super_exited (super.c); a logger's only
 * clears the instance's logger fields. Every open watch is on the
 * supervisor's list, so that super_close can close them all. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Without pidfd_open (kernels before 5.3, and valgrind up to 3.19 at least),
 * a timer asks every WATCH_POLL_MS whether the process is still there. */
#define WATCH_POLL_MS 100

static void watch_closed(uv_handle_t *h)
{
    struct watch *w = h->data;
    if (w->pidfd >= 0)
        close(w->pidfd);
    free(w);
}

void super_watch_stop(struct watch *w)
{
    if (!w)
        return;
    for (struct watch **p = &w->super->watches; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->in = NULL;
    if (w->pidfd >= 0) {
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, watch_closed);
    } else {
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, watch_closed);
    }
}

/* The process of w ended (x says how, when it was our child). */
static void watch_ended(struct watch *w, const struct sup_exit *x)
{
    struct inst *in = w->in;

    if (!in) {
        super_watch_stop(w);
        return;
    }
    if (w->logger) {
        in->logw = NULL;
        in->logger = 0;
        super_watch_stop(w);
        return;
    }
    in->w = NULL;
    in->pid = 0;
    in->pid_start = 0;
    super_watch_stop(w);
    super_exited(in, x);
}

static void watch_cb(uv_poll_t *p, int status, int events)
{
    struct watch *w = p->data;
    struct sup_exit x = {.code = -1, .signal = 0};
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    /* our child: reap it and learn how it ended; adopted: not ours to reap */
    if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
        if (si.si_code == CLD_EXITED)
            x.code = si.si_status;
        else
            x.signal = si.si_status;
    } else if (kill(w->pid, 0) == 0 && spawn_proc_start(w->pid)) {
        return; /* spurious wake-up: still running */
    }
    watch_ended(w, &x);
}

static void watch_timer_cb(uv_timer_t *t)
{
    struct watch *w = t->data;
    struct sup_exit x = {.code = -1, .signal = 0};
    int st;
    pid_t r = waitpid(w->pid, &st, WNOHANG);

    if (r == w->pid) {
        if (WIFEXITED(st))
            x.code = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
            x.signal = WTERMSIG(st);
        else
            return; /* stopped or continued: still there */
    } else if (r == 0 || (kill(w->pid, 0) == 0 && spawn_proc_start(w->pid))) {
        return; /* our child, or an adopted process, still running */
    }
    watch_ended(w, &x);
}

struct watch *super_watch(struct super *s, struct inst *in, pid_t pid, int logger, struct err *e)
{
    struct watch *w;
    int fd = spawn_pidfd(pid);

    if (fd < 0 && fd != -ENOSYS) {
        err_set(e, fd, "pidfd of %d: %s", (int)pid, strerror(-fd));
        return NULL;
    }
    if (fd == -ENOSYS && !s->no_pidfd) {
        s->no_pidfd = 1;
        log_info("super", "no pidfd_open here: processes are checked every %d ms", WATCH_POLL_MS);
    }
    w = xcalloc(1, sizeof(*w));
    w->pidfd = fd < 0 ? -1 : fd;
    w->pid = pid;
    w->in = in;
    w->logger = logger;
    w->super = s;
    w->next = s->watches;
    s->watches = w;
    if (fd >= 0) {
        uv_poll_init(s->loop, &w->poll, fd);
        w->poll.data = w;
        uv_poll_start(&w->poll, UV_READABLE, watch_cb);
    } else {
        uv_timer_init(s->loop, &w->timer);
        w->timer.data = w;
        uv_timer_start(&w->timer, watch_timer_cb, WATCH_POLL_MS, WATCH_POLL_MS);
    }
    return w;
}
