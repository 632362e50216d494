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
    if (spec) fz_emit_and_build(spec, d);
    nn_spec_free(spec);
    nn_diag_free(d);
    return 0;
}
