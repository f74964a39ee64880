/* config_table: the shape of a row of the option table, shared by the
 * table and its parsers (config.c) and the printers of --help, the docs
 * and the man page (config_doc.c). Not for the rest of agent/, which
 * uses config.h. */
#ifndef TROUPE_CONFIG_TABLE_H
#define TROUPE_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"

/* What a field holds. The type fixes the C type of the field, the parser
 * that turns option text into it (one per type, below), what a JSON file
 * gives for it and how its default is shown. */
enum opt_type {
    T_NODE,       /* char[SWIM_NAME_MAX + 1]: 1-64 of [A-Za-z0-9._-] */
    T_ADDR,       /* struct node_addr: IP:PORT */
    T_ADDR_OFF,   /* struct node_addr: IP:PORT, or "off" (family 0) */
    T_ADDR_LIST,  /* char[list.max][CONFIG_ITEM_MAX] and a size_t count: IP[:PORT] */
    T_KEY_LIST,   /* char[list.max][CONFIG_ITEM_MAX] and a size_t count: base64 keys */
    T_TAG_LIST,   /* struct tags: KEY=VALUE, all of them within one gossip message */
    T_PATH,       /* char[PATH_MAX]: not empty */
    T_DOMAIN,     /* char[DNS_DOMAIN_MAX + 1]: a zone the DNS server can answer */
    T_DOMAIN_OFF, /* char[DNS_DOMAIN_MAX + 1]: the same, or "off" ("") */
    T_DC,         /* char[DNS_DC_MAX + 1]: a datacenter name, one DNS label */
    T_CHOICE,     /* an enum the size of an int: one of the row's choices */
    T_FLAG,       /* int: true or false */
    T_U32,        /* uint32_t: 1 to UINT32_MAX */
    T_U64,        /* uint64_t: 1 to UINT64_MAX / 1000 (seconds that become ms) */
    T_TTL,        /* uint32_t: seconds from 0 to 604800 */
    T_WORKERS,    /* uint32_t: 0 to CONFIG_PROXY_WORKERS_MAX threads */
    T_CAPACITY,   /* struct place_res: cpu_millis=N,memory_mb=N */
};

struct opt_choice {
    const char *name; /* NULL ends a list */
    int value;
};

/* A list of strings: where its count is and how many it holds. */
struct opt_list {
    size_t n_off; /* offsetof(struct config, count) */
    size_t max;
};

/* A swim timing: 0 in struct config stands for the profile's value, which
 * swim_config_default writes to this field of struct swim_config. */
struct opt_swim {
    size_t off;     /* offsetof(struct swim_config, field): T_U32 a uint32_t, T_U64 a uint64_t */
    uint32_t scale; /* the swim field is the option's value times this; 0: no swim field */
};

/* One row of the option table. A row fills flag, type, off, arg and help,
 * and of the other columns only those its type or its behaviour needs. */
struct opt {
    const char *flag; /* without "--"; the JSON key is the same with '_' for '-' */
    enum opt_type type;
    size_t off;      /* offsetof(struct config, field): where the value goes */
    const char *arg; /* what the value looks like */
    const char *help;

    /* The default: def for numbers, flags and choices; def_text for the
     * other types, as option text that the type's parser reads (NULL:
     * empty); or def_fn, computed at start. def_doc says it in words where
     * the value cannot ("host name"); swim timings take theirs from the
     * profile (swim below). */
    uint64_t def;
    const char *def_text;
    void (*def_fn)(void *field);
    const char *def_doc;
    const char *dev; /* the default under --dev, as option text; NULL: the same */

    const char *what;                 /* T_CHOICE and lists: what a value is called in messages */
    const struct opt_choice *choices; /* T_CHOICE */
    struct opt_list list;             /* T_ADDR_LIST, T_KEY_LIST */
    uint16_t port;                    /* T_ADDR_LIST: the port when a value has none */
    struct opt_swim swim;
    size_t given_off; /* not 0: offsetof(struct config, an int) set to 1 once given */
    int flag_only;    /* not a JSON key, read before the other flags: --config */
};

/* The table (config.c), its length, and the timing profiles in the order
 * the docs show them (the first is the default). */
extern const struct opt *const config_opts;
extern const size_t config_n_opts;
extern const struct opt_choice *const config_profiles;

/* The JSON key of a row: its flag with '_' for '-'. */
void config_json_key(const struct opt *o, char *out, size_t cap);
/* The number a T_U32, T_U64, T_TTL or T_WORKERS field holds. */
uint64_t config_uint_at(const void *p, enum opt_type t);

#endif
