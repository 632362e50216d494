/* plugin.c — an activation implemented outside nnrun: y = f(x) through node->fn, which the
 * runtime fills in (runtime/plugin/plugin.c loads the shared object).  Unlike tanh.c's, the
 * backward reads x as well as y (a plugin's derivative is a function of x), so the forward
 * never runs in place: lower.c fuses only the builtin activations. */
#include "ir/op.h"

static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int in[3] = {x, y, nn_grad_of(g, y)};
    int out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_plugin_grad, in, 3, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const nn_callable *f = s->node->fn;
    f->forward(f, s->in[0], s->out[0], (size_t)nn_tensor_active_numel(s->tin[0], rows));
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_callable *f = s->node->fn;
    f->backward(f, s->in[0], s->in[1], s->in[2], s->out[0],
                (size_t)nn_tensor_active_numel(s->tin[0], rows), s->node->accumulate & 1);
}

const nn_op nn_op_plugin = {"plugin", nn_activation_infer, grad, run};
const nn_op nn_op_plugin_grad = {"plugin_grad", NULL, NULL, run_grad};
