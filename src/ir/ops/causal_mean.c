/* causal_mean.c — y_t = the mean of x_0 … x_t over positions (makemore's CausalBoW):
 * [B, T, C] → [B, T, C]. */
#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    if (x.dtype != NN_F32 || x.ndim != 3) {
        char lb[64], sh[64];
        nn_diag_error(d, g->n[node].mark,
                      "%s expects a sequence [batch, positions, features], but its input is %s",
                      nn_layer_label(g, node, lb, sizeof lb), nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_note_use(g, node, d);
        return -1;
    }
    return nn_make_out(g, node, 0, "out", NN_F32, 1, 3, x.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int in[1] = {nn_grad_of(g, y)}, out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_causal_mean_grad, in, 1, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    nn_k->causal_mean_fwd(rows, x->dim[1], x->dim[2], s->in[0], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *x = s->tin[0];
    nn_k->causal_mean_bwd(rows, x->dim[1], x->dim[2], s->in[0], s->out[0],
                          s->node->accumulate & 1);
}

const nn_op nn_op_causal_mean = {"causal_mean", infer, grad, run};
const nn_op nn_op_causal_mean_grad = {"causal_mean_grad", NULL, NULL, run_grad};
