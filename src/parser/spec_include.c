/* spec_include.c — reading a spec file into a tree: the text, YAML, merge keys and
 * `include:` (a top-level string or list of strings, relative to the including file).
 *
 * An included file's tree is the base; later includes override earlier ones, and the
 * including file's own keys override them all: maps merge key by key, recursively, and
 * anything else (a scalar, a sequence such as `model`) is replaced whole.  Every node
 * keeps the mark of the file it was written in: each file's text is registered with the
 * diag under its own name.  Cycles and nesting deeper than NN_INCLUDE_MAX are errors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec_int.h"

#define NN_SPEC_MAX_BYTES (16L << 20) /* a spec is a page of text, not a data file */
#define NN_INCLUDE_MAX    8

typedef struct {
    char *real[NN_INCLUDE_MAX + 2]; /* canonical paths of the files being read, outermost first */
    int depth;
} chain;

/* The whole file, NUL-terminated, or NULL after an error at `from` (the include item),
 * or naming the file when it is the spec itself (from.file NULL). */
static char *read_text(nn_sctx *c, const char *path, nn_mark from, const char *written, size_t *len)
{
    nn_mark m = from.file ? from : (nn_mark){path, 0, 0};
    char what[300] = "cannot read the spec";
    if (from.file) snprintf(what, sizeof what, "cannot read the included file '%.200s'", written);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        nn_sv_error(c, m, "%s: %s", what, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        nn_sv_error(c, m, "%s: it is a directory", what);
        close(fd);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r = 0;
    while (buf && n <= (size_t)NN_SPEC_MAX_BYTES) {
        if (n + 1 >= cap && !(buf = realloc(buf, cap *= 2))) break;
        r = read(fd, buf + n, cap - n - 1);
        if (r <= 0) break;
        n += (size_t)r;
    }
    int err = errno;
    close(fd);
    if (!buf) abort();
    if (r < 0 || n > (size_t)NN_SPEC_MAX_BYTES) {
        if (r < 0)
            nn_sv_error(c, m, "%s: %s", what, strerror(err));
        else
            nn_sv_error(c, m, "%s: it is larger than %ld bytes", what, NN_SPEC_MAX_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct {
    const nn_ynode *key;
    int i;
} keyref;

static int keyref_cmp(const void *pa, const void *pb)
{
    const keyref *a = pa, *b = pb;
    size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = memcmp(a->key->text, b->key->text, n);
    if (c) return c;
    return a->key->len < b->key->len ? -1 : a->key->len > b->key->len;
}

/* `over` on top of `base` (a new reference).  `skip` drops over's top-level include. */
static nn_ynode *overlay(nn_ynode *base, nn_ynode *over, int skip)
{
    if (base->kind != NN_YMAP || over->kind != NN_YMAP) return nn_ynode_ref(over);
    keyref *k = malloc((size_t)over->n * sizeof *k + 1);
    char *used = calloc((size_t)over->n + 1, 1);
    if (!k || !used) abort();
    for (int i = 0; i < over->n; i++)
        k[i] = (keyref){nn_ymap_key(over, i), i};
    qsort(k, (size_t)over->n, sizeof *k, keyref_cmp);
    nn_ynode *m = nn_ynode_new(NN_YMAP, over->mark);
    m->end = over->end;
    for (int i = 0; i < base->n; i++) {
        keyref want = {nn_ymap_key(base, i), 0};
        const keyref *hit = bsearch(&want, k, (size_t)over->n, sizeof *k, keyref_cmp);
        if (skip && nn_yscalar_is(want.key, "include")) continue;
        if (!hit || (skip && nn_yscalar_is(hit->key, "include"))) {
            nn_ymap_add(m, nn_ynode_ref(nn_ymap_key(base, i)),
                        nn_ynode_ref(nn_ymap_value(base, i)));
            continue;
        }
        used[hit->i] = 1;
        nn_ymap_add(m, nn_ynode_ref(nn_ymap_key(over, hit->i)),
                    overlay(nn_ymap_value(base, i), nn_ymap_value(over, hit->i), 0));
    }
    for (int i = 0; i < over->n; i++)
        if (!used[i] && !(skip && nn_yscalar_is(nn_ymap_key(over, i), "include")))
            nn_ymap_add(m, nn_ynode_ref(nn_ymap_key(over, i)),
                        nn_ynode_ref(nn_ymap_value(over, i)));
    free(k);
    free(used);
    return m;
}

static nn_ynode *read_tree(nn_sctx *c, nn_files *files, const char *path, nn_mark from,
                           const char *written, chain *ch);

/* The include at item n of file `file`, on top of *base (replaced); 0 after an error. */
static int include_one(nn_sctx *c, nn_files *files, const nn_ynode *n, const char *file, chain *ch,
                       nn_ynode **base)
{
    char *rel = NULL;
    if (!nn_sv_string(c, n, "include", &rel)) return 0;
    const char *slash = strrchr(file, '/');
    size_t dn = rel[0] == '/' || !slash ? 0 : (size_t)(slash - file) + 1;
    char *path = malloc(dn + strlen(rel) + 1);
    if (!path) abort();
    memcpy(path, file, dn);
    strcpy(path + dn, rel);
    nn_ynode *t = read_tree(c, files, path, n->mark, rel, ch);
    free(rel);
    free(path);
    if (!t) return 0;
    if (!*base) {
        *base = t;
        return 1;
    }
    nn_ynode *m = overlay(*base, t, 0);
    nn_ynode_unref(*base);
    nn_ynode_unref(t);
    *base = m;
    return 1;
}

/* `written`: the include's text, for messages. */
static nn_ynode *read_tree(nn_sctx *c, nn_files *files, const char *path, nn_mark from,
                           const char *written, chain *ch)
{
    char real[PATH_MAX];
    if (from.file && realpath(path, real)) {
        for (int i = 0; i < ch->depth; i++) {
            if (strcmp(ch->real[i], real)) continue;
            nn_sv_error(c, from, "include cycle: '%s' is already being read", written);
            return NULL;
        }
        if (ch->depth > NN_INCLUDE_MAX) {
            nn_sv_error(c, from, "includes nested deeper than %d levels", NN_INCLUDE_MAX);
            return NULL;
        }
    }
    size_t len = 0;
    char *text = read_text(c, path, from, written, &len);
    if (!text) return NULL;
    const char *name = path;
    if (from.file) { /* marks of an included file need a name that lives with the spec */
        files->v = realloc(files->v, (size_t)(files->n + 1) * sizeof *files->v);
        if (!files->v) abort();
        name = files->v[files->n++] = nn_sv_strdup(path);
    }
    nn_diag_add_source(c->d, name, text, len);
    int nerr = 0;
    nn_ynode *root = nn_yaml_parse(name, text, len, c->d, &nerr);
    free(text);
    c->nerr += nerr;
    if (!root) return NULL;
    int merr = nn_yaml_merge_keys(root, c->d);
    c->nerr += merr;
    int at = root->kind == NN_YMAP ? nn_ymap_find(root, "include", 7) : -1;
    if (at < 0) return root;
    if (c->stored) { /* a downloaded model file must not make nnrun read the user's files */
        const nn_ynode *inc = nn_ymap_value(root, at);
        const nn_ynode *first = inc->kind == NN_YSEQ && inc->n > 0 ? inc->items[0] : inc;
        char buf[128];
        nn_sv_error(c, first->mark,
                    "the stored spec includes %s: a spec stored in a model file may not "
                    "include other files (nothing was opened)",
                    nn_sv_show(first, buf, sizeof buf));
        nn_ynode_unref(root);
        return NULL;
    }
    ch->real[ch->depth++] = realpath(path, NULL);
    if (!ch->real[ch->depth - 1]) ch->real[ch->depth - 1] = nn_sv_strdup(path);
    nn_ynode *base = NULL, *inc = nn_ymap_value(root, at);
    int ok = 1;
    if (inc->kind == NN_YSEQ) {
        for (int i = 0; i < inc->n; i++)
            ok &= include_one(c, files, inc->items[i], name, ch, &base);
    } else {
        ok = include_one(c, files, inc, name, ch, &base);
    }
    free(ch->real[--ch->depth]);
    if (!ok) { /* the rest would only report what the missing file lacks */
        nn_ynode_unref(base);
        nn_ynode_unref(root);
        return NULL;
    }
    if (!base) return root;
    nn_ynode *m = overlay(base, root, 1);
    nn_ynode_unref(base);
    nn_ynode_unref(root);
    return m;
}

nn_ynode *nn_spec_read_tree(nn_sctx *c, nn_files *files, const char *path)
{
    chain ch = {.depth = 0};
    return read_tree(c, files, path, (nn_mark){NULL, 0, 0}, path, &ch);
}

void nn_files_free(nn_files *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
    f->v = NULL;
    f->n = 0;
}
