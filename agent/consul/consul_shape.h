/* consul_shape: the JSON of Consul's HTTP API, built from troupe's own
 * values (core/cat), and a Consul registration body read into troupe's
 * service definition. Field names, capitalization and types follow
 * Consul's API documentation; docs/consul-compat.md says where a value
 * means something else in a cluster without servers. Pure (jansson,
 * libsodium for ids and base64): no agent state, so the unit tests and the
 * fuzz target drive it directly. Every builder returns a new reference the
 * caller owns. */
#ifndef TROUPE_CONSUL_SHAPE_H
#define TROUPE_CONSUL_SHAPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cat.h"
#include "core/err.h"

/* A node as Consul's catalog shows it. */
struct consul_node {
    const char *name;
    const char *address; /* its IP, no port */
    const char *dc;      /* --datacenter */
    const struct tags *meta;
};

/* A node id in Consul's form (a UUID), the same for a name on every agent. */
void consul_node_id(const char *name, char out[37]);

/* {ID, Node, Address, Datacenter, TaggedAddresses, Meta, CreateIndex,
 * ModifyIndex}: /v1/catalog/nodes, and "Node" of health entries. */
json_t *consul_node_json(const struct consul_node *n, uint64_t index);
/* An instance as /v1/agent/services, /v1/agent/service/ID and "Service" of
 * health entries show it: Address is "" when the node's address is meant. */
json_t *consul_service_json(const struct cat_instance *in, const char *dc, uint64_t index);
/* One row of /v1/catalog/service/NAME: the node's fields and Service*. */
json_t *consul_catalog_service_json(const struct consul_node *n, const struct cat_instance *in,
                                    uint64_t index);
/* A check (in may be NULL: tags unknown). */
json_t *consul_check_json(const char *node, const struct cat_check *ck,
                          const struct cat_instance *in, uint64_t index);
/* The node's own check, serfHealth: passing while the member is served
 * (alive or suspect), critical once it is dead or left. */
json_t *consul_serf_check_json(const char *node, int serving, uint64_t index);
/* One entry of /v1/health/service/NAME: Node, Service (without
 * Datacenter), Checks (serfHealth first, then the instance's). */
json_t *consul_health_entry_json(const struct consul_node *n, const struct cat_entry *en,
                                 uint64_t index);
/* A KV entry: Value is base64, null when empty (as Consul shows it). */
json_t *consul_kv_json(const char *key, const uint8_t *val, size_t len, uint64_t create_index,
                       uint64_t modify_index);
/* A user event: ID a UUID from (origin, seq), Payload base64 or null. */
json_t *consul_event_json(const char *origin, const struct cat_event *ev, uint64_t ltime);
/* One of /v1/agent/members: status is Serf's (1 alive, 3 left, 4 failed). */
json_t *consul_member_json(const char *name, const char *addr, uint16_t port, int serf_status,
                           json_t *tags);

/* Consul's check type of a troupe check type: exec is "script". */
const char *consul_check_type(const char *type);
/* A Consul check status: "passing", "warning", "critical" into *status;
 * -1 for anything else. */
int consul_status_parse(const char *s, uint8_t *status);

/* A Go duration ("10s", "1m30s", "250ms", "1h") in milliseconds: 0 or -1. */
int consul_duration(const char *s, uint64_t *ms);

/* A Consul service registration body (PUT /v1/agent/service/register:
 * Name, ID, Tags, Address, Port, Meta, Weights, Check, Checks; keys in any
 * case, as Consul reads them) as troupe's service definition JSON
 * (agent/catalog/services.h), for services_parse. Check ids default as
 * Consul's: "service:ID", "service:ID:N" for several. A field troupe
 * cannot honour (a gRPC or Docker check, Connect) is -EINVAL naming it;
 * one that changes nothing here (Notes, EnableTagOverride) is ignored.
 * Returns the new object, or NULL with e set. */
json_t *consul_register_body(json_t *body, struct err *e);

/* A Consul check registration (/v1/agent/check/register: Name, ID,
 * ServiceID, HTTP, TCP, Args, TTL, Interval, Timeout, Notes, Status) into
 * troupe's check definition (services_parse_check reads it). The id is ID,
 * else Name, as Consul's. *status gets Status (CAT_CRITICAL without it).
 * ServiceID is the caller's. Returns the new object, or NULL with e set. */
json_t *consul_check_register_body(json_t *body, uint8_t *status, struct err *e);

#endif
