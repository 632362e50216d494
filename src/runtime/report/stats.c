/* stats.c — collecting the report's statistics during training (stats.h) and writing
 * stats.json (docs/stats-json.md). */
#include "runtime/report/stats.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAT_ROWS 1024 /* the saturation map shows at most this many batch rows */
#define PCA_ITERS    200

int nn_stats_wanted(const nn_spec *spec)
{
    return spec->report.plots_all || spec->report.nplots > 0;
}

/* Whether the report draws plot `name`: only what is drawn is collected (the keep-all plan
 * of a full-batch model can be large). */
static int wants(const nn_spec *spec, const char *name)
{
    for (int i = 0; i < spec->report.nplots; i++)
        if (!strcmp(spec->report.plots[i], name)) return 1;
    return spec->report.plots_all;
}

static int is_nonlinearity(const nn_op *op)
{
    return op == &nn_op_tanh || op == &nn_op_relu || op == &nn_op_sigmoid;
}

/* Number of collection steps in a run: multiples of `every` below `steps`, and the last. */
static int count_collections(long steps, long every)
{
    if (steps <= 0) return 0;
    long n = (steps - 1) / every + 1;
    if ((steps - 1) % every != 0) n++;
    return (int)n;
}

/* The decision-boundary plot applies to numeric data with two features and one score
 * (hinge / mse) or classes (cross_entropy). */
static int boundary_applies(const nn_trainer *tr)
{
    const nn_graph *g = tr->eval_g;
    if (tr->ds->kind != NN_DATASET_TABLE || tr->ds->features != 2 || g->logits < 0) return 0;
    int outs = g->t[g->logits].dim[1];
    nn_loss_kind l = tr->spec->train.loss;
    if (l == NN_LOSS_HINGE || l == NN_LOSS_MSE || l == NN_LOSS_EXPR) return outs == 1;
    return l == NN_LOSS_CROSS_ENTROPY && outs >= 2;
}

static int setup_graph_stats(nn_stats *s, const nn_trainer *tr)
{
    const nn_graph *g = tr->train_g;
    const nn_params *P = tr->P;
    const nn_spec *spec = tr->spec;
    if ((wants(spec, "activations") || wants(spec, "gradients") || wants(spec, "saturation")) &&
        !(s->plan = nn_plan_lower(g, tr->P, NN_LOWER_KEEP_ALL)))
        return -1;
    for (int i = 0; i < g->nfwd; i++)
        if (is_nonlinearity(g->n[i].op)) s->nact++;
    int na = s->nact > 0 ? s->nact : 1;
    s->act_tensor = calloc((size_t)na, sizeof *s->act_tensor);
    s->act_layer = calloc((size_t)na, sizeof *s->act_layer);
    s->act_kind = calloc((size_t)na, sizeof *s->act_kind);
    s->act = calloc(2 * (size_t)na, sizeof *s->act);
    s->grad = calloc(2 * (size_t)na, sizeof *s->grad);
    if (!s->act_tensor || !s->act_layer || !s->act_kind || !s->act || !s->grad) return -1;
    s->sat_act = -1;
    for (int i = 0, k = 0; i < g->nfwd; i++) {
        if (!is_nonlinearity(g->n[i].op)) continue;
        s->act_tensor[k] = g->n[i].out[0];
        s->act_layer[k] = g->n[i].layer;
        s->act_kind[k] = g->n[i].op->name;
        if (s->sat_act < 0 && g->n[i].op == &nn_op_tanh) s->sat_act = k;
        k++;
    }
    if (s->sat_act >= 0) {
        const nn_tensor *t = &g->t[s->act_tensor[s->sat_act]];
        s->sat_rows = g->batch < MAX_SAT_ROWS ? g->batch : MAX_SAT_ROWS;
        s->sat_cols = (int)(nn_tensor_numel(t) / g->batch);
        if (!(s->sat = malloc((size_t)s->sat_rows * (size_t)s->sat_cols))) return -1;
    }
    long nbuf = 0, nw = 0;
    for (int i = 0; i < P->n; i++) {
        if (P->p[i].role == NN_BUFFER) nbuf += P->p[i].numel;
        if (P->p[i].role == NN_PARAM && P->p[i].ndim == 2) s->nweight++, nw += P->p[i].numel;
    }
    s->saved_buffers = malloc((size_t)(nbuf > 0 ? nbuf : 1) * sizeof(float));
    s->before = malloc((size_t)(nw > 0 ? nw : 1) * sizeof(float));
    s->weight_param = calloc((size_t)(s->nweight + 1), sizeof *s->weight_param);
    s->weights = calloc((size_t)(s->nweight + 1), sizeof *s->weights);
    s->cap_upd = wants(spec, "updates") ? count_collections(s->steps, s->every) : 0;
    s->want_ratios = wants(spec, "ratios");
    if (!s->plan && !s->cap_upd && !s->want_ratios) s->next = -1; /* no collection steps */
    s->upd_step = calloc((size_t)s->cap_upd + 1, sizeof *s->upd_step);
    s->upd = calloc(((size_t)s->cap_upd + 1) * (size_t)(s->nweight + 1), sizeof *s->upd);
    if (!s->saved_buffers || !s->before || !s->weight_param || !s->weights || !s->upd_step ||
        !s->upd)
        return -1;
    for (int i = 0, k = 0; i < P->n; i++)
        if (P->p[i].role == NN_PARAM && P->p[i].ndim == 2) s->weight_param[k++] = i;
    /* the first embedding table, for the 2-D projection */
    s->emb_param = -1;
    for (int i = 0; i < g->nfwd && wants(spec, "embedding"); i++)
        if (g->n[i].op == &nn_op_embedding) {
            const nn_param *q = nn_params_find(tr->P, g->t[g->n[i].in[1]].name);
            if (q && q->ndim == 2 && q->dim[1] >= 2) s->emb_param = (int)(q - P->p);
            break;
        }
    if (s->emb_param >= 0) {
        size_t V = (size_t)P->p[s->emb_param].dim[0], D = (size_t)P->p[s->emb_param].dim[1];
        s->emb_cov = malloc((D * D + 3 * D) * sizeof *s->emb_cov); /* + mean, u, w */
        s->emb_pts = malloc(V * 2 * sizeof *s->emb_pts);
        if (!s->emb_cov || !s->emb_pts) return -1;
    }
    if ((s->boundary = wants(spec, "boundary") && boundary_applies(tr)) &&
        !(s->grid = malloc((size_t)NN_GRID * NN_GRID * sizeof *s->grid)))
        return -1;
    return 0;
}

nn_stats *nn_stats_new(const nn_trainer *tr)
{
    nn_stats *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->tr = tr;
    s->steps = tr->spec->train.steps;
    s->every = tr->spec->report.every;
    if (s->every <= 0) s->every = s->steps / 100 > 1 ? s->steps / 100 : 1;
    s->next = s->steps > 0 ? 0 : -1;
    s->act_step[0] = s->act_step[1] = -1;
    s->emb_param = s->sat_act = -1;
    if (tr->ngram) {
        s->next = -1; /* the counting model takes no steps: counts only */
        return s;
    }
    if (setup_graph_stats(s, tr) != 0) {
        nn_stats_free(s);
        return NULL;
    }
    return s;
}

void nn_stats_free(nn_stats *s)
{
    if (!s) return;
    nn_plan_free(s->plan);
    free(s->act_tensor), free(s->act_layer), free(s->act_kind), free(s->act), free(s->grad);
    free(s->saved_buffers), free(s->before), free(s->weight_param), free(s->weights);
    free(s->upd_step), free(s->upd), free(s->sat), free(s->emb_cov), free(s->emb_pts);
    free(s->grid);
    free(s);
}

/* --- numbers ----------------------------------------------------------------------------- */

static void mean_std(const float *x, long n, double *mean, double *std)
{
    double sum = 0, ss = 0;
    for (long i = 0; i < n; i++)
        sum += x[i];
    double m = n > 0 ? sum / (double)n : NAN;
    for (long i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN; /* unbiased, as torch's .std() */
}

/* 50 equal bins over [lo, hi], or over min..max when lo == hi; non-finite values skipped. */
static void histogram(const float *x, long n, double lo, double hi, nn_hist *h)
{
    if (lo == hi) {
        lo = INFINITY, hi = -INFINITY;
        for (long i = 0; i < n; i++)
            if (isfinite(x[i])) {
                if (x[i] < lo) lo = x[i];
                if (x[i] > hi) hi = x[i];
            }
        if (!(lo <= hi)) lo = hi = 0;
        if (lo == hi) lo -= 0.5, hi += 0.5; /* one value: a unit-wide range around it */
    }
    memset(h->counts, 0, sizeof h->counts);
    h->lo = lo, h->hi = hi;
    double scale = NN_HIST_BINS / (hi - lo);
    for (long i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        long b = (long)((x[i] - lo) * scale);
        b = b < 0 ? 0 : b >= NN_HIST_BINS ? NN_HIST_BINS - 1 : b;
        h->counts[b]++;
    }
}

static void tensor_stat(const float *x, long n, const char *kind, int is_grad, nn_tensor_stat *st)
{
    st->valid = 1;
    st->n = n;
    mean_std(x, n, &st->mean, &st->std);
    long sat = 0;
    for (long i = 0; i < n; i++) /* kinds: tanh, sigmoid, relu */
        sat += kind[0] == 't'   ? fabsf(x[i]) > 0.97f
               : kind[0] == 's' ? fabsf(2 * x[i] - 1) > 0.97f
                                : x[i] == 0;
    st->saturated = is_grad || n == 0 ? NAN : (double)sat / (double)n;
    int fixed = !is_grad && !strcmp(kind, "tanh");
    histogram(x, n, fixed ? -1.0 : 0.0, fixed ? 1.0 : 0.0, &st->hist);
}

/* --- hooks --------------------------------------------------------------------------------- */

static void save_buffers(nn_stats *s, int restore)
{
    const nn_params *P = s->tr->P;
    float *at = s->saved_buffers;
    for (int i = 0; i < P->n; i++) {
        if (P->p[i].role != NN_BUFFER) continue;
        size_t bytes = (size_t)P->p[i].numel * sizeof(float);
        if (restore)
            memcpy(P->p[i].data, at, bytes);
        else
            memcpy(at, P->p[i].data, bytes);
        at += P->p[i].numel;
    }
}

void nn_stats_probe(nn_stats *s, long step)
{
    int init = step == 0, final = step == s->steps - 1;
    if ((!init && !final) || !s->plan) return;
    const nn_trainer *tr = s->tr;
    const nn_graph *g = tr->train_g;
    const nn_plan *tp = tr->train_p, *p = s->plan;
    /* the same minibatch: x and y are 4-byte elements in both plans */
    memcpy(nn_plan_ptr(p, g->x), nn_plan_ptr(tp, g->x), (size_t)nn_tensor_numel(&g->t[g->x]) * 4);
    memcpy(nn_plan_ptr(p, g->y), nn_plan_ptr(tp, g->y), (size_t)nn_tensor_numel(&g->t[g->y]) * 4);
    /* this pass updates BatchNorm's running buffers and writes the parameter gradients; the
     * buffers are restored below and the training pass rewrites every gradient */
    save_buffers(s, 0);
    nn_plan_forward(p, tr->batch);
    nn_plan_backward(p, tr->batch);
    save_buffers(s, 1);
    for (int w = 0; w < 2; w++) {
        if (!(w == NN_STATS_INIT ? init : final)) continue;
        s->act_step[w] = w == NN_STATS_INIT ? 0 : s->steps;
        for (int k = 0; k < s->nact; k++) {
            const nn_tensor *t = &g->t[s->act_tensor[k]];
            long n = nn_tensor_numel(t);
            tensor_stat(nn_plan_ptr(p, s->act_tensor[k]), n, s->act_kind[k], 0,
                        &s->act[w * s->nact + k]);
            if (t->grad >= 0 && nn_plan_ptr(p, t->grad))
                tensor_stat(nn_plan_ptr(p, t->grad), n, s->act_kind[k], 1,
                            &s->grad[w * s->nact + k]);
        }
    }
    if (init && s->sat_act >= 0) {
        const float *t = nn_plan_ptr(p, s->act_tensor[s->sat_act]);
        for (long i = 0; i < (long)s->sat_rows * s->sat_cols; i++)
            s->sat[i] = fabsf(t[i]) > 0.99f ? '1' : '0';
        s->sat_done = 1;
    }
}

void nn_stats_before_update(nn_stats *s, long step)
{
    (void)step; /* every collection step saves them */
    const nn_params *P = s->tr->P;
    float *at = s->before;
    for (int k = 0; k < s->nweight; k++) {
        const nn_param *p = &P->p[s->weight_param[k]];
        memcpy(at, p->data, (size_t)p->numel * sizeof(float));
        at += p->numel;
    }
}

void nn_stats_after_update(nn_stats *s, long step)
{
    const nn_params *P = s->tr->P;
    const float *at = s->before;
    if (s->nupd < s->cap_upd) {
        double *row = s->upd + (size_t)s->nupd * (size_t)s->nweight;
        for (int k = 0; k < s->nweight; k++) {
            const nn_param *p = &P->p[s->weight_param[k]];
            /* std(Δp) in one pass of differences, without storing them */
            double sum = 0, ss = 0, m, dstd;
            for (long i = 0; i < p->numel; i++)
                sum += (double)p->data[i] - at[i];
            m = sum / (double)p->numel;
            for (long i = 0; i < p->numel; i++) {
                double d = (double)p->data[i] - at[i] - m;
                ss += d * d;
            }
            mean_std(p->data, p->numel, &m, &dstd);
            row[k] = p->numel > 1 ? log10(sqrt(ss / (double)(p->numel - 1)) / dstd) : NAN;
            at += p->numel;
            /* final: the last batch's gradient against the updated weights, as the lecture
             * reads them after its loop breaks (the update leaves the gradient as it was) */
            if (step == s->steps - 1 && s->want_ratios) {
                nn_weight_stat *ws = &s->weights[k];
                ws->data_std = dstd;
                mean_std(p->grad, p->numel, &ws->grad_mean, &ws->grad_std);
                ws->grad_data_ratio = ws->grad_std / ws->data_std;
                histogram(p->grad, p->numel, 0, 0, &ws->hist);
                ws->valid = 1;
            }
        }
        s->upd_step[s->nupd++] = step;
    }
    long next = (step / s->every + 1) * s->every;
    s->next = next < s->steps ? next : step < s->steps - 1 ? s->steps - 1 : -1;
}

/* Top-2 principal components of the embedding rows by power iteration with deflation. */
static void embedding_pca(nn_stats *s)
{
    const nn_param *p = &s->tr->P->p[s->emb_param];
    int V = p->dim[0], D = p->dim[1];
    double *C = s->emb_cov, *mean = C + (size_t)D * D, *v = mean + D;
    if (D == 2) {
        for (long i = 0; i < 2L * V; i++)
            s->emb_pts[i] = p->data[i];
        s->emb_done = 1;
        return;
    }
    for (int j = 0; j < D; j++) {
        mean[j] = 0;
        for (int r = 0; r < V; r++)
            mean[j] += p->data[(size_t)r * D + j] / V;
    }
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double c = 0;
            for (int r = 0; r < V; r++)
                c +=
                    (p->data[(size_t)r * D + a] - mean[a]) * (p->data[(size_t)r * D + b] - mean[b]);
            C[a * D + b] = c / (V > 1 ? V - 1 : 1);
        }
    double *u = v, *w = v + D; /* the current vector and C·u */
    for (int comp = 0; comp < 2; comp++) {
        double lambda = 0;
        for (int j = 0; j < D; j++)
            u[j] = 1.0 + 0.01 * j; /* deterministic start, not orthogonal to any axis */
        for (int it = 0; it < PCA_ITERS; it++) {
            double norm = 0;
            for (int a = 0; a < D; a++) {
                w[a] = 0;
                for (int b = 0; b < D; b++)
                    w[a] += C[a * D + b] * u[b];
                norm += w[a] * w[a];
            }
            norm = sqrt(norm);
            if (norm == 0) break;
            for (int a = 0; a < D; a++)
                u[a] = w[a] / norm;
            lambda = norm;
        }
        /* a fixed sign: the largest component positive */
        int big = 0;
        for (int a = 1; a < D; a++)
            if (fabs(u[a]) > fabs(u[big])) big = a;
        double sign = u[big] < 0 ? -1 : 1;
        for (int r = 0; r < V; r++) {
            double x = 0;
            for (int a = 0; a < D; a++)
                x += (p->data[(size_t)r * D + a] - mean[a]) * u[a] * sign;
            s->emb_pts[r * 2 + comp] = x;
        }
        for (int a = 0; a < D; a++) /* deflate: remove the component found */
            for (int b = 0; b < D; b++)
                C[a * D + b] -= lambda * u[a] * u[b];
    }
    s->emb_done = 1;
}

/* The eval-mode score over a grid spanning the data (padded by 0.5): the raw output for
 * hinge / mse, the margin of class 1 (z1 − max of the others) for classes — positive where
 * the model says 1 (+1), so the boundary is the zero contour in both cases. */
static void decision_boundary(nn_stats *s)
{
    const nn_trainer *tr = s->tr;
    const nn_dataset *ds = tr->ds;
    const nn_plan *p = tr->eval_p;
    const nn_graph *g = p->g;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int sp = 0; sp < NN_SPLIT_COUNT; sp++)
        for (long i = 0; i < ds->split[sp].n; i++)
            for (int f = 0; f < 2; f++) {
                double x = ds->split[sp].fx[i * 2 + f];
                if (x < lo[f]) lo[f] = x;
                if (x > hi[f]) hi[f] = x;
            }
    if (!(lo[0] <= hi[0]) || !(lo[1] <= hi[1])) return;
    s->bx0[0] = lo[0] - 0.5, s->bx0[1] = hi[0] + 0.5;
    s->bx1[0] = lo[1] - 0.5, s->bx1[1] = hi[1] + 0.5;
    float *x = nn_plan_ptr(p, g->x);
    for (int j = 0; j < NN_GRID; j++)
        for (int i = 0; i < NN_GRID; i++) {
            x[(j * NN_GRID + i) * 2] =
                (float)(s->bx0[0] + (s->bx0[1] - s->bx0[0]) * i / (NN_GRID - 1));
            x[(j * NN_GRID + i) * 2 + 1] =
                (float)(s->bx1[0] + (s->bx1[1] - s->bx1[0]) * j / (NN_GRID - 1));
        }
    /* targets are read by the loss: class 0 / 0.0 (both all-zero bits) keep it in range */
    memset(nn_plan_ptr(p, g->y), 0, (size_t)NN_GRID * NN_GRID * 4);
    nn_plan_forward(p, NN_GRID * NN_GRID);
    const float *z = nn_plan_ptr(p, g->logits);
    int K = g->t[g->logits].dim[1];
    for (int r = 0; r < NN_GRID * NN_GRID; r++) {
        if (K == 1) {
            s->grid[r] = z[r];
            continue;
        }
        float best = -INFINITY;
        for (int k = 0; k < K; k++)
            if (k != 1 && z[r * K + k] > best) best = z[r * K + k];
        s->grid[r] = z[r * K + 1] - best;
    }
    s->grid_done = 1;
}

void nn_stats_finish(nn_stats *s)
{
    if (s->emb_param >= 0) embedding_pca(s);
    if (s->boundary && NN_GRID * NN_GRID <= s->tr->eval_g->batch) decision_boundary(s);
}

/* --- stats.json ----------------------------------------------------------------------------- */

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
        const nn_param *p = &s->tr->P->p[s->weight_param[k]];
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
        json_array_append_new(names, json_string(s->tr->P->p[s->weight_param[k]].name));
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
    const nn_param *p = &s->tr->P->p[s->emb_param];
    json_t *labels = json_array(), *pts = json_array();
    for (int r = 0; r < p->dim[0]; r++) {
        json_array_append_new(labels, json_string(nn_dataset_token(s->tr->ds, r)));
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
    const nn_ngram *m = s->tr->ngram;
    const nn_dataset *ds = s->tr->ds;
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
    const nn_dataset *ds = s->tr->ds;
    const nn_split *sp = &ds->split[NN_SPLIT_TRAIN];
    json_t *grid = json_array(), *pts = json_array();
    for (int j = 0; j < NN_GRID; j++) {
        json_t *row = json_array();
        for (int i = 0; i < NN_GRID; i++)
            json_array_append_new(row, num(s->grid[j * NN_GRID + i]));
        json_array_append_new(grid, row);
    }
    for (long i = 0; i < sp->n; i++) {
        /* labels: class ids, or the float targets (±1 for hinge) as integers when whole */
        double label = sp->fy ? sp->fy[i] : sp->y[i];
        int whole = fabs(label) < 1e9 && label == floor(label);
        json_array_append_new(pts, json_pack("[o,o,o]", num(sp->fx[i * 2]), num(sp->fx[i * 2 + 1]),
                                             whole ? json_integer((json_int_t)label) : num(label)));
    }
    return json_pack("{s:[o,o], s:[o,o], s:i, s:o, s:o}", "x0", num(s->bx0[0]), num(s->bx0[1]),
                     "x1", num(s->bx1[0]), num(s->bx1[1]), "steps", NN_GRID, "grid", grid, "points",
                     pts);
}

static json_t *stats_doc(const nn_stats *s)
{
    const nn_dataset *ds = s->tr->ds;
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
    if (s->tr->ngram && wants(s->tr->spec, "counts"))
        json_object_set_new(root, "counts", counts_json(s));
    if (s->grid_done) json_object_set_new(root, "boundary", boundary_json(s));
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
