/* consul_filter: the common expressions of Consul's ?filter= (see
 * consul_filter.h): a tokenizer over the text, clauses in a fixed array,
 * evaluation over jansson objects. */
#include "agent/consul/consul_filter.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define TEXT_MAX 256

enum op { OP_EQ, OP_NE, OP_IN, OP_NOT_IN, OP_EMPTY, OP_NOT_EMPTY };

struct clause {
    char sel[TEXT_MAX];
    char val[TEXT_MAX];
    uint8_t op;
    uint8_t or_before; /* joined to the clause before by `or` (else `and`) */
};

struct consul_filter {
    size_t n;
    struct clause c[CONSUL_FILTER_CLAUSES_MAX];
};

/* ---- tokens ---- */

enum tok { T_END, T_WORD, T_QUOTED, T_EQ, T_NE, T_BAD };

struct lex {
    const char *p;
    char text[TEXT_MAX];
};

static int next(struct lex *l)
{
    size_t n = 0;

    while (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r')
        l->p++;
    l->text[0] = '\0';
    if (!*l->p)
        return T_END;
    if (l->p[0] == '=' && l->p[1] == '=')
        return l->p += 2, T_EQ;
    if (l->p[0] == '!' && l->p[1] == '=')
        return l->p += 2, T_NE;
    if (*l->p == '"' || *l->p == '`') {
        char q = *l->p++;
        while (*l->p && *l->p != q) {
            if (q == '"' && *l->p == '\\' && l->p[1])
                l->p++;
            if (n + 1 >= TEXT_MAX)
                return T_BAD;
            l->text[n++] = *l->p++;
        }
        if (*l->p != q)
            return T_BAD;
        l->p++;
        l->text[n] = '\0';
        return T_QUOTED;
    }
    while (isalnum((unsigned char)*l->p) || *l->p == '.' || *l->p == '_' || *l->p == '-' ||
           *l->p == ':' || *l->p == '/') {
        if (n + 1 >= TEXT_MAX)
            return T_BAD;
        l->text[n++] = *l->p++;
    }
    l->text[n] = '\0';
    return n ? T_WORD : T_BAD;
}

static int is_word(int t, const struct lex *l, const char *w)
{
    return t == T_WORD && strcmp(l->text, w) == 0;
}

static int is_value(int t)
{
    return t == T_WORD || t == T_QUOTED;
}

/* ---- clauses ---- */

static int bad(struct err *e, const char *why, const struct lex *l)
{
    return err_set(e, -EINVAL,
                   "%s near \"%.40s\" (see docs/consul-compat.md for what ?filter takes)", why,
                   l->p);
}

static int clause(struct lex *l, int t, struct clause *c, struct err *e)
{
    struct lex save;
    char first[TEXT_MAX];
    int first_quoted = t == T_QUOTED;

    if (!is_value(t))
        return bad(e, "expected a selector or a value", l);
    if (is_word(t, l, "not"))
        return bad(e, "\"not\" before a clause is not supported", l);
    snprintf(first, sizeof(first), "%s", l->text);
    t = next(l);
    if (t == T_EQ || t == T_NE) {
        c->op = t == T_EQ ? OP_EQ : OP_NE;
        if (!is_value(t = next(l)))
            return bad(e, "expected a value", l);
        snprintf(c->sel, sizeof(c->sel), "%s", first);
        snprintf(c->val, sizeof(c->val), "%s", l->text);
        return first_quoted ? bad(e, "a selector is not quoted", l) : 0;
    }
    if (is_word(t, l, "is")) {
        t = next(l);
        c->op = OP_EMPTY;
        if (is_word(t, l, "not"))
            c->op = OP_NOT_EMPTY, t = next(l);
        if (!is_word(t, l, "empty"))
            return bad(e, "expected \"empty\"", l);
        snprintf(c->sel, sizeof(c->sel), "%s", first);
        return 0;
    }
    if (is_word(t, l, "not")) {
        save = *l;
        t = next(l);
        if (is_word(t, l, "in"))
            c->op = OP_NOT_IN;
        else if (is_word(t, l, "contains"))
            c->op = OP_NOT_IN + 10; /* marked: selector first */
        else
            return bad(e, "expected \"in\" or \"contains\" after \"not\"", &save);
    } else if (is_word(t, l, "in")) {
        c->op = OP_IN;
    } else if (is_word(t, l, "contains")) {
        c->op = OP_IN + 10;
    } else {
        return bad(e, "expected ==, !=, in, contains or is", l);
    }
    if (!is_value(next(l)))
        return bad(e, "expected a selector or a value", l);
    if (c->op >= 10) { /* SEL contains VALUE */
        c->op = (uint8_t)(c->op - 10);
        snprintf(c->sel, sizeof(c->sel), "%s", first);
        snprintf(c->val, sizeof(c->val), "%s", l->text);
    } else { /* VALUE in SEL */
        snprintf(c->val, sizeof(c->val), "%s", first);
        snprintf(c->sel, sizeof(c->sel), "%s", l->text);
    }
    return 0;
}

int consul_filter_parse(const char *expr, struct consul_filter **out, struct err *e)
{
    struct consul_filter *f = xcalloc(1, sizeof(*f));
    struct lex l = {.p = expr};
    int t = next(&l), rc;

    *out = NULL;
    for (;;) {
        if ((rc = clause(&l, t, &f->c[f->n], e)) < 0)
            goto fail;
        f->n++;
        t = next(&l);
        if (t == T_END)
            break;
        if (!is_word(t, &l, "and") && !is_word(t, &l, "or")) {
            rc = bad(e, "expected \"and\" or \"or\"", &l);
            goto fail;
        }
        if (f->n == CONSUL_FILTER_CLAUSES_MAX) {
            rc = err_set(e, -EINVAL, "more than %d clauses", CONSUL_FILTER_CLAUSES_MAX);
            goto fail;
        }
        f->c[f->n].or_before = is_word(t, &l, "or");
        t = next(&l);
    }
    *out = f;
    return 0;
fail:
    free(f);
    return rc;
}

void consul_filter_free(struct consul_filter *f)
{
    free(f);
}

/* ---- evaluation ---- */

static json_t *select_path(json_t *o, const char *sel)
{
    char part[TEXT_MAX];

    while (o && *sel) {
        size_t n = strcspn(sel, ".");
        snprintf(part, sizeof(part), "%.*s", (int)n, sel);
        o = json_is_object(o) ? json_object_get(o, part) : NULL;
        sel += n + (sel[n] == '.');
    }
    return o;
}

/* A scalar as text ("" for anything else). */
static void scalar(json_t *v, char *out, size_t cap)
{
    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
}

static int contains(json_t *v, const char *val)
{
    char buf[TEXT_MAX];
    size_t i;
    json_t *item;

    if (json_is_string(v))
        return strstr(json_string_value(v), val) != NULL;
    if (json_is_object(v))
        return json_object_get(v, val) != NULL;
    json_array_foreach(v, i, item)
    {
        scalar(item, buf, sizeof(buf));
        if (strcmp(buf, val) == 0)
            return 1;
    }
    return 0;
}

static int empty(json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
           (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v));
}

static int eval(const struct clause *c, json_t *o)
{
    json_t *v = select_path(o, c->sel);
    char buf[TEXT_MAX];

    switch (c->op) {
    case OP_EQ:
    case OP_NE:
        scalar(v, buf, sizeof(buf));
        return (v && strcmp(buf, c->val) == 0) == (c->op == OP_EQ);
    case OP_IN:
        return v && contains(v, c->val);
    case OP_NOT_IN:
        return !v || !contains(v, c->val);
    case OP_EMPTY:
        return empty(v);
    default:
        return !empty(v);
    }
}

int consul_filter_match(const struct consul_filter *f, json_t *o)
{
    int group = 1; /* the `and` group under way */

    for (size_t i = 0; i < f->n; i++) {
        if (i && f->c[i].or_before) {
            if (group)
                return 1;
            group = 1;
        }
        group = group && eval(&f->c[i], o);
    }
    return group;
}
