/* model_file.c — rebuilding a trained model from model.safetensors (see model_file.h). */
#include "runtime/model_file.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/checkpoint.h"

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

/* The vocabulary and context of the training data, from the "vocab" metadata. */
static nn_dataset *vocab_dataset(const nn_st_file *f, const nn_spec *spec, nn_diag *d)
{
    const char *text = nn_st_meta_get(f, "vocab");
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    nn_mark at = {nn_st_path(f), 0, 0};
    nn_dataset *ds = calloc(1, sizeof *ds);
    int n = (int)json_array_size(v), pattern = spec->data.tokens == NN_TOKENS_PATTERN;
    if (!ds || n < 2 || spec->data.kind != NN_DATA_TEXT) {
        nn_diag_error(d, at, "no vocabulary in the file: sampling needs a model trained on text");
        goto fail;
    }
    ds->kind = NN_DATASET_TEXT;
    ds->context = spec->data.context;
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
    json_decref(v);
    return ds;
fail:
    json_decref(v);
    nn_dataset_free(ds);
    return NULL;
}

/* The "spec" metadata through the parser (from a temporary file: marks need one). */
static nn_spec *embedded_spec(const nn_st_file *f, nn_diag *d)
{
    const char *yaml = nn_st_meta_get(f, "spec");
    if (!yaml) {
        nn_diag_error(d, (nn_mark){nn_st_path(f), 0, 0},
                      "no 'spec' in the metadata: not a model.safetensors written by nnrun");
        return NULL;
    }
    char tmp[] = "/tmp/nnrun-spec-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) return NULL;
    size_t len = strlen(yaml);
    int ok = write(fd, yaml, len) == (ssize_t)len;
    close(fd);
    nn_spec *s = ok ? nn_spec_load(tmp, NULL, 0, d) : NULL;
    unlink(tmp);
    return s;
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

int nn_model_file_load(const char *path, const char *prefix, nn_model_file *m, nn_diag *d)
{
    memset(m, 0, sizeof *m);
    char file[4200];
    struct stat st;
    snprintf(file, sizeof file,
             stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? "%s/model.safetensors" : "%s", path);
    nn_st_file *f = nn_st_read(file, d);
    if (!f || !(m->spec = embedded_spec(f, d)) || !(m->ds = vocab_dataset(f, m->spec, d)))
        goto fail;
    sampling_only(m->spec, prefix);
    if (!(m->tr = nn_trainer_new(m->spec, m->ds, d)) || !m->tr->train_g) {
        if (m->tr)
            nn_diag_error(d, (nn_mark){file, 0, 0},
                          "the counting model keeps no weights to sample from");
        goto fail;
    }
    if (nn_ckpt_load_params(m->tr->P, f, (nn_mark){file, 0, 0}, d) != 0) goto fail;
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
