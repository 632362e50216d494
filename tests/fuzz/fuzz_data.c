/* fuzz_data.c — libFuzzer harness: the input is a data file, loaded as the first byte
 * selects: text with tokens: chars, the same behind a filter, text with tokens: {pattern},
 * or a CSV table.  Then, for text, a sample prefix is encoded against the vocabulary (the
 * check sample.prefix goes through).  Wrong data must only give diagnostics. */
#include <stdio.h>

#include "fuzzutil.h"
#include "parser/diag.h"
#include "parser/spec.h"
#include "runtime/data/data.h"

static const char *const specs[] = {
    "data: {source: data.txt, tokens: chars, context: 3}\nmodel: [linear]\n",
    "data: {source: data.txt, filter: '^[a-z]{2,}$', context: 2,\n"
    "       split: {train: 0.5, dev: 0.25, test: 0.25, shuffle: {seed: 4, compat: python}}}\n"
    "model: [linear]\n",
    "data: {source: data.txt, tokens: {pattern: '[a-z]+|[0-9]|\\s'}, context: 4}\n"
    "model: [linear]\n",
    "data: {csv: data.txt, x: [a, b], y: c, split: {train: 0.6, dev: 0.2, test: 0.2}}\n"
    "train: {loss: hinge}\nmodel: [linear]\n",
};
enum { NSPECS = sizeof specs / sizeof *specs };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *paths[NSPECS];
    if (size < 1) return 0;
    int which = data[0] % NSPECS;
    if (!paths[which]) {
        char name[32];
        snprintf(name, sizeof name, "spec%d.yaml", which);
        paths[which] = strdup(fz_write(name, (const uint8_t *)specs[which], strlen(specs[which])));
    }
    fz_write("data.txt", data + 1, size - 1);
    nn_diag *d = nn_diag_new();
    nn_spec *spec = d ? nn_spec_load(paths[which], NULL, 0, d) : NULL;
    if (!spec) abort(); /* the fixed specs are valid */
    nn_dataset *ds = nn_dataset_load(spec, d);
    if (ds && ds->kind == NN_DATASET_TEXT) {
        int32_t ids[16];
        int bad = 0;
        nn_dataset_encode(ds, spec, "abc", ids, 16, &bad);
        for (int i = 0; i < ds->vocab; i++)
            (void)nn_dataset_token(ds, i);
    }
    nn_dataset_free(ds);
    nn_spec_free(spec);
    nn_diag_free(d);
    return 0;
}
