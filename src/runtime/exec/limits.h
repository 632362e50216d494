/* limits.h — resource limits checked before anything large is allocated: the memory a
 * model's plans and parameters will take against --max-memory. */
#ifndef NN_LIMITS_H
#define NN_LIMITS_H

#include <stddef.h>

#include "ir/graph.h"
#include "parser/diag.h"
#include "runtime/data/budget.h" /* the budget it checks against */

/* Refuses a model whose memory would exceed the limit: the parameter block (values,
 * gradients, `state` optimizer arrays per parameter; buffers), the training plan's arena
 * and `neval` evaluation arenas.  Measured by laying the plans out, before any of it is
 * allocated.  Returns 0, or −1 with an error in `d` at `at` naming the bytes needed and
 * the largest tensor. */
int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    nn_mark at, nn_diag *d);

#endif
