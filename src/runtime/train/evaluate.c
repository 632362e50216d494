/* evaluate.c — the mean loss (and accuracy) over a whole split, in eval mode, in chunks
 * spread over the evaluation plans' threads. */
#include <math.h>
#include <stdlib.h>

#include "kernels/parallel.h"
#include "runtime/train/trainer_int.h"

/* Right answers among the plan's `rows` rows: sign agreement for hinge ((y > 0) == (s > 0),
 * as micrograd counts), argmax == y for cross_entropy on table data; −1 for neither. */
static long count_right(const nn_trainer *tr, const nn_plan *p, int rows)
{
    const nn_graph *g = p->g;
    const float *z = nn_plan_ptr(p, g->logits);
    if (tr->spec->train.loss == NN_LOSS_HINGE || tr->spec->train.loss == NN_LOSS_EXPR) {
        const float *y = nn_plan_ptr(p, g->y);
        long right = 0;
        for (int i = 0; i < rows; i++) {
            if (tr->spec->train.loss == NN_LOSS_EXPR && y[i] != 1 && y[i] != -1)
                return -1; /* a formula's regression: no classes */
            right += (y[i] > 0) == (z[i] > 0);
        }
        return right;
    }
    if (tr->spec->train.loss != NN_LOSS_CROSS_ENTROPY || tr->ds->kind != NN_DATASET_TABLE)
        return -1;
    const int32_t *y = nn_plan_ptr(p, g->y);
    int V = g->t[g->logits].dim[1];
    long right = 0;
    for (int i = 0; i < rows; i++) {
        int best = 0;
        for (int j = 1; j < V; j++)
            if (z[i * V + j] > z[i * V + best]) best = j;
        right += best == y[i];
    }
    return right;
}

/* Split evaluation in chunks of NN_EVAL_ROWS rows, chunk c on thread c mod T with that
 * thread's own plan; per-chunk sums are added in chunk order afterwards, so the result does
 * not depend on the thread count. */
typedef struct {
    nn_trainer *tr;
    nn_plan *const *plans; /* one per task */
    const nn_split *sp;
    double *sum;
    long *right;
    long nchunks;
    int ntasks;
} eval_job;

static void eval_chunks(void *ctx, int t)
{
    eval_job *j = ctx;
    const nn_plan *p = j->plans[t];
    const float *row_loss = nn_plan_ptr(p, p->g->row_loss);
    for (long c = t; c < j->nchunks; c += j->ntasks) {
        long at = c * NN_EVAL_ROWS;
        int rows = (int)(j->sp->n - at < NN_EVAL_ROWS ? j->sp->n - at : NN_EVAL_ROWS);
        nn_load_rows(j->tr->ds, j->sp, p, at, rows, 0);
        nn_plan_forward(p, rows);
        double sum = 0;
        for (int i = 0; i < rows; i++)
            sum += row_loss[i];
        j->sum[c] = sum;
        j->right[c] = count_right(j->tr, p, rows);
    }
}

double nn_trainer_eval_acc(nn_trainer *tr, nn_split_id s, double *acc)
{
    nn_plan *plans[NN_MAX_THREADS] = {tr->eval_p};
    for (int t = 1; t < tr->neval; t++)
        plans[t] = tr->eval_more[t - 1];
    return nn_trainer_eval_plans(tr, plans, tr->neval, s, acc);
}

double nn_trainer_eval_plans(nn_trainer *tr, nn_plan *const *plans, int nplans, nn_split_id s,
                             double *acc)
{
    const nn_split *sp = &tr->ds->split[s];
    *acc = NAN;
    if (tr->ngram) return nn_ngram_eval(tr->ngram, tr->ds, s);
    if (!sp->n) return NAN;
    eval_job j = {tr, plans, sp, NULL, NULL, (sp->n + NN_EVAL_ROWS - 1) / NN_EVAL_ROWS, nplans};
    j.sum = malloc((size_t)j.nchunks * sizeof *j.sum);
    j.right = malloc((size_t)j.nchunks * sizeof *j.right);
    if (!j.sum || !j.right) {
        free(j.sum), free(j.right);
        return NAN;
    }
    if (j.ntasks > j.nchunks) j.ntasks = (int)j.nchunks;
    if (j.ntasks > 1)
        nn_parallel_run(j.ntasks, eval_chunks, &j);
    else
        eval_chunks(&j, 0);
    double sum = 0;
    long right = 0;
    for (long c = 0; c < j.nchunks; c++) {
        sum += j.sum[c];
        right = j.right[c] < 0 || right < 0 ? -1 : right + j.right[c];
    }
    free(j.sum), free(j.right);
    if (right >= 0) *acc = (double)right / (double)sp->n;
    return sum / (double)sp->n;
}

double nn_trainer_eval(nn_trainer *tr, nn_split_id s)
{
    double acc;
    return nn_trainer_eval_acc(tr, s, &acc);
}
