/* api_ui: serves the web UI (agent/api/ui/: HTML, CSS and JS with no build
 * step, embedded in the binary) at /ui. The page reads the same JSON API
 * anyone may read; it holds no state and writes nothing. */
#include "agent/api/api_ui.h"

#include <string.h>

#include "agent/api/api_impl.h"

/* GET /ui, /ui/ and /ui/NAME: a file of the UI. */
static void get_ui(struct agent *a, struct httpd_req *req, const char *name)
{
    if (!name[0])
        name = "index.html";
    for (const struct api_ui_file *f = api_ui_files; f->name; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        httpd_add_header(req, "Cache-Control", "no-cache");
        httpd_add_header(req, "X-Content-Type-Options", "nosniff");
        httpd_add_header(req, "Content-Security-Policy",
                         "default-src 'self'; frame-ancestors 'none'");
        httpd_respond(req, 200, f->content_type, f->data, f->len);
        return;
    }
    api_reply_error(req, 404, "no such file of the UI: %s", httpd_req_path(req));
}

const struct api_route api_ui_routes[] = {
    {"GET", "/ui", get_ui},
    {"GET", "/ui/*", get_ui},
};
const size_t api_ui_n_routes = sizeof(api_ui_routes) / sizeof(api_ui_routes[0]);

int api_ui_route(struct agent *a, struct httpd_req *req, const char *method, const char *path)
{
    const struct api_route *r;
    const char *name;
    int known = 0;

    if ((r = api_route_find(api_ui_routes, api_ui_n_routes, method, path, &name, &known))) {
        r->fn(a, req, name);
        return 1;
    }
    if (!known)
        return 0;
    api_reply_error(req, 405, "method %s not allowed on %s", method, path);
    return 1;
}
