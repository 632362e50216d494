/* predict.h — a trained model on new inputs (`nnrun predict`): the outputs of table rows,
 * or the next token's distribution after a text prefix.  Evaluation mode (BatchNorm on its
 * running buffers, no dropout), on the trainer's evaluation plan. */
#ifndef NN_PREDICT_H
#define NN_PREDICT_H

#include "runtime/train/train.h"

/* Values per table row: the classes (a classifier with cross_entropy), else 1 (a score or a
 * value: hinge, mse, a loss formula). */
int nn_predict_outputs(const nn_trainer *tr);

/* Table data: `rows` rows (1 to NN_EVAL_ROWS) of features x[rows × features] into
 * out[rows × nn_predict_outputs]: the softmax probabilities for cross_entropy, the model's
 * output otherwise.  Returns 0, or −1 when the trainer has no such model. */
int nn_predict_rows(nn_trainer *tr, const float *x, int rows, float *out);

/* Text data: the next token's probabilities probs[vocab] after the prefix ids[0..n) (ids of
 * the vocabulary, none the end token 0), as sampling continues an item: the start token
 * before the prefix.  A prefix longer than the model's context keeps its last tokens, as
 * makemore's generate crops the sequence to block_size: a window model reads the last
 * `context` tokens, a sequence model the last `context` (the start token first while it
 * fits), the counting model the last n − 1.  Returns 0, or −1 (no text model). */
int nn_predict_next(nn_trainer *tr, const int32_t *ids, int n, float *probs);

#endif
