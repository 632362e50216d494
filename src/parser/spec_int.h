/* spec_int.h — internals shared by spec.c, spec_model.c, spec_set.c and spec_value.c:
 * typing of YAML 1.2 core-schema scalars and the checks that turn nodes into values. */
#ifndef NN_SPEC_INT_H
#define NN_SPEC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "spec.h"
#include "yaml_tree.h"

typedef struct {
    nn_diag *d;
    int nerr;              /* errors found so far (the diag keeps only NN_DIAG_MAX) */
    const char *spec_path; /* the spec file; --set values resolve paths relative to it */
    int context_given;     /* data.context was written (ngram checks it against n − 1) */
    int data_kind_known;   /* data names its one source kind (the checks across sections) */
    int stored;            /* a spec stored in a file nnrun read: no include is opened */
    const char *rel_base;  /* relative paths resolve beside this file (NULL: where written) */
    nn_mark sample_mark;   /* the `sample` key, when written (text data only) */
    const nn_ynode *plugins; /* the `plugins:` map, if any (an unknown layer may be one) */
} nn_sctx;

/* The file names that marks point into (included files): owned by the spec. */
typedef struct {
    char **v;
    int n;
} nn_files;

/* The type a node has under the YAML 1.2 core schema. */
typedef enum { NN_VNULL, NN_VBOOL, NN_VINT, NN_VFLOAT, NN_VSTR, NN_VMAP, NN_VSEQ } nn_vtype;

/* A closed or open interval for floats; ±INFINITY for no bound. */
typedef struct {
    double lo, hi;
    int lo_open, hi_open;
} nn_range;

void nn_sv_error(nn_sctx *c, nn_mark m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

nn_vtype nn_sv_type(const nn_ynode *n);
/* "'text'" (escaped, shortened), "a map", "a sequence", "null", "an empty value". */
const char *nn_sv_show(const nn_ynode *n, char *buf, size_t size);
/* Escaped, shortened, quoted text of a key or word for messages. */
const char *nn_sv_quote(const char *text, size_t len, char *buf, size_t size);

/* Each returns 1 and stores the value, or records an error naming `path` and returns 0. */
int nn_sv_map(nn_sctx *c, const nn_ynode *n, const char *path);
int nn_sv_seq(nn_sctx *c, const nn_ynode *n, const char *path);
int nn_sv_long(nn_sctx *c, const nn_ynode *n, const char *path, long lo, long hi, long *out);
int nn_sv_int(nn_sctx *c, const nn_ynode *n, const char *path, int lo, int hi, int *out);
int nn_sv_u64(nn_sctx *c, const nn_ynode *n, const char *path, uint64_t *out);
int nn_sv_float(nn_sctx *c, const nn_ynode *n, const char *path, nn_range r, double *out);
int nn_sv_bool(nn_sctx *c, const nn_ynode *n, const char *path, int *out);
/* A non-empty string (numbers are taken as their text); *out is replaced (freed first). */
int nn_sv_string(nn_sctx *c, const nn_ynode *n, const char *path, char **out);
/* One of `names` (NULL-terminated); *out = its index.  `what` names the kind of value. */
int nn_sv_enum(nn_sctx *c, const nn_ynode *n, const char *path, const char *const *names, int *out);
/* The float value of a number node (no checks). */
double nn_sv_number(const nn_ynode *n);

/* "unknown key 'stpes' in 'train' (did you mean 'steps'?)" + a note with the valid keys. */
void nn_sv_unknown_key(nn_sctx *c, const nn_ynode *key, const char *path, const char *const *keys);
/* "missing required key 'source' in 'data'" at the map. */
void nn_sv_missing(nn_sctx *c, const nn_ynode *map, const char *key, const char *path);
/* Whether key i of a map is `name`. */
int nn_sv_key_is(const nn_ynode *map, int i, const char *name);
/* "a, b, c" into buf. */
const char *nn_sv_join(const char *const *names, char *buf, size_t size);

/* A copy of s (aborts when out of memory). */
char *nn_sv_strdup(const char *s);
/* The path a string node names, resolved relative to the directory of the file it was
 * written in (a --set value: the spec file); absolute paths stay.  NULL after an error. */
char *nn_sv_path(nn_sctx *c, const nn_ynode *n, const char *path);
/* A PCRE2 pattern (UTF), compiled to check it; an error points at the offending column. */
int nn_sv_regex(nn_sctx *c, const nn_ynode *n, const char *path, char **out);
/* `NAME` or `{NAME: VALUE}` with NAME one of `names`: *out = its index, *value = VALUE
 * (NULL for the scalar form).  `example` shows the map form in the error message. */
int nn_sv_variant(nn_sctx *c, const nn_ynode *n, const char *path, const char *const *names,
                  const char *example, int *out, const nn_ynode **value);

/* The data section (spec_data.c); defaults that depend on the kind are filled in. */
void nn_spec_data(nn_sctx *c, const nn_ynode *n, nn_spec *s);
/* The train section (spec_train.c). */
void nn_spec_train(nn_sctx *c, const nn_ynode *n, nn_train_spec *t);
/* An init (`init:` / `bias_init:`) of a layer (spec_init.c); frees nothing in *out. */
void nn_spec_init(nn_sctx *c, const nn_ynode *n, const char *path, nn_init *out);
void nn_init_free(nn_init *r);
/* Reads the spec file (or an included file, `from` its include item), parses it, expands
 * merge keys and applies its includes (spec_include.c).  NULL after an error. */
nn_ynode *nn_spec_read_tree(nn_sctx *c, nn_files *files, const char *path);
void nn_files_free(nn_files *f);

/* The model list (and the `blocks:` map, NULL when absent) → s->model, s->blocks and the
 * flattened s->layers (spec_blocks.c); freeing all three. */
void nn_spec_model(nn_sctx *c, const nn_ynode *n, const nn_ynode *blocks, nn_spec *s);
void nn_spec_model_free(nn_spec *s);
/* One layer item (spec_model.c); `where` is its path for messages. */
void nn_spec_layer(nn_sctx *c, const nn_ynode *item, const char *where, nn_layer *l);
void nn_layers_free(nn_layer *l, int n);
void nn_layer_free(nn_layer *l); /* what the layer owns, not l itself */
/* The `plugins:` section (spec_plugin.c); the check that every activation layer names a
 * declared plugin with declared arguments of the declared types; freeing. */
void nn_spec_plugins(nn_sctx *c, const nn_ynode *n, nn_spec *s);
void nn_spec_plugins_check(nn_sctx *c, const nn_spec *s);
void nn_plugin_specs_free(nn_plugin_spec *p, int n);
/* An identifier [A-Za-z_][A-Za-z0-9_]* of at most 64 bytes (plugin and argument names). */
int nn_sv_ident(const nn_ynode *n);
/* One plugin argument value: a number (a C float), {double: X} or {int: N}. */
void nn_spec_arg(nn_sctx *c, const nn_ynode *v, const char *path, nn_arg *a);
/* One `--set KEY.PATH=VALUE`: edits the tree (spec_set.c).  `file` names the
 * argument's pseudo-source ("--set", already registered with the diag). */
/* Formulas (spec_expr.c): `activation: {expr: ...}` (opts: its map) and
 * `loss: {expr: ...}` (n: the loss map). */
void nn_spec_expr_activation(nn_sctx *c, nn_layer *l, const nn_ynode *opts, const char *path);
void nn_spec_expr_loss(nn_sctx *c, const nn_ynode *n, nn_train_spec *t);
void nn_expr_spec_free(nn_expr_spec *e);
void nn_spec_apply_set(nn_sctx *c, nn_ynode **root, const char *file, const char *arg);
/* Expands the matrix of *root and puts point `point`'s values in place of its
 * ${matrix.NAME} references, dropping `matrix` (matrix.c); point −1: a spec with a matrix
 * is an error.  Returns 0 or −1 after errors. */
int nn_spec_matrix_apply(nn_sctx *c, nn_ynode **root, int point);

#endif
