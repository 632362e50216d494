/* spec_model.c — the `model:` list → nn_layer[]: layer kinds and their options (init
 * schemes are in spec_init.c).  Adding a layer means: a name in kind_names, its defaults
 * in layer_defaults, its option keys in option_keys and their values in layer_option. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

static const char *const kind_names[] = {
    "embedding", "flatten",   "linear",      "batchnorm", "tanh",         "relu",
    "sigmoid",   "onehot",    "activation",  "ngram",     "flatten_consecutive",
    "layernorm", "attention", "gelu",        "dropout",   "causal_mean",  "recurrent",
    "residual",  "residual_end", "attention_core", NULL};
/* the kinds a user writes as `- KIND` (residual has its own item form: spec_blocks.c) */
static const char *const user_kinds[] = {
    "embedding", "flatten",   "linear", "batchnorm", "tanh",         "relu",     "sigmoid",
    "onehot",    "activation", "ngram", "flatten_consecutive",       "layernorm", "attention",
    "gelu",      "dropout",   "causal_mean", "recurrent", "residual", "repeat", NULL};

#define NN_MAX_LAYERS 10000

const char *nn_layer_kind_name(nn_layer_kind k)
{
    return (int)k >= 0 && k < NN_LAYER_KIND_COUNT ? kind_names[k] : "?";
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
    case NN_LAYER_NGRAM: l->n = 2; break;
    case NN_LAYER_BATCHNORM:
        l->eps = 1e-5;
        l->momentum = 0.1;
        l->init.kind = NN_INIT_ONES;
        l->bias_init.kind = NN_INIT_ZEROS;
        break;
    case NN_LAYER_LAYERNORM:
        l->eps = 1e-5;
        l->affine = 1;
        l->init.kind = NN_INIT_ONES;
        l->bias_init.kind = NN_INIT_ZEROS;
        break;
    case NN_LAYER_ATTENTION:
        l->causal = 1;
        l->bias = 1;
        l->init.kind = NN_INIT_KAIMING;
        l->bias_init.kind = NN_INIT_ZEROS;
        break;
    case NN_LAYER_RECURRENT: /* nn.Linear's defaults, as makemore.py's cells have them */
        l->init.kind = NN_INIT_TORCH;
        l->bias_init.kind = NN_INIT_TORCH;
        break;
    default: break;
    }
}

static const char *const *option_keys(nn_layer_kind k)
{
    static const char *const emb[] = {"dim", "positions", "window", "init", NULL};
    static const char *const none[] = {NULL};
    static const char *const ln[] = {"eps", "affine", "init", "bias_init", NULL};
    static const char *const att[] = {"heads", "causal", "bias", "init", "bias_init", NULL};
    static const char *const gelu[] = {"approximate", NULL}, *const drop[] = {"p", NULL};
    static const char *const lin[] = {"out", "bias", "init", "bias_init", NULL};
    static const char *const bn[] = {"variance", "eps",  "momentum",  "running",
                                     "over",     "init", "bias_init", NULL};
    static const char *const ngram[] = {"n", "smoothing", NULL}, *const fc[] = {"n", NULL};
    static const char *const rec[] = {"cell", "hidden", "init", "bias_init", NULL};
    return k == NN_LAYER_EMBEDDING              ? emb
           : k == NN_LAYER_LAYERNORM           ? ln
           : k == NN_LAYER_ATTENTION           ? att
           : k == NN_LAYER_GELU                ? gelu
           : k == NN_LAYER_DROPOUT             ? drop
           : k == NN_LAYER_FLATTEN_CONSECUTIVE ? fc
           : k == NN_LAYER_LINEAR              ? lin
           : k == NN_LAYER_BATCHNORM           ? bn
           : k == NN_LAYER_NGRAM               ? ngram
           : k == NN_LAYER_RECURRENT           ? rec
                                               : none;
}

/* One option `key: v` of layer l; returns 0 for a key the layer does not have. */
static int layer_option(nn_sctx *c, nn_layer *l, const nn_ynode *key, const nn_ynode *v,
                        const char *path)
{
    static const char *const variance[] = {"biased", "unbiased", "pytorch", NULL};
    static const char *const running[] = {"var", "std", NULL};
    static const char *const over[] = {"all", "batch", NULL};
    static const nn_range nonneg = {0, INFINITY, 0, 0}, unit = {0, 1, 0, 0};
    char p[220];
    snprintf(p, sizeof p, "%.160s.%.*s", path, (int)(key->len > 40 ? 40 : key->len), key->text);
    static const char *const approx[] = {"none", "tanh", NULL};
    static const char *const cells[] = {"rnn", "gru", NULL};
    static const nn_range eps = {0, 1, 0, 0}, prob = {0, 1, 0, 1};
    int lin = l->kind == NN_LAYER_LINEAR, bn = l->kind == NN_LAYER_BATCHNORM;
    int ln = l->kind == NN_LAYER_LAYERNORM, att = l->kind == NN_LAYER_ATTENTION;
    int rec = l->kind == NN_LAYER_RECURRENT;
    int has_init = lin || bn || ln || att || rec || l->kind == NN_LAYER_EMBEDDING;
    if (l->kind == NN_LAYER_EMBEDDING && nn_yscalar_is(key, "dim"))
        nn_sv_int(c, v, p, 1, 65536, &l->dim);
    else if (l->kind == NN_LAYER_EMBEDDING && nn_yscalar_is(key, "positions"))
        nn_sv_int(c, v, p, 1, 65536, &l->positions);
    else if (l->kind == NN_LAYER_EMBEDDING && nn_yscalar_is(key, "window"))
        nn_sv_int(c, v, p, 1, 256, &l->window);
    else if (ln && nn_yscalar_is(key, "eps"))
        nn_sv_float(c, v, p, eps, &l->eps);
    else if (ln && nn_yscalar_is(key, "affine"))
        nn_sv_bool(c, v, p, &l->affine);
    else if (att && nn_yscalar_is(key, "heads"))
        nn_sv_int(c, v, p, 1, 4096, &l->heads);
    else if (att && nn_yscalar_is(key, "causal"))
        nn_sv_bool(c, v, p, &l->causal);
    else if (att && nn_yscalar_is(key, "bias"))
        nn_sv_bool(c, v, p, &l->bias);
    else if (l->kind == NN_LAYER_GELU && nn_yscalar_is(key, "approximate"))
        nn_sv_enum(c, v, p, approx, &l->approximate);
    else if (l->kind == NN_LAYER_DROPOUT && nn_yscalar_is(key, "p"))
        nn_sv_float(c, v, p, prob, &l->p);
    else if (lin && nn_yscalar_is(key, "out"))
        nn_sv_int(c, v, p, 1, 1048576, &l->out);
    else if (lin && nn_yscalar_is(key, "bias"))
        nn_sv_bool(c, v, p, &l->bias);
    else if (has_init && nn_yscalar_is(key, "init"))
        nn_spec_init(c, v, p, &l->init);
    else if (rec && nn_yscalar_is(key, "cell"))
        nn_sv_enum(c, v, p, cells, &l->cell);
    else if (rec && nn_yscalar_is(key, "hidden"))
        nn_sv_int(c, v, p, 1, 65536, &l->hidden);
    else if ((lin || bn || ln || att || rec) && nn_yscalar_is(key, "bias_init"))
        nn_spec_init(c, v, p, &l->bias_init);
    else if (bn && nn_yscalar_is(key, "variance"))
        nn_sv_enum(c, v, p, variance, &l->unbiased);
    else if (bn && nn_yscalar_is(key, "eps"))
        nn_sv_float(c, v, p, nonneg, &l->eps);
    else if (bn && nn_yscalar_is(key, "momentum"))
        nn_sv_float(c, v, p, unit, &l->momentum);
    else if (bn && nn_yscalar_is(key, "running"))
        nn_sv_enum(c, v, p, running, &l->running_std);
    else if (bn && nn_yscalar_is(key, "over"))
        nn_sv_enum(c, v, p, over, &l->over_batch);
    else if (l->kind == NN_LAYER_FLATTEN_CONSECUTIVE && nn_yscalar_is(key, "n"))
        nn_sv_int(c, v, p, 1, 65536, &l->n);
    else if (l->kind == NN_LAYER_NGRAM && nn_yscalar_is(key, "n"))
        nn_sv_int(c, v, p, 2, 6, &l->n);
    else if (l->kind == NN_LAYER_NGRAM && nn_yscalar_is(key, "smoothing"))
        nn_sv_float(c, v, p, nonneg, &l->smoothing);
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
    if (l->kind == NN_LAYER_EMBEDDING && l->window && l->positions)
        nn_sv_error(c, item->mark, "'%s' has both 'window' and 'positions'; choose one", path);
    if (l->kind == NN_LAYER_FLATTEN_CONSECUTIVE &&
        (!opts || opts->kind != NN_YMAP || nn_ymap_find(opts, "n", 1) < 0))
        nn_sv_missing(c, opts && opts->kind == NN_YMAP ? opts : item, "n", path);
    if ((l->kind == NN_LAYER_LINEAR || l->kind == NN_LAYER_ATTENTION) && !l->bias && bias_init)
        nn_sv_error(c, bias_init->mark, "'%s.bias_init' is set but 'bias' is false", path);
    if (l->kind == NN_LAYER_ATTENTION &&
        (!opts || opts->kind != NN_YMAP || nn_ymap_find(opts, "heads", 5) < 0))
        nn_sv_missing(c, opts && opts->kind == NN_YMAP ? opts : item, "heads", path);
    static const char *const rec_needs[] = {"cell", "hidden"};
    for (int k = 0; l->kind == NN_LAYER_RECURRENT && k < 2; k++)
        if (!opts || opts->kind != NN_YMAP ||
            nn_ymap_find(opts, rec_needs[k], strlen(rec_needs[k])) < 0)
            nn_sv_missing(c, opts && opts->kind == NN_YMAP ? opts : item, rec_needs[k], path);
    if (l->kind == NN_LAYER_DROPOUT &&
        (!opts || opts->kind != NN_YMAP || nn_ymap_find(opts, "p", 1) < 0))
        nn_sv_missing(c, opts && opts->kind == NN_YMAP ? opts : item, "p", path);
}

/* An identifier: [A-Za-z_][A-Za-z0-9_]*, as plugin and argument names are. */
int nn_sv_ident(const nn_ynode *n)
{
    if (n->kind != NN_YSCALAR || n->len == 0 || n->len > 64) return 0;
    for (size_t i = 0; i < n->len; i++) {
        char ch = n->text[i];
        int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return 0;
    }
    return 1;
}

/* One argument value: a number (a C float), {double: X} or {int: N}. */
void nn_spec_arg(nn_sctx *c, const nn_ynode *v, const char *path, nn_arg *a)
{
    static const nn_range any = {-INFINITY, INFINITY, 0, 0};
    char buf[128], p[300];
    long iv;
    a->mark = v->mark;
    static const nn_range in_float = {-FLT_MAX, FLT_MAX, 0, 0}; /* a C float, not inf */
    if (v->kind != NN_YMAP) {
        a->type = NN_ARG_FLOAT;
        nn_sv_float(c, v, path, in_float, &a->value);
        return;
    }
    const nn_ynode *k = v->n == 1 ? nn_ymap_key(v, 0) : NULL;
    if (!k || !(nn_yscalar_is(k, "double") || nn_yscalar_is(k, "int"))) {
        nn_sv_error(c, k ? k->mark : v->mark,
                    "expected a number, {double: X} or {int: N} for '%s', got %s", path,
                    k ? nn_sv_show(k, buf, sizeof buf) : "a map");
        return;
    }
    snprintf(p, sizeof p, "%.260s.%.6s", path, k->text);
    if (nn_yscalar_is(k, "double")) {
        a->type = NN_ARG_DOUBLE;
        nn_sv_float(c, nn_ymap_value(v, 0), p, any, &a->value);
    } else if (nn_sv_long(c, nn_ymap_value(v, 0), p, -2147483647L - 1, 2147483647L, &iv)) {
        a->type = NN_ARG_INT;
        a->value = (double)iv;
    }
}

/* `- activation: NAME` or `- activation: {NAME: {ARG: VALUE, ...}}` (a plugin's). */
static void layer_activation(nn_sctx *c, nn_layer *l, const nn_ynode *item, const nn_ynode *opts,
                             const char *path)
{
    char buf[128], p[200];
    const nn_ynode *name = opts, *args = NULL;
    if (opts && opts->kind == NN_YMAP && nn_ymap_find(opts, "expr", 4) >= 0) {
        nn_spec_expr_activation(c, l, opts, path); /* a formula (spec_expr.c) */
        return;
    }
    if (opts && opts->kind == NN_YMAP && opts->n == 1) {
        name = nn_ymap_key(opts, 0);
        args = nn_ymap_value(opts, 0);
    }
    if (!opts || !nn_sv_ident(name)) {
        nn_sv_error(c, opts ? opts->mark : item->mark,
                    "expected a plugin name for '%s' (e.g. '- activation: swish' or "
                    "'- activation: {swish: {beta: 1.0}}'), got %s",
                    path, opts ? nn_sv_show(name, buf, sizeof buf) : "nothing");
        return;
    }
    if (nn_yscalar_is(name, "expr")) {
        nn_sv_error(c, name->mark,
                    "'%s: expr' needs its formula: '- activation: {expr: \"x * sigmoid(x)\"}'",
                    path);
        return;
    }
    l->activation = nn_sv_strdup(name->text);
    if (!args || nn_sv_type(args) == NN_VNULL) return;
    snprintf(p, sizeof p, "%.120s.%.64s", path, l->activation);
    if (!nn_sv_map(c, args, p)) return;
    l->args = calloc((size_t)args->n + 1, sizeof *l->args);
    if (!l->args) abort();
    for (int i = 0; i < args->n; i++) {
        const nn_ynode *k = nn_ymap_key(args, i);
        if (!nn_sv_ident(k)) {
            nn_sv_error(c, k->mark, "an argument name in '%s' must be an identifier, got %s", p,
                        nn_sv_show(k, buf, sizeof buf));
            continue;
        }
        char ap[260];
        snprintf(ap, sizeof ap, "%.190s.%.64s", p, k->text);
        nn_arg *a = &l->args[l->nargs++];
        a->name = nn_sv_strdup(k->text);
        nn_spec_arg(c, nn_ymap_value(args, i), ap, a);
    }
}

/* A model item: `- KIND`, `- KIND: null|{}` or `- KIND: {options}`; `where` is its path
 * ("model.3", "blocks.gpt.0.residual.1"). */
void nn_spec_layer(nn_sctx *c, const nn_ynode *item, const char *where, nn_layer *l)
{
    char path[160], buf[128], list[320];
    const nn_ynode *kind = item, *opts = NULL;
    snprintf(path, sizeof path, "%.120s", where);
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
    for (int i = 0; i < NN_LAYER_RESIDUAL; i++)
        if (nn_yscalar_is(kind, kind_names[i])) k = i;
    if (k < 0) {
        const char *s =
            memchr(kind->text, 0, kind->len) ? NULL : nn_suggest(kind->text, user_kinds);
        char dym[64] = "";
        if (s) snprintf(dym, sizeof dym, " (did you mean '%s'?)", s);
        nn_sv_error(c, kind->mark, "unknown layer %s%s", nn_sv_show(kind, buf, sizeof buf), dym);
        if (c->plugins && c->plugins->kind == NN_YMAP &&
            nn_ymap_find(c->plugins, kind->text, kind->len) >= 0) /* `- leaky`, a plugin */
            nn_diag_note(c->d, "'%s' is a plugin of this spec: use it as '- activation: %s'",
                         kind->text, kind->text);
        else
            nn_diag_note(c->d, "valid layers: %s", nn_sv_join(user_kinds, list, sizeof list));
        return;
    }
    l->kind = (nn_layer_kind)k;
    l->mark = kind->mark;
    layer_defaults(l);
    snprintf(path + strlen(path), sizeof path - strlen(path), ".%s", kind_names[k]);
    if (l->kind == NN_LAYER_ACTIVATION)
        layer_activation(c, l, item, opts, path);
    else
        layer_options(c, l, item, opts, path);
}

void nn_layer_free(nn_layer *l)
{
    nn_init_free(&l->init);
    nn_init_free(&l->bias_init);
    free(l->activation);
    for (int j = 0; j < l->nargs; j++)
        free(l->args[j].name);
    free(l->args);
    nn_expr_spec_free(l->expr);
}

void nn_layers_free(nn_layer *l, int n)
{
    for (int i = 0; l && i < n; i++)
        nn_layer_free(&l[i]);
    free(l);
}
