/* limits.c — --max-memory: a model too large for the machine is refused with a clear error
 * before its plans are allocated, instead of being killed by the OOM killer (or swapping
 * for hours) once training has started.  The budget itself is data/budget.c. */
#include "runtime/exec/limits.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec/plan.h"

static int dump_expected; /* --dump-step given */

void nn_limits_expect_dump(int on)
{
    dump_expected = on;
}

int nn_limits_dump_expected(void)
{
    return dump_expected;
}

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

static size_t mul_sat(size_t a, size_t n)
{
    return a == SIZE_MAX || (n && a > SIZE_MAX / n) ? SIZE_MAX : a * n;
}

/* The parameter block nn_params_new(g, state) allocates: values, gradients and `state`
 * optimizer arrays per parameter (each padded to 16 floats), one array per buffer. */
static size_t params_bytes(const nn_graph *g, int state)
{
    size_t b = 0;
    for (int t = 0; t < g->nt; t++) {
        const nn_tensor *x = &g->t[t];
        if (x->role != NN_PARAM && x->role != NN_BUFFER) continue;
        size_t padded = ((size_t)(nn_tensor_numel(x) > 0 ? nn_tensor_numel(x) : 0) + 15) / 16 * 16;
        b = add_sat(b, mul_sat(padded * 4, x->role == NN_PARAM ? (size_t)(2 + state) : 1));
    }
    return b;
}

typedef struct {
    const char *what;
    size_t bytes;
} part;

static int by_size(const void *a, const void *b)
{
    size_t x = ((const part *)a)->bytes, y = ((const part *)b)->bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The parts of a run's memory, in the order it allocates them; returns their count. */
static int memory_parts(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                        const nn_limits_extra *x, part *p)
{
    static char evals_what[64];
    size_t eval = nn_plan_arena_bytes(eval_g, NN_LOWER_FAST);
    size_t keep_all = nn_plan_arena_bytes(train_g, NN_LOWER_KEEP_ALL);
    size_t values = params_bytes(train_g, -1); /* one copy of the values (and buffers) */
    int n = 0;
    snprintf(evals_what, sizeof evals_what, "%d evaluation arena%s", neval, neval == 1 ? "" : "s");
    p[n++] = (part){"parameters, gradients and optimizer state", params_bytes(train_g, state)};
    p[n++] = (part){"training arena", nn_plan_arena_bytes(train_g, NN_LOWER_FAST)};
    p[n++] = (part){evals_what, mul_sat(eval, neval < 1 ? 1 : (size_t)neval)};
    if (x && x->stats) /* a plan that keeps every tensor, the weights before an update */
        p[n++] = (part){"statistics plan (report)", add_sat(keep_all, values)};
    if (x && x->eval_bg) /* a copy of the parameters and its own evaluation plan */
        p[n++] = (part){"background evaluation (snapshot and plan)",
                        add_sat(params_bytes(train_g, 0), eval)};
    /* a non-finite step is re-run on such a plan to find where it began (nancheck.c) */
    p[n++] = (part){"NaN search plan", add_sat(keep_all, values)};
    if (x && x->dump) p[n++] = (part){"--dump-step plan", add_sat(keep_all, values)};
    return n;
}

int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    const nn_limits_extra *x, nn_mark at, nn_diag *d)
{
    part p[8];
    int n = memory_parts(train_g, eval_g, neval, state, x, p);
    size_t need = 0, limit = nn_limits_max_memory(), largest = 0;
    for (int i = 0; i < n; i++)
        need = add_sat(need, p[i].bytes);
    if (need <= limit) return 0;
    const nn_graph *lg = train_g;
    int lt = -1;
    const nn_graph *gs[2] = {train_g, eval_g};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < gs[k]->nt; t++)
            if (tensor_bytes(&gs[k]->t[t]) > largest) {
                largest = tensor_bytes(&gs[k]->t[t]);
                lg = gs[k], lt = t;
            }
    char b[3][64], shape[64], list[1024] = "";
    nn_diag_error(d, at, "the model needs %s, more than --max-memory %s", nn_human_bytes(need, b[0], 64),
                  nn_human_bytes(limit, b[1], 64));
    qsort(p, (size_t)n, sizeof *p, by_size); /* the biggest parts first */
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s %s", i ? "; " : "",
                 p[i].what, nn_human_bytes(p[i].bytes, b[2], 64));
    nn_diag_note(d, "the parts, biggest first: %s", list);
    if (lt >= 0)
        nn_diag_note(d, "the largest tensor is '%s' %s, %s", lg->t[lt].name,
                     nn_tensor_shape_str(&lg->t[lt], shape, sizeof shape),
                     nn_human_bytes(largest, b[1], 64));
    nn_diag_note(d, "use a smaller train.batch or smaller layers, or raise --max-memory "
                    "(default: 80%% of physical memory)");
    return -1;
}
