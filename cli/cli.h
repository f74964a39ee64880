/* cli: what the files of the troupe command share: the parsed command line
 * and the helpers that call the agent's API and print its answers. */
#ifndef TROUPE_CLI_H
#define TROUPE_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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
    int passing;        /* health --passing */
    int recurse;        /* kv delete --recurse */
    int prune;          /* apply --prune */
    const char *kind;   /* events --kind */
    long limit;         /* events --limit */
    const char *name;   /* token create --name */
    int n_rules;        /* token create --rule, repeatable */
    const char *rules[32];
    int nargs;
    char **args; /* positional arguments after the command */
};

/* A row of the command table (main.c): the name, what runs it, how many
 * arguments it takes at most, and its help, whose usage lines are also
 * what shell completion offers (cli/completion.c). */
struct cli_cmd {
    const char *name;
    int (*fn)(struct cli *c);
    int max_args;
    const char *help;
};

/* Prints the bash completion script for the commands of table (n rows),
 * `troupe agent`, `troupe trust` and `troupe bundle`. Returns an exit code. */
int cli_completion_main(int argc, char **argv, const struct cli_cmd *table, size_t n);

/* Prints "troupe: MESSAGE" and a hint on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Calls the API and parses its JSON answer into *out (caller decrefs).
 * Returns 0 or an exit code, after printing the error. */
int call(const struct cli *c, const char *method, const char *path, const char *body, json_t **out);
/* Like call, with a body that may hold any bytes. */
int call_raw(const struct cli *c, const char *method, const char *path, const char *body,
             size_t len, json_t **out);
void print_json(json_t *j);
/* Calls the API and prints its answer: as JSON with --json, else through
 * table. Returns 0 or an exit code, like call. */
int cli_show(const struct cli *c, const char *method, const char *path, const char *body,
             void (*table)(json_t *res));
/* Like call_raw, with a timeout and the X-Troupe-Index of the answer
 * (index may be NULL): for blocking queries. */
int cli_request(const struct cli *c, const char *method, const char *path, const char *body,
                size_t body_len, int timeout_ms, json_t **out, uint64_t *index);
/* Reads a whole file ("-": stdin) of at most max bytes into a heap buffer
 * (NUL-terminated, the caller frees). Returns 0 or an exit code, after
 * printing the error. */
int cli_slurp(const char *path, char **out, size_t *len, size_t max);
/* PUTs the file at path (as cli_slurp reads it) to the API's api_path;
 * prints the answer as JSON with --json, else the answer's "name" between
 * before and after. Returns 0 or an exit code. */
int cli_put_file(const struct cli *c, const char *path, size_t max, const char *api_path,
                 const char *before, const char *after);
/* Percent-encodes s into out for a URL path (keeps '/' when keep_slash). */
void cli_url_encode(const char *s, int keep_slash, char *out, size_t cap);

/* The catalog's commands (cmd_catalog.c, cmd_kv.c, cmd_events.c, cmd_watch.c)
 * and the tables they share with troupe watch. */
void cli_print_services(json_t *arr);
void cli_print_health(json_t *arr);
void cli_print_kv(json_t *arr);
int cmd_services(struct cli *c);
int cmd_service(struct cli *c);
int cmd_health(struct cli *c);
int cmd_kv(struct cli *c);
int cmd_event(struct cli *c);
int cmd_events(struct cli *c);
int cmd_watch(struct cli *c);
/* troupe top (cmd_top.c). */
int cmd_top(struct cli *c);
/* The cluster's service specs (cmd_place.c). */
int cmd_apply(struct cli *c);
int cmd_diff(struct cli *c);
int cmd_status(struct cli *c);
int cmd_promote(struct cli *c);
int cmd_route(struct cli *c);  /* cmd_route.c */
int cmd_routes(struct cli *c); /* cmd_route.c: what the local proxy serves */
/* troupe token create|list|show|revoke (cmd_token.c) */
int cmd_token(struct cli *c);

#endif
