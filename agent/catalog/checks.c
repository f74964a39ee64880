/* checks: runs the health checks of our instances over libuv and feeds
 * their results to core/health, which decides the status. http: a GET,
 * 2xx passing, 429 warning, anything else critical; tcp: a connect; exec:
 * a command, exit 0 passing, 1 warning, else critical; ttl: the application
 * reports (checks_report). A status change is written to our check record
 * and gossiped at once; an output-only change at most once a minute (the
 * state machine says when). One probe of a check runs at a time; its
 * handles live in a struct of their own, freed when the last one closes,
 * so stopping a check never waits for a probe. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/catalog/services.h"
#include "core/http1.h"
#include "core/mem.h"

#define PROBE_IN_MAX  (64u << 10) /* bytes of an answer or a command's output read */
#define EXEC_GRACE_MS 200         /* after exit, for the rest of the output */

struct probe;

struct check_run {
    struct agent *a;
    char instance[CAT_ID_MAX + 1];
    struct catalog_check_def def; /* argv: our own copies */
    struct health h;
    uv_timer_t timer;
    uint64_t next_probe_ms; /* loop time */
    uint64_t health_next_ms;
    uint64_t fast_until_ms; /* loop time: probe every def.fast_probe_ms until then or a pass */
    struct probe *probe;    /* in flight */
};

struct probe {
    struct check_run *run; /* NULL once the check is stopped */
    uint8_t type;
    int open; /* handles still to close */
    int done;
    uv_timer_t timer;
    uv_tcp_t tcp;
    int tcp_inited;
    uv_connect_t conn;
    uv_write_t wr;
    uv_getaddrinfo_t gai;
    uv_process_t proc;
    int proc_inited, exited;
    int64_t exit_status;
    int term_signal;
    uv_pipe_t pipe;
    int pipe_inited, eof;
    char host[256];
    uint16_t port;
    char path[CATALOG_TARGET_MAX];
    uint64_t start_ns; /* troupe_checks_run_duration_seconds */
    char *req;
    char *in;
    size_t in_len;
};

static const char *type_name(uint8_t t)
{
    switch (t) {
    case HEALTH_HTTP:
        return "http";
    case HEALTH_TCP:
        return "tcp";
    case HEALTH_EXEC:
        return "exec";
    default:
        return "ttl";
    }
}

const char *checks_id(const struct check_run *r)
{
    return r->def.id;
}

const struct catalog_check_def *checks_def(const struct check_run *r)
{
    return &r->def;
}

uint8_t checks_status(const struct check_run *r)
{
    return r->h.status;
}

/* The checks' clock: the loop's, shifted by the output period, so that a
 * check's first output can be due at once (see checks_start). */
static uint64_t check_now(struct agent *a)
{
    return agent_now(a) + HEALTH_OUTPUT_EVERY_MS;
}

/* ---- the check record ---- */

static void write_record(struct check_run *r)
{
    struct cat_check *ck = xcalloc(1, sizeof(*ck));
    uint8_t *buf = xmalloc(CAT_OUTPUT_MAX + 2048);
    struct err e;
    int len;

    snprintf(ck->id, sizeof(ck->id), "%s", r->def.id);
    snprintf(ck->instance, sizeof(ck->instance), "%s", r->instance);
    snprintf(ck->name, sizeof(ck->name), "%s",
             r->def.name[0] ? r->def.name : type_name(r->def.cfg.type));
    snprintf(ck->type, sizeof(ck->type), "%s", type_name(r->def.cfg.type));
    ck->status = r->h.status;
    ck->output_len = r->h.output_len;
    memcpy(ck->output, r->h.output, r->h.output_len);
    if ((len = cat_check_encode(ck, buf, CAT_OUTPUT_MAX + 2048, &e)) < 0 ||
        repl_put(r->a->catalog->repl, agent_wall_ms(), CRDT_CHECK, r->def.id, buf, (uint32_t)len,
                 &e) < 0)
        log_warn("check", "%s: cannot write its status: %s", r->def.id, e.msg);
    free(ck);
    free(buf);
}

/* DEREGISTER beats CHANGED beats OUTPUT beats SAME. */
static int worse(int a, int b)
{
    static const int rank[] = {
        [HEALTH_SAME] = 0, [HEALTH_OUTPUT] = 1, [HEALTH_CHANGED] = 2, [HEALTH_DEREGISTER] = 3};
    return rank[a] >= rank[b] ? a : b;
}

static void timer_cb(uv_timer_t *t);

static void arm(struct check_run *r, uint64_t now)
{
    uint64_t next = r->health_next_ms;

    if (r->def.cfg.type != HEALTH_TTL && !r->probe && r->next_probe_ms < next)
        next = r->next_probe_ms;
    if (next == UINT64_MAX)
        return;
    uv_timer_start(&r->timer, timer_cb, next > now ? next - now : 0, 0);
}

/* Acts on a verdict. Last thing a caller does with r: a hook may stop it. */
static void apply(struct check_run *r, int verdict, uint8_t from)
{
    struct agent *a = r->a;

    switch (verdict) {
    case HEALTH_CHANGED:
        a->catalog->check_flaps++;
        write_record(r);
        agent_drive(a);
        catalog_check_changed(a, r->instance, r->def.id, from, r->h.status);
        break;
    case HEALTH_OUTPUT:
        write_record(r);
        agent_drive(a);
        break;
    case HEALTH_DEREGISTER:
        log_warn("check", "%s critical for longer than %llu ms: deregistering %s", r->def.id,
                 (unsigned long long)r->def.cfg.deregister_critical_after_ms, r->instance);
        catalog_deregister_later(a, r->instance);
        break;
    default:
        break;
    }
}

static void result(struct check_run *r, uint8_t status, const char *out, size_t len)
{
    uint64_t now = check_now(r->a);
    uint8_t from = r->h.status;
    int v = health_result(&r->h, &r->def.cfg, now, status, out, len);

    if (r->h.status == CAT_PASSING)
        r->fast_until_ms = 0;
    else if (now < r->fast_until_ms)
        r->next_probe_ms = now + r->def.fast_probe_ms; /* cold-starting: again soon */
    v = worse(v, health_tick(&r->h, &r->def.cfg, now, &r->health_next_ms));
    arm(r, now);
    apply(r, v, from);
}

/* ---- probes ---- */

static void probe_closed(uv_handle_t *h)
{
    struct probe *p = h->data;

    if (--p->open == 0) {
        free(p->req);
        free(p->in);
        free(p);
    }
}

static void probe_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, probe_closed);
}

/* The probe's outcome: reported once, then its handles close. */
static void probe_finish(struct probe *p, uint8_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void probe_finish(struct probe *p, uint8_t status, const char *fmt, ...)
{
    char *out = xmalloc(CAT_OUTPUT_MAX + 1);
    struct check_run *r = p->run;
    va_list ap;
    int n;

    if (p->done) {
        free(out);
        return;
    }
    p->done = 1;
    va_start(ap, fmt);
    n = vsnprintf(out, CAT_OUTPUT_MAX + 1, fmt, ap);
    va_end(ap);
    if (n > CAT_OUTPUT_MAX)
        n = CAT_OUTPUT_MAX;
    probe_close((uv_handle_t *)&p->timer);
    if (p->tcp_inited)
        probe_close((uv_handle_t *)&p->tcp);
    if (p->pipe_inited)
        probe_close((uv_handle_t *)&p->pipe);
    if (p->proc_inited) {
        /* the whole group: a check's script may have started children
         * that would otherwise outlive its timeout */
        if (!p->exited && kill(-p->proc.pid, SIGKILL) < 0)
            uv_process_kill(&p->proc, SIGKILL);
        probe_close((uv_handle_t *)&p->proc);
    }
    if (r) {
        struct catalog *c = r->a->catalog;
        c->check_runs++;
        metrics_hist_observe(&c->check_duration, (double)(metrics_now_ns() - p->start_ns) / 1e9);
        r->probe = NULL;
        p->run = NULL;
        result(r, status, out, n > 0 ? (size_t)n : 0);
    }
    free(out);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct probe *p = h->data;

    (void)hint;
    if (!p->in)
        p->in = xmalloc(PROBE_IN_MAX + 1);
    b->base = p->in + p->in_len;
    b->len = PROBE_IN_MAX - p->in_len;
}

/* http: the status line and the body, from what was read. */
static void http_done(struct probe *p)
{
    char *body, *line_end;
    int code = 0;

    p->in[p->in_len] = '\0';
    if (sscanf(p->in, "HTTP/1.%*d %d", &code) != 1 || code < 100 || code > 999) {
        probe_finish(p, CAT_CRITICAL, "HTTP GET http://%s:%u%s: %s", p->host, p->port, p->path,
                     p->in_len ? "not an HTTP answer" : "connection closed without an answer");
        return;
    }
    line_end = strstr(p->in, "\r\n");
    body = strstr(p->in, "\r\n\r\n");
    probe_finish(p, health_from_http(code), "HTTP GET http://%s:%u%s: %.*s%s%s", p->host, p->port,
                 p->path, line_end ? (int)(line_end - p->in - 9) : 3, p->in + 9,
                 body && body[4] ? "\n" : "", body ? body + 4 : "");
}

static int http_complete(struct probe *p)
{
    struct http1_resp resp;
    uint8_t *copy;
    long used;

    if (!memmem(p->in, p->in_len, "\r\n\r\n", 4))
        return 0;
    copy = xmemdup(p->in, p->in_len);
    used = http1_parse_response(&resp, copy, p->in_len, 0, NULL);
    free(copy);
    return used != 0;
}

static void http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct probe *p = s->data;

    (void)b;
    if (p->done)
        return;
    if (n > 0) {
        p->in_len += (size_t)n;
        if (p->in_len >= PROBE_IN_MAX || http_complete(p))
            http_done(p);
        return;
    }
    if (n == UV_EOF) {
        http_done(p);
        return;
    }
    if (n < 0)
        probe_finish(p, CAT_CRITICAL, "HTTP GET http://%s:%u%s: %s", p->host, p->port, p->path,
                     uv_strerror((int)n));
}

static void http_written(uv_write_t *w, int status)
{
    struct probe *p = w->data;

    if (status < 0 && !p->done)
        probe_finish(p, CAT_CRITICAL, "HTTP GET http://%s:%u%s: %s", p->host, p->port, p->path,
                     uv_strerror(status));
}

static void connected(uv_connect_t *c, int status)
{
    struct probe *p = c->data;
    uv_buf_t b;

    if (p->done)
        return;
    if (status < 0) {
        probe_finish(p, CAT_CRITICAL, "%s connect %s:%u: %s",
                     p->type == HEALTH_TCP ? "TCP" : "HTTP", p->host, p->port, uv_strerror(status));
        return;
    }
    if (p->type == HEALTH_TCP) {
        probe_finish(p, CAT_PASSING, "TCP connect %s:%u: success", p->host, p->port);
        return;
    }
    if (asprintf(&p->req,
                 "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: troupe-check\r\n"
                 "Accept: */*\r\nConnection: close\r\n\r\n",
                 p->path, p->host, p->port) < 0) {
        p->req = NULL;
        probe_finish(p, CAT_CRITICAL, "out of memory");
        return;
    }
    b = uv_buf_init(p->req, (unsigned)strlen(p->req));
    p->wr.data = p;
    uv_write(&p->wr, (uv_stream_t *)&p->tcp, &b, 1, http_written);
    uv_read_start((uv_stream_t *)&p->tcp, alloc_cb, http_read);
}

static void connect_to(struct probe *p, const struct sockaddr *sa)
{
    int rc;

    uv_tcp_init(&p->run->a->loop, &p->tcp);
    p->tcp.data = p;
    p->tcp_inited = 1;
    p->open++;
    p->conn.data = p;
    if ((rc = uv_tcp_connect(&p->conn, &p->tcp, sa, connected)) < 0)
        probe_finish(p, CAT_CRITICAL, "connect %s:%u: %s", p->host, p->port, uv_strerror(rc));
}

static void resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    struct probe *p = g->data;

    p->open--; /* the request is over */
    if (p->done || !p->run) {
        uv_freeaddrinfo(res);
        if (p->open == 0) {
            free(p->req);
            free(p->in);
            free(p);
        }
        return;
    }
    if (status < 0 || !res)
        probe_finish(p, CAT_CRITICAL, "resolve %s: %s", p->host, uv_strerror(status));
    else
        connect_to(p, res->ai_addr);
    uv_freeaddrinfo(res);
}

static void start_net(struct probe *p, const char *target)
{
    struct sockaddr_storage ss;
    struct addrinfo hints;
    char port[8];
    int rc;

    if (p->type == HEALTH_HTTP
            ? services_parse_url(target, p->host, sizeof(p->host), &p->port, p->path,
                                 sizeof(p->path)) < 0
            : services_parse_hostport(target, p->host, sizeof(p->host), &p->port) < 0) {
        probe_finish(p, CAT_CRITICAL, "bad target \"%s\"", target);
        return;
    }
    if (uv_ip4_addr(p->host, p->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(p->host, p->port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(p, (struct sockaddr *)&ss);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", p->port);
    p->gai.data = p;
    p->open++;
    if ((rc = uv_getaddrinfo(&p->run->a->loop, &p->gai, resolved, p->host, port, &hints)) < 0) {
        p->open--;
        probe_finish(p, CAT_CRITICAL, "resolve %s: %s", p->host, uv_strerror(rc));
    }
}

/* exec: finished when the command exited and its output is read. */
static void exec_maybe_done(struct probe *p)
{
    if (!p->exited || !p->eof || p->done)
        return;
    p->in = p->in ? p->in : xmalloc(1);
    p->in[p->in_len] = '\0';
    if (p->term_signal)
        probe_finish(p, CAT_CRITICAL, "killed by signal %d\n%s", p->term_signal, p->in);
    else
        probe_finish(p, health_from_exit((int)p->exit_status), "exit %lld\n%s",
                     (long long)p->exit_status, p->in);
}

static void exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct probe *p = s->data;

    (void)b;
    if (n > 0)
        p->in_len += (size_t)n;
    if (n < 0 || p->in_len >= PROBE_IN_MAX) {
        p->eof = 1;
        uv_read_stop(s);
        exec_maybe_done(p);
    }
}

static void probe_timeout(uv_timer_t *t);

static void exited(uv_process_t *proc, int64_t status, int sig)
{
    struct probe *p = proc->data;

    p->exited = 1;
    p->exit_status = status;
    p->term_signal = sig;
    if (!p->eof && !p->done)
        uv_timer_start(&p->timer, probe_timeout, EXEC_GRACE_MS, 0);
    exec_maybe_done(p);
}

static void start_exec(struct probe *p, struct check_run *r)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int fds[2], rc;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        probe_finish(p, CAT_CRITICAL, "pipe: %s", strerror(errno));
        return;
    }
    memset(&o, 0, sizeof(o));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    o.file = r->def.argv[0];
    o.args = r->def.argv;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = exited;
    o.flags = UV_PROCESS_DETACHED; /* a group of its own, killed whole at the timeout */
    p->proc.data = p;
    rc = uv_spawn(&r->a->loop, &p->proc, &o);
    close(fds[1]);
    p->proc_inited = 1;
    p->open++;
    uv_pipe_init(&r->a->loop, &p->pipe, 0);
    p->pipe.data = p;
    p->pipe_inited = 1;
    p->open++;
    uv_pipe_open(&p->pipe, fds[0]);
    if (rc < 0) {
        p->exited = 1; /* nothing to kill */
        probe_finish(p, CAT_CRITICAL, "cannot run %s: %s", r->def.argv[0], uv_strerror(rc));
        return;
    }
    uv_read_start((uv_stream_t *)&p->pipe, alloc_cb, exec_read);
}

static void probe_timeout(uv_timer_t *t)
{
    struct probe *p = t->data;

    if (p->type == HEALTH_EXEC && p->exited) {
        p->eof = 1; /* the grace for the rest of the output is over */
        exec_maybe_done(p);
        return;
    }
    probe_finish(p, CAT_CRITICAL, "timed out after %u ms", p->run ? p->run->def.cfg.timeout_ms : 0);
}

static void probe_start(struct check_run *r)
{
    struct probe *p = xcalloc(1, sizeof(*p));

    p->run = r;
    p->start_ns = metrics_now_ns();
    p->type = r->def.cfg.type;
    r->probe = p;
    uv_timer_init(&r->a->loop, &p->timer);
    p->timer.data = p;
    p->open = 1;
    uv_timer_start(&p->timer, probe_timeout, r->def.cfg.timeout_ms, 0);
    if (p->type == HEALTH_EXEC)
        start_exec(p, r);
    else
        start_net(p, r->def.target);
}

/* ---- a check's life ---- */

static void timer_cb(uv_timer_t *t)
{
    struct check_run *r = t->data;
    uint64_t now = check_now(r->a);
    uint8_t from = r->h.status;
    int v;

    if (r->def.cfg.type != HEALTH_TTL && !r->probe && now >= r->next_probe_ms) {
        r->next_probe_ms = now + r->def.cfg.interval_ms;
        probe_start(r);
        if (!r->probe)
            return; /* it finished at once (a bad target): result() did the rest */
    }
    v = health_tick(&r->h, &r->def.cfg, now, &r->health_next_ms);
    arm(r, now);
    apply(r, v, from);
}

struct check_run *checks_start(struct agent *a, const char *instance,
                               const struct catalog_check_def *def, const struct cat_check *prev)
{
    struct check_run *r = xcalloc(1, sizeof(*r));
    uint64_t now = check_now(a);

    r->a = a;
    snprintf(r->instance, sizeof(r->instance), "%s", instance);
    r->def = *def;
    for (size_t i = 0; i < def->argc && i < CATALOG_ARGS_MAX; i++)
        r->def.argv[i] = xstrdup(def->argv[i]);
    health_init(&r->h, &r->def.cfg, now);
    /* the first output is news: gossip it with the first result, not a minute later */
    r->h.output_sent_ms = now - HEALTH_OUTPUT_EVERY_MS;
    if (def->start_passing && !prev)
        r->h.status = CAT_PASSING;
    if (prev) {
        /* a restart or a new definition does not flap a known status */
        r->h.status = prev->status;
        r->h.output_len = prev->output_len;
        memcpy(r->h.output, prev->output, prev->output_len);
        r->h.output[prev->output_len] = '\0';
        if (prev->status == CAT_CRITICAL)
            r->h.critical_since_ms = now;
    }
    uv_timer_init(&a->loop, &r->timer);
    r->timer.data = r;
    r->next_probe_ms = now; /* the first probe runs at once */
    if (def->fast_probe_ms)
        r->fast_until_ms = now + def->fast_for_ms;
    r->health_next_ms = UINT64_MAX;
    write_record(r);
    health_tick(&r->h, &r->def.cfg, now, &r->health_next_ms);
    arm(r, now);
    return r;
}

static void run_closed(uv_handle_t *h)
{
    struct check_run *r = h->data;

    for (size_t i = 0; i < r->def.argc && i < CATALOG_ARGS_MAX; i++)
        free(r->def.argv[i]);
    free(r);
}

void checks_stop(struct check_run *r)
{
    if (!r)
        return;
    if (r->probe) {
        r->probe->run = NULL;
        probe_finish(r->probe, CAT_CRITICAL, "stopped");
        r->probe = NULL;
    }
    uv_close((uv_handle_t *)&r->timer, run_closed);
}

int checks_report(struct check_run *r, uint8_t status, const char *output, size_t len,
                  struct err *e)
{
    if (r->def.cfg.type != HEALTH_TTL)
        return err_set(e, -EINVAL, "check \"%s\" is a %s check, not ttl: it reports by itself",
                       r->def.id, type_name(r->def.cfg.type));
    result(r, status, output, len);
    return 0;
}

/* ---- /metrics ---- */

void checks_write_metrics(struct agent *a, FILE *f)
{
    struct catalog *c = a->catalog;
    size_t by[3] = {0, 0, 0};
    static const char *const names[3] = {"passing", "warning", "critical"};

    if (!c)
        return;
    for (struct svc_local *s = c->svcs; s; s = s->next)
        for (size_t i = 0; i < s->n_checks; i++) {
            uint8_t st = checks_status(s->checks[i]);
            by[st <= CAT_CRITICAL ? st : CAT_CRITICAL]++;
        }
    metrics_head(f, "troupe_checks_checks", "gauge",
                 "Checks of this agent's instances, by status.");
    for (int i = 0; i < 3; i++)
        fprintf(f, "troupe_checks_checks{status=\"%s\"} %zu\n", names[i], by[i]);
    metrics_one(f, "troupe_checks_runs_total", "counter",
                "Probes of http, tcp and exec checks that finished (any result).", c->check_runs);
    metrics_one(f, "troupe_checks_status_changes_total", "counter",
                "Times a check's status changed (flaps included).", c->check_flaps);
    metrics_head(f, "troupe_checks_run_duration_seconds", "histogram",
                 "How long a probe of an http, tcp or exec check took, in seconds.");
    metrics_hist_write(f, "troupe_checks_run_duration_seconds", "", &c->check_duration);
}
