/* fuzz_spec.c — libFuzzer harness: the input is a spec file.  Parses and validates it
 * (nn_spec_load), emits the resolved spec, and builds the model graph (shape inference,
 * autodiff) with a fixed data shape — everything `nnrun check` does before data and memory.
 * Any crash, leak or sanitizer report is a bug: wrong input must only give diagnostics. */
#include <stdio.h>

#include "fuzzutil.h"
#include "ir/build.h"
#include "ir/graph.h"
#include "parser/diag.h"
#include "parser/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("spec.yaml", data, size);
    nn_diag *d = nn_diag_new();
    if (!d) return 0;
    nn_spec *spec = nn_spec_load(path, NULL, 0, d);
    if (spec) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            nn_spec_emit(spec, null);
            fclose(null);
        }
        /* names.txt's shape (27 tokens, the spec's context), or 2 features for tables */
        int text = spec->data.kind == NN_DATA_TEXT;
        int ctx = spec->data.context > 0 ? spec->data.context : 3;
        nn_build_opts o = {32, 1, 1, text ? 27 : 2, ctx, text ? 0 : 2};
        /* the counting model has no graph (nn_trainer_new does not build one either) */
        if (spec->nlayers > 0 && spec->layers[0].kind != NN_LAYER_NGRAM)
            nn_graph_free(nn_build(spec, &o, d));
    }
    nn_spec_free(spec);
    nn_diag_free(d);
    return 0;
}
