/* cmd_super: the supervisor's commands (see cmd_super.h). Tables for
 * people, --json for scripts; nothing here decides anything. */
#include "cli/cmd_super.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/sup_spec.h"

#define LOGS_POLL_MS 200

int cli_slurp(const char *path, char **out, size_t *len, size_t max)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 4096, n = 0, r;
    char *buf;

    if (!f) {
        fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    buf = xmalloc(cap + 1);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n > max) {
            fprintf(stderr, "troupe: %s: larger than %zu bytes\n", path, max);
            free(buf);
            if (f != stdin)
                fclose(f);
            return EXIT_USAGE;
        }
        if (n == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
    }
    if (f != stdin)
        fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int need_name(struct cli *c, const char *cmd)
{
    if (c->nargs < 1)
        return usage_error("%s: missing NAME", cmd);
    if (!sup_name_ok(c->args[0]))
        return usage_error("%s: \"%s\" is not a service name", cmd, c->args[0]);
    return 0;
}

int cli_put_file(const struct cli *c, const char *path, size_t max, const char *api_path,
                 const char *before, const char *after)
{
    char *text;
    size_t len;
    json_t *res;
    int rc;

    if ((rc = cli_slurp(path, &text, &len, max)) != 0)
        return rc;
    rc = call_raw(c, "PUT", api_path, text, len, &res);
    free(text);
    if (rc != 0)
        return rc;
    if (c->json)
        print_json(res);
    else
        printf("%s%s%s\n", before, json_string_value(json_object_get(res, "name")), after);
    json_decref(res);
    return 0;
}

int cmd_run(struct cli *c)
{
    if (c->nargs < 1)
        return usage_error("run: missing FILE (or - for stdin)");
    return cli_put_file(c, c->args[0], SUP_SPEC_TEXT_MAX, "/v1/agent/run", "running ", "");
}

static void human_ms(long long ms, char *buf, size_t cap)
{
    long long s = ms / 1000;
    if (s < 60)
        snprintf(buf, cap, "%llds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh%lldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, cap, "%lldd%lldh", s / 86400, (s % 86400) / 3600);
}

static void print_ps(json_t *arr)
{
    size_t i;
    json_t *o;

    printf("%-20s %-4s %-9s %-8s %-9s %-8s %-22s %s\n", "SERVICE", "INST", "STATE", "PID", "UPTIME",
           "RESTARTS", "LAST EXIT", "PORTS");
    json_array_foreach(arr, i, o)
    {
        char up[32] = "-", pid[16] = "-", ports[256] = "";
        const char *k;
        json_t *v;
        size_t off = 0;
        if (json_integer_value(json_object_get(o, "pid")) > 0) {
            snprintf(pid, sizeof(pid), "%lld",
                     (long long)json_integer_value(json_object_get(o, "pid")));
            human_ms((long long)json_integer_value(json_object_get(o, "uptime_ms")), up,
                     sizeof(up));
        }
        json_object_foreach(json_object_get(o, "ports"), k, v)
        {
            if (off < sizeof(ports))
                off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%s=%lld",
                                        off ? "," : "", k, (long long)json_integer_value(v));
        }
        printf("%-20s %-4lld %-9s %-8s %-9s %-8lld %-22s %s\n",
               json_string_value(json_object_get(o, "service")),
               (long long)json_integer_value(json_object_get(o, "instance")),
               json_string_value(json_object_get(o, "state")), pid, up,
               (long long)json_integer_value(json_object_get(o, "restarts")),
               json_string_value(json_object_get(o, "last_exit")), ports);
        /* why it waits or failed: the refusal of its bundle, naming the attack */
        if (json_string_value(json_object_get(o, "error")))
            printf("  %s/%lld: %s\n", json_string_value(json_object_get(o, "service")),
                   (long long)json_integer_value(json_object_get(o, "instance")),
                   json_string_value(json_object_get(o, "error")));
    }
}

int cmd_ps(struct cli *c)
{
    char path[128];
    int rc;

    if (c->nargs && (rc = need_name(c, "ps")) != 0)
        return rc;
    snprintf(path, sizeof(path), "/v1/agent/ps%s%s", c->nargs ? "?service=" : "",
             c->nargs ? c->args[0] : "");
    return cli_show(c, "GET", path, NULL, print_ps);
}

static int verb(struct cli *c, const char *v)
{
    char path[128];
    int rc;

    if ((rc = need_name(c, v)) != 0)
        return rc;
    snprintf(path, sizeof(path), "/v1/agent/%s/%s", v, c->args[0]);
    return cli_show(c, "PUT", path, "", print_ps);
}

int cmd_stop(struct cli *c)
{
    return verb(c, "stop");
}

int cmd_start(struct cli *c)
{
    return verb(c, "start");
}

int cmd_restart(struct cli *c)
{
    return verb(c, "restart");
}

int cmd_scale(struct cli *c)
{
    char path[160], *end;
    long n;
    int rc;

    if ((rc = need_name(c, "scale")) != 0)
        return rc;
    if (c->nargs < 2)
        return usage_error("scale: missing N");
    n = strtol(c->args[1], &end, 10);
    if (*end || end == c->args[1] || n < 0 || n > SUP_INSTANCES_MAX)
        return usage_error("scale: N \"%s\" is not a number from 0 to %d", c->args[1],
                           SUP_INSTANCES_MAX);
    snprintf(path, sizeof(path), "/v1/agent/scale/%s?instances=%ld", c->args[0], n);
    return cli_show(c, "PUT", path, "", print_ps);
}

int cmd_rm(struct cli *c)
{
    char path[128];
    json_t *res;
    int rc;

    if ((rc = need_name(c, "rm")) != 0)
        return rc;
    snprintf(path, sizeof(path), "/v1/agent/run/%s", c->args[0]);
    if ((rc = call(c, "DELETE", path, NULL, &res)) != 0)
        return rc;
    if (!c->json)
        printf("removed %s\n", c->args[0]);
    else
        print_json(res);
    json_decref(res);
    return 0;
}

/* --since: a duration back from now (90s, 10m, 2h, 1d) or a time in unix ms. */
static int parse_since(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10), mult;
    struct timeval tv;

    if (end == s)
        return -1;
    if (!*end && v > 1000000000000ULL) {
        *out = v;
        return 0;
    }
    switch (*end) {
    case 's':
        mult = 1000;
        break;
    case 'm':
        mult = 60000;
        break;
    case 'h':
        mult = 3600000;
        break;
    case 'd':
        mult = 86400000;
        break;
    default:
        return -1;
    }
    if (end[1])
        return -1;
    gettimeofday(&tv, NULL);
    *out = (unsigned long long)tv.tv_sec * 1000 + (unsigned long long)tv.tv_usec / 1000 - v * mult;
    return 0;
}

static void print_lines(struct cli *c, json_t *lines)
{
    size_t i;
    json_t *l;

    json_array_foreach(lines, i, l)
    {
        if (c->json) {
            char *s = json_dumps(l, JSON_COMPACT);
            puts(s);
            free(s);
            continue;
        }
        fputs(json_string_value(json_object_get(l, "text")) ?: "", stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

int cmd_logs(struct cli *c)
{
    char path[4096], cursor[2048] = "";
    unsigned long long since = 0;
    json_t *res;
    int rc;

    if ((rc = need_name(c, "logs")) != 0)
        return rc;
    if (c->since && parse_since(c->since, &since) < 0)
        return usage_error("--since: \"%s\" is not a duration (90s, 10m, 2h, 1d) or unix ms",
                           c->since);
    for (;;) {
        snprintf(path, sizeof(path), "/v1/agent/logs/%s?since=%llu&tail=%ld%s%s", c->args[0], since,
                 c->tail >= 0 ? c->tail : (cursor[0] ? 10000 : 1000), cursor[0] ? "&cursor=" : "",
                 cursor);
        if (c->instance >= 0)
            snprintf(path + strlen(path), sizeof(path) - strlen(path), "&instance=%d", c->instance);
        if ((rc = call(c, "GET", path, NULL, &res)) != 0)
            return rc;
        print_lines(c, json_object_get(res, "lines"));
        snprintf(cursor, sizeof(cursor), "%s",
                 json_string_value(json_object_get(res, "cursor")) ?: "");
        json_decref(res);
        if (!c->follow)
            return 0;
        usleep(LOGS_POLL_MS * 1000);
    }
}

int cmd_secret(struct cli *c)
{
    char path[160];
    json_t *res;
    int rc;

    if (c->nargs < 1)
        return usage_error("secret: put, ls or rm?");
    if (strcmp(c->args[0], "ls") == 0) {
        size_t i;
        json_t *o;
        if ((rc = call(c, "GET", "/v1/agent/secrets", NULL, &res)) != 0)
            return rc;
        if (c->json) {
            print_json(res);
        } else {
            printf("%-32s %s\n", "NAME", "BYTES");
            json_array_foreach(res, i, o)
                printf("%-32s %lld\n", json_string_value(json_object_get(o, "name")),
                       (long long)json_integer_value(json_object_get(o, "bytes")));
        }
        json_decref(res);
        return 0;
    }
    if (c->nargs < 2)
        return usage_error("secret %s: missing NAME", c->args[0]);
    if (!sup_secret_name_ok(c->args[1]))
        return usage_error("secret: \"%s\" is not a secret name (1-63 of a-z 0-9 . _ -)",
                           c->args[1]);
    snprintf(path, sizeof(path), "/v1/agent/secret/%s", c->args[1]);
    if (strcmp(c->args[0], "rm") == 0) {
        rc = call(c, "DELETE", path, NULL, &res);
    } else if (strcmp(c->args[0], "put") == 0) {
        char *val;
        size_t len;
        if ((rc = cli_slurp(c->nargs > 2 ? c->args[2] : "-", &val, &len, 64u << 10)) != 0)
            return rc;
        rc = call_raw(c, "PUT", path, val, len, &res);
        memset(val, 0, len);
        free(val);
    } else {
        return usage_error("secret: \"%s\" is not put, ls or rm", c->args[0]);
    }
    if (rc != 0)
        return rc;
    if (!c->json)
        printf("secret %s %s\n", c->args[1], strcmp(c->args[0], "rm") == 0 ? "removed" : "stored");
    json_decref(res);
    return 0;
}
