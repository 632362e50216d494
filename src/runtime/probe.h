/* probe.h — one forward/backward pass without an update (nnrun graph --values). */
#ifndef NN_PROBE_H
#define NN_PROBE_H

#include "runtime/train.h"

/* Loads the first `rows` training examples (at most the plan's batch and the split's size)
 * into the training plan and runs forward and backward.  Returns the rows used. */
int nn_trainer_probe(nn_trainer *tr, int rows);

#endif
