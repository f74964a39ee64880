/* sup: the supervision of one service instance as a pure state machine,
 * read like s6-supervise's actions[state][event]: a table of states x
 * events whose cells say what to do (spawn, signal, kill) and what to
 * report (exited, restart scheduled, killed after grace, gave up). It owns
 * the restart policy, the backoff, the start limit and the stop grace
 * deadline. Time is an argument; processes, signals and timers are the
 * driver's (agent/super/super.c). */
#ifndef TROUPE_SUP_H
#define TROUPE_SUP_H

#include <stddef.h>
#include <stdint.h>

#define SUP_NEVER           UINT64_MAX
#define SUP_START_BURST_MAX 64

enum sup_restart { SUP_RESTART_ALWAYS = 0, SUP_RESTART_ON_FAILURE, SUP_RESTART_NEVER };

struct sup_cfg {
    uint8_t restart;            /* enum sup_restart; always */
    uint32_t backoff_first_ms;  /* 100: the first delay after a short run */
    uint32_t backoff_max_ms;    /* 300000: the delay doubles up to this */
    uint32_t backoff_reset_ms;  /* 600000: a run this long forgets the backoff */
    uint32_t min_run_ms;        /* 1000: a run at least this long restarts at once */
    uint32_t start_burst;       /* 5 starts ... */
    uint32_t start_interval_ms; /* ... within 10000 ms: failed (0 burst: no limit) */
    uint32_t stop_grace_ms;     /* 10000: stop signal, then SIGKILL after this */
};

void sup_cfg_default(struct sup_cfg *c);

enum sup_state {
    SUP_DOWN = 0, /* not running, and not wanted up (stopped, or never started) */
    SUP_RUNNING,  /* the process runs */
    SUP_STOPPING, /* stop signal sent, waiting for the exit (grace deadline) */
    SUP_BACKOFF,  /* exited; waiting for the backoff delay to restart */
    SUP_EXITED,   /* exited, and the restart policy says it stays down */
    SUP_FAILED,   /* the start limit was hit, or what it runs was refused; down until
                   * restarted by hand */
    SUP_FETCHING, /* wants to run, but what it runs is not there yet (a bundle being
                   * fetched and verified): sup_hold is set */
    SUP_N_STATES
};

enum sup_event {
    SUP_EV_START = 0, /* start wanted (the spec was applied, troupe start) */
    SUP_EV_STOP,      /* stop wanted (troupe stop, scale down, spec removed) */
    SUP_EV_RESTART,   /* troupe restart: stop if running, then start */
    SUP_EV_UNHEALTHY, /* a liveness check went critical: restart */
    SUP_EV_EXIT,      /* the process ended (or could not be spawned) */
    SUP_EV_TIMER,     /* the deadline (sup_deadline) passed */
    SUP_EV_REFUSED,   /* what it would run was refused (an unverified bundle): failed */
    SUP_N_EVENTS
};

enum sup_act {
    SUP_ACT_NONE = 0,
    SUP_ACT_SPAWN,  /* start the process now (a spawn failure comes back as EXIT) */
    SUP_ACT_SIGNAL, /* send the stop signal */
    SUP_ACT_KILL,   /* send SIGKILL */
};

/* What happened, for the event history and the log (a bit set). */
enum sup_note {
    SUP_NOTE_STARTED = 1u << 0,
    SUP_NOTE_EXITED = 1u << 1,
    SUP_NOTE_RESTART = 1u << 2,   /* a restart is scheduled (delay_ms) or done now */
    SUP_NOTE_KILLED = 1u << 3,    /* SIGKILL after the stop grace ran out */
    SUP_NOTE_GAVE_UP = 1u << 4,   /* start limit hit: failed */
    SUP_NOTE_STOPPED = 1u << 5,   /* down as wanted */
    SUP_NOTE_UNHEALTHY = 1u << 6, /* restarting because a liveness check failed */
};

/* How a process ended, as the driver saw it. */
struct sup_exit {
    int code;   /* exit code, or -1 when unknown (adopted process) */
    int signal; /* terminating signal, 0 when it exited */
};

struct sup {
    uint8_t state;                        /* enum sup_state */
    uint8_t restart_after;                /* STOPPING: start again once it exited */
    uint8_t unhealthy;                    /* STOPPING because of a liveness failure */
    uint8_t hold;                         /* a spawn now waits in FETCHING (sup_hold) */
    uint32_t level;                       /* consecutive short runs: the backoff exponent */
    uint64_t deadline_ms;                 /* SUP_NEVER: none */
    uint64_t started_ms;                  /* when the running process was spawned */
    uint32_t restarts;                    /* spawns after the first one */
    uint32_t n_starts;                    /* total spawns */
    uint32_t n_window;                    /* spawns since the start limit window began */
    uint64_t starts[SUP_START_BURST_MAX]; /* ring of the latest spawn times */
    struct sup_exit last;                 /* of the latest exit; code -2 when none yet */
};

struct sup_out {
    uint8_t act;       /* enum sup_act */
    uint32_t notes;    /* enum sup_note bits */
    uint64_t delay_ms; /* SUP_NOTE_RESTART: the backoff chosen (0: at once) */
    uint64_t ran_ms;   /* SUP_NOTE_EXITED: how long the process ran */
};

void sup_init(struct sup *s);
/* Feeds one event at now_ms; x is read for SUP_EV_EXIT only (may be NULL
 * otherwise). Fills *out with the action to take and what to report. */
void sup_event(struct sup *s, const struct sup_cfg *c, uint64_t now_ms, enum sup_event ev,
               const struct sup_exit *x, struct sup_out *out);
/* The next time SUP_EV_TIMER is due, SUP_NEVER when none. */
uint64_t sup_deadline(const struct sup *s);
/* A process found running after the agent restarted (started at
 * started_ms on the same monotonic clock): it is RUNNING again. */
void sup_adopt(struct sup *s, uint64_t started_ms, uint32_t restarts, uint32_t level);
/* While held, a spawn the rules ask for does not happen: the instance
 * waits in FETCHING (no start is counted) until the driver releases the
 * hold and feeds SUP_EV_START; SUP_EV_STOP takes it down, SUP_EV_REFUSED
 * to FAILED. The driver holds the instances of a bundle that is not
 * verified and unpacked yet. */
void sup_hold(struct sup *s, int on);
/* The backoff delay for the current level. */
uint64_t sup_backoff_ms(const struct sup *s, const struct sup_cfg *c);

const char *sup_state_name(uint8_t state);
const char *sup_event_name(uint8_t ev);
/* "exit 3", "signal 9 (SIGKILL)", "unknown", "-" into buf. */
const char *sup_exit_str(const struct sup_exit *x, char *buf, size_t cap);
/* "SIGTERM" or "TERM" or a number to a signal number; -1 when unknown. */
int sup_signal_parse(const char *s);
const char *sup_signal_name(int sig);

#endif
