/* dns_cat: the catalog (core/cat) as core/dns sees it: the instances of a
 * service, with their health and whether their node is served, through
 * the dns_instances_fn callback. Owns nothing; pure. */
#ifndef TROUPE_DNS_CAT_H
#define TROUPE_DNS_CAT_H

#include "core/cat.h"
#include "core/dns.h"

/* A dns_instances_fn over ud = a const struct cat_view *. Tags match
 * without case, as DNS names do. */
int dns_cat_instances(void *ud, const char *service, const char *tag, struct dns_inst *out,
                      size_t cap);

#endif
