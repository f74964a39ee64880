/* sup: the supervision state machine of one instance (see sup.h). Every
 * transition is one cell of the table at the bottom, states x events, each
 * cell a small function; an empty cell ignores the event. Backoff rule: a
 * process that ran at least min_run_ms is restarted at once (like runsv);
 * a shorter run waits backoff_first_ms, doubling with each consecutive
 * short run up to backoff_max_ms, and a run of backoff_reset_ms forgets the
 * level. The start limit counts spawns in a sliding window: a restart that
 * would make more than start_burst spawns within start_interval_ms puts the
 * instance in FAILED, where only a start or restart by hand brings it
 * back. A held machine (sup_hold) turns every spawn into a wait in
 * FETCHING that counts no start. */
#include "core/sup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sup_cfg_default(struct sup_cfg *c)
{
    c->restart = SUP_RESTART_ALWAYS;
    c->backoff_first_ms = 100;
    c->backoff_max_ms = 300000;
    c->backoff_reset_ms = 600000;
    c->min_run_ms = 1000;
    c->start_burst = 5;
    c->start_interval_ms = 10000;
    c->stop_grace_ms = 10000;
}

void sup_init(struct sup *s)
{
    memset(s, 0, sizeof(*s));
    s->state = SUP_DOWN;
    s->deadline_ms = SUP_NEVER;
    s->last.code = -2;
}

uint64_t sup_deadline(const struct sup *s)
{
    return s->deadline_ms;
}

uint64_t sup_backoff_ms(const struct sup *s, const struct sup_cfg *c)
{
    uint64_t d = c->backoff_first_ms;

    for (uint32_t i = 0; i < s->level && d < c->backoff_max_ms; i++)
        d *= 2;
    return d > c->backoff_max_ms ? c->backoff_max_ms : d;
}

void sup_hold(struct sup *s, int on)
{
    s->hold = on ? 1 : 0;
}

void sup_adopt(struct sup *s, uint64_t started_ms, uint32_t restarts, uint32_t level)
{
    sup_init(s);
    s->state = SUP_RUNNING;
    s->started_ms = started_ms;
    s->restarts = restarts;
    s->level = level;
    s->n_starts = 1;
    s->n_window = 1;
    s->starts[0] = started_ms;
}

/* ---- helpers of the cells ---- */

static uint32_t burst(const struct sup_cfg *c)
{
    return c->start_burst > SUP_START_BURST_MAX ? SUP_START_BURST_MAX : c->start_burst;
}

static void spawn(struct sup *s, const struct sup_cfg *c, uint64_t now, struct sup_out *out)
{
    uint32_t b = burst(c);

    if (s->hold) {
        /* nothing to run yet: wait, without counting a start */
        s->state = SUP_FETCHING;
        s->restart_after = 0;
        s->unhealthy = 0;
        s->deadline_ms = SUP_NEVER;
        return;
    }
    if (b)
        s->starts[s->n_window % b] = now;
    s->n_window++;
    if (s->n_starts)
        s->restarts++;
    s->n_starts++;
    s->state = SUP_RUNNING;
    s->started_ms = now;
    s->restart_after = 0;
    s->unhealthy = 0;
    s->deadline_ms = SUP_NEVER;
    out->act = SUP_ACT_SPAWN;
    out->notes |= SUP_NOTE_STARTED;
}

/* 1 when another spawn now would exceed the start limit: start_burst
 * spawns already happened within the last start_interval_ms. */
static int limit_hit(const struct sup *s, const struct sup_cfg *c, uint64_t now)
{
    uint32_t b = burst(c);
    uint64_t oldest;

    if (b == 0 || s->n_window < b)
        return 0;
    oldest = s->starts[s->n_window % b]; /* the b-th latest spawn */
    return now - oldest < c->start_interval_ms;
}

/* A fresh start by hand: the start limit window begins again. */
static void forget_starts(struct sup *s)
{
    s->n_window = 0;
    memset(s->starts, 0, sizeof(s->starts));
    s->level = 0;
}

static void fail(struct sup *s, struct sup_out *out)
{
    s->state = SUP_FAILED;
    s->deadline_ms = SUP_NEVER;
    out->notes |= SUP_NOTE_GAVE_UP;
}

/* Automatic restart (after an exit or a liveness failure): limited. */
static void restart_now(struct sup *s, const struct sup_cfg *c, uint64_t now, struct sup_out *out)
{
    if (limit_hit(s, c, now)) {
        fail(s, out);
        return;
    }
    spawn(s, c, now, out);
}

static void stop_signal(struct sup *s, const struct sup_cfg *c, uint64_t now, struct sup_out *out)
{
    s->state = SUP_STOPPING;
    s->deadline_ms = now + c->stop_grace_ms;
    out->act = SUP_ACT_SIGNAL;
}

static void record_exit(struct sup *s, const struct sup_cfg *c, uint64_t now,
                        const struct sup_exit *x, struct sup_out *out)
{
    out->ran_ms = now > s->started_ms ? now - s->started_ms : 0;
    out->notes |= SUP_NOTE_EXITED;
    if (x)
        s->last = *x;
    if (out->ran_ms >= c->backoff_reset_ms)
        s->level = 0;
}

static int wants_restart(const struct sup_cfg *c, const struct sup_exit *x)
{
    switch (c->restart) {
    case SUP_RESTART_ALWAYS:
        return 1;
    case SUP_RESTART_ON_FAILURE:
        return !x || x->code != 0 || x->signal != 0;
    default:
        return 0;
    }
}

/* ---- the cells ---- */

typedef void (*cell_fn)(struct sup *s, const struct sup_cfg *c, uint64_t now,
                        const struct sup_exit *x, struct sup_out *out);

static void start_fresh(struct sup *s, const struct sup_cfg *c, uint64_t now,
                        const struct sup_exit *x, struct sup_out *out)
{
    forget_starts(s);
    spawn(s, c, now, out);
}

static void start_now(struct sup *s, const struct sup_cfg *c, uint64_t now,
                      const struct sup_exit *x, struct sup_out *out)
{
    spawn(s, c, now, out);
}

static void stop_running(struct sup *s, const struct sup_cfg *c, uint64_t now,
                         const struct sup_exit *x, struct sup_out *out)
{
    s->restart_after = 0;
    stop_signal(s, c, now, out);
}

static void stop_waiting(struct sup *s, const struct sup_cfg *c, uint64_t now,
                         const struct sup_exit *x, struct sup_out *out)
{
    s->state = SUP_DOWN;
    s->deadline_ms = SUP_NEVER;
    out->notes |= SUP_NOTE_STOPPED;
}

static void stop_stopping(struct sup *s, const struct sup_cfg *c, uint64_t now,
                          const struct sup_exit *x, struct sup_out *out)
{
    s->restart_after = 0;
}

static void start_stopping(struct sup *s, const struct sup_cfg *c, uint64_t now,
                           const struct sup_exit *x, struct sup_out *out)
{
    s->restart_after = 1;
}

static void restart_running(struct sup *s, const struct sup_cfg *c, uint64_t now,
                            const struct sup_exit *x, struct sup_out *out)
{
    s->restart_after = 1;
    stop_signal(s, c, now, out);
}

static void unhealthy_running(struct sup *s, const struct sup_cfg *c, uint64_t now,
                              const struct sup_exit *x, struct sup_out *out)
{
    s->restart_after = 1;
    s->unhealthy = 1;
    out->notes |= SUP_NOTE_UNHEALTHY;
    stop_signal(s, c, now, out);
}

static void exit_running(struct sup *s, const struct sup_cfg *c, uint64_t now,
                         const struct sup_exit *x, struct sup_out *out)
{
    record_exit(s, c, now, x, out);
    if (!wants_restart(c, x)) {
        s->state = SUP_EXITED;
        s->deadline_ms = SUP_NEVER;
        return;
    }
    out->notes |= SUP_NOTE_RESTART;
    if (out->ran_ms >= c->min_run_ms) {
        out->delay_ms = 0;
        restart_now(s, c, now, out);
        return;
    }
    out->delay_ms = sup_backoff_ms(s, c);
    s->level++;
    /* Give up now rather than after the delay when the delay cannot save it. */
    if (limit_hit(s, c, now + out->delay_ms)) {
        out->notes &= ~(uint32_t)SUP_NOTE_RESTART;
        fail(s, out);
        return;
    }
    s->state = SUP_BACKOFF;
    s->deadline_ms = now + out->delay_ms;
}

static void exit_stopping(struct sup *s, const struct sup_cfg *c, uint64_t now,
                          const struct sup_exit *x, struct sup_out *out)
{
    int unhealthy = s->unhealthy;

    record_exit(s, c, now, x, out);
    s->deadline_ms = SUP_NEVER;
    if (!s->restart_after) {
        s->state = SUP_DOWN;
        out->notes |= SUP_NOTE_STOPPED;
        return;
    }
    out->notes |= SUP_NOTE_RESTART;
    if (unhealthy)
        restart_now(s, c, now, out); /* a liveness loop is limited like a crash loop */
    else
        spawn(s, c, now, out);
}

static void timer_stopping(struct sup *s, const struct sup_cfg *c, uint64_t now,
                           const struct sup_exit *x, struct sup_out *out)
{
    if (now < s->deadline_ms)
        return;
    s->deadline_ms = SUP_NEVER; /* SIGKILL cannot be ignored: wait for the exit */
    out->act = SUP_ACT_KILL;
    out->notes |= SUP_NOTE_KILLED;
}

static void timer_backoff(struct sup *s, const struct sup_cfg *c, uint64_t now,
                          const struct sup_exit *x, struct sup_out *out)
{
    if (now < s->deadline_ms)
        return;
    restart_now(s, c, now, out);
}

static void refused(struct sup *s, const struct sup_cfg *c, uint64_t now, const struct sup_exit *x,
                    struct sup_out *out)
{
    s->state = SUP_FAILED;
    s->deadline_ms = SUP_NEVER;
}

/* actions[state][event], as s6-supervise reads. NULL: nothing happens. */
static const cell_fn table[SUP_N_STATES][SUP_N_EVENTS] = {
    /*               START           STOP           RESTART          UNHEALTHY          EXIT TIMER
       REFUSED */
    [SUP_DOWN] = {start_fresh, NULL, start_fresh, NULL, NULL, NULL, NULL},
    [SUP_RUNNING] = {NULL, stop_running, restart_running, unhealthy_running, exit_running, NULL,
                     NULL},
    [SUP_STOPPING] = {start_stopping, stop_stopping, start_stopping, NULL, exit_stopping,
                      timer_stopping, NULL},
    [SUP_BACKOFF] = {start_now, stop_waiting, start_fresh, NULL, NULL, timer_backoff, NULL},
    [SUP_EXITED] = {start_fresh, stop_waiting, start_fresh, NULL, NULL, NULL, NULL},
    [SUP_FAILED] = {start_fresh, stop_waiting, start_fresh, NULL, NULL, NULL, NULL},
    [SUP_FETCHING] = {start_now, stop_waiting, start_now, NULL, NULL, NULL, refused},
};

void sup_event(struct sup *s, const struct sup_cfg *c, uint64_t now_ms, enum sup_event ev,
               const struct sup_exit *x, struct sup_out *out)
{
    cell_fn fn;

    memset(out, 0, sizeof(*out));
    if (s->state >= SUP_N_STATES || (unsigned)ev >= SUP_N_EVENTS)
        return;
    fn = table[s->state][ev];
    if (fn)
        fn(s, c, now_ms, x, out);
}

/* ---- names ---- */

const char *sup_state_name(uint8_t state)
{
    static const char *const names[] = {"down",   "running", "stopping", "backoff",
                                        "exited", "failed",  "fetching"};
    return state < SUP_N_STATES ? names[state] : "?";
}

const char *sup_event_name(uint8_t ev)
{
    static const char *const names[] = {"start", "stop",  "restart", "unhealthy",
                                        "exit",  "timer", "refused"};
    return ev < SUP_N_EVENTS ? names[ev] : "?";
}

static const struct {
    int sig;
    const char *name;
} signals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
    {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGWINCH, "SIGWINCH"},
    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
};

const char *sup_signal_name(int sig)
{
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return "SIG?";
}

int sup_signal_parse(const char *s)
{
    char *end;
    long n;

    if (!s || !*s)
        return -1;
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (strcmp(s, signals[i].name) == 0 || strcmp(s, signals[i].name + 3) == 0)
            return signals[i].sig;
    n = strtol(s, &end, 10);
    if (*end || n <= 0 || n > 64)
        return -1;
    return (int)n;
}

const char *sup_exit_str(const struct sup_exit *x, char *buf, size_t cap)
{
    if (x->code == -2)
        snprintf(buf, cap, "-");
    else if (x->signal)
        snprintf(buf, cap, "signal %d (%s)", x->signal, sup_signal_name(x->signal));
    else if (x->code < 0)
        snprintf(buf, cap, "unknown");
    else
        snprintf(buf, cap, "exit %d", x->code);
    return buf;
}
