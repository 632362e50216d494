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

const nn_op nn_op_flatten = {"flatten", infer, nn_view_grad, NULL};
