/* model.c — sampling from a run and its weights as model.safetensors (save, load). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "runtime/store/checkpoint.h"

char **nnrun_sample(nnrun_run *r, int count, uint64_t seed, double temperature)
{
    if (!r) return NULL;
    if (nn_api_errors_reset(&r->err) != 0) return NULL;
    const nn_spec *s = r->spec->s;
    if (r->ds->kind != NN_DATASET_TEXT) {
        nn_api_error(&r->err, "only a model of text data samples (this data set is a table)");
        return NULL;
    }
    if (count < 1 || count > NN_EVAL_ROWS) {
        nn_api_error(&r->err, "count %d: draw 1 to %d items at once", count, NN_EVAL_ROWS);
        return NULL;
    }
    nn_api_init_kernels(r->threads);
    char **out =
        nn_trainer_sample(r->tr, count, seed, temperature > 0 ? temperature : s->sample.temperature,
                          s->sample.max_len);
    if (!out) nn_api_error(&r->err, "out of memory");
    return out;
}

void nnrun_strings_free(char **s, int count)
{
    if (!s) return;
    for (int i = 0; i < count; i++)
        free(s[i]);
    free(s);
}

int nnrun_save(nnrun_run *r, const char *path)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    if (!path) return nn_api_error(&r->err, "nnrun_save: no path given"), NNRUN_EINPUT;
    nn_model_ref m = nn_trainer_model(r->tr);
    errno = 0;
    if (nn_ckpt_write_model(&m, path, r->done) != 0) {
        nn_api_error(&r->err, "cannot write '%s': %s", path,
                     errno ? strerror(errno) : "out of memory");
        return NNRUN_EOUTPUT;
    }
    return NNRUN_OK;
}

int nnrun_load(nnrun_run *r, const char *path)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    if (!path) return nn_api_error(&r->err, "nnrun_load: no path given"), NNRUN_EINPUT;
    if (nn_trainer_ngram(r->tr)) {
        nn_api_error(&r->err, "the counting model (ngram) counts its table: nothing to load");
        return NNRUN_EINPUT;
    }
    nn_st_file *f = nn_st_read(path, r->err.d);
    int rc =
        f ? nn_ckpt_load_params(nn_trainer_params(r->tr), f, (nn_mark){path, 0, 0}, r->err.d) : -1;
    nn_st_free(f);
    r->probe_stale = 1;
    return rc == 0 ? NNRUN_OK : NNRUN_EINPUT;
}
