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

#endif
