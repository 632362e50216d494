/* hooks.h — the one interface through which modules around the step loop attach to a
 * trainer: report statistics (report/stats.c) and run control — checkpoints, --stop-after,
 * signals, --dump-step (train/runctl.c).  They are called at fixed points of the loop
 * (train.c) and read the trainer through train.h's accessors, never its fields.
 *
 * The fixed points, in the order a run meets them (every callback may be NULL):
 *
 *   start          once, before the first step: a resuming hook moves st->step on and
 *                  restores the state the loop carries (smoothed loss, first/last loss)
 *   before_step    before each step; NN_HOOK_WATCH asks for the watch calls of that step
 *   watch          on a watched step: NN_WATCH_BATCH (the minibatch is in the training
 *                  plan, nothing ran), NN_WATCH_BEFORE_UPDATE (after backward, the loss
 *                  finite), NN_WATCH_AFTER_UPDATE
 *   at_eval        after each evaluation's metrics row (and the final one): split losses
 *   after_step     after each step: NN_HOOK_SAVE (with NN_HOOK_STOP to end the run there)
 *   save           when after_step asked: every metrics row so far is written and flushed
 *   at_end         after the final evaluation, before the samples; nonzero: the run fails
 *                  with −2 (a checkpoint could not be written)
 *
 * Hooks run in the order they were attached.  None of them may change what a step
 * computes: a run with or without them trains the same numbers.
 */
#ifndef NN_HOOKS_H
#define NN_HOOKS_H

#include <stdio.h>

#include "runtime/train/train.h"

/* What the loop carries from step to step, as a checkpoint needs it. */
typedef struct {
    long step;            /* steps done */
    double ema, beta_pow; /* the smoothed loss's state (metrics.csv smooth_loss) */
    nn_result *res;       /* step0 and last so far */
    FILE *metrics_csv;    /* the metrics files (NULL: none), flushed at `save` */
    FILE *metrics_jsonl;
    int eval_now; /* set by start: evaluate at `step` before the next step (runctl.h) */
} nn_train_state;

enum { NN_HOOK_WATCH = 1 };                  /* before_step's answer */
enum { NN_HOOK_SAVE = 1, NN_HOOK_STOP = 2 }; /* after_step's answer */
typedef enum { NN_WATCH_BATCH, NN_WATCH_BEFORE_UPDATE, NN_WATCH_AFTER_UPDATE } nn_watch_point;

typedef struct nn_train_hooks {
    void (*start)(void *ctx, nn_train_state *st);
    int (*before_step)(void *ctx, long step);
    void (*watch)(void *ctx, nn_watch_point at, long step);
    void (*at_eval)(void *ctx, long step, const double loss[NN_SPLIT_COUNT]);
    int (*after_step)(void *ctx, long done, long steps);
    int (*save)(void *ctx, const nn_train_state *st); /* 0, or −1: the run stops with −2 */
    int (*at_end)(void *ctx);
    /* nn_trainer_free calls it with ctx: a hook the trainer owns (NULL: the caller's) */
    void (*free)(void *ctx);
} nn_train_hooks;

#define NN_MAX_HOOKS 4

/* Attaches `h` (static storage) with `ctx` to tr.  Returns 0, or −1 when NN_MAX_HOOKS are
 * attached already. */
int nn_trainer_attach(nn_trainer *tr, const nn_train_hooks *h, void *ctx);
/* Detaches the hook attached with ctx (without calling its free). */
void nn_trainer_detach(nn_trainer *tr, const void *ctx);
/* The ctx attached with `h`, or NULL: how a module finds its own state again. */
void *nn_trainer_hook_ctx(const nn_trainer *tr, const nn_train_hooks *h);

#endif
