/* completion: `troupe _completion bash` prints the bash completion script.
 * Nothing in it is written by hand: the commands come from main.c's table,
 * their subcommands and flags from the usage lines of each row's help (and
 * of trust_cmd.c's usage), the agent's flags and their values from the
 * option table (config_print_flags). A flag added to a help text is
 * completed; one missing from it is a documentation bug the test sees. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "cli/trust_cmd.h"
#include "core/mem.h"

#define WORDS_MAX 64
#define WORD_LEN  48

/* A set of words, in the order first seen. */
struct words {
    char w[WORDS_MAX][WORD_LEN];
    size_t n;
};

static void words_add(struct words *ws, const char *s, size_t len)
{
    if (len == 0 || len >= WORD_LEN)
        return;
    for (size_t i = 0; i < ws->n; i++)
        if (strlen(ws->w[i]) == len && memcmp(ws->w[i], s, len) == 0)
            return;
    if (ws->n < WORDS_MAX) {
        memcpy(ws->w[ws->n], s, len);
        ws->w[ws->n++][len] = '\0';
    }
}

static void words_print(const struct words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        printf("%s%s", i ? " " : "", ws->w[i]);
}

/* What one command offers: subcommands, flags, and the values of the flags
 * that take one of a few words (--status alive|suspect|dead|left). */
struct comp {
    struct words subs, flags;
    struct words choice_flag; /* choice_flag.w[i] takes the words choices[i] */
    char choices[WORDS_MAX][160];
};

static int is_word(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return len > 0 && islower((unsigned char)s[0]);
}

static int is_flag(const char *s, size_t len)
{
    return len >= 2 && s[0] == '-' && isalpha((unsigned char)s[len - 1]) &&
           (len == 2 || s[1] == '-');
}

/* "alive|suspect|dead|left" with at least one '|': the words, space-separated. */
static int choice_words(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    int bars = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '|')
            bars++;
        else if (!islower((unsigned char)s[i]))
            return 0;
        if (o + 1 < cap)
            out[o++] = s[i] == '|' ? ' ' : s[i];
    }
    out[o] = '\0';
    return bars > 0;
}

/* Reads the usage lines of a help text for command cmd: on a line that
 * names "troupe CMD", the word after it is a subcommand, and so is a word
 * after a '|' outside brackets ("watch services | service NAME"); every
 * -x or --xyz is a flag, and a flag followed by a|b|c takes those words. */
static void comp_read(struct comp *c, const char *cmd, const char *help)
{
    const char *line = help;
    int ours = 0; /* this line is about cmd: it names "troupe CMD", or continues one that did */

    while (line && *line) {
        const char *end = strchr(line, '\n'), *p = line;
        size_t cl = strlen(cmd);
        int depth = 0, want_sub = 0, after_troupe = 0;
        char prev_flag[WORD_LEN] = "";

        if (!end)
            end = line + strlen(line);
        if (end == line)
            ours = 0; /* a blank line ends a usage block */
        else if (memmem(line, (size_t)(end - line), "troupe ", 7))
            ours = 0; /* until the line names cmd after "troupe" */
        while (p < end) {
            const char *t;
            size_t len;
            while (p < end && *p == ' ')
                p++;
            t = p;
            while (p < end && *p != ' ')
                p++;
            /* brackets around a token count for depth but are not its text */
            while (t < p && *t == '[') {
                depth++;
                t++;
            }
            len = (size_t)(p - t);
            int closes = 0;
            while (len && t[len - 1] == ']') {
                closes++;
                len--;
            }
            if (len == 6 && memcmp(t, "troupe", 6) == 0) {
                after_troupe = 1;
            } else if (after_troupe) {
                after_troupe = 0;
                want_sub = len == cl && memcmp(t, cmd, cl) == 0;
                ours |= want_sub;
            } else if (!ours) {
                /* another command's line: nothing to take */
            } else if (len == 1 && t[0] == '|' && depth == 0) {
                want_sub = 1;
            } else if (t[0] == '-' && memchr(t, '|', len)) {
                /* -f|--follow: each spelling is a flag */
                for (const char *q = t, *bar; q < t + len; q = bar + 1) {
                    bar = memchr(q, '|', (size_t)(t + len - q));
                    if (!bar)
                        bar = t + len;
                    if (is_flag(q, (size_t)(bar - q)))
                        words_add(&c->flags, q, (size_t)(bar - q));
                }
                want_sub = 0;
            } else if (is_flag(t, len)) {
                words_add(&c->flags, t, len);
                snprintf(prev_flag, sizeof(prev_flag), "%.*s", (int)len, t);
                want_sub = 0;
            } else {
                char ch[160];
                if (prev_flag[0] && choice_words(t, len, ch, sizeof(ch)) &&
                    c->choice_flag.n < WORDS_MAX) {
                    snprintf(c->choices[c->choice_flag.n], sizeof(c->choices[0]), "%s", ch);
                    words_add(&c->choice_flag, prev_flag, strlen(prev_flag));
                } else if (want_sub && depth == 0 && is_word(t, len)) {
                    words_add(&c->subs, t, len);
                }
                want_sub = 0;
                prev_flag[0] = '\0';
            }
            depth -= closes;
            if (depth < 0)
                depth = 0;
        }
        line = *end ? end + 1 : end;
    }
}

/* The agent's flags from its option table, with the values of choices. */
static void comp_agent(struct comp *c)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return;
    agent_print_flags(f);
    fclose(f);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        size_t fl = sp ? (size_t)(sp - line) : strlen(line);
        words_add(&c->flags, line, fl);
        if (sp && c->choice_flag.n < WORDS_MAX) {
            snprintf(c->choices[c->choice_flag.n], sizeof(c->choices[0]), "%s", sp + 1);
            words_add(&c->choice_flag, line, fl);
        }
    }
    free(buf);
}

static void print_case(const char *name, const struct comp *c)
{
    printf("        %s)\n            subs=\"", name);
    words_print(&c->subs);
    printf("\"\n            flags=\"");
    words_print(&c->flags);
    printf("\"\n");
    if (c->choice_flag.n) {
        printf("            case $prev in\n");
        for (size_t i = 0; i < c->choice_flag.n; i++)
            printf("                %s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n",
                   c->choice_flag.w[i], c->choices[i]);
        printf("            esac\n");
    }
    printf("            ;;\n");
}

static void print_bash(const struct cli_cmd *table, size_t n)
{
    static const char *const groups[] = {"trust", "bundle"};
    struct comp *c = xcalloc(1, sizeof(*c));

    printf("# bash completion for troupe, printed by `troupe _completion bash`\n"
           "# from the command's own tables; do not edit.\n"
           "_troupe()\n{\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local cmd='' sub='' subs='' flags='' i w\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        case $w in\n"
           "        --http|--ca-cert|--token) [ -z \"$cmd\" ] && ((i++)) ;;\n"
           "        -*) ;;\n"
           "        *) if [ -z \"$cmd\" ]; then cmd=$w; elif [ -z \"$sub\" ]; then sub=$w; fi ;;\n"
           "        esac\n"
           "    done\n"
           "    COMPREPLY=()\n"
           "    if [ -z \"$cmd\" ]; then\n"
           "        case $prev in --http|--ca-cert|--token) return ;; esac\n"
           "        COMPREPLY=($(compgen -W \"agent");
    for (size_t i = 0; i < n; i++)
        printf(" %s", table[i].name);
    printf(" trust bundle version help --http --ca-cert --token --help\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case $cmd in\n");
    comp_agent(c);
    print_case("agent", c);
    for (size_t i = 0; i < n; i++) {
        memset(c, 0, sizeof(*c));
        comp_read(c, table[i].name, table[i].help);
        words_add(&c->flags, "--http", 6); /* every command takes these */
        words_add(&c->flags, "--ca-cert", 9);
        words_add(&c->flags, "--token", 7);
        words_add(&c->flags, "--help", 6);
        print_case(table[i].name, c);
    }
    for (size_t g = 0; g < 2; g++) {
        memset(c, 0, sizeof(*c));
        comp_read(c, groups[g], trust_cmd_usage());
        words_add(&c->flags, "--help", 6);
        print_case(groups[g], c);
    }
    printf("    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
           "    elif [ -z \"$sub\" ] && [ -n \"$subs\" ]; then\n"
           "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
           "    fi\n"
           "}\n"
           "complete -o default -F _troupe troupe\n");
    free(c);
}

int cli_completion_main(int argc, char **argv, const struct cli_cmd *table, size_t n)
{
    if (argc != 2 || strcmp(argv[1], "bash") != 0) {
        fprintf(stderr, "usage: troupe _completion bash\n");
        return EXIT_USAGE;
    }
    print_bash(table, n);
    return 0;
}
