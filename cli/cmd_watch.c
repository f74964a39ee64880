/* cmd_watch: troupe watch services | service NAME | kv PREFIX. Prints the
 * current state, then again each time it changes, by looping on a blocking
 * query with the last X-Troupe-Index (an answer that did not change what
 * is watched is not printed). Runs until interrupted or the agent goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"

#define WATCH_WAIT       "60s"
#define WATCH_TIMEOUT_MS 75000

int cmd_watch(struct cli *c)
{
    const char *what = c->nargs ? c->args[0] : "";
    void (*print)(json_t *) = NULL;
    char base[1024], path[1200];
    char *last = NULL;
    uint64_t index = 0;
    int rc, first = 1;

    if (strcmp(what, "services") == 0 && c->nargs == 1) {
        snprintf(base, sizeof(base), "/v1/catalog/services?x");
        print = cli_print_services;
    } else if (strcmp(what, "service") == 0 && c->nargs == 2) {
        strcpy(base, "/v1/health/service/");
        cli_url_encode(c->args[1], 0, base + strlen(base), sizeof(base) - strlen(base) - 4);
        strcat(base, "?x");
        print = cli_print_health;
    } else if (strcmp(what, "kv") == 0 && c->nargs <= 2) {
        strcpy(base, "/v1/kv/");
        cli_url_encode(c->nargs == 2 ? c->args[1] : "", 1, base + strlen(base),
                       sizeof(base) - strlen(base) - 16);
        strcat(base, "?recurse");
        print = cli_print_kv;
    } else {
        return usage_error("watch: expected services, service NAME or kv [PREFIX]");
    }
    for (;;) {
        json_t *j;
        char *now;
        if (first)
            snprintf(path, sizeof(path), "%s", base);
        else
            snprintf(path, sizeof(path), "%s&index=%llu&wait=%s", base, (unsigned long long)index,
                     WATCH_WAIT);
        if ((rc = cli_request(c, "GET", path, NULL, 0, WATCH_TIMEOUT_MS, &j, &index)))
            break;
        now = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (first || !last || strcmp(now, last) != 0) {
            if (c->json) {
                puts(now);
            } else {
                time_t t = time(NULL);
                struct tm tm;
                char when[16];
                localtime_r(&t, &tm);
                strftime(when, sizeof(when), "%H:%M:%S", &tm);
                printf("--- %s (index %llu)\n", when, (unsigned long long)index);
                print(j);
            }
            fflush(stdout);
        }
        free(last);
        last = now;
        json_decref(j);
        first = 0;
    }
    free(last);
    return rc;
}
