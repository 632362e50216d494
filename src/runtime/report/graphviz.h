/* graphviz.h — `nnrun graph --dot [--values]`. */
#ifndef NN_GRAPHVIZ_H
#define NN_GRAPHVIZ_H

#include <stdio.h>
#include <stdlib.h>

#include "runtime/exec/plan.h"

/* Writes `g` as graphviz DOT: tensors as records (name, role, shape), ops as ellipses.
 * With a plan `p` that has run forward and backward on `rows` rows, every float tensor
 * also shows its data and gradient (values when ≤ 4 elements, else mean/std/range). */
int nn_graph_dot(const nn_graph *g, const nn_plan *p, int rows, FILE *out);
/* A formula node's scalar DAG as a cluster, with data and grad for element 0 when p is
 * given (graphviz_expr.c). */
void nn_graph_dot_expr(const nn_graph *g, int node, const nn_plan *p, int rows, FILE *out);

#endif
