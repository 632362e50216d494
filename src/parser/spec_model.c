/* spec_model.c — the `model:` list → nn_layer[]: layer kinds, their options and the
 * parameter init schemes.  Adding a layer means: a name in kind_names, its defaults in
 * layer_defaults and its options in a layer_* function. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

static const char *const kind_names[] = {"embedding", "flatten", "linear",
                                         "batchnorm", "tanh",    NULL};

const char *nn_layer_kind_name(nn_layer_kind k)
{
    return (int)k >= 0 && k < NN_LAYER_KIND_COUNT ? kind_names[k] : "?";
}

/* --- init schemes ----------------------------------------------------------------- */

static const char *const init_kinds[] = {"kaiming", "normal", "uniform", "zeros", "ones", NULL};

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

/* The value of one init-kind key. */
static void init_value(nn_sctx *c, const nn_ynode *v, int kind, const char *path, nn_init *r)
{
    static const nn_range nonneg = {0, INFINITY, 0, 0};
    switch (kind) {
    case 0: init_kaiming(c, v, path, r); break;
    case 1: nn_sv_float(c, v, path, nonneg, &r->std); break;
    case 2: init_uniform(c, v, path, r); break;
    default: /* zeros / ones: null, {} or true */
        if (nn_sv_type(v) == NN_VNULL || (v->kind == NN_YMAP && v->n == 0) ||
            (nn_sv_type(v) == NN_VBOOL && (v->text[0] == 't' || v->text[0] == 'T')))
            break;
        nn_sv_error(c, v->mark, "'%s' takes no value: write {%s: {}} or just '%s'", path,
                    init_kinds[kind], init_kinds[kind]);
    }
    r->kind = (nn_init_kind)(NN_INIT_KAIMING + kind);
}

/* An init: `zeros`, `ones`, or a map with one kind key and an optional scale. */
static void parse_init(nn_sctx *c, const nn_ynode *n, const char *path, nn_init *out)
{
    static const char *const keys[] = {"kaiming", "normal", "uniform", "zeros",
                                       "ones",    "scale",  NULL};
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    nn_init r = {
        .kind = NN_INIT_DEFAULT, .gain = 1, .std = 1, .a = 0, .b = 1, .scale = 1, .mark = n->mark};
    char buf[128], p[160];
    if (n->kind == NN_YSCALAR && (nn_yscalar_is(n, "zeros") || nn_yscalar_is(n, "ones"))) {
        r.kind = nn_yscalar_is(n, "zeros") ? NN_INIT_ZEROS : NN_INIT_ONES;
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
    const nn_ynode *kind_key = NULL;
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
        } else {
            nn_sv_unknown_key(c, k, path, keys);
        }
    }
    if (!kind_key)
        nn_sv_error(c, n->mark,
                    "missing init kind in '%s': one of kaiming, normal, uniform, "
                    "zeros, ones",
                    path);
    *out = r;
}

/* --- layers ----------------------------------------------------------------------- */

static void layer_defaults(nn_layer *l)
{
    nn_init base = {
        .kind = NN_INIT_DEFAULT, .gain = 1, .std = 1, .a = 0, .b = 1, .scale = 1, .mark = l->mark};
    l->init = l->bias_init = base;
    switch (l->kind) {
    case NN_LAYER_EMBEDDING: l->init.kind = NN_INIT_NORMAL; break;
    case NN_LAYER_LINEAR:
        l->bias = 1;
        l->init.kind = NN_INIT_KAIMING;
        l->bias_init.kind = NN_INIT_ZEROS;
        break;
    case NN_LAYER_BATCHNORM:
        l->eps = 1e-5;
        l->momentum = 0.1;
        l->init.kind = NN_INIT_ONES;
        l->bias_init.kind = NN_INIT_ZEROS;
        break;
    default: break;
    }
}

static const char *const *option_keys(nn_layer_kind k)
{
    static const char *const emb[] = {"dim", "init", NULL}, *const none[] = {NULL};
    static const char *const lin[] = {"out", "bias", "init", "bias_init", NULL};
    static const char *const bn[] = {"variance", "eps",       "momentum", "running",
                                     "init",     "bias_init", NULL};
    return k == NN_LAYER_EMBEDDING   ? emb
           : k == NN_LAYER_LINEAR    ? lin
           : k == NN_LAYER_BATCHNORM ? bn
                                     : none;
}

/* One option `key: v` of layer l; returns 0 for a key the layer does not have. */
static int layer_option(nn_sctx *c, nn_layer *l, const nn_ynode *key, const nn_ynode *v,
                        const char *path)
{
    static const char *const variance[] = {"biased", "unbiased", NULL};
    static const char *const running[] = {"var", "std", NULL};
    static const nn_range nonneg = {0, INFINITY, 0, 0}, unit = {0, 1, 0, 0};
    char p[160];
    snprintf(p, sizeof p, "%s.%.*s", path, (int)(key->len > 40 ? 40 : key->len), key->text);
    int lin = l->kind == NN_LAYER_LINEAR, bn = l->kind == NN_LAYER_BATCHNORM;
    int has_init = lin || bn || l->kind == NN_LAYER_EMBEDDING;
    if (l->kind == NN_LAYER_EMBEDDING && nn_yscalar_is(key, "dim"))
        nn_sv_int(c, v, p, 1, 65536, &l->dim);
    else if (lin && nn_yscalar_is(key, "out"))
        nn_sv_int(c, v, p, 1, 1048576, &l->out);
    else if (lin && nn_yscalar_is(key, "bias"))
        nn_sv_bool(c, v, p, &l->bias);
    else if (has_init && nn_yscalar_is(key, "init"))
        parse_init(c, v, p, &l->init);
    else if ((lin || bn) && nn_yscalar_is(key, "bias_init"))
        parse_init(c, v, p, &l->bias_init);
    else if (bn && nn_yscalar_is(key, "variance"))
        nn_sv_enum(c, v, p, variance, &l->unbiased);
    else if (bn && nn_yscalar_is(key, "eps"))
        nn_sv_float(c, v, p, nonneg, &l->eps);
    else if (bn && nn_yscalar_is(key, "momentum"))
        nn_sv_float(c, v, p, unit, &l->momentum);
    else if (bn && nn_yscalar_is(key, "running"))
        nn_sv_enum(c, v, p, running, &l->running_std);
    else
        return 0;
    return 1;
}

static void layer_options(nn_sctx *c, nn_layer *l, const nn_ynode *item, const nn_ynode *opts,
                          const char *path)
{
    char buf[128];
    const nn_ynode *bias_init = NULL;
    if (opts && nn_sv_type(opts) != NN_VNULL && opts->kind != NN_YMAP) {
        nn_sv_error(c, opts->mark, "expected a map of options for '%s', got %s", path,
                    nn_sv_show(opts, buf, sizeof buf));
        return;
    }
    int n = opts && opts->kind == NN_YMAP ? opts->n : 0;
    for (int i = 0; i < n; i++) {
        const nn_ynode *k = nn_ymap_key(opts, i);
        if (nn_yscalar_is(k, "bias_init")) bias_init = k;
        if (layer_option(c, l, k, nn_ymap_value(opts, i), path)) continue;
        if (!option_keys(l->kind)[0]) {
            nn_sv_error(c, k->mark, "unknown key %s in '%s': '%s' takes no options",
                        nn_sv_show(k, buf, sizeof buf), path, kind_names[l->kind]);
        } else {
            nn_sv_unknown_key(c, k, path, option_keys(l->kind));
        }
    }
    if (l->kind == NN_LAYER_EMBEDDING &&
        (!opts || opts->kind != NN_YMAP || nn_ymap_find(opts, "dim", 3) < 0))
        nn_sv_missing(c, opts && opts->kind == NN_YMAP ? opts : item, "dim", path);
    if (l->kind == NN_LAYER_LINEAR && !l->bias && bias_init)
        nn_sv_error(c, bias_init->mark, "'%s.bias_init' is set but 'bias' is false", path);
}

/* A model item: `- KIND`, `- KIND: null|{}` or `- KIND: {options}`. */
static void parse_layer(nn_sctx *c, const nn_ynode *item, int idx, nn_layer *l)
{
    char path[96], buf[128], list[128];
    const nn_ynode *kind = item, *opts = NULL;
    snprintf(path, sizeof path, "model.%d", idx);
    if (item->kind == NN_YMAP && item->n != 1) {
        nn_sv_error(c, item->mark, "'%s' has %d keys; a layer item has exactly one, its kind", path,
                    item->n);
        nn_diag_note(c->d,
                     "options go in a map under the kind: '- linear: {out: 200, bias: false}'");
        return;
    }
    if (item->kind == NN_YMAP) {
        kind = nn_ymap_key(item, 0);
        opts = nn_ymap_value(item, 0);
    } else if (nn_sv_type(item) != NN_VSTR) {
        nn_sv_error(c, item->mark,
                    "expected a layer for '%s' (e.g. '- tanh' or "
                    "'- linear: {out: 200}'), got %s",
                    path, nn_sv_show(item, buf, sizeof buf));
        return;
    }
    int k = -1;
    for (int i = 0; kind_names[i]; i++)
        if (nn_yscalar_is(kind, kind_names[i])) k = i;
    if (k < 0) {
        const char *s =
            memchr(kind->text, 0, kind->len) ? NULL : nn_suggest(kind->text, kind_names);
        char dym[64] = "";
        if (s) snprintf(dym, sizeof dym, " (did you mean '%s'?)", s);
        nn_sv_error(c, kind->mark, "unknown layer %s%s", nn_sv_show(kind, buf, sizeof buf), dym);
        nn_diag_note(c->d, "valid layers: %s", nn_sv_join(kind_names, list, sizeof list));
        return;
    }
    l->kind = (nn_layer_kind)k;
    l->mark = kind->mark;
    layer_defaults(l);
    snprintf(path + strlen(path), sizeof path - strlen(path), ".%s", kind_names[k]);
    layer_options(c, l, item, opts, path);
}

void nn_spec_model(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    if (!nn_sv_seq(c, n, "model")) return;
    if (n->n == 0) {
        nn_sv_error(c, n->mark, "'model' must list at least one layer");
        return;
    }
    free(s->layers);
    s->layers = calloc((size_t)n->n, sizeof *s->layers);
    if (!s->layers) abort();
    s->nlayers = n->n;
    for (int i = 0; i < n->n; i++)
        parse_layer(c, n->items[i], i, &s->layers[i]);
}
