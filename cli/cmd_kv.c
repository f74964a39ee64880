/* cmd_kv: troupe kv get|put|delete|list, a thin client of /v1/kv. get
 * prints the value's bytes as they are; list prints KEY=VALUE lines (a
 * value that is not printable text is shown as base64). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"

#define KV_VALUE_MAX (512u << 10)

static void kv_path(const char *key, const char *query, char *out, size_t cap)
{
    size_t n;

    snprintf(out, cap, "/v1/kv/");
    n = strlen(out);
    cli_url_encode(key, 1, out + n, cap - n - 16);
    if (query)
        strcat(out, query);
}

static int printable(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\t')
            return 0;
    return 1;
}

void cli_print_kv(json_t *arr)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        const char *k = json_string_value(json_object_get(e, "key"));
        const char *b64 = json_string_value(json_object_get(e, "value"));
        size_t blen = b64 ? strlen(b64) : 0, len = 0;
        unsigned char *val = malloc(blen + 1);
        if (!k || !val)
            continue;
        if (b64 &&
            sodium_base642bin(val, blen + 1, b64, blen, NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0 &&
            printable(val, len))
            printf("%s=%.*s\n", k, (int)len, (const char *)val);
        else
            printf("%s=base64:%s\n", k, b64 ? b64 : "");
        free(val);
    }
}

static int kv_get(struct cli *c, const char *key)
{
    struct client_resp r;
    struct err e;
    char path[2048];
    json_t *j;
    int rc;

    if (c->json) {
        kv_path(key, NULL, path, sizeof(path));
        if ((rc = call(c, "GET", path, NULL, &j)))
            return rc;
        print_json(j);
        json_decref(j);
        return 0;
    }
    kv_path(key, "?raw", path, sizeof(path));
    if (client_call(&c->http, "GET", path, NULL, 0, CLIENT_TIMEOUT_MS, &r, &e) < 0) {
        fprintf(stderr, "troupe: %s\n", e.msg);
        return e.code == -EPROTO ? EXIT_API : EXIT_CONN;
    }
    if (r.status >= 400) {
        j = json_loads(r.body, 0, NULL);
        fprintf(stderr, "troupe: the agent answered %d: %s\n", r.status,
                j && json_string_value(json_object_get(j, "error"))
                    ? json_string_value(json_object_get(j, "error"))
                    : r.body);
        json_decref(j);
        free(r.body);
        return EXIT_API;
    }
    fwrite(r.body, 1, r.len, stdout);
    if (r.len && isatty(1) && r.body[r.len - 1] != '\n')
        putchar('\n');
    free(r.body);
    return 0;
}

static int kv_put(struct cli *c, const char *key, const char *value)
{
    char path[2048], *buf = NULL;
    size_t len;
    json_t *j;
    int rc;

    if (!value || strcmp(value, "-") == 0) {
        buf = malloc(KV_VALUE_MAX + 1);
        if (!buf)
            return EXIT_API;
        len = fread(buf, 1, KV_VALUE_MAX + 1, stdin);
        if (len > KV_VALUE_MAX) {
            free(buf);
            return usage_error("kv put: the value on stdin is larger than 512 KiB");
        }
        value = buf;
    } else {
        len = strlen(value);
    }
    kv_path(key, NULL, path, sizeof(path));
    rc = cli_request(c, "PUT", path, value, len, CLIENT_TIMEOUT_MS, &j, NULL);
    free(buf);
    if (rc)
        return rc;
    json_decref(j);
    return 0;
}

int cmd_kv(struct cli *c)
{
    const char *op = c->nargs ? c->args[0] : "";
    char path[2048];
    json_t *j;
    int rc;

    if (strcmp(op, "get") == 0 && c->nargs == 2)
        return kv_get(c, c->args[1]);
    if (strcmp(op, "put") == 0 && (c->nargs == 2 || c->nargs == 3))
        return kv_put(c, c->args[1], c->nargs == 3 ? c->args[2] : NULL);
    if (strcmp(op, "delete") == 0 && c->nargs == 2) {
        kv_path(c->args[1], c->recurse ? "?recurse" : NULL, path, sizeof(path));
        if ((rc = call(c, "DELETE", path, NULL, &j)))
            return rc;
        if (c->json)
            print_json(j);
        json_decref(j);
        return 0;
    }
    if (strcmp(op, "list") == 0 && c->nargs <= 2) {
        kv_path(c->nargs == 2 ? c->args[1] : "", "?recurse", path, sizeof(path));
        return cli_show(c, "GET", path, NULL, cli_print_kv);
    }
    return usage_error("kv: expected get KEY, put KEY [VALUE|-], delete KEY or list [PREFIX]");
}
