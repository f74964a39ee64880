/* agent: `troupe agent`, the daemon. Parses its configuration (agent/config),
 * opens the data directory, starts gossip, the HTTP API and the timers on one
 * libuv loop, and runs until SIGTERM/SIGINT (graceful leave) or a fatal error. */
#ifndef TROUPE_AGENT_H
#define TROUPE_AGENT_H

#include <stdio.h>

/* argv[0] is "agent"; the rest are agent flags. Returns the process exit code:
 * 0 after a graceful stop, 2 for a configuration error, 1 for a runtime one. */
int agent_main(int argc, char **argv);

/* The agent's flags, one a line, each with the values of a choice after
 * it (config_print_flags): for the CLI's shell completion. */
void agent_print_flags(FILE *f);

/* `troupe _api-routes`, for tests: prints "METHOD PATTERN" for every
 * route of the HTTP API, in the order they are tried; returns 0. */
int agent_routes_main(void);

/* The same agent inside another program (tests, fuzz targets): parses the
 * flags and opens everything on the agent's own loop (agent_impl.h), which
 * the caller runs. Returns 0; CONFIG_HELP or a negative code with e (with
 * *out NULL when the flags are wrong; set, and already stopped, when
 * starting failed). To end: agent_stop, run the loop until it has no
 * handles, then agent_free (NULL: no-op). */
struct agent;
struct err;
int agent_open(struct agent **out, int argc, char **argv, struct err *e);
void agent_stop(struct agent *a);
void agent_free(struct agent *a);

#endif
