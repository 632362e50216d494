/* fuzz_safetensors.c — libFuzzer harness: the input is a .safetensors file.  Reads it
 * (nn_st_read: header length, JSON header, dtypes, shapes, offsets), touches every byte of
 * every tensor it accepts (so a range past the buffer is a sanitizer report), then loads it
 * as `nnrun sample FILE` does (nn_model_file_load: the "spec" metadata through the parser,
 * the "vocab", a trainer, every parameter by name and shape) and samples one short item.
 * A huge embedded model is refused by the --max-memory check, set low here. */
#include <stdio.h>

#include "fuzzutil.h"
#include "parser/diag.h"
#include "runtime/exec/limits.h"
#include "runtime/train/model_file.h"
#include "runtime/store/safetensors.h"

static const size_t elem_size[NN_ST_DTYPE_COUNT] = {4, 4, 8, 4};

static unsigned touch(const nn_st_file *f)
{
    unsigned sum = 0;
    char shape[256];
    for (int i = 0; i < nn_st_count(f); i++) {
        const nn_st_tensor *t = nn_st_at(f, i);
        size_t n = elem_size[t->dtype];
        for (int k = 0; k < t->ndim; k++)
            n *= (size_t)t->dim[k];
        for (size_t b = 0; b < n; b++)
            sum += ((const unsigned char *)t->data)[b];
        if (nn_st_find(f, t->name) == NULL) abort(); /* every tensor is found by its name */
        nn_st_shape_str(t->ndim, t->dim, shape, sizeof shape);
        sum += (unsigned)strlen(shape) + (unsigned)strlen(nn_st_dtype_name(t->dtype));
    }
    const char *keys[] = {"spec", "vocab", "step", "spec_hash", "nnrun_version"};
    for (int k = 0; k < 5; k++) {
        const char *v = nn_st_meta_get(f, keys[k]);
        if (v) sum += (unsigned)strlen(v);
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static volatile unsigned sink;
    nn_limits_set_max_memory((size_t)64 << 20); /* keeps a fuzzed model small and fast */
    char *path = strdup(fz_write("model.safetensors", data, size));
    nn_diag *d = nn_diag_new();
    if (!path || !d) abort();
    nn_st_file *f = nn_st_read(path, d);
    if (f) {
        sink += touch(f);
        nn_st_free(f);
        nn_model_file m;
        if (nn_model_file_load(path, NULL, 0, &m, d) == 0) {
            int len = m.spec->sample.max_len;
            char **items = nn_trainer_sample(m.tr, 1, 1, 1.0, len > 0 && len < 32 ? len : 32);
            if (items) free(items[0]);
            free(items);
            nn_model_file_free(&m);
        }
    }
    nn_diag_free(d);
    free(path);
    return 0;
}
