/* progress.h — what a run prints while it trains: a line every print_every steps and at
 * each evaluation, and on a terminal a live line redrawn in place (steps/s, loss, ETA). */
#ifndef NN_PROGRESS_H
#define NN_PROGRESS_H

#include <stdio.h>

#include "runtime/train/train.h"

/* Monotonic seconds. */
double nn_now_seconds(void);

/* The live progress line on a terminal: redrawn in place at most five times a second; the
 * clock is read every 256 steps only, so the step loop pays nothing measurable. */
typedef struct {
    int on;
    double shown;
    long start; /* the step this invocation began at */
} nn_live_line;

void nn_live_show(nn_live_line *lv, FILE *f, long i, long steps, float loss, double lr, double t0);
/* Erases the live line before a line that stays. */
void nn_live_clear(const nn_live_line *lv, FILE *f);
/* "  step/  steps: loss" */
void nn_progress_step(const nn_run_opts *o, long i, long steps, float l);
/* "  step/  steps  eval  train L (A%)  dev L (A%)  lr X  N steps/s" (NaN losses left out;
 * the accuracy of classifiers in parentheses) */
void nn_progress_eval(const nn_run_opts *o, long step, long steps, const double *loss,
                      const double *acc, double lr, double rate);

#endif
