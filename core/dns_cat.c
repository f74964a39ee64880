/* dns_cat: catalog instances for DNS answers (see dns_cat.h). */
#include "core/dns_cat.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int has_tag(const struct cat_instance *in, const char *tag)
{
    for (unsigned i = 0; i < in->n_tags; i++)
        if (cat_tag_is_label(in->tags[i]) && strcasecmp(in->tags[i], tag) == 0)
            return 1;
    return 0;
}

int dns_cat_instances(void *ud, const char *service, const char *tag, struct dns_inst *out,
                      size_t cap)
{
    const struct cat_view *v = ud;
    struct cat_entry *es = NULL;
    size_t n = 0, k = 0;

    if (cat_service_entries(v, service, NULL, CAT_CRITICAL, 0, &es, &n, NULL) < 0)
        return 0; /* not a valid service name: no such service */
    for (size_t i = 0; i < n; i++) {
        const struct cat_instance *in = &es[i].inst;
        struct dns_inst *d;

        if (tag && !has_tag(in, tag))
            continue;
        if (k++ >= cap)
            continue;
        d = &out[k - 1];
        memset(d, 0, sizeof(*d));
        snprintf(d->node, sizeof(d->node), "%s", in->node);
        if (in->address[0] && inet_pton(AF_INET, in->address, d->ip) == 1)
            d->family = 4;
        else if (in->address[0] && inet_pton(AF_INET6, in->address, d->ip) == 1)
            d->family = 6;
        d->port = in->port;
        d->weight = (uint16_t)(in->weight == 0 ? 1 : in->weight > 65535 ? 65535 : in->weight);
        d->status = es[i].status;
        d->serving = es[i].serving;
    }
    cat_entries_free(es, n);
    return k > (size_t)INT32_MAX ? INT32_MAX : (int)k;
}
