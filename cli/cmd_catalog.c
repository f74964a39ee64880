/* cmd_catalog: troupe services, troupe service register|deregister,
 * troupe health: thin clients of the catalog endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"

#define FILE_MAX (1u << 20)

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void join_array(json_t *arr, char *buf, size_t cap)
{
    size_t i, off = 0;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? "," : "", json_string_value(v) ?: "");
        if (w < 0 || (size_t)w >= cap - off)
            break;
        off += (size_t)w;
    }
}

/* The services table (also used by troupe watch services). */
void cli_print_services(json_t *arr)
{
    size_t i, w = 7;
    json_t *s;
    char tags[1024];

    json_array_foreach(arr, i, s) w = strlen(str(s, "name")) > w ? strlen(str(s, "name")) : w;
    printf("%-*s  %9s  %7s  %7s  %8s  %s\n", (int)w, "SERVICE", "INSTANCES", "PASSING", "WARNING",
           "CRITICAL", "TAGS");
    json_array_foreach(arr, i, s)
    {
        join_array(json_object_get(s, "tags"), tags, sizeof(tags));
        printf("%-*s  %9lld  %7lld  %7lld  %8lld  %s\n", (int)w, str(s, "name"),
               (long long)json_integer_value(json_object_get(s, "instances")),
               (long long)json_integer_value(json_object_get(s, "passing")),
               (long long)json_integer_value(json_object_get(s, "warning")),
               (long long)json_integer_value(json_object_get(s, "critical")), tags);
    }
}

/* The health table of one service (also used by troupe watch service). */
void cli_print_health(json_t *arr)
{
    size_t i, k, wn = 4, wi = 2;
    json_t *e, *ck;

    json_array_foreach(arr, i, e)
    {
        json_t *svc = json_object_get(e, "service");
        wn = strlen(str(e, "node")) > wn ? strlen(str(e, "node")) : wn;
        wi = strlen(str(svc, "id")) > wi ? strlen(str(svc, "id")) : wi;
    }
    printf("%-*s  %-*s  %-21s  %-8s  %s\n", (int)wn, "NODE", (int)wi, "ID", "ADDRESS", "STATUS",
           "CHECKS");
    json_array_foreach(arr, i, e)
    {
        json_t *svc = json_object_get(e, "service");
        char addr[80], checks[1024];
        size_t off = 0;
        snprintf(addr, sizeof(addr), "%s:%lld", str(svc, "address"),
                 (long long)json_integer_value(json_object_get(svc, "port")));
        checks[0] = '\0';
        json_array_foreach(json_object_get(e, "checks"), k, ck)
        {
            int w = snprintf(checks + off, sizeof(checks) - off, "%s%s=%s", k ? " " : "",
                             str(ck, "id"), str(ck, "status"));
            if (w < 0 || (size_t)w >= sizeof(checks) - off)
                break;
            off += (size_t)w;
        }
        printf("%-*s  %-*s  %-21s  %-8s  %s%s\n", (int)wn, str(e, "node"), (int)wi, str(svc, "id"),
               addr, str(e, "status"), checks,
               json_is_false(json_object_get(e, "serving")) ? " (node down)" : "");
    }
}

int cmd_services(struct cli *c)
{
    return cli_show(c, "GET", "/v1/catalog/services", NULL, cli_print_services);
}

static int read_all(FILE *f, char **out, size_t *len)
{
    char *buf = malloc(FILE_MAX + 1);
    size_t n;

    if (!buf)
        return -1;
    n = fread(buf, 1, FILE_MAX + 1, f);
    if (n > FILE_MAX || ferror(f)) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int cmd_service(struct cli *c)
{
    json_t *res;
    char path[512], *body = NULL;
    size_t len = 0;
    int rc;

    if (c->nargs != 2 || (strcmp(c->args[0], "register") && strcmp(c->args[0], "deregister")))
        return usage_error("service: expected register FILE or deregister ID");
    if (strcmp(c->args[0], "register") == 0) {
        FILE *f = strcmp(c->args[1], "-") == 0 ? stdin : fopen(c->args[1], "rb");
        if (!f) {
            fprintf(stderr, "troupe: %s: %s\n", c->args[1], strerror(errno));
            return EXIT_USAGE;
        }
        rc = read_all(f, &body, &len);
        if (f != stdin)
            fclose(f);
        if (rc < 0) {
            fprintf(stderr, "troupe: %s: unreadable or larger than 1 MiB\n", c->args[1]);
            return EXIT_USAGE;
        }
        rc = cli_request(c, "PUT", "/v1/agent/service/register", body, len, CLIENT_TIMEOUT_MS, &res,
                         NULL);
        free(body);
        if (rc)
            return rc;
        if (c->json)
            print_json(res);
        else
            printf("registered %lld instance(s) from %s\n",
                   (long long)json_integer_value(json_object_get(res, "registered")), c->args[1]);
        json_decref(res);
        return 0;
    }
    strcpy(path, "/v1/agent/service/deregister/");
    cli_url_encode(c->args[1], 0, path + strlen(path), sizeof(path) - strlen(path));
    if ((rc = call(c, "PUT", path, "", &res)))
        return rc;
    if (c->json)
        print_json(res);
    else
        printf("deregistered %s\n", c->args[1]);
    json_decref(res);
    return 0;
}

int cmd_health(struct cli *c)
{
    char path[512];

    if (c->nargs != 1)
        return usage_error("health: expected a service NAME");
    strcpy(path, "/v1/health/service/");
    cli_url_encode(c->args[0], 0, path + strlen(path), sizeof(path) - strlen(path) - 10);
    if (c->passing)
        strcat(path, "?passing");
    return cli_show(c, "GET", path, NULL, cli_print_health);
}
