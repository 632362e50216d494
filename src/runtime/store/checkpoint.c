/* checkpoint.c — model.safetensors: writing a model's tensors and metadata, and loading
 * parameters back by name with shape checks (see checkpoint.h). */
#include "runtime/store/checkpoint.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "runtime/store/rundir.h"

static char *spec_yaml(const nn_spec *spec)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return NULL;
    int bad = nn_spec_emit(spec, mem) != 0;
    bad |= fclose(mem) != 0;
    if (!bad) return text;
    free(text);
    return NULL;
}

/* The vocabulary as a JSON array of token texts (text data), or NULL. */
static char *vocab_json(const nn_dataset *ds)
{
    if (ds->kind != NN_DATASET_TEXT) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < ds->vocab; i++)
        json_array_append_new(a, json_string(nn_dataset_token(ds, i)));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* The counting model's table as F32 (counts are exact below 2^24). */
static float *ngram_counts(const nn_ngram *g, nn_st_tensor *t)
{
    float *c = malloc((size_t)(g->rows * g->vocab) * sizeof *c + 1);
    if (!c) return NULL;
    for (long i = 0; i < g->rows * g->vocab; i++)
        c[i] = (float)g->counts[i];
    *t = (nn_st_tensor){NN_NGRAM_COUNTS, NN_ST_F32, 2, {g->rows, g->vocab}, c};
    return c;
}

int nn_ckpt_write_model(const nn_model_ref *mr, const char *path, long step)
{
    const nn_params *P = mr->P;
    nn_st_tensor *t = calloc((size_t)P->n + 1, sizeof *t);
    float *counts = t && mr->ngram ? ngram_counts(mr->ngram, &t[P->n]) : NULL;
    int n = P->n + (counts != NULL);
    char *yaml = spec_yaml(mr->spec), *vocab = vocab_json(mr->ds), hash[17], steps[32];
    char classes[32]; /* table data: the outputs the data made (text: the vocabulary's size) */
    snprintf(steps, sizeof steps, "%ld", step);
    snprintf(classes, sizeof classes, "%d", mr->ds->vocab);
    int rc = -1;
    if (t && yaml) {
        for (int i = 0; i < P->n; i++) {
            const nn_param *p = &P->p[i];
            t[i] = (nn_st_tensor){p->name, NN_ST_F32, p->ndim, {0}, p->data};
            for (int k = 0; k < p->ndim; k++)
                t[i].dim[k] = p->dim[k];
        }
        nn_st_meta m[] = {{"format", "nnrun"},
                          {"nnrun_version", PACKAGE_VERSION},
                          {"spec_hash", nn_spec_hash(mr->spec, hash)},
                          {"step", steps},
                          {"spec", yaml},
                          {"vocab", vocab ? vocab : "[]"},
                          {"classes", classes}};
        rc = !mr->ngram || counts ? nn_st_write(path, t, n, m, (int)(sizeof m / sizeof *m)) : -1;
    }
    free(counts);
    free(t);
    free(yaml);
    free(vocab);
    return rc;
}

int nn_ckpt_load_tensor(nn_param *p, const nn_st_file *f, const char *name, nn_mark at, nn_diag *d)
{
    const nn_st_tensor *t = nn_st_find(f, name);
    char want[200], have[200];
    long pdim[NN_MAX_DIMS];
    for (int k = 0; k < p->ndim; k++)
        pdim[k] = p->dim[k];
    nn_st_shape_str(p->ndim, pdim, want, sizeof want);
    if (!t) {
        nn_diag_error(d, at, "no tensor '%s' in '%s' (for %s, shape %s)", name, nn_st_path(f),
                      p->name, want);
        nn_diag_note(d, "the file has %d tensors%s%s", nn_st_count(f),
                     nn_st_count(f) ? ", the first is " : "",
                     nn_st_count(f) ? nn_st_at(f, 0)->name : "");
        return -1;
    }
    nn_st_shape_str(t->ndim, t->dim, have, sizeof have);
    int same = t->ndim == p->ndim;
    for (int k = 0; same && k < p->ndim; k++)
        same = t->dim[k] == p->dim[k];
    if (t->dtype != NN_ST_F32 || !same) {
        nn_diag_error(d, at, "tensor '%s' in '%s' is %s %s, but %s is F32 %s", name, nn_st_path(f),
                      nn_st_dtype_name(t->dtype), have, p->name, want);
        return -1;
    }
    memcpy(p->data, t->data, (size_t)p->numel * sizeof(float));
    for (long i = 0; i < p->numel; i++) /* a corrupted file would load as garbage */
        if (!isfinite(p->data[i])) {
            nn_diag_error(d, at, "tensor '%s' in '%s' holds a non-finite value (%g at element %ld)",
                          name, nn_st_path(f), p->data[i], i);
            nn_diag_note(d, "weights must be finite: the file is corrupted, or its run diverged");
            return -1;
        }
    return 0;
}

int nn_ckpt_load_params(nn_params *P, const nn_st_file *f, nn_mark at, nn_diag *d)
{
    int rc = 0;
    for (int i = 0; i < P->n; i++)
        if (nn_ckpt_load_tensor(&P->p[i], f, P->p[i].name, at, d) != 0) rc = -1;
    return rc;
}

/* The file of a from / init_from, read; a missing one blamed on the spec's line. */
static nn_st_file *read_at(const char *path, nn_mark at, nn_diag *d)
{
    if (access(path, R_OK) != 0) {
        nn_diag_error(d, at, "cannot read the checkpoint '%s': %s", path, strerror(errno));
        return NULL;
    }
    return nn_st_read_at(path, at, d);
}

int nn_ckpt_init_param(nn_param *p, nn_diag *d)
{
    const nn_init *in = p->init;
    nn_st_file *f = read_at(in->file, in->mark, d);
    if (!f) return -1;
    int rc = nn_ckpt_load_tensor(p, f, in->tensor ? in->tensor : p->name, in->mark, d);
    nn_st_free(f);
    return rc;
}

/* Embedding rows and output columns are token ids: a model trained on another vocabulary
 * would load without a shape error and mean something else.  The vocabularies compare as
 * JSON arrays (a file written by Python's json.dumps has spaces after its commas); with
 * text data a file without one is refused, as nothing says its ids are this data's. */
static int same_vocab(const nn_st_file *f, const nn_dataset *ds, nn_mark at, nn_diag *d)
{
    if (ds->kind != NN_DATASET_TEXT) return 0;
    const char *theirs = nn_st_meta_get(f, "vocab");
    if (!theirs) {
        nn_diag_error(d, at, "'%s' has no vocabulary (metadata 'vocab'), but this data is text",
                      nn_st_path(f));
        nn_diag_note(d, "token ids index its embedding rows and output columns; add the "
                        "metadata \"vocab\": the token texts in id order as a JSON array (Python: "
                        "metadata={\"vocab\": json.dumps(itos)})");
        return -1;
    }
    char *ours = vocab_json(ds);
    json_t *a = json_loads(theirs, JSON_DECODE_ANY, NULL);
    json_t *b = ours ? json_loads(ours, 0, NULL) : NULL;
    int ok = a && b && json_is_array(a) && json_equal(a, b);
    if (!ok) {
        nn_diag_error(d, at, "'%s' was trained on another vocabulary than this data's",
                      nn_st_path(f));
        nn_diag_note(d, "its vocabulary: %.200s; this data's: %.200s", theirs, ours ? ours : "?");
        nn_diag_note(d, "load single tensors with init: {from: FILE, tensor: NAME} to override");
    }
    json_decref(a);
    json_decref(b);
    free(ours);
    return ok ? 0 : -1;
}

int nn_ckpt_init_from(nn_params *P, const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    if (!spec->init_from) return 0;
    nn_st_file *f = read_at(spec->init_from, spec->init_from_mark, d);
    if (!f) return -1;
    int rc = same_vocab(f, ds, spec->init_from_mark, d) != 0
                 ? -1
                 : nn_ckpt_load_params(P, f, spec->init_from_mark, d);
    nn_st_free(f);
    return rc;
}
