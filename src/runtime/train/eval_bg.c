/* eval_bg.c — split evaluation beside training (see eval_bg.h). */
#include "runtime/train/eval_bg.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/parallel.h"
#include "runtime/plugin/plugin.h"

struct nn_eval_bg {
    nn_trainer *tr;
    nn_params *snap; /* what the plan reads: a copy of the parameters at the evaluated step */
    nn_plan *plan;
    pthread_t thread;
    int threaded; /* `thread` runs and must be joined */
    int mask;
    void (*before)(void *);
    void *ctx;
    long step; /* −1: nothing pending */
    atomic_int done;
    double loss[NN_SPLIT_COUNT], acc[NN_SPLIT_COUNT];
};

nn_eval_bg *nn_eval_bg_new(nn_trainer *tr)
{
    const nn_graph *train_g = nn_trainer_graph(tr, NN_TRAINING);
    if (nn_trainer_eval_threads(tr) < 2 || nn_trainer_ngram(tr) || !train_g ||
        nn_trainer_eval_inline(tr) ||
        nn_trainer_plugins(tr) || nn_trainer_spec(tr)->checkpoint.keep_best)
        return NULL;
    nn_eval_bg *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->tr = tr;
    b->step = -1;
    if (!(b->snap = nn_params_new(train_g, 0)) || b->snap->n != nn_trainer_params(tr)->n ||
        !(b->plan = nn_plan_lower(nn_trainer_graph(tr, NN_EVALUATION), b->snap, NN_LOWER_FAST))) {
        nn_eval_bg_free(b);
        return NULL;
    }
    return b;
}

void nn_eval_bg_free(nn_eval_bg *b)
{
    if (!b) return;
    if (b->threaded) pthread_join(b->thread, NULL);
    nn_plan_free(b->plan);
    nn_params_free(b->snap);
    free(b);
}

static void evaluate(nn_eval_bg *b)
{
    if (b->before) b->before(b->ctx);
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        b->acc[s] = NAN;
        b->loss[s] = b->mask & (1 << s) && nn_trainer_data(b->tr)->split[s].n
                         ? nn_trainer_eval_plans(b->tr, &b->plan, 1, (nn_split_id)s, &b->acc[s])
                         : NAN;
    }
    atomic_store_explicit(&b->done, 1, memory_order_release);
}

/* Evaluations finished on a thread of their own, over the process (tests assert it). */
static atomic_long threaded_runs;

long nn_eval_bg_threaded_runs(void)
{
    return atomic_load(&threaded_runs);
}

static void *run(void *arg)
{
    nn_parallel_serial_here(); /* the pool belongs to the training thread */
    nn_parallel_borrow_core(); /* ... which runs alone meanwhile: this thread holds a core */
    evaluate(arg);
    nn_parallel_return_core();
    atomic_fetch_add(&threaded_runs, 1);
    return NULL;
}

void nn_eval_bg_start(nn_eval_bg *b, int mask, long step, void (*before)(void *), void *ctx)
{
    b->before = before, b->ctx = ctx;
    const nn_params *P = nn_trainer_params(b->tr);
    for (int i = 0; i < P->n; i++)
        memcpy(b->snap->p[i].data, P->p[i].data, (size_t)P->p[i].numel * sizeof(float));
    b->mask = mask;
    b->step = step;
    atomic_store_explicit(&b->done, 0, memory_order_relaxed);
    b->threaded = pthread_create(&b->thread, NULL, run, b) == 0;
    if (!b->threaded) evaluate(b);
}

long nn_eval_bg_pending(const nn_eval_bg *b)
{
    return b ? b->step : -1;
}

int nn_eval_bg_done(nn_eval_bg *b)
{
    return atomic_load_explicit(&b->done, memory_order_acquire);
}

void nn_eval_bg_wait(nn_eval_bg *b, double loss[NN_SPLIT_COUNT], double acc[NN_SPLIT_COUNT])
{
    if (b->threaded) pthread_join(b->thread, NULL);
    b->threaded = 0;
    memcpy(loss, b->loss, sizeof b->loss);
    if (acc) memcpy(acc, b->acc, sizeof b->acc);
    b->step = -1;
}
