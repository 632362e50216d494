/* spec_set.c — `--set KEY.PATH=VALUE`: parse VALUE as YAML and put it into the tree
 * before validation, so an override is typed and checked exactly like the file.
 * Marks of the new value point into the argument ("--set:1:COL"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

/* Columns count characters (as libyaml's do): the column of byte `off` of `s`. */
static int char_col(const char *s, size_t off)
{
    int col = 1;
    for (size_t i = 0; i < off; i++)
        if ((s[i] & 0xC0) != 0x80) col++;
    return col;
}

/* Index `comp` of a sequence: decimal digits only, below n; else -1. */
static int seq_index(const char *comp, size_t len, int n)
{
    long v = 0;
    if (len == 0 || len > 9) return -1;
    for (size_t i = 0; i < len; i++) {
        if (comp[i] < '0' || comp[i] > '9') return -1;
        v = v * 10 + (comp[i] - '0');
    }
    return v < n ? (int)v : -1;
}

/* A sequence item written in the short form (`- batchnorm`) that a path goes into
 * (`model.1.batchnorm.momentum`): the long form `- batchnorm: {}` it stands for. */
static void expand_short_form(nn_ynode **slot)
{
    nn_ynode *cur = *slot, *map = nn_ynode_new(NN_YMAP, cur->mark);
    nn_ymap_add(map, nn_ynode_ref(cur), nn_ynode_new(NN_YMAP, cur->end));
    nn_ynode_unref(cur);
    *slot = map;
}

/* A path component `comp` that names no key of a sequence item whose kind is `kind`
 * (`- linear: {...}` or the short form `- batchnorm`): the path misspelt the kind or left
 * it out.  Said at the --set, where the mistake is, with the corrected argument. */
static void kind_error(nn_sctx *c, const char *arg, const char *parent, const char *kind,
                       const char *comp, size_t len, nn_mark m, int short_form)
{
    char word[128], fixed[1024];
    snprintf(word, sizeof word, "%.*s", (int)len, comp);
    const char *const cands[] = {kind, NULL};
    int typo = nn_suggest(word, cands) != NULL;
    const char *rest = comp + len; /* ".out=300" */
    snprintf(fixed, sizeof fixed, "%.*s%s%s%s", (int)(comp - arg), arg, kind, typo ? "" : ".",
             typo ? rest : comp);
    const char *what = !strncmp(parent, "'model.", 7) ? "layer" : "item";
    if (typo)
        nn_sv_error(c, m, "%s is a '%s' %s, not '%s': did you mean --set %s ?", parent, kind, what,
                    word, fixed);
    else
        nn_sv_error(c, m, "%s is a '%s' %s: its options go under its kind, --set %s%s%s%s", parent,
                    kind, what, fixed, short_form ? " (the short form '- " : "",
                    short_form ? kind : "", short_form ? "' takes options that way too)" : "");
}

/* The slot in container *slot named by comp, creating a map entry when missing (its
 * value a fresh map unless `last`); in_seq: *slot is an item of a layer list.  NULL after
 * an error. */
static nn_ynode **step(nn_sctx *c, nn_ynode **slot, const char *arg, const char *comp, size_t len,
                       nn_mark m, int last, int in_seq)
{
    nn_ynode *cur = *slot;
    char parent[128] = "the top level";
    if (comp > arg) snprintf(parent, sizeof parent, "'%.*s'", (int)(comp - arg) - 1, arg);
    if (cur->kind == NN_YSCALAR && nn_sv_type(cur) == NN_VNULL) {
        /* `data:` with nothing after it: treat as an empty map */
        nn_ynode *map = nn_ynode_new(NN_YMAP, cur->mark);
        nn_ynode_unref(cur);
        *slot = cur = map;
    }
    if (cur->kind == NN_YSCALAR && in_seq && nn_sv_type(cur) == NN_VSTR && cur->len == len &&
        !memcmp(cur->text, comp, len)) {
        expand_short_form(slot); /* `- batchnorm` → `- batchnorm: {}` */
        cur = *slot;
    }
    if (cur->kind == NN_YSCALAR && in_seq && nn_sv_type(cur) == NN_VSTR) {
        kind_error(c, arg, parent, cur->text, comp, len, m, 1);
        return NULL;
    }
    if (cur->kind == NN_YSCALAR) {
        nn_sv_error(c, m, "cannot set '%.*s' inside %s: that is a value, not a map", (int)len, comp,
                    parent);
        return NULL;
    }
    if (cur->kind == NN_YMAP && in_seq && cur->n == 1 && cur->items[0]->kind == NN_YSCALAR &&
        nn_ymap_find(cur, comp, len) < 0) {
        kind_error(c, arg, parent, cur->items[0]->text, comp, len, m, 0);
        return NULL;
    }
    cur = nn_ynode_own(slot); /* an alias may share it: edit a private copy */
    if (cur->kind == NN_YSEQ) {
        int i = seq_index(comp, len, cur->n);
        if (i >= 0) return &cur->items[i];
        if (cur->n == 0) {
            nn_sv_error(c, m, "%s is an empty sequence: no item '%.*s'", parent, (int)len, comp);
            return NULL;
        }
        nn_sv_error(c, m,
                    "%s is a sequence of %d items: expected an index from 0 to %d, got '%.*s'",
                    parent, cur->n, cur->n - 1, (int)len, comp);
        return NULL;
    }
    int i = nn_ymap_find(cur, comp, len);
    if (i < 0) {
        nn_ynode *key = nn_ynode_scalar(m, comp, len, NN_YPLAIN);
        nn_ymap_add(cur, key,
                    last ? nn_ynode_scalar(m, "", 0, NN_YPLAIN) : nn_ynode_new(NN_YMAP, m));
        i = cur->n - 1;
    }
    return &cur->items[2 * i + 1];
}

void nn_spec_apply_set(nn_sctx *c, nn_ynode **root, const char *file, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        nn_sv_error(c, (nn_mark){file, 1, char_col(arg, strlen(arg))},
                    "expected KEY=VALUE after --set (e.g. train.steps=20000), got no '='");
        return;
    }
    const char *val = eq + 1;
    for (const char *p = arg; p <= eq; p++) {
        if ((*p == '.' || *p == '=') && (p == arg || p[-1] == '.')) {
            nn_sv_error(c, (nn_mark){file, 1, char_col(arg, (size_t)(p - arg))},
                        "empty key name in the --set path '%.*s'", (int)(eq - arg), arg);
            return;
        }
    }
    if (eq - arg >= 7 && !strncmp(arg, "include", 7) && (arg[7] == '.' || arg[7] == '=')) {
        nn_sv_error(c, (nn_mark){file, 1, 1},
                    "'include' cannot be set with --set: includes are read with the spec file");
        return;
    }
    nn_ynode *value =
        nn_yaml_parse_value(file, 1, char_col(arg, (size_t)(val - arg)), val, strlen(val), c->d);
    if (!value) {
        c->nerr++;
        return;
    }
    c->nerr += nn_yaml_merge_keys(value, c->d);
    nn_ynode **slot = root;
    int in_seq = 0;
    for (const char *p = arg;;) {
        const char *dot = memchr(p, '.', (size_t)(eq - p));
        const char *end = dot ? dot : eq;
        nn_mark m = {file, 1, char_col(arg, (size_t)(p - arg))};
        /* layer lists (model, blocks): items are one-key maps or the short form */
        int seq =
            (*slot)->kind == NN_YSEQ && (!strncmp(arg, "model.", 6) || !strncmp(arg, "blocks.", 7));
        slot = step(c, slot, arg, p, (size_t)(end - p), m, !dot, in_seq);
        if (!slot) break;
        in_seq = seq;
        if (!dot) {
            nn_ynode_unref(*slot);
            *slot = value;
            return;
        }
        p = dot + 1;
    }
    nn_ynode_unref(value);
}
