/* emit_int.h — what emit.c (the spec's sections) and emit_write.c (the YAML scalars and
 * layout) share; private to the parser's resolved-spec writer. */
#ifndef NN_EMIT_INT_H
#define NN_EMIT_INT_H

#include <stdio.h>

#define WRAP_COL 96 /* flow lists of numbers wrap before this column */

typedef struct {
    FILE *f;
    int col; /* bytes since the last newline: for wrapping long number lists */
} em;

void nn_em_put(em *e, const char *s);
void nn_em_putf(em *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nn_em_nl(em *e, int ind); /* a new line indented by `ind` spaces */
void nn_em_float(em *e, double v);
void nn_em_bool(em *e, int v);
void nn_em_str(em *e, const char *s);  /* a user string, quoted where YAML needs it */
void nn_em_word(em *e, const char *s); /* a schema word (enum name, key) */
void nn_em_path(em *e, const char *path);
void nn_em_floats(em *e, const double *v, long n, int ind);

#endif
