/* model_file.h — a trained model rebuilt from its model.safetensors alone (`nnrun sample`,
 * `nnrun predict`): the spec from the file's "spec" metadata, the vocabulary from "vocab"
 * (text) or the class count from "classes" (table data), the weights from its tensors.  No
 * spec file and no data file are read. */
#ifndef NN_MODEL_FILE_H
#define NN_MODEL_FILE_H

#include "runtime/train/train.h"

typedef struct {
    nn_spec *spec;
    nn_dataset *ds; /* the vocabulary and context (a table: features, classes) only: no rows */
    nn_trainer *tr;
} nn_model_file;

/* Loads PATH (a model.safetensors, or a run directory holding one).  `prefix` (or NULL)
 * becomes the spec's sample.prefix, checked against the vocabulary.  The file is data: a
 * stored spec's include is refused, and its plugins are refused (nothing loaded) unless
 * `allow_plugins` (--allow-plugins).  Returns 0, or −1 with errors in `d`. */
int nn_model_file_load(const char *path, const char *prefix, int allow_plugins, nn_model_file *m,
                       nn_diag *d);
void nn_model_file_free(nn_model_file *m);

#endif
