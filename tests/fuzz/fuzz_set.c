/* fuzz_set.c — libFuzzer harness: the input is up to 8 `--set KEY=VALUE` strings, one per
 * line, applied to a fixed spec (the character MLP) as the command line does.  Lines
 * without '=' are skipped, as the command line refuses them before loading. */
#include <stdio.h>

#include "fuzzutil.h"
#include "parser/diag.h"
#include "parser/spec.h"

static const char base_spec[] =
    "name: fuzz\n"
    "seed: 1\n"
    "data: {source: names.txt, filter: '^[a-z]+$', tokens: chars, context: 3,\n"
    "       split: {train: 0.8, dev: 0.1, test: 0.1}}\n"
    "train: {steps: 10, batch: 4, lr: 0.1, loss: cross_entropy, optimizer: sgd}\n"
    "eval: {every: 5, splits: [train, dev]}\n"
    "sample: {count: 2, seed: 3}\n"
    "model:\n"
    "  - embedding: {dim: 4}\n"
    "  - flatten\n"
    "  - linear: {out: 8, init: {normal: 1.0}}\n"
    "  - batchnorm\n"
    "  - tanh\n"
    "  - linear\n";

enum { MAX_SETS = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *path;
    if (!path)
        path = strdup(fz_write("base.yaml", (const uint8_t *)base_spec, sizeof base_spec - 1));
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    const char *sets[MAX_SETS];
    int n = 0;
    for (char *line = text, *next; line && n < MAX_SETS; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (strchr(line, '=')) sets[n++] = line;
    }
    nn_diag *d = nn_diag_new();
    if (d) {
        nn_spec_free(nn_spec_load(path, sets, n, d));
        nn_diag_free(d);
    }
    free(text);
    return 0;
}
