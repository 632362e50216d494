/* data_int.h — what the text (data.c) and table (data_table.c) loaders share; internal. */
#ifndef NN_DATA_INT_H
#define NN_DATA_INT_H

#include "runtime/data/data.h"

/* order[0..n) = 0..n−1, shuffled when spec->data.shuffle is set (native or CPython). */
void nn_data_order(const nn_spec *spec, long *order, long n);
/* Split boundaries over n items: split s is [cut[s], cut[s+1]).  Explicit counts or
 * fractions; no split at all (all zero) is all train.  −1 with an error when the counts
 * exceed n or the training split is empty. */
int nn_data_cuts(const nn_spec *spec, long n, long cut[NN_SPLIT_COUNT + 1], nn_diag *d);
/* Table data (data_table.c). */
int nn_table_load(const nn_spec *spec, nn_dataset *ds, nn_diag *d);

#endif
