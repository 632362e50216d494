/* tanh.c — y = tanh(x); backward dx = dy·(1 − y²). */
#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_tensor *x = &g->t[g->n[node].in[0]];
    if (x->dtype != NN_F32) {
        char lb[64];
        nn_diag_error(d, g->n[node].mark, "%s expects float features, but its input is token ids",
                      nn_layer_label(g, node, lb, sizeof lb));
        nn_diag_note(d, "start the model with an 'embedding' layer");
        return -1;
    }
    nn_tensor xs = *x;
    return nn_make_out(g, node, 0, "out", NN_F32, xs.batched, xs.ndim, xs.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int in[2] = {y, nn_grad_of(g, y)};
    int out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_tanh_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static long row_elems(const nn_tensor *t, int rows)
{
    long n = t->batched ? rows : t->dim[0];
    for (int i = 1; i < t->ndim; i++)
        n *= t->dim[i];
    return n;
}

static void run(const nn_step *s, int rows)
{
    nn_k->tanh_fwd((size_t)row_elems(s->tin[0], rows), s->in[0], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->tanh_bwd((size_t)row_elems(s->tin[0], rows), s->in[0], s->in[1], s->out[0],
                   s->node->accumulate & 1);
}

const nn_op nn_op_tanh = {"tanh", infer, grad, run};
const nn_op nn_op_tanh_grad = {"tanh_grad", NULL, NULL, run_grad};
