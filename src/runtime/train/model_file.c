/* model_file.c — rebuilding a trained model from model.safetensors (see model_file.h). */
#include "runtime/train/model_file.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/store/checkpoint.h"
#include "runtime/train/trainer_int.h" /* fills a new trainer's counting model */

/* The code point of a one-character UTF-8 token, or −1. */
static long utf8_one(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : 4;
    long cp = n == 1 ? s[0] : s[0] & (0x3f >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    return s[n] ? -1 : cp;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A token the vocabulary list holds twice (ids would be ambiguous), or NULL. */
static const char *repeated(const json_t *v)
{
    size_t n = json_array_size(v);
    const char **t = calloc(n + 1, sizeof *t), *twice = NULL;
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++)
        t[i] = json_string_value(json_array_get(v, i));
    qsort(t, n, sizeof *t, by_text);
    for (size_t i = 1; i < n && !twice; i++)
        if (!strcmp(t[i - 1], t[i])) twice = t[i];
    free(t);
    return twice;
}

/* The vocabulary and context of the training data, from the "vocab" metadata. */
static nn_dataset *vocab_dataset(const nn_st_file *f, const nn_spec *spec, nn_diag *d)
{
    const char *text = nn_st_meta_get(f, "vocab");
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    nn_mark at = {nn_st_path(f), 0, 0};
    nn_dataset *ds = calloc(1, sizeof *ds);
    int n = (int)json_array_size(v), pattern = spec->data.tokens == NN_TOKENS_PATTERN;
    if (!ds || n < 2) {
        nn_diag_error(d, at, "no vocabulary in the file (metadata 'vocab'), but its spec's data "
                             "is text");
        goto fail;
    }
    ds->kind = NN_DATASET_TEXT;
    ds->context = spec->data.context;
    ds->ytw = spec->data.sequence ? spec->data.context : 1;
    ds->itos = calloc((size_t)n, sizeof *ds->itos);
    ds->tokens = pattern ? calloc((size_t)n, sizeof *ds->tokens) : NULL;
    if (!ds->itos || (pattern && !ds->tokens)) goto fail;
    for (int i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(v, (size_t)i));
        long cp = t ? utf8_one((const unsigned char *)t) : -1;
        if (!t || (!pattern && cp < 0)) {
            nn_diag_error(d, at, "vocabulary entry %d is not a token", i);
            goto fail;
        }
        if (pattern && !(ds->tokens[i] = strdup(t))) goto fail;
        ds->itos[i] = (uint32_t)(cp < 0 ? 0 : cp);
        ds->vocab = i + 1;
    }
    const char *twice = repeated(v);
    if (twice) {
        nn_diag_error(d, at, "vocabulary token '%s' is listed twice: the file is corrupted", twice);
        goto fail;
    }
    json_decref(v);
    return ds;
fail:
    json_decref(v);
    nn_dataset_free(ds);
    return NULL;
}

/* A table's shape without its rows: the features the spec names, and the classes the
 * file records ("classes": the data's outputs when it was trained). */
static nn_dataset *table_dataset(const nn_st_file *f, const nn_spec *spec, nn_diag *d)
{
    const nn_data_spec *D = &spec->data;
    const char *text = nn_st_meta_get(f, "classes");
    char *end = NULL;
    long classes = text ? strtol(text, &end, 10) : -1;
    if (!text || *end || classes < 1 || classes > 65536) {
        nn_diag_error(d, (nn_mark){nn_st_path(f), 0, 0},
                      "no class count in the file (metadata 'classes'): it was written by an "
                      "older nnrun; run the spec again to use it here");
        return NULL;
    }
    nn_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    ds->kind = NN_DATASET_TABLE;
    ds->features = D->kind == NN_DATA_CSV      ? D->nx
                   : D->kind == NN_DATA_INLINE ? D->inline_cols
                                               : 2; /* moons, xor */
    ds->vocab = (int)classes;
    ds->ytw = 1;
    return ds;
}

/* The counting model's table (written by nn_ckpt_write_model): shape, dtype, counts. */
static int load_counts(nn_ngram *g, const nn_st_file *f, nn_diag *d)
{
    const nn_st_tensor *t = nn_st_find(f, NN_NGRAM_COUNTS);
    nn_mark at = {nn_st_path(f), 0, 0};
    if (!t || t->dtype != NN_ST_F32 || t->ndim != 2 || t->dim[0] != g->rows ||
        t->dim[1] != g->vocab) {
        nn_diag_error(d, at, "no F32 tensor '%s' [%ld, %d] (the counting model's table)",
                      NN_NGRAM_COUNTS, g->rows, g->vocab);
        return -1;
    }
    for (long i = 0; i < g->rows * g->vocab; i++) {
        float c;
        memcpy(&c, (const char *)t->data + i * (long)sizeof c, sizeof c);
        if (!(c >= 0 && c < 1e15f) || c != floorf(c)) {
            nn_diag_error(d, at, "'%s' holds %g at element %ld, not a count", NN_NGRAM_COUNTS, c,
                          i);
            return -1;
        }
        g->counts[i] = (long)c;
    }
    nn_ngram_normalise(g);
    return 0;
}

/* The "spec" metadata through the parser (from a temporary file: marks need one).  The
 * stored spec is data: nn_spec_load_stored opens no file it names. */
static nn_spec *embedded_spec(const nn_st_file *f, nn_diag *d)
{
    nn_mark at = {nn_st_path(f), 0, 0};
    const char *yaml = nn_st_meta_get(f, "spec");
    if (!yaml) {
        nn_diag_error(d, at, "no 'spec' in the metadata: not a model.safetensors written by nnrun");
        return NULL;
    }
    const char *dir = getenv("TMPDIR");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/nnrun-spec-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        nn_diag_error(d, at, "cannot write the stored spec to a temporary file '%s': %s", tmp,
                      strerror(errno));
        nn_diag_note(d, "set TMPDIR to a writable directory");
        return NULL;
    }
    size_t len = strlen(yaml);
    ssize_t w = write(fd, yaml, len);
    int err = w < 0 ? errno : ENOSPC; /* a short write: the file system is full */
    if (close(fd) != 0 && w == (ssize_t)len) w = -1, err = errno;
    if (w != (ssize_t)len) {
        nn_diag_error(d, at, "cannot write the stored spec to a temporary file '%s': %s", tmp,
                      strerror(err));
        unlink(tmp);
        return NULL;
    }
    nn_spec *s = nn_spec_load_stored(tmp, nn_st_path(f), d);
    unlink(tmp);
    return s;
}

/* A stored spec's plugins are code a model file would run (dlopen runs a library's
 * constructors): refused unless the user said --allow-plugins. */
static int refuse_plugins(const nn_spec *s, const char *file, nn_diag *d)
{
    if (s->nplugins == 0) return 0;
    const nn_plugin_spec *p = &s->plugins[0];
    nn_diag_error(d, (nn_mark){file, 0, 0},
                  "the stored spec names plugin '%s' (library '%s'): a model file is data, and "
                  "nnrun loads no code it names",
                  p->name ? p->name : "?", p->library ? p->library : "?");
    nn_diag_note(d, "if you trust this file and that library, add --allow-plugins");
    return -1;
}

/* The weights come from the file: no init reads a file or matters; no statistics. */
static void sampling_only(nn_spec *s, const char *prefix)
{
    for (int i = 0; i < s->nlayers; i++)
        s->layers[i].init.kind = s->layers[i].bias_init.kind = NN_INIT_ZEROS;
    free(s->init_from);
    s->init_from = NULL;
    s->train.full_batch = 0;
    s->train.batch = 2; /* BatchNorm needs two rows to build; sampling uses the eval plan */
    s->report.plots_all = 0;
    for (int i = 0; i < s->report.nplots; i++)
        free(s->report.plots[i]);
    s->report.nplots = 0;
    if (prefix) {
        free(s->sample.prefix);
        s->sample.prefix = strdup(prefix);
        s->sample.prefix_mark = (nn_mark){"--prefix", 0, 0};
        if (s->sample.count == 0) s->sample.count = 1; /* the prefix is checked for count > 0 */
    }
}

int nn_model_file_load(const char *path, const char *prefix, int allow_plugins, nn_model_file *m,
                       nn_diag *d)
{
    memset(m, 0, sizeof *m);
    char file[4200];
    struct stat st;
    snprintf(file, sizeof file,
             stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? "%s/model.safetensors" : "%s", path);
    nn_st_file *f = nn_st_read(file, d);
    char ctx[4300]; /* errors of the stored spec (its plugins too) are in a temporary file */
    snprintf(ctx, sizeof ctx, "in the spec stored in '%s'", file);
    nn_diag_context(d, ctx);
    int ok = f && (m->spec = embedded_spec(f, d));
    nn_diag_context(d, NULL);
    if (!ok || (!allow_plugins && refuse_plugins(m->spec, file, d) != 0) ||
        !(m->ds = m->spec->data.kind == NN_DATA_TEXT ? vocab_dataset(f, m->spec, d)
                                                      : table_dataset(f, m->spec, d)))
        goto fail;
    sampling_only(m->spec, prefix);
    nn_diag_context(d, ctx);
    m->tr = nn_trainer_new(m->spec, m->ds, d);
    nn_diag_context(d, NULL);
    if (!m->tr) goto fail;
    if (m->tr->ngram ? load_counts(m->tr->ngram, f, d) != 0
                     : nn_ckpt_load_params(m->tr->P, f, (nn_mark){file, 0, 0}, d) != 0)
        goto fail;
    nn_st_free(f);
    return 0;
fail:
    nn_st_free(f);
    nn_model_file_free(m);
    return -1;
}

void nn_model_file_free(nn_model_file *m)
{
    nn_trainer_free(m->tr);
    nn_dataset_free(m->ds);
    nn_spec_free(m->spec);
    memset(m, 0, sizeof *m);
}
