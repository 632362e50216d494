/* yaml_flat.c — a YAML file as flat `path = value` pairs (yaml_flat.h). */
#include "yaml_flat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_tree.h"

#define FLAT_MAX_BYTES (16L << 20) /* as a spec: a page of text, not a data file */
#define FLAT_MAX_DEPTH 64

/* A growable string. */
typedef struct {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 64;
        if (!(b->s = realloc(b->s, b->cap))) abort();
    }
    memcpy(b->s + b->n, s, n);
    b->s[b->n += n] = 0;
}

static void put_scalar(buf *b, const nn_ynode *n)
{
    int quoted = n->style == NN_YSINGLE || n->style == NN_YDOUBLE;
    if (quoted) put(b, "\"", 1);
    put(b, n->text, strlen(n->text)); /* an embedded NUL ends the shown text */
    if (quoted) put(b, "\"", 1);
}

static void add(nn_yflat *f, const char *path, char *value)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        if (!(f->p = realloc(f->p, (size_t)f->cap * sizeof *f->p))) abort();
    }
    char *p = strdup(path);
    if (!p) abort();
    f->p[f->n++] = (nn_yflat_pair){p, value};
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void walk(nn_yflat *f, const nn_ynode *n, buf *path, int depth)
{
    size_t at = path->n;
    const char *here = path->s ? path->s : "";
    if (n->kind == NN_YSCALAR) {
        buf v = {0};
        put_scalar(&v, n);
        add(f, here, v.s ? v.s : dup_str(""));
        return;
    }
    int scalars = n->kind == NN_YSEQ;
    for (int i = 0; scalars && i < n->n; i++)
        scalars = n->items[i]->kind == NN_YSCALAR;
    if (n->n == 0 || scalars || depth >= FLAT_MAX_DEPTH) {
        buf v = {0};
        put(&v, n->kind == NN_YMAP ? "{" : "[", 1);
        for (int i = 0; scalars && i < n->n; i++) {
            if (i) put(&v, ", ", 2);
            put_scalar(&v, n->items[i]);
        }
        if (!scalars && n->n) put(&v, "\xe2\x80\xa6", 3); /* deeper than shown */
        put(&v, n->kind == NN_YMAP ? "}" : "]", 1);
        add(f, here, v.s);
        return;
    }
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *child = n->kind == NN_YMAP ? nn_ymap_value(n, i) : n->items[i];
        if (at) put(path, ".", 1);
        if (n->kind == NN_YMAP) {
            const nn_ynode *k = nn_ymap_key(n, i);
            put(path, k->kind == NN_YSCALAR ? k->text : "?",
                k->kind == NN_YSCALAR ? strlen(k->text) : 1);
        } else {
            char idx[24];
            int len = snprintf(idx, sizeof idx, "%d", i);
            put(path, idx, (size_t)len);
        }
        walk(f, child, path, depth + 1);
        path->n = at;
        path->s[at] = 0;
    }
}

int nn_yflat_file(const char *file, nn_yflat *out, nn_diag *d)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        nn_diag_error(d, (nn_mark){file, 0, 0}, "cannot read '%s': %s", file, strerror(errno));
        return -1;
    }
    buf text = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0 && text.n <= (size_t)FLAT_MAX_BYTES)
        put(&text, chunk, got);
    int err = ferror(fp);
    fclose(fp);
    if (err || text.n > (size_t)FLAT_MAX_BYTES) {
        nn_diag_error(d, (nn_mark){file, 0, 0}, "cannot read '%s': %s", file,
                      err ? "a read failed" : "larger than 16 MiB");
        free(text.s);
        return -1;
    }
    int nerr = 0;
    nn_diag_add_source(d, file, text.s ? text.s : "", text.n);
    nn_ynode *root = nn_yaml_parse(file, text.s ? text.s : "", text.n, d, &nerr);
    free(text.s);
    if (!root || nerr > 0 || nn_yaml_merge_keys(root, d) > 0) {
        nn_ynode_unref(root);
        return -1;
    }
    buf path = {0};
    walk(out, root, &path, 0);
    free(path.s);
    nn_ynode_unref(root);
    return 0;
}

void nn_yflat_free(nn_yflat *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->p[i].path);
        free(f->p[i].value);
    }
    free(f->p);
    memset(f, 0, sizeof *f);
}
