/* dump.h — `--dump-step K`: everything one training step computes, for comparison with
 * another implementation (tests/parity/ with PyTorch). */
#ifndef NN_DUMP_H
#define NN_DUMP_H

#include "runtime/train/train.h"

/* Before step `step` runs: draws that step's minibatch (the RNG is put back, so the step
 * itself draws the same one), runs forward and backward on it in a plan that keeps every
 * tensor, and writes every tensor of the training graph — inputs, parameters before the
 * update, activations, gradients, BatchNorm buffers before the step and after it (NAME.after) — to `path` as
 * safetensors (metadata: step, rows, loss, spec).  The model is left as it was.
 * Returns 0 or −1 (errno set). */
int nn_dump_step(nn_trainer *tr, const char *path, long step);

#endif
