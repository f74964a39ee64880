/* client: the CLI's blocking HTTP client for the local agent's API. One
 * request per connection, a timeout on every step, responses parsed by
 * core/http1; TLS (agent/api/tls, loaded then) for an https:// address. */
#ifndef TROUPE_CLI_CLIENT_H
#define TROUPE_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"

#define CLIENT_TIMEOUT_MS 15000

struct client_resp {
    int status;
    char *body; /* heap, NUL-terminated; free with free() */
    size_t len;
    uint64_t index; /* X-Troupe-Index, 0 when absent */
};

/* The token every call sends (X-Troupe-Token), from --token or
 * $TROUPE_TOKEN; NULL or "" for none. Without one, the first write, or a
 * read the agent refuses (401, 403), asks the agent where its management
 * token file is (GET /v1/acl/self) and, when this user can read that
 * file, goes with it (a refused read is sent again): whoever runs the
 * agent runs the CLI without typing a token. */
void client_token_set(const char *secret);
/* Why no token could be found after a refusal (e.g. the file is not
 * readable by this user), or NULL. */
const char *client_token_hint(void);

/* Sends METHOD path with an optional body to the agent at addr. Returns 0
 * with *resp filled, -ECONNREFUSED and the like when the agent cannot be
 * reached (message names the address), -EPROTO for a garbled answer. */
/* Parses the agent's address: IP[:PORT], optionally after http:// or
 * https://; https:// makes every later client_call of this process speak
 * TLS, trusting the CA certificates of ca_file (PEM; NULL: the system's)
 * and checking that the agent's certificate names its IP address. */
int client_addr_parse(struct node_addr *out, const char *text, const char *ca_file, struct err *e);

int client_call(const struct node_addr *addr, const char *method, const char *path,
                const char *body, size_t body_len, int timeout_ms, struct client_resp *resp,
                struct err *e);

#endif
