/* recurrent.h — the recurrent layer's runs on given input (recurrent.c), shared with its
 * fusion with the embedding before it (embed_recurrent.c); internal to src/ir/ops. */
#ifndef NN_IR_OPS_RECURRENT_H
#define NN_IR_OPS_RECURRENT_H

#include "ir/op.h"
#include "kernels/kernels.h"

/* s: a recurrent step; the input sequence is `in` (dense or an embedding's lookup) */
void nn_recurrent_forward(const nn_step *s, int rows, const nn_rnn_input *in);
/* s: a recurrent_grad step; dx: ∂L/∂x (or ∂L/∂table with a lookup), accumulate: the
 * kernel's bits (bit 0 for dx) */
void nn_recurrent_backward(const nn_step *s, int rows, const nn_rnn_input *in, float *dx,
                           int accumulate);

#endif
