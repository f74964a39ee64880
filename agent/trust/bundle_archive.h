/* bundle_archive: the bundle file format, over libarchive. A bundle is a
 * zstd-compressed tar (tar.zst) whose first entry is troupe-bundle.json,
 * the manifest {"entrypoint", "name", "runtime", "version"}, followed by
 * the files of one directory (an application or a container rootfs).
 * Packing is reproducible: entries sorted by name, mtime 0, owner 0:0, no
 * user or group names, permission bits only; the same directory gives the
 * same bytes. Unpacking checks every entry (core/bundle_path) before it
 * writes it and never follows a symlink. Blocking file I/O: the agent
 * calls it from its thread pool. */
#ifndef TROUPE_BUNDLE_ARCHIVE_H
#define TROUPE_BUNDLE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define BUNDLE_MANIFEST     "troupe-bundle.json"
#define BUNDLE_MANIFEST_MAX (64u << 10)
#define BUNDLE_FIELD_MAX    255
#define BUNDLE_UNPACK_MAX   (16ull << 30) /* bytes written by one unpack */
#define BUNDLE_ENTRIES_MAX  (1u << 20)

struct bundle_manifest {
    char name[BUNDLE_FIELD_MAX + 1];
    char version[BUNDLE_FIELD_MAX + 1];
    char entrypoint[BUNDLE_FIELD_MAX + 1]; /* command line, relative to the bundle root */
    char runtime[16];                      /* "process" or "oci" */
};

/* Fills m from flags, checking each (name and version make "NAME@VERSION"). */
int bundle_manifest_set(struct bundle_manifest *m, const char *name, const char *version,
                        const char *entrypoint, const char *runtime, struct err *e);
/* Packs dir into out (written to out.tmp, then renamed). */
int bundle_pack(const char *dir, const struct bundle_manifest *m, const char *out, struct err *e);
/* Reads the manifest of the bundle in file. */
int bundle_read_manifest(const char *file, struct bundle_manifest *m, struct err *e);
/* Unpacks the bundle in file (or in memory) into dest, which must not
 * exist: into dest.tmp first, renamed when every entry passed. m may be NULL. */
int bundle_unpack(const char *file, const char *dest, struct bundle_manifest *m, struct err *e);
int bundle_unpack_mem(const void *buf, size_t len, const char *dest, struct bundle_manifest *m,
                      struct err *e);
/* rm -rf path, never following symlinks; 0 when it is gone. */
int bundle_rmtree(const char *path);

#endif
