/* fuzz_consul: the parsers of Consul's API (agent/consul/) on their own.
 * The first byte picks one: a ?filter= expression (parsed, then matched
 * against a fixed answer object), a Go duration, a service registration
 * body (read into troupe's definition, which services_parse must then take
 * or refuse with a message, never crash on), or a check registration body
 * (the same, through services_parse_check). The rest is the text. The
 * health entry writer runs on what a parsed body registers, and what it
 * writes must be the JSON the tree builder gives. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/catalog/services.h"
#include "agent/consul/consul_filter.h"
#include "agent/consul/consul_shape.h"
#include "agent/consul/consul_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char answer[] =
    "{\"Node\": {\"Node\": \"h1\", \"Meta\": {\"rack\": \"r1\"}}, \"Service\": {\"ID\": \"web-1\","
    " \"Tags\": [\"v1\", \"canary\"], \"Port\": 8080, \"Meta\": {}}, \"Checks\": [{\"Status\":"
    " \"passing\"}], \"ServiceAddress\": \"\", \"Passing\": true}";

static void filter(const char *text)
{
    struct consul_filter *f;
    struct err e;
    json_t *o;

    if (consul_filter_parse(text, &f, &e) < 0)
        return;
    o = json_loads(answer, 0, NULL);
    if (!o)
        abort();
    consul_filter_match(f, o);
    consul_filter_free(f);
    json_decref(o);
}

/* A registered instance as the writer and the builder see it. */
static void write_entry(const struct catalog_def *d)
{
    struct cat_entry en;
    struct cat_check ck[CATALOG_CHECKS_MAX];
    struct tags meta = {0};
    struct consul_node n = {"h1", "10.0.0.1", "dc1", &meta};
    struct consul_buf b = {0};
    json_t *tree, *text;

    memset(&en, 0, sizeof(en));
    memset(ck, 0, sizeof(ck));
    en.inst = d->inst;
    en.n_checks = (uint16_t)d->n_checks;
    en.checks = ck;
    for (size_t i = 0; i < d->n_checks; i++) {
        memcpy(ck[i].id, d->checks[i].id, sizeof(ck[i].id));
        memcpy(ck[i].instance, d->inst.id, sizeof(ck[i].instance));
        memcpy(ck[i].output, d->checks[i].target,
               CAT_OUTPUT_MAX < sizeof(d->checks[i].target) ? CAT_OUTPUT_MAX
                                                            : sizeof(d->checks[i].target));
        ck[i].output_len = (uint16_t)strlen(ck[i].output);
    }
    consul_health_entry_write(&b, &n, &en, 1);
    tree = consul_health_entry_json(&n, &en, 1);
    text = json_loadb(b.p, b.len, 0, NULL);
    if (!tree || !text || !json_equal(tree, text))
        abort(); /* the text writer and the tree builder are one shape */
    json_decref(tree);
    json_decref(text);
    consul_buf_release(&b);
}

static void body(const char *text, size_t len)
{
    json_t *in = json_loadb(text, len, 0, NULL), *def;
    struct catalog_def *d;
    struct err e;

    if (!in)
        return;
    def = consul_register_body(in, &e);
    json_decref(in);
    if (!def)
        return;
    d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    if (services_parse(def, d, &e) == 0)
        write_entry(d);
    catalog_def_release(d);
    free(d);
    json_decref(def);
}

static void check_body(const char *text, size_t len)
{
    json_t *in = json_loadb(text, len, 0, NULL), *def;
    struct catalog_check_def *c;
    struct err e;
    uint8_t status;

    if (!in)
        return;
    def = consul_check_register_body(in, &status, &e);
    json_decref(in);
    if (!def)
        return;
    if (status > CAT_CRITICAL || !json_is_string(json_object_get(def, "id")))
        abort(); /* a check always gets an id, and one of three statuses */
    c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    services_parse_check(def, "", c, &e);
    for (size_t k = 0; k < c->argc; k++)
        free(c->argv[k]);
    free(c);
    json_decref(def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    uint64_t ms;

    if (size < 1 || sodium_init() < 0)
        return 0;
    text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0'; /* the parsers take C strings: a NUL ends them */
    switch (data[0] % 4) {
    case 0:
        filter(text);
        break;
    case 1:
        consul_duration(text, &ms);
        break;
    case 2:
        body(text, size - 1);
        break;
    default:
        check_body(text, size - 1);
        break;
    }
    free(text);
    return 0;
}
