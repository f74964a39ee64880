/* super: the supervisor's driver (see super.h). It holds the services and
 * their instances, feeds each instance's core/sup machine with what
 * happens (spawns, exits seen through super_watch.c, timers, requests),
 * and does what the machine answers: spawn (with what super_env.c works
 * out, through super_spawn.c or crun.c), signal, kill. Every start, exit,
 * restart, kill and give-up is logged as an event. Instance pids, start
 * times and ports are kept in SQLite (super_store.c) so that a restarted
 * agent re-adopts what still runs, instead of killing or losing it. Times
 * given to core/sup are CLOCK_MONOTONIC in ms, which is the same clock
 * before and after an agent restart. The specs of CONFIG_DIR/run are
 * super_dir.c's. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"
#include "core/place_update.h"

static void inst_drive(struct inst *in, enum sup_event ev, const struct sup_exit *x);
static void svc_maybe_free(struct super *s, struct svc *v);

uint64_t super_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct svc *super_find(struct super *s, const char *name)
{
    for (size_t i = 0; i < s->n_svc; i++)
        if (strcmp(s->svc[i]->spec.name, name) == 0)
            return s->svc[i];
    return NULL;
}

/* An event of an instance: in the log now, in the history once it exists. */
static void note(struct inst *in, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct inst *in, const char *kind, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    log_info("super", "%s/%u %s: %s", in->svc->spec.name, in->idx, kind, detail);
    {
        char subject[SUP_NAME_MAX + 16];
        snprintf(subject, sizeof(subject), "%s/%u", in->svc->spec.name, in->idx);
        super_history(in->super, kind, subject, detail);
    }
}

static void save(struct inst *in)
{
    struct err e;

    if (super_store_inst_put(in->super, in, &e) < 0)
        log_warn("super", "%s/%u: %s", in->svc->spec.name, in->idx, e.msg);
}

/* ---- saving later ---- */

/* A cold start (a connection waits for the instance) puts off the disk
 * syncs of its rows by SUPER_SAVE_LATER_MS: the held connection goes on
 * first. An agent killed within that time re-adopts nothing of that
 * instance (it keeps running, unsupervised, until stopped by hand). */
#define SUPER_SAVE_LATER_MS 200

static int is_cold(const struct inst *in)
{
    return in->svc->placed && in->idx < 64 && (in->svc->cold >> in->idx & 1);
}

static void save_pending(struct super *s)
{
    struct err e;

    for (size_t k = 0; k < s->n_svc; k++) {
        struct svc *v = s->svc[k];
        if (v->save_pending) {
            v->save_pending = 0;
            if (super_store_spec_put(s, v, &e) < 0)
                log_warn("super", "%s: %s", v->spec.name, e.msg);
        }
        for (uint32_t i = 0; i < v->n_inst; i++) {
            if (v->inst[i] && v->inst[i]->save_pending) {
                v->inst[i]->save_pending = 0;
                save(v->inst[i]);
            }
        }
    }
}

static void save_later_cb(uv_timer_t *t)
{
    save_pending(t->data);
}

static void save_later(struct super *s)
{
    if (!s->save_timer) {
        s->save_timer = xcalloc(1, sizeof(*s->save_timer));
        uv_timer_init(s->loop, s->save_timer);
        s->save_timer->data = s;
    }
    if (!uv_is_active((uv_handle_t *)s->save_timer))
        uv_timer_start(s->save_timer, save_later_cb, SUPER_SAVE_LATER_MS, 0);
}

/* Saves the spec's row now, or with the save-later timer while a cold start runs. */
static int spec_put(struct super *s, struct svc *v, struct err *e)
{
    if (!v->cold)
        return super_store_spec_put(s, v, e);
    v->save_pending = 1;
    save_later(s);
    return 0;
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* ---- spawning one instance ---- */

/* Writes the instance's secrets into a fresh directory of its own; *dir is
 * where the process finds them (inside the container for crun). */
static int inst_secrets(struct inst *in, uid_t uid, gid_t gid, const char **dir, struct err *e)
{
    struct super *s = in->super;
    const struct sup_spec *sp = &in->svc->spec;
    int rc;

    snprintf(in->secrets_dir, sizeof(in->secrets_dir), "%s/%s-%u", s->secrets_root, sp->name,
             in->idx);
    secrets_clear(in->secrets_dir);
    if ((rc = secrets_materialize(s, sp, in->secrets_dir, uid, gid, e)) < 0)
        return rc;
    *dir = super_runtime(in->svc) == SUP_RUNTIME_CRUN ? "/run/secrets" : in->secrets_dir;
    return 0;
}

/* Without a container: the command (or the bundle's entrypoint, from the
 * bundle's directory bdir) runs as the service's user. */
static int inst_req_host(struct inst *in, uid_t uid, gid_t gid, char **env, char **argv,
                         char **bargv, char *bdir, size_t bdir_len, struct spawn_req *r,
                         struct err *e)
{
    struct super *s = in->super;
    const struct sup_spec *sp = &in->svc->spec;
    int rc;

    if (bargv) {
        if ((rc = super_bundle_where(s, in->svc, bdir, bdir_len, e)) < 0)
            return rc;
        if (rc == 1) {
            r->bind_src = in->svc->b.dir;
            r->bind_dst = bdir;
        }
        r->path = bargv[0];
        r->argv = bargv;
        r->dir = bdir;
    } else {
        r->path = sp->command;
        r->argv = argv;
        r->dir = sp->dir;
    }
    r->envp = env;
    r->set_user = s->root;
    r->uid = uid;
    r->gid = gid;
    r->no_new_privs = 1;
    r->nofile = sp->limits.nofile;
    return 0;
}

/* The process runs: records it and watches it (killed if it cannot be). */
static int inst_started(struct inst *in, pid_t pid, struct err *e)
{
    in->pid = pid;
    in->ver = super_svc_ver(in->svc);
    in->pid_start = spawn_proc_start(pid);
    in->started_wall_ms = agent_wall_ms();
    in->adopted = 0;
    if (!(in->w = super_watch(in->super, in, pid, 0, e))) {
        kill(pid, SIGKILL);
        return e->code;
    }
    return 0;
}

/* crun's own environment (the container's is in its config.json); static,
 * as it must outlive the block that picks it */
static char *const crun_envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

static int inst_spawn(struct inst *in, struct err *e)
{
    struct super *s = in->super;
    const struct sup_spec *sp = &in->svc->spec;
    char home[PATH_MAX], cg_paths[4][PATH_MAX], cg_name[SUP_NAME_MAX + 16], bdir[PATH_MAX];
    char *crun_argv[16], crun_bufs[8][PATH_MAX];
    char **argv = NULL, **env = NULL, **bargv = NULL;
    const char *secrets_dir = NULL;
    int crun = super_runtime(in->svc) == SUP_RUNTIME_CRUN;
    struct spawn_req r;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int rc, lfd = -1;

    memset(&r, 0, sizeof(r));
    /* again at every start: the agent may have restarted without the flag */
    if ((rc = sup_spec_check_privilege(sp, s->a->cfg.allow_root_services, e)) < 0 ||
        (rc = super_user(s, sp, &uid, &gid, home, sizeof(home), e)) < 0)
        return rc;
    if ((rc = super_assign_ports(in, e)) < 0)
        return rc;
    if (sp->n_secrets && (rc = inst_secrets(in, uid, gid, &secrets_dir, e)) < 0)
        return rc;
    if ((rc = super_logger_spawn(s, in, e)) < 0)
        return rc;
    if (!in->logw && in->logger)
        in->logw = super_watch(s, in, in->logger, 1, NULL);
    env = super_env(in, home, secrets_dir);
    if (sp->bundle && !in->svc->b.ready) {
        rc = err_set(e, -EAGAIN, "bundle %s: not verified yet", sp->bundle);
        goto out;
    }
    if (sp->bundle) {
        char **args = super_args(in, NULL);
        bargv = super_bundle_argv(in->svc, args, crun);
        super_strv_free(args);
    } else {
        argv = super_args(in, sp->command);
    }
    if (crun) {
        if ((rc = crun_prepare(s, in, uid, gid, env, bargv ? bargv : argv, crun_argv, crun_bufs,
                               e)) < 0)
            goto out;
        r.path = crun_argv[0];
        r.argv = crun_argv;
        r.envp = crun_envp;
        r.hide_unified = spawn_cgroup_hybrid();
    } else if ((rc = inst_req_host(in, uid, gid, env, argv, bargv, bdir, sizeof(bdir), &r, e)) <
               0) {
        goto out;
    }
    snprintf(cg_name, sizeof(cg_name), "%s-%u", sp->name, in->idx);
    if ((rc = super_cgroup_make(s, cg_name, &sp->limits, r.cgroups, cg_paths, e)) < 0)
        goto out;
    r.fds[0] = -1;
    r.fds[1] = in->log_out;
    r.fds[2] = in->log_err;
    r.fds[3] = -1;
    if (sp->socket_activation && !crun) {
        if ((rc = lfd = super_listen_socket(in, e)) < 0)
            goto out;
        r.fds[3] = lfd;
        r.listen_pid = 1;
    }
    if ((rc = spawn_process(&r, &pid, e)) < 0)
        goto out;
    rc = inst_started(in, pid, e);
out:
    if (lfd >= 0)
        close(lfd);
    super_strv_free(argv);
    super_strv_free(bargv);
    super_strv_free(env);
    return rc;
}

static void send_signal(struct inst *in, int sig)
{
    struct err e;

    if (!in->pid)
        return;
    if (super_runtime(in->svc) == SUP_RUNTIME_CRUN) {
        if (crun_signal(in->super, in, sig, &e) < 0)
            log_warn("super", "%s/%u: %s", in->svc->spec.name, in->idx, e.msg);
        if (sig != SIGKILL)
            return;
    }
    /* the instance leads its own session and process group: signal them all */
    if (kill(-in->pid, sig) < 0)
        kill(in->pid, sig);
}

/* ---- the machine's outputs ---- */

static void timer_cb(uv_timer_t *t)
{
    struct inst *in = t->data;
    struct svc *v = in->svc;

    inst_drive(in, SUP_EV_TIMER, NULL);
    svc_maybe_free(in->super, v);
}

static void arm(struct inst *in)
{
    uint64_t d = sup_deadline(&in->sm), now;

    if (d == SUP_NEVER) {
        uv_timer_stop(&in->timer);
        return;
    }
    now = super_mono_ms();
    uv_timer_start(&in->timer, timer_cb, d > now ? d - now : 0, 0);
}

static void inst_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void inst_release(struct inst *in)
{
    struct err e;
    char cg[SUP_NAME_MAX + 16];

    super_watch_stop(in->w);
    /* the logger ends once it read everything: keep watching it, to reap it */
    if (in->logw)
        in->logw->in = NULL;
    if (in->log_out >= 0)
        close(in->log_out);
    if (in->log_err >= 0)
        close(in->log_err);
    if (in->retired) {
        if (super_runtime(in->svc) == SUP_RUNTIME_CRUN)
            crun_cleanup(in->super, in);
        super_store_inst_del(in->super, in->svc->spec.name, in->idx, &e);
        secrets_clear(in->secrets_dir);
        snprintf(cg, sizeof(cg), "%s-%u", in->svc->spec.name, in->idx);
        super_cgroup_remove(in->super, cg);
    }
    uv_close((uv_handle_t *)&in->timer, inst_free_cb);
}

static void svc_free(struct super *s, struct svc *v);

/* After an instance went down: free what was scaled away or removed. */
static void reap_retired(struct svc *v)
{
    for (uint32_t i = 0; i < v->n_inst; i++) {
        struct inst *in = v->inst[i];
        if (!in || !in->retired || in->pid)
            continue;
        if (in->sm.state != SUP_DOWN && in->sm.state != SUP_EXITED && in->sm.state != SUP_FAILED)
            continue;
        v->inst[i] = NULL;
        inst_release(in);
    }
    while (v->n_inst && !v->inst[v->n_inst - 1])
        v->n_inst--;
}

/* A removed service is freed once its last instance is down; called from
 * the loop's entry points, after the instance's work is done. */
static void svc_maybe_free(struct super *s, struct svc *v)
{
    if (v->removing && v->n_inst == 0)
        svc_free(s, v);
}

static void inst_drive(struct inst *in, enum sup_event ev, const struct sup_exit *x)
{
    struct svc *v = in->svc;
    struct sup_out o;
    struct err e;
    char how[64];
    uint64_t now = super_mono_ms();
    uint8_t before = in->sm.state;

    sup_event(&in->sm, &v->spec.sup, now, ev, x, &o);
    if (in->sm.state == SUP_FETCHING && before != SUP_FETCHING) {
        note(in, "fetching", "waiting for bundle %s to be verified", v->spec.bundle);
        super_bundle_need(in->super, v);
    }
    if (ev == SUP_EV_REFUSED && in->sm.state == SUP_FAILED)
        note(in, "refused", "%s; nothing runs until troupe restart %s",
             v->b.error + (strncmp(v->b.error, "refused ", 8) == 0 ? 8 : 0), v->spec.name);
    /* an instance that is not restarted at once leaves the catalog now; one
     * that is gets its registration replaced right after the spawn, so that
     * the durable write of the catalog does not delay the replacement;
     * except one replaced by a new version of its cluster spec: the new
     * version starts with no check passed (the rolling update waits for
     * it to pass, not for the old version's health) */
    if ((o.notes & SUP_NOTE_EXITED) &&
        (o.act != SUP_ACT_SPAWN || (v->placed && in->ver != super_svc_ver(v))))
        super_catalog_deregister(in);
    super_metrics_note(in->super, &o, &in->sm.last);
    if (o.notes & SUP_NOTE_EXITED)
        note(in, "exit", "%s after %llu ms", sup_exit_str(&in->sm.last, how, sizeof(how)),
             (unsigned long long)o.ran_ms);
    if (o.notes & SUP_NOTE_UNHEALTHY)
        note(in, "unhealthy", "a liveness check is critical: restarting");
    if (o.notes & SUP_NOTE_KILLED)
        note(in, "kill", "still running %u ms after %s: SIGKILL", v->spec.sup.stop_grace_ms,
             sup_signal_name(v->spec.stop_signal));
    if (o.notes & SUP_NOTE_GAVE_UP)
        note(in, "give-up", "%u starts within %u ms: failed until troupe restart %s",
             v->spec.sup.start_burst, v->spec.sup.start_interval_ms, v->spec.name);
    if ((o.notes & SUP_NOTE_RESTART) && o.act != SUP_ACT_SPAWN)
        note(in, "restart", "in %llu ms (backoff)", (unsigned long long)o.delay_ms);
    if (o.notes & SUP_NOTE_STOPPED)
        note(in, "stopped", "down as asked");
    switch (o.act) {
    case SUP_ACT_SPAWN:
        if (inst_spawn(in, &e) < 0) {
            struct sup_exit fx = {.code = 127, .signal = 0};
            in->super->stats.spawn_failures++;
            note(in, "spawn-fail", "%s", e.msg);
            inst_drive(in, SUP_EV_EXIT, &fx);
            return;
        }
        in->super->stats.starts++;
        if (in->sm.restarts)
            in->super->stats.restarts++;
        note(in, in->sm.restarts ? "restart" : "start", "pid %d (restart %u)", (int)in->pid,
             in->sm.restarts);
        super_catalog_register(in);
        break;
    case SUP_ACT_SIGNAL:
        note(in, "stop", "%s to pid %d, SIGKILL in %u ms", sup_signal_name(v->spec.stop_signal),
             (int)in->pid, v->spec.sup.stop_grace_ms);
        send_signal(in, v->spec.stop_signal);
        break;
    case SUP_ACT_KILL:
        send_signal(in, SIGKILL);
        break;
    default:
        break;
    }
    arm(in);
    if (o.act == SUP_ACT_SPAWN && is_cold(in)) {
        in->save_pending = 1;
        save_later(in->super);
    } else if (o.act == SUP_ACT_SPAWN || o.notes || before != in->sm.state) {
        in->save_pending = 0;
        save(in);
    }
    if (!in->pid &&
        (in->sm.state == SUP_DOWN || in->sm.state == SUP_EXITED || in->sm.state == SUP_FAILED))
        reap_retired(v);
}

void super_drive(struct inst *in, enum sup_event ev)
{
    inst_drive(in, ev, NULL);
}

void super_exited(struct inst *in, const struct sup_exit *x)
{
    struct svc *v = in->svc;
    struct super *s = in->super;

    inst_drive(in, SUP_EV_EXIT, x);
    svc_maybe_free(s, v);
}

uint8_t super_runtime(const struct svc *v)
{
    return v->spec.bundle ? v->b.runtime : v->spec.runtime;
}

void super_unhealthy(struct inst *in, const char *check_id)
{
    struct svc *v = in->svc;

    if (in->sm.state != SUP_RUNNING)
        return;
    log_info("super", "%s/%u: liveness check %s is critical", v->spec.name, in->idx, check_id);
    inst_drive(in, SUP_EV_UNHEALTHY, NULL);
    svc_maybe_free(in->super, v);
}

/* ---- services ---- */

static struct inst *inst_new(struct super *s, struct svc *v, uint32_t idx)
{
    struct inst *in = xcalloc(1, sizeof(*in));

    in->super = s;
    in->svc = v;
    in->idx = idx;
    in->log_out = in->log_err = -1;
    sup_init(&in->sm);
    sup_hold(&in->sm, super_bundle_held(v));
    uv_timer_init(s->loop, &in->timer);
    in->timer.data = in;
    v->inst[idx] = in;
    if (idx + 1 > v->n_inst)
        v->n_inst = idx + 1;
    return in;
}

static void svc_free(struct super *s, struct svc *v)
{
    for (size_t i = 0; i < s->n_svc; i++) {
        if (s->svc[i] != v)
            continue;
        s->svc[i] = s->svc[--s->n_svc];
        break;
    }
    for (uint32_t i = 0; i < v->n_inst; i++)
        if (v->inst[i])
            inst_release(v->inst[i]);
    sup_spec_release(&v->spec);
    free(v);
}

/* Is instance i wanted: below want, or one of the slots of a placed service. */
static int inst_wanted(const struct svc *v, uint32_t i)
{
    if (v->placed)
        return i < 64 && ((v->slots >> i) & 1);
    return i < v->want;
}

/* Makes the wanted instances (0..want-1, or a placed service's slots)
 * exist and run (unless stopped), and stops the others. */
static void svc_converge(struct super *s, struct svc *v)
{
    for (uint32_t i = 0; i < v->want; i++) {
        struct inst *in = v->inst[i];
        if (!inst_wanted(v, i))
            continue;
        int revived;
        if (!in)
            in = inst_new(s, v, i);
        /* wanted again while it stops (a cold start right after an idle
         * stop): it starts again once it is down, in the catalog again */
        revived = in->retired && in->sm.state == SUP_STOPPING;
        in->retired = 0;
        if (revived)
            in->draining = 0;
        if (!v->stopped && (in->sm.state == SUP_DOWN || revived))
            inst_drive(in, SUP_EV_START, NULL);
    }
    for (uint32_t i = 0; i < v->n_inst; i++) {
        struct inst *in = v->inst[i];
        if (!in || inst_wanted(v, i))
            continue;
        in->retired = 1;
        inst_drive(in, SUP_EV_STOP, NULL);
    }
    reap_retired(v);
}

/* Environment checks a parsed spec must pass before it replaces anything. */
static int spec_usable(struct super *s, const struct sup_spec *sp, struct err *e)
{
    uid_t uid;
    gid_t gid;
    char home[PATH_MAX];
    struct stat st;

    if (sup_spec_check_privilege(sp, s->a->cfg.allow_root_services, e) < 0)
        return e->code;
    if (sp->bundle && super_bundle_usable(s, sp, e) < 0)
        return e->code;
    if (sp->command && sp->runtime == SUP_RUNTIME_PROCESS && access(sp->command, X_OK) < 0 &&
        sp->command[0] == '/')
        return err_set(e, -ENOENT, "command: %s: %s", sp->command, strerror(errno));
    if (sp->command && sp->command[0] != '/')
        return err_set(e, -EINVAL, "command: \"%s\" is not an absolute path", sp->command);
    if (sp->dir && (stat(sp->dir, &st) < 0 || !S_ISDIR(st.st_mode)))
        return err_set(e, -ENOENT, "dir: %s is not a directory", sp->dir);
    if (sp->rootfs && stat(sp->rootfs, &st) < 0)
        return err_set(e, -ENOENT, "rootfs: %s: %s", sp->rootfs, strerror(errno));
    if (super_user(s, sp, &uid, &gid, home, sizeof(home), e) < 0)
        return e->code;
    for (size_t i = 0; i < sp->n_secrets; i++) {
        if (!secrets_exists(s, sp->secrets[i]))
            return err_set(e, -ENOENT, "secrets[%zu]: no secret named \"%s\" (troupe secret put)",
                           i, sp->secrets[i]);
    }
    return 0;
}

/* A new service for sp (which it takes: released when there is no room,
 * NULL and -ENOSPC in e). The caller sets what else it wants and calls svc_begin. */
static struct svc *svc_add(struct super *s, struct sup_spec *sp, struct err *e)
{
    struct svc *v;

    if (s->n_svc == SUPER_SERVICES_MAX) {
        sup_spec_release(sp);
        err_set(e, -ENOSPC, "at most %d services", SUPER_SERVICES_MAX);
        return NULL;
    }
    v = xcalloc(1, sizeof(*v));
    v->spec = *sp;
    s->svc[s->n_svc++] = v;
    return v;
}

/* A service just added: stored, its bundle fetched, its instances started. */
static int svc_begin(struct super *s, struct svc *v, struct err *e)
{
    int rc;

    if ((rc = super_store_spec_put(s, v, e)) < 0)
        return rc;
    super_bundle_changed(s, v);
    svc_converge(s, v);
    return 0;
}

int super_apply(struct super *s, const char *text, size_t len, char *name, struct err *e)
{
    struct sup_spec sp;
    struct svc *v;
    int rc;

    if ((rc = sup_spec_parse(&sp, text, len, e)) < 0)
        return rc;
    if ((rc = spec_usable(s, &sp, e)) < 0) {
        sup_spec_release(&sp);
        return rc;
    }
    snprintf(name, 64, "%s", sp.name);
    v = super_find(s, sp.name);
    if (v && v->placed) {
        sup_spec_release(&sp);
        return err_set(e, -EEXIST,
                       "name: %s runs here for a cluster spec (troupe apply); pick another name",
                       name);
    }
    if (v && strcmp(v->spec.json, sp.json) == 0) {
        sup_spec_release(&sp);
        v->stopped = 0;
        v->want = v->spec.instances;
        if ((rc = super_store_spec_put(s, v, e)) < 0)
            return rc;
        svc_converge(s, v);
        return 0;
    }
    if (!v) {
        if (!(v = svc_add(s, &sp, e)))
            return -ENOSPC;
        v->want = sp.instances;
        log_info("super", "%s: new service, %u instances", sp.name, sp.instances);
        return svc_begin(s, v, e);
    }
    /* a new version: restart what runs under the new spec */
    log_info("super", "%s: new version of the spec", sp.name);
    sup_spec_release(&v->spec);
    v->spec = sp;
    v->want = sp.instances;
    v->stopped = 0;
    v->removing = 0;
    if ((rc = super_store_spec_put(s, v, e)) < 0)
        return rc;
    /* a new bundle: what runs keeps running until it is verified */
    if (!super_bundle_changed(s, v))
        v->b.restart_pending = 1;
    else
        for (uint32_t i = 0; i < v->n_inst && i < v->want; i++) {
            struct inst *in = v->inst[i];
            if (in && (in->sm.state == SUP_RUNNING || in->sm.state == SUP_BACKOFF))
                inst_drive(in, SUP_EV_RESTART, NULL);
        }
    svc_converge(s, v);
    return 0;
}

/* Highest slot + 1: the instances a placed service's loops look at. */
static uint32_t slots_span(uint64_t slots)
{
    return slots ? 64u - (uint32_t)__builtin_clzll(slots) : 0;
}

uint64_t super_svc_ver(const struct svc *v)
{
    return pu_version(v->spec.json);
}

int super_may_replace(const struct inst *in)
{
    const struct svc *v = in->svc;

    if (!v->placed)
        return 1;
    return (v->update >> in->idx & 1) && in->ver != super_svc_ver(v);
}

/* Restarts what runs of an older version where the rolling update allows. */
static void replace_allowed(struct svc *v)
{
    for (uint32_t i = 0; i < v->n_inst; i++) {
        struct inst *in = v->inst[i];
        if (in && inst_wanted(v, i) && in->ver && super_may_replace(in) &&
            (in->sm.state == SUP_RUNNING || in->sm.state == SUP_BACKOFF))
            inst_drive(in, SUP_EV_RESTART, NULL);
    }
}

/* The cluster spec's text for name, parsed and checked for this node. */
static int place_spec_read(struct super *s, const char *name, const char *text, size_t len,
                           struct sup_spec *sp, struct err *e)
{
    int rc;

    if ((rc = sup_spec_parse(sp, text, len, e)) < 0)
        return rc;
    if (strcmp(sp->name, name) != 0)
        rc = err_set(e, -EINVAL, "name: %s is not %s", sp->name, name);
    else
        rc = spec_usable(s, sp, e);
    if (rc < 0)
        sup_spec_release(sp);
    return rc;
}

/* A placed service already here gets sp (which it takes), its slots and its
 * rolling-update mask. */
static int place_update(struct super *s, struct svc *v, struct sup_spec *sp, uint64_t slots,
                        uint64_t update, struct err *e)
{
    int rc, changed = strcmp(v->spec.json, sp->json) != 0;

    if (!changed && v->slots == slots && !v->removing) {
        sup_spec_release(sp);
        if (v->update != update) {
            v->update = update;
            if (v->b.ready || !v->spec.bundle)
                replace_allowed(v);
        }
        return 0;
    }
    v->update = update;
    if (v->slots != slots)
        log_info("super", "%s: runs slots 0x%llx of the cluster spec (was 0x%llx)", v->spec.name,
                 (unsigned long long)slots, (unsigned long long)v->slots);
    v->slots = slots;
    v->want = slots_span(slots);
    v->removing = 0;
    if (!changed) {
        /* other slots: they start before the slots are saved, so that a
         * cold start does not wait for a disk sync (the instance's own row
         * is saved as it starts) */
        sup_spec_release(sp);
        if (v->b.ready || !v->spec.bundle)
            replace_allowed(v);
        svc_converge(s, v);
        return spec_put(s, v, e);
    }
    log_info("super", "%s: new version of the cluster spec", v->spec.name);
    sup_spec_release(&v->spec);
    v->spec = *sp;
    if ((rc = super_store_spec_put(s, v, e)) < 0)
        return rc;
    if (!super_bundle_changed(s, v))
        v->b.restart_pending = 1;
    else
        replace_allowed(v);
    svc_converge(s, v);
    return 0;
}

int super_place(struct super *s, const char *name, const char *text, size_t len, uint64_t slots,
                uint64_t update, uint64_t cold, struct err *e)
{
    struct sup_spec sp;
    struct svc *v = super_find(s, name);
    int rc;

    if (v && v->placed)
        v->cold = cold;

    if (v && !v->placed)
        return err_set(e, -EEXIST,
                       "%s: a node-local service of that name runs here (troupe run); "
                       "its cluster spec is not run on this node",
                       name);
    if (!text || !slots) {
        if (!v)
            return 0;
        log_info("super", "%s: no slot of the cluster spec runs here any more", name);
        return super_remove(s, name, e);
    }
    if ((rc = place_spec_read(s, name, text, len, &sp, e)) < 0)
        return rc;
    if (v)
        return place_update(s, v, &sp, slots, update, e);
    if (!(v = svc_add(s, &sp, e)))
        return -ENOSPC;
    v->placed = 1;
    v->slots = slots;
    v->update = update;
    v->cold = cold;
    v->want = slots_span(slots);
    log_info("super", "%s: runs slots 0x%llx of the cluster spec", name, (unsigned long long)slots);
    if (cold) {
        /* a connection waits: the instance starts before the disk sync */
        super_bundle_changed(s, v);
        svc_converge(s, v);
        return spec_put(s, v, e);
    }
    return svc_begin(s, v, e);
}

void super_placed_each(struct super *s, void (*cb)(void *ud, const char *name, uint64_t slots),
                       void *ud)
{
    for (size_t i = 0; i < s->n_svc; i++)
        if (s->svc[i]->placed && !s->svc[i]->removing)
            cb(ud, s->svc[i]->spec.name, s->svc[i]->slots);
}

static struct inst *placed_slot(struct super *s, const char *name, uint32_t slot)
{
    struct svc *v = super_find(s, name);

    if (!v || !v->placed || slot >= v->n_inst)
        return NULL;
    return v->inst[slot];
}

int super_drain(struct super *s, const char *name, uint32_t slot, int on, const char *why,
                struct err *e)
{
    struct inst *in = placed_slot(s, name, slot);

    if (!in)
        return err_set(e, -ENOENT, "%s: slot %u does not run here", name, slot);
    if (on && !in->draining) {
        in->draining = 1;
        super_catalog_deregister(in);
        note(in, "drain", "out of the catalog: %s", why);
    } else if (!on && in->draining) {
        in->draining = 0;
        if (in->pid && in->sm.state == SUP_RUNNING)
            super_catalog_register(in);
        note(in, "undrain", "back in the catalog: %s", why);
    }
    return 0;
}

int super_slot_serving(struct super *s, const char *name, uint32_t slot)
{
    struct inst *in = placed_slot(s, name, slot);

    return in && in->pid && in->registered && !in->draining && in->sm.state == SUP_RUNNING;
}

static struct svc *find_or_err(struct super *s, const char *name, struct err *e)
{
    struct svc *v = super_find(s, name);

    if (!v)
        err_set(e, -ENOENT, "no service named \"%s\"", name);
    return v;
}

int super_stop(struct super *s, const char *name, struct err *e)
{
    struct svc *v = find_or_err(s, name, e);

    if (!v)
        return e->code;
    v->stopped = 1;
    for (uint32_t i = 0; i < v->n_inst; i++)
        if (v->inst[i])
            inst_drive(v->inst[i], SUP_EV_STOP, NULL);
    return super_store_spec_put(s, v, e);
}

/* Starts (ev START: what does not run) or restarts (RESTART: all) the
 * instances wanted of a service, and clears troupe stop. */
static int run_again(struct super *s, const char *name, enum sup_event ev, struct err *e)
{
    struct svc *v = find_or_err(s, name, e);

    if (!v)
        return e->code;
    v->stopped = 0;
    for (uint32_t i = 0; i < v->n_inst && i < v->want; i++)
        if (v->inst[i] && (ev == SUP_EV_RESTART || v->inst[i]->sm.state != SUP_RUNNING))
            inst_drive(v->inst[i], ev, NULL);
    svc_converge(s, v);
    return super_store_spec_put(s, v, e);
}

int super_start(struct super *s, const char *name, struct err *e)
{
    return run_again(s, name, SUP_EV_START, e);
}

int super_restart(struct super *s, const char *name, struct err *e)
{
    return run_again(s, name, SUP_EV_RESTART, e);
}

int super_scale(struct super *s, const char *name, uint32_t n, struct err *e)
{
    struct svc *v = find_or_err(s, name, e);

    if (!v)
        return e->code;
    if (v->placed)
        return err_set(e, -EINVAL, "%s runs for a cluster spec: change its count with troupe apply",
                       name);
    if (n > SUP_INSTANCES_MAX)
        return err_set(e, -EINVAL, "instances: %u is above %d", n, SUP_INSTANCES_MAX);
    if (n > 1)
        for (size_t i = 0; i < v->spec.n_ports; i++)
            if (v->spec.ports[i].port)
                return err_set(e, -EINVAL,
                               "ports.%s: a fixed port cannot serve %u instances; use \"auto\"",
                               v->spec.ports[i].name, n);
    v->want = n;
    svc_converge(s, v);
    return super_store_spec_put(s, v, e);
}

int super_remove(struct super *s, const char *name, struct err *e)
{
    struct svc *v = find_or_err(s, name, e);

    if (!v)
        return e->code;
    /* the instances stop (their handles close with them); the spec goes now */
    for (uint32_t i = 0; i < v->n_inst; i++) {
        if (!v->inst[i])
            continue;
        v->inst[i]->retired = 1;
        inst_drive(v->inst[i], SUP_EV_STOP, NULL);
    }
    v->removing = 1;
    if (super_store_spec_del(s, name, e) < 0)
        return e->code;
    svc_maybe_free(s, v);
    return 0;
}

/* ---- JSON ---- */

static json_t *inst_json(struct inst *in)
{
    const struct sup_spec *sp = &in->svc->spec;
    json_t *ports = json_object(), *o;
    char how[64];
    uint64_t now = super_mono_ms();

    for (size_t i = 0; i < sp->n_ports; i++)
        json_object_set_new(ports, sp->ports[i].name, json_integer(in->ports[i]));
    o = json_pack("{s:s, s:i, s:s, s:I, s:I, s:s, s:o, s:s, s:b}", "service", sp->name, "instance",
                  (int)in->idx, "state", sup_state_name(in->sm.state), "pid", (json_int_t)in->pid,
                  "restarts", (json_int_t)in->sm.restarts, "last_exit",
                  sup_exit_str(&in->sm.last, how, sizeof(how)), "ports", ports, "runtime",
                  super_runtime(in->svc) == SUP_RUNTIME_CRUN ? "crun" : "process", "adopted",
                  in->adopted);
    if (sp->bundle)
        json_object_set_new(o, "bundle", json_string(sp->bundle));
    if (in->svc->placed) {
        char ver[24];
        json_object_set_new(o, "slot", json_integer(in->idx));
        snprintf(ver, sizeof(ver), "%016llx", (unsigned long long)in->ver);
        json_object_set_new(o, "version", json_string(ver));
    }
    /* why it waits, failed, or still runs the version before */
    if (sp->bundle && in->svc->b.error[0] && !in->svc->b.ready)
        json_object_set_new(o, "error", json_string(in->svc->b.error));
    if (in->pid) {
        json_object_set_new(o, "uptime_ms", json_integer((json_int_t)(now - in->sm.started_ms)));
        json_object_set_new(o, "started_ms", json_integer((json_int_t)in->started_wall_ms));
    }
    if (in->sm.state == SUP_BACKOFF && sup_deadline(&in->sm) != SUP_NEVER)
        json_object_set_new(
            o, "restart_in_ms",
            json_integer(
                (json_int_t)(sup_deadline(&in->sm) > now ? sup_deadline(&in->sm) - now : 0)));
    return o;
}

json_t *super_ps_json(struct super *s, const char *name, struct err *e)
{
    json_t *arr = json_array();

    if (name && !super_find(s, name)) {
        json_decref(arr);
        err_set(e, -ENOENT, "no service named \"%s\"", name);
        return NULL;
    }
    for (size_t k = 0; k < s->n_svc; k++) {
        struct svc *v = s->svc[k];
        if (name && strcmp(v->spec.name, name) != 0)
            continue;
        for (uint32_t i = 0; i < v->n_inst; i++)
            if (v->inst[i])
                json_array_append_new(arr, inst_json(v->inst[i]));
    }
    return arr;
}

json_t *super_spec_json(struct super *s, const char *name)
{
    struct svc *v = super_find(s, name);

    return v ? json_loads(v->spec.json, 0, NULL) : NULL;
}

/* ---- open, re-adopt, close ---- */

static void adopt(struct super *s, struct svc *v, uint32_t idx)
{
    struct inst *in = inst_new(s, v, idx);
    struct inst_row row;
    struct err e;
    int known = super_store_inst_get(s, v->spec.name, idx, &row, &e) == 0;

    if (!known) {
        if (!v->stopped)
            inst_drive(in, SUP_EV_START, NULL);
        return;
    }
    memcpy(in->ports, row.ports, sizeof(in->ports));
    in->started_wall_ms = row.started_wall_ms;
    if (row.pid > 0) {
        uint64_t st = spawn_proc_start(row.pid);
        sup_adopt(&in->sm, row.started_mono_ms, row.restarts, row.level);
        if (st && st == row.pid_start && (in->w = super_watch(s, in, row.pid, 0, &e))) {
            in->pid = row.pid;
            in->pid_start = st;
            in->ver = super_svc_ver(v);
            in->adopted = 1;
            log_info("super", "%s/%u: re-adopted pid %d, running for %llu ms", v->spec.name, idx,
                     (int)row.pid, (unsigned long long)(super_mono_ms() - row.started_mono_ms));
            super_catalog_register(in);
            if (strcmp(row.state, "stopping") == 0 || v->stopped)
                inst_drive(in, SUP_EV_STOP, NULL);
            return;
        }
        /* it ended while no agent watched it */
        struct sup_exit x = {.code = -1, .signal = 0};
        log_info("super", "%s/%u: pid %d ended while the agent was down", v->spec.name, idx,
                 (int)row.pid);
        if (v->stopped) {
            sup_init(&in->sm);
            in->sm.restarts = row.restarts;
            save(in);
            return;
        }
        inst_drive(in, SUP_EV_EXIT, &x);
        return;
    }
    /* down, exited or failed before: stays so; backoff: starts again */
    in->sm.restarts = row.restarts;
    in->sm.level = row.level;
    if (strcmp(row.state, "failed") == 0)
        in->sm.state = SUP_FAILED;
    else if (strcmp(row.state, "exited") == 0)
        in->sm.state = SUP_EXITED;
    else if (!v->stopped)
        inst_drive(in, SUP_EV_START, NULL);
}

static int load_spec(struct super *s, const char *json, uint32_t want, int stopped)
{
    struct svc *v;
    struct err e;

    if (s->n_svc == SUPER_SERVICES_MAX)
        return 0;
    v = xcalloc(1, sizeof(*v));
    if (sup_spec_parse(&v->spec, json, strlen(json), &e) < 0) {
        log_error("super", "a stored spec no longer parses, skipped: %s", e.msg);
        free(v);
        return 0;
    }
    v->want = want;
    v->stopped = stopped;
    v->placed = super_store_placed_get(s, v->spec.name, &v->slots);
    s->svc[s->n_svc++] = v;
    super_bundle_changed(s, v); /* verified again before its next start */
    for (uint32_t i = 0; i < want; i++)
        if (inst_wanted(v, i))
            adopt(s, v, i);
    return 0;
}

int super_open(struct super **out, struct agent *a, struct err *e)
{
    struct super *s = xcalloc(1, sizeof(*s));
    ssize_t n;
    int rc;

    s->a = a;
    s->loop = &a->loop;
    s->root = geteuid() == 0;
    {
        char real[PATH_MAX];
        if (!realpath(a->cfg.data_dir, real) || strlen(real) >= sizeof(s->data_dir)) {
            free(s);
            return err_set(e, -ENAMETOOLONG, "data dir %s: not found, or its path is too long",
                           a->cfg.data_dir);
        }
        memcpy(s->data_dir, real, strlen(real) + 1);
    }
    n = readlink("/proc/self/exe", s->self_exe, sizeof(s->self_exe) - 1);
    if (n <= 0) {
        free(s);
        return err_set(e, -errno, "cannot find the troupe binary: %s", strerror(errno));
    }
    s->self_exe[n] = '\0';
    if ((rc = super_cgroup_open(s, e)) < 0 || (rc = super_store_open(s, e)) < 0 ||
        (rc = secrets_open(s, e)) < 0 || (rc = super_catalog_open(s, e)) < 0) {
        super_store_close(s);
        free(s);
        return err_wrap(e, "supervisor");
    }
    if ((rc = super_store_specs(s, load_spec, e)) < 0) {
        super_close(s);
        return err_wrap(e, "supervisor");
    }
    if (s->n_svc)
        log_info("super", "%zu services from the data dir", s->n_svc);
    *out = s;
    super_dir_load(s);
    return 0;
}

void super_close(struct super *s)
{
    if (!s)
        return;
    if (s->save_timer) {
        save_pending(s);
        uv_close((uv_handle_t *)s->save_timer, free_handle);
    }
    while (s->n_svc)
        svc_free(s, s->svc[s->n_svc - 1]);
    while (s->watches)
        super_watch_stop(s->watches);
    super_bundle_close(s);
    sodium_memzero(s->key, sizeof(s->key));
    super_store_close(s);
    free(s);
}
