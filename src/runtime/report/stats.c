/* stats.c — collecting the report's statistics during training (stats.h), attached to the
 * step loop as a hook (train/hooks.h); stats_json.c writes them. */
#include "runtime/report/stats.h"

#include "runtime/train/hooks.h"

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
int nn_stats_wants(const nn_spec *spec, const char *name)
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
    const nn_graph *g = nn_trainer_graph(tr, NN_EVALUATION);
    if (nn_trainer_data(tr)->kind != NN_DATASET_TABLE || nn_trainer_data(tr)->features != 2 ||
        g->logits < 0)
        return 0;
    int outs = g->t[g->logits].dim[1];
    nn_loss_kind l = nn_trainer_spec(tr)->train.loss;
    if (l == NN_LOSS_HINGE || l == NN_LOSS_MSE || l == NN_LOSS_EXPR) return outs == 1;
    return l == NN_LOSS_CROSS_ENTROPY && outs >= 2;
}

static int setup_graph_stats(nn_stats *s, const nn_trainer *tr)
{
    const nn_graph *g = nn_trainer_graph(tr, NN_TRAINING);
    const nn_params *P = nn_trainer_params(tr);
    const nn_spec *spec = nn_trainer_spec(tr);
    int want_rnn = nn_stats_wants(spec, "recurrent");
    if (want_rnn && nn_rnn_stat_setup(&s->rnn, g) != 0) return -1;
    if ((nn_stats_wants(spec, "activations") || nn_stats_wants(spec, "gradients") ||
         nn_stats_wants(spec, "saturation") || (want_rnn && s->rnn.fwd >= 0)) &&
        !(s->plan = nn_plan_lower(g, nn_trainer_params(tr), NN_LOWER_KEEP_ALL)))
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
    s->cap_upd = nn_stats_wants(spec, "updates") ? count_collections(s->steps, s->every) : 0;
    s->want_ratios = nn_stats_wants(spec, "ratios");
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
    for (int i = 0; i < g->nfwd && nn_stats_wants(spec, "embedding"); i++)
        if (g->n[i].op == &nn_op_embedding) {
            const nn_param *q = nn_params_find(nn_trainer_params(tr), g->t[g->n[i].in[1]].name);
            if (q && q->ndim == 2 && q->dim[1] >= 2) s->emb_param = (int)(q - P->p);
            break;
        }
    if (s->emb_param >= 0) {
        size_t V = (size_t)P->p[s->emb_param].dim[0], D = (size_t)P->p[s->emb_param].dim[1];
        s->emb_cov = malloc((D * D + 3 * D) * sizeof *s->emb_cov); /* + mean, u, w */
        s->emb_pts = malloc(V * 2 * sizeof *s->emb_pts);
        if (!s->emb_cov || !s->emb_pts) return -1;
    }
    if ((s->boundary = nn_stats_wants(spec, "boundary") && boundary_applies(tr)) &&
        !(s->grid = malloc((size_t)NN_GRID * NN_GRID * sizeof *s->grid)))
        return -1;
    if (nn_stats_wants(spec, "confusion") && nn_confusion_setup(s) != 0) return -1;
    return 0;
}

nn_stats *nn_stats_new(const nn_trainer *tr)
{
    nn_stats *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->tr = tr;
    s->steps = nn_trainer_spec(tr)->train.steps;
    s->every = nn_trainer_spec(tr)->report.every;
    if (s->every <= 0) s->every = s->steps / 100 > 1 ? s->steps / 100 : 1;
    s->next = s->steps > 0 ? 0 : -1;
    s->act_step[0] = s->act_step[1] = -1;
    s->emb_param = s->sat_act = -1;
    s->rnn.fwd = s->rnn.bwd = -1;
    s->rnn.step[0] = s->rnn.step[1] = -1;
    if (nn_trainer_ngram(tr)) {
        s->next = -1; /* the counting model takes no steps: counts only */
        return s;
    }
    if (setup_graph_stats(s, tr) != 0) {
        nn_stats_free(s);
        return NULL;
    }
    const nn_spec *spec = nn_trainer_spec(tr);
    int pos = nn_stats_wants(spec, "positions"), att = nn_stats_wants(spec, "attention"),
        str = nn_stats_wants(spec, "stream");
    if (pos || att || str) s->seq = nn_seq_stats_new(tr, pos, att, str);
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
    nn_seq_stats_free(s->seq);
    nn_rnn_stat_free(&s->rnn);
    free(s->bpred);
    free(s->conf);
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
    const nn_params *P = nn_trainer_params(s->tr);
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
    const nn_graph *g = nn_trainer_graph(tr, NN_TRAINING);
    const nn_plan *tp = nn_trainer_plan(tr, NN_TRAINING), *p = s->plan;
    /* the same minibatch: x and y are 4-byte elements in both plans */
    memcpy(nn_plan_ptr(p, g->x), nn_plan_ptr(tp, g->x), (size_t)nn_tensor_numel(&g->t[g->x]) * 4);
    memcpy(nn_plan_ptr(p, g->y), nn_plan_ptr(tp, g->y), (size_t)nn_tensor_numel(&g->t[g->y]) * 4);
    /* this pass updates BatchNorm's running buffers and writes the parameter gradients; the
     * buffers are restored below and the training pass rewrites every gradient */
    save_buffers(s, 0);
    nn_plan_forward(p, nn_trainer_batch(tr));
    nn_plan_backward(p, nn_trainer_batch(tr));
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
    nn_rnn_stat_probe(&s->rnn, g, p, nn_trainer_batch(tr), init ? NN_STATS_INIT : NN_STATS_FINAL,
                      init ? 0 : s->steps);
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
    const nn_params *P = nn_trainer_params(s->tr);
    float *at = s->before;
    for (int k = 0; k < s->nweight; k++) {
        const nn_param *p = &P->p[s->weight_param[k]];
        memcpy(at, p->data, (size_t)p->numel * sizeof(float));
        at += p->numel;
    }
}

void nn_stats_after_update(nn_stats *s, long step)
{
    const nn_params *P = nn_trainer_params(s->tr);
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
    const nn_param *p = &nn_trainer_params(s->tr)->p[s->emb_param];
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

/* The argmax class of each of n rows of 2 features (the eval plan's batch at most). */
static void predict_classes(const nn_plan *p, const float *fx, long n, int K, int *out)
{
    const nn_graph *g = p->g;
    memcpy(nn_plan_ptr(p, g->x), fx, (size_t)n * 2 * sizeof *fx);
    /* targets are read by the loss: class 0 keeps it in range */
    memset(nn_plan_ptr(p, g->y), 0, (size_t)n * 4);
    nn_plan_forward(p, n);
    const float *z = nn_plan_ptr(p, g->logits);
    for (long r = 0; r < n; r++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (z[r * K + k] > z[r * K + best]) best = k;
        out[r] = best;
    }
}

/* The eval-mode model over a grid spanning the data (padded by 0.5): the raw output for
 * hinge / mse (the boundary is its zero contour), the argmax class for classes (one region
 * per class); for classes also the predicted class of every training point. */
static void decision_boundary(nn_stats *s)
{
    const nn_trainer *tr = s->tr;
    const nn_dataset *ds = nn_trainer_data(tr);
    const nn_plan *p = nn_trainer_plan(tr, NN_EVALUATION);
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
    int K = g->t[g->logits].dim[1];
    long G = (long)NN_GRID * NN_GRID;
    float *x = malloc((size_t)G * 2 * sizeof *x);
    int *cls = K >= 2 ? malloc((size_t)G * sizeof *cls) : NULL;
    if (!x || (K >= 2 && !cls)) {
        free(x);
        return;
    }
    for (int j = 0; j < NN_GRID; j++)
        for (int i = 0; i < NN_GRID; i++) {
            x[(j * NN_GRID + i) * 2] =
                (float)(s->bx0[0] + (s->bx0[1] - s->bx0[0]) * i / (NN_GRID - 1));
            x[(j * NN_GRID + i) * 2 + 1] =
                (float)(s->bx1[0] + (s->bx1[1] - s->bx1[0]) * j / (NN_GRID - 1));
        }
    if (K >= 2) {
        predict_classes(p, x, G, K, cls);
        for (long r = 0; r < G; r++)
            s->grid[r] = (float)cls[r];
        const nn_split *tp = &ds->split[NN_SPLIT_TRAIN];
        long B = g->batch;
        s->bpred = malloc((size_t)(tp->n > 0 ? tp->n : 1) * sizeof *s->bpred);
        for (long i = 0; s->bpred && i < tp->n; i += B)
            predict_classes(p, tp->fx + i * 2, tp->n - i < B ? tp->n - i : B, K, s->bpred + i);
        s->bclasses = K;
    } else {
        memcpy(nn_plan_ptr(p, g->x), x, (size_t)G * 2 * sizeof *x);
        memset(nn_plan_ptr(p, g->y), 0, (size_t)G * 4);
        nn_plan_forward(p, G);
        memcpy(s->grid, nn_plan_ptr(p, g->logits), (size_t)G * sizeof *s->grid);
    }
    free(x);
    free(cls);
    s->grid_done = 1;
}

void nn_stats_finish(nn_stats *s)
{
    if (s->emb_param >= 0) embedding_pca(s);
    if (s->seq) nn_seq_stats_run(s->seq, s->tr);
    if (s->boundary && NN_GRID * NN_GRID <= nn_trainer_graph(s->tr, NN_EVALUATION)->batch)
        decision_boundary(s);
    nn_confusion_run(s);
}

/* --- attaching to the step loop (train/hooks.h) ------------------------------------------ */

/* before_step: a collection step is watched.  A resumed run's first step may lie past the
 * next collection step: collection resumes at the next one after it (those before were the
 * first invocation's). */
static int stats_before_step(void *ctx, long step)
{
    nn_stats *s = ctx;
    if (s->next >= 0 && s->next < step && s->every > 0) {
        long next = (step + s->every - 1) / s->every * s->every;
        s->next = next < s->steps ? next : step < s->steps ? s->steps - 1 : -1;
    }
    return step == s->next ? NN_HOOK_WATCH : 0;
}

static void stats_watch(void *ctx, nn_watch_point at, long step)
{
    if (at == NN_WATCH_BATCH) nn_stats_probe(ctx, step);
    if (at == NN_WATCH_BEFORE_UPDATE) nn_stats_before_update(ctx, step);
    if (at == NN_WATCH_AFTER_UPDATE) nn_stats_after_update(ctx, step);
}

static int stats_at_end(void *ctx)
{
    nn_stats *s = ctx;
    if (!nn_trainer_ngram(s->tr)) nn_stats_finish(s); /* the counting model: counts only */
    return 0;
}

static void stats_free(void *ctx)
{
    nn_stats_free(ctx);
}

static const nn_train_hooks stats_hooks = {
    .before_step = stats_before_step,
    .watch = stats_watch,
    .at_end = stats_at_end,
    .free = stats_free,
};

int nn_stats_attach(nn_trainer *tr, nn_diag *d)
{
    const nn_spec *spec = nn_trainer_spec(tr);
    if (!nn_stats_wanted(spec)) return 0;
    nn_stats *s = nn_stats_new(tr);
    if (s && nn_trainer_attach(tr, &stats_hooks, s) == 0) return 0;
    nn_stats_free(s);
    nn_mark m = spec->nlayers > 0 ? spec->layers[0].mark : (nn_mark){spec->path, 1, 1};
    nn_diag_error(d, m, "out of memory building the model");
    return -1;
}

const nn_stats *nn_trainer_stats(const nn_trainer *tr)
{
    return nn_trainer_hook_ctx(tr, &stats_hooks);
}
