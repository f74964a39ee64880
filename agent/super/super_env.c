/* super_env: what the process of an instance is given, worked out before
 * it is spawned: its ports (the spec's fixed ones, or free ones picked
 * once and kept across restarts), the user it runs as and that user's
 * home, its environment, and its command line with ${PORT} and
 * ${PORT_name} replaced. Spawning itself is in super.c and super_spawn.c. */
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

#define SUPER_DEFAULT_USER "troupe"

static int pick_port(uint16_t *port, struct err *e)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return err_set(e, rc, "ports: no free port: %s", strerror(-rc));
    }
    close(fd);
    *port = ntohs(sa.sin_port);
    return 0;
}

int super_listen_socket(const struct inst *in, struct err *e)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(in->ports[0])};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc;

    if (fd < 0)
        return err_set(e, -errno, "socket_activation: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        close(fd);
        return err_set(e, rc, "socket_activation: port %u: %s", in->ports[0], strerror(-rc));
    }
    return fd;
}

int super_assign_ports(struct inst *in, struct err *e)
{
    const struct sup_spec *sp = &in->svc->spec;

    for (size_t i = 0; i < sp->n_ports; i++) {
        if (sp->ports[i].port) {
            in->ports[i] = sp->ports[i].port;
        } else if (!in->ports[i]) {
            if (pick_port(&in->ports[i], e) < 0)
                return e->code;
        }
    }
    for (size_t i = sp->n_ports; i < SUP_PORTS_MAX; i++)
        in->ports[i] = 0;
    return 0;
}

/* The environment of an instance: the spec's env, PORT and PORT_name,
 * TROUPE_SERVICE, TROUPE_INSTANCE, TROUPE_SECRETS_DIR; PATH and HOME when
 * the spec gives none. Never a secret's value. Heap; free with super_strv_free. */
char **super_env(struct inst *in, const char *home, const char *secrets_dir)
{
    const struct sup_spec *sp = &in->svc->spec;
    size_t n = 0, cap = sp->n_env + sp->n_ports + 10;
    char **env = xcalloc(cap + 1, sizeof(char *));
    int has_path = 0, has_home = 0;
    char buf[PATH_MAX + 160];

    for (size_t i = 0; i < sp->n_env; i++) {
        env[n++] = xstrdup(sp->env[i]);
        has_path |= strncmp(sp->env[i], "PATH=", 5) == 0;
        has_home |= strncmp(sp->env[i], "HOME=", 5) == 0;
    }
    if (!has_path)
        env[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    if (!has_home) {
        snprintf(buf, sizeof(buf), "HOME=%s", home);
        env[n++] = xstrdup(buf);
    }
    for (size_t i = 0; i < sp->n_ports; i++) {
        if (i == 0) {
            snprintf(buf, sizeof(buf), "PORT=%u", in->ports[0]);
            env[n++] = xstrdup(buf);
        }
        snprintf(buf, sizeof(buf), "PORT_%s=%u", sp->ports[i].name, in->ports[i]);
        env[n++] = xstrdup(buf);
    }
    snprintf(buf, sizeof(buf), "TROUPE_SERVICE=%s", sp->name);
    env[n++] = xstrdup(buf);
    snprintf(buf, sizeof(buf), "TROUPE_INSTANCE=%u", in->idx);
    env[n++] = xstrdup(buf);
    if (secrets_dir) {
        snprintf(buf, sizeof(buf), "TROUPE_SECRETS_DIR=%s", secrets_dir);
        env[n++] = xstrdup(buf);
    }
    if (sp->socket_activation) {
        /* the pid is the child's, written by it after the fork (super_spawn.c) */
        env[n++] = xstrdup("LISTEN_FDS=1");
        env[n++] = xstrdup("LISTEN_PID=" SPAWN_LISTEN_PID_ROOM);
    }
    return env;
}

void super_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The user an instance runs as: the spec's; as root the default is the
 * unprivileged troupe user, and root only when the spec says "root". */
int super_user(struct super *s, const struct sup_spec *sp, uid_t *uid, gid_t *gid, char *home,
               size_t cap, struct err *e)
{
    const char *user = sp->user[0] ? sp->user : NULL;
    struct passwd *pw;

    if (!s->root) {
        *uid = getuid();
        *gid = getgid();
        if (user && (!(pw = getpwnam(user)) || pw->pw_uid != *uid))
            return err_set(e, -EPERM,
                           "user: \"%s\": an agent that is not root runs services as itself", user);
        pw = getpwuid(*uid);
        snprintf(home, cap, "%s", pw ? pw->pw_dir : "/");
        return 0;
    }
    if (!user)
        user = SUPER_DEFAULT_USER;
    if (spawn_user(user, sp->group, uid, gid, e) < 0) {
        if (!sp->user[0])
            return err_set(e, -ENOENT,
                           "user: the default user \"%s\" does not exist (make install "
                           "creates it), or set \"user\" in the spec",
                           SUPER_DEFAULT_USER);
        return e->code;
    }
    /* root under another name (sup_spec_check_privilege sees only names) */
    if (!s->a->cfg.allow_root_services && (*uid == 0 || *gid == 0)) {
        char what[96];
        snprintf(what, sizeof(what), "\"%s\" (%s 0)", *uid == 0 ? user : sp->group,
                 *uid == 0 ? "uid" : "gid");
        return sup_spec_privilege_err(e, sp->name, *uid == 0 ? "user" : "group", what);
    }
    pw = getpwnam(user);
    snprintf(home, cap, "%s", pw ? pw->pw_dir : "/");
    return 0;
}

/* The spec's args with ${PORT} and ${PORT_name} replaced by the instance's
 * ports, after argv0 when it is not NULL (heap, NULL-terminated; super_strv_free). */
char **super_args(const struct inst *in, const char *argv0)
{
    const struct sup_spec *sp = &in->svc->spec;
    char **v = xcalloc(sp->n_args + 2, sizeof(char *)), buf[8192];
    size_t k = 0;

    if (argv0)
        v[k++] = xstrdup(argv0);
    for (size_t i = 0; i < sp->n_args; i++) {
        super_expand_ports(in, sp->args[i], buf, sizeof(buf));
        v[k++] = xstrdup(buf);
    }
    return v;
}
