/* yaml_merge.c — YAML 1.1 merge keys, which libyaml leaves to the application:
 *
 *     base: &base {out: 100, bias: false}
 *     - linear: {<<: *base, out: 27}        # out 27 (own keys win), bias false
 *     - linear: {<<: [*a, *b]}              # keys of a win over those of b
 *
 * Expanded in place after parsing, before any schema check; merged pairs are the very
 * nodes of the merged map, so their marks still point where they were written.  Sorting
 * keeps this O(n log n) however many keys a hostile map merges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_tree.h"

typedef struct {
    const nn_ynode *key;
    int i; /* position among the candidate pairs: own pairs first, then each source's */
} cand;

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = memcmp(a->key->text, b->key->text, n);
    if (c) return c;
    if (a->key->len != b->key->len) return a->key->len < b->key->len ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int is_merge_key(const nn_ynode *k)
{
    return k->kind == NN_YSCALAR && k->style == NN_YPLAIN && nn_yscalar_is(k, "<<");
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* At the `<<` key: an alias's node carries the mark of its anchor, not of the use. */
static int bad_source(const nn_ynode *key, const nn_ynode *v, nn_diag *d)
{
    char what[80];
    if (v->kind == NN_YSEQ)
        snprintf(what, sizeof what, "a sequence");
    else if (v->len == 0)
        snprintf(what, sizeof what, "an empty value");
    else
        snprintf(what, sizeof what, "'%.40s%s'", v->text, v->len > 40 ? "..." : "");
    nn_diag_error(d, key->mark,
                  "the merge key '<<' takes a map (an alias such as *base) or a list of maps, "
                  "got %s",
                  what);
    return 1;
}

/* Replaces the pair `at` (a `<<`) of map m by the pairs it merges. */
static int merge_pair(nn_ynode *m, int at, nn_diag *d)
{
    nn_ynode *v = nn_ymap_value(m, at);
    nn_ynode **src = &v;
    int nsrc = 1, nerr = 0;
    if (v->kind == NN_YSEQ) {
        src = v->items;
        nsrc = v->n;
        for (int j = 0; j < nsrc; j++)
            if (src[j]->kind != NN_YMAP) nerr += bad_source(nn_ymap_key(m, at), src[j], d);
    } else if (v->kind != NN_YMAP) {
        nerr += bad_source(nn_ymap_key(m, at), v, d);
    }
    int total = m->n - 1;
    for (int j = 0; !nerr && j < nsrc; j++)
        total += src[j]->n;
    nn_ynode **pairs = xmalloc((size_t)(2 * total + 2) * sizeof *pairs);
    int np = 0;
    for (int i = 0; i < m->n; i++) {
        if (i == at) continue;
        pairs[2 * np] = nn_ymap_key(m, i);
        pairs[2 * np++ + 1] = nn_ymap_value(m, i);
    }
    for (int j = 0; !nerr && j < nsrc; j++) {
        for (int i = 0; i < src[j]->n; i++) {
            pairs[2 * np] = nn_ymap_key(src[j], i);
            pairs[2 * np++ + 1] = nn_ymap_value(src[j], i);
        }
    }
    cand *c = xmalloc((size_t)np * sizeof *c);
    char *keep = xmalloc((size_t)np);
    for (int i = 0; i < np; i++) {
        c[i] = (cand){pairs[2 * i], i};
        keep[i] = 1;
    }
    qsort(c, (size_t)np, sizeof *c, cand_cmp);
    for (int j = 1; j < np; j++)
        if (c[j].key->len == c[j - 1].key->len &&
            !memcmp(c[j].key->text, c[j - 1].key->text, c[j].key->len))
            keep[c[j].i] = 0;
    nn_ynode **old = m->items;
    int nold = m->n;
    m->items = NULL;
    m->n = m->cap = 0;
    m->size = 1;
    for (int i = 0; i < np; i++)
        if (keep[i]) nn_ymap_add(m, nn_ynode_ref(pairs[2 * i]), nn_ynode_ref(pairs[2 * i + 1]));
    for (int i = 0; i < 2 * nold; i++)
        nn_ynode_unref(old[i]);
    free(old);
    free(pairs);
    free(c);
    free(keep);
    return nerr;
}

int nn_yaml_merge_keys(nn_ynode *n, nn_diag *d)
{
    if (!n || n->kind == NN_YSCALAR || n->merged) return 0;
    n->merged = 1;
    int nerr = 0, nitems = n->kind == NN_YMAP ? 2 * n->n : n->n;
    for (int i = 0; i < nitems; i++)
        nerr += nn_yaml_merge_keys(n->items[i], d);
    if (n->kind != NN_YMAP) return nerr;
    for (int i = 0; i < n->n; i++) {
        if (is_merge_key(nn_ymap_key(n, i))) {
            nerr += merge_pair(n, i, d);
            break; /* duplicate keys are gone: there is at most one `<<` */
        }
    }
    return nerr;
}
