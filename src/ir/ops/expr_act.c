/* expr_act.c — `activation: {expr: FORMULA}`: y = f(x; params) elementwise, one fused
 * program per direction (ir/expr.h); learned params are layer parameters
 * ("layers.L.NAME": [1], or [units] with per: unit) that the optimizer updates.
 *
 * Backward node: in = (x, learned params..., dy[, y]), out = (dx, d params...): it reads
 * x, so the forward never runs in place, and y when the derivative needs the forward value
 * (tanh's 1 − y²: read, not recomputed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/expr.h"
#include "ir/op.h"
#include "kernels/kernels.h"

/* Builds the node's formula (owned by the graph); errors at the formula. */
int nn_expr_attach(nn_graph *g, int node, const nn_expr_spec *e, int reuse_y, nn_diag *d)
{
    char err[160];
    nn_expr *x = nn_expr_build(e, reuse_y, err, sizeof err);
    if (!x) {
        nn_diag_error(d, e->mark, "%s", err);
        return -1;
    }
    nn_expr **v = realloc(g->exprs, (size_t)(g->nexprs + 1) * sizeof *v);
    if (!v) abort();
    g->exprs = v;
    g->exprs[g->nexprs++] = x;
    g->n[node].expr = x;
    return 0;
}

static int infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_expr_spec *e = g->n[node].spec->expr;
    if (nn_activation_infer(g, node, d) != 0) return -1;
    if (nn_expr_attach(g, node, e, 1, d) != 0) return -1;
    const nn_tensor *x = &g->t[g->n[node].in[0]];
    int units = x->dim[x->ndim - 1];
    for (int j = 0; j < e->nlearn; j++) {
        int dim = e->per_unit ? units : 1;
        int p = nn_make_param(g, node, e->params[e->learn[j]].name, NN_PARAM, 1, &dim,
                              &e->learn_init[j], &e->learn_init[j]);
        if (p < 0) return -1;
        g->n[node].in[1 + j] = p;
    }
    g->n[node].nin = 1 + e->nlearn;
    return 0;
}

static int grad(nn_graph *g, int node)
{
    const nn_node n = g->n[node];
    int nl = n.nin - 1, in[NN_MAX_IO], out[NN_MAX_IO];
    for (int j = 0; j < n.nin; j++)
        in[j] = n.in[j];
    in[n.nin] = nn_grad_of(g, n.out[0]);
    int nin = n.nin + 1;
    if (n.expr->yslot >= 0) in[nin++] = n.out[0];
    out[0] = g->t[n.in[0]].requires_grad ? nn_grad_of(g, n.in[0]) : -1;
    for (int j = 0; j < nl; j++)
        out[1 + j] = nn_grad_of(g, n.in[1 + j]);
    return nn_make_grad_node(g, node, &nn_op_expr_grad, in, nin, out, 1 + nl) < 0 ? -1 : 0;
}

/* rows × cols of the block: per-unit params need the row structure; otherwise one long
 * row (fewer partial blocks). */
static void shape(const nn_step *s, int rows, int per_unit, int *r, int *c)
{
    const nn_tensor *x = s->tin[0];
    long n = nn_tensor_active_numel(x, rows);
    *c = per_unit ? x->dim[x->ndim - 1] : (int)n;
    *r = per_unit ? (int)(n / *c) : 1;
}

static void run(const nn_step *s, int rows)
{
    const nn_expr *x = s->node->expr;
    const nn_expr_spec *e = s->node->spec->expr;
    nn_vm_in in[NN_VM_MAX_IO];
    int r, c;
    shape(s, rows, e->per_unit, &r, &c);
    in[0] = (nn_vm_in){s->in[0], NN_VM_ARRAY};
    for (int j = 0; j < e->nlearn; j++)
        in[1 + j] = (nn_vm_in){s->in[1 + j], e->per_unit ? NN_VM_COLUMN : NN_VM_SCALAR};
    nn_vm_out out = {s->out[0], NN_VM_WRITE};
    nn_k->expr_run(&x->fwd, r, c, in, &out);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_expr *x = s->node->expr;
    const nn_expr_spec *e = s->node->spec->expr;
    nn_vm_in in[NN_VM_MAX_IO];
    nn_vm_out out[NN_VM_MAX_IO];
    float unused = 0; /* dx of an input nobody differentiates: summed away */
    int r, c, nl = e->nlearn;
    shape(s, rows, e->per_unit, &r, &c);
    for (int j = 0; j <= nl; j++)
        in[j] = (nn_vm_in){s->in[j], j == 0        ? NN_VM_ARRAY
                                     : e->per_unit ? NN_VM_COLUMN
                                                   : NN_VM_SCALAR};
    in[nl + 1] = (nn_vm_in){s->in[nl + 1], NN_VM_ARRAY};
    if (x->yslot >= 0) in[nl + 2] = (nn_vm_in){s->in[nl + 2], NN_VM_ARRAY}; /* y */
    int acc = s->node->accumulate;
    out[0] = s->out[0] ? (nn_vm_out){s->out[0], acc & 1 ? NN_VM_ACCUM : NN_VM_WRITE}
                       : (nn_vm_out){&unused, NN_VM_SUM};
    for (int j = 0; j < nl; j++) {
        float *p = s->out[1 + j];
        if (!(acc & (2 << j))) memset(p, 0, (size_t)(e->per_unit ? c : 1) * sizeof *p);
        out[1 + j] = (nn_vm_out){p, e->per_unit ? NN_VM_COLSUM : NN_VM_SUM};
    }
    nn_k->expr_run(&x->bwd, r, c, in, out);
}

const nn_op nn_op_expr = {"expr", infer, grad, run};
const nn_op nn_op_expr_grad = {"expr_grad", NULL, NULL, run_grad};
