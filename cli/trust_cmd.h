/* trust_cmd: `troupe trust init|add|publish|rotate|verify` and `troupe
 * bundle build|fetch` (see trust_cmd.c). main.c hands them argv from the
 * group word on. */
#ifndef TROUPE_CLI_TRUST_CMD_H
#define TROUPE_CLI_TRUST_CMD_H

#define TRUST_EXIT_FAIL  1
#define TRUST_EXIT_USAGE 2
#define TRUST_EXIT_CONN  3

/* argv[0] is "trust" or "bundle"; http is the agent's API address given
 * before the command (NULL: the default). Returns the exit code. */
int trust_cmd_main(int argc, char **argv, const char *http);
/* The usage text of trust and bundle: one line per subcommand (completion). */
const char *trust_cmd_usage(void);

#endif
