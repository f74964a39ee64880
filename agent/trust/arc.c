/* arc: libarchive through dlopen (see arc.h). Every function libarchive
 * gives troupe is a field of one table, filled by dlsym in arc_load; the
 * fields take their types from <archive.h>, so a wrong signature does not
 * compile. */
#include "agent/trust/arc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* libarchive's soname, unchanged since libarchive 3.0 (2011). */
#define ARC_SONAME "libarchive.so.13"

static struct {
    __typeof__(archive_entry_new) *entry_new;
    __typeof__(archive_entry_free) *entry_free;
    __typeof__(archive_entry_filetype) *entry_filetype;
    __typeof__(archive_entry_perm) *entry_perm;
    __typeof__(archive_entry_size) *entry_size;
    __typeof__(archive_entry_pathname) *entry_pathname;
    __typeof__(archive_entry_hardlink) *entry_hardlink;
    __typeof__(archive_entry_symlink) *entry_symlink;
    __typeof__(archive_entry_set_pathname) *entry_set_pathname;
    __typeof__(archive_entry_set_hardlink) *entry_set_hardlink;
    __typeof__(archive_entry_set_symlink) *entry_set_symlink;
    __typeof__(archive_entry_set_filetype) *entry_set_filetype;
    __typeof__(archive_entry_set_perm) *entry_set_perm;
    __typeof__(archive_entry_set_size) *entry_set_size;
    __typeof__(archive_entry_set_uid) *entry_set_uid;
    __typeof__(archive_entry_set_gid) *entry_set_gid;
    __typeof__(archive_entry_set_mtime) *entry_set_mtime;
    __typeof__(archive_error_string) *error_string;
    __typeof__(archive_read_new) *read_new;
    __typeof__(archive_read_free) *read_free;
    __typeof__(archive_read_support_filter_all) *read_support_filter_all;
    __typeof__(archive_read_support_filter_zstd) *read_support_filter_zstd;
    __typeof__(archive_read_support_format_all) *read_support_format_all;
    __typeof__(archive_read_support_format_tar) *read_support_format_tar;
    __typeof__(archive_read_open_filename) *read_open_filename;
    __typeof__(archive_read_open_memory) *read_open_memory;
    __typeof__(archive_read_next_header) *read_next_header;
    __typeof__(archive_read_data) *read_data;
    __typeof__(archive_read_data_block) *read_data_block;
    __typeof__(archive_write_new) *write_new;
    __typeof__(archive_write_disk_new) *write_disk_new;
    __typeof__(archive_write_free) *write_free;
    __typeof__(archive_write_disk_set_options) *write_disk_set_options;
    __typeof__(archive_write_set_format_pax_restricted) *write_set_format_pax_restricted;
    __typeof__(archive_write_add_filter_zstd) *write_add_filter_zstd;
    __typeof__(archive_write_open_filename) *write_open_filename;
    __typeof__(archive_write_header) *write_header;
    __typeof__(archive_write_data) *write_data;
    __typeof__(archive_write_data_block) *write_data_block;
    __typeof__(archive_write_finish_entry) *write_finish_entry;
    __typeof__(archive_write_close) *write_close;
} lib;

#define SYM(f)                                                                                     \
    {                                                                                              \
        "archive_" #f, offsetof(__typeof__(lib), f)                                                \
    }
static const struct {
    const char *name;
    size_t off;
} syms[] = {
    SYM(entry_new),
    SYM(entry_free),
    SYM(entry_filetype),
    SYM(entry_perm),
    SYM(entry_size),
    SYM(entry_pathname),
    SYM(entry_hardlink),
    SYM(entry_symlink),
    SYM(entry_set_pathname),
    SYM(entry_set_hardlink),
    SYM(entry_set_symlink),
    SYM(entry_set_filetype),
    SYM(entry_set_perm),
    SYM(entry_set_size),
    SYM(entry_set_uid),
    SYM(entry_set_gid),
    SYM(entry_set_mtime),
    SYM(error_string),
    SYM(read_new),
    SYM(read_free),
    SYM(read_support_filter_all),
    SYM(read_support_filter_zstd),
    SYM(read_support_format_all),
    SYM(read_support_format_tar),
    SYM(read_open_filename),
    SYM(read_open_memory),
    SYM(read_next_header),
    SYM(read_data),
    SYM(read_data_block),
    SYM(write_new),
    SYM(write_disk_new),
    SYM(write_free),
    SYM(write_disk_set_options),
    SYM(write_set_format_pax_restricted),
    SYM(write_add_filter_zstd),
    SYM(write_open_filename),
    SYM(write_header),
    SYM(write_data),
    SYM(write_data_block),
    SYM(write_finish_entry),
    SYM(write_close),
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* empty when loaded */

static void load(void)
{
    void *dl = dlopen(ARC_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (!dl) {
        snprintf(why, sizeof(why), "%s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *p = dlsym(dl, syms[i].name);
        if (!p) {
            snprintf(why, sizeof(why), "%s: no %s", ARC_SONAME, syms[i].name);
            dlclose(dl);
            return;
        }
        memcpy((char *)&lib + syms[i].off, &p, sizeof(p));
    }
}

int arc_load(struct err *e)
{
    pthread_once(&once, load);
    if (why[0])
        return err_set(e, -ENOENT, "cannot load libarchive (needed for bundles): %s", why);
    return 0;
}

struct archive_entry *arc_entry_new(void)
{
    return lib.entry_new();
}

void arc_entry_free(struct archive_entry *en)
{
    lib.entry_free(en);
}

mode_t arc_entry_filetype(struct archive_entry *en)
{
    return lib.entry_filetype(en);
}

mode_t arc_entry_perm(struct archive_entry *en)
{
    return lib.entry_perm(en);
}

la_int64_t arc_entry_size(struct archive_entry *en)
{
    return lib.entry_size(en);
}

const char *arc_entry_pathname(struct archive_entry *en)
{
    return lib.entry_pathname(en);
}

const char *arc_entry_hardlink(struct archive_entry *en)
{
    return lib.entry_hardlink(en);
}

const char *arc_entry_symlink(struct archive_entry *en)
{
    return lib.entry_symlink(en);
}

void arc_entry_set_pathname(struct archive_entry *en, const char *s)
{
    lib.entry_set_pathname(en, s);
}

void arc_entry_set_hardlink(struct archive_entry *en, const char *s)
{
    lib.entry_set_hardlink(en, s);
}

void arc_entry_set_symlink(struct archive_entry *en, const char *s)
{
    lib.entry_set_symlink(en, s);
}

void arc_entry_set_filetype(struct archive_entry *en, unsigned int type)
{
    lib.entry_set_filetype(en, type);
}

void arc_entry_set_perm(struct archive_entry *en, mode_t perm)
{
    lib.entry_set_perm(en, perm);
}

void arc_entry_set_size(struct archive_entry *en, la_int64_t size)
{
    lib.entry_set_size(en, size);
}

void arc_entry_set_uid(struct archive_entry *en, la_int64_t id)
{
    lib.entry_set_uid(en, id);
}

void arc_entry_set_gid(struct archive_entry *en, la_int64_t id)
{
    lib.entry_set_gid(en, id);
}

void arc_entry_set_mtime(struct archive_entry *en, time_t s, long ns)
{
    lib.entry_set_mtime(en, s, ns);
}

const char *arc_error_string(struct archive *a)
{
    return lib.error_string(a);
}

struct archive *arc_read_new(void)
{
    return lib.read_new();
}

int arc_read_free(struct archive *a)
{
    return lib.read_free(a);
}

int arc_read_support_filter_all(struct archive *a)
{
    return lib.read_support_filter_all(a);
}

int arc_read_support_filter_zstd(struct archive *a)
{
    return lib.read_support_filter_zstd(a);
}

int arc_read_support_format_all(struct archive *a)
{
    return lib.read_support_format_all(a);
}

int arc_read_support_format_tar(struct archive *a)
{
    return lib.read_support_format_tar(a);
}

int arc_read_open_filename(struct archive *a, const char *file, size_t block)
{
    return lib.read_open_filename(a, file, block);
}

int arc_read_open_memory(struct archive *a, const void *buf, size_t len)
{
    return lib.read_open_memory(a, buf, len);
}

int arc_read_next_header(struct archive *a, struct archive_entry **en)
{
    return lib.read_next_header(a, en);
}

la_ssize_t arc_read_data(struct archive *a, void *buf, size_t len)
{
    return lib.read_data(a, buf, len);
}

int arc_read_data_block(struct archive *a, const void **buf, size_t *len, la_int64_t *off)
{
    return lib.read_data_block(a, buf, len, off);
}

struct archive *arc_write_new(void)
{
    return lib.write_new();
}

struct archive *arc_write_disk_new(void)
{
    return lib.write_disk_new();
}

int arc_write_free(struct archive *a)
{
    return lib.write_free(a);
}

int arc_write_disk_set_options(struct archive *a, int flags)
{
    return lib.write_disk_set_options(a, flags);
}

int arc_write_set_format_pax_restricted(struct archive *a)
{
    return lib.write_set_format_pax_restricted(a);
}

int arc_write_add_filter_zstd(struct archive *a)
{
    return lib.write_add_filter_zstd(a);
}

int arc_write_open_filename(struct archive *a, const char *file)
{
    return lib.write_open_filename(a, file);
}

int arc_write_header(struct archive *a, struct archive_entry *en)
{
    return lib.write_header(a, en);
}

la_ssize_t arc_write_data(struct archive *a, const void *buf, size_t len)
{
    return lib.write_data(a, buf, len);
}

la_ssize_t arc_write_data_block(struct archive *a, const void *buf, size_t len, la_int64_t off)
{
    return lib.write_data_block(a, buf, len, off);
}

int arc_write_finish_entry(struct archive *a)
{
    return lib.write_finish_entry(a);
}

int arc_write_close(struct archive *a)
{
    return lib.write_close(a);
}
