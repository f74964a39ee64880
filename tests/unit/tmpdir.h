/* tmpdir: a fresh directory under /tmp as a cmocka group fixture. Setup
 * puts its path (on the heap) in *state; teardown removes the directory
 * with all it holds, and frees the path. Include after <cmocka.h>. */
#ifndef TROUPE_TEST_TMPDIR_H
#define TROUPE_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int tmpdir_make(void **state)
{
    char *d = strdup("/tmp/troupe-test-XXXXXX");

    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    *state = d;
    return 0;
}

static inline int tmpdir_remove(void **state)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

#endif
