/* cmd_events: troupe event fire (a user event to every agent's history)
 * and troupe events [-f] (the local agent's history; -f follows it with
 * blocking queries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"

#define FOLLOW_WAIT       "60s"
#define FOLLOW_TIMEOUT_MS 75000

int cmd_event(struct cli *c)
{
    char path[512];
    json_t *j;
    int rc;

    if (c->nargs < 2 || c->nargs > 3 || strcmp(c->args[0], "fire") != 0)
        return usage_error("event: expected fire NAME [PAYLOAD]");
    if (c->nargs == 3 && strlen(c->args[2]) > 512)
        return usage_error("event fire: the payload is %zu bytes, at most 512", strlen(c->args[2]));
    strcpy(path, "/v1/event/fire/");
    cli_url_encode(c->args[1], 0, path + strlen(path), sizeof(path) - strlen(path));
    rc = cli_request(c, "PUT", path, c->nargs == 3 ? c->args[2] : "",
                     c->nargs == 3 ? strlen(c->args[2]) : 0, CLIENT_TIMEOUT_MS, &j, NULL);
    if (rc)
        return rc;
    if (c->json)
        print_json(j);
    else
        printf("fired %s (seq %lld from %s)\n", c->args[1],
               (long long)json_integer_value(json_object_get(j, "seq")),
               json_string_value(json_object_get(j, "node")) ?: "?");
    json_decref(j);
    return 0;
}

static void print_event(json_t *ev, int json)
{
    long long ms = (long long)json_integer_value(json_object_get(ev, "time_ms"));
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32];

    if (json) {
        char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
        puts(s);
        free(s);
        return;
    }
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%03lld  %-7s  %-20s  %s\n", when, ms % 1000,
           json_string_value(json_object_get(ev, "kind")) ?: "?",
           json_string_value(json_object_get(ev, "subject")) ?: "?",
           json_string_value(json_object_get(ev, "detail")) ?: "");
}

int cmd_events(struct cli *c)
{
    char path[512], kind[128] = "";
    long long since = 0;
    uint64_t index = 0;
    json_t *arr, *ev;
    size_t i;
    int rc;

    if (c->kind)
        cli_url_encode(c->kind, 0, kind, sizeof(kind));
    /* without since: the newest events */
    snprintf(path, sizeof(path), "/v1/events?limit=%ld%s%s", c->limit ? c->limit : 100,
             kind[0] ? "&kind=" : "", kind);
    if ((rc = cli_request(c, "GET", path, NULL, 0, CLIENT_TIMEOUT_MS, &arr, &index)))
        return rc;
    if (!c->json && !c->follow)
        printf("%-23s  %-7s  %-20s  %s\n", "TIME", "KIND", "SUBJECT", "DETAIL");
    json_array_foreach(arr, i, ev)
    {
        print_event(ev, c->json);
        since = (long long)json_integer_value(json_object_get(ev, "seq"));
    }
    json_decref(arr);
    fflush(stdout);
    while (c->follow) {
        snprintf(path, sizeof(path), "/v1/events?since=%lld&index=%llu&wait=%s%s%s", since,
                 (unsigned long long)index, FOLLOW_WAIT, kind[0] ? "&kind=" : "", kind);
        if ((rc = cli_request(c, "GET", path, NULL, 0, FOLLOW_TIMEOUT_MS, &arr, &index)))
            return rc;
        json_array_foreach(arr, i, ev)
        {
            print_event(ev, c->json);
            since = (long long)json_integer_value(json_object_get(ev, "seq"));
        }
        json_decref(arr);
        fflush(stdout);
    }
    return 0;
}
