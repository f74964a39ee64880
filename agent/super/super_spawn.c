/* super_spawn: starting one process the way a plain-process instance is
 * sandboxed: its own session, fds 0-3 as given and nothing else, a cgroup
 * with the spec's limits, RLIMIT_NOFILE, the service user and group (no
 * supplementary groups), no_new_privs, and a clean signal state. The exec
 * A signed bundle is bind-mounted read-only where its user can reach it.
 * The exec is confirmed through a close-on-exec pipe, so a missing binary is an
 * error here rather than an exit code 127 later. Also: pidfds, /proc
 * start times (against pid reuse after a restart of the agent), users. */
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/super/super_impl.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* In the child between fork and exec: async-signal-safe calls only. */
static void close_from(int lo, int hi)
{
    if (lo <= hi && syscall(SYS_close_range, lo, hi, 0) < 0)
        for (int fd = lo; fd <= hi && fd < 4096; fd++)
            close(fd);
}

/* A mount namespace of the child's own where src is seen read-only at dst
 * (a signed bundle under the agent's private data dir, which the service
 * user cannot reach, at a path it can). */
static int bind_readonly(const char *src, const char *dst, int have_ns)
{
    if (!have_ns &&
        (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
        return -1;
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return -1;
    return 0;
}

/* LISTEN_PID=<our pid>, into the room the parent left in envp (the
 * child's own copy of it): async-signal-safe, no allocation. */
static void put_listen_pid(char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        char *v = envp[i], digits[16];
        size_t n = 0, room = sizeof(SPAWN_LISTEN_PID_ROOM) - 1;
        unsigned long pid = (unsigned long)getpid();
        if (strncmp(v, "LISTEN_PID=", 11) != 0)
            continue;
        do {
            digits[n++] = (char)('0' + pid % 10);
            pid /= 10;
        } while (pid && n < sizeof(digits));
        if (n > room)
            return;
        for (size_t k = 0; k < n; k++)
            v[11 + k] = digits[n - 1 - k];
        v[11 + n] = '\0';
        return;
    }
}

static void child(const struct spawn_req *r, int errfd)
{
    int hi[4], null = open("/dev/null", O_RDWR | O_CLOEXEC), err;
    sigset_t none;

    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    /* errfd goes high, then the sources above it: a source may be a target */
    errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 64);
    for (int i = 0; i < 4; i++)
        hi[i] = fcntl(r->fds[i] >= 0 ? r->fds[i] : (i < 3 ? null : -1), F_DUPFD_CLOEXEC, 65);
    for (int i = 0; i < 4; i++) {
        if (hi[i] >= 0 && dup2(hi[i], i) < 0)
            goto fail;
        if (hi[i] < 0 && i == 3)
            close(3);
    }
    close_from(4, errfd - 1);
    close_from(errfd + 1, INT_MAX);
    if (r->hide_unified &&
        (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
         umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0))
        goto fail;
    for (int i = 0; r->cgroups[i]; i++) {
        int fd = open(r->cgroups[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            goto fail;
        close(fd);
    }
    if (r->nofile) {
        struct rlimit rl = {r->nofile, r->nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            goto fail;
    }
    if (r->bind_src && bind_readonly(r->bind_src, r->bind_dst, r->hide_unified) < 0)
        goto fail;
    if (r->set_user && (setgroups(0, NULL) < 0 || setgid(r->gid) < 0 || setuid(r->uid) < 0))
        goto fail;
    if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        goto fail;
    if (chdir(r->dir ? r->dir : "/") < 0)
        goto fail;
    if (r->listen_pid)
        put_listen_pid(r->envp);
    execve(r->path, r->argv, r->envp);
fail:
    err = errno;
    if (write(errfd, &err, sizeof(err)) < 0) {
        /* nothing more to say */
    }
    _exit(127);
}

int spawn_process(const struct spawn_req *r, pid_t *pid, struct err *e)
{
    int p[2], child_err = 0;
    ssize_t n;
    pid_t c;

    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(e, -errno, "pipe: %s", strerror(errno));
    c = fork();
    if (c < 0) {
        int rc = -errno;
        close(p[0]);
        close(p[1]);
        return err_set(e, rc, "fork: %s", strerror(-rc));
    }
    if (c == 0)
        child(r, p[1]);
    close(p[1]);
    do {
        n = read(p[0], &child_err, sizeof(child_err));
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n > 0) {
        /* the child is gone (_exit 127); reap it so it is no zombie */
        siginfo_t si;
        waitid(P_PID, (id_t)c, &si, WEXITED);
        return err_set(e, -child_err, "cannot start %s: %s", r->path, strerror(child_err));
    }
    *pid = c;
    return 0;
}

int spawn_pidfd(pid_t pid)
{
    long fd = syscall(SYS_pidfd_open, pid, 0);

    if (fd < 0)
        return -errno;
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    return (int)fd;
}

uint64_t spawn_proc_start(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* after "(comm)" come the fields 3..; starttime is field 22 */
    if (!(p = strrchr(buf, ')')))
        return 0;
    p++;
    for (int field = 3; field <= 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
        if (field == 3 && p && *p == 'Z')
            return 0; /* a zombie is gone */
    }
    if (p)
        sscanf(p, "%llu", &start);
    return start;
}

int spawn_user(const char *user, const char *group, uid_t *uid, gid_t *gid, struct err *e)
{
    struct passwd *pw = getpwnam(user);

    if (!pw)
        return err_set(e, -ENOENT, "user: no such user \"%s\"", user);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (!gr)
            return err_set(e, -ENOENT, "group: no such group \"%s\"", group);
        *gid = gr->gr_gid;
    }
    return 0;
}

/* ---- cgroups: joining them is spawn_process's, making them super_cgroup.c's ---- */

int spawn_cgroup_hybrid(void)
{
    struct statfs f;
    return statfs("/sys/fs/cgroup/unified", &f) == 0 && f.f_type == 0x63677270 /* cgroup2 */ &&
           statfs("/sys/fs/cgroup", &f) == 0 && f.f_type != 0x63677270;
}
