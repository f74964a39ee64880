/* super_impl: what the files of the supervisor share (super.c,
 * super_watch.c, super_env.c, super_dir.c, super_spawn.c, super_store.c,
 * super_logs.c, super_catalog.c, super_bundle.c, secrets.c, crun.c). Not
 * for the rest of agent/, which uses super.h. */
#ifndef TROUPE_SUPER_IMPL_H
#define TROUPE_SUPER_IMPL_H

#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "agent/trust/bundle_archive.h"
#include "agent/super/super.h"
#include "core/sup.h"
#include "core/sup_spec.h"
#include "core/trust.h"

#define SUPER_SERVICES_MAX 256
#define SUPER_LOG_FILE_MAX (8u << 20)  /* bytes of one log file before it rotates */
#define SUPER_LOG_KEEP     3           /* rotated files kept: NAME.log.1 .. .3 */
#define SUPER_LINE_MAX     (64u << 10) /* longer lines are split into records */
#define SUPER_SECRET_MAX   (64u << 10)

struct svc;
struct inst;

/* A process being watched through its pidfd; on the heap because its
 * handle may still be closing when the next process of the instance starts. */
struct watch {
    uv_poll_t poll;   /* on pidfd, when the kernel has pidfd_open */
    uv_timer_t timer; /* else a check every WATCH_POLL_MS; only one of both is used */
    int pidfd;        /* -1 when polled by the timer */
    pid_t pid;
    struct inst *in;    /* NULL once the instance is gone */
    int logger;         /* the instance's logger, not the service */
    struct watch *next; /* in super's list of every watch */
    struct super *super;
};

struct inst {
    struct svc *svc;
    struct super *super;
    uint32_t idx; /* 0.. */
    struct sup sm;
    pid_t pid;          /* 0: none */
    uint64_t pid_start; /* the process's start time in /proc (clock ticks), against pid reuse */
    struct watch *w;    /* of the running process, NULL: none */
    pid_t logger;       /* the logger process of this instance, 0: none */
    struct watch *logw;
    int log_out, log_err; /* write ends of the logger's pipes, -1: none */
    uv_timer_t timer;     /* the state machine's deadline */
    uint64_t started_wall_ms;
    uint16_t ports[SUP_PORTS_MAX];
    uint64_t ver;     /* core/place_update version of the spec it was started with, 0: unknown */
    int registered;   /* in the catalog */
    int adopted;      /* not our child: its exit code is unknown */
    int retired;      /* scaled down: freed once stopped */
    int draining;     /* out of the catalog before an idle stop (super_drain) */
    int save_pending; /* its row is saved by the save-later timer (a cold start) */
    char secrets_dir[PATH_MAX + 96];
};

/* What a service that names a bundle runs (super_bundle.c). Its instances
 * are held (core/sup: a spawn waits in "fetching") until ready is set. */
struct svc_bundle {
    uint64_t gen;        /* of the fetch wanted now; a later answer for another is dropped */
    int fetching;        /* a bundle_prepare is under way */
    int ready;           /* dir, entry and runtime are the spec's bundle's, verified */
    int restart_pending; /* a new version: restart what runs once it is ready */
    char name[TRUST_NAME_MAX + 1];    /* the bundle dir holds */
    char dir[PATH_MAX];               /* the unpacked bundle */
    char entry[BUNDLE_FIELD_MAX + 1]; /* the manifest's entrypoint */
    uint8_t runtime;                  /* enum sup_runtime: the spec's, else the manifest's */
    char error[512];                  /* the latest refusal or failure; "" none */
    uint32_t failures;                /* fetches failed in a row (not refusals) */
    uint64_t retry_at_ms;             /* mono: fetch again then; 0 none */
};

struct svc {
    struct sup_spec spec;
    struct svc_bundle b;
    struct inst *inst[SUP_INSTANCES_MAX];
    uint32_t n_inst;  /* slots in use */
    uint32_t want;    /* instances wanted (spec, then troupe scale) */
    int stopped;      /* troupe stop: wanted down */
    int removing;     /* forget the spec once every instance is down */
    int from_dir;     /* applied from CONFIG_DIR/run (super_dir_load) */
    int seen;         /* found in this load of the directory */
    int placed;       /* run for a cluster spec (agent/place): instance idx = slot */
    uint64_t slots;   /* placed: the slots this node runs (bit k: slot k) */
    uint64_t update;  /* placed: the slots that may be replaced by the spec's version now */
    uint64_t cold;    /* placed: slots a cold start asked for (their checks probe fast) */
    int save_pending; /* the spec's row is saved by the save-later timer */
};

struct super {
    struct agent *a;
    uv_loop_t *loop;
    sqlite3 *db;
    char data_dir[2048]; /* absolute; longer paths are refused */
    char self_exe[PATH_MAX];
    char secrets_root[2100]; /* a tmpfs */
    unsigned char key[32];   /* secretbox key of the secrets */
    struct svc *svc[SUPER_SERVICES_MAX];
    size_t n_svc;
    struct watch *watches; /* every watch still open */
    int root;              /* the agent runs as root */
    int closed;
    uint64_t bundle_gen;      /* the last svc_bundle.gen given */
    uv_timer_t *bundle_retry; /* heap (freed in its close callback); NULL until needed */
    uv_timer_t *save_timer;   /* heap, the same: saves what a cold start put off */
    int no_pidfd;             /* pidfd_open is missing: the note about it was logged */
    char cg_base[PATH_MAX];   /* delegated: BASE/instances (absolute); "": the host's */
    struct super_stats {      /* troupe_supervisor_* (super_metrics.c) */
        uint64_t starts, restarts, spawn_failures, kills, gave_up;
        uint64_t exits[4]; /* by reason: success, failure, signal, unknown */
    } stats;
};

/* ---- super_metrics.c ---- */
/* Counts what one step of an instance's machine did (out: its notes; last:
 * the exit when SUP_NOTE_EXITED). */
void super_metrics_note(struct super *s, const struct sup_out *out, const struct sup_exit *last);

/* ---- super.c ---- */
uint64_t super_mono_ms(void);
/* The version of the spec a service holds now (core/place_update). */
uint64_t super_svc_ver(const struct svc *v);
/* A running instance of an older version may be restarted on the spec's:
 * always for a node-local service, only where placement allows it (the
 * rolling update) for a cluster spec. */
int super_may_replace(const struct inst *in);
struct svc *super_find(struct super *s, const char *name);
/* The process of an instance ended (x: how, when it was our child). */
void super_exited(struct inst *in, const struct sup_exit *x);

/* An instance whose liveness check went critical: restart it. */
void super_unhealthy(struct inst *in, const char *check_id);
/* Feeds ev to an instance's machine and does what it answers. */
void super_drive(struct inst *in, enum sup_event ev);
/* The runtime instances of v run with (a bundle's manifest may decide it). */
uint8_t super_runtime(const struct svc *v);

/* ---- super_watch.c: when a process ends ---- */
/* Watches pid (our child or not) and calls super_exited when it ends (a
 * logger's end only clears the instance's logger). NULL when pid is gone. */
struct watch *super_watch(struct super *s, struct inst *in, pid_t pid, int logger, struct err *e);
/* Stops watching; w is freed once its handle is closed. NULL: no-op. */
void super_watch_stop(struct watch *w);

/* ---- super_env.c: what an instance's process is given ---- */
/* socket_activation: the instance's first port bound and listening on
 * every address, close-on-exec (the spawn passes it as fd 3); the fd, or
 * -errno with e set. The caller closes it once the process has it. */
int super_listen_socket(const struct inst *in, struct err *e);
/* Fills in->ports: the spec's fixed ports, free ones for "auto" (picked
 * once, then kept across restarts). */
int super_assign_ports(struct inst *in, struct err *e);
/* The user an instance runs as and that user's home (into home, cap). */
int super_user(struct super *s, const struct sup_spec *sp, uid_t *uid, gid_t *gid, char *home,
               size_t cap, struct err *e);
/* The environment of an instance (heap, NULL-terminated; super_strv_free). */
char **super_env(struct inst *in, const char *home, const char *secrets_dir);
/* The spec's args with the ports replaced, after argv0 when not NULL
 * (heap, NULL-terminated; super_strv_free). */
char **super_args(const struct inst *in, const char *argv0);
/* Frees a NULL-terminated heap array of heap strings (NULL: no-op). */
void super_strv_free(char **v);

/* ---- super_bundle.c: services that run a signed bundle ---- */
/* A spec naming a bundle needs --trust-repo and --trust-root. */
int super_bundle_usable(struct super *s, const struct sup_spec *sp, struct err *e);
/* v's spec was set or replaced: when it names a bundle not ready yet, its
 * instances are held and a fetch starts. 1 when nothing is to wait for. */
int super_bundle_changed(struct super *s, struct svc *v);
/* 1 while the instances of v must wait for their bundle. */
int super_bundle_held(const struct svc *v);
/* An instance of v went to "fetching": make sure a fetch is under way. */
void super_bundle_need(struct super *s, struct svc *v);
/* The command line of a bundle instance: the entrypoint's words then args
 * (the spec's, already expanded; heap array, NULL-terminated, free with
 * free and its strings); inside is 1 for a container (paths from its
 * root), 0 for a process (paths relative to the bundle dir, its working
 * directory). */
char **super_bundle_argv(const struct svc *v, char *const *args, int inside);
/* Replaces ${PORT} and ${PORT_name} in text with in's ports, into out. */
void super_expand_ports(const struct inst *in, const char *text, char *out, size_t cap);
/* Where a process instance of v sees its bundle: as root, a mount point
 * under /run/troupe/bundles (created here) that the bundle is bind-mounted
 * on read-only, as the data dir is private; else the unpacked dir itself.
 * 1 when the bind mount is needed, 0 when not, negative on error. */
int super_bundle_where(struct super *s, const struct svc *v, char *out, size_t cap, struct err *e);
void super_bundle_close(struct super *s);

/* ---- super_catalog.c: registration, liveness, the event history ---- */
int super_catalog_open(struct super *s, struct err *e);
void super_catalog_register(struct inst *in);
void super_catalog_deregister(struct inst *in);
void super_history(struct super *s, const char *kind, const char *subject, const char *detail);

/* ---- super_spawn.c: fork and exec with the sandbox of a plain process ---- */
struct spawn_req {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *dir; /* NULL: / */
    int set_user;    /* drop to uid/gid (root only) */
    uid_t uid;
    gid_t gid;
    int fds[4]; /* what the child gets as fd 0..3; -1: /dev/null (0-2) or closed (3) */
    int no_new_privs;
    uint32_t nofile;        /* RLIMIT_NOFILE, 0: inherit */
    const char *cgroups[4]; /* cgroup.procs files to join, NULL-terminated */
    const char *bind_src;   /* non-NULL: in a mount namespace of its own, bind_src is
                             * mounted read-only on bind_dst (an existing directory) */
    const char *bind_dst;
    int hide_unified; /* a mount namespace without /sys/fs/cgroup/unified (crun on
                       * hybrid hosts: it refuses them, and takes v1 alone) */
    int listen_pid;   /* the child writes its pid into envp's "LISTEN_PID=" entry,
                       * which holds SPAWN_LISTEN_PID_ROOM (systemd's convention) */
};
#define SPAWN_LISTEN_PID_ROOM "0000000000"
/* 1 on a hybrid cgroup host: v1 hierarchies, and cgroup2 on /sys/fs/cgroup/unified. */
int spawn_cgroup_hybrid(void);
/* Forks, applies req in the child and execs. Returns once the exec
 * happened (0, *pid set) or failed (-errno, e says why). */
int spawn_process(const struct spawn_req *req, pid_t *pid, struct err *e);
/* A pidfd for pid (-errno when it is gone or unsupported). */
int spawn_pidfd(pid_t pid);
/* The start time of pid from /proc/PID/stat, 0 when it does not exist. */
uint64_t spawn_proc_start(pid_t pid);
/* Resolves user (and group, may be "") to ids. */
int spawn_user(const char *user, const char *group, uid_t *uid, gid_t *gid, struct err *e);

/* ---- super_cgroup.c: the cgroups of instances with limits ---- */
/* Chooses where they go (--cgroup-parent): below the agent's own cgroup
 * when it is delegated to the agent (the agent moves itself to its leaf
 * BASE/agent), else the host's /sys/fs/cgroup/troupe as before; logs
 * which. Fails only for a --cgroup-parent PATH that cannot be used. */
int super_cgroup_open(struct super *s, struct err *e);
/* The cgroup of instance name (NAME-N) with the spec's limits: fills
 * cgroups with the cgroup.procs paths to join (none without limits, or
 * when the agent may not make cgroups), in paths. */
int super_cgroup_make(struct super *s, const char *name, const struct sup_limits *l,
                      const char *cgroups[4], char paths[4][PATH_MAX], struct err *e);
/* Removes the instance's cgroups once empty (fails harmlessly before). */
void super_cgroup_remove(struct super *s, const char *name);
/* The instance's cgroup path below /sys/fs/cgroup, for crun's config. */
void super_cgroup_rel(const struct super *s, const char *name, char *out, size_t cap);

/* ---- super_store.c: the supervisor's tables (specs, instances, secrets) ---- */
int super_store_open(struct super *s, struct err *e);
void super_store_close(struct super *s);
int super_store_spec_put(struct super *s, const struct svc *v, struct err *e);
int super_store_spec_del(struct super *s, const char *name, struct err *e);
/* The slots of a placed service as saved (1), or 0 when it is not placed. */
int super_store_placed_get(struct super *s, const char *name, uint64_t *slots);
int super_store_inst_put(struct super *s, const struct inst *in, struct err *e);
int super_store_inst_del(struct super *s, const char *name, uint32_t idx, struct err *e);
/* Calls fn for every stored spec (json, want, stopped). */
int super_store_specs(struct super *s,
                      int (*fn)(struct super *s, const char *json, uint32_t want, int stopped),
                      struct err *e);
struct inst_row {
    pid_t pid;
    uint64_t pid_start, started_mono_ms, started_wall_ms;
    uint32_t restarts, level;
    uint16_t ports[SUP_PORTS_MAX];
    char state[16];
};
/* The stored row of an instance; -ENOENT when none. */
int super_store_inst_get(struct super *s, const char *name, uint32_t idx, struct inst_row *r,
                         struct err *e);

/* ---- super_logs.c ---- */
/* The logger: `troupe _logger DIR BASENAME`, reads fd 0 (stdout) and fd 3
 * (stderr) of an instance into DIR/BASENAME.log, rotated. */
int super_logger_spawn(struct super *s, struct inst *in, struct err *e);

/* ---- secrets.c ---- */
/* Loads (or makes) the key and the secrets' table; the table and every
 * query of it live in secrets.c. */
int secrets_open(struct super *s, struct err *e);
/* 1 when a secret of that name is stored. */
int secrets_exists(struct super *s, const char *name);
/* Writes the secrets of a spec as files into dir (created, a tmpfs),
 * owned by uid/gid, mode 0400. */
int secrets_materialize(struct super *s, const struct sup_spec *spec, const char *dir, uid_t uid,
                        gid_t gid, struct err *e);
void secrets_clear(const char *dir);

/* ---- crun.c ---- */
/* Writes the OCI bundle of an instance and fills argv (crun run ...);
 * args is the container's command line (NULL-terminated, ${PORT}
 * already replaced). argv strings live in bufs. */
int crun_prepare(struct super *s, struct inst *in, uid_t uid, gid_t gid, char *const *envp,
                 char *const *args, char *argv[16], char bufs[8][PATH_MAX], struct err *e);
/* Sends sig to the container of an instance (crun kill). */
int crun_signal(struct super *s, struct inst *in, int sig, struct err *e);
void crun_cleanup(struct super *s, struct inst *in);
int crun_container_id(const struct inst *in, char *out, size_t cap);

#endif
