/* yaml_hint.c — the commonest YAML mistakes in plain words.  libyaml reports a tab as
 * "found character that cannot start any token" and a key indented wrongly as "did not
 * find expected key" or "mapping values are not allowed in this context"; here the source
 * text around libyaml's position is read to say what happened, at the line where it did. */
#include "parser/yaml_tree.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *s; /* the line's first character */
    int len;       /* without the newline */
    int indent;    /* leading spaces (up to a tab or the text) */
    int tab;       /* column (1-based) of a tab in the leading whitespace, or 0 */
    int blank;     /* empty, spaces only, or a comment only */
} src_line;

/* Line `n` (1-based) of text; 0 when the text has fewer lines. */
static int get_line(const char *text, size_t len, int n, src_line *l)
{
    const char *p = text, *end = text + len;
    for (int k = 1; k < n; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return 0;
        p = nl + 1;
    }
    if (p > end || (p == end && n > 1)) return 0;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    l->s = p;
    l->len = (int)((nl ? nl : end) - p);
    if (l->len > 0 && p[l->len - 1] == '\r') l->len--;
    l->indent = l->tab = 0;
    int i = 0;
    while (i < l->len && (p[i] == ' ' || p[i] == '\t')) {
        if (p[i] == '\t' && !l->tab) l->tab = i + 1;
        if (!l->tab) l->indent++;
        i++;
    }
    l->blank = i == l->len || p[i] == '#';
    return 1;
}

/* The key of a "key: ..." line (up to the colon), into buf; "" when the line has none. */
static const char *key_of(const src_line *l, char *buf, size_t n)
{
    int i = l->indent;
    if (i < l->len && l->s[i] == '-') i += 2; /* "- key: v" */
    int k = i;
    while (k < l->len && l->s[k] != ':' && l->s[k] != '#')
        k++;
    if (k >= l->len || l->s[k] != ':') k = i;
    snprintf(buf, n, "%.*s", k - i, l->s + i);
    return buf;
}

/* Whether the line is "key: VALUE" with a value on it (not "key:" opening a block). */
static int has_inline_value(const src_line *l)
{
    for (int i = l->indent; i + 1 < l->len; i++)
        if (l->s[i] == ':' && l->s[i + 1] == ' ') {
            int k = i + 1;
            while (k < l->len && l->s[k] == ' ')
                k++;
            return k < l->len && l->s[k] != '#';
        }
    return 0;
}

/* The nearest non-blank line before n (0: none). */
static int prev_line(const char *text, size_t len, int n, src_line *l)
{
    for (int k = n - 1; k >= 1; k--)
        if (get_line(text, len, k, l) && !l->blank) return k;
    return 0;
}

int nn_yaml_hint(const char *file, const char *text, size_t len, int line, const char *problem,
                 nn_diag *d)
{
    src_line l, q, par;
    char k1[64], k2[64];
    /* a tab in the indentation, on the problem line or any before it */
    for (int n = 1; n <= line; n++)
        if (get_line(text, len, n, &l) && l.tab && !l.blank) {
            nn_diag_error(d, (nn_mark){file, n, l.tab},
                          "a tab character in the indentation: YAML indents with spaces only");
            nn_diag_note(d, "replace the tab with spaces (an editor's \"indent using spaces\" "
                            "setting does it for the whole file)");
            return 1;
        }
    if (!get_line(text, len, line, &l)) return 0;
    if (problem && strstr(problem, "cannot start any token") && memchr(l.s, '\t', (size_t)l.len)) {
        int col = (int)((const char *)memchr(l.s, '\t', (size_t)l.len) - l.s) + 1;
        nn_diag_error(d, (nn_mark){file, line, col},
                      "a tab character: YAML allows no tabs outside quoted text");
        nn_diag_note(d, "replace the tab with spaces");
        return 1;
    }
    const char *sub = NULL; /* "${" on the line */
    for (int i = 0; !sub && i + 1 < l.len; i++)
        if (l.s[i] == '$' && l.s[i + 1] == '{') sub = l.s + i;
    if (problem && strstr(problem, "expected ',' or '}'") && sub) {
        nn_diag_error(d, (nn_mark){file, line, (int)(sub - l.s) + 1},
                      "'${...}' inside a flow map {...}: its '{' starts a map there");
        nn_diag_note(d, "quote it, as in {lr: '${matrix.lr}'}, or write the map in block style");
        return 1;
    }
    int pn = prev_line(text, len, line, &q);
    if (!pn || l.blank) return 0;
    int item = l.indent + 1 < l.len && l.s[l.indent] == '-' && l.s[l.indent + 1] == ' ';
    if (problem && strstr(problem, "did not find expected key") && item && l.indent > q.indent &&
        q.s[q.indent] == '-') {
        nn_diag_error(d, (nn_mark){file, line, l.indent + 1},
                      "this list item is indented by %d spaces, the one above it (line %d) by %d",
                      l.indent, pn, q.indent);
        nn_diag_note(d, "the items of one list line up: start each '- ' in the same column");
        return 1;
    }
    if (problem && strstr(problem, "did not find expected key") && l.indent < q.indent) {
        /* the map the line above belongs to starts below its parent key */
        int parn = pn;
        while ((parn = prev_line(text, len, parn, &par)) && par.indent >= q.indent) {
        }
        if (!parn || l.indent <= par.indent) return 0;
        nn_diag_error(d, (nn_mark){file, line, l.indent + 1},
                      "'%s' is indented by %d space%s: less than the keys above it (%d, line %d) "
                      "and more than '%s' (%d, line %d)",
                      key_of(&l, k1, sizeof k1), l.indent, l.indent == 1 ? "" : "s", q.indent, pn,
                      key_of(&par, k2, sizeof k2), par.indent, parn);
        nn_diag_note(d,
                     "the keys of one map line up: indent it by %d spaces to keep it in '%s', "
                     "or by %d to make it a key next to '%s'",
                     q.indent, k2, par.indent, k2);
        return 1;
    }
    if (problem && strstr(problem, "mapping values are not allowed")) {
        if (l.indent > q.indent && has_inline_value(&q)) {
            nn_diag_error(d, (nn_mark){file, line, l.indent + 1},
                          "'%s' is indented more than '%s' on line %d (%d spaces, not %d), so it "
                          "reads as the rest of that value",
                          key_of(&l, k1, sizeof k1), key_of(&q, k2, sizeof k2), pn, l.indent,
                          q.indent);
            nn_diag_note(d, "the keys of one map line up: indent '%s' by %d spaces like '%s'", k1,
                         q.indent, k2);
            return 1;
        }
        int colons = 0;
        for (int i = l.indent; i + 1 < l.len; i++)
            colons += l.s[i] == ':' && l.s[i + 1] == ' ';
        if (colons >= 2) {
            const char *second = strstr(strstr(l.s + l.indent, ": ") + 1, ": ");
            nn_diag_error(d, (nn_mark){file, line, (int)(second - l.s) + 1},
                          "a second ': ' on one line: a value cannot hold ': ' unquoted");
            nn_diag_note(d, "quote the value ('...') if the colon is part of it, or put the "
                            "next key on a line of its own");
            return 1;
        }
    }
    return 0;
}
