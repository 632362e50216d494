/* tanh.c — y = tanh(x); backward dx = dy·(1 − y²). */
#include "ir/op.h"
#include "kernels/kernels.h"

static int grad(nn_graph *g, int node)
{
    return nn_activation_grad(g, node, &nn_op_tanh_grad);
}

static void run(const nn_step *s, int rows)
{
    nn_k->tanh_fwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->in[0], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->tanh_bwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->in[0], s->in[1], s->out[0],
                   s->node->accumulate & 1);
}

const nn_op nn_op_tanh = {"tanh", nn_activation_infer, grad, run};
const nn_op nn_op_tanh_grad = {"tanh_grad", NULL, NULL, run_grad};
