/* crun: instances with "runtime": "crun" run as OCI containers through the
 * crun binary. This file writes an instance's bundle (DATA/bundles/ID/
 * config.json) and builds the `crun run` command line; the supervisor
 * spawns and watches crun like any process (crun stays in the foreground
 * and exits with the container). The container: a read-only root (a
 * directory, or a tarball unpacked once with libarchive), a non-root user,
 * noNewPrivileges, every capability dropped but the ones the spec lists,
 * a seccomp profile that refuses what a service never needs (modules,
 * mounts, reboot, ptrace, kexec, bpf, keyrings, namespaces, clock), the
 * spec's pids/memory/cpu limits, its own pid, mount, ipc and uts
 * namespaces, the host network unless the spec asks for its own, and
 * tmpfs /tmp and /run/secrets (the secrets, read-only). A service that
 * runs a signed bundle has the unpacked bundle as its root. State lives in
 * DATA/crun (crun --root). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/trust/arc.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

static const char *const denied_syscalls[] = {"acct",
                                              "add_key",
                                              "adjtimex",
                                              "bpf",
                                              "clock_adjtime",
                                              "clock_settime",
                                              "delete_module",
                                              "finit_module",
                                              "fsconfig",
                                              "fsmount",
                                              "fsopen",
                                              "fspick",
                                              "init_module",
                                              "ioperm",
                                              "iopl",
                                              "kexec_file_load",
                                              "kexec_load",
                                              "keyctl",
                                              "lookup_dcookie",
                                              "mount",
                                              "move_mount",
                                              "name_to_handle_at",
                                              "open_by_handle_at",
                                              "open_tree",
                                              "perf_event_open",
                                              "pivot_root",
                                              "process_vm_readv",
                                              "process_vm_writev",
                                              "ptrace",
                                              "quotactl",
                                              "reboot",
                                              "request_key",
                                              "setns",
                                              "settimeofday",
                                              "swapoff",
                                              "swapon",
                                              "syslog",
                                              "umount2",
                                              "unshare",
                                              "userfaultfd",
                                              "vhangup",
                                              NULL};

int crun_container_id(const struct inst *in, char *out, size_t cap)
{
    return snprintf(out, cap, "troupe-%s-%u", in->svc->spec.name, in->idx);
}

static int run_crun(struct super *s, char *const *argv, struct err *e)
{
    struct spawn_req r;
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    pid_t pid;
    int st = 0;

    memset(&r, 0, sizeof(r));
    r.path = argv[0];
    r.argv = argv;
    r.envp = envp;
    r.fds[0] = r.fds[1] = r.fds[2] = r.fds[3] = -1;
    r.hide_unified = spawn_cgroup_hybrid();
    if (spawn_process(&r, &pid, e) < 0)
        return e->code;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return err_set(e, -EIO, "%s %s failed (status %d)", argv[0], argv[4], st);
    return 0;
}

static const char *crun_path(void)
{
    return access("/usr/bin/crun", X_OK) == 0 ? "/usr/bin/crun" : "/usr/local/bin/crun";
}

/* A tarball rootfs is unpacked once into DATA/rootfs/NAME (again when the
 * tarball is newer); a directory is used as it is. */
static int rootfs_dir(struct super *s, const struct sup_spec *sp, char *out, size_t cap,
                      struct err *e)
{
    struct stat st, done;
    char stamp[PATH_MAX + 32];
    struct archive *ar = NULL, *wr = NULL;
    struct archive_entry *ent;
    char cwd[PATH_MAX];
    int rc = 0, fd;

    if (stat(sp->rootfs, &st) < 0)
        return err_set(e, -errno, "rootfs: %s: %s", sp->rootfs, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        snprintf(out, cap, "%s", sp->rootfs);
        return 0;
    }
    snprintf(out, cap, "%s/rootfs", s->data_dir);
    mkdir(out, 0755);
    snprintf(out, cap, "%s/rootfs/%s", s->data_dir, sp->name);
    snprintf(stamp, sizeof(stamp), "%s/.troupe-unpacked", out);
    if (stat(stamp, &done) == 0 && done.st_mtime >= st.st_mtime)
        return 0;
    if ((rc = arc_load(e)) < 0)
        return err_wrap(e, "rootfs %s", sp->rootfs);
    mkdir(out, 0755);
    if (!getcwd(cwd, sizeof(cwd)) || chdir(out) < 0)
        return err_set(e, -errno, "rootfs: %s: %s", out, strerror(errno));
    ar = arc_read_new();
    arc_read_support_filter_all(ar);
    arc_read_support_format_all(ar);
    wr = arc_write_disk_new();
    arc_write_disk_set_options(
        wr, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    if (arc_read_open_filename(ar, sp->rootfs, 65536) != ARCHIVE_OK) {
        rc = err_set(e, -EINVAL, "rootfs: %s: %s", sp->rootfs, arc_error_string(ar));
        goto out;
    }
    while ((rc = arc_read_next_header(ar, &ent)) == ARCHIVE_OK) {
        if (arc_write_header(wr, ent) == ARCHIVE_OK)
            arc_write_data_block(wr, NULL, 0, 0); /* size only */
        {
            const void *buf;
            size_t len;
            la_int64_t off;
            while (arc_read_data_block(ar, &buf, &len, &off) == ARCHIVE_OK)
                arc_write_data_block(wr, buf, len, off);
        }
        arc_write_finish_entry(wr);
    }
    if (rc != ARCHIVE_EOF) {
        rc = err_set(e, -EINVAL, "rootfs: %s: %s", sp->rootfs, arc_error_string(ar));
        goto out;
    }
    rc = 0;
    fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    log_info("crun", "%s: unpacked %s into %s", sp->name, sp->rootfs, out);
out:
    arc_read_free(ar);
    arc_write_free(wr);
    if (chdir(cwd) < 0)
        log_warn("crun", "cannot return to %s", cwd);
    return rc;
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *caps_json(const struct sup_spec *sp)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sp->n_caps; i++)
        json_array_append_new(a, json_string(sp->caps[i]));
    return a;
}

static json_t *mount_json(const char *dst, const char *type, const char *src,
                          const char *const *opts)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "destination", dst, "type", type, "source", src);
    json_t *a = json_array();
    for (size_t i = 0; opts[i]; i++)
        json_array_append_new(a, json_string(opts[i]));
    json_object_set_new(o, "options", a);
    return o;
}

static json_t *seccomp_json(void)
{
    json_t *names = json_array();
    for (size_t i = 0; denied_syscalls[i]; i++)
        json_array_append_new(names, json_string(denied_syscalls[i]));
    return json_pack("{s:s, s:[s,s,s], s:[{s:o, s:s, s:i}]}", "defaultAction", "SCMP_ACT_ALLOW",
                     "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                     "syscalls", "names", names, "action", "SCMP_ACT_ERRNO", "errnoRet", 1);
}

static json_t *config_json(struct inst *in, const char *rootfs, uid_t uid, gid_t gid,
                           char *const *envp, char *const *cmd)
{
    const struct sup_spec *sp = &in->svc->spec;
    static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                           NULL};
    static const char *const pts_opts[] = {"nosuid",        "noexec",    "newinstance",
                                           "ptmxmode=0666", "mode=0620", NULL};
    static const char *const shm_opts[] = {"nosuid",    "noexec",      "nodev",
                                           "mode=1777", "size=65536k", NULL};
    static const char *const tmp_opts[] = {"nosuid", "nodev", "mode=1777", "size=65536k", NULL};
    static const char *const proc_opts[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sec_opts[] = {"rbind", "ro", "nosuid", "nodev", "noexec", NULL};
    static const char *const mask[] = {"/proc/acpi",        "/proc/kcore",
                                       "/proc/keys",        "/proc/latency_stats",
                                       "/proc/timer_list",  "/proc/timer_stats",
                                       "/proc/sched_debug", "/proc/scsi",
                                       "/sys/firmware",     NULL};
    static const char *const ro[] = {"/proc/asound", "/proc/bus",           "/proc/fs", "/proc/irq",
                                     "/proc/sys",    "/proc/sysrq-trigger", NULL};
    char host[96], cg[PATH_MAX];
    json_t *args = json_array(), *mounts, *ns, *res, *linux_, *proc, *masked, *rop;

    for (size_t i = 0; cmd[i]; i++)
        json_array_append_new(args, json_string(cmd[i]));
    proc = json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:b, s:{s:o, s:o, s:o, s:o, s:o}}",
                     "terminal", 0, "user", "uid", (int)uid, "gid", (int)gid, "args", args, "env",
                     strv_json(envp), "cwd", sp->dir ? sp->dir : "/", "noNewPrivileges", 1,
                     "capabilities", "bounding", caps_json(sp), "effective", caps_json(sp),
                     "permitted", caps_json(sp), "inheritable", caps_json(sp), "ambient",
                     caps_json(sp));
    if (sp->limits.nofile)
        json_object_set_new(proc, "rlimits",
                            json_pack("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "hard",
                                      (json_int_t)sp->limits.nofile, "soft",
                                      (json_int_t)sp->limits.nofile));
    mounts = json_array();
    json_array_append_new(mounts, mount_json("/proc", "proc", "proc", proc_opts));
    json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs", dev_opts));
    json_array_append_new(mounts, mount_json("/dev/pts", "devpts", "devpts", pts_opts));
    json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm", shm_opts));
    json_array_append_new(mounts, mount_json("/tmp", "tmpfs", "tmpfs", tmp_opts));
    if (sp->n_secrets)
        json_array_append_new(mounts,
                              mount_json("/run/secrets", "bind", in->secrets_dir, sec_opts));
    else
        json_array_append_new(mounts, mount_json("/run/secrets", "tmpfs", "tmpfs", tmp_opts));
    ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "mount", "type", "ipc",
                   "type", "uts");
    if (sp->own_network)
        json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
    res = json_object();
    if (sp->limits.memory_bytes)
        json_object_set_new(res, "memory",
                            json_pack("{s:I, s:I}", "limit", (json_int_t)sp->limits.memory_bytes,
                                      "swap", (json_int_t)sp->limits.memory_bytes));
    if (sp->limits.cpu_percent)
        json_object_set_new(res, "cpu",
                            json_pack("{s:I, s:I}", "quota",
                                      (json_int_t)sp->limits.cpu_percent * 1000, "period",
                                      (json_int_t)100000));
    if (sp->limits.pids)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)sp->limits.pids));
    masked = json_array();
    for (size_t i = 0; mask[i]; i++)
        json_array_append_new(masked, json_string(mask[i]));
    rop = json_array();
    for (size_t i = 0; ro[i]; i++)
        json_array_append_new(rop, json_string(ro[i]));
    snprintf(host, sizeof(host), "%s-%u", sp->name, in->idx);
    super_cgroup_rel(in->super, host, cg, sizeof(cg));
    /* the limits are also those of the cgroup the agent puts crun in (crun
     * runs with --cgroup-manager=disabled, as it refuses hybrid v1/v2 hosts) */
    linux_ = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o}", "namespaces", ns, "resources", res,
                       "cgroupsPath", cg, "seccomp", seccomp_json(), "maskedPaths", masked,
                       "readonlyPaths", rop);
    snprintf(host, sizeof(host), "%s-%u", sp->name, in->idx);
    return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
                     proc, "root", "path", rootfs, "readonly", 1, "hostname", host, "mounts",
                     mounts, "linux", linux_);
}

int crun_prepare(struct super *s, struct inst *in, uid_t uid, gid_t gid, char *const *envp,
                 char *const *args, char *argv[16], char bufs[8][PATH_MAX], struct err *e)
{
    const struct sup_spec *sp = &in->svc->spec;
    char rootfs[PATH_MAX], path[PATH_MAX + 32], id[96];
    struct stat st;
    json_t *cfg;
    int rc;

    if (uid == 0 && strcmp(sp->user, "root") != 0)
        return err_set(e, -EPERM, "user: a container runs as root only when the spec says so");
    /* a verified bundle is the root as it was unpacked */
    if (sp->bundle)
        snprintf(rootfs, sizeof(rootfs), "%s", in->svc->b.dir);
    else if ((rc = rootfs_dir(s, sp, rootfs, sizeof(rootfs), e)) < 0)
        return rc;
    crun_container_id(in, id, sizeof(id));
    snprintf(bufs[0], PATH_MAX, "%s/crun", s->data_dir);
    mkdir(bufs[0], 0700);
    snprintf(bufs[1], PATH_MAX, "%s/bundles", s->data_dir);
    mkdir(bufs[1], 0700);
    snprintf(bufs[1], PATH_MAX, "%s/bundles/%s", s->data_dir, id);
    mkdir(bufs[1], 0700);
    cfg = config_json(in, rootfs, uid, gid, envp, args);
    snprintf(path, sizeof(path), "%s/config.json", bufs[1]);
    rc = json_dump_file(cfg, path, JSON_INDENT(2));
    json_decref(cfg);
    if (rc < 0)
        return err_set(e, -EIO, "writing %s", path);
    snprintf(bufs[2], PATH_MAX, "%s", id);
    snprintf(bufs[3], PATH_MAX, "%s", crun_path());
    /* a container of the same id left by a crash: delete it first */
    snprintf(path, sizeof(path), "%s/%s", bufs[0], id);
    if (stat(path, &st) == 0) {
        char *del[] = {bufs[3],  "--root", bufs[0], "--cgroup-manager=disabled",
                       "delete", "-f",     bufs[2], NULL};
        struct err de;
        if (run_crun(s, del, &de) < 0)
            log_warn("crun", "%s: %s", id, de.msg);
    }
    argv[0] = bufs[3];
    argv[1] = "--root";
    argv[2] = bufs[0];
    argv[3] = "--cgroup-manager=disabled";
    argv[4] = "run";
    argv[5] = "--bundle";
    argv[6] = bufs[1];
    argv[7] = bufs[2];
    argv[8] = NULL;
    return 0;
}

int crun_signal(struct super *s, struct inst *in, int sig, struct err *e)
{
    char root[PATH_MAX], id[96], signum[16], crun[64];
    char *argv[] = {crun, "--root", root, "--cgroup-manager=disabled", "kill", id, signum, NULL};

    snprintf(crun, sizeof(crun), "%s", crun_path());
    snprintf(root, sizeof(root), "%s/crun", s->data_dir);
    crun_container_id(in, id, sizeof(id));
    snprintf(signum, sizeof(signum), "%d", sig);
    return run_crun(s, argv, e);
}

void crun_cleanup(struct super *s, struct inst *in)
{
    char root[PATH_MAX], id[96], crun[64];
    char *argv[] = {crun, "--root", root, "--cgroup-manager=disabled", "delete", "-f", id, NULL};
    struct err e;

    snprintf(crun, sizeof(crun), "%s", crun_path());
    snprintf(root, sizeof(root), "%s/crun", s->data_dir);
    crun_container_id(in, id, sizeof(id));
    run_crun(s, argv, &e);
}
