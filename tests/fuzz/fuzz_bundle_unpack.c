/* Fuzz target: unpacking a bundle (agent/bundle_archive over libarchive and
 * core/bundle_path), the bytes a signed-but-hostile publisher could ship.
 * Each input unpacks into a fresh directory under one private temporary
 * directory; nothing may be written outside it, and it is removed after. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/trust/bundle_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];

/* Entries of dir, "." and ".." aside. */
static int count(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dest[128], parent[128];
    struct err e;

    if (!base[0]) {
        snprintf(base, sizeof(base), "/tmp/troupe-fuzz-unpack-XXXXXX");
        if (!mkdtemp(base))
            abort();
    }
    /* dest sits two levels down: an escape by ".." would land in parent */
    snprintf(parent, sizeof(parent), "%s/p", base);
    snprintf(dest, sizeof(dest), "%s/p/b", base);
    mkdir(parent, 0700);
    bundle_unpack_mem(data, size, dest, NULL, &e);
    bundle_rmtree(dest);
    /* with dest gone, both directories above it must be as they were */
    if (count(parent) != 0 || count(base) != 1)
        abort();
    return 0;
}
