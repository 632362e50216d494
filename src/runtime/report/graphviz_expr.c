/* graphviz_expr.c — a formula node's scalar DAG in `nnrun graph --dot [--values]`: one
 * record per forward DAG node (lesson 1's draw_dot), with, given values, the data and the
 * gradient of each node for element 0 of the batch (the formula's own reverse mode,
 * seeded with the gradient that reached the op's output). */
#include <stdio.h>
#include <stdlib.h>

#include "ir/expr.h"
#include "ir/op.h"
#include "runtime/report/graphviz.h"

void nn_graph_dot_expr(const nn_graph *g, int node, const nn_plan *p, int rows, FILE *out)
{
    const nn_node *n = &g->n[node];
    const nn_expr *x = n->expr;
    const nn_expr_spec *e = n->op == &nn_op_expr_loss ? g->loss_expr : n->spec->expr;
    if (!x || !e) return;
    double slots[NN_VM_MAX_IO] = {0}, *v = calloc((size_t)x->nn + 1, sizeof *v);
    if (!v) return;
    if (p) {
        for (int k = 0; k < n->nin && k < x->seed; k++)
            slots[k] = n->in[k] >= 0 ? ((const float *)nn_plan_ptr(p, n->in[k]))[0] : 0;
        int o = n->out[0];
        if (n->op == &nn_op_expr_loss)
            slots[x->seed] = n->sum ? 1.0 : 1.0 / rows;
        else
            slots[x->seed] =
                g->t[o].grad >= 0 ? ((const float *)nn_plan_ptr(p, g->t[o].grad))[0] : 1;
        nn_expr_eval(x, slots, v);
    }
    char lb[64];
    fprintf(out, "  subgraph cluster_f%d {\n    label=\"formula of %s, element 0\";\n", node,
            n->op->name);
    for (int i = 0; i < x->nfwd; i++) {
        fprintf(out, "    f%d_%d [shape=record, label=\"{%s", node, i,
                nn_expr_label(x, e, i, lb, sizeof lb));
        if (p) fprintf(out, " | data %.4f | grad %.4f", v[i], x->adj[i] >= 0 ? v[x->adj[i]] : 0.0);
        fprintf(out, "}\"];\n");
        if (x->n[i].a >= 0) fprintf(out, "    f%d_%d -> f%d_%d;\n", node, x->n[i].a, node, i);
        if (x->n[i].b >= 0) fprintf(out, "    f%d_%d -> f%d_%d;\n", node, x->n[i].b, node, i);
    }
    fprintf(out, "  }\n  f%d_%d -> op%d [style=dashed];\n", node, x->root, node);
    free(v);
}
