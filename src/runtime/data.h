/* data.h — a character-level data set: vocabulary, words, split, (context → next) pairs.
 *
 * One item per line of the source file (the last line counts without a final newline).
 * Tokens are Unicode characters; id 0 is '.', which pads the context and ends a word;
 * ids 1.. are the distinct characters found, in code-point order.
 */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stdint.h>

#include "parser/diag.h"
#include "parser/spec.h"

typedef struct {
    int32_t *x; /* n × context token ids */
    int32_t *y; /* n next-token ids */
    long n;     /* examples */
    long words;
} nn_split;

typedef struct {
    int vocab;
    uint32_t *itos; /* vocab code points; itos[0] = '.' */
    int context;
    long lines, dropped; /* items read, and dropped by the filter or as empty lines */
    nn_split split[NN_SPLIT_COUNT];
} nn_dataset;

/* Loads and splits the data set the spec describes.  Errors (missing or unreadable
 * file, binary or invalid UTF-8 content, nothing left after the filter) are recorded
 * in `d` — at the data file's line:col, or at the spec's `source:` — and NULL returned. */
nn_dataset *nn_dataset_load(const nn_spec *spec, nn_diag *d);
void nn_dataset_free(nn_dataset *ds);

/* UTF-8 encoding of token `id` into buf (≥ 5 bytes, NUL-terminated); returns the length. */
int nn_dataset_token_utf8(const nn_dataset *ds, int id, char *buf);

#endif
