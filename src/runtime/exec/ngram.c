/* ngram.c — the counting model (lesson 2): N[context][next] over the training examples,
 * P = (N + smoothing) / rowsum.
 *
 * The examples are the MLP's: contexts padded with '.', so the counts are the lecture's
 * bigram table with '.' as both <S> and <E>.  A row with no counts and no smoothing has no
 * distribution; it is given the uniform one (1/vocab), so sampling and evaluation stay
 * defined — such a context never occurs in the training split, by construction.
 */
#include "runtime/exec/ngram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/data/budget.h"

#define MAX_CELLS (1L << 27) /* 128M cells: a 5-gram over 42 tokens; beyond, say so */

nn_ngram *nn_ngram_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    const nn_layer *L = &spec->layers[0];
    if (ds->kind != NN_DATASET_TEXT) {
        nn_diag_error(d, L->mark, "the ngram model counts tokens: it needs text data");
        return NULL;
    }
    if (L->n < 1 || ds->context < L->n - 1) {
        nn_diag_error(d, L->mark, "an ngram with n = %d needs data.context ≥ %d, it is %d", L->n,
                      L->n - 1, ds->context);
        return NULL;
    }
    long rows = 1, V = ds->vocab;
    for (int i = 0; i < L->n - 1; i++) {
        rows *= V;
        if (rows * V > MAX_CELLS) {
            nn_diag_error(d, L->mark,
                          "an ngram with n = %d over %ld tokens needs more than "
                          "%ld counts",
                          L->n, V, MAX_CELLS);
            return NULL;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "an ngram with n = %d over %ld tokens", L->n, V);
    size_t cell_bytes = sizeof(long) + sizeof(float) + sizeof(double); /* counts, prob, logp */
    if (nn_limits_check_bytes((size_t)(rows * V) * cell_bytes, what, L->mark, d) != 0) return NULL;
    nn_ngram *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n = L->n;
    m->vocab = (int)V;
    m->rows = rows;
    m->smoothing = L->smoothing;
    size_t cells = (size_t)(rows * V);
    m->counts = calloc(cells, sizeof *m->counts);
    m->prob = malloc(cells * sizeof *m->prob);
    m->logp = malloc(cells * sizeof *m->logp);
    if (!m->counts || !m->prob || !m->logp) {
        nn_ngram_free(m);
        return NULL;
    }
    const nn_split *sp = &ds->split[NN_SPLIT_TRAIN];
    int T = ds->context;
    for (long e = 0; e < sp->n; e++)
        m->counts[nn_ngram_row(m, sp->x + e * T, T) * V + sp->y[e]]++;
    nn_ngram_normalise(m);
    return m;
}

void nn_ngram_normalise(nn_ngram *m)
{
    long rows = m->rows, V = m->vocab;
    for (long r = 0; r < rows; r++) {
        long *c = m->counts + r * V;
        /* as the lecture: P = (N + 1).float(); P /= P.sum(1) — float32 sums of integers
         * (exact below 2^24) and a float division, so sampling draws what torch draws */
        float fsum = 0;
        double dsum = 0;
        for (long j = 0; j < V; j++) {
            fsum += (float)((double)c[j] + m->smoothing);
            dsum += (double)c[j] + m->smoothing;
        }
        for (long j = 0; j < V; j++) {
            double p = dsum > 0 ? ((double)c[j] + m->smoothing) / dsum : 1.0 / (double)V;
            m->prob[r * V + j] =
                fsum > 0 ? (float)((double)c[j] + m->smoothing) / fsum : 1.0f / (float)V;
            m->logp[r * V + j] = log(p);
        }
    }
}

void nn_ngram_free(nn_ngram *m)
{
    if (!m) return;
    free(m->counts);
    free(m->prob);
    free(m->logp);
    free(m);
}

long nn_ngram_row(const nn_ngram *m, const int32_t *ctx, int T)
{
    long r = 0;
    for (int i = T - (m->n - 1); i < T; i++)
        r = r * m->vocab + ctx[i];
    return r;
}

double nn_ngram_eval(const nn_ngram *m, const nn_dataset *ds, nn_split_id s)
{
    const nn_split *sp = &ds->split[s];
    int T = ds->context;
    double sum = 0;
    for (long e = 0; e < sp->n; e++)
        sum -= m->logp[nn_ngram_row(m, sp->x + e * T, T) * m->vocab + sp->y[e]];
    return sp->n ? sum / (double)sp->n : NAN;
}
