/* super_cgroup: where the cgroups of instances with limits live, and
 * making them. Two modes, chosen once at start (--cgroup-parent):
 *   delegated: the agent runs in a cgroup v2 subtree that is its own (a
 *     systemd unit with Delegate=yes, or the PATH given). It moves itself
 *     to BASE/agent (cgroup v2 allows no processes in a cgroup that
 *     enables controllers for its children), enables the controllers in
 *     BASE and BASE/instances, and makes BASE/instances/NAME-N.
 *   host: as before delegation existed: /sys/fs/cgroup/troupe/NAME-N on
 *     cgroup v2, /sys/fs/cgroup/{memory,cpu,pids}/troupe/NAME-N on v1.
 * Instances without limits make no cgroup and stay in the agent's. Joining
 * the cgroup is super_spawn.c's (between fork and exec); re-adoption after
 * a restart goes by pid and needs no cgroup path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"

#define CG_ROOT       "/sys/fs/cgroup"
#define CGROUP2_MAGIC 0x63677270

static int write_file(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = write(fd, val, strlen(val));
    close(fd);
    return n < 0 ? -errno : 0;
}

/* Reads path into buf (NUL-terminated, at most cap - 1 bytes). */
static int read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

static int is_v2(void)
{
    struct stat st;
    return stat(CG_ROOT "/cgroup.controllers", &st) == 0;
}

/* The agent's cgroup v2 path ("/system.slice/troupe.service") from
 * /proc/self/cgroup's "0::PATH" line. */
static int own_cgroup(char *out, size_t cap)
{
    char buf[4096], *p, *nl;

    if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
        return -ENOENT;
    for (p = buf; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(p, "0::/", 4) == 0 && strlen(p + 3) < cap) {
            snprintf(out, cap, "%s", p + 3);
            return 0;
        }
    }
    return -ENOENT;
}

/* 1 when the manager that made dir handed it to us: systemd marks a
 * delegated cgroup with the xattr trusted.delegate = 1 (user.delegate for
 * a user's manager). Ownership alone is no sign: a user owns the scopes
 * of the programs of their session too, their shell among them. */
static int marked_delegated(const char *dir)
{
    static const char *const names[] = {"trusted.delegate", "user.delegate"};
    char v[8];

    for (size_t i = 0; i < 2; i++) {
        ssize_t n = getxattr(dir, names[i], v, sizeof(v) - 1);
        if (n > 0) {
            v[n] = '\0';
            if (strcmp(v, "1") == 0)
                return 1;
        }
    }
    return 0;
}

/* NULL when dir is a cgroup the agent may manage below; else why not. */
static const char *writable_cgroup(const char *dir)
{
    char f[PATH_MAX + 32];

    if (access(dir, F_OK) < 0)
        return "no such cgroup";
    if (access(dir, W_OK) < 0)
        return "not writable";
    snprintf(f, sizeof(f), "%s/cgroup.subtree_control", dir);
    if (access(f, W_OK) < 0)
        return "cgroup.subtree_control not writable";
    snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
    if (access(f, W_OK) < 0)
        return "cgroup.procs not writable";
    return NULL;
}

/* Moves every process of BASE (the agent, and whatever it started before)
 * into BASE/agent. */
static int move_to_leaf(const char *base, struct err *e)
{
    char leaf[PATH_MAX + 8], f[PATH_MAX + 32], procs[8192], *p, *nl;
    int rc;

    snprintf(leaf, sizeof(leaf), "%s/agent", base);
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", leaf, strerror(errno));
    snprintf(f, sizeof(f), "%s/cgroup.procs", base);
    if ((rc = read_file(f, procs, sizeof(procs))) < 0)
        return err_set(e, rc, "%s: %s", f, strerror(-rc));
    snprintf(f, sizeof(f), "%s/cgroup.procs", leaf);
    for (p = procs; *p; p = nl + 1) {
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
        if ((rc = write_file(f, p)) < 0 && rc != -ESRCH)
            return err_set(e, rc, "moving pid %s to %s: %s", p, leaf, strerror(-rc));
    }
    return 0;
}

/* 1 when the space-separated list has word. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *at = list; (at = strstr(at, word)); at += n)
        if ((at == list || at[-1] == ' ') && (!at[n] || at[n] == ' ' || at[n] == '\n'))
            return 1;
    return 0;
}

/* Enables in dir/cgroup.subtree_control each of memory, cpu, pids that
 * dir/cgroup.controllers offers; names what it enabled in got. */
static int enable_controllers(const char *dir, char *got, size_t cap, struct err *e)
{
    static const char *const ctl[] = {"memory", "cpu", "pids"};
    char f[PATH_MAX + 32], have[512], want[16];
    int rc;

    got[0] = '\0';
    snprintf(f, sizeof(f), "%s/cgroup.controllers", dir);
    if ((rc = read_file(f, have, sizeof(have))) < 0)
        return err_set(e, rc, "%s: %s", f, strerror(-rc));
    snprintf(f, sizeof(f), "%s/cgroup.subtree_control", dir);
    for (size_t i = 0; i < 3; i++) {
        if (!has_word(have, ctl[i]))
            continue;
        snprintf(want, sizeof(want), "+%s", ctl[i]);
        if ((rc = write_file(f, want)) < 0)
            return err_set(e, rc, "%s: %s: %s", f, want, strerror(-rc));
        snprintf(got + strlen(got), cap - strlen(got), "%s%s", got[0] ? " " : "", ctl[i]);
    }
    return 0;
}

/* Makes BASE/agent (the agent moves there when it runs in BASE itself)
 * and BASE/instances, controllers enabled; fills s->cg_base. */
static int setup_delegated(struct super *s, const char *rel, const char *own, struct err *e)
{
    char base[PATH_MAX], inst[PATH_MAX + 16], got[64], got2[64], where[PATH_MAX + 8];
    const char *why;
    int rc;

    if (snprintf(base, sizeof(base), CG_ROOT "%s", rel) >= (int)sizeof(base) - 32)
        return err_set(e, -ENAMETOOLONG, "cgroup %s: path too long", rel);
    if ((why = writable_cgroup(base)))
        return err_set(e, -EACCES, "cgroup %s: %s", rel, why);
    snprintf(where, sizeof(where), "%s", own[0] ? own : "?");
    if (strcmp(own, rel) == 0) {
        if ((rc = move_to_leaf(base, e)) < 0)
            return rc;
        snprintf(where, sizeof(where), "%s/agent", rel);
    }
    if ((rc = enable_controllers(base, got, sizeof(got), e)) < 0)
        return rc;
    snprintf(inst, sizeof(inst), "%s/instances", base);
    if (mkdir(inst, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", inst, strerror(errno));
    if ((rc = enable_controllers(inst, got2, sizeof(got2), e)) < 0)
        return rc;
    memcpy(s->cg_base, inst, strlen(inst) + 1);
    log_info("super",
             "cgroups: delegated %s: the agent in %s, instances with limits in %s/instances "
             "(controllers: %s)",
             rel, where, rel, got2[0] ? got2 : "none");
    return 0;
}

/* Why the agent's own cgroup (own) is not one it may manage below; NULL
 * when it is, with the subtree to manage in rel. */
static const char *auto_delegated(char *own, size_t cap, char *rel, size_t rcap)
{
    char dir[PATH_MAX + 32], *slash;
    struct statfs f;

    snprintf(own, cap, "?");
    if (statfs(CG_ROOT, &f) < 0 || f.f_type != CGROUP2_MAGIC)
        return CG_ROOT " is not cgroup v2";
    if (own_cgroup(own, cap) < 0)
        return "no cgroup v2 line in /proc/self/cgroup";
    if (strcmp(own, "/") == 0)
        return "the root cgroup";
    /* in BASE/agent already: moved there by an earlier agent, or placed
     * there by systemd (DelegateSubgroup=agent) */
    snprintf(rel, rcap, "%s", own);
    slash = strrchr(rel, '/');
    if (strcmp(slash, "/agent") == 0 && slash != rel) {
        *slash = '\0';
        snprintf(dir, sizeof(dir), CG_ROOT "%s", rel);
        if (!marked_delegated(dir))
            snprintf(rel, rcap, "%s", own);
    }
    snprintf(dir, sizeof(dir), CG_ROOT "%s", rel);
    if (!marked_delegated(dir))
        return "not delegated to the agent";
    return writable_cgroup(dir);
}

int super_cgroup_open(struct super *s, struct err *e)
{
    const char *opt = s->a->cfg.cgroup_parent, *why, *host;
    char own[PATH_MAX], rel[PATH_MAX], said[PATH_MAX + 128];
    struct statfs f;

    s->cg_base[0] = '\0';
    host = is_v2() ? CG_ROOT "/troupe" : CG_ROOT "/{memory,cpu,pids}/troupe";
    if (opt[0] == '/') {
        /* given: the operator says this subtree is the agent's */
        if (statfs(CG_ROOT, &f) < 0 || f.f_type != CGROUP2_MAGIC)
            return err_set(e, -ENOTSUP, "--cgroup-parent %s: needs cgroup v2 on " CG_ROOT, opt);
        if (own_cgroup(own, sizeof(own)) < 0)
            own[0] = '\0';
        snprintf(rel, sizeof(rel), "%s", opt);
        while (strlen(rel) > 1 && rel[strlen(rel) - 1] == '/')
            rel[strlen(rel) - 1] = '\0';
        if (strcmp(rel, "/") == 0)
            return err_set(e, -EINVAL, "--cgroup-parent /: the root cgroup is the host's");
        if (setup_delegated(s, rel, own, e) < 0)
            return err_wrap(e, "--cgroup-parent %s", opt);
        return 0;
    }
    if (strcmp(opt, "auto") != 0) {
        if (s->root)
            log_info("super", "cgroups: instances with limits in %s (--cgroup-parent off)", host);
        return 0;
    }
    why = auto_delegated(own, sizeof(own), rel, sizeof(rel));
    if (!why) {
        if (setup_delegated(s, rel, own, e) == 0)
            return 0;
        log_warn("super", "cgroups: %s: %s", rel, e->msg);
        why = "delegated, but could not be set up";
    }
    if (strcmp(own, "?"))
        snprintf(said, sizeof(said), "the agent's cgroup %s: %s", own, why);
    else
        snprintf(said, sizeof(said), "%s", why);
    if (s->root)
        log_info("super", "cgroups: instances with limits in %s (%s)", host, said);
    else
        log_info("super", "cgroups: no limits for instances (not root; %s)", said);
    return 0;
}

/* Writes val to dir/file, the limit of option what (limits.memory_mb). */
static int set_limit(const char *dir, const char *file, const char *val, const char *what,
                     struct err *e)
{
    char path[PATH_MAX + 32];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if ((rc = write_file(path, val)) == -ENOENT)
        return err_set(e, rc, "%s: %s: no such file: its controller is not delegated to the agent",
                       what, path);
    if (rc < 0)
        return err_set(e, rc, "%s: %s: %s", what, path, strerror(-rc));
    return 0;
}

/* BASE/NAME with the spec's limits (delegated mode): errors are the
 * instance's, not ignored, since the agent manages the whole subtree. */
static int make_delegated(const char *base, const char *name, const struct sup_limits *l, char *dir,
                          size_t cap, struct err *e)
{
    char file[PATH_MAX + 32], val[64];
    int rc;

    if (snprintf(dir, cap, "%s/%s", base, name) >= (int)cap - 16)
        return err_set(e, -ENAMETOOLONG, "limits: cgroup %s/%s: path too long", base, name);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "limits: cgroup %s: %s", dir, strerror(errno));
    if (l->memory_bytes) {
        snprintf(val, sizeof(val), "%llu", (unsigned long long)l->memory_bytes);
        if ((rc = set_limit(dir, "memory.max", val, "limits.memory_mb", e)) < 0)
            return rc;
        snprintf(file, sizeof(file), "%s/memory.swap.max", dir);
        write_file(file, "0"); /* absent without swap accounting */
    }
    if (l->cpu_percent) {
        snprintf(val, sizeof(val), "%u 100000", l->cpu_percent * 1000);
        if ((rc = set_limit(dir, "cpu.max", val, "limits.cpu_percent", e)) < 0)
            return rc;
    }
    if (l->pids) {
        snprintf(val, sizeof(val), "%u", l->pids);
        if ((rc = set_limit(dir, "pids.max", val, "limits.pids", e)) < 0)
            return rc;
    }
    return 0;
}

static int mkdir_p2(const char *base, const char *name, char *out, size_t cap)
{
    char parent[256];

    snprintf(parent, sizeof(parent), "%s/troupe", base);
    if (mkdir(parent, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(out, cap, "%s/%s", parent, name);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Writes val to the file leaf of dir. */
static int write_at(const char *dir, const char *leaf, const char *val)
{
    char file[600];

    snprintf(file, sizeof(file), "%s/%s", dir, leaf);
    return write_file(file, val);
}

/* cgroup v2: one group holds every limit (best effort: a controller the
 * kernel lacks leaves its limit unset); its cgroup.procs into procs. */
static int make_v2(const char *name, const struct sup_limits *l, char procs[PATH_MAX],
                   struct err *e)
{
    char dir[512], val[64];
    int rc;

    write_at(CG_ROOT, "cgroup.subtree_control", "+memory +cpu +pids");
    if ((rc = mkdir_p2(CG_ROOT, name, dir, sizeof(dir))) < 0)
        return err_set(e, rc, "limits: cgroup %s: %s", name, strerror(-rc));
    write_at(CG_ROOT "/troupe", "cgroup.subtree_control", "+memory +cpu +pids");
    if (l->memory_bytes) {
        snprintf(val, sizeof(val), "%llu", (unsigned long long)l->memory_bytes);
        write_at(dir, "memory.max", val);
        write_at(dir, "memory.swap.max", "0");
    }
    if (l->cpu_percent) {
        snprintf(val, sizeof(val), "%u 100000", l->cpu_percent * 1000);
        write_at(dir, "cpu.max", val);
    }
    if (l->pids) {
        snprintf(val, sizeof(val), "%u", l->pids);
        write_at(dir, "pids.max", val);
    }
    snprintf(procs, PATH_MAX, "%s/cgroup.procs", dir);
    return 0;
}

/* cgroup v1: the group of the controller ctl (0 memory, 1 cpu, 2 pids) in
 * its own hierarchy, with its limit; its cgroup.procs into procs. */
static int make_v1(int ctl, const char *name, const struct sup_limits *l, char procs[PATH_MAX],
                   struct err *e)
{
    static const char *const ctls[] = {"memory", "cpu", "pids"};
    char base[64], dir[512], val[64];
    int rc;

    snprintf(base, sizeof(base), CG_ROOT "/%s", ctls[ctl]);
    if ((rc = mkdir_p2(base, name, dir, sizeof(dir))) < 0)
        return err_set(e, rc, "limits: cgroup %s/%s: %s", ctls[ctl], name, strerror(-rc));
    if (ctl == 0) {
        snprintf(val, sizeof(val), "%llu", (unsigned long long)l->memory_bytes);
        if ((rc = write_at(dir, "memory.limit_in_bytes", val)) < 0)
            return err_set(e, rc, "limits.memory_mb: %s", strerror(-rc));
        write_at(dir, "memory.memsw.limit_in_bytes", val); /* absent without swap accounting */
    } else if (ctl == 1) {
        write_at(dir, "cpu.cfs_period_us", "100000");
        snprintf(val, sizeof(val), "%u", l->cpu_percent * 1000);
        if ((rc = write_at(dir, "cpu.cfs_quota_us", val)) < 0)
            return err_set(e, rc, "limits.cpu_percent: %s", strerror(-rc));
    } else {
        snprintf(val, sizeof(val), "%u", l->pids);
        if ((rc = write_at(dir, "pids.max", val)) < 0)
            return err_set(e, rc, "limits.pids: %s", strerror(-rc));
    }
    snprintf(procs, PATH_MAX, "%s/cgroup.procs", dir);
    return 0;
}

int super_cgroup_make(struct super *s, const char *name, const struct sup_limits *l,
                      const char *cgroups[4], char paths[4][PATH_MAX], struct err *e)
{
    const int v1_wanted[3] = {l->memory_bytes != 0, l->cpu_percent != 0, l->pids != 0};
    size_t n = 0;
    int rc;

    cgroups[0] = NULL;
    if (!l->memory_bytes && !l->cpu_percent && !l->pids)
        return 0;
    if (s->cg_base[0]) {
        if ((rc = make_delegated(s->cg_base, name, l, paths[0], PATH_MAX, e)) < 0) {
            rmdir(paths[0]);
            return rc;
        }
        strncat(paths[0], "/cgroup.procs", PATH_MAX - strlen(paths[0]) - 1);
        cgroups[n] = paths[n];
        n++;
    } else if (!s->root) {
        return 0;
    } else if (is_v2()) {
        if ((rc = make_v2(name, l, paths[n], e)) < 0)
            return rc;
        cgroups[n] = paths[n];
        n++;
    } else {
        for (int i = 0; i < 3; i++) {
            if (!v1_wanted[i])
                continue;
            if ((rc = make_v1(i, name, l, paths[n], e)) < 0)
                return rc;
            cgroups[n] = paths[n];
            n++;
        }
    }
    cgroups[n] = NULL;
    return 0;
}

void super_cgroup_remove(struct super *s, const char *name)
{
    static const char *const bases[] = {CG_ROOT, CG_ROOT "/memory", CG_ROOT "/cpu",
                                        CG_ROOT "/pids"};
    char dir[PATH_MAX + 256];

    /* rmdir fails while processes remain, harmlessly; the host's places
     * too, for an instance started before the agent ran delegated */
    if (s->cg_base[0]) {
        snprintf(dir, sizeof(dir), "%s/%s", s->cg_base, name);
        rmdir(dir);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(dir, sizeof(dir), "%s/troupe/%s", bases[i], name);
        rmdir(dir);
    }
}

void super_cgroup_rel(const struct super *s, const char *name, char *out, size_t cap)
{
    if (s->cg_base[0])
        snprintf(out, cap, "%s/%s", s->cg_base + strlen(CG_ROOT), name);
    else
        snprintf(out, cap, "/troupe/%s", name);
}
