/* profile.h — where a training step's time goes: `nnrun bench SPEC --profile`.
 *
 * Times every step of the training plan (forward and backward), the minibatch copy, the
 * finite check and the parameter update over a number of training steps, and counts each
 * plan step's matrix-product FLOPs (2·m·n·k per gemm call, counted once through a kernel
 * table that wraps the active one).  Each part's time is its median over the steps. */
#ifndef NN_PROFILE_H
#define NN_PROFILE_H

#include <stdio.h>

#include "runtime/train/train.h"

typedef enum { NN_PROF_BATCH, NN_PROF_FORWARD, NN_PROF_BACKWARD, NN_PROF_UPDATE } nn_prof_phase;

typedef struct {
    int step; /* plan step index; −1 for the batch copy, the check and the update */
    nn_prof_phase phase;
    char name[160];
    double us;    /* median µs per training step */
    double flops; /* gemm FLOPs per training step */
} nn_profile_row;

typedef struct {
    nn_profile_row *row; /* in plan order: batch, forward, backward, check, update */
    int nrows;
    long steps;
    double step_us;     /* median µs of a whole training step */
    double peak_gflops; /* measured FMA peak of one core on the active kernel path */
    int threads;
} nn_profile;

/* Profiles `steps` training steps (after a warm-up).  0, or −1 when out of memory or for
 * the counting model (no plan). */
int nn_trainer_profile(nn_trainer *tr, long steps, nn_profile *out);
void nn_profile_free(nn_profile *p);
/* The table: per phase totals, then the `top` most expensive parts. */
void nn_profile_print(const nn_profile *p, int top, FILE *out);

#endif
