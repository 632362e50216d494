/* fuzz_matrix.c — libFuzzer harness: the input is a spec file with a `matrix:`.  Expands
 * it (nn_matrix_load, as `nnrun sweep --list`), looks every cell up by its id, then loads
 * the spec of the first MAX_POINTS points (nn_spec_load_point, as `nnrun check` and each
 * sweep cell do), emits it and builds its graph with a fixed data shape.  Points are capped
 * so one input stays fast; the expansion itself is bounded by the parser's point limit. */
#include <stdio.h>

#include "fuzzutil.h"
#include "ir/build.h"
#include "ir/graph.h"
#include "parser/diag.h"
#include "parser/matrix.h"
#include "parser/spec.h"

enum { MAX_POINTS = 8 };

static void load_point(const char *path, int p)
{
    nn_diag *d = nn_diag_new();
    if (!d) return;
    nn_spec *spec = nn_spec_load_point(path, NULL, 0, p, d);
    if (spec) fz_emit_and_build(spec, d);
    nn_spec_free(spec);
    nn_diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = strdup(fz_write("spec.yaml", data, size));
    nn_diag *d = nn_diag_new();
    if (!path || !d) abort();
    nn_matrix *m = nn_matrix_load(path, NULL, 0, d);
    if (m) {
        for (int p = 0; p < m->npoints; p++)
            if (nn_matrix_find(m, m->id[p]) < 0) abort(); /* every id must be found */
        int n = m->npoints < MAX_POINTS ? m->npoints : MAX_POINTS;
        for (int p = 0; p < n; p++)
            load_point(path, p);
        if (m->npoints > 0) load_point(path, m->npoints); /* one past the end: an error */
    }
    nn_matrix_free(m);
    nn_diag_free(d);
    free((void *)path);
    return 0;
}
