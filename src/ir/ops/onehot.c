/* onehot.c — token ids [B, T] → one-hot floats [B, T, vocab] (lesson 2's F.one_hot).
 *
 * No backward: nothing flows into token ids.  A linear layer after it (behind a flatten)
 * is then the same function as an embedding of width `out`, as the lecture points out.
 */
#include <string.h>

#include "ir/op.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    if (x.dtype != NN_I32 || x.ndim != 2) {
        char lb[64], sh[64];
        nn_diag_error(d, g->n[node].mark, "%s expects token ids [batch, context], got %s%s",
                      nn_layer_label(g, node, lb, sizeof lb), x.dtype == NN_F32 ? "floats " : "",
                      nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "onehot can only be the first layer, on text data");
        return -1;
    }
    int dim[3] = {x.dim[0], x.dim[1], g->vocab};
    return nn_make_out(g, node, 0, "out", NN_F32, x.batched, 3, dim) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    int t = s->tin[0]->dim[1], v = s->tout[0]->dim[2];
    const int32_t *ix = s->in[0];
    float *y = s->out[0];
    size_t n = (size_t)rows * (size_t)t;
    memset(y, 0, n * (size_t)v * sizeof *y);
    for (size_t i = 0; i < n; i++)
        if (ix[i] >= 0 && ix[i] < v) y[i * (size_t)v + (size_t)ix[i]] = 1.0f;
}

const nn_op nn_op_onehot = {"onehot", infer, NULL, run};
