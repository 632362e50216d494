/* l2.c — "model smoothing": loss += λ · mean(W²) for one tensor (in place), as lesson 2
 * writes it; with node.sum, λ · Σ p² (micrograd's 1e-4 · Σ p·p over every parameter).
 * Backward: dW (+)= 2λ/numel · W, or 2λ · W. */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    (void)d;
    nn_node *n = &g->n[node];
    n->out[0] = n->in[1]; /* adds into the loss the cross-entropy wrote */
    n->nout = 1;
    (void)g;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    int w = g->n[node].in[0];
    int in[1] = {w};
    int out[1] = {nn_grad_of(g, w)};
    return nn_make_grad_node(g, node, &nn_op_l2_grad, in, 1, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    (void)rows;
    const float *w = s->in[0];
    long n = nn_tensor_numel(s->tin[0]);
    double sq = 0;
    for (long i = 0; i < n; i++)
        sq += (double)w[i] * w[i];
    *(float *)s->out[0] += (float)(s->node->l2 * (s->node->sum ? sq : sq / (double)n));
}

static void run_grad(const nn_step *s, int rows)
{
    (void)rows;
    long n = nn_tensor_numel(s->tin[0]);
    float c = s->node->sum ? 2.0f * s->node->l2 : 2.0f * s->node->l2 / (float)n;
    if (!(s->node->accumulate & 1)) memset(s->out[0], 0, (size_t)n * sizeof(float));
    nn_k->sgd((size_t)n, s->out[0], s->in[0], -c); /* dW −= (−c)·W, i.e. dW += c·W */
}

const nn_op nn_op_l2 = {"l2", infer, grad, run};
const nn_op nn_op_l2_grad = {"l2_grad", NULL, NULL, run_grad};
