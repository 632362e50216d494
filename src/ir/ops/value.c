/* value.c — `loss: value`: the model's output itself is the objective, summed over its
 * elements and over the rows (lesson 1's single neuron, whose backward starts at do/do = 1).
 * For scores s [B, K]: row_loss[i] = Σ_k s[i, k], loss = Σ_i row_loss[i] (no mean: a batch
 * of one gives exactly the output); backward ds = 1 everywhere. The targets are not read.
 *
 * Outputs as cross_entropy's: the scalar loss, an unused slot, each row's loss.
 */
#include "ir/op.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor s = g->t[g->n[node].in[0]];
    char sh[64];
    if (s.dtype != NN_F32 || s.ndim != 2) {
        nn_diag_error(d, g->n[node].mark,
                      "loss 'value' needs float outputs [batch, K], but the model's last layer "
                      "gives %s",
                      nn_tensor_shape_str(&s, sh, sizeof sh));
        return -1;
    }
    int one = 1;
    if (nn_make_out(g, node, 0, "loss", NN_F32, 0, 1, &one) < 0) return -1;
    return nn_make_out(g, node, 2, "row_loss", NN_F32, 1, 1, s.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[1] = {n.in[0]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_value_grad, in, 1, out, 1) < 0 ? -1 : 0;
}

/* Summed in double in row order. */
static void run(const nn_step *s, int rows)
{
    const float *sc = s->in[0];
    float *row_loss = s->out[2];
    int K = s->tin[0]->dim[1];
    double sum = 0;
    for (int i = 0; i < rows; i++) {
        double r = 0;
        for (int k = 0; k < K; k++)
            r += sc[(long)i * K + k];
        row_loss[i] = (float)r;
        sum += r;
    }
    *(float *)s->out[0] = (float)sum;
}

/* dL/ds = 1 for every element. */
static void run_grad(const nn_step *s, int rows)
{
    float *ds = s->out[0];
    long n = (long)rows * s->tin[0]->dim[1];
    int acc = s->node->accumulate & 1;
    for (long i = 0; i < n; i++)
        ds[i] = acc ? ds[i] + 1.0f : 1.0f;
}

const nn_op nn_op_value = {"value", infer, grad, run};
const nn_op nn_op_value_grad = {"value_grad", NULL, NULL, run_grad};
