/* yaml_tree.h — libyaml events → a small tree of maps, sequences and scalars.
 *
 * Internal to src/parser.  Every node keeps the 1-based position where it starts.
 * Aliases are expanded by reference: a node may be shared (refs > 1), so code that
 * edits the tree (the --set overrides) must copy a shared node first (nn_ynode_own).
 */
#ifndef NN_YAML_TREE_H
#define NN_YAML_TREE_H

#include <stddef.h>

#include "diag.h"

typedef enum { NN_YSCALAR = 0, NN_YSEQ, NN_YMAP } nn_ykind;

/* How a scalar was written: only a plain scalar is typed (null, bool, int, float). */
typedef enum { NN_YPLAIN = 0, NN_YSINGLE, NN_YDOUBLE, NN_YLITERAL, NN_YFOLDED } nn_ystyle;

typedef struct nn_ynode {
    nn_ykind kind;
    nn_mark mark; /* where the node starts */
    nn_mark end;  /* where it ends (scalars: just after the text) */
    int refs;
    int merged;  /* merge keys of this subtree are expanded (nn_yaml_merge_keys) */
    size_t size; /* nodes in the expanded subtree, saturating */
    /* scalar */
    char *text; /* NUL-terminated; may hold NULs inside ("\0" escapes): see len */
    size_t len;
    nn_ystyle style;
    /* sequence: items[0..n); map: key items[2i], value items[2i+1], n pairs */
    struct nn_ynode **items;
    int n, cap; /* items used / allocated: a map uses 2n */
} nn_ynode;

/* Parses one YAML document.  `file` is stored in the marks (the caller keeps it
 * alive).  Fatal errors (syntax, encoding, empty input, several documents, alias bombs,
 * nesting deeper than 256) return NULL; non-fatal ones (a duplicate key: the later pair
 * is dropped) still return the tree.  *nerr is set to the number of errors, all in `d`. */
nn_ynode *nn_yaml_parse(const char *file, const char *text, size_t len, nn_diag *d, int *nerr);

/* yaml_hint.c: when the YAML syntax error libyaml found at `line` (its words: `problem`)
 * is one of the common mistakes (a tab in the indentation, a key indented less than its
 * map's keys or more than the key before it, a second ': ' on a line), records an error
 * in plain words at the line of the mistake and returns 1; else 0. */
int nn_yaml_hint(const char *file, const char *text, size_t len, int line, const char *problem,
                 nn_diag *d);

/* Parses a single value (a --set VALUE) whose first character sits at line `line`,
 * column `col` of `file`.  An empty text gives an empty plain scalar (null). */
nn_ynode *nn_yaml_parse_value(const char *file, int line, int col, const char *text, size_t len,
                              nn_diag *d);

/* Expands YAML 1.1 merge keys (`<<: *base`, `<<: [*a, *b]`) in place, everywhere in the
 * tree: the pairs of the merged maps are added unless the map already has the key (its
 * own keys win; among merged maps the first wins).  Merged pairs keep their marks.
 * Returns the number of errors recorded (a merge value that is not a map). */
int nn_yaml_merge_keys(nn_ynode *root, nn_diag *d);

nn_ynode *nn_ynode_new(nn_ykind kind, nn_mark mark);
nn_ynode *nn_ynode_scalar(nn_mark mark, const char *text, size_t len, nn_ystyle style);
nn_ynode *nn_ynode_ref(nn_ynode *n);
void nn_ynode_unref(nn_ynode *n);
/* Appends an item to a sequence / a pair to a map; takes the references. */
void nn_ynode_push(nn_ynode *seq, nn_ynode *item);
void nn_ymap_add(nn_ynode *map, nn_ynode *key, nn_ynode *value);
/* A shallow private copy of *slot when it is shared, stored back into *slot. */
nn_ynode *nn_ynode_own(nn_ynode **slot);

static inline nn_ynode *nn_ymap_key(const nn_ynode *m, int i)
{
    return m->items[2 * i];
}
static inline nn_ynode *nn_ymap_value(const nn_ynode *m, int i)
{
    return m->items[2 * i + 1];
}
/* Index of the pair whose key is the scalar `key`, or -1. */
int nn_ymap_find(const nn_ynode *m, const char *key, size_t keylen);
/* Whether a scalar's text equals the C string s (embedded NULs never match). */
int nn_yscalar_is(const nn_ynode *n, const char *s);

#endif
