/* flatten_consecutive.c — lesson 5's FlattenConsecutive(n): [B, T, C] → [B, T/n, C·n], the n
 * consecutive positions of each group side by side (torch's view: rows of the same memory),
 * squeezed to [B, C·n] when T/n is 1.  A view like flatten: no copy, no kernel. */
#include "ir/op.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    int n = g->n[node].spec->n;
    char lb[64], sh[64], from[64];
    if (x.dtype != NN_F32 || x.ndim != 3) {
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a float input [batch, time, channels], but %s gives %s%s",
                      nn_layer_label(g, node, lb, sizeof lb),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      x.dtype == NN_I32 ? "token ids " : "",
                      nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "it groups the positions of an embedding's [batch, time, channels] "
                        "output (or of a previous flatten_consecutive)");
        return -1;
    }
    if (x.dim[1] % n != 0) {
        nn_diag_error(d, g->n[node].mark,
                      "%s groups n = %d consecutive positions, but %s gives %s: %d positions do "
                      "not split into groups of %d, so there is no [%d, %d/%d, %d·%d]",
                      nn_layer_label(g, node, lb, sizeof lb), n,
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from),
                      nn_tensor_shape_str(&x, sh, sizeof sh), x.dim[1], n, x.dim[0], x.dim[1], n,
                      x.dim[2], n);
        nn_diag_note(d, "n must divide the time axis (%d here)", x.dim[1]);
        return -1;
    }
    int groups = x.dim[1] / n;
    int dim[3] = {x.dim[0], groups, x.dim[2] * n};
    int y = groups == 1 ? nn_make_out(g, node, 0, "out", x.dtype, x.batched, 2,
                                      (int[]){x.dim[0], x.dim[2] * n})
                        : nn_make_out(g, node, 0, "out", x.dtype, x.batched, 3, dim);
    if (y < 0) return -1;
    g->t[y].alias = g->n[node].in[0];
    return 0;
}

const nn_op nn_op_flatten_consecutive = {"flatten_consecutive", infer, nn_view_grad, NULL};
