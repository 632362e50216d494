/* hinge.c — the SVM max-margin loss of micrograd's demo: relu(1 − y·s) per row, for scores
 * s [B, 1] against targets y ∈ {−1, +1} [B]; the mean (or, with node.sum, the sum) over rows.
 *
 * Outputs as cross_entropy's: the scalar loss, an unused slot, each row's loss.
 */
#include "ir/op.h"

/* Shared with mse.c: the last layer must give one score per row. */
int nn_check_scores(nn_graph *g, int node, const char *loss, nn_diag *d)
{
    nn_tensor s = g->t[g->n[node].in[0]], y = g->t[g->n[node].in[1]];
    char sh[64], yh[64];
    if (y.dtype != NN_F32) {
        nn_diag_error(d, g->n[node].mark,
                      "%s needs numeric targets, but the data gives token ids %s", loss,
                      nn_tensor_shape_str(&y, yh, sizeof yh));
        nn_diag_note(d, "use 'loss: cross_entropy' with text data");
        return -1;
    }
    if (s.dtype != NN_F32 || s.ndim != 2 || s.dim[1] != 1) {
        nn_diag_error(d, g->n[node].mark,
                      "%s needs one score per row [batch, 1] for the targets %s, but the "
                      "model's last layer gives %s",
                      loss, nn_tensor_shape_str(&y, yh, sizeof yh),
                      nn_tensor_shape_str(&s, sh, sizeof sh));
        nn_diag_note(d, "end the model with 'linear: {out: 1}'");
        return -1;
    }
    int one = 1;
    if (nn_make_out(g, node, 0, "loss", NN_F32, 0, 1, &one) < 0) return -1;
    return nn_make_out(g, node, 2, "row_loss", NN_F32, 1, 1, s.dim) < 0 ? -1 : 0;
}

static int infer(nn_graph *g, int node, nn_diag *d)
{
    return nn_check_scores(g, node, "hinge", d);
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[2] = {n.in[0], n.in[1]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_hinge_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

/* Summed in double in row order, as micrograd's sum(losses) is (its values are doubles). */
static void run(const nn_step *s, int rows)
{
    const float *sc = s->in[0], *y = s->in[1];
    float *row_loss = s->out[2];
    double sum = 0;
    for (int i = 0; i < rows; i++) {
        float m = 1.0f - y[i] * sc[i];
        row_loss[i] = m > 0.0f ? m : 0.0f;
        sum += row_loss[i];
    }
    *(float *)s->out[0] = (float)(s->node->sum ? sum : sum / rows);
}

/* ds = −y where the margin is violated (1 − y·s > 0), else 0; ÷ rows for the mean. */
static void run_grad(const nn_step *s, int rows)
{
    const float *sc = s->in[0], *y = s->in[1];
    float *ds = s->out[0], scale = s->node->sum ? 1.0f : 1.0f / (float)rows;
    int acc = s->node->accumulate & 1;
    for (int i = 0; i < rows; i++) {
        float g = 1.0f - y[i] * sc[i] > 0.0f ? -y[i] * scale : 0.0f;
        ds[i] = acc ? ds[i] + g : g;
    }
}

const nn_op nn_op_hinge = {"hinge", infer, grad, run};
const nn_op nn_op_hinge_grad = {"hinge_grad", NULL, NULL, run_grad};
