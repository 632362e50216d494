/* layernorm.c — normalise each row over its last axis (features), then gamma·x̂ + beta.
 * Any rank ≥ 2: [B, T, C] is the matrix [B·T, C].  Keeps the row means and reciprocal
 * standard deviations (outputs 1, 2) for the backward. */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init ones = {.kind = NN_INIT_ONES, .scale = 1.0};
static const nn_init zeros = {.kind = NN_INIT_ZEROS, .scale = 1.0};

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    const nn_layer *L = g->n[node].spec;
    if (x.dtype != NN_F32 || x.ndim < 2) {
        char lb[64], sh[64], from[64];
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a float input [batch, ..., features], but %s gives %s%s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      x.dtype == NN_I32 ? "token ids " : "", nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_note_use(g, node, d);
        return -1;
    }
    int c = x.dim[x.ndim - 1], w = -1, b = -1;
    if (L->affine) {
        w = nn_make_param(g, node, "weight", NN_PARAM, 1, &c, &L->init, &ones);
        b = nn_make_param(g, node, "bias", NN_PARAM, 1, &c, &L->bias_init, &zeros);
        if (w < 0 || b < 0) return -1;
    }
    g->n[node].in[1] = w;
    g->n[node].in[2] = b;
    g->n[node].nin = 3;
    if (nn_make_out(g, node, 0, "out", NN_F32, x.batched, x.ndim, x.dim) < 0 ||
        nn_make_out(g, node, 1, "mean", NN_F32, x.batched, x.ndim - 1, x.dim) < 0 ||
        nn_make_out(g, node, 2, "rstd", NN_F32, x.batched, x.ndim - 1, x.dim) < 0)
        return -1;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int x = n.in[0], w = n.in[1], b = n.in[2];
    int in[5] = {x, n.out[1], n.out[2], w, nn_grad_of(g, n.out[0])};
    int out[3] = {g->t[x].requires_grad ? nn_grad_of(g, x) : -1, w >= 0 ? nn_grad_of(g, w) : -1,
                  b >= 0 ? nn_grad_of(g, b) : -1};
    return nn_make_grad_node(g, node, &nn_op_layernorm_grad, in, 5, out, 3) < 0 ? -1 : 0;
}

static int mrows(const nn_tensor *x, int rows)
{
    for (int i = 1; i < x->ndim - 1; i++)
        rows *= x->dim[i];
    return rows;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    nn_k->ln_fwd(mrows(x, rows), x->dim[x->ndim - 1], s->in[0], s->in[1], s->in[2],
                 (float)s->node->spec->eps, s->out[1], s->out[2], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    nn_k->ln_bwd(mrows(x, rows), x->dim[x->ndim - 1], s->in[0], s->in[1], s->in[2], s->in[3],
                 s->in[4], s->out[0], s->out[1], s->out[2], s->node->accumulate);
}

const nn_op nn_op_layernorm = {"layernorm", infer, grad, run};
const nn_op nn_op_layernorm_grad = {"layernorm_grad", NULL, NULL, run_grad};
