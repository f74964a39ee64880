/* arc: libarchive, loaded the first time a bundle or a rootfs tarball is
 * packed or unpacked. The agent runs for months and touches archives a few
 * times in its life; linking libarchive would map it, libxml2, ICU and
 * libstdc++ (about 2 MB resident) into every agent from its start. arc_load
 * opens the library (once, thread-safe) and says why when it cannot; the
 * arc_ functions below are libarchive's of the same name without the
 * "archive_" prefix, valid only after arc_load succeeded. */
#ifndef TROUPE_ARC_H
#define TROUPE_ARC_H

#include <archive.h>
#include <archive_entry.h>

#include "core/err.h"

/* 0 when libarchive is loaded; -ENOENT with its name and dlerror() when not. */
int arc_load(struct err *e);

struct archive_entry *arc_entry_new(void);
void arc_entry_free(struct archive_entry *en);
mode_t arc_entry_filetype(struct archive_entry *en);
mode_t arc_entry_perm(struct archive_entry *en);
la_int64_t arc_entry_size(struct archive_entry *en);
const char *arc_entry_pathname(struct archive_entry *en);
const char *arc_entry_hardlink(struct archive_entry *en);
const char *arc_entry_symlink(struct archive_entry *en);
void arc_entry_set_pathname(struct archive_entry *en, const char *s);
void arc_entry_set_hardlink(struct archive_entry *en, const char *s);
void arc_entry_set_symlink(struct archive_entry *en, const char *s);
void arc_entry_set_filetype(struct archive_entry *en, unsigned int type);
void arc_entry_set_perm(struct archive_entry *en, mode_t perm);
void arc_entry_set_size(struct archive_entry *en, la_int64_t size);
void arc_entry_set_uid(struct archive_entry *en, la_int64_t id);
void arc_entry_set_gid(struct archive_entry *en, la_int64_t id);
void arc_entry_set_mtime(struct archive_entry *en, time_t s, long ns);
const char *arc_error_string(struct archive *a);
struct archive *arc_read_new(void);
int arc_read_free(struct archive *a);
int arc_read_support_filter_all(struct archive *a);
int arc_read_support_filter_zstd(struct archive *a);
int arc_read_support_format_all(struct archive *a);
int arc_read_support_format_tar(struct archive *a);
int arc_read_open_filename(struct archive *a, const char *file, size_t block);
int arc_read_open_memory(struct archive *a, const void *buf, size_t len);
int arc_read_next_header(struct archive *a, struct archive_entry **en);
la_ssize_t arc_read_data(struct archive *a, void *buf, size_t len);
int arc_read_data_block(struct archive *a, const void **buf, size_t *len, la_int64_t *off);
struct archive *arc_write_new(void);
struct archive *arc_write_disk_new(void);
int arc_write_free(struct archive *a);
int arc_write_disk_set_options(struct archive *a, int flags);
int arc_write_set_format_pax_restricted(struct archive *a);
int arc_write_add_filter_zstd(struct archive *a);
int arc_write_open_filename(struct archive *a, const char *file);
int arc_write_header(struct archive *a, struct archive_entry *en);
la_ssize_t arc_write_data(struct archive *a, const void *buf, size_t len);
la_ssize_t arc_write_data_block(struct archive *a, const void *buf, size_t len, la_int64_t off);
int arc_write_finish_entry(struct archive *a);
int arc_write_close(struct archive *a);

#endif
