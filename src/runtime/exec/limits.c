/* limits.c — --max-memory: a model too large for the machine is refused with a clear error
 * before its plans are allocated, instead of being killed by the OOM killer (or swapping
 * for hours) once training has started.  The budget itself is data/budget.c. */
#include "runtime/exec/limits.h"

#include <stdint.h>
#include <stdio.h>

#include "runtime/exec/plan.h"

/* Adds a and b, saturating (sizes of absurd specs must not wrap around). */
static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t tensor_bytes(const nn_tensor *t)
{
    long n = nn_tensor_numel(t);
    return n <= 0 ? 0 : (size_t)n * 4;
}

int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    nn_mark at, nn_diag *d)
{
    size_t params = 0, largest = 0;
    const nn_graph *lg = train_g;
    int lt = -1;
    for (int t = 0; t < train_g->nt; t++) {
        const nn_tensor *x = &train_g->t[t];
        size_t b = tensor_bytes(x);
        if (x->role == NN_PARAM) params = add_sat(params, b * (size_t)(2 + state));
        if (x->role == NN_BUFFER) params = add_sat(params, b);
    }
    const nn_graph *gs[2] = {train_g, eval_g};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < gs[k]->nt; t++)
            if (tensor_bytes(&gs[k]->t[t]) > largest) {
                largest = tensor_bytes(&gs[k]->t[t]);
                lg = gs[k], lt = t;
            }
    size_t train = nn_plan_arena_bytes(train_g, NN_LOWER_FAST);
    size_t eval = nn_plan_arena_bytes(eval_g, NN_LOWER_FAST);
    size_t evals = eval == SIZE_MAX || neval < 1     ? eval
                   : eval > SIZE_MAX / (size_t)neval ? SIZE_MAX
                                                     : eval * (size_t)neval;
    size_t need = add_sat(add_sat(params, train), evals), limit = nn_limits_max_memory();
    if (need <= limit) return 0;
    char b[4][64], shape[64];
    nn_diag_error(d, at, "the model needs %s, more than --max-memory %s", nn_human_bytes(need, b[0], 64),
                  nn_human_bytes(limit, b[1], 64));
    nn_diag_note(d,
                 "parameters, gradients and optimizer state %s; training arena %s; %d "
                 "evaluation arena%s %s",
                 nn_human_bytes(params, b[2], 64), nn_human_bytes(train, b[3], 64), neval, neval == 1 ? "" : "s",
                 nn_human_bytes(evals, b[0], 64));
    if (lt >= 0)
        nn_diag_note(d, "the largest tensor is '%s' %s, %s", lg->t[lt].name,
                     nn_tensor_shape_str(&lg->t[lt], shape, sizeof shape),
                     nn_human_bytes(largest, b[1], 64));
    nn_diag_note(d, "use a smaller train.batch or smaller layers, or raise --max-memory "
                    "(default: 80%% of physical memory)");
    return -1;
}
