/* bundle_archive: packing and unpacking bundles with libarchive (see
 * bundle_archive.h). Owns the tar.zst layout and the manifest; the entry
 * rules live in core/bundle_path. */
#include "agent/trust/bundle_archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/trust/arc.h"
#include "core/bundle_path.h"
#include "core/mem.h"
#include "core/trust.h"

static int word_ok(const char *s, const char *extra)
{
    if (!*s || strlen(s) > BUNDLE_FIELD_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return 0;
    return 1;
}

int bundle_manifest_set(struct bundle_manifest *m, const char *name, const char *version,
                        const char *entrypoint, const char *runtime, struct err *e)
{
    char full[2 * BUNDLE_FIELD_MAX + 2];

    memset(m, 0, sizeof(*m));
    if (!name || !word_ok(name, "._-") || name[0] == '.')
        return err_set(e, -EINVAL, "bundle name \"%.64s\" must be 1-255 of [A-Za-z0-9._-]",
                       name ? name : "");
    if (!version || !word_ok(version, "._+-") || version[0] == '.')
        return err_set(e, -EINVAL, "bundle version \"%.64s\" must be 1-255 of [A-Za-z0-9._+-]",
                       version ? version : "");
    snprintf(full, sizeof(full), "%s@%s", name, version);
    if (!trust_target_name_valid(full))
        return err_set(e, -EINVAL,
                       "bundle \"%.64s\" is not a valid NAME@VERSION (at most %d "
                       "bytes, no \"..\")",
                       full, TRUST_NAME_MAX);
    if (!entrypoint || !*entrypoint || strlen(entrypoint) > BUNDLE_FIELD_MAX)
        return err_set(e, -EINVAL, "bundle entrypoint must be 1-255 bytes");
    if (!runtime || (strcmp(runtime, "process") != 0 && strcmp(runtime, "oci") != 0))
        return err_set(e, -EINVAL, "bundle runtime \"%.32s\" is not process or oci",
                       runtime ? runtime : "");
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->version, sizeof(m->version), "%s", version);
    snprintf(m->entrypoint, sizeof(m->entrypoint), "%s", entrypoint);
    snprintf(m->runtime, sizeof(m->runtime), "%s", runtime);
    return 0;
}

static int manifest_parse(struct bundle_manifest *m, const char *buf, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (!j)
        return err_set(e, -EBADMSG, "%s: %s", BUNDLE_MANIFEST, jerr.text);
    rc = bundle_manifest_set(m, json_string_value(json_object_get(j, "name")),
                             json_string_value(json_object_get(j, "version")),
                             json_string_value(json_object_get(j, "entrypoint")),
                             json_string_value(json_object_get(j, "runtime")), e);
    json_decref(j);
    return rc < 0 ? err_wrap(e, "%s", BUNDLE_MANIFEST) : 0;
}

/* ---- packing ---- */

static int ar_err(struct err *e, struct archive *a, const char *what)
{
    return err_set(e, -EIO, "%s: %s", what, arc_error_string(a) ?: "libarchive error");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name); /* bytes, not the locale's collation */
}

static int skip_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static struct archive_entry *fixed_entry(const char *path, mode_t type, mode_t perm)
{
    struct archive_entry *en = arc_entry_new();
    arc_entry_set_pathname(en, path);
    arc_entry_set_filetype(en, type);
    arc_entry_set_perm(en, perm & 0777);
    arc_entry_set_mtime(en, 0, 0);
    arc_entry_set_uid(en, 0);
    arc_entry_set_gid(en, 0);
    return en;
}

static int pack_file(struct archive *a, struct archive_entry *en, const char *full, struct err *e)
{
    char buf[65536];
    ssize_t n;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0)
        return err_set(e, -errno, "%s: %s", full, strerror(errno));
    if (arc_write_header(a, en) != ARCHIVE_OK) {
        close(fd);
        return ar_err(e, a, full);
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (arc_write_data(a, buf, (size_t)n) != n) {
            rc = ar_err(e, a, full);
            break;
        }
    }
    if (n < 0)
        rc = err_set(e, -errno, "%s: %s", full, strerror(errno));
    close(fd);
    return rc;
}

/* Writes the entries under dir/rel, sorted, depth first. */
static int pack_dir(struct archive *a, const char *dir, const char *rel, struct err *e)
{
    struct dirent **names;
    char full[PATH_MAX], sub[PATH_MAX];
    int n, rc = 0, i;

    snprintf(full, sizeof(full), "%s%s%s", dir, *rel ? "/" : "", rel);
    n = scandir(full, &names, skip_dots, by_name);
    if (n < 0)
        return err_set(e, -errno, "%s: %s", full, strerror(errno));
    for (i = 0; i < n && rc == 0; i++) {
        struct stat st;
        struct archive_entry *en = NULL;
        char target[PATH_MAX];
        ssize_t tl;

        if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]->d_name) >=
                sizeof(sub) - 1 ||
            (size_t)snprintf(full, sizeof(full), "%s/%s", dir, sub) >= sizeof(full) - 1) {
            rc = err_set(e, -ENAMETOOLONG, "%s/%s: path too long", dir, names[i]->d_name);
            break;
        }
        if (!*rel && strcmp(sub, BUNDLE_MANIFEST) == 0) {
            rc = err_set(e, -EEXIST, "%s already holds a %s; troupe writes that file itself", dir,
                         BUNDLE_MANIFEST);
            break;
        }
        if (lstat(full, &st) < 0) {
            rc = err_set(e, -errno, "%s: %s", full, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            en = fixed_entry(sub, AE_IFDIR, st.st_mode);
            if (arc_write_header(a, en) != ARCHIVE_OK)
                rc = ar_err(e, a, full);
            else
                rc = pack_dir(a, dir, sub, e);
        } else if (S_ISREG(st.st_mode)) {
            en = fixed_entry(sub, AE_IFREG, st.st_mode);
            arc_entry_set_size(en, st.st_size);
            rc = pack_file(a, en, full, e);
        } else if (S_ISLNK(st.st_mode)) {
            tl = readlink(full, target, sizeof(target) - 1);
            if (tl < 0) {
                rc = err_set(e, -errno, "%s: %s", full, strerror(errno));
            } else {
                target[tl] = '\0';
                en = fixed_entry(sub, AE_IFLNK, 0777);
                arc_entry_set_symlink(en, target);
                if (arc_write_header(a, en) != ARCHIVE_OK)
                    rc = ar_err(e, a, full);
            }
        } else {
            rc = err_set(e, -EINVAL,
                         "%s is a device, fifo or socket; a bundle holds files, directories "
                         "and symlinks only",
                         full);
        }
        arc_entry_free(en);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int bundle_pack(const char *dir, const struct bundle_manifest *m, const char *out, struct err *e)
{
    struct archive *a;
    struct archive_entry *en;
    char tmp[PATH_MAX];
    json_t *j;
    char *text;
    size_t len;
    struct stat st;
    int rc;

    if ((rc = arc_load(e)) < 0)
        return rc;
    a = arc_write_new();
    j = json_pack("{s:s, s:s, s:s, s:s}", "name", m->name, "version", m->version, "entrypoint",
                  m->entrypoint, "runtime", m->runtime);
    text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
    len = strlen(text);
    json_decref(j);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = err_set(e, -ENOTDIR, "%s is not a directory", dir);
        goto out;
    }
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= sizeof(tmp)) {
        rc = err_set(e, -ENAMETOOLONG, "%s: path too long", out);
        goto out;
    }
    if (arc_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        arc_write_add_filter_zstd(a) != ARCHIVE_OK ||
        arc_write_open_filename(a, tmp) != ARCHIVE_OK) {
        rc = ar_err(e, a, tmp);
        goto out;
    }
    en = fixed_entry(BUNDLE_MANIFEST, AE_IFREG, 0644);
    arc_entry_set_size(en, (la_int64_t)len);
    if (arc_write_header(a, en) != ARCHIVE_OK || arc_write_data(a, text, len) != (la_ssize_t)len)
        rc = ar_err(e, a, tmp);
    arc_entry_free(en);
    if (rc == 0)
        rc = pack_dir(a, dir, "", e);
    if (arc_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = ar_err(e, a, tmp);
    if (rc == 0 && rename(tmp, out) < 0)
        rc = err_set(e, -errno, "%s: %s", out, strerror(errno));
    if (rc < 0)
        unlink(tmp);
out:
    arc_write_free(a);
    free(text);
    return rc;
}

/* ---- reading ---- */

static struct archive *reader(void)
{
    struct archive *a = arc_read_new();
    arc_read_support_filter_zstd(a);
    arc_read_support_format_tar(a);
    return a;
}

static int read_manifest_entry(struct archive *a, struct archive_entry *en,
                               struct bundle_manifest *m, char **text, size_t *len, struct err *e)
{
    la_int64_t size = arc_entry_size(en);
    char *buf;

    if (strcmp(arc_entry_pathname(en), BUNDLE_MANIFEST) != 0 || arc_entry_filetype(en) != AE_IFREG)
        return err_set(e, -EBADMSG, "not a troupe bundle: the first entry is \"%.100s\", not %s",
                       arc_entry_pathname(en), BUNDLE_MANIFEST);
    if (size < 0 || size > BUNDLE_MANIFEST_MAX)
        return err_set(e, -EBADMSG, "%s larger than %u bytes", BUNDLE_MANIFEST,
                       BUNDLE_MANIFEST_MAX);
    buf = xmalloc((size_t)size + 1);
    if (arc_read_data(a, buf, (size_t)size) != size) {
        free(buf);
        return ar_err(e, a, BUNDLE_MANIFEST);
    }
    buf[size] = '\0';
    if (manifest_parse(m, buf, (size_t)size, e) < 0) {
        free(buf);
        return e->code;
    }
    *text = buf;
    *len = (size_t)size;
    return 0;
}

/* A reader of the bundle in file (free with arc_read_free). */
static int open_file(const char *file, struct archive **out, struct err *e)
{
    struct archive *a;
    int rc;

    if ((rc = arc_load(e)) < 0)
        return rc;
    a = reader();
    if (arc_read_open_filename(a, file, 65536) != ARCHIVE_OK) {
        rc = ar_err(e, a, file);
        arc_read_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int bundle_read_manifest(const char *file, struct bundle_manifest *m, struct err *e)
{
    struct archive *a;
    struct archive_entry *en;
    char *text = NULL;
    size_t len;
    int rc;

    if ((rc = open_file(file, &a, e)) < 0)
        return rc;
    if (arc_read_next_header(a, &en) != ARCHIVE_OK)
        rc = err_set(e, -EBADMSG, "%s: not a troupe bundle: %s", file,
                     arc_error_string(a) ?: "no entries");
    else if ((rc = read_manifest_entry(a, en, m, &text, &len, e)) < 0)
        err_wrap(e, "%s", file);
    free(text);
    arc_read_free(a);
    return rc;
}

/* ---- unpacking ---- */

static enum bundle_entry entry_type(struct archive_entry *en)
{
    if (arc_entry_hardlink(en))
        return BUNDLE_ENT_HARDLINK;
    switch (arc_entry_filetype(en)) {
    case AE_IFREG:
        return BUNDLE_ENT_FILE;
    case AE_IFDIR:
        return BUNDLE_ENT_DIR;
    case AE_IFLNK:
        return BUNDLE_ENT_SYMLINK;
    case AE_IFCHR:
    case AE_IFBLK:
        return BUNDLE_ENT_DEVICE;
    default:
        return BUNDLE_ENT_OTHER;
    }
}

static int copy_data(struct archive *in, struct archive *out, uint64_t *total, const char *path,
                     struct err *e)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    int r;

    while ((r = arc_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
        *total += size;
        if (*total > BUNDLE_UNPACK_MAX)
            return err_set(e, -EFBIG, "bundle unpacks to more than %llu bytes",
                           (unsigned long long)BUNDLE_UNPACK_MAX);
        if (arc_write_data_block(out, buf, size, off) != ARCHIVE_OK)
            return ar_err(e, out, path);
    }
    return r == ARCHIVE_EOF ? 0 : ar_err(e, in, path);
}

/* Where dest is unpacked: final, its absolute path under a parent with
 * no symlink in it, and tmp, a hidden sibling renamed to final once the
 * tree is complete. Both leave 256 bytes of PATH_MAX for entry names. */
static int unpack_paths(const char *dest, char final[PATH_MAX], char tmp[PATH_MAX], struct err *e)
{
    char parent[PATH_MAX], base[NAME_MAX + 1], *slash;
    struct stat st;

    snprintf(tmp, PATH_MAX, "%s", dest);
    slash = strrchr(tmp, '/');
    if (strlen(slash ? slash + 1 : tmp) > NAME_MAX)
        return err_set(e, -ENAMETOOLONG, "cannot unpack into %s: name too long", dest);
    memcpy(base, slash ? slash + 1 : tmp, strlen(slash ? slash + 1 : tmp) + 1);
    if (slash)
        *slash = '\0';
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        !realpath(slash ? (*tmp ? tmp : "/") : ".", parent) ||
        (size_t)snprintf(final, PATH_MAX, "%s/%s", parent, base) >= PATH_MAX - 256 ||
        (size_t)snprintf(tmp, PATH_MAX, "%s/.%s.tmp", parent, base) >= PATH_MAX - 256)
        return err_set(e, -EINVAL, "cannot unpack into %s", dest);
    if (lstat(final, &st) == 0)
        return err_set(e, -EEXIST, "%s already exists", final);
    return 0;
}

/* The first entry, the manifest: read and checked into mf, then written
 * under tmp from memory, as its bytes can be read only once. */
static int unpack_manifest(struct archive *a, struct archive *disk, struct archive_entry *en,
                           const char *tmp, struct bundle_manifest *mf, struct err *e)
{
    char path[PATH_MAX], *text = NULL;
    size_t len;
    int rc;

    if ((rc = read_manifest_entry(a, en, mf, &text, &len, e)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", tmp, BUNDLE_MANIFEST); /* fits: see unpack_paths */
    arc_entry_set_pathname(en, path);
    arc_entry_set_perm(en, 0644);
    if (arc_write_header(disk, en) != ARCHIVE_OK ||
        arc_write_data(disk, text, len) != (la_ssize_t)len ||
        arc_write_finish_entry(disk) != ARCHIVE_OK)
        rc = ar_err(e, disk, BUNDLE_MANIFEST);
    free(text);
    return rc;
}

/* Entry number n (2..) after the manifest: checked by core/bundle_path's
 * rules, then written under tmp, with total counting the bytes so far. */
static int unpack_entry(struct archive *a, struct archive *disk, struct archive_entry *en,
                        const char *tmp, uint64_t n, uint64_t *total, struct err *e)
{
    char path[PATH_MAX], link[PATH_MAX];
    const char *name = arc_entry_pathname(en), *hl = arc_entry_hardlink(en);
    enum bundle_entry type = entry_type(en);
    int rc;

    if (!name)
        return err_set(e, -EBADMSG, "bundle entry without a name");
    if ((rc = bundle_path_check(name, type, type == BUNDLE_ENT_SYMLINK ? arc_entry_symlink(en) : hl,
                                e)) < 0)
        return rc;
    if (n > BUNDLE_ENTRIES_MAX)
        return err_set(e, -EFBIG, "bundle has more than %u entries", BUNDLE_ENTRIES_MAX);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", tmp, name) >= sizeof(path) ||
        (hl && (size_t)snprintf(link, sizeof(link), "%s/%s", tmp, hl) >= sizeof(link)))
        return err_set(e, -ENAMETOOLONG, "bundle entry \"%.100s\": path too long", name);
    arc_entry_set_pathname(en, path);
    name = path + strlen(tmp) + 1; /* the entry's own copy of the name is gone */
    if (hl)
        arc_entry_set_hardlink(en, link);
    /* no setuid, setgid or sticky bit; directories stay ours to clean up */
    arc_entry_set_perm(en, (arc_entry_perm(en) & 0777) | (type == BUNDLE_ENT_DIR ? 0700 : 0));
    if (arc_write_header(disk, en) != ARCHIVE_OK)
        return ar_err(e, disk, name);
    if (type == BUNDLE_ENT_FILE && (rc = copy_data(a, disk, total, name, e)) < 0)
        return rc;
    if (arc_write_finish_entry(disk) != ARCHIVE_OK)
        return ar_err(e, disk, name);
    return 0;
}

/* After the last entry (r: what reading the next header said): the
 * archive ended well and held a manifest; tmp becomes final. */
static int unpack_finish(struct archive *a, struct archive *disk, int r, uint64_t entries,
                         const char *tmp, const char *final, struct err *e)
{
    if (r != ARCHIVE_EOF)
        return err_set(e, -EBADMSG, "bundle is not a valid tar.zst: %s",
                       arc_error_string(a) ?: "read error");
    if (entries == 0)
        return err_set(e, -EBADMSG, "not a troupe bundle: no entries");
    if (arc_write_close(disk) != ARCHIVE_OK)
        return ar_err(e, disk, final);
    if (rename(tmp, final) < 0)
        return err_set(e, -errno, "%s: %s", final, strerror(errno));
    return 0;
}

/* Unpacks a into a new directory dest: all or nothing, as the tree is
 * built in a hidden sibling and renamed into place at the end. */
static int unpack(struct archive *a, const char *dest, struct bundle_manifest *m, struct err *e)
{
    struct archive *disk = arc_write_disk_new();
    struct archive_entry *en;
    struct bundle_manifest mf;
    char tmp[PATH_MAX], final[PATH_MAX];
    uint64_t total = 0, entries = 0;
    int r, rc, made = 0;

    if ((rc = unpack_paths(dest, final, tmp, e)) < 0)
        goto out;
    bundle_rmtree(tmp);
    if (mkdir(tmp, 0755) < 0) {
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    made = 1;
    arc_write_disk_set_options(disk, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                         ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                         ARCHIVE_EXTRACT_NO_OVERWRITE);
    while ((r = arc_read_next_header(a, &en)) == ARCHIVE_OK) {
        if (entries++ == 0)
            rc = unpack_manifest(a, disk, en, tmp, &mf, e);
        else
            rc = unpack_entry(a, disk, en, tmp, entries, &total, e);
        if (rc < 0)
            goto out;
    }
    if ((rc = unpack_finish(a, disk, r, entries, tmp, final, e)) < 0)
        goto out;
    made = 0;
    if (m)
        *m = mf;
out:
    arc_write_free(disk);
    if (made)
        bundle_rmtree(tmp);
    return rc;
}

int bundle_unpack(const char *file, const char *dest, struct bundle_manifest *m, struct err *e)
{
    struct archive *a;
    int rc;

    if ((rc = open_file(file, &a, e)) < 0)
        return rc;
    rc = unpack(a, dest, m, e);
    arc_read_free(a);
    return rc;
}

int bundle_unpack_mem(const void *buf, size_t len, const char *dest, struct bundle_manifest *m,
                      struct err *e)
{
    struct archive *a;
    int rc;

    if ((rc = arc_load(e)) < 0)
        return rc;
    a = reader();

    if (arc_read_open_memory(a, buf, len) != ARCHIVE_OK)
        rc = ar_err(e, a, "bundle");
    else
        rc = unpack(a, dest, m, e);
    arc_read_free(a);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int bundle_rmtree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -EIO;
}
