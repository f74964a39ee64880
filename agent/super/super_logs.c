/* super_logs: the output of instances. A logger process per instance
 * (`troupe _logger`, started by the agent, in a session of its own so it
 * outlives an agent restart) reads the instance's stdout (fd 0) and stderr
 * (fd 3) and appends records "MS S TEXT\n" to DATA/logs/NAME/IDX.log: MS
 * the wall clock in ms, S 'o' or 'e' for a complete line of stdout or
 * stderr, 'O' or 'E' for a piece of a line longer than 64 KiB that goes on
 * in the next record (so nothing is lost and the line can be joined). A
 * file over 8 MiB is rotated to IDX.log.1 .. .3. The agent reads the files
 * back for the API (super_logs_read). */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

/* ---- the logger process ---- */

struct lstream {
    int fd;
    char kind; /* 'o' or 'e' */
    size_t len;
    char buf[SUPER_LINE_MAX];
};

struct logger {
    char path[PATH_MAX];
    int fd;
    uint64_t size;
};

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int logger_open(struct logger *l)
{
    struct stat st;

    l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (l->fd < 0)
        return -errno;
    l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

static void logger_rotate(struct logger *l)
{
    char from[PATH_MAX + 8], to[PATH_MAX + 8];

    for (int i = SUPER_LOG_KEEP - 1; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%d", l->path, i);
        snprintf(to, sizeof(to), "%s.%d", l->path, i + 1);
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", l->path);
    rename(l->path, to);
    close(l->fd);
    logger_open(l);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* disk full: the record is dropped, the service goes on */
        p += w;
        n -= (size_t)w;
    }
}

static void logger_record(struct logger *l, char kind, const char *text, size_t len)
{
    char head[40];
    int h = snprintf(head, sizeof(head), "%llu %c ", (unsigned long long)wall_ms(), kind);
    char *rec;

    if (l->fd < 0)
        return;
    if (l->size + (size_t)h + len + 1 > SUPER_LOG_FILE_MAX && l->size > 0)
        logger_rotate(l);
    if (l->fd < 0)
        return;
    /* one write per record, so records of two streams never interleave */
    rec = xmalloc((size_t)h + len + 1);
    memcpy(rec, head, (size_t)h);
    memcpy(rec + h, text, len);
    rec[(size_t)h + len] = '\n';
    write_all(l->fd, rec, (size_t)h + len + 1);
    free(rec);
    l->size += (size_t)h + len + 1;
}

/* Emits the complete lines in the stream's buffer, and a piece when the
 * buffer is full of one line; keeps the rest for the next read. */
static void logger_drain(struct logger *l, struct lstream *s, int eof)
{
    size_t start = 0;

    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] != '\n')
            continue;
        logger_record(l, s->kind, s->buf + start, i - start);
        start = i + 1;
    }
    if (start == 0 && s->len == sizeof(s->buf)) {
        logger_record(l, (char)(s->kind - 32), s->buf, s->len); /* 'O' / 'E': goes on */
        start = s->len;
    }
    if (eof && start < s->len) {
        logger_record(l, s->kind, s->buf + start, s->len - start);
        start = s->len;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
}

int super_logger_main(int argc, char **argv)
{
    static struct lstream st[2];
    struct logger l;
    struct pollfd pf[2];

    if (argc != 3) {
        fprintf(stderr, "usage: troupe _logger DIR BASENAME (started by the agent)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    snprintf(l.path, sizeof(l.path), "%s/%s.log", argv[1], argv[2]);
    if (logger_open(&l) < 0) {
        fprintf(stderr, "troupe _logger: %s: %s\n", l.path, strerror(errno));
        /* keep reading so the service never blocks on a full pipe */
    }
    st[0].fd = 0;
    st[0].kind = 'o';
    st[1].fd = 3;
    st[1].kind = 'e';
    if (fcntl(3, F_GETFD) < 0)
        st[1].fd = -1;
    for (;;) {
        int n = 0;
        for (int i = 0; i < 2; i++) {
            pf[i].fd = st[i].fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
            n += st[i].fd >= 0;
        }
        if (n == 0)
            break;
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            struct lstream *s = &st[i];
            ssize_t r;
            if (s->fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                logger_drain(&l, s, 1);
                close(s->fd);
                s->fd = -1;
                continue;
            }
            s->len += (size_t)r;
            logger_drain(&l, s, 0);
        }
    }
    if (l.fd >= 0)
        close(l.fd);
    return 0;
}

int super_log_dir(struct super *s, const char *name, char *out, size_t cap, struct err *e)
{
    char logs[PATH_MAX + 8];

    snprintf(logs, sizeof(logs), "%s/logs", s->data_dir);
    if (mkdir(logs, 0750) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", logs, strerror(errno));
    if ((size_t)snprintf(out, cap, "%s/%s", logs, name) >= cap)
        return err_set(e, -ENAMETOOLONG, "log dir path too long");
    if (mkdir(out, 0750) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", out, strerror(errno));
    return 0;
}

/* Starts the logger of an instance when it has none (first start, or the
 * first restart after the agent itself restarted). The agent keeps the
 * write ends, so one logger serves every restart of the instance. */
int super_logger_spawn(struct super *s, struct inst *in, struct err *e)
{
    char dir[PATH_MAX], base[16];
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, rc;
    char *argv[] = {"troupe", "_logger", dir, base, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct spawn_req r;

    if (in->log_out >= 0)
        return 0;
    if ((rc = super_log_dir(s, in->svc->spec.name, dir, sizeof(dir), e)) < 0)
        return rc;
    snprintf(base, sizeof(base), "%u", in->idx);
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        rc = err_set(e, -errno, "pipe: %s", strerror(errno));
        goto fail;
    }
    memset(&r, 0, sizeof(r));
    r.path = s->self_exe;
    r.argv = argv;
    r.envp = envp;
    r.fds[0] = out[0];
    r.fds[1] = -1;
    r.fds[2] = -1;
    r.fds[3] = errp[0];
    if ((rc = spawn_process(&r, &in->logger, e)) < 0)
        goto fail;
    close(out[0]);
    close(errp[0]);
    in->log_out = out[1];
    in->log_err = errp[1];
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    return rc;
}

/* ---- reading back ---- */

struct rec {
    uint64_t t;
    uint32_t inst;
    uint32_t seq;
    char kind;
    char *text;
    size_t len;
};

struct recs {
    struct rec *r;
    size_t n, cap;
    size_t bytes;
};

static void add_file(struct recs *rs, const char *path, uint32_t inst, uint64_t since,
                     uint64_t from_off, uint64_t *end_off)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (!f)
        return;
    if (from_off)
        fseeko(f, (off_t)from_off, SEEK_SET);
    while ((n = getline(&line, &cap, f)) > 0) {
        char *sp;
        unsigned long long t = strtoull(line, &sp, 10);
        if (line[n - 1] != '\n')
            break; /* a record being written: read it next time */
        if (sp == line || sp[0] != ' ' || !sp[1] || sp[2] != ' ')
            continue;
        if (end_off)
            *end_off = (uint64_t)ftello(f);
        if (t < since)
            continue;
        if (rs->n == rs->cap) {
            rs->cap = rs->cap ? rs->cap * 2 : 256;
            rs->r = xrealloc(rs->r, rs->cap * sizeof(*rs->r));
        }
        rs->r[rs->n].t = t;
        rs->r[rs->n].inst = inst;
        rs->r[rs->n].seq = (uint32_t)rs->n;
        rs->r[rs->n].kind = sp[1];
        rs->r[rs->n].len = (size_t)n - (size_t)(sp + 3 - line) - 1;
        rs->r[rs->n].text = xmemdup(sp + 3, rs->r[rs->n].len);
        rs->bytes += rs->r[rs->n].len;
        rs->n++;
    }
    if (end_off && !ferror(f))
        *end_off = (uint64_t)ftello(f) - (n > 0 && line[n - 1] != '\n' ? (uint64_t)n : 0);
    free(line);
    fclose(f);
}

static int rec_cmp(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->inst != y->inst)
        return x->inst < y->inst ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Joins the pieces of a long line (records 'O'/'E' then the last 'o'/'e'
 * of the same instance and stream) into one record at its last piece; seq
 * then counts the pieces. A line still being written (no last piece yet)
 * is shown as it is so far. */
static void join_pieces(struct recs *rs)
{
    size_t out = 0;

    for (size_t i = 0; i < rs->n; i++) {
        struct rec *r = &rs->r[i];
        r->seq = 1;
        if (r->kind == 'O' || r->kind == 'E') {
            char last = (char)(r->kind + 32);
            for (size_t j = i + 1; j < rs->n; j++) {
                struct rec *n = &rs->r[j];
                char k = n->kind;
                if (n->inst != r->inst || (k != r->kind && k != last))
                    continue;
                r->text = xrealloc(r->text, r->len + n->len + 1);
                memcpy(r->text + r->len, n->text, n->len);
                r->len += n->len;
                r->seq++;
                r->t = n->t;
                free(n->text);
                n->text = NULL;
                n->kind = 0; /* consumed */
                if (k == last)
                    break;
            }
            r->kind = last;
        }
        if (r->kind)
            rs->r[out++] = *r;
    }
    rs->n = out;
}

static json_t *text_json(const char *p, size_t n)
{
    json_t *j = memchr(p, 0, n) ? NULL : json_stringn(p, n);
    char *c;

    if (j)
        return j;
    /* not UTF-8, or NUL (a "\u0000" is more than jansson, so the CLI, reads):
     * show the bytes that are not ASCII, and NUL, as '?' */
    c = xmemdup(p, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] >= 0x80 || c[i] == 0)
            c[i] = '?';
    j = json_stringn(c, n);
    free(c);
    return j;
}

/* The cursor: "IDX:INODE:OFFSET,..." where each instance's reading stopped. */
static int cursor_find(const char *cursor, uint32_t idx, uint64_t *ino, uint64_t *off)
{
    const char *p = cursor;

    while (p && *p) {
        unsigned int i;
        unsigned long long a, b;
        if (sscanf(p, "%u:%llu:%llu", &i, &a, &b) == 3 && i == idx) {
            *ino = a;
            *off = b;
            return 1;
        }
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return 0;
}

/* The lines of one instance's log at path (with inode ino) since the cursor,
 * or since since_ms in every kept file; returns the offset read to. */
static uint64_t read_instance(struct recs *rs, const char *path, uint32_t idx, uint64_t ino,
                              const char *cursor, uint64_t since_ms)
{
    uint64_t c_ino = 0, off = 0, end_off;
    char old[PATH_MAX + 40];

    if (cursor && cursor_find(cursor, idx, &c_ino, &off)) {
        if (c_ino != ino) {
            /* rotated since: the rest of the old file is now .1 */
            struct stat os;
            snprintf(old, sizeof(old), "%s.1", path);
            if (stat(old, &os) == 0 && (uint64_t)os.st_ino == c_ino)
                add_file(rs, old, idx, since_ms, off, NULL);
            off = 0;
        }
    } else {
        for (int k = SUPER_LOG_KEEP; k >= 1; k--) {
            snprintf(old, sizeof(old), "%s.%d", path, k);
            add_file(rs, old, idx, since_ms, 0, NULL);
        }
    }
    end_off = off;
    add_file(rs, path, idx, since_ms, off, &end_off);
    return end_off;
}

/* The last max_lines records, in time order, as a JSON array; frees rs. */
static json_t *lines_json(struct recs *rs, size_t max_lines)
{
    size_t first;
    json_t *lines = json_array();

    if (rs->n) /* rs->r is NULL when no file had a line: qsort must not see it */
        qsort(rs->r, rs->n, sizeof(*rs->r), rec_cmp);
    join_pieces(rs);
    first = rs->n > max_lines ? rs->n - max_lines : 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rec *r = &rs->r[i];
        if (i >= first)
            json_array_append_new(
                lines, json_pack("{s:I, s:i, s:s, s:o, s:i}", "t", (json_int_t)r->t, "instance",
                                 (int)r->inst, "stream", r->kind == 'o' ? "out" : "err", "text",
                                 text_json(r->text, r->len), "pieces", (int)r->seq));
        free(r->text);
    }
    free(rs->r);
    return lines;
}

json_t *super_logs(struct super *s, const char *name, int instance, uint64_t since_ms,
                   const char *cursor, size_t max_lines, struct err *e)
{
    char dir[2200], path[2600];
    struct recs rs = {0};
    json_t *lines, *out;
    char *cur = NULL;
    size_t cur_len = 0;
    int ncur = 0;
    FILE *cf;
    DIR *d;
    struct dirent *de;

    if (!sup_name_ok(name)) {
        err_set(e, -EINVAL, "\"%s\" is not a service name", name);
        return NULL;
    }
    snprintf(dir, sizeof(dir), "%s/logs/%s", s->data_dir, name);
    if (!(d = opendir(dir))) {
        err_set(e, -ENOENT, "no logs of a service \"%s\"", name);
        return NULL;
    }
    cf = open_memstream(&cur, &cur_len);
    while ((de = readdir(d))) {
        char *end;
        unsigned long idx = strtoul(de->d_name, &end, 10);
        struct stat st;
        uint64_t end_off;

        if (end == de->d_name || strcmp(end, ".log") != 0)
            continue;
        if (instance >= 0 && idx != (unsigned long)instance)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) < 0)
            continue;
        end_off = read_instance(&rs, path, (uint32_t)idx, (uint64_t)st.st_ino, cursor, since_ms);
        fprintf(cf, "%s%lu:%llu:%llu", ncur++ ? "," : "", idx, (unsigned long long)st.st_ino,
                (unsigned long long)end_off);
    }
    closedir(d);
    fclose(cf);
    lines = lines_json(&rs, max_lines);
    out = json_pack("{s:o, s:s}", "lines", lines, "cursor", cur ? cur : "");
    free(cur);
    return out;
}
