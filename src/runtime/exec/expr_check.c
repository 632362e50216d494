/* expr_check.c — the load-time check of every formula in a graph: its derivative DAG
 * against finite differences of its forward DAG (gradcheck_fd.c), and its compiled kernel
 * programs against the DAG, at sample points.  A disagreement is an error at the formula
 * (it would be a bug in nnrun's differentiation, never the user's), before training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/expr.h"
#include "ir/op.h"
#include "kernels/kernels.h"
#include "runtime/exec/expr_check.h"
#include "runtime/exec/gradcheck_fd.h"

typedef struct {
    const nn_expr *x;
    double *slots, *vals;
} fd_ctx;

/* The callable: coordinates are the derivative's slots (x or s, then learned params). */
static int eval_fd(void *ctx, const double *p, double *value, double *grad)
{
    fd_ctx *c = ctx;
    for (int k = 0; k < c->x->nwrt; k++)
        c->slots[c->x->wrt_slot[k]] = p[k];
    nn_expr_eval(c->x, c->slots, c->vals);
    *value = c->vals[c->x->root];
    for (int k = 0; grad && k < c->x->nwrt; k++)
        grad[k] = c->vals[c->x->grad[k]];
    return 0;
}

/* Whether the float kernel's v agrees with the double DAG's want: a compiler bug gives
 * grossly wrong values, so the tolerance is loose; values past float's range, and points
 * where the DAG is not finite, are not judged. */
static int agrees(float v, double want, double tol)
{
    if (!isfinite(want) || fabs(want) > 1e30) return 1;
    return fabs(v - want) <= tol * (1 + fabs(want));
}

/* The kernel programs on one point (lane 0 of a block) against the DAG in double. */
static int check_kernels(const nn_expr *x, const double *slots, const double *vals)
{
    float in[NN_VM_MAX_IO], outv[NN_VM_MAX_IO] = {0};
    nn_vm_in vin[NN_VM_MAX_IO];
    nn_vm_out vout[NN_VM_MAX_IO];
    for (int k = 0; k < x->nslots; k++) {
        in[k] = (float)(k == x->yslot ? vals[x->root] : slots[k]);
        vin[k] = (nn_vm_in){&in[k], NN_VM_SCALAR};
    }
    vout[0] = (nn_vm_out){&outv[0], NN_VM_WRITE};
    nn_k->expr_run(&x->fwd, 1, 1, vin, vout);
    if (!agrees(outv[0], vals[x->root], 1e-3)) return -1;
    for (int k = 0; k < x->nwrt; k++)
        vout[k] = (nn_vm_out){&outv[k], NN_VM_WRITE};
    nn_k->expr_run(&x->bwd, 1, 1, vin, vout);
    for (int k = 0; k < x->nwrt; k++)
        if (!agrees(outv[k], vals[x->grad[k]], 1e-2)) return -1;
    return 0;
}

static int check_one(const nn_expr *x, const nn_expr_spec *e, nn_diag *d)
{
    static const double xs[] = {-1.8371, -0.4629, 0.2817, 1.1493, 2.7313};
    static const double ys[] = {-1.0, 1.0, 0.5};
    double slots[NN_VM_MAX_IO] = {0}, p[NN_VM_MAX_IO];
    double *vals = malloc((size_t)x->nn * sizeof *vals);
    if (!vals) abort();
    fd_ctx c = {x, slots, vals};
    int bad = 0;
    for (int i = 0; i < 5 && !bad; i++) {
        for (int t = 0; t < (e->ninputs == 2 ? 3 : 1) && !bad; t++) {
            slots[0] = xs[i];
            if (e->ninputs == 2) slots[1] = ys[t];
            for (int j = 0; j < e->nlearn; j++)
                slots[e->ninputs + j] = e->params[e->learn[j]].value;
            slots[x->seed] = 1;
            for (int k = 0; k < x->nwrt; k++)
                p[k] = slots[x->wrt_slot[k]];
            nn_fd_fail f;
            if (nn_gradcheck_fd(eval_fd, &c, x->nwrt, p, 1e-6, 1e-4, &f)) {
                nn_diag_error(d, e->mark,
                              "the derivative of this formula disagrees with finite "
                              "differences at %g: %g analytic, %g numeric (input %d)",
                              xs[i], f.analytic, f.numeric, f.index);
                nn_diag_note(d, "this is a bug in nnrun's differentiation; please report it");
                bad = 1;
                break;
            }
            eval_fd(&c, p, &(double){0}, NULL);
            if (check_kernels(x, slots, vals) != 0) {
                nn_diag_error(d, e->mark,
                              "the compiled kernel of this formula disagrees with its "
                              "definition at %g",
                              xs[i]);
                nn_diag_note(d, "this is a bug in nnrun's formula compiler; please report it");
                bad = 1;
            }
        }
    }
    free(vals);
    return bad ? -1 : 0;
}

int nn_expr_check_graph(const nn_graph *g, nn_diag *d)
{
    for (int i = 0; i < g->nfwd; i++) {
        const nn_node *n = &g->n[i];
        if (!n->expr) continue;
        const nn_expr_spec *e = n->op == &nn_op_expr_loss ? g->loss_expr : n->spec->expr;
        if (e && check_one(n->expr, e, d) != 0) return -1;
    }
    return 0;
}
