/* api_ui: serves the web UI (agent/api/ui/: HTML, CSS and JS with no build
 * step, embedded in the binary) at /ui. The page reads the same JSON API
 * anyone may read; it holds no state and writes nothing. */
#include "agent/api/api_ui.h"

#include <string.h>

#include "agent/api/api_impl.h"

int api_ui_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const char *name;

    (void)a;
    if (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0)
        name = "index.html";
    else if (!api_prefix(path, "/ui/", &name))
        return 0;
    if (strcmp(method, "GET") != 0) {
        api_reply_error(req, 405, "method %s not allowed on %s", method, path);
        return 1;
    }
    for (const struct api_ui_file *f = api_ui_files; f->name; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        httpd_add_header(req, "Cache-Control", "no-cache");
        httpd_add_header(req, "X-Content-Type-Options", "nosniff");
        httpd_add_header(req, "Content-Security-Policy",
                         "default-src 'self'; frame-ancestors 'none'");
        httpd_respond(req, 200, f->content_type, f->data, f->len);
        return 1;
    }
    api_reply_error(req, 404, "no such file of the UI: %s", path);
    return 1;
}
