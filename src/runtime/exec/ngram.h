/* ngram.h — the counting model of lesson 2: next-token counts after each context of n − 1
 * tokens, normalised with additive smoothing.  No parameters, no steps. */
#ifndef NN_NGRAM_H
#define NN_NGRAM_H

#include "runtime/data/data.h"

typedef struct nn_ngram {
    int n; /* tokens per n-gram (2: bigram) */
    int vocab;
    long rows; /* contexts: vocab^(n−1), context ids in base vocab, oldest token first */
    double smoothing;
    long *counts; /* rows × vocab: N[context][next] over the training split */
    float *prob;  /* rows × vocab: P as float32, (N + s) / rowsum — what torch samples from */
    double *logp; /* rows × vocab: log P in double, for the NLL */
} nn_ngram;

/* Counts the training split of `ds` (text data, context ≥ n − 1).  Errors (table data, a
 * table too large, a context too short) go to `d` at the layer's mark; NULL then. */
nn_ngram *nn_ngram_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d);
void nn_ngram_free(nn_ngram *m);
/* prob and logp from counts (after counting, or after loading counts from a file). */
void nn_ngram_normalise(nn_ngram *m);
/* Row of the context whose last n − 1 tokens are ctx[T − n + 1 .. T). */
long nn_ngram_row(const nn_ngram *m, const int32_t *ctx, int T);
/* Mean negative log-likelihood over a split (NaN when empty; inf when an unseen pair has
 * probability 0, i.e. without smoothing). */
double nn_ngram_eval(const nn_ngram *m, const nn_dataset *ds, nn_split_id s);

#endif
