/* matrix.c — `matrix:` → the points of a sweep, and `${matrix.NAME}` substitution.
 *
 * Works on the YAML node tree before typing: a reference is replaced by the point's value
 * node (a whole-scalar reference takes the value's own style, so `"${matrix.h}"` in flow
 * style still gives the number 300), or spliced into the text of a longer scalar.  The
 * result is then typed and validated by spec.c exactly like a written value, with the
 * reference's position (references: matrix_ref.c).  Expansion follows GitHub Actions: the
 * product (first axis slowest; `zip` groups vary together), then `exclude` (an entry
 * removes every point that matches all its pairs; an entry matching nothing is an error),
 * then `include` (an entry extends every original point that it does not contradict on an
 * original axis with its other keys; when it extends none, it is a new point).
 */
#include "matrix.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix_int.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static void mx_free(mx *m)
{
    for (int p = 0; p < m->np; p++)
        free(m->pt[p]);
    free(m->pt);
    free(m->ax);
    memset(m, 0, sizeof *m);
}

int nn_mx_axis_index(const mx *m, const char *name, size_t len)
{
    for (int a = 0; a < m->nax; a++)
        if (m->ax[a].key->len == len && !memcmp(m->ax[a].key->text, name, len)) return a;
    return -1;
}

static const nn_ynode **mx_push(mx *m)
{
    if (m->np == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->pt = realloc(m->pt, (size_t)m->cap * sizeof *m->pt);
        if (!m->pt) abort();
    }
    return m->pt[m->np++] = xcalloc((size_t)m->nax, sizeof **m->pt);
}

static int is_special(const nn_ynode *k)
{
    return nn_yscalar_is(k, "include") || nn_yscalar_is(k, "exclude") || nn_yscalar_is(k, "zip");
}

static int valid_axis_name(const nn_ynode *k)
{
    if (k->kind != NN_YSCALAR || k->len == 0) return 0;
    for (size_t i = 0; i < k->len; i++) {
        char ch = k->text[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-'))))
            return 0;
    }
    return 1;
}

/* Two matrix values are equal when they are the same number or the same text and type. */
static int same_value(const nn_ynode *a, const nn_ynode *b)
{
    nn_vtype ta = nn_sv_type(a), tb = nn_sv_type(b);
    int na = ta == NN_VINT || ta == NN_VFLOAT, nb = tb == NN_VINT || tb == NN_VFLOAT;
    if (na && nb) return nn_sv_number(a) == nn_sv_number(b);
    return ta == tb && a->len == b->len && !memcmp(a->text, b->text, a->len);
}

static int scalar_value(nn_sctx *c, const nn_ynode *v, const char *where)
{
    char buf[128];
    if (v->kind == NN_YSCALAR) return 1;
    nn_sv_error(c, v->mark, "%s must be a single value (a number or a word), got %s", where,
                nn_sv_show(v, buf, sizeof buf));
    return 0;
}

/* The axes: the matrix's keys, then keys that only `include` entries name. */
static void collect_axes(nn_sctx *c, const nn_ynode *mat, mx *m)
{
    int cap = mat->n;
    int inc = nn_ymap_find(mat, "include", 7);
    const nn_ynode *incl = inc >= 0 ? nn_ymap_value(mat, inc) : NULL;
    if (incl && incl->kind == NN_YSEQ)
        for (int i = 0; i < incl->n; i++)
            if (incl->items[i]->kind == NN_YMAP) cap += incl->items[i]->n;
    m->ax = xcalloc((size_t)cap, sizeof *m->ax);
    for (int i = 0; i < mat->n; i++) {
        const nn_ynode *k = nn_ymap_key(mat, i), *v = nn_ymap_value(mat, i);
        char buf[128];
        if (is_special(k)) continue;
        if (!valid_axis_name(k)) {
            nn_sv_error(c, k->mark,
                        "matrix axis name %s must start with a letter or '_' and hold only "
                        "letters, digits, '_' and '-'",
                        nn_sv_show(k, buf, sizeof buf));
            continue;
        }
        if (v->kind != NN_YSEQ) {
            nn_sv_error(c, v->mark, "matrix axis '%s' must list its values, e.g. [1, 2], got %s",
                        k->text, nn_sv_show(v, buf, sizeof buf));
            continue;
        }
        if (v->n == 0) {
            nn_sv_error(c, v->mark,
                        "matrix axis '%s' has no values: the matrix's product would be empty",
                        k->text);
            continue;
        }
        int ok = 1;
        for (int j = 0; j < v->n && ok; j++)
            ok = scalar_value(c, v->items[j], "a matrix value");
        for (int j = 0; j < v->n && ok; j++)
            for (int l = 0; l < j; l++)
                if (same_value(v->items[l], v->items[j])) {
                    nn_sv_error(c, v->items[j]->mark, "matrix axis '%s' lists %s twice", k->text,
                                nn_sv_show(v->items[j], buf, sizeof buf));
                    ok = 0;
                    break;
                }
        if (ok) m->ax[m->nax++] = (mx_axis){k, v, -1, 0};
    }
    m->norig = m->nax;
    if (!incl || incl->kind != NN_YSEQ) return;
    for (int i = 0; i < incl->n; i++) {
        const nn_ynode *e = incl->items[i];
        for (int j = 0; e->kind == NN_YMAP && j < e->n; j++) {
            const nn_ynode *k = nn_ymap_key(e, j);
            if (valid_axis_name(k) && !is_special(k) && nn_mx_axis_index(m, k->text, k->len) < 0)
                m->ax[m->nax++] = (mx_axis){k, NULL, -1, 0};
        }
    }
}

/* zip: [[a, b], ...] — the axes of a group have as many values and vary together. */
static void parse_zip(nn_sctx *c, const nn_ynode *z, mx *m)
{
    char buf[128];
    if (z->kind != NN_YSEQ) {
        nn_sv_error(c, z->mark, "'matrix.zip' must be a list of axis groups, e.g. [[lr, steps]]");
        return;
    }
    for (int g = 0; g < z->n; g++) {
        const nn_ynode *grp = z->items[g];
        if (grp->kind != NN_YSEQ || grp->n < 2) {
            nn_sv_error(c, grp->mark,
                        "each 'matrix.zip' group lists two or more axes, e.g. [lr, steps]");
            continue;
        }
        int first = -1;
        for (int i = 0; i < grp->n; i++) {
            const nn_ynode *k = grp->items[i];
            int a = k->kind == NN_YSCALAR ? nn_mx_axis_index(m, k->text, k->len) : -1;
            if (a < 0 || a >= m->norig) {
                nn_sv_error(c, k->mark, "'matrix.zip' names %s, which is no axis of the matrix",
                            nn_sv_show(k, buf, sizeof buf));
            } else if (m->ax[a].zip >= 0) {
                nn_sv_error(c, k->mark, "matrix axis '%s' is in two 'zip' groups", k->text);
            } else if (first >= 0 && m->ax[a].vals->n != m->ax[first].vals->n) {
                nn_sv_error(c, k->mark,
                            "zipped axes '%s' (%d values) and '%s' (%d values) must have as "
                            "many values",
                            m->ax[first].key->text, m->ax[first].vals->n, k->text,
                            m->ax[a].vals->n);
            } else {
                m->ax[a].zip = g;
                if (first < 0) first = a;
            }
        }
    }
}

/* The number of points of the product (one factor per axis or zip group), capped at
 * NN_MATRIX_MAX_POINTS + 1 so it cannot overflow. */
static long product_size(const mx *m)
{
    long n = 1;
    for (int a = 0; a < m->norig; a++) {
        int lead = 1;
        for (int b = 0; b < a && lead; b++)
            if (m->ax[a].zip >= 0 && m->ax[b].zip == m->ax[a].zip) lead = 0;
        if (lead) n *= m->ax[a].vals->n;
        if (n > NN_MATRIX_MAX_POINTS) return NN_MATRIX_MAX_POINTS + 1;
    }
    return n;
}

/* The product: one dimension per axis or zip group, the last one fastest. */
static void product(mx *m)
{
    /* of_dim[a]: the dimension axis a belongs to (its zip group's first axis's) */
    int nd = 0, *size = xcalloc((size_t)m->norig, 3 * sizeof *size);
    int *idx = size + m->norig, *of_dim = idx + m->norig;
    for (int a = 0; a < m->norig; a++) {
        int lead = -1;
        for (int b = 0; b < a && lead < 0; b++)
            if (m->ax[a].zip >= 0 && m->ax[b].zip == m->ax[a].zip) lead = b;
        if (lead >= 0)
            of_dim[a] = of_dim[lead];
        else
            of_dim[a] = nd, size[nd++] = m->ax[a].vals->n;
    }
    while (nd > 0) {
        const nn_ynode **p = mx_push(m);
        for (int a = 0; a < m->norig; a++)
            p[a] = m->ax[a].vals->items[idx[of_dim[a]]];
        int d = nd - 1;
        while (d >= 0 && ++idx[d] == size[d])
            idx[d--] = 0;
        if (d < 0) break;
    }
    free(size);
}

static void unknown_axis(nn_sctx *c, const mx *m, const nn_ynode *k, const char *where)
{
    const char *names[64];
    int n = 0;
    for (int a = 0; a < m->norig && n < 63; a++)
        names[n++] = m->ax[a].key->text;
    names[n] = NULL;
    const char *s = nn_suggest(k->text, names);
    char buf[128];
    if (s)
        nn_sv_error(c, k->mark, "unknown matrix axis %s in '%s' (did you mean '%s'?)",
                    nn_sv_show(k, buf, sizeof buf), where, s);
    else
        nn_sv_error(c, k->mark, "unknown matrix axis %s in '%s'", nn_sv_show(k, buf, sizeof buf),
                    where);
}

/* An entry of exclude/include: a map of single values; with `orig_only`, of original axes. */
static int entry_ok(nn_sctx *c, const mx *m, const nn_ynode *e, const char *where, int orig_only)
{
    if (e->kind != NN_YMAP || e->n == 0) {
        nn_sv_error(c, e->mark, "each '%s' entry must be a map of axis values, e.g. {lr: 0.1}",
                    where);
        return 0;
    }
    int ok = 1;
    for (int j = 0; j < e->n; j++) {
        const nn_ynode *k = nn_ymap_key(e, j);
        int a = k->kind == NN_YSCALAR ? nn_mx_axis_index(m, k->text, k->len) : -1;
        if (a < 0 || (orig_only && a >= m->norig)) {
            unknown_axis(c, m, k, where);
            ok = 0;
        } else if (!scalar_value(c, nn_ymap_value(e, j), "a matrix value")) {
            ok = 0;
        }
    }
    return ok;
}

/* Whether point p agrees with every pair of e on the original axes (all axes: `all`). */
static int matches(const mx *m, const nn_ynode **p, const nn_ynode *e, int all)
{
    for (int j = 0; j < e->n; j++) {
        const nn_ynode *k = nn_ymap_key(e, j);
        int a = nn_mx_axis_index(m, k->text, k->len);
        if (a >= m->norig && !all) continue;
        if (!p[a] || !same_value(p[a], nn_ymap_value(e, j))) return 0;
    }
    return 1;
}

static void parse_exclude(nn_sctx *c, const nn_ynode *x, mx *m)
{
    if (x->kind != NN_YSEQ) {
        nn_sv_error(c, x->mark,
                    "'matrix.exclude' must be a list of maps, e.g. [{hidden: 300, lr: 0.05}]");
        return;
    }
    for (int i = 0; i < x->n; i++) {
        const nn_ynode *e = x->items[i];
        if (!entry_ok(c, m, e, "matrix.exclude", 1)) continue;
        int kept = 0, removed = 0;
        for (int p = 0; p < m->np; p++) {
            if (matches(m, m->pt[p], e, 1)) {
                free(m->pt[p]);
                removed++;
            } else {
                m->pt[kept++] = m->pt[p];
            }
        }
        m->np = kept;
        if (!removed)
            nn_sv_error(c, e->mark,
                        "this 'matrix.exclude' entry matches no point of the matrix (values "
                        "must equal an axis's values; entries before it may have removed them)");
    }
}

static void parse_include(nn_sctx *c, const nn_ynode *x, mx *m)
{
    if (x->kind != NN_YSEQ) {
        nn_sv_error(c, x->mark, "'matrix.include' must be a list of maps, e.g. [{hidden: 400}]");
        return;
    }
    int norig_pts = m->np;
    for (int i = 0; i < x->n; i++) {
        const nn_ynode *e = x->items[i];
        if (!entry_ok(c, m, e, "matrix.include", 0)) continue;
        int extended = 0;
        for (int p = 0; p < norig_pts; p++) {
            if (!matches(m, m->pt[p], e, 0)) continue;
            extended = 1;
            for (int j = 0; j < e->n; j++) {
                const nn_ynode *k = nn_ymap_key(e, j);
                int a = nn_mx_axis_index(m, k->text, k->len);
                if (a >= m->norig) m->pt[p][a] = nn_ymap_value(e, j);
            }
        }
        if (extended) continue;
        const nn_ynode **p = mx_push(m);
        for (int j = 0; j < e->n; j++) {
            const nn_ynode *k = nn_ymap_key(e, j);
            p[nn_mx_axis_index(m, k->text, k->len)] = nn_ymap_value(e, j);
        }
    }
}

typedef struct {
    const char *name;
    int i;
} mx_name;

static int by_name(const void *a, const void *b)
{
    const mx_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

const char *nn_matrix_cell_id(const char *const *names, const char *const *values, int n, char *buf)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    /* by name (a name twice: its first entry only); sorted, as a matrix may have many axes */
    mx_name *order = xcalloc((size_t)n, sizeof *order);
    for (int i = 0; i < n; i++)
        order[i] = (mx_name){names[i], i};
    qsort(order, (size_t)n, sizeof *order, by_name);
    for (int k = 0; k < n; k++) {
        int best = order[k].i;
        if ((k > 0 && !strcmp(order[k - 1].name, order[k].name)) || !values[best]) continue;
        const char *parts[4] = {names[best], "=", values[best], "\n"};
        for (int j = 0; j < 4; j++)
            for (const unsigned char *s = (const unsigned char *)parts[j]; *s; s++)
                h = (h ^ *s) * 0x100000001b3ULL;
    }
    free(order);
    snprintf(buf, NN_CELL_ID_LEN + 1, "%08x", (unsigned)((h ^ (h >> 32)) & 0xffffffffu));
    return buf;
}

static void point_id(const mx *m, const nn_ynode **p, char *buf)
{
    const char *names[256], *vals[256];
    int n = m->nax < 256 ? m->nax : 256;
    for (int a = 0; a < n; a++)
        names[a] = m->ax[a].key->text, vals[a] = p[a] ? p[a]->text : NULL;
    nn_matrix_cell_id(names, vals, n, buf);
}

static char *point_label(const mx *m, const nn_ynode **p)
{
    size_t len = 1;
    for (int a = 0; a < m->nax; a++)
        if (p[a]) len += m->ax[a].key->len + p[a]->len + 3;
    char *s = xcalloc(len, 1), *o = s;
    for (int a = 0; a < m->nax; a++)
        if (p[a]) o += sprintf(o, "%s%s=%s", o == s ? "" : ", ", m->ax[a].key->text, p[a]->text);
    return s;
}

typedef struct {
    char id[NN_CELL_ID_LEN + 1];
    int p;
} mx_id;

static int by_id(const void *a, const void *b)
{
    const mx_id *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->p > y->p) - (x->p < y->p);
}

/* A point twice is an error naming the first point that repeats an earlier one (sorted
 * ids: a matrix may have up to NN_MATRIX_MAX_POINTS points). */
static void duplicates(nn_sctx *c, const nn_ynode *mat, const mx *m)
{
    mx_id *ids = xcalloc((size_t)m->np, sizeof *ids);
    for (int p = 0; p < m->np; p++) {
        point_id(m, m->pt[p], ids[p].id);
        ids[p].p = p;
    }
    qsort(ids, (size_t)m->np, sizeof *ids, by_id);
    int q = -1, p = -1;
    for (int i = 1; i < m->np; i++) /* i − 1 and i: a group's two first points */
        if (!strcmp(ids[i].id, ids[i - 1].id) && (i < 2 || strcmp(ids[i - 2].id, ids[i].id)) &&
            (p < 0 || ids[i].p < p))
            q = ids[i - 1].p, p = ids[i].p;
    if (p >= 0) {
        char *l = point_label(m, m->pt[p]);
        nn_sv_error(c, mat->mark, "the matrix has the point %s twice (points %d and %d)", l, q, p);
        free(l);
    }
    free(ids);
}

/* The whole matrix: axes, product, exclude, include; duplicate points are errors. */
static void expand(nn_sctx *c, const nn_ynode *mat, mx *m)
{
    if (mat->kind != NN_YMAP) {
        nn_sv_error(c, mat->mark,
                    "'matrix' must be a map of axes, e.g. {hidden: [100, 200], lr: [0.1, 0.05]}");
        return;
    }
    int nerr = c->nerr;
    collect_axes(c, mat, m);
    int z = nn_ymap_find(mat, "zip", 3);
    if (z >= 0) parse_zip(c, nn_ymap_value(mat, z), m);
    if (c->nerr > nerr) return;
    if (product_size(m) > NN_MATRIX_MAX_POINTS) {
        nn_sv_error(c, mat->mark,
                    "the matrix has more than %d points: split the sweep, or 'zip' axes that "
                    "vary together",
                    NN_MATRIX_MAX_POINTS);
        return;
    }
    product(m);
    int x = nn_ymap_find(mat, "exclude", 7);
    if (x >= 0) parse_exclude(c, nn_ymap_value(mat, x), m);
    x = nn_ymap_find(mat, "include", 7);
    if (x >= 0) parse_include(c, nn_ymap_value(mat, x), m);
    if (c->nerr > nerr) return;
    if (m->np == 0) {
        nn_sv_error(c, mat->mark, "the matrix has no points (every point is excluded)");
        return;
    }
    duplicates(c, mat, m);
}

/* Expands the matrix of root (if any) and checks the references; 0 or −1 (errors in c). */
static int analyse(nn_sctx *c, nn_mx_refs *r, nn_ynode *root, mx *m, int *mi)
{
    int nerr = c->nerr;
    *mi = root->kind == NN_YMAP ? nn_ymap_find(root, "matrix", 6) : -1;
    if (*mi >= 0) expand(c, nn_ymap_value(root, *mi), m);
    if (c->nerr > nerr) return -1;
    if (root->kind == NN_YMAP) {
        for (int i = 0; i < root->n; i++)
            if (i != *mi) {
                nn_mx_check_refs(c, r, nn_ymap_key(root, i), m, *mi >= 0);
                nn_mx_check_refs(c, r, nn_ymap_value(root, i), m, *mi >= 0);
            }
    }
    for (int a = 0; a < m->nax; a++) {
        if (m->ax[a].used) continue;
        static const char *const special[] = {"include", "exclude", "zip", NULL};
        const char *sug = nn_suggest(m->ax[a].key->text, special);
        nn_sv_error(c, m->ax[a].key->mark,
                    "matrix axis '%s' is never used: write ${matrix.%s} where its value "
                    "belongs, or remove the axis%s%s%s",
                    m->ax[a].key->text, m->ax[a].key->text, sug ? " (did you mean '" : "",
                    sug ? sug : "", sug ? "'?)" : "");
    }
    return c->nerr > nerr ? -1 : 0;
}

int nn_spec_matrix_apply(nn_sctx *c, nn_ynode **root, int point)
{
    nn_mx_refs r;
    mx m;
    memset(&m, 0, sizeof m);
    nn_mx_refs_open(&r);
    int mi, rc = analyse(c, &r, *root, &m, &mi);
    if (rc == 0 && mi >= 0 && point < 0) {
        nn_sv_error(c, nn_ymap_key(*root, mi)->mark,
                    "this spec has a matrix of %d cells: run it with 'nnrun sweep %s' (or one "
                    "cell with 'nnrun sweep %s --cell N')",
                    m.np, c->spec_path, c->spec_path);
        rc = -1;
    } else if (rc == 0 && mi >= 0 && point >= m.np) {
        nn_sv_error(c, nn_ymap_key(*root, mi)->mark, "the matrix has %d cells, not %d", m.np,
                    point + 1);
        rc = -1;
    } else if (rc == 0 && mi >= 0) {
        nn_ynode *top = nn_ynode_new(NN_YMAP, (*root)->mark);
        top->end = (*root)->end;
        for (int i = 0; i < (*root)->n && rc == 0; i++) {
            if (i == mi) continue;
            nn_ynode *k = nn_mx_subst(c, &r, nn_ymap_key(*root, i), &m, m.pt[point]);
            nn_ynode *v = k ? nn_mx_subst(c, &r, nn_ymap_value(*root, i), &m, m.pt[point]) : NULL;
            if (v)
                nn_ymap_add(top, k, v);
            else
                nn_ynode_unref(k), rc = -1;
        }
        nn_ynode_unref(*root);
        *root = top;
    }
    nn_mx_refs_close(&r);
    mx_free(&m);
    return rc;
}

nn_matrix *nn_matrix_load(const char *path, const char *const *sets, int nsets, nn_diag *d)
{
    nn_sctx c = {.d = d, .nerr = 0, .spec_path = path};
    nn_files files = {0};
    char **names = xcalloc((size_t)nsets + 1, sizeof *names);
    nn_matrix *out = NULL;
    nn_ynode *root = nn_spec_read_tree(&c, &files, path);
    for (int i = 0; root && i < nsets; i++) {
        names[i] = nn_sv_strdup("--set");
        nn_diag_add_source(d, names[i], sets[i], strlen(sets[i]));
        nn_spec_apply_set(&c, &root, names[i], sets[i]);
    }
    nn_mx_refs r;
    mx m;
    memset(&m, 0, sizeof m);
    nn_mx_refs_open(&r);
    int mi;
    if (root && c.nerr == 0 && analyse(&c, &r, root, &m, &mi) == 0) {
        out = xcalloc(1, sizeof *out);
        out->naxes = m.nax;
        out->axes = xcalloc((size_t)m.nax, sizeof *out->axes);
        for (int a = 0; a < m.nax; a++)
            out->axes[a] = nn_sv_strdup(m.ax[a].key->text);
        out->npoints = m.np;
        out->value = xcalloc((size_t)m.np, sizeof *out->value);
        out->id = xcalloc((size_t)m.np, sizeof *out->id);
        out->label = xcalloc((size_t)m.np, sizeof *out->label);
        for (int p = 0; p < m.np; p++) {
            out->value[p] = xcalloc((size_t)m.nax, sizeof **out->value);
            for (int a = 0; a < m.nax; a++)
                if (m.pt[p][a]) out->value[p][a] = nn_sv_strdup(m.pt[p][a]->text);
            out->id[p] = xcalloc(NN_CELL_ID_LEN + 1, 1);
            point_id(&m, m.pt[p], out->id[p]);
            out->label[p] = point_label(&m, m.pt[p]);
        }
    }
    nn_mx_refs_close(&r);
    mx_free(&m);
    nn_ynode_unref(root);
    for (int i = 0; i < nsets; i++)
        free(names[i]);
    free(names);
    nn_files_free(&files);
    return out;
}

void nn_matrix_free(nn_matrix *m)
{
    if (!m) return;
    for (int p = 0; p < m->npoints; p++) {
        for (int a = 0; a < m->naxes; a++)
            free(m->value[p][a]);
        free(m->value[p]);
        free(m->id[p]);
        free(m->label[p]);
    }
    for (int a = 0; a < m->naxes; a++)
        free(m->axes[a]);
    free(m->axes);
    free(m->value);
    free(m->id);
    free(m->label);
    free(m);
}

int nn_matrix_find(const nn_matrix *m, const char *id)
{
    for (int p = 0; p < m->npoints; p++)
        if (!strcmp(m->id[p], id)) return p;
    return -1;
}
