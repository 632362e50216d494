/* dropout.c — inverted dropout in training (mask kept: output 1), the identity in
 * evaluation.  Its random stream is its own: a counter-based hash of a per-layer 64-bit
 * counter (a buffer, "layers.L.stream", so a checkpoint carries it; the trainer starts it
 * at a value derived from the run's seed, exec/init.c nn_params_seed_streams) and the
 * element index, advanced once per training step — the other streams (init, batches)
 * never see it, and the mask does not depend on the thread count. */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init zeros = {.kind = NN_INIT_ZEROS, .scale = 1.0};

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor x = g->t[g->n[node].in[0]];
    if (nn_activation_infer(g, node, d) != 0) return -1;
    int two = 2;
    int st = nn_make_param(g, node, "stream", NN_BUFFER, 1, &two, NULL, &zeros);
    if (st < 0) return -1;
    g->n[node].in[1] = st;
    g->n[node].nin = 2;
    if (!g->n[node].training) return 0;
    return nn_make_out(g, node, 1, "mask", NN_F32, x.batched, x.ndim, x.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad || !g->n[node].training) return 0;
    int in[2] = {g->n[node].out[1], nn_grad_of(g, y)}, out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_dropout_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    size_t n = (size_t)nn_tensor_active_numel(s->tin[0], rows);
    if (!s->node->training) {
        memcpy(s->out[0], s->in[0], n * sizeof(float));
        return;
    }
    uint64_t counter;
    memcpy(&counter, s->in[1], sizeof counter); /* two floats of bits, not numbers */
    uint64_t seed =
        counter * 0x9e3779b97f4a7c15ull + (uint64_t)s->node->layer * 0xd1b54a32d192ed03ull;
    counter++;
    memcpy(s->in[1], &counter, sizeof counter);
    nn_k->dropout_fwd(n, (float)s->node->spec->p, seed, s->in[0], s->out[1], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->mul_bwd((size_t)nn_tensor_active_numel(s->tin[0], rows), s->in[0], s->in[1], s->out[0],
                  s->node->accumulate & 1);
}

const nn_op nn_op_dropout = {"dropout", infer, grad, run};
const nn_op nn_op_dropout_grad = {"dropout_grad", NULL, NULL, run_grad};
