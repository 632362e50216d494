/* gradcheck.h — `nnrun gradcheck SPEC`: every parameter tensor's analytic gradient (the
 * plan's backward pass) against central differences of the objective on a small batch. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stdio.h>

#include "runtime/train/train.h"

#define NN_GRADCHECK_TOL 1e-2 /* float32 objective: central differences are good to ~1e-4 */

/* One parameter tensor's check: its worst relative error over the elements checked, with
 * the analytic and numeric derivatives there. */
typedef struct {
    const char *name; /* the parameter's (lives as long as the trainer) */
    int ndim, dim[4];
    long checked, numel;
    double worst, analytic, numeric;
    int ok; /* worst ≤ tol */
} nn_gradcheck_row;

typedef struct {
    int counting; /* the counting model: no gradients, no rows */
    int rows;     /* examples the objective is taken over */
    double tol;
    nn_gradcheck_row *row;
    int nrows, bad; /* bad: rows above tol */
} nn_gradcheck_result;

/* Checks every parameter tensor into *res (free it with nn_gradcheck_result_free).
 * Returns 0, or −1 when out of memory. */
int nn_gradcheck_run(nn_trainer *tr, double tol, nn_gradcheck_result *res);
/* The text form: a header, one line per tensor, "ok" or "FAILED: ...". */
void nn_gradcheck_print(const nn_gradcheck_result *res, FILE *out);
void nn_gradcheck_result_free(nn_gradcheck_result *res);

/* Prints one line per parameter tensor (its worst relative error) to `out`.  Returns 0
 * when every error is within `tol`, 1 above it, −1 when out of memory. */
int nn_gradcheck(nn_trainer *tr, double tol, FILE *out);

#endif
