/* config: the one table of agent options, and the code that fills struct
 * config from it: defaults, a JSON file (jansson) and the command line (see
 * config.h). A row of opts[] names its field (offsetof), its type and its
 * default value; config_init, the parsers, config_swim, --help and the
 * generated docs all read the row, so a new option is one row plus its
 * struct field. Knows nothing of sockets or the loop. */
#include "agent/config.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config_table.h"
#include "core/acl.h"
#include "core/dns_wire.h"

/* T_CHOICE writes an int into an enum field */
_Static_assert(sizeof(enum swim_profile) == sizeof(int), "profile is not int-sized");
_Static_assert(sizeof(enum log_level) == sizeof(int), "log level is not int-sized");
_Static_assert(sizeof(enum acl_default) == sizeof(int), "acl default is not int-sized");

/* The first profile is the default; docs show the others' timings after it. */
static const struct opt_choice profiles[] = {
    {"lan", SWIM_PROFILE_LAN}, {"fast", SWIM_PROFILE_FAST}, {NULL, 0}};

static const struct opt_choice log_levels[] = {
    {"error", LOG_ERROR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}, {NULL, 0}};

static const struct opt_choice acl_defaults[] = {
    {"read", ACL_DEFAULT_READ}, {"deny", ACL_DEFAULT_DENY}, {"off", ACL_DEFAULT_OFF}, {NULL, 0}};

static void default_node(void *field);
static void default_proxy_workers(void *field);

/* clang-format off */
static const struct opt opts[] = {
    {.flag = "node", .type = T_NODE, .off = offsetof(struct config, node),
     .def_fn = default_node, .def_doc = "host name", .arg = "NAME",
     .help = "name of this node in the cluster: 1-64 of [A-Za-z0-9._-]"},
    {.flag = "bind", .type = T_ADDR, .off = offsetof(struct config, bind),
     .def_text = "0.0.0.0:7420", .dev = "127.0.0.1:7420", .arg = "IP:PORT",
     .help = "gossip address, UDP and TCP"},
    {.flag = "advertise", .type = T_ADDR, .off = offsetof(struct config, advertise),
     .def_doc = "bind address", .arg = "IP:PORT",
     .help = "address other agents reach this one at (default: the bind address, or the first "
             "non-loopback IPv4 address when bound to 0.0.0.0)"},
    {.flag = "join", .type = T_ADDR_LIST, .off = offsetof(struct config, join),
     .list = {offsetof(struct config, n_join), CONFIG_JOIN_MAX}, .port = 7420,
     .what = "join addresses", .arg = "IP[:PORT]",
     .help = "agent to join at start, retried with backoff until it works; repeatable"},
    {.flag = "encrypt", .type = T_KEY_LIST, .off = offsetof(struct config, keys),
     .list = {offsetof(struct config, n_keys), CONFIG_KEYS_MAX}, .what = "keys", .arg = "KEY",
     .help = "gossip encryption key (base64 of 32 bytes, see troupe keygen); repeatable, the "
             "first seals, every one opens"},
    {.flag = "http", .type = T_ADDR, .off = offsetof(struct config, http),
     .def_text = "127.0.0.1:7421", .arg = "IP:PORT",
     .help = "HTTP API address; one beyond loopback needs --http-tls-cert and --http-tls-key, "
             "or --http-insecure"},
    {.flag = "http-tls-cert", .type = T_PATH, .off = offsetof(struct config, http_tls_cert),
     .arg = "FILE",
     .help = "certificate chain (PEM, the server's first) the HTTP API serves TLS with; needs "
             "--http-tls-key; OpenSSL 3 is loaded only then; read again on SIGHUP"},
    {.flag = "http-tls-key", .type = T_PATH, .off = offsetof(struct config, http_tls_key),
     .arg = "FILE", .help = "private key (PEM) of --http-tls-cert; read again on SIGHUP"},
    {.flag = "http-insecure", .type = T_FLAG, .off = offsetof(struct config, http_insecure),
     .help = "let the HTTP API listen beyond loopback without TLS: whoever reaches the address "
             "can read and change what the API offers, and tokens cross the network in the "
             "clear"},
    {.flag = "data-dir", .type = T_PATH, .off = offsetof(struct config, data_dir),
     .def_text = "/var/lib/troupe", .dev = "./troupe-data", .arg = "DIR",
     .help = "data directory (./troupe-data with --dev)"},
    {.flag = "profile", .type = T_CHOICE, .off = offsetof(struct config, profile),
     .def = SWIM_PROFILE_LAN, .choices = profiles, .what = "profile", .arg = "lan|fast",
     .help = "timing profile: lan probes every 1 s, fast every 200 ms"},
    {.flag = "tag", .type = T_TAG_LIST, .off = offsetof(struct config, tags), .arg = "KEY=VALUE",
     .help = "tag of this node; repeatable"},
    {.flag = "capacity", .type = T_CAPACITY, .off = offsetof(struct config, capacity),
     .arg = "cpu_millis=N,memory_mb=N",
     .help = "what this node offers to the slots of cluster specs (troupe apply), gossiped "
             "as the tag capacity; 0 or missing: not limited"},
    {.flag = "dev", .type = T_FLAG, .off = offsetof(struct config, dev),
     .help = "development mode: bind 127.0.0.1:7420, data in ./troupe-data, debug log"},
    {.flag = "log-level", .type = T_CHOICE, .off = offsetof(struct config, log_level),
     .def = LOG_INFO, .dev = "debug", .choices = log_levels, .what = "log level",
     .arg = "error|warn|info|debug", .help = "log verbosity"},
    {.flag = "config", .type = T_PATH, .off = offsetof(struct config, config_file),
     .flag_only = 1, .arg = "FILE",
     .help = "JSON file with the same keys (join, encrypt and tag as arrays, or tags as an "
             "object); command-line flags win"},
    {.flag = "probe-interval-ms", .type = T_U32, .off = offsetof(struct config, probe_interval_ms),
     .swim = {offsetof(struct swim_config, probe_interval_ms), 1}, .arg = "MS",
     .help = "time between probes"},
    {.flag = "probe-timeout-ms", .type = T_U32, .off = offsetof(struct config, probe_timeout_ms),
     .swim = {offsetof(struct swim_config, probe_timeout_ms), 1}, .arg = "MS",
     .help = "time to wait for an ack before indirect probes"},
    {.flag = "pushpull-interval-ms", .type = T_U32,
     .off = offsetof(struct config, pushpull_interval_ms),
     .swim = {offsetof(struct swim_config, pushpull_interval_ms), 1}, .arg = "MS",
     .help = "time between full state exchanges (scaled up with the cluster size)"},
    {.flag = "suspicion-mult", .type = T_U32, .off = offsetof(struct config, suspicion_mult),
     .swim = {offsetof(struct swim_config, suspicion_mult), 1}, .arg = "N",
     .help = "suspicion timeout multiplier (x log10(N) x probe interval)"},
    {.flag = "retransmit-mult", .type = T_U32, .off = offsetof(struct config, retransmit_mult),
     .swim = {offsetof(struct swim_config, retransmit_mult), 1}, .arg = "N",
     .help = "each broadcast is sent N x log10(N+1) times"},
    {.flag = "reap-after-s", .type = T_U64, .off = offsetof(struct config, reap_after_s),
     .swim = {offsetof(struct swim_config, reap_after_ms), 1000}, .arg = "S",
     .help = "forget dead and left members after this many seconds"},
    {.flag = "gc-interval-ms", .type = T_U32, .off = offsetof(struct config, gc_interval_ms),
     .def = 30000, .arg = "MS",
     .help = "time between collections of the tombstones every member not yet reaped holds"},
    {.flag = "dns", .type = T_ADDR_OFF, .off = offsetof(struct config, dns),
     .def_text = "127.0.0.1:7453", .given_off = offsetof(struct config, dns_explicit),
     .arg = "IP:PORT|off",
     .help = "DNS server address, UDP and TCP (port 53 needs root); when the default port is "
             "taken the agent runs without DNS and says so"},
    {.flag = "consul-http", .type = T_ADDR_OFF, .off = offsetof(struct config, consul_http),
     .def_text = "127.0.0.1:8500", .given_off = offsetof(struct config, consul_http_explicit),
     .arg = "IP:PORT|off",
     .help = "address of Consul's HTTP API (docs/consul-compat.md); when the default port is "
             "taken the agent runs without it and says so"},
    {.flag = "dns-domain", .type = T_DOMAIN, .off = offsetof(struct config, dns_domain),
     .def_text = "troupe.", .arg = "DOMAIN",
     .help = "zone the DNS server answers: NAME.service.DOMAIN, NODE.node.DOMAIN"},
    {.flag = "dns-alt-domain", .type = T_DOMAIN_OFF,
     .off = offsetof(struct config, dns_alt_domain), .def_text = "consul.", .arg = "DOMAIN|off",
     .help = "second zone the DNS server answers with Consul's names: NAME.service.DOMAIN, "
             "TAG.NAME.service.DOMAIN, _NAME._tcp.service.DOMAIN, NODE.node.DOMAIN, and the "
             "same with the datacenter before DOMAIN (NAME.service.DC.DOMAIN)"},
    {.flag = "datacenter", .type = T_DC, .off = offsetof(struct config, datacenter),
     .def_text = "dc1", .arg = "NAME",
     .help = "name of the cluster where Consul's interfaces want a datacenter: DNS answers "
             "NAME.service.DC.DOMAIN of --dns-alt-domain for this one only"},
    {.flag = "dns-upstream", .type = T_ADDR_LIST, .off = offsetof(struct config, dns_upstreams),
     .list = {offsetof(struct config, n_dns_upstreams), CONFIG_DNS_UPSTREAMS_MAX}, .port = 53,
     .what = "upstream resolvers", .def_doc = "resolv.conf", .arg = "IP[:PORT]",
     .help = "resolver that names outside the zone are forwarded to; repeatable (default: the "
             "nameservers of /etc/resolv.conf other than this agent; none: REFUSED)"},
    {.flag = "dns-service-ttl-s", .type = T_TTL, .off = offsetof(struct config, dns_service_ttl_s),
     .def = 5, .arg = "S", .help = "TTL of service records"},
    {.flag = "dns-node-ttl-s", .type = T_TTL, .off = offsetof(struct config, dns_node_ttl_s),
     .def = 30, .arg = "S", .help = "TTL of node, SOA and NS records"},
    {.flag = "dns-negative-ttl-s", .type = T_TTL,
     .off = offsetof(struct config, dns_negative_ttl_s), .def = 5, .arg = "S",
     .help = "TTL of NXDOMAIN and NODATA answers (the SOA minimum)"},
    {.flag = "dns-only-passing", .type = T_FLAG, .off = offsetof(struct config, dns_only_passing),
     .help = "DNS answers only passing instances (default: warning ones too)"},
    {.flag = "proxy-bind", .type = T_ADDR_LIST, .off = offsetof(struct config, proxy_bind),
     .list = {offsetof(struct config, n_proxy_bind), 1}, .port = CONFIG_PROXY_NO_PORT,
     .what = "proxy addresses",
     .def_doc = "none", .arg = "IP",
     .help = "address the proxy's route listeners bind, each on its route's port (none: "
             "127.0.0.1; the node's address lets other machines use them)"},
    {.flag = "ingress", .type = T_ADDR_OFF, .off = offsetof(struct config, ingress),
     .def_text = "off", .arg = "IP:PORT|off",
     .help = "HTTP ingress: one listener that sends each request to the route whose hosts "
             "hold its Host header and whose prefix starts its path (the longest); none: 404 "
             "with x-troupe-reason: no-route (docs/proxy.md)"},
    {.flag = "proxy-workers", .type = T_WORKERS, .off = offsetof(struct config, proxy_workers),
     .def_fn = default_proxy_workers, .def_doc = "the CPUs less one (1 to 8)", .arg = "N",
     .help = "threads that serve the proxy's route listeners, each with its own event loop, so "
             "proxied traffic never delays gossip or DNS on the agent's loop; 0: the proxy runs on "
             "the agent's loop (docs/proxy.md)"},
    {.flag = "trust-repo", .type = T_PATH, .off = offsetof(struct config, trust_repo),
     .arg = "URL|DIR",
     .help = "trust repository bundles are fetched from: http://HOST[:PORT]/PATH or a directory "
             "(see troupe trust init); needs --trust-root"},
    {.flag = "trust-root", .type = T_PATH, .off = offsetof(struct config, trust_root),
     .arg = "FILE",
     .help = "the pinned root.json of the trust repository; bundles verify against it, never "
             "against a root fetched on first use"},
    {.flag = "config-dir", .type = T_PATH, .off = offsetof(struct config, config_dir),
     .arg = "DIR", .help = "directory of service files (*.json), of specs to run (run/*.json) and of proxy routes (routes/*.json), read at start and on SIGHUP"},
    {.flag = "enable-exec-checks", .type = T_FLAG, .off = offsetof(struct config, exec_checks),
     .help = "allow health checks that run a command (exec checks); refused otherwise"},
    {.flag = "trust-fetch-idle-ms", .type = T_U32,
     .off = offsetof(struct config, trust_fetch_idle_ms), .def = 10000, .arg = "MS",
     .help = "a mirror silent this long while sending metadata or a bundle is given up (a "
             "whole transfer also gets one second per 64 KiB it may carry)"},
    {.flag = "allow-root-services", .type = T_FLAG,
     .off = offsetof(struct config, allow_root_services),
     .help = "let service specs run as root (user or group root), add capabilities, or take a "
             "port below 1024 on the host's network; refused otherwise"},
    {.flag = "cgroup-parent", .type = T_PATH, .off = offsetof(struct config, cgroup_parent),
     .def_text = "off", .arg = "auto|PATH|off",
     .help = "where the cgroups of instances with limits go: off, /sys/fs/cgroup/troupe; auto, "
             "below the agent's own cgroup v2 when it is delegated to the agent (systemd's "
             "Delegate=yes; needs DelegateSubgroup=agent, systemd 254 or later, so that a "
             "restarted agent can start), else as off; PATH, below that cgroup v2 path (the "
             "agent's, or one without processes), which the agent may manage"},
    {.flag = "http-max-conns", .type = T_U32, .off = offsetof(struct config, http_max_conns),
     .def = 4096, .arg = "N",
     .help = "open connections to the HTTP API at most; over it the one idle longest is closed "
             "to make room, and with none idle a new one is closed at once, counted "
             "(troupe_api_connections_refused_total) and logged once per 30 s"},
    {.flag = "http-header-timeout-ms", .type = T_U32,
     .off = offsetof(struct config, http_header_timeout_ms), .def = 10000, .arg = "MS",
     .help = "a request whose line and headers are not all in this long after its first byte is "
             "answered 408 and its connection closed (slow clients, slowloris)"},
    {.flag = "http-body-timeout-ms", .type = T_U32,
     .off = offsetof(struct config, http_body_timeout_ms), .def = 30000, .arg = "MS",
     .help = "a request body not all in this long after the headers is answered 408 and its "
             "connection closed"},
    {.flag = "http-idle-timeout-ms", .type = T_U32,
     .off = offsetof(struct config, http_idle_timeout_ms), .def = 60000, .arg = "MS",
     .help = "a kept-alive HTTP connection with no request this long is closed"},
    {.flag = "dns-tcp-max-conns", .type = T_U32, .off = offsetof(struct config, dns_tcp_max_conns),
     .def = 256, .arg = "N",
     .help = "open DNS-over-TCP connections at most (each must complete a message every 10 s); "
             "more are closed at once, counted and logged once per 30 s"},
    {.flag = "gossip-tcp-max-conns", .type = T_U32,
     .off = offsetof(struct config, gossip_tcp_max_conns), .def = 128, .arg = "N",
     .help = "inbound gossip TCP streams at once at most (each must deliver its request in "
             "10 s); more are closed at once, counted and logged once per 30 s"},
    {.flag = "acl-default", .type = T_CHOICE, .off = offsetof(struct config, acl_default),
     .def = ACL_DEFAULT_READ, .choices = acl_defaults, .what = "default policy",
     .arg = "read|deny|off",
     .help = "what API requests without a token may do: read the members, catalog, KV and "
             "events (read) or nothing (deny); writes, secrets, logs and the supervisor always "
             "need a token (see docs/acl.md). off authorizes nothing at all: benchmarks only, "
             "loopback API only"},
};

/* clang-format on */

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

const struct opt *const config_opts = opts;
const size_t config_n_opts = N_OPTS;
const struct opt_choice *const config_profiles = profiles;

static void *field(struct config *c, const struct opt *o)
{
    return (char *)c + o->off;
}

void config_json_key(const struct opt *o, char *out, size_t cap)
{
    snprintf(out, cap, "%s", o->flag);
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
}

static int valid_node(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SWIM_NAME_MAX)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The node name by default: the host name when it is a valid one. */
static void default_node(void *field)
{
    char host[256] = "", *node = field;

    if (gethostname(host, sizeof(host) - 1) == 0 && valid_node(host))
        memcpy(node, host, strlen(host) + 1); /* valid_node: at most 64 bytes */
    else
        snprintf(node, SWIM_NAME_MAX + 1, "troupe");
}

/* One proxy thread per CPU but one, at least one: a worker saturated by
 * traffic keeps a CPU busy, and with as many workers as CPUs the agent's
 * own loop (gossip, DNS) waits for a CPU under full proxy load (DNS p99
 * 1.0-1.1 ms against 0.7 ms with one CPU left, docs/proxy.md); more
 * threads than CPUs only add switches; past 8 the kernel's spreading and
 * the per-thread pools cost more than they give on a node that also runs
 * the services it proxies. */
static void default_proxy_workers(void *field)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;

    *(uint32_t *)field = n < 1 ? 1 : n > 8 ? 8 : (uint32_t)n;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The tags must fit in a gossip message; tags_encode only counts here. */
static int tags_fit(const struct tags *t, const char *where, struct err *e)
{
    struct err sub;

    if (tags_encode(t, NULL, SWIM_TAGS_MAX, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    return 0;
}

/* ---- one parser per type: option text into the row's field ----
 * Each returns 0, or -EINVAL with a message that starts with where (the
 * flag or the JSON key) and says what is wrong with v. */

typedef int opt_parse_fn(struct config *c, const struct opt *o, const char *v, const char *where,
                         struct err *e);

static int parse_node(struct config *c, const struct opt *o, const char *v, const char *where,
                      struct err *e)
{
    if (!valid_node(v))
        return err_set(e, -EINVAL, "%s: node name \"%s\" must be 1-64 of [A-Za-z0-9._-]", where, v);
    snprintf(field(c, o), SWIM_NAME_MAX + 1, "%s", v);
    return 0;
}

static int parse_addr(struct config *c, const struct opt *o, const char *v, const char *where,
                      struct err *e)
{
    struct err sub;

    if (node_addr_parse(field(c, o), v, 0, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    return 0;
}

static int parse_addr_or_off(struct config *c, const struct opt *o, const char *v,
                             const char *where, struct err *e)
{
    if (strcmp(v, "off") == 0) {
        memset(field(c, o), 0, sizeof(struct node_addr));
        return 0;
    }
    return parse_addr(c, o, v, where, e);
}

/* Lists of strings: char[list.max][CONFIG_ITEM_MAX] and a count. */
static size_t *list_count(struct config *c, const struct opt *o)
{
    return (size_t *)((char *)c + o->list.n_off);
}

/* The next free item of a list, or NULL with a message when it is full. */
static char *list_item(struct config *c, const struct opt *o, const char *where, struct err *e)
{
    size_t n = *list_count(c, o);

    if (n == o->list.max) {
        err_set(e, -EINVAL, "%s: more than %zu %s", where, o->list.max, o->what);
        return NULL;
    }
    return (char *)field(c, o) + n * CONFIG_ITEM_MAX;
}

static void list_append(struct config *c, const struct opt *o, char *item, const char *v)
{
    snprintf(item, CONFIG_ITEM_MAX, "%s", v);
    (*list_count(c, o))++;
}

static int parse_addr_list(struct config *c, const struct opt *o, const char *v, const char *where,
                           struct err *e)
{
    struct node_addr a;
    struct err sub;
    char *item = list_item(c, o, where, e);

    if (!item)
        return -EINVAL;
    if (strlen(v) >= CONFIG_ITEM_MAX)
        return err_set(e, -EINVAL, "%s: address too long", where);
    if (node_addr_parse(&a, v, o->port, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    list_append(c, o, item, v);
    return 0;
}

static int parse_key_list(struct config *c, const struct opt *o, const char *v, const char *where,
                          struct err *e)
{
    unsigned char key[64];
    size_t len = 0, n = *list_count(c, o);
    char *item = list_item(c, o, where, e);
    int bad;

    if (!item)
        return -EINVAL;
    bad = strlen(v) >= CONFIG_ITEM_MAX ||
          sodium_base642bin(key, sizeof(key), v, strlen(v), NULL, &len, NULL,
                            sodium_base64_VARIANT_ORIGINAL) != 0 ||
          len != 32;
    sodium_memzero(key, sizeof(key));
    if (bad)
        return err_set(e, -EINVAL,
                       "%s: key %zu is not base64 of 32 bytes (make one with troupe keygen)", where,
                       n + 1);
    list_append(c, o, item, v);
    return 0;
}

static int parse_tag(struct config *c, const struct opt *o, const char *v, const char *where,
                     struct err *e)
{
    struct tags *t = field(c, o);
    struct err sub;

    if (tags_set_kv(t, v, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    return tags_fit(t, where, e);
}

static int parse_path(struct config *c, const struct opt *o, const char *v, const char *where,
                      struct err *e)
{
    if (!*v || strlen(v) >= PATH_MAX)
        return err_set(e, -EINVAL, "%s: empty or too long path", where);
    snprintf(field(c, o), PATH_MAX, "%s", v);
    return 0;
}

/* A domain is what the DNS server accepts: it is asked to start with it. */
static int parse_domain(struct config *c, const struct opt *o, const char *v, const char *where,
                        struct err *e)
{
    uint8_t zone[DNSW_NAME_MAX];
    char canon[DNS_DOMAIN_MAX + 1];
    struct err sub;

    /* checked without building a DNS server: its buffers (4 MiB) would
     * raise malloc's mmap threshold and leave the heap larger for good */
    if (strlen(v) > DNS_DOMAIN_MAX)
        return err_set(e, -EINVAL, "%s: domain longer than %d characters", where, DNS_DOMAIN_MAX);
    if (dns_domain_check(v, zone, canon, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    snprintf(field(c, o), DNS_DOMAIN_MAX + 1, "%s", v);
    return 0;
}

static int parse_domain_or_off(struct config *c, const struct opt *o, const char *v,
                               const char *where, struct err *e)
{
    if (strcmp(v, "off") == 0) {
        *(char *)field(c, o) = '\0';
        return 0;
    }
    return parse_domain(c, o, v, where, e);
}

static int parse_dc(struct config *c, const struct opt *o, const char *v, const char *where,
                    struct err *e)
{
    struct err sub;

    if (dns_datacenter_check(v, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    snprintf(field(c, o), DNS_DC_MAX + 1, "%s", v);
    return 0;
}

/* "a, b or c": the names of the row's choices, for messages. */
static const char *choice_names(const struct opt *o, char *buf, size_t cap)
{
    size_t n = 0, len = 0;

    while (o->choices[n].name)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                i == 0       ? ""
                                : i + 1 == n ? " or "
                                             : ", ",
                                o->choices[i].name);
    return buf;
}

static int parse_choice(struct config *c, const struct opt *o, const char *v, const char *where,
                        struct err *e)
{
    char names[128];

    for (const struct opt_choice *ch = o->choices; ch->name; ch++) {
        if (strcmp(v, ch->name) == 0) {
            *(int *)field(c, o) = ch->value;
            return 0;
        }
    }
    return err_set(e, -EINVAL, "%s: %s \"%s\" is not %s", where, o->what, v,
                   choice_names(o, names, sizeof(names)));
}

static int parse_flag(struct config *c, const struct opt *o, const char *v, const char *where,
                      struct err *e)
{
    if (strcmp(v, "true") == 0)
        *(int *)field(c, o) = 1;
    else if (strcmp(v, "false") == 0)
        *(int *)field(c, o) = 0;
    else
        return err_set(e, -EINVAL, "%s: expected true or false, not \"%s\"", where, v);
    return 0;
}

static int parse_u32(struct config *c, const struct opt *o, const char *v, const char *where,
                     struct err *e)
{
    uint64_t u;

    if (parse_uint(v, UINT32_MAX, &u) < 0 || u == 0)
        return err_set(e, -EINVAL, "%s: \"%s\" is not a positive whole number", where, v);
    *(uint32_t *)field(c, o) = (uint32_t)u;
    return 0;
}

/* at most UINT64_MAX / 1000: the seconds become milliseconds */
static int parse_u64(struct config *c, const struct opt *o, const char *v, const char *where,
                     struct err *e)
{
    uint64_t u;

    if (parse_uint(v, UINT64_MAX / 1000, &u) < 0 || u == 0)
        return err_set(e, -EINVAL, "%s: \"%s\" is not a positive whole number", where, v);
    *(uint64_t *)field(c, o) = u;
    return 0;
}

static int parse_ttl(struct config *c, const struct opt *o, const char *v, const char *where,
                     struct err *e)
{
    uint64_t u;

    if (parse_uint(v, 7 * 86400, &u) < 0)
        return err_set(e, -EINVAL, "%s: \"%s\" is not a number of seconds from 0 to 604800", where,
                       v);
    *(uint32_t *)field(c, o) = (uint32_t)u;
    return 0;
}

static int parse_workers(struct config *c, const struct opt *o, const char *v, const char *where,
                         struct err *e)
{
    uint64_t u;

    if (parse_uint(v, CONFIG_PROXY_WORKERS_MAX, &u) < 0)
        return err_set(e, -EINVAL, "%s: \"%s\" is not a number of threads from 0 to %d", where, v,
                       CONFIG_PROXY_WORKERS_MAX);
    *(uint32_t *)field(c, o) = (uint32_t)u;
    return 0;
}

static int parse_capacity(struct config *c, const struct opt *o, const char *v, const char *where,
                          struct err *e)
{
    struct err sub;

    if (place_res_parse(field(c, o), v, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    return 0;
}

/* What a JSON file gives for each type: a list is an array of strings,
 * the items parsed one by one. */
enum opt_json { J_STRING, J_NUMBER, J_BOOL, J_ARRAY };

static const struct opt_kind {
    opt_parse_fn *parse;
    enum opt_json json;
} kinds[] = {
    [T_NODE] = {parse_node, J_STRING},
    [T_ADDR] = {parse_addr, J_STRING},
    [T_ADDR_OFF] = {parse_addr_or_off, J_STRING},
    [T_ADDR_LIST] = {parse_addr_list, J_ARRAY},
    [T_KEY_LIST] = {parse_key_list, J_ARRAY},
    [T_TAG_LIST] = {parse_tag, J_ARRAY},
    [T_PATH] = {parse_path, J_STRING},
    [T_DOMAIN] = {parse_domain, J_STRING},
    [T_DOMAIN_OFF] = {parse_domain_or_off, J_STRING},
    [T_DC] = {parse_dc, J_STRING},
    [T_CHOICE] = {parse_choice, J_STRING},
    [T_FLAG] = {parse_flag, J_BOOL},
    [T_U32] = {parse_u32, J_NUMBER},
    [T_U64] = {parse_u64, J_NUMBER},
    [T_TTL] = {parse_ttl, J_NUMBER},
    [T_WORKERS] = {parse_workers, J_NUMBER},
    [T_CAPACITY] = {parse_capacity, J_STRING},
};

/* An option given by a flag or the file: noted where the row asks, then
 * parsed by its type. */
static int set_opt(struct config *c, const struct opt *o, const char *v, const char *where,
                   struct err *e)
{
    if (o->given_off)
        *(int *)((char *)c + o->given_off) = 1;
    return kinds[o->type].parse(c, o, v, where, e);
}

/* The value of a number field (T_U32, T_TTL, T_U64), and of the swim field
 * a row names. */
uint64_t config_uint_at(const void *p, enum opt_type t)
{
    return t == T_U64 ? *(const uint64_t *)p : *(const uint32_t *)p;
}

/* A row's default into its field: text goes through the type's parser, as
 * a user's value would. */
static void set_default(struct config *c, const struct opt *o)
{
    void *p = field(c, o);

    if (o->def_fn) {
        o->def_fn(p);
        return;
    }
    if (o->def_text) {
        kinds[o->type].parse(c, o, o->def_text, o->flag, NULL);
        return;
    }
    switch (o->type) {
    case T_CHOICE:
    case T_FLAG:
        *(int *)p = (int)o->def;
        break;
    case T_U32:
    case T_TTL:
    case T_WORKERS:
        *(uint32_t *)p = (uint32_t)o->def;
        break;
    case T_U64:
        *(uint64_t *)p = o->def;
        break;
    default:
        break; /* empty: config_init zeroed it */
    }
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < N_OPTS; i++)
        set_default(c, &opts[i]);
}

static const struct opt *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

static const struct opt *find_json_key(const char *key)
{
    char k[64];

    for (size_t i = 0; i < N_OPTS; i++) {
        config_json_key(&opts[i], k, sizeof(k));
        if (strcmp(k, key) == 0)
            return &opts[i];
    }
    return NULL;
}

/* The value as option text: a string as it is (never cut, so that the
 * option's own length check sees it whole), a number or boolean formatted
 * into buf. NULL for other types. */
static const char *json_value_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    return buf;
}

/* "tags": {"KEY": "VALUE", ...}, the file's other way to give --tag */
static int json_tags_object(struct config *c, json_t *v, struct err *e)
{
    const char *tk;
    json_t *tv;
    struct err sub;

    json_object_foreach(v, tk, tv)
    {
        if (!json_is_string(tv))
            return err_set(e, -EINVAL, "config key \"tags\".%s: expected a string", tk);
        if (tags_set(&c->tags, tk, json_string_value(tv), &sub) < 0)
            return err_set(e, -EINVAL, "config key \"tags\": %s", sub.msg);
        if (tags_fit(&c->tags, "config key \"tags\"", e) < 0)
            return -EINVAL;
    }
    return 0;
}

static int json_array_opt(struct config *c, const struct opt *o, json_t *v, const char *where,
                          struct err *e)
{
    size_t i;
    json_t *item;
    int rc;

    if (!json_is_array(v))
        return err_set(e, -EINVAL, "%s: expected an array of strings", where);
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return err_set(e, -EINVAL, "%s[%zu]: expected a string", where, i);
        if ((rc = set_opt(c, o, json_string_value(item), where, e)) < 0)
            return rc;
    }
    return 0;
}

static int json_scalar_opt(struct config *c, const struct opt *o, json_t *v, const char *where,
                           struct err *e)
{
    enum opt_json want = kinds[o->type].json;
    char num[32];
    const char *val;

    if ((want == J_BOOL && !json_is_boolean(v)) || (want == J_NUMBER && !json_is_integer(v)) ||
        (want == J_STRING && !json_is_string(v)) || !(val = json_value_text(v, num, sizeof(num))))
        return err_set(e, -EINVAL, "%s: wrong type (expected %s)", where,
                       want == J_BOOL     ? "true or false"
                       : want == J_NUMBER ? "a number"
                                          : "a string");
    return set_opt(c, o, val, where, e);
}

int config_parse_json(struct config *c, const char *text, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *key;
    char where[128];
    int rc = 0;

    if (!root)
        return err_set(e, -EINVAL, "config file: line %d: %s", jerr.line, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(e, -EINVAL, "config file: expected a JSON object");
    }
    json_object_foreach(root, key, v)
    {
        const struct opt *o = find_json_key(key);

        snprintf(where, sizeof(where), "config key \"%s\"", key);
        if (strcmp(key, "tags") == 0 && json_is_object(v))
            rc = json_tags_object(c, v, e);
        else if (!o || o->flag_only)
            rc = err_set(e, -EINVAL, "config file: unknown key \"%s\"", key);
        else if (kinds[o->type].json == J_ARRAY)
            rc = json_array_opt(c, o, v, where, e);
        else
            rc = json_scalar_opt(c, o, v, where, e);
        if (rc < 0)
            break;
    }
    json_decref(root);
    return rc;
}

static int load_file(struct config *c, const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    int rc;

    if (!f)
        return err_set(e, -errno, "--config %s: %s", path, strerror(errno));
    do {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 20)) {
                fclose(f);
                free(buf);
                return err_set(e, -EFBIG, "--config %s: larger than 1 MiB", path);
            }
            buf = realloc(buf, cap);
            if (!buf) {
                fclose(f);
                return err_set(e, -ENOMEM, "--config %s: out of memory", path);
            }
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    rc = config_parse_json(c, buf, len, e);
    free(buf);
    if (rc < 0)
        err_wrap(e, "%s", path);
    return rc;
}

/* The first pass over the command line: --help prints and returns
 * CONFIG_HELP; --config FILE is noted, so the file applies before the
 * flags. */
static int scan_help_and_config(struct config *c, int argc, char **argv, struct err *e)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help-markdown") == 0) {
            config_print_markdown(stdout);
            return CONFIG_HELP;
        }
        if (strcmp(argv[i], "--help-man") == 0) {
            config_print_man(stdout);
            return CONFIG_HELP;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_print_help(stdout);
            return CONFIG_HELP;
        }
        if (strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '=' || argv[i][8] == '\0')) {
            const char *v = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
            if (!v || !*v)
                return err_set(e, -EINVAL, "--config: missing FILE");
            snprintf(c->config_file, sizeof(c->config_file), "%s", v);
        }
    }
    return 0;
}

/* The flags, in order: --flag VALUE, --flag=VALUE, or --flag alone for
 * true or false. given[i] is set for each row a flag sets. */
static int apply_flags(struct config *c, int argc, char **argv, int *given, struct err *e)
{
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *v;
        const struct opt *o;
        char where[96];

        if (strncmp(a, "--", 2) != 0)
            return err_set(e, -EINVAL, "unexpected argument \"%s\"", a);
        a += 2;
        eq = strchr(a, '=');
        o = find_flag(a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o)
            return err_set(e, -EINVAL, "unknown flag --%.*s", eq ? (int)(eq - a) : (int)strlen(a),
                           a);
        snprintf(where, sizeof(where), "--%s", o->flag);
        if (o->type == T_FLAG) {
            v = eq ? eq + 1 : "true";
        } else if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc)
                return err_set(e, -EINVAL, "%s: missing %s", where, o->arg);
            v = argv[++i];
        }
        if (o->flag_only)
            continue; /* read by scan_help_and_config */
        /* a list given on the command line replaces the file's list */
        if (o->list.max && !given[o - opts])
            *list_count(c, o) = 0;
        given[o - opts] = 1;
        if ((rc = set_opt(c, o, v, where, e)) < 0)
            return rc;
    }
    return 0;
}

/* Whether a row's field holds the same value in a and b. */
static int same_value(struct config *a, struct config *b, const struct opt *o)
{
    void *x = field(a, o), *y = field(b, o);

    switch (o->type) {
    case T_ADDR:
    case T_ADDR_OFF:
        return node_addr_eq(x, y);
    case T_NODE:
    case T_PATH:
    case T_DOMAIN:
    case T_DOMAIN_OFF:
    case T_DC:
        return strcmp(x, y) == 0;
    case T_CHOICE:
    case T_FLAG:
        return *(int *)x == *(int *)y;
    case T_U32:
    case T_U64:
    case T_TTL:
    case T_WORKERS:
        return config_uint_at(x, o->type) == config_uint_at(y, o->type);
    default:
        return 0; /* lists have no --dev default */
    }
}

/* --dev: a row's dev value replaces its default, unless a flag set it or
 * the file set it to something else. */
static void apply_dev_defaults(struct config *c, const int *given)
{
    struct config def;

    config_init(&def);
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].dev && !given[i] && same_value(c, &def, &opts[i]))
            kinds[opts[i].type].parse(c, &opts[i], opts[i].dev, opts[i].flag, NULL);
}

int config_parse(struct config *c, int argc, char **argv, struct err *e)
{
    int given[N_OPTS] = {0};
    int rc;

    if ((rc = scan_help_and_config(c, argc, argv, e)) != 0)
        return rc;
    /* the file's lists are replaced, not appended to, by the flags' */
    if (c->config_file[0] && (rc = load_file(c, c->config_file, e)) < 0)
        return rc;
    if ((rc = apply_flags(c, argc, argv, given, e)) < 0)
        return rc;
    if (c->dev)
        apply_dev_defaults(c, given);
    return config_check(c, e);
}

/* 127.0.0.0/8 and ::1 (and ::ffff:127.0.0.0/104): only this machine
 * reaches them. The unspecified address is every interface. */
int config_is_loopback(const struct node_addr *a)
{
    static const uint8_t v6_loop[16] = {[15] = 1};
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

    if (a->family == 4)
        return a->ip[0] == 127;
    return memcmp(a->ip, v6_loop, 16) == 0 ||
           (memcmp(a->ip, v4_mapped, 12) == 0 && a->ip[12] == 127);
}

int config_check(const struct config *c, struct err *e)
{
    char addr[64];

    if (!c->http_tls_cert[0] != !c->http_tls_key[0])
        return err_set(e, -EINVAL, "%s",
                       c->http_tls_cert[0] ? "--http-tls-cert needs --http-tls-key FILE"
                                           : "--http-tls-key needs --http-tls-cert FILE");
    if (c->http_tls_cert[0] && c->http_insecure)
        return err_set(e, -EINVAL, "--http-insecure and --http-tls-cert contradict: drop one");
    if (c->acl_default == ACL_DEFAULT_OFF && !config_is_loopback(&c->http))
        return err_set(e, -EINVAL,
                       "--acl-default off lets anyone who reaches the API do anything: only "
                       "with a loopback --http address");
    if (!config_is_loopback(&c->http) && !c->http_tls_cert[0] && !c->http_insecure)
        return err_set(e, -EINVAL,
                       "--http %s is beyond loopback: give the API TLS with --http-tls-cert "
                       "FILE --http-tls-key FILE, or say --http-insecure to serve plain HTTP "
                       "to the network",
                       node_addr_str(&c->http, addr, sizeof(addr)));
    if (c->consul_http.family && !config_is_loopback(&c->consul_http) && !c->http_tls_cert[0] &&
        !c->http_insecure)
        return err_set(e, -EINVAL,
                       "--consul-http %s is beyond loopback: give the API TLS with "
                       "--http-tls-cert FILE --http-tls-key FILE, or say --http-insecure",
                       node_addr_str(&c->consul_http, addr, sizeof(addr)));
    if (c->acl_default == ACL_DEFAULT_OFF && c->consul_http.family &&
        !config_is_loopback(&c->consul_http))
        return err_set(e, -EINVAL,
                       "--acl-default off lets anyone who reaches the API do anything: only "
                       "with a loopback --consul-http address");
    if (c->n_proxy_bind) {
        struct node_addr pa;
        if (node_addr_parse(&pa, c->proxy_bind[0], CONFIG_PROXY_NO_PORT, e) < 0 ||
            pa.port != CONFIG_PROXY_NO_PORT)
            return err_set(e, -EINVAL,
                           "--proxy-bind \"%s\": an IP address without a port "
                           "(each route listens on its own)",
                           c->proxy_bind[0]);
    }
    if (!c->trust_repo[0] != !c->trust_root[0])
        return err_set(e, -EINVAL, "%s",
                       c->trust_repo[0] ? "--trust-repo needs --trust-root FILE (the pinned "
                                          "root.json; troupe never trusts a root on first use)"
                                        : "--trust-root needs --trust-repo URL|DIR");
    if (c->trust_repo[0] && strchr(c->trust_repo, ':') && strncmp(c->trust_repo, "http://", 7))
        return err_set(e, -EINVAL, "--trust-repo \"%s\": only http:// URLs or directories",
                       c->trust_repo);
    if (strcmp(c->cgroup_parent, "auto") && strcmp(c->cgroup_parent, "off") &&
        c->cgroup_parent[0] != '/')
        return err_set(e, -EINVAL, "--cgroup-parent \"%s\": auto, off, or a cgroup path from /",
                       c->cgroup_parent);
    if (c->dns_alt_domain[0]) {
        uint8_t zone[DNSW_NAME_MAX];
        char d1[DNS_DOMAIN_MAX + 1] = "", d2[DNS_DOMAIN_MAX + 1] = "";
        dns_domain_check(c->dns_domain, zone, d1, NULL);
        dns_domain_check(c->dns_alt_domain, zone, d2, NULL);
        if (strcmp(d1, d2) == 0)
            return err_set(e, -EINVAL,
                           "--dns-domain and --dns-alt-domain are both %s: give another "
                           "--dns-alt-domain, or --dns-alt-domain off",
                           d1);
    }
    if (c->probe_interval_ms || c->probe_timeout_ms) {
        struct swim_config sc;
        config_swim(c, &sc);
        if (sc.probe_timeout_ms >= sc.probe_interval_ms)
            return err_set(e, -EINVAL,
                           "--probe-timeout-ms (%u) must be below --probe-interval-ms (%u)",
                           sc.probe_timeout_ms, sc.probe_interval_ms);
    }
    return 0;
}

void config_swim(const struct config *c, struct swim_config *sc)
{
    swim_config_default(sc, c->profile);
    snprintf(sc->name, sizeof(sc->name), "%s", c->node);
    sc->addr = c->advertise.family ? c->advertise : c->bind;
    /* the timings set in c replace the profile's (0 in c: not set) */
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        void *to = (char *)sc + o->swim.off;
        uint64_t v = o->swim.scale ? config_uint_at((const char *)c + o->off, o->type) : 0;

        if (!v)
            continue;
        if (o->type == T_U64)
            *(uint64_t *)to = v * o->swim.scale;
        else
            *(uint32_t *)to = (uint32_t)(v * o->swim.scale);
    }
    {
        struct tags t = c->tags;
        char v[64];
        /* declared only: every agent must see the same capacity of a member,
         * so one that declares none is not limited (not the host's size,
         * which only that host knows) */
        if (c->capacity.cpu_millis || c->capacity.memory_mb) {
            snprintf(v, sizeof(v), "cpu_millis=%u,memory_mb=%u", c->capacity.cpu_millis,
                     c->capacity.memory_mb);
            tags_set(&t, "capacity", v, NULL); /* a --tag capacity=... is replaced */
        }
        int n = tags_encode(&t, sc->tags, sizeof(sc->tags), NULL);
        if (n < 0) /* no room left for it: the tags as given */
            n = tags_encode(&c->tags, sc->tags, sizeof(sc->tags), NULL);
        sc->tags_len = n > 0 ? (uint16_t)n : 0;
    }
}
