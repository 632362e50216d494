/* spec_blocks.c — the model's structure.  `blocks: {NAME: [items]}` defines named lists of
 * items once; `- repeat: {block: NAME, n: N}` puts N copies in the model; `- residual:
 * [items]` is x + f(x).  The items form a tree (nn_spec.model, what emit.c writes back);
 * the IR builds from the flattened list (nn_spec.layers):
 *   - a residual becomes NN_LAYER_RESIDUAL, its items, NN_LAYER_RESIDUAL_END;
 *   - an attention becomes a linear (out 3·C, "NAME.qkv"), NN_LAYER_ATTN_CORE and a
 *     linear (out C, "NAME.proj") — construction order, as torch draws their inits;
 *   - every layer gets its tensor-name prefix: "layers.P" at position P of the model,
 *     "layers.P.KIND" inside a residual there, "blocks.R.KIND" in the R-th block copy
 *     (KIND_1, KIND_2, ... when a kind comes again in the same block or item).
 * Flattened layers are shallow copies: their inits belong to the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

#define NN_MAX_LAYERS 10000
#define MAX_DEPTH     16 /* residuals and repeats nested */

/* ---- parsing ---------------------------------------------------------------------------- */

static void parse_items(nn_sctx *c, const nn_ynode *seq, const char *path, nn_item **out, int *n,
                        int depth);

static void free_items(nn_item *it, int n)
{
    for (int i = 0; it && i < n; i++) {
        nn_layer_free(&it[i].layer); /* a repeat keeps its block name there */
        free_items(it[i].items, it[i].nitems);
    }
    free(it);
}

/* `- repeat: {block: NAME, n: N}`; the name is resolved once all blocks are read. */
static void parse_repeat(nn_sctx *c, const nn_ynode *v, const char *path, nn_item *it)
{
    static const char *const keys[] = {"block", "n", NULL};
    it->block = -1;
    it->n = 1;
    if (!nn_sv_map(c, v, path)) return;
    for (int i = 0; i < v->n; i++) {
        char p[200];
        const nn_ynode *k = nn_ymap_key(v, i), *val = nn_ymap_value(v, i);
        snprintf(p, sizeof p, "%.150s.%.20s", path, k->text);
        if (nn_yscalar_is(k, "n")) {
            nn_sv_int(c, val, p, 1, NN_MAX_LAYERS, &it->n);
        } else if (nn_yscalar_is(k, "block")) {
            char *name = NULL;
            if (!nn_sv_string(c, val, p, &name)) continue;
            it->layer.activation = name; /* the name until resolved (freed with the layer) */
            it->block_mark = val->mark;
        } else {
            nn_sv_unknown_key(c, k, path, keys);
        }
    }
    if (nn_ymap_find(v, "block", 5) < 0) nn_sv_missing(c, v, "block", path);
}

static void parse_item(nn_sctx *c, const nn_ynode *item, const char *path, nn_item *it, int depth)
{
    char p[200];
    const nn_ynode *key = item->kind == NN_YMAP && item->n == 1 ? nn_ymap_key(item, 0) : NULL;
    it->mark = item->mark;
    if (key && nn_yscalar_is(key, "residual")) {
        it->kind = NN_ITEM_RESIDUAL;
        it->mark = key->mark;
        snprintf(p, sizeof p, "%.180s.residual", path);
        const nn_ynode *v = nn_ymap_value(item, 0);
        if (depth >= MAX_DEPTH) {
            nn_sv_error(c, key->mark, "'%s' nests residuals and repeats more than %d deep", p,
                        MAX_DEPTH);
            return;
        }
        if (!nn_sv_seq(c, v, p)) return;
        if (v->n == 0) {
            nn_sv_error(c, v->mark, "'%s' is empty; it needs the layers f of x + f(x)", p);
            return;
        }
        parse_items(c, v, p, &it->items, &it->nitems, depth + 1);
    } else if (key && nn_yscalar_is(key, "repeat")) {
        it->kind = NN_ITEM_REPEAT;
        it->mark = key->mark;
        snprintf(p, sizeof p, "%.180s.repeat", path);
        parse_repeat(c, nn_ymap_value(item, 0), p, it);
    } else {
        it->kind = NN_ITEM_LAYER;
        nn_spec_layer(c, item, path, &it->layer);
        it->mark = it->layer.mark.file ? it->layer.mark : item->mark;
    }
}

static void parse_items(nn_sctx *c, const nn_ynode *seq, const char *path, nn_item **out, int *n,
                        int depth)
{
    *out = calloc((size_t)seq->n + 1, sizeof **out);
    if (!*out) abort();
    *n = seq->n;
    for (int i = 0; i < seq->n; i++) {
        char p[200];
        snprintf(p, sizeof p, "%.180s.%d", path, i);
        parse_item(c, seq->items[i], p, &(*out)[i], depth);
    }
}

static void parse_blocks(nn_sctx *c, const nn_ynode *b, nn_spec *s)
{
    if (!nn_sv_map(c, b, "blocks")) return;
    s->blocks = calloc((size_t)b->n + 1, sizeof *s->blocks);
    if (!s->blocks) abort();
    for (int i = 0; i < b->n; i++) {
        const nn_ynode *k = nn_ymap_key(b, i), *v = nn_ymap_value(b, i);
        char p[120];
        if (!nn_sv_ident(k)) {
            char buf[100];
            nn_sv_error(c, k->mark, "a block name must be an identifier, got %s",
                        nn_sv_show(k, buf, sizeof buf));
            continue;
        }
        snprintf(p, sizeof p, "blocks.%s", k->text);
        if (!nn_sv_seq(c, v, p)) continue;
        if (v->n == 0) {
            nn_sv_error(c, v->mark, "block '%s' is empty; list its layers", k->text);
            continue;
        }
        nn_block *bl = &s->blocks[s->nblocks++];
        bl->name = nn_sv_strdup(k->text);
        bl->mark = k->mark;
        parse_items(c, v, p, &bl->items, &bl->nitems, 1);
    }
}

/* ---- resolving block names, cycles -------------------------------------------------------- */

static int find_block(const nn_spec *s, const char *name)
{
    for (int i = 0; i < s->nblocks; i++)
        if (strcmp(s->blocks[i].name, name) == 0) return i;
    return -1;
}

static void resolve(nn_sctx *c, nn_spec *s, nn_item *it, int n)
{
    for (int i = 0; i < n; i++) {
        if (it[i].kind == NN_ITEM_RESIDUAL) resolve(c, s, it[i].items, it[i].nitems);
        if (it[i].kind != NN_ITEM_REPEAT || !it[i].layer.activation) continue;
        it[i].block = find_block(s, it[i].layer.activation);
        if (it[i].block >= 0) continue;
        const char *names[65];
        int k = 0;
        for (; k < s->nblocks && k < 64; k++)
            names[k] = s->blocks[k].name;
        names[k] = NULL;
        const char *dym = nn_suggest(it[i].layer.activation, names);
        nn_sv_error(c, it[i].block_mark, "unknown block '%s'%s%s%s", it[i].layer.activation,
                    dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
        nn_diag_note(c->d, s->nblocks ? "blocks are defined under 'blocks:' at the top level"
                                      : "there is no 'blocks:' section defining it");
    }
}

/* Depth-first over the blocks a list uses; `on` marks the blocks being expanded. */
static int cycle(nn_sctx *c, const nn_spec *s, const nn_item *it, int n, char *on, int from)
{
    for (int i = 0; i < n; i++) {
        if (it[i].kind == NN_ITEM_RESIDUAL && cycle(c, s, it[i].items, it[i].nitems, on, from))
            return 1;
        if (it[i].kind != NN_ITEM_REPEAT || it[i].block < 0) continue;
        const nn_block *b = &s->blocks[it[i].block];
        if (on[it[i].block]) {
            nn_sv_error(c, it[i].block_mark,
                        "block '%s' uses block '%s', which uses it in turn: blocks may not use "
                        "each other in a cycle",
                        s->blocks[from].name, b->name);
            nn_diag_note(c->d, "%s:%d:%d: block '%s' is defined here", b->mark.file, b->mark.line,
                         b->mark.col, b->name);
            return 1;
        }
        on[it[i].block] = 1;
        int r = cycle(c, s, b->items, b->nitems, on, it[i].block);
        on[it[i].block] = 0;
        if (r) return 1;
    }
    return 0;
}

/* ---- flattening ------------------------------------------------------------------------- */

typedef struct {
    nn_spec *s;
    nn_sctx *c;
    int cap, nblock; /* block copies made so far (blocks.R) */
    int overflow;
} flat;

/* Per naming scope (a block copy, or one top-level item): how often each kind came. */
typedef struct {
    char prefix[24]; /* "blocks.2" or "layers.5" */
    int count[NN_LAYER_KIND_COUNT];
} scope;

static nn_layer *push(flat *f, const nn_layer *l)
{
    if (f->s->nlayers >= NN_MAX_LAYERS) {
        f->overflow = 1;
        return NULL;
    }
    if (f->s->nlayers == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->s->layers = realloc(f->s->layers, (size_t)f->cap * sizeof *f->s->layers);
        if (!f->s->layers) abort();
    }
    nn_layer *d = &f->s->layers[f->s->nlayers++];
    *d = *l;
    return d;
}

static void scoped_name(scope *sc, nn_layer_kind k, char *out, size_t len)
{
    int i = sc->count[k]++;
    const char *kn = k == NN_LAYER_RESIDUAL ? "residual" : nn_layer_kind_name(k);
    if (i == 0)
        snprintf(out, len, "%s.%s", sc->prefix, kn);
    else
        snprintf(out, len, "%s.%s_%d", sc->prefix, kn, i);
}

static void flatten(flat *f, const nn_item *it, int n, scope *sc, nn_mark use, int top);

static void flatten_layer(flat *f, const nn_layer *l, const char *name, nn_mark use)
{
    nn_layer *d;
    if (l->kind != NN_LAYER_ATTENTION) {
        if ((d = push(f, l))) snprintf(d->name, sizeof d->name, "%s", name), d->use = use;
        return;
    }
    nn_layer part = *l;
    part.kind = NN_LAYER_LINEAR;
    part.out = 0;
    part.out_mult = 3;
    if ((d = push(f, &part))) snprintf(d->name, sizeof d->name, "%.30s.qkv", name), d->use = use;
    part = *l;
    part.kind = NN_LAYER_ATTN_CORE;
    if ((d = push(f, &part))) snprintf(d->name, sizeof d->name, "%s", name), d->use = use;
    part.kind = NN_LAYER_LINEAR;
    part.out_mult = 1;
    if ((d = push(f, &part))) snprintf(d->name, sizeof d->name, "%.30s.proj", name), d->use = use;
}

static void flatten_item(flat *f, const nn_item *it, scope *sc, nn_mark use, int pos, int top)
{
    char name[40];
    scope own;
    if (top) { /* a top-level item is its own scope: "layers.P" */
        memset(&own, 0, sizeof own);
        snprintf(own.prefix, sizeof own.prefix, "layers.%d", pos);
        sc = &own;
    }
    if (it->kind == NN_ITEM_LAYER) {
        if (top)
            snprintf(name, sizeof name, "%s", own.prefix);
        else
            scoped_name(sc, it->layer.kind, name, sizeof name);
        flatten_layer(f, &it->layer, name, use);
    } else if (it->kind == NN_ITEM_RESIDUAL) {
        nn_layer mark = {.kind = NN_LAYER_RESIDUAL, .mark = it->mark, .use = use};
        scoped_name(sc, NN_LAYER_RESIDUAL, mark.name, sizeof mark.name);
        int begin = f->s->nlayers;
        if (!push(f, &mark)) return;
        flatten(f, it->items, it->nitems, sc, use, 0);
        mark.kind = NN_LAYER_RESIDUAL_END;
        mark.begin = begin;
        push(f, &mark);
    } else if (it->block >= 0) {
        const nn_block *b = &f->s->blocks[it->block];
        for (int r = 0; r < it->n && !f->overflow; r++) {
            scope blk;
            memset(&blk, 0, sizeof blk);
            snprintf(blk.prefix, sizeof blk.prefix, "blocks.%d", f->nblock++);
            flatten(f, b->items, b->nitems, &blk, it->mark, 0);
        }
    }
}

static void flatten(flat *f, const nn_item *it, int n, scope *sc, nn_mark use, int top)
{
    for (int i = 0; i < n && !f->overflow; i++)
        flatten_item(f, &it[i], sc, use, i, top);
}

/* ---- the model -------------------------------------------------------------------------- */

void nn_spec_model_free(nn_spec *s)
{
    free_items(s->model, s->nmodel);
    for (int i = 0; i < s->nblocks; i++) {
        free(s->blocks[i].name);
        free_items(s->blocks[i].items, s->blocks[i].nitems);
    }
    free(s->blocks);
    free(s->layers);
    s->model = NULL, s->blocks = NULL, s->layers = NULL;
    s->nmodel = s->nblocks = s->nlayers = 0;
}

void nn_spec_model(nn_sctx *c, const nn_ynode *n, const nn_ynode *blocks, nn_spec *s)
{
    if (!nn_sv_seq(c, n, "model")) return;
    if (n->n == 0 || n->n > NN_MAX_LAYERS) {
        if (n->n)
            nn_sv_error(c, n->mark, "'model' has %d layers; at most %d are supported", n->n,
                        NN_MAX_LAYERS);
        else
            nn_sv_error(c, n->mark, "'model' must list at least one layer");
        return;
    }
    nn_spec_model_free(s);
    if (blocks) parse_blocks(c, blocks, s);
    parse_items(c, n, "model", &s->model, &s->nmodel, 0);
    int before = c->nerr;
    resolve(c, s, s->model, s->nmodel);
    char *on = calloc((size_t)s->nblocks + 1, 1);
    if (!on) abort();
    for (int i = 0; i < s->nblocks; i++)
        resolve(c, s, s->blocks[i].items, s->blocks[i].nitems);
    for (int i = 0; i < s->nblocks && c->nerr == before; i++) {
        on[i] = 1;
        int r = cycle(c, s, s->blocks[i].items, s->blocks[i].nitems, on, i);
        on[i] = 0;
        if (r) break;
    }
    free(on);
    if (c->nerr > before) return;
    flat f = {.s = s, .c = c};
    flatten(&f, s->model, s->nmodel, NULL, (nn_mark){0}, 1);
    if (f.overflow) {
        nn_sv_error(c, n->mark, "the model expands to more than %d layers", NN_MAX_LAYERS);
        return;
    }
    for (int i = 0; i < s->nlayers; i++) {
        if (s->layers[i].kind != NN_LAYER_NGRAM || !s->layers[i].mark.file || s->nlayers == 1)
            continue;
        nn_sv_error(c, s->layers[i].mark,
                    "'ngram' is a whole model (a table of counts): it must be the only layer "
                    "in 'model', which has %d",
                    n->n);
        break;
    }
}
