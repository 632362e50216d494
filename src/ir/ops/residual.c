/* residual.c — the end of `- residual: [...]`: y = x + f(x), in[0] = f(x), in[1] = x.
 * Backward: the gradient of f(x) is a view of dy (f(x) has no other reader), and the
 * gradient of x gets dy copied or added (x's other reader, f's first layer, adds too). */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static int infer(nn_graph *g, int node, nn_diag *d)
{
    nn_tensor f = g->t[g->n[node].in[0]], x = g->t[g->n[node].in[1]];
    int same = f.ndim == x.ndim && f.dtype == x.dtype;
    for (int i = 1; same && i < f.ndim; i++)
        same = f.dim[i] == x.dim[i];
    if (!same) {
        char a[64], b[64], from[64];
        nn_diag_error(d, g->n[node].mark,
                      "the residual's layers turn its input %s into %s (from %s), but x + f(x) "
                      "needs f(x) of the input's shape",
                      nn_tensor_shape_str(&x, a, sizeof a), nn_tensor_shape_str(&f, b, sizeof b),
                      nn_producer_label(g, g->n[node].in[0], from, sizeof from));
        nn_diag_note(d,
                     "end the residual with a layer that gives the input's width, "
                     "e.g. '{linear: {out: %d}}'",
                     x.dim[x.ndim - 1]);
        nn_note_use(g, node, d);
        return -1;
    }
    return nn_make_out(g, node, 0, "out", NN_F32, x.batched, x.ndim, x.dim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int f = g->n[node].in[0], x = g->n[node].in[1], y = g->n[node].out[0];
    int dy = nn_grad_of(g, y);
    if (dy < 0) return -1;
    if (g->t[f].requires_grad) {
        int df = nn_grad_of(g, f);
        if (df < 0) return -1;
        g->t[df].alias = dy;
    }
    if (!g->t[x].requires_grad) return 0;
    int in[1] = {dy}, out[1] = {nn_grad_of(g, x)};
    return nn_make_grad_node(g, node, &nn_op_residual_grad, in, 1, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    size_t n = (size_t)nn_tensor_active_numel(s->tin[0], rows);
    const float *f = s->in[0], *x = s->in[1];
    nn_k->add(n, x, f, s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    size_t n = (size_t)nn_tensor_active_numel(s->tin[0], rows);
    const float *dy = s->in[0];
    float *dx = s->out[0];
    if (!(s->node->accumulate & 1)) {
        memcpy(dx, dy, n * sizeof *dx);
        return;
    }
    nn_k->add(n, dx, dy, dx);
}

const nn_op nn_op_residual = {"residual_add", infer, grad, run};
const nn_op nn_op_residual_grad = {"residual_add_grad", NULL, NULL, run_grad};
