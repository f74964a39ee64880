/* Fuzz target: the parsers of core/acl. The first byte picks one: a rule
 * as a client types it (what parses must format back to text that parses
 * to the same rule), or a token record's value as it arrives in gossip
 * (what decodes must encode back to the same bytes, and a decision over
 * it must not read past its rules). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rule(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), back[ACL_RULE_TEXT_MAX];
    struct acl_rule r, r2;

    memcpy(text, data, size);
    text[size] = '\0';
    if (acl_rule_parse(&r, text, NULL) == 0) {
        acl_rule_format(&r, back, sizeof(back));
        if (acl_rule_parse(&r2, back, NULL) != 0 || r2.resource != r.resource ||
            r2.access != r.access || strcmp(r2.prefix, r.prefix) != 0)
            abort(); /* a parsed rule did not survive its own text */
    }
    free(text);
}

static void fuzz_record(const uint8_t *data, size_t size)
{
    struct acl_token t, t2;
    struct acl_decision d;
    uint8_t buf[ACL_VALUE_MAX];
    int n;

    memset(&t, 0, sizeof(t));
    memcpy(t.name, "fuzz", 5);
    if (acl_token_decode(&t, data, size, NULL) != 0)
        return;
    n = acl_token_encode(&t, buf, sizeof(buf), NULL);
    if (n < 0 || (size_t)n != size || memcmp(buf, data, size) != 0)
        abort(); /* the encoding is canonical: what decodes encodes to the same bytes */
    memset(&t2, 0, sizeof(t2));
    if (acl_token_decode(&t2, buf, (size_t)n, NULL) != 0)
        abort();
    for (uint8_t res = 0; res <= ACL_RES_MAX; res++) {
        acl_allows(&t, ACL_DEFAULT_READ, res, ACL_WRITE, "app/x", 1, &d);
        if (d.access > ACL_WRITE)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_record(data + 1, size - 1);
    else
        fuzz_rule(data + 1, size - 1);
    return 0;
}
