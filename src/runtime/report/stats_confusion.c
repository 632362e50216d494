/* stats_confusion.c — a classifier's confusion matrix after training: the eval-mode model's
 * prediction for every example of one split (dev, else test, else train) against its
 * class, counted as the final evaluation counts its right answers (train/evaluate.c): the
 * argmax of the logits for cross_entropy on table data (the lowest class on a tie), the
 * score's sign for hinge and for a formula loss whose targets are all ±1.  Its diagonal
 * over the split's size is summary.json's accuracy for that split. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/stats.h"

/* The split the matrix counts: dev, else test, else train (−1: every split is empty). */
static int pick_split(const nn_dataset *ds)
{
    static const int order[3] = {NN_SPLIT_DEV, NN_SPLIT_TEST, NN_SPLIT_TRAIN};
    for (int i = 0; i < 3; i++)
        if (ds->split[order[i]].n > 0) return order[i];
    return -1;
}

int nn_confusion_setup(nn_stats *s)
{
    const nn_trainer *tr = s->tr;
    const nn_dataset *ds = nn_trainer_data(tr);
    const nn_graph *g = nn_trainer_graph(tr, NN_EVALUATION);
    nn_loss_kind l = nn_trainer_spec(tr)->train.loss;
    s->conf_k = 0;
    int sp = pick_split(ds);
    if (ds->kind != NN_DATASET_TABLE || g->logits < 0 || sp < 0) return 0;
    int outs = g->t[g->logits].dim[1];
    if (l == NN_LOSS_CROSS_ENTROPY && outs >= 2 && outs <= NN_CONF_MAX) {
        s->conf_k = outs;
    } else if ((l == NN_LOSS_HINGE || l == NN_LOSS_EXPR) && outs == 1 && ds->split[sp].fy) {
        /* a formula's targets must all be ±1 (else it is a regression: no accuracy) */
        const nn_split *p = &ds->split[sp];
        int classes = 1;
        for (long i = 0; l == NN_LOSS_EXPR && classes && i < p->n; i++)
            classes = p->fy[i] == 1 || p->fy[i] == -1;
        s->conf_k = classes ? 2 : 0;
        s->conf_score = 1;
    }
    if (!s->conf_k) return 0;
    s->conf_split = sp;
    s->conf = calloc((size_t)s->conf_k * (size_t)s->conf_k, sizeof *s->conf);
    return s->conf ? 0 : -1;
}

void nn_confusion_run(nn_stats *s)
{
    if (!s->conf_k) return;
    const nn_trainer *tr = s->tr;
    const nn_dataset *ds = nn_trainer_data(tr);
    const nn_plan *p = nn_trainer_plan(tr, NN_EVALUATION);
    const nn_graph *g = p->g;
    const nn_split *sp = &ds->split[s->conf_split];
    size_t F = (size_t)ds->features;
    int K = s->conf_k, W = g->t[g->logits].dim[1];
    long B = g->batch;
    memset(s->conf, 0, (size_t)K * (size_t)K * sizeof *s->conf);
    for (long at = 0; at < sp->n; at += B) {
        long rows = sp->n - at < B ? sp->n - at : B;
        memcpy(nn_plan_ptr(p, g->x), sp->fx + (size_t)at * F, (size_t)rows * F * sizeof(float));
        /* targets are read by the loss only: class 0 / 0.0 keeps it in range */
        memset(nn_plan_ptr(p, g->y), 0, (size_t)rows * 4);
        nn_plan_forward(p, (int)rows);
        const float *z = nn_plan_ptr(p, g->logits);
        for (long r = 0; r < rows; r++) {
            int truth, pred = 0;
            if (s->conf_score) {
                truth = sp->fy[at + r] > 0;
                pred = z[r] > 0;
            } else {
                truth = sp->y[at + r];
                for (int k = 1; k < W; k++)
                    if (z[r * W + k] > z[r * W + pred]) pred = k;
            }
            if (truth >= 0 && truth < K) s->conf[(size_t)truth * K + pred]++;
        }
    }
    s->conf_done = 1;
}

json_t *nn_confusion_json(const nn_stats *s)
{
    if (!s->conf_done) return NULL;
    static const char *const split[] = {"train", "dev", "test"};
    int K = s->conf_k;
    json_t *labels = json_array(), *rows = json_array();
    long n = 0, right = 0;
    for (int i = 0; i < K; i++) {
        char name[24];
        if (s->conf_score)
            snprintf(name, sizeof name, "%s", i ? "+1" : "-1");
        else
            snprintf(name, sizeof name, "%d", i);
        json_array_append_new(labels, json_string(name));
        json_t *row = json_array();
        for (int j = 0; j < K; j++) {
            long c = s->conf[(size_t)i * K + j];
            json_array_append_new(row, json_integer(c));
            n += c;
            right += i == j ? c : 0;
        }
        json_array_append_new(rows, row);
    }
    return json_pack("{s:s, s:o, s:o, s:I, s:f}", "split", split[s->conf_split], "labels", labels,
                     "matrix", rows, "n", (json_int_t)n, "accuracy",
                     n ? (double)right / (double)n : 0.0);
}
