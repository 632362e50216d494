/* expr_check.h — load-time checks of a graph's formulas (expr_check.c). */
#ifndef NN_EXPR_CHECK_H
#define NN_EXPR_CHECK_H

#include "ir/graph.h"

/* Every formula node of g: derivative vs finite differences, kernels vs definition, at
 * sample points.  Returns 0, or −1 with an error at the formula in d. */
int nn_expr_check_graph(const nn_graph *g, nn_diag *d);

#endif
