/* cmd_top: troupe top, the web UI's picture in a terminal: the nodes, the
 * services with each instance's health and checks, the instances this
 * agent supervises, and the latest events. On a terminal it draws the
 * picture again each time a blocking query on the catalog returns (the
 * index moved, or the wait ran out), cut to the window's size; otherwise
 * (a pipe, a file) it prints one snapshot and ends. --json prints the
 * snapshot's data as one object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"

#define TOP_WAIT       "30s"
#define TOP_TIMEOUT_MS 45000
#define TOP_EVENTS     10

/* What one picture shows, as the API answered it (owned: top_free). */
struct top {
    json_t *self, *members, *services, *health, *ps, *events;
    uint64_t index;
    int ps_refused;
};

static void top_free(struct top *t)
{
    json_decref(t->self);
    json_decref(t->members);
    json_decref(t->services);
    json_decref(t->health);
    json_decref(t->ps);
    json_decref(t->events);
    t->self = t->members = t->services = t->health = t->ps = t->events = NULL;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)) ?: "";
}

static long long num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Reads everything one picture needs; returns 0 or an exit code. A refused
 * read of this agent's instances (a token policy) leaves ps empty. */
static int top_read(struct cli *c, struct top *t, long n_events)
{
    char path[600];
    json_t *s;
    size_t i;
    int rc;

    if ((rc = cli_request(c, "GET", "/v1/self", NULL, 0, CLIENT_TIMEOUT_MS, &t->self, NULL)) ||
        (rc =
             cli_request(c, "GET", "/v1/members", NULL, 0, CLIENT_TIMEOUT_MS, &t->members, NULL)) ||
        (rc = cli_request(c, "GET", "/v1/catalog/services", NULL, 0, CLIENT_TIMEOUT_MS,
                          &t->services, &t->index)))
        return rc;
    snprintf(path, sizeof(path), "/v1/events?limit=%ld", n_events);
    if ((rc = cli_request(c, "GET", path, NULL, 0, CLIENT_TIMEOUT_MS, &t->events, NULL)))
        return rc;
    t->health = json_object();
    json_array_foreach(t->services, i, s)
    {
        json_t *h;
        strcpy(path, "/v1/health/service/");
        cli_url_encode(str(s, "name"), 0, path + strlen(path), sizeof(path) - strlen(path));
        if ((rc = cli_request(c, "GET", path, NULL, 0, CLIENT_TIMEOUT_MS, &h, NULL)))
            return rc;
        json_object_set_new(t->health, str(s, "name"), h);
    }
    if (!t->ps_refused &&
        cli_request(c, "GET", "/v1/agent/ps", NULL, 0, CLIENT_TIMEOUT_MS, &t->ps, NULL) != 0)
        t->ps_refused = 1;
    if (!t->ps)
        t->ps = json_array();
    return 0;
}

/* The instances of each node (ids, joined by spaces) from the health answers. */
static void instances_of(struct top *t, const char *node, char *out, size_t cap)
{
    const char *name;
    json_t *list, *e;
    size_t i, off = 0;

    out[0] = '\0';
    json_object_foreach(t->health, name, list)
    {
        json_array_foreach(list, i, e)
        {
            int w;
            if (strcmp(str(e, "node"), node) != 0)
                continue;
            w = snprintf(out + off, cap - off, "%s%s", off ? " " : "",
                         str(json_object_get(e, "service"), "id"));
            if (w < 0 || (size_t)w >= cap - off)
                return;
            off += (size_t)w;
        }
    }
    if (!off)
        snprintf(out, cap, "-");
}

static void top_print(struct top *t, FILE *f)
{
    json_t *m, *s, *e, *p, *members = json_object_get(t->self, "members");
    size_t i, k;
    time_t now = time(NULL);
    struct tm tm;
    char when[16], buf[1024];

    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%H:%M:%S", &tm);
    fprintf(f, "troupe top: node %s, %lld alive, %lld suspect, %lld dead, index %llu, %s\n\n",
            str(t->self, "name"), num(members, "alive"), num(members, "suspect"),
            num(members, "dead"), (unsigned long long)t->index, when);

    fprintf(f, "NODES\n  %-16s %-8s %-22s %s\n", "NAME", "STATUS", "ADDRESS", "INSTANCES");
    json_array_foreach(t->members, i, m)
    {
        char addr[80];
        snprintf(addr, sizeof(addr), "%s:%lld", str(m, "addr"), num(m, "port"));
        instances_of(t, str(m, "name"), buf, sizeof(buf));
        fprintf(f, "  %-16s %-8s %-22s %s\n", str(m, "name"), str(m, "status"), addr, buf);
    }

    fprintf(f, "\nSERVICES\n  %-16s %-16s %-20s %-8s %s\n", "SERVICE", "NODE", "INSTANCE", "HEALTH",
            "CHECKS");
    json_array_foreach(t->services, i, s)
    {
        json_t *list = json_object_get(t->health, str(s, "name"));
        if (!json_array_size(list))
            fprintf(f, "  %-16s %-16s %-20s %-8s\n", str(s, "name"), "-", "-", "-");
        json_array_foreach(list, k, e)
        {
            json_t *ck;
            size_t j, off = 0;
            buf[0] = '\0';
            json_array_foreach(json_object_get(e, "checks"), j, ck)
            {
                int w = snprintf(buf + off, sizeof(buf) - off, "%s%s=%s%s%s%s", j ? " " : "",
                                 str(ck, "name")[0] ? str(ck, "name") : str(ck, "id"),
                                 str(ck, "status"), str(ck, "output")[0] ? " (" : "",
                                 str(ck, "output"), str(ck, "output")[0] ? ")" : "");
                if (w < 0 || (size_t)w >= sizeof(buf) - off)
                    break;
                off += (size_t)w;
            }
            if (!off)
                snprintf(buf, sizeof(buf), "-");
            /* one line per instance: a multi-line output stays on it */
            for (char *q = buf; *q; q++)
                if (*q == '\n' || *q == '\r')
                    *q = ' ';
            fprintf(f, "  %-16s %-16s %-20s %-8s %s%s\n", str(s, "name"), str(e, "node"),
                    str(json_object_get(e, "service"), "id"), str(e, "status"), buf,
                    json_is_false(json_object_get(e, "serving")) ? " (node down)" : "");
        }
    }

    fprintf(f, "\nINSTANCES SUPERVISED BY %s\n", str(t->self, "name"));
    if (t->ps_refused) {
        fprintf(f, "  (refused: reading them needs a token)\n");
    } else {
        fprintf(f, "  %-16s %-4s %-9s %-8s %-8s %s\n", "SERVICE", "INST", "STATE", "PID",
                "RESTARTS", "LAST EXIT");
        json_array_foreach(t->ps, i, p)
            fprintf(f, "  %-16s %-4lld %-9s %-8lld %-8lld %s\n", str(p, "service"),
                    num(p, "instance"), str(p, "state"), num(p, "pid"), num(p, "restarts"),
                    str(p, "last_exit")[0] ? str(p, "last_exit") : "-");
    }

    fprintf(f, "\nEVENTS (newest first)\n  %-12s %-10s %-20s %s\n", "TIME", "KIND", "SUBJECT",
            "DETAIL");
    for (i = json_array_size(t->events); i-- > 0;) {
        long long ms;
        time_t sec;
        e = json_array_get(t->events, i);
        ms = num(e, "time_ms");
        sec = (time_t)(ms / 1000);
        localtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
        fprintf(f, "  %s.%03lld %-10s %-20s %s\n", when, ms % 1000, str(e, "kind"),
                str(e, "subject"), str(e, "detail"));
    }
}

static json_t *top_json(struct top *t)
{
    return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "self", t->self, "members", t->members,
                     "services", t->services, "health", t->health, "instances", t->ps, "events",
                     t->events);
}

/* Writes the picture to the terminal: from the top left, each line cut at
 * the width, no more lines than the window has. */
static void top_draw(struct top *t)
{
    struct winsize ws = {0};
    char *text = NULL, *line, *end;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rows = 24, cols = 80, n = 0;

    if (!f)
        return;
    top_print(t, f);
    fclose(f);
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        rows = ws.ws_row;
        cols = ws.ws_col;
    }
    fputs("\033[H\033[2J", stdout);
    for (line = text; *line && n < rows - 1; line = end + 1, n++) {
        if (!(end = strchr(line, '\n')))
            break;
        printf("%.*s\n", (int)(end - line) < cols ? (int)(end - line) : cols, line);
    }
    fflush(stdout);
    free(text);
}

int cmd_top(struct cli *c)
{
    struct top t = {0};
    int tty = isatty(STDOUT_FILENO) && !c->json;
    long n_events = c->limit ? c->limit : TOP_EVENTS;
    int rc;

    for (;;) {
        char path[128];
        json_t *j;
        if ((rc = top_read(c, &t, n_events)))
            break;
        if (!tty) {
            if (c->json) {
                j = top_json(&t);
                print_json(j);
                json_decref(j);
            } else {
                top_print(&t, stdout);
            }
            break;
        }
        top_draw(&t);
        /* returns when the catalog, the members or the history change */
        snprintf(path, sizeof(path), "/v1/catalog/services?index=%llu&wait=%s",
                 (unsigned long long)t.index, TOP_WAIT);
        top_free(&t);
        if ((rc = cli_request(c, "GET", path, NULL, 0, TOP_TIMEOUT_MS, &j, NULL)))
            break;
        json_decref(j);
    }
    top_free(&t);
    return rc;
}
