/* expr_loss.c — `loss: {expr: FORMULA}`: a per-row loss f(s, y) of the score s [B, 1] and
 * the target y [B], its mean over rows (or sum); outputs as hinge's (loss, −, row losses).
 * The row losses are summed in double in row order, as the built-in score losses do. */
#include "ir/expr.h"
#include "ir/op.h"
#include "kernels/kernels.h"

/* expr_act.c */
int nn_expr_attach(nn_graph *g, int node, const nn_expr_spec *e, int reuse_y, nn_diag *d);

static int infer(nn_graph *g, int node, nn_diag *d)
{
    if (nn_check_scores(g, node, "the formula loss", d) != 0) return -1;
    return nn_expr_attach(g, node, g->loss_expr, 0, d);
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int in[2] = {n.in[0], n.in[1]};
    int out[1] = {nn_grad_of(g, n.in[0])};
    return nn_make_grad_node(g, node, &nn_op_expr_loss_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    nn_vm_in in[2] = {{s->in[0], NN_VM_ARRAY}, {s->in[1], NN_VM_ARRAY}};
    nn_vm_out out = {s->out[2], NN_VM_WRITE};
    nn_k->expr_run(&s->node->expr->fwd, 1, rows, in, &out);
    const float *row_loss = s->out[2];
    double sum = 0;
    for (int i = 0; i < rows; i++)
        sum += row_loss[i];
    *(float *)s->out[0] = (float)(s->node->sum ? sum : sum / rows);
}

/* The seed dy is the reduction's weight: 1 for a sum, 1/rows for the mean. */
static void run_grad(const nn_step *s, int rows)
{
    float scale = s->node->sum ? 1.0f : 1.0f / (float)rows;
    nn_vm_in in[3] = {{s->in[0], NN_VM_ARRAY}, {s->in[1], NN_VM_ARRAY}, {&scale, NN_VM_SCALAR}};
    nn_vm_out out = {s->out[0], s->node->accumulate & 1 ? NN_VM_ACCUM : NN_VM_WRITE};
    nn_k->expr_run(&s->node->expr->bwd, 1, rows, in, &out);
}

const nn_op nn_op_expr_loss = {"expr_loss", infer, grad, run};
const nn_op nn_op_expr_loss_grad = {"expr_loss_grad", NULL, NULL, run_grad};
