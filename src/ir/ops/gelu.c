/* gelu.c — GELU, exact (x·Φ(x)) or the tanh approximation (makemore's NewGELU).  Its
 * backward reads x, so it never runs in place. */
#include "ir/op.h"
#include "kernels/kernels.h"

static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int in[2] = {x, nn_grad_of(g, y)}, out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_gelu_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    nn_k->gelu_fwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->node->spec->approximate,
                   s->in[0], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->gelu_bwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->node->spec->approximate,
                   s->in[0], s->in[1], s->out[0], s->node->accumulate & 1);
}

const nn_op nn_op_gelu = {"gelu", nn_activation_infer, grad, run};
const nn_op nn_op_gelu_grad = {"gelu_grad", NULL, NULL, run_grad};
