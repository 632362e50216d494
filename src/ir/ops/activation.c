/* activation.c — what the elementwise activations (tanh.c, relu.c, sigmoid.c) share: the
 * shape rule and the backward node.  Each op file keeps only its kernels. */
#include "ir/op.h"

int nn_activation_infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_tensor *x = &g->t[g->n[node].in[0]];
    if (x->dtype != NN_F32) {
        char lb[64];
        nn_diag_error(d, g->n[node].mark, "%s expects float features, but its input is token ids",
                      nn_layer_label(g, node, lb, sizeof lb));
        nn_diag_note(d, "start the model with an 'embedding' layer");
        return -1;
    }
    nn_tensor xs = *x; /* a copy: making the output may move g->t */
    return nn_make_out(g, node, 0, "out", NN_F32, xs.batched, xs.ndim, xs.dim) < 0 ? -1 : 0;
}

/* The backward reads the output y (not x), so the forward may run in place (lower.c). */
int nn_activation_grad(nn_graph *g, int node, const nn_op *grad_op)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int in[2] = {y, nn_grad_of(g, y)};
    int out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, grad_op, in, 2, out, 1) < 0 ? -1 : 0;
}
