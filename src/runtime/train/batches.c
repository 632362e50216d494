/* batches.c — the rows a plan reads: a minibatch drawn for a training step (torch.randint
 * order, prefetched), a split's rows for evaluation, the first rows for a probe. */
#include "runtime/train/trainer_int.h"

/* Copies examples [at, at + rows) of a split into rows [dst, dst + rows) of a plan's inputs
 * x and y (token ids or features; class ids or float targets).  Plain loops: minibatch
 * rows are a few ints, where a memcpy call costs more than the copy. */
void nn_load_rows(const nn_dataset *ds, const nn_split *sp, const nn_plan *p, long at, int rows,
                  int dst)
{
    const nn_graph *g = p->g;
    if (ds->kind == NN_DATASET_TABLE) {
        size_t F = (size_t)ds->features;
        float *x = (float *)nn_plan_ptr(p, g->x) + (size_t)dst * F;
        const float *src = sp->fx + (size_t)at * F;
        for (size_t i = 0; i < (size_t)rows * F; i++)
            x[i] = src[i];
    } else {
        size_t T = (size_t)ds->context;
        int32_t *x = (int32_t *)nn_plan_ptr(p, g->x) + (size_t)dst * T;
        const int32_t *src = sp->x + (size_t)at * T;
        for (size_t i = 0; i < (size_t)rows * T; i++)
            x[i] = src[i];
    }
    if (g->t[g->y].dtype == NN_F32) {
        float *y = (float *)nn_plan_ptr(p, g->y) + dst;
        for (int i = 0; i < rows; i++)
            y[i] = sp->fy[at + i];
    } else {
        size_t w = (size_t)ds->ytw; /* targets per example */
        int32_t *y = (int32_t *)nn_plan_ptr(p, g->y) + (size_t)dst * w;
        for (size_t i = 0; i < (size_t)rows * w; i++)
            y[i] = sp->y[(size_t)at * w + i];
    }
}

int nn_trainer_probe(nn_trainer *tr, int rows, nn_plan **plan)
{
    const nn_split *sp = &tr->ds->split[NN_SPLIT_TRAIN];
    *plan = NULL;
    if (!tr->train_g) return 0;
    /* a plan that keeps every tensor: the training plan shares memory between them */
    nn_plan *p = nn_plan_lower(tr->train_g, tr->P, NN_LOWER_KEEP_ALL);
    if (!p) return -1;
    if (rows > p->g->batch) rows = p->g->batch;
    if (rows > sp->n) rows = (int)sp->n;
    nn_load_rows(tr->ds, sp, p, 0, rows, 0);
    nn_plan_forward(p, rows);
    nn_plan_backward(p, rows);
    *plan = p;
    return rows;
}

/* Draws a minibatch of the training split into the plan's inputs (torch.randint order);
 * with batch: full, the whole split in order, and no draw. */
void nn_load_batch(nn_trainer *tr)
{
    const nn_dataset *ds = tr->ds;
    const nn_split *sp = &ds->split[NN_SPLIT_TRAIN];
    const nn_plan *p = tr->train_p;
    if (tr->spec->train.full_batch) {
        nn_load_rows(ds, sp, p, 0, tr->batch, 0);
        return;
    }
    /* draw a group of indices first and prefetch their rows: the rows are random reads
     * from arrays far larger than the cache, and waiting for each in turn dominates */
    enum { GROUP = 64 };
    long ix[GROUP];
    size_t xw = ds->kind == NN_DATASET_TABLE ? (size_t)ds->features : (size_t)ds->context;
    size_t yw = (size_t)ds->ytw; /* targets per example: 1, or T for sequences */
    const nn_graph *g = p->g;
    int text_ids = ds->kind == NN_DATASET_TEXT && g->t[g->y].dtype != NN_F32;
    int32_t *tx = text_ids ? nn_plan_ptr(p, g->x) : NULL,
            *ty = text_ids ? nn_plan_ptr(p, g->y) : NULL;
    for (int at = 0; at < tr->batch; at += GROUP) {
        int n = tr->batch - at < GROUP ? tr->batch - at : GROUP;
        for (int i = 0; i < n; i++) {
            ix[i] = (long)nn_rng_randint(&tr->rng, (uint32_t)sp->n);
            __builtin_prefetch(ds->kind == NN_DATASET_TABLE ? (const void *)(sp->fx + ix[i] * xw)
                                                            : (const void *)(sp->x + ix[i] * xw));
            __builtin_prefetch(sp->fy ? (const void *)(sp->fy + ix[i])
                                      : (const void *)(sp->y + ix[i] * (long)yw));
        }
        if (text_ids) { /* the lessons' and makemore's case, without load_rows' dispatch */
            for (int i = 0; i < n; i++) {
                const int32_t *src = sp->x + ix[i] * (long)xw, *ys = sp->y + ix[i] * (long)yw;
                for (size_t c = 0; c < xw; c++)
                    tx[(size_t)(at + i) * xw + c] = src[c];
                for (size_t c = 0; c < yw; c++)
                    ty[(size_t)(at + i) * yw + c] = ys[c];
            }
            continue;
        }
        for (int i = 0; i < n; i++)
            nn_load_rows(ds, sp, p, ix[i], 1, at + i);
    }
}

void nn_trainer_peek_batch(nn_trainer *tr)
{
    nn_rng rng = tr->rng;
    nn_load_batch(tr);
    tr->rng = rng;
}
