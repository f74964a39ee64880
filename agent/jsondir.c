/* jsondir: the JSON files of one directory, listed, read, parsed and
 * handed to a caller (see jsondir.h for the policy). Knows nothing of
 * what the files mean. */
#include "agent/jsondir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* The whole of a regular file of at most max bytes into *text (heap,
 * NUL-terminated; the caller frees it). */
static int read_text(const char *path, size_t max, char **text, size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    size_t n = 0;
    char *buf;

    if (fd < 0)
        return err_set(e, -errno, "%s", strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, -EINVAL, "not a regular file");
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return err_set(e, -EFBIG, "larger than %zu bytes", max);
    }
    buf = xmalloc(max + 2);
    for (;;) { /* to max + 1: a file that grew since fstat is refused too */
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = err_set(e, -errno, "%s", strerror(errno));
            close(fd);
            free(buf);
            return rc;
        }
        n += (size_t)r;
        if (r == 0 || n > max)
            break;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return err_set(e, -EFBIG, "larger than %zu bytes", max);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static void load_one(const char *path, size_t max, jsondir_apply_fn apply,
                     jsondir_refused_fn refused, void *ud)
{
    struct jsondir_file f = {.path = path};
    char *text = NULL;
    json_error_t jerr;
    struct err e;

    if (read_text(path, max, &text, &f.len, &e) < 0) {
        refused(ud, &f, &e);
        return;
    }
    f.text = text;
    f.root = json_loadb(text, f.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!f.root) {
        err_set(&e, -EINVAL, "not JSON: line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        refused(ud, &f, &e);
    } else if (apply(ud, &f, &e) < 0) {
        refused(ud, &f, &e);
    }
    json_decref(f.root);
    free(text);
}

int jsondir_load(const char *dir, size_t max_bytes, jsondir_apply_fn apply,
                 jsondir_refused_fn refused, void *ud, struct err *e)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, json_name, alphasort);

    if (n < 0)
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        size_t cap = strlen(dir) + strlen(names[i]->d_name) + 2;
        char *path = xmalloc(cap);
        snprintf(path, cap, "%s/%s", dir, names[i]->d_name);
        load_one(path, max_bytes, apply, refused, ud);
        free(path);
        free(names[i]);
    }
    free(names);
    return n;
}
