/* api_ui: the web UI's files, built into the binary (see ui/embed.c), and
 * the route that serves them at /ui. */
#ifndef TROUPE_API_UI_H
#define TROUPE_API_UI_H

#include <stddef.h>

struct api_ui_file {
    const char *name; /* "index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};
/* Generated: ends with an entry whose name is NULL. */
extern const struct api_ui_file api_ui_files[];

struct agent;
struct httpd_req;
/* GET /ui, /ui/ (index.html) and /ui/NAME: 1 when path is the UI's. */
int api_ui_route(struct agent *a, struct httpd_req *req, const char *method, const char *path);

#endif
