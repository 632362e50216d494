/* predict.c — the trained model on new inputs (see predict.h).  The inputs go into the
 * evaluation plan as sampling puts them there (sample.c): a text prefix after the start
 * token, a table's rows as they are. */
#include "runtime/train/predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/train/trainer_int.h" /* the evaluation plan, as sample.c uses it */

/* Softmax of z[0..n) into p (in double: the probabilities sum to 1 to float precision). */
static void softmax(const float *z, int n, float *p)
{
    double mx = z[0], sum = 0;
    for (int j = 1; j < n; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < n; j++)
        sum += exp(z[j] - mx);
    for (int j = 0; j < n; j++)
        p[j] = (float)(exp(z[j] - mx) / sum);
}

int nn_predict_outputs(const nn_trainer *tr)
{
    if (!tr->eval_p) return tr->ds->vocab;
    const nn_tensor *t = &tr->eval_g->t[tr->eval_g->logits];
    int k = 1;
    for (int d = 1; d < t->ndim; d++)
        k *= (int)t->dim[d];
    return k;
}

int nn_predict_rows(nn_trainer *tr, const float *x, int rows, float *out)
{
    nn_plan *p = tr->eval_p;
    if (!p || tr->ds->kind != NN_DATASET_TABLE || rows < 1 || rows > p->g->batch) return -1;
    const nn_graph *g = p->g;
    memcpy(nn_plan_ptr(p, g->x), x, (size_t)rows * (size_t)tr->ds->features * sizeof *x);
    /* the loss after the logits reads targets: any valid ones (class 0, or 0.0) */
    memset(nn_plan_ptr(p, g->y), 0, (size_t)nn_tensor_active_numel(&g->t[g->y], rows) * 4);
    nn_plan_forward(p, rows);
    int k = nn_predict_outputs(tr);
    const float *z = nn_plan_ptr(p, g->logits);
    for (int i = 0; i < rows; i++)
        if (tr->spec->train.loss == NN_LOSS_CROSS_ENTROPY)
            softmax(z + (size_t)i * k, k, out + (size_t)i * k);
        else
            memcpy(out + (size_t)i * k, z + (size_t)i * k, (size_t)k * sizeof *out);
    return 0;
}

/* x[0..T) = the last T tokens of T start tokens followed by ids[0..n) (a sliding window). */
static void window(const int32_t *ids, int n, int T, int32_t *x)
{
    for (int j = 0; j < T; j++) {
        int from = n - T + j;
        x[j] = from >= 0 ? ids[from] : 0;
    }
}

int nn_predict_next(nn_trainer *tr, const int32_t *ids, int n, float *probs)
{
    const nn_dataset *ds = tr->ds;
    int T = ds->context, V = ds->vocab;
    if (ds->kind != NN_DATASET_TEXT || n < 0) return -1;
    if (tr->ngram) {
        int32_t *x = calloc((size_t)T + 1, sizeof *x);
        if (!x) return -1;
        window(ids, n, T, x);
        memcpy(probs, tr->ngram->prob + nn_ngram_row(tr->ngram, x, T) * V,
               (size_t)V * sizeof *probs);
        free(x);
        return 0;
    }
    nn_plan *p = tr->eval_p;
    const nn_graph *g = p->g;
    int32_t *x = nn_plan_ptr(p, g->x);
    int pos = 0;
    if (ds->ytw > 1) { /* a sequence model: [start, prefix, ...], read after the prefix */
        memset(x, 0, (size_t)T * sizeof *x);
        if (n + 1 <= T) {
            memcpy(x + 1, ids, (size_t)n * sizeof *x);
            pos = n;
        } else { /* makemore's idx[:, -block_size:]: the start token drops out first */
            memcpy(x, ids + n - T, (size_t)T * sizeof *x);
            pos = T - 1;
        }
    } else {
        window(ids, n, T, x);
    }
    memset(nn_plan_ptr(p, g->y), 0, (size_t)ds->ytw * sizeof(int32_t));
    nn_plan_forward(p, 1);
    softmax((const float *)nn_plan_ptr(p, g->logits) + (size_t)pos * V, V, probs);
    return 0;
}
