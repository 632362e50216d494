/* checkpoint.h — a model's parameters and buffers as a safetensors file (model.safetensors),
 * and parameters loaded from one (init: {from}, init_from).
 *
 * Tensors are named as the IR names them ("layers.2.weight", "layers.3.running_mean"),
 * float32, in the model's shapes.  The metadata makes the file self-contained for
 * `nnrun sample` and `nnrun predict`: "nnrun_version", "spec_hash", "spec" (the resolved
 * spec YAML), "vocab" (a JSON array of token texts, text data only), "classes" (the data's
 * outputs: the vocabulary's size, a table's classes, 1 for float targets), "step".
 */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include "runtime/data/data.h"
#include "runtime/exec/ngram.h"
#include "runtime/exec/plan.h"
#include "runtime/store/safetensors.h"

/* What model.safetensors holds: a model's state (P; for the counting model, P empty and
 * its table), the spec that built it and the data set whose vocabulary it uses.  The
 * trainer hands one over (nn_trainer_model, train.h): store/ knows no trainer. */
typedef struct {
    const nn_spec *spec;
    const nn_dataset *ds;
    const nn_params *P;
    const nn_ngram *ngram; /* NULL unless the counting model */
} nn_model_ref;

/* Writes the model's parameters and buffers to `path` (atomically) after `step` steps.
 * Returns 0 or −1 (errno set). */
int nn_ckpt_write_model(const nn_model_ref *m, const char *path, long step);
/* The counting model's tensor in model.safetensors: N[context][next], [vocab^(n−1), vocab]. */
#define NN_NGRAM_COUNTS "layers.0.counts"
/* Copies every parameter and buffer of P from `f`, matched by name; a missing name or a
 * different shape is an error in `d` naming both shapes.  Returns 0 or −1. */
int nn_ckpt_load_params(nn_params *P, const nn_st_file *f, nn_mark at, nn_diag *d);
/* Fills one parameter from tensor `name` of `f` (shape checked).  Returns 0 or −1. */
int nn_ckpt_load_tensor(nn_param *p, const nn_st_file *f, const char *name, nn_mark at, nn_diag *d);
/* init: {from: FILE, tensor: NAME} of one parameter: the loader the trainer passes to
 * nn_params_init (exec/init.c reads no safetensors of its own). */
int nn_ckpt_init_param(nn_param *p, nn_diag *d);
/* The spec's init_from (whole model), after the inits: a no-op without one.  With text
 * data, the file's vocabulary must be this data's. */
int nn_ckpt_init_from(nn_params *P, const nn_spec *spec, const nn_dataset *ds, nn_diag *d);

#endif
