/* config: the one table of agent options and the code that fills struct
 * config from defaults, a JSON file (jansson) and the command line (see
 * config.h). Knows nothing of sockets or the loop. */
#include "agent/config.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_type { T_NODE, T_ADDR, T_ADDR_LIST, T_KEY_LIST, T_PATH, T_PROFILE, T_TAG_LIST, T_FLAG,
                T_LEVEL, T_U32, T_U64, T_DOMAIN, T_UPSTREAM_LIST, T_TTL };

enum opt_id { O_NODE, O_BIND, O_ADVERTISE, O_JOIN, O_ENCRYPT, O_HTTP, O_DATA_DIR, O_PROFILE,
              O_TAG, O_DEV, O_LOG_LEVEL, O_CONFIG, O_PROBE_INTERVAL, O_PROBE_TIMEOUT,
              O_PUSHPULL, O_SUSPICION_MULT, O_RETRANSMIT_MULT, O_REAP_AFTER,
              O_DNS, O_DNS_DOMAIN, O_DNS_UPSTREAM, O_DNS_SERVICE_TTL, O_DNS_NODE_TTL,
              O_DNS_NEGATIVE_TTL, O_DNS_ONLY_PASSING, O_TRUST_REPO, O_TRUST_ROOT,
              O_CONFIG_DIR, O_EXEC_CHECKS, O_TRUST_FETCH_IDLE, O_COUNT };

struct opt {
    enum opt_id id;
    const char *flag; /* without "--"; the JSON key is the same with '_' for '-' */
    enum opt_type type;
    const char *def;  /* default, as text for help and docs */
    const char *arg;  /* what the value looks like */
    const char *help;
};

static const struct opt opts[] = {
    {O_NODE, "node", T_NODE, "host name", "NAME",
     "name of this node in the cluster: 1-64 of [A-Za-z0-9._-]"},
    {O_BIND, "bind", T_ADDR, "0.0.0.0:7420", "IP:PORT", "gossip address, UDP and TCP"},
    {O_ADVERTISE, "advertise", T_ADDR, "bind address", "IP:PORT",
     "address other agents reach this one at (default: the bind address, or the first "
     "non-loopback IPv4 address when bound to 0.0.0.0)"},
    {O_JOIN, "join", T_ADDR_LIST, "none", "IP[:PORT]",
     "agent to join at start, retried with backoff until it works; repeatable"},
    {O_ENCRYPT, "encrypt", T_KEY_LIST, "none", "KEY",
     "gossip encryption key (base64 of 32 bytes, see troupe keygen); repeatable, the first "
     "seals, every one opens"},
    {O_HTTP, "http", T_ADDR, "127.0.0.1:7421", "IP:PORT", "HTTP API address"},
    {O_DATA_DIR, "data-dir", T_PATH, "/var/lib/troupe", "DIR",
     "data directory (./troupe-data with --dev)"},
    {O_PROFILE, "profile", T_PROFILE, "lan", "lan|fast",
     "timing profile: lan probes every 1 s, fast every 200 ms"},
    {O_TAG, "tag", T_TAG_LIST, "none", "KEY=VALUE", "tag of this node; repeatable"},
    {O_DEV, "dev", T_FLAG, "off", NULL,
     "development mode: bind 127.0.0.1:7420, data in ./troupe-data, debug log"},
    {O_LOG_LEVEL, "log-level", T_LEVEL, "info", "error|warn|info|debug", "log verbosity"},
    {O_CONFIG, "config", T_PATH, "none", "FILE",
     "JSON file with the same keys (join, encrypt and tag as arrays, or tags as an object); "
     "command-line flags win"},
    {O_PROBE_INTERVAL, "probe-interval-ms", T_U32, "1000, fast 200", "MS", "time between probes"},
    {O_PROBE_TIMEOUT, "probe-timeout-ms", T_U32, "500, fast 100", "MS",
     "time to wait for an ack before indirect probes"},
    {O_PUSHPULL, "pushpull-interval-ms", T_U32, "30000, fast 15000", "MS",
     "time between full state exchanges (scaled up with the cluster size)"},
    {O_SUSPICION_MULT, "suspicion-mult", T_U32, "4", "N",
     "suspicion timeout multiplier (x log10(N) x probe interval)"},
    {O_RETRANSMIT_MULT, "retransmit-mult", T_U32, "4", "N",
     "each broadcast is sent N x log10(N+1) times"},
    {O_REAP_AFTER, "reap-after-s", T_U64, "259200", "S",
     "forget dead and left members after this many seconds"},
    {O_DNS, "dns", T_ADDR, "127.0.0.1:7453", "IP:PORT|off",
     "DNS server address, UDP and TCP (port 53 needs root); when the default port is taken "
     "the agent runs without DNS and says so"},
    {O_DNS_DOMAIN, "dns-domain", T_DOMAIN, "troupe.", "DOMAIN",
     "zone the DNS server answers: NAME.service.DOMAIN, NODE.node.DOMAIN"},
    {O_DNS_UPSTREAM, "dns-upstream", T_UPSTREAM_LIST, "resolv.conf", "IP[:PORT]",
     "resolver that names outside the zone are forwarded to; repeatable (default: the "
     "nameservers of /etc/resolv.conf other than this agent; none: REFUSED)"},
    {O_DNS_SERVICE_TTL, "dns-service-ttl-s", T_TTL, "5", "S", "TTL of service records"},
    {O_DNS_NODE_TTL, "dns-node-ttl-s", T_TTL, "30", "S", "TTL of node, SOA and NS records"},
    {O_DNS_NEGATIVE_TTL, "dns-negative-ttl-s", T_TTL, "5", "S",
     "TTL of NXDOMAIN and NODATA answers (the SOA minimum)"},
    {O_DNS_ONLY_PASSING, "dns-only-passing", T_FLAG, "off", NULL,
     "DNS answers only passing instances (default: warning ones too)"},
    {O_TRUST_REPO, "trust-repo", T_PATH, "none", "URL|DIR",
     "trust repository bundles are fetched from: http://HOST[:PORT]/PATH or a directory "
     "(see troupe trust init); needs --trust-root"},
    {O_TRUST_ROOT, "trust-root", T_PATH, "none", "FILE",
     "the pinned root.json of the trust repository; bundles verify against it, never "
     "against a root fetched on first use"},
    {O_CONFIG_DIR, "config-dir", T_PATH, "none", "DIR",
     "directory of service files (*.json), read at start and on SIGHUP"},
    {O_EXEC_CHECKS, "enable-exec-checks", T_FLAG, "off", NULL,
     "allow health checks that run a command (exec checks); refused otherwise"},
    {O_TRUST_FETCH_IDLE, "trust-fetch-idle-ms", T_U32, "10000", "MS",
     "a mirror silent this long while sending metadata or a bundle is given up (a whole "
     "transfer also gets one second per 64 KiB it may carry)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static int is_number(enum opt_type t)
{
    return t == T_U32 || t == T_U64 || t == T_TTL;
}

static void json_key(const struct opt *o, char *out, size_t cap)
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
static int tags_fit(const struct config *c, const char *where, struct err *e)
{
    struct err sub;

    if (tags_encode(&c->tags, NULL, SWIM_TAGS_MAX, &sub) < 0)
        return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
    return 0;
}

static int set_opt(struct config *c, const struct opt *o, const char *v, const char *where,
                   struct err *e)
{
    uint64_t u;
    struct err sub;

    switch (o->type) {
    case T_NODE:
        if (!valid_node(v))
            return err_set(e, -EINVAL, "%s: node name \"%s\" must be 1-64 of [A-Za-z0-9._-]",
                           where, v);
        snprintf(c->node, sizeof(c->node), "%s", v);
        return 0;
    case T_ADDR: {
        struct node_addr *a = o->id == O_BIND ? &c->bind
                              : o->id == O_HTTP ? &c->http
                              : o->id == O_DNS  ? &c->dns
                                                : &c->advertise;
        if (o->id == O_DNS) {
            c->dns_explicit = 1;
            if (strcmp(v, "off") == 0) {
                memset(&c->dns, 0, sizeof(c->dns));
                return 0;
            }
        }
        if (node_addr_parse(a, v, 0, &sub) < 0)
            return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
        return 0;
    }
    case T_ADDR_LIST: {
        struct node_addr a;
        if (c->n_join == CONFIG_JOIN_MAX)
            return err_set(e, -EINVAL, "%s: more than %d join addresses", where,
                           CONFIG_JOIN_MAX);
        if (strlen(v) >= sizeof(c->join[0]) || node_addr_parse(&a, v, 7420, &sub) < 0)
            return err_set(e, -EINVAL, "%s: %s", where,
                           strlen(v) >= sizeof(c->join[0]) ? "address too long" : sub.msg);
        snprintf(c->join[c->n_join++], sizeof(c->join[0]), "%s", v);
        return 0;
    }
    case T_KEY_LIST: {
        unsigned char key[64];
        size_t len = 0;
        if (c->n_keys == CONFIG_KEYS_MAX)
            return err_set(e, -EINVAL, "%s: more than %d keys", where, CONFIG_KEYS_MAX);
        if (strlen(v) >= sizeof(c->keys[0]) ||
            sodium_base642bin(key, sizeof(key), v, strlen(v), NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            len != 32) {
            sodium_memzero(key, sizeof(key));
            return err_set(e, -EINVAL,
                           "%s: key %zu is not base64 of 32 bytes (make one with troupe keygen)",
                           where, c->n_keys + 1);
        }
        sodium_memzero(key, sizeof(key));
        snprintf(c->keys[c->n_keys++], sizeof(c->keys[0]), "%s", v);
        return 0;
    }
    case T_PATH: {
        char *dst = o->id == O_DATA_DIR     ? c->data_dir
                    : o->id == O_TRUST_REPO ? c->trust_repo
                    : o->id == O_TRUST_ROOT ? c->trust_root
                    : o->id == O_CONFIG_DIR ? c->config_dir
                                            : c->config_file;
        if (!*v || strlen(v) >= PATH_MAX)
            return err_set(e, -EINVAL, "%s: empty or too long path", where);
        snprintf(dst, PATH_MAX, "%s", v);
        return 0;
    }
    case T_PROFILE:
        if (strcmp(v, "lan") == 0)
            c->profile = SWIM_PROFILE_LAN;
        else if (strcmp(v, "fast") == 0)
            c->profile = SWIM_PROFILE_FAST;
        else
            return err_set(e, -EINVAL, "%s: profile \"%s\" is not lan or fast", where, v);
        return 0;
    case T_TAG_LIST:
        if (tags_set_kv(&c->tags, v, &sub) < 0)
            return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
        return tags_fit(c, where, e);
    case T_FLAG: {
        int *flag = o->id == O_DEV           ? &c->dev
                    : o->id == O_EXEC_CHECKS ? &c->exec_checks
                                             : &c->dns_only_passing;
        if (strcmp(v, "true") == 0)
            *flag = 1;
        else if (strcmp(v, "false") == 0)
            *flag = 0;
        else
            return err_set(e, -EINVAL, "%s: expected true or false, not \"%s\"", where, v);
        return 0;
    }
    case T_DOMAIN: {
        struct dns_config dc;
        struct dns *d;
        dns_config_default(&dc);
        if (strlen(v) > DNS_DOMAIN_MAX)
            return err_set(e, -EINVAL, "%s: domain longer than %d characters", where,
                           DNS_DOMAIN_MAX);
        snprintf(dc.domain, sizeof(dc.domain), "%s", v);
        dc.cache_slots = 1;
        if (!(d = dns_new(&dc, 1, &sub)))
            return err_set(e, -EINVAL, "%s: %s", where, sub.msg);
        dns_free(d);
        snprintf(c->dns_domain, sizeof(c->dns_domain), "%s", v);
        return 0;
    }
    case T_UPSTREAM_LIST: {
        struct node_addr a;
        if (c->n_dns_upstreams == CONFIG_DNS_UPSTREAMS_MAX)
            return err_set(e, -EINVAL, "%s: more than %d upstream resolvers", where,
                           CONFIG_DNS_UPSTREAMS_MAX);
        if (strlen(v) >= sizeof(c->dns_upstreams[0]) || node_addr_parse(&a, v, 53, &sub) < 0)
            return err_set(e, -EINVAL, "%s: %s", where,
                           strlen(v) >= sizeof(c->dns_upstreams[0]) ? "address too long"
                                                                    : sub.msg);
        snprintf(c->dns_upstreams[c->n_dns_upstreams++], sizeof(c->dns_upstreams[0]), "%s", v);
        return 0;
    }
    case T_TTL:
        if (parse_uint(v, 7 * 86400, &u) < 0)
            return err_set(e, -EINVAL, "%s: \"%s\" is not a number of seconds from 0 to 604800",
                           where, v);
        *(o->id == O_DNS_SERVICE_TTL ? &c->dns_service_ttl_s
          : o->id == O_DNS_NODE_TTL  ? &c->dns_node_ttl_s
                                     : &c->dns_negative_ttl_s) = (uint32_t)u;
        return 0;
    case T_LEVEL:
        if (log_level_parse(v, &c->log_level) < 0)
            return err_set(e, -EINVAL, "%s: log level \"%s\" is not error, warn, info or debug",
                           where, v);
        return 0;
    case T_U32:
    case T_U64:
        if (parse_uint(v, o->type == T_U32 ? UINT32_MAX : UINT64_MAX / 1000, &u) < 0 || u == 0)
            return err_set(e, -EINVAL, "%s: \"%s\" is not a positive whole number", where, v);
        switch (o->id) {
        case O_PROBE_INTERVAL: c->probe_interval_ms = (uint32_t)u; break;
        case O_PROBE_TIMEOUT: c->probe_timeout_ms = (uint32_t)u; break;
        case O_PUSHPULL: c->pushpull_interval_ms = (uint32_t)u; break;
        case O_SUSPICION_MULT: c->suspicion_mult = (uint32_t)u; break;
        case O_RETRANSMIT_MULT: c->retransmit_mult = (uint32_t)u; break;
        case O_TRUST_FETCH_IDLE: c->trust_fetch_idle_ms = (uint32_t)u; break;
        default: c->reap_after_s = u; break;
        }
        return 0;
    }
    return err_set(e, -EINVAL, "%s: unknown option", where);
}

void config_init(struct config *c)
{
    char host[256] = "";

    memset(c, 0, sizeof(*c));
    if (gethostname(host, sizeof(host) - 1) == 0 && valid_node(host))
        memcpy(c->node, host, strlen(host) + 1); /* valid_node: at most 64 bytes */
    else
        snprintf(c->node, sizeof(c->node), "troupe");
    node_addr_parse(&c->bind, "0.0.0.0:7420", 0, NULL);
    node_addr_parse(&c->http, "127.0.0.1:7421", 0, NULL);
    node_addr_parse(&c->dns, "127.0.0.1:7453", 0, NULL);
    {
        struct dns_config dc;
        dns_config_default(&dc);
        snprintf(c->dns_domain, sizeof(c->dns_domain), "%s", dc.domain);
        c->dns_service_ttl_s = dc.service_ttl_s;
        c->dns_node_ttl_s = dc.node_ttl_s;
        c->dns_negative_ttl_s = dc.negative_ttl_s;
    }
    snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/troupe");
    c->profile = SWIM_PROFILE_LAN;
    c->log_level = LOG_INFO;
}

static const struct opt *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
            return &opts[i];
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

int config_parse_json(struct config *c, const char *text, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *key;
    char where[128], num[32];
    const char *val;
    int rc = 0;

    if (!root)
        return err_set(e, -EINVAL, "config file: line %d: %s", jerr.line, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(e, -EINVAL, "config file: expected a JSON object");
    }
    json_object_foreach(root, key, v) {
        const struct opt *o = NULL;
        char k[64];
        for (size_t i = 0; i < N_OPTS && !o; i++) {
            json_key(&opts[i], k, sizeof(k));
            if (strcmp(k, key) == 0)
                o = &opts[i];
        }
        snprintf(where, sizeof(where), "config key \"%s\"", key);
        if (strcmp(key, "tags") == 0 && json_is_object(v)) {
            const char *tk;
            json_t *tv;
            json_object_foreach(v, tk, tv) {
                struct err sub;
                if (!json_is_string(tv)) {
                    rc = err_set(e, -EINVAL, "config key \"tags\".%s: expected a string", tk);
                    goto out;
                }
                if (tags_set(&c->tags, tk, json_string_value(tv), &sub) < 0) {
                    rc = err_set(e, -EINVAL, "config key \"tags\": %s", sub.msg);
                    goto out;
                }
                if ((rc = tags_fit(c, "config key \"tags\"", e)) < 0)
                    goto out;
            }
            continue;
        }
        if (!o || o->id == O_CONFIG) {
            rc = err_set(e, -EINVAL, "config file: unknown key \"%s\"", key);
            goto out;
        }
        if (o->type == T_ADDR_LIST || o->type == T_KEY_LIST || o->type == T_TAG_LIST ||
            o->type == T_UPSTREAM_LIST) {
            size_t i;
            json_t *item;
            if (!json_is_array(v)) {
                rc = err_set(e, -EINVAL, "%s: expected an array of strings", where);
                goto out;
            }
            json_array_foreach(v, i, item) {
                if (!json_is_string(item)) {
                    rc = err_set(e, -EINVAL, "%s[%zu]: expected a string", where, i);
                    goto out;
                }
                if ((rc = set_opt(c, o, json_string_value(item), where, e)) < 0)
                    goto out;
            }
            continue;
        }
        if ((o->type == T_FLAG && !json_is_boolean(v)) ||
            (is_number(o->type) && !json_is_integer(v)) ||
            (o->type != T_FLAG && !is_number(o->type) && !json_is_string(v)) ||
            !(val = json_value_text(v, num, sizeof(num)))) {
            rc = err_set(e, -EINVAL, "%s: wrong type (expected %s)", where,
                         o->type == T_FLAG                        ? "true or false"
                         : is_number(o->type)                     ? "a number"
                                                                  : "a string");
            goto out;
        }
        if ((rc = set_opt(c, o, val, where, e)) < 0)
            goto out;
    }
out:
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

int config_parse(struct config *c, int argc, char **argv, struct err *e)
{
    int explicit_[O_COUNT] = {0};
    int rc;

    /* first pass: --help and --config, so the file applies before the flags */
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
    if (c->config_file[0]) {
        /* the file's lists are replaced, not appended to, by the flags' */
        if ((rc = load_file(c, c->config_file, e)) < 0)
            return rc;
    }
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
        if (o->id == O_CONFIG)
            continue;
        /* a list given on the command line replaces the file's list */
        if (!explicit_[o->id]) {
            if (o->type == T_ADDR_LIST)
                c->n_join = 0;
            else if (o->type == T_KEY_LIST)
                c->n_keys = 0;
            else if (o->type == T_UPSTREAM_LIST)
                c->n_dns_upstreams = 0;
        }
        explicit_[o->id] = 1;
        if ((rc = set_opt(c, o, v, where, e)) < 0)
            return rc;
    }
    if (c->dev) {
        /* development defaults, unless set by a flag or the file */
        struct config def;
        config_init(&def);
        if (!explicit_[O_BIND] && node_addr_eq(&c->bind, &def.bind))
            node_addr_parse(&c->bind, "127.0.0.1:7420", 0, NULL);
        if (!explicit_[O_DATA_DIR] && strcmp(c->data_dir, def.data_dir) == 0)
            snprintf(c->data_dir, sizeof(c->data_dir), "./troupe-data");
        if (!explicit_[O_LOG_LEVEL] && c->log_level == def.log_level)
            c->log_level = LOG_DEBUG;
    }
    return config_check(c, e);
}

int config_check(const struct config *c, struct err *e)
{
    if (!c->trust_repo[0] != !c->trust_root[0])
        return err_set(e, -EINVAL, "%s",
                       c->trust_repo[0] ? "--trust-repo needs --trust-root FILE (the pinned "
                                          "root.json; troupe never trusts a root on first use)"
                                        : "--trust-root needs --trust-repo URL|DIR");
    if (c->trust_repo[0] && strchr(c->trust_repo, ':') && strncmp(c->trust_repo, "http://", 7))
        return err_set(e, -EINVAL, "--trust-repo \"%s\": only http:// URLs or directories",
                       c->trust_repo);
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
    if (c->probe_interval_ms)
        sc->probe_interval_ms = c->probe_interval_ms;
    if (c->probe_timeout_ms)
        sc->probe_timeout_ms = c->probe_timeout_ms;
    if (c->pushpull_interval_ms)
        sc->pushpull_interval_ms = c->pushpull_interval_ms;
    if (c->suspicion_mult)
        sc->suspicion_mult = c->suspicion_mult;
    if (c->retransmit_mult)
        sc->retransmit_mult = c->retransmit_mult;
    if (c->reap_after_s)
        sc->reap_after_ms = c->reap_after_s * 1000;
    {
        int n = tags_encode(&c->tags, sc->tags, sizeof(sc->tags), NULL);
        sc->tags_len = n > 0 ? (uint16_t)n : 0;
    }
}

void config_print_help(FILE *f)
{
    fprintf(f, "Usage: troupe agent [OPTIONS]\n\nRuns the troupe agent.\n\nOptions:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", opts[i].flag, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-34s %s (default: %s)\n", left, opts[i].help, opts[i].def);
    }
    fprintf(f, "  %-34s %s\n", "--help", "print this help");
    fprintf(f, "\nSignals: SIGTERM/SIGINT leave gracefully; SIGHUP reloads tags, keys and the service files of --config-dir.\n");
}

static void md(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

void config_print_markdown(FILE *f)
{
    fprintf(f, "# troupe agent options\n\n"
               "Generated by `troupe agent --help-markdown` from the option table in "
               "`agent/config.c`. Every flag is also a key of the `--config` JSON file, "
               "with `_` for `-`.\n\n"
               "| flag | JSON key | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char k[64];
        json_key(&opts[i], k, sizeof(k));
        fprintf(f, "| `--%s%s", opts[i].flag, opts[i].arg ? " " : "");
        md(f, opts[i].arg ? opts[i].arg : "");
        if (opts[i].id == O_CONFIG) /* the file cannot name another file */
            fprintf(f, "` | (flag only) | %s | ", opts[i].def);
        else
            fprintf(f, "` | `%s` | %s | ", k, opts[i].def);
        md(f, opts[i].help);
        fprintf(f, " |\n");
    }
}

/* Text for a roff man page: '-' as \- (a minus sign, so flags can be
 * searched and copied), a backslash as \e, a leading '.' or '\'' made safe. */
static void roff(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '-')
            fputs("\\-", f);
        else if (*s == '\\')
            fputs("\\e", f);
        else
            fputc(*s, f);
    }
}

void config_print_man(FILE *f)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        char k[64];
        json_key(&opts[i], k, sizeof(k));
        fprintf(f, ".TP\n%s \"\\-\\-", opts[i].arg ? ".BI" : ".B");
        roff(f, opts[i].flag);
        if (opts[i].arg) {
            fprintf(f, " \" \"");
            roff(f, opts[i].arg);
        }
        fprintf(f, "\"\n");
        roff(f, opts[i].help);
        fprintf(f, ".\nDefault: ");
        roff(f, opts[i].def);
        if (opts[i].id == O_CONFIG) {
            fprintf(f, "; a flag only.\n");
            continue;
        }
        fprintf(f, "; JSON key \\fB");
        roff(f, k);
        fprintf(f, "\\fR.\n");
    }
}
