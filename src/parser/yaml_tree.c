/* yaml_tree.c — the libyaml event stream → nn_ynode tree, with marks, anchors and aliases,
 * duplicate-key detection and limits that keep hostile input from exhausting memory. */
#include "yaml_tree.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define NN_YAML_MAX_DEPTH   256            /* deeper nesting is no spec and would recurse deeply */
#define NN_YAML_MAX_NODES   1000000        /* nodes after alias expansion (billion laughs) */
#define NN_YAML_SIZE_CAP    (SIZE_MAX / 4) /* node sizes saturate here */
#define NN_YAML_MAX_ANCHORS 1000

typedef struct {
    nn_ynode *node;
    nn_ynode *key; /* a map's key waiting for its value */
    char *anchor;  /* registered when the collection ends: no alias may point into itself */
} frame;

typedef struct {
    char *name;
    nn_ynode *node;
} anchor;

typedef struct {
    const char *file;
    const char *text;
    size_t len;
    int line0, col0; /* position of the text's first character */
    int is_value;    /* a --set value, not a file */
    yaml_mark_t eof; /* line/column just after the last character */
    nn_diag *d;
    int nerr;
    frame stack[NN_YAML_MAX_DEPTH];
    int depth;
    nn_ynode *root;
    int ndocs;
    anchor *anchors;
    int nanchors;
    size_t total; /* nodes after alias expansion */
} builder;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) abort();
    return p;
}

nn_ynode *nn_ynode_new(nn_ykind kind, nn_mark mark)
{
    nn_ynode *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->kind = kind;
    n->mark = n->end = mark;
    n->refs = 1;
    n->size = 1;
    return n;
}

nn_ynode *nn_ynode_scalar(nn_mark mark, const char *text, size_t len, nn_ystyle style)
{
    nn_ynode *n = nn_ynode_new(NN_YSCALAR, mark);
    n->text = xrealloc(NULL, len + 1);
    memcpy(n->text, text, len);
    n->text[len] = 0;
    n->len = len;
    n->style = style;
    return n;
}

nn_ynode *nn_ynode_ref(nn_ynode *n)
{
    n->refs++;
    return n;
}

void nn_ynode_unref(nn_ynode *n)
{
    if (!n || --n->refs > 0) return;
    int nitems = n->kind == NN_YMAP ? 2 * n->n : n->n;
    for (int i = 0; i < nitems; i++)
        nn_ynode_unref(n->items[i]);
    free(n->items);
    free(n->text);
    free(n);
}

static size_t sat_add(size_t a, size_t b)
{
    return a > NN_YAML_SIZE_CAP - b ? NN_YAML_SIZE_CAP : a + b;
}

void nn_ynode_push(nn_ynode *n, nn_ynode *item)
{
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 4;
        n->items = xrealloc(n->items, (size_t)n->cap * sizeof *n->items);
    }
    n->items[n->n++] = item;
    n->size = sat_add(n->size, item->size);
}

void nn_ymap_add(nn_ynode *m, nn_ynode *key, nn_ynode *value)
{
    if (2 * m->n + 2 > m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->items = xrealloc(m->items, (size_t)m->cap * sizeof *m->items);
    }
    m->items[2 * m->n] = key;
    m->items[2 * m->n + 1] = value;
    m->n++;
    m->size = sat_add(sat_add(m->size, key->size), value->size);
}

nn_ynode *nn_ynode_own(nn_ynode **slot)
{
    nn_ynode *old = *slot;
    if (old->refs == 1) return old;
    nn_ynode *n = old->kind == NN_YSCALAR
                      ? nn_ynode_scalar(old->mark, old->text, old->len, old->style)
                      : nn_ynode_new(old->kind, old->mark);
    n->end = old->end;
    n->size = old->size;
    int nitems = old->kind == NN_YMAP ? 2 * old->n : old->n;
    if (nitems) {
        n->items = xrealloc(NULL, (size_t)nitems * sizeof *n->items);
        for (int i = 0; i < nitems; i++)
            n->items[i] = nn_ynode_ref(old->items[i]);
    }
    n->n = old->n;
    n->cap = nitems;
    nn_ynode_unref(old);
    *slot = n;
    return n;
}

int nn_yscalar_is(const nn_ynode *n, const char *s)
{
    return n->kind == NN_YSCALAR && strlen(s) == n->len && !memcmp(n->text, s, n->len);
}

int nn_ymap_find(const nn_ynode *m, const char *key, size_t keylen)
{
    for (int i = 0; i < m->n; i++) {
        const nn_ynode *k = nn_ymap_key(m, i);
        if (k->kind == NN_YSCALAR && k->len == keylen && !memcmp(k->text, key, keylen)) return i;
    }
    return -1;
}

/* libyaml marks are 0-based; the text may start mid-line (a --set value). */
static nn_mark convert(const builder *b, yaml_mark_t m)
{
    nn_mark r = {b->file, b->line0 + (int)m.line, (int)m.column + 1};
    if (m.line == 0) r.col += b->col0 - 1;
    return r;
}

/* The 0-based line/column of byte `off` (a BOM takes no column, as in libyaml). */
static yaml_mark_t offset_pos(const builder *b, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    size_t i = 0;
    if (b->len >= 3 && !memcmp(b->text, "\xEF\xBB\xBF", 3)) i = 3;
    for (; i < off && i < b->len; i++) {
        if (b->text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if ((b->text[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

/* At the end of the input libyaml moves to a line that is not there: point just after
 * the last character instead, so that the caret lands on the source line. */
static nn_mark to_mark(const builder *b, yaml_mark_t m)
{
    if (m.line > b->eof.line) m = b->eof;
    return convert(b, m);
}

static void syntax_error(builder *b, const yaml_parser_t *p)
{
    b->nerr++;
    if (p->error == YAML_READER_ERROR) {
        nn_mark m = convert(b, offset_pos(b, p->problem_offset));
        if (p->problem_value != -1)
            nn_diag_error(b->d, m, "invalid input: %s (#x%X)", p->problem, p->problem_value);
        else
            nn_diag_error(b->d, m, "invalid input: %s", p->problem);
        return;
    }
    if (p->error == YAML_MEMORY_ERROR || !p->problem) {
        nn_diag_error(b->d, to_mark(b, p->mark), "YAML error: out of memory");
        return;
    }
    /* the commonest mistakes (a tab, a key indented wrongly) in plain words */
    nn_mark at = to_mark(b, p->problem_mark);
    if (!b->is_value && nn_yaml_hint(b->file, b->text, b->len, at.line, p->problem, b->d)) return;
    nn_diag_error(b->d, at, "YAML syntax error: %s", p->problem);
    if (p->context) {
        nn_mark c = to_mark(b, p->context_mark);
        nn_diag_note(b->d, "%s (at %d:%d)", p->context, c.line, c.col);
    }
    if (b->is_value)
        nn_diag_note(b->d, "the value after '=' is read as YAML: quote it, as in "
                           "--set \"KEY='[a-z]+'\", to pass it as a string");
}

/* Records an error that ends the parse. */
static int fatal(builder *b, nn_mark m, const char *what, const char *arg)
{
    b->nerr++;
    nn_diag_error(b->d, m, "%s%s%s", what, arg ? arg : "", arg ? "'" : "");
    return 0;
}

/* Adds a finished node to its parent (or makes it the root).  Takes the reference. */
static void attach(builder *b, nn_ynode *n)
{
    if (b->depth == 0) {
        b->root = n;
        return;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == NN_YSEQ) {
        nn_ynode_push(f->node, n);
    } else if (!f->key) {
        f->key = n;
    } else {
        nn_ymap_add(f->node, f->key, n);
        f->key = NULL;
    }
}

/* Aliases look anchors up linearly: the cap keeps hostile input from making that n². */
static int add_anchor(builder *b, const char *name, nn_ynode *n)
{
    if (b->nanchors == NN_YAML_MAX_ANCHORS)
        return fatal(b, n->mark, "too many anchors (more than 1000) in one spec", NULL);
    if ((b->nanchors & (b->nanchors - 1)) == 0) /* 0, 1, 2, 4, ...: grow by doubling */
        b->anchors =
            xrealloc(b->anchors, (size_t)(b->nanchors ? 2 * b->nanchors : 1) * sizeof *b->anchors);
    b->anchors[b->nanchors].name = strdup(name);
    if (!b->anchors[b->nanchors].name) abort();
    b->anchors[b->nanchors++].node = nn_ynode_ref(n);
    return 1;
}

static int count_nodes(builder *b, size_t k, nn_mark m, int alias)
{
    b->total = sat_add(b->total, k);
    if (b->total <= NN_YAML_MAX_NODES) return 1;
    b->nerr++;
    nn_diag_error(b->d, m, "%s (more than %d nodes)",
                  alias ? "alias expansion too large" : "the spec is too large", NN_YAML_MAX_NODES);
    return 0;
}

/* Only untyped (`!`) and the core schema's own collection/string tags are accepted. */
static int check_tag(builder *b, const yaml_char_t *tag, nn_mark m, int *is_str)
{
    const char *t = (const char *)tag;
    *is_str = 0;
    if (!t) return 1;
    if (!strcmp(t, "!") || !strcmp(t, "tag:yaml.org,2002:str")) {
        *is_str = 1;
        return 1;
    }
    if (!strcmp(t, "tag:yaml.org,2002:map") || !strcmp(t, "tag:yaml.org,2002:seq")) return 1;
    fatal(b, m, "unsupported YAML tag '", t);
    nn_diag_note(b->d, "only !!str is understood; quoting a value also makes it a string");
    return 0;
}

static int on_scalar(builder *b, const yaml_event_t *e)
{
    static const nn_ystyle styles[] = {[YAML_PLAIN_SCALAR_STYLE] = NN_YPLAIN,
                                       [YAML_SINGLE_QUOTED_SCALAR_STYLE] = NN_YSINGLE,
                                       [YAML_DOUBLE_QUOTED_SCALAR_STYLE] = NN_YDOUBLE,
                                       [YAML_LITERAL_SCALAR_STYLE] = NN_YLITERAL,
                                       [YAML_FOLDED_SCALAR_STYLE] = NN_YFOLDED};
    nn_mark m = to_mark(b, e->start_mark);
    int is_str;
    if (!check_tag(b, e->data.scalar.tag, m, &is_str) || !count_nodes(b, 1, m, 0)) return 0;
    yaml_scalar_style_t st = e->data.scalar.style;
    nn_ystyle style =
        st >= YAML_PLAIN_SCALAR_STYLE && st <= YAML_FOLDED_SCALAR_STYLE ? styles[st] : NN_YPLAIN;
    /* `!!str 5` is a string: type it as if quoted */
    if (is_str && style == NN_YPLAIN) style = NN_YDOUBLE;
    nn_ynode *n =
        nn_ynode_scalar(m, (const char *)e->data.scalar.value, e->data.scalar.length, style);
    n->end = to_mark(b, e->end_mark);
    if (e->data.scalar.anchor && !add_anchor(b, (const char *)e->data.scalar.anchor, n)) {
        nn_ynode_unref(n);
        return 0;
    }
    attach(b, n);
    return 1;
}

static int on_start(builder *b, const yaml_event_t *e, nn_ykind kind)
{
    nn_mark m = to_mark(b, e->start_mark);
    int is_str;
    const yaml_char_t *tag =
        kind == NN_YMAP ? e->data.mapping_start.tag : e->data.sequence_start.tag;
    const yaml_char_t *anc =
        kind == NN_YMAP ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
    if (!check_tag(b, tag, m, &is_str) || !count_nodes(b, 1, m, 0)) return 0;
    if (b->depth == NN_YAML_MAX_DEPTH) {
        b->nerr++;
        nn_diag_error(b->d, m, "nesting deeper than %d levels", NN_YAML_MAX_DEPTH);
        return 0;
    }
    frame *f = &b->stack[b->depth++];
    f->node = nn_ynode_new(kind, m);
    f->key = NULL;
    f->anchor = anc ? strdup((const char *)anc) : NULL;
    return 1;
}

typedef struct {
    const nn_ynode *key;
    int i;
} keyref;

static int key_cmp(const void *pa, const void *pb)
{
    const keyref *a = pa, *b = pb;
    size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = memcmp(a->key->text, b->key->text, n);
    if (c) return c;
    if (a->key->len != b->key->len) return a->key->len < b->key->len ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Non-scalar and duplicate keys: an error at the offending key, whose pair is dropped.
 * Sorting keeps this O(n log n) however many keys a hostile map has. */
static void check_keys(builder *b, nn_ynode *m)
{
    if (m->n == 0) return;
    keyref *k = xrealloc(NULL, (size_t)m->n * sizeof *k);
    int *first = xrealloc(NULL, (size_t)m->n * sizeof *first);
    int nk = 0;
    for (int i = 0; i < m->n; i++) {
        first[i] = nn_ymap_key(m, i)->kind == NN_YSCALAR ? i : -2;
        if (first[i] == i) k[nk++] = (keyref){nn_ymap_key(m, i), i};
    }
    qsort(k, (size_t)nk, sizeof *k, key_cmp);
    for (int j = 1; j < nk; j++)
        if (k[j].key->len == k[j - 1].key->len &&
            !memcmp(k[j].key->text, k[j - 1].key->text, k[j].key->len))
            first[k[j].i] = first[k[j - 1].i];
    for (int i = 0; i < m->n; i++) {
        const nn_ynode *key = nn_ymap_key(m, i);
        if (first[i] == -2) {
            b->nerr++;
            nn_diag_error(b->d, key->mark, "a map key must be a plain name, not a %s",
                          key->kind == NN_YMAP ? "map" : "sequence");
        } else if (first[i] != i) {
            const nn_mark f = nn_ymap_key(m, first[i])->mark;
            b->nerr++;
            nn_diag_error(b->d, key->mark, "duplicate key '%.*s' (first at %d:%d)",
                          (int)(key->len > 60 ? 60 : key->len), key->text, f.line, f.col);
        }
    }
    int kept = 0; /* compact in one pass: many duplicates must not cost n² moves */
    for (int i = 0; i < m->n; i++) {
        if (first[i] == i) {
            m->items[2 * kept] = m->items[2 * i];
            m->items[2 * kept + 1] = m->items[2 * i + 1];
            kept++;
        } else {
            nn_ynode_unref(m->items[2 * i]);
            nn_ynode_unref(m->items[2 * i + 1]);
        }
    }
    m->n = kept;
    free(first);
    free(k);
}

static int on_end(builder *b)
{
    frame f = b->stack[--b->depth];
    nn_ynode *n = f.node;
    if (n->kind == NN_YMAP) check_keys(b, n);
    int ok = !f.anchor || add_anchor(b, f.anchor, n);
    free(f.anchor);
    if (!ok) {
        nn_ynode_unref(n);
        return 0;
    }
    attach(b, n);
    return 1;
}

static int on_alias(builder *b, const yaml_event_t *e)
{
    nn_mark m = to_mark(b, e->start_mark);
    const char *name = (const char *)e->data.alias.anchor;
    for (int i = b->nanchors - 1; i >= 0; i--) {
        if (strcmp(b->anchors[i].name, name)) continue;
        nn_ynode *n = b->anchors[i].node;
        if (!count_nodes(b, n->size, m, 1)) return 0;
        attach(b, nn_ynode_ref(n));
        return 1;
    }
    fatal(b, m, "alias refers to no anchor defined before it: '*", name);
    return 0;
}

static int on_event(builder *b, const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->ndocs++ == 0) return 1;
        return fatal(b, to_mark(b, e->start_mark),
                     "a second YAML document: a spec is a single document", NULL);
    case YAML_SCALAR_EVENT: return on_scalar(b, e);
    case YAML_SEQUENCE_START_EVENT: return on_start(b, e, NN_YSEQ);
    case YAML_MAPPING_START_EVENT: return on_start(b, e, NN_YMAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return on_end(b);
    case YAML_ALIAS_EVENT: return on_alias(b, e);
    default: return 1;
    }
}

static void builder_free(builder *b)
{
    for (int i = b->depth - 1; i >= 0; i--) {
        nn_ynode_unref(b->stack[i].node);
        nn_ynode_unref(b->stack[i].key);
        free(b->stack[i].anchor);
    }
    for (int i = 0; i < b->nanchors; i++) {
        free(b->anchors[i].name);
        nn_ynode_unref(b->anchors[i].node);
    }
    free(b->anchors);
}

/* Runs the event loop; returns the root, or NULL after a fatal error. */
static nn_ynode *build(builder *b)
{
    yaml_parser_t p;
    b->eof = offset_pos(b, b->len);
    if (!yaml_parser_initialize(&p)) abort();
    yaml_parser_set_input_string(&p, (const unsigned char *)b->text, b->len);
    int ok = 1, done = 0;
    while (ok && !done) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            syntax_error(b, &p);
            ok = 0;
            break;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        ok = on_event(b, &e);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    builder_free(b);
    if (ok) return b->root;
    nn_ynode_unref(b->root);
    return NULL;
}

nn_ynode *nn_yaml_parse(const char *file, const char *text, size_t len, nn_diag *d, int *nerr)
{
    builder b = {.file = file, .text = text, .len = len, .line0 = 1, .col0 = 1, .d = d};
    nn_ynode *root = build(&b);
    if (!root && b.nerr == 0) {
        b.nerr++;
        nn_diag_error(d, (nn_mark){file, 1, 1}, "empty spec");
    }
    *nerr = b.nerr;
    return root;
}

nn_ynode *nn_yaml_parse_value(const char *file, int line, int col, const char *text, size_t len,
                              nn_diag *d)
{
    builder b = {
        .file = file, .text = text, .len = len, .line0 = line, .col0 = col, .d = d, .is_value = 1};
    nn_ynode *root = build(&b);
    if (root && b.nerr) {
        nn_ynode_unref(root);
        return NULL;
    }
    if (!root && b.nerr == 0) root = nn_ynode_scalar((nn_mark){file, line, col}, "", 0, NN_YPLAIN);
    return root;
}
