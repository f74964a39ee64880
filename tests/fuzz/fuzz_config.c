/* fuzz_config: the agent's configuration from untrusted text. The first
 * byte picks the input: even, a --config JSON file; odd, a command line
 * (arguments separated by newlines; --config and --help, which read files
 * or print, are left out). Parsing must not crash; a refusal always says
 * why; a configuration that parses (and passes config_check, as the agent
 * does after reading its file) gives a swim configuration a node accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "core/swim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config c;

static void check_parsed(int rc, const struct err *e)
{
    struct swim_config sc;
    struct swim *s;

    if (rc < 0) {
        if (e->msg[0] == '\0')
            abort();
        return;
    }
    config_swim(&c, &sc);
    s = swim_new(&sc, 0, NULL);
    if (!s)
        abort(); /* every accepted configuration must start a node */
    swim_free(s);
}

static void check_command_line(const char *text, size_t len)
{
    char *copy = malloc(len + 1), *argv[65], *p, *nl;
    int argc = 0;
    struct err e;

    memcpy(copy, text, len);
    copy[len] = '\0';
    argv[argc++] = "agent";
    for (p = copy; p && argc < 64; p = nl) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        if (strncmp(p, "--config", 8) == 0 || strncmp(p, "--help", 6) == 0 || strcmp(p, "-h") == 0)
            continue;
        argv[argc++] = p;
    }
    argv[argc] = NULL;
    config_init(&c);
    err_clear(&e);
    check_parsed(config_parse(&c, argc, argv, &e), &e);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    int rc;

    if (size < 1)
        return 0;
    if (data[0] % 2) {
        if (memchr(data + 1, '\0', size - 1))
            return 0; /* arguments are C strings */
        check_command_line((const char *)data + 1, size - 1);
        return 0;
    }
    {
        char *copy = malloc(size - 1 ? size - 1 : 1);
        memcpy(copy, data + 1, size - 1);
        config_init(&c);
        err_clear(&e);
        rc = config_parse_json(&c, copy, size - 1, &e);
        if (rc == 0)
            rc = config_check(&c, &e);
        check_parsed(rc, &e);
        free(copy);
    }
    return 0;
}
