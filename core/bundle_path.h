/* bundle_path: whether one entry of a bundle's tarball may be unpacked.
 * Pure: it looks at the entry's path, type and link target as the archive
 * states them, and refuses absolute paths, ".." components, device files
 * and links that point outside the bundle, with a message naming the
 * entry. The unpacker (agent/bundle_archive) calls it for every entry
 * before it writes anything, and also asks libarchive never to follow a
 * symlink while extracting. */
#ifndef TROUPE_BUNDLE_PATH_H
#define TROUPE_BUNDLE_PATH_H

#include "core/err.h"

#define BUNDLE_PATH_MAX 1024

enum bundle_entry {
    BUNDLE_ENT_FILE,
    BUNDLE_ENT_DIR,
    BUNDLE_ENT_SYMLINK,
    BUNDLE_ENT_HARDLINK, /* link: the path of another entry of the bundle */
    BUNDLE_ENT_DEVICE,   /* character or block device */
    BUNDLE_ENT_OTHER,    /* fifo, socket, unknown */
};

/* Returns 0 when the entry is safe, -EPERM ("path-escaping tarball: ...")
 * or -EINVAL (device file, unsupported type, bad name) with a message. */
int bundle_path_check(const char *path, enum bundle_entry type, const char *link, struct err *e);

#endif
