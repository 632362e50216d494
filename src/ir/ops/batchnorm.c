/* batchnorm.c — normalise each feature over the batch; running statistics for eval.
 *
 * The conventions differ between the lessons, so they are attributes: biased or unbiased
 * variance, eps, momentum, and whether the running buffer tracks the variance (PyTorch)
 * or the standard deviation (lesson 4's first BatchNorm).  In training the running buffers
 * move by an exponential moving average of the batch statistics; in eval they are used.
 *
 * Inputs of any rank ≥ 2 ([B, ..., C]).  By default the statistics run over every axis but
 * the last (batch and time for [B, T, C]): the data is the matrix [B·T, C].  With
 * `over: batch` (the lesson-5 bug) they run over the batch axis only, one per position and
 * channel: the matrix [B, T·C], running buffers [T, C], while gamma and beta stay [C] — so
 * they are tiled to [T·C] in scratch tensors (out 4, 5) and their gradients summed back.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init ones = {.kind = NN_INIT_ONES, .scale = 1.0};
static const nn_init zeros = {.kind = NN_INIT_ZEROS, .scale = 1.0};

/* The matrix the kernels see: m rows (per batch row) × n columns.  tiled: gamma and beta
 * cover n / c columns each (over: batch on a rank-3+ input). */
typedef struct {
    int per_row, n, c, tiled;
} bn_geom;

static bn_geom geom(const nn_tensor *x, int over_batch)
{
    bn_geom q = {1, x->dim[x->ndim - 1], x->dim[x->ndim - 1], 0};
    for (int i = 1; i < x->ndim - 1; i++)
        q.per_row *= x->dim[i];
    if (over_batch && x->ndim > 2) {
        q.n *= q.per_row;
        q.per_row = 1;
        q.tiled = 1;
    }
    return q;
}

static int check_input(nn_graph *g, int node, const nn_tensor *x, nn_diag *d)
{
    char lb[64], sh[64], from[64];
    if (x->dtype != NN_F32 || x->ndim < 2) {
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a float input [batch, ..., features], but %s gives %s%s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      x->dtype == NN_I32 ? "token ids " : "",
                      nn_tensor_shape_str(x, sh, sizeof sh));
        nn_diag_note(d, "put batchnorm after a linear layer");
        return -1;
    }
    bn_geom q = geom(x, g->n[node].spec->over_batch);
    if (g->training && (long)g->batch * q.per_row < 2) {
        nn_diag_error(
            d, g->n[node].mark,
            "%s normalises over the batch, which needs at least 2 rows (train.batch is %d)",
            nn_layer_label(g, node, lb, sizeof lb), g->batch);
        return -1;
    }
    return 0;
}

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    const nn_layer *L = g->n[node].spec;
    if (check_input(g, node, &x, d) != 0) return -1;
    nn_node *n = &g->n[node];
    n->bn.unbiased = L->unbiased;
    n->bn.running_std = L->running_std;
    n->bn.eps = (float)L->eps;
    n->bn.momentum = (float)L->momentum;
    bn_geom q = geom(&x, L->over_batch);
    /* running buffers: [C], or [T, C] per position (the shape of x without the batch) */
    int rnd = q.tiled ? x.ndim - 1 : 1, *rdim = q.tiled ? x.dim + 1 : &q.c;
    int in[5] = {n->in[0], nn_make_param(g, node, "weight", NN_PARAM, 1, &q.c, &L->init, &ones),
                 nn_make_param(g, node, "bias", NN_PARAM, 1, &q.c, &L->bias_init, &zeros),
                 nn_make_param(g, node, "running_mean", NN_BUFFER, rnd, rdim, NULL, &zeros),
                 nn_make_param(g, node, L->running_std ? "running_std" : "running_var", NN_BUFFER,
                               rnd, rdim, NULL, &ones)};
    n = &g->n[node];
    for (int i = 0; i < 5; i++) {
        if (in[i] < 0) return -1;
        n->in[i] = in[i];
    }
    n->nin = 5;
    if (nn_make_out(g, node, 0, "out", NN_F32, x.batched, x.ndim, x.dim) < 0) return -1;
    if (g->training && nn_make_out(g, node, 1, "xhat", NN_F32, x.batched, x.ndim, x.dim) < 0)
        return -1;
    if (g->training && nn_make_out(g, node, 2, "mean", NN_F32, 0, 1, &q.n) < 0) return -1;
    if (nn_make_out(g, node, 3, "std", NN_F32, 0, 1, &q.n) < 0) return -1;
    if (q.tiled && (nn_make_out(g, node, 4, "weight_tiled", NN_F32, 0, 1, &q.n) < 0 ||
                    nn_make_out(g, node, 5, "bias_tiled", NN_F32, 0, 1, &q.n) < 0))
        return -1;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int x = n.in[0], tiled = n.nout > 4 && n.out[4] >= 0;
    int in[4] = {n.out[1], n.out[3], tiled ? n.out[4] : n.in[1], nn_grad_of(g, n.out[0])};
    /* dx is always made: the kernel computes it together with dgamma and dbeta */
    int out[5] = {nn_grad_of(g, x), nn_grad_of(g, n.in[1]), nn_grad_of(g, n.in[2]), -1, -1};
    if (tiled) { /* the per-column gradients before they are summed over the positions */
        int dim = g->t[n.out[4]].dim[0];
        char name[2][48];
        snprintf(name[0], sizeof name[0], "layers.%d.dweight_tiled", n.layer);
        snprintf(name[1], sizeof name[1], "layers.%d.dbias_tiled", n.layer);
        out[3] = nn_graph_tensor(g, name[0], NN_ACT, NN_F32, 0, 1, &dim);
        out[4] = nn_graph_tensor(g, name[1], NN_ACT, NN_F32, 0, 1, &dim);
        if (out[3] < 0 || out[4] < 0) return -1;
    }
    return nn_make_grad_node(g, node, &nn_op_batchnorm_grad, in, 4, out, tiled ? 5 : 3) < 0 ? -1
                                                                                            : 0;
}

/* The running buffers follow the batch statistics: running std directly, or the variance
 * recovered from the normalising std (std² − eps). */
static void update_running(const nn_bn_attr *a, int f, const float *mean, const float *std,
                           float *rmean, float *rstat)
{
    nn_k->ema((size_t)f, rmean, mean, a->momentum);
    if (a->running_std) {
        nn_k->ema((size_t)f, rstat, std, a->momentum);
        return;
    }
    for (int j = 0; j < f; j++)
        rstat[j] = (1.0f - a->momentum) * rstat[j] + a->momentum * (std[j] * std[j] - a->eps);
}

/* gamma and beta repeated over the positions (over: batch on [B, T, C]) */
static void tile(const float *v, int c, int n, float *out)
{
    for (int j = 0; j < n; j += c)
        memcpy(out + j, v, (size_t)c * sizeof *out);
}

static void run(const nn_step *s, int rows)
{
    const nn_bn_attr *a = &s->node->bn;
    bn_geom q = geom(s->tin[0], s->node->spec->over_batch);
    int m = rows * q.per_row, f = q.n;
    float *const *in = (float *const *)s->in;
    float *y = s->out[0], *xhat = s->out[1], *mean = s->out[2], *std = s->out[3];
    const float *gamma = in[1], *beta = in[2];
    if (q.tiled) {
        tile(in[1], q.c, f, s->out[4]);
        tile(in[2], q.c, f, s->out[5]);
        gamma = s->out[4], beta = s->out[5];
    }
    if (s->node->training) {
        nn_k->bn_train_fwd(m, f, in[0], gamma, beta, a->eps, a->unbiased, mean, std, xhat, y);
        update_running(a, f, mean, std, in[3], in[4]);
        return;
    }
    for (int j = 0; j < f; j++)
        std[j] = a->running_std ? in[4][j] : sqrtf(in[4][j] + a->eps);
    nn_k->bn_eval_fwd(m, f, in[0], in[3], std, gamma, beta, y);
}

/* Σ over the positions of a tiled gradient: out[j] (+)= Σ_t v[t·c + j] */
static void untile(const float *v, int c, int n, float *out, int accumulate)
{
    if (!accumulate) memset(out, 0, (size_t)c * sizeof *out);
    for (int t = 0; t < n; t += c)
        for (int j = 0; j < c; j++)
            out[j] += v[t + j];
}

static void run_grad(const nn_step *s, int rows)
{
    bn_geom q = geom(s->tout[0], s->node->spec->over_batch);
    int acc = s->node->accumulate;
    if (!q.tiled) {
        nn_k->bn_bwd(rows * q.per_row, q.n, s->in[0], s->in[1], s->in[2], s->in[3],
                     s->node->bn.unbiased, s->out[0], s->out[1], s->out[2], acc & 1);
        return;
    }
    nn_k->bn_bwd(rows, q.n, s->in[0], s->in[1], s->in[2], s->in[3], s->node->bn.unbiased, s->out[0],
                 s->out[3], s->out[4], acc & 1);
    untile(s->out[3], q.c, q.n, s->out[1], (acc >> 1) & 1);
    untile(s->out[4], q.c, q.n, s->out[2], (acc >> 2) & 1);
}

const nn_op nn_op_batchnorm = {"batchnorm", infer, grad, run};
const nn_op nn_op_batchnorm_grad = {"batchnorm_grad", NULL, NULL, run_grad};
