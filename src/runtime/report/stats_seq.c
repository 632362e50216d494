/* stats_seq.c — the report's statistics of sequence models (data `examples: sequence`),
 * taken after training in evaluation mode over one split (test, else dev, else train):
 *   positions  the mean cross-entropy at each position 0..T−1 over the split's targets
 *              that are not ignored (their token-weighted mean is the split's loss);
 *   attention  the softmax weights of the first and the last attention layer, every head,
 *              for the split's first NN_SEQ_NAMES items;
 *   stream     mean and std of the embedding's output, every residual add's output (the
 *              residual stream after each half-block) and every LayerNorm's output, over
 *              the non-ignored positions.
 * A graph of the model for SEQ_ROWS rows in evaluation mode, lowered keeping every tensor,
 * is built with the other statistics (nn_stats_new); nothing is allocated afterwards. */
#include "runtime/report/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/build.h"

#define SEQ_ROWS 64 /* rows per pass: the keep-all plan holds every activation of them */

static int split_of(const nn_dataset *ds)
{
    if (ds->split[NN_SPLIT_TEST].n > 0) return NN_SPLIT_TEST;
    return ds->split[NN_SPLIT_DEV].n > 0 ? NN_SPLIT_DEV : NN_SPLIT_TRAIN;
}

/* The residual stream's tensors: the embedding (its start), every residual add, every
 * LayerNorm's output. */
static int stream_op(const nn_op *op)
{
    return op == &nn_op_embedding || op == &nn_op_residual || op == &nn_op_layernorm;
}

static void seq_free(nn_seq_stats *q)
{
    if (!q) return;
    nn_plan_free(q->plan);
    nn_graph_free(q->g);
    free(q->pos_sum), free(q->pos_n), free(q->att), free(q->stream_t), free(q->stream);
    free(q);
}

void nn_seq_stats_free(nn_seq_stats *q)
{
    seq_free(q);
}

nn_seq_stats *nn_seq_stats_new(const nn_trainer *tr, int positions, int attention, int stream)
{
    const nn_dataset *ds = nn_trainer_data(tr);
    const nn_spec *spec = nn_trainer_spec(tr);
    if (ds->kind != NN_DATASET_TEXT || ds->ytw <= 1 || nn_trainer_plugins(tr) ||
        spec->train.loss != NN_LOSS_CROSS_ENTROPY)
        return NULL; /* not a sequence model (plugin layers need the runtime's functions) */
    nn_seq_stats *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->want_pos = positions, q->want_att = attention, q->want_stream = stream;
    q->split = split_of(ds);
    q->T = ds->context;
    nn_build_opts o = {SEQ_ROWS, 0, 0, ds->vocab, ds->context, ds->features, 1};
    nn_diag *d = nn_diag_new();
    q->g = d ? nn_build(spec, &o, d) : NULL;
    nn_diag_free(d);
    if (!q->g || !(q->plan = nn_plan_lower(q->g, nn_trainer_params(tr), NN_LOWER_KEEP_ALL)))
        goto fail;
    const nn_graph *g = q->g;
    q->att_node[0] = q->att_node[1] = -1;
    int nstream = 0;
    for (int i = 0; i < g->nn; i++) {
        if (g->n[i].op == &nn_op_attention) {
            if (q->att_node[0] < 0) q->att_node[0] = i;
            q->att_node[1] = i;
        }
        nstream += stream_op(g->n[i].op);
    }
    if (q->att_node[0] >= 0) {
        q->natt = q->att_node[1] != q->att_node[0] ? 2 : 1;
        q->heads = g->n[q->att_node[0]].spec->heads;
        if (g->n[q->att_node[1]].spec->heads != q->heads) q->natt = 1; /* one map size */
    }
    q->pos_sum = calloc((size_t)q->T, sizeof *q->pos_sum);
    q->pos_n = calloc((size_t)q->T, sizeof *q->pos_n);
    q->att = calloc((size_t)NN_SEQ_NAMES * 2 * (size_t)(q->heads ? q->heads : 1) * q->T * q->T,
                    sizeof *q->att);
    q->stream_t = calloc((size_t)nstream + 1, sizeof *q->stream_t);
    q->stream = calloc((size_t)nstream + 1, sizeof *q->stream);
    if (!q->pos_sum || !q->pos_n || !q->att || !q->stream_t || !q->stream) goto fail;
    for (int i = 0; i < g->nn; i++)
        if (stream_op(g->n[i].op)) q->stream_t[q->nstream++] = g->n[i].out[0];
    return q;
fail:
    seq_free(q);
    return NULL;
}

/* The split's rows [at, at + rows) into the plan's x and y. */
static void load(const nn_seq_stats *q, const nn_split *sp, long at, int rows)
{
    const nn_graph *g = q->g;
    size_t n = (size_t)rows * (size_t)q->T;
    memcpy(nn_plan_ptr(q->plan, g->x), sp->x + (size_t)at * q->T, n * sizeof(int32_t));
    memcpy(nn_plan_ptr(q->plan, g->y), sp->y + (size_t)at * q->T, n * sizeof(int32_t));
}

/* Cross-entropy per position of the pass's rows, in double. */
static void position_losses(nn_seq_stats *q, int rows)
{
    const nn_graph *g = q->g;
    const float *z = nn_plan_ptr(q->plan, g->logits);
    const int32_t *y = nn_plan_ptr(q->plan, g->y);
    int V = g->t[g->logits].dim[g->t[g->logits].ndim - 1];
    for (long r = 0; r < (long)rows * q->T; r++) {
        if (y[r] < 0) continue;
        const float *zr = z + r * V;
        double m = zr[0], s = 0;
        for (int k = 1; k < V; k++)
            m = fmax(m, zr[k]);
        for (int k = 0; k < V; k++)
            s += exp(zr[k] - m);
        q->pos_sum[r % q->T] += m + log(s) - zr[y[r]];
        q->pos_n[r % q->T]++;
    }
}

/* Σ and Σ² of each stream tensor over the non-ignored positions (accumulated in mean/std
 * until nn_seq_stats_run divides). */
static void stream_sums(nn_seq_stats *q, int rows)
{
    const int32_t *y = nn_plan_ptr(q->plan, q->g->y);
    for (int k = 0; k < q->nstream; k++) {
        const nn_tensor *t = &q->g->t[q->stream_t[k]];
        int C = t->dim[t->ndim - 1];
        const float *x = nn_plan_ptr(q->plan, q->stream_t[k]);
        for (long r = 0; r < (long)rows * q->T; r++) {
            if (y[r] < 0) continue;
            for (int c = 0; c < C; c++) {
                double v = x[r * C + c];
                q->stream[k].mean += v, q->stream[k].std += v * v;
            }
            q->stream[k].n += C;
        }
    }
}

/* The first rows' attention weights of the kept layers. */
static void keep_attention(nn_seq_stats *q, const nn_split *sp, int rows)
{
    size_t map = (size_t)q->T * q->T, per = (size_t)q->heads * map;
    q->nnames = rows < NN_SEQ_NAMES ? rows : NN_SEQ_NAMES;
    for (int w = 0; w < q->nnames; w++) {
        const int32_t *y = sp->y + (size_t)w * q->T;
        int len = 0;
        while (len < q->T && y[len] >= 0)
            len++;
        q->len[w] = len; /* positions that predict something: the start token to the last */
        for (int a = 0; a < q->natt; a++) {
            const float *att = nn_plan_ptr(q->plan, q->g->n[q->att_node[a]].out[1]);
            memcpy(q->att + ((size_t)w * 2 + a) * per, att + (size_t)w * per, per * sizeof(float));
        }
    }
}

void nn_seq_stats_run(nn_seq_stats *q, const nn_trainer *tr)
{
    const nn_split *sp = &nn_trainer_data(tr)->split[q->split];
    for (long at = 0; at < sp->n; at += SEQ_ROWS) {
        int rows = (int)(sp->n - at < SEQ_ROWS ? sp->n - at : SEQ_ROWS);
        load(q, sp, at, rows);
        nn_plan_forward(q->plan, rows);
        if (q->want_pos) position_losses(q, rows);
        if (q->want_stream) stream_sums(q, rows);
        if (q->want_att && at == 0 && q->natt > 0) keep_attention(q, sp, rows);
    }
    double sum = 0;
    long n = 0;
    for (int t = 0; t < q->T; t++)
        sum += q->pos_sum[t], n += q->pos_n[t];
    q->loss = n ? sum / (double)n : NAN;
    for (int k = 0; k < q->nstream; k++) {
        nn_seq_moment *m = &q->stream[k];
        double mean = m->n ? m->mean / (double)m->n : NAN;
        double var = m->n > 1 ? (m->std - (double)m->n * mean * mean) / (double)(m->n - 1) : NAN;
        m->mean = mean, m->std = sqrt(fmax(var, 0));
    }
    q->done = 1;
}
