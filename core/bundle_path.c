/* bundle_path: safety of bundle entries (see bundle_path.h). Paths are
 * judged lexically, component by component: "." and empty components are
 * skipped, ".." is refused in entry paths. A symlink may climb with
 * leading ".." components only, never more than its own depth, and never
 * after a named component (a named component may itself be a link, so
 * "x/.." need not mean "here"). */
#include "core/bundle_path.h"

#include <string.h>

/* Splits s into components; returns the count of named components (not
 * "." or empty), or -1 when a ".." appears and dotdot_ok is 0. With
 * dotdot_ok, *leading counts the ".." before the first named component
 * and a ".." after one returns -1. */
static int walk(const char *s, int dotdot_ok, int *leading)
{
    int named = 0;

    if (leading)
        *leading = 0;
    while (*s) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (!dotdot_ok || named)
                return -1;
            (*leading)++;
        } else if (!(n == 0 || (n == 1 && s[0] == '.'))) {
            named++;
        }
        s += n;
        if (*s == '/')
            s++;
    }
    return named;
}

static int plain_path(const char *what, const char *p, struct err *e)
{
    if (!*p)
        return err_set(e, -EINVAL, "bundle entry with an empty %s", what);
    if (strlen(p) > BUNDLE_PATH_MAX)
        return err_set(e, -EINVAL, "bundle entry %s longer than %d bytes", what, BUNDLE_PATH_MAX);
    if (p[0] == '/')
        return err_set(e, -EPERM, "path-escaping tarball: absolute %s \"%.200s\"", what, p);
    if (walk(p, 0, NULL) < 0)
        return err_set(e, -EPERM, "path-escaping tarball: %s \"%.200s\" climbs out with \"..\"",
                       what, p);
    return 0;
}

int bundle_path_check(const char *path, enum bundle_entry type, const char *link, struct err *e)
{
    int rc, depth, leading;

    if ((rc = plain_path("path", path, e)) < 0)
        return rc;
    switch (type) {
    case BUNDLE_ENT_FILE:
    case BUNDLE_ENT_DIR:
        return 0;
    case BUNDLE_ENT_DEVICE:
        return err_set(e, -EINVAL, "device file in bundle: \"%.200s\" is a device node", path);
    case BUNDLE_ENT_OTHER:
        return err_set(e, -EINVAL, "bundle entry \"%.200s\" is not a file, directory or link",
                       path);
    case BUNDLE_ENT_HARDLINK:
        if (!link)
            return err_set(e, -EINVAL, "hard link \"%.200s\" without a target", path);
        if ((rc = plain_path("hard link target", link, e)) < 0)
            return err_wrap(e, "entry \"%.200s\"", path);
        return 0;
    case BUNDLE_ENT_SYMLINK:
        if (!link || !*link)
            return err_set(e, -EINVAL, "symlink \"%.200s\" without a target", path);
        if (strlen(link) > BUNDLE_PATH_MAX)
            return err_set(e, -EINVAL, "symlink \"%.200s\": target too long", path);
        if (link[0] == '/')
            return err_set(e, -EPERM,
                           "path-escaping tarball: symlink \"%.200s\" -> \"%.200s\" is absolute",
                           path, link);
        depth = walk(path, 0, NULL) - 1; /* directories above the link */
        if (walk(link, 1, &leading) < 0 || leading > depth)
            return err_set(e, -EPERM,
                           "path-escaping tarball: symlink \"%.200s\" -> \"%.200s\" points "
                           "outside the bundle",
                           path, link);
        return 0;
    }
    return err_set(e, -EINVAL, "bundle entry \"%.200s\" of unknown type", path);
}
