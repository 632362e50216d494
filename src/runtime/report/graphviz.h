/* graphviz.h — `nnrun graph --dot [--values]` and `nnrun graph --json`. */
#ifndef NN_GRAPHVIZ_H
#define NN_GRAPHVIZ_H

#include <jansson.h>
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
/* `g` as JSON (graph_json.c): {batch, parameters, nodes: [{index, op, pass, inputs,
 * outputs, layer, line}], tensors: [{index, name, shape, dtype, role, batched, numel,
 * grad, layer}]}; NULL when out of memory. */
json_t *nn_graph_json(const nn_graph *g);

#endif
