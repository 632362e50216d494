/* gradcheck.h — `nnrun gradcheck SPEC`: every parameter tensor's analytic gradient (the
 * plan's backward pass) against central differences of the objective on a small batch. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stdio.h>

#include "runtime/train/train.h"

#define NN_GRADCHECK_TOL 1e-2 /* float32 objective: central differences are good to ~1e-4 */

/* Prints one line per parameter tensor (its worst relative error) to `out`.  Returns 0
 * when every error is within `tol`, 1 above it, −1 when out of memory. */
int nn_gradcheck(nn_trainer *tr, double tol, FILE *out);

#endif
