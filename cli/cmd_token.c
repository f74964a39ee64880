/* cmd_token: `troupe token create|list|show|revoke`, a thin client of
 * /v1/acl/tokens and /v1/acl/token/NAME. Rules are checked by the agent,
 * which names what is wrong in a rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static void rules_text(json_t *rules, char *buf, size_t cap)
{
    size_t i, off = 0;
    json_t *r;

    buf[0] = '\0';
    json_array_foreach(rules, i, r)
    {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? " " : "", json_string_value(r) ?: "?");
        if (w < 0 || (size_t)w >= cap - off)
            break;
        off += (size_t)w;
    }
}

static void created_text(json_t *t, char *buf, size_t cap)
{
    time_t s = (time_t)(json_integer_value(json_object_get(t, "created_ms")) / 1000);
    struct tm tm;

    if (s <= 0 || !gmtime_r(&s, &tm))
        snprintf(buf, cap, "-");
    else
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int token_create(struct cli *c)
{
    json_t *rules = json_array(), *body, *res;
    char *text;
    int rc;

    if (!c->name)
        return usage_error("token create: missing --name NAME");
    if (c->n_rules == 0)
        return usage_error("token create: missing --rule RESOURCE:ACCESS[:PREFIX]");
    for (int i = 0; i < c->n_rules; i++)
        json_array_append_new(rules, json_string(c->rules[i]));
    body = json_pack("{s:s, s:o}", "name", c->name, "rules", rules);
    if (!body)
        return usage_error("token create: --name and --rule must be UTF-8 text");
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rc = call(c, "PUT", "/v1/acl/tokens", text, &res);
    free(text);
    if (rc)
        return rc;
    if (c->json) {
        print_json(res);
    } else {
        printf("%s\n", json_string_value(json_object_get(res, "secret")) ?: "?");
        fprintf(stderr, "token \"%s\" created; the secret above is shown this once\n",
                json_string_value(json_object_get(res, "name")) ?: "?");
    }
    json_decref(res);
    return 0;
}

static int token_list(struct cli *c)
{
    json_t *arr, *t;
    size_t i, w = 4;
    char rules[1024], when[32];
    int rc = call(c, "GET", "/v1/acl/tokens", NULL, &arr);

    if (rc)
        return rc;
    if (c->json) {
        print_json(arr);
        json_decref(arr);
        return 0;
    }
    json_array_foreach(arr, i, t)
    {
        size_t l = strlen(json_string_value(json_object_get(t, "name")) ?: "");
        w = l > w ? l : w;
    }
    printf("%-*s  %-20s  %-14s  %s\n", (int)w, "NAME", "CREATED", "BY", "RULES");
    json_array_foreach(arr, i, t)
    {
        rules_text(json_object_get(t, "rules"), rules, sizeof(rules));
        created_text(t, when, sizeof(when));
        printf("%-*s  %-20s  %-14s  %s\n", (int)w,
               json_string_value(json_object_get(t, "name")) ?: "?",
               json_is_true(json_object_get(t, "local")) ? "(this agent's own)" : when,
               json_string_value(json_object_get(t, "created_by")) ?: "", rules);
    }
    json_decref(arr);
    return 0;
}

static int token_show(struct cli *c, const char *name)
{
    char path[512], enc[400], rules[1024], when[32];
    json_t *t;
    int rc;

    cli_url_encode(name, 0, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/v1/acl/token/%s", enc);
    if ((rc = call(c, "GET", path, NULL, &t)))
        return rc;
    if (c->json) {
        print_json(t);
    } else {
        rules_text(json_object_get(t, "rules"), rules, sizeof(rules));
        created_text(t, when, sizeof(when));
        printf("name        %s\n", json_string_value(json_object_get(t, "name")) ?: "?");
        printf("rules       %s\n", rules);
        printf("created     %s\n", when);
        printf("created by  %s\n", json_string_value(json_object_get(t, "created_by")) ?: "");
        printf("origin      %s\n", json_is_true(json_object_get(t, "local"))
                                       ? "this agent's own (not replicated)"
                                       : json_string_value(json_object_get(t, "origin")) ?: "");
    }
    json_decref(t);
    return 0;
}

static int token_revoke(struct cli *c, const char *name)
{
    char path[512], enc[400];
    json_t *res;
    int rc;

    cli_url_encode(name, 0, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/v1/acl/token/%s", enc);
    if ((rc = call(c, "DELETE", path, NULL, &res)))
        return rc;
    if (c->json)
        print_json(res);
    else
        printf("token \"%s\" revoked on every agent\n", name);
    json_decref(res);
    return 0;
}

int cmd_token(struct cli *c)
{
    const char *sub = c->nargs ? c->args[0] : "";

    if (strcmp(sub, "create") == 0 && c->nargs == 1)
        return token_create(c);
    if ((strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0) && c->nargs == 1)
        return token_list(c);
    if (strcmp(sub, "show") == 0 && c->nargs == 2)
        return token_show(c, c->args[1]);
    if (strcmp(sub, "revoke") == 0 && c->nargs == 2)
        return token_revoke(c, c->args[1]);
    return usage_error("token: expected create --name NAME --rule RULE..., list, show NAME or "
                       "revoke NAME");
}
