/* sigmoid.c — y = 1/(1 + e^−x); backward dx = dy·y·(1 − y). */
#include "ir/op.h"
#include "kernels/kernels.h"

static int grad(nn_graph *g, int node)
{
    return nn_activation_grad(g, node, &nn_op_sigmoid_grad);
}

static void run(const nn_step *s, int rows)
{
    nn_k->sigmoid_fwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->in[0], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->sigmoid_bwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->in[0], s->in[1],
                      s->out[0], s->node->accumulate & 1);
}

const nn_op nn_op_sigmoid = {"sigmoid", nn_activation_infer, grad, run};
const nn_op nn_op_sigmoid_grad = {"sigmoid_grad", NULL, NULL, run_grad};
