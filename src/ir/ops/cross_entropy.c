/* cross_entropy.c — softmax cross-entropy of logits [B, V] against targets [B], or, for
 * sequence data, of logits [B, T, V] against targets [B, T] where −1 marks a position to
 * ignore (makemore.py's ignore_index=-1).
 *
 * Outputs: the loss (a scalar: the mean over the targets not ignored), the softmax
 * probabilities (kept for backward and for sampling), and each row's loss — for a sequence
 * the sum over its positions, so that evaluation divides a split's total by its number of
 * targets (a token-weighted mean).  Sequences also keep the targets with −1 replaced by 0
 * (output 3), which the kernels index with.
 */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor z = g->t[g->n[node].in[0]], y = g->t[g->n[node].in[1]];
    int seq = y.ndim == 2;
    int ok = z.dtype == NN_F32 && z.dim[z.ndim - 1] == g->vocab &&
             (seq ? z.ndim == 3 && z.dim[1] == y.dim[1] : z.ndim == 2);
    if (!ok) {
        char sh[64];
        nn_diag_error(d, g->n[node].mark,
                      "cross_entropy needs logits [batch, %s%d] (one per token of the "
                      "vocabulary), but the model's last layer gives %s",
                      seq ? "positions, " : "", g->vocab, nn_tensor_shape_str(&z, sh, sizeof sh));
        if (z.ndim > 2 && !seq)
            nn_diag_note(d, "the positions are still apart: add '- flatten' (or a "
                            "flatten_consecutive whose groups take the whole time axis) before "
                            "the last linear layer");
        else
            nn_diag_note(d,
                         "end the model with a 'linear' layer without 'out' (it defaults to the "
                         "vocabulary size, %d)%s",
                         g->vocab, seq ? ", and keep the positions (no flatten)" : "");
        return -1;
    }
    int one = 1;
    if (nn_make_out(g, node, 0, "loss", NN_F32, 0, 1, &one) < 0) return -1;
    if (nn_make_out(g, node, 1, "prob", NN_F32, 1, z.ndim, z.dim) < 0) return -1;
    if (nn_make_out(g, node, 2, "row_loss", NN_F32, 1, 1, z.dim) < 0) return -1;
    if (seq && nn_make_out(g, node, 3, "targets", NN_I32, 1, 2, y.dim) < 0) return -1;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int seq = g->t[n.in[1]].ndim == 2;
    int in[3] = {n.out[1], seq ? n.out[3] : n.in[1], n.in[1]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_cross_entropy_grad, in, seq ? 3 : 2, out, 1) < 0 ? -1
                                                                                              : 0;
}

/* positions per row: 1, or T for a sequence */
static int per_row(const nn_tensor *z)
{
    return z->ndim == 3 ? z->dim[1] : 1;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *z = s->tin[0];
    int v = z->dim[z->ndim - 1], t = per_row(z);
    float *row_loss = s->out[2];
    double sum = 0;
    if (t == 1) {
        nn_k->xent_fwd(rows, v, s->in[0], s->in[1], s->out[1], row_loss);
        for (int i = 0; i < rows; i++)
            sum += row_loss[i];
        *(float *)s->out[0] = (float)(sum / rows);
        return;
    }
    /* a sequence: one kernel call per row of T positions; row_loss[r] is their sum */
    const int32_t *y = s->in[1];
    int32_t *ys = s->out[3];
    long count = 0;
    for (long i = 0; i < (long)rows * t; i++) {
        ys[i] = y[i] < 0 ? 0 : y[i];
        count += y[i] >= 0;
    }
    for (int r = 0; r < rows; r++) {
        float pos[256]; /* context ≤ 256 (spec_data.c) */
        nn_k->xent_fwd(t, v, (const float *)s->in[0] + (size_t)r * t * v, ys + (size_t)r * t,
                       (float *)s->out[1] + (size_t)r * t * v, pos);
        double rs = 0;
        for (int i = 0; i < t; i++)
            if (y[(size_t)r * t + i] >= 0) rs += pos[i];
        row_loss[r] = (float)rs;
        sum += rs;
    }
    *(float *)s->out[0] = count ? (float)(sum / (double)count) : 0.0f;
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *p = s->tin[0];
    int v = p->dim[p->ndim - 1], t = per_row(p);
    if (t == 1) {
        nn_k->xent_bwd(rows, v, s->in[0], s->in[1], 1.0f / (float)rows, s->out[0]);
        return;
    }
    const int32_t *y = s->in[2];
    long count = 0, m = (long)rows * t;
    for (long i = 0; i < m; i++)
        count += y[i] >= 0;
    nn_k->xent_bwd((int)m, v, s->in[0], s->in[1], count ? 1.0f / (float)count : 0.0f, s->out[0]);
    float *dz = s->out[0];
    for (long i = 0; i < m; i++)
        if (y[i] < 0) memset(dz + i * v, 0, (size_t)v * sizeof *dz);
}

const nn_op nn_op_cross_entropy = {"cross_entropy", infer, grad, run};
const nn_op nn_op_cross_entropy_grad = {"cross_entropy_grad", NULL, NULL, run_grad};
