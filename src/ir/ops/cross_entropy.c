/* cross_entropy.c — softmax cross-entropy of logits [B, V] against targets [B].
 *
 * Outputs: the mean loss (a scalar), the softmax probabilities (kept for backward and for
 * sampling), and each row's loss (evaluation sums them over a whole split).
 */
#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor z = g->t[g->n[node].in[0]];
    if (z.dtype != NN_F32 || z.ndim != 2 || z.dim[1] != g->vocab) {
        char sh[64];
        nn_diag_error(d, g->n[node].mark,
                      "cross_entropy needs logits [batch, %d] (one per token of the vocabulary), "
                      "but the model's last layer gives %s",
                      g->vocab, nn_tensor_shape_str(&z, sh, sizeof sh));
        if (z.ndim > 2)
            nn_diag_note(d, "the positions are still apart: add '- flatten' (or a "
                            "flatten_consecutive whose groups take the whole time axis) before "
                            "the last linear layer");
        else
            nn_diag_note(d,
                         "end the model with a 'linear' layer without 'out' (it defaults to the "
                         "vocabulary size, %d)",
                         g->vocab);
        return -1;
    }
    int one = 1;
    if (nn_make_out(g, node, 0, "loss", NN_F32, 0, 1, &one) < 0) return -1;
    if (nn_make_out(g, node, 1, "prob", NN_F32, 1, 2, z.dim) < 0) return -1;
    return nn_make_out(g, node, 2, "row_loss", NN_F32, 1, 1, z.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[2] = {n.out[1], n.in[1]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_cross_entropy_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    int v = s->tin[0]->dim[1];
    float *row_loss = s->out[2];
    nn_k->xent_fwd(rows, v, s->in[0], s->in[1], s->out[1], row_loss);
    double sum = 0;
    for (int i = 0; i < rows; i++)
        sum += row_loss[i];
    *(float *)s->out[0] = (float)(sum / rows);
}

static void run_grad(const nn_step *s, int rows)
{
    nn_k->xent_bwd(rows, s->tin[0]->dim[1], s->in[0], s->in[1], 1.0f / (float)rows, s->out[0]);
}

const nn_op nn_op_cross_entropy = {"cross_entropy", infer, grad, run};
const nn_op nn_op_cross_entropy_grad = {"cross_entropy_grad", NULL, NULL, run_grad};
