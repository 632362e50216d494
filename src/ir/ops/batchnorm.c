/* batchnorm.c — normalise each feature over the batch; running statistics for eval.
 *
 * The conventions differ between the lessons, so they are attributes: biased or unbiased
 * variance, eps, momentum, and whether the running buffer tracks the variance (PyTorch)
 * or the standard deviation (lesson 4's first BatchNorm).  In training the running buffers
 * move by an exponential moving average of the batch statistics; in eval they are used.
 */
#include <math.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init ones = {.kind = NN_INIT_ONES, .scale = 1.0};
static const nn_init zeros = {.kind = NN_INIT_ZEROS, .scale = 1.0};

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    const nn_layer *L = g->n[node].spec;
    if (x.dtype != NN_F32 || x.ndim != 2) {
        char lb[64], sh[64], from[64];
        nn_diag_error(
            d, g->n[node].mark, "%s expects a 2-D float input [batch, features], but %s gives %s%s",
            nn_layer_label(g, node, lb, sizeof lb),
            nn_producer_label(g, g->n[node].in[0], from, sizeof from),
            x.dtype == NN_I32 ? "token ids " : "", nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, x.ndim == 3 ? "add '- flatten' before this layer"
                                    : "put batchnorm after a linear layer");
        return -1;
    }
    if (g->training && g->batch < 2) {
        char lb[64];
        nn_diag_error(
            d, g->n[node].mark,
            "%s normalises over the batch, which needs at least 2 rows (train.batch is %d)",
            nn_layer_label(g, node, lb, sizeof lb), g->batch);
        return -1;
    }
    nn_node *n = &g->n[node];
    n->bn.unbiased = L->unbiased == 1;
    n->bn.pytorch = L->unbiased == NN_BN_PYTORCH;
    n->bn.running_std = L->running_std;
    n->bn.eps = (float)L->eps;
    n->bn.momentum = (float)L->momentum;
    int f = x.dim[1];
    int in[5] = {n->in[0], nn_make_param(g, node, "weight", NN_PARAM, 1, &f, &L->init, &ones),
                 nn_make_param(g, node, "bias", NN_PARAM, 1, &f, &L->bias_init, &zeros),
                 nn_make_param(g, node, "running_mean", NN_BUFFER, 1, &f, NULL, &zeros),
                 nn_make_param(g, node, L->running_std ? "running_std" : "running_var", NN_BUFFER,
                               1, &f, NULL, &ones)};
    n = &g->n[node];
    for (int i = 0; i < 5; i++) {
        if (in[i] < 0) return -1;
        n->in[i] = in[i];
    }
    n->nin = 5;
    int ydim[2] = {x.dim[0], f};
    if (nn_make_out(g, node, 0, "out", NN_F32, x.batched, 2, ydim) < 0) return -1;
    if (g->training && nn_make_out(g, node, 1, "xhat", NN_F32, x.batched, 2, ydim) < 0) return -1;
    if (g->training && nn_make_out(g, node, 2, "mean", NN_F32, 0, 1, &f) < 0) return -1;
    return nn_make_out(g, node, 3, "std", NN_F32, 0, 1, &f) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int x = n.in[0];
    int in[4] = {n.out[1], n.out[3], n.in[1], nn_grad_of(g, n.out[0])};
    /* dx is always made: the kernel computes it together with dgamma and dbeta */
    int out[3] = {nn_grad_of(g, x), nn_grad_of(g, n.in[1]), nn_grad_of(g, n.in[2])};
    return nn_make_grad_node(g, node, &nn_op_batchnorm_grad, in, 4, out, 3) < 0 ? -1 : 0;
}

/* The running buffers follow the batch statistics: the variance v recovered from the
 * normalising std (std² − eps), or with `running: std` sqrt(v + eps) — the normalising std
 * itself.  variance: pytorch normalises with v ÷ m but tracks v·m/(m − 1), as
 * torch.nn.BatchNorm1d keeps the unbiased variance in running_var. */
static void update_running(const nn_bn_attr *a, int m, int f, const float *mean, const float *std,
                           float *rmean, float *rstat)
{
    nn_k->ema((size_t)f, rmean, mean, a->momentum);
    if (a->running_std && !a->pytorch) {
        nn_k->ema((size_t)f, rstat, std, a->momentum);
        return;
    }
    float k = a->pytorch ? (float)m / (float)(m - 1) : 1.0f;
    for (int j = 0; j < f; j++) {
        float v = (std[j] * std[j] - a->eps) * k;
        v = v > 0 ? v : 0; /* a constant column: std² may round just below eps */
        float s = a->running_std ? sqrtf(v + a->eps) : v;
        rstat[j] = (1.0f - a->momentum) * rstat[j] + a->momentum * s;
    }
}

static void run(const nn_step *s, int rows)
{
    const nn_bn_attr *a = &s->node->bn;
    int f = s->tin[0]->dim[1];
    float *const *in = (float *const *)s->in;
    float *y = s->out[0], *xhat = s->out[1], *mean = s->out[2], *std = s->out[3];
    if (s->node->training) {
        nn_k->bn_train_fwd(rows, f, in[0], in[1], in[2], a->eps, a->unbiased, mean, std, xhat, y);
        update_running(a, rows, f, mean, std, in[3], in[4]);
        return;
    }
    for (int j = 0; j < f; j++)
        std[j] = a->running_std ? in[4][j] : sqrtf(in[4][j] + a->eps);
    nn_k->bn_eval_fwd(rows, f, in[0], in[3], std, in[1], in[2], y);
}

static void run_grad(const nn_step *s, int rows)
{
    int f = s->tin[0]->dim[1];
    nn_k->bn_bwd(rows, f, s->in[0], s->in[1], s->in[2], s->in[3], s->node->bn.unbiased, s->out[0],
                 s->out[1], s->out[2], s->node->accumulate & 7);
}

const nn_op nn_op_batchnorm = {"batchnorm", infer, grad, run};
const nn_op nn_op_batchnorm_grad = {"batchnorm_grad", NULL, NULL, run_grad};
