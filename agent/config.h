/* config: the agent's configuration. Every option is one row of the table
 * in config.c: its flag (the JSON key is the same with '_' for '-'), its
 * type, the offsetof its field below, its default value and its help;
 * config_init, the parsers, --help and docs/options.md all read the row.
 * A new option is a field here, a row there and its cases in
 * tests/unit/agent/test_config.c, then scripts/gen-docs. Values come from
 * defaults, then the --config JSON file, then the command line. The struct
 * holds no heap memory, so the agent can parse again on SIGHUP and swap. */
#ifndef TROUPE_CONFIG_H
#define TROUPE_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/log.h"
#include "core/acl.h"
#include "core/codec.h"
#include "core/dns.h"
#include "core/err.h"
#include "core/place.h"
#include "core/swim.h"
#include "core/tags.h"

#define CONFIG_JOIN_MAX          64
#define CONFIG_KEYS_MAX          8
#define CONFIG_DNS_UPSTREAMS_MAX 8
#define CONFIG_ITEM_MAX          64 /* bytes of one item of a list, its NUL included */
#define CONFIG_HELP              1  /* config_parse printed --help */

struct config {
    char node[SWIM_NAME_MAX + 1];
    struct node_addr bind;
    struct node_addr advertise; /* family 0: unset */
    size_t n_join;
    char join[CONFIG_JOIN_MAX][CONFIG_ITEM_MAX];
    size_t n_keys;
    char keys[CONFIG_KEYS_MAX][CONFIG_ITEM_MAX]; /* base64 of 32 bytes, first is primary */
    struct node_addr http;
    char http_tls_cert[PATH_MAX]; /* "" when the API speaks plain HTTP */
    char http_tls_key[PATH_MAX];
    int http_insecure; /* plain HTTP beyond loopback, said so */
    char data_dir[PATH_MAX];
    enum swim_profile profile;
    struct tags tags;
    struct place_res capacity; /* declared to placement; 0: from the host */
    int dev;
    enum log_level log_level;
    char config_file[PATH_MAX];
    char config_dir[PATH_MAX];    /* service files; empty: none */
    int exec_checks;              /* exec health checks allowed */
    int allow_root_services;      /* specs may ask for root, capabilities, ports < 1024 */
    char cgroup_parent[PATH_MAX]; /* "auto", "off" or a cgroup v2 path: see super_cgroup.c */
    /* tuning; 0 = the profile's default */
    uint32_t probe_interval_ms;
    uint32_t probe_timeout_ms;
    uint32_t pushpull_interval_ms;
    uint32_t suspicion_mult;
    uint32_t retransmit_mult;
    uint64_t reap_after_s;
    uint32_t gc_interval_ms; /* tombstone collection period */
    /* signed bundles: where they come from and the root they verify against */
    char trust_repo[PATH_MAX]; /* "" when none; a directory or http:// URL */
    char trust_root[PATH_MAX];
    uint32_t trust_fetch_idle_ms; /* 0 (never from config_init): the HTTP client's default */
    /* DNS */
    struct node_addr dns; /* family 0: off */
    int dns_explicit;     /* --dns given: failing to listen is fatal */
    char dns_domain[DNS_DOMAIN_MAX + 1];
    char dns_alt_domain[DNS_DOMAIN_MAX + 1]; /* Consul's names; "": off */
    char datacenter[DNS_DC_MAX + 1];         /* the cluster's name in Consul's terms */
    size_t n_dns_upstreams;                  /* 0: the nameservers of /etc/resolv.conf */
    char dns_upstreams[CONFIG_DNS_UPSTREAMS_MAX][CONFIG_ITEM_MAX];
    uint32_t dns_service_ttl_s, dns_node_ttl_s, dns_negative_ttl_s;
    int dns_only_passing;
    /* proxy: the address route listeners bind (none given: 127.0.0.1); an IP
     * without a port, parsed with CONFIG_PROXY_NO_PORT standing for none */
    size_t n_proxy_bind;
    char proxy_bind[1][CONFIG_ITEM_MAX];
    struct node_addr ingress; /* the HTTP ingress; family 0: off */
    uint32_t proxy_workers;   /* proxy threads; 0: the proxy runs on the agent's loop */
    /* limits of the listeners (HTTP API, DNS over TCP, gossip TCP) */
    uint32_t http_max_conns;
    uint32_t http_header_timeout_ms; /* request line and headers, from the first byte */
    uint32_t http_body_timeout_ms;   /* the body, once the headers are in */
    uint32_t http_idle_timeout_ms;   /* a connection between requests */
    uint32_t dns_tcp_max_conns;
    uint32_t gossip_tcp_max_conns;
    /* Consul's HTTP API (agent/consul/) */
    struct node_addr consul_http; /* family 0: off */
    int consul_http_explicit;     /* --consul-http given: failing to listen is fatal */
    enum acl_default acl_default; /* what API requests without a token may do */
};

#define CONFIG_PROXY_NO_PORT     1
#define CONFIG_PROXY_WORKERS_MAX 64 /* --proxy-workers */

void config_init(struct config *c);
/* argv[0] is "agent". Returns 0, CONFIG_HELP after printing help to stdout,
 * or a negative code with a message naming the flag or key and the value. */
int config_parse(struct config *c, int argc, char **argv, struct err *e);
/* Applies a JSON config text (what --config FILE holds); the checks across
 * options are config_check's. */
int config_parse_json(struct config *c, const char *text, size_t len, struct err *e);
/* The checks across options, once every source is applied (config_parse
 * ends with it): -EINVAL with a message naming the flags. */
int config_check(const struct config *c, struct err *e);
void config_print_help(FILE *f);
/* 1 when a is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
int config_is_loopback(const struct node_addr *a);
/* The option table as docs/options.md (--help-markdown) and as the options
 * section of the man page (--help-man); scripts/gen-docs writes both. */
void config_print_markdown(FILE *f);
void config_print_man(FILE *f);
/* One line per flag of the table: "--flag" and, for a choice, its values
 * after spaces (shell completion). */
void config_print_flags(FILE *f);
/* Fills sc from the profile and the overrides (name, address, tags too;
 * the advertised address and the seed are the agent's to set). */
void config_swim(const struct config *c, struct swim_config *sc);

#endif
