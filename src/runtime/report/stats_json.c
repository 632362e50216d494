/* stats_json.c — writing the collected statistics as stats.json (docs/stats-json.md is
 * the contract with the renderer). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/report/stats.h"

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *hist_json(const nn_hist *h)
{
    json_t *c = json_array();
    for (int b = 0; b < NN_HIST_BINS; b++)
        json_array_append_new(c, json_integer(h->counts[b]));
    return json_pack("{s:o, s:o, s:o}", "lo", num(h->lo), "hi", num(h->hi), "counts", c);
}

static json_t *tensor_stats_json(const nn_stats *s, const nn_tensor_stat *all, int with_sat)
{
    json_t *a = json_array();
    char name[32];
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < s->nact; k++) {
            const nn_tensor_stat *st = &all[w * s->nact + k];
            if (!st->valid) continue;
            snprintf(name, sizeof name, "layers.%d", s->act_layer[k]);
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "name", name, "kind", s->act_kind[k],
                          "when", w == NN_STATS_INIT ? "init" : "final", "step",
                          (json_int_t)s->act_step[w], "mean", num(st->mean), "std", num(st->std));
            if (with_sat) json_object_set_new(o, "saturated", num(st->saturated));
            json_object_set_new(o, "hist", hist_json(&st->hist));
            json_array_append_new(a, o);
        }
    return a;
}

static json_t *weights_json(const nn_stats *s)
{
    json_t *a = json_array();
    for (int k = 0; k < s->nweight; k++) {
        const nn_weight_stat *ws = &s->weights[k];
        const nn_param *p = &nn_trainer_params(s->tr)->p[s->weight_param[k]];
        if (!ws->valid) continue;
        json_array_append_new(a, json_pack("{s:s, s:[i,i], s:o, s:o, s:o, s:o, s:o}", "name",
                                           p->name, "shape", p->dim[0], p->dim[1], "data_std",
                                           num(ws->data_std), "grad_mean", num(ws->grad_mean),
                                           "grad_std", num(ws->grad_std), "grad_data_ratio",
                                           num(ws->grad_data_ratio), "hist", hist_json(&ws->hist)));
    }
    return a;
}

static json_t *updates_json(const nn_stats *s)
{
    json_t *names = json_array(), *steps = json_array(), *rows = json_array();
    for (int k = 0; k < s->nweight; k++)
        json_array_append_new(names,
                              json_string(nn_trainer_params(s->tr)->p[s->weight_param[k]].name));
    for (int u = 0; u < s->nupd; u++) {
        json_t *row = json_array();
        for (int k = 0; k < s->nweight; k++)
            json_array_append_new(row, num(s->upd[(size_t)u * s->nweight + k]));
        json_array_append_new(steps, json_integer(s->upd_step[u]));
        json_array_append_new(rows, row);
    }
    return json_pack("{s:o, s:o, s:o}", "names", names, "steps", steps, "log10_ratio", rows);
}

static json_t *saturation_json(const nn_stats *s)
{
    json_t *cells = json_array();
    char *line = malloc((size_t)s->sat_cols + 1);
    for (int r = 0; line && r < s->sat_rows; r++) {
        memcpy(line, s->sat + (size_t)r * s->sat_cols, (size_t)s->sat_cols);
        line[s->sat_cols] = 0;
        json_array_append_new(cells, json_string(line));
    }
    free(line);
    char name[32];
    snprintf(name, sizeof name, "layers.%d", s->act_layer[s->sat_act]);
    return json_pack("{s:s, s:i, s:i, s:i, s:o}", "name", name, "step", 0, "rows", s->sat_rows,
                     "cols", s->sat_cols, "cells", cells);
}

static json_t *embedding_json(const nn_stats *s)
{
    const nn_param *p = &nn_trainer_params(s->tr)->p[s->emb_param];
    json_t *labels = json_array(), *pts = json_array();
    for (int r = 0; r < p->dim[0]; r++) {
        json_array_append_new(labels, json_string(nn_dataset_token(nn_trainer_data(s->tr), r)));
        json_array_append_new(
            pts, json_pack("[o,o]", num(s->emb_pts[r * 2]), num(s->emb_pts[r * 2 + 1])));
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "name", p->name, "method",
                     p->dim[1] == 2 ? "raw" : "pca", "labels", labels, "points", pts);
}

/* The n-gram counts: every context row for the bigram, the rows with any count beyond;
 * a context's label is its tokens, oldest first. */
static json_t *counts_json(const nn_stats *s)
{
    const nn_ngram *m = nn_trainer_ngram(s->tr);
    const nn_dataset *ds = nn_trainer_data(s->tr);
    json_t *rows = json_array(), *cols = json_array(), *matrix = json_array();
    for (int j = 0; j < m->vocab; j++)
        json_array_append_new(cols, json_string(nn_dataset_token(ds, j)));
    for (long r = 0; r < m->rows; r++) {
        const long *c = m->counts + r * m->vocab;
        long any = 0;
        for (int j = 0; j < m->vocab && !any; j++)
            any = c[j];
        if (!any && m->n != 2) continue;
        char label[256] = "";
        size_t len = 0;
        for (int i = m->n - 2; i >= 0; i--) {
            long id = r;
            for (int k = 0; k < i; k++)
                id /= m->vocab;
            len += (size_t)snprintf(label + len, len < sizeof label ? sizeof label - len : 0, "%s",
                                    nn_dataset_token(ds, (int)(id % m->vocab)));
            if (len >= sizeof label) len = sizeof label - 1;
        }
        json_t *row = json_array();
        for (int j = 0; j < m->vocab; j++)
            json_array_append_new(row, json_integer(c[j]));
        json_array_append_new(rows, json_string(label));
        json_array_append_new(matrix, row);
    }
    return json_pack("{s:i, s:o, s:o, s:o}", "n", m->n, "rows", rows, "cols", cols, "matrix",
                     matrix);
}

static json_t *boundary_json(const nn_stats *s)
{
    const nn_dataset *ds = nn_trainer_data(s->tr);
    const nn_data_spec *d = &nn_trainer_spec(s->tr)->data;
    const nn_split *sp = &ds->split[NN_SPLIT_TRAIN];
    json_t *grid = json_array(), *pts = json_array();
    for (int j = 0; j < NN_GRID; j++) {
        json_t *row = json_array();
        for (int i = 0; i < NN_GRID; i++)
            json_array_append_new(row, s->bclasses
                                           ? json_integer((json_int_t)s->grid[j * NN_GRID + i])
                                           : num(s->grid[j * NN_GRID + i]));
        json_array_append_new(grid, row);
    }
    for (long i = 0; i < sp->n; i++) {
        /* labels: class ids, or the float targets (±1 for hinge) as integers when whole */
        double label = sp->fy ? sp->fy[i] : sp->y[i];
        int whole = fabs(label) < 1e9 && label == floor(label);
        json_t *pt = json_pack("[o,o,o]", num(sp->fx[i * 2]), num(sp->fx[i * 2 + 1]),
                               whole ? json_integer((json_int_t)label) : num(label));
        if (s->bclasses && s->bpred) json_array_append_new(pt, json_integer(s->bpred[i]));
        json_array_append_new(pts, pt);
    }
    /* the axes are named after the CSV's columns */
    int named = d->kind == NN_DATA_CSV && d->nx == 2 && d->x_cols;
    json_t *o = json_pack("{s:[o,o], s:[o,o], s:i, s:o, s:o, s:[s,s]}", "x0", num(s->bx0[0]),
                          num(s->bx0[1]), "x1", num(s->bx1[0]), num(s->bx1[1]), "steps", NN_GRID,
                          "grid", grid, "points", pts, "names", named ? d->x_cols[0] : "x0",
                          named ? d->x_cols[1] : "x1");
    if (o && s->bclasses) json_object_set_new(o, "classes", json_integer(s->bclasses));
    return o;
}

/* The name of tensor t without its ".out": "blocks.0.residual". */
static json_t *tensor_label(const nn_graph *g, int t)
{
    const char *name = g->t[t].name;
    size_t n = strlen(name);
    if (n > 4 && !strcmp(name + n - 4, ".out")) n -= 4;
    return json_stringn(name, n);
}

/* stats.json "sequence" (docs/stats-json.md). */
static json_t *sequence_json(const nn_seq_stats *q, const nn_dataset *ds)
{
    static const char *const split[] = {"train", "dev", "test"};
    json_t *o = json_pack("{s:s}", "split", split[q->split]);
    if (q->want_pos) {
        json_t *loss = json_array(), *count = json_array();
        for (int t = 0; t < q->T; t++) {
            json_array_append_new(loss,
                                  num(q->pos_n[t] ? q->pos_sum[t] / (double)q->pos_n[t] : NAN));
            json_array_append_new(count, json_integer(q->pos_n[t]));
        }
        json_object_set_new(
            o, "positions",
            json_pack("{s:o, s:o, s:o}", "loss", loss, "count", count, "mean", num(q->loss)));
    }
    if (q->want_att && q->natt > 0 && q->nnames > 0) {
        json_t *layers = json_array(), *items = json_array();
        for (int a = 0; a < q->natt; a++)
            json_array_append_new(layers, tensor_label(q->g, q->g->n[q->att_node[a]].out[0]));
        const nn_split *sp = &ds->split[q->split];
        size_t map = (size_t)q->T * q->T;
        for (int w = 0; w < q->nnames; w++) {
            int L = q->len[w];
            json_t *tokens = json_array(), *maps = json_array();
            for (int t = 0; t < L; t++)
                json_array_append_new(
                    tokens, json_string(nn_dataset_token(ds, sp->x[(size_t)w * q->T + t])));
            for (int a = 0; a < q->natt; a++) {
                json_t *heads = json_array();
                for (int h = 0; h < q->heads; h++) {
                    const float *m = q->att + (((size_t)w * 2 + a) * q->heads + h) * map;
                    json_t *rows = json_array();
                    for (int i = 0; i < L; i++) {
                        json_t *row = json_array();
                        for (int j = 0; j < L; j++)
                            json_array_append_new(row, num(m[i * q->T + j]));
                        json_array_append_new(rows, row);
                    }
                    json_array_append_new(heads, rows);
                }
                json_array_append_new(maps, heads);
            }
            json_array_append_new(items, json_pack("{s:o, s:o}", "tokens", tokens, "maps", maps));
        }
        json_object_set_new(
            o, "attention",
            json_pack("{s:o, s:i, s:o}", "layers", layers, "heads", q->heads, "items", items));
    }
    if (q->want_stream && q->nstream > 0) {
        json_t *st = json_array();
        for (int k = 0; k < q->nstream; k++) {
            int t = q->stream_t[k];
            const char *kind = "residual";
            for (int i = 0; i < q->g->nn; i++)
                if (q->g->n[i].out[0] == t && q->g->n[i].op != &nn_op_residual)
                    kind = q->g->n[i].op == &nn_op_layernorm ? "layernorm" : "embedding";
            json_array_append_new(
                st, json_pack("{s:o, s:s, s:o, s:o}", "name", tensor_label(q->g, t), "kind", kind,
                              "mean", num(q->stream[k].mean), "std", num(q->stream[k].std)));
        }
        json_object_set_new(o, "stream", st);
    }
    return o;
}

static json_t *stats_doc(const nn_stats *s)
{
    const nn_dataset *ds = nn_trainer_data(s->tr);
    json_t *root = json_pack("{s:i}", "version", 1);
    if (!root) return NULL;
    if (ds->kind == NN_DATASET_TEXT) {
        json_t *tok = json_array();
        for (int i = 0; i < ds->vocab; i++)
            json_array_append_new(tok, json_string(nn_dataset_token(ds, i)));
        json_object_set_new(root, "tokens", tok);
    }
    if (s->act_step[0] >= 0 || s->act_step[1] >= 0) {
        json_object_set_new(root, "activations", tensor_stats_json(s, s->act, 1));
        json_object_set_new(root, "gradients", tensor_stats_json(s, s->grad, 0));
    }
    if (s->act_step[1] >= 0 && s->nweight > 0)
        json_object_set_new(root, "weights", weights_json(s));
    if (s->nupd > 0 && s->nweight > 0) json_object_set_new(root, "updates", updates_json(s));
    if (s->sat_done) json_object_set_new(root, "saturation", saturation_json(s));
    if (s->emb_done) json_object_set_new(root, "embedding", embedding_json(s));
    if (nn_trainer_ngram(s->tr) && nn_stats_wants(nn_trainer_spec(s->tr), "counts"))
        json_object_set_new(root, "counts", counts_json(s));
    if (s->grid_done) json_object_set_new(root, "boundary", boundary_json(s));
    json_t *conf = nn_confusion_json(s);
    if (conf) json_object_set_new(root, "confusion", conf);
    if (s->seq && s->seq->done) json_object_set_new(root, "sequence", sequence_json(s->seq, ds));
    json_t *rnn = nn_rnn_stat_json(&s->rnn);
    if (rnn) json_object_set_new(root, "recurrent", rnn);
    return root;
}

int nn_stats_write(const nn_stats *s, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/stats.json", dir);
    json_t *root = stats_doc(s);
    int rc = root ? json_dump_file(root, path, JSON_COMPACT | JSON_REAL_PRECISION(7)) : -1;
    json_decref(root);
    return rc == 0 ? 0 : -1;
}
