/* cmd_super: the supervisor's commands of the troupe CLI (run, ps, stop,
 * start, restart, scale, rm, logs, secret), thin clients of /v1/agent/. */
#ifndef TROUPE_CMD_SUPER_H
#define TROUPE_CMD_SUPER_H

#include "cli/cli.h"

int cmd_run(struct cli *c);
int cmd_ps(struct cli *c);
int cmd_stop(struct cli *c);
int cmd_start(struct cli *c);
int cmd_restart(struct cli *c);
int cmd_scale(struct cli *c);
int cmd_rm(struct cli *c);
int cmd_logs(struct cli *c);
int cmd_secret(struct cli *c);

/* Rows of main.c's command table: name, function, most arguments, help. */
#define CMD_SUPER_TABLE                                                                            \
    {"run", cmd_run, 1,                                                                            \
     "Usage: troupe run FILE|- [--http ADDR]\n"                                                    \
     "Applies a service spec (JSON, see docs/supervisor.md): the agent runs its instances,\n"      \
     "restarts them when they fail, and registers them. Applying a new version restarts\n"         \
     "the instances with it; a bad spec is refused and the running version stays.\n"},             \
        {"ps", cmd_ps, 1,                                                                          \
         "Usage: troupe ps [NAME] [--json] [--http ADDR]\n"                                        \
         "Lists the supervised instances with state, pid, uptime, restarts and last exit.\n"},     \
        {"stop", cmd_stop, 1,                                                                      \
         "Usage: troupe stop NAME\nStops every instance of a service (stop signal, then SIGKILL "  \
         "after the grace).\n"},                                                                   \
        {"start", cmd_start, 1, "Usage: troupe start NAME\nStarts a stopped service again.\n"},    \
        {"restart", cmd_restart, 1,                                                                \
         "Usage: troupe restart NAME\nRestarts every instance; also brings a failed one back.\n"}, \
        {"scale", cmd_scale, 2, "Usage: troupe scale NAME N\nRuns N instances of a service.\n"},   \
        {"rm", cmd_rm, 1, "Usage: troupe rm NAME\nStops a service and forgets its spec.\n"},       \
        {"logs", cmd_logs, 1,                                                                      \
         "Usage: troupe logs NAME [-f|--follow] [--instance N] [--since DURATION]\n"               \
         "                        [--tail N] [--json]\n"                                           \
         "Prints what the instances of a service wrote on stdout and stderr. -f follows;\n"        \
         "--since 10m (s, m, h, d) shows only newer lines; --tail N the last N (default "          \
         "1000).\n"},                                                                              \
        {"secret", cmd_secret, 3,                                                                  \
         "Usage: troupe secret put NAME [FILE|-] | troupe secret ls | troupe secret rm NAME\n"     \
         "Stores a secret (from FILE, or stdin), encrypted in the agent's data dir. A spec\n"      \
         "lists the secrets it needs; its instances read them as files.\n"},

#endif
