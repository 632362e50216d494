/* flatten.c — [B, T, D] → [B, T·D], a view: no copy, no kernel. */
#include "ir/op.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    (void)d;
    nn_tensor x = g->t[g->n[node].in[0]];
    int dim[2] = {x.dim[0], 1};
    for (int i = 1; i < x.ndim; i++)
        dim[1] *= x.dim[i];
    int y = nn_make_out(g, node, 0, "out", x.dtype, x.batched, 2, dim);
    if (y < 0) return -1;
    g->t[y].alias = g->n[node].in[0];
    return 0;
}

/* The gradient of the view is a view of the gradient. */
static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int dx = nn_grad_of(g, x), dy = nn_grad_of(g, y);
    if (dx < 0 || dy < 0) return -1;
    g->t[dy].alias = dx;
    return 0;
}

const nn_op nn_op_flatten = {"flatten", infer, grad, NULL};
