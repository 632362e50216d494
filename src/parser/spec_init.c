/* spec_init.c — parameter init schemes (`init:` / `bias_init:` of a layer) → nn_init:
 * drawn (kaiming, normal, uniform), constant (zeros, ones) or given (values written in
 * the spec, a CSV column, a tensor of a checkpoint).  `scale` multiplies any of them.
 *
 * Given values are only collected here; the runtime checks their count against the
 * tensor's shape.  `transpose` means the numbers list a weight [in, out] neuron by
 * neuron, i.e. as [out][in] (micrograd's layout). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

static const char *const init_kinds[] = {"kaiming", "normal", "uniform", "zeros", "ones",
                                         "values",  "csv",    "from",    "torch",  NULL};

/* kaiming: GAIN — a gain name (PyTorch's calculate_gain) or a positive number. */
static void init_kaiming(nn_sctx *c, const nn_ynode *v, const char *path, nn_init *r)
{
    static const char *const names[] = {"tanh", "relu", "linear", "sigmoid", NULL};
    static const double gains[] = {5.0 / 3.0, 1.4142135623730951 /* √2 */, 1.0, 1.0};
    static const nn_range pos = {0, INFINITY, 1, 0};
    char buf[128];
    nn_vtype t = nn_sv_type(v);
    if (t == NN_VINT || t == NN_VFLOAT) {
        nn_sv_float(c, v, path, pos, &r->gain);
        return;
    }
    for (int i = 0; t == NN_VSTR && names[i]; i++) {
        if (nn_yscalar_is(v, names[i])) {
            r->gain = gains[i];
            return;
        }
    }
    const char *s = t == NN_VSTR && !memchr(v->text, 0, v->len) ? nn_suggest(v->text, names) : NULL;
    char dym[64] = "";
    if (s) snprintf(dym, sizeof dym, " (did you mean '%s'?)", s);
    nn_sv_error(c, v->mark,
                "unknown gain %s for '%s'%s; expected a positive number or one of: "
                "tanh, relu, linear, sigmoid",
                nn_sv_show(v, buf, sizeof buf), path, dym);
}

static void init_uniform(nn_sctx *c, const nn_ynode *v, const char *path, nn_init *r)
{
    static const char *const keys[] = {"a", "b", NULL};
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    char p[200]; /* the path (≤ 160) and ".a" */
    int ok = 1;
    if (!nn_sv_map(c, v, path)) return;
    for (int i = 0; i < v->n; i++) {
        int isa = nn_sv_key_is(v, i, "a");
        if (isa || nn_sv_key_is(v, i, "b")) {
            snprintf(p, sizeof p, "%s.%s", path, isa ? "a" : "b");
            ok &= nn_sv_float(c, nn_ymap_value(v, i), p, any, isa ? &r->a : &r->b);
        } else {
            nn_sv_unknown_key(c, nn_ymap_key(v, i), path, keys);
        }
    }
    for (int k = 0; k < 2; k++)
        if (nn_ymap_find(v, keys[k], 1) < 0) ok = 0, nn_sv_missing(c, v, keys[k], path);
    if (ok && !(r->a < r->b))
        nn_sv_error(c, v->mark, "'%s' needs a < b, got a = %g and b = %g", path, r->a, r->b);
}

/* values: [numbers], in the tensor's row-major order (or transposed). */
static void init_values(nn_sctx *c, const nn_ynode *v, const char *path, nn_init *r)
{
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    char p[200];
    if (!nn_sv_seq(c, v, path)) return;
    if (v->n == 0) {
        nn_sv_error(c, v->mark, "'%s' must list at least one number", path);
        return;
    }
    r->values = calloc((size_t)v->n, sizeof *r->values);
    if (!r->values) abort();
    r->nvalues = v->n;
    for (int i = 0; i < v->n; i++) {
        snprintf(p, sizeof p, "%s.%d", path, i);
        nn_sv_float(c, v->items[i], p, any, &r->values[i]);
    }
}

/* where: {COL: VALUE, ...}: values are compared as text, as written. */
static void init_where(nn_sctx *c, const nn_ynode *v, const char *path, nn_init *r)
{
    char buf[128];
    if (!nn_sv_map(c, v, path)) return;
    r->where = calloc((size_t)v->n + 1, sizeof *r->where);
    if (!r->where) abort();
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *k = nn_ymap_key(v, i), *e = nn_ymap_value(v, i);
        if (e->kind != NN_YSCALAR || e->len == 0 || memchr(e->text, 0, e->len) ||
            memchr(k->text, 0, k->len) || k->len == 0) {
            nn_sv_error(c, e->mark, "expected a value to compare for column %s in '%s', got %s",
                        nn_sv_quote(k->text, k->len, buf, sizeof buf), path,
                        e->kind == NN_YSCALAR && e->len ? "a NUL character" : "nothing");
            continue;
        }
        r->where[r->nwhere].column = nn_sv_strdup(k->text);
        r->where[r->nwhere++].equals = nn_sv_strdup(e->text);
    }
}

/* csv: {file, column, where, transpose}. */
static void init_csv(nn_sctx *c, const nn_ynode *v, const char *path, nn_init *r)
{
    static const char *const keys[] = {"file", "column", "where", "transpose", NULL};
    char p[200];
    if (!nn_sv_map(c, v, path)) return;
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *e = nn_ymap_value(v, i);
        int k = -1;
        for (int j = 0; keys[j]; j++)
            if (nn_sv_key_is(v, i, keys[j])) k = j;
        snprintf(p, sizeof p, "%s.%s", path, k >= 0 ? keys[k] : "");
        switch (k) {
        case 0:
            free(r->file);
            r->file = nn_sv_path(c, e, p);
            break;
        case 1: nn_sv_string(c, e, p, &r->column); break;
        case 2: init_where(c, e, p, r); break;
        case 3: nn_sv_bool(c, e, p, &r->transpose); break;
        default: nn_sv_unknown_key(c, nn_ymap_key(v, i), path, keys);
        }
    }
    for (int j = 0; j < 2; j++)
        if (nn_ymap_find(v, keys[j], strlen(keys[j])) < 0) nn_sv_missing(c, v, keys[j], path);
}

/* The value of one init-kind key. */
static void init_value(nn_sctx *c, const nn_ynode *v, int kind, const char *path, nn_init *r)
{
    static const nn_range nonneg = {0, INFINITY, 0, 0};
    switch (kind) {
    case 0: init_kaiming(c, v, path, r); break;
    case 1: nn_sv_float(c, v, path, nonneg, &r->std); break;
    case 2: init_uniform(c, v, path, r); break;
    case 5: init_values(c, v, path, r); break;
    case 6: init_csv(c, v, path, r); break;
    case 7: r->file = nn_sv_path(c, v, path); break;
    default: /* zeros / ones: null, {} or true */
        if (nn_sv_type(v) == NN_VNULL || (v->kind == NN_YMAP && v->n == 0) ||
            (nn_sv_type(v) == NN_VBOOL && (v->text[0] == 't' || v->text[0] == 'T')))
            break;
        nn_sv_error(c, v->mark, "'%s' takes no value: write {%s: {}} or just '%s'", path,
                    init_kinds[kind], init_kinds[kind]);
    }
    r->kind = (nn_init_kind)(NN_INIT_KAIMING + kind);
}

void nn_init_free(nn_init *r)
{
    free(r->values);
    free(r->file);
    free(r->column);
    for (int i = 0; i < r->nwhere; i++) {
        free(r->where[i].column);
        free(r->where[i].equals);
    }
    free(r->where);
    free(r->tensor);
    r->values = NULL, r->file = r->column = r->tensor = NULL, r->where = NULL;
    r->nvalues = r->nwhere = 0;
}

/* `transpose` (with values) and `tensor` (with from) beside the kind key. */
static void init_sibling(nn_sctx *c, const nn_ynode *k, const nn_ynode *v, const char *path,
                         nn_init *r, const nn_ynode **tr, const nn_ynode **tensor)
{
    char p[200];
    snprintf(p, sizeof p, "%s.%s", path, nn_yscalar_is(k, "tensor") ? "tensor" : "transpose");
    if (nn_yscalar_is(k, "tensor")) {
        if (nn_sv_string(c, v, p, &r->tensor)) *tensor = k;
    } else if (nn_sv_bool(c, v, p, &r->transpose)) {
        *tr = k;
    }
}

/* An init: `zeros`, `ones`, or a map with one kind key, an optional scale and, for
 * values, transpose; for from, tensor. */
void nn_spec_init(nn_sctx *c, const nn_ynode *n, const char *path, nn_init *out)
{
    static const char *const keys[] = {"kaiming", "normal",    "uniform", "zeros",
                                       "ones",    "values",    "csv",     "from",
                                       "torch",   "scale",     "transpose", "tensor", NULL};
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    nn_init r = {
        .kind = NN_INIT_DEFAULT, .gain = 1, .std = 1, .a = 0, .b = 1, .scale = 1, .mark = n->mark};
    char buf[128], p[160];
    nn_init_free(out);
    if (n->kind == NN_YSCALAR && (nn_yscalar_is(n, "zeros") || nn_yscalar_is(n, "ones") ||
                                  nn_yscalar_is(n, "torch"))) {
        r.kind = nn_yscalar_is(n, "zeros")  ? NN_INIT_ZEROS
                 : nn_yscalar_is(n, "ones") ? NN_INIT_ONES
                                            : NN_INIT_TORCH;
        *out = r;
        return;
    }
    if (n->kind != NN_YMAP) {
        nn_sv_error(c, n->mark,
                    "expected an init for '%s' (zeros, ones, or a map such as "
                    "{normal: 1.0} or {kaiming: tanh}), got %s",
                    path, nn_sv_show(n, buf, sizeof buf));
        return;
    }
    const nn_ynode *kind_key = NULL, *tr = NULL, *tensor = NULL;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *k = nn_ymap_key(n, i), *v = nn_ymap_value(n, i);
        int kind = -1;
        for (int j = 0; init_kinds[j]; j++)
            if (nn_yscalar_is(k, init_kinds[j])) kind = j;
        snprintf(p, sizeof p, "%s.%s", path, kind >= 0 ? init_kinds[kind] : "scale");
        if (kind >= 0 && kind_key) {
            nn_sv_error(c, k->mark, "'%s' has two init kinds, %s and '%s': choose one", path,
                        nn_sv_show(kind_key, buf, sizeof buf), init_kinds[kind]);
        } else if (kind >= 0) {
            kind_key = k;
            init_value(c, v, kind, p, &r);
        } else if (nn_yscalar_is(k, "scale")) {
            nn_sv_float(c, v, p, any, &r.scale);
        } else if (nn_yscalar_is(k, "transpose") || nn_yscalar_is(k, "tensor")) {
            init_sibling(c, k, v, path, &r, &tr, &tensor);
        } else {
            nn_sv_unknown_key(c, k, path, keys);
        }
    }
    if (!kind_key)
        nn_sv_error(c, n->mark,
                    "missing init kind in '%s': one of kaiming, normal, uniform, "
                    "zeros, ones, values, csv, from, torch",
                    path);
    if (tr && kind_key && r.kind != NN_INIT_VALUES)
        nn_sv_error(c, tr->mark,
                    "'%s.transpose' is only for 'values' (csv takes it inside "
                    "its map)",
                    path);
    if (tensor && kind_key && r.kind != NN_INIT_FROM)
        nn_sv_error(c, tensor->mark, "'%s.tensor' is only for 'from' (a checkpoint)", path);
    *out = r;
}
