/* matrix_ref.c — `${matrix.NAME}` references: finding them (PCRE2), checking them against
 * the axes, and the substituted copy of the tree for one point (matrix.c expands). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix_int.h"

int nn_mx_refs_open(nn_mx_refs *r)
{
    int code;
    PCRE2_SIZE off;
    r->re = pcre2_compile((PCRE2_SPTR) "\\$\\{\\s*matrix\\.([^}\\s]*)\\s*\\}",
                          PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!r->re) abort(); /* a constant pattern */
    r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
    if (!r->md) abort();
    return 0;
}

void nn_mx_refs_close(nn_mx_refs *r)
{
    pcre2_match_data_free(r->md);
    pcre2_code_free(r->re);
}

/* The position of byte `off` of scalar n (exact on one line, plain or quoted). */
static nn_mark ref_mark(const nn_ynode *n, size_t off)
{
    nn_mark m = n->mark;
    if (m.line != n->end.line || n->style == NN_YLITERAL || n->style == NN_YFOLDED) return m;
    if (n->style != NN_YPLAIN) m.col++; /* the opening quote */
    for (size_t i = 0; i < off && i < n->len; i++)
        if ((n->text[i] & 0xC0) != 0x80) m.col++;
    return m;
}

static int has_dollar_brace(const nn_ynode *n, size_t from)
{
    for (const char *p = n->text + from, *end = n->text + n->len;
         from < n->len && (p = memchr(p, '$', (size_t)(end - p))) != NULL; p++)
        if (p + 1 < end && p[1] == '{') return 1;
    return 0;
}

/* Finds the next reference in n from byte `from`: 1 with [*s, *e) the whole reference and
 * [*ns, *ne) the name, or 0. */
static int next_ref(nn_mx_refs *r, const nn_ynode *n, size_t from, size_t *s, size_t *e, size_t *ns,
                    size_t *ne)
{
    if (!has_dollar_brace(n, from)) return 0; /* most scalars: no PCRE2 call */
    int rc = pcre2_match(r->re, (PCRE2_SPTR)n->text, n->len, from, 0, r->md, NULL);
    if (rc < 2) return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    *s = ov[0], *e = ov[1], *ns = ov[2], *ne = ov[3];
    return 1;
}

/* Checks every reference under n: its axis exists (marked used). */
void nn_mx_check_refs(nn_sctx *c, nn_mx_refs *r, const nn_ynode *n, mx *m, int has_matrix)
{
    if (n->kind != NN_YSCALAR) {
        int items = n->kind == NN_YMAP ? 2 * n->n : n->n;
        for (int i = 0; i < items; i++)
            nn_mx_check_refs(c, r, n->items[i], m, has_matrix);
        return;
    }
    size_t s, e, ns, ne;
    for (size_t from = 0; next_ref(r, n, from, &s, &e, &ns, &ne); from = e) {
        int a = nn_mx_axis_index(m, n->text + ns, ne - ns);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(ne - ns) > 100 ? 100 : (int)(ne - ns),
                 n->text + ns);
        if (a >= 0) {
            m->ax[a].used = 1;
            continue;
        }
        if (!has_matrix) {
            nn_sv_error(c, ref_mark(n, s),
                        "'${matrix.%s}' refers to a matrix, but the spec has no 'matrix'", name);
            continue;
        }
        const char *names[64];
        int k = 0;
        for (int b = 0; b < m->nax && k < 63; b++)
            names[k++] = m->ax[b].key->text;
        names[k] = NULL;
        const char *sug = nn_suggest(name, names);
        char list[512];
        nn_sv_error(c, ref_mark(n, s), "unknown matrix axis '%s' in '${matrix.%s}'%s%s%s", name,
                    name, sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
        nn_diag_note(c->d, "the matrix's axes are: %s", nn_sv_join(names, list, sizeof list));
    }
}

/* A copy of n with point p's values in place of the references (NULL after an error). */
nn_ynode *nn_mx_subst(nn_sctx *c, nn_mx_refs *r, nn_ynode *n, const mx *m, const nn_ynode **p)
{
    if (n->kind != NN_YSCALAR) {
        nn_ynode *out = nn_ynode_new(n->kind, n->mark);
        out->end = n->end;
        int ok = 1;
        for (int i = 0; i < n->n && ok; i++) {
            if (n->kind == NN_YSEQ) {
                nn_ynode *it = nn_mx_subst(c, r, n->items[i], m, p);
                if (it) nn_ynode_push(out, it);
                ok = it != NULL;
                continue;
            }
            nn_ynode *k = nn_mx_subst(c, r, nn_ymap_key(n, i), m, p);
            nn_ynode *v = k ? nn_mx_subst(c, r, nn_ymap_value(n, i), m, p) : NULL;
            if (v)
                nn_ymap_add(out, k, v);
            else
                nn_ynode_unref(k), ok = 0;
        }
        if (!ok) {
            nn_ynode_unref(out);
            return NULL;
        }
        return out;
    }
    size_t s, e, ns, ne, from = 0, len = 0;
    if (!next_ref(r, n, 0, &s, &e, &ns, &ne)) return nn_ynode_ref(n);
    char *text = NULL;
    for (;; from = e) {
        if (!next_ref(r, n, from, &s, &e, &ns, &ne)) break;
        int a = nn_mx_axis_index(m, n->text + ns, ne - ns);
        const nn_ynode *v = a >= 0 ? p[a] : NULL;
        if (!v) {
            nn_sv_error(c, ref_mark(n, s),
                        "'${matrix.%.*s}' has no value in this matrix point (only some points "
                        "have '%.*s', through 'include'; give every point a value)",
                        (int)(ne - ns), n->text + ns, (int)(ne - ns), n->text + ns);
            free(text);
            return NULL;
        }
        if (s == 0 && e == n->len) { /* the whole scalar: the value itself, typed as written */
            nn_ynode *out = nn_ynode_scalar(ref_mark(n, s), v->text, v->len, v->style);
            out->end = n->end;
            return out;
        }
        text = realloc(text, len + (s - from) + v->len + 1);
        if (!text) abort();
        memcpy(text + len, n->text + from, s - from);
        len += s - from;
        memcpy(text + len, v->text, v->len);
        len += v->len;
    }
    text = realloc(text, len + (n->len - from) + 1);
    if (!text) abort();
    memcpy(text + len, n->text + from, n->len - from);
    len += n->len - from;
    nn_ynode *out = nn_ynode_scalar(n->mark, text, len, n->style);
    out->end = n->end;
    free(text);
    return out;
}
