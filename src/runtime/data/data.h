/* data.h — a data set: text items tokenised into (context → next) examples, or a table of
 * numeric features and targets.
 *
 * Text: one item per line of the source file (the last line counts without a final
 * newline).  Tokens are Unicode characters (tokens: chars), or the matches of a PCRE2
 * pattern (tokens: {pattern}); id 0 is '.', which pads the context and ends an item; ids
 * 1.. are the distinct tokens found, in code-point (chars) or bytewise (pattern) order.
 *
 * Table (generate / csv / inline, data_table.c): x float [n, features]; the targets are
 * floats (hinge, mse) or class ids 0..classes−1 (cross_entropy, vocab = classes).
 */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stdint.h>

#include "parser/diag.h"
#include "parser/spec.h"

typedef enum { NN_DATASET_TEXT = 0, NN_DATASET_TABLE } nn_dataset_kind;

typedef struct {
    int32_t *x; /* text: n × context token ids */
    int32_t *y; /* n next-token ids, or class ids (table data with cross_entropy) */
    long n;     /* examples */
    long words; /* text: items; table: rows (= n) */
    long targets; /* targets not ignored (sequences: Σ (len + 1); else n) */
    float *fx;  /* table: n × features */
    float *fy;  /* table with hinge / mse: n targets (NULL otherwise) */
} nn_split;

typedef struct {
    int vocab;      /* tokens, or classes (table with cross_entropy), or 1 (float targets) */
    uint32_t *itos; /* tokens: chars — vocab code points; itos[0] = '.' */
    int context;
    int ytw; /* targets per example: 1, or context (examples: sequence) */
    long shuffle_draws; /* 32-bit draws the torch-compatible shuffle took (randperm: n − 1) */
    long lines, dropped; /* items read, and dropped by the filter or as empty lines */
    nn_split split[NN_SPLIT_COUNT];
    nn_dataset_kind kind;
    int features;  /* table: columns of x (0 for text) */
    char **tokens; /* tokens: {pattern}: each id's text (tokens[0] = "."); NULL for chars */
} nn_dataset;

/* Loads and splits the data set the spec describes.  Errors (missing or unreadable
 * file, binary or invalid UTF-8 content, nothing left after the filter, bad CSV cells)
 * are recorded in `d` — at the data file's line:col, or at the spec's `source:` — and NULL
 * returned. */
nn_dataset *nn_dataset_load(const nn_spec *spec, nn_diag *d);
void nn_dataset_free(nn_dataset *ds);

/* UTF-8 encoding of token `id` into buf (≥ 5 bytes, NUL-terminated); returns the length.
 * Chars only: pattern tokens may be longer — use nn_dataset_token. */
int nn_dataset_token_utf8(const nn_dataset *ds, int id, char *buf);
/* The text of token `id` (any tokens kind) in a static buffer for chars; "?" if unknown. */
const char *nn_dataset_token(const nn_dataset *ds, int id);
/* Tokenises `text` as the data was (chars: one id per character; pattern: one per match)
 * into ids[0..max); returns the count, or −1 with the byte offset of the first text that is
 * not in the vocabulary in *bad. */
int nn_dataset_encode(const nn_dataset *ds, const nn_spec *spec, const char *text, int32_t *ids,
                      int max, int *bad);

#endif
