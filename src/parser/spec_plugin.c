/* spec_plugin.c — the `plugins:` section: activations from a user's shared object.
 *
 *   plugins:
 *     swish: {library: PATH, forward: SYMBOL, backward: SYMBOL, args: {beta: 1.0},
 *             form: array|scalar, check: true}
 *
 * The parser only types and checks the text (PATH is resolved relative to the file it is
 * written in, like data.source); loading the library, finding the symbols and calling
 * them is the runtime's (runtime/plugin/plugin.c).  The activation layers that name a plugin are
 * parsed in spec_model.c; nn_spec_plugins_check ties the two together. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

/* Names a plugin may not take: the builtin layers, and `expr` (expression activations).
 * Only the layers older than plugins: specs/mlp_gelu.yaml's plugin `gelu` predates the
 * builtin `gelu`, and a plugin is only ever reached as `- activation: NAME` anyway. */
static int reserved_name(const char *name)
{
    if (!strcmp(name, "expr")) return 1;
    for (int k = 0; k < NN_LAYER_LAYERNORM; k++)
        if (!strcmp(name, nn_layer_kind_name((nn_layer_kind)k))) return 1;
    return 0;
}

static void plugin_args(nn_sctx *c, const nn_ynode *n, const char *path, nn_plugin_spec *p)
{
    char buf[128], ap[200];
    p->args_mark = n->mark;
    if (!nn_sv_map(c, n, path)) return;
    if (n->n > NN_MAX_PLUGIN_ARGS) {
        nn_sv_error(c, n->mark, "'%s' declares %d arguments; at most %d are supported", path, n->n,
                    NN_MAX_PLUGIN_ARGS);
        return;
    }
    for (int i = 0; i < p->nargs; i++)
        free(p->args[i].name);
    free(p->args);
    p->nargs = 0;
    p->args = calloc((size_t)n->n + 1, sizeof *p->args);
    if (!p->args) abort();
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *k = nn_ymap_key(n, i);
        if (!nn_sv_ident(k)) {
            nn_sv_error(c, k->mark, "an argument name in '%s' must be an identifier, got %s", path,
                        nn_sv_show(k, buf, sizeof buf));
            continue;
        }
        snprintf(ap, sizeof ap, "%.120s.%.64s", path, k->text);
        nn_arg *a = &p->args[p->nargs++];
        a->name = nn_sv_strdup(k->text);
        nn_spec_arg(c, nn_ymap_value(n, i), ap, a);
    }
}

/* One `NAME: {library, forward, backward, args, form, check}`. */
static void parse_plugin(nn_sctx *c, const nn_ynode *key, const nn_ynode *v, nn_plugin_spec *p)
{
    static const char *const keys[] = {"library", "forward", "backward", "args",
                                       "form",    "check",   NULL};
    static const char *const forms[] = {"array", "scalar", NULL};
    char path[100], kp[140], buf[128];
    p->mark = key->mark;
    p->check = 1;
    if (!nn_sv_ident(key)) {
        nn_sv_error(c, key->mark, "a plugin name must be an identifier (e.g. 'swish'), got %s",
                    nn_sv_show(key, buf, sizeof buf));
        return;
    }
    p->name = nn_sv_strdup(key->text);
    if (reserved_name(p->name)) {
        nn_sv_error(c, key->mark, "plugin name '%s' is taken by %s; choose another name", p->name,
                    strcmp(p->name, "expr") ? "a builtin layer"
                                            : "expression activations ('activation: {expr: ...}')");
        return;
    }
    snprintf(path, sizeof path, "plugins.%s", p->name);
    if (!nn_sv_map(c, v, path)) return;
    for (int i = 0; i < v->n; i++) {
        const nn_ynode *k = nn_ymap_key(v, i), *x = nn_ymap_value(v, i);
        snprintf(kp, sizeof kp, "%s.%.20s", path, k->text);
        if (nn_yscalar_is(k, "library")) {
            free(p->library);
            p->library = nn_sv_path(c, x, kp);
            p->library_mark = x->mark;
        } else if (nn_yscalar_is(k, "forward")) {
            nn_sv_string(c, x, kp, &p->forward);
            p->forward_mark = x->mark;
        } else if (nn_yscalar_is(k, "backward")) {
            nn_sv_string(c, x, kp, &p->backward);
            p->backward_mark = x->mark;
        } else if (nn_yscalar_is(k, "args")) {
            plugin_args(c, x, kp, p);
        } else if (nn_yscalar_is(k, "form")) {
            nn_sv_enum(c, x, kp, forms, &p->scalar);
        } else if (nn_yscalar_is(k, "check")) {
            nn_sv_bool(c, x, kp, &p->check);
        } else {
            nn_sv_unknown_key(c, k, path, keys);
        }
    }
    if (nn_ymap_find(v, "library", 7) < 0) nn_sv_missing(c, v, "library", path);
    if (nn_ymap_find(v, "forward", 7) < 0) nn_sv_missing(c, v, "forward", path);
    if (!p->args_mark.file) p->args_mark = v->mark;
}

void nn_spec_plugins(nn_sctx *c, const nn_ynode *n, nn_spec *s)
{
    if (!nn_sv_map(c, n, "plugins")) return;
    nn_plugin_specs_free(s->plugins, s->nplugins);
    s->plugins = calloc((size_t)n->n + 1, sizeof *s->plugins);
    if (!s->plugins) abort();
    s->nplugins = n->n;
    for (int i = 0; i < n->n; i++)
        parse_plugin(c, nn_ymap_key(n, i), nn_ymap_value(n, i), &s->plugins[i]);
}

static const char *type_name(nn_arg_type t)
{
    return t == NN_ARG_INT      ? "an int ({int: N})"
           : t == NN_ARG_DOUBLE ? "a double ({double: X})"
                                : "a float (a plain number)";
}

/* A layer's overrides: each names a declared argument and keeps its declared C type. */
static void check_overrides(nn_sctx *c, const nn_layer *l, const nn_plugin_spec *p)
{
    for (int j = 0; j < l->nargs; j++) {
        const nn_arg *o = &l->args[j];
        const nn_arg *decl = NULL;
        for (int k = 0; k < p->nargs && !decl; k++)
            if (p->args[k].name && !strcmp(p->args[k].name, o->name)) decl = &p->args[k];
        if (!decl) {
            nn_sv_error(c, o->mark, "plugin '%s' declares no argument '%s'", p->name, o->name);
            if (p->nargs == 0) {
                nn_diag_note(c->d, "declare it under 'plugins.%s.args' (it has none)", p->name);
            } else {
                char list[256] = "";
                for (int k = 0; k < p->nargs; k++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                             p->args[k].name ? p->args[k].name : "?");
                nn_diag_note(c->d, "its arguments: %s", list);
            }
        } else if (decl->type != o->type) {
            nn_sv_error(c, o->mark,
                        "argument '%s' of plugin '%s' is declared %s, but given as %s here",
                        o->name, p->name, type_name(decl->type), type_name(o->type));
            nn_diag_note(c->d, "declared at %s:%d:%d: a C function's argument types are fixed",
                         decl->mark.file, decl->mark.line, decl->mark.col);
        }
    }
}

void nn_spec_plugins_check(nn_sctx *c, const nn_spec *s)
{
    const char *names[64];
    int nn = 0;
    for (int i = 0; i < s->nplugins && nn < 63; i++)
        if (s->plugins[i].name) names[nn++] = s->plugins[i].name;
    names[nn] = NULL;
    for (int i = 0; i < s->nlayers; i++) {
        const nn_layer *l = &s->layers[i];
        if (l->kind != NN_LAYER_ACTIVATION || !l->activation || l->expr) continue;
        const nn_plugin_spec *p = NULL;
        for (int k = 0; k < s->nplugins && !p; k++)
            if (s->plugins[k].name && !strcmp(s->plugins[k].name, l->activation))
                p = &s->plugins[k];
        if (p) {
            check_overrides(c, l, p);
            continue;
        }
        const char *dym = nn ? nn_suggest(l->activation, names) : NULL;
        nn_sv_error(c, l->mark, "activation '%s' is no declared plugin%s%s%s", l->activation,
                    dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
        if (reserved_name(l->activation) && strcmp(l->activation, "expr") != 0)
            nn_diag_note(c->d, "'%s' is a builtin layer: write it as a layer of its own, '- %s'",
                         l->activation, l->activation);
        else if (!nn)
            nn_diag_note(c->d,
                         "declare it in a top-level 'plugins:' section, e.g. 'plugins: "
                         "{%s: {library: ./%s.so, forward: %s_fwd, backward: %s_bwd}}'",
                         l->activation, l->activation, l->activation, l->activation);
    }
}

void nn_plugin_specs_free(nn_plugin_spec *p, int n)
{
    for (int i = 0; p && i < n; i++) {
        free(p[i].name);
        free(p[i].library);
        free(p[i].forward);
        free(p[i].backward);
        for (int j = 0; j < p[i].nargs; j++)
            free(p[i].args[j].name);
        free(p[i].args);
    }
    free(p);
}
