/* linear.c — y = x·W (+ b), W stored [in, out] as the lectures write it.  Over the last
 * axis of any rank: [B, T, C] is the matrix [B·T, C] (torch's matmul does the same). */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"

static const nn_init default_weight = {.kind = NN_INIT_KAIMING, .gain = 1.0, .scale = 1.0};
static const nn_init default_bias = {.kind = NN_INIT_ZEROS, .scale = 1.0};

static int check_input(const nn_graph *g, int node, const nn_tensor *x, nn_diag *d)
{
    char lb[64], sh[64], from[64];
    if (x->dtype != NN_F32) {
        nn_diag_error(d, g->n[node].mark, "%s expects float features, but its input is token ids",
                      nn_layer_label(g, node, lb, sizeof lb));
        nn_diag_note(d, "start the model with an 'embedding' layer");
        return -1;
    }
    if (x->ndim < 2) {
        nn_diag_error(d, g->n[node].mark,
                      "%s expects an input [batch, ..., features], but %s gives %s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      nn_tensor_shape_str(x, sh, sizeof sh));
        return -1;
    }
    return 0;
}

static int infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_node *n = &g->n[node];
    nn_tensor x = g->t[n->in[0]];
    if (check_input(g, node, &x, d) != 0) return -1;
    /* out_mult: an attention's projections, sized by the width (spec_blocks.c) */
    int out = n->spec->out_mult > 0 ? n->spec->out_mult * x.dim[x.ndim - 1]
              : n->spec->out > 0    ? n->spec->out
                                    : g->vocab;
    int wdim[2] = {x.dim[x.ndim - 1], out};
    int w = nn_make_param(g, node, "weight", NN_PARAM, 2, wdim, &n->spec->init, &default_weight);
    if (w < 0) return -1;
    g->t[w].weight = 1;
    int b = -1;
    if (n->spec->bias) {
        b = nn_make_param(g, node, "bias", NN_PARAM, 1, &out, &n->spec->bias_init, &default_bias);
        if (b < 0) return -1;
    }
    g->n[node].in[1] = w;
    g->n[node].in[2] = b;
    g->n[node].nin = 3;
    int ydim[NN_MAX_DIMS];
    memcpy(ydim, x.dim, sizeof ydim);
    ydim[x.ndim - 1] = out;
    return nn_make_out(g, node, 0, "out", NN_F32, x.batched, x.ndim, ydim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int x = n.in[0], w = n.in[1], b = n.in[2];
    int in[3] = {x, w, nn_grad_of(g, n.out[0])};
    int out[3] = {g->t[x].requires_grad ? nn_grad_of(g, x) : -1, nn_grad_of(g, w),
                  b >= 0 ? nn_grad_of(g, b) : -1};
    return nn_make_grad_node(g, node, &nn_op_linear_grad, in, 3, out, 3) < 0 ? -1 : 0;
}

/* matrix rows of `rows` batch rows: the positions between the batch and the features */
static int mrows(const nn_tensor *x, int rows)
{
    for (int i = 1; i < x->ndim - 1; i++)
        rows *= x->dim[i];
    return rows;
}

static void run(const nn_step *s, int rows)
{
    rows = mrows(s->tin[0], rows);
    int k = s->tin[1]->dim[0], n = s->tin[1]->dim[1];
    nn_k->linear_fwd(rows, n, k, s->in[0], s->in[1], s->in[2], s->out[0]);
}

/* dx = dy·Wᵀ (task 0),  dW = xᵀ·dy and db = Σ_rows dy (task 1): independent outputs. */
typedef struct {
    const nn_step *s;
    int rows, k, n, acc;
} grad_job;

static void grad_part(void *ctx, int t)
{
    const grad_job *j = ctx;
    const nn_step *s = j->s;
    int rows = j->rows, k = j->k, n = j->n, acc = j->acc;
    if (t == 0 && s->out[0])
        nn_k->sgemm_nt(rows, k, n, s->in[2], n, s->in[1], n, s->out[0], k, acc & 1);
    if (t == 1) {
        nn_k->sgemm_tn(k, n, rows, s->in[0], k, s->in[2], n, s->out[1], n, (acc >> 1) & 1);
        if (s->out[2]) nn_k->col_sum(rows, n, s->in[2], s->out[2], (acc >> 2) & 1);
    }
}

/* With two or more threads, dX and dW run side by side when each is worth the hand-over
 * (≥ 2^19 multiply-adds: mlp_bn's pairs of 2^17 ran slower split than whole in a full run)
 * and neither is big enough for the gemm to split it itself.  Each product is computed whole
 * by one thread, on the same code path: the bits do not depend on the thread count. */
static void run_grad(const nn_step *s, int rows)
{
    rows = mrows(s->tin[0], rows);
    grad_job j = {s, rows, s->tin[1]->dim[0], s->tin[1]->dim[1], s->node->accumulate};
    double work = (double)rows * j.k * j.n;
    if (s->out[0] && nn_parallel_threads() > 1 && work >= (double)(1 << 19) &&
        work < NN_GEMM_SPLIT_MIN)
        nn_parallel_run(2, grad_part, &j);
    else
        grad_part(&j, 0), grad_part(&j, 1);
}

const nn_op nn_op_linear = {"linear", infer, grad, run};
const nn_op nn_op_linear_grad = {"linear_grad", NULL, NULL, run_grad};
