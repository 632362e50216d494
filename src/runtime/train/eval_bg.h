/* eval_bg.h — split evaluation on a second thread while training goes on.
 *
 * At an evaluation point the trainer copies the parameters and buffers into a snapshot
 * that only this evaluation's plan reads, and a thread of its own evaluates the snapshot
 * while the calling thread keeps training.  The losses are exactly those of an evaluation
 * at that step on the calling thread (same plans, same chunk order).
 */
#ifndef NN_EVAL_BG_H
#define NN_EVAL_BG_H

#include "runtime/train/train.h"

typedef struct nn_eval_bg nn_eval_bg;

/* NULL when out of memory or when evaluating beside training would not pay or not be
 * safe: one thread (--threads 1), the counting model, plugin layers (their failure
 * checks belong to the training thread), or checkpoint.keep: best (which writes the model
 * of the evaluated step). */
nn_eval_bg *nn_eval_bg_new(nn_trainer *tr);
void nn_eval_bg_free(nn_eval_bg *b);
/* Snapshots tr->P and starts evaluating the splits in `mask` (bit s: split s) tagged with
 * `step`; the thread first calls before(ctx) (when not NULL: work that must be done before
 * the evaluation is collected, off the training thread).  A previous evaluation must have
 * been collected with nn_eval_bg_wait.  When no thread can be started, both run here. */
void nn_eval_bg_start(nn_eval_bg *b, int mask, long step, void (*before)(void *), void *ctx);
/* The step of the running or finished evaluation not yet collected, or −1. */
long nn_eval_bg_pending(const nn_eval_bg *b);
/* Whether the pending evaluation has finished (collecting it will not wait). */
int nn_eval_bg_done(nn_eval_bg *b);
/* Waits for the pending evaluation; loss[s] gets split s's loss, acc[s] (acc may be NULL)
 * its accuracy (NaN for splits not in the mask or empty, and for models no classifier). */
void nn_eval_bg_wait(nn_eval_bg *b, double loss[NN_SPLIT_COUNT], double acc[NN_SPLIT_COUNT]);
/* How many evaluations have run on a thread of their own in this process (tests: the
 * background path really ran, not the in-place fallback). */
long nn_eval_bg_threaded_runs(void);

#endif
