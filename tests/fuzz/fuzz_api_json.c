/* fuzz_api_json: the JSON inputs of the catalog API and of service files.
 * The first byte picks the parser: a service definition (one, wrapped in
 * "service", or a "services" list), a single check definition, or a
 * duration / host:port / URL field. Whatever parses must print back as
 * JSON that parses again to the same definition (round trip). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/catalog/services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int round_trip(void *ud, const struct catalog_def *d, struct err *e)
{
    json_t *j = services_to_json(d);
    struct catalog_def *again = calloc(1, sizeof(*again));
    struct err e2;

    (void)ud;
    (void)e;
    if (!j || !again)
        abort();
    if (services_parse(j, again, &e2) < 0)
        abort(); /* what we print we must read back */
    if (strcmp(again->inst.id, d->inst.id) || again->n_checks != d->n_checks ||
        again->inst.port != d->inst.port)
        abort();
    for (size_t i = 0; i < d->n_checks; i++)
        if (memcmp(&again->checks[i].cfg, &d->checks[i].cfg, sizeof(d->checks[i].cfg)) != 0)
            abort();
    catalog_def_release(again);
    free(again);
    json_decref(j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    char *text;

    if (size < 1)
        return 0;
    text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        services_parse_text(text, size - 1, round_trip, NULL, &e);
        break;
    case 1: {
        json_t *j = json_loadb(text, size - 1, 0, NULL);
        struct catalog_check_def c;
        if (j) {
            services_parse_check(j, "check", &c, &e);
            for (size_t i = 0; i < c.argc; i++)
                free(c.argv[i]);
            json_decref(j);
        }
        break;
    }
    default: {
        uint64_t ms;
        uint16_t port;
        char host[256], path[CATALOG_TARGET_MAX];
        services_duration(text, &ms);
        services_parse_hostport(text, host, sizeof(host), &port);
        services_parse_url(text, host, sizeof(host), &port, path, sizeof(path));
        break;
    }
    }
    free(text);
    return 0;
}
