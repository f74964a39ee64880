/* consul_write: Consul's health entries written straight to text, without
 * a JSON tree: /v1/health/service/NAME is the read Consul's tools repeat
 * most (Prometheus, consul-template), and building and freeing a jansson
 * tree of some forty values per entry cost twice troupe's own answer
 * (bench/consul.sh). The text is what consul_shape.c's builders give for
 * the same values (the unit test compares them), so the two stay one shape.
 * Pure. */
#ifndef TROUPE_CONSUL_WRITE_H
#define TROUPE_CONSUL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/consul/consul_shape.h"

/* A growing buffer; zero it to start, consul_buf_release frees. */
struct consul_buf {
    char *p;
    size_t len, cap;
};
void consul_buf_release(struct consul_buf *b);
void consul_buf_add(struct consul_buf *b, const char *s, size_t len);

/* One entry of /v1/health/service/NAME: {"Node": consul_node_json,
 * "Service": consul_service_json without Datacenter, "Checks":
 * [consul_serf_check_json, consul_check_json...]}. */
void consul_health_entry_write(struct consul_buf *b, const struct consul_node *n,
                               const struct cat_entry *en, uint64_t index);

#endif
