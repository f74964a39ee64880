/* main: the `troupe` command. `troupe agent` runs the daemon (agent/);
 * every other command is a thin client of the local agent's HTTP API:
 * tables for people, --json for scripts. Exit codes: 0 done, 1 the agent
 * answered an error, 2 usage error, 3 the agent cannot be reached. */
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/net/net_keyring.h"
#include "agent/super/super.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/trust_cmd.h"
#include "cli/cmd_super.h"
#include "core/codec.h"
#include "core/mem.h"

static const char usage[] =
    "Usage: troupe [--http ADDR] [--token SECRET] COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  agent [OPTIONS]         run the agent (troupe agent --help for its options)\n"
    "  members [--json] [--status alive|suspect|dead|left]\n"
    "                          list the members of the cluster\n"
    "  join ADDR...            ask the local agent to join the agents at ADDR (IP[:PORT])\n"
    "  leave                   leave the cluster gracefully and stop the local agent\n"
    "  info [--json]           what the local agent knows of itself\n"
    "  keygen                  print a new gossip encryption key (base64 of 32 bytes)\n"
    "  services [--json]       list the services of the catalog with their health\n"
    "  service register FILE   register the service definitions of a JSON file\n"
    "  service deregister ID   remove an instance registered on this agent\n"
    "  health NAME [--passing] [--json]\n"
    "                          the instances of a service with their checks\n"
    "  kv get KEY | put KEY [VALUE|-] | delete KEY [--recurse] | list [PREFIX]\n"
    "                          the replicated key/value store\n"
    "  event fire NAME [PAYLOAD]\n"
    "                          send a user event to every agent's history\n"
    "  events [-f] [--kind KIND] [--limit N] [--json]\n"
    "                          this agent's event history (-f: follow)\n"
    "  route set FILE|- | route list | route rm NAME\n"
    "                          the proxy's routes: a port on every agent to a service\n"
    "  routes | route endpoints NAME [--json]\n"
    "                          what this agent's proxy serves; one route's endpoints\n"
    "  watch services | service NAME | kv PREFIX\n"
    "                          print each change as it happens\n"
    "  top [--limit N] [--json]\n"
    "                          the cluster live: nodes, services and their health,\n"
    "                          this node's instances, the latest events\n"
    "  trust init|add|publish|rotate|verify ...\n"
    "                          sign bundles and check them (troupe trust --help)\n"
    "  bundle build|fetch ...  pack a directory into a bundle; have the agent fetch,\n"
    "                          verify and unpack one (troupe bundle --help)\n"
    "  run FILE|-              run the service a spec describes (JSON), or a new version\n"
    "  ps [NAME] [--json]      the supervised instances: state, pid, uptime, restarts\n"
    "  stop|start|restart NAME stop, start or restart the instances of a service\n"
    "  scale NAME N            run N instances of a service\n"
    "  rm NAME                 stop a service and forget its spec\n"
    "  logs NAME [-f] [--instance N] [--since 10m] [--tail N]\n"
    "                          the output of a service's instances\n"
    "  secret put NAME [FILE|-] | secret ls | secret rm NAME\n"
    "                          secrets that services get as files\n"
    "  apply DIR|FILE [--prune] publish the cluster specs of DIR (and the routes of\n"
    "                          DIR/routes): every agent runs its share of their slots\n"
    "  diff DIR|FILE           what apply would change, field by field (exit 2: some)\n"
    "  status [NAME] [--json]  cluster specs: desired against running, slot by slot\n"
    "  promote NAME            end a cluster spec's canary: roll its new version out\n"
    "  token create --name NAME --rule RULE... | list | show NAME | revoke NAME\n"
    "                          API tokens and what they may do (RESOURCE:ACCESS[:PREFIX])\n"
    "  version                 print the version\n"
    "\n"
    "Options for every command:\n"
    "  --http ADDR             the agent's HTTP API (default 127.0.0.1:7421, or\n"
    "                          $TROUPE_HTTP_ADDR); https://IP:PORT speaks TLS\n"
    "  --ca-cert FILE          the CA certificates (PEM) an https:// agent's\n"
    "                          certificate must chain to (default $TROUPE_CACERT,\n"
    "                          or the system's)\n"
    "  --token SECRET          the API token to send (default $TROUPE_TOKEN; without\n"
    "                          one, the agent's management token when this user can\n"
    "                          read its file)\n"
    "  --help                  print help\n"
    "\n"
    "Exit codes: 0 done, 1 the agent answered an error, 2 usage error,\n"
    "3 the agent cannot be reached.\n";

int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "troupe: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'troupe --help'.\n");
    return EXIT_USAGE;
}

/* Calls the API and parses its JSON answer into *out. Returns an exit code. */
int call(const struct cli *c, const char *method, const char *path, const char *body, json_t **out)
{
    return call_raw(c, method, path, body, body ? strlen(body) : 0, out);
}

int call_raw(const struct cli *c, const char *method, const char *path, const char *body,
             size_t len, json_t **out)
{
    return cli_request(c, method, path, body, len, CLIENT_TIMEOUT_MS, out, NULL);
}

int cli_request(const struct cli *c, const char *method, const char *path, const char *body,
                size_t len, int timeout_ms, json_t **out, uint64_t *index)
{
    struct client_resp r;
    struct err e;
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (client_call(&c->http, method, path, body, len, timeout_ms, &r, &e) < 0) {
        fprintf(stderr, "troupe: %s\n", e.msg);
        return e.code == -EPROTO ? EXIT_API : EXIT_CONN;
    }
    if (index)
        *index = r.index;
    j = json_loadb(r.body, r.len, 0, &jerr);
    if (r.status >= 400) {
        const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
        fprintf(stderr, "troupe: the agent answered %d: %s\n", r.status, msg ? msg : r.body);
        if ((r.status == 401 || r.status == 403) && client_token_hint())
            fprintf(stderr, "troupe: %s\n", client_token_hint());
        json_decref(j);
        free(r.body);
        return EXIT_API;
    }
    free(r.body);
    if (!j) {
        fprintf(stderr, "troupe: the agent's answer is not JSON: %s\n", jerr.text);
        return EXIT_API;
    }
    *out = j;
    return 0;
}

void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    puts(s);
    free(s);
}

int cli_show(const struct cli *c, const char *method, const char *path, const char *body,
             void (*table)(json_t *res))
{
    json_t *res;
    int rc = call(c, method, path, body, &res);

    if (rc)
        return rc;
    if (c->json)
        print_json(res);
    else
        table(res);
    json_decref(res);
    return 0;
}

void cli_url_encode(const char *s, int keep_slash, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':' ||
            (keep_slash && ch == '/')) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

static void tags_text(json_t *tags, char *buf, size_t cap)
{
    const char **keys;
    size_t n = json_object_size(tags), k = 0, off = 0;
    const char *key;
    json_t *v;

    buf[0] = '\0';
    if (!n)
        return;
    keys = calloc(n, sizeof(*keys));
    if (!keys)
        return;
    json_object_foreach(tags, key, v) keys[k++] = key;
    /* sorted, so the same tags always read the same */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < k && off < cap; i++) {
        int w = snprintf(buf + off, cap - off, "%s%s=%s", i ? "," : "", keys[i],
                         json_string_value(json_object_get(tags, keys[i])));
        if (w < 0)
            break;
        off += (size_t)w;
    }
    free(keys);
}

static int cmd_members(struct cli *c)
{
    json_t *arr, *m, *keep;
    size_t i, wname = 4, waddr = 7;
    int rc;
    char addr[80], tags[1024];

    if (c->status && strcmp(c->status, "alive") && strcmp(c->status, "suspect") &&
        strcmp(c->status, "dead") && strcmp(c->status, "left"))
        return usage_error("--status: \"%s\" is not alive, suspect, dead or left", c->status);
    if ((rc = call(c, "GET", "/v1/members", NULL, &arr)) != 0)
        return rc;
    keep = json_array();
    json_array_foreach(arr, i, m)
    {
        const char *st = json_string_value(json_object_get(m, "status"));
        if (!c->status || (st && strcmp(st, c->status) == 0))
            json_array_append(keep, m);
    }
    json_decref(arr);
    if (c->json) {
        print_json(keep);
        json_decref(keep);
        return 0;
    }
    json_array_foreach(keep, i, m)
    {
        size_t l = strlen(json_string_value(json_object_get(m, "name")) ?: "");
        wname = l > wname ? l : wname;
        snprintf(addr, sizeof(addr), "%s:%lld",
                 json_string_value(json_object_get(m, "addr")) ?: "?",
                 (long long)json_integer_value(json_object_get(m, "port")));
        waddr = strlen(addr) > waddr ? strlen(addr) : waddr;
    }
    printf("%-*s  %-*s  %-7s  %-11s  %s\n", (int)wname, "NAME", (int)waddr, "ADDRESS", "STATUS",
           "INCARNATION", "TAGS");
    json_array_foreach(keep, i, m)
    {
        snprintf(addr, sizeof(addr), "%s:%lld",
                 json_string_value(json_object_get(m, "addr")) ?: "?",
                 (long long)json_integer_value(json_object_get(m, "port")));
        tags_text(json_object_get(m, "tags"), tags, sizeof(tags));
        printf("%-*s  %-*s  %-7s  %-11lld  %s\n", (int)wname,
               json_string_value(json_object_get(m, "name")) ?: "?", (int)waddr, addr,
               json_string_value(json_object_get(m, "status")) ?: "?",
               (long long)json_integer_value(json_object_get(m, "incarnation")), tags);
    }
    json_decref(keep);
    return 0;
}

static int cmd_join(struct cli *c)
{
    json_t *body, *addrs, *res, *errs, *v;
    char *text;
    size_t i;
    int rc;

    if (c->nargs == 0)
        return usage_error("join: missing ADDR");
    addrs = json_array();
    for (int k = 0; k < c->nargs; k++) {
        struct node_addr a;
        struct err e;
        if (node_addr_parse(&a, c->args[k], 7420, &e) < 0) {
            json_decref(addrs);
            return usage_error("join: %s", e.msg);
        }
        json_array_append_new(addrs, json_string(c->args[k]));
    }
    body = json_pack("{s:o}", "addrs", addrs);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rc = call(c, "PUT", "/v1/join", text, &res);
    free(text);
    if (rc != 0)
        return rc;
    if (c->json) {
        print_json(res);
    } else {
        printf("joined through %lld of %d\n",
               (long long)json_integer_value(json_object_get(res, "joined")), c->nargs);
        errs = json_object_get(res, "errors");
        json_array_foreach(errs, i, v) fprintf(stderr, "  %s\n", json_string_value(v));
    }
    json_decref(res);
    return 0;
}

static int cmd_leave(struct cli *c)
{
    json_t *res;
    int rc = call(c, "PUT", "/v1/leave", "{}", &res);

    if (rc != 0)
        return rc;
    if (c->json)
        print_json(res);
    else
        printf("the agent is leaving the cluster\n");
    json_decref(res);
    return 0;
}

static void print_value(const char *key, json_t *v, int indent)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *sub;
        printf("%*s%s:\n", indent, "", key);
        json_object_foreach(v, k, sub) print_value(k, sub, indent + 2);
        return;
    }
    printf("%*s%-*s ", indent, "", 14 - indent, key);
    if (json_is_string(v))
        printf("%s\n", json_string_value(v));
    else if (json_is_integer(v))
        printf("%lld\n", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        printf("%s\n", json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s);
        free(s);
    }
}

static int cmd_info(struct cli *c)
{
    json_t *res;
    const char *k;
    json_t *v;
    int rc = call(c, "GET", "/v1/self", NULL, &res);

    if (rc != 0)
        return rc;
    if (c->json) {
        print_json(res);
    } else {
        json_object_foreach(res, k, v) print_value(k, v, 0);
    }
    json_decref(res);
    return 0;
}

static int cmd_keygen(struct cli *c)
{
    char key[64];

    if (sodium_init() < 0 || keyring_generate_b64(key, sizeof(key)) < 0) {
        fprintf(stderr, "troupe: cannot make a key\n");
        return EXIT_API;
    }
    puts(key);
    return 0;
}

static const struct cli_cmd commands[] = {
    {"members", cmd_members, 0,
     "Usage: troupe members [--json] [--status alive|suspect|dead|left] [--http ADDR]\n"
     "Lists the members of the cluster as the local agent sees them.\n"},
    {"join", cmd_join, 64,
     "Usage: troupe join ADDR... [--json] [--http ADDR]\n"
     "Asks the local agent to join the agents at ADDR (IP[:PORT], port 7420 by default).\n"
     "Exits 1 when no address could be joined.\n"},
    {"leave", cmd_leave, 0,
     "Usage: troupe leave [--http ADDR]\n"
     "Makes the local agent leave the cluster gracefully (others see it left), then stop.\n"},
    {"info", cmd_info, 0,
     "Usage: troupe info [--json] [--http ADDR]\nPrints what the local agent knows of itself.\n"},
    {"keygen", cmd_keygen, 0,
     "Usage: troupe keygen\nPrints a new random gossip encryption key for --encrypt.\n"},
    CMD_SUPER_TABLE{"services", cmd_services, 0,
                    "Usage: troupe services [--json] [--http ADDR]\n"
                    "Lists every service of the catalog: instances on live nodes, how many pass,\n"
                    "warn or fail, and their tags.\n"},
    {"service", cmd_service, 2,
     "Usage: troupe service register FILE [--http ADDR]\n"
     "       troupe service deregister ID [--http ADDR]\n"
     "Registers the service definitions of a JSON file (same shape as the files of\n"
     "--config-dir) on the local agent, or removes one of its instances.\n"},
    {"health", cmd_health, 1,
     "Usage: troupe health NAME [--passing] [--json] [--http ADDR]\n"
     "Lists the instances of service NAME with their status and checks;\n"
     "--passing: only those passing on live nodes.\n"},
    {"kv", cmd_kv, 3,
     "Usage: troupe kv get KEY\n"
     "       troupe kv put KEY [VALUE|-]   (no VALUE or -: read it from stdin)\n"
     "       troupe kv delete KEY [--recurse]\n"
     "       troupe kv list [PREFIX] [--json]\n"
     "The replicated key/value store: the last write wins (hybrid logical clock).\n"},
    {"event", cmd_event, 3,
     "Usage: troupe event fire NAME [PAYLOAD] [--http ADDR]\n"
     "Sends a user event (payload up to 512 bytes) that lands in every agent's history.\n"},
    {"events", cmd_events, 0,
     "Usage: troupe events [-f|--follow] [--kind KIND] [--limit N] [--json] [--http ADDR]\n"
     "Prints the local agent's event history (member, service, check, config, user,\n"
     "agent, audit: every write through the API, route: route files, proxy: endpoints\n"
     "ejected and restored); -f keeps printing new events as they happen.\n"},
    {"apply", cmd_apply, 1,
     "Usage: troupe apply DIR|FILE [--prune] [--http ADDR]\n"
     "Publishes the cluster specs of DIR (every NAME.json) or FILE: each agent runs the\n"
     "slots placement gives it. Every spec is checked first; one bad file publishes\n"
     "nothing. The proxy routes in DIR/routes (every NAME.json) are published too;\n"
     "--prune removes the specs the cluster holds that DIR does not, and the routes\n"
     "that DIR/routes does not (routes are left alone when DIR has no routes/).\n"},
    {"diff", cmd_diff, 1,
     "Usage: troupe diff DIR|FILE [--http ADDR]\n"
     "Prints field by field what troupe apply would change, specs and the routes of\n"
     "DIR/routes; exits 0 when nothing, 2 when something (for CI).\n"},
    {"status", cmd_status, 1,
     "Usage: troupe status [NAME] [--json] [--http ADDR]\n"
     "Desired against running for the cluster specs: count, where each slot is placed,\n"
     "what runs it and its health, and why a slot cannot be placed.\n"},
    {"route", cmd_route, 2,
     "Usage: troupe route set FILE|- [--http ADDR]   (-: read the route from stdin)\n"
     "       troupe route list [--json] [--http ADDR]\n"
     "       troupe route rm NAME [--http ADDR]\n"
     "       troupe route endpoints NAME [--json] [--http ADDR]\n"
     "A route makes every agent listen on its port and pass what arrives to the\n"
     "passing instances of its service (docs/proxy.md). The last write wins.\n"
     "endpoints: the route's endpoints as the local proxy sees them (state, latency\n"
     "EWMA, requests outstanding, consecutive failures, ejections).\n"},
    {"routes", cmd_routes, 0,
     "Usage: troupe routes [--json] [--http ADDR]\n"
     "The routes the local proxy serves: port, protocol, endpoints healthy of all,\n"
     "ejected, split, requests per second (last 2 s) and p99 latency (last 10-20 s).\n"},
    {"promote", cmd_promote, 1,
     "Usage: troupe promote NAME [--http ADDR]\n"
     "Ends the canary of a cluster spec (update.canary N: N slots run the new version\n"
     "and the others wait): writes the spec again without canary, and the new version\n"
     "rolls out to every slot, max_parallel at a time.\n"},
    {"token", cmd_token, 2,
     "Usage: troupe token create --name NAME --rule RULE... [--json]\n"
     "       troupe token list [--json]\n"
     "       troupe token show NAME [--json]\n"
     "       troupe token revoke NAME\n"
     "API tokens, replicated to every agent. A rule is RESOURCE:ACCESS[:PREFIX]:\n"
     "RESOURCE node, service, kv, event, run, secret, trust, acl, agent or *; ACCESS\n"
     "read, write or deny; the longest matching prefix decides, deny wins at equal\n"
     "prefix. create prints the secret once: only its hash is kept.\n"},
    {"watch", cmd_watch, 2,
     "Usage: troupe watch services | service NAME | kv PREFIX [--json] [--http ADDR]\n"
     "Prints the current state, then again at every change (blocking queries).\n"},
    {"top", cmd_top, 0,
     "Usage: troupe top [--limit N] [--json] [--http ADDR]\n"
     "The cluster as the local agent sees it: nodes with their status and instances,\n"
     "services with each instance's health and checks, the instances this agent\n"
     "supervises, and the latest N events (10). On a terminal it redraws at every\n"
     "change (blocking queries) until interrupted; otherwise it prints one snapshot\n"
     "(--json: as one object) and ends.\n"},
};

/* Parses the CLI's flags into c (c->args has room for argc entries) and runs
 * the command; returns the exit code. Every return goes through main, which
 * frees c->args. */
static int cli_run(struct cli *c, int argc, char **argv, const char *http, const char *ca)
{
    const char *cmd = NULL;
    int ci = -1;
    struct err e;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            for (size_t k = 0; cmd && k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(commands[k].name, cmd) == 0) {
                    fputs(commands[k].help, stdout);
                    return 0;
                }
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--http") == 0 || strncmp(a, "--http=", 7) == 0) {
            if (a[6] == '=')
                http = a + 7;
            else if (i + 1 < argc)
                http = argv[++i];
            else
                return usage_error("--http: missing ADDR");
        } else if (strcmp(a, "--ca-cert") == 0 || strncmp(a, "--ca-cert=", 10) == 0) {
            if (a[9] == '=')
                ca = a + 10;
            else if (i + 1 < argc)
                ca = argv[++i];
            else
                return usage_error("--ca-cert: missing FILE");
        } else if (strcmp(a, "--token") == 0 || strncmp(a, "--token=", 8) == 0) {
            if (a[7] == '=')
                client_token_set(a + 8);
            else if (i + 1 < argc)
                client_token_set(argv[++i]);
            else
                return usage_error("--token: missing SECRET");
        } else if (strcmp(a, "--name") == 0 || strcmp(a, "--rule") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s: missing a value", a);
            if (a[2] == 'n')
                c->name = argv[++i];
            else if (c->n_rules == (int)(sizeof(c->rules) / sizeof(c->rules[0])))
                return usage_error("--rule: at most %zu", sizeof(c->rules) / sizeof(c->rules[0]));
            else
                c->rules[c->n_rules++] = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--status") == 0 || strncmp(a, "--status=", 9) == 0) {
            if (a[8] == '=')
                c->status = a + 9;
            else if (i + 1 < argc)
                c->status = argv[++i];
            else
                return usage_error("--status: missing STATUS");
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
            c->follow = 1;
        } else if (strcmp(a, "--instance") == 0 || strcmp(a, "--since") == 0 ||
                   strcmp(a, "--tail") == 0) {
            char *end;
            if (i + 1 >= argc)
                return usage_error("%s: missing a value", a);
            if (strcmp(a, "--since") == 0) {
                c->since = argv[++i];
            } else {
                long v = strtol(argv[++i], &end, 10);
                if (*end || end == argv[i] || v < 0 || v > 100000)
                    return usage_error("%s: \"%s\" is not a number from 0 to 100000", a, argv[i]);
                if (a[2] == 'i')
                    c->instance = (int)v;
                else
                    c->tail = v;
            }
        } else if (strcmp(a, "--passing") == 0) {
            c->passing = 1;
        } else if (strcmp(a, "--recurse") == 0) {
            c->recurse = 1;
        } else if (strcmp(a, "--prune") == 0) {
            c->prune = 1;
        } else if (strcmp(a, "--kind") == 0 || strcmp(a, "--limit") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s: missing a value", a);
            if (a[2] == 'k') {
                c->kind = argv[++i];
            } else {
                char *end;
                c->limit = strtol(argv[++i], &end, 10);
                if (*end || end == argv[i] || c->limit <= 0 || c->limit > 10000)
                    return usage_error("--limit: \"%s\" is not a number from 1 to 10000", argv[i]);
            }
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option %s", a);
        } else if (!cmd) {
            cmd = a;
        } else {
            c->args[c->nargs++] = argv[i];
        }
    }
    if (!cmd) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("troupe %s\n", TROUPE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
        if (strcmp(commands[k].name, cmd) == 0)
            ci = (int)k;
    if (ci < 0)
        return usage_error("unknown command \"%s\"", cmd);
    if (c->nargs > commands[ci].max_args)
        return usage_error("unexpected argument \"%s\"", c->args[commands[ci].max_args]);
    if (client_addr_parse(&c->http, http ? http : "127.0.0.1:7421", ca, &e) < 0)
        return usage_error("--http: %s", e.msg);
    return commands[ci].fn(c);
}

int main(int argc, char **argv)
{
    struct cli c;
    const char *http = getenv("TROUPE_HTTP_ADDR");
    const char *ca = getenv("TROUPE_CACERT");
    int rc;

    client_token_set(getenv("TROUPE_TOKEN"));
    /* `troupe agent ...` hands every remaining flag to the agent, `troupe
     * trust|bundle ...` to their own parser */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "_logger") == 0)
            return super_logger_main(argc - i, argv + i);
        if (strcmp(argv[i], "_completion") == 0) /* hidden: make deb installs its output */
            return cli_completion_main(argc - i, argv + i, commands,
                                       sizeof(commands) / sizeof(commands[0]));
        if (strcmp(argv[i], "_api-routes") == 0)
            return agent_routes_main();
        if (strcmp(argv[i], "agent") == 0)
            return agent_main(argc - i, argv + i);
        if (strcmp(argv[i], "trust") == 0 || strcmp(argv[i], "bundle") == 0)
            return trust_cmd_main(argc - i, argv + i, http);
        if (strcmp(argv[i], "--http") == 0 && i + 1 < argc) {
            http = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            client_token_set(argv[++i]);
            continue;
        }
        if (strncmp(argv[i], "--token=", 8) == 0) {
            client_token_set(argv[i] + 8);
            continue;
        }
        if (strncmp(argv[i], "--http=", 7) == 0) {
            http = argv[i] + 7;
            continue;
        }
        if (argv[i][0] != '-')
            break;
    }
    memset(&c, 0, sizeof(c));
    c.instance = -1;
    c.tail = -1;
    c.args = xcalloc((size_t)argc, sizeof(char *));
    rc = cli_run(&c, argc, argv, http, ca);
    free(c.args);
    return rc;
}
