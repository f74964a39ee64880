/* libFuzzer target of the DNS request path (core/dns): any bytes, as a UDP
 * datagram or a TCP message, against a small fake catalog. A request gets
 * silence or a response that libknot parses back, within the size limit
 * of its transport; never a crash. Names are answered in troupe's zone and
 * in Consul's (consul., datacenter dc1). The first input byte picks the
 * transport and whether the answer cache is used. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "core/dns.h"

static int instances(void *ud, const char *service, const char *tag, struct dns_inst *out,
                     size_t cap)
{
    (void)ud;
    if (strcmp(service, "web") != 0)
        return 0;
    for (size_t i = 0; i < 70 && i < cap; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        snprintf(out[i].node, sizeof(out[i].node), "n%zu", i % 3);
        out[i].family = (uint8_t)(i % 5 == 0 ? 0 : i % 2 ? 4 : 6);
        out[i].ip[0] = 10;
        out[i].ip[3] = (uint8_t)i;
        out[i].port = (uint16_t)(8000 + i);
        out[i].weight = (uint16_t)i;
        out[i].status = (uint8_t)(i % 3);
        out[i].serving = i % 7 != 0;
    }
    return tag && strcmp(tag, "x") ? 0 : 70;
}

static int node(void *ud, const char *name, struct node_addr *out)
{
    (void)ud;
    if (strncmp(name, "n", 1) != 0 || strlen(name) != 2)
        return 0;
    memset(out, 0, sizeof(*out));
    out->family = 4;
    out->ip[0] = 192;
    out->ip[3] = (uint8_t)name[1];
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dns *d;
    static uint8_t out[DNS_MSG_MAX];
    static uint64_t index = 1;
    struct dns_view v = {instances, node, NULL, 0};
    size_t len = 0;
    int tcp;
    enum dns_action act;

    if (!d) {
        struct dns_config c;
        dns_config_default(&c);
        snprintf(c.self, sizeof(c.self), "n1");
        snprintf(c.alt_domain, sizeof(c.alt_domain), "consul."); /* Consul's names too */
        c.cache_slots = 64;
        d = dns_new(&c, 1, NULL);
    }
    if (size < 1)
        return 0;
    tcp = data[0] & 1;
    v.index = (data[0] & 2) ? index : 0;
    if (data[0] & 4)
        index++;
    dns_set_upstreams(d, (data[0] & 8) != 0);
    act = dns_handle(d, &v, data + 1, size - 1, tcp, out, sizeof(out), &len);
    if (act == DNS_REPLY) {
        knot_pkt_t *p;
        if (len < 12 || len > (tcp ? DNS_MSG_MAX : DNS_UDP_PAYLOAD))
            abort();
        p = knot_pkt_new(out, (uint16_t)len, NULL);
        if (!p || knot_pkt_parse(p, 0) != KNOT_EOK)
            abort();
        knot_pkt_free(p);
    } else if (len != 0) {
        abort();
    }
    len = dns_error_reply(d, data + 1, size - 1, tcp, DNS_RCODE_SERVFAIL, out, sizeof(out));
    if (len > DNS_MSG_MAX)
        abort();
    return 0;
}
