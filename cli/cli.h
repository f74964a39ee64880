/* cli: what the files of the troupe command share: the parsed command line
 * and the helpers that call the agent's API and print its answers. */
#ifndef TROUPE_CLI_H
#define TROUPE_CLI_H

#include <jansson.h>

#include "core/codec.h"

#define EXIT_API   1
#define EXIT_USAGE 2
#define EXIT_CONN  3

struct cli {
    struct node_addr http;
    int json;
    const char *status; /* members --status */
    int follow;         /* logs -f */
    int instance;       /* logs --instance, -1: all */
    const char *since;  /* logs --since */
    long tail;          /* logs --tail, -1: default */
    int nargs;
    char **args; /* positional arguments after the command */
};

/* Prints "troupe: MESSAGE" and a hint on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Calls the API and parses its JSON answer into *out (caller decrefs).
 * Returns 0 or an exit code, after printing the error. */
int call(const struct cli *c, const char *method, const char *path, const char *body,
         json_t **out);
/* Like call, with a body that may hold any bytes. */
int call_raw(const struct cli *c, const char *method, const char *path, const char *body,
             size_t len, json_t **out);
void print_json(json_t *j);

#endif
