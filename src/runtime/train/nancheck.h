/* nancheck.h — numerical faults: a non-finite loss or gradient stops the run within its
 * step, and the step is re-run to name the first layer where a non-finite value appeared.
 *
 * The common path costs almost nothing: the loss is checked every step (it is read
 * anyway); with --nan-check (on by default) also the parameter gradients and BatchNorm's
 * running buffers before the update, in one branch-free pass (the optimizer reads the
 * same memory in the same step).  Only a failing step pays for the search. */
#ifndef NN_NANCHECK_H
#define NN_NANCHECK_H

#include "parser/diag.h"
#include "runtime/train/train.h"

typedef struct nn_nan_report {
    long step;     /* the step (0-based, as in metrics.csv) whose loss or gradient failed */
    double loss;   /* its loss (finite when only a gradient failed) */
    int found;     /* the re-run found the value (it should: the step is deterministic) */
    int backward;  /* it appeared in the backward pass (every forward value was finite) */
    int update;    /* a parameter was non-finite already: the previous update overflowed */
    int buffer;    /* a running buffer (BatchNorm) became non-finite in the forward pass */
    int layer;     /* the spec layer (0-based, as layers.N) that produced it, −1: the loss */
    char kind[32]; /* the layer's kind ("linear"), or the op */
    char tensor[48], shape[64];
    nn_mark at; /* the layer in the spec */
} nn_nan_report;

/* 1 when every parameter gradient is finite. */
int nn_grads_finite(const nn_params *P);
/* The step's verdict, after forward and backward and before the update: 0 when the update
 * may run (the loss is finite and, with check_all — --nan-check —, every gradient and
 * running buffer), else NN_NONFINITE_STEP or NN_NONFINITE_BUFFER. */
int nn_step_nonfinite(const nn_params *P, float loss, int check_all);
enum { NN_NONFINITE_STEP = 1, NN_NONFINITE_BUFFER = 2 };
/* After a failed step (parameters not updated, the batch still in the training plan's
 * inputs): a non-finite parameter (an earlier update overflowed, and this forward pass
 * failed) or running buffer is named first; else forward and backward are re-run in a
 * plan that keeps every tensor, and the first non-finite value found — forward outputs in
 * order, then the backward pass in order.  BatchNorm's running buffers are left as they
 * were.  Returns a malloc'd report (NULL when out of memory). */
nn_nan_report *nn_nan_locate(const nn_trainer *tr, long step, double loss);
/* The report as one sentence (no newline) into buf. */
const char *nn_nan_describe(const nn_nan_report *r, char *buf, size_t len);
/* The report as an error in `d`, at the layer (or at `spec_path` when unknown). */
void nn_nan_diag(const nn_nan_report *r, const char *spec_path, nn_diag *d);

#endif
