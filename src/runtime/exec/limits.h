/* limits.h — resource limits checked before anything large is allocated: the memory a
 * model's plans and parameters will take against --max-memory. */
#ifndef NN_LIMITS_H
#define NN_LIMITS_H

#include <stddef.h>

#include "ir/graph.h"
#include "parser/diag.h"
#include "runtime/data/budget.h" /* the budget it checks against */

/* What a run allocates beside the parameters and the plans every run has. */
typedef struct {
    int stats;   /* the report's statistics (nn_stats_wanted): a plan keeping every tensor */
    int eval_bg; /* evaluation beside training (eval_bg.h): a parameter copy and a plan */
    int dump;    /* --dump-step: a plan keeping every tensor */
} nn_limits_extra;

/* Refuses a model whose memory would exceed the limit.  Counted, by laying the plans out
 * before any of it is allocated: the parameter block (values, gradients, `state` optimizer
 * arrays per parameter; buffers), the training plan's arena, `neval` evaluation arenas,
 * the plan a non-finite step is searched on (nancheck.h), and the parts `x` asks for
 * (NULL: none).  Returns 0, or −1 with an error in `d` at `at` naming the bytes needed, the
 * parts biggest first and the largest tensor. */
int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    const nn_limits_extra *x, nn_mark at, nn_diag *d);
/* --dump-step was given: nn_limits_check counts its plan (for the whole process). */
void nn_limits_expect_dump(int on);
int nn_limits_dump_expected(void);
#endif
