/* embed: a build tool, not part of the agent. Writes a C file that holds
 * the UI's files (agent/api/ui/: HTML, CSS, JS) as byte arrays with their
 * names and content types, so that the agent serves them from its binary.
 * usage: embed OUT.c FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot && strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

static int embed(FILE *out, int i, const char *path)
{
    FILE *in = fopen(path, "rb");
    int c;
    long n = 0;

    if (!in) {
        perror(path);
        return -1;
    }
    fprintf(out, "static const unsigned char file%d[] = {", i);
    while ((c = getc(in)) != EOF)
        fprintf(out, "%s0x%02x,", n++ % 16 ? "" : "\n    ", c);
    fprintf(out, "\n    0x00};\n");
    fclose(in);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *out;

    if (argc < 2) {
        fprintf(stderr, "usage: embed OUT.c FILE...\n");
        return 2;
    }
    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated at build time by agent/api/ui/embed.c from agent/api/ui/. */\n"
                 "#include \"agent/api/api_ui.h\"\n\n");
    for (int i = 2; i < argc; i++)
        if (embed(out, i - 2, argv[i]) < 0)
            return 1;
    fprintf(out, "\nconst struct api_ui_file api_ui_files[] = {\n");
    for (int i = 2; i < argc; i++) {
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        fprintf(out, "    {\"%s\", \"%s\", file%d, sizeof(file%d) - 1},\n", base,
                content_type(base), i - 2, i - 2);
    }
    fprintf(out, "    {0, 0, 0, 0},\n};\n");
    return fclose(out) == 0 ? 0 : 1;
}
