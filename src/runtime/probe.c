/* probe.c — one forward/backward pass on the first training examples, without an
 * update: what `nnrun graph --values` shows on every node. */
#include <string.h>

#include "runtime/train.h"

int nn_trainer_probe(nn_trainer *tr, int rows)
{
    const nn_split *sp = &tr->ds->split[NN_SPLIT_TRAIN];
    const nn_plan *p = tr->train_p;
    int T = tr->ds->context;
    if (rows > p->g->batch) rows = p->g->batch;
    if (rows > sp->n) rows = (int)sp->n;
    int32_t *x = nn_plan_ptr(p, p->g->x), *y = nn_plan_ptr(p, p->g->y);
    memcpy(x, sp->x, (size_t)rows * (size_t)T * sizeof *x);
    memcpy(y, sp->y, (size_t)rows * sizeof *y);
    nn_plan_forward(p, rows);
    nn_plan_backward(p, rows);
    return rows;
}
